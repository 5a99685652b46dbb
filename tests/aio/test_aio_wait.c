/* test_aio_wait.c - asyncio.wait, shield and as_completed, as CPython 3.11 runs them.
 * SPDX-License-Identifier: MIT
 *
 * Every transcript is what CPython 3.11.7 prints for the Python program in
 * the comment above the test (lines joined with "; "; times printed with one
 * decimal, which the virtual clock makes exact).
 */
#include "aio_util.h"

#include <stdint.h>
#include <string.h>

typedef struct child_spec {
    const char *name;
    double delay;
    int fail; /* 1: raise ValueError(name) after the sleep */
} child_spec;

/* async def child(name, delay, fail):
 *     try:
 *         await asyncio.sleep(delay)
 *     except asyncio.CancelledError:
 *         print(name, 'cancelled'); raise
 *     if fail: raise ValueError(name)
 *     return name */
static void *child(coro *self, void *arg)
{
    const child_spec *c = arg;
    if (coro_aio_sleep(c->delay) != CORO_OK) {
        if (coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError))
            tr_add(&tr, "%s cancelled", c->name);
        coro_reraise(self);
    }
    if (c->fail)
        coro_raise(self, &coro_ValueError, c->name);
    return (void *)c->name;
}

static int run_virtual(coro_fn main, void *arg, void **result, coro_exc *exc)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    return coro_aio_run(main, arg, &o, result, exc);
}

static coro_aio_loop *lp(void)
{
    return coro_aio_get_running_loop();
}

static void list(char *buf, size_t size, coro_aio_future **ts, size_t n, const bool *flags,
                 bool want)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    bool first = true;
    for (size_t i = 0; i < n && k < size; i++)
        if (flags[i] == want) {
            k += (size_t)snprintf(buf + k, size - k, "%s%zu", first ? "" : ", ", i);
            first = false;
        }
    (void)ts;
    if (k < size)
        snprintf(buf + k, size - k, "]");
}

/* ------------------------------------------------------------------------ */
/* wait: a table                                                            */
/* ------------------------------------------------------------------------ */

typedef struct wait_case {
    const char *label;
    child_spec kids[3];
    size_t n;
    double timeout;
    int return_when;
    const char *expect;
} wait_case;

#define NONE CORO_AIO_NO_TIMEOUT
#define FC CORO_AIO_FIRST_COMPLETED
#define FE CORO_AIO_FIRST_EXCEPTION
#define AC CORO_AIO_ALL_COMPLETED

/* FC, FE, AC = asyncio.FIRST_COMPLETED, asyncio.FIRST_EXCEPTION, asyncio.ALL_COMPLETED
 * CASES = [
 *   ('all', [(1,0),(2,0),(3,0)], None, AC),
 *   ('first', [(3,0),(1,0),(2,0)], None, FC),
 *   ('first_exc', [(1,0),(2,1),(3,0)], None, FE),
 *   ('first_exc_none', [(1,0),(2,0)], None, FE),
 *   ('timeout', [(1,0),(2,0),(3,0)], 1.5, AC),
 *   ('timeout0', [(1,0),(2,0)], 0, AC),
 *   ('timeout_neg', [(1,0)], -1, FC),
 *   ('all_fail', [(1,1),(2,0)], None, AC),
 * ]
 * async def run(case):
 *     label, spec, timeout, rw = case
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     ts = [asyncio.create_task(child(f'c{i}', d, f)) for i, (d, f) in enumerate(spec)]
 *     done, pending = await asyncio.wait(ts, timeout=timeout, return_when=rw)
 *     print(label, 'done', [i for i, t in enumerate(ts) if t in done],
 *           'pending', [i for i, t in enumerate(ts) if t in pending], 't', loop.time() - t0)
 *     for t in pending: t.cancel()
 *     await asyncio.sleep(0); await asyncio.sleep(0)
 *     for t in ts:
 *         if t.done() and not t.cancelled(): t.exception()
 * for c in CASES:
 *     asyncio.run(run(c)) */
static const wait_case wait_cases[] = {
    {"all", {{"c0", 1, 0}, {"c1", 2, 0}, {"c2", 3, 0}}, 3, NONE, AC,
     "all done [0, 1, 2] pending [] t 3.0"},
    {"first", {{"c0", 3, 0}, {"c1", 1, 0}, {"c2", 2, 0}}, 3, NONE, FC,
     "first done [1] pending [0, 2] t 1.0; c0 cancelled; c2 cancelled"},
    {"first_exc", {{"c0", 1, 0}, {"c1", 2, 1}, {"c2", 3, 0}}, 3, NONE, FE,
     "first_exc done [0, 1] pending [2] t 2.0; c2 cancelled"},
    {"first_exc_none", {{"c0", 1, 0}, {"c1", 2, 0}}, 2, NONE, FE,
     "first_exc_none done [0, 1] pending [] t 2.0"},
    {"timeout", {{"c0", 1, 0}, {"c1", 2, 0}, {"c2", 3, 0}}, 3, 1.5, AC,
     "timeout done [0] pending [1, 2] t 1.5; c1 cancelled; c2 cancelled"},
    {"timeout0", {{"c0", 1, 0}, {"c1", 2, 0}}, 2, 0, AC,
     "timeout0 done [] pending [0, 1] t 0.0; c0 cancelled; c1 cancelled"},
    {"timeout_neg", {{"c0", 1, 0}}, 1, -1, FC,
     "timeout_neg done [] pending [0] t 0.0; c0 cancelled"},
    {"all_fail", {{"c0", 1, 1}, {"c1", 2, 0}}, 2, NONE, AC,
     "all_fail done [0, 1] pending [] t 2.0"},
};

static void *wait_main(coro *self, void *arg)
{
    const wait_case *c = arg;
    double t0 = coro_aio_time(lp());
    coro_aio_future *ts[3];
    bool done[3];
    for (size_t i = 0; i < c->n; i++)
        ts[i] = coro_aio_create_task(lp(), child, (void *)&c->kids[i], NULL);
    int rc = coro_aio_wait(ts, c->n, c->timeout, c->return_when, done, NULL);
    if (rc != CORO_OK) {
        tr_add(&tr, "wait failed %s", coro_err_name(rc));
        return NULL;
    }
    char d[64], p[64];
    list(d, sizeof d, ts, c->n, done, true);
    list(p, sizeof p, ts, c->n, done, false);
    tr_add(&tr, "%s done %s pending %s t %.1f", c->label, d, p, coro_aio_time(lp()) - t0);
    for (size_t i = 0; i < c->n; i++)
        if (!done[i])
            coro_aio_future_cancel(ts[i], NULL);
    if (coro_aio_sleep(0) != CORO_OK || coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    for (size_t i = 0; i < c->n; i++) {
        if (coro_aio_future_done(ts[i]) && !coro_aio_future_cancelled(ts[i]))
            coro_aio_future_exception(ts[i], NULL);
        coro_aio_future_release(ts[i]);
    }
    (void)rc;
    return NULL;
}

START_TEST(test_wait_table)
{
    const wait_case *c = &wait_cases[_i];
    ck_assert_int_eq(run_virtual(wait_main, (void *)c, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, c->expect);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* wait: cancelled while waiting; completion and timeout together; misuse  */
/* ------------------------------------------------------------------------ */

static coro_aio_future *W_TS[2];

static void *waiter(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_wait(W_TS, 2, NONE, AC, NULL, NULL);
    if (rc == CORO_THROWN) {
        tr_add(&tr, "waiter cancelled");
        coro_reraise(self);
    }
    return NULL;
}

/* async def main2():
 *     ts = [asyncio.create_task(child('w0', 1, 0)), asyncio.create_task(child('w1', 2, 0))]
 *     async def waiter():
 *         try:
 *             await asyncio.wait(ts)
 *         except asyncio.CancelledError:
 *             print('waiter cancelled'); raise
 *     w = asyncio.create_task(waiter())
 *     await asyncio.sleep(0.5); w.cancel()
 *     try: await w
 *     except asyncio.CancelledError: print('main: waiter', w.cancelled())
 *     print('children', [t.done() for t in ts])
 *     await asyncio.gather(*ts); print('children', [t.result() for t in ts])
 * asyncio.run(main2()) */
static void *cancel_main(coro *self, void *arg)
{
    (void)arg;
    static child_spec w0 = {"w0", 1, 0}, w1 = {"w1", 2, 0};
    W_TS[0] = coro_aio_create_task(lp(), child, &w0, NULL);
    W_TS[1] = coro_aio_create_task(lp(), child, &w1, NULL);
    coro_aio_future *w = coro_aio_create_task(lp(), waiter, NULL, NULL);
    if (coro_aio_sleep(0.5) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(w, NULL);
    if (coro_aio_await(w, NULL) == CORO_THROWN)
        tr_add(&tr, "main: waiter %s", coro_aio_future_cancelled(w) ? "True" : "False");
    tr_add(&tr, "children [%s, %s]", coro_aio_future_done(W_TS[0]) ? "True" : "False",
           coro_aio_future_done(W_TS[1]) ? "True" : "False");
    coro_aio_future *g = coro_aio_gather(lp(), W_TS, 2, false);
    if (coro_aio_await(g, NULL) != CORO_OK)
        coro_reraise(self);
    void *a, *b;
    coro_aio_future_result(W_TS[0], &a, NULL);
    coro_aio_future_result(W_TS[1], &b, NULL);
    tr_add(&tr, "children ['%s', '%s']", (char *)a, (char *)b);
    coro_aio_future_release(g);
    coro_aio_future_release(w);
    coro_aio_future_release(W_TS[0]);
    coro_aio_future_release(W_TS[1]);
    return NULL;
}

START_TEST(test_wait_cancelled)
{
    ck_assert_int_eq(run_virtual(cancel_main, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "waiter cancelled; main: waiter True; children [False, False]; "
                             "children ['w0', 'w1']");
}
END_TEST

static void set_x(void *arg)
{
    coro_aio_future_set_result(arg, "x");
}

static void say_soon(void *arg)
{
    tr_add(&tr, "%s", (const char *)arg);
}

/* async def main3():
 *     loop = asyncio.get_running_loop()
 *     f = loop.create_future()
 *     loop.call_later(1, f.set_result, 'x')
 *     done, pending = await asyncio.wait([f], timeout=1)
 *     print('same-iteration', len(done), len(pending))
 * async def main4():
 *     loop = asyncio.get_running_loop()
 *     f = loop.create_future(); f.set_result(1)
 *     g = loop.create_future()
 *     loop.call_soon(lambda: print('soon ran'))
 *     done, pending = await asyncio.wait([f, g, f], return_when=FC)
 *     print('predone', len(done), len(pending))
 *     try: await asyncio.wait([])
 *     except ValueError as e: print('empty', e)
 *     try: await asyncio.wait([f], return_when=7)
 *     except ValueError as e: print('bad', e)
 * (C: the futures given twice count in the flags once per entry.) */
static void *edge_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *f = coro_aio_future_new(lp());
    coro_aio_call_later(lp(), 1, set_x, f, NULL);
    bool d[3];
    size_t n = 9;
    int rc = coro_aio_wait(&f, 1, 1, AC, d, &n);
    tr_add(&tr, "same-iteration %zu %zu", n, 1 - n);
    coro_aio_future_release(f);

    f = coro_aio_future_new(lp());
    coro_aio_future_set_result(f, (void *)1);
    coro_aio_future *g = coro_aio_future_new(lp());
    coro_aio_call_soon(lp(), say_soon, "soon ran", NULL);
    coro_aio_future *fs[3] = {f, g, f};
    rc |= coro_aio_wait(fs, 3, NONE, FC, d, &n);
    tr_add(&tr, "predone %zu %zu (flags %d%d%d) %s", n, 3 - n, d[0], d[1], d[2],
           coro_err_name(rc));
    rc = coro_aio_wait(fs, 0, NONE, FC, d, &n);
    tr_add(&tr, "empty %s %s", coro_err_name(rc), coro_aio_last_error());
    rc = coro_aio_wait(fs, 1, NONE, 7, d, &n);
    tr_add(&tr, "bad %s %s", coro_err_name(rc), coro_aio_last_error());
    coro_aio_future_release(f);
    coro_aio_future_release(g);
    return NULL;
}

START_TEST(test_wait_edges)
{
    ck_assert_int_eq(run_virtual(edge_main, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "same-iteration 1 0; soon ran; predone 2 1 (flags 101) OK; "
                             "empty EINVAL wait: ValueError: Set of Tasks/Futures is empty.; "
                             "bad EINVAL wait: ValueError: Invalid return_when value: 7");
}
END_TEST

START_TEST(test_wait_outside_task)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_future *f = coro_aio_future_new(loop);
    ck_assert_int_eq(coro_aio_wait(&f, 1, NONE, AC, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "outside a task"));
    coro_aio_future_release(f);
    coro_aio_loop_close(loop);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* shield                                                                   */
/* ------------------------------------------------------------------------ */

static coro_aio_future *SH_INNER;

static void *shield_waiter(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *outer = coro_aio_shield(SH_INNER);
    void *r = NULL;
    int rc = coro_aio_await(outer, &r);
    coro_aio_future_release(outer);
    if (rc != CORO_OK) {
        tr_add(&tr, "waiter got %s", exc_str(coro_exception(self)));
        coro_reraise(self);
    }
    tr_add(&tr, "waiter got %s", (char *)r);
    return r;
}

/* async def main():
 *     inner = asyncio.create_task(child('in', 2, 0))
 *     async def waiter():
 *         try:
 *             r = await asyncio.shield(inner)
 *         except BaseException as e:
 *             print('waiter got', f'{type(e).__name__}: {e}' if str(e) else type(e).__name__)
 *             raise
 *         print('waiter got', r); return r
 *     w = asyncio.create_task(waiter())
 *     await asyncio.sleep(1); w.cancel()
 *     try: await w
 *     except asyncio.CancelledError: print('w', w.cancelled(), 'inner', inner.done())
 *     print('inner', await inner, asyncio.get_running_loop().time())
 *     # inner fails / inner cancelled: the outer mirrors it
 *     for spec, how in ((('bad', 1, 1), None), (('cx', 5, 0), 'cancel')):
 *         inner = asyncio.create_task(child(*spec))
 *         w = asyncio.create_task(waiter())
 *         await asyncio.sleep(0.5)
 *         if how: inner.cancel()
 *         try: await w
 *         except BaseException as e: print('w', type(e).__name__, w.cancelled())
 *     # already done: the same future comes back
 *     f = asyncio.get_running_loop().create_future(); f.set_result('d')
 *     print('same', asyncio.shield(f) is f)
 *     # the outer cancelled at once removes inner's callback: inner's exception
 *     # is never retrieved, and the loop says so when inner goes
 *     inner = asyncio.create_task(child('late', 1, 1), name='late')
 *     o = asyncio.shield(inner); o.cancel()
 *     await asyncio.sleep(2)
 *     print('late', inner.done(), o.cancelled())
 *     del inner, o
 * asyncio.run(main())
 * -> waiter got CancelledError / w True inner False / inner in 2.0 / waiter got ValueError /
 *    w ValueError False / cx cancelled / waiter got CancelledError / w CancelledError True /
 *    same True / late True True / Task exception was never retrieved
 *    future: <Task finished name='late' coro=<child() ...> exception=ValueError('late')> */
static void *shield_main(coro *self, void *arg)
{
    (void)arg;
    static child_spec in = {"in", 2, 0}, bad = {"bad", 1, 1}, cx = {"cx", 5, 0},
                      late = {"late", 1, 1};
    SH_INNER = coro_aio_create_task(lp(), child, &in, NULL);
    coro_aio_future *w = coro_aio_create_task(lp(), shield_waiter, NULL, NULL);
    if (coro_aio_sleep(1) != CORO_OK)
        coro_reraise(self);
    coro_aio_future_cancel(w, NULL);
    if (coro_aio_await(w, NULL) == CORO_THROWN)
        tr_add(&tr, "w %s inner %s", coro_aio_future_cancelled(w) ? "True" : "False",
               coro_aio_future_done(SH_INNER) ? "True" : "False");
    void *r;
    if (coro_aio_await(SH_INNER, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "inner %s %.1f", (char *)r, coro_aio_time(lp()));
    coro_aio_future_release(w);
    coro_aio_future_release(SH_INNER);

    const child_spec *specs[2] = {&bad, &cx};
    for (int i = 0; i < 2; i++) {
        SH_INNER = coro_aio_create_task(lp(), child, (void *)specs[i], NULL);
        w = coro_aio_create_task(lp(), shield_waiter, NULL, NULL);
        if (coro_aio_sleep(0.5) != CORO_OK)
            coro_reraise(self);
        if (i == 1)
            coro_aio_future_cancel(SH_INNER, NULL);
        if (coro_aio_await(w, NULL) == CORO_THROWN)
            tr_add(&tr, "w %s %s", coro_exception(self)->type->name,
                   coro_aio_future_cancelled(w) ? "True" : "False");
        coro_aio_future_release(w);
        coro_aio_future_release(SH_INNER);
    }

    coro_aio_future *f = coro_aio_future_new(lp());
    coro_aio_future_set_result(f, "d");
    coro_aio_future *o = coro_aio_shield(f);
    tr_add(&tr, "same %s", o == f ? "True" : "False");
    coro_aio_future_release(o);
    coro_aio_future_release(f);

    coro_aio_set_exception_handler(lp(), record_handler, NULL);
    coro_aio_task_options opt = CORO_AIO_TASK_OPTIONS_INIT;
    opt.name = "late";
    coro_aio_future *inner = coro_aio_create_task(lp(), child, &late, &opt);
    o = coro_aio_shield(inner);
    coro_aio_future_cancel(o, NULL);
    if (coro_aio_sleep(2) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "late %s %s", coro_aio_future_done(inner) ? "True" : "False",
           coro_aio_future_cancelled(o) ? "True" : "False");
    coro_aio_future_release(inner);
    coro_aio_future_release(o);
    return NULL;
}

START_TEST(test_shield)
{
    ck_assert_int_eq(run_virtual(shield_main, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "waiter got CancelledError; w True inner False; inner in 2.0; "
                             "waiter got ValueError: bad; w ValueError False; cx cancelled; "
                             "waiter got CancelledError; w CancelledError True; same True; "
                             "late True True; handler: Task exception was never retrieved "
                             "ValueError: late <Task finished name='late' "
                             "exception=ValueError('late')>");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* as_completed                                                             */
/* ------------------------------------------------------------------------ */

typedef struct ac_case {
    child_spec kids[3];
    size_t n;
    double timeout;
    bool dup; /* pass the first task twice */
    const char *expect;
} ac_case;

/* async def run(spec, timeout, dup):
 *     loop = asyncio.get_running_loop(); t0 = loop.time()
 *     ts = [asyncio.create_task(child(*s)) for s in spec]
 *     fs = ts + ts[:1] if dup else ts
 *     for c in asyncio.as_completed(fs, timeout=timeout):
 *         try:
 *             print('got', await c, loop.time() - t0)
 *         except Exception as e:
 *             print('raised', type(e).__name__, e, loop.time() - t0)
 *     for t in ts:
 *         if not t.done(): t.cancel()
 *     await asyncio.sleep(0)
 *     for t in ts:
 *         if t.done() and not t.cancelled(): t.exception()
 * asyncio.run(run([('a', 3, 0), ('b', 1, 0), ('c', 2, 1)], None, False))
 * asyncio.run(run([('a', 3, 0), ('b', 1, 0), ('c', 2, 0)], 1.5, False))
 * asyncio.run(run([('a', 1, 0), ('b', 2, 0)], None, True))
 * asyncio.run(run([('a', 1, 0)], 0, False)) */
static const ac_case ac_cases[] = {
    {{{"a", 3, 0}, {"b", 1, 0}, {"c", 2, 1}}, 3, NONE, false,
     "got b 1.0; raised ValueError c 2.0; got a 3.0"},
    {{{"a", 3, 0}, {"b", 1, 0}, {"c", 2, 0}}, 3, 1.5, false,
     "got b 1.0; raised TimeoutError  1.5; raised TimeoutError  1.5; a cancelled; c cancelled"},
    {{{"a", 1, 0}, {"b", 2, 0}}, 2, NONE, true, "got a 1.0; got b 2.0"},
    {{{"a", 1, 0}}, 1, 0, false, "raised TimeoutError  0.0; a cancelled"},
};

static void *ac_main(coro *self, void *arg)
{
    const ac_case *c = arg;
    double t0 = coro_aio_time(lp());
    coro_aio_future *ts[4];
    for (size_t i = 0; i < c->n; i++)
        ts[i] = coro_aio_create_task(lp(), child, (void *)&c->kids[i], NULL);
    size_t nf = c->n;
    if (c->dup)
        ts[nf++] = ts[0];
    coro_aio_as_completed *it = coro_aio_as_completed_new(lp(), ts, nf, c->timeout);
    while (coro_aio_as_completed_left(it) > 0) {
        void *r;
        int rc = coro_aio_as_completed_next(it, NULL, &r);
        if (rc == CORO_OK)
            tr_add(&tr, "got %s %.1f", (char *)r, coro_aio_time(lp()) - t0);
        else if (rc == CORO_THROWN) {
            const coro_exc *e = coro_exception(self);
            if (!coro_exc_matches(e->type, &coro_Exception))
                coro_reraise(self);
            tr_add(&tr, "raised %s %s %.1f", e->type->name, e->message, coro_aio_time(lp()) - t0);
        } else
            tr_add(&tr, "next failed %s", coro_err_name(rc));
    }
    int rc = coro_aio_as_completed_next(it, NULL, NULL);
    coro_aio_as_completed_free(it);
    for (size_t i = 0; i < c->n; i++)
        if (!coro_aio_future_done(ts[i]))
            coro_aio_future_cancel(ts[i], NULL);
    if (coro_aio_sleep(0) != CORO_OK)
        coro_reraise(self);
    for (size_t i = 0; i < c->n; i++) {
        if (coro_aio_future_done(ts[i]) && !coro_aio_future_cancelled(ts[i]))
            coro_aio_future_exception(ts[i], NULL);
        coro_aio_future_release(ts[i]);
    }
    return (void *)(intptr_t)rc;
}

START_TEST(test_as_completed_table)
{
    const ac_case *c = &ac_cases[_i];
    void *r;
    ck_assert_int_eq(run_virtual(ac_main, (void *)c, &r, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, c->expect);
    ck_assert_int_eq((int)(intptr_t)r, CORO_EINVAL); /* a call past the end */
}
END_TEST

/* An as_completed freed before its futures finish, and one over nothing:
 * nothing is left behind (Valgrind and the loop's live count see it). */
static void *ac_free_main(coro *self, void *arg)
{
    (void)arg;
    static child_spec a = {"a", 1, 0};
    coro_aio_future *t = coro_aio_create_task(lp(), child, &a, NULL);
    coro_aio_as_completed *it = coro_aio_as_completed_new(lp(), &t, 1, 5);
    coro_aio_as_completed *empty = coro_aio_as_completed_new(lp(), NULL, 0, 1);
    tr_add(&tr, "left %zu %zu", coro_aio_as_completed_left(it), coro_aio_as_completed_left(empty));
    coro_aio_as_completed_free(it);
    coro_aio_as_completed_free(empty);
    if (coro_aio_await(t, NULL) != CORO_OK || coro_aio_sleep(10) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "t %.1f", coro_aio_time(lp()));
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_as_completed_free)
{
    ck_assert_int_eq(run_virtual(ac_free_main, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "left 1 0; t 11.0");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_wait");
    TCase *tc = tcase_create("wait");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_wait_table, 0, (int)(sizeof wait_cases / sizeof *wait_cases));
    tcase_add_test(tc, test_wait_cancelled);
    tcase_add_test(tc, test_wait_edges);
    tcase_add_test(tc, test_wait_outside_task);
    tcase_add_test(tc, test_shield);
    tcase_add_loop_test(tc, test_as_completed_table, 0,
                        (int)(sizeof ac_cases / sizeof *ac_cases));
    tcase_add_test(tc, test_as_completed_free);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
