/* test_aio_fastpaths.c - what the loop's shortcuts must not change: lazy coroutines, requeued steps, names.
 * SPDX-License-Identifier: MIT
 *
 * The loop takes shortcuts for speed: a task's coroutine is made at its first
 * step, a bare yield (sleep(0)) queues the step handle that is running again,
 * Task-N names are formatted without snprintf or malloc, and the clock is
 * not read when no timer is scheduled. Each test is a Python 3.11 program
 * (in the comment above it) whose output the C version must reproduce.
 */
#include "aio_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    suite_add_tcase(s, tc);
    return run_suite(s);
}
