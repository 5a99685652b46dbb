/* runner.c - asyncio.run: a loop for one main task, then an orderly shutdown.
 * SPDX-License-Identifier: MIT
 *
 * As asyncio.Runner in 3.11: run the main task to completion; then cancel
 * every task left and wait for all of them (gather with
 * return_exceptions=True), report those that ended with an exception other
 * than CancelledError; run shutdown_asyncgens and shutdown_default_executor
 * (two tasks that finish at once: they take their iterations and their
 * Task-N numbers, as in Python); close the loop.
 */
#include "aio_int.h"

#include <stdlib.h>

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
    coro_aio_future **tasks = malloc(n * sizeof *tasks);
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
            coro__aio_report(loop, "unhandled exception during asyncio.run() shutdown", &e,
                             NULL, tasks[i]);
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
    rc = coro_aio_run_until_complete(loop, task, result, exc);
    coro_aio_future_release(task);
    cancel_all_tasks(loop);
    run_noop_task(loop); /* shutdown_asyncgens() */
    run_noop_task(loop); /* shutdown_default_executor() */
    if (rc == CORO_RAISED && exc != NULL)
        coro__aio_egroup_detach(loop, exc); /* the caller owns it now */
    coro_aio_loop_close(loop);
    return rc;
}
