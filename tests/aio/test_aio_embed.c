/* test_aio_embed.c - a loop driven from a plain poll() loop: loop_fd, loop_timeout, run_once.
 * SPDX-License-Identifier: MIT
 *
 * The host loop polls coro_aio_loop_fd for at most coro_aio_loop_timeout
 * and calls coro_aio_run_once, nothing else. When the descriptor failed to
 * wake it, the test would hang and Check's timeout would fail it; the host
 * also counts its turns, so a host that spins instead of sleeping fails too.
 */
#include "aio_util.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The host: runs until *done, returns how many turns it took. */
static int host_run(coro_aio_loop *loop, const bool *done)
{
    int turns = 0;
    int fd = coro_aio_loop_fd(loop);
    while (!*done && turns < 100000) {
        double t = coro_aio_loop_timeout(loop);
        int ms = t == CORO_AIO_NO_TIMEOUT ? -1 : (int)ceil(t * 1000.0);
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, ms);
        if (n < 0 && errno != EINTR)
            break;
        coro_aio_run_once(loop);
        turns++;
    }
    return turns;
}

/* ------------------------------------------------------------------------ */
/* A poll() loop drives sleeps, a socketpair and a threadsafe call          */
/* ------------------------------------------------------------------------ */

static int sv[2];
static bool main_done;
static coro_aio_loop *L;

static coro_aio_future *ts_fut;

static void ts_cb(void *arg)
{
    (void)arg;
    tr_add(&tr, "threadsafe call");
    coro_aio_future_set_result(ts_fut, NULL);
}

static void *caller(void *arg)
{
    (void)arg;
    sleep_ms(30); /* the host is asleep in poll() with no timer by now */
    coro_aio_call_soon_threadsafe(L, ts_cb, NULL);
    return NULL;
}

static void *writer_task(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_sleep(0.02);
    tr_add(&tr, "writer writes");
    ssize_t n = write(sv[1], "ping", 4);
    (void)n;
    return NULL;
}

static void *host_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    tr_add(&tr, "main running loop %d", coro_aio_get_running_loop() == L);
    double t0 = coro_aio_time(L);
    coro_aio_sleep(0.01);
    tr_add(&tr, "slept %d", coro_aio_time(L) - t0 >= 0.01);
    coro_aio_future *w = coro_aio_create_task(L, writer_task, NULL, NULL);
    int rc = coro_aio_wait_readable(sv[0], 5.0);
    char buf[8] = {0};
    ssize_t n = read(sv[0], buf, sizeof buf - 1);
    tr_add(&tr, "readable rc %d read %s", rc, n > 0 ? buf : "?");
    coro_aio_await(w, NULL);
    coro_aio_future_release(w);
    ts_fut = coro_aio_future_new(L);
    pthread_t th;
    pthread_create(&th, NULL, caller, NULL);
    rc = coro_aio_await(ts_fut, NULL);
    tr_add(&tr, "woken rc %d", rc);
    pthread_join(th, NULL);
    coro_aio_future_release(ts_fut);
    main_done = true;
    return NULL;
}

START_TEST(test_poll_host)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_future *m = coro_aio_create_task(L, host_main, NULL, NULL);
    main_done = false;
    int turns = host_run(L, &main_done);
    ck_assert_str_eq(tr.buf, "main running loop 1; slept 1; writer writes; readable rc 0 "
                             "read ping; threadsafe call; woken rc 0");
    /* Every wait was a sleep in poll(): a handful of turns per event. */
    ck_assert_msg(turns > 5 && turns < 100, "turns %d", turns);
    ck_assert(coro_aio_future_done(m));
    ck_assert(!coro_aio_is_running(L));
    ck_assert_ptr_null(coro_aio_get_running_loop());
    coro_aio_future_release(m);
    coro_aio_close_fd(L, sv[0]);
    close(sv[1]);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/* A signal wakes a host that waits with no timeout. */
static bool sig_done;

static void on_usr1(int signum, void *arg)
{
    (void)arg;
    tr_add(&tr, "signal %d", signum);
    sig_done = true;
}

static void *killer(void *arg)
{
    (void)arg;
    sleep_ms(20);
    kill(getpid(), SIGUSR1);
    return NULL;
}

START_TEST(test_signal_wakes_host)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(L, SIGUSR1, on_usr1, NULL), CORO_OK);
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, killer, NULL), 0);
    sig_done = false;
    int turns = host_run(L, &sig_done);
    pthread_join(th, NULL);
    ck_assert_str_eq(tr.buf, "signal 10");
    ck_assert_msg(turns >= 1 && turns <= 3, "turns %d", turns);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The timeout                                                              */
/* ------------------------------------------------------------------------ */

static void cb_log(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

START_TEST(test_timeout_values)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    coro_aio_handle *h = NULL;
    ck_assert_int_eq(coro_aio_call_later(L, 0.5, cb_log, "timer", &h), CORO_OK);
    double t = coro_aio_loop_timeout(L);
    ck_assert_msg(t > 0.3 && t <= 0.5, "timeout %f", t);
    ck_assert_int_eq(coro_aio_call_soon(L, cb_log, "soon", NULL), CORO_OK);
    ck_assert(coro_aio_loop_timeout(L) == 0.0);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "soon");
    t = coro_aio_loop_timeout(L);
    ck_assert_msg(t > 0.3 && t <= 0.5, "timeout %f", t);
    /* A threadsafe call waiting: the loop must run. */
    ck_assert_int_eq(coro_aio_call_soon_threadsafe(L, cb_log, "ts"), CORO_OK);
    ck_assert(coro_aio_loop_timeout(L) == 0.0);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "soon; ts");
    /* A cancelled timer: at worst an early, empty turn; then none left. */
    coro_aio_handle_cancel(h);
    coro_aio_handle_release(h);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    coro_aio_stop(L);
    ck_assert(coro_aio_loop_timeout(L) == 0.0);
    ck_assert_int_eq(coro_aio_run_once(L), 1); /* the stop, consumed */
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "soon; ts");
}
END_TEST

/* The virtual clock: a timer is due at once; run_once jumps to it. */
START_TEST(test_timeout_virtual_clock)
{
    L = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    ck_assert_int_eq(coro_aio_call_later(L, 5.0, cb_log, "five", NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_later(L, 2.0, cb_log, "two", NULL), CORO_OK);
    ck_assert(coro_aio_loop_timeout(L) == 0.0);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "two");
    ck_assert(coro_aio_time(L) == 2.0);
    ck_assert(coro_aio_loop_timeout(L) == 0.0);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "two; five");
    ck_assert(coro_aio_time(L) == 5.0);
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* run_once                                                                 */
/* ------------------------------------------------------------------------ */

static void cb_chain(void *arg)
{
    tr_add(&tr, "A (running %d)", coro_aio_get_running_loop() == arg && coro_aio_is_running(arg));
    coro_aio_call_soon(arg, cb_log, "B", NULL);
}

START_TEST(test_run_once_one_iteration)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_call_soon(L, cb_chain, L, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_later(L, 10.0, cb_log, "later", NULL), CORO_OK);
    double t0 = now_s();
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "A (running 1)"); /* B waits for the next one */
    ck_assert_ptr_null(coro_aio_get_running_loop());
    ck_assert(!coro_aio_is_running(L));
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_str_eq(tr.buf, "A (running 1); B");
    /* Nothing ready, a timer 10 s away: returns at once all the same. */
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_msg(now_s() - t0 < 2.0, "run_once blocked");
    ck_assert_str_eq(tr.buf, "A (running 1); B");
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/* A task driven by run_once steps as under run_until_complete. */
static void *stepper(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    for (int i = 0; i < 3; i++) {
        tr_add(&tr, "step %d", i);
        coro_aio_sleep(0);
    }
    return "done";
}

START_TEST(test_run_once_tasks)
{
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_future *t = coro_aio_create_task(L, stepper, NULL, NULL);
    int turns = 0;
    while (!coro_aio_future_done(t) && turns < 10) {
        ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
        tr_add(&tr, "turn");
        turns++;
    }
    ck_assert_str_eq(tr.buf, "step 0; turn; step 1; turn; step 2; turn; turn");
    void *v = NULL;
    ck_assert_int_eq(coro_aio_future_result(t, &v, NULL), CORO_OK);
    ck_assert_str_eq((const char *)v, "done");
    coro_aio_future_release(t);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

static int nested_rc[2];
static char nested_msg[2][128];

static void cb_nested(void *arg)
{
    coro_aio_loop *other = arg;
    nested_rc[0] = coro_aio_run_once(L);
    snprintf(nested_msg[0], sizeof nested_msg[0], "%s", coro_aio_last_error());
    nested_rc[1] = coro_aio_run_once(other);
    snprintf(nested_msg[1], sizeof nested_msg[1], "%s", coro_aio_last_error());
}

START_TEST(test_run_once_errors)
{
    ck_assert_int_eq(coro_aio_run_once(NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "run_once: loop is NULL");
    ck_assert_int_eq(coro_aio_loop_fd(NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "loop_fd: loop is NULL");
    ck_assert(coro_aio_loop_timeout(NULL) < 0);
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_loop *other = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_ge(coro_aio_loop_fd(L), 0);
    ck_assert_int_ne(coro_aio_loop_fd(L), coro_aio_loop_fd(other));
    ck_assert_int_eq(coro_aio_call_soon(L, cb_nested, other, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_int_eq(nested_rc[0], CORO_ERUNNING);
    ck_assert_str_eq(nested_msg[0], "run_once: This event loop is already running");
    ck_assert_int_eq(nested_rc[1], CORO_ERUNNING);
    ck_assert_str_eq(nested_msg[1],
                     "run_once: Cannot run the event loop while another loop is running");
    /* Inside run_forever too. */
    ck_assert_int_eq(coro_aio_call_soon(L, cb_nested, other, NULL), CORO_OK);
    coro_aio_stop(L);
    ck_assert_int_eq(coro_aio_run_forever(L), CORO_OK);
    ck_assert_int_eq(nested_rc[0], CORO_ERUNNING);
    ck_assert_int_eq(coro_aio_loop_close(other), CORO_OK);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

/* The descriptor reports a task's descriptor becoming ready without a
 * run_once in between. */
static void *reader_task(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int rc = coro_aio_wait_readable(sv[0], CORO_AIO_NO_TIMEOUT);
    tr_add(&tr, "reader rc %d", rc);
    return NULL;
}

START_TEST(test_fd_reports_io)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    L = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    coro_aio_future *t = coro_aio_create_task(L, reader_task, NULL, NULL);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK); /* the task waits on sv[0] */
    ck_assert(coro_aio_loop_timeout(L) == CORO_AIO_NO_TIMEOUT);
    struct pollfd p = {coro_aio_loop_fd(L), POLLIN, 0};
    /* Registering sv[0] (both directions, edge-triggered) reports it
     * writable once: the descriptor shows that event until a turn takes it. */
    ck_assert_int_eq(poll(&p, 1, 0), 1);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK);
    ck_assert_int_eq(poll(&p, 1, 0), 0); /* nothing now */
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK); /* the event resolves the wait */
    ck_assert_int_eq(coro_aio_run_once(L), CORO_OK); /* the task resumes */
    ck_assert_str_eq(tr.buf, "reader rc 0");
    ck_assert(coro_aio_future_done(t));
    ck_assert_int_eq(poll(&p, 1, 0), 0); /* consumed */
    coro_aio_future_release(t);
    coro_aio_close_fd(L, sv[0]);
    close(sv[1]);
    ck_assert_int_eq(coro_aio_loop_close(L), CORO_OK);
}
END_TEST

static void setup(void) { tr_reset(&tr); }

int main(void)
{
    Suite *s = suite_create("aio_embed");
    TCase *tc = tcase_create("embed");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_poll_host);
    tcase_add_test(tc, test_signal_wakes_host);
    tcase_add_test(tc, test_timeout_values);
    tcase_add_test(tc, test_timeout_virtual_clock);
    tcase_add_test(tc, test_run_once_one_iteration);
    tcase_add_test(tc, test_run_once_tasks);
    tcase_add_test(tc, test_run_once_errors);
    tcase_add_test(tc, test_fd_reports_io);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
