/* future.c - futures: states, results, done callbacks, cancellation, repr.
 * SPDX-License-Identifier: MIT
 *
 * asyncio.Future (futures.py) in C. Done callbacks are never called
 * directly: the moment a future finishes, each one is scheduled with
 * call_soon, in registration order, and the list is emptied.
 */
#include "aio_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const coro_exc_type coro_aio_CancelledError = {"CancelledError", &coro_BaseException};
const coro_exc_type coro_aio_TimeoutError = {"TimeoutError", &coro_aio_OSError};
const coro_exc_type coro_aio_InvalidStateError = {"InvalidStateError", &coro_Exception};

/* The exception of a future whose own exception could not be copied (out
 * of memory): it still finishes, so that nothing awaiting it waits forever. */
static const coro_exc nomem_exc = {.type = &coro_MemoryError,
                                   .message = "out of memory: the exception could not be stored"};

bool coro__aio_set_str(char **dst, const char *src)
{
    char *s = NULL;
    if (src != NULL) {
        size_t n = strlen(src) + 1;
        if ((s = coro__aio_malloc(n)) == NULL)
            return false;
        memcpy(s, src, n);
    }
    free(*dst);
    *dst = s;
    return true;
}

void coro__aio_future_init(coro_aio_future *f, coro_aio_loop *loop, bool is_task)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->refs = 1;
    f->is_task = is_task;
    f->cbs = f->cbs_inline;
    f->cbcap = AIO_INLINE_CBS;
}

coro_aio_future *coro__aio_future_alloc(coro_aio_loop *loop)
{
    coro_aio_future *f = loop->free_futures;
    if (f != NULL) {
        /* Only plain futures reach the free list (coro__aio_future_last: not
         * tasks, gathers or dtor holders), and through future_clear, which
         * left no callbacks (cbs inline), no exception and no messages. So
         * of what coro__aio_future_init sets, only what a plain future
         * changes while alive needs setting again (a waiter future per
         * Event.wait: the memset was a sixth of a hand-off's own work). */
        loop->free_futures = f->next_free;
        f->refs = 1;
        f->state = AIO_PENDING;
        f->log_tb = false;
        f->result = NULL;
    } else if ((f = coro__aio_malloc(sizeof *f)) == NULL) {
        coro__aio_fail(CORO_ENOMEM, "could not allocate a future");
        return NULL;
    } else
        coro__aio_future_init(f, loop, false);
    loop->live++;
    return f;
}

coro_aio_future *coro_aio_future_new(coro_aio_loop *loop)
{
    if (loop == NULL) {
        coro__aio_fail(CORO_EINVAL, "future_new: loop is NULL");
        return NULL;
    }
    return coro__aio_future_alloc(loop);
}

coro_aio_future *coro_aio_future_ref(coro_aio_future *f)
{
    if (f != NULL)
        f->refs++;
    return f;
}

static void drop_cbs(coro_aio_future *f)
{
    for (unsigned i = 0; i < f->ncb; i++)
        if (f->cbs[i].arg_is_fut)
            coro_aio_future_release(f->cbs[i].arg);
    f->ncb = 0;
}

/* Each free is tested first: a future that finished with a result (most of
 * them) holds nothing, and three calls of free(NULL) were a fifth of the
 * cost of recycling it. */
void coro__aio_future_clear(coro_aio_future *f)
{
    if (f->ncb != 0)
        drop_cbs(f);
    if (f->cbs != f->cbs_inline) {
        free(f->cbs);
        f->cbs = f->cbs_inline;
        f->cbcap = AIO_INLINE_CBS;
    }
    if (f->exc != NULL) {
        if (f->exc != &nomem_exc)
            free(f->exc);
        f->exc = NULL;
    }
    if (f->cancel_msg != NULL) {
        free(f->cancel_msg);
        f->cancel_msg = NULL;
    }
    if (f->cancelled_exc != NULL) {
        free(f->cancelled_exc);
        f->cancelled_exc = NULL;
    }
}

void coro_aio_future_release(coro_aio_future *f)
{
    coro__aio_unref(f);
}

void coro__aio_future_last(coro_aio_future *f)
{
    coro_aio_loop *loop = f->loop;
    if (f->log_tb && f->exc != NULL) {
        /* Future.__del__: an exception nobody read. The report may look at
         * f (repr), so keep it alive through the call. */
        f->refs = 1;
        f->log_tb = false;
        coro__aio_report(loop,
                         f->is_task ? "Task exception was never retrieved"
                                    : "Future exception was never retrieved",
                         f->exc, f, NULL);
        if (--f->refs > 0)
            return;
    }
    if (f->dtor != NULL) {
        f->dtor(f);
        return;
    }
    if (f->is_task) {
        coro__aio_task_free((aio_task *)f);
        return;
    }
    if (f->is_gather) {
        coro__aio_gather_free(f);
        return;
    }
    coro__aio_future_clear(f);
    f->next_free = loop->free_futures;
    loop->free_futures = f;
    coro__aio_loop_unlive(loop);
}

coro_aio_loop *coro_aio_future_get_loop(const coro_aio_future *f)
{
    return f ? f->loop : NULL;
}

/* __schedule_callbacks: each callback goes to call_soon with the future.
 * The wakeup of the task that awaits f (f is its fut_waiter) goes in as an
 * AIO_R_WAKEUP entry instead of a DONE handle, at the same position, with
 * the entry's reference on the task moved over (aio_int.h, aio_ready). */
static void schedule_callbacks(coro_aio_future *f)
{
    unsigned n = f->ncb;
    f->ncb = 0;
    for (unsigned i = 0; i < n; i++) {
        aio_cb cb = f->cbs[i];
        if (cb.fn == coro__aio_task_wakeup && cb.arg_is_fut &&
            ((aio_task *)cb.arg)->fut_waiter == f &&
            coro__aio_soon_wakeup(f->loop, cb.arg) == CORO_OK)
            continue;
        bool hold = cb.arg_is_fut || cb.ref_when_queued;
        if (coro__aio_soon_done(f->loop, cb.fn, f, cb.arg, hold) == CORO_OK) {
            if (cb.arg_is_fut) /* the handle holds its own */
                coro_aio_future_release(cb.arg);
            continue;
        }
        /* Out of memory for a handle: this callback and the ones after it
         * run from one AIO_R_DONE entry, in the same order and at the same
         * queue position, which needs no allocation while the queue has
         * room. */
        memmove(f->cbs, f->cbs + i, (n - i) * sizeof *f->cbs);
        f->nsched = n - i;
        for (unsigned j = 0; j < f->nsched; j++)
            if (f->cbs[j].ref_when_queued) {
                coro_aio_future_ref(f->cbs[j].arg);
                f->cbs[j].arg_is_fut = true;
                f->cbs[j].ref_when_queued = false;
            }
        coro__aio_ref(f);
        if (coro__aio_ring_push(f->loop, (aio_ready)f | AIO_R_DONE) < 0) {
            fprintf(stderr, "libcoro-aio: out of memory, %u done callback(s) dropped\n", n - i);
            coro__aio_run_done_entry(f, false);
        }
        return;
    }
}

static const char *state_name(int state)
{
    return state == AIO_PENDING ? "PENDING" : state == AIO_CANCELLED ? "CANCELLED" : "FINISHED";
}

int coro__aio_future_finish(coro_aio_future *f, void *result, const coro_exc *exc)
{
    coro_exc *copy = NULL;
    if (exc != NULL) {
        if ((copy = coro__aio_malloc(sizeof *copy)) != NULL)
            *copy = *exc;
        else
            copy = (coro_exc *)&nomem_exc; /* never freed (future_clear) */
    }
    f->result = result;
    f->exc = copy;
    f->state = AIO_FINISHED;
    schedule_callbacks(f);
    if (copy != NULL)
        f->log_tb = true;
    return CORO_OK;
}

static int check_settable(coro_aio_future *f, const char *what)
{
    char buf[256];
    if (f == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: future is NULL", what);
    if (f->is_task)
        return coro__aio_fail(CORO_EINVAL, "%s: Task does not support %s operation", what, what);
    if (f->state != AIO_PENDING)
        return coro__aio_fail(CORO_EINVAL, "%s: InvalidStateError: %s: %s", what,
                              state_name(f->state), coro_aio_future_repr(f, buf, sizeof buf));
    return CORO_OK;
}

int coro_aio_future_set_result(coro_aio_future *f, void *value)
{
    int rc = check_settable(f, "set_result");
    if (rc < 0)
        return rc;
    return coro__aio_future_finish(f, value, NULL);
}

int coro_aio_future_set_exception(coro_aio_future *f, const coro_exc *exc)
{
    int rc = check_settable(f, "set_exception");
    if (rc < 0)
        return rc;
    if (exc == NULL || exc->type == NULL)
        return coro__aio_fail(CORO_EINVAL, "set_exception: an exception with a type is required");
    if (exc->type == &coro_StopIteration)
        return coro__aio_fail(CORO_EINVAL, "set_exception: TypeError: StopIteration interacts "
                                           "badly with generators and cannot be raised into a "
                                           "Future");
    return coro__aio_future_finish(f, NULL, exc);
}

bool coro_aio_future_done(const coro_aio_future *f)
{
    return f != NULL && f->state != AIO_PENDING;
}

bool coro_aio_future_cancelled(const coro_aio_future *f)
{
    return f != NULL && f->state == AIO_CANCELLED;
}

void coro__aio_make_cancelled(coro_aio_future *f, coro_exc *out)
{
    if (f->cancelled_exc != NULL) {
        *out = *f->cancelled_exc;
        free(f->cancelled_exc);
        f->cancelled_exc = NULL;
        return;
    }
    coro_exc_set(out, &coro_aio_CancelledError, f->cancel_msg ? f->cancel_msg : "");
}

int coro_aio_future_result(coro_aio_future *f, void **result, coro_exc *exc)
{
    coro_exc e;
    if (f == NULL)
        return coro__aio_fail(CORO_EINVAL, "result: future is NULL");
    if (f->state == AIO_CANCELLED)
        coro__aio_make_cancelled(f, &e);
    else if (f->state != AIO_FINISHED)
        coro_exc_set(&e, &coro_aio_InvalidStateError, "Result is not ready.");
    else {
        f->log_tb = false;
        if (f->exc == NULL) {
            if (result != NULL)
                *result = f->result;
            return CORO_OK;
        }
        e = *f->exc;
    }
    if (exc != NULL)
        *exc = e;
    return CORO_RAISED;
}

int coro_aio_future_exception(coro_aio_future *f, coro_exc *exc)
{
    coro_exc e;
    if (f == NULL)
        return coro__aio_fail(CORO_EINVAL, "exception: future is NULL");
    if (f->state == AIO_CANCELLED)
        coro__aio_make_cancelled(f, &e);
    else if (f->state != AIO_FINISHED)
        coro_exc_set(&e, &coro_aio_InvalidStateError, "Exception is not set.");
    else {
        f->log_tb = false;
        if (exc != NULL) {
            if (f->exc)
                *exc = *f->exc;
            else
                memset(exc, 0, sizeof *exc);
        }
        return CORO_OK;
    }
    if (exc != NULL)
        *exc = e;
    return CORO_RAISED;
}

bool coro__aio_future_cancel(coro_aio_future *f, const char *msg)
{
    f->log_tb = false;
    if (f->state != AIO_PENDING)
        return false;
    f->state = AIO_CANCELLED;
    coro__aio_set_str(&f->cancel_msg, msg);
    schedule_callbacks(f);
    return true;
}

void coro__aio_run_done_entry(coro_aio_future *f, bool run)
{
    unsigned n = f->nsched;
    f->nsched = 0;
    for (unsigned i = 0; i < n; i++) {
        aio_cb cb = f->cbs[i];
        if (run && cb.fn != NULL) /* NULL: removed (remove_done_callback) */
            cb.fn(f, cb.arg);
        if (cb.arg_is_fut)
            coro__aio_unref(cb.arg);
    }
    coro__aio_unref(f);
}

int coro_aio_future_add_done_callback(coro_aio_future *f, coro_aio_done_fn fn, void *arg)
{
    if (f == NULL || fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "add_done_callback: future and fn are required");
    return coro__aio_add_cb(f, fn, arg, AIO_ARG_PLAIN);
}

int coro__aio_add_cb_slow(coro_aio_future *f, coro_aio_done_fn fn, void *arg, int arg_ref)
{
    if (f->state != AIO_PENDING) /* queued at once: both kinds of future arg are held */
        return coro__aio_soon_done(f->loop, fn, f, arg, arg_ref != AIO_ARG_PLAIN);
    if (f->ncb == f->cbcap) {
        unsigned cap = f->cbcap * 2;
        aio_cb *n = coro__aio_malloc(cap * sizeof *n);
        if (n == NULL)
            return coro__aio_fail(CORO_ENOMEM, "add_done_callback: could not grow the list");
        memcpy(n, f->cbs, f->ncb * sizeof *n);
        if (f->cbs != f->cbs_inline)
            free(f->cbs);
        f->cbs = n;
        f->cbcap = cap;
    }
    f->cbs[f->ncb].fn = fn;
    f->cbs[f->ncb].arg = arg;
    f->cbs[f->ncb].arg_is_fut = arg_ref == AIO_ARG_FUT;
    f->cbs[f->ncb].ref_when_queued = arg_ref == AIO_ARG_FUT_QUEUED;
    f->ncb++;
    if (arg_ref == AIO_ARG_FUT)
        coro_aio_future_ref(arg);
    return CORO_OK;
}

size_t coro_aio_future_remove_done_callback(coro_aio_future *f, coro_aio_done_fn fn, void *arg)
{
    if (f == NULL)
        return 0;
    unsigned j = 0;
    size_t removed = 0;
    for (unsigned i = 0; i < f->ncb; i++) {
        aio_cb cb = f->cbs[i];
        if (cb.fn == fn && cb.arg == arg) {
            removed++;
            if (cb.arg_is_fut)
                coro_aio_future_release(cb.arg);
        } else
            f->cbs[j++] = cb;
    }
    f->ncb = j;
    /* Callbacks waiting in an AIO_R_DONE entry (out of memory) are disabled
     * too: their owner (a gather being freed) may be gone when it runs. */
    for (unsigned i = 0; i < f->nsched; i++)
        if (f->cbs[i].fn == fn && f->cbs[i].arg == arg) {
            f->cbs[i].fn = NULL;
            if (f->cbs[i].arg_is_fut)
                coro_aio_future_release(arg);
            f->cbs[i].arg_is_fut = false;
        }
    return removed;
}

void coro__aio_exc_repr(const coro_exc *e, char *buf, size_t size)
{
    if (e->message[0])
        snprintf(buf, size, "%s('%s')", e->type->name, e->message);
    else
        snprintf(buf, size, "%s()", e->type->name);
}

char *coro_aio_future_repr(const coro_aio_future *f, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (f == NULL) {
        snprintf(buf, size, "None");
        return buf;
    }
    const aio_task *t = f->is_task ? (const aio_task *)f : NULL;
    const char *state = f->state == AIO_PENDING     ? "pending"
                        : f->state == AIO_CANCELLED ? "cancelled"
                                                    : "finished";
    if (t != NULL && f->state == AIO_PENDING && t->num_cancels > 0)
        state = "cancelling";
    size_t n = (size_t)snprintf(buf, size, "<%s %s", t ? "Task" : "Future", state);
    if (t != NULL && n < size)
        n += (size_t)snprintf(buf + n, size - n, " name='%s'", t->name);
    if (f->state == AIO_FINISHED && n < size) {
        if (f->exc) {
            char e[200];
            coro__aio_exc_repr(f->exc, e, sizeof e);
            n += (size_t)snprintf(buf + n, size - n, " exception=%s", e);
        } else if (f->result == NULL)
            n += (size_t)snprintf(buf + n, size - n, " result=None");
        else
            n += (size_t)snprintf(buf + n, size - n, " result=%p", f->result);
    }
    if (t != NULL && t->fut_waiter != NULL && n < size) {
        char w[160];
        n += (size_t)snprintf(buf + n, size - n, " wait_for=%s",
                              coro_aio_future_repr(t->fut_waiter, w, sizeof w));
    }
    if (n < size)
        snprintf(buf + n, size - n, ">");
    return buf;
}
