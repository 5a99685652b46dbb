/* aio_int.h - the loop, handles, futures and tasks of libcoro-aio, and their invariants.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_AIO_INT_H
#define CORO_AIO_INT_H

#include "alloc.h"
#include "coro_aio.h"
#include "poll.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a handle calls when it runs (coro_aio_handle.kind). */
enum {
    AIO_H_CALL, /* fn.call(arg): call_soon / call_later / call_at */
    AIO_H_DONE  /* fn.done(fut, arg): a future's done callback */
};

/* An entry of the ready queue (loop->ring): a handle pointer, or a task
 * pointer tagged in its low bits (tasks and handles are malloc'd, so those
 * bits are free) for the two callbacks a task schedules for itself:
 *  - AIO_R_STEP: Task.__step (its pending exception, if any, waits in the
 *    task's step_exc): create_task's first step, a bare yield, a bad await;
 *  - AIO_R_WAKEUP: Task.__wakeup(t->fut_waiter), the done callback the task
 *    put on the future it awaits, queued when that future finished.
 * A tagged entry holds one reference on its task (the one a handle for the
 * callback would hold on it) and none on the future: t->fut_waiter holds
 * that one until the wakeup's step clears it. Neither callback can be seen
 * from outside (no handle is handed out for them, nothing can cancel them),
 * so the entry needs no handle: it takes the queue position the handle would
 * take and runs the same code when it is popped. */
typedef uintptr_t aio_ready;
/* A third tag, AIO_R_DONE, names a future whose done callbacks
 * cbs[0..nsched) could not each get a handle when it finished (out of
 * memory): the entry runs them in order at that queue position, which is
 * where their handles would have been (future.c, schedule_callbacks). It
 * holds one reference on the future. */
enum { AIO_R_STEP = 1, AIO_R_WAKEUP = 2, AIO_R_DONE = 3, AIO_R_TAGS = 3 };
_Static_assert(_Alignof(max_align_t) > AIO_R_TAGS, "malloc'd pointers must have two free bits");

/* A scheduled callback.
 *
 * References (refs): one for the loop while the handle sits in the ready
 * queue or the timer heap, one for the caller that asked for it (out
 * argument). The handle goes back to the loop's free list at zero.
 * A DONE handle holds a reference on `fut` (and on `arg` when arg_is_fut).
 * Cancelling drops them at once, as Python's Handle.cancel clears the
 * callback and its arguments.
 * `scheduled`: in the timer heap (TimerHandle._scheduled); a cancelled
 * scheduled handle is counted in loop->timer_cancelled until it leaves the
 * heap (lazy deletion, as asyncio does). */
struct coro_aio_handle {
    coro_aio_loop *loop;
    unsigned refs;
    unsigned char kind;
    bool cancelled;
    bool scheduled;
    bool arg_is_fut;
    bool is_timer;
    bool threadsafe; /* malloc'd by call_soon_threadsafe, freed with free() */
    int64_t when;    /* timers: deadline, loop nanoseconds */
    union {
        coro_aio_callback_fn call;
        coro_aio_done_fn done;
    } fn;
    void *arg;
    coro_aio_future *fut;
    struct coro_aio_handle *next; /* free list / threadsafe queue */
};

/* How a done callback's arg is held (coro__aio_add_cb). AIO_ARG_FUT: arg
 * is a future, referenced while the callback is registered and while its
 * call is queued. AIO_ARG_FUT_QUEUED: arg is a future referenced only once
 * the call is queued, for an owner that holds the future the callback is on
 * (gather holds its children: a reference back while registered would be a
 * cycle) and removes the callback before it is freed, which it cannot do
 * to a call already queued. */
enum { AIO_ARG_PLAIN = 0, AIO_ARG_FUT = 1, AIO_ARG_FUT_QUEUED = 2 };

/* A done callback registered on a future. */
typedef struct aio_cb {
    coro_aio_done_fn fn;
    void *arg;
    bool arg_is_fut;      /* arg is a future the entry holds a reference on */
    bool ref_when_queued; /* AIO_ARG_FUT_QUEUED: a queued call takes one */
} aio_cb;

enum { AIO_PENDING = 0, AIO_CANCELLED = 1, AIO_FINISHED = 2 };

#define AIO_INLINE_CBS 2

/* A future (and the first member of a task).
 *
 * State moves once from PENDING to CANCELLED or FINISHED; callbacks are
 * scheduled (call_soon) and the list emptied at that moment.
 * `exc` (malloc'd) is the exception of a FINISHED future that failed.
 * `cancel_msg` (malloc'd, NULL = None) is _cancel_message; `cancelled_exc`
 * (malloc'd) the CancelledError a task's body let escape, handed out once by
 * make_cancelled_error (_cancelled_exc).
 * `log_tb` is __log_traceback: an exception nobody read yet.
 * refs: the creator's, plus the loop's for a pending task, plus one per
 * handle or callback entry that names it. At zero it goes back to the loop. */
struct coro_aio_future {
    coro_aio_loop *loop;
    unsigned refs;
    unsigned char state;
    bool is_task;
    bool is_gather; /* an aio_gather (combinators.c) */
    bool log_tb;
    /* Set by the objects that embed a future only to be reference counted
     * (wait.c, taskgroup.c): called instead of the free list at zero. */
    void (*dtor)(coro_aio_future *f);
    void *result;
    coro_exc *exc;
    char *cancel_msg;
    coro_exc *cancelled_exc;
    aio_cb *cbs; /* cbs_inline until it outgrows it */
    unsigned ncb, cbcap;
    unsigned nsched; /* callbacks left to an AIO_R_DONE entry (out of memory) */
    aio_cb cbs_inline[AIO_INLINE_CBS];
    struct coro_aio_future *next_free;
};

/* A task: Task.__step drives `co`; only the loop resumes it.
 *
 *  - fut_waiter: the future the body awaits (with a reference), or NULL
 *    while a step is scheduled or running.
 *  - must_cancel / num_cancels: Task._must_cancel and
 *    _num_cancels_requested, exactly as 3.11 uses them.
 *  - step_exc: the exception the next scheduled step throws in (malloc'd),
 *    for the RuntimeErrors a step schedules (bad await).
 *  - prev/next: the loop's list of tasks not done (all_tasks); the loop holds
 *    a reference while the task is on it.
 *  - co is NULL until the first step creates it (or get_coro asks for it):
 *    a task that finishes in its first step borrows a pooled stack for that
 *    step only, so creating many tasks at once maps no stacks. */
typedef struct aio_task {
    coro_aio_future fut;
    coro *co;          /* made at the first step (materialize in task.c) */
    coro_fn fn;        /* what co runs, kept until then */
    void *arg;
    size_t stack_size; /* co's stack, from the options and the loop */
    int stack_mode;
    bool gone;         /* task_free ran: no step may run any more */
    char *name;        /* name_buf for "Task-N", else malloc'd */
    char name_buf[24];
    int num_cancels;
    bool must_cancel;
    bool listed;
    coro_aio_future *fut_waiter;
    coro_exc *step_exc;
    struct aio_task *prev, *next;
} aio_task;

/* A timer heap entry: the deadline is copied next to the handle so that
 * the sift loops compare without loading the handle (a cache miss per level
 * with a million timers). */
typedef struct aio_slot {
    int64_t when;
    coro_aio_handle *h;
} aio_slot;

/* The loop.
 *
 * Ready queue: a ring of aio_ready entries (handles, or tagged tasks; a
 * power-of-two capacity, grows by doubling, never shrinks): no allocation per
 * callback once warm. Timers: a binary
 * heap ordered as Python's heapq orders TimerHandles (by `when` only, with
 * heapq's exact sift algorithms, so ties pop in the same order).
 * Threadsafe calls go to ts_head/ts_tail under ts_lock and reach the ready
 * queue at the next iteration; the eventfd wakes a waiting poll.
 * Lifetime: `live` counts handles, futures and tasks handed out and not yet
 * back on a free list; close frees the loop's own resources, and the struct
 * itself goes when both closed and live == 0. */
struct coro_aio_loop {
    aio_ready *ring;
    size_t ring_cap, ring_head, ring_len;

    aio_slot *heap;
    size_t heap_len, heap_cap;
    size_t timer_cancelled;

    coro__aio_poll *poll;
    int wake_fd;
    pthread_mutex_t ts_lock;
    coro_aio_handle *ts_head, *ts_tail;
    atomic_int ts_pending;

    bool running, stopping, closed;
    int clock;
    int64_t vtime; /* the virtual clock, ns */

    coro_aio_handle *free_handles;
    coro_aio_future *free_futures;
    aio_task *free_tasks;
    size_t live;

    aio_task *tasks_head, *tasks_tail; /* not done, oldest first */
    size_t ntasks;
    aio_task *current;
    coro_aio_future *awaiting; /* set by coro_aio_await just before it yields */

    coro_aio_exception_handler_fn handler;
    void *handler_udata;

    size_t stack_size;
    int stack_mode;

    struct aio_egroup *egroups; /* exception groups raised here (taskgroup.c) */
    struct coro__aio_threads *threads; /* threads.c: worker pool, cross-thread requests */
    struct coro__aio_fds *fds; /* fd.c: per-descriptor readiness and waiters */
    size_t fd_registered;      /* descriptors in the poller besides wake_fd: while
                                  > 0 every iteration polls */
    struct coro__aio_dns *dns; /* dns.c: the resolver lane, made on first use */
    bool nowait;               /* embed.c's run_once: the poll never blocks */
};

/* --- loop.c --- */
extern _Thread_local coro_aio_loop *coro__aio_running;
int coro__aio_fail(int code, const char *fmt, ...) CORO_PRINTF(2, 3);
int64_t coro__aio_now(const coro_aio_loop *loop);
/* A handle for fn(fut, arg) appended to the ready queue (holds refs). */
int coro__aio_soon_done(coro_aio_loop *loop, coro_aio_done_fn fn, coro_aio_future *fut,
                        void *arg, bool arg_is_fut);
/* Doubles the ready queue (out of line: the hot pushes below then need no
 * stack frame). CORO_ENOMEM when it cannot. */
int coro__aio_ring_grow(coro_aio_loop *loop);

/* Appends e to the ready queue. */
static inline int coro__aio_ring_push(coro_aio_loop *loop, aio_ready e)
{
    if (loop->ring_len == loop->ring_cap) {
        int rc = coro__aio_ring_grow(loop);
        if (rc < 0)
            return rc;
    }
    loop->ring[(loop->ring_head + loop->ring_len++) & (loop->ring_cap - 1)] = e;
    return CORO_OK;
}
void coro__aio_loop_unlive(coro_aio_loop *loop);
/* A timer handle at loop time when_ns calling fn(fut, NULL) (holds a ref on
 * fut); *out gets a reference too. */
int coro__aio_later_done(coro_aio_loop *loop, int64_t when_ns, coro_aio_done_fn fn,
                         coro_aio_future *fut, coro_aio_handle **out);
void coro__aio_report(coro_aio_loop *loop, const char *message, const coro_exc *exc,
                      coro_aio_future *future, coro_aio_future *task);

/* Wakes the loop from another thread (a waiting poll returns; the next
 * drain_threadsafe runs coro__aio_threads_collect). */
void coro__aio_wake(coro_aio_loop *loop);

/* One iteration (run_once), for embed.c's coro_aio_run_once: the caller
 * sets the running loop and loop->nowait. */
void coro__aio_iterate(coro_aio_loop *loop);

/* --- threads.c: to_thread's pool and run_coroutine_threadsafe --- */
int coro__aio_threads_new(coro_aio_loop *loop);
/* Loop thread: turns what other threads asked for into ready callbacks. */
void coro__aio_threads_collect(coro_aio_loop *loop);
/* First step of loop_close: joins the workers, settles every call and
 * concurrent future the loop still holds. */
void coro__aio_threads_close(coro_aio_loop *loop);
void coro__aio_threads_free(coro_aio_loop *loop);

/* --- timer.c: heapq over TimerHandles --- */
int coro__aio_heap_push(coro_aio_loop *loop, coro_aio_handle *h);
coro_aio_handle *coro__aio_heap_pop(coro_aio_loop *loop);
void coro__aio_heap_heapify(coro_aio_loop *loop);

/* --- future.c --- */
coro_aio_future *coro__aio_future_alloc(coro_aio_loop *loop);
void coro__aio_future_init(coro_aio_future *f, coro_aio_loop *loop, bool is_task);
/* Future.cancel without the task override (super().cancel(msg)). */
bool coro__aio_future_cancel(coro_aio_future *f, const char *msg);
/* add_done_callback when f is done or its list is full (out of line). */
int coro__aio_add_cb_slow(coro_aio_future *f, coro_aio_done_fn fn, void *arg, int arg_ref);
int coro__aio_future_finish(coro_aio_future *f, void *result, const coro_exc *exc);
/* The AIO_R_DONE entry of f: runs (run) or drops its callbacks, then gives
 * up the entry's reference on f. */
void coro__aio_run_done_entry(coro_aio_future *f, bool run);
/* _make_cancelled_error into *out. */
void coro__aio_make_cancelled(coro_aio_future *f, coro_exc *out);
/* Frees what a finished future holds (exc, messages, callbacks). */
void coro__aio_future_clear(coro_aio_future *f);
void coro__aio_exc_repr(const coro_exc *e, char *buf, size_t size);
bool coro__aio_set_str(char **dst, const char *src);

/* What coro_aio_future_release does when the last reference goes. */
void coro__aio_future_last(coro_aio_future *f);

/* coro_aio_future_ref / _release for the loop's hot paths: inline, so that a
 * step or a handle does not pay a call for each reference it moves. */
static inline coro_aio_future *coro__aio_ref(coro_aio_future *f)
{
    f->refs++;
    return f;
}

static inline void coro__aio_unref(coro_aio_future *f)
{
    if (f != NULL && --f->refs == 0)
        coro__aio_future_last(f);
}

/* Task.__step of t appended to the ready queue (an AIO_R_STEP entry; takes
 * a new reference on t). */
static inline int coro__aio_soon_step(coro_aio_loop *loop, aio_task *t)
{
    int rc = coro__aio_ring_push(loop, (aio_ready)t | AIO_R_STEP);
    if (rc == CORO_OK)
        coro__aio_ref(&t->fut); /* the entry's */
    return rc;
}

/* Task.__wakeup of t appended to the ready queue (an AIO_R_WAKEUP entry).
 * It takes over the caller's reference on t: the one the done callback entry
 * held. Only for a done callback coro__aio_task_wakeup on t->fut_waiter. */
static inline int coro__aio_soon_wakeup(coro_aio_loop *loop, aio_task *t)
{
    return coro__aio_ring_push(loop, (aio_ready)t | AIO_R_WAKEUP);
}

/* add_done_callback; arg_ref (AIO_ARG_*) says how arg is held.
 * Inline for the common case: a pending future with room in its list. */
static inline int coro__aio_add_cb(coro_aio_future *f, coro_aio_done_fn fn, void *arg,
                                   int arg_ref)
{
    if (f->state != AIO_PENDING || f->ncb == f->cbcap)
        return coro__aio_add_cb_slow(f, fn, arg, arg_ref);
    aio_cb *cb = &f->cbs[f->ncb++];
    cb->fn = fn;
    cb->arg = arg;
    cb->arg_is_fut = arg_ref == AIO_ARG_FUT;
    cb->ref_when_queued = arg_ref == AIO_ARG_FUT_QUEUED;
    if (arg_ref == AIO_ARG_FUT)
        coro__aio_ref(arg);
    return CORO_OK;
}

/* --- combinators.c --- */
bool coro__aio_gather_cancel(coro_aio_future *f, const char *msg);
/* gather's done callback on each child (arg: the gather, held as
 * AIO_ARG_FUT_QUEUED, so the gather outlives a queued call). */
void coro__aio_gather_done(coro_aio_future *child, void *arg);
void coro__aio_gather_free(coro_aio_future *f);

/* --- task.c --- */
/* Task.__step: resumes t's coroutine, throwing exc_in in (or CancelledError
 * when must_cancel is set), then coro__aio_step_end. */
void coro__aio_step(aio_task *t, const coro_exc *exc_in);
/* The second half of Task.__step, once the coroutine is back with status st
 * (out: what it yielded or returned; awaited: the future coro_aio_await
 * announced): finishes the task, or schedules its next step, or registers
 * its wakeup on the awaited future. The caller holds a reference on t. */
void coro__aio_step_end(aio_task *t, int st, void *out, coro_aio_future *awaited);
/* A STEP entry's call: Task.__step of t unless t is done (or gone), with
 * the exception waiting in step_exc if there is one. */
void coro__aio_task_step(aio_task *t);
/* Task.__wakeup, the done callback a task puts on the future it awaits (arg:
 * the task, held by the entry). */
void coro__aio_task_wakeup(coro_aio_future *fut, void *arg);
void coro__aio_task_free(aio_task *t);
void coro__aio_task_destroy_pending(coro_aio_loop *loop);
/* coro__aio_check_await when the caller is not the task's own coroutine:
 * a coroutine it delegates to, or none of the task's (out of line). */
int coro__aio_check_await_slow(const char *what, coro **self);

/* The checks of coro_aio_await: inside a task of the running loop; *self is
 * the calling coroutine. CORO_EINVAL (with the message) otherwise. Inline
 * for the common case, an await in the task's own body. */
static inline int coro__aio_check_await(const char *what, coro **self)
{
    coro_aio_loop *loop = coro__aio_running;
    if (loop != NULL && loop->current != NULL && loop->current->co != NULL) {
        coro *c = coro_current();
        if (c == loop->current->co) {
            *self = c;
            return CORO_OK;
        }
    }
    return coro__aio_check_await_slow(what, self);
}

/* coro__aio_step with nothing to throw in, for the two ready entries (run
 * inline by the loop).
 *
 * Why inline: the coroutine's yield lands (after the switch) at the
 * instruction after coro_send. Every `ret` the loop then executes before it
 * calls down again pops a return address the task's side pushed, and
 * mispredicts; with this function, the entry dispatch and the iteration all
 * in run_loop's frame, the loop side executes none per iteration.
 *
 * The common cases are done here; every other case (a first step, a
 * must_cancel, a return or raise, a bad yield, a full callback list) goes
 * to coro__aio_step or coro__aio_step_end, which do exactly what this does
 * and more. The ready entry holds a reference on t throughout, so unlike
 * coro__aio_step this takes none. */
static inline void coro__aio_step_send(coro_aio_loop *loop, aio_task *t)
{
    if (t->must_cancel || t->co == NULL) {
        coro__aio_step(t, NULL);
        return;
    }
    coro_aio_future *waiter = t->fut_waiter;
    t->fut_waiter = NULL;
    coro__aio_unref(waiter);
    aio_task *prev = loop->current;
    loop->current = t;
    loop->awaiting = NULL;
    void *out = NULL;
    int st = coro_send(t->co, NULL, &out);
    loop->current = prev;
    coro_aio_future *awaited = loop->awaiting;
    loop->awaiting = NULL;
    if (st == CORO_YIELDED && !t->must_cancel) {
        if (out == NULL) {
            /* A bare yield (sleep(0)): the next step, at the tail. */
            if (coro__aio_soon_step(loop, t) == CORO_OK)
                return;
        } else if (out == awaited && awaited->loop == loop && awaited != &t->fut &&
                   awaited->state == AIO_PENDING && awaited->ncb < awaited->cbcap) {
            /* An await of a pending future of this loop: the wakeup goes on
             * it, and it becomes fut_waiter (the same two writes as
             * coro__aio_step_end's, in the same order). */
            coro__aio_add_cb(awaited, coro__aio_task_wakeup, t, AIO_ARG_FUT);
            t->fut_waiter = coro__aio_ref(awaited);
            return;
        }
    }
    coro__aio_step_end(t, st, out, awaited);
}

/* The AIO_R_STEP entry: coro__aio_task_step, its common case inline. */
static inline void coro__aio_run_step(coro_aio_loop *loop, aio_task *t)
{
    if (t->fut.state != AIO_PENDING || t->gone)
        return; /* _step(): already done (Python raises InvalidStateError) */
    if (t->step_exc != NULL)
        coro__aio_task_step(t);
    else
        coro__aio_step_send(loop, t);
}

/* The AIO_R_WAKEUP entry: coro__aio_task_wakeup(t->fut_waiter, t), its
 * common case (a result, no exception) inline. */
static inline void coro__aio_run_wakeup(coro_aio_loop *loop, aio_task *t)
{
    coro_aio_future *fut = t->fut_waiter;
    if (t->fut.state == AIO_PENDING && !t->gone && fut != NULL && fut->state == AIO_FINISHED &&
        fut->exc == NULL) {
        fut->log_tb = false; /* what result() does */
        coro__aio_step_send(loop, t);
    } else
        coro__aio_task_wakeup(fut, t);
}

/* The end of an await that is not a plain result (out of line): "await
 * wasn't used with future" when f is still pending, else f's exception or
 * CancelledError thrown in (CORO_THROWN), or CORO_OK with *result. */
int coro__aio_await_end(coro *self, coro_aio_future *f, void **result);

/* coro_aio_await for a non-NULL f, inline so that the resume after the
 * yield lands in the frame of the function that awaits (a lock's acquire,
 * an event's wait), which then returns straight to the body: each extra
 * frame between the yield and the body would cost a mispredicted `ret`
 * (see coro__aio_step_send). */
static inline int coro__aio_await(coro_aio_future *f, void **result)
{
    coro *self = NULL;
    int rc = coro__aio_check_await("await", &self);
    if (rc < 0)
        return rc;
    if (f->state == AIO_PENDING) {
        coro__aio_running->awaiting = f;
        rc = coro_yield(self, f, NULL);
        if (rc != CORO_OK)
            return rc;
    }
    if (f->state == AIO_FINISHED && f->exc == NULL) {
        f->log_tb = false; /* result(), without its 192-byte exception */
        if (result != NULL)
            *result = f->result;
        return CORO_OK;
    }
    return coro__aio_await_end(self, f, result);
}

/* --- fd.c --- */
/* A poll event for the descriptor registered with udata (fd + 1). */
void coro__aio_fd_event(coro_aio_loop *loop, void *udata, unsigned events);
void coro__aio_fd_fire(coro_aio_future *f, void *arg);
/* loop_close: drops the waiters still held, frees the table. */
void coro__aio_fds_close(coro_aio_loop *loop);
/* False only when fd is registered and its read mark is clear: a recv would
 * find nothing, so a reader may wait without trying (stream.c). */
bool coro__aio_fd_maybe_readable(const coro_aio_loop *loop, int fd);
/* A stream socket's read came back short: its receive queue is empty, so the
 * read mark is cleared now (any byte arriving later is a new edge the next
 * poll reports). Not when the poller reported a hang-up, a shutdown or an
 * error: those persist without a new edge, and the next recv must see them. */
void coro__aio_fd_drained(coro_aio_loop *loop, int fd);

/* --- dns.c --- */
struct addrinfo;
/* What the resolver lane's threads call: getaddrinfo(3). Tests replace it
 * (before any lookup) with a fake that blocks or fails on demand. */
extern int (*coro__aio_dns_lookup)(const char *host, const char *service,
                                   const struct addrinfo *hints, struct addrinfo **res);
/* loop_close, after the pending tasks are destroyed: joins the resolver
 * threads (each finishes its lookup), drops the lookups nobody will take. */
void coro__aio_dns_close(coro_aio_loop *loop);
/* The loop's memory goes: frees the lane. */
void coro__aio_dns_free(coro_aio_loop *loop);

/* --- signals.c --- */
/* drain_threadsafe_slow: schedules a callback for each signal delivered to
 * this loop since the last call. */
void coro__aio_signals_collect(coro_aio_loop *loop);
/* loop_close: puts back every disposition the loop changed. */
void coro__aio_signals_close(coro_aio_loop *loop);
/* add_signal_handler for the runner's SIGINT: from the second delivery on,
 * the handler itself restores the default disposition and re-raises. */
int coro__aio_signals_interrupt(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn,
                                void *arg);
/* True while signum's handler on loop is still (fn, arg). */
bool coro__aio_signals_owned_by(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn,
                                void *arg);

/* --- wait.c, timeouts.c, taskgroup.c --- */
/* The running coroutine, when it runs inside a task of the running loop. */
int coro__aio_self(const char *what, coro **self);
/* Makes *e the exception self's body is handling, exactly as coro_yield
 * reports a throw (context recorded as for any raise), and returns
 * CORO_THROWN: how an await reports an exception without suspending. The one
 * place that writes struct coro's exception state from outside the core
 * (task.c). */
int coro__aio_throw(coro *self, const coro_exc *e);
/* The loop's memory goes: free the exception groups raised on it. */
void coro__aio_egroups_free(coro_aio_loop *loop);
/* coro_aio_run hands the group in *e (if any) to its caller. */
void coro__aio_egroup_detach(coro_aio_loop *loop, const coro_exc *e);

#endif /* CORO_AIO_INT_H */
