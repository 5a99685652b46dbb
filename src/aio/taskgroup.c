/* taskgroup.c - asyncio.TaskGroup (3.11.7) and the exception groups it raises.
 * SPDX-License-Identifier: MIT
 *
 * coro_aio_task_group is TaskGroup.__aenter__, the body run with coro_try,
 * then __aexit__ step by step. The group embeds a future only to be
 * reference counted (future.dtor): the caller's scope holds one reference,
 * each child's pending done callback one (arg_is_fut), and
 * coro_aio_task_group_ref more. The children (`tasks`, Python's set) are
 * held with a reference each until their done callback takes them out.
 *
 * Exception groups: an aio_egroup per group raised, on the loop's list
 * (loop->egroups), freed with the loop's memory; coro_aio_run detaches the
 * one it hands to its caller (and the groups nested in it).
 */
#include "aio_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const coro_exc_type coro_aio_BaseExceptionGroup = {"BaseExceptionGroup", &coro_BaseException};
const coro_exc_type coro_aio_ExceptionGroup = {"ExceptionGroup", &coro_Exception};

/* ------------------------------------------------------------------------ */
/* Exception groups                                                         */
/* ------------------------------------------------------------------------ */

typedef struct aio_egroup {
    coro_aio_exception_group pub; /* first: the pointer in coro_exc.udata */
    coro_exc *excs;
    struct aio_egroup *next; /* the loop's list */
    bool detached;
} aio_egroup;

static bool is_group(const coro_exc *e)
{
    return e != NULL && e->udata != NULL &&
           (e->type == &coro_aio_ExceptionGroup || e->type == &coro_aio_BaseExceptionGroup);
}

const coro_aio_exception_group *coro_aio_exception_group_get(const coro_exc *e)
{
    return is_group(e) ? e->udata : NULL;
}

static void egroup_free(aio_egroup *g)
{
    for (size_t i = 0; i < g->pub.n; i++)
        if (is_group(&g->excs[i]) && ((aio_egroup *)g->excs[i].udata)->detached)
            egroup_free(g->excs[i].udata);
    free(g->excs);
    free(g);
}

void coro__aio_egroups_free(coro_aio_loop *loop)
{
    while (loop->egroups != NULL) {
        aio_egroup *g = loop->egroups;
        loop->egroups = g->next;
        free(g->excs);
        free(g);
    }
}

static void detach(coro_aio_loop *loop, aio_egroup *g)
{
    for (aio_egroup **p = &loop->egroups; *p != NULL; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            g->detached = true;
            for (size_t i = 0; i < g->pub.n; i++)
                if (is_group(&g->excs[i]))
                    detach(loop, g->excs[i].udata);
            return;
        }
}

void coro__aio_egroup_detach(coro_aio_loop *loop, const coro_exc *e)
{
    if (is_group(e))
        detach(loop, e->udata);
}

void coro_aio_exception_group_free(const coro_exc *e)
{
    if (is_group(e) && ((aio_egroup *)e->udata)->detached)
        egroup_free(e->udata);
}

/* BaseExceptionGroup('unhandled errors in a TaskGroup', errors) into *out:
 * an ExceptionGroup when every error is an Exception. */
static int egroup_new(coro_aio_loop *loop, const coro_exc *errors, size_t n, coro_exc *out)
{
    aio_egroup *g = coro__aio_calloc(1, sizeof *g);
    if (g == NULL || (g->excs = coro__aio_malloc(n * sizeof *g->excs)) == NULL) {
        free(g);
        return coro__aio_fail(CORO_ENOMEM, "task_group: out of memory for the exception group");
    }
    memcpy(g->excs, errors, n * sizeof *g->excs);
    g->pub.n = n;
    g->pub.exceptions = g->excs;
    g->next = loop->egroups;
    loop->egroups = g;
    bool all = true;
    for (size_t i = 0; i < n; i++)
        all = all && coro_exc_matches(errors[i].type, &coro_Exception);
    char msg[80];
    snprintf(msg, sizeof msg, "unhandled errors in a TaskGroup (%zu sub-exception%s)", n,
             n == 1 ? "" : "s");
    coro_exc_set(out, all ? &coro_aio_ExceptionGroup : &coro_aio_BaseExceptionGroup, msg);
    out->udata = g;
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* The group                                                                */
/* ------------------------------------------------------------------------ */

struct coro_aio_task_group {
    coro_aio_future fut; /* holder */
    bool exiting, aborting, parent_cancel_requested;
    coro_aio_future *parent; /* borrowed, NULL once the scope has ended */
    coro_aio_future **tasks; /* pending children in creation order, each with a reference */
    size_t ntasks, tcap;
    coro_exc *errors;
    size_t nerrors, ecap;
    bool errors_oom;
    coro_aio_future *on_completed;
    coro_aio_task_group_fn body;
    void *arg;
};

static void group_dtor(coro_aio_future *f)
{
    coro_aio_task_group *g = (coro_aio_task_group *)f;
    coro_aio_loop *loop = f->loop;
    for (size_t i = 0; i < g->ntasks; i++)
        coro_aio_future_release(g->tasks[i]);
    free(g->tasks);
    free(g->errors);
    coro__aio_future_clear(f);
    free(g);
    coro__aio_loop_unlive(loop);
}

char *coro_aio_task_group_repr(const coro_aio_task_group *g, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (g == NULL) {
        snprintf(buf, size, "None");
        return buf;
    }
    size_t n = (size_t)snprintf(buf, size, "<TaskGroup");
    if (g->ntasks && n < size)
        n += (size_t)snprintf(buf + n, size - n, " tasks=%zu", g->ntasks);
    if (g->nerrors && n < size)
        n += (size_t)snprintf(buf + n, size - n, " errors=%zu", g->nerrors);
    if (n < size)
        snprintf(buf + n, size - n, "%s>", g->aborting ? " cancelling" : " entered");
    return buf;
}

/* _abort */
static void group_abort(coro_aio_task_group *g)
{
    g->aborting = true;
    for (size_t i = 0; i < g->ntasks; i++)
        if (!coro_aio_future_done(g->tasks[i]))
            coro_aio_future_cancel(g->tasks[i], NULL);
}

static void add_error(coro_aio_task_group *g, const coro_exc *e)
{
    if (g->nerrors == g->ecap) {
        size_t cap = g->ecap ? 2 * g->ecap : 4;
        coro_exc *n = coro__aio_realloc(g->errors, cap * sizeof *n);
        if (n == NULL) {
            g->errors_oom = true;
            return;
        }
        g->errors = n;
        g->ecap = cap;
    }
    g->errors[g->nerrors++] = *e;
}

/* _on_task_done */
static void on_task_done(coro_aio_future *task, void *arg)
{
    coro_aio_task_group *g = arg;
    for (size_t i = 0; i < g->ntasks; i++)
        if (g->tasks[i] == task) {
            memmove(g->tasks + i, g->tasks + i + 1, (g->ntasks - i - 1) * sizeof *g->tasks);
            g->ntasks--;
            coro_aio_future_release(task); /* task stays alive: this call holds it */
            break;
        }
    if (g->on_completed != NULL && g->ntasks == 0 && g->on_completed->state == AIO_PENDING)
        coro__aio_future_finish(g->on_completed, (void *)1, NULL);
    if (task->state == AIO_CANCELLED)
        return;
    coro_exc e;
    coro_aio_future_exception(task, &e);
    if (e.type == NULL)
        return;
    add_error(g, &e);
    if (coro_aio_future_done(g->parent)) {
        char a[200], b[200], msg[512];
        snprintf(msg, sizeof msg, "Task %s has errored out but its parent task %s is already "
                 "completed", coro_aio_future_repr(task, a, sizeof a),
                 coro_aio_future_repr(g->parent, b, sizeof b));
        coro__aio_report(g->fut.loop, msg, &e, NULL, task);
        return;
    }
    if (!g->aborting && !g->parent_cancel_requested) {
        group_abort(g);
        g->parent_cancel_requested = true;
        coro_aio_future_cancel(g->parent, NULL);
    }
}

coro_aio_future *coro_aio_task_group_create_task(coro_aio_task_group *g, coro_fn fn, void *arg,
                                                 const coro_aio_task_options *opt)
{
    char buf[128];
    if (g == NULL) {
        coro__aio_fail(CORO_EINVAL, "task_group_create_task: group is NULL");
        return NULL;
    }
    if (g->exiting && g->ntasks == 0) {
        coro__aio_fail(CORO_EINVAL, "task_group_create_task: RuntimeError: TaskGroup %s is "
                                    "finished", coro_aio_task_group_repr(g, buf, sizeof buf));
        return NULL;
    }
    if (g->aborting) {
        coro__aio_fail(CORO_EINVAL, "task_group_create_task: RuntimeError: TaskGroup %s is "
                                    "shutting down", coro_aio_task_group_repr(g, buf, sizeof buf));
        return NULL;
    }
    if (g->ntasks == g->tcap) {
        size_t cap = g->tcap ? 2 * g->tcap : 4;
        coro_aio_future **n = coro__aio_realloc(g->tasks, cap * sizeof *n);
        if (n == NULL) {
            coro__aio_fail(CORO_ENOMEM, "task_group_create_task: out of memory");
            return NULL;
        }
        g->tasks = n;
        g->tcap = cap;
    }
    coro_aio_future *t = coro_aio_create_task(g->fut.loop, fn, arg, opt);
    if (t == NULL)
        return NULL;
    if (coro__aio_add_cb(t, on_task_done, &g->fut, AIO_ARG_FUT) < 0) {
        coro_aio_future_cancel(t, NULL);
        coro_aio_future_release(t);
        return NULL;
    }
    g->tasks[g->ntasks++] = coro_aio_future_ref(t);
    return t;
}

coro_aio_task_group *coro_aio_task_group_ref(coro_aio_task_group *g)
{
    if (g != NULL)
        coro_aio_future_ref(&g->fut);
    return g;
}

void coro_aio_task_group_release(coro_aio_task_group *g)
{
    if (g != NULL)
        coro_aio_future_release(&g->fut);
}

static void *group_body(coro *self, void *arg)
{
    coro_aio_task_group *g = arg;
    return g->body(self, g, g->arg);
}

int coro_aio_task_group_run(coro_aio_task_group_fn body, void *arg, void **result)
{
    coro *self = NULL;
    if (result != NULL)
        *result = NULL;
    if (body == NULL)
        return coro__aio_fail(CORO_EINVAL, "task_group: body is NULL");
    int rc = coro__aio_self("task_group: RuntimeError: TaskGroup <TaskGroup> cannot determine "
                            "the parent task", &self);
    if (rc < 0)
        return rc;
    coro_aio_loop *loop = coro__aio_running;
    coro_aio_task_group *g = coro__aio_calloc(1, sizeof *g);
    if (g == NULL)
        return coro__aio_fail(CORO_ENOMEM, "task_group: out of memory");
    coro__aio_future_init(&g->fut, loop, false);
    g->fut.dtor = group_dtor;
    loop->live++;
    g->parent = coro_aio_current_task(loop); /* borrowed: it runs the scope */
    g->body = body;
    g->arg = arg;

    void *value = NULL;
    rc = coro_try(self, group_body, g, &value);

    /* __aexit__ */
    g->exiting = true;
    bool has_exc = rc == CORO_THROWN;
    coro_exc exc = {NULL, "", NULL, NULL, NULL}, propagate = exc;
    bool has_propagate = false;
    if (has_exc) {
        exc = *coro_exception(self);
        if (exc.type == &coro_aio_CancelledError) {
            propagate = exc;
            has_propagate = true;
        }
    }
    if (g->parent_cancel_requested && coro_aio_task_uncancel(g->parent) == 0)
        has_propagate = false;
    if (has_exc && !g->aborting)
        group_abort(g);
    while (g->ntasks > 0) {
        if (g->on_completed == NULL && (g->on_completed = coro__aio_future_alloc(loop)) == NULL) {
            rc = CORO_ENOMEM;
            goto out;
        }
        int ar = coro_aio_await(g->on_completed, NULL);
        if (ar < 0 || (ar == CORO_THROWN &&
                       !coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError))) {
            /* Not a task step any more (the coroutine is being destroyed
             * with its loop, or something else was thrown in): give up
             * waiting and let go of the children, which breaks the
             * child -> callback -> group -> child cycle. */
            coro_exc x = ar < 0 ? exc : *coro_exception(self);
            for (size_t i = 0; i < g->ntasks; i++) {
                coro_aio_future_remove_done_callback(g->tasks[i], on_task_done, &g->fut);
                coro_aio_future_release(g->tasks[i]);
            }
            g->ntasks = 0;
            coro_aio_future_release(g->on_completed);
            g->on_completed = NULL;
            rc = ar < 0 && !has_exc ? ar : coro__aio_throw(self, &x);
            goto out;
        }
        if (ar == CORO_THROWN) {
            const coro_exc *x = coro_exception(self);
            if (!g->aborting) {
                propagate = *x;
                has_propagate = true;
                group_abort(g);
            }
        }
        coro_aio_future_release(g->on_completed);
        g->on_completed = NULL;
    }
    if (has_propagate && g->nerrors == 0) {
        rc = coro__aio_throw(self, &propagate);
        goto out;
    }
    if (has_exc && exc.type != &coro_aio_CancelledError)
        add_error(g, &exc);
    if (g->errors_oom) {
        rc = coro__aio_fail(CORO_ENOMEM, "task_group: out of memory for the errors");
        goto out;
    }
    if (g->nerrors > 0) {
        coro_exc eg;
        if ((rc = egroup_new(loop, g->errors, g->nerrors, &eg)) < 0)
            goto out;
        eg.context = NULL; /* raise me from None */
        free(g->errors); /* self._errors = None */
        g->errors = NULL;
        g->nerrors = g->ecap = 0;
        rc = coro__aio_throw(self, &eg);
        goto out;
    }
    if (has_exc) { /* __aexit__ returned None: the body's exception goes on */
        rc = coro__aio_throw(self, &exc);
        goto out;
    }
    rc = CORO_OK;
    if (result != NULL)
        *result = value;
out:
    g->parent = NULL; /* no child is left to call on_task_done */
    coro_aio_future_release(&g->fut);
    return rc;
}
