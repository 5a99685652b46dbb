/* wait.c - asyncio.wait, shield and as_completed, as tasks.py has them in 3.11.
 * SPDX-License-Identifier: MIT
 *
 * Python's closures become small objects that embed a future only to be
 * reference counted (future.dtor): every done callback and timer that names
 * one holds a reference (arg_is_fut), so a callback already scheduled when
 * the waiting task gives up still finds its state alive, as a closure would.
 */
#include "aio_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */
/* ------------------------------------------------------------------------ */

int coro__aio_self(const char *what, coro **self)
{
    coro_aio_loop *loop = coro__aio_running;
    coro *c = coro_current();
    if (loop == NULL || loop->current == NULL || c == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: called outside a task (no running event loop "
                                           "or no task running)", what);
    *self = c;
    return CORO_OK;
}

/* The futures of fs without repeats (Python's set(fs)), in argument order. */
static int unique(const char *what, coro_aio_loop *loop, coro_aio_future *const *fs, size_t n,
                  coro_aio_future ***out, size_t *nout)
{
    if (n > 0 && fs == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: fs is NULL", what);
    coro_aio_future **u = coro__aio_malloc((n ? n : 1) * sizeof *u);
    if (u == NULL)
        return coro__aio_fail(CORO_ENOMEM, "%s: out of memory", what);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs[i] == NULL || fs[i]->loop != loop) {
            free(u);
            return coro__aio_fail(CORO_EINVAL, "%s: future %zu is NULL or of another loop",
                                  what, i);
        }
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = u[j] == fs[i];
        if (!seen)
            u[k++] = fs[i];
    }
    *out = u;
    *nout = k;
    return CORO_OK;
}

/* A holder: a future that only carries a reference count for `obj`. */
static void holder_init(coro_aio_future *f, coro_aio_loop *loop, void (*dtor)(coro_aio_future *))
{
    coro__aio_future_init(f, loop, false);
    f->dtor = dtor;
    loop->live++;
}

static void holder_done(coro_aio_future *f)
{
    coro_aio_loop *loop = f->loop;
    coro__aio_future_clear(f);
    free(f);
    coro__aio_loop_unlive(loop);
}

static int64_t deadline_ns(coro_aio_loop *loop, double delay)
{
    double ns = (coro_aio_time(loop) + (delay > 0 ? delay : 0)) * 1e9;
    return ns >= 9.2e18 ? INT64_MAX : (int64_t)llround(ns);
}

/* ------------------------------------------------------------------------ */
/* wait                                                                     */
/* ------------------------------------------------------------------------ */

/* _wait's closure: `fut` is the waiter itself. */
typedef struct aio_wait {
    coro_aio_future fut;
    size_t counter;
    int return_when;
    coro_aio_handle *timeout_handle;
} aio_wait;

static void wait_free(coro_aio_future *f)
{
    holder_done(f);
}

/* _release_waiter */
static void release_waiter(coro_aio_future *waiter, void *arg)
{
    (void)arg;
    if (waiter->state == AIO_PENDING)
        coro__aio_future_finish(waiter, NULL, NULL);
}

/* _on_completion */
static void on_completion(coro_aio_future *f, void *arg)
{
    aio_wait *w = arg;
    w->counter--;
    bool wake = w->counter == 0 || w->return_when == CORO_AIO_FIRST_COMPLETED;
    if (!wake && w->return_when == CORO_AIO_FIRST_EXCEPTION && f->state != AIO_CANCELLED) {
        coro_exc e;
        coro_aio_future_exception(f, &e); /* f.exception() marks it retrieved */
        wake = e.type != NULL;
    }
    if (wake) {
        if (w->timeout_handle != NULL)
            coro_aio_handle_cancel(w->timeout_handle);
        release_waiter(&w->fut, NULL);
    }
}

int coro_aio_wait(coro_aio_future *const *fs, size_t n, double timeout, int return_when,
                  bool *done, size_t *ndone)
{
    coro *self = NULL;
    int rc = coro__aio_self("wait", &self);
    if (rc < 0)
        return rc;
    if (n == 0)
        return coro__aio_fail(CORO_EINVAL, "wait: ValueError: Set of Tasks/Futures is empty.");
    if (return_when != CORO_AIO_FIRST_COMPLETED && return_when != CORO_AIO_FIRST_EXCEPTION &&
        return_when != CORO_AIO_ALL_COMPLETED)
        return coro__aio_fail(CORO_EINVAL, "wait: ValueError: Invalid return_when value: %d",
                              return_when);
    if (isnan(timeout))
        return coro__aio_fail(CORO_EINVAL, "wait: timeout is NaN");
    coro_aio_loop *loop = coro__aio_running;
    coro_aio_future **u;
    size_t nu;
    if ((rc = unique("wait", loop, fs, n, &u, &nu)) < 0)
        return rc;
    aio_wait *w = coro__aio_malloc(sizeof *w);
    if (w == NULL) {
        free(u);
        return coro__aio_fail(CORO_ENOMEM, "wait: out of memory");
    }
    holder_init(&w->fut, loop, wait_free);
    w->counter = nu;
    w->return_when = return_when;
    w->timeout_handle = NULL;
    if (timeout != CORO_AIO_NO_TIMEOUT &&
        (rc = coro__aio_later_done(loop, deadline_ns(loop, timeout), release_waiter, &w->fut,
                                   &w->timeout_handle)) < 0)
        goto out;
    for (size_t i = 0; i < nu; i++)
        if ((rc = coro__aio_add_cb(u[i], on_completion, &w->fut, AIO_ARG_FUT)) < 0)
            goto out;
    rc = coro_aio_await(&w->fut, NULL);
out:
    /* finally: */
    if (w->timeout_handle != NULL) {
        coro_aio_handle_cancel(w->timeout_handle);
        coro_aio_handle_release(w->timeout_handle);
        w->timeout_handle = NULL;
    }
    for (size_t i = 0; i < nu; i++)
        coro_aio_future_remove_done_callback(u[i], on_completion, &w->fut);
    free(u);
    coro_aio_future_release(&w->fut);
    if (rc != CORO_OK)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool d = coro_aio_future_done(fs[i]);
        k += d;
        if (done != NULL)
            done[i] = d;
    }
    if (ndone != NULL)
        *ndone = k;
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* shield                                                                   */
/* ------------------------------------------------------------------------ */

/* _inner_done_callback: arg is the outer future (a reference). */
static void inner_done(coro_aio_future *inner, void *arg)
{
    coro_aio_future *outer = arg;
    coro_exc e;
    if (outer->state == AIO_CANCELLED) {
        if (inner->state != AIO_CANCELLED)
            coro_aio_future_exception(inner, &e); /* mark it retrieved */
        return;
    }
    if (outer->state != AIO_PENDING)
        return; /* Python's set_result would raise InvalidStateError here */
    if (inner->state == AIO_CANCELLED) {
        coro__aio_future_cancel(outer, NULL);
        return;
    }
    coro_aio_future_exception(inner, &e);
    if (e.type != NULL)
        coro__aio_future_finish(outer, NULL, &e);
    else
        coro__aio_future_finish(outer, inner->result, NULL);
}

/* _outer_done_callback: arg is the inner future (a reference). */
static void outer_done(coro_aio_future *outer, void *arg)
{
    coro_aio_future *inner = arg;
    if (inner->state == AIO_PENDING)
        coro_aio_future_remove_done_callback(inner, inner_done, outer);
}

coro_aio_future *coro_aio_shield(coro_aio_future *inner)
{
    if (inner == NULL) {
        coro__aio_fail(CORO_EINVAL, "shield: inner is NULL");
        return NULL;
    }
    if (inner->state != AIO_PENDING)
        return coro_aio_future_ref(inner);
    coro_aio_future *outer = coro__aio_future_alloc(inner->loop);
    if (outer == NULL)
        return NULL;
    if (coro__aio_add_cb(inner, inner_done, outer, AIO_ARG_FUT) < 0) {
        coro_aio_future_release(outer);
        return NULL;
    }
    if (coro__aio_add_cb(outer, outer_done, inner, AIO_ARG_FUT) < 0) {
        coro_aio_future_remove_done_callback(inner, inner_done, outer);
        coro_aio_future_release(outer);
        return NULL;
    }
    return outer;
}

/* ------------------------------------------------------------------------ */
/* as_completed                                                             */
/* ------------------------------------------------------------------------ */

/* as_completed's closure: `todo` (the futures still watched), the `done`
 * queue (futures, or NULL for _on_timeout's dummies) and the getter future
 * of a pending done.get(). */
struct coro_aio_as_completed {
    coro_aio_future fut; /* holder */
    coro_aio_future **todo;
    size_t ntodo;
    coro_aio_future **queue; /* ring of `cap` entries */
    size_t qhead, qlen, cap;
    size_t left; /* calls of next still to come */
    coro_aio_future *getter;
    coro_aio_handle *timeout_handle;
    bool freed;
    coro_aio_future **held; /* every distinct future, with a reference */
    size_t nheld;
};

static void ac_dtor(coro_aio_future *f)
{
    coro_aio_as_completed *it = (coro_aio_as_completed *)f;
    for (size_t i = 0; i < it->nheld; i++)
        coro_aio_future_release(it->held[i]);
    free(it->held);
    free(it->todo);
    free(it->queue);
    holder_done(f);
}

/* done.put_nowait(f): wakes the getter if one waits (_wakeup_next). */
static void ac_put(coro_aio_as_completed *it, coro_aio_future *f)
{
    it->queue[(it->qhead + it->qlen++) % it->cap] = f;
    if (it->getter != NULL && it->getter->state == AIO_PENDING)
        coro__aio_future_finish(it->getter, NULL, NULL);
}

static void ac_on_completion(coro_aio_future *f, void *arg)
{
    coro_aio_as_completed *it = arg;
    if (it->ntodo == 0 || it->freed)
        return; /* _on_timeout() was here first */
    for (size_t i = 0; i < it->ntodo; i++)
        if (it->todo[i] == f) {
            memmove(it->todo + i, it->todo + i + 1, (it->ntodo - i - 1) * sizeof *it->todo);
            it->ntodo--;
            break;
        }
    ac_put(it, f);
    if (it->ntodo == 0 && it->timeout_handle != NULL)
        coro_aio_handle_cancel(it->timeout_handle);
}

static void ac_on_timeout(coro_aio_future *holder, void *arg)
{
    (void)arg;
    coro_aio_as_completed *it = (coro_aio_as_completed *)holder;
    if (it->freed)
        return;
    for (size_t i = 0; i < it->ntodo; i++) {
        coro_aio_future_remove_done_callback(it->todo[i], ac_on_completion, &it->fut);
        ac_put(it, NULL);
    }
    it->ntodo = 0;
}

coro_aio_as_completed *coro_aio_as_completed_new(coro_aio_loop *loop, coro_aio_future *const *fs,
                                                 size_t n, double timeout)
{
    if (loop == NULL) {
        coro__aio_fail(CORO_EINVAL, "as_completed: loop is NULL");
        return NULL;
    }
    if (isnan(timeout)) {
        coro__aio_fail(CORO_EINVAL, "as_completed: timeout is NaN");
        return NULL;
    }
    coro_aio_future **u;
    size_t nu;
    if (unique("as_completed", loop, fs, n, &u, &nu) < 0)
        return NULL;
    coro_aio_as_completed *it = coro__aio_calloc(1, sizeof *it);
    if (it == NULL || (it->todo = coro__aio_malloc((nu ? nu : 1) * sizeof *it->todo)) == NULL ||
        (it->queue = coro__aio_malloc((nu ? nu : 1) * sizeof *it->queue)) == NULL) {
        if (it != NULL)
            free(it->todo);
        free(it);
        free(u);
        coro__aio_fail(CORO_ENOMEM, "as_completed: out of memory");
        return NULL;
    }
    holder_init(&it->fut, loop, ac_dtor);
    it->held = u;
    it->nheld = nu;
    it->cap = nu ? nu : 1;
    it->left = nu;
    for (size_t i = 0; i < nu; i++) {
        coro_aio_future_ref(u[i]);
        it->todo[i] = u[i];
    }
    it->ntodo = nu;
    for (size_t i = 0; i < nu; i++)
        if (coro__aio_add_cb(u[i], ac_on_completion, &it->fut, AIO_ARG_FUT) < 0)
            goto fail;
    if (nu > 0 && timeout != CORO_AIO_NO_TIMEOUT &&
        coro__aio_later_done(loop, deadline_ns(loop, timeout), ac_on_timeout, &it->fut,
                             &it->timeout_handle) < 0)
        goto fail;
    return it;
fail:
    coro_aio_as_completed_free(it);
    return NULL;
}

size_t coro_aio_as_completed_left(const coro_aio_as_completed *it)
{
    return it ? it->left : 0;
}

int coro_aio_as_completed_next(coro_aio_as_completed *it, coro_aio_future **which,
                               void **result)
{
    coro *self = NULL;
    if (which != NULL)
        *which = NULL;
    if (it == NULL)
        return coro__aio_fail(CORO_EINVAL, "as_completed_next: iterator is NULL");
    int rc = coro__aio_self("as_completed_next", &self);
    if (rc < 0)
        return rc;
    if (it->left == 0)
        return coro__aio_fail(CORO_EINVAL, "as_completed_next: no futures left (call it once "
                                           "per distinct future)");
    it->left--;
    /* _wait_for_one: f = await done.get() */
    while (it->qlen == 0) {
        coro_aio_future *g = coro__aio_future_alloc(it->fut.loop);
        if (g == NULL)
            return CORO_ENOMEM;
        it->getter = g;
        rc = coro_aio_await(g, NULL);
        it->getter = NULL;
        coro__aio_future_cancel(g, NULL);
        coro_aio_future_release(g);
        if (rc != CORO_OK)
            return rc;
    }
    coro_aio_future *f = it->queue[it->qhead];
    it->qhead = (it->qhead + 1) % it->cap;
    it->qlen--;
    coro_exc e;
    if (f == NULL) {
        coro_exc_set(&e, &coro_aio_TimeoutError, "");
        return coro__aio_throw(self, &e);
    }
    if (which != NULL)
        *which = f;
    if (coro_aio_future_result(f, result, &e) == CORO_RAISED)
        return coro__aio_throw(self, &e);
    return CORO_OK;
}

void coro_aio_as_completed_free(coro_aio_as_completed *it)
{
    if (it == NULL)
        return;
    it->freed = true;
    if (it->timeout_handle != NULL) {
        coro_aio_handle_cancel(it->timeout_handle);
        coro_aio_handle_release(it->timeout_handle);
        it->timeout_handle = NULL;
    }
    for (size_t i = 0; i < it->ntodo; i++)
        coro_aio_future_remove_done_callback(it->todo[i], ac_on_completion, &it->fut);
    it->ntodo = 0;
    coro_aio_future_release(&it->fut);
}
