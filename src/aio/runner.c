/* runner.c - asyncio.run: a loop for one main task, then an orderly shutdown.
 * SPDX-License-Identifier: MIT
 *
 * As asyncio.Runner in 3.11: run the main task to completion; then cancel
 * every task left and wait for all of them (gather with
 * return_exceptions=True), report those that ended with an exception other
 * than CancelledError; run shutdown_asyncgens and shutdown_default_executor
 * (two tasks that finish at once: they take their iterations and their
 * Task-N numbers, as in Python); close the loop.
 *
 * SIGINT, as Runner.run does it: on the main thread, when SIGINT has its
 * default disposition, a handler (signals.c, with the runner's interrupt
 * flag) is installed for the run of main only. The first SIGINT cancels main
 * from a loop callback (Runner._on_sigint); the loop was woken by the
 * delivery itself. A second one is handled in signal context: the default
 * disposition comes back and the signal is raised again, so the process is
 * interrupted even if the loop never gets to run a callback. When main ends
 * cancelled after a SIGINT and uncancel() brings its count to 0, the
 * CancelledError becomes KeyboardInterrupt.
 */
#include "aio_int.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

const coro_exc_type coro_aio_KeyboardInterrupt = {"KeyboardInterrupt", &coro_BaseException};

/* The part of gather(*tasks, return_exceptions=True) the shutdown needs: the
 * outer future finishes when the last child does, from the child's done
 * callback, exactly when gather's would. */
typedef struct wait_all {
    coro_aio_future *outer;
    size_t left;
} wait_all;

static void wait_all_cb(coro_aio_future *child, void *arg)
{
    (void)child;
    wait_all *w = arg;
    if (--w->left == 0 && !coro_aio_future_done(w->outer))
        coro_aio_future_set_result(w->outer, NULL);
}

static void *noop_body(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    return NULL;
}

static void cancel_all_tasks(coro_aio_loop *loop)
{
    size_t n = coro_aio_all_tasks(loop, NULL, 0);
    if (n == 0)
        return;
    coro_aio_future **tasks = coro__aio_malloc(n * sizeof *tasks);
    coro_aio_future *outer = coro_aio_future_new(loop);
    if (tasks == NULL || outer == NULL) {
        free(tasks);
        coro_aio_future_release(outer);
        return;
    }
    coro_aio_all_tasks(loop, tasks, n);
    for (size_t i = 0; i < n; i++)
        coro_aio_future_ref(tasks[i]);
    for (size_t i = 0; i < n; i++)
        coro_aio_future_cancel(tasks[i], NULL);
    wait_all w = {outer, n};
    for (size_t i = 0; i < n; i++)
        coro_aio_future_add_done_callback(tasks[i], wait_all_cb, &w);
    coro_aio_run_until_complete(loop, outer, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        coro_aio_future_remove_done_callback(tasks[i], wait_all_cb, &w);
        coro_exc e;
        if (coro_aio_future_done(tasks[i]) && !coro_aio_future_cancelled(tasks[i]) &&
            coro_aio_future_exception(tasks[i], &e) == CORO_OK && e.type != NULL)
            coro__aio_report(loop, "unhandled exception during asyncio.run() shutdown", &e, NULL,
                             tasks[i]);
        coro_aio_future_release(tasks[i]);
    }
    coro_aio_future_release(outer);
    free(tasks);
}

static void run_noop_task(coro_aio_loop *loop)
{
    coro_aio_future *t = coro_aio_create_task(loop, noop_body, NULL, NULL);
    if (t == NULL)
        return;
    coro_aio_run_until_complete(loop, t, NULL, NULL);
    coro_aio_future_release(t);
}

typedef struct runner {
    coro_aio_loop *loop;
    coro_aio_future *task;
    int interrupts; /* Runner._interrupt_count */
} runner;

/* Runner._on_sigint, run as a loop callback. */
static void on_sigint(int signum, void *arg)
{
    runner *r = arg;
    r->interrupts++;
    if (r->interrupts == 1 && !coro_aio_future_done(r->task)) {
        coro_aio_future_cancel(r->task, NULL);
        return;
    }
    /* Python raises KeyboardInterrupt here; in C the process is interrupted
     * as SIGINT's default disposition does. */
    coro_aio_remove_signal_handler(r->loop, signum);
    signal(signum, SIG_DFL);
    raise(signum);
}

/* On the main thread with SIGINT at its default disposition (Python: the
 * handler is still signal.default_int_handler). */
static bool sigint_is_ours_to_take(void)
{
    if ((pid_t)syscall(SYS_gettid) != getpid())
        return false;
    struct sigaction cur;
    if (sigaction(SIGINT, NULL, &cur) != 0)
        return false;
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL;
}

int coro_aio_run(coro_fn main, void *arg, const coro_aio_loop_options *opt, void **result,
                 coro_exc *exc)
{
    if (coro__aio_running != NULL)
        return coro__aio_fail(CORO_ERUNNING,
                              "run: asyncio.run() cannot be called from a running event loop");
    if (main == NULL)
        return coro__aio_fail(CORO_EINVAL, "run: main is required");
    coro_aio_loop *loop;
    int rc = coro_aio_loop_new(&loop, opt);
    if (rc < 0)
        return rc;
    coro_aio_future *task = coro_aio_create_task(loop, main, arg, NULL);
    if (task == NULL) {
        coro_aio_loop_close(loop);
        return CORO_ENOMEM;
    }
    runner r = {loop, task, 0};
    bool sigint = sigint_is_ours_to_take() &&
                  coro__aio_signals_interrupt(loop, SIGINT, on_sigint, &r) == CORO_OK;
    coro_exc e;
    rc = coro_aio_run_until_complete(loop, task, result, &e);
    if (rc == CORO_RAISED && r.interrupts > 0 &&
        coro_exc_matches(e.type, &coro_aio_CancelledError) && coro_aio_task_uncancel(task) == 0) {
        coro_exc_set(&e, &coro_aio_KeyboardInterrupt, "");
        e.context = &coro_aio_CancelledError; /* raised while handling it */
    }
    if (sigint && coro__aio_signals_owned_by(loop, SIGINT, on_sigint, &r))
        coro_aio_remove_signal_handler(loop, SIGINT);
    if (rc == CORO_RAISED && exc != NULL)
        *exc = e;
    coro_aio_future_release(task);
    cancel_all_tasks(loop);
    run_noop_task(loop); /* shutdown_asyncgens() */
    run_noop_task(loop); /* shutdown_default_executor() */
    if (rc == CORO_RAISED && exc != NULL)
        coro__aio_egroup_detach(loop, exc); /* the caller owns it now */
    coro_aio_loop_close(loop);
    return rc;
}
