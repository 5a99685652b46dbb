/* combinators.c - gather: one future for many, as tasks.gather in 3.11.
 * SPDX-License-Identifier: MIT
 *
 * The outer future (an aio_gather) holds a reference on each child; each
 * distinct child has gather's done callback with a borrowed pointer to the
 * outer one, which removes those callbacks before it is freed; a call
 * already queued holds a reference instead (AIO_ARG_FUT_QUEUED). The callback
 * follows _done_callback step by step: count the child; if the outer future
 * is done already, only read the child's exception (so it counts as
 * retrieved); without return_exceptions, fail the outer future with the
 * child's exception or CancelledError; once all are done, build the results
 * (a cancelled child gives a new CancelledError with its message), then
 * finish the outer future, or fail it with CancelledError if it was
 * cancelled.
 */
#include "aio_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct aio_gather {
    coro_aio_future fut;
    size_t n, nfuts, nfinished;
    bool return_exceptions;
    bool cancel_requested;
    coro_aio_future **children; /* n entries, duplicates kept */
    void **values;              /* results, once finished */
    coro_exc **excs;            /* per entry: the exception, or NULL */
} aio_gather;

void coro__aio_gather_done(coro_aio_future *child, void *arg)
{
    aio_gather *g = arg;
    coro_aio_future *outer = &g->fut;
    coro_exc e;
    g->nfinished++;
    if (outer->state != AIO_PENDING) {
        if (child->state != AIO_CANCELLED)
            coro_aio_future_exception(child, &e);
        return;
    }
    if (!g->return_exceptions) {
        if (child->state == AIO_CANCELLED) {
            coro__aio_make_cancelled(child, &e);
            coro__aio_future_finish(outer, NULL, &e);
            return;
        }
        coro_aio_future_exception(child, &e);
        if (e.type != NULL) {
            coro__aio_future_finish(outer, NULL, &e);
            return;
        }
    }
    if (g->nfinished < g->nfuts)
        return;
    g->values = coro__aio_calloc(g->n ? g->n : 1, sizeof *g->values);
    g->excs = coro__aio_calloc(g->n ? g->n : 1, sizeof *g->excs);
    if (g->values == NULL || g->excs == NULL) {
        coro_exc_set(&e, &coro_RuntimeError, "gather: out of memory for the results");
        coro__aio_future_finish(outer, NULL, &e);
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        coro_aio_future *c = g->children[i];
        coro_exc x;
        bool has = false;
        if (c->state == AIO_CANCELLED) {
            coro_exc_set(&x, &coro_aio_CancelledError, c->cancel_msg ? c->cancel_msg : "");
            has = true;
        } else {
            coro_aio_future_exception(c, &x);
            has = x.type != NULL;
            if (!has)
                g->values[i] = c->result;
        }
        if (has && (g->excs[i] = coro__aio_malloc(sizeof x)) != NULL)
            *g->excs[i] = x;
    }
    if (g->cancel_requested) {
        coro__aio_make_cancelled(child, &e);
        coro__aio_future_finish(outer, NULL, &e);
    } else
        coro__aio_future_finish(outer, NULL, NULL);
}

coro_aio_future *coro_aio_gather(coro_aio_loop *loop, coro_aio_future *const *children,
                                 size_t n, bool return_exceptions)
{
    if (loop == NULL || (n > 0 && children == NULL)) {
        coro__aio_fail(CORO_EINVAL, "gather: loop and children are required");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (children[i] == NULL || children[i]->loop != loop) {
            coro__aio_fail(CORO_EINVAL, "gather: child %zu is NULL or of another loop", i);
            return NULL;
        }
    aio_gather *g = coro__aio_calloc(1, sizeof *g);
    if (g == NULL || (n > 0 && (g->children = coro__aio_malloc(n * sizeof *g->children)) == NULL)) {
        free(g);
        coro__aio_fail(CORO_ENOMEM, "gather: out of memory");
        return NULL;
    }
    coro__aio_future_init(&g->fut, loop, false);
    g->fut.is_gather = true;
    loop->live++;
    g->n = n;
    g->return_exceptions = return_exceptions;
    for (size_t i = 0; i < n; i++) {
        g->children[i] = coro_aio_future_ref(children[i]);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = children[j] == children[i];
        if (seen)
            continue;
        g->nfuts++;
        if (coro__aio_add_cb(children[i], coro__aio_gather_done, g, AIO_ARG_FUT_QUEUED) < 0) {
            g->n = i + 1;
            coro_aio_future_release(&g->fut);
            return NULL;
        }
    }
    if (n == 0)
        coro__aio_future_finish(&g->fut, NULL, NULL);
    return &g->fut;
}

bool coro__aio_gather_cancel(coro_aio_future *f, const char *msg)
{
    aio_gather *g = (aio_gather *)f;
    f->log_tb = false;
    if (f->state != AIO_PENDING)
        return false;
    bool ret = false;
    for (size_t i = 0; i < g->n; i++)
        if (coro_aio_future_cancel(g->children[i], msg))
            ret = true;
    if (ret)
        g->cancel_requested = true;
    return ret;
}

void coro__aio_gather_free(coro_aio_future *f)
{
    aio_gather *g = (aio_gather *)f;
    coro_aio_loop *loop = f->loop;
    for (size_t i = 0; i < g->n; i++) {
        coro_aio_future_remove_done_callback(g->children[i], coro__aio_gather_done, g);
        coro_aio_future_release(g->children[i]);
    }
    if (g->excs != NULL)
        for (size_t i = 0; i < g->n; i++)
            free(g->excs[i]);
    free(g->excs);
    free(g->values);
    free(g->children);
    coro__aio_future_clear(f);
    free(g);
    coro__aio_loop_unlive(loop);
}

int coro_aio_gather_item(const coro_aio_future *f, size_t i, void **value, coro_exc *exc)
{
    const aio_gather *g = (const aio_gather *)f;
    if (f == NULL || !f->is_gather || g->values == NULL || f->exc != NULL)
        return coro__aio_fail(CORO_EINVAL, "gather_item: not a gather that finished with a result");
    if (i >= g->n)
        return coro__aio_fail(CORO_EINVAL, "gather_item: index %zu out of range (%zu children)", i,
                              g->n);
    if (g->excs[i] != NULL) {
        if (exc != NULL)
            *exc = *g->excs[i];
        return CORO_RAISED;
    }
    if (value != NULL)
        *value = g->values[i];
    return CORO_OK;
}
