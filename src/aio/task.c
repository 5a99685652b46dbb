/* task.c - tasks: Task.__step and __wakeup, cancellation, await and sleep.
 * SPDX-License-Identifier: MIT
 *
 * A task drives a libcoro coroutine. Its invariant, as in tasks.py: at any
 * moment a pending task has exactly one of
 *   - a step scheduled (an AIO_R_STEP entry in the ready queue), or
 *   - a future it waits on (fut_waiter) whose done callback is its wakeup,
 * or it is running (loop->current). Only the loop resumes the coroutine.
 *
 * coro_aio_await yields the future to the loop (through any yield from
 * chain); the step sees it, checks it and adds the wakeup callback. The
 * wakeup runs one iteration after the future finishes (callbacks go through
 * call_soon) and steps the task: send when the future has a result, throw
 * its exception otherwise. Cancel counts requests (cancelling/uncancel),
 * cancels the awaited future if there is one, else marks must_cancel so the
 * next step throws CancelledError in.
 */
#include "aio_int.h"
#include "../coro_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Task-N names: one counter for the process, as asyncio's. */
static atomic_ulong task_counter;

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

static void list_task(coro_aio_loop *loop, aio_task *t)
{
    t->prev = loop->tasks_tail;
    t->next = NULL;
    if (loop->tasks_tail)
        loop->tasks_tail->next = t;
    else
        loop->tasks_head = t;
    loop->tasks_tail = t;
    loop->ntasks++;
    t->listed = true;
    coro_aio_future_ref(&t->fut);
}

/* Takes t off the list of pending tasks and drops the loop's reference. */
static void unlist_task(aio_task *t)
{
    if (!t->listed)
        return;
    coro_aio_loop *loop = t->fut.loop;
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->tasks_head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        loop->tasks_tail = t->prev;
    loop->ntasks--;
    t->listed = false;
    coro_aio_future_release(&t->fut);
}
/* The exception a step throws in when the RuntimeError soon_error means to
 * throw could not be allocated (shared, never freed). */
static const coro_exc step_nomem = {.type = &coro_MemoryError,
                                    .message = "out of memory in a task step"};

static void step_exc_free(aio_task *t)
{
    if (t->step_exc != &step_nomem)
        free(t->step_exc);
    t->step_exc = NULL;
}


void coro__aio_task_free(aio_task *t)
{
    coro_aio_loop *loop = t->fut.loop;
    if (!t->gone) {
        coro *co = t->co;
        t->co = NULL;
        t->gone = true;
        if (t->fut.state == AIO_PENDING) {
            /* Task.__del__ of a task left pending when its loop closed: the
             * collector closes the coroutine (its finally blocks run), then
             * the task reports itself. */
            t->fut.refs = 1;
            if (co != NULL)
                coro_destroy(co);
            coro__aio_report(loop, "Task was destroyed but it is pending!", NULL, NULL, &t->fut);
            if (--t->fut.refs > 0)
                return;
        } else if (co != NULL)
            coro_destroy(co);
    }
    if (t->name != t->name_buf)
        free(t->name);
    t->name = NULL;
    step_exc_free(t);
    coro__aio_future_clear(&t->fut);
    t->fut.next_free = (coro_aio_future *)loop->free_tasks;
    loop->free_tasks = t;
    coro__aio_loop_unlive(loop);
}

void coro__aio_task_destroy_pending(coro_aio_loop *loop)
{
    /* Break the task <-> awaited future cycle and drop the loop's
     * references: a task nobody else holds is destroyed now, one the caller
     * still holds when the caller releases it (as Python collects it). */
    while (loop->tasks_head != NULL) {
        aio_task *t = loop->tasks_head;
        coro_aio_future *w = t->fut_waiter;
        t->fut_waiter = NULL;
        if (w != NULL) {
            coro_aio_future_remove_done_callback(w, coro__aio_task_wakeup, t);
            coro_aio_future_release(w);
        }
        unlist_task(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */
/* ------------------------------------------------------------------------ */

/* "Task-<n>" into buf (24 bytes; no snprintf on the spawn path). */
static char *task_n(char *buf, unsigned long n)
{
    char digits[24];
    int k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    memcpy(buf, "Task-", 5);
    for (int i = 0; i < k; i++)
        buf[5 + i] = digits[k - 1 - i];
    buf[5 + k] = '\0';
    return buf;
}

/* Makes the task's coroutine (at its first step, or for get_coro). */
static int materialize(aio_task *t)
{
    if (t->co != NULL)
        return CORO_OK;
    coro_options co;
    coro_options_init(&co);
    co.stack_size = t->stack_size;
    co.stack_mode = t->stack_mode;
    return coro_create(&t->co, t->fn, t->arg, &co);
}

/* The stack options are checked in create_task, as coro_create would: a
 * bad size fails there, not at the first step. */
static bool stack_ok(aio_task *t)
{
    if (t->stack_size > (SIZE_MAX >> 2)) {
        coro__aio_fail(CORO_EINVAL, "create_task: stack size %zu is too large", t->stack_size);
        return false;
    }
    if (t->stack_mode != CORO_STACK_GUARDED && t->stack_mode != CORO_STACK_COMPACT) {
        coro__aio_fail(CORO_EINVAL, "create_task: unknown stack mode %d", t->stack_mode);
        return false;
    }
    return true;
}

coro_aio_future *coro_aio_create_task(coro_aio_loop *loop, coro_fn fn, void *arg,
                                      const coro_aio_task_options *opt)
{
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    if (opt != NULL)
        o = *opt;
    if (loop == NULL || fn == NULL) {
        coro__aio_fail(CORO_EINVAL, "create_task: loop and fn are required");
        return NULL;
    }
    if (loop->closed) {
        coro__aio_fail(CORO_EINVAL, "create_task: Event loop is closed");
        return NULL;
    }
    aio_task *t = loop->free_tasks;
    if (t != NULL)
        loop->free_tasks = (aio_task *)t->fut.next_free;
    else if ((t = coro__aio_malloc(sizeof *t)) == NULL) {
        coro__aio_fail(CORO_ENOMEM, "create_task: could not allocate the task");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    coro__aio_future_init(&t->fut, loop, true);
    loop->live++;
    /* asyncio.create_task takes a number even when it is given a name. */
    unsigned long n = atomic_fetch_add_explicit(&task_counter, 1, memory_order_relaxed) + 1;
    if (o.name != NULL) {
        if (!coro__aio_set_str(&t->name, o.name))
            goto fail;
    } else
        t->name = task_n(t->name_buf, n);
    t->fn = fn;
    t->arg = arg;
    t->stack_size = o.stack_size ? o.stack_size : loop->stack_size;
    t->stack_mode = o.stack_mode != CORO_STACK_DEFAULT ? o.stack_mode : loop->stack_mode;
    if (!stack_ok(t))
        goto fail;
    list_task(loop, t);
    if ((o.flags & CORO_AIO_TASK_EAGER) && loop->running) {
        coro__aio_task_step(t);
    } else if (coro__aio_soon_step(loop, t) < 0) {
        unlist_task(t);
        goto fail;
    }
    return &t->fut;
fail:
    t->gone = true; /* never scheduled: nothing to report as pending */
    coro_aio_future_release(&t->fut);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Stepping                                                                 */
/* ------------------------------------------------------------------------ */

/* Schedules a step that throws RuntimeError(msg) in (call_soon(__step, exc)).
 * Without memory for it, the step throws step_nomem instead: the task still
 * gets its step (it would otherwise wait forever). */
static void soon_error(aio_task *t, const char *msg)
{
    coro_exc *e = t->step_exc ? t->step_exc : coro__aio_malloc(sizeof *e);
    if (e == NULL)
        e = (coro_exc *)&step_nomem;
    if (e != &step_nomem)
        coro_exc_set(e, &coro_RuntimeError, msg);
    t->step_exc = e;
    if (coro__aio_soon_step(t->fut.loop, t) < 0)
        fprintf(stderr, "libcoro-aio: out of memory in a task step\n");
}

void coro__aio_step(aio_task *t, const coro_exc *exc_in)
{
    coro_aio_loop *loop = t->fut.loop;
    coro_exc exc;
    const coro_exc *e = NULL;
    if (exc_in != NULL) {
        exc = *exc_in;
        e = &exc;
    }
    if (t->must_cancel) {
        if (e == NULL || !coro_exc_matches(e->type, &coro_aio_CancelledError)) {
            coro__aio_make_cancelled(&t->fut, &exc);
            e = &exc;
        }
        t->must_cancel = false;
    }
    coro_aio_future *waiter = t->fut_waiter;
    t->fut_waiter = NULL;
    coro__aio_unref(waiter);

    coro__aio_ref(&t->fut); /* the step may drop the last other one */
    aio_task *prev = loop->current;
    loop->current = t;
    loop->awaiting = NULL;
    void *out = NULL;
    int st = materialize(t); /* < 0: no stack; ends the task with RuntimeError below */
    if (st == CORO_OK)
        st = e ? coro_throw_exc(t->co, e, &out) : coro_send(t->co, NULL, &out);
    loop->current = prev;
    coro_aio_future *awaited = loop->awaiting;
    loop->awaiting = NULL;
    coro__aio_step_end(t, st, out, awaited);
    coro__aio_unref(&t->fut);
}

void coro__aio_step_end(aio_task *t, int st, void *out, coro_aio_future *awaited)
{
    coro_aio_loop *loop = t->fut.loop;
    char buf[512], a[200], b[200];
    switch (st) {
    case CORO_RETURNED:
        if (t->must_cancel) {
            t->must_cancel = false;
            coro__aio_future_cancel(&t->fut, t->fut.cancel_msg);
        } else
            coro__aio_future_finish(&t->fut, out, NULL);
        break;
    case CORO_RAISED: {
        const coro_exc *x = coro_exception(t->co);
        if (coro_exc_matches(x->type, &coro_aio_CancelledError)) {
            coro_exc *saved = coro__aio_malloc(sizeof *saved);
            if (saved != NULL) {
                *saved = *x;
                free(t->fut.cancelled_exc);
                t->fut.cancelled_exc = saved;
            }
            coro__aio_future_cancel(&t->fut, NULL);
        } else
            coro__aio_future_finish(&t->fut, NULL, x);
        break;
    }
    case CORO_YIELDED:
        if (out == NULL) {
            /* A bare yield: one turn of the loop. */
            if (coro__aio_soon_step(loop, t) < 0)
                fprintf(stderr, "libcoro-aio: out of memory in a task step\n");
        } else if (out != awaited) {
            snprintf(buf, sizeof buf, "Task got bad yield: %p", out);
            soon_error(t, buf);
        } else if (awaited->loop != loop) {
            snprintf(buf, sizeof buf, "Task %s got Future %s attached to a different loop",
                     coro_aio_future_repr(&t->fut, a, sizeof a),
                     coro_aio_future_repr(awaited, b, sizeof b));
            soon_error(t, buf);
        } else if (awaited == &t->fut) {
            snprintf(buf, sizeof buf, "Task cannot await on itself: %s",
                     coro_aio_future_repr(&t->fut, a, sizeof a));
            soon_error(t, buf);
        } else {
            if (coro__aio_add_cb(awaited, coro__aio_task_wakeup, t, AIO_ARG_FUT) < 0) {
                soon_error(t, "out of memory adding a done callback");
                break;
            }
            t->fut_waiter = coro_aio_future_ref(awaited);
            if (t->must_cancel) {
                if (coro_aio_future_cancel(awaited, t->fut.cancel_msg))
                    t->must_cancel = false;
            }
        }
        break;
    default: {
        coro_exc x;
        coro_exc_set(&x, &coro_RuntimeError, coro_last_error());
        coro__aio_future_finish(&t->fut, NULL, &x);
        break;
    }
    }
    if (t->fut.state != AIO_PENDING)
        unlist_task(t);
}

void coro__aio_task_step(aio_task *t)
{
    if (t->fut.state != AIO_PENDING || t->gone)
        return; /* _step(): already done (Python raises InvalidStateError) */
    if (t->step_exc != NULL) {
        coro_exc e = *t->step_exc;
        step_exc_free(t);
        coro__aio_step(t, &e);
    } else
        coro__aio_step(t, NULL);
}

/* Task.__wakeup: read the future's outcome (which counts as retrieving its
 * exception) and step with it. Reached through a DONE handle, or through an
 * AIO_R_WAKEUP entry with fut = t->fut_waiter (which a pending task's
 * wakeup entry always has: only a step changes fut_waiter, and no step of t
 * runs before its wakeup; NULL would mean that broke, and nothing runs). */
void coro__aio_task_wakeup(coro_aio_future *fut, void *arg)
{
    aio_task *t = arg;
    if (t->fut.state != AIO_PENDING || t->gone || fut == NULL)
        return;
    if (fut->state == AIO_FINISHED && fut->exc == NULL) {
        fut->log_tb = false; /* what result() does, without its 192-byte exception */
        coro__aio_step(t, NULL);
        return;
    }
    coro_exc e;
    if (coro_aio_future_result(fut, NULL, &e) == CORO_RAISED)
        coro__aio_step(t, &e);
    else
        coro__aio_step(t, NULL);
}

/* ------------------------------------------------------------------------ */
/* Cancellation and accessors                                               */
/* ------------------------------------------------------------------------ */

bool coro_aio_future_cancel(coro_aio_future *f, const char *msg)
{
    if (f == NULL)
        return false;
    if (f->is_gather)
        return coro__aio_gather_cancel(f, msg);
    if (!f->is_task)
        return coro__aio_future_cancel(f, msg);
    aio_task *t = (aio_task *)f;
    f->log_tb = false;
    if (f->state != AIO_PENDING)
        return false;
    t->num_cancels++;
    if (t->fut_waiter != NULL && coro_aio_future_cancel(t->fut_waiter, msg))
        return true; /* fut_waiter stays: it may ignore the cancel */
    t->must_cancel = true;
    coro__aio_set_str(&f->cancel_msg, msg);
    return true;
}

bool coro_aio_is_task(const coro_aio_future *f)
{
    return f != NULL && f->is_task;
}

const char *coro_aio_task_get_name(const coro_aio_future *task)
{
    return coro_aio_is_task(task) ? ((const aio_task *)task)->name : NULL;
}

int coro_aio_task_set_name(coro_aio_future *task, const char *name)
{
    if (!coro_aio_is_task(task) || name == NULL)
        return coro__aio_fail(CORO_EINVAL, "task_set_name: a task and a name are required");
    aio_task *t = (aio_task *)task;
    char *copy = NULL;
    if (!coro__aio_set_str(&copy, name))
        return coro__aio_fail(CORO_ENOMEM, "task_set_name: could not copy the name");
    if (t->name != t->name_buf)
        free(t->name); /* name_buf is not malloc'd */
    t->name = copy;
    return CORO_OK;
}

int coro_aio_task_cancelling(const coro_aio_future *task)
{
    return coro_aio_is_task(task) ? ((const aio_task *)task)->num_cancels : 0;
}

int coro_aio_task_uncancel(coro_aio_future *task)
{
    if (!coro_aio_is_task(task))
        return 0;
    aio_task *t = (aio_task *)task;
    if (t->num_cancels > 0)
        t->num_cancels--;
    return t->num_cancels;
}

coro *coro_aio_task_get_coro(const coro_aio_future *task)
{
    if (!coro_aio_is_task(task))
        return NULL;
    aio_task *t = (aio_task *)(uintptr_t)task; /* made on demand: a cache, not a change */
    if (t->gone || (t->co == NULL && materialize(t) < 0))
        return NULL;
    return t->co;
}

coro_aio_future *coro_aio_current_task(coro_aio_loop *loop)
{
    if (loop == NULL)
        loop = coro__aio_running;
    return loop && loop->current ? &loop->current->fut : NULL;
}

size_t coro_aio_all_tasks(coro_aio_loop *loop, coro_aio_future **out, size_t cap)
{
    if (loop == NULL)
        loop = coro__aio_running;
    if (loop == NULL)
        return 0;
    size_t n = 0;
    for (aio_task *t = loop->tasks_head; t != NULL; t = t->next, n++)
        if (n < cap && out != NULL)
            out[n] = &t->fut;
    return n;
}

void coro_aio_dump_tasks(coro_aio_loop *loop, FILE *out)
{
    if (loop == NULL || out == NULL)
        return;
    char buf[256];
    for (aio_task *t = loop->tasks_head; t != NULL; t = t->next) {
        const char *state = t == loop->current ? "running"
                            : t->num_cancels   ? "cancelling"
                                               : "pending";
        fprintf(out, "%s %s awaits=%s cancels=%d\n", t->name, state,
                t->fut_waiter ? coro_aio_future_repr(t->fut_waiter, buf, sizeof buf) : "-",
                t->num_cancels);
    }
}

/* ------------------------------------------------------------------------ */
/* Inside a task                                                            */
/* ------------------------------------------------------------------------ */

/* True when c is the task's coroutine or runs below it in a yield from chain
 * (linked, or forwarded by a delegator parked on it). */
static bool in_task(coro *c, coro *root)
{
    while (c != root) {
        if (c->parent != NULL) {
            c = c->parent;
            continue;
        }
        coro *p = c->run ? c->run->prev : NULL;
        if (p == NULL || p->sub != c)
            return false;
        c = p;
    }
    return true;
}

int coro__aio_throw(coro *self, const coro_exc *e)
{
    coro_exc x = *e;
    if (x.context == NULL && self->handling)
        x.context = self->exc.type;
    self->exc = x;
    self->handling = true;
    return CORO_THROWN;
}

int coro__aio_check_await_slow(const char *what, coro **self)
{
    coro_aio_loop *loop = coro__aio_running;
    if (loop == NULL || loop->current == NULL || loop->current->co == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: called outside a task (no running event loop "
                                           "or no task running)", what);
    coro *c = coro_current();
    if (c == NULL || !in_task(c, loop->current->co))
        return coro__aio_fail(CORO_EINVAL, "%s: called outside a task (from a coroutine the "
                                           "running task does not delegate to)", what);
    *self = c;
    return CORO_OK;
}

int coro__aio_await_end(coro *self, coro_aio_future *f, void **result)
{
    coro_exc e;
    if (f->state == AIO_PENDING) {
        coro_exc_set(&e, &coro_RuntimeError, "await wasn't used with future");
        return coro__aio_throw(self, &e);
    }
    if (coro_aio_future_result(f, result, &e) == CORO_RAISED)
        return coro__aio_throw(self, &e);
    return CORO_OK;
}

int coro_aio_await(coro_aio_future *f, void **result)
{
    if (f == NULL)
        return coro__aio_fail(CORO_EINVAL, "await: future is NULL");
    return coro__aio_await(f, result);
}

/* futures._set_result_unless_cancelled */
static void sleep_done(coro_aio_future *f, void *arg)
{
    (void)arg;
    if (f->state == AIO_PENDING)
        coro__aio_future_finish(f, NULL, NULL);
}

int coro_aio_sleep(double delay)
{
    coro *self = NULL;
    int rc = coro__aio_check_await("sleep", &self);
    if (rc < 0)
        return rc;
    if (isnan(delay))
        return coro__aio_fail(CORO_EINVAL, "sleep: delay is NaN");
    if (delay <= 0)
        return coro_yield(self, NULL, NULL); /* __sleep0: a bare yield */
    coro_aio_loop *loop = coro__aio_running;
    coro_aio_future *f = coro__aio_future_alloc(loop);
    if (f == NULL)
        return CORO_ENOMEM;
    double ns = (coro_aio_time(loop) + delay) * 1e9;
    int64_t when = ns >= 9.2e18 ? INT64_MAX : (int64_t)llround(ns);
    coro_aio_handle *h;
    if ((rc = coro__aio_later_done(loop, when, sleep_done, f, &h)) < 0) {
        coro_aio_future_release(f);
        return rc;
    }
    rc = coro_aio_await(f, NULL);
    coro_aio_handle_cancel(h);
    coro_aio_handle_release(h);
    coro_aio_future_release(f);
    return rc;
}
