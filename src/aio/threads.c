/* threads.c - asyncio.to_thread on a lazily started worker pool, and run_coroutine_threadsafe.
 * SPDX-License-Identifier: MIT
 *
 * Every loop has one coro__aio_threads (made with the loop, so that other
 * threads can reach it from the start). It holds:
 *
 *  - the worker pool (the loop's default executor): a FIFO of calls, the
 *    workers, started one at a time when a call finds none idle, up to
 *    max_workers (ThreadPoolExecutor._adjust_thread_count). Workers run
 *    fn(arg), store the result and queue a DELIVER request.
 *  - the request list: what other threads ask the loop to do (DELIVER a
 *    call's result, SUBMIT a task for run_coroutine_threadsafe, CANCEL one),
 *    in arrival order. Whoever queues one then wakes the loop
 *    (coro__aio_wake, under `mu` so that close cannot slip in between), and
 *    the loop's drain_threadsafe calls coro__aio_threads_collect, which turns
 *    DELIVER and SUBMIT into ready callbacks (call_soon: they run in the
 *    iteration that saw them, as asyncio's call_soon_threadsafe callbacks do)
 *    and performs CANCEL at once.
 *
 * Locks: `mu` guards the queue, the request list, the worker counts, the
 * list of concurrent futures and the closed flag. A concurrent future's own
 * `mu` guards its state and outcome; when both are taken, the future's comes
 * first. Everything else (calls' fut/waiting/refs, cf->task) belongs to the
 * loop's thread.
 *
 * A call (one to_thread) has two references, both dropped on the loop's
 * thread: the awaiting frame's and the delivery's. Its result goes to the
 * await when the frame is still waiting and the future still pending when it
 * is delivered; otherwise to the discard function (by deliver, or by the
 * frame when it gave up after the result was set). Either way exactly once.
 *
 * Closing (the first thing loop_close does): no new requests; the workers
 * finish every queued call and are joined; every call not yet delivered is
 * delivered now; every concurrent future the loop still holds ends cancelled
 * (its task, if any, is about to be destroyed as pending).
 */
#include "aio_int.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { REQ_DELIVER, REQ_SUBMIT, REQ_CANCEL };

typedef struct aio_req {
    struct aio_req *next;
    unsigned char kind;
} aio_req;

/* One coro_aio_to_thread. */
typedef struct aio_call {
    aio_req req;            /* its DELIVER request */
    struct aio_call *qnext; /* the pool's queue */
    coro_aio_thread_fn fn;
    void *arg;
    void *result; /* written by the worker under mu */
    coro_aio_discard_fn discard;
    /* Loop thread only: */
    coro_aio_future *fut;
    int refs;
    bool waiting;   /* the awaiting frame still wants the result */
    bool delivered; /* deliver ran */
    struct aio_call *prev, *next; /* th->calls: not yet delivered */
} aio_call;

struct coro_aio_cfuture {
    aio_req submit_req, cancel_req;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint refs; /* the caller's, the loop's while linked, a CANCEL's */
    int state;        /* AIO_PENDING / AIO_CANCELLED / AIO_FINISHED, under mu */
    void *result;
    coro_exc exc; /* type NULL: none */
    coro_aio_loop *loop;
    coro_fn fn;
    void *arg;
    coro_aio_future *task; /* loop thread only */
    struct coro_aio_cfuture *prev, *next; /* th->cfs, under th->mu */
};

typedef struct coro__aio_threads {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    aio_call *q_head, *q_tail;
    size_t q_len;
    aio_req *r_head, *r_tail;
    pthread_t *workers;
    int nworkers, max_workers, idle;
    bool closed;
    coro_aio_cfuture *cfs;
    aio_call *calls; /* loop thread only */
} coro__aio_threads;

#define container(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n + 4 < 32 ? (int)n + 4 : 32; /* ThreadPoolExecutor: min(32, cpu_count + 4) */
}

int coro__aio_threads_new(coro_aio_loop *loop)
{
    coro__aio_threads *th = coro__aio_calloc(1, sizeof *th);
    if (th == NULL)
        return coro__aio_fail(CORO_ENOMEM, "loop_new: could not allocate the worker pool");
    pthread_mutex_init(&th->mu, NULL);
    pthread_cond_init(&th->work_cv, NULL);
    th->max_workers = default_workers();
    loop->threads = th;
    return CORO_OK;
}

void coro__aio_threads_free(coro_aio_loop *loop)
{
    coro__aio_threads *th = loop->threads;
    if (th == NULL)
        return;
    pthread_cond_destroy(&th->work_cv);
    pthread_mutex_destroy(&th->mu);
    free(th->workers);
    free(th);
    loop->threads = NULL;
}

/* Queues a request and wakes the loop; th->mu held. */
static void push_req(coro_aio_loop *loop, aio_req *r, int kind)
{
    coro__aio_threads *th = loop->threads;
    r->kind = (unsigned char)kind;
    r->next = NULL;
    if (th->r_tail)
        th->r_tail->next = r;
    else
        th->r_head = r;
    th->r_tail = r;
    coro__aio_wake(loop);
}

/* ------------------------------------------------------------------------ */
/* The pool                                                                 */
/* ------------------------------------------------------------------------ */

static void *worker(void *arg)
{
    coro_aio_loop *loop = arg;
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    for (;;) {
        while (th->q_head == NULL && !th->closed) {
            th->idle++;
            pthread_cond_wait(&th->work_cv, &th->mu);
            th->idle--;
        }
        aio_call *c = th->q_head;
        if (c == NULL)
            break; /* closed and nothing left */
        th->q_head = c->qnext;
        if (th->q_head == NULL)
            th->q_tail = NULL;
        th->q_len--;
        pthread_mutex_unlock(&th->mu);
        void *v = c->fn(c->arg);
        pthread_mutex_lock(&th->mu);
        c->result = v;
        push_req(loop, &c->req, REQ_DELIVER);
    }
    pthread_mutex_unlock(&th->mu);
    return NULL;
}

/* Queues c; starts a worker when the calls waiting outnumber the idle ones
 * and the pool may grow. CORO_ENOMEM when the pool has no worker at all and
 * none could be started (c is then not queued). */
static int pool_submit(coro_aio_loop *loop, aio_call *c)
{
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    if (th->q_len + 1 > (size_t)th->idle && th->nworkers < th->max_workers) {
        int rc = 0;
        pthread_t *w = coro__aio_realloc(th->workers, (size_t)(th->nworkers + 1) * sizeof *w);
        if (w == NULL)
            rc = ENOMEM;
        else {
            th->workers = w;
            rc = pthread_create(&w[th->nworkers], NULL, worker, loop);
            if (rc == 0)
                th->nworkers++;
        }
        if (rc != 0 && th->nworkers == 0) {
            pthread_mutex_unlock(&th->mu);
            return coro__aio_fail(CORO_ENOMEM, "to_thread: could not start a worker thread: %s",
                                  strerror(rc));
        }
    }
    c->qnext = NULL;
    if (th->q_tail)
        th->q_tail->qnext = c;
    else
        th->q_head = c;
    th->q_tail = c;
    th->q_len++;
    pthread_cond_signal(&th->work_cv);
    pthread_mutex_unlock(&th->mu);
    return CORO_OK;
}

int coro_aio_set_thread_workers(coro_aio_loop *loop, int n)
{
    if (loop == NULL || loop->closed || n < 0)
        return coro__aio_fail(CORO_EINVAL, "set_thread_workers: an open loop and n >= 0 are "
                                           "required");
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    th->max_workers = n == 0 ? default_workers() : n;
    pthread_mutex_unlock(&th->mu);
    return CORO_OK;
}

int coro_aio_thread_workers(const coro_aio_loop *loop)
{
    if (loop == NULL || loop->threads == NULL)
        return 0;
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    int n = th->nworkers;
    pthread_mutex_unlock(&th->mu);
    return n;
}

/* ------------------------------------------------------------------------ */
/* to_thread                                                                */
/* ------------------------------------------------------------------------ */

static void call_unref(aio_call *c)
{
    if (--c->refs > 0)
        return;
    coro_aio_future_release(c->fut);
    free(c);
}

static void unlink_call(coro__aio_threads *th, aio_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        th->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* futures.wrap_future's _set_state: the result goes to the awaiting frame
 * if it still waits, else to discard. Drops the delivery's reference. */
static void deliver(coro_aio_loop *loop, aio_call *c)
{
    if (c->delivered)
        return;
    c->delivered = true;
    unlink_call(loop->threads, c);
    if (c->waiting && c->fut->state == AIO_PENDING)
        coro__aio_future_finish(c->fut, c->result, NULL);
    else if (c->discard != NULL)
        c->discard(c->result, c->arg);
    call_unref(c);
}

static void deliver_cb(void *arg)
{
    aio_call *c = arg;
    deliver(c->fut->loop, c);
}

int coro_aio_to_thread_ex(coro_aio_thread_fn fn, void *arg, coro_aio_discard_fn discard,
                          void **result)
{
    coro *self = NULL;
    if (fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "to_thread: fn is required");
    int rc = coro__aio_check_await("to_thread", &self);
    if (rc < 0)
        return rc;
    coro_aio_loop *loop = coro__aio_running;
    coro__aio_threads *th = loop->threads;
    aio_call *c = coro__aio_calloc(1, sizeof *c);
    if (c == NULL)
        return coro__aio_fail(CORO_ENOMEM, "to_thread: could not allocate the call");
    if ((c->fut = coro__aio_future_alloc(loop)) == NULL) {
        free(c);
        return CORO_ENOMEM;
    }
    c->fn = fn;
    c->arg = arg;
    c->discard = discard;
    c->refs = 2; /* this frame's, the delivery's */
    c->waiting = true;
    c->next = th->calls;
    if (th->calls)
        th->calls->prev = c;
    th->calls = c;
    if ((rc = pool_submit(loop, c)) < 0) {
        unlink_call(th, c);
        c->refs = 1;
        call_unref(c);
        return rc;
    }
    void *v = NULL;
    rc = coro_aio_await(c->fut, &v);
    c->waiting = false;
    if (rc == CORO_OK) {
        if (result != NULL)
            *result = v;
    } else if (c->fut->state == AIO_FINISHED && c->discard != NULL) {
        /* Delivered, then the await was cancelled (or the task destroyed)
         * before it could take the result: nobody else will. */
        c->discard(c->fut->result, c->arg);
    }
    call_unref(c);
    return rc;
}

int coro_aio_to_thread(coro_aio_thread_fn fn, void *arg, void **result)
{
    return coro_aio_to_thread_ex(fn, arg, NULL, result);
}

/* ------------------------------------------------------------------------ */
/* Concurrent futures                                                       */
/* ------------------------------------------------------------------------ */

void coro_aio_cfuture_release(coro_aio_cfuture *cf)
{
    if (cf == NULL || atomic_fetch_sub(&cf->refs, 1) != 1)
        return;
    pthread_cond_destroy(&cf->cv);
    pthread_mutex_destroy(&cf->mu);
    free(cf);
}

/* Sets the outcome unless one is in; false if there was one. */
static bool cf_settle(coro_aio_cfuture *cf, int state, void *result, const coro_exc *exc)
{
    pthread_mutex_lock(&cf->mu);
    bool was_pending = cf->state == AIO_PENDING;
    if (was_pending) {
        cf->state = state;
        cf->result = result;
        if (exc != NULL)
            cf->exc = *exc;
        pthread_cond_broadcast(&cf->cv);
    }
    pthread_mutex_unlock(&cf->mu);
    return was_pending;
}

static int cf_state(coro_aio_cfuture *cf)
{
    pthread_mutex_lock(&cf->mu);
    int s = cf->state;
    pthread_mutex_unlock(&cf->mu);
    return s;
}

/* Loop thread: the loop lets go of cf (takes it off th->cfs, drops the task
 * and the loop's reference). */
static void cf_detach(coro_aio_loop *loop, coro_aio_cfuture *cf)
{
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    if (cf->prev)
        cf->prev->next = cf->next;
    else
        th->cfs = cf->next;
    if (cf->next)
        cf->next->prev = cf->prev;
    pthread_mutex_unlock(&th->mu);
    coro_aio_future *task = cf->task;
    cf->task = NULL;
    coro_aio_future_release(task);
    coro_aio_cfuture_release(cf);
}

/* futures._chain_future's _call_set_state on the task's completion. */
static void chain_done(coro_aio_future *task, void *arg)
{
    coro_aio_cfuture *cf = arg;
    if (coro_aio_future_cancelled(task)) {
        cf_settle(cf, AIO_CANCELLED, NULL, NULL);
    } else {
        void *v = NULL;
        coro_exc e;
        if (coro_aio_future_result(task, &v, &e) == CORO_RAISED)
            cf_settle(cf, AIO_FINISHED, NULL, &e);
        else
            cf_settle(cf, AIO_FINISHED, v, NULL);
    }
    cf_detach(task->loop, cf);
}

/* The callback run_coroutine_threadsafe schedules: ensure_future + chain. */
static void submit_cb(void *arg)
{
    coro_aio_cfuture *cf = arg;
    coro_aio_loop *loop = cf->loop;
    if (cf_state(cf) != AIO_PENDING) { /* cancelled before it started */
        cf_detach(loop, cf);
        return;
    }
    coro_aio_future *task = coro_aio_create_task(loop, cf->fn, cf->arg, NULL);
    if (task == NULL) {
        coro_exc e;
        coro_exc_set(&e, &coro_RuntimeError, coro_aio_last_error());
        cf_settle(cf, AIO_FINISHED, NULL, &e);
        cf_detach(loop, cf);
        return;
    }
    cf->task = task;
    if (coro_aio_future_add_done_callback(task, chain_done, cf) < 0) {
        coro_exc e;
        coro_exc_set(&e, &coro_RuntimeError, coro_aio_last_error());
        coro_aio_future_cancel(task, NULL);
        cf_settle(cf, AIO_FINISHED, NULL, &e);
        cf_detach(loop, cf);
    }
}

coro_aio_cfuture *coro_aio_run_coroutine_threadsafe(coro_aio_loop *loop, coro_fn fn, void *arg)
{
    if (loop == NULL || fn == NULL) {
        coro__aio_fail(CORO_EINVAL, "run_coroutine_threadsafe: loop and fn are required");
        return NULL;
    }
    coro_aio_cfuture *cf = coro__aio_calloc(1, sizeof *cf);
    if (cf == NULL) {
        coro__aio_fail(CORO_ENOMEM, "run_coroutine_threadsafe: could not allocate the future");
        return NULL;
    }
    pthread_mutex_init(&cf->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cf->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&cf->refs, 2); /* the caller's, the loop's */
    cf->loop = loop;
    cf->fn = fn;
    cf->arg = arg;
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    if (th->closed) {
        pthread_mutex_unlock(&th->mu);
        atomic_store(&cf->refs, 1);
        coro_aio_cfuture_release(cf);
        coro__aio_fail(CORO_EINVAL, "run_coroutine_threadsafe: Event loop is closed");
        return NULL;
    }
    cf->next = th->cfs;
    if (th->cfs)
        th->cfs->prev = cf;
    th->cfs = cf;
    push_req(loop, &cf->submit_req, REQ_SUBMIT);
    pthread_mutex_unlock(&th->mu);
    return cf;
}

bool coro_aio_cfuture_cancel(coro_aio_cfuture *cf)
{
    if (cf == NULL)
        return false;
    pthread_mutex_lock(&cf->mu);
    if (cf->state != AIO_PENDING) {
        pthread_mutex_unlock(&cf->mu);
        return false;
    }
    cf->state = AIO_CANCELLED;
    pthread_cond_broadcast(&cf->cv);
    /* Still pending means still linked: the loop is alive and close has not
     * settled cf yet (it takes cf->mu to do so, after th->mu). */
    coro__aio_threads *th = cf->loop->threads;
    pthread_mutex_lock(&th->mu);
    if (!th->closed) {
        atomic_fetch_add(&cf->refs, 1); /* the CANCEL request's */
        push_req(cf->loop, &cf->cancel_req, REQ_CANCEL);
    }
    pthread_mutex_unlock(&th->mu);
    pthread_mutex_unlock(&cf->mu);
    return true;
}

bool coro_aio_cfuture_done(coro_aio_cfuture *cf)
{
    return cf != NULL && cf_state(cf) != AIO_PENDING;
}

bool coro_aio_cfuture_cancelled(coro_aio_cfuture *cf)
{
    return cf != NULL && cf_state(cf) == AIO_CANCELLED;
}

/* Waits for an outcome up to timeout seconds (< 0: forever); cf->mu held.
 * False on timeout. */
static bool cf_wait(coro_aio_cfuture *cf, double timeout)
{
    if (timeout < 0) {
        while (cf->state == AIO_PENDING)
            pthread_cond_wait(&cf->cv, &cf->mu);
        return true;
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    double whole = floor(timeout);
    if (whole > 1e9)
        whole = 1e9; /* about 31 years */
    dl.tv_sec += (time_t)whole;
    dl.tv_nsec += (long)((timeout - floor(timeout)) * 1e9);
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (cf->state == AIO_PENDING)
        if (pthread_cond_timedwait(&cf->cv, &cf->mu, &dl) == ETIMEDOUT)
            return cf->state != AIO_PENDING;
    return true;
}

/* Waits (up to timeout) and reads the outcome: CORO_OK with *result and
 * *exc (type NULL when the task returned), or CORO_RAISED with *exc =
 * TimeoutError or CancelledError. */
static int cf_outcome(coro_aio_cfuture *cf, double timeout, void **result, coro_exc *exc)
{
    pthread_mutex_lock(&cf->mu);
    int rc = CORO_OK;
    if (!cf_wait(cf, timeout)) {
        coro_exc_set(exc, &coro_aio_TimeoutError, "");
        rc = CORO_RAISED;
    } else if (cf->state == AIO_CANCELLED) {
        coro_exc_set(exc, &coro_aio_CancelledError, "");
        rc = CORO_RAISED;
    } else {
        *result = cf->result;
        *exc = cf->exc;
    }
    pthread_mutex_unlock(&cf->mu);
    return rc;
}

int coro_aio_cfuture_result(coro_aio_cfuture *cf, double timeout, void **result, coro_exc *exc)
{
    if (cf == NULL || isnan(timeout))
        return coro__aio_fail(CORO_EINVAL, "cfuture_result: a future and a timeout that is "
                                           "not NaN are required");
    void *v = NULL;
    coro_exc e;
    int rc = cf_outcome(cf, timeout, &v, &e);
    if (rc == CORO_OK && e.type != NULL)
        rc = CORO_RAISED; /* result() raises the task's exception */
    if (rc == CORO_RAISED) {
        if (exc != NULL)
            *exc = e;
    } else if (result != NULL)
        *result = v;
    return rc;
}

int coro_aio_cfuture_exception(coro_aio_cfuture *cf, double timeout, coro_exc *exc)
{
    if (cf == NULL || isnan(timeout))
        return coro__aio_fail(CORO_EINVAL, "cfuture_exception: a future and a timeout that "
                                           "is not NaN are required");
    void *v = NULL;
    coro_exc e;
    int rc = cf_outcome(cf, timeout, &v, &e);
    if (exc != NULL)
        *exc = e;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The loop's side                                                          */
/* ------------------------------------------------------------------------ */

void coro__aio_threads_collect(coro_aio_loop *loop)
{
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    aio_req *r = th->r_head;
    th->r_head = th->r_tail = NULL;
    pthread_mutex_unlock(&th->mu);
    while (r != NULL) {
        aio_req *next = r->next;
        switch (r->kind) {
        case REQ_DELIVER: {
            aio_call *c = container(r, aio_call, req);
            if (coro_aio_call_soon(loop, deliver_cb, c, NULL) < 0)
                deliver(loop, c); /* out of memory: deliver now rather than never */
            break;
        }
        case REQ_SUBMIT: {
            coro_aio_cfuture *cf = container(r, coro_aio_cfuture, submit_req);
            if (coro_aio_call_soon(loop, submit_cb, cf, NULL) < 0)
                submit_cb(cf);
            break;
        }
        default: { /* REQ_CANCEL: call_soon_threadsafe(task.cancel), done at once */
            coro_aio_cfuture *cf = container(r, coro_aio_cfuture, cancel_req);
            if (cf->task != NULL)
                coro_aio_future_cancel(cf->task, NULL);
            coro_aio_cfuture_release(cf);
            break;
        }
        }
        r = next;
    }
}

void coro__aio_threads_close(coro_aio_loop *loop)
{
    coro__aio_threads *th = loop->threads;
    pthread_mutex_lock(&th->mu);
    th->closed = true;
    pthread_cond_broadcast(&th->work_cv);
    pthread_mutex_unlock(&th->mu);
    for (int i = 0; i < th->nworkers; i++)
        pthread_join(th->workers[i], NULL);
    th->nworkers = 0;

    pthread_mutex_lock(&th->mu);
    aio_req *r = th->r_head;
    th->r_head = th->r_tail = NULL;
    pthread_mutex_unlock(&th->mu);
    for (; r != NULL; r = r->next)
        if (r->kind == REQ_CANCEL)
            coro_aio_cfuture_release(container(r, coro_aio_cfuture, cancel_req));
    /* DELIVERs (queued now or as ready callbacks the close drops) and the
     * SUBMITs are settled through th->calls and th->cfs. */
    while (th->calls != NULL)
        deliver(loop, th->calls);
    for (;;) {
        pthread_mutex_lock(&th->mu);
        coro_aio_cfuture *cf = th->cfs;
        pthread_mutex_unlock(&th->mu);
        if (cf == NULL)
            break;
        cf_settle(cf, AIO_CANCELLED, NULL, NULL);
        if (cf->task != NULL)
            coro_aio_future_remove_done_callback(cf->task, chain_done, cf);
        cf_detach(loop, cf);
    }
}
