/* delegate.c - yield from (PEP 380): the forwarding loop, linked chains, and
 * foreign iterators.
 * SPDX-License-Identifier: MIT
 *
 * Two mechanisms give one behaviour (docs/design.md has the argument):
 *
 *  1. The forwarding loop. A delegator parked in coro_yield_from is woken
 *     with the driver's operation and forwards it to its sub through the
 *     public driver API (a nested driver call), exactly as PEP 380's
 *     expansion does. Correct by construction, but every level costs a
 *     switch pair per value.
 *
 *  2. Linked chains. When a delegator parks on a coroutine sub that no one
 *     else is linked on, it *links* it: sub->parent = delegator. A driver
 *     call on the root of a linked chain then switches straight to the chain's
 *     leaf (coro__target), the leaf's yields go straight back to the driver,
 *     and a finishing leaf switches to its own delegator alone (finish() in
 *     coro.c, CORO__OP_SUB_DONE here). The middle levels would only have
 *     forwarded a send or a throw and passed a yielded value up, so skipping
 *     them is unobservable - except for GeneratorExit, which every level must
 *     turn into a close of its sub; close and throw(GeneratorExit) therefore
 *     always take mechanism 1.
 *
 * Invariants of a linked chain root -> ... -> leaf:
 *  - every member but the leaf is parked in the loop below with linked set;
 *  - only the leaf can be executing;
 *  - root->leaf is the leaf (other members' `leaf` fields are stale);
 *  - links change only at the executing leaf, so the path from the run's
 *    entry down to the executing coroutine is intact while it runs.
 */
#include "coro_int.h"

#include <stdio.h>

/* The deepest linked coroutine below c (c itself when c is not linked). */
static coro *walk_down(const coro *c)
{
    while (c->linked)
        c = c->sub;
    return (coro *)c;
}

/* The root of the chain c belongs to. c is executing, so its run's entry is
 * an ancestor-or-self (last invariant above); when that entry is a root, this
 * is O(1), which is the common case of a driver driving the root. */
static coro *root_of_running(coro *c)
{
    coro *entry = c->run->entry;
    if (entry->parent == NULL)
        return entry;
    while (c->parent != NULL)
        c = c->parent;
    return c;
}

static coro *root_of(coro *c)
{
    while (c->parent != NULL)
        c = c->parent;
    return c;
}

/* The leaf of the chain below c, O(1) for a root. */
static coro *chain_leaf(const coro *c)
{
    return c->parent == NULL ? (c->linked ? c->leaf : (coro *)c) : walk_down(c);
}

bool coro__chain_running(const coro *c)
{
    if (c->state != CORO_SUSPENDED || !c->linked)
        return false;
    coro *leaf = chain_leaf(c);
    if (leaf->state != CORO_RUNNING)
        return false;
    /* A run is inside the chain, entered at `entry`. c takes part in it when
     * the entry is c or above it (spec C3: a delegator runs while its sub
     * does). */
    const coro *entry = leaf->run->entry;
    for (const coro *p = c; p != NULL; p = p->parent)
        if (p == entry)
            return true;
    return false;
}

coro *coro__target(coro *c)
{
    if (!c->linked)
        return c;
    coro *leaf = chain_leaf(c);
    if (leaf->state == CORO_RUNNING) {
        if (coro__chain_running(c))
            return NULL;
        /* Something below c runs on its own (driven directly). Let c forward
         * by itself so that the "already executing" error surfaces in the
         * delegator just above the running part, as in Python (spec Y9). */
        return c;
    }
    return leaf;
}

/* Links sub (a root, suspended) below the executing delegator self. */
static void link(coro *self, coro *sub)
{
    coro *root = root_of_running(self);
    coro *new_leaf = sub->linked ? sub->leaf : sub;
    sub->parent = self;
    self->linked = true;
    root->leaf = new_leaf;
}

/* Undoes link() while self executes: sub becomes the root of whatever chain
 * still hangs below it, and self the leaf of its own. */
static void unlink_sub(coro *self)
{
    coro *sub = self->sub;
    coro *root = root_of_running(self);
    if (sub->linked)
        sub->leaf = root->leaf;
    sub->parent = NULL;
    self->linked = false;
    if (root != self)
        root->leaf = self;
}

void coro__detach_from_parent(coro *c)
{
    coro *parent = c->parent;
    coro *root = root_of(parent);
    parent->linked = false;
    c->parent = NULL;
    if (root != parent)
        root->leaf = parent;
    /* parent->sub still points at c (now CLOSED): its next forwarded
     * operation meets a closed coroutine and ends the delegation (spec Y13). */
}

/* Sets the exception that surfaces in the delegator and says so. */
static int surface(coro *self, const coro_exc *e)
{
    self->exc = *e;
    self->handling = true;
    return CORO_THROWN;
}

static int surface_new(coro *self, const coro_exc_type *type, const char *msg)
{
    coro_exc e;
    coro_exc_set(&e, type, msg);
    return surface(self, &e);
}

static int check_body_call(coro *self, const char *fn)
{
    if (self == NULL || self != coro__get_current())
        return coro__fail(CORO_ENOTCURRENT,
                          "%s: self is not the coroutine running on this thread; call it only "
                          "from the body, with the self it was given",
                          fn);
    return CORO_OK;
}

/* True when e is a StopIteration (or derived): the way a sub, or a foreign
 * iterator's next/send/throw_, ends a yield from with a value (Python's
 * StopIteration.value), which is e's udata. Not for close: a StopIteration
 * out of a close is raised in the delegator like any other exception. */
static bool stopped(const coro_exc *e, void **value)
{
    if (!coro_exc_matches(e->type, &coro_StopIteration))
        return false;
    *value = e->udata;
    return true;
}

/* Forwards a GeneratorExit (close, or throw of GeneratorExit) to a coroutine
 * sub and decides what surfaces in the delegator (spec Y5, Y6). */
static int close_sub(coro *self, coro *sub, const coro_exc *ge)
{
    int rc = coro_close(sub, NULL);
    switch (rc) {
    case CORO_RAISED:
        return surface(self, &sub->exc);
    case CORO_EIGNORED:
        return surface_new(self, &coro_RuntimeError, "coroutine ignored GeneratorExit");
    case CORO_ERUNNING:
        return surface_new(self, &coro_ValueError, "coroutine already executing");
    default:
        return surface(self, ge);
    }
}

int coro_yield_from(coro *self, coro *sub, void **result)
{
    if (result != NULL)
        *result = NULL;
    int rc = check_body_call(self, "coro_yield_from");
    if (rc != CORO_OK)
        return rc;
    if (sub == NULL)
        return coro__fail(CORO_EINVAL, "coro_yield_from: sub is NULL");
    self->handling = false;
    self->exc.type = NULL;
    self->sub = sub;
    sub->delegators++;

    void *value = NULL;
    int st = coro_next(sub, &value); /* spec Y1: always started with next */
    while (st == CORO_YIELDED) {
        /* Link unless another delegator already is (a shared sub is then
         * served by forwarding alone) or sub is this very coroutine. */
        if (sub->parent == NULL && sub != self && sub->state == CORO_SUSPENDED)
            link(self, sub);
        /* An exception the sub handled is no business of ours: both paths
         * must show none here (the fast path never touches self->exc). */
        self->exc.type = NULL;
        coro__park(self, value); /* spec Y2: sub's value goes to our driver */

        if (self->op == CORO__OP_SUB_DONE) {
            /* The linked sub finished on the fast path and switched here. Its
             * stack is ours to release: it ran its last instruction. */
            unlink_sub(self);
            coro__release_stack(sub);
            st = sub->op;
            value = sub->transfer;
            break;
        }
        if (self->linked)
            unlink_sub(self);
        if (self->op == CORO__OP_SEND) {
            st = coro_send(sub, self->transfer, &value); /* spec Y3 */
        } else {
            coro_exc thrown = self->exc;
            if (coro_exc_matches(thrown.type, &coro_GeneratorExit)) {
                st = close_sub(self, sub, &thrown);
                goto done;
            }
            st = coro_throw_exc(sub, &thrown, &value); /* spec Y4 */
        }
    }
    /* A StopIteration out of the sub ends the delegation with its udata as
     * the value, as CPython 3.11 does with whatever StopIteration comes back
     * from a forwarded call. From a coroutine sub it can only be the thrown
     * exception re-raised by a sub that had already finished (a live body
     * turns a StopIteration into RuntimeError, PEP 479). */
    if (st == CORO_RAISED && stopped(&sub->exc, &value))
        st = CORO_RETURNED;
    switch (st) {
    case CORO_RETURNED: /* spec Y7 */
        if (result != NULL)
            *result = value;
        self->exc.type = NULL; /* a throw the sub handled leaves nothing here */
        st = CORO_OK;
        break;
    case CORO_RAISED: /* spec Y8 */
        st = surface(self, &sub->exc);
        break;
    case CORO_ERUNNING: /* spec Y9 */
        st = surface_new(self, &coro_ValueError, "coroutine already executing");
        break;
    default: /* no other status comes out of the driver calls above */
        st = surface_new(self, &coro_RuntimeError, "yield from: unexpected status");
        break;
    }
done:
    self->sub = NULL;
    sub->delegators--;
    return st;
}

int coro_yield_from_fn(coro *self, coro_fn fn, void *arg, void **result)
{
    if (result != NULL)
        *result = NULL;
    int rc = check_body_call(self, "coro_yield_from_fn");
    if (rc != CORO_OK)
        return rc;
    coro *sub = NULL;
    rc = coro_create(&sub, fn, arg, NULL);
    if (rc != CORO_OK)
        return rc;
    /* yield from always returns (exceptions come back as CORO_THROWN), so
     * the sub is destroyed here on every way out but one: coro_destroy of
     * this coroutine while it is parked (after it ignored GeneratorExit),
     * which never returns here; sub_owned tells coro_destroy to do it. */
    self->sub_owned = true;
    rc = coro_yield_from(self, sub, result);
    self->sub_owned = false;
    coro_destroy(sub);
    return rc;
}

/* A foreign iterator broke its contract: report it as a RuntimeError in the
 * delegator, naming the iterator and what it returned. */
static int invalid_status(const coro_iter_vtable *vt, int st, coro_exc *e)
{
    char msg[CORO_EXC_MSG_MAX];
    snprintf(msg, sizeof msg, "iterator '%s' returned an invalid status %d",
             vt->name ? vt->name : "?", st);
    coro_exc_set(e, &coro_RuntimeError, msg);
    return CORO_RAISED;
}

/* What next/send/throw_ report, checked: CORO_YIELDED, CORO_RETURNED, or
 * CORO_RAISED with an exception filled in. A raised StopIteration (or
 * derived) is the iterator's way of returning: CORO_RETURNED with its udata
 * in *value. */
static int checked(const coro_iter_vtable *vt, int st, coro_exc *e, void **value)
{
    if (st == CORO_RAISED && e->type != NULL)
        return stopped(e, value) ? CORO_RETURNED : CORO_RAISED;
    if (st == CORO_YIELDED || st == CORO_RETURNED)
        return st;
    return invalid_status(vt, st, e);
}

/* What close reports, checked: CORO_OK or CORO_RETURNED (closed; a value is
 * discarded, spec Y5) become CORO_OK; CORO_RAISED needs an exception. */
static int checked_close(const coro_iter_vtable *vt, int st, coro_exc *e)
{
    if (st == CORO_OK || st == CORO_RETURNED)
        return CORO_OK;
    if (st == CORO_RAISED && e->type != NULL)
        return st;
    return invalid_status(vt, st, e);
}

int coro_yield_from_iter(coro *self, const coro_iter_vtable *vt, void *it, void **result)
{
    if (result != NULL)
        *result = NULL;
    int rc = check_body_call(self, "coro_yield_from_iter");
    if (rc != CORO_OK)
        return rc;
    if (vt == NULL || vt->next == NULL)
        return coro__fail(CORO_EINVAL, "coro_yield_from_iter: vt and vt->next are required");
    const char *name = vt->name ? vt->name : "iterator";
    self->handling = false;
    self->exc.type = NULL;
    self->sub_vt = vt;
    self->sub_it = it;

    coro_exc e = {0};
    void *value = NULL;
    int st = checked(vt, vt->next(it, &value, &e), &e, &value);
    while (st == CORO_YIELDED) {
        self->exc.type = NULL; /* as in coro_yield_from: nothing pending here */
        coro__park(self, value);
        e = (coro_exc){0};
        if (self->op == CORO__OP_SEND) {
            void *v = self->transfer;
            if (v == NULL) {
                st = checked(vt, vt->next(it, &value, &e), &e, &value);
            } else if (vt->send != NULL) {
                st = checked(vt, vt->send(it, v, &value, &e), &e, &value);
            } else { /* spec Y3 */
                char msg[CORO_EXC_MSG_MAX];
                snprintf(msg, sizeof msg, "'%s' object has no attribute 'send'", name);
                coro_exc_set(&e, &coro_AttributeError, msg);
                st = CORO_RAISED;
            }
            continue;
        }
        coro_exc thrown = self->exc;
        if (coro_exc_matches(thrown.type, &coro_GeneratorExit)) { /* spec Y5 */
            st = CORO_RAISED;
            e = thrown;
            if (vt->close != NULL) {
                coro_exc ce = {0};
                if (checked_close(vt, vt->close(it, &ce), &ce) == CORO_RAISED)
                    e = ce; /* its exception, or RuntimeError for a bad status */
            }
        } else if (vt->throw_ != NULL) {
            st = checked(vt, vt->throw_(it, &thrown, &value, &e), &e, &value);
        } else { /* spec Y4: raised here, the iterator is not closed */
            st = CORO_RAISED;
            e = thrown;
        }
    }
    self->sub_vt = NULL;
    self->sub_it = NULL;
    if (st == CORO_RETURNED) {
        if (result != NULL)
            *result = value;
        self->exc.type = NULL;
        return CORO_OK;
    }
    return surface(self, &e);
}

coro *coro_yield_from_target(const coro *c)
{
    if (c == NULL || c->sub == NULL || coro_get_state(c) != CORO_SUSPENDED)
        return NULL;
    return c->sub;
}

void *coro_yield_from_iter_target(const coro *c, const coro_iter_vtable **vt)
{
    if (vt != NULL)
        *vt = NULL;
    if (c == NULL || c->sub_vt == NULL || coro_get_state(c) != CORO_SUSPENDED)
        return NULL;
    if (vt != NULL)
        *vt = c->sub_vt;
    return c->sub_it;
}
