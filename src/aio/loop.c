/* loop.c - the event loop: handles, the ready queue, one iteration, run, close.
 * SPDX-License-Identifier: MIT
 *
 * One iteration is asyncio's BaseEventLoop._run_once:
 *   1. drop cancelled timers: all of them when more than 100 are scheduled
 *      and more than half are cancelled, else those at the top of the heap;
 *   2. poll: without blocking when anything is ready (or the loop is
 *      stopping), else until the next deadline, else without a limit;
 *   3. move every timer whose deadline has come (when <= now, one clock
 *      read) to the ready queue, in heap order;
 *   4. run the handles that are in the ready queue now, and only those: what
 *      they schedule waits for the next iteration. Cancelled ones are skipped.
 * Threadsafe calls join the ready queue at the start of an iteration and
 * after the poll, so they run in the iteration that saw them.
 */
#include "aio_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

_Thread_local coro_aio_loop *coro__aio_running;
static _Thread_local char last_error[256];

/* asyncio's _MIN_SCHEDULED_TIMER_HANDLES and ..._FRACTION (0.5). */
#define MIN_SCHEDULED_TIMER_HANDLES 100
/* asyncio's MAXIMUM_SELECT_TIMEOUT: 24 hours. */
#define MAX_SELECT_NS (INT64_C(86400) * 1000000000)

const char *coro_aio_last_error(void)
{
    return last_error;
}

int coro__aio_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------------------ */
/* Clock                                                                    */
/* ------------------------------------------------------------------------ */

int64_t coro__aio_now(const coro_aio_loop *loop)
{
    if (loop->clock == CORO_AIO_CLOCK_VIRTUAL)
        return loop->vtime;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t coro_aio_time_ns(const coro_aio_loop *loop)
{
    return loop ? coro__aio_now(loop) : 0;
}

double coro_aio_time(const coro_aio_loop *loop)
{
    return loop ? (double)coro__aio_now(loop) / 1e9 : 0.0;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

static void loop_free(coro_aio_loop *loop)
{
    while (loop->free_handles) {
        coro_aio_handle *h = loop->free_handles;
        loop->free_handles = h->next;
        free(h);
    }
    while (loop->free_futures) {
        coro_aio_future *f = loop->free_futures;
        loop->free_futures = f->next_free;
        free(f);
    }
    while (loop->free_tasks) {
        aio_task *t = loop->free_tasks;
        loop->free_tasks = (aio_task *)t->fut.next_free;
        free(t);
    }
    coro__aio_egroups_free(loop);
    coro__aio_threads_free(loop);
    coro__aio_dns_free(loop);
    pthread_mutex_destroy(&loop->ts_lock);
    free(loop);
}

void coro__aio_loop_unlive(coro_aio_loop *loop)
{
    if (--loop->live == 0 && loop->closed)
        loop_free(loop);
}

static coro_aio_handle *handle_alloc(coro_aio_loop *loop)
{
    coro_aio_handle *h = loop->free_handles;
    if (h != NULL)
        loop->free_handles = h->next;
    else if ((h = coro__aio_malloc(sizeof *h)) == NULL) {
        coro__aio_fail(CORO_ENOMEM, "could not allocate a handle");
        return NULL;
    }
    memset(h, 0, sizeof *h);
    h->loop = loop;
    h->refs = 1;
    loop->live++;
    return h;
}

/* Drops what the handle holds on futures. */
static inline void handle_clear(coro_aio_handle *h)
{
    coro_aio_future *fut = h->fut;
    void *arg = h->arg;
    bool arg_ref = h->arg_is_fut;
    h->fut = NULL;
    h->arg = NULL;
    h->arg_is_fut = false;
    coro__aio_unref(fut);
    if (arg_ref)
        coro__aio_unref(arg);
}

static inline void handle_unref(coro_aio_handle *h)
{
    if (--h->refs > 0)
        return;
    handle_clear(h);
    if (h->threadsafe) {
        free(h);
        return;
    }
    coro_aio_loop *loop = h->loop;
    h->next = loop->free_handles;
    loop->free_handles = h;
    coro__aio_loop_unlive(loop);
}

void coro_aio_handle_release(coro_aio_handle *h)
{
    if (h != NULL)
        handle_unref(h);
}

void coro_aio_handle_cancel(coro_aio_handle *h)
{
    if (h == NULL || h->cancelled)
        return;
    h->cancelled = true;
    if (h->scheduled)
        h->loop->timer_cancelled++;
    handle_clear(h);
}

bool coro_aio_handle_cancelled(const coro_aio_handle *h)
{
    return h != NULL && h->cancelled;
}

double coro_aio_handle_when(const coro_aio_handle *h)
{
    return h != NULL && h->is_timer ? (double)h->when / 1e9 : -1.0;
}

__attribute__((noinline)) int coro__aio_ring_grow(coro_aio_loop *loop)
{
    size_t cap = loop->ring_cap ? loop->ring_cap * 2 : 256;
    aio_ready *n = coro__aio_malloc(cap * sizeof *n);
    if (n == NULL)
        return coro__aio_fail(CORO_ENOMEM, "could not grow the ready queue");
    for (size_t i = 0; i < loop->ring_len; i++)
        n[i] = loop->ring[(loop->ring_head + i) & (loop->ring_cap - 1)];
    free(loop->ring);
    loop->ring = n;
    loop->ring_cap = cap;
    loop->ring_head = 0;
    return CORO_OK;
}

static inline aio_ready ring_pop(coro_aio_loop *loop)
{
    aio_ready e = loop->ring[loop->ring_head];
    loop->ring_head = (loop->ring_head + 1) & (loop->ring_cap - 1);
    loop->ring_len--;
    return e;
}

/* Drops a ready entry without running it (loop_close): a handle loses the
 * queue's reference, a tagged entry its reference on the task. */
static void ready_drop(aio_ready e)
{
    if ((e & AIO_R_TAGS) == AIO_R_DONE)
        coro__aio_run_done_entry((coro_aio_future *)(e & ~(aio_ready)AIO_R_TAGS), false);
    else if (e & AIO_R_TAGS)
        coro__aio_unref(&((aio_task *)(e & ~(aio_ready)AIO_R_TAGS))->fut);
    else
        handle_unref((coro_aio_handle *)e);
}

static int check_open(const coro_aio_loop *loop, const char *what)
{
    if (loop == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: loop is NULL", what);
    if (loop->closed)
        return coro__aio_fail(CORO_EINVAL, "%s: Event loop is closed", what);
    return CORO_OK;
}

/* Appends a fresh handle to the ready queue; on success the caller fills it
 * (the queue's reference is the one handle_alloc made). */
static coro_aio_handle *soon(coro_aio_loop *loop)
{
    coro_aio_handle *h = handle_alloc(loop);
    if (h == NULL)
        return NULL;
    if (coro__aio_ring_push(loop, (aio_ready)h) < 0) {
        h->refs = 0;
        h->next = loop->free_handles;
        loop->free_handles = h;
        loop->live--;
        return NULL;
    }
    return h;
}

int coro_aio_call_soon(coro_aio_loop *loop, coro_aio_callback_fn fn, void *arg,
                       coro_aio_handle **out)
{
    int rc = check_open(loop, "call_soon");
    if (rc < 0)
        return rc;
    if (fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "call_soon: fn is required");
    coro_aio_handle *h = soon(loop);
    if (h == NULL)
        return CORO_ENOMEM;
    h->kind = AIO_H_CALL;
    h->fn.call = fn;
    h->arg = arg;
    if (out != NULL) {
        h->refs++;
        *out = h;
    }
    return CORO_OK;
}

int coro__aio_soon_done(coro_aio_loop *loop, coro_aio_done_fn fn, coro_aio_future *fut,
                        void *arg, bool arg_is_fut)
{
    coro_aio_handle *h = soon(loop);
    if (h == NULL)
        return CORO_ENOMEM;
    h->kind = AIO_H_DONE;
    h->fn.done = fn;
    h->fut = coro_aio_future_ref(fut);
    h->arg = arg;
    h->arg_is_fut = arg_is_fut;
    if (arg_is_fut)
        coro_aio_future_ref(arg);
    return CORO_OK;
}

/* A timer handle for when_ns in the heap, or NULL (the handle then went
 * back unused). The caller fills in kind, fn and arguments. */
static coro_aio_handle *timer(coro_aio_loop *loop, int64_t when_ns, coro_aio_handle **out)
{
    coro_aio_handle *h = handle_alloc(loop);
    if (h == NULL)
        return NULL;
    h->is_timer = true;
    h->when = when_ns;
    if (coro__aio_heap_push(loop, h) < 0) {
        handle_unref(h);
        return NULL;
    }
    h->scheduled = true;
    if (out != NULL) {
        h->refs++;
        *out = h;
    }
    return h;
}

int coro_aio_call_at(coro_aio_loop *loop, double when, coro_aio_callback_fn fn, void *arg,
                     coro_aio_handle **out)
{
    int rc = check_open(loop, "call_at");
    if (rc < 0)
        return rc;
    if (fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "call_at: fn is required");
    if (isnan(when))
        return coro__aio_fail(CORO_EINVAL, "call_at: when is NaN");
    double ns = when * 1e9;
    int64_t w = ns >= 9.2e18 ? INT64_MAX : ns <= -9.2e18 ? INT64_MIN : (int64_t)llround(ns);
    coro_aio_handle *h = timer(loop, w, out);
    if (h == NULL)
        return CORO_ENOMEM;
    h->kind = AIO_H_CALL;
    h->fn.call = fn;
    h->arg = arg;
    return CORO_OK;
}

int coro__aio_later_done(coro_aio_loop *loop, int64_t when_ns, coro_aio_done_fn fn,
                         coro_aio_future *fut, coro_aio_handle **out)
{
    coro_aio_handle *h = timer(loop, when_ns, out);
    if (h == NULL)
        return CORO_ENOMEM;
    h->kind = AIO_H_DONE;
    h->fn.done = fn;
    h->fut = coro_aio_future_ref(fut);
    return CORO_OK;
}

int coro_aio_call_later(coro_aio_loop *loop, double delay, coro_aio_callback_fn fn, void *arg,
                        coro_aio_handle **out)
{
    int rc = check_open(loop, "call_later");
    if (rc < 0)
        return rc;
    if (isnan(delay))
        return coro__aio_fail(CORO_EINVAL, "call_later: delay is NaN");
    return coro_aio_call_at(loop, coro_aio_time(loop) + delay, fn, arg, out);
}

int coro_aio_call_soon_threadsafe(coro_aio_loop *loop, coro_aio_callback_fn fn, void *arg)
{
    if (loop == NULL || fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "call_soon_threadsafe: loop and fn are required");
    coro_aio_handle *h = coro__aio_calloc(1, sizeof *h);
    if (h == NULL)
        return coro__aio_fail(CORO_ENOMEM, "call_soon_threadsafe: could not allocate a handle");
    h->loop = loop;
    h->refs = 1;
    h->threadsafe = true;
    h->kind = AIO_H_CALL;
    h->fn.call = fn;
    h->arg = arg;
    pthread_mutex_lock(&loop->ts_lock);
    if (loop->closed) {
        pthread_mutex_unlock(&loop->ts_lock);
        free(h);
        return coro__aio_fail(CORO_EINVAL, "call_soon_threadsafe: Event loop is closed");
    }
    if (loop->ts_tail)
        loop->ts_tail->next = h;
    else
        loop->ts_head = h;
    loop->ts_tail = h;
    coro__aio_wake(loop);
    pthread_mutex_unlock(&loop->ts_lock);
    return CORO_OK;
}

void coro__aio_wake(coro_aio_loop *loop)
{
    if (atomic_exchange(&loop->ts_pending, 1) == 0) {
        uint64_t one = 1;
        ssize_t n = write(loop->wake_fd, &one, sizeof one);
        (void)n; /* EAGAIN: the counter is already non-zero, the loop wakes */
    }
}

static void drain_threadsafe_slow(coro_aio_loop *loop);

/* Moves the threadsafe calls to the ready queue. The check is inline: it is
 * all an iteration without threadsafe calls pays. */
static inline void drain_threadsafe(coro_aio_loop *loop)
{
    if (atomic_load_explicit(&loop->ts_pending, memory_order_acquire) != 0)
        drain_threadsafe_slow(loop);
}

static void drain_threadsafe_slow(coro_aio_loop *loop)
{
    pthread_mutex_lock(&loop->ts_lock);
    coro_aio_handle *h = loop->ts_head;
    loop->ts_head = loop->ts_tail = NULL;
    atomic_store(&loop->ts_pending, 0);
    uint64_t v;
    ssize_t n = read(loop->wake_fd, &v, sizeof v); /* consumed with the calls */
    (void)n;
    pthread_mutex_unlock(&loop->ts_lock);
    /* What threads.c's workers and submitters queued (they set ts_pending
     * after queueing, so nothing queued before the reset above is missed). */
    coro__aio_threads_collect(loop);
    coro__aio_signals_collect(loop); /* signals.c: counted deliveries become callbacks */
    while (h != NULL) {
        coro_aio_handle *next = h->next;
        h->next = NULL;
        if (coro__aio_ring_push(loop, (aio_ready)h) < 0) {
            fprintf(stderr, "libcoro-aio: out of memory, a threadsafe call was dropped\n");
            free(h);
        }
        h = next;
    }
}

/* ------------------------------------------------------------------------ */
/* One iteration                                                            */
/* ------------------------------------------------------------------------ */

/* Runs one ready entry and drops the queue's reference on what it names. */
static inline void run_ready(aio_ready e)
{
    if (e & AIO_R_TAGS) {
        if ((e & AIO_R_TAGS) == AIO_R_DONE) {
            coro__aio_run_done_entry((coro_aio_future *)(e & ~(aio_ready)AIO_R_TAGS), true);
            return;
        }
        aio_task *t = (aio_task *)(e & ~(aio_ready)AIO_R_TAGS);
        if (e & AIO_R_WAKEUP)
            coro__aio_run_wakeup(t->fut.loop, t);
        else
            coro__aio_run_step(t->fut.loop, t);
        coro__aio_unref(&t->fut);
        return;
    }
    coro_aio_handle *h = (coro_aio_handle *)e;
    if (!h->cancelled) {
        if (h->kind == AIO_H_CALL)
            h->fn.call(h->arg);
        else
            h->fn.done(h->fut, h->arg);
    }
    handle_unref(h);
}

/* Always inlined into run_loop: a task's step resumes in this frame (see
 * coro__aio_step_send), so an iteration returns from no function. */
static inline __attribute__((always_inline)) void run_once(coro_aio_loop *loop)
{
    drain_threadsafe(loop);

    size_t sched = loop->heap_len;
    if (sched > MIN_SCHEDULED_TIMER_HANDLES && loop->timer_cancelled * 2 > sched) {
        size_t j = 0;
        for (size_t i = 0; i < loop->heap_len; i++) {
            coro_aio_handle *h = loop->heap[i].h;
            if (h->cancelled) {
                h->scheduled = false;
                handle_unref(h);
            } else
                loop->heap[j++] = loop->heap[i];
        }
        loop->heap_len = j;
        coro__aio_heap_heapify(loop);
        loop->timer_cancelled = 0;
    } else {
        while (loop->heap_len && loop->heap[0].h->cancelled) {
            loop->timer_cancelled--;
            coro_aio_handle *h = coro__aio_heap_pop(loop);
            h->scheduled = false;
            handle_unref(h);
        }
    }

    int64_t timeout = -1;
    int64_t jump = INT64_MIN;
    if (loop->ring_len || loop->stopping)
        timeout = 0;
    else if (loop->heap_len) {
        int64_t when = loop->heap[0].when;
        if (loop->clock == CORO_AIO_CLOCK_VIRTUAL) {
            /* autojump: nothing else can happen first, unless a registered
             * descriptor is ready now (decided after the poll) */
            if (when > loop->vtime)
                jump = when;
            timeout = 0;
        } else {
            int64_t now = coro__aio_now(loop);
            timeout = when <= now ? 0 : when - now;
            if (timeout > MAX_SELECT_NS)
                timeout = MAX_SELECT_NS;
        }
    }

    if (loop->nowait)
        timeout = 0; /* coro_aio_run_once (embed.c) never blocks */

    /* With only the wake-up descriptor registered, a poll that cannot block
     * would only tell what drain_threadsafe reads from the flag: skipped.
     * Descriptors waited on (fd.c) are polled every iteration; their events
     * become ready handles after the threadsafe calls, in poll order. */
    bool io_events = false;
    if (timeout != 0 || loop->fd_registered) {
        coro__aio_poll_event evs[64];
        int n = coro__aio_poll_wait(loop->poll, evs, 64, timeout);
        drain_threadsafe(loop);
        for (int i = 0; i < n; i++)
            if (evs[i].udata != NULL) {
                coro__aio_fd_event(loop, evs[i].udata, evs[i].events);
                io_events = true;
            }
    }
    if (jump != INT64_MIN && !io_events)
        loop->vtime = jump;

    /* One clock read decides which timers are due; with none scheduled
     * there is nothing to decide (and a clock read is a third of a
     * sleep(0) round trip). */
    int64_t end = loop->heap_len ? coro__aio_now(loop) : 0;
    while (loop->heap_len) {
        if (loop->heap[0].when > end)
            break;
        if (loop->ring_len == loop->ring_cap && coro__aio_ring_grow(loop) < 0)
            break;
        coro_aio_handle *h = coro__aio_heap_pop(loop);
        h->scheduled = false;
        coro__aio_ring_push(loop, (aio_ready)h);
    }

    for (size_t n = loop->ring_len; n > 0; n--)
        run_ready(ring_pop(loop));
}

void coro__aio_iterate(coro_aio_loop *loop)
{
    run_once(loop);
}

static int check_runnable(coro_aio_loop *loop, const char *what)
{
    int rc = check_open(loop, what);
    if (rc < 0)
        return rc;
    if (loop->running)
        return coro__aio_fail(CORO_ERUNNING, "%s: This event loop is already running", what);
    if (coro__aio_running != NULL)
        return coro__aio_fail(CORO_ERUNNING,
                              "%s: Cannot run the event loop while another loop is running",
                              what);
    return CORO_OK;
}

static void run_loop(coro_aio_loop *loop)
{
    coro__aio_running = loop;
    loop->running = true;
    for (;;) {
        run_once(loop);
        if (loop->stopping)
            break;
    }
    loop->stopping = false;
    loop->running = false;
    coro__aio_running = NULL;
}

int coro_aio_run_forever(coro_aio_loop *loop)
{
    int rc = check_runnable(loop, "run_forever");
    if (rc < 0)
        return rc;
    run_loop(loop);
    return CORO_OK;
}

void coro_aio_stop(coro_aio_loop *loop)
{
    if (loop != NULL)
        loop->stopping = true;
}

bool coro_aio_is_running(const coro_aio_loop *loop)
{
    return loop != NULL && loop->running;
}

bool coro_aio_is_closed(const coro_aio_loop *loop)
{
    return loop != NULL && loop->closed;
}

coro_aio_loop *coro_aio_get_running_loop(void)
{
    return coro__aio_running;
}

/* _run_until_complete_cb: reads the exception (so it counts as retrieved)
 * and stops the loop. */
static void until_complete_cb(coro_aio_future *f, void *arg)
{
    (void)arg;
    if (f->state != AIO_CANCELLED)
        f->log_tb = false;
    f->loop->stopping = true;
}

int coro_aio_run_until_complete(coro_aio_loop *loop, coro_aio_future *f, void **result,
                                coro_exc *exc)
{
    int rc = check_runnable(loop, "run_until_complete");
    if (rc < 0)
        return rc;
    if (f == NULL)
        return coro__aio_fail(CORO_EINVAL, "run_until_complete: future is NULL");
    if (f->loop != loop)
        return coro__aio_fail(CORO_EINVAL,
                              "run_until_complete: The future belongs to a different loop "
                              "than the one specified as the loop argument");
    coro_aio_future_ref(f);
    if ((rc = coro_aio_future_add_done_callback(f, until_complete_cb, NULL)) < 0) {
        coro_aio_future_release(f);
        return rc;
    }
    run_loop(loop);
    coro_aio_future_remove_done_callback(f, until_complete_cb, NULL);
    if (f->state == AIO_PENDING) {
        coro_aio_future_release(f);
        return coro__aio_fail(CORO_EINVAL,
                              "run_until_complete: Event loop stopped before Future completed.");
    }
    rc = coro_aio_future_result(f, result, exc);
    coro_aio_future_release(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */
/* ------------------------------------------------------------------------ */

void coro_aio_loop_options_init(coro_aio_loop_options *opt)
{
    if (opt != NULL) {
        coro_aio_loop_options d = CORO_AIO_LOOP_OPTIONS_INIT;
        *opt = d;
    }
}

int coro_aio_loop_new(coro_aio_loop **out, const coro_aio_loop_options *opt)
{
    coro_aio_loop_options o = CORO_AIO_LOOP_OPTIONS_INIT;
    if (opt != NULL)
        o = *opt;
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "loop_new: out is NULL");
    if (o.clock != CORO_AIO_CLOCK_MONOTONIC && o.clock != CORO_AIO_CLOCK_VIRTUAL)
        return coro__aio_fail(CORO_EINVAL, "loop_new: unknown clock %d", o.clock);
    if (o.stack_mode != CORO_STACK_DEFAULT && o.stack_mode != CORO_STACK_GUARDED &&
        o.stack_mode != CORO_STACK_COMPACT)
        return coro__aio_fail(CORO_EINVAL, "loop_new: unknown stack mode %d", o.stack_mode);
    coro_aio_loop *loop = coro__aio_calloc(1, sizeof *loop);
    if (loop == NULL)
        return coro__aio_fail(CORO_ENOMEM, "loop_new: could not allocate the loop");
    int rc = coro__aio_poll_open(&loop->poll);
    if (rc < 0)
        goto fail_loop;
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0) {
        rc = coro__aio_fail(CORO_ENOMEM, "loop_new: eventfd: %s", strerror(errno));
        goto fail_poll;
    }
    if ((rc = coro__aio_poll_add(loop->poll, loop->wake_fd, CORO__AIO_READ, NULL)) < 0)
        goto fail_fd;
    if ((rc = coro__aio_ring_grow(loop)) < 0)
        goto fail_fd;
    if ((rc = coro__aio_threads_new(loop)) < 0)
        goto fail_ring;
    pthread_mutex_init(&loop->ts_lock, NULL);
    atomic_init(&loop->ts_pending, 0);
    loop->clock = o.clock;
    loop->stack_size = o.stack_size;
    loop->stack_mode = o.stack_mode == CORO_STACK_DEFAULT ? CORO_STACK_COMPACT : o.stack_mode;
    *out = loop;
    return CORO_OK;
fail_ring:
    free(loop->ring);
fail_fd:
    close(loop->wake_fd);
fail_poll:
    coro__aio_poll_close(loop->poll);
fail_loop:
    free(loop);
    return rc;
}

int coro_aio_loop_close(coro_aio_loop *loop)
{
    if (loop == NULL || loop->closed)
        return CORO_OK;
    if (loop->running)
        return coro__aio_fail(CORO_ERUNNING, "loop_close: Cannot close a running event loop");
    /* The scheduled callbacks go first (loop.close clears _ready and
     * _scheduled), then the tasks left pending are destroyed. */
    loop->live++; /* keep the struct while releasing */
    coro__aio_signals_close(loop); /* the dispositions go back first, as asyncio's */
    coro__aio_threads_close(loop); /* joins the workers; settles their calls */
    drain_threadsafe(loop);
    while (loop->ring_len)
        ready_drop(ring_pop(loop));
    while (loop->heap_len) {
        coro_aio_handle *h = loop->heap[--loop->heap_len].h;
        h->scheduled = false;
        handle_unref(h);
    }
    coro__aio_task_destroy_pending(loop);
    coro__aio_dns_close(loop); /* joins the resolver threads */
    coro__aio_fds_close(loop);
    pthread_mutex_lock(&loop->ts_lock);
    loop->closed = true;
    pthread_mutex_unlock(&loop->ts_lock);
    drain_threadsafe(loop);
    while (loop->ring_len)
        ready_drop(ring_pop(loop));
    free(loop->ring);
    loop->ring = NULL;
    loop->ring_cap = 0;
    free(loop->heap);
    loop->heap = NULL;
    close(loop->wake_fd);
    coro__aio_poll_close(loop->poll);
    loop->poll = NULL;
    coro__aio_loop_unlive(loop);
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* Exception handler                                                        */
/* ------------------------------------------------------------------------ */

void coro_aio_default_exception_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx)
{
    (void)loop;
    char buf[512];
    fprintf(stderr, "%s\n",
            ctx->message && ctx->message[0] ? ctx->message : "Unhandled exception in event loop");
    if (ctx->future)
        fprintf(stderr, "future: %s\n", coro_aio_future_repr(ctx->future, buf, sizeof buf));
    if (ctx->handle)
        fprintf(stderr, "handle: <Handle>\n");
    if (ctx->task)
        fprintf(stderr, "task: %s\n", coro_aio_future_repr(ctx->task, buf, sizeof buf));
    if (ctx->exception && ctx->exception->type)
        fprintf(stderr, "%s%s%s\n", ctx->exception->type->name,
                ctx->exception->message[0] ? ": " : "", ctx->exception->message);
}

void coro_aio_set_exception_handler(coro_aio_loop *loop, coro_aio_exception_handler_fn fn,
                                    void *udata)
{
    if (loop == NULL)
        return;
    loop->handler = fn;
    loop->handler_udata = fn ? udata : NULL;
}

void coro_aio_call_exception_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx)
{
    if (loop == NULL || ctx == NULL)
        return;
    if (loop->handler)
        loop->handler(loop, ctx, loop->handler_udata);
    else
        coro_aio_default_exception_handler(loop, ctx);
}

void coro__aio_report(coro_aio_loop *loop, const char *message, const coro_exc *exc,
                      coro_aio_future *future, coro_aio_future *task)
{
    coro_aio_exc_context ctx = {message, exc, future, task, NULL};
    coro_aio_call_exception_handler(loop, &ctx);
}
