/* test_aio_cancel.c - task cancellation, every rule of Python 3.11.
 * SPDX-License-Identifier: MIT
 *
 * The transcripts are what CPython 3.11 prints for the Python program in the
 * comment above each test (lines joined with "; ").
 */
#include "aio_util.h"

#include <string.h>

static coro_aio_loop *loop(void)
{
    return coro_aio_get_running_loop();
}

/* repr(e.args) of a CancelledError. */
static const char *args(const coro_exc *e)
{
    static char buf[200];
    if (e->message[0])
        snprintf(buf, sizeof buf, "('%s',)", e->message);
    else
        snprintf(buf, sizeof buf, "()");
    return buf;
}

static bool is_cancel(const coro_exc *e)
{
    return coro_exc_matches(e->type, &coro_aio_CancelledError);
}

/* async def body(tag):
 *     print(tag, 'starts')
 *     try:
 *         await asyncio.sleep(1)
 *         print(tag, 'woke')
 *     except asyncio.CancelledError as e:
 *         print(tag, 'cancelled', repr(e.args))
 *         raise
 *     return tag */
static void *body(coro *self, void *arg)
{
    const char *tag = arg;
    tr_add(&tr, "%s starts", tag);
    if (coro_aio_sleep(1) != CORO_OK) {
        const coro_exc *e = coro_exception(self);
        if (is_cancel(e))
            tr_add(&tr, "%s cancelled %s", tag, args(e));
        coro_reraise(self);
    }
    tr_add(&tr, "%s woke", tag);
    return arg;
}

/* async def stubborn():
 *     for i in range(2):
 *         try:
 *             await asyncio.sleep(1)
 *         except asyncio.CancelledError as e:
 *             print('stubborn caught', e.args, asyncio.current_task().cancelling())
 *             print('uncancel ->', asyncio.current_task().uncancel())
 *     return 'survived' */
static void *stubborn(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        if (coro_aio_sleep(1) != CORO_OK) {
            const coro_exc *e = coro_exception(self);
            if (!is_cancel(e))
                coro_reraise(self);
            coro_aio_future *me = coro_aio_current_task(NULL);
            tr_add(&tr, "stubborn caught %s %d", args(e), coro_aio_task_cancelling(me));
            tr_add(&tr, "uncancel -> %d", coro_aio_task_uncancel(me));
        }
    }
    return "survived";
}

static void *quick(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    return "q";
}

static coro_aio_future *WF_F;

/* async def wf():
 *     try:
 *         await f
 *     except asyncio.CancelledError as e:
 *         print('wf caught', repr(e.args), f.cancelled())
 *         return 'wf done' */
static void *wf(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_await(WF_F, NULL) != CORO_OK) {
        const coro_exc *e = coro_exception(self);
        if (!is_cancel(e))
            coro_reraise(self);
        tr_add(&tr, "wf caught %s %s", args(e), coro_aio_future_cancelled(WF_F) ? "True" : "False");
        return "wf done";
    }
    return NULL;
}

static coro_aio_future *INNER;

static void *outer_body(coro *self, void *arg)
{
    (void)arg;
    void *r;
    if (coro_aio_await(INNER, &r) != CORO_OK)
        coro_reraise(self);
    return r;
}

/* Awaits t; on CancelledError prints "main: <what> cancelled <args>". */
static int await_cancelled(coro *self, coro_aio_future *t, const char *what, void **r)
{
    int rc = coro_aio_await(t, r);
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        if (!is_cancel(e))
            coro_reraise(self);
        tr_add(&tr, "main: %s cancelled %s", what, args(e));
    }
    return rc;
}

#define SLEEP0()                                                                                \
    do {                                                                                        \
        if (coro_aio_sleep(0) != CORO_OK)                                                       \
            coro_reraise(self);                                                                 \
    } while (0)

static const char *tf(bool b)
{
    return b ? "True" : "False";
}

/*
 * async def main():
 *     loop = asyncio.get_running_loop()
 *     # 1 cancel before start
 *     t = asyncio.create_task(body('A'))
 *     print('cancel A', t.cancel('early'), t.cancelling())
 *     try: await t
 *     except asyncio.CancelledError as e: print('main: A cancelled', repr(e.args), t.cancelled())
 *     # 2 cancel while sleeping
 *     t = asyncio.create_task(body('B'))
 *     await asyncio.sleep(0)
 *     print('cancel B', t.cancel('msgB'))
 *     print('cancel B again', t.cancel('second'), t.cancelling())
 *     try: await t
 *     except asyncio.CancelledError as e: print('main: B cancelled', repr(e.args))
 *     try: t.result()
 *     except asyncio.CancelledError as e: print('main: B result', repr(e.args))
 *     print('cancel done B', t.cancel())
 *     # 3 stubborn
 *     t = asyncio.create_task(stubborn())
 *     await asyncio.sleep(0); t.cancel('x'); await asyncio.sleep(0); t.cancel('y')
 *     print('main: stubborn', await t, t.cancelling())
 *     # 4 a task that finished is not cancelled; one cancelled before it starts is
 *     t = asyncio.create_task(quick()); await asyncio.sleep(0); print('quick done?', t.done())
 *     t2 = asyncio.create_task(quick()); t2.cancel('late')
 *     try: await t2
 *     except asyncio.CancelledError as e: print('main: quick2 cancelled', repr(e.args))
 *     # 5 cancel while waiting on a future cancels that future
 *     f = loop.create_future()
 *     t = asyncio.create_task(wf()); await asyncio.sleep(0); t.cancel('fmsg')
 *     print('main: wf', await t, t.cancelled(), t.cancelling())
 *     # 6 cancelling a task that awaits a task cancels the inner one
 *     inner = asyncio.create_task(body('I'))
 *     async def outer_body(): return await inner
 *     outer = asyncio.create_task(outer_body())
 *     await asyncio.sleep(0); outer.cancel('om')
 *     try: await outer
 *     except asyncio.CancelledError as e:
 *         print('main: outer cancelled', repr(e.args), inner.cancelled())
 * asyncio.run(main())
 */
static void *rules_main(coro *self, void *arg)
{
    (void)arg;
    /* 1 */
    coro_aio_future *t = coro_aio_create_task(loop(), body, "A", NULL);
    bool c = coro_aio_future_cancel(t, "early");
    tr_add(&tr, "cancel A %s %d", tf(c), coro_aio_task_cancelling(t));
    if (await_cancelled(self, t, "A", NULL) == CORO_THROWN)
        tr_add(&tr, "cancelled? %s", tf(coro_aio_future_cancelled(t)));
    coro_aio_future_release(t);
    /* 2 */
    t = coro_aio_create_task(loop(), body, "B", NULL);
    SLEEP0();
    tr_add(&tr, "cancel B %s", tf(coro_aio_future_cancel(t, "msgB")));
    c = coro_aio_future_cancel(t, "second");
    tr_add(&tr, "cancel B again %s %d", tf(c), coro_aio_task_cancelling(t));
    await_cancelled(self, t, "B", NULL);
    coro_exc e;
    if (coro_aio_future_result(t, NULL, &e) == CORO_RAISED)
        tr_add(&tr, "main: B result %s", args(&e));
    tr_add(&tr, "cancel done B %s", tf(coro_aio_future_cancel(t, NULL)));
    coro_aio_future_release(t);
    /* 3 */
    t = coro_aio_create_task(loop(), stubborn, NULL, NULL);
    SLEEP0();
    coro_aio_future_cancel(t, "x");
    SLEEP0();
    coro_aio_future_cancel(t, "y");
    void *r;
    if (coro_aio_await(t, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main: stubborn %s %d", (char *)r, coro_aio_task_cancelling(t));
    coro_aio_future_release(t);
    /* 4 */
    t = coro_aio_create_task(loop(), quick, NULL, NULL);
    SLEEP0();
    tr_add(&tr, "quick done? %s", tf(coro_aio_future_done(t)));
    coro_aio_future_release(t);
    t = coro_aio_create_task(loop(), quick, NULL, NULL);
    coro_aio_future_cancel(t, "late");
    await_cancelled(self, t, "quick2", NULL);
    coro_aio_future_release(t);
    /* 5 */
    WF_F = coro_aio_future_new(loop());
    t = coro_aio_create_task(loop(), wf, NULL, NULL);
    SLEEP0();
    coro_aio_future_cancel(t, "fmsg");
    if (coro_aio_await(t, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main: wf %s %s %d", (char *)r, tf(coro_aio_future_cancelled(t)),
           coro_aio_task_cancelling(t));
    coro_aio_future_release(t);
    coro_aio_future_release(WF_F);
    /* 6 */
    INNER = coro_aio_create_task(loop(), body, "I", NULL);
    coro_aio_future *outer = coro_aio_create_task(loop(), outer_body, NULL, NULL);
    SLEEP0();
    coro_aio_future_cancel(outer, "om");
    if (await_cancelled(self, outer, "outer", NULL) == CORO_THROWN)
        tr_add(&tr, "inner cancelled? %s", tf(coro_aio_future_cancelled(INNER)));
    coro_aio_future_release(outer);
    coro_aio_future_release(INNER);
    return NULL;
}

START_TEST(test_rules)
{
    ck_assert_int_eq(coro_aio_run(rules_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf,
                     "cancel A True 1; main: A cancelled ('early',); cancelled? True; "
                     "B starts; cancel B True; cancel B again True 2; B cancelled ('msgB',); "
                     "main: B cancelled ('msgB',); main: B result (); cancel done B False; "
                     "stubborn caught ('x',) 1; uncancel -> 0; stubborn caught ('y',) 1; "
                     "uncancel -> 0; main: stubborn survived 0; quick done? True; "
                     "main: quick2 cancelled ('late',); wf caught ('fmsg',) True; "
                     "main: wf wf done False 1; I starts; I cancelled ('om',); "
                     "main: outer cancelled ('om',); inner cancelled? True");
}
END_TEST

/*
 * async def selfcancel():
 *     print('sc cancel ->', asyncio.current_task().cancel('self'))
 *     return 'ret'
 * async def selfcancel_catch():
 *     asyncio.current_task().cancel('s2')
 *     try:
 *         await asyncio.sleep(0)
 *     except asyncio.CancelledError as e:
 *         print('caught own', repr(e.args))
 *     return 'kept'
 * async def main():
 *     t = asyncio.create_task(selfcancel())
 *     try: await t
 *     except asyncio.CancelledError as e: print('main: sc', repr(e.args), t.cancelled())
 *     t = asyncio.create_task(selfcancel_catch())
 *     print('main: scc', await t, t.cancelling())
 * -> sc cancel -> True; main: sc ('self',) True; caught own ('s2',); main: scc kept 1
 */
static void *selfcancel(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    tr_add(&tr, "sc cancel -> %s", tf(coro_aio_future_cancel(coro_aio_current_task(NULL), "self")));
    return "ret";
}

static void *selfcancel_catch(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future_cancel(coro_aio_current_task(NULL), "s2");
    if (coro_aio_sleep(0) != CORO_OK) {
        const coro_exc *e = coro_exception(self);
        if (!is_cancel(e))
            coro_reraise(self);
        tr_add(&tr, "caught own %s", args(e));
    }
    return "kept";
}

static void *self_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(loop(), selfcancel, NULL, NULL);
    int rc = coro_aio_await(t, NULL);
    if (rc == CORO_THROWN && is_cancel(coro_exception(self)))
        tr_add(&tr, "main: sc %s %s", args(coro_exception(self)), tf(coro_aio_future_cancelled(t)));
    coro_aio_future_release(t);
    t = coro_aio_create_task(loop(), selfcancel_catch, NULL, NULL);
    void *r;
    if (coro_aio_await(t, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "main: scc %s %d", (char *)r, coro_aio_task_cancelling(t));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_self_cancel)
{
    ck_assert_int_eq(coro_aio_run(self_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "sc cancel -> True; main: sc ('self',) True; caught own ('s2',); "
                             "main: scc kept 1");
}
END_TEST

/* asyncio.run with a cancelled main raises CancelledError; tasks left when
 * main returns are cancelled and awaited before the loop closes.
 *
 * async def child():
 *     try: await asyncio.sleep(10)
 *     finally: print('child cleanup')
 * async def main():
 *     asyncio.create_task(child())
 *     await asyncio.sleep(0)
 *     print('main returns')
 *     return 5
 * print(asyncio.run(main()))
 * -> main returns; child cleanup; 5
 */
static void child_cleanup(void *arg)
{
    (void)arg;
    tr_add(&tr, "child cleanup");
}

static void *child(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, child_cleanup, NULL);
    if (coro_aio_sleep(10) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *leftover_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future_release(coro_aio_create_task(loop(), child, NULL, NULL));
    SLEEP0();
    tr_add(&tr, "main returns");
    return (void *)5;
}

START_TEST(test_run_cancels_leftovers)
{
    void *r = NULL;
    ck_assert_int_eq(coro_aio_run(leftover_main, NULL, NULL, &r, NULL), CORO_OK);
    tr_add(&tr, "%d", (int)(intptr_t)r);
    ck_assert_str_eq(tr.buf, "main returns; child cleanup; 5");
}
END_TEST

/*
 * async def main():
 *     asyncio.current_task().cancel('bye')
 *     await asyncio.sleep(0)
 * try: asyncio.run(main())
 * except asyncio.CancelledError as e: print('run raised', repr(e.args))
 * -> run raised ('bye',)
 */
static void *cancelled_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future_cancel(coro_aio_current_task(NULL), "bye");
    SLEEP0();
    return NULL;
}

START_TEST(test_run_cancelled_main)
{
    coro_exc e;
    ck_assert_int_eq(coro_aio_run(cancelled_main, NULL, NULL, NULL, &e), CORO_RAISED);
    ck_assert(is_cancel(&e));
    tr_add(&tr, "run raised %s", args(&e));
    ck_assert_str_eq(tr.buf, "run raised ('bye',)");
}
END_TEST

/* A CancelledError is a BaseException: a handler for Exception does not
 * catch it. */
START_TEST(test_cancelled_error_family)
{
    ck_assert(!coro_exc_matches(&coro_aio_CancelledError, &coro_Exception));
    ck_assert(coro_exc_matches(&coro_aio_CancelledError, &coro_BaseException));
    ck_assert(coro_exc_matches(&coro_aio_TimeoutError, &coro_Exception));
    ck_assert(coro_exc_matches(&coro_aio_InvalidStateError, &coro_Exception));
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_cancel");
    TCase *tc = tcase_create("cancel");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_rules);
    tcase_add_test(tc, test_self_cancel);
    tcase_add_test(tc, test_run_cancels_leftovers);
    tcase_add_test(tc, test_run_cancelled_main);
    tcase_add_test(tc, test_cancelled_error_family);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
