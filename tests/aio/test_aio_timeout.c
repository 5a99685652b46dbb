/* test_aio_timeout.c - timeout scopes (asyncio.timeout 3.11.7) and wait_for (3.12).
 * SPDX-License-Identifier: MIT
 *
 * Every transcript is what CPython 3.11.7 prints for the Python program in
 * the comment above the test (lines joined with "; "; times relative to the
 * start and rounded to one decimal, which the virtual clock makes exact).
 */
#include "aio_util.h"

#include <string.h>

#define NONE CORO_AIO_NO_TIMEOUT

static coro_aio_loop *lp(void)
{
    return coro_aio_get_running_loop();
}

static int run_virtual(coro_fn main, void *arg)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    return coro_aio_run(main, arg, &o, NULL, NULL);
}

static const char *tf(bool b)
{
    return b ? "True" : "False";
}

static bool is_cancel(const coro_exc *e)
{
    return coro_exc_matches(e->type, &coro_aio_CancelledError);
}

static const char *cause(const coro_exc *e)
{
    return e->cause ? e->cause->name : "NoneType";
}

typedef struct body_arg {
    const char *name;
    double d;
    bool catch_cancel;
} body_arg;

/* async def body(name, d, catch):
 *     try:
 *         await asyncio.sleep(d)
 *     except asyncio.CancelledError:
 *         print(name, 'body cancelled')
 *         if catch: return 'caught'
 *         raise
 *     return 'ok' */
static void *body(coro *self, void *arg)
{
    const body_arg *b = arg;
    if (coro_aio_sleep(b->d) != CORO_OK) {
        if (is_cancel(coro_exception(self))) {
            tr_add(&tr, "%s body cancelled", b->name);
            if (b->catch_cancel)
                return "caught";
        }
        coro_reraise(self);
    }
    return "ok";
}

static void *scoped_body(coro *self, coro_aio_timeout_scope *scope, void *arg)
{
    (void)scope;
    return body(self, arg);
}

/* ------------------------------------------------------------------------ */
/* One scope around one body: a table                                       */
/* ------------------------------------------------------------------------ */

typedef struct to_case {
    const char *label;
    double delay, d;
    bool catch_cancel;
    const char *expect;
} to_case;

/* async def case(label, delay, d, catch=False):
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     try:
 *         async with asyncio.timeout(delay) as cm:
 *             r = await body(label, d, catch)
 *         print(label, 'result', r, 'expired', cm.expired(), round(loop.time()-t0, 1))
 *     except TimeoutError as e:
 *         print(label, 'TimeoutError', type(e.__cause__).__name__, 'expired', cm.expired(),
 *               round(loop.time()-t0, 1))
 *     print(label, 'cancelling', asyncio.current_task().cancelling())
 * for c in [('fast', 2, 1), ('slow', 1, 2), ('none', None, 1), ('zero', 0, 1), ('neg', -1, 1),
 *           ('same', 1, 1), ('caught', 1, 2, True)]:
 *     asyncio.run(case(*c))
 * ('same': the scope's timer was scheduled before the sleep's, with the same
 * deadline: it fires first in that iteration and the sleep's result is lost.) */
static const to_case to_cases[] = {
    {"fast", 2, 1, false, "fast result ok expired False 1.0; fast cancelling 0"},
    {"slow", 1, 2, false,
     "slow body cancelled; slow TimeoutError CancelledError expired True 1.0; slow cancelling 0"},
    {"none", NONE, 1, false, "none result ok expired False 1.0; none cancelling 0"},
    {"zero", 0, 1, false,
     "zero body cancelled; zero TimeoutError CancelledError expired True 0.0; zero cancelling 0"},
    {"neg", -1, 1, false,
     "neg body cancelled; neg TimeoutError CancelledError expired True 0.0; neg cancelling 0"},
    {"same", 1, 1, false,
     "same body cancelled; same TimeoutError CancelledError expired True 1.0; same cancelling 0"},
    {"caught", 1, 2, true,
     "caught body cancelled; caught result caught expired True 1.0; caught cancelling 0"},
};

static void *to_main(coro *self, void *arg)
{
    const to_case *c = arg;
    double t0 = coro_aio_time(lp());
    body_arg b = {c->label, c->d, c->catch_cancel};
    void *r;
    bool expired = false;
    int rc = coro_aio_timeout_run(c->delay, scoped_body, &b, &r, &expired);
    if (rc == CORO_OK)
        tr_add(&tr, "%s result %s expired %s %.1f", c->label, (char *)r, tf(expired),
               coro_aio_time(lp()) - t0);
    else if (rc == CORO_THROWN && coro_exception(self)->type == &coro_aio_TimeoutError)
        tr_add(&tr, "%s TimeoutError %s expired %s %.1f", c->label, cause(coro_exception(self)),
               tf(expired), coro_aio_time(lp()) - t0);
    else
        tr_add(&tr, "%s unexpected %s", c->label, coro_err_name(rc));
    tr_add(&tr, "%s cancelling %d", c->label,
           coro_aio_task_cancelling(coro_aio_current_task(NULL)));
    return NULL;
}

START_TEST(test_timeout_table)
{
    const to_case *c = &to_cases[_i];
    ck_assert_int_eq(run_virtual(to_main, (void *)c), CORO_OK);
    ck_assert_str_eq(tr.buf, c->expect);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Nested scopes                                                            */
/* ------------------------------------------------------------------------ */

typedef struct nest {
    double outer_d, inner_d;
    coro_aio_timeout_scope *o, *i;
    bool i_expired;
} nest;

static void *inner_scope(coro *self, coro_aio_timeout_scope *scope, void *arg)
{
    nest *n = arg;
    n->i = scope;
    if (coro_aio_sleep(5) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *outer_scope(coro *self, coro_aio_timeout_scope *scope, void *arg)
{
    nest *n = arg;
    n->o = scope;
    int rc = coro_aio_timeout_run(n->inner_d, inner_scope, n, NULL, &n->i_expired);
    if (rc == CORO_THROWN) {
        if (coro_exception(self)->type != &coro_aio_TimeoutError)
            coro_reraise(self);
        tr_add(&tr, "inner TimeoutError %s %s", tf(n->i_expired),
               tf(coro_aio_timeout_expired(scope)));
    }
    if (coro_aio_sleep(5) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

/* async def nested(outer_d, inner_d):
 *     try:
 *         async with asyncio.timeout(outer_d) as o:
 *             try:
 *                 async with asyncio.timeout(inner_d) as i:
 *                     await asyncio.sleep(5)
 *             except TimeoutError:
 *                 print('inner TimeoutError', i.expired(), o.expired())
 *             await asyncio.sleep(5)
 *     except TimeoutError:
 *         print('outer TimeoutError', i.expired(), o.expired())
 *     print('cancelling', asyncio.current_task().cancelling())
 * asyncio.run(nested(1, 2)); asyncio.run(nested(3, 1))
 * (the outer scope firing first: the inner one lets the CancelledError through
 * untouched, since it did not expire) */
static void *nest_main(coro *self, void *arg)
{
    nest *n = arg;
    bool o_expired;
    int rc = coro_aio_timeout_run(n->outer_d, outer_scope, n, NULL, &o_expired);
    if (rc == CORO_THROWN && coro_exception(self)->type == &coro_aio_TimeoutError)
        tr_add(&tr, "outer TimeoutError %s %s", tf(n->i_expired), tf(o_expired));
    tr_add(&tr, "cancelling %d", coro_aio_task_cancelling(coro_aio_current_task(NULL)));
    return NULL;
}

START_TEST(test_timeout_nested)
{
    nest a = {1, 2, NULL, NULL, false};
    ck_assert_int_eq(run_virtual(nest_main, &a), CORO_OK);
    nest b = {3, 1, NULL, NULL, false};
    ck_assert_int_eq(run_virtual(nest_main, &b), CORO_OK);
    ck_assert_str_eq(tr.buf, "outer TimeoutError False True; cancelling 0; "
                             "inner TimeoutError True False; outer TimeoutError True True; "
                             "cancelling 0");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A cancel from outside wins over the scope                                */
/* ------------------------------------------------------------------------ */

static void *ext_scope(coro *self, coro_aio_timeout_scope *scope, void *arg)
{
    (void)arg;
    *(coro_aio_timeout_scope **)arg = scope;
    if (coro_aio_sleep(5) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *ext_inner(coro *self, void *arg)
{
    (void)arg;
    coro_aio_timeout_scope *cm = NULL;
    bool expired;
    int rc = coro_aio_timeout_run(1, ext_scope, &cm, NULL, &expired);
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        if (e->type == &coro_aio_TimeoutError) {
            tr_add(&tr, "ext TimeoutError");
            return NULL;
        }
        if (is_cancel(e))
            tr_add(&tr, "ext CancelledError expired %s %d", tf(expired),
                   coro_aio_task_cancelling(coro_aio_current_task(NULL)));
        coro_reraise(self);
    }
    return NULL;
}

static void cancel_cb(void *arg)
{
    coro_aio_future_cancel(arg, NULL);
}

/* async def ext(when_cancel):
 *     async def inner():
 *         try:
 *             async with asyncio.timeout(1) as cm:
 *                 await asyncio.sleep(5)
 *         except TimeoutError:
 *             print('ext TimeoutError'); return
 *         except asyncio.CancelledError:
 *             print('ext CancelledError expired', cm.expired(),
 *                   asyncio.current_task().cancelling()); raise
 *     loop = asyncio.get_running_loop()
 *     t = asyncio.create_task(inner())
 *     loop.call_later(when_cancel, t.cancel)
 *     try: await t
 *     except asyncio.CancelledError: print('t cancelled', t.cancelled())
 * asyncio.run(ext(0.5)); asyncio.run(ext(1.0))
 * (1.0: the outside cancel and the deadline in the same iteration: two
 * requests, the scope takes back only its own, CancelledError goes on) */
static void *ext_main(coro *self, void *arg)
{
    double when = *(double *)arg;
    (void)self;
    coro_aio_future *t = coro_aio_create_task(lp(), ext_inner, NULL, NULL);
    coro_aio_call_later(lp(), when, cancel_cb, t, NULL);
    if (coro_aio_await(t, NULL) == CORO_THROWN)
        tr_add(&tr, "t cancelled %s", tf(coro_aio_future_cancelled(t)));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_timeout_outside_cancel)
{
    double a = 0.5, b = 1.0;
    ck_assert_int_eq(run_virtual(ext_main, &a), CORO_OK);
    ck_assert_int_eq(run_virtual(ext_main, &b), CORO_OK);
    ck_assert_str_eq(tr.buf, "ext CancelledError expired False 1; t cancelled True; "
                             "ext CancelledError expired True 1; t cancelled True");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* reschedule, when, repr, misuse                                           */
/* ------------------------------------------------------------------------ */

static void *resched_body(coro *self, coro_aio_timeout_scope *cm, void *arg)
{
    double t0 = *(double *)arg;
    char buf[64];
    tr_add(&tr, "%.1f", coro_aio_timeout_when(cm) - t0);
    coro_aio_timeout_reschedule(cm, t0 + 3.25);
    tr_add(&tr, "%.2f %s", coro_aio_timeout_when(cm) - t0,
           coro_aio_timeout_repr(cm, buf, sizeof buf));
    if (coro_aio_sleep(2) != CORO_OK)
        coro_reraise(self);
    coro_aio_timeout_reschedule(cm, NONE);
    tr_add(&tr, "%s", coro_aio_timeout_repr(cm, buf, sizeof buf));
    if (coro_aio_sleep(5) != CORO_OK)
        coro_reraise(self);
    return cm;
}

static void *past_body(coro *self, coro_aio_timeout_scope *cm, void *arg)
{
    *(coro_aio_timeout_scope **)arg = cm;
    coro_aio_timeout_reschedule(cm, coro_aio_time(lp()) - 1);
    if (coro_aio_sleep(1) != CORO_OK)
        coro_reraise(self);
    return NULL;
}

/* async def resched():
 *     loop = asyncio.get_running_loop()
 *     t0 = loop.time()
 *     async with asyncio.timeout(1) as cm:
 *         print(cm.when() - t0)
 *         cm.reschedule(t0 + 3.25); print(cm.when() - t0, repr(cm))
 *         await asyncio.sleep(2)
 *         cm.reschedule(None); print(repr(cm))
 *         await asyncio.sleep(5)
 *     print('resched done', loop.time() - t0, cm.expired(), repr(cm))
 *     try:
 *         async with asyncio.timeout(1) as cm:
 *             cm.reschedule(loop.time() - 1)
 *             await asyncio.sleep(1)
 *     except TimeoutError:
 *         print('past deadline', loop.time() - t0, repr(cm))
 *     try: cm.reschedule(5)
 *     except RuntimeError as e: print(e)
 * asyncio.run(resched())
 * (C: the loop starts at 0, Python's at the host's monotonic time, so Python
 * prints when=<t0 + 3.25> where C prints when=3.25; the scope is gone once
 * its call returns, so reschedule is tried on a live scope in the expiring
 * state instead, and repr inside) */
static void *expiring_body(coro *self, coro_aio_timeout_scope *cm, void *arg)
{
    (void)arg;
    char buf[64];
    if (coro_aio_sleep(5) != CORO_OK) {
        tr_add(&tr, "%s %s", coro_aio_timeout_repr(cm, buf, sizeof buf),
               coro_err_name(coro_aio_timeout_reschedule(cm, 100)));
        tr_add(&tr, "%s", coro_aio_last_error());
        coro_reraise(self);
    }
    return NULL;
}

static void *resched_main(coro *self, void *arg)
{
    (void)arg;
    double t0 = coro_aio_time(lp());
    bool expired;
    char buf[64];
    void *r;
    coro_aio_timeout_run(1, resched_body, &t0, &r, &expired);
    (void)r;
    tr_add(&tr, "resched done %.1f %s <Timeout [finished]>", coro_aio_time(lp()) - t0,
           tf(expired));
    coro_aio_timeout_scope *cm;
    if (coro_aio_timeout_run(1, past_body, &cm, NULL, &expired) == CORO_THROWN &&
        coro_exception(self)->type == &coro_aio_TimeoutError)
        tr_add(&tr, "past deadline %.1f %s", coro_aio_time(lp()) - t0,
               expired ? "<Timeout [expired]>" : "?");
    coro_aio_timeout_run(0.5, expiring_body, NULL, NULL, NULL);
    tr_add(&tr, "when %.1f", coro_aio_timeout_when(NULL) == NONE ? -1.0 : 0.0);
    (void)buf;
    return NULL;
}

START_TEST(test_timeout_reschedule)
{
    ck_assert_int_eq(run_virtual(resched_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "1.0; 3.25 <Timeout [active] when=3.25>; "
                             "<Timeout [active] when=None>; "
                             "resched done 7.0 False <Timeout [finished]>; "
                             "past deadline 7.0 <Timeout [expired]>; "
                             "<Timeout [expiring]> EINVAL; timeout_reschedule: RuntimeError: "
                             "Cannot change state of expiring Timeout; when -1.0");
}
END_TEST

static void *nobody(coro *self, void *arg)
{
    (void)self;
    return arg;
}

START_TEST(test_timeout_misuse)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    ck_assert_int_eq(coro_aio_timeout(1, nobody, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_timeout_at(1, nobody, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_timeout_at_run(1, NULL, NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_timeout_reschedule(NULL, 1), CORO_EINVAL);
    coro_aio_future *f = coro_aio_future_new(loop);
    ck_assert_int_eq(coro_aio_wait_for(f, 1, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "outside a task"));
    coro_aio_future_release(f);
    coro_aio_loop_close(loop);
}
END_TEST

/* timeout_at with an absolute deadline, and a plain body. */
static void *at_body(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_sleep(10) != CORO_OK)
        coro_reraise(self);
    return "never";
}

static void *at_main(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_sleep(2) != CORO_OK)
        coro_reraise(self);
    int rc = coro_aio_timeout_at(2.5, at_body, NULL, NULL);
    tr_add(&tr, "at %s %s %.1f", coro_err_name(rc),
           rc == CORO_THROWN ? coro_exception(self)->type->name : "-", coro_aio_time(lp()));
    void *r = NULL;
    rc = coro_aio_timeout_at(NONE, nobody, "plain", &r);
    tr_add(&tr, "plain %s %s", coro_err_name(rc), (char *)r);
    return NULL;
}

/* async def main():
 *     await asyncio.sleep(2)
 *     loop = asyncio.get_running_loop(); base = loop.time() - 2   # C: base is 0
 *     try:
 *         async with asyncio.timeout_at(base + 2.5): await asyncio.sleep(10)
 *     except TimeoutError as e: print('at THROWN', type(e).__name__, round(loop.time() - base, 1))
 *     async with asyncio.timeout_at(None): print('plain OK', 'plain')
 * asyncio.run(main())
 * and, for test_timeout_reschedule's last part:
 *     async with asyncio.timeout(0.5) as cm:
 *         try: await asyncio.sleep(5)
 *         except asyncio.CancelledError:
 *             try: cm.reschedule(100)
 *             except RuntimeError as e: print(repr(cm), e)
 *             raise
 * -> <Timeout [expiring]> Cannot change state of expiring Timeout */
START_TEST(test_timeout_at)
{
    ck_assert_int_eq(run_virtual(at_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "at THROWN TimeoutError 2.5; plain OK plain");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* wait_for (3.12's, on the scope)                                          */
/* ------------------------------------------------------------------------ */

typedef struct wf_case {
    const char *label;
    double d, timeout;
    bool catch_cancel;
    const char *expect;
} wf_case;

/* async def child(name, d, catch):
 *     print(name, 'starts')
 *     try:
 *         await asyncio.sleep(d)
 *     except asyncio.CancelledError:
 *         print(name, 'cancelled')
 *         if catch: return 'caught'
 *         raise
 *     return name */
static void *wf_child(coro *self, void *arg)
{
    const wf_case *c = arg;
    tr_add(&tr, "%s starts", c->label);
    if (coro_aio_sleep(c->d) != CORO_OK) {
        if (is_cancel(coro_exception(self))) {
            tr_add(&tr, "%s cancelled", c->label);
            if (c->catch_cancel)
                return "caught";
        }
        coro_reraise(self);
    }
    return (void *)c->label;
}

/* async def wait_for(fut, timeout):   # Python 3.12's asyncio.wait_for
 *     if timeout is not None and timeout <= 0:
 *         fut = asyncio.ensure_future(fut)
 *         if fut.done():
 *             return fut.result()
 *         await _cancel_and_wait(fut)
 *         try:
 *             return fut.result()
 *         except asyncio.CancelledError as exc:
 *             raise TimeoutError from exc
 *     async with asyncio.timeout(timeout):
 *         return await fut
 * (_cancel_and_wait as in 3.12: a waiter released by fut's done callback)
 * async def case(label, d, timeout, catch=False):
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     t = asyncio.create_task(child(label, d, catch))
 *     try:
 *         print(label, 'result', await wait_for(t, timeout), round(loop.time() - t0, 1))
 *     except TimeoutError as e:
 *         print(label, 'TimeoutError', type(e.__cause__).__name__, t.cancelled(),
 *               round(loop.time() - t0, 1))
 * for c in [('ok', 1, 2), ('late', 2, 1), ('none', 1, None), ('zero', 1, 0), ('neg', 1, -5),
 *           ('stubborn', 2, 1, True), ('zero_stubborn', 2, 0, True)]:
 *     asyncio.run(case(*c)) */
static const wf_case wf_cases[] = {
    {"ok", 1, 2, false, "ok starts; ok result ok 1.0"},
    {"late", 2, 1, false, "late starts; late cancelled; late TimeoutError CancelledError True 1.0"},
    {"none", 1, NONE, false, "none starts; none result none 1.0"},
    {"zero", 1, 0, false, "zero TimeoutError CancelledError True 0.0"},
    {"neg", 1, -5, false, "neg TimeoutError CancelledError True 0.0"},
    {"stubborn", 2, 1, true, "stubborn starts; stubborn cancelled; stubborn result caught 1.0"},
    {"zero_stubborn", 2, 0, true, "zero_stubborn TimeoutError CancelledError True 0.0"},
};

static void *wf_main(coro *self, void *arg)
{
    const wf_case *c = arg;
    double t0 = coro_aio_time(lp());
    coro_aio_future *t = coro_aio_create_task(lp(), wf_child, (void *)c, NULL);
    void *r;
    int rc = coro_aio_wait_for(t, c->timeout, &r);
    if (rc == CORO_OK)
        tr_add(&tr, "%s result %s %.1f", c->label, (char *)r, coro_aio_time(lp()) - t0);
    else if (rc == CORO_THROWN && coro_exception(self)->type == &coro_aio_TimeoutError)
        tr_add(&tr, "%s TimeoutError %s %s %.1f", c->label, cause(coro_exception(self)),
               tf(coro_aio_future_cancelled(t)), coro_aio_time(lp()) - t0);
    else
        tr_add(&tr, "%s unexpected %s", c->label, coro_err_name(rc));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_wait_for_table)
{
    const wf_case *c = &wf_cases[_i];
    ck_assert_int_eq(run_virtual(wf_main, (void *)c), CORO_OK);
    ck_assert_str_eq(tr.buf, c->expect);
}
END_TEST

static void set_h(void *arg)
{
    coro_aio_future_set_result(arg, "h");
}

/* async def done_zero():
 *     f = asyncio.get_running_loop().create_future(); f.set_result('d')
 *     print('done zero', await wait_for(f, 0))
 *     g = asyncio.get_running_loop().create_future(); g.set_exception(ValueError('v'))
 *     try: await wait_for(g, 1)
 *     except ValueError as e: print('failed', e)
 *     h = asyncio.get_running_loop().create_future()
 *     asyncio.get_running_loop().call_later(1, h.set_result, 'h')
 *     try: print('future', await wait_for(h, 1))
 *     except TimeoutError: print('future TimeoutError', h.done(), h.cancelled())
 * asyncio.run(done_zero())
 * (h's result and the deadline come in the same iteration: the task, woken
 * by h, is cancelled before it runs, so the scope raises TimeoutError) */
static void *wf_edge_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *f = coro_aio_future_new(lp());
    coro_aio_future_set_result(f, "d");
    void *r;
    if (coro_aio_wait_for(f, 0, &r) == CORO_OK)
        tr_add(&tr, "done zero %s", (char *)r);
    coro_aio_future *g = coro_aio_future_new(lp());
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "v");
    coro_aio_future_set_exception(g, &e);
    if (coro_aio_wait_for(g, 1, &r) == CORO_THROWN)
        tr_add(&tr, "failed %s", coro_exception(self)->message);
    coro_aio_future *h = coro_aio_future_new(lp());
    coro_aio_call_later(lp(), 1, set_h, h, NULL);
    int rc = coro_aio_wait_for(h, 1, &r);
    if (rc == CORO_OK)
        tr_add(&tr, "future %s", (char *)r);
    else if (coro_exception(self)->type == &coro_aio_TimeoutError)
        tr_add(&tr, "future TimeoutError %s %s", tf(coro_aio_future_done(h)),
               tf(coro_aio_future_cancelled(h)));
    coro_aio_future_release(f);
    coro_aio_future_release(g);
    coro_aio_future_release(h);
    return NULL;
}

START_TEST(test_wait_for_edges)
{
    ck_assert_int_eq(run_virtual(wf_edge_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "done zero d; failed v; future TimeoutError True False");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cancelled from outside while waiting: wait_for and as_completed          */
/* ------------------------------------------------------------------------ */

static void *race_child(coro *self, void *arg)
{
    const body_arg *b = arg;
    if (coro_aio_sleep(b->d) != CORO_OK) {
        if (is_cancel(coro_exception(self)))
            tr_add(&tr, "%s cancelled", b->name);
        coro_reraise(self);
    }
    return (void *)b->name;
}

static void *wf_waiter(coro *self, void *arg)
{
    void *r;
    if (coro_aio_wait_for(arg, 5, &r) != CORO_OK) {
        const coro_exc *e = coro_exception(self);
        tr_add(&tr, "waiter %s", e->type->name);
        coro_reraise(self);
    }
    return r;
}

static void *ac_waiter(coro *self, void *arg)
{
    coro_aio_future **ts = arg;
    coro_aio_as_completed *it = coro_aio_as_completed_new(lp(), ts, 2, 5);
    while (coro_aio_as_completed_left(it) > 0) {
        void *r;
        if (coro_aio_as_completed_next(it, NULL, &r) != CORO_OK) {
            if (is_cancel(coro_exception(self)))
                tr_add(&tr, "ac CancelledError");
            coro_aio_as_completed_free(it);
            coro_reraise(self);
        }
        tr_add(&tr, "ac got %s", (char *)r);
    }
    coro_aio_as_completed_free(it);
    return NULL;
}

/* async def child(name, d):
 *     try:
 *         await asyncio.sleep(d)
 *     except asyncio.CancelledError:
 *         print(name, 'cancelled'); raise
 *     return name
 * async def wf_waiter(t):
 *     try:
 *         async with asyncio.timeout(5):   # Python 3.12's wait_for(t, 5)
 *             return await t
 *     except TimeoutError:
 *         print('waiter TimeoutError'); raise
 *     except asyncio.CancelledError:
 *         print('waiter CancelledError'); raise
 * async def ac_waiter(ts):
 *     for c in asyncio.as_completed(ts, timeout=5):
 *         try: print('ac got', await c)
 *         except asyncio.CancelledError:
 *             print('ac CancelledError'); raise
 * async def main():
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     t = asyncio.create_task(child('inner', 3))
 *     w = asyncio.create_task(wf_waiter(t))
 *     await asyncio.sleep(1); w.cancel()
 *     try: await w
 *     except asyncio.CancelledError: print('w', w.cancelled(), 'inner', t.cancelled())
 *     ts = [asyncio.create_task(child('x', 1)), asyncio.create_task(child('y', 3))]
 *     a = asyncio.create_task(ac_waiter(ts))
 *     await asyncio.sleep(2); a.cancel()
 *     try: await a
 *     except asyncio.CancelledError: print('a', a.cancelled(), 'y', ts[1].done())
 *     print('y', await ts[1], round(loop.time() - t0, 1))
 * asyncio.run(main()) */
static void *race_main(coro *self, void *arg)
{
    (void)arg;
    static body_arg in = {"inner", 3, false}, x = {"x", 1, false}, y = {"y", 3, false};
    double t0 = coro_aio_time(lp());
    coro_aio_future *t = coro_aio_create_task(lp(), race_child, &in, NULL);
    coro_aio_future *w = coro_aio_create_task(lp(), wf_waiter, t, NULL);
    if (coro_aio_sleep(1) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(w, NULL);
    if (coro_aio_await(w, NULL) == CORO_THROWN)
        tr_add(&tr, "w %s inner %s", tf(coro_aio_future_cancelled(w)),
               tf(coro_aio_future_cancelled(t)));
    coro_aio_future_release(w);
    coro_aio_future_release(t);
    coro_aio_future *ts[2] = {coro_aio_create_task(lp(), race_child, &x, NULL),
                              coro_aio_create_task(lp(), race_child, &y, NULL)};
    coro_aio_future *a = coro_aio_create_task(lp(), ac_waiter, ts, NULL);
    if (coro_aio_sleep(2) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(a, NULL);
    if (coro_aio_await(a, NULL) == CORO_THROWN)
        tr_add(&tr, "a %s y %s", tf(coro_aio_future_cancelled(a)), tf(coro_aio_future_done(ts[1])));
    void *r;
    if (coro_aio_await(ts[1], &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "y %s %.1f", (char *)r, coro_aio_time(lp()) - t0);
    coro_aio_future_release(a);
    coro_aio_future_release(ts[0]);
    coro_aio_future_release(ts[1]);
    return NULL;
}

START_TEST(test_cancelled_while_waiting)
{
    ck_assert_int_eq(run_virtual(race_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "inner cancelled; waiter CancelledError; w True inner True; "
                             "ac got x; ac CancelledError; a True y False; y y 4.0");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_timeout");
    TCase *tc = tcase_create("timeout");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_timeout_table, 0, (int)(sizeof to_cases / sizeof *to_cases));
    tcase_add_test(tc, test_timeout_nested);
    tcase_add_test(tc, test_timeout_outside_cancel);
    tcase_add_test(tc, test_timeout_reschedule);
    tcase_add_test(tc, test_timeout_misuse);
    tcase_add_test(tc, test_timeout_at);
    tcase_add_loop_test(tc, test_wait_for_table, 0, (int)(sizeof wf_cases / sizeof *wf_cases));
    tcase_add_test(tc, test_wait_for_edges);
    tcase_add_test(tc, test_cancelled_while_waiting);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
