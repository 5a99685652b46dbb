/* test_aio_task.c - futures and tasks: await, sleep, names, current/all tasks, reports.
 * SPDX-License-Identifier: MIT
 *
 * Each test runs the C version of the Python program in the comment above it
 * and compares the transcript with what CPython 3.11 printed for it (lines
 * joined with "; ").
 */
#include "aio_util.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */

/*
 * async def worker(name, n):
 *     for i in range(n):
 *         print(f'{name} {i}')
 *         await asyncio.sleep(0)
 *     return name
 * async def main():
 *     t1 = asyncio.create_task(worker('a', 3))
 *     t2 = asyncio.create_task(worker('b', 2))
 *     print('main before', t1.get_name(), t2.get_name(), asyncio.current_task().get_name())
 *     r1 = await t1
 *     print('main got', r1, t1.done())
 *     r2 = await t2
 *     print('main got', r2)
 *     return 7
 * print(asyncio.run(main()))
 * ->
 * main before Task-2 Task-3 Task-1; a 0; b 0; a 1; b 1; a 2; main got a True; main got b; 7
 */
typedef struct wargs {
    const char *name;
    int n;
} wargs;

static void *worker(coro *self, void *arg)
{
    (void)self;
    wargs *w = arg;
    for (int i = 0; i < w->n; i++) {
        tr_add(&tr, "%s %d", w->name, i);
        if (coro_aio_sleep(0) != CORO_OK)
            coro_reraise(coro_current());
    }
    return (void *)w->name;
}

static void *interleave_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    static wargs wa = {"a", 3}, wb = {"b", 2};
    coro_aio_future *t1 = coro_aio_create_task(loop, worker, &wa, NULL);
    coro_aio_future *t2 = coro_aio_create_task(loop, worker, &wb, NULL);
    tr_add(&tr, "main before %s %s %s", coro_aio_task_get_name(t1), coro_aio_task_get_name(t2),
           coro_aio_task_get_name(coro_aio_current_task(NULL)));
    void *r;
    if (coro_aio_await(t1, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main got %s %s", (char *)r, coro_aio_future_done(t1) ? "True" : "False");
    if (coro_aio_await(t2, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main got %s", (char *)r);
    coro_aio_future_release(t1);
    coro_aio_future_release(t2);
    return (void *)(intptr_t)7;
}

START_TEST(test_interleave)
{
    void *r = NULL;
    ck_assert_int_eq(coro_aio_run(interleave_main, NULL, NULL, &r, NULL), CORO_OK);
    tr_add(&tr, "%d", (int)(intptr_t)r);
    ck_assert_str_eq(tr.buf, "main before Task-2 Task-3 Task-1; a 0; b 0; a 1; b 1; a 2; "
                             "main got a True; main got b; 7");
}
END_TEST

/* ------------------------------------------------------------------------ */

/*
 * def cb(f, tag): print('cb', tag, f.result())
 * async def waiter(f, tag):
 *     print(tag, 'waits')
 *     try:
 *         v = await f
 *         print(tag, 'got', v)
 *     except Exception as e:
 *         print(tag, 'raised', type(e).__name__, e)
 * async def main():
 *     loop = asyncio.get_running_loop()
 *     f = loop.create_future()
 *     g = loop.create_future()
 *     f.add_done_callback(lambda f: cb(f, 1))
 *     a = asyncio.create_task(waiter(f, 'A'))
 *     b = asyncio.create_task(waiter(f, 'B'))
 *     f.add_done_callback(lambda f: cb(f, 2))
 *     c = asyncio.create_task(waiter(g, 'C'))
 *     loop.call_later(0.01, f.set_result, 42)
 *     loop.call_soon(lambda: print('soon'))
 *     await asyncio.sleep(0.02)
 *     g.set_exception(ValueError('bad'))
 *     print('main set g')
 *     await c
 *     print('main done')
 * asyncio.run(main())
 * ->
 * A waits; B waits; C waits; soon; cb 1 42; cb 2 42; A got 42; B got 42; main set g;
 * C raised ValueError bad; main done
 */
static coro_aio_future *F, *G;

static void cb(coro_aio_future *f, void *tag)
{
    void *v = NULL;
    coro_aio_future_result(f, &v, NULL);
    tr_add(&tr, "cb %d %d", (int)(intptr_t)tag, (int)(intptr_t)v);
}

typedef struct waiter_args {
    coro_aio_future **f;
    const char *tag;
} waiter_args;

static void *waiter(coro *self, void *arg)
{
    waiter_args *w = arg;
    tr_add(&tr, "%s waits", w->tag);
    void *v;
    if (coro_aio_await(*w->f, &v) == CORO_OK)
        tr_add(&tr, "%s got %d", w->tag, (int)(intptr_t)v);
    else {
        const coro_exc *e = coro_exception(self);
        if (!coro_exc_matches(e->type, &coro_Exception))
            coro_reraise(self);
        tr_add(&tr, "%s raised %s %s", w->tag, e->type->name, e->message);
    }
    return NULL;
}

static void set42(void *arg)
{
    coro_aio_future_set_result(arg, (void *)(intptr_t)42);
}

static void soon(void *arg)
{
    (void)arg;
    tr_add(&tr, "soon");
}

static void *futures_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    static waiter_args wa = {&F, "A"}, wb = {&F, "B"}, wc = {&G, "C"};
    F = coro_aio_future_new(loop);
    G = coro_aio_future_new(loop);
    coro_aio_future_add_done_callback(F, cb, (void *)1);
    coro_aio_future *a = coro_aio_create_task(loop, waiter, &wa, NULL);
    coro_aio_future *b = coro_aio_create_task(loop, waiter, &wb, NULL);
    coro_aio_future_add_done_callback(F, cb, (void *)2);
    coro_aio_future *c = coro_aio_create_task(loop, waiter, &wc, NULL);
    coro_aio_call_later(loop, 0.01, set42, F, NULL);
    coro_aio_call_soon(loop, soon, NULL, NULL);
    if (coro_aio_sleep(0.02) != CORO_OK)
        coro_reraise(self);
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "bad");
    coro_aio_future_set_exception(G, &e);
    tr_add(&tr, "main set g");
    if (coro_aio_await(c, NULL) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main done");
    coro_aio_future_release(a);
    coro_aio_future_release(b);
    coro_aio_future_release(c);
    coro_aio_future_release(F);
    coro_aio_future_release(G);
    return NULL;
}

START_TEST(test_futures_and_callbacks)
{
    ck_assert_int_eq(coro_aio_run(futures_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "A waits; B waits; C waits; soon; cb 1 42; cb 2 42; A got 42; "
                             "B got 42; main set g; C raised ValueError bad; main done");
}
END_TEST

/* ------------------------------------------------------------------------ */

/*
 * def handler(loop, ctx):
 *     print('handler:', ctx['message'], repr(ctx.get('exception')),
 *           ctx.get('future', ctx.get('task')).get_name())
 * async def fail():
 *     print('fail runs')
 *     raise ValueError('boom')
 * async def sleeper():
 *     try:
 *         await asyncio.sleep(10)
 *     finally:
 *         print('sleeper finally')
 * async def main():
 *     asyncio.create_task(fail())
 *     await asyncio.sleep(0)
 *     print('after sleep0')
 *     await asyncio.sleep(0)
 *     print('after 2nd sleep0')
 *     return asyncio.create_task(sleeper())
 * loop = asyncio.new_event_loop()
 * loop.set_exception_handler(handler)
 * t = loop.run_until_complete(main())
 * print('main returned', t.get_name())
 * loop.run_until_complete(asyncio.sleep(0))
 * loop.close()
 * print('closed')
 * del t; gc.collect()
 * print('end')
 * ->
 * fail runs; handler: Task exception was never retrieved ValueError('boom') Task-2;
 * after sleep0; after 2nd sleep0; main returned Task-3; closed; sleeper finally;
 * handler: Task was destroyed but it is pending! None Task-3; end
 * (The C loop runs the last run_until_complete on a task of a no-op body, which
 * takes the same iterations; it takes the name Task-4 in both.)
 */
static void name_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx, void *udata)
{
    (void)loop;
    (void)udata;
    char e[200] = "None";
    if (ctx->exception)
        snprintf(e, sizeof e, "%s('%s')", ctx->exception->type->name, ctx->exception->message);
    tr_add(&tr, "handler: %s %s %s", ctx->message, e,
           coro_aio_task_get_name(ctx->future ? ctx->future : ctx->task));
}

static void *failing(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "fail runs");
    coro_raise(self, &coro_ValueError, "boom");
}

static void sleeper_finally(void *arg)
{
    (void)arg;
    tr_add(&tr, "sleeper finally");
}

static void *sleeper(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, sleeper_finally, NULL);
    if (coro_aio_sleep(10) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *reports_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future_release(coro_aio_create_task(loop, failing, NULL, NULL));
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "after sleep0");
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "after 2nd sleep0");
    return coro_aio_create_task(loop, sleeper, NULL, NULL);
}

static void *noop(coro *self, void *arg)
{
    (void)self;
    return arg;
}

START_TEST(test_reports)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_set_exception_handler(loop, name_handler, NULL);
    coro_aio_future *m = coro_aio_create_task(loop, reports_main, NULL, NULL);
    void *r = NULL;
    ck_assert_int_eq(coro_aio_run_until_complete(loop, m, &r, NULL), CORO_OK);
    coro_aio_future *t = r;
    tr_add(&tr, "main returned %s", coro_aio_task_get_name(t));
    coro_aio_future *n = coro_aio_create_task(loop, noop, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_until_complete(loop, n, NULL, NULL), CORO_OK);
    ck_assert_str_eq(coro_aio_task_get_name(n), "Task-4");
    coro_aio_future_release(n);
    coro_aio_future_release(m);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    tr_add(&tr, "closed");
    coro_aio_future_release(t);
    tr_add(&tr, "end");
    ck_assert_str_eq(tr.buf,
                     "fail runs; handler: Task exception was never retrieved ValueError('boom') "
                     "Task-2; after sleep0; after 2nd sleep0; main returned Task-3; closed; "
                     "sleeper finally; handler: Task was destroyed but it is pending! None "
                     "Task-3; end");
}
END_TEST

/* ------------------------------------------------------------------------ */

/*
 * async def main():
 *     me = asyncio.current_task()
 *     try:
 *         await me
 *     except RuntimeError as e:
 *         print('RuntimeError', str(e)[:40])
 *     print(len(asyncio.all_tasks()))
 *     t = asyncio.create_task(asyncio.sleep(0))
 *     print(len(asyncio.all_tasks()), t.get_name())
 *     await t
 *     print(len(asyncio.all_tasks()))
 * asyncio.run(main())
 * ->
 * RuntimeError Task cannot await on itself: <Task pendi; 1; 2 Task-2; 1
 */
static void *sleep0_body(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *self_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *me = coro_aio_current_task(NULL);
    if (coro_aio_await(me, NULL) == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        if (e->type != &coro_RuntimeError)
            coro_reraise(self);
        tr_add(&tr, "RuntimeError %.40s", e->message);
    }
    tr_add(&tr, "%zu", coro_aio_all_tasks(NULL, NULL, 0));
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), sleep0_body, NULL, NULL);
    tr_add(&tr, "%zu %s", coro_aio_all_tasks(NULL, NULL, 0), coro_aio_task_get_name(t));
    if (coro_aio_await(t, NULL) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "%zu", coro_aio_all_tasks(NULL, NULL, 0));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_await_self_and_all_tasks)
{
    ck_assert_int_eq(coro_aio_run(self_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "RuntimeError Task cannot await on itself: <Task pendi; 1; 2 Task-2; 1");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* A sub-coroutine run with coro_yield_from inside a task awaits too: its
 * yield of the future reaches the loop through the chain.
 *
 * async def sub(f):
 *     v = await f
 *     print('sub got', v)
 *     return v + 1
 * async def main():
 *     f = asyncio.get_running_loop().create_future()
 *     asyncio.get_running_loop().call_soon(f.set_result, 41)
 *     print('main got', await sub(f))
 * -> sub got 41; main got 42
 */
static void *sub(coro *self, void *arg)
{
    void *v;
    if (coro_aio_await(arg, &v) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "sub got %d", (int)(intptr_t)v);
    return (void *)((intptr_t)v + 1);
}

static void set41(void *arg)
{
    coro_aio_future_set_result(arg, (void *)(intptr_t)41);
}

static void *chain_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *f = coro_aio_future_new(coro_aio_get_running_loop());
    coro_aio_call_soon(coro_aio_get_running_loop(), set41, f, NULL);
    void *v;
    if (coro_yield_from_fn(self, sub, f, &v) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main got %d", (int)(intptr_t)v);
    coro_aio_future_release(f);
    return NULL;
}

START_TEST(test_await_through_yield_from)
{
    ck_assert_int_eq(coro_aio_run(chain_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "sub got 41; main got 42");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* Misuse: awaiting outside a task, a future of another loop, set_result on
 * a done future and on a task, result()/exception() states.
 *
 * f = loop.create_future(); f.set_result(1)
 * f.set_result(2)   -> InvalidStateError: invalid state  (C: CORO_EINVAL)
 * g = loop.create_future(); g.result() -> InvalidStateError('Result is not ready.')
 * g.exception() -> InvalidStateError('Exception is not set.')
 * g.cancel('m'); g.result() -> CancelledError('m'); g.exception() -> CancelledError('m')
 */
static coro_aio_future *OTHER;

static void *other_loop_main(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_await(OTHER, NULL) == CORO_THROWN)
        tr_add(&tr, "%s", exc_str(coro_exception(self)));
    return NULL;
}

START_TEST(test_misuse)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_await(NULL, NULL), CORO_EINVAL);
    coro_aio_future *f = coro_aio_future_new(loop);
    ck_assert_int_eq(coro_aio_await(f, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_sleep(0), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_future_set_result(f, (void *)1), CORO_OK);
    ck_assert_int_eq(coro_aio_future_set_result(f, (void *)2), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "InvalidStateError: FINISHED"));
    coro_aio_future *g = coro_aio_future_new(loop);
    coro_exc e;
    ck_assert_int_eq(coro_aio_future_result(g, NULL, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "InvalidStateError: Result is not ready.");
    ck_assert_int_eq(coro_aio_future_exception(g, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "InvalidStateError: Exception is not set.");
    ck_assert(coro_aio_future_cancel(g, "m"));
    ck_assert(!coro_aio_future_cancel(g, "again"));
    ck_assert_int_eq(coro_aio_future_result(g, NULL, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "CancelledError: m");
    ck_assert_int_eq(coro_aio_future_exception(g, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "CancelledError: m");
    ck_assert_int_eq(coro_aio_future_exception(f, &e), CORO_OK);
    ck_assert_ptr_null(e.type);

    coro_aio_loop *other = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    OTHER = coro_aio_future_new(other);
    coro_aio_future *t = coro_aio_create_task(loop, other_loop_main, NULL, NULL);
    ck_assert_int_eq(coro_aio_future_set_result(t, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "set_result: Task does not support set_result operation");
    ck_assert_int_eq(coro_aio_run_until_complete(loop, t, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_until_complete(other, t, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(tr.buf, "RuntimeError: Task <Task pending name='Task-1'> got Future "
                             "<Future pending> attached to a different loop");
    coro_aio_future_release(OTHER);
    coro_aio_future_release(t);
    coro_aio_future_release(f);
    coro_aio_future_release(g);
    coro_aio_loop_close(other);
    coro_aio_loop_close(loop);
}
END_TEST

/* ------------------------------------------------------------------------ */

/* An eager task runs its first step inside create_task (3.12's
 * eager_start):
 * async def child(): print('child starts'); await asyncio.sleep(0); print('child ends')
 * async def main():
 *     t = asyncio.Task(child(), eager_start=True)     # Python 3.12
 *     print('created')
 *     await t
 * -> child starts; created; child ends
 */
static void *eager_child(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "child starts current=%s", coro_aio_task_get_name(coro_aio_current_task(NULL)));
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "child ends");
    return NULL;
}

static void *eager_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.flags = CORO_AIO_TASK_EAGER;
    o.name = "kid";
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), eager_child, NULL, &o);
    tr_add(&tr, "created current=%s", coro_aio_task_get_name(coro_aio_current_task(NULL)));
    if (coro_aio_await(t, NULL) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_eager)
{
    ck_assert_int_eq(coro_aio_run(eager_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "child starts current=kid; created current=Task-1; child ends");
}
END_TEST

/* The dump lists each pending task with what it awaits and its cancel count. */
static void *dump_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), sleeper, NULL, NULL);
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(t, NULL);
    coro_aio_future_cancel(t, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    coro_aio_dump_tasks(coro_aio_get_running_loop(), m);
    fclose(m);
    tr_add(&tr, "%s", buf);
    free(buf);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_dump)
{
    ck_assert_int_eq(coro_aio_run(dump_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "Task-1 running awaits=- cancels=0\n"
                             "Task-2 cancelling awaits=<Future cancelled> cancels=2\n"
                             "; sleeper finally");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_task");
    TCase *tc = tcase_create("task");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_interleave);
    tcase_add_test(tc, test_futures_and_callbacks);
    tcase_add_test(tc, test_reports);
    tcase_add_test(tc, test_await_self_and_all_tasks);
    tcase_add_test(tc, test_await_through_yield_from);
    tcase_add_test(tc, test_misuse);
    tcase_add_test(tc, test_eager);
    tcase_add_test(tc, test_dump);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
