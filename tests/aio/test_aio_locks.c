/* test_aio_locks.c - Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier.
 * SPDX-License-Identifier: MIT
 *
 * Table-driven transcript cases: each runs the C version of the Python
 * coroutine in the comment above it under coro_aio_run (virtual clock) and
 * compares the transcript with what CPython 3.11.7 printed for
 * asyncio.run(case()) (p(...) lines joined with "; "), where
 *     p = lambda *a: print(*a)
 * and e.args / True / False print as Python does. One case (the notified
 * waiter that is cancelled) follows Python 3.13, see its comment.
 */
#include "aio_util.h"

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

static const char *tf(bool b)
{
    return b ? "True" : "False";
}

static bool is_cancel(coro *self)
{
    return coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError);
}

/* repr(e.args) of an exception. */
static const char *args(const coro_exc *e)
{
    static char buf[200];
    if (e->message[0])
        snprintf(buf, sizeof buf, "('%s',)", e->message);
    else
        snprintf(buf, sizeof buf, "()");
    return buf;
}

static coro_aio_event *E;
static coro_aio_lock *L;
static coro_aio_semaphore *S;
static coro_aio_condition *C, *C2;
static int N;

/* ======================================================================== */
/* Event                                                                    */
/* ======================================================================== */

static void *ev_waiter(coro *self, void *arg)
{
    P("%s waits", (char *)arg);
    TRY(coro_aio_event_wait(E));
    P("%s woke True %s", (char *)arg, tf(coro_aio_event_is_set(E)));
    return NULL;
}

/*
 * async def event_basic():
 *     e = asyncio.Event()
 *     async def waiter(tag):
 *         p(tag, 'waits')
 *         r = await e.wait()
 *         p(tag, 'woke', r, e.is_set())
 *     p('is_set', e.is_set())
 *     t1 = asyncio.create_task(waiter('a')); t2 = asyncio.create_task(waiter('b'))
 *     await asyncio.sleep(0)
 *     p('set'); e.set(); e.set()
 *     p('main after set')
 *     await asyncio.sleep(0)
 *     p('main after sleep')
 *     e.clear(); p('is_set', e.is_set())
 *     await t1; await t2
 * -> (3.11.7) is_set False; a waits; b waits; set; main after set; a woke True True; b woke
 *    True True; main after sleep; is_set False
 */
static void *event_basic(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    P("is_set %s", tf(coro_aio_event_is_set(E)));
    coro_aio_future *t1 = case_spawn(ev_waiter, "a"), *t2 = case_spawn(ev_waiter, "b");
    SLEEP0();
    P("set");
    coro_aio_event_set(E);
    coro_aio_event_set(E);
    P("main after set");
    SLEEP0();
    P("main after sleep");
    coro_aio_event_clear(E);
    P("is_set %s", tf(coro_aio_event_is_set(E)));
    AWAIT(t1);
    AWAIT(t2);
    return NULL;
}

static void *other(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    P("other runs");
    return NULL;
}

/*
 * async def event_already_set():
 *     e = asyncio.Event(); e.set()
 *     async def other(): p('other runs')
 *     t = asyncio.create_task(other())
 *     await e.wait(); p('main passed wait')
 *     await t
 * -> (3.11.7) main passed wait; other runs
 */
static void *event_already_set(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    coro_aio_event_set(E);
    coro_aio_future *t = case_spawn(other, NULL);
    TRY(coro_aio_event_wait(E));
    P("main passed wait");
    AWAIT(t);
    return NULL;
}

static void *ev_waiter2(coro *self, void *arg)
{
    TRY(coro_aio_event_wait(E));
    P("%s woke, is_set %s", (char *)arg, tf(coro_aio_event_is_set(E)));
    return NULL;
}

static void *ev_late(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_event_wait(E));
    P("late woke");
    return NULL;
}

/*
 * async def event_set_then_clear():
 *     e = asyncio.Event()
 *     async def waiter(tag):
 *         await e.wait(); p(tag, 'woke, is_set', e.is_set())
 *     ts = [asyncio.create_task(waiter(x)) for x in 'ab']
 *     await asyncio.sleep(0)
 *     e.set(); e.clear(); p('set and cleared')
 *     await asyncio.gather(*ts)
 *     async def late():
 *         await e.wait(); p('late woke')
 *     t = asyncio.create_task(late()); await asyncio.sleep(0)
 *     p('late done?', t.done()); t.cancel()
 *     try: await t
 *     except asyncio.CancelledError: p('late cancelled')
 * -> (3.11.7) set and cleared; a woke, is_set False; b woke, is_set False; late done? False;
 *    late cancelled
 */
static void *event_set_then_clear(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    case_spawn(ev_waiter2, "a");
    case_spawn(ev_waiter2, "b");
    SLEEP0();
    coro_aio_event_set(E);
    coro_aio_event_clear(E);
    P("set and cleared");
    TRY(case_gather(0, 2));
    coro_aio_future *t = case_spawn(ev_late, NULL);
    SLEEP0();
    P("late done? %s", tf(coro_aio_future_done(t)));
    coro_aio_future_cancel(t, NULL);
    if (coro_aio_await(t, NULL) != CORO_OK) {
        if (!is_cancel(self))
            coro_reraise(self);
        P("late cancelled");
    }
    return NULL;
}

static void *ev_waiter3(coro *self, void *arg)
{
    if (coro_aio_event_wait(E) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled", (char *)arg);
        coro_reraise(self);
    }
    P("%s woke", (char *)arg);
    return NULL;
}

/*
 * async def event_cancel_waiter():
 *     e = asyncio.Event()
 *     async def waiter(tag):
 *         try:
 *             await e.wait(); p(tag, 'woke')
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled'); raise
 *     a = asyncio.create_task(waiter('a')); b = asyncio.create_task(waiter('b'))
 *     await asyncio.sleep(0)
 *     a.cancel(); await asyncio.sleep(0)
 *     e.set(); await b
 *     p('a cancelled?', a.cancelled())
 * -> (3.11.7) a cancelled; b woke; a cancelled? True
 */
static void *event_cancel_waiter(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    coro_aio_future *a = case_spawn(ev_waiter3, "a"), *b = case_spawn(ev_waiter3, "b");
    SLEEP0();
    coro_aio_future_cancel(a, NULL);
    SLEEP0();
    coro_aio_event_set(E);
    AWAIT(b);
    P("a cancelled? %s", tf(coro_aio_future_cancelled(a)));
    return NULL;
}

static double T0;

static void *ev_setter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_sleep(2.5));
    P("set at %.1f", coro_aio_time(LOOP()) - T0);
    coro_aio_event_set(E);
    return NULL;
}

static void *ev_timed_waiter(coro *self, void *arg)
{
    TRY(coro_aio_event_wait(E));
    P("%s woke at %.1f", (char *)arg, coro_aio_time(LOOP()) - T0);
    return NULL;
}

/*
 * async def event_timed():
 *     e = asyncio.Event(); loop = asyncio.get_running_loop(); t0 = loop.time()
 *     async def setter():
 *         await asyncio.sleep(2.5); p('set at %.1f' % (loop.time() - t0)); e.set()
 *     async def waiter(tag):
 *         await e.wait(); p(tag, 'woke at %.1f' % (loop.time() - t0))
 *     ts = [asyncio.create_task(waiter('w1')), asyncio.create_task(setter()),
 *           asyncio.create_task(waiter('w2'))]
 *     await asyncio.gather(*ts)
 * -> (3.11.7) set at 2.5; w1 woke at 2.5; w2 woke at 2.5
 */
static void *event_timed(coro *self, void *arg)
{
    (void)arg;
    coro_aio_event_new(&E);
    T0 = coro_aio_time(LOOP());
    case_spawn(ev_timed_waiter, "w1");
    case_spawn(ev_setter, NULL);
    case_spawn(ev_timed_waiter, "w2");
    TRY(case_gather(0, 3));
    return NULL;
}

/* ======================================================================== */
/* Lock                                                                     */
/* ======================================================================== */

/*
 * async def lock_basic():
 *     l = asyncio.Lock()
 *     p('locked', l.locked()); r = await l.acquire(); p('acquire', r, 'locked', l.locked())
 *     l.release(); p('locked', l.locked())
 *     try: l.release()
 *     except RuntimeError as e: p('release:', e)
 * -> (3.11.7) locked False; acquire True locked True; locked False; release: Lock is not
 *    acquired.
 */
static void *lock_basic(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    P("locked %s", tf(coro_aio_lock_locked(L)));
    TRY(coro_aio_lock_acquire(L));
    P("acquire True locked %s", tf(coro_aio_lock_locked(L)));
    coro_aio_lock_release(L);
    P("locked %s", tf(coro_aio_lock_locked(L)));
    if (coro_aio_lock_release(L) == CORO_EINVAL)
        P("release: %s", strstr(coro_aio_last_error(), "RuntimeError: ") + 14);
    return NULL;
}

static void *lk_worker(coro *self, void *arg)
{
    P("%s wants", (char *)arg);
    TRY(coro_aio_lock_acquire(L));
    P("%s has", (char *)arg);
    SLEEP0();
    P("%s releases", (char *)arg);
    coro_aio_lock_release(L);
    return NULL;
}

/*
 * async def lock_fifo():
 *     l = asyncio.Lock()
 *     async def worker(tag):
 *         p(tag, 'wants'); await l.acquire()
 *         p(tag, 'has'); await asyncio.sleep(0); p(tag, 'releases'); l.release()
 *     ts = [asyncio.create_task(worker(x)) for x in 'abc']
 *     await asyncio.gather(*ts); p('locked', l.locked())
 * -> (3.11.7) a wants; a has; b wants; c wants; a releases; b has; b releases; c has; c
 *    releases; locked False
 */
static void *lock_fifo(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    case_spawn(lk_worker, "a");
    case_spawn(lk_worker, "b");
    case_spawn(lk_worker, "c");
    TRY(case_gather(0, 3));
    P("locked %s", tf(coro_aio_lock_locked(L)));
    return NULL;
}

static void *lk_waiter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    P("waiter has");
    coro_aio_lock_release(L);
    return NULL;
}

static void *lk_newcomer(coro *self, void *arg)
{
    (void)arg;
    P("newcomer wants");
    TRY(coro_aio_lock_acquire(L));
    P("newcomer has");
    coro_aio_lock_release(L);
    return NULL;
}

/*
 * async def lock_no_overtake():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def waiter():
 *         await l.acquire(); p('waiter has'); l.release()
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     l.release(); p('released, locked', l.locked())
 *     async def newcomer():
 *         p('newcomer wants'); await l.acquire(); p('newcomer has'); l.release()
 *     n = asyncio.create_task(newcomer())
 *     await asyncio.gather(t, n)
 * -> (3.11.7) released, locked False; waiter has; newcomer wants; newcomer has
 */
static void *lock_no_overtake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    TRY(coro_aio_lock_acquire(L));
    case_spawn(lk_waiter, NULL);
    SLEEP0();
    coro_aio_lock_release(L);
    P("released, locked %s", tf(coro_aio_lock_locked(L)));
    case_spawn(lk_newcomer, NULL);
    TRY(case_gather(0, 2));
    return NULL;
}

static void *lk_waiter_rr(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    P("waiter has");
    SLEEP0();
    coro_aio_lock_release(L);
    P("waiter released");
    return NULL;
}

/* A task that releases and at once acquires again queues behind the waiter
 * it woke. */
/*
 * async def lock_release_reacquire():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def waiter():
 *         await l.acquire(); p('waiter has'); await asyncio.sleep(0)
 *         l.release(); p('waiter released')
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     l.release(); p('main released'); await l.acquire(); p('main has again')
 *     l.release(); await t
 * -> (3.11.7) main released; waiter has; waiter released; main has again
 */
static void *lock_release_reacquire(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *t = case_spawn(lk_waiter_rr, NULL);
    SLEEP0();
    coro_aio_lock_release(L);
    P("main released");
    TRY(coro_aio_lock_acquire(L));
    P("main has again");
    coro_aio_lock_release(L);
    AWAIT(t);
    return NULL;
}

static void *lk_waiter_tag(coro *self, void *arg)
{
    if (coro_aio_lock_acquire(L) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, locked %s", (char *)arg, tf(coro_aio_lock_locked(L)));
        coro_reraise(self);
    }
    P("%s has", (char *)arg);
    coro_aio_lock_release(L);
    return NULL;
}

/*
 * async def lock_cancel_after_wake():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def waiter(tag):
 *         try:
 *             await l.acquire()
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled, locked', l.locked()); raise
 *         p(tag, 'has'); l.release()
 *     b = asyncio.create_task(waiter('b')); c = asyncio.create_task(waiter('c'))
 *     await asyncio.sleep(0)
 *     l.release(); b.cancel(); p('released and cancelled b')
 *     await asyncio.gather(b, c, return_exceptions=True)
 *     p('locked', l.locked(), 'b cancelled', b.cancelled())
 * -> (3.11.7) released and cancelled b; b cancelled, locked False; c has; locked False b
 *    cancelled True
 */
static void *lock_cancel_after_wake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *b = case_spawn(lk_waiter_tag, "b");
    case_spawn(lk_waiter_tag, "c");
    SLEEP0();
    coro_aio_lock_release(L);
    coro_aio_future_cancel(b, NULL);
    P("released and cancelled b");
    TRY(case_gather(0, 2));
    P("locked %s b cancelled %s", tf(coro_aio_lock_locked(L)), tf(coro_aio_future_cancelled(b)));
    return NULL;
}

static void *lk_waiter_tag2(coro *self, void *arg)
{
    if (coro_aio_lock_acquire(L) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled", (char *)arg);
        coro_reraise(self);
    }
    P("%s has", (char *)arg);
    coro_aio_lock_release(L);
    return NULL;
}

/*
 * async def lock_cancel_waiting():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def waiter(tag):
 *         try:
 *             await l.acquire()
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled'); raise
 *         p(tag, 'has'); l.release()
 *     b = asyncio.create_task(waiter('b')); c = asyncio.create_task(waiter('c'))
 *     await asyncio.sleep(0)
 *     b.cancel(); await asyncio.sleep(0)
 *     p('releasing'); l.release()
 *     await asyncio.gather(b, c, return_exceptions=True)
 * -> (3.11.7) b cancelled; releasing; c has
 */
static void *lock_cancel_waiting(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *b = case_spawn(lk_waiter_tag2, "b");
    case_spawn(lk_waiter_tag2, "c");
    SLEEP0();
    coro_aio_future_cancel(b, NULL);
    SLEEP0();
    P("releasing");
    coro_aio_lock_release(L);
    TRY(case_gather(0, 2));
    return NULL;
}

static void *lk_waiter_c(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_lock_acquire(L) != CORO_OK) {
        if (is_cancel(self))
            P("waiter cancelled");
        coro_reraise(self);
    }
    return NULL;
}

/*
 * async def lock_cancelled_waiters_only():
 *     l = asyncio.Lock()
 *     await l.acquire()
 *     async def waiter():
 *         try: await l.acquire()
 *         except asyncio.CancelledError: p('waiter cancelled'); raise
 *     b = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     b.cancel(); l.release()
 *     await l.acquire(); p('main has it at once, locked', l.locked())
 *     l.release()
 *     await asyncio.gather(b, return_exceptions=True)
 * -> (3.11.7) main has it at once, locked True; waiter cancelled
 */
static void *lock_cancelled_waiters_only(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *b = case_spawn(lk_waiter_c, NULL);
    SLEEP0();
    coro_aio_future_cancel(b, NULL);
    coro_aio_lock_release(L);
    TRY(coro_aio_lock_acquire(L));
    P("main has it at once, locked %s", tf(coro_aio_lock_locked(L)));
    coro_aio_lock_release(L);
    TRY(case_gather(0, 1));
    return NULL;
}

static void holder_cleanup(void *arg)
{
    (void)arg;
    coro_aio_lock_release(L);
    P("holder released");
}

static void *lk_holder(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    coro_defer(self, holder_cleanup, NULL); /* try: ... finally: release */
    TRY(coro_aio_sleep(10));
    coro_defer_pop(self, true);
    return NULL;
}

/*
 * async def lock_cancel_holder_wakes_next():
 *     l = asyncio.Lock()
 *     async def holder():
 *         await l.acquire()
 *         try: await asyncio.sleep(10)
 *         finally: l.release(); p('holder released')
 *     async def waiter():
 *         await l.acquire(); p('waiter has'); l.release()
 *     h = asyncio.create_task(holder()); w = asyncio.create_task(waiter())
 *     await asyncio.sleep(0); h.cancel()
 *     await asyncio.gather(h, w, return_exceptions=True)
 *     p('h cancelled', h.cancelled())
 * -> (3.11.7) holder released; waiter has; h cancelled True
 */
static void *lock_cancel_holder_wakes_next(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    coro_aio_future *h = case_spawn(lk_holder, NULL);
    case_spawn(lk_waiter, NULL);
    SLEEP0();
    coro_aio_future_cancel(h, NULL);
    TRY(case_gather(0, 2));
    P("h cancelled %s", tf(coro_aio_future_cancelled(h)));
    return NULL;
}

static void *bind_acquire(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    return NULL;
}

/* The first asyncio.run binds the lock to its loop. */
static void *bind_main(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *t = case_spawn(bind_acquire, NULL);
    SLEEP0();
    coro_aio_lock_release(L);
    AWAIT(t);
    coro_aio_lock_release(L);
    return NULL;
}

static void *lk_acq_rel(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    coro_aio_lock_release(L);
    return NULL;
}

/* LOCK = asyncio.Lock(); asyncio.run(bind()) where
 * async def bind():
 *     await LOCK.acquire()
 *     t = asyncio.create_task(LOCK.acquire()); await asyncio.sleep(0)
 *     LOCK.release(); await t; LOCK.release()
 * then asyncio.run(lock_other_loop()) on a new loop: */
/*
 * async def lock_other_loop():
 *     l = LOCK
 *     async def w():
 *         await l.acquire(); l.release()
 *     await l.acquire(); t = asyncio.create_task(w())
 *     try: await t
 *     except RuntimeError as e:
 *         s = str(e); p('RuntimeError:', s[:s.index(' at ')], s[s.index('['):])
 *     l.release()
 * -> (3.11.7) RuntimeError: <asyncio.locks.Lock object [locked]> is bound to a different event
 *    loop
 */
static void *lock_other_loop(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    coro_aio_future *t = case_spawn(lk_acq_rel, NULL);
    if (coro_aio_await(t, NULL) != CORO_OK) {
        const char *s = coro_exception(self)->message;
        if (!coro_exc_matches(coro_exception(self)->type, &coro_RuntimeError) ||
            strstr(s, " at ") == NULL || strchr(s, '[') == NULL)
            coro_reraise(self);
        P("RuntimeError: %.*s %s", (int)(strstr(s, " at ") - s), s, strchr(s, '['));
    }
    coro_aio_lock_release(L);
    return NULL;
}

/* ======================================================================== */
/* Semaphore, BoundedSemaphore                                              */
/* ======================================================================== */

static void *sem_worker(coro *self, void *arg)
{
    TRY(coro_aio_semaphore_acquire(S));
    P("%s in, value %ld locked %s", (char *)arg, coro_aio_semaphore_value(S),
      tf(coro_aio_semaphore_locked(S)));
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("%s out", (char *)arg);
    return NULL;
}

/*
 * async def sem_basic():
 *     s = asyncio.Semaphore(2)
 *     async def worker(tag):
 *         await s.acquire(); p(tag, 'in, value', s._value, 'locked', s.locked())
 *         await asyncio.sleep(0); s.release(); p(tag, 'out')
 *     await asyncio.gather(*[asyncio.create_task(worker(x)) for x in 'abc'])
 *     p('value', s._value, 'locked', s.locked())
 * -> (3.11.7) a in, value 1 locked False; b in, value 0 locked True; a out; b out; c in, value
 *    1 locked False; c out; value 2 locked False
 */
static void *sem_basic(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 2, false);
    case_spawn(sem_worker, "a");
    case_spawn(sem_worker, "b");
    case_spawn(sem_worker, "c");
    TRY(case_gather(0, 3));
    P("value %ld locked %s", coro_aio_semaphore_value(S), tf(coro_aio_semaphore_locked(S)));
    return NULL;
}

static const char *value_error(void)
{
    const char *s = strstr(coro_aio_last_error(), "ValueError: ");
    return s ? s : "(no ValueError)";
}

/*
 * async def sem_errors():
 *     try: asyncio.Semaphore(-1)
 *     except ValueError as e: p('ValueError:', e)
 *     b = asyncio.BoundedSemaphore(1)
 *     try: b.release()
 *     except ValueError as e: p('ValueError:', e)
 *     await b.acquire(); b.release(); p('bounded value', b._value)
 *     s = asyncio.Semaphore(0); s.release(); p('plain value', s._value)
 * -> (3.11.7) ValueError: Semaphore initial value must be >= 0; ValueError: BoundedSemaphore
 *    released too many times; bounded value 1; plain value 1
 */
static void *sem_errors(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore *x = NULL;
    if (coro_aio_semaphore_new(&x, -1, false) == CORO_EINVAL && x == NULL)
        P("%s", value_error());
    coro_aio_semaphore_new(&S, 1, true);
    if (coro_aio_semaphore_release(S) == CORO_EINVAL)
        P("%s", value_error());
    TRY(coro_aio_semaphore_acquire(S));
    coro_aio_semaphore_release(S);
    P("bounded value %ld", coro_aio_semaphore_value(S));
    coro_aio_semaphore_new(&x, 0, false);
    coro_aio_semaphore_release(x);
    P("plain value %ld", coro_aio_semaphore_value(x));
    coro_aio_semaphore_free(x);
    return NULL;
}

static void *sem_waiter_c(coro *self, void *arg)
{
    if (coro_aio_semaphore_acquire(S) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, value %ld", (char *)arg, coro_aio_semaphore_value(S));
        coro_reraise(self);
    }
    P("%s in, value %ld", (char *)arg, coro_aio_semaphore_value(S));
    return NULL;
}

/*
 * async def sem_cancel_after_wake():
 *     s = asyncio.Semaphore(0)
 *     async def waiter(tag):
 *         try: await s.acquire()
 *         except asyncio.CancelledError:
 *             p(tag, 'cancelled, value', s._value); raise
 *         p(tag, 'in, value', s._value)
 *     b = asyncio.create_task(waiter('b')); c = asyncio.create_task(waiter('c'))
 *     await asyncio.sleep(0)
 *     s.release(); p('released, value', s._value); b.cancel()
 *     await asyncio.gather(b, c, return_exceptions=True)
 *     p('value', s._value)
 * -> (3.11.7) released, value 0; b cancelled, value 0; c in, value 0; value 0
 */
static void *sem_cancel_after_wake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 0, false);
    coro_aio_future *b = case_spawn(sem_waiter_c, "b");
    case_spawn(sem_waiter_c, "c");
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("released, value %ld", coro_aio_semaphore_value(S));
    coro_aio_future_cancel(b, NULL);
    TRY(case_gather(0, 2));
    P("value %ld", coro_aio_semaphore_value(S));
    return NULL;
}

/*
 * async def sem_release_many():
 *     s = asyncio.Semaphore(0)
 *     async def waiter(tag):
 *         await s.acquire(); p(tag, 'in, value', s._value)
 *     ts = [asyncio.create_task(waiter(x)) for x in 'abc']
 *     await asyncio.sleep(0)
 *     s.release(); s.release(); p('two released, value', s._value, 'locked', s.locked())
 *     await asyncio.sleep(0); await asyncio.sleep(0)
 *     s.release(); p('third released')
 *     await asyncio.gather(*ts); p('value', s._value)
 * -> (3.11.7) two released, value 0 locked True; a in, value 0; b in, value 0; third released;
 *    c in, value 0; value 0
 */
static void *sem_release_many(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 0, false);
    case_spawn(sem_waiter_c, "a");
    case_spawn(sem_waiter_c, "b");
    case_spawn(sem_waiter_c, "c");
    SLEEP0();
    coro_aio_semaphore_release(S);
    coro_aio_semaphore_release(S);
    P("two released, value %ld locked %s", coro_aio_semaphore_value(S),
      tf(coro_aio_semaphore_locked(S)));
    SLEEP0();
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("third released");
    TRY(case_gather(0, 3));
    P("value %ld", coro_aio_semaphore_value(S));
    return NULL;
}

static void *sem_waiter_no(coro *self, void *arg)
{
    P("%s wants, locked %s", (char *)arg, tf(coro_aio_semaphore_locked(S)));
    TRY(coro_aio_semaphore_acquire(S));
    P("%s in", (char *)arg);
    SLEEP0();
    coro_aio_semaphore_release(S);
    return NULL;
}

/*
 * async def sem_no_overtake():
 *     s = asyncio.Semaphore(1)
 *     await s.acquire()
 *     async def waiter(tag):
 *         p(tag, 'wants, locked', s.locked()); await s.acquire(); p(tag, 'in')
 *         await asyncio.sleep(0); s.release()
 *     a = asyncio.create_task(waiter('a')); await asyncio.sleep(0)
 *     s.release(); p('released, value', s._value, 'locked', s.locked())
 *     b = asyncio.create_task(waiter('b'))
 *     await asyncio.gather(a, b); p('value', s._value)
 * -> (3.11.7) a wants, locked True; released, value 0 locked True; a in; b wants, locked True;
 *    b in; value 1
 */
static void *sem_no_overtake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 1, false);
    TRY(coro_aio_semaphore_acquire(S));
    case_spawn(sem_waiter_no, "a");
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("released, value %ld locked %s", coro_aio_semaphore_value(S),
      tf(coro_aio_semaphore_locked(S)));
    case_spawn(sem_waiter_no, "b");
    TRY(case_gather(0, 2));
    P("value %ld", coro_aio_semaphore_value(S));
    return NULL;
}

static void *sem_waiter_w(coro *self, void *arg)
{
    if (coro_aio_semaphore_acquire(S) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, value %ld", (char *)arg, coro_aio_semaphore_value(S));
        coro_reraise(self);
    }
    P("%s in", (char *)arg);
    return NULL;
}

/*
 * async def sem_cancel_waiting():
 *     s = asyncio.Semaphore(0)
 *     async def waiter(tag):
 *         try: await s.acquire()
 *         except asyncio.CancelledError: p(tag, 'cancelled, value', s._value); raise
 *         p(tag, 'in')
 *     b = asyncio.create_task(waiter('b')); c = asyncio.create_task(waiter('c'))
 *     await asyncio.sleep(0); b.cancel(); await asyncio.sleep(0)
 *     p('locked', s.locked()); s.release()
 *     await asyncio.gather(b, c, return_exceptions=True); p('value', s._value)
 * -> (3.11.7) b cancelled, value 0; locked True; c in; value 0
 */
static void *sem_cancel_waiting(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 0, false);
    coro_aio_future *b = case_spawn(sem_waiter_w, "b");
    case_spawn(sem_waiter_w, "c");
    SLEEP0();
    coro_aio_future_cancel(b, NULL);
    SLEEP0();
    P("locked %s", tf(coro_aio_semaphore_locked(S)));
    coro_aio_semaphore_release(S);
    TRY(case_gather(0, 2));
    P("value %ld", coro_aio_semaphore_value(S));
    return NULL;
}

static void *bsem_waiter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_semaphore_acquire(S));
    P("waiter in, value %ld", coro_aio_semaphore_value(S));
    return NULL;
}

/*
 * async def bounded_with_waiters():
 *     s = asyncio.BoundedSemaphore(2)
 *     await s.acquire(); await s.acquire()
 *     async def waiter(): await s.acquire(); p('waiter in, value', s._value)
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     s.release(); p('value', s._value)
 *     s.release(); p('value', s._value)
 *     try: s.release()
 *     except ValueError as e: p('ValueError:', e)
 *     await t; p('value', s._value)
 *     try: s.release()
 *     except ValueError as e: p('ValueError:', e)
 * -> (3.11.7) value 0; value 1; waiter in, value 2; value 2; ValueError: BoundedSemaphore
 *    released too many times
 */
static void *bounded_with_waiters(coro *self, void *arg)
{
    (void)arg;
    coro_aio_semaphore_new(&S, 2, true);
    TRY(coro_aio_semaphore_acquire(S));
    TRY(coro_aio_semaphore_acquire(S));
    coro_aio_future *t = case_spawn(bsem_waiter, NULL);
    SLEEP0();
    coro_aio_semaphore_release(S);
    P("value %ld", coro_aio_semaphore_value(S));
    coro_aio_semaphore_release(S);
    P("value %ld", coro_aio_semaphore_value(S));
    if (coro_aio_semaphore_release(S) == CORO_EINVAL)
        P("%s", value_error());
    AWAIT(t);
    P("value %ld", coro_aio_semaphore_value(S));
    if (coro_aio_semaphore_release(S) == CORO_EINVAL)
        P("%s", value_error());
    return NULL;
}

/* ======================================================================== */
/* Condition                                                                */
/* ======================================================================== */

static void *cv_waiter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_condition_acquire(C));
    P("waiter waits");
    if (coro_aio_condition_wait(C) != CORO_OK) {
        coro_aio_condition_release(C);
        coro_reraise(self);
    }
    P("waiter woke True locked %s", tf(coro_aio_condition_locked(C)));
    coro_aio_condition_release(C);
    return NULL;
}

/*
 * async def cond_basic():
 *     c = asyncio.Condition()
 *     async def waiter():
 *         async with c:
 *             p('waiter waits'); r = await c.wait(); p('waiter woke', r, 'locked', c.locked())
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     await c.acquire(); p('main notifies'); c.notify(); await asyncio.sleep(0)
 *     p('main still holds'); c.release()
 *     await t; p('locked', c.locked())
 * -> (3.11.7) waiter waits; main notifies; main still holds; waiter woke True locked True;
 *    locked False
 */
static void *cond_basic(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    coro_aio_future *t = case_spawn(cv_waiter, NULL);
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    P("main notifies");
    coro_aio_condition_notify(C, 1);
    SLEEP0();
    P("main still holds");
    coro_aio_condition_release(C);
    AWAIT(t);
    P("locked %s", tf(coro_aio_condition_locked(C)));
    return NULL;
}

static void *cv_waiter_tag(coro *self, void *arg)
{
    TRY(coro_aio_condition_acquire(C));
    if (coro_aio_condition_wait(C) != CORO_OK) {
        coro_aio_condition_release(C);
        coro_reraise(self);
    }
    P("%s woke", (char *)arg);
    coro_aio_condition_release(C);
    return NULL;
}

/*
 * async def cond_notify_n():
 *     c = asyncio.Condition()
 *     async def waiter(tag):
 *         async with c:
 *             await c.wait(); p(tag, 'woke')
 *     ts = [asyncio.create_task(waiter(x)) for x in 'abcd']
 *     await asyncio.sleep(0)
 *     async with c: c.notify(2); p('notified 2')
 *     await asyncio.sleep(0); await asyncio.sleep(0); await asyncio.sleep(0)
 *     async with c: c.notify(1); c.notify_all(); p('notified all')
 *     await asyncio.gather(*ts)
 * -> (3.11.7) notified 2; a woke; b woke; notified all; c woke; d woke
 */
static void *cond_notify_n(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    case_spawn(cv_waiter_tag, "a");
    case_spawn(cv_waiter_tag, "b");
    case_spawn(cv_waiter_tag, "c");
    case_spawn(cv_waiter_tag, "d");
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_condition_notify(C, 2);
    P("notified 2");
    coro_aio_condition_release(C);
    SLEEP0();
    SLEEP0();
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_condition_notify(C, 1);
    coro_aio_condition_notify_all(C);
    P("notified all");
    coro_aio_condition_release(C);
    TRY(case_gather(0, 4));
    return NULL;
}

static const char *runtime_error(void)
{
    const char *s = strstr(coro_aio_last_error(), "RuntimeError: ");
    return s ? s + 14 : "(no RuntimeError)";
}

/*
 * async def cond_unacquired():
 *     c = asyncio.Condition()
 *     try: await c.wait()
 *     except RuntimeError as e: p('wait:', e)
 *     try: c.notify()
 *     except RuntimeError as e: p('notify:', e)
 *     try: c.notify_all()
 *     except RuntimeError as e: p('notify_all:', e)
 * -> (3.11.7) wait: cannot wait on un-acquired lock; notify: cannot notify on un-acquired lock;
 *    notify_all: cannot notify on un-acquired lock
 */
static void *cond_unacquired(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    if (coro_aio_condition_wait(C) == CORO_THROWN) {
        if (!coro_exc_matches(coro_exception(self)->type, &coro_RuntimeError))
            coro_reraise(self);
        P("wait: %s", coro_exception(self)->message);
    }
    if (coro_aio_condition_notify(C, 1) == CORO_EINVAL)
        P("notify: %s", runtime_error());
    if (coro_aio_condition_notify_all(C) == CORO_EINVAL)
        P("notify_all: %s", runtime_error());
    return NULL;
}

static bool pred(void *arg)
{
    (void)arg;
    P("pred %d", N);
    return N >= 3;
}

static void *cv_consumer(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_condition_acquire(C));
    if (coro_aio_condition_wait_for(C, pred, NULL) != CORO_OK) {
        coro_aio_condition_release(C);
        coro_reraise(self);
    }
    P("consumer sees %d", N);
    coro_aio_condition_release(C);
    return NULL;
}

/*
 * async def cond_wait_for():
 *     c = asyncio.Condition(); n = 0
 *     async def consumer():
 *         async with c:
 *             await c.wait_for(lambda: (p('pred', n), n >= 3)[1]); p('consumer sees', n)
 *     t = asyncio.create_task(consumer()); await asyncio.sleep(0)
 *     for i in range(4):
 *         async with c: n += 1; c.notify_all()
 *         await asyncio.sleep(0)
 *     await t
 * -> (3.11.7) pred 0; pred 1; pred 2; pred 3; consumer sees 3
 */
static void *cond_wait_for(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    N = 0;
    coro_aio_future *t = case_spawn(cv_consumer, NULL);
    SLEEP0();
    for (int i = 0; i < 4; i++) {
        TRY(coro_aio_condition_acquire(C));
        N++;
        coro_aio_condition_notify_all(C);
        coro_aio_condition_release(C);
        SLEEP0();
    }
    AWAIT(t);
    return NULL;
}

static void *cv_waiter_cancel(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_condition_acquire(C));
    if (coro_aio_condition_wait(C) != CORO_OK) {
        if (is_cancel(self))
            P("waiter cancelled %s locked %s", args(coro_exception(self)),
              tf(coro_aio_condition_locked(C)));
        coro_aio_condition_release(C);
        coro_reraise(self);
    }
    coro_aio_condition_release(C);
    return NULL;
}

/*
 * async def cond_cancel_reacquires():
 *     c = asyncio.Condition()
 *     async def waiter():
 *         async with c:
 *             try: await c.wait()
 *             except asyncio.CancelledError as e:
 *                 p('waiter cancelled', e.args, 'locked', c.locked()); raise
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     await c.acquire(); t.cancel('bye'); await asyncio.sleep(0); await asyncio.sleep(0)
 *     p('main releases'); c.release()
 *     await asyncio.gather(t, return_exceptions=True)
 *     p('locked', c.locked(), 'cancelled', t.cancelled())
 * -> (3.11.7) main releases; waiter cancelled ('bye',) locked True; locked False cancelled True
 */
static void *cond_cancel_reacquires(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    coro_aio_future *t = case_spawn(cv_waiter_cancel, NULL);
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_future_cancel(t, "bye");
    SLEEP0();
    SLEEP0();
    P("main releases");
    coro_aio_condition_release(C);
    TRY(case_gather(0, 1));
    P("locked %s cancelled %s", tf(coro_aio_condition_locked(C)), tf(coro_aio_future_cancelled(t)));
    return NULL;
}

/* The CancelledError raised after re-acquiring through cancels is a new one
 * without a message, as 3.11 (3.13 re-raises the last one: ('m2',)). */
/*
 * async def cond_cancel_in_reacquire():
 *     c = asyncio.Condition()
 *     async def waiter():
 *         async with c:
 *             try: await c.wait()
 *             except asyncio.CancelledError as e:
 *                 p('waiter cancelled', e.args, 'locked', c.locked()); raise
 *     t = asyncio.create_task(waiter()); await asyncio.sleep(0)
 *     await c.acquire(); c.notify(); await asyncio.sleep(0); await asyncio.sleep(0)
 *     t.cancel('m1'); await asyncio.sleep(0); t.cancel('m2'); await asyncio.sleep(0)
 *     p('main releases'); c.release()
 *     await asyncio.gather(t, return_exceptions=True); p('locked', c.locked())
 * -> (3.11.7) main releases; waiter cancelled () locked True; locked False
 */
static void *cond_cancel_in_reacquire(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    coro_aio_future *t = case_spawn(cv_waiter_cancel, NULL);
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_condition_notify(C, 1);
    SLEEP0();
    SLEEP0();
    coro_aio_future_cancel(t, "m1");
    SLEEP0();
    coro_aio_future_cancel(t, "m2");
    SLEEP0();
    P("main releases");
    coro_aio_condition_release(C);
    TRY(case_gather(0, 1));
    P("locked %s", tf(coro_aio_condition_locked(C)));
    return NULL;
}

static void *cv_waiter_tag_c(coro *self, void *arg)
{
    TRY(coro_aio_condition_acquire(C));
    if (coro_aio_condition_wait(C) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled", (char *)arg);
        coro_aio_condition_release(C);
        coro_reraise(self);
    }
    P("%s woke", (char *)arg);
    coro_aio_condition_release(C);
    return NULL;
}

/* A waiter notified and then cancelled passes the notification on. Python
 * 3.13 prints the transcript below; 3.11.7 loses the notification and prints
 * "a cancelled; b done False; b cancelled". */
/*
 * async def cond_cancel_after_notify():
 *     c = asyncio.Condition()
 *     async def waiter(tag):
 *         async with c:
 *             try: await c.wait()
 *             except asyncio.CancelledError: p(tag, 'cancelled'); raise
 *             p(tag, 'woke')
 *     a = asyncio.create_task(waiter('a')); b = asyncio.create_task(waiter('b'))
 *     await asyncio.sleep(0)
 *     async with c: c.notify(1); a.cancel()
 *     await asyncio.sleep(0); await asyncio.sleep(0); await asyncio.sleep(0)
 *     p('b done', b.done())
 *     b.cancel()
 *     await asyncio.gather(a, b, return_exceptions=True)
 * -> (3.13) a cancelled; b woke; b done True
 */
static void *cond_cancel_after_notify(coro *self, void *arg)
{
    (void)arg;
    coro_aio_condition_new(&C, NULL);
    coro_aio_future *a = case_spawn(cv_waiter_tag_c, "a"), *b = case_spawn(cv_waiter_tag_c, "b");
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_condition_notify(C, 1);
    coro_aio_future_cancel(a, NULL);
    coro_aio_condition_release(C);
    SLEEP0();
    SLEEP0();
    SLEEP0();
    P("b done %s", tf(coro_aio_future_done(b)));
    coro_aio_future_cancel(b, NULL);
    TRY(case_gather(0, 2));
    return NULL;
}

static void *cv2_waiter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_condition_acquire(C2));
    if (coro_aio_condition_wait(C2) != CORO_OK) {
        coro_aio_condition_release(C2);
        coro_reraise(self);
    }
    P("c2 waiter woke, l locked %s", tf(coro_aio_lock_locked(L)));
    coro_aio_condition_release(C2);
    return NULL;
}

/*
 * async def cond_shared_lock():
 *     l = asyncio.Lock(); c1 = asyncio.Condition(l); c2 = asyncio.Condition(l)
 *     await l.acquire(); p('c1', c1.locked(), 'c2', c2.locked())
 *     async def waiter():
 *         async with c2: await c2.wait(); p('c2 waiter woke, l locked', l.locked())
 *     t = asyncio.create_task(waiter())
 *     l.release(); await asyncio.sleep(0)
 *     async with c1: c2.notify(); c1.notify(); p('notified')
 *     await t; p('l locked', l.locked())
 * -> (3.11.7) c1 True c2 True; notified; c2 waiter woke, l locked True; l locked False
 */
static void *cond_shared_lock(coro *self, void *arg)
{
    (void)arg;
    coro_aio_lock_new(&L);
    coro_aio_condition_new(&C, L);
    coro_aio_condition_new(&C2, L);
    TRY(coro_aio_lock_acquire(L));
    P("c1 %s c2 %s", tf(coro_aio_condition_locked(C)), tf(coro_aio_condition_locked(C2)));
    coro_aio_future *t = case_spawn(cv2_waiter, NULL);
    coro_aio_lock_release(L);
    SLEEP0();
    TRY(coro_aio_condition_acquire(C));
    coro_aio_condition_notify(C2, 1);
    coro_aio_condition_notify(C, 1);
    P("notified");
    coro_aio_condition_release(C);
    AWAIT(t);
    P("l locked %s", tf(coro_aio_lock_locked(L)));
    return NULL;
}

/* ======================================================================== */
/* Barrier                                                                  */
/* ======================================================================== */

static coro_aio_barrier *B;

static const char *broken_error(coro *self)
{
    return coro_exc_matches(coro_exception(self)->type, &coro_aio_BrokenBarrierError)
               ? coro_exception(self)->message
               : NULL;
}

static void *br_basic(coro *self, void *arg)
{
    P("%s arrives", (char *)arg);
    long i;
    TRY(coro_aio_barrier_wait(B, &i));
    P("%s passes %ld n_waiting %ld", (char *)arg, i, coro_aio_barrier_n_waiting(B));
    return NULL;
}

/*
 * async def barrier_basic():
 *     b = asyncio.Barrier(3)
 *     p('parties', b.parties, 'n_waiting', b.n_waiting, 'broken', b.broken)
 *     async def w(tag):
 *         p(tag, 'arrives'); i = await b.wait(); p(tag, 'passes', i, 'n_waiting', b.n_waiting)
 *     ts = [asyncio.create_task(w(x)) for x in 'abc']
 *     await asyncio.sleep(0); p('n_waiting', b.n_waiting)
 *     await asyncio.gather(*ts); p('n_waiting', b.n_waiting, 'broken', b.broken)
 * -> (3.11.7) parties 3 n_waiting 0 broken False; a arrives; b arrives; c arrives; c passes 2
 *    n_waiting 0; n_waiting 0; a passes 0 n_waiting 0; b passes 1 n_waiting 0; n_waiting 0
 *    broken False
 */
static void *barrier_basic(coro *self, void *arg)
{
    (void)arg;
    coro_aio_barrier_new(&B, 3);
    P("parties %ld n_waiting %ld broken %s", coro_aio_barrier_parties(B),
      coro_aio_barrier_n_waiting(B), tf(coro_aio_barrier_broken(B)));
    case_spawn(br_basic, "a");
    case_spawn(br_basic, "b");
    case_spawn(br_basic, "c");
    SLEEP0();
    P("n_waiting %ld", coro_aio_barrier_n_waiting(B));
    TRY(case_gather(0, 3));
    P("n_waiting %ld broken %s", coro_aio_barrier_n_waiting(B), tf(coro_aio_barrier_broken(B)));
    return NULL;
}

static void *br_rounds(coro *self, void *arg)
{
    for (int r = 0; r < 3; r++) {
        long i;
        TRY(coro_aio_barrier_wait(B, &i));
        P("%s round %d index %ld", (char *)arg, r, i);
        if (strcmp(arg, "a") == 0)
            SLEEP0();
    }
    return NULL;
}

/*
 * async def barrier_rounds():
 *     b = asyncio.Barrier(2)
 *     async def w(tag):
 *         for r in range(3):
 *             i = await b.wait(); p(tag, 'round', r, 'index', i)
 *             if tag == 'a': await asyncio.sleep(0)
 *     await asyncio.gather(asyncio.create_task(w('a')), asyncio.create_task(w('b')))
 * -> (3.11.7) b round 0 index 1; a round 0 index 0; a round 1 index 1; b round 1 index 0; a
 *    round 2 index 1; b round 2 index 0
 */
static void *barrier_rounds(coro *self, void *arg)
{
    (void)arg;
    coro_aio_barrier_new(&B, 2);
    case_spawn(br_rounds, "a");
    case_spawn(br_rounds, "b");
    TRY(case_gather(0, 2));
    return NULL;
}

static void *br_abort(coro *self, void *arg)
{
    if (coro_aio_barrier_wait(B, NULL) != CORO_OK) {
        if (broken_error(self) == NULL)
            coro_reraise(self);
        P("%s BrokenBarrierError: %s", (char *)arg, broken_error(self));
    }
    return NULL;
}

/*
 * async def barrier_abort():
 *     b = asyncio.Barrier(3)
 *     async def w(tag):
 *         try: await b.wait()
 *         except asyncio.BrokenBarrierError as e: p(tag, 'BrokenBarrierError:', e)
 *     ts = [asyncio.create_task(w(x)) for x in 'ab']
 *     await asyncio.sleep(0)
 *     await b.abort(); p('aborted, broken', b.broken, 'n_waiting', b.n_waiting)
 *     await asyncio.gather(*ts)
 *     try: await b.wait()
 *     except asyncio.BrokenBarrierError as e: p('late BrokenBarrierError:', e)
 *     await b.reset(); p('reset, broken', b.broken)
 * -> (3.11.7) aborted, broken True n_waiting 0; a BrokenBarrierError: Abort or reset of
 *    barrier; b BrokenBarrierError: Abort or reset of barrier; late BrokenBarrierError: Barrier
 *    aborted; reset, broken False
 */
static void *barrier_abort(coro *self, void *arg)
{
    (void)arg;
    coro_aio_barrier_new(&B, 3);
    case_spawn(br_abort, "a");
    case_spawn(br_abort, "b");
    SLEEP0();
    TRY(coro_aio_barrier_abort(B));
    P("aborted, broken %s n_waiting %ld", tf(coro_aio_barrier_broken(B)),
      coro_aio_barrier_n_waiting(B));
    TRY(case_gather(0, 2));
    if (coro_aio_barrier_wait(B, NULL) != CORO_OK) {
        if (broken_error(self) == NULL)
            coro_reraise(self);
        P("late BrokenBarrierError: %s", broken_error(self));
    }
    TRY(coro_aio_barrier_reset(B));
    P("reset, broken %s", tf(coro_aio_barrier_broken(B)));
    return NULL;
}

static void *br_reset(coro *self, void *arg)
{
    long i;
    if (coro_aio_barrier_wait(B, &i) != CORO_OK) {
        if (broken_error(self) == NULL)
            coro_reraise(self);
        P("%s BrokenBarrierError: %s", (char *)arg, broken_error(self));
        return NULL;
    }
    P("%s passes %ld", (char *)arg, i);
    return NULL;
}

/*
 * async def barrier_reset():
 *     b = asyncio.Barrier(3)
 *     async def w(tag):
 *         try: i = await b.wait(); p(tag, 'passes', i)
 *         except asyncio.BrokenBarrierError as e: p(tag, 'BrokenBarrierError:', e)
 *     ts = [asyncio.create_task(w(x)) for x in 'ab']
 *     await asyncio.sleep(0)
 *     await b.reset(); p('reset, n_waiting', b.n_waiting)
 *     await asyncio.gather(*ts)
 *     ts = [asyncio.create_task(w(x)) for x in 'cde']
 *     await asyncio.gather(*ts); p('broken', b.broken)
 * -> (3.11.7) reset, n_waiting 0; a BrokenBarrierError: Abort or reset of barrier; b
 *    BrokenBarrierError: Abort or reset of barrier; e passes 2; c passes 0; d passes 1; broken
 *    False
 */
static void *barrier_reset(coro *self, void *arg)
{
    (void)arg;
    coro_aio_barrier_new(&B, 3);
    case_spawn(br_reset, "a");
    case_spawn(br_reset, "b");
    SLEEP0();
    TRY(coro_aio_barrier_reset(B));
    P("reset, n_waiting %ld", coro_aio_barrier_n_waiting(B));
    TRY(case_gather(0, 2));
    case_spawn(br_reset, "c");
    case_spawn(br_reset, "d");
    case_spawn(br_reset, "e");
    TRY(case_gather(2, 3));
    P("broken %s", tf(coro_aio_barrier_broken(B)));
    return NULL;
}

static void *br_cancel(coro *self, void *arg)
{
    long i;
    if (coro_aio_barrier_wait(B, &i) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, n_waiting %ld", (char *)arg, coro_aio_barrier_n_waiting(B));
        coro_reraise(self);
    }
    P("%s passes %ld", (char *)arg, i);
    return NULL;
}

/*
 * async def barrier_cancel():
 *     b = asyncio.Barrier(2)
 *     async def w(tag):
 *         try: i = await b.wait(); p(tag, 'passes', i)
 *         except asyncio.CancelledError: p(tag, 'cancelled, n_waiting', b.n_waiting); raise
 *     t = asyncio.create_task(w('a')); await asyncio.sleep(0)
 *     p('n_waiting', b.n_waiting); t.cancel()
 *     await asyncio.gather(t, return_exceptions=True)
 *     p('n_waiting', b.n_waiting)
 *     await asyncio.gather(asyncio.create_task(w('b')), asyncio.create_task(w('c')))
 * -> (3.11.7) n_waiting 1; a cancelled, n_waiting 0; n_waiting 0; c passes 1; b passes 0
 */
static void *barrier_cancel(coro *self, void *arg)
{
    (void)arg;
    coro_aio_barrier_new(&B, 2);
    coro_aio_future *t = case_spawn(br_cancel, "a");
    SLEEP0();
    P("n_waiting %ld", coro_aio_barrier_n_waiting(B));
    coro_aio_future_cancel(t, NULL);
    TRY(case_gather(0, 1));
    P("n_waiting %ld", coro_aio_barrier_n_waiting(B));
    case_spawn(br_cancel, "b");
    case_spawn(br_cancel, "c");
    TRY(case_gather(1, 2));
    return NULL;
}

/*
 * async def barrier_errors():
 *     for n in (0, -1):
 *         try: asyncio.Barrier(n)
 *         except ValueError as e: p('ValueError:', e)
 *     b = asyncio.Barrier(1)
 *     p('wait', await b.wait(), await b.wait(), 'n_waiting', b.n_waiting)
 * -> (3.11.7) ValueError: parties must be > 0; ValueError: parties must be > 0; wait 0 0
 *    n_waiting 0
 */
static void *barrier_errors(coro *self, void *arg)
{
    (void)arg;
    long ns[] = {0, -1};
    for (int k = 0; k < 2; k++) {
        coro_aio_barrier *x = NULL;
        if (coro_aio_barrier_new(&x, ns[k]) == CORO_EINVAL && x == NULL)
            P("%s", value_error());
    }
    coro_aio_barrier_new(&B, 1);
    long i = -1, j = -1;
    TRY(coro_aio_barrier_wait(B, &i));
    TRY(coro_aio_barrier_wait(B, &j));
    P("wait %ld %ld n_waiting %ld", i, j, coro_aio_barrier_n_waiting(B));
    return NULL;
}

/* ======================================================================== */
/* The table                                                                */
/* ======================================================================== */

typedef struct tcase_def {
    const char *name;
    coro_fn main;
    const char *expect;
} tcase_def;

static const tcase_def cases[] = {
    {"event_basic", event_basic,
     "is_set False; a waits; b waits; set; main after set; a woke True True; b woke True "
     "True; main after sleep; is_set False"},
    {"event_already_set", event_already_set,
     "main passed wait; other runs"},
    {"event_set_then_clear", event_set_then_clear,
     "set and cleared; a woke, is_set False; b woke, is_set False; late done? False; late "
     "cancelled"},
    {"event_cancel_waiter", event_cancel_waiter,
     "a cancelled; b woke; a cancelled? True"},
    {"event_timed", event_timed,
     "set at 2.5; w1 woke at 2.5; w2 woke at 2.5"},
    {"lock_basic", lock_basic,
     "locked False; acquire True locked True; locked False; release: Lock is not acquired."},
    {"lock_fifo", lock_fifo,
     "a wants; a has; b wants; c wants; a releases; b has; b releases; c has; c releases; "
     "locked False"},
    {"lock_no_overtake", lock_no_overtake,
     "released, locked False; waiter has; newcomer wants; newcomer has"},
    {"lock_release_reacquire", lock_release_reacquire,
     "main released; waiter has; waiter released; main has again"},
    {"lock_cancel_after_wake", lock_cancel_after_wake,
     "released and cancelled b; b cancelled, locked False; c has; locked False b cancelled"
     " True"},
    {"lock_cancel_waiting", lock_cancel_waiting,
     "b cancelled; releasing; c has"},
    {"lock_cancelled_waiters_only", lock_cancelled_waiters_only,
     "main has it at once, locked True; waiter cancelled"},
    {"lock_cancel_holder_wakes_next", lock_cancel_holder_wakes_next,
     "holder released; waiter has; h cancelled True"},
    {"lock_other_loop", lock_other_loop,
     "RuntimeError: <asyncio.locks.Lock object [locked]> is bound to a different event "
     "loop"},
    {"sem_basic", sem_basic,
     "a in, value 1 locked False; b in, value 0 locked True; a out; b out; c in, value 1 "
     "locked False; c out; value 2 locked False"},
    {"sem_errors", sem_errors,
     "ValueError: Semaphore initial value must be >= 0; ValueError: BoundedSemaphore "
     "released too many times; bounded value 1; plain value 1"},
    {"sem_cancel_after_wake", sem_cancel_after_wake,
     "released, value 0; b cancelled, value 0; c in, value 0; value 0"},
    {"sem_release_many", sem_release_many,
     "two released, value 0 locked True; a in, value 0; b in, value 0; third released; c "
     "in, value 0; value 0"},
    {"sem_no_overtake", sem_no_overtake,
     "a wants, locked True; released, value 0 locked True; a in; b wants, locked True; b "
     "in; value 1"},
    {"sem_cancel_waiting", sem_cancel_waiting,
     "b cancelled, value 0; locked True; c in; value 0"},
    {"bounded_with_waiters", bounded_with_waiters,
     "value 0; value 1; waiter in, value 2; value 2; ValueError: BoundedSemaphore released"
     " too many times"},
    {"cond_basic", cond_basic,
     "waiter waits; main notifies; main still holds; waiter woke True locked True; locked "
     "False"},
    {"cond_notify_n", cond_notify_n,
     "notified 2; a woke; b woke; notified all; c woke; d woke"},
    {"cond_unacquired", cond_unacquired,
     "wait: cannot wait on un-acquired lock; notify: cannot notify on un-acquired lock; "
     "notify_all: cannot notify on un-acquired lock"},
    {"cond_wait_for", cond_wait_for,
     "pred 0; pred 1; pred 2; pred 3; consumer sees 3"},
    {"cond_cancel_reacquires", cond_cancel_reacquires,
     "main releases; waiter cancelled ('bye',) locked True; locked False cancelled True"},
    {"cond_cancel_in_reacquire", cond_cancel_in_reacquire,
     "main releases; waiter cancelled () locked True; locked False"},
    {"cond_cancel_after_notify", cond_cancel_after_notify,
     "a cancelled; b woke; b done True"},
    {"cond_shared_lock", cond_shared_lock,
     "c1 True c2 True; notified; c2 waiter woke, l locked True; l locked False"},
    {"barrier_basic", barrier_basic,
     "parties 3 n_waiting 0 broken False; a arrives; b arrives; c arrives; c passes 2 "
     "n_waiting 0; n_waiting 0; a passes 0 n_waiting 0; b passes 1 n_waiting 0; n_waiting "
     "0 broken False"},
    {"barrier_rounds", barrier_rounds,
     "b round 0 index 1; a round 0 index 0; a round 1 index 1; b round 1 index 0; a round "
     "2 index 1; b round 2 index 0"},
    {"barrier_abort", barrier_abort,
     "aborted, broken True n_waiting 0; a BrokenBarrierError: Abort or reset of barrier; b"
     " BrokenBarrierError: Abort or reset of barrier; late BrokenBarrierError: Barrier "
     "aborted; reset, broken False"},
    {"barrier_reset", barrier_reset,
     "reset, n_waiting 0; a BrokenBarrierError: Abort or reset of barrier; b "
     "BrokenBarrierError: Abort or reset of barrier; e passes 2; c passes 0; d passes 1; "
     "broken False"},
    {"barrier_cancel", barrier_cancel,
     "n_waiting 1; a cancelled, n_waiting 0; n_waiting 0; c passes 1; b passes 0"},
    {"barrier_errors", barrier_errors,
     "ValueError: parties must be > 0; ValueError: parties must be > 0; wait 0 0 n_waiting"
     " 0"},
};

static void run_case(const tcase_def *c)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    tr_reset(&tr);
    case_ntasks = 0;
    E = NULL;
    L = NULL;
    S = NULL;
    C = C2 = NULL;
    B = NULL;
    coro_exc exc;
    if (c->main == lock_other_loop) {
        ck_assert_int_eq(coro_aio_lock_new(&L), CORO_OK);
        ck_assert_int_eq(coro_aio_run(bind_main, NULL, &o, NULL, NULL), CORO_OK);
    }
    int rc = coro_aio_run(c->main, NULL, &o, NULL, &exc);
    ck_assert_msg(rc == CORO_OK, "%s: run returned %d (%s)", c->name, rc,
                  rc == CORO_RAISED ? exc_str(&exc) : coro_aio_last_error());
    case_release_tasks();
    ck_assert_int_eq(coro_aio_condition_free(C), CORO_OK);
    ck_assert_int_eq(coro_aio_condition_free(C2), CORO_OK);
    ck_assert_int_eq(coro_aio_event_free(E), CORO_OK);
    ck_assert_int_eq(coro_aio_lock_free(L), CORO_OK);
    ck_assert_int_eq(coro_aio_semaphore_free(S), CORO_OK);
    ck_assert_int_eq(coro_aio_barrier_free(B), CORO_OK);
    ck_assert_msg(strcmp(tr.buf, c->expect) == 0, "%s:\n got      %s\n expected %s", c->name,
                  tr.buf, c->expect);
}

START_TEST(test_transcript)
{
    run_case(&cases[_i]);
}
END_TEST

/* ======================================================================== */
/* Misuse                                                                   */
/* ======================================================================== */

/* Waiting outside a task is CORO_EINVAL; so are NULL objects. */
START_TEST(test_outside_task)
{
    coro_aio_event *e;
    coro_aio_lock *l;
    coro_aio_semaphore *s;
    coro_aio_condition *c;
    ck_assert_int_eq(coro_aio_event_new(&e), CORO_OK);
    ck_assert_int_eq(coro_aio_lock_new(&l), CORO_OK);
    ck_assert_int_eq(coro_aio_semaphore_new(&s, 0, false), CORO_OK);
    ck_assert_int_eq(coro_aio_condition_new(&c, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_event_wait(e), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "called outside a task"));
    ck_assert_int_eq(coro_aio_lock_acquire(l), CORO_OK); /* free: no wait needed */
    ck_assert_int_eq(coro_aio_lock_acquire(l), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_semaphore_acquire(s), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_condition_wait(c), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_event_wait(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_lock_acquire(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_lock_release(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_semaphore_release(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_condition_notify(NULL, 1), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_condition_wait_for(c, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_event_new(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_lock_free(l), CORO_OK);
    ck_assert_int_eq(coro_aio_event_free(e), CORO_OK);
    ck_assert_int_eq(coro_aio_semaphore_free(s), CORO_OK);
    ck_assert_int_eq(coro_aio_condition_free(c), CORO_OK);
}
END_TEST

static void *busy_waiter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    return NULL;
}

static void *busy_main(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_lock_acquire(L));
    case_spawn(busy_waiter, NULL);
    SLEEP0();
    P("free %d", coro_aio_lock_free(L));
    P("%s", coro_aio_last_error());
    return NULL;
}

/* Freeing a lock a task waits on is refused; once asyncio.run has cancelled
 * the waiter, it frees. */
START_TEST(test_free_busy)
{
    case_ntasks = 0;
    ck_assert_int_eq(coro_aio_lock_new(&L), CORO_OK);
    ck_assert_int_eq(coro_aio_run(busy_main, NULL, NULL, NULL, NULL), CORO_OK);
    case_release_tasks();
    ck_assert_str_eq(tr.buf, "free -7; lock_free: 1 tasks still wait on the lock; free it once "
                             "they are done");
    ck_assert_int_eq(coro_aio_lock_free(L), CORO_OK);
}
END_TEST

static void *closed_waiter(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_lock_acquire(L) != CORO_OK) {
        P("waiter ends: %s", coro_exception(self)->type->name);
        coro_reraise(self);
    }
    return NULL;
}

/* A task left waiting when its loop closes unlinks its waiter as it is
 * destroyed (GeneratorExit through the finally), so the lock frees. */
START_TEST(test_loop_close_unlinks)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    ck_assert_int_eq(coro_aio_lock_new(&L), CORO_OK);
    coro_aio_future *holder = coro_aio_create_task(loop, busy_waiter, NULL, NULL);
    coro_aio_future *w = coro_aio_create_task(loop, closed_waiter, NULL, NULL);
    coro_aio_stop(loop);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    coro_aio_stop(loop);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    ck_assert(coro_aio_lock_locked(L));
    ck_assert_int_eq(coro_aio_lock_free(L), CORO_EBUSY);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    coro_aio_future_release(holder);
    coro_aio_future_release(w);
    ck_assert_int_eq(coro_aio_lock_free(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "waiter ends: GeneratorExit; handler: Task was destroyed but it is "
                             "pending! <Task pending name='Task-2'>");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aio_locks");
    TCase *tc = tcase_create("transcripts");
    tcase_add_loop_test(tc, test_transcript, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_outside_task);
    tcase_add_test(tc, test_free_busy);
    tcase_add_test(tc, test_loop_close_unlinks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
