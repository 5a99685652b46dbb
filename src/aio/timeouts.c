/* timeouts.c - timeout scopes (asyncio.timeout, timeout_at) and wait_for.
 * SPDX-License-Identifier: MIT
 *
 * A scope is asyncio.timeouts.Timeout of 3.11.7 run around a body with
 * coro_try: __aenter__ records the task and its cancelling() count and
 * schedules _on_timeout; _on_timeout cancels the task (state EXPIRING);
 * __aexit__ cancels the timer and, if it expired, takes its cancel request
 * back with uncancel() and turns the CancelledError leaving the body into
 * TimeoutError only when no newer request is left (uncancel() <= the count
 * at entry) and the exception's type is exactly CancelledError.
 *
 * The scope lives on the stack of the coroutine that runs it; its timer
 * handle is cancelled before the scope returns, so the timer never sees a
 * dead scope.
 */
#include "aio_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { TS_CREATED, TS_ENTERED, TS_EXPIRING, TS_EXPIRED, TS_EXITED };

static const char *const state_names[] = {"created", "active", "expiring", "expired",
                                          "finished"};

struct coro_aio_timeout_scope {
    int state;
    double when; /* CORO_AIO_NO_TIMEOUT for None */
    int cancelling;
    coro_aio_future *task;
    coro_aio_handle *handle;
    coro_aio_timeout_fn fn;
    void *arg;
};

static void on_timeout(void *arg)
{
    coro_aio_timeout_scope *ts = arg;
    coro_aio_future_cancel(ts->task, NULL);
    ts->state = TS_EXPIRING;
    coro_aio_handle_release(ts->handle);
    ts->handle = NULL;
}

static void drop_handle(coro_aio_timeout_scope *ts)
{
    if (ts->handle != NULL) {
        coro_aio_handle_cancel(ts->handle);
        coro_aio_handle_release(ts->handle);
        ts->handle = NULL;
    }
}

int coro_aio_timeout_reschedule(coro_aio_timeout_scope *ts, double when)
{
    if (ts == NULL || isnan(when))
        return coro__aio_fail(CORO_EINVAL, "timeout_reschedule: a scope and a deadline that is "
                                           "not NaN are required");
    if (ts->state != TS_ENTERED)
        return coro__aio_fail(CORO_EINVAL, "timeout_reschedule: RuntimeError: Cannot change "
                                           "state of %s Timeout", state_names[ts->state]);
    ts->when = when;
    drop_handle(ts);
    if (when == CORO_AIO_NO_TIMEOUT)
        return CORO_OK;
    coro_aio_loop *loop = ts->task->loop;
    int rc = when <= coro_aio_time(loop)
                 ? coro_aio_call_soon(loop, on_timeout, ts, &ts->handle)
                 : coro_aio_call_at(loop, when, on_timeout, ts, &ts->handle);
    return rc < 0 ? rc : CORO_OK;
}

double coro_aio_timeout_when(const coro_aio_timeout_scope *ts)
{
    return ts ? ts->when : CORO_AIO_NO_TIMEOUT;
}

bool coro_aio_timeout_expired(const coro_aio_timeout_scope *ts)
{
    return ts != NULL && (ts->state == TS_EXPIRING || ts->state == TS_EXPIRED);
}

char *coro_aio_timeout_repr(const coro_aio_timeout_scope *ts, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (ts == NULL)
        snprintf(buf, size, "None");
    else if (ts->state != TS_ENTERED)
        snprintf(buf, size, "<Timeout [%s]>", state_names[ts->state]);
    else if (ts->when == CORO_AIO_NO_TIMEOUT)
        snprintf(buf, size, "<Timeout [active] when=None>");
    else {
        /* repr(round(when, 3)): three decimals at most, at least one */
        char num[64];
        snprintf(num, sizeof num, "%.3f", round(ts->when * 1000) / 1000);
        size_t n = strlen(num);
        while (n > 0 && num[n - 1] == '0' && num[n - 2] != '.')
            num[--n] = '\0';
        snprintf(buf, size, "<Timeout [active] when=%s>", num);
    }
    return buf;
}

static void *scope_body(coro *self, void *arg)
{
    coro_aio_timeout_scope *ts = arg;
    return ts->fn(self, ts, ts->arg);
}

int coro_aio_timeout_at_run(double when, coro_aio_timeout_fn fn, void *arg, void **result,
                            bool *expired)
{
    coro *self = NULL;
    if (result != NULL)
        *result = NULL;
    if (fn == NULL || isnan(when))
        return coro__aio_fail(CORO_EINVAL, "timeout: a body and a deadline that is not NaN "
                                           "are required");
    int rc = coro__aio_self("timeout: RuntimeError: Timeout should be used inside a task", &self);
    if (rc < 0)
        return rc;
    coro_aio_timeout_scope ts = {TS_CREATED, when, 0, NULL, NULL, fn, arg};
    /* __aenter__ */
    ts.task = coro_aio_current_task(NULL);
    ts.state = TS_ENTERED;
    ts.cancelling = coro_aio_task_cancelling(ts.task);
    if ((rc = coro_aio_timeout_reschedule(&ts, when)) < 0)
        return rc;
    rc = coro_try(self, scope_body, &ts, result);
    /* __aexit__ */
    drop_handle(&ts);
    if (ts.state == TS_EXPIRING) {
        ts.state = TS_EXPIRED;
        if (coro_aio_task_uncancel(ts.task) <= ts.cancelling && rc == CORO_THROWN &&
            coro_exception(self)->type == &coro_aio_CancelledError) {
            coro_exc e;
            coro_exc_set(&e, &coro_aio_TimeoutError, "");
            e.cause = &coro_aio_CancelledError; /* raise TimeoutError from exc_val */
            rc = coro__aio_throw(self, &e);
        }
    } else if (ts.state == TS_ENTERED)
        ts.state = TS_EXITED;
    if (expired != NULL)
        *expired = ts.state == TS_EXPIRED;
    return rc;
}

int coro_aio_timeout_run(double delay, coro_aio_timeout_fn fn, void *arg, void **result,
                         bool *expired)
{
    coro_aio_loop *loop = coro__aio_running;
    if (loop == NULL)
        return coro__aio_fail(CORO_EINVAL, "timeout: RuntimeError: no running event loop");
    if (isnan(delay))
        return coro__aio_fail(CORO_EINVAL, "timeout: delay is NaN");
    double when = delay == CORO_AIO_NO_TIMEOUT ? delay : coro_aio_time(loop) + delay;
    return coro_aio_timeout_at_run(when, fn, arg, result, expired);
}

typedef struct plain {
    coro_fn fn;
    void *arg;
} plain;

static void *plain_body(coro *self, coro_aio_timeout_scope *ts, void *arg)
{
    (void)ts;
    plain *p = arg;
    return p->fn(self, p->arg);
}

int coro_aio_timeout(double delay, coro_fn fn, void *arg, void **result)
{
    if (fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "timeout: fn is NULL");
    plain p = {fn, arg};
    return coro_aio_timeout_run(delay, plain_body, &p, result, NULL);
}

int coro_aio_timeout_at(double when, coro_fn fn, void *arg, void **result)
{
    if (fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "timeout_at: fn is NULL");
    plain p = {fn, arg};
    return coro_aio_timeout_at_run(when, plain_body, &p, result, NULL);
}

/* ------------------------------------------------------------------------ */
/* wait_for (3.12)                                                          */
/* ------------------------------------------------------------------------ */

static void release_waiter(coro_aio_future *f, void *arg)
{
    (void)f;
    coro_aio_future *waiter = arg;
    if (waiter->state == AIO_PENDING)
        coro__aio_future_finish(waiter, NULL, NULL);
}

static void *await_body(coro *self, void *arg)
{
    void **io = arg; /* [0]: the future in, [1]: its result out */
    if (coro_aio_await(io[0], &io[1]) != CORO_OK)
        coro_reraise(self);
    return io[1];
}

int coro_aio_wait_for(coro_aio_future *f, double timeout, void **result)
{
    coro *self = NULL;
    if (result != NULL)
        *result = NULL;
    if (f == NULL || isnan(timeout))
        return coro__aio_fail(CORO_EINVAL, "wait_for: a future and a timeout that is not NaN "
                                           "are required");
    int rc = coro__aio_self("wait_for", &self);
    if (rc < 0)
        return rc;
    if (f->loop != coro__aio_running)
        return coro__aio_fail(CORO_EINVAL, "wait_for: the future belongs to another loop");
    coro_exc e;
    if (timeout <= 0) {
        if (f->state == AIO_PENDING) {
            /* _cancel_and_wait(fut) */
            coro_aio_future *waiter = coro__aio_future_alloc(f->loop);
            if (waiter == NULL)
                return CORO_ENOMEM;
            if ((rc = coro__aio_add_cb(f, release_waiter, waiter, AIO_ARG_FUT)) == CORO_OK) {
                coro_aio_future_cancel(f, NULL);
                rc = coro_aio_await(waiter, NULL);
            }
            coro_aio_future_remove_done_callback(f, release_waiter, waiter);
            coro_aio_future_release(waiter);
            if (rc != CORO_OK)
                return rc;
            if (f->state == AIO_CANCELLED) {
                coro_exc_set(&e, &coro_aio_TimeoutError, "");
                e.cause = &coro_aio_CancelledError; /* raise TimeoutError from exc */
                return coro__aio_throw(self, &e);
            }
        }
        if (coro_aio_future_result(f, result, &e) == CORO_RAISED)
            return coro__aio_throw(self, &e);
        return CORO_OK;
    }
    void *io[2] = {f, NULL};
    return coro_aio_timeout(timeout, await_body, io, result);
}
