/* locks.c - asyncio.locks: Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier.
 * SPDX-License-Identifier: MIT
 *
 * Each function follows the Python 3.11.7 method of the same name line by
 * line: which waiters are woken, when a waiter leaves the list, what a
 * waiter does when it is cancelled. The `try/finally: remove(fut)` of
 * asyncio becomes coro__aio_wait_end on every path out of the await; the
 * `except CancelledError:` blocks test the exception the await reported.
 *
 * Fairness, as 3.11: Lock.release wakes the first waiter only if it is not
 * already woken (_wake_up_first); an acquire finds the lock free only when no
 * waiter is left that is not cancelled, so a newcomer cannot overtake a woken
 * waiter. A waiter woken and then cancelled before it ran passes the wake-up
 * on (Lock: _wake_up_first when the lock is still free; Semaphore: gives the
 * unit back and wakes the next, gh-90155).
 */
#include "sync_int.h"
#include "../coro_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Waiter lists                                                             */
/* ------------------------------------------------------------------------ */

void coro__aio_wl_push(aio_wlist *l, aio_waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    l->n++;
    w->linked = true;
}

void coro__aio_wl_remove(aio_wlist *l, aio_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    l->n--;
    w->linked = false;
}

bool coro__aio_in_task(const char *what)
{
    coro_aio_loop *loop = coro__aio_running;
    if (loop == NULL || loop->current == NULL || coro_current() == NULL) {
        coro__aio_fail(CORO_EINVAL, "%s: called outside a task (no running event loop or no "
                                    "task running)", what);
        return false;
    }
    return true;
}

int coro__aio_throw_new(const coro_exc_type *type, const char *msg)
{
    coro_exc e;
    coro_exc_set(&e, type, msg);
    return coro__aio_throw(coro_current(), &e);
}

int coro__aio_wait_begin(coro_aio_loop **bound, aio_repr_fn repr, const void *obj, aio_wlist *l,
                         aio_waiter *w)
{
    coro_aio_loop *loop = coro__aio_running;
    w->linked = false;
    if (!coro__aio_in_task("wait"))
        return CORO_EINVAL;
    if (*bound == NULL)
        *bound = loop;
    else if (*bound != loop) {
        char r[160], msg[240];
        repr(obj, r, sizeof r);
        snprintf(msg, sizeof msg, "%s is bound to a different event loop", r);
        return coro__aio_throw_new(&coro_RuntimeError, msg);
    }
    if ((w->fut = coro__aio_future_alloc(loop)) == NULL)
        return CORO_ENOMEM;
    coro__aio_wl_push(l, w);
    return CORO_OK;
}

void coro__aio_wait_end(aio_wlist *l, aio_waiter *w)
{
    coro__aio_wl_remove(l, w);
    coro_aio_future_release(w->fut);
    w->fut = NULL;
}

static bool is_cancel(int rc)
{
    return rc == CORO_THROWN &&
           coro_exc_matches(coro_exception(coro_current())->type, &coro_aio_CancelledError);
}

/* ", waiters:N" when there are waiters, as the reprs add it. */
static void waiters_suffix(const aio_wlist *l, char *buf, size_t size)
{
    if (l->n)
        snprintf(buf, size, ", waiters:%zu", l->n);
    else
        buf[0] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Event                                                                    */
/* ------------------------------------------------------------------------ */

static void event_repr(const void *obj, char *buf, size_t size)
{
    const coro_aio_event *e = obj;
    char w[32];
    waiters_suffix(&e->waiters, w, sizeof w);
    snprintf(buf, size, "<asyncio.locks.Event object at %p [%s%s]>", obj,
             e->value ? "set" : "unset", w);
}

int coro_aio_event_new(coro_aio_event **out)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "event_new: out is NULL");
    if ((*out = coro__aio_calloc(1, sizeof **out)) == NULL)
        return coro__aio_fail(CORO_ENOMEM, "event_new: could not allocate the event");
    return CORO_OK;
}

int coro_aio_event_free(coro_aio_event *e)
{
    if (e == NULL)
        return CORO_OK;
    if (e->waiters.n)
        return coro__aio_fail(CORO_EBUSY, "event_free: %zu tasks still wait on the event; "
                                          "free it once they are done", e->waiters.n);
    free(e);
    return CORO_OK;
}

void coro__aio_event_set(coro_aio_event *e)
{
    if (e->value)
        return;
    e->value = true;
    for (aio_waiter *w = e->waiters.head; w != NULL; w = w->next)
        if (w->fut->state == AIO_PENDING)
            coro__aio_future_finish(w->fut, (void *)1, NULL);
}

void coro_aio_event_set(coro_aio_event *e)
{
    if (e != NULL)
        coro__aio_event_set(e);
}

void coro_aio_event_clear(coro_aio_event *e)
{
    if (e != NULL)
        e->value = false;
}

bool coro_aio_event_is_set(const coro_aio_event *e)
{
    return e != NULL && e->value;
}

/* Event.wait, inlined into both entry points: the await's resume then
 * lands in the frame that returns to the body (coro__aio_await). */
static inline __attribute__((always_inline)) int event_wait(coro_aio_event *e)
{
    if (e->value)
        return CORO_OK;
    aio_waiter w;
    int rc = coro__aio_wait_begin(&e->loop, event_repr, e, &e->waiters, &w);
    if (rc != CORO_OK)
        return rc;
    rc = coro__aio_await(w.fut, NULL);
    coro__aio_wait_end(&e->waiters, &w);
    return rc;
}

int coro__aio_event_wait(coro_aio_event *e)
{
    return event_wait(e);
}

int coro_aio_event_wait(coro_aio_event *e)
{
    if (e == NULL)
        return coro__aio_fail(CORO_EINVAL, "event_wait: event is NULL");
    return event_wait(e);
}

/* ------------------------------------------------------------------------ */
/* Lock                                                                     */
/* ------------------------------------------------------------------------ */

struct coro_aio_lock {
    coro_aio_loop *loop;
    aio_wlist waiters;
    bool locked;
};

static void lock_repr(const void *obj, char *buf, size_t size)
{
    const coro_aio_lock *l = obj;
    char w[32];
    waiters_suffix(&l->waiters, w, sizeof w);
    snprintf(buf, size, "<asyncio.locks.Lock object at %p [%s%s]>", obj,
             l->locked ? "locked" : "unlocked", w);
}

int coro_aio_lock_new(coro_aio_lock **out)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "lock_new: out is NULL");
    if ((*out = coro__aio_calloc(1, sizeof **out)) == NULL)
        return coro__aio_fail(CORO_ENOMEM, "lock_new: could not allocate the lock");
    return CORO_OK;
}

int coro_aio_lock_free(coro_aio_lock *l)
{
    if (l == NULL)
        return CORO_OK;
    if (l->waiters.n)
        return coro__aio_fail(CORO_EBUSY, "lock_free: %zu tasks still wait on the lock; "
                                          "free it once they are done", l->waiters.n);
    free(l);
    return CORO_OK;
}

bool coro_aio_lock_locked(const coro_aio_lock *l)
{
    return l != NULL && l->locked;
}

/* _wake_up_first: the first waiter, unless it is already done. */
static void wake_up_first(coro_aio_lock *l)
{
    aio_waiter *w = l->waiters.head;
    if (w != NULL && w->fut->state == AIO_PENDING)
        coro__aio_future_finish(w->fut, (void *)1, NULL);
}

int coro_aio_lock_acquire(coro_aio_lock *l)
{
    if (l == NULL)
        return coro__aio_fail(CORO_EINVAL, "lock_acquire: lock is NULL");
    if (!l->locked) {
        bool all_cancelled = true; /* all(w.cancelled() for w in waiters) */
        for (aio_waiter *w = l->waiters.head; w != NULL && all_cancelled; w = w->next)
            all_cancelled = w->fut->state == AIO_CANCELLED;
        if (all_cancelled) {
            l->locked = true;
            return CORO_OK;
        }
    }
    aio_waiter w;
    int rc = coro__aio_wait_begin(&l->loop, lock_repr, l, &l->waiters, &w);
    if (rc != CORO_OK)
        return rc;
    rc = coro__aio_await(w.fut, NULL);
    coro__aio_wait_end(&l->waiters, &w);
    if (rc != CORO_OK) {
        if (is_cancel(rc) && !l->locked)
            wake_up_first(l);
        return rc;
    }
    l->locked = true;
    return CORO_OK;
}

int coro_aio_lock_release(coro_aio_lock *l)
{
    if (l == NULL)
        return coro__aio_fail(CORO_EINVAL, "lock_release: lock is NULL");
    if (!l->locked)
        return coro__aio_fail(CORO_EINVAL, "lock_release: RuntimeError: Lock is not acquired.");
    l->locked = false;
    wake_up_first(l);
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* Semaphore, BoundedSemaphore                                              */
/* ------------------------------------------------------------------------ */

struct coro_aio_semaphore {
    coro_aio_loop *loop;
    aio_wlist waiters;
    long value;
    long bound; /* BoundedSemaphore._bound_value; -1 for a plain Semaphore */
};

static void sem_repr(const void *obj, char *buf, size_t size)
{
    const coro_aio_semaphore *s = obj;
    char w[32], v[48];
    waiters_suffix(&s->waiters, w, sizeof w);
    if (coro_aio_semaphore_locked(s))
        snprintf(v, sizeof v, "locked");
    else
        snprintf(v, sizeof v, "unlocked, value:%ld", s->value);
    snprintf(buf, size, "<asyncio.locks.%s object at %p [%s%s]>",
             s->bound >= 0 ? "BoundedSemaphore" : "Semaphore", obj, v, w);
}

int coro_aio_semaphore_new(coro_aio_semaphore **out, long value, bool bounded)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "semaphore_new: out is NULL");
    if (value < 0)
        return coro__aio_fail(CORO_EINVAL,
                              "semaphore_new: ValueError: Semaphore initial value must be >= 0");
    coro_aio_semaphore *s = coro__aio_calloc(1, sizeof *s);
    if (s == NULL)
        return coro__aio_fail(CORO_ENOMEM, "semaphore_new: could not allocate the semaphore");
    s->value = value;
    s->bound = bounded ? value : -1;
    *out = s;
    return CORO_OK;
}

int coro_aio_semaphore_free(coro_aio_semaphore *s)
{
    if (s == NULL)
        return CORO_OK;
    if (s->waiters.n)
        return coro__aio_fail(CORO_EBUSY, "semaphore_free: %zu tasks still wait on the "
                                          "semaphore; free it once they are done", s->waiters.n);
    free(s);
    return CORO_OK;
}

bool coro_aio_semaphore_locked(const coro_aio_semaphore *s)
{
    if (s == NULL)
        return false;
    if (s->value == 0)
        return true;
    for (aio_waiter *w = s->waiters.head; w != NULL; w = w->next)
        if (w->fut->state != AIO_CANCELLED)
            return true;
    return false;
}

long coro_aio_semaphore_value(const coro_aio_semaphore *s)
{
    return s ? s->value : 0;
}

/* _wake_up_next: the first waiter not done takes a unit now. */
static void wake_up_next(coro_aio_semaphore *s)
{
    for (aio_waiter *w = s->waiters.head; w != NULL; w = w->next)
        if (w->fut->state == AIO_PENDING) {
            s->value--;
            coro__aio_future_finish(w->fut, (void *)1, NULL);
            return;
        }
}

int coro_aio_semaphore_acquire(coro_aio_semaphore *s)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "semaphore_acquire: semaphore is NULL");
    if (!coro_aio_semaphore_locked(s)) {
        s->value--;
        return CORO_OK;
    }
    aio_waiter w;
    int rc = coro__aio_wait_begin(&s->loop, sem_repr, s, &s->waiters, &w);
    if (rc != CORO_OK)
        return rc;
    rc = coro__aio_await(w.fut, NULL);
    bool fut_cancelled = w.fut->state == AIO_CANCELLED;
    coro__aio_wait_end(&s->waiters, &w);
    if (rc != CORO_OK) {
        if (is_cancel(rc) && !fut_cancelled) {
            /* Woken (the unit was ours), then cancelled: give it back. */
            s->value++;
            wake_up_next(s);
        }
        return rc;
    }
    if (s->value > 0)
        wake_up_next(s);
    return CORO_OK;
}

int coro_aio_semaphore_release(coro_aio_semaphore *s)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "semaphore_release: semaphore is NULL");
    if (s->bound >= 0 && s->value >= s->bound)
        return coro__aio_fail(CORO_EINVAL, "semaphore_release: ValueError: BoundedSemaphore "
                                           "released too many times");
    s->value++;
    wake_up_next(s);
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* Condition                                                                */
/* ------------------------------------------------------------------------ */

struct coro_aio_condition {
    coro_aio_loop *loop;
    aio_wlist waiters;
    coro_aio_lock *lock;
    bool own_lock;
};

static void cond_repr(const void *obj, char *buf, size_t size)
{
    const coro_aio_condition *c = obj;
    char w[32];
    waiters_suffix(&c->waiters, w, sizeof w);
    snprintf(buf, size, "<asyncio.locks.Condition object at %p [%s%s]>", obj,
             c->lock->locked ? "locked" : "unlocked", w);
}

int coro_aio_condition_new(coro_aio_condition **out, coro_aio_lock *lock)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_new: out is NULL");
    coro_aio_condition *c = coro__aio_calloc(1, sizeof *c);
    if (c == NULL)
        return coro__aio_fail(CORO_ENOMEM, "condition_new: could not allocate the condition");
    c->lock = lock;
    if (lock == NULL) {
        if (coro_aio_lock_new(&c->lock) < 0) {
            free(c);
            return coro__aio_fail(CORO_ENOMEM, "condition_new: could not allocate the lock");
        }
        c->own_lock = true;
    }
    *out = c;
    return CORO_OK;
}

int coro_aio_condition_free(coro_aio_condition *c)
{
    if (c == NULL)
        return CORO_OK;
    if (c->waiters.n || (c->own_lock && c->lock->waiters.n))
        return coro__aio_fail(CORO_EBUSY, "condition_free: tasks still wait on the condition "
                                          "or its lock; free it once they are done");
    if (c->own_lock)
        coro_aio_lock_free(c->lock);
    free(c);
    return CORO_OK;
}

coro_aio_lock *coro_aio_condition_lock(const coro_aio_condition *c)
{
    return c ? c->lock : NULL;
}

int coro_aio_condition_acquire(coro_aio_condition *c)
{
    if (c == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_acquire: condition is NULL");
    return coro_aio_lock_acquire(c->lock);
}

int coro_aio_condition_release(coro_aio_condition *c)
{
    if (c == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_release: condition is NULL");
    return coro_aio_lock_release(c->lock);
}

bool coro_aio_condition_locked(const coro_aio_condition *c)
{
    return c != NULL && c->lock->locked;
}

/* _notify(n): up to n waiters not done yet get False. */
static void cond_notify(coro_aio_condition *c, size_t n)
{
    size_t idx = 0;
    for (aio_waiter *w = c->waiters.head; w != NULL && idx < n; w = w->next)
        if (w->fut->state == AIO_PENDING) {
            idx++;
            coro__aio_future_finish(w->fut, NULL, NULL);
        }
}

int coro_aio_condition_wait(coro_aio_condition *c)
{
    if (c == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_wait: condition is NULL");
    if (!coro__aio_in_task("condition_wait"))
        return CORO_EINVAL;
    if (!c->lock->locked)
        return coro__aio_throw_new(&coro_RuntimeError, "cannot wait on un-acquired lock");
    coro_aio_lock_release(c->lock);
    aio_waiter w;
    int rc = coro__aio_wait_begin(&c->loop, cond_repr, c, &c->waiters, &w);
    if (rc == CORO_OK) {
        rc = coro__aio_await(w.fut, NULL);
        coro__aio_wait_end(&c->waiters, &w);
    }
    /* On CORO_ENOMEM (no waiter could be made) the lock is taken back as the
     * finally block would, and the code returned. */
    /* finally: re-acquire, even through cancellation. */
    coro *self = coro_current();
    coro_exc saved;
    bool had_exc = rc == CORO_THROWN;
    if (had_exc)
        saved = self->exc;
    bool cancelled = false;
    for (;;) {
        int r = coro_aio_lock_acquire(c->lock);
        if (r == CORO_OK)
            break;
        if (is_cancel(r)) {
            cancelled = true;
            continue;
        }
        /* Another exception out of acquire (GeneratorExit from a destroy,
         * a loop binding error): it replaces ours, as in Python. */
        if (r == CORO_THROWN)
            cond_notify(c, 1);
        return r;
    }
    if (cancelled) {
        /* raise exceptions.CancelledError (a new one, no message). */
        coro_exc e;
        coro_exc_set(&e, &coro_aio_CancelledError, "");
        e.context = had_exc ? saved.type : NULL;
        self->exc = e;
        self->handling = true;
        rc = CORO_THROWN;
    } else if (had_exc) {
        self->exc = saved;
        self->handling = true;
    }
    if (rc == CORO_THROWN)
        cond_notify(c, 1); /* Python 3.13: pass a notification we may have had on */
    return rc;
}

int coro_aio_condition_wait_for(coro_aio_condition *c, coro_aio_predicate_fn pred, void *arg)
{
    if (c == NULL || pred == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_wait_for: condition and pred are required");
    while (!pred(arg)) {
        int rc = coro_aio_condition_wait(c);
        if (rc != CORO_OK)
            return rc;
    }
    return CORO_OK;
}

int coro_aio_condition_notify(coro_aio_condition *c, size_t n)
{
    if (c == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_notify: condition is NULL");
    if (!c->lock->locked)
        return coro__aio_fail(CORO_EINVAL,
                              "condition_notify: RuntimeError: cannot notify on un-acquired lock");
    cond_notify(c, n);
    return CORO_OK;
}

int coro_aio_condition_notify_all(coro_aio_condition *c)
{
    if (c == NULL)
        return coro__aio_fail(CORO_EINVAL, "condition_notify_all: condition is NULL");
    return coro_aio_condition_notify(c, c->waiters.n);
}

/* ------------------------------------------------------------------------ */
/* Barrier                                                                  */
/* ------------------------------------------------------------------------ */

const coro_exc_type coro_aio_BrokenBarrierError = {"BrokenBarrierError", &coro_RuntimeError};

enum { B_FILLING, B_DRAINING, B_RESETTING, B_BROKEN };

/* asyncio.Barrier: a condition of its own, the state (_BarrierState) and
 * the count of tasks inside wait(). */
struct coro_aio_barrier {
    coro_aio_condition *cond;
    long parties;
    long count;
    int state;
};

int coro_aio_barrier_new(coro_aio_barrier **out, long parties)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "barrier_new: out is NULL");
    if (parties < 1)
        return coro__aio_fail(CORO_EINVAL, "barrier_new: ValueError: parties must be > 0");
    coro_aio_barrier *b = coro__aio_calloc(1, sizeof *b);
    if (b == NULL || coro_aio_condition_new(&b->cond, NULL) < 0) {
        free(b);
        return coro__aio_fail(CORO_ENOMEM, "barrier_new: could not allocate the barrier");
    }
    b->parties = parties;
    *out = b;
    return CORO_OK;
}

int coro_aio_barrier_free(coro_aio_barrier *b)
{
    if (b == NULL)
        return CORO_OK;
    if (b->count || b->cond->waiters.n || b->cond->lock->waiters.n)
        return coro__aio_fail(CORO_EBUSY, "barrier_free: tasks still wait on the barrier; "
                                          "free it once they are done");
    coro_aio_condition_free(b->cond);
    free(b);
    return CORO_OK;
}

long coro_aio_barrier_parties(const coro_aio_barrier *b)
{
    return b ? b->parties : 0;
}

long coro_aio_barrier_n_waiting(const coro_aio_barrier *b)
{
    return b && b->state == B_FILLING ? b->count : 0;
}

bool coro_aio_barrier_broken(const coro_aio_barrier *b)
{
    return b != NULL && b->state == B_BROKEN;
}

static bool not_draining(void *arg)
{
    const coro_aio_barrier *b = arg;
    return b->state != B_DRAINING && b->state != B_RESETTING;
}

static bool not_filling(void *arg)
{
    return ((const coro_aio_barrier *)arg)->state != B_FILLING;
}

/* _exit: the last task out ends draining or resetting. */
static void barrier_exit(coro_aio_barrier *b)
{
    if (b->count == 0) {
        if (b->state == B_RESETTING || b->state == B_DRAINING)
            b->state = B_FILLING;
        cond_notify(b->cond, b->cond->waiters.n);
    }
}

int coro_aio_barrier_wait(coro_aio_barrier *b, long *index)
{
    if (b == NULL)
        return coro__aio_fail(CORO_EINVAL, "barrier_wait: barrier is NULL");
    /* async with self._cond: */
    int rc = coro_aio_condition_acquire(b->cond);
    if (rc != CORO_OK)
        return rc;
    /* _block */
    rc = coro_aio_condition_wait_for(b->cond, not_draining, b);
    if (rc == CORO_OK && b->state == B_BROKEN)
        rc = coro__aio_throw_new(&coro_aio_BrokenBarrierError, "Barrier aborted");
    if (rc != CORO_OK) {
        coro_aio_lock_release(b->cond->lock);
        return rc;
    }
    long i = b->count++;
    if (i + 1 == b->parties) {
        /* _release */
        b->state = B_DRAINING;
        cond_notify(b->cond, b->cond->waiters.n);
    } else {
        /* _wait */
        rc = coro_aio_condition_wait_for(b->cond, not_filling, b);
        if (rc == CORO_OK && (b->state == B_BROKEN || b->state == B_RESETTING))
            rc = coro__aio_throw_new(&coro_aio_BrokenBarrierError, "Abort or reset of barrier");
    }
    /* finally */
    b->count--;
    barrier_exit(b);
    coro_aio_lock_release(b->cond->lock);
    if (rc == CORO_OK && index != NULL)
        *index = i;
    return rc;
}

int coro_aio_barrier_reset(coro_aio_barrier *b)
{
    if (b == NULL)
        return coro__aio_fail(CORO_EINVAL, "barrier_reset: barrier is NULL");
    int rc = coro_aio_condition_acquire(b->cond);
    if (rc != CORO_OK)
        return rc;
    if (b->count > 0) {
        if (b->state != B_RESETTING)
            b->state = B_RESETTING;
    } else
        b->state = B_FILLING;
    cond_notify(b->cond, b->cond->waiters.n);
    coro_aio_lock_release(b->cond->lock);
    return CORO_OK;
}

int coro_aio_barrier_abort(coro_aio_barrier *b)
{
    if (b == NULL)
        return coro__aio_fail(CORO_EINVAL, "barrier_abort: barrier is NULL");
    int rc = coro_aio_condition_acquire(b->cond);
    if (rc != CORO_OK)
        return rc;
    b->state = B_BROKEN;
    cond_notify(b->cond, b->cond->waiters.n);
    coro_aio_lock_release(b->cond->lock);
    return CORO_OK;
}
