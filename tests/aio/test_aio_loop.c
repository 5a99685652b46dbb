/* test_aio_loop.c - the loop: one iteration's order, timers, handles, threadsafe calls.
 * SPDX-License-Identifier: MIT
 *
 * Expected transcripts are what CPython 3.11 prints for the Python program
 * in the comment above each test.
 */
#include "aio_util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static coro_aio_loop *L;

static void cb(void *arg)
{
    tr_add(&tr, "%s", (const char *)arg);
}

static void cb_int(void *arg)
{
    tr_add(&tr, "%d", (int)(intptr_t)arg);
}

static void stop(void *arg)
{
    (void)arg;
    tr_add(&tr, "stop");
    coro_aio_stop(L);
}

static void a(void *arg)
{
    (void)arg;
    tr_add(&tr, "a");
    coro_aio_call_soon(L, cb, "a-soon", NULL);
    coro_aio_call_later(L, 0, cb, "a-later0", NULL);
}

static void lam2(void *arg)
{
    (void)arg;
    coro_aio_call_soon(L, stop, NULL, NULL);
}

static void lam1(void *arg)
{
    (void)arg;
    coro_aio_call_soon(L, lam2, NULL, NULL);
}

/*
 * loop = asyncio.new_event_loop()
 * def a():
 *     out.append('a'); loop.call_soon(cb, 'a-soon'); loop.call_later(0, cb, 'a-later0')
 * def stop(): out.append('stop'); loop.stop()
 * loop.call_soon(a)
 * loop.call_soon(cb, 'b')
 * h = loop.call_soon(cb, 'c'); h.cancel()
 * loop.call_at(loop.time() - 1, cb, 'past')
 * loop.call_soon(lambda: loop.call_soon(lambda: loop.call_soon(stop)))
 * loop.run_forever()
 * -> a; b; past; a-soon; a-later0; stop
 */
START_TEST(test_iteration_order)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_handle *h;
    ck_assert_int_eq(coro_aio_call_soon(L, a, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(L, cb, "b", NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(L, cb, "c", &h), CORO_OK);
    coro_aio_handle_cancel(h);
    ck_assert(coro_aio_handle_cancelled(h));
    coro_aio_handle_release(h);
    ck_assert_int_eq(coro_aio_call_at(L, coro_aio_time(L) - 1, cb, "past", NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(L, lam1, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "a; b; past; a-soon; a-later0; stop");
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/*
 * t = loop.time() + 0.01
 * for i in range(10): loop.call_at(t, cb, i)
 * loop.call_at(t + 0.001, stop)
 * loop.run_forever()
 * -> 0; 2; 6; 5; 9; 8; 7; 1; 3; 4; stop      (heapq is not stable)
 */
START_TEST(test_equal_deadlines_heapq_order)
{
    for (int clock = 0; clock < 2; clock++) {
        tr_reset(&tr);
        L = new_loop(clock);
        double t = coro_aio_time(L) + 0.01;
        for (int i = 0; i < 10; i++)
            ck_assert_int_eq(coro_aio_call_at(L, t, cb_int, (void *)(intptr_t)i, NULL), CORO_OK);
        ck_assert_int_eq(coro_aio_call_at(L, t + 0.001, stop, NULL, NULL), CORO_OK);
        ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
        ck_assert_str_eq(tr.buf, "0; 2; 6; 5; 9; 8; 7; 1; 3; 4; stop");
        coro_aio_loop_close(L);
    }
}
END_TEST

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct early_check {
    coro_aio_handle *h;
    int64_t when_ns;
    int early;
    int fired;
} early_check;

static early_check checks[40];

static void check_not_early(void *arg)
{
    early_check *c = arg;
    c->fired++;
    if (mono_ns() < c->when_ns || coro_aio_time_ns(L) < c->when_ns)
        c->early++;
}

/* Timers never fire before their deadline, by the loop's clock or by
 * CLOCK_MONOTONIC read in the callback. */
START_TEST(test_timers_never_early)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    for (int i = 0; i < 40; i++) {
        double delay = (i % 8) * 0.0013 + (i / 8) * 0.0001;
        ck_assert_int_eq(coro_aio_call_later(L, delay, check_not_early, &checks[i], &checks[i].h),
                         CORO_OK);
        checks[i].when_ns = (int64_t)(coro_aio_handle_when(checks[i].h) * 1e9) - 1;
    }
    ck_assert_int_eq(coro_aio_call_later(L, 0.012, stop, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(checks[i].fired, 1);
        ck_assert_int_eq(checks[i].early, 0);
        coro_aio_handle_release(checks[i].h);
    }
    coro_aio_loop_close(L);
}
END_TEST

/*
 * hs = [loop.call_later(0.001 * (i % 7), cb, i) for i in range(1000)]
 * for i, h in enumerate(hs):
 *     if i % 5 != 0: h.cancel()
 * loop.call_later(0.01, stop); loop.run_forever()
 * -> only the multiples of 5 run, in deadline order (ties by heapq)
 * The C test compares with the order a stable sort by deadline gives among
 * distinct deadlines, and checks that all 200 ran and nothing else did.
 */
static int fired_order[1000];
static int nfired;

static void record(void *arg)
{
    fired_order[nfired++] = (int)(intptr_t)arg;
}

START_TEST(test_cancelled_timers)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_handle *hs[1000];
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(
            coro_aio_call_later(L, 0.001 * (i % 7), record, (void *)(intptr_t)i, &hs[i]),
            CORO_OK);
    for (int i = 0; i < 1000; i++) {
        if (i % 5 != 0)
            coro_aio_handle_cancel(hs[i]);
        coro_aio_handle_release(hs[i]);
    }
    ck_assert_int_eq(coro_aio_call_later(L, 0.01, stop, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_int_eq(nfired, 200);
    for (int k = 0; k < 200; k++) {
        ck_assert_int_eq(fired_order[k] % 5, 0);
        if (k > 0)
            ck_assert_int_le(fired_order[k - 1] % 7, fired_order[k] % 7);
    }
    coro_aio_loop_close(L);
}
END_TEST

/* 100 000 timers at pseudo-random deadlines fire once each, in deadline
 * order, and the virtual clock reads each one's deadline when it fires. */
static int64_t deadlines[100000];
static int64_t last_when;
static int out_of_order, wrong_time, count100k;

static void fire100k(void *arg)
{
    int i = (int)(intptr_t)arg;
    if (deadlines[i] < last_when)
        out_of_order++;
    if (coro_aio_time_ns(L) != deadlines[i])
        wrong_time++;
    last_when = deadlines[i];
    count100k++;
}

START_TEST(test_100k_timers)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    unsigned seed = 12345;
    for (int i = 0; i < 100000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t ns = (int64_t)((seed >> 8) % 1000000) * 1000; /* up to 1 s, in us steps */
        coro_aio_handle *h;
        ck_assert_int_eq(coro_aio_call_at(L, (double)ns / 1e9, fire100k, (void *)(intptr_t)i, &h),
                         CORO_OK);
        deadlines[i] = (int64_t)(coro_aio_handle_when(h) * 1e9 + 0.5);
        coro_aio_handle_release(h);
    }
    ck_assert_int_eq(coro_aio_call_at(L, 2.0, stop, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_int_eq(count100k, 100000);
    ck_assert_int_eq(out_of_order, 0);
    ck_assert_int_eq(wrong_time, 0);
    ck_assert(coro_aio_time(L) == 2.0);
    coro_aio_loop_close(L);
}
END_TEST

static void *poke(void *arg)
{
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    coro_aio_call_soon_threadsafe(arg, stop, NULL);
    return NULL;
}

/* A loop with nothing to do waits in the poller; call_soon_threadsafe from
 * another thread wakes it and its callback runs. */
START_TEST(test_threadsafe_wakes)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, poke, L), 0);
    int64_t t0 = mono_ns();
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    pthread_join(th, NULL);
    ck_assert_str_eq(tr.buf, "stop");
    ck_assert_int_ge(mono_ns() - t0, 15000000);
    coro_aio_loop_close(L);
}
END_TEST

static void *many_pokes(void *arg)
{
    for (int i = 0; i < 1000; i++)
        coro_aio_call_soon_threadsafe(arg, cb_int, (void *)(intptr_t)1);
    return NULL;
}

static int ts_count;

static void count_cb(void *arg)
{
    (void)arg;
    if (++ts_count == 4000)
        coro_aio_stop(L);
}

static void *many_counts(void *arg)
{
    for (int i = 0; i < 1000; i++)
        coro_aio_call_soon_threadsafe(arg, count_cb, NULL);
    return NULL;
}

/* Four threads, 1000 calls each: every one runs once, on the loop's thread. */
START_TEST(test_threadsafe_many)
{
    (void)many_pokes;
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, many_counts, L), 0);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(ts_count, 4000);
    coro_aio_loop_close(L);
}
END_TEST

/* Errors: NULL arguments, a closed loop, closing a running loop; handles
 * and loops left with work are freed by close (the leak checkers see it). */
static void try_close(void *arg)
{
    (void)arg;
    tr_add(&tr, "close=%s", coro_err_name(coro_aio_loop_close(L)));
    tr_add(&tr, "run=%s", coro_err_name(coro_aio_run_forever(L)));
    coro_aio_stop(L);
}

START_TEST(test_errors)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_call_soon(NULL, cb, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_call_soon(L, NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_call_later(L, NAN, cb, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_call_soon(L, try_close, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "close=ERUNNING; run=ERUNNING");
    ck_assert_ptr_null(coro_aio_get_running_loop());
    coro_aio_handle *keep;
    ck_assert_int_eq(coro_aio_call_later(L, 10, cb, "never", &keep), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(L, cb, "never", NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    ck_assert(coro_aio_is_closed(L));
    ck_assert_int_eq(coro_aio_call_soon(L, cb, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "call_soon: Event loop is closed");
    ck_assert_int_eq(coro_aio_call_soon_threadsafe(L, cb, NULL), CORO_EINVAL);
    coro_aio_handle_cancel(keep);
    coro_aio_handle_release(keep); /* the last reference frees the loop too */
    ck_assert_str_eq(tr.buf, "close=ERUNNING; run=ERUNNING");
}
END_TEST

/* loop.stop() before run_forever: one iteration runs, then it returns. */
START_TEST(test_stop_before_run)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_call_soon(L, cb, "one", NULL);
    coro_aio_call_soon(L, lam1, NULL, NULL);
    coro_aio_stop(L);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "one");
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "one; stop");
    coro_aio_loop_close(L);
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
}

int main(void)
{
    Suite *s = suite_create("aio_loop");
    TCase *tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_iteration_order);
    tcase_add_test(tc, test_equal_deadlines_heapq_order);
    tcase_add_test(tc, test_timers_never_early);
    tcase_add_test(tc, test_cancelled_timers);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_stop_before_run);
    suite_add_tcase(s, tc);
    /* Its own case: under Valgrind it needs more than the default timeout. */
    TCase *big = tcase_create("scale");
    tcase_set_timeout(big, 110);
    tcase_add_checked_fixture(big, setup, NULL);
    tcase_add_test(big, test_100k_timers);
    suite_add_tcase(s, big);
    TCase *th = tcase_create("threadsafe");
    tcase_add_checked_fixture(th, setup, NULL);
    tcase_add_test(th, test_threadsafe_wakes);
    tcase_add_test(th, test_threadsafe_many);
    suite_add_tcase(s, th);
    return run_suite(s);
}
