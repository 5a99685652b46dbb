/* test_aio_signal.c - add_signal_handler / remove_signal_handler, and SIGINT under coro_aio_run.
 * SPDX-License-Identifier: MIT
 *
 * Each Check test runs in its own process (fork mode), so the dispositions a
 * test changes do not leak into the next. The second-SIGINT test forks once
 * more and checks that the child died of SIGINT.
 */
#include "aio_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* True when signum's disposition is h (SIG_DFL, SIG_IGN or a handler). */
static bool is_handler(int signum, void (*h)(int))
{
    struct sigaction cur;
    sigaction(signum, NULL, &cur);
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == h;
}

static void on_sig(int signum, void *arg)
{
    tr_add(&tr, "handler %d %s (running loop %d)", signum, (const char *)arg,
           coro_aio_get_running_loop() != NULL);
}

/* ------------------------------------------------------------------------ */
/* Delivery                                                                 */
/* ------------------------------------------------------------------------ */

static void *raise_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_add_signal_handler(loop, SIGUSR1, on_sig, "a");
    tr_add(&tr, "raise");
    raise(SIGUSR1);
    tr_add(&tr, "after raise"); /* the handler has not run: it is a callback */
    coro_aio_sleep(0);
    tr_add(&tr, "after sleep(0)");
    coro_aio_sleep(0);
    tr_add(&tr, "end");
    return NULL;
}

START_TEST(test_raise_runs_as_callback)
{
    ck_assert_int_eq(coro_aio_run(raise_main, NULL, NULL, NULL, NULL), CORO_OK);
    /* The delivery is read at the start of the next iteration and queued
     * after the task's step, as asyncio's self-pipe reading queues it. */
    ck_assert_str_eq(tr.buf, "raise; after raise; after sleep(0); handler 10 a (running loop 1); "
                             "end");
    ck_assert(is_handler(SIGUSR1, SIG_DFL)); /* put back at close */
}
END_TEST

/* Ordering inside one iteration: a signal raised in a callback runs after
 * the callbacks already ready (asyncio reads its self-pipe in the next
 * iteration's select, then appends the handler to _ready). */
static void cb_log(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static void cb_raise(void *arg)
{
    coro_aio_loop *loop = arg;
    tr_add(&tr, "X raises");
    coro_aio_call_soon(loop, cb_log, "A", NULL);
    raise(SIGUSR2);
    coro_aio_call_soon(loop, cb_log, "B", NULL);
}

static void cb_stop(void *arg) { coro_aio_stop(arg); }

START_TEST(test_callback_ordering)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR2, on_sig, "s"), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(loop, cb_raise, loop, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_soon(loop, cb_log, "Y", NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_call_later(loop, 0.05, cb_stop, loop, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    ck_assert_str_eq(tr.buf, "X raises; Y; A; B; handler 12 s (running loop 1)");
    /* A delivery while the loop is not running waits for it. */
    tr_reset(&tr);
    raise(SIGUSR2);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_aio_call_soon(loop, cb_stop, loop, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    ck_assert_str_eq(tr.buf, "handler 12 s (running loop 1)");
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
}
END_TEST

/* kill() from another thread wakes a loop that waits without a timer. */
static void *killer(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR1);
    return NULL;
}

static coro_aio_future *kill_fut;

static void on_sig_done(int signum, void *arg)
{
    (void)arg;
    tr_add(&tr, "handler %d", signum);
    if (!coro_aio_future_done(kill_fut))
        coro_aio_future_set_result(kill_fut, (void *)(intptr_t)signum);
}

static void *kill_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    kill_fut = coro_aio_future_new(loop);
    coro_aio_add_signal_handler(loop, SIGUSR1, on_sig_done, NULL);
    pthread_t th;
    pthread_create(&th, NULL, killer, NULL);
    void *v = NULL;
    int rc = coro_aio_wait_for(kill_fut, 10.0, &v); /* the loop blocks in its poll */
    tr_add(&tr, "woke rc %d sig %d", rc, (int)(intptr_t)v);
    pthread_join(th, NULL);
    coro_aio_future_release(kill_fut);
    return NULL;
}

START_TEST(test_kill_from_thread)
{
    ck_assert_int_eq(coro_aio_run(kill_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "handler 10; woke rc 0 sig 10");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Add, replace, remove                                                     */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t plain_hits;

static void plain_handler(int signum)
{
    (void)signum;
    plain_hits++;
}

static void run_one_iteration(coro_aio_loop *loop)
{
    coro_aio_call_soon(loop, cb_stop, loop, NULL);
    coro_aio_run_forever(loop);
    coro_aio_call_soon(loop, cb_stop, loop, NULL);
    coro_aio_run_forever(loop);
}

START_TEST(test_remove_restores_previous)
{
    signal(SIGUSR1, plain_handler);
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert(!coro_aio_remove_signal_handler(loop, SIGUSR1)); /* none yet */
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR1, on_sig, "one"), CORO_OK);
    ck_assert(!is_handler(SIGUSR1, plain_handler));
    raise(SIGUSR1);
    run_one_iteration(loop);
    ck_assert_int_eq(plain_hits, 0);
    ck_assert(coro_aio_remove_signal_handler(loop, SIGUSR1));
    ck_assert(!coro_aio_remove_signal_handler(loop, SIGUSR1)); /* gone */
    ck_assert(is_handler(SIGUSR1, plain_handler));
    raise(SIGUSR1);
    ck_assert_int_eq(plain_hits, 1);
    run_one_iteration(loop);
    ck_assert_str_eq(tr.buf, "handler 10 one (running loop 1)");
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
}
END_TEST

START_TEST(test_replace_handler)
{
    signal(SIGUSR2, SIG_IGN);
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR2, on_sig, "first"), CORO_OK);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR2, on_sig, "second"), CORO_OK);
    raise(SIGUSR2);
    run_one_iteration(loop);
    ck_assert_str_eq(tr.buf, "handler 12 second (running loop 1)");
    /* A delivery not yet run when its handler goes is dropped. */
    raise(SIGUSR2);
    ck_assert(coro_aio_remove_signal_handler(loop, SIGUSR2));
    run_one_iteration(loop);
    ck_assert_str_eq(tr.buf, "handler 12 second (running loop 1)");
    /* The disposition from before the first add is back, not the second's. */
    ck_assert(is_handler(SIGUSR2, SIG_IGN));
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
}
END_TEST

START_TEST(test_close_restores)
{
    signal(SIGUSR1, SIG_IGN);
    signal(SIGHUP, plain_handler);
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR1, on_sig, "x"), CORO_OK);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGHUP, on_sig, "y"), CORO_OK);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGRTMIN + 1, on_sig, "rt"), CORO_OK);
    raise(SIGRTMIN + 1);
    raise(SIGHUP);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK); /* pending deliveries dropped */
    ck_assert(is_handler(SIGUSR1, SIG_IGN));
    ck_assert(is_handler(SIGHUP, plain_handler));
    ck_assert(is_handler(SIGRTMIN + 1, SIG_DFL));
    ck_assert_str_eq(tr.buf, "");
    /* A second loop may take the signals now. */
    loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGHUP, on_sig, "z"), CORO_OK);
    raise(SIGHUP);
    run_one_iteration(loop);
    ck_assert_str_eq(tr.buf, "handler 1 z (running loop 1)");
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    ck_assert_int_eq(plain_hits, 0);
}
END_TEST

START_TEST(test_errors)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    static const struct {
        int signum;
        const char *msg;
    } cases[] = {
        {SIGKILL, "add_signal_handler: sig 9 cannot be caught"},
        {SIGSTOP, "add_signal_handler: sig 19 cannot be caught"},
        {0, "add_signal_handler: invalid signal number 0"},
        {-1, "add_signal_handler: invalid signal number -1"},
        {NSIG, "add_signal_handler: invalid signal number 65"},
        {32, "add_signal_handler: invalid signal number 32"}, /* glibc's own */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(coro_aio_add_signal_handler(loop, cases[i].signum, on_sig, NULL),
                         CORO_EINVAL);
        ck_assert_str_eq(coro_aio_last_error(), cases[i].msg);
    }
    ck_assert(!coro_aio_remove_signal_handler(loop, 0));
    ck_assert_str_eq(coro_aio_last_error(), "remove_signal_handler: invalid signal number 0");
    ck_assert(!coro_aio_remove_signal_handler(loop, SIGKILL)); /* never added */
    ck_assert(!coro_aio_remove_signal_handler(NULL, SIGUSR1));
    ck_assert_int_eq(coro_aio_add_signal_handler(NULL, SIGUSR1, on_sig, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR1, NULL, NULL), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(), "add_signal_handler: loop and fn are required");
    ck_assert(is_handler(SIGUSR1, SIG_DFL)); /* untouched */
    /* One loop at a time per signal. */
    coro_aio_loop *other = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_add_signal_handler(loop, SIGUSR1, on_sig, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_add_signal_handler(other, SIGUSR1, on_sig, NULL), CORO_EBUSY);
    ck_assert_str_eq(coro_aio_last_error(), "add_signal_handler: signal 10 is handled by another "
                                            "loop; remove it there first");
    ck_assert(!coro_aio_remove_signal_handler(other, SIGUSR1)); /* not other's */
    ck_assert_int_eq(coro_aio_loop_close(other), CORO_OK);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    ck_assert(is_handler(SIGUSR1, SIG_DFL));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* SIGINT under coro_aio_run (asyncio.Runner)                               */
/* ------------------------------------------------------------------------ */

static void *sigint_main(coro *self, void *arg)
{
    const char *mode = arg;
    tr_add(&tr, "main: SIGINT %s", is_handler(SIGINT, SIG_DFL) ? "default" : "taken");
    raise(SIGINT);
    int rc = coro_aio_sleep(3600);
    tr_add(&tr, "main: sleep rc %d %s", rc, rc == CORO_THROWN ? exc_str(coro_exception(self)) : "");
    if (rc == CORO_THROWN && strcmp(mode, "catch") == 0)
        return "caught";
    if (rc == CORO_THROWN && strcmp(mode, "uncancel") == 0) {
        /* Takes the request back, then is cancelled by something else. */
        coro_aio_task_uncancel(coro_aio_current_task(coro_aio_get_running_loop()));
        coro_aio_future_cancel(coro_aio_current_task(coro_aio_get_running_loop()), NULL);
        coro_aio_future_cancel(coro_aio_current_task(coro_aio_get_running_loop()), NULL);
        coro_aio_sleep(0);
    }
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return "slept";
}

START_TEST(test_sigint_cancels_main)
{
    static const struct {
        const char *mode;
        int rc;
        const char *exc, *result, *transcript;
    } cases[] = {
        {"raise", CORO_RAISED, "KeyboardInterrupt", NULL,
         "main: SIGINT taken; main: sleep rc 4 CancelledError"},
        {"catch", CORO_OK, NULL, "caught", "main: SIGINT taken; main: sleep rc 4 CancelledError"},
        /* Cancelled again after uncancel: the count is not back to 0, so the
         * CancelledError stays (Runner.run's uncancel() == 0 rule). */
        {"uncancel", CORO_RAISED, "CancelledError", NULL,
         "main: SIGINT taken; main: sleep rc 4 CancelledError"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        coro_exc e = {0};
        void *res = NULL;
        ck_assert_int_eq(coro_aio_run(sigint_main, (void *)cases[i].mode, NULL, &res, &e),
                         cases[i].rc);
        ck_assert_str_eq(tr.buf, cases[i].transcript);
        if (cases[i].exc != NULL) {
            ck_assert_str_eq(exc_str(&e), cases[i].exc);
        } else
            ck_assert_str_eq((const char *)res, cases[i].result);
        ck_assert(is_handler(SIGINT, SIG_DFL));
    }
}
END_TEST

START_TEST(test_keyboard_interrupt_type)
{
    coro_exc e = {0};
    tr_reset(&tr);
    ck_assert_int_eq(coro_aio_run(sigint_main, "raise", NULL, NULL, &e), CORO_RAISED);
    ck_assert_ptr_eq(e.type, &coro_aio_KeyboardInterrupt);
    ck_assert_ptr_eq(e.context, &coro_aio_CancelledError);
    ck_assert(coro_exc_matches(e.type, &coro_BaseException));
    ck_assert(!coro_exc_matches(e.type, &coro_Exception));
    ck_assert_str_eq(e.message, "");
}
END_TEST

/* SIGINT not at its default: coro_aio_run leaves it alone. */
static void *ignored_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    tr_add(&tr, "SIGINT %s", is_handler(SIGINT, SIG_IGN) ? "ignored" : "changed");
    raise(SIGINT);
    coro_aio_sleep(0);
    coro_aio_sleep(0);
    tr_add(&tr, "not cancelled");
    return NULL;
}

START_TEST(test_sigint_not_default)
{
    signal(SIGINT, SIG_IGN);
    ck_assert_int_eq(coro_aio_run(ignored_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "SIGINT ignored; not cancelled");
    ck_assert(is_handler(SIGINT, SIG_IGN));
}
END_TEST

/* Not on the main thread: no handler either. */
static void *probe_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    tr_add(&tr, "SIGINT %s", is_handler(SIGINT, SIG_DFL) ? "default" : "taken");
    return NULL;
}

static void *run_on_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)coro_aio_run(probe_main, NULL, NULL, NULL, NULL);
}

START_TEST(test_sigint_other_thread)
{
    pthread_t th;
    void *rc = NULL;
    ck_assert_int_eq(pthread_create(&th, NULL, run_on_thread, NULL), 0);
    pthread_join(th, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, CORO_OK);
    ck_assert_str_eq(tr.buf, "SIGINT default");
    ck_assert_int_eq(coro_aio_run(probe_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "SIGINT default; SIGINT taken");
}
END_TEST

/* The second SIGINT interrupts the process, even with a loop that does not
 * get to run its callbacks (main catches the first cancellation and keeps
 * busy without awaiting). */
static void *stubborn_main(coro *self, void *arg)
{
    (void)arg;
    raise(SIGINT);
    if (coro_aio_sleep(3600) == CORO_THROWN) {
        raise(SIGINT); /* the second: no return from here */
        coro_aio_sleep(3600);
    }
    (void)self;
    _exit(3); /* not reached */
}

START_TEST(test_second_sigint_kills)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        coro_aio_run(stubborn_main, NULL, NULL, NULL, NULL);
        _exit(4);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %#x", status);
}
END_TEST

/* A first SIGINT when main is already done (its callback runs after main
 * finished in the same iteration) interrupts the process too. */
static void *late_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    raise(SIGINT); /* the callback runs in the next iteration; main is done by then */
    return NULL;
}

START_TEST(test_sigint_after_main_done)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int rc = coro_aio_run(late_main, NULL, NULL, NULL, NULL);
        _exit(rc == CORO_OK ? 0 : 5);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "status %#x", status);
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
    plain_hits = 0;
    /* Check's fork mode leaves its own SIGINT handler in the test process;
     * start every test from the default, as a fresh program does. */
    signal(SIGINT, SIG_DFL);
}

int main(void)
{
    Suite *s = suite_create("aio_signal");
    TCase *tc = tcase_create("handlers");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_raise_runs_as_callback);
    tcase_add_test(tc, test_callback_ordering);
    tcase_add_test(tc, test_kill_from_thread);
    tcase_add_test(tc, test_remove_restores_previous);
    tcase_add_test(tc, test_replace_handler);
    tcase_add_test(tc, test_close_restores);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    TCase *rc = tcase_create("runner");
    tcase_add_checked_fixture(rc, setup, NULL);
    tcase_add_test(rc, test_sigint_cancels_main);
    tcase_add_test(rc, test_keyboard_interrupt_type);
    tcase_add_test(rc, test_sigint_not_default);
    tcase_add_test(rc, test_sigint_other_thread);
    tcase_add_test(rc, test_second_sigint_kills);
    tcase_add_test(rc, test_sigint_after_main_done);
    suite_add_tcase(s, rc);
    return run_suite(s);
}
