/* test_aio_threads.c - to_thread on the worker pool, run_coroutine_threadsafe and its futures.
 * SPDX-License-Identifier: MIT
 *
 * Transcripts are written only by the loop's thread, or by the test's own
 * thread while the loop's thread is known to be idle (joined or blocked);
 * worker threads report through atomics and semaphores. Gates are
 * semaphores, not sleeps, so the outcomes do not depend on timing; the
 * few sleeps only give a thread a chance to get somewhere wrong.
 */
#include "aio_util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static coro_aio_loop *L;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------------ */
/* to_thread                                                                */
/* ------------------------------------------------------------------------ */

static pthread_t loop_thread_id;
static atomic_int on_other_thread;

static void *square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    atomic_store(&on_other_thread, !pthread_equal(pthread_self(), loop_thread_id));
    return (void *)(x * x);
}

/* async def main(): print(await asyncio.to_thread(square, 12)) -> 144 */
static void *square_main(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "workers before %d", coro_aio_thread_workers(coro_aio_get_running_loop()));
    void *r = NULL;
    if (coro_aio_to_thread(square, (void *)(intptr_t)12, &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "got %d", (int)(intptr_t)r);
    tr_add(&tr, "workers after %d", coro_aio_thread_workers(coro_aio_get_running_loop()));
    return r;
}

START_TEST(test_to_thread_result)
{
    loop_thread_id = pthread_self();
    void *r = NULL;
    ck_assert_int_eq(coro_aio_run(square_main, NULL, NULL, &r, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "workers before 0; got 144; workers after 1");
    ck_assert_int_eq((int)(intptr_t)r, 144);
    ck_assert_int_eq(atomic_load(&on_other_thread), 1);
}
END_TEST

/* The loop runs other tasks while a call blocks: the call waits for a gate
 * that a ticking task opens after its third tick. */
static sem_t gate;

static void *wait_gate(void *arg)
{
    while (sem_wait(&gate) != 0)
        ;
    return arg;
}

static void *ticker(coro *self, void *arg)
{
    (void)arg;
    for (int i = 1; i <= 3; i++) {
        tr_add(&tr, "tick %d", i);
        if (coro_aio_sleep(0.001) != CORO_OK)
            coro_reraise(self);
    }
    tr_add(&tr, "open");
    sem_post(&gate);
    return NULL;
}

static void *concurrent_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), ticker, NULL, NULL);
    void *r = NULL;
    if (coro_aio_to_thread(wait_gate, "gated", &r) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "call returned %s", (char *)r);
    coro_aio_await(t, NULL);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_to_thread_loop_keeps_running)
{
    sem_init(&gate, 0, 0);
    ck_assert_int_eq(coro_aio_run(concurrent_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "tick 1; tick 2; tick 3; open; call returned gated");
    sem_destroy(&gate);
}
END_TEST

/* A pool of one runs the calls in the order they were made. */
static atomic_int order_log[8];
static atomic_int order_n;

static void *log_order(void *arg)
{
    order_log[atomic_fetch_add(&order_n, 1)] = (int)(intptr_t)arg;
    return arg;
}

static void *order_child(coro *self, void *arg)
{
    void *r = NULL;
    if (coro_aio_to_thread(log_order, arg, &r) != CORO_OK)
        coro_reraise(self);
    return r;
}

static void *order_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_set_thread_workers(loop, 1);
    coro_aio_future *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = coro_aio_create_task(loop, order_child, (void *)(intptr_t)(i + 1), NULL);
    coro_aio_future *g = coro_aio_gather(loop, t, 5, false);
    coro_aio_await(g, NULL);
    for (int i = 0; i < 5; i++) {
        void *v = NULL;
        coro_aio_gather_item(g, (size_t)i, &v, NULL);
        tr_add(&tr, "r%d=%d", i, (int)(intptr_t)v);
        coro_aio_future_release(t[i]);
    }
    coro_aio_future_release(g);
    tr_add(&tr, "workers %d", coro_aio_thread_workers(loop));
    return NULL;
}

START_TEST(test_one_worker_fifo)
{
    ck_assert_int_eq(coro_aio_run(order_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r0=1; r1=2; r2=3; r3=4; r4=5; workers 1");
    ck_assert_int_eq(atomic_load(&order_n), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(order_log[i], i + 1);
}
END_TEST

/* The pool grows one worker per call that finds none idle, up to its
 * maximum: `calls` calls that all block on a gate run `expect` at a time. */
static atomic_int running_now, running_peak, started_calls;
static int pool_calls, pool_expect;

static void *blocking_call(void *arg)
{
    int now = atomic_fetch_add(&running_now, 1) + 1;
    int peak = atomic_load(&running_peak);
    while (now > peak && !atomic_compare_exchange_weak(&running_peak, &peak, now))
        ;
    atomic_fetch_add(&started_calls, 1);
    while (sem_wait(&gate) != 0)
        ;
    atomic_fetch_sub(&running_now, 1);
    return arg;
}

static void *pool_child(coro *self, void *arg)
{
    void *r = NULL;
    if (coro_aio_to_thread(blocking_call, arg, &r) != CORO_OK)
        coro_reraise(self);
    return r;
}

static void *pool_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future **t = calloc((size_t)pool_calls, sizeof *t);
    for (int i = 0; i < pool_calls; i++)
        t[i] = coro_aio_create_task(loop, pool_child, (void *)(intptr_t)i, NULL);
    /* Wait until as many calls as the pool can run have started. */
    while (atomic_load(&started_calls) < pool_expect)
        if (coro_aio_sleep(0.001) != CORO_OK)
            coro_reraise(self);
    sleep_ms(20); /* a pool that grew too far would start more calls now */
    tr_add(&tr, "started %d workers %d", atomic_load(&started_calls),
           coro_aio_thread_workers(loop));
    for (int i = 0; i < pool_calls; i++)
        sem_post(&gate);
    long sum = 0;
    for (int i = 0; i < pool_calls; i++) {
        void *v = NULL;
        coro_aio_await(t[i], &v);
        sum += (intptr_t)v;
        coro_aio_future_release(t[i]);
    }
    free(t);
    tr_add(&tr, "sum %ld peak %d", sum, atomic_load(&running_peak));
    return NULL;
}

static void run_pool(int calls, int expect, int max)
{
    sem_init(&gate, 0, 0);
    pool_calls = calls;
    pool_expect = expect;
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    if (max > 0)
        ck_assert_int_eq(coro_aio_set_thread_workers(loop, max), CORO_OK);
    coro_aio_future *t = coro_aio_create_task(loop, pool_main, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_until_complete(loop, t, NULL, NULL), CORO_OK);
    coro_aio_future_release(t);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    char want[128];
    snprintf(want, sizeof want, "started %d workers %d; sum %ld peak %d", expect, expect,
             (long)calls * (calls - 1) / 2, expect);
    ck_assert_str_eq(tr.buf, want);
    sem_destroy(&gate);
}

START_TEST(test_pool_max_workers)
{
    run_pool(6, 2, 2);
}
END_TEST

START_TEST(test_pool_default_size)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int expect = cpus + 4 < 32 ? (int)cpus + 4 : 32;
    run_pool(expect + 3, expect, 0);
}
END_TEST

/* Cancelling the await: CancelledError at once; the call finishes later and
 * its result goes to discard, on the loop's thread, exactly once. */
static atomic_int discards;
static sem_t call_started;

static void discard_note(void *result, void *arg)
{
    atomic_fetch_add(&discards, 1);
    tr_add(&tr, "discard %s %s", (char *)result, (char *)arg);
}

static void *slow_result(void *arg)
{
    sem_post(&call_started);
    while (sem_wait(&gate) != 0)
        ;
    (void)arg;
    return "late";
}

static void *cancel_child(coro *self, void *arg)
{
    (void)arg;
    void *r = NULL;
    int rc = coro_aio_to_thread_ex(slow_result, "arg", discard_note, &r);
    if (rc == CORO_THROWN)
        tr_add(&tr, "child %s", exc_str(coro_exception(self)));
    else
        tr_add(&tr, "child got %s", (char *)r);
    return NULL;
}

static void *cancel_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future *t = coro_aio_create_task(loop, cancel_child, NULL, NULL);
    while (sem_trywait(&call_started) != 0)
        if (coro_aio_sleep(0.001) != CORO_OK)
            coro_reraise(self);
    tr_add(&tr, "cancel %s", coro_aio_future_cancel(t, NULL) ? "True" : "False");
    coro_aio_await(t, NULL);
    tr_add(&tr, "task done, discards %d", atomic_load(&discards));
    sem_post(&gate);
    while (atomic_load(&discards) == 0)
        if (coro_aio_sleep(0.001) != CORO_OK)
            coro_reraise(self);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_cancel_abandons_result)
{
    sem_init(&gate, 0, 0);
    sem_init(&call_started, 0, 0);
    ck_assert_int_eq(coro_aio_run(cancel_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "cancel True; child CancelledError; task done, discards 0; "
                             "discard late arg");
    ck_assert_int_eq(atomic_load(&discards), 1);
    sem_destroy(&gate);
    sem_destroy(&call_started);
}
END_TEST

/* loop_close waits for a call still running, joins the workers, and the task
 * parked on the call is destroyed as pending; the result then goes to
 * discard. */
static atomic_int finished_late;

static void *slow_flag(void *arg)
{
    sem_post(&call_started);
    sleep_ms(50);
    atomic_store(&finished_late, 1);
    return arg;
}

static void *parked_child(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    void *r = NULL;
    int rc = coro_aio_to_thread_ex(slow_flag, "kept", discard_note, &r);
    tr_add(&tr, "child unwinds rc=%s", coro_err_name(rc));
    return NULL;
}

static void *close_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), parked_child, NULL,
                                              NULL);
    coro_aio_future_release(t);
    while (sem_trywait(&call_started) != 0)
        if (coro_aio_sleep(0.001) != CORO_OK)
            coro_reraise(self);
    return NULL;
}

START_TEST(test_close_joins_workers)
{
    sem_init(&call_started, 0, 0);
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_future *t = coro_aio_create_task(L, close_main, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_until_complete(L, t, NULL, NULL), CORO_OK);
    coro_aio_future_release(t);
    tr_add(&tr, "closing");
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    ck_assert_int_eq(atomic_load(&finished_late), 1);
    ck_assert_int_eq(atomic_load(&discards), 1);
    ck_assert_str_eq(tr.buf, "closing; discard kept kept; child unwinds rc=THROWN; "
                             "handler: Task was destroyed but it is pending! "
                             "<Task pending name='Task-2'>");
    sem_destroy(&call_started);
}
END_TEST

/* Bad calls: outside a task, NULL fn, bad worker counts. */
START_TEST(test_to_thread_errors)
{
    ck_assert_int_eq(coro_aio_to_thread(square, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "to_thread: called outside a task (no running "
                                            "event loop or no task running)");
    ck_assert_int_eq(coro_aio_to_thread(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "to_thread: fn is required");
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_set_thread_workers(L, -1), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_set_thread_workers(NULL, 1), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_thread_workers(L), 0);
    ck_assert_int_eq(coro_aio_thread_workers(NULL), 0);
    coro_aio_loop_close(L);
}
END_TEST

/* Many calls gathered: every result comes back to its own await. */
static void *many_child(coro *self, void *arg)
{
    void *r = NULL;
    if (coro_aio_to_thread(square, arg, &r) != CORO_OK)
        coro_reraise(self);
    return r;
}

static void *many_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    enum { N = 200 };
    coro_aio_future *t[N];
    for (int i = 0; i < N; i++)
        t[i] = coro_aio_create_task(loop, many_child, (void *)(intptr_t)i, NULL);
    coro_aio_future *g = coro_aio_gather(loop, t, N, false);
    coro_aio_await(g, NULL);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        void *v = NULL;
        if (coro_aio_gather_item(g, (size_t)i, &v, NULL) != CORO_OK || (intptr_t)v != i * i)
            bad++;
        coro_aio_future_release(t[i]);
    }
    coro_aio_future_release(g);
    tr_add(&tr, "bad %d", bad);
    return NULL;
}

START_TEST(test_many_calls)
{
    ck_assert_int_eq(coro_aio_run(many_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "bad 0");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* run_coroutine_threadsafe                                                 */
/* ------------------------------------------------------------------------ */

/* A loop running forever on its own thread; stop_loop ends it. */
static pthread_t loop_thread;

static void *loop_main(void *arg)
{
    (void)arg;
    coro_aio_run_forever(L);
    return NULL;
}

static void start_loop_thread(void)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static void stop_cb(void *arg)
{
    coro_aio_stop(arg);
}

static void stop_loop_thread(void)
{
    ck_assert_int_eq(coro_aio_call_soon_threadsafe(L, stop_cb, L), CORO_OK);
    pthread_join(loop_thread, NULL);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}

static void *answer(coro *self, void *arg)
{
    if (coro_aio_sleep(0.005) != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "coroutine ran on the loop thread: %s",
           pthread_equal(pthread_self(), loop_thread) ? "yes" : "no");
    return arg;
}

START_TEST(test_rcts_result)
{
    start_loop_thread();
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, answer, (void *)(intptr_t)42);
    ck_assert_ptr_nonnull(cf);
    void *r = NULL;
    ck_assert_int_eq(coro_aio_cfuture_result(cf, 10.0, &r, NULL), CORO_OK);
    ck_assert_int_eq((int)(intptr_t)r, 42);
    ck_assert(coro_aio_cfuture_done(cf));
    ck_assert(!coro_aio_cfuture_cancelled(cf));
    ck_assert(!coro_aio_cfuture_cancel(cf)); /* done: cancel() is False */
    coro_exc e;
    ck_assert_int_eq(coro_aio_cfuture_exception(cf, 0, &e), CORO_OK);
    ck_assert_ptr_null(e.type);
    coro_aio_cfuture_release(cf);
    stop_loop_thread();
    ck_assert_str_eq(tr.buf, "coroutine ran on the loop thread: yes");
}
END_TEST

static void *fails(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_ValueError, "bad value");
    return NULL;
}

START_TEST(test_rcts_exception)
{
    start_loop_thread();
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, fails, NULL);
    coro_exc e;
    void *r = (void *)1;
    ck_assert_int_eq(coro_aio_cfuture_result(cf, -1, &r, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "ValueError: bad value");
    ck_assert_ptr_eq(r, (void *)1); /* untouched */
    ck_assert_int_eq(coro_aio_cfuture_exception(cf, -1, &e), CORO_OK);
    ck_assert_str_eq(exc_str(&e), "ValueError: bad value");
    coro_aio_cfuture_release(cf);
    stop_loop_thread();
    ck_assert_str_eq(tr.buf, ""); /* read through the future: not reported */
}
END_TEST

/* result(timeout) runs out (TimeoutError, still pending); cancel() then
 * ends it at once and cancels the task in the loop's thread. */
static void *waits_forever(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *f = coro_aio_future_new(coro_aio_get_running_loop());
    int rc = coro_aio_await(f, NULL);
    tr_add(&tr, "task %s", rc == CORO_THROWN ? exc_str(coro_exception(self)) : "woke");
    coro_aio_future_release(f);
    if (rc != CORO_OK)
        coro_reraise(self);
    return NULL;
}

START_TEST(test_rcts_timeout_then_cancel)
{
    start_loop_thread();
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, waits_forever, NULL);
    coro_exc e;
    ck_assert_int_eq(coro_aio_cfuture_result(cf, 0.05, NULL, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "TimeoutError");
    ck_assert_int_eq(coro_aio_cfuture_exception(cf, 0.0, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "TimeoutError");
    ck_assert(!coro_aio_cfuture_done(cf));
    ck_assert(coro_aio_cfuture_cancel(cf));
    ck_assert(coro_aio_cfuture_cancelled(cf));
    ck_assert(!coro_aio_cfuture_cancel(cf));
    ck_assert_int_eq(coro_aio_cfuture_result(cf, -1, NULL, &e), CORO_RAISED);
    ck_assert_str_eq(exc_str(&e), "CancelledError");
    coro_aio_cfuture_release(cf);
    /* Let the loop see the cancel before it stops: a second, quick task
     * submitted after it runs after it. */
    coro_aio_cfuture *q = coro_aio_run_coroutine_threadsafe(L, answer, NULL);
    ck_assert_int_eq(coro_aio_cfuture_result(q, 10.0, NULL, NULL), CORO_OK);
    coro_aio_cfuture_release(q);
    stop_loop_thread();
    ck_assert_str_eq(tr.buf, "task CancelledError; coroutine ran on the loop thread: yes");
}
END_TEST

/* A closed loop refuses; a loop closed with a submitted task pending ends
 * its concurrent future cancelled, waking a waiter. */
static sem_t waiter_ready;
static coro_aio_cfuture *waited;
static int waiter_rc;
static coro_exc waiter_exc;

static void *waiter_thread(void *arg)
{
    (void)arg;
    sem_post(&waiter_ready);
    waiter_rc = coro_aio_cfuture_result(waited, -1, NULL, &waiter_exc);
    return NULL;
}

START_TEST(test_rcts_loop_closed)
{
    sem_init(&waiter_ready, 0, 0);
    start_loop_thread();
    waited = coro_aio_run_coroutine_threadsafe(L, waits_forever, NULL);
    /* Make sure the task started: a later submission has finished. */
    coro_aio_cfuture *q = coro_aio_run_coroutine_threadsafe(L, answer, NULL);
    ck_assert_int_eq(coro_aio_cfuture_result(q, 10.0, NULL, NULL), CORO_OK);
    coro_aio_cfuture_release(q);
    pthread_t w;
    ck_assert_int_eq(pthread_create(&w, NULL, waiter_thread, NULL), 0);
    while (sem_wait(&waiter_ready) != 0)
        ;
    sleep_ms(10);
    /* The loop stops and closes: the pending task is destroyed. */
    stop_loop_thread();
    pthread_join(w, NULL);
    ck_assert_int_eq(waiter_rc, CORO_RAISED);
    ck_assert_str_eq(exc_str(&waiter_exc), "CancelledError");
    ck_assert(coro_aio_cfuture_cancelled(waited));
    ck_assert(!coro_aio_cfuture_cancel(waited));
    coro_aio_cfuture_release(waited);
    ck_assert_str_eq(tr.buf, "coroutine ran on the loop thread: yes; task GeneratorExit; "
                             "handler: Task was destroyed but it is pending! <Task pending "
                             "name='Task-1'>");
    sem_destroy(&waiter_ready);
}
END_TEST

START_TEST(test_rcts_errors)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_ptr_null(coro_aio_run_coroutine_threadsafe(NULL, answer, NULL));
    ck_assert_ptr_null(coro_aio_run_coroutine_threadsafe(L, NULL, NULL));
    ck_assert_str_eq(coro_aio_last_error(), "run_coroutine_threadsafe: loop and fn are required");
    /* Submitted, never run: close settles it. */
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, answer, NULL);
    ck_assert_ptr_nonnull(cf);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    ck_assert(coro_aio_cfuture_cancelled(cf));
    coro_aio_cfuture_release(cf);
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_future *keep = coro_aio_future_new(L); /* keeps the closed loop's memory */
    coro_aio_loop_close(L);
    ck_assert_ptr_null(coro_aio_run_coroutine_threadsafe(L, answer, NULL));
    ck_assert_str_eq(coro_aio_last_error(), "run_coroutine_threadsafe: Event loop is closed");
    coro_aio_future_release(keep);
    ck_assert_int_eq(coro_aio_cfuture_result(NULL, 1, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_cfuture_exception(NULL, 1, NULL), CORO_EINVAL);
    ck_assert(!coro_aio_cfuture_cancel(NULL));
    ck_assert(!coro_aio_cfuture_done(NULL));
    coro_aio_cfuture_release(NULL);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

START_TEST(test_rcts_nan_timeout)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, answer, NULL);
    ck_assert_int_eq(coro_aio_cfuture_result(cf, NAN, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(),
                     "cfuture_result: a future and a timeout that is not NaN are required");
    coro_aio_loop_close(L);
    coro_aio_cfuture_release(cf);
}
END_TEST

/* Cancelled before the loop picked it up: the task is never created. */
START_TEST(test_rcts_cancel_before_start)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, answer, NULL);
    ck_assert(coro_aio_cfuture_cancel(cf));
    coro_aio_stop(L);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK); /* one iteration */
    ck_assert_int_eq(coro_aio_all_tasks(L, NULL, 0), 0);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    coro_aio_cfuture_release(cf);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* Many threads submit at once; every future gets its own task's result. */
static void *echo(coro *self, void *arg)
{
    (void)self;
    return arg;
}

static atomic_int submit_bad;

static void *submitter(void *arg)
{
    intptr_t base = (intptr_t)arg;
    for (intptr_t i = 0; i < 50; i++) {
        coro_aio_cfuture *cf = coro_aio_run_coroutine_threadsafe(L, echo, (void *)(base + i));
        void *r = NULL;
        if (cf == NULL || coro_aio_cfuture_result(cf, 10.0, &r, NULL) != CORO_OK ||
            (intptr_t)r != base + i)
            atomic_fetch_add(&submit_bad, 1);
        coro_aio_cfuture_release(cf);
    }
    return NULL;
}

START_TEST(test_rcts_many_threads)
{
    start_loop_thread();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, submitter, (void *)(intptr_t)(i * 1000)), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    stop_loop_thread();
    ck_assert_int_eq(atomic_load(&submit_bad), 0);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_threads");
    TCase *tc = tcase_create("to_thread");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_to_thread_result);
    tcase_add_test(tc, test_to_thread_loop_keeps_running);
    tcase_add_test(tc, test_one_worker_fifo);
    tcase_add_test(tc, test_pool_max_workers);
    tcase_add_test(tc, test_pool_default_size);
    tcase_add_test(tc, test_cancel_abandons_result);
    tcase_add_test(tc, test_close_joins_workers);
    tcase_add_test(tc, test_to_thread_errors);
    tcase_add_test(tc, test_many_calls);
    suite_add_tcase(s, tc);
    TCase *rc = tcase_create("threadsafe");
    tcase_add_checked_fixture(rc, setup, NULL);
    tcase_add_test(rc, test_rcts_result);
    tcase_add_test(rc, test_rcts_exception);
    tcase_add_test(rc, test_rcts_timeout_then_cancel);
    tcase_add_test(rc, test_rcts_loop_closed);
    tcase_add_test(rc, test_rcts_errors);
    tcase_add_test(rc, test_rcts_nan_timeout);
    tcase_add_test(rc, test_rcts_cancel_before_start);
    tcase_add_test(rc, test_rcts_many_threads);
    suite_add_tcase(s, rc);
    return run_suite(s);
}
