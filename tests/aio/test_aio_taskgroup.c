/* test_aio_taskgroup.c - asyncio.TaskGroup (3.11.7) and its exception groups.
 * SPDX-License-Identifier: MIT
 *
 * Every transcript is what CPython 3.11.7 prints for the Python program in
 * the comment above the test (lines joined with "; "; times relative to the
 * start, rounded to one decimal, exact on the virtual clock). Python keeps a
 * group's tasks in a set, C in creation order: the programs avoid depending
 * on the order in which two tasks are cancelled.
 */
#include "aio_util.h"

#include <string.h>

static const coro_exc_type MyBase = {"MyBase", &coro_BaseException};

static coro_aio_loop *lp(void)
{
    return coro_aio_get_running_loop();
}

static int run_virtual(coro_fn main, void *arg, coro_exc *exc)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    return coro_aio_run(main, arg, &o, NULL, exc);
}

static int cancelling(void)
{
    return coro_aio_task_cancelling(coro_aio_current_task(NULL));
}

static bool is_cancel(const coro_exc *e)
{
    return coro_exc_matches(e->type, &coro_aio_CancelledError);
}

enum { OK = 0, VALUE = 1, BASE = 2 };

typedef struct spec {
    const char *name;
    double d;
    int fail;
} spec;

/* async def child(name, d, fail=None):
 *     print(name, 'starts')
 *     try:
 *         await asyncio.sleep(d)
 *     except asyncio.CancelledError:
 *         print(name, 'cancelled'); raise
 *     if fail == 'value': raise ValueError(name)
 *     if fail == 'base': raise MyBase(name)        # class MyBase(BaseException)
 *     print(name, 'ends'); return name */
static void *child(coro *self, void *arg)
{
    const spec *s = arg;
    tr_add(&tr, "%s starts", s->name);
    if (coro_aio_sleep(s->d) != CORO_OK) {
        if (is_cancel(coro_exception(self)))
            tr_add(&tr, "%s cancelled", s->name);
        coro_reraise(self);
    }
    if (s->fail == VALUE)
        coro_raise(self, &coro_ValueError, s->name);
    if (s->fail == BASE)
        coro_raise(self, &MyBase, s->name);
    tr_add(&tr, "%s ends", s->name);
    return (void *)s->name;
}

/* show(e): "Type: msg ['Sub: msg', ...]" for a group, else the type's name. */
static const char *show(const coro_exc *e)
{
    static char buf[512];
    const coro_aio_exception_group *g = coro_aio_exception_group_get(e);
    if (g == NULL) {
        snprintf(buf, sizeof buf, "%s", e->type->name);
        return buf;
    }
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s: %s [", e->type->name, e->message);
    for (size_t i = 0; i < g->n && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s'%s: %s'", i ? ", " : "",
                              g->exceptions[i].type->name, g->exceptions[i].message);
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, "]");
    return buf;
}

/* ------------------------------------------------------------------------ */
/* The rules, one group each: a table                                       */
/* ------------------------------------------------------------------------ */

typedef struct tg_case {
    const char *label;
    spec kids[3];
    size_t n;
    double body_sleep;
    bool body_raise, body_catch;
    const char *expect;
} tg_case;

typedef struct tg_run {
    const tg_case *c;
    coro_aio_future *ts[3];
} tg_run;

static void *tg_body(coro *self, coro_aio_task_group *g, void *arg)
{
    tg_run *r = arg;
    char buf[128];
    for (size_t i = 0; i < r->c->n; i++)
        r->ts[i] = coro_aio_task_group_create_task(g, child, (void *)&r->c->kids[i], NULL);
    tr_add(&tr, "body %s", coro_aio_task_group_repr(g, buf, sizeof buf));
    if (coro_aio_sleep(r->c->body_sleep) != CORO_OK) {
        if (!is_cancel(coro_exception(self)))
            coro_reraise(self);
        tr_add(&tr, "body cancelled %d", cancelling());
        if (!r->c->body_catch)
            coro_reraise(self);
    }
    if (r->c->body_raise)
        coro_raise(self, &coro_ValueError, "body");
    tr_add(&tr, "body ends");
    return "body value";
}

/* def me(): return asyncio.current_task()
 * def show(e): ... (as show() above)
 * async def run(label, specs, body_sleep, body_raise=False, body_catch=False):
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     try:
 *         async with asyncio.TaskGroup() as tg:
 *             ts = [tg.create_task(child(*s)) for s in specs]
 *             print('body', repr(tg))
 *             try:
 *                 await asyncio.sleep(body_sleep)
 *             except asyncio.CancelledError:
 *                 print('body cancelled', me().cancelling())
 *                 if not body_catch: raise
 *             if body_raise: raise ValueError('body')
 *             print('body ends')
 *         print(label, 'ok', [t.result() for t in ts], round(loop.time() - t0, 1))
 *     except BaseException as e:
 *         print(label, 'raised', show(e), round(loop.time() - t0, 1))
 *     print(label, 'cancelling', me().cancelling())
 * CASES = [
 *   ('ok', [('a', 1), ('b', 2)], 0.5),
 *   ('fail', [('a', 3), ('b', 1, 'value')], 5),
 *   ('two', [('a', 1, 'value'), ('b', 1, 'value'), ('c', 3)], 5),
 *   ('body_raise', [('a', 3)], 1, True),
 *   ('late_fail', [('a', 3), ('b', 2, 'value')], 1),
 *   ('catch', [('a', 3), ('b', 1, 'value')], 5, False, True),
 *   ('base', [('a', 3), ('b', 1, 'base')], 5),
 * ]
 * for c in CASES: asyncio.run(run(*c))
 * ('late_fail': the child fails while __aexit__ waits; the parent's cancel
 * request comes after __aexit__ checked for one, so 3.11.7 never takes it
 * back: cancelling() stays 1.) */
static const tg_case tg_cases[] = {
    {"ok", {{"a", 1, OK}, {"b", 2, OK}}, 2, 0.5, false, false,
     "body <TaskGroup tasks=2 entered>; a starts; b starts; body ends; a ends; b ends; "
     "ok ok ['a', 'b'] 2.0; ok cancelling 0"},
    {"fail", {{"a", 3, OK}, {"b", 1, VALUE}}, 2, 5, false, false,
     "body <TaskGroup tasks=2 entered>; a starts; b starts; a cancelled; body cancelled 1; "
     "fail raised ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) "
     "['ValueError: b'] 1.0; fail cancelling 0"},
    {"two", {{"a", 1, VALUE}, {"b", 1, VALUE}, {"c", 3, OK}}, 3, 5, false, false,
     "body <TaskGroup tasks=3 entered>; a starts; b starts; c starts; c cancelled; "
     "body cancelled 1; two raised ExceptionGroup: unhandled errors in a TaskGroup "
     "(2 sub-exceptions) ['ValueError: a', 'ValueError: b'] 1.0; two cancelling 0"},
    {"body_raise", {{"a", 3, OK}}, 1, 1, true, false,
     "body <TaskGroup tasks=1 entered>; a starts; a cancelled; body_raise raised "
     "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) ['ValueError: body'] "
     "1.0; body_raise cancelling 0"},
    {"late_fail", {{"a", 3, OK}, {"b", 2, VALUE}}, 2, 1, false, false,
     "body <TaskGroup tasks=2 entered>; a starts; b starts; body ends; a cancelled; late_fail "
     "raised ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) "
     "['ValueError: b'] 2.0; late_fail cancelling 1"},
    {"catch", {{"a", 3, OK}, {"b", 1, VALUE}}, 2, 5, false, true,
     "body <TaskGroup tasks=2 entered>; a starts; b starts; a cancelled; body cancelled 1; "
     "body ends; catch raised ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) "
     "['ValueError: b'] 1.0; catch cancelling 0"},
    {"base", {{"a", 3, OK}, {"b", 1, BASE}}, 2, 5, false, false,
     "body <TaskGroup tasks=2 entered>; a starts; b starts; a cancelled; body cancelled 1; "
     "base raised BaseExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) "
     "['MyBase: b'] 1.0; base cancelling 0"},
};

static void *tg_main(coro *self, void *arg)
{
    tg_run r = {arg, {NULL, NULL, NULL}};
    const tg_case *c = r.c;
    double t0 = coro_aio_time(lp());
    void *value = NULL;
    int rc = coro_aio_task_group_run(tg_body, &r, &value);
    if (rc == CORO_OK) {
        char res[128];
        size_t k = (size_t)snprintf(res, sizeof res, "[");
        for (size_t i = 0; i < c->n; i++) {
            void *v = NULL;
            coro_aio_future_result(r.ts[i], &v, NULL);
            k += (size_t)snprintf(res + k, sizeof res - k, "%s'%s'", i ? ", " : "", (char *)v);
        }
        snprintf(res + k, sizeof res - k, "]");
        tr_add(&tr, "%s ok %s %.1f", c->label, res, coro_aio_time(lp()) - t0);
        if (value == NULL || strcmp(value, "body value") != 0)
            tr_add(&tr, "wrong body value");
    } else if (rc == CORO_THROWN)
        tr_add(&tr, "%s raised %s %.1f", c->label, show(coro_exception(self)),
               coro_aio_time(lp()) - t0);
    else
        tr_add(&tr, "%s failed %s", c->label, coro_err_name(rc));
    tr_add(&tr, "%s cancelling %d", c->label, cancelling());
    for (size_t i = 0; i < c->n; i++)
        coro_aio_future_release(r.ts[i]);
    return NULL;
}

START_TEST(test_task_group_table)
{
    const tg_case *c = &tg_cases[_i];
    ck_assert_int_eq(run_virtual(tg_main, (void *)c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, c->expect);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The owner cancelled from outside                                         */
/* ------------------------------------------------------------------------ */

static void *owner_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)arg;
    static const spec a = {"a", 3, OK};
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&a, NULL));
    if (coro_aio_sleep(0.5) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "body ends");
    return NULL;
}

static void *owner(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_task_group_run(owner_body, NULL, NULL) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

/* async def owner():
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(child('a', 3))
 *         await asyncio.sleep(0.5)
 *         print('body ends')
 * async def main1():
 *     t = asyncio.create_task(owner())
 *     await asyncio.sleep(1); t.cancel()
 *     try: await t
 *     except asyncio.CancelledError: print('owner cancelled', t.cancelled(), t.cancelling())
 * asyncio.run(main1()) */
static void *owner_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(lp(), owner, NULL, NULL);
    if (coro_aio_sleep(1) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(t, NULL);
    if (coro_aio_await(t, NULL) == CORO_THROWN)
        tr_add(&tr, "owner cancelled %s %d", coro_aio_future_cancelled(t) ? "True" : "False",
               coro_aio_task_cancelling(t));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_task_group_owner_cancelled)
{
    ck_assert_int_eq(run_virtual(owner_main, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "a starts; body ends; a cancelled; owner cancelled True 1");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* create_task while shutting down, and once finished                       */
/* ------------------------------------------------------------------------ */

static coro_aio_task_group *SAVED;

static void *spawner(coro *self, void *arg)
{
    coro_aio_task_group *g = arg;
    static const spec x = {"x", 1, OK};
    if (coro_aio_sleep(5) != CORO_OK) {
        coro_aio_future *t = coro_aio_task_group_create_task(g, child, (void *)&x, NULL);
        if (t == NULL)
            tr_add(&tr, "spawner %s", coro_aio_last_error());
        coro_aio_future_release(t);
        coro_reraise(self);
    }
    return NULL;
}

static void *spawn_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    (void)arg;
    static const spec b = {"b", 1, VALUE};
    SAVED = coro_aio_task_group_ref(g);
    coro_aio_future_release(coro_aio_task_group_create_task(g, spawner, g, NULL));
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&b, NULL));
    return NULL;
}

/* async def main2():
 *     saved = None
 *     async def spawner(tg):
 *         try:
 *             await asyncio.sleep(5)
 *         except asyncio.CancelledError:
 *             try: tg.create_task(child('x', 1))
 *             except RuntimeError as e: print('spawner', e)
 *             raise
 *     try:
 *         async with asyncio.TaskGroup() as tg:
 *             saved = tg
 *             tg.create_task(spawner(tg)); tg.create_task(child('b', 1, 'value'))
 *     except ExceptionGroup as e: print('main2', e)
 *     try: saved.create_task(child('y', 1))
 *     except RuntimeError as e: print('after', e)
 * asyncio.run(main2()) */
static void *spawn_main(coro *self, void *arg)
{
    (void)arg;
    static const spec y = {"y", 1, OK};
    if (coro_aio_task_group_run(spawn_body, NULL, NULL) == CORO_THROWN)
        tr_add(&tr, "main2 %s", coro_exception(self)->message);
    coro_aio_future *t = coro_aio_task_group_create_task(SAVED, child, (void *)&y, NULL);
    if (t == NULL)
        tr_add(&tr, "after %s", coro_aio_last_error());
    coro_aio_task_group_release(SAVED);
    return NULL;
}

START_TEST(test_task_group_create_task_refused)
{
    ck_assert_int_eq(run_virtual(spawn_main, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "b starts; spawner task_group_create_task: RuntimeError: TaskGroup "
                             "<TaskGroup tasks=1 errors=1 cancelling> is shutting down; "
                             "main2 unhandled errors in a TaskGroup (1 sub-exception); "
                             "after task_group_create_task: RuntimeError: TaskGroup <TaskGroup "
                             "cancelling> is finished");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Nested groups                                                            */
/* ------------------------------------------------------------------------ */

static void *inner_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)arg;
    static const spec i = {"i", 1, VALUE};
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&i, NULL));
    if (coro_aio_sleep(5) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *inner_group(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_task_group_run(inner_body, NULL, NULL) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *outer_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    (void)arg;
    static const spec o = {"o", 3, OK};
    coro_aio_future_release(coro_aio_task_group_create_task(g, inner_group, NULL, NULL));
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&o, NULL));
    return NULL;
}

/* async def inner_group():
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(child('i', 1, 'value'))
 *         await asyncio.sleep(5)
 * async def main3():
 *     try:
 *         async with asyncio.TaskGroup() as tg:
 *             tg.create_task(inner_group()); tg.create_task(child('o', 3))
 *     except ExceptionGroup as e:
 *         print('outer', e, [f'{type(x).__name__}: {x}' for x in e.exceptions],
 *               [f'{type(y).__name__}: {y}' for y in e.exceptions[0].exceptions])
 * asyncio.run(main3()) */
static void *nested_main(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_task_group_run(outer_body, NULL, NULL) == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        const coro_aio_exception_group *g = coro_aio_exception_group_get(e);
        char sub[512];
        snprintf(sub, sizeof sub, "%s", show(&g->exceptions[0]));
        tr_add(&tr, "outer %s; inner %s", show(e), sub);
    }
    return NULL;
}

START_TEST(test_task_group_nested)
{
    ck_assert_int_eq(run_virtual(nested_main, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "o starts; i starts; o cancelled; outer ExceptionGroup: unhandled "
                             "errors in a TaskGroup (1 sub-exception) ['ExceptionGroup: "
                             "unhandled errors in a TaskGroup (1 sub-exception)']; inner "
                             "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception) "
                             "['ValueError: i']");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* coro_aio_run hands the group to its caller                               */
/* ------------------------------------------------------------------------ */

static void *run_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    (void)arg;
    static const spec r = {"r", 1, VALUE};
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&r, NULL));
    return NULL;
}

static void *run_main(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_task_group_run(run_body, NULL, NULL) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

/* async def main4():
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(child('r', 1, 'value'))
 * try: asyncio.run(main4())
 * except ExceptionGroup as e: print('run', e, e.exceptions) */
START_TEST(test_task_group_through_run)
{
    coro_exc e;
    ck_assert_int_eq(run_virtual(run_main, NULL, &e), CORO_RAISED);
    const coro_aio_exception_group *g = coro_aio_exception_group_get(&e);
    ck_assert_ptr_nonnull(g);
    tr_add(&tr, "run %s (%s('%s'),)", e.message, g->exceptions[0].type->name,
           g->exceptions[0].message);
    coro_aio_exception_group_free(&e);
    ck_assert_str_eq(tr.buf, "r starts; run unhandled errors in a TaskGroup (1 sub-exception) "
                             "(ValueError('r'),)");
    coro_exc plain;
    coro_exc_set(&plain, &coro_ValueError, "x");
    ck_assert_ptr_null(coro_aio_exception_group_get(&plain));
    coro_aio_exception_group_free(&plain); /* ignored */
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A child done before the exit, an empty group, misuse                     */
/* ------------------------------------------------------------------------ */

static coro_aio_future *Q;

static void *q_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)arg;
    static const spec q = {"q", 0, OK};
    char buf[64];
    Q = coro_aio_task_group_create_task(g, child, (void *)&q, NULL);
    if (coro_aio_sleep(1) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "q %s %s", coro_aio_future_done(Q) ? "True" : "False",
           coro_aio_task_group_repr(g, buf, sizeof buf));
    return NULL;
}

static void *empty_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    *(coro_aio_task_group **)arg = coro_aio_task_group_ref(g);
    return NULL;
}

/* async def main5():
 *     async with asyncio.TaskGroup() as tg:
 *         t = tg.create_task(child('q', 0))
 *         await asyncio.sleep(1)
 *         print('q', t.done(), repr(tg))
 *     async with asyncio.TaskGroup() as tg:
 *         pass
 *     print('empty', repr(tg))
 * asyncio.run(main5()) */
static void *q_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    char buf[64];
    int rc = coro_aio_task_group_run(q_body, NULL, NULL);
    coro_aio_future_release(Q);
    coro_aio_task_group *g = NULL;
    rc |= coro_aio_task_group_run(empty_body, &g, NULL);
    tr_add(&tr, "empty %s (%s)", coro_aio_task_group_repr(g, buf, sizeof buf), coro_err_name(rc));
    coro_aio_task_group_release(g);
    return NULL;
}

START_TEST(test_task_group_quiet)
{
    ck_assert_int_eq(run_virtual(q_main, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "q starts; q ends; q True <TaskGroup entered>; "
                             "empty <TaskGroup entered> (OK)");
}
END_TEST

static void *tg_nobody(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    (void)g;
    return arg;
}

START_TEST(test_task_group_misuse)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    ck_assert_int_eq(coro_aio_task_group_run(tg_nobody, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "cannot determine the parent task"));
    ck_assert_int_eq(coro_aio_task_group_run(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_null(coro_aio_task_group_create_task(NULL, NULL, NULL, NULL));
    coro_aio_loop_close(loop);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The loop closed while a task is inside a group and a timeout scope       */
/* ------------------------------------------------------------------------ */

static void *closed_scope(coro *self, coro_aio_timeout_scope *scope, void *arg)
{
    (void)scope;
    (void)arg;
    if (coro_aio_sleep(10) != CORO_OK) {
        tr_add(&tr, "body %s", coro_exception(self)->type->name);
        coro_reraise(self);
    }
    return NULL;
}

static void *closed_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)arg;
    static const spec k = {"k", 10, OK};
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.name = "k";
    coro_aio_future_release(coro_aio_task_group_create_task(g, child, (void *)&k, &o));
    if (coro_aio_timeout_run(20, closed_scope, NULL, NULL, NULL) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *closed_main(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_task_group_run(closed_body, NULL, NULL);
    tr_add(&tr, "group %s %s", coro_err_name(rc),
           rc == CORO_THROWN ? coro_exception(self)->type->name : "-");
    if (rc != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void stop_cb(void *arg)
{
    coro_aio_stop(arg);
}

/* async def main():
 *     async with asyncio.TaskGroup() as tg:
 *         tg.create_task(child('k', 10), name='k')
 *         async with asyncio.timeout(20):
 *             try: await asyncio.sleep(10)
 *             except BaseException as e: print('body', type(e).__name__); raise
 * loop = asyncio.new_event_loop(); t = loop.create_task(main(), name='main')
 * loop.call_later(1, loop.stop); loop.run_forever(); loop.close(); del t; gc.collect()
 * -> k starts / Task was destroyed but it is pending! (task: main, k); Python's
 * collector closes the coroutines without running more of them. Here main's
 * coroutine is destroyed when its last reference goes: GeneratorExit runs
 * through both scopes (the group lets go of its child, which is then
 * destroyed and reported at once: it was cancelled by the group's abort
 * first, hence "cancelling"). */
START_TEST(test_task_group_loop_closed)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.name = "main";
    coro_aio_future *t = coro_aio_create_task(loop, closed_main, NULL, &o);
    coro_aio_call_later(loop, 1, stop_cb, loop, NULL);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    coro_aio_future_release(t);
    ck_assert_str_eq(tr.buf, "k starts; body GeneratorExit; "
                             "handler: Task was destroyed but it is pending! "
                             "<Task cancelling name='k'>; group THROWN GeneratorExit; "
                             "handler: Task was destroyed but it is pending! "
                             "<Task pending name='main'>");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_taskgroup");
    TCase *tc = tcase_create("taskgroup");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_task_group_table, 0, (int)(sizeof tg_cases / sizeof *tg_cases));
    tcase_add_test(tc, test_task_group_owner_cancelled);
    tcase_add_test(tc, test_task_group_create_task_refused);
    tcase_add_test(tc, test_task_group_nested);
    tcase_add_test(tc, test_task_group_through_run);
    tcase_add_test(tc, test_task_group_quiet);
    tcase_add_test(tc, test_task_group_misuse);
    tcase_add_test(tc, test_task_group_loop_closed);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
