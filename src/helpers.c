/* helpers.c - shorthands over the public API: loops over a coroutine's values,
 * yield from that propagates, the range and array iterators, integer values.
 * SPDX-License-Identifier: MIT
 *
 * Nothing here touches struct coro: every helper is written with the public
 * calls of include/coro.h, so its behaviour is theirs (docs/api.md,
 * "Helpers"). What the helpers add is that no status is dropped: a raise
 * stays visible in the loop's rc, and a yield from that cannot go on raises
 * in the body instead of returning a code the body might ignore.
 */
#include "coro_int.h"

#include <stdio.h>
#include <stdlib.h>

const coro_exc_type coro_MemoryError = {"MemoryError", &coro_Exception};

/* Misuse that cannot be reported to a driver: a body-side call made with the
 * wrong self. The same policy as coro_yield_value. */
static _Noreturn void fatal(const char *msg)
{
    fprintf(stderr, "libcoro: fatal: %s\n", msg);
    abort();
}

intptr_t coro_yield_int(coro *self, intptr_t value)
{
    void *received = NULL;
    int rc = coro_yield(self, CORO_INT(value), &received);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    if (rc != CORO_OK)
        fatal("coro_yield_int: self is not the coroutine running on this thread");
    return coro_int(received);
}

int coro_start(coro **out, coro_fn fn, void *arg, void **first)
{
    if (first != NULL)
        *first = NULL;
    if (out == NULL)
        return coro__fail(CORO_EINVAL, "coro_start: out is NULL");
    *out = NULL;
    coro *c = NULL;
    int rc = coro_create(&c, fn, arg, NULL);
    if (rc != CORO_OK)
        return rc; /* coro_create said why */
    void *value = NULL;
    rc = coro_next(c, &value);
    /* Also the return value of a body that ended before its first yield,
     * which no later call could hand out (StopIteration.value). */
    if ((rc == CORO_YIELDED || rc == CORO_RETURNED) && first != NULL)
        *first = value;
    *out = c;
    return rc; /* a fresh coroutine: only YIELDED, RETURNED or RAISED */
}

bool coro_iter_next(coro *c, void **value, int *status)
{
    if (value == NULL || status == NULL) {
        if (status != NULL)
            *status = coro__fail(CORO_EINVAL, "coro_iter_next: value and status are required");
        else
            coro__fail(CORO_EINVAL, "coro_iter_next: value and status are required");
        return false;
    }
    *status = coro_next(c, value);
    return *status == CORO_YIELDED;
}

coro *coro_for_begin(coro_fn fn, void *arg, int *status)
{
    coro *c = NULL;
    int rc = coro_create(&c, fn, arg, NULL);
    if (status != NULL)
        *status = rc;
    return rc == CORO_OK ? c : NULL;
}

coro *coro_for_end(coro *c, const int *status)
{
    if (c == NULL)
        return NULL;
    if (status != NULL && *status == CORO_RAISED) {
        const coro_exc *e = coro_exception(c);
        if (e != NULL && e->type != NULL)
            coro__fail(CORO_RAISED, "%s%s%s", e->type->name, e->message[0] ? ": " : "", e->message);
    }
    coro_destroy(c); /* c is not running and no one delegates to it: CORO_OK */
    return NULL;
}

void *coro_yield_from_value(coro *self, coro *sub)
{
    if (self == NULL || self != coro_current())
        fatal("coro_yield_from_value: self is not the coroutine running on this thread");
    if (sub == NULL)
        coro_raise(self, &coro_TypeError, "'NULL' object is not iterable");
    void *result = NULL;
    int rc = coro_yield_from(self, sub, &result);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return result; /* CORO_OK: the only other status for a non-NULL sub */
}

void *coro_yield_from_fn_value(coro *self, coro_fn fn, void *arg)
{
    if (self == NULL || self != coro_current())
        fatal("coro_yield_from_fn_value: self is not the coroutine running on this thread");
    if (fn == NULL)
        coro_raise(self, &coro_TypeError, "coro_yield_from_fn_value: fn is NULL");
    void *result = NULL;
    int rc = coro_yield_from_fn(self, fn, arg, &result);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    if (rc == CORO_ENOMEM)
        coro_raisef(self, &coro_MemoryError, "%s", coro_last_error());
    if (rc != CORO_OK)
        coro_raisef(self, &coro_RuntimeError, "coro_yield_from_fn_value: %s (%s)",
                    coro_strerror(rc), coro_last_error());
    return result;
}

void *coro_yield_from_iter_value(coro *self, const coro_iter_vtable *vt, void *it)
{
    if (self == NULL || self != coro_current())
        fatal("coro_yield_from_iter_value: self is not the coroutine running on this thread");
    if (vt == NULL || vt->next == NULL)
        coro_raise(self, &coro_TypeError,
                   "coro_yield_from_iter_value: vt and vt->next are required");
    void *result = NULL;
    int rc = coro_yield_from_iter(self, vt, it, &result);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return result;
}

/* ------------------------------------------------------------------------ */
/* range_iterator                                                           */
/* ------------------------------------------------------------------------ */

/* The distance to the bound is computed in unsigned arithmetic, so a range
 * that spans most of intptr_t never overflows: next + step is only formed
 * when it stays on this side of stop. */
static int range_next(void *p, void **out, coro_exc *exc)
{
    (void)exc;
    coro_range *r = p;
    bool more = r->step > 0 ? r->next < r->stop : r->next > r->stop;
    if (r->done || !more) {
        r->done = true;
        *out = NULL; /* StopIteration.value: None */
        return CORO_RETURNED;
    }
    *out = CORO_INT(r->next);
    uintptr_t left = r->step > 0 ? (uintptr_t)r->stop - (uintptr_t)r->next
                                 : (uintptr_t)r->next - (uintptr_t)r->stop;
    uintptr_t stride = r->step > 0 ? (uintptr_t)r->step : (uintptr_t)0 - (uintptr_t)r->step;
    if (left <= stride)
        r->done = true; /* the value just handed out was the last */
    else
        r->next += r->step;
    return CORO_YIELDED;
}

const coro_iter_vtable coro_range_vt = {"range_iterator", range_next, NULL, NULL, NULL};

int coro_range_init(coro_range *r, intptr_t start, intptr_t stop, intptr_t step)
{
    if (r == NULL)
        return coro__fail(CORO_EINVAL, "coro_range_init: r is NULL");
    if (step == 0)
        return coro__fail(CORO_EINVAL, "coro_range_init: range() arg 3 must not be zero");
    r->next = start;
    r->stop = stop;
    r->step = step;
    r->done = false;
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* array_iterator                                                           */
/* ------------------------------------------------------------------------ */

static int array_next(void *p, void **out, coro_exc *exc)
{
    (void)exc;
    coro_array_iter *a = p;
    if (a->pos >= a->count) {
        *out = NULL;
        return CORO_RETURNED;
    }
    size_t i = a->pos++;
    if (a->elem_size == 0)
        *out = ((void *const *)a->base)[i];
    else
        *out = (void *)((const char *)a->base + i * a->elem_size);
    return CORO_YIELDED;
}

const coro_iter_vtable coro_array_iter_vt = {"array_iterator", array_next, NULL, NULL, NULL};

int coro_array_iter_init(coro_array_iter *a, const void *base, size_t count, size_t elem_size)
{
    if (a == NULL)
        return coro__fail(CORO_EINVAL, "coro_array_iter_init: a is NULL");
    if (base == NULL && count > 0)
        return coro__fail(CORO_EINVAL, "coro_array_iter_init: base is NULL but count is %zu",
                          count);
    a->base = base;
    a->count = count;
    a->elem_size = elem_size;
    a->pos = 0;
    return CORO_OK;
}
