/* test_aio_fastpaths.c - what the loop's shortcuts must not change: lazy coroutines, ready entries, names.
 * SPDX-License-Identifier: MIT
 *
 * The loop takes shortcuts for speed: a task's coroutine is made at its first
 * step; a task's own step and its wakeup go into the ready queue as tagged
 * task pointers instead of handles, and the common step and wakeup run
 * inline in the loop; an await's result is read without the exception copy;
 * Task-N names are formatted without snprintf or malloc, and the clock is
 * not read when no timer is scheduled. Each test is a Python 3.11 program
 * (in the comment above it) whose output the C version must reproduce: the
 * order of callbacks, task steps and done callbacks must be asyncio's, with
 * the shortcut taken and when it must give way (a cancel after the wakeup was
 * queued, a done callback list that must grow, an exception to throw in, a
 * loop closed with a wakeup still queued).
 */
#include "aio_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP() coro_aio_get_running_loop()
/* Propagates what a call inside a body threw (no ck_assert in bodies). */
#define TRY(x)                                                                                  \
    do {                                                                                        \
        if ((x) != CORO_OK)                                                                     \
            coro_reraise(self);                                                                 \
    } while (0)
#define SLEEP0() TRY(coro_aio_sleep(0))
#define AWAIT(t) TRY(coro_aio_await((t), NULL))
#define P(...) tr_add(&tr, __VA_ARGS__)

static coro_aio_loop *L;

/* ------------------------------------------------------------------------ */

static void *say_started(coro *self, void *arg)
{
    (void)self;
    tr_add(&tr, "body %s", (const char *)arg);
    return arg;
}

/* get_coro() before the first step hands out the coroutine, not started
 * (GEN_CREATED); the step then runs that same coroutine, once. */
START_TEST(test_get_coro_before_first_step)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_future *t = coro_aio_create_task(L, say_started, "x", NULL);
    coro *c = coro_aio_task_get_coro(t);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(coro_aio_task_get_coro(t), c);
    tr_add(&tr, "state %s", coro_state_name(coro_get_state(c)));
    void *r = NULL;
    ck_assert_int_eq(coro_aio_run_until_complete(L, t, &r, NULL), CORO_OK);
    ck_assert_ptr_eq(coro_aio_task_get_coro(t), c);
    tr_add(&tr, "state %s result %s", coro_state_name(coro_get_state(c)), (const char *)r);
    coro_aio_future_release(t);
    coro_aio_loop_close(L);
    ck_assert_str_eq(tr.buf, "state GEN_CREATED; body x; state GEN_CLOSED result x");
}
END_TEST

/* A task that never ran, left pending at close: reported, body never run. */
START_TEST(test_never_started_task_at_close)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_future *t = coro_aio_create_task(L, say_started, "never", NULL);
    coro_aio_future_release(t);
    coro_aio_loop_close(L);
    ck_assert_str_eq(tr.buf, "handler: Task was destroyed but it is pending! "
                             "<Task pending name='Task-1'>");
}
END_TEST

/* ------------------------------------------------------------------------ */

/*
 * def cb(i):
 *     print('cb', i)
 *     if i < 3:
 *         loop.call_soon(cb, i + 1)
 * async def t():
 *     for i in range(3):
 *         print('t', i)
 *         await asyncio.sleep(0)
 * loop = asyncio.new_event_loop()
 * loop.call_soon(cb, 0)
 * loop.run_until_complete(loop.create_task(t()))
 * ->
 * cb 0; t 0; cb 1; t 1; cb 2; t 2; cb 3
 */
static void chain_cb(void *arg)
{
    intptr_t i = (intptr_t)arg;
    tr_add(&tr, "cb %d", (int)i);
    if (i < 3)
        coro_aio_call_soon(L, chain_cb, (void *)(i + 1), NULL);
}

static void *three_yields(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        tr_add(&tr, "t %d", i);
        if (coro_aio_sleep(0) != CORO_OK)
            coro_reraise(self);
    }
    return NULL;
}

START_TEST(test_sleep0_interleaves_with_callbacks)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_call_soon(L, chain_cb, (void *)(intptr_t)0, NULL);
    coro_aio_future *t = coro_aio_create_task(L, three_yields, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_until_complete(L, t, NULL, NULL), CORO_OK);
    coro_aio_future_release(t);
    coro_aio_loop_close(L);
    ck_assert_str_eq(tr.buf, "cb 0; t 0; cb 1; t 1; cb 2; t 2; cb 3");
}
END_TEST

/*
 * async def spin():
 *     n = 0
 *     try:
 *         while True:
 *             n += 1
 *             await asyncio.sleep(0)
 *     except asyncio.CancelledError:
 *         print('spin cancelled after', n)
 *         raise
 * async def main():
 *     t = asyncio.create_task(spin())
 *     await asyncio.sleep(0)
 *     await asyncio.sleep(0)
 *     print('cancel', t.cancel())
 *     try:
 *         await t
 *     except asyncio.CancelledError:
 *         print('main: t cancelled', t.cancelled())
 * asyncio.run(main())
 * ->
 * cancel True; spin cancelled after 2; main: t cancelled True
 */
static void *spin(coro *self, void *arg)
{
    (void)arg;
    int n = 0;
    for (;;) {
        n++;
        if (coro_aio_sleep(0) != CORO_OK) {
            tr_add(&tr, "spin cancelled after %d", n);
            coro_reraise(self);
        }
    }
}

static void *spin_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), spin, NULL, NULL);
    for (int i = 0; i < 2; i++)
        if (coro_aio_sleep(0) != CORO_OK)
            coro_reraise(self);
    tr_add(&tr, "cancel %s", coro_aio_future_cancel(t, NULL) ? "True" : "False");
    if (coro_aio_await(t, NULL) == CORO_THROWN)
        tr_add(&tr, "main: t cancelled %s", coro_aio_future_cancelled(t) ? "True" : "False");
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_cancel_while_bare_yield_queued)
{
    ck_assert_int_eq(coro_aio_run(spin_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "cancel True; spin cancelled after 2; main: t cancelled True");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* Task-N names count across the process; a given name still takes a number
 * (asyncio.create_task(name=...)); set_name replaces either kind. */
START_TEST(test_task_names)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    enum { N = 25 };
    coro_aio_future *t[N];
    coro_aio_task_options named = CORO_AIO_TASK_OPTIONS_INIT;
    named.name = "worker";
    for (int i = 0; i < N; i++)
        t[i] = coro_aio_create_task(L, say_started, "n", i == 7 ? &named : NULL);
    unsigned long first = strtoul(coro_aio_task_get_name(t[0]) + 5, NULL, 10);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "Task-%lu", first + (unsigned long)i);
        if (strcmp(coro_aio_task_get_name(t[i]), i == 7 ? "worker" : want) != 0)
            bad++;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(coro_aio_task_set_name(t[3], "renamed"), CORO_OK);
    ck_assert_str_eq(coro_aio_task_get_name(t[3]), "renamed");
    ck_assert_int_eq(coro_aio_task_set_name(t[7], "again"), CORO_OK);
    ck_assert_str_eq(coro_aio_task_get_name(t[7]), "again");
    coro_aio_future *g = coro_aio_gather(L, t, N, false);
    ck_assert_int_eq(coro_aio_run_until_complete(L, g, NULL, NULL), CORO_OK);
    for (int i = 0; i < N; i++)
        coro_aio_future_release(t[i]);
    coro_aio_future_release(g);
    coro_aio_loop_close(L);
}
END_TEST

/* A task whose stack options are bad fails in create_task, as before the
 * coroutine was made lazily. */
START_TEST(test_bad_stack_mode_fails_at_create)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.stack_mode = 42;
    ck_assert_ptr_null(coro_aio_create_task(L, say_started, "x", &o));
    ck_assert_str_eq(coro_aio_last_error(), "create_task: unknown stack mode 42");
    coro_aio_loop_close(L);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* Timers with and without the clock: call_soon work alone never needs the
 * clock, and a timer scheduled from it still fires on time (virtual clock:
 * exactly at its deadline). */
static void at_time(void *arg)
{
    (void)arg;
    tr_add(&tr, "timer at %.3f", coro_aio_time(L));
}

static void stop_cb(void *arg)
{
    coro_aio_stop(arg);
}

static void schedule_timer(void *arg)
{
    (void)arg;
    tr_add(&tr, "soon at %.3f", coro_aio_time(L));
    coro_aio_call_later(L, 0.25, at_time, NULL, NULL);
    coro_aio_call_later(L, 0.5, stop_cb, L, NULL);
}

START_TEST(test_timer_after_timerless_iterations)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_call_soon(L, schedule_timer, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    coro_aio_loop_close(L);
    ck_assert_str_eq(tr.buf, "soon at 0.000; timer at 0.250");
}
END_TEST


/* ======================================================================== */
/* Wakeups and steps as ready entries: transcript cases                     */
/* ======================================================================== */
/*
 * Each case below is the C version of the Python coroutine in its comment,
 * run under coro_aio_run (virtual clock); the expected transcript is what
 * CPython 3.11.7 printed for asyncio.run(case()) (p(...) lines joined with
 * "; "), with
 *     out = []; p = lambda *a: out.append(' '.join(map(str, a)))
 */

static coro_aio_event *E, *EB;
static coro_aio_semaphore *S;
static coro_aio_lock *LK;
static coro_aio_future *F, *G;
static double WHEN;

static const char *tf(bool b)
{
    return b ? "True" : "False";
}

static bool is_cancel(coro *self)
{
    return coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError);
}

static void p_cb(void *arg)
{
    P("%s", (const char *)arg);
}

static void p_done(coro_aio_future *f, void *arg)
{
    (void)f;
    P("%s", (const char *)arg);
}

static void *il_waiter(coro *self, void *arg)
{
    P("%s waits", (const char *)arg);
    TRY(coro_aio_event_wait(E));
    P("%s woke", (const char *)arg);
    return NULL;
}

static void *il_other(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        P("other %d", i);
        SLEEP0();
    }
    return NULL;
}

/*
 * async def interleave():
 *     loop = asyncio.get_running_loop(); e = asyncio.Event()
 *     async def waiter(tag):
 *         p(tag, 'waits'); await e.wait(); p(tag, 'woke')
 *     async def other():
 *         for i in range(3):
 *             p('other', i); await asyncio.sleep(0)
 *     ts = [asyncio.create_task(waiter('a')), asyncio.create_task(other()),
 *           asyncio.create_task(waiter('b'))]
 *     await asyncio.sleep(0)
 *     loop.call_soon(p, 'cb before set'); e.set(); loop.call_soon(p, 'cb after set')
 *     p('main set')
 *     await asyncio.sleep(0)
 *     p('main after sleep')
 *     await asyncio.gather(*ts)
 * The two wakeups take the places of their done callbacks: between the
 * callbacks scheduled before and after set(), in waiter order.
 */
static void *interleave(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    case_spawn(il_waiter, "a");
    case_spawn(il_other, NULL);
    case_spawn(il_waiter, "b");
    SLEEP0();
    coro_aio_call_soon(LOOP(), p_cb, "cb before set", NULL);
    coro_aio_event_set(E);
    coro_aio_call_soon(LOOP(), p_cb, "cb after set", NULL);
    P("main set");
    SLEEP0();
    P("main after sleep");
    TRY(case_gather(0, 3));
    return NULL;
}

static void *pp_side(coro *self, void *arg)
{
    const char *tag = arg;
    coro_aio_event *mine = tag[0] == 'a' ? E : EB, *other = tag[0] == 'a' ? EB : E;
    for (int i = 0; i < 3; i++) {
        TRY(coro_aio_event_wait(mine));
        coro_aio_event_clear(mine);
        P("%s %d", tag, i);
        coro_aio_event_set(other);
    }
    return NULL;
}

static void tick(void *arg)
{
    intptr_t i = (intptr_t)arg;
    P("tick %d", (int)i);
    if (i < 6)
        coro_aio_call_soon(coro_aio_get_running_loop(), tick, (void *)(i + 1), NULL);
}

/*
 * async def pingpong():
 *     loop = asyncio.get_running_loop(); ea, eb = asyncio.Event(), asyncio.Event()
 *     async def side(tag, mine, other):
 *         for i in range(3):
 *             await mine.wait(); mine.clear(); p(tag, i); other.set()
 *     def tick(i):
 *         p('tick', i)
 *         if i < 6: loop.call_soon(tick, i + 1)
 *     ta = asyncio.create_task(side('a', ea, eb)); tb = asyncio.create_task(side('b', eb, ea))
 *     loop.call_soon(tick, 0); ea.set()
 *     await asyncio.gather(ta, tb)
 * The hand-off of the benchmark, with a callback chain in between: each
 * wakeup runs one iteration after its set(), in FIFO order with the ticks.
 */
static void *pingpong(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    coro_aio_event_new(&EB);
    case_spawn(pp_side, "a");
    case_spawn(pp_side, "b");
    coro_aio_call_soon(LOOP(), tick, (void *)(intptr_t)0, NULL);
    coro_aio_event_set(E);
    TRY(case_gather(0, 2));
    return NULL;
}

static void *uc_waiter(coro *self, void *arg)
{
    const char *tag = arg;
    P("%s awaits", tag);
    void *r = NULL;
    if (coro_aio_await(tag[0] == 'w' ? F : G, &r) == CORO_OK)
        P("%s got %d", tag, (int)(intptr_t)r);
    else if (coro_exc_matches(coro_exception(self)->type, &coro_ValueError))
        P("%s raised %s", tag, coro_exception(self)->message);
    else
        coro_reraise(self);
    return NULL;
}

/*
 * async def user_callbacks():
 *     loop = asyncio.get_running_loop()
 *     f = loop.create_future(); g = loop.create_future()
 *     f.add_done_callback(lambda f: p('cb1'))
 *     async def w(tag, fut):
 *         p(tag, 'awaits')
 *         try:
 *             r = await fut; p(tag, 'got', r)
 *         except ValueError as e:
 *             p(tag, 'raised', e)
 *     t = asyncio.create_task(w('w', f)); u = asyncio.create_task(w('u', g))
 *     await asyncio.sleep(0)
 *     f.add_done_callback(lambda f: p('cb2')); g.add_done_callback(lambda f: p('cb3'))
 *     g.set_exception(ValueError('boom')); f.set_result(7)
 *     p('main set')
 *     await t; await u
 * A task's wakeup sits among user callbacks on the same future, in
 * registration order; u's wakeup carries an exception (the general path).
 */
static void *user_callbacks(coro *self, void *arg)
{
    (void)arg;
    F = coro_aio_future_new(LOOP());
    G = coro_aio_future_new(LOOP());
    coro_aio_future_add_done_callback(F, p_done, "cb1");
    case_spawn(uc_waiter, "w");
    case_spawn(uc_waiter, "u");
    SLEEP0();
    coro_aio_future_add_done_callback(F, p_done, "cb2");
    coro_aio_future_add_done_callback(G, p_done, "cb3");
    coro_exc x;
    coro_exc_set(&x, &coro_ValueError, "boom");
    coro_aio_future_set_exception(G, &x);
    coro_aio_future_set_result(F, (void *)(intptr_t)7);
    P("main set");
    AWAIT(case_task[0]);
    AWAIT(case_task[1]);
    return NULL;
}

/*
 * async def full_callback_list():
 *     loop = asyncio.get_running_loop(); f = loop.create_future()
 *     f.add_done_callback(lambda f: p('cb1')); f.add_done_callback(lambda f: p('cb2'))
 *     async def w():
 *         p('w awaits'); r = await f; p('w got', r)
 *     t = asyncio.create_task(w())
 *     await asyncio.sleep(0)
 *     f.add_done_callback(lambda f: p('cb3')); loop.call_soon(p, 'soon')
 *     f.set_result(7); p('main set')
 *     await t
 * The wakeup is the third callback of f: its list must grow, which the
 * inline step leaves to the general one.
 */
static void *full_callback_list(coro *self, void *arg)
{
    (void)arg;
    F = coro_aio_future_new(LOOP());
    coro_aio_future_add_done_callback(F, p_done, "cb1");
    coro_aio_future_add_done_callback(F, p_done, "cb2");
    coro_aio_future *t = case_spawn(uc_waiter, "w");
    SLEEP0();
    coro_aio_future_add_done_callback(F, p_done, "cb3");
    coro_aio_call_soon(LOOP(), p_cb, "soon", NULL);
    coro_aio_future_set_result(F, (void *)(intptr_t)7);
    P("main set");
    AWAIT(t);
    return NULL;
}

static void *cw_waiter(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_event_wait(E) != CORO_OK) {
        if (is_cancel(self))
            P("w cancelled, is_set %s", tf(coro_aio_event_is_set(E)));
        coro_reraise(self);
    }
    P("w woke");
    return NULL;
}

/*
 * async def cancel_woken_event():
 *     e = asyncio.Event()
 *     async def w():
 *         try:
 *             await e.wait(); p('w woke')
 *         except asyncio.CancelledError:
 *             p('w cancelled, is_set', e.is_set()); raise
 *     t = asyncio.create_task(w())
 *     await asyncio.sleep(0)
 *     e.set(); p('cancel', t.cancel())
 *     try: await t
 *     except asyncio.CancelledError: p('t cancelled', t.cancelled())
 * The wakeup is queued (the future has its result) when the cancel comes:
 * cancel() cannot cancel the done future, so it sets must_cancel and the
 * wakeup's step throws CancelledError in instead of sending.
 */
static void *cancel_woken_event(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    coro_aio_future *t = case_spawn(cw_waiter, NULL);
    SLEEP0();
    coro_aio_event_set(E);
    P("cancel %s", tf(coro_aio_future_cancel(t, NULL)));
    if (coro_aio_await(t, NULL) != CORO_OK) {
        if (!is_cancel(self))
            coro_reraise(self);
        P("t cancelled %s", tf(coro_aio_future_cancelled(t)));
    }
    return NULL;
}

static void *cs_waiter(coro *self, void *arg)
{
    const char *tag = arg;
    if (coro_aio_semaphore_acquire(S) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, value %ld", tag, coro_aio_semaphore_value(S));
        coro_reraise(self);
    }
    P("%s acquired", tag);
    coro_aio_semaphore_release(S);
    return NULL;
}

/*
 * async def cancel_woken_semaphore():
 *     s = asyncio.Semaphore(1)
 *     await s.acquire()
 *     async def w(tag):
 *         try:
 *             await s.acquire()
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled, value', s._value); raise
 *         p(tag, 'acquired'); s.release()
 *     t1 = asyncio.create_task(w('w1')); t2 = asyncio.create_task(w('w2'))
 *     await asyncio.sleep(0)
 *     s.release(); p('released, cancel', t1.cancel())
 *     await asyncio.gather(t1, t2, return_exceptions=True)
 *     p('locked', s.locked())
 * gh-90155: w1 was woken (its wakeup queued) and then cancelled; it gives the
 * unit back and wakes w2.
 */
static void *cancel_woken_semaphore(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 1, false);
    TRY(coro_aio_semaphore_acquire(S));
    coro_aio_future *t1 = case_spawn(cs_waiter, "w1");
    case_spawn(cs_waiter, "w2");
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("released, cancel %s", tf(coro_aio_future_cancel(t1, NULL)));
    TRY(case_gather(0, 2));
    P("locked %s", tf(coro_aio_semaphore_locked(S)));
    return NULL;
}

static void *cl_waiter(coro *self, void *arg)
{
    const char *tag = arg;
    if (coro_aio_lock_acquire(LK) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, locked %s", tag, tf(coro_aio_lock_locked(LK)));
        coro_reraise(self);
    }
    P("%s acquired", tag);
    coro_aio_lock_release(LK);
    return NULL;
}

/*
 * async def cancel_woken_lock():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def w(tag):
 *         try:
 *             await l.acquire()
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled, locked', l.locked()); raise
 *         p(tag, 'acquired'); l.release()
 *     t1 = asyncio.create_task(w('w1')); t2 = asyncio.create_task(w('w2'))
 *     await asyncio.sleep(0)
 *     l.release(); p('released, cancel', t1.cancel())
 *     await asyncio.gather(t1, t2, return_exceptions=True)
 *     p('locked', l.locked())
 * The same for a Lock: the woken, cancelled waiter passes the wake-up on.
 */
static void *cancel_woken_lock(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&LK);
    TRY(coro_aio_lock_acquire(LK));
    coro_aio_future *t1 = case_spawn(cl_waiter, "w1");
    case_spawn(cl_waiter, "w2");
    SLEEP0();
    coro_aio_lock_release(LK);
    P("released, cancel %s", tf(coro_aio_future_cancel(t1, NULL)));
    TRY(case_gather(0, 2));
    P("locked %s", tf(coro_aio_lock_locked(LK)));
    return NULL;
}

static void *et_body(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_event_wait(E));
    return NULL;
}

/* The waiter of the timeout cases: tag "a" or "b"; WHEN < 0 means the
 * relative delays 0.05 (a) and 0.3 (b), else timeout_at(WHEN). */
static void *et_waiter(coro *self, void *arg)
{
    const char *tag = arg;
    int rc = WHEN < 0 ? coro_aio_timeout(tag[0] == 'a' ? 0.05 : 0.3, et_body, NULL, NULL)
                      : coro_aio_timeout_at(WHEN, et_body, NULL, NULL);
    if (rc == CORO_OK)
        P("%s woke", tag);
    else if (coro_exc_matches(coro_exception(self)->type, &coro_aio_TimeoutError))
        P("%s timed out, is_set %s", tag, tf(coro_aio_event_is_set(E)));
    else
        coro_reraise(self);
    return NULL;
}

/*
 * async def event_timeout():
 *     e = asyncio.Event()
 *     async def w(tag, delay):
 *         try:
 *             async with asyncio.timeout(delay):
 *                 await e.wait()
 *             p(tag, 'woke')
 *         except TimeoutError:
 *             p(tag, 'timed out, is_set', e.is_set())
 *     ta = asyncio.create_task(w('a', 0.05)); tb = asyncio.create_task(w('b', 0.3))
 *     await asyncio.sleep(0.15)
 *     p('set'); e.set()
 *     await asyncio.gather(ta, tb)
 */
static void *event_timeout(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    WHEN = -1;
    case_spawn(et_waiter, "a");
    case_spawn(et_waiter, "b");
    TRY(coro_aio_sleep(0.15));
    P("set");
    coro_aio_event_set(E);
    TRY(case_gather(0, 2));
    return NULL;
}

static void set_e(void *arg)
{
    (void)arg;
    coro_aio_event_set(E);
}

/*
 * async def event_timeout_same_time():
 *     loop = asyncio.get_running_loop(); e = asyncio.Event()
 *     when = loop.time() + 0.1
 *     async def w(tag):
 *         try:
 *             async with asyncio.timeout_at(when):
 *                 await e.wait()
 *             p(tag, 'woke')
 *         except TimeoutError:
 *             p(tag, 'timed out, is_set', e.is_set())
 *     ta = asyncio.create_task(w('a'))
 *     await asyncio.sleep(0)
 *     loop.call_at(when, e.set)
 *     tb = asyncio.create_task(w('b'))
 *     await asyncio.gather(ta, tb)
 * Three timers with one deadline fire in one iteration, in heap order: a's
 * timeout cancels a's waiter future; set() then wakes only b, whose wakeup
 * is queued when b's timeout cancels b: must_cancel, so b's step throws
 * CancelledError in and b's scope turns it into TimeoutError.
 */
static void *event_timeout_same_time(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    WHEN = coro_aio_time(LOOP()) + 0.1;
    case_spawn(et_waiter, "a");
    SLEEP0();
    coro_aio_call_at(LOOP(), WHEN, set_e, NULL, NULL);
    case_spawn(et_waiter, "b");
    TRY(case_gather(0, 2));
    return NULL;
}

/*
 * async def event_timeout_set_first():
 *     loop = asyncio.get_running_loop(); e = asyncio.Event()
 *     when = loop.time() + 0.1
 *     loop.call_at(when, e.set)
 *     (w as in event_timeout_same_time)
 *     ta = asyncio.create_task(w('a'))
 *     await ta
 * set() comes first, so a's wakeup is already queued with a result when
 * the timeout cancels a: the result is not delivered.
 */
static void *event_timeout_set_first(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    WHEN = coro_aio_time(LOOP()) + 0.1;
    coro_aio_call_at(LOOP(), WHEN, set_e, NULL, NULL);
    AWAIT(case_spawn(et_waiter, "a"));
    return NULL;
}

typedef struct tcase_def {
    const char *name;
    coro_fn main;
    const char *expect;
} tcase_def;

static const tcase_def cases[] = {
    {"interleave", interleave,
     "a waits; other 0; b waits; main set; other 1; cb before set; a woke; b woke; cb after "
     "set; main after sleep; other 2"},
    {"pingpong", pingpong,
     "a 0; b 0; tick 0; a 1; tick 1; b 1; tick 2; a 2; tick 3; b 2; tick 4; tick 5; tick 6"},
    {"user_callbacks", user_callbacks,
     "w awaits; u awaits; main set; u raised boom; cb3; cb1; w got 7; cb2"},
    {"full_callback_list", full_callback_list,
     "w awaits; main set; soon; cb1; cb2; w got 7; cb3"},
    {"cancel_woken_event", cancel_woken_event,
     "cancel True; w cancelled, is_set True; t cancelled True"},
    {"cancel_woken_semaphore", cancel_woken_semaphore,
     "released, cancel True; w1 cancelled, value 0; w2 acquired; locked False"},
    {"cancel_woken_lock", cancel_woken_lock,
     "released, cancel True; w1 cancelled, locked False; w2 acquired; locked False"},
    {"event_timeout", event_timeout, "a timed out, is_set False; set; b woke"},
    {"event_timeout_same_time", event_timeout_same_time,
     "a timed out, is_set True; b timed out, is_set True"},
    {"event_timeout_set_first", event_timeout_set_first, "a timed out, is_set True"},
};

START_TEST(test_transcript)
{
    const tcase_def *c = &cases[_i];
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    case_ntasks = 0;
    E = EB = NULL;
    S = NULL;
    LK = NULL;
    F = G = NULL;
    coro_exc exc;
    int rc = coro_aio_run(c->main, NULL, &o, NULL, &exc);
    ck_assert_msg(rc == CORO_OK, "%s: run returned %d (%s)", c->name, rc,
                  rc == CORO_RAISED ? exc_str(&exc) : coro_aio_last_error());
    case_release_tasks();
    coro_aio_future_release(F);
    coro_aio_future_release(G);
    ck_assert_int_eq(coro_aio_event_free(E), CORO_OK);
    ck_assert_int_eq(coro_aio_event_free(EB), CORO_OK);
    ck_assert_int_eq(coro_aio_semaphore_free(S), CORO_OK);
    ck_assert_int_eq(coro_aio_lock_free(LK), CORO_OK);
    ck_assert_msg(strcmp(tr.buf, c->expect) == 0, "%s:\n got      %s\n expected %s", c->name,
                  tr.buf, c->expect);
}
END_TEST

static void *closer_waiter(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_event_wait(E);
    if (rc == CORO_OK)
        P("woke");
    P("w finally");
    if (rc != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *nothing(coro *self, void *arg)
{
    (void)self;
    return arg;
}

/*
 * loop = asyncio.new_event_loop()
 * loop.set_exception_handler(lambda loop, ctx: print('handler:', ctx['message']))
 * e = asyncio.Event()
 * async def w():
 *     me = asyncio.current_task()  # a cycle: the collector frees the task
 *     try:
 *         await e.wait(); print('woke')
 *     finally:
 *         print('w finally')
 * t = loop.create_task(w())
 * loop.run_until_complete(asyncio.sleep(0))
 * e.set(); print('set, closing')
 * loop.close(); print('closed')
 * del t; gc.collect(); print('end')
 * ->
 * set, closing; closed; w finally; handler: Task was destroyed but it is pending!; end
 * The wakeup queued by set() is dropped by close, with its reference on the
 * task: the task is destroyed when its last holder lets go, never stepped.
 */
START_TEST(test_close_with_wakeup_queued)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    ck_assert_int_eq(coro_aio_event_new(&E), CORO_OK);
    coro_aio_future *t = coro_aio_create_task(L, closer_waiter, NULL, NULL);
    coro_aio_future *n = coro_aio_create_task(L, nothing, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_until_complete(L, n, NULL, NULL), CORO_OK);
    coro_aio_future_release(n);
    coro_aio_event_set(E);
    tr_add(&tr, "set, closing");
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    tr_add(&tr, "closed");
    coro_aio_future_release(t);
    tr_add(&tr, "end");
    ck_assert_int_eq(coro_aio_event_free(E), CORO_OK);
    ck_assert_str_eq(tr.buf, "set, closing; closed; w finally; handler: Task was destroyed but "
                             "it is pending! <Task pending name='Task-1'>; end");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_fastpaths");
    TCase *tc = tcase_create("fastpaths");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_get_coro_before_first_step);
    tcase_add_test(tc, test_never_started_task_at_close);
    tcase_add_test(tc, test_sleep0_interleaves_with_callbacks);
    tcase_add_test(tc, test_cancel_while_bare_yield_queued);
    tcase_add_test(tc, test_task_names);
    tcase_add_test(tc, test_bad_stack_mode_fails_at_create);
    tcase_add_test(tc, test_timer_after_timerless_iterations);
    tcase_add_loop_test(tc, test_transcript, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_close_with_wakeup_queued);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
