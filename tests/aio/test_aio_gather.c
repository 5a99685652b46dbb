/* test_aio_gather.c - gather: argument order, first failure, return_exceptions, cancel.
 * SPDX-License-Identifier: MIT
 *
 * The transcript is what CPython 3.11 prints for the program below (lines
 * joined with "; "; Python's gather wraps coroutines in tasks in argument
 * order, which the C test does by hand).
 *
 * async def w(tag, d, fail=False):
 *     try:
 *         await asyncio.sleep(d)
 *     except asyncio.CancelledError:
 *         print(tag, 'cancelled'); raise
 *     print(tag, 'done')
 *     if fail: raise ValueError(tag)
 *     return tag
 * async def main():
 *     r = await asyncio.gather(w('a', 0.02), w('b', 0.01), w('c', 0))
 *     print('results', r)
 *     ts = [asyncio.create_task(w('x', 0.01, True)), asyncio.create_task(w('y', 0.03))]
 *     try:
 *         await asyncio.gather(*ts)
 *     except ValueError as e:
 *         print('gather raised', e, ts[1].done())
 *     await ts[1]
 *     print('y kept running', ts[1].result())
 *     ts = [asyncio.create_task(w('p', 0.01, True)), asyncio.create_task(w('q', 0.02))]
 *     ts[1].cancel('qq')
 *     r = await asyncio.gather(*ts, return_exceptions=True)
 *     print('rx', [repr(x) for x in r])
 *     ts = [asyncio.create_task(w('m', 1)), asyncio.create_task(w('n', 1))]
 *     g = asyncio.gather(*ts)
 *     await asyncio.sleep(0)
 *     print('cancel g', g.cancel('gm'))
 *     try:
 *         await g
 *     except asyncio.CancelledError as e:
 *         print('g cancelled', repr(e.args), g.cancelled(), [t.cancelled() for t in ts])
 * asyncio.run(main())
 * ->
 * c done; b done; a done; results ['a', 'b', 'c']; x done; gather raised x False; y done;
 * y kept running y; p done; rx ["ValueError('p')", "CancelledError('')"]; cancel g True;
 * m cancelled; n cancelled; g cancelled ('gm',) False [True, True]
 */
#include "aio_util.h"

#include <string.h>

typedef struct w_args {
    const char *tag;
    double d;
    bool fail;
} w_args;

static void *w(coro *self, void *arg)
{
    w_args *a = arg;
    if (coro_aio_sleep(a->d) != CORO_OK) {
        if (coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError))
            tr_add(&tr, "%s cancelled", a->tag);
        coro_reraise(self);
    }
    tr_add(&tr, "%s done", a->tag);
    if (a->fail)
        coro_raise(self, &coro_ValueError, a->tag);
    return (void *)a->tag;
}

static coro_aio_future *spawn(w_args *a)
{
    return coro_aio_create_task(coro_aio_get_running_loop(), w, a, NULL);
}

static void release_all(coro_aio_future **ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        coro_aio_future_release(ts[i]);
}

static void *gather_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    static w_args a = {"a", 0.02, false}, b = {"b", 0.01, false}, c = {"c", 0, false},
                  x = {"x", 0.01, true}, y = {"y", 0.03, false}, p = {"p", 0.01, true},
                  q = {"q", 0.02, false}, m = {"m", 1, false}, n = {"n", 1, false};
    coro_aio_future *ts[3] = {spawn(&a), spawn(&b), spawn(&c)};
    coro_aio_future *g = coro_aio_gather(loop, ts, 3, false);
    if (coro_aio_await(g, NULL) != CORO_OK)
        coro_reraise(self);
    char buf[800] = "";
    for (size_t i = 0; i < 3; i++) {
        void *v;
        coro_aio_gather_item(g, i, &v, NULL);
        strcat(buf, i ? ", '" : "'");
        strcat(buf, v);
        strcat(buf, "'");
    }
    tr_add(&tr, "results [%s]", buf);
    coro_aio_future_release(g);
    release_all(ts, 3);

    ts[0] = spawn(&x);
    ts[1] = spawn(&y);
    g = coro_aio_gather(loop, ts, 2, false);
    if (coro_aio_await(g, NULL) == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        if (e->type != &coro_ValueError)
            coro_reraise(self);
        tr_add(&tr, "gather raised %s %s", e->message, coro_aio_future_done(ts[1]) ? "True" : "False");
    }
    coro_aio_future_release(g);
    void *v;
    if (coro_aio_await(ts[1], &v) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "y kept running %s", (char *)v);
    release_all(ts, 2);

    ts[0] = spawn(&p);
    ts[1] = spawn(&q);
    coro_aio_future_cancel(ts[1], "qq");
    g = coro_aio_gather(loop, ts, 2, true);
    if (coro_aio_await(g, NULL) != CORO_OK)
        coro_reraise(self);
    buf[0] = 0;
    for (size_t i = 0; i < 2; i++) {
        coro_exc e;
        if (coro_aio_gather_item(g, i, NULL, &e) == CORO_RAISED) {
            char one[300];
            snprintf(one, sizeof one, "%s\"%s('%s')\"", i ? ", " : "", e.type->name, e.message);
            strcat(buf, one);
        }
    }
    tr_add(&tr, "rx [%s]", buf);
    coro_aio_future_release(g);
    release_all(ts, 2);

    ts[0] = spawn(&m);
    ts[1] = spawn(&n);
    g = coro_aio_gather(loop, ts, 2, false);
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "cancel g %s", coro_aio_future_cancel(g, "gm") ? "True" : "False");
    if (coro_aio_await(g, NULL) == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        if (e->type != &coro_aio_CancelledError)
            coro_reraise(self);
        tr_add(&tr, "g cancelled ('%s',) %s [%s, %s]", e->message,
               coro_aio_future_cancelled(g) ? "True" : "False",
               coro_aio_future_cancelled(ts[0]) ? "True" : "False",
               coro_aio_future_cancelled(ts[1]) ? "True" : "False");
    }
    coro_aio_future_release(g);
    release_all(ts, 2);
    return NULL;
}

/* On the virtual clock only: the order depends on sleeps 10 ms apart, which a
 * loaded machine (or Valgrind) can reorder on the real clock. */
START_TEST(test_gather)
{
    {
        tr_reset(&tr);
        coro_aio_loop_options o = CORO_AIO_LOOP_OPTIONS_INIT;
        o.clock = CORO_AIO_CLOCK_VIRTUAL;
        ck_assert_int_eq(coro_aio_run(gather_main, NULL, &o, NULL, NULL), CORO_OK);
        ck_assert_str_eq(tr.buf,
                         "c done; b done; a done; results ['a', 'b', 'c']; x done; "
                         "gather raised x False; y done; y kept running y; p done; "
                         "rx [\"ValueError('p')\", \"CancelledError('')\"]; cancel g True; "
                         "m cancelled; n cancelled; g cancelled ('gm',) False [True, True]");
    }
}
END_TEST

/* gather() of nothing is done at once; a child passed twice counts once and
 * its result appears twice.
 * async def main():
 *     print(await asyncio.gather())
 *     f = asyncio.get_running_loop().create_future(); f.set_result(3)
 *     print(await asyncio.gather(f, f))
 * -> []; [3, 3] */
static void *small_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future *g = coro_aio_gather(loop, NULL, 0, false);
    if (coro_aio_await(g, NULL) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "[]");
    coro_aio_future_release(g);
    coro_aio_future *f = coro_aio_future_new(loop);
    coro_aio_future_set_result(f, (void *)3);
    coro_aio_future *two[2] = {f, f};
    g = coro_aio_gather(loop, two, 2, false);
    if (coro_aio_await(g, NULL) != CORO_OK)
        coro_reraise(self);
    void *a = NULL, *b = NULL;
    coro_aio_gather_item(g, 0, &a, NULL);
    coro_aio_gather_item(g, 1, &b, NULL);
    tr_add(&tr, "[%d, %d]", (int)(intptr_t)a, (int)(intptr_t)b);
    tr_add(&tr, "item 2: %s", coro_err_name(coro_aio_gather_item(g, 2, NULL, NULL)));
    coro_aio_future_release(g);
    coro_aio_future_release(f);
    return NULL;
}

START_TEST(test_gather_small)
{
    ck_assert_int_eq(coro_aio_run(small_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "[]; [3, 3]; item 2: EINVAL");
}
END_TEST

/* The owner may release a gather before its children's callbacks have run:
 * a callback already queued (the child finished; or the child was done when
 * gather() was called) must keep the gather alive until it runs. ASan and
 * Valgrind check that nothing runs on a freed gather; the transcript checks
 * that both gathers went through their callbacks and the loop ended clean.
 * (Python keeps the outer future alive through the callback's closure.) */
static void *release_early_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future *done = coro_aio_future_new(loop);
    coro_aio_future_set_result(done, (void *)1);
    coro_aio_future *g = coro_aio_gather(loop, &done, 1, false); /* call queued at once */
    tr_add(&tr, "done child: %s", g != NULL ? "gather" : "NULL");
    coro_aio_future_release(g);
    coro_aio_future *pending = coro_aio_future_new(loop);
    g = coro_aio_gather(loop, &pending, 1, false);
    coro_aio_future_set_result(pending, (void *)2); /* call queued by the finish */
    tr_add(&tr, "pending child: %s", g != NULL ? "gather" : "NULL");
    coro_aio_future_release(g);
    for (int i = 0; i < 3; i++)
        if (coro_aio_sleep(0) != CORO_OK)
            tr_add(&tr, "sleep failed");
    tr_add(&tr, "ran");
    coro_aio_future_release(done);
    coro_aio_future_release(pending);
    return NULL;
}

START_TEST(test_gather_released_before_its_callbacks_run)
{
    ck_assert_int_eq(coro_aio_run(release_early_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "done child: gather; pending child: gather; ran");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_gather");
    TCase *tc = tcase_create("gather");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_gather);
    tcase_add_test(tc, test_gather_small);
    tcase_add_test(tc, test_gather_released_before_its_callbacks_run);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
