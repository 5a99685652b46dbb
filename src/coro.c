/* coro.c - the protocol state machine: create, next/send/throw/close, yield,
 * raise, defer, destroy.
 * SPDX-License-Identifier: MIT
 *
 * Every transfer of control is exactly one switch (coro__ctx_switch into a
 * coroutine, coro__ctx_switch_back out of one at a yield or park, or
 * coro__ctx_exit for a body's last):
 *  - a driver call switches into a coroutine (resume_from) and gets control
 *    back when something switches to run->back, handing over the status;
 *  - a body switches out when it yields (coro_yield, coro__park) or
 *    finishes (finish).
 * Which coroutine a driver call switches into, and where a finishing body
 * goes, is decided with the yield from chain in mind (delegate.c).
 */
#include "coro_int.h"
#include "sanitizer.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The current coroutine of each thread, only touched through the two
 * functions below. A body that yields on one thread may be resumed on
 * another, and a compiler may keep the *address* of a thread-local variable
 * in a register across a call it thinks cannot change threads (the context
 * switch). On x86-64 an initial-exec variable is reached with a %fs-relative
 * access each time, and the compiler never materialises its address unless
 * the address is taken (it is not), so the functions inline safely there.
 * Elsewhere (AArch64 reads the thread pointer into a register, which a
 * compiler may reuse) they stay out of line, so each call computes it
 * afresh. initial-exec costs 8 bytes of the static TLS that glibc keeps in
 * reserve for libraries (fine even when libcoro is dlopen'ed). */
static _Thread_local coro *current __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__)
#define CORO__CURRENT_ACCESS static inline __attribute__((always_inline))
#else
#define CORO__CURRENT_ACCESS static __attribute__((noinline))
#endif

CORO__CURRENT_ACCESS coro *get_current(void) { return current; }
CORO__CURRENT_ACCESS void set_current(coro *c) { current = c; }

coro *coro__get_current(void) { return get_current(); }

/* The thread's own context while it drives a coroutine from outside any
 * coroutine (a driving coroutine saves its context in its own ctx instead;
 * see coro__run.back). */
static _Thread_local coro__ctx thread_ctx __attribute__((tls_model(CORO__CTX_TLS_MODEL)));

static size_t default_stack_size = CORO_DEFAULT_STACK_SIZE;
static size_t default_compact_size = CORO_COMPACT_STACK_SIZE;
static int default_stack_mode = CORO_STACK_GUARDED;

/* A broken precondition of a function that cannot return an error (raise,
 * yield_value): say what happened and stop. */
static _Noreturn void die(const char *what)
{
    fprintf(stderr, "libcoro: fatal: %s\n", what);
    abort();
}

/* Gives a coroutine's stack back. c->high_water keeps the largest figure
 * coro_stack_high_water returned; CORO_RECORD_STACK_USE measures once more
 * here (a system call, so only when asked for). */
void coro__release_stack(coro *c)
{
    if (c->stack.lo == NULL)
        return;
    if (c->record_stack_use) {
        size_t used = coro__stack_used(&c->stack);
        if (used > c->high_water)
            c->high_water = used;
    }
    coro__stack_free(&c->stack);
}

/* ------------------------------------------------------------------------ */
/* Exceptions inside the engine                                             */
/* ------------------------------------------------------------------------ */

void coro__set_exc(coro *self, const coro_exc_type *type, const char *msg, void *udata)
{
    const coro_exc_type *context = self->handling ? self->exc.type : NULL;
    coro_exc_set(&self->exc, type, msg);
    self->exc.udata = udata;
    self->exc.context = context;
}

/* PEP 479: a StopIteration may not leave a body; it becomes RuntimeError with
 * the StopIteration as its cause, so "the body returned" stays the only way to
 * report CORO_RETURNED. */
static void pep479(coro_exc *e)
{
    if (!coro_exc_matches(e->type, &coro_StopIteration))
        return;
    const coro_exc_type *stop = e->type;
    coro_exc_set(e, &coro_RuntimeError, "coroutine raised StopIteration");
    e->cause = stop;
    e->context = stop;
}

/* ------------------------------------------------------------------------ */
/* Creation and destruction                                                 */
/* ------------------------------------------------------------------------ */

void coro_options_init(coro_options *opt)
{
    if (opt != NULL)
        *opt = (coro_options)CORO_OPTIONS_INIT;
}

/* Stores a default stack size, raised to the minimum; 0 is refused. */
static int set_default_size(size_t *slot, size_t size, const char *fn)
{
    if (size == 0)
        return coro__fail(CORO_EINVAL, "%s: size must not be 0", fn);
    *slot = size < CORO_MIN_STACK_SIZE ? CORO_MIN_STACK_SIZE : size;
    return CORO_OK;
}

int coro_set_default_stack_size(size_t size)
{
    return set_default_size(&default_stack_size, size, "coro_set_default_stack_size");
}

size_t coro_get_default_stack_size(void) { return default_stack_size; }

int coro_set_default_compact_stack_size(size_t size)
{
    return set_default_size(&default_compact_size, size, "coro_set_default_compact_stack_size");
}

size_t coro_get_default_compact_stack_size(void) { return default_compact_size; }

int coro_set_default_stack_mode(int mode)
{
    if (mode != CORO_STACK_GUARDED && mode != CORO_STACK_COMPACT)
        return coro__fail(CORO_EINVAL, "coro_set_default_stack_mode: mode must be "
                                       "CORO_STACK_GUARDED or CORO_STACK_COMPACT");
    default_stack_mode = mode;
    return CORO_OK;
}

int coro_get_default_stack_mode(void) { return default_stack_mode; }

static void entry(void *p);
static inline __attribute__((always_inline)) int close_suspended(coro *c, void **out);

/* Zeroes a new struct coro except the two blocks that are only ever read
 * after being written: the exception's message (read only while exc.type is
 * set, and coro_exc_set writes it with the type) and the inline cleanup
 * handler slots (a slot is filled before it is linked). One memset of the
 * whole struct was half of coro_create's time (a `rep stos` of ~570 bytes). */
static void clear_struct(coro *c)
{
    char *base = (char *)c;
    size_t msg = offsetof(struct coro, exc.message);
    size_t after_msg = offsetof(struct coro, exc.udata);
    size_t slots = offsetof(struct coro, inline_defers);
    memset(base, 0, msg);
    memset(base + after_msg, 0, slots - after_msg);
    /* Past the slots, field by field: a memset of that size became a
     * `rep stos`, whose start-up alone was a twelfth of a pooled cycle.
     * `stack` is written whole by coro__stack_alloc and `own_run` by every
     * driver call before it is read (begin_run), so only its entry is set
     * (by coro_create). Keep this list in step with struct coro. */
    c->sub = NULL;
    c->sub_vt = NULL;
    c->sub_it = NULL;
    c->parent = NULL;
    c->leaf = NULL;
    c->delegators = 0;
    c->stack_size = 0;
    c->high_water = 0;
    c->stack_mode = 0;
    c->record_stack_use = false;
    c->tsan_fiber = NULL;
    c->name = NULL;
    c->own_run.prev = NULL;
    c->own_run.back = NULL;
    c->own_run.out = NULL;
    c->own_run.back_lo = NULL;
    c->own_run.back_size = 0;
    c->own_run.back_fiber = NULL;
}

int coro_create(coro **out, coro_fn fn, void *arg, const coro_options *opt)
{
    if (out == NULL || fn == NULL)
        return coro__fail(CORO_EINVAL, "coro_create: out and fn are required");
    coro_options o = CORO_OPTIONS_INIT;
    if (opt != NULL)
        o = *opt;
    int mode = o.stack_mode == CORO_STACK_DEFAULT ? default_stack_mode : o.stack_mode;
    if (mode != CORO_STACK_GUARDED && mode != CORO_STACK_COMPACT)
        return coro__fail(CORO_EINVAL, "coro_create: unknown stack_mode %d", o.stack_mode);
    size_t size = o.stack_size ? o.stack_size
                  : mode == CORO_STACK_COMPACT ? default_compact_size
                                               : default_stack_size;

    int rc = CORO_ENOMEM;
    coro *c = coro__alloc_coro();
    if (c == NULL) {
        coro__fail(CORO_ENOMEM, "coro_create: could not allocate the coroutine (%zu bytes)",
                   sizeof *c);
        goto fail_struct;
    }
    clear_struct(c);
    if (o.name != NULL) {
        size_t len = strlen(o.name) + 1;
        c->name = coro__alloc(len);
        if (c->name == NULL) {
            coro__fail(CORO_ENOMEM, "coro_create: could not allocate the name (%zu bytes)", len);
            goto fail_name;
        }
        memcpy(c->name, o.name, len);
    }
    rc = coro__stack_alloc(&c->stack, size, mode);
    if (rc != CORO_OK)
        goto fail_stack;
    c->stack_size = c->stack.size;
    c->stack_mode = c->stack.mode;
    c->record_stack_use = (o.flags & CORO_RECORD_STACK_USE) != 0;
    if (coro__ctx_make(&c->ctx, c->stack.lo, c->stack.size, entry, c) != 0) {
        rc = coro__fail(CORO_ENOMEM, "coro_create: the %s backend could not make a context",
                        coro__ctx_name());
        goto fail_ctx;
    }
    c->fn = fn;
    c->arg = arg;
    c->own_run.entry = c;
    c->state = CORO_CREATED;
#ifdef CORO_TSAN
    c->tsan_fiber = __tsan_create_fiber(0);
#endif
    *out = c;

    if (o.flags & CORO_PRIME) {
        rc = coro_next(c, NULL);
        return rc == CORO_YIELDED ? CORO_OK : rc;
    }
    return CORO_OK;

fail_ctx:
    coro__release_stack(c);
fail_stack:
    if (c->name != NULL)
        coro__free(c->name, strlen(c->name) + 1);
fail_name:
    coro__free_coro(c);
fail_struct:
    return rc;
}

/* Unlinks the newest cleanup handler and gives its node back: an inline
 * slot needs nothing (its depth is free again), a deeper one was allocated. */
static void unlink_newest_defer(coro *c)
{
    coro__defer *d = c->defers;
    c->defers = d->next;
    if (--c->ndefers >= CORO__INLINE_DEFERS)
        coro__free(d, sizeof *d);
}

static void free_defers(coro *c)
{
    while (c->defers != NULL)
        unlink_newest_defer(c);
}

int coro_destroy(coro *c)
{
    if (c == NULL)
        return CORO_OK;
    if (c->state == CORO_RUNNING || coro__chain_running(c))
        return coro__fail(CORO_ERUNNING,
                          "coro_destroy: the coroutine is running; destroy it after it yields");
    if (c->delegators != 0)
        return coro__fail(CORO_EBUSY,
                          "coro_destroy: another coroutine is inside a yield from on this one; "
                          "close or destroy that delegator first");
    if (c->state == CORO_SUSPENDED) {
        /* Spec F1/F2: finalising closes, and errors go to the hook. (The
         * checks coro_close would make were made just above.) */
        int rc = close_suspended(c, NULL);
        if (rc == CORO_EIGNORED)
            coro__unraisable(c, NULL, "exception ignored while destroying");
        else if (rc == CORO_RAISED)
            coro__unraisable(c, &c->exc, "exception ignored while destroying");
    }
    /* Still parked in a yield from if the body ignored GeneratorExit: let go
     * of the sub (it is the user's to destroy). */
    if (c->sub != NULL) {
        coro *sub = c->sub;
        if (c->linked) {
            /* c has no parent (delegators == 0), so c is a root and c->leaf
             * is the leaf of the chain that sub now heads. */
            if (sub->linked)
                sub->leaf = c->leaf;
            sub->parent = NULL;
            c->linked = false;
        }
        sub->delegators--;
        c->sub = NULL;
        if (c->sub_owned) {
            c->sub_owned = false;
            coro_destroy(sub);
        }
    }
    free_defers(c);
    coro__release_stack(c);
#ifdef CORO_TSAN
    if (c->tsan_fiber != NULL)
        __tsan_destroy_fiber(c->tsan_fiber);
#endif
    if (c->name != NULL)
        coro__free(c->name, strlen(c->name) + 1);
    coro__free_coro(c);
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* The switch in both directions                                            */
/* ------------------------------------------------------------------------ */

/* Every switch goes through one of a few places: resume (driver -> body),
 * coro_yield and coro__park (body -> driver), finish (body -> driver or
 * delegator, for good) and entry (a body's first arrival). Each tells the
 * sanitizers which stack it leaves and which it lands on, and checks the
 * canary of a compact stack it leaves.
 *
 * The side that switches does the other side's bookkeeping before the
 * switch, and the status travels through the switch (ctx.h). So coro_send
 * and coro_yield have nothing left to do once the switch returns, and in
 * builds without ASan (which needs a call after every switch) they end with
 * a tail call of it: no `ret` crosses between stacks (docs/design.md, "The
 * hot path"). */

/* A compact stack has no guard page; its canary is checked every time the
 * coroutine switches out. An overrun is a memory error already made, so the
 * only safe thing left is to stop, saying where and what to change. */
static void check_canary(const coro *c)
{
    if (c == NULL || c->stack.mode != CORO_STACK_COMPACT || coro__stack_canary_ok(&c->stack))
        return;
    fprintf(stderr,
            "libcoro: stack overflow in coroutine '%s': it overran its compact stack of %zu "
            "bytes (the canary below the stack was overwritten); give it a larger "
            "stack_size or a guarded stack\n",
            coro_name(c), c->stack.size);
    abort();
}

/* Called first thing on arrival in a coroutine from a driver: records the
 * driver's stack for the switch back. `fake` is what this coroutine saved
 * when it left (NULL on its first arrival). */
static void arrived_from_driver(coro *self, void *fake)
{
#ifdef CORO_ASAN
    const void *lo = NULL;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(fake, &lo, &size);
    self->run->back_lo = lo;
    self->run->back_size = size;
#else
    (void)self;
    (void)fake;
#endif
}

/* Starts a driver call on c whose first switch goes to `target` (c, or the
 * leaf of c's linked chain): fills in c's run record and makes target the
 * current coroutine. `prev` is the driver's current coroutine, whose canary
 * the caller has checked. The driver's context is saved in the driving
 * coroutine's own ctx, free while it executes, or in the thread's. The
 * address of thread_ctx is taken on this thread and only used by coroutines
 * that run on it during this call. */
static inline __attribute__((always_inline)) coro__run *begin_run(coro *prev, coro *c,
                                                                  coro *target, void **out)
{
    coro__run *run = &c->own_run;
    coro__ctx *back = prev != NULL ? &prev->ctx : &thread_ctx;
    run->prev = prev;
    run->back = back;
    run->out = out;
    target->run = run;
    target->back = back;
    target->state = CORO_RUNNING;
    c->state = CORO_RUNNING;
    set_current(target);
    return run;
}

/* The driver's switch into target; returns the status the run ends with.
 * Whoever switches back has already set the states, *out and the current
 * coroutine, and a finished entry's stack is released on arrival (finish),
 * so without ASan this is the tail call that ends coro_send. */
static inline __attribute__((always_inline)) int switch_in(coro *c, coro *target,
                                                           coro__run *run, int status)
{
#ifdef CORO_TSAN
    run->back_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(target->tsan_fiber, 0);
#endif
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, target->stack.lo, target->stack.size);
    int st = coro__ctx_switch(run->back, &target->ctx, status);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
    /* Under ASan the entry's stack is released here, after the switch is
     * complete, rather than by finish's arrival hook. */
    if (c->state == CORO_CLOSED)
        coro__release_stack(c);
    return st;
#else
    (void)c;
    return coro__ctx_switch(run->back, &target->ctx, status);
#endif
}

/* Switches from the driver (whose current coroutine is `prev`) into `target`
 * on behalf of a call on `c` (the entry; target is c or the leaf of c's
 * linked chain) and returns the status the run comes back with. For
 * CORO__OP_THROW, `thrown` is raised at target's pending yield. Always
 * inlined into its callers, so that coro_send ends with the switch itself. */
static inline __attribute__((always_inline)) int resume_from(coro *prev, coro *c, coro *target,
                                                             int op, void *value,
                                                             const coro_exc *thrown, void **out)
{
    int status = CORO_OK; /* what a pending coro_yield returns */
    if (op == CORO__OP_THROW) {
        target->op = CORO__OP_THROW;
        if (thrown != &target->exc) /* coro_close builds it in place */
            target->exc = *thrown;
        status = CORO_THROWN;
        if (target->in_yield) {
            target->handling = true;
            if (target->received != NULL) /* coro_yield left it to us */
                *target->received = NULL;
        }
    } else if (CORO__LIKELY(target->in_yield)) {
        /* coro_yield returns the status straight from the switch and reads
         * neither op nor transfer: the value goes where it asked. */
        if (CORO__LIKELY(target->received != NULL))
            *target->received = value;
    } else {
        /* A first entry, a park or a yield from loop reads them. */
        target->op = (unsigned char)op;
        target->transfer = value;
    }
    coro__run *run = begin_run(prev, c, target, out);
    return switch_in(c, target, run, status);
}

/* resume_from for the general paths: a body driving another coroutine
 * switches out too, so its canary is checked. */
static inline __attribute__((always_inline)) int
resume(coro *c, coro *target, int op, void *value, const coro_exc *thrown, void **out)
{
    coro *prev = get_current();
    check_canary(prev);
    return resume_from(prev, c, target, op, value, thrown, out);
}

/* The body's half of switching back to the driver of its run, done before
 * the switch: the driver does nothing after it. The caller checks self's
 * canary. */
static inline __attribute__((always_inline)) coro__run *hand_back(coro *self, void *value)
{
    coro__run *run = self->run;
    self->state = CORO_SUSPENDED;
    run->entry->state = CORO_SUSPENDED; /* the entry may be a chain's root */
    if (run->out != NULL)
        *run->out = value;
    set_current(run->prev);
#ifdef CORO_TSAN
    __tsan_switch_to_fiber(run->back_fiber, 0);
#endif
    return run;
}

void coro__park(coro *self, void *value)
{
    self->in_yield = false;
    check_canary(self);
    coro__run *run = hand_back(self, value);
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, run->back_lo, run->back_size);
#else
    (void)run;
#endif
    (void)coro__ctx_switch_back(&self->ctx, self->back, CORO_YIELDED);
    /* Resumed: the resumer has set state, op, run and the current coroutine.
     * A finishing sub (CORO__OP_SUB_DONE) continues a run whose driver's
     * stack is already recorded; a driver starts a new run. */
#ifdef CORO_ASAN
    if (self->op == CORO__OP_SUB_DONE)
        __sanitizer_finish_switch_fiber(fake, NULL, NULL);
    else
        arrived_from_driver(self, fake);
#endif
}

#ifndef CORO_ASAN
/* finish's arrival hook: runs on the driver's stack, once the finished body
 * no longer runs on its own. (Under ASan, switch_in releases instead.) */
static void release_finished(void *c) { coro__release_stack(c); }
#endif

/* The body is over (returned or raised, cleanup handlers done). Switches away
 * for good: to the delegator linked above (which learns the outcome from
 * self->transfer / self->exc / self->op and releases this stack) unless self
 * is the entry of the run, in which case the driver gets the status. */
static _Noreturn void finish(coro *self, int status, void *value)
{
    coro__run *run = self->run;
    coro *parent = self->parent;
    self->state = CORO_CLOSED;
    self->transfer = value;
    self->op = (unsigned char)status;
    self->in_yield = false;
    check_canary(self);
    if (parent != NULL && run->entry != self) {
        parent->op = CORO__OP_SUB_DONE;
        parent->run = run;
        parent->back = run->back;
        parent->state = CORO_RUNNING;
        set_current(parent);
#ifdef CORO_TSAN
        __tsan_switch_to_fiber(parent->tsan_fiber, 0);
#endif
#ifdef CORO_ASAN
        /* NULL: this stack is done for, ASan may drop its fake frames. */
        __sanitizer_start_switch_fiber(NULL, parent->stack.lo, parent->stack.size);
#endif
        coro__ctx_exit(&parent->ctx, CORO_OK, NULL, NULL);
    }
    if (parent != NULL)
        coro__detach_from_parent(self);
    if (run->out != NULL)
        *run->out = value;
    set_current(run->prev);
#ifdef CORO_TSAN
    __tsan_switch_to_fiber(run->back_fiber, 0);
#endif
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(NULL, run->back_lo, run->back_size);
    coro__ctx_exit(run->back, status, NULL, NULL); /* switch_in releases */
#else
    coro__ctx_exit(run->back, status, release_finished, self); /* spec A3 */
#endif
}

/* Unlinks the newest cleanup handler and runs it. Unlinked first, so a
 * handler that raises or yields never runs twice. */
static void run_newest_defer(coro *self)
{
    void (*fn)(void *) = self->defers->fn;
    void *arg = self->defers->arg;
    unlink_newest_defer(self);
    fn(arg);
}

void coro__run_newest_defer(coro *self) { run_newest_defer(self); }

/* Runs the cleanup handlers newest first (the body returned). */
static void run_defers(coro *self)
{
    while (self->defers != NULL)
        run_newest_defer(self);
}

/* Propagates *e: to the innermost coro_try if there is one (after the
 * handlers registered inside its protected call), else out of the body
 * (after every handler, then PEP 479, then the final switch). During the
 * handlers the exception counts as being handled, so a new raise records it
 * as __context__; a handler that raises starts a new propagation, which
 * finishes the remaining handlers and goes to the same place. *e is copied
 * because a handler may yield and be thrown into, which overwrites
 * self->exc. */
/* propagate's handler loop, out of line: its copy of the exception takes
 * about 200 bytes of stack, which the common case (no handler to run, every
 * close of a body without handlers) then neither reserves nor writes under:
 * in a burst of closes each such frame is a cold cache line less to fetch. */
static __attribute__((noinline)) void run_defers_above(coro *self, const coro_exc *e,
                                                       unsigned mark)
{
    coro_exc pending = *e;
    while (self->ndefers > mark) {
        self->exc = pending;
        self->handling = true;
        run_newest_defer(self);
    }
    self->exc = pending;
}

static _Noreturn void propagate(coro *self, const coro_exc *e)
{
    coro__try *t = self->try_top;
    unsigned mark = t != NULL ? t->defer_mark : 0;
    if (self->ndefers > mark) {
        run_defers_above(self, e, mark);
    } else if (e != &self->exc) {
        /* No handler to run: no copy through `pending` (the common case of
         * a protected call, and of every close of a body without handlers). */
        self->exc = *e;
    }
    if (t != NULL) {
        /* Caught: no PEP 479 here, a StopIteration is caught as itself. A
         * handler's own coro_try frames were popped before it returned, so
         * t is still the innermost frame. */
        self->try_top = t->prev;
        self->handling = true;
        longjmp(t->env, 1);
    }
    pep479(&self->exc);
    self->handling = false;
    finish(self, CORO_RAISED, NULL);
}

static void entry(void *p)
{
    coro *self = p;
    arrived_from_driver(self, NULL);
    void *ret = self->fn(self, self->arg);
    self->handling = false;
    self->exc.type = NULL;
    run_defers(self);
    finish(self, CORO_RETURNED, ret);
}

/* ------------------------------------------------------------------------ */
/* Driving                                                                  */
/* ------------------------------------------------------------------------ */


static int already_running(const char *fn)
{
    return coro__fail(CORO_ERUNNING,
                      "%s: coroutine already executing (it, or a coroutine it delegates to, "
                      "is running; drive it after it yields)",
                      fn);
}

/* Everything but the hot case of coro_send. Kept out of line so that the
 * hot case needs no registers saved and ends in a bare tail call. */
__attribute__((noinline)) static int send_general(coro *c, void *value, void **out,
                                                  const char *fn)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL)
        return coro__fail(CORO_EINVAL, "%s: c is NULL", fn);
    coro *target;
    switch (c->state) {
    case CORO_CREATED:
        if (value != NULL)
            return coro__fail(CORO_EJUSTSTARTED,
                              "coro_send: can't send non-None value to a just-started "
                              "coroutine; start it with coro_next first");
        return resume(c, c, CORO__OP_SEND, NULL, NULL, out);
    case CORO_SUSPENDED:
        target = coro__target(c); /* c, or the leaf of its yield from chain */
        if (target == NULL)
            return already_running(fn);
        return resume(c, target, CORO__OP_SEND, value, NULL, out);
    case CORO_RUNNING:
        return already_running(fn);
    default: /* CLOSED: spec B7, the return value was delivered once. */
        return CORO_RETURNED;
    }
}

/* coro_send and coro_next, with the name failures are reported under (fn, a
 * constant once inlined). */
__attribute__((always_inline)) static inline int send_named(coro *c, void *value, void **out,
                                                            const char *fn)
{
    /* The hot case: a suspended coroutine, outside any yield from chain or
     * the root of one whose leaf is parked (then the switch goes straight to
     * the leaf: coro__target, inlined), driven from outside any coroutine or
     * from one with a guarded stack. It calls nothing before the switch, so
     * it saves no registers either. */
    if (CORO__LIKELY(c != NULL && c->state == CORO_SUSPENDED)) {
        coro *target = c;
        if (CORO__UNLIKELY(c->linked)) {
            if (c->parent != NULL || c->leaf->state == CORO_RUNNING)
                return send_general(c, value, out, fn);
            target = c->leaf;
        }
        coro *prev = get_current();
        if (CORO__LIKELY(prev == NULL) || prev->stack.mode != CORO_STACK_COMPACT)
            return resume_from(prev, c, target, CORO__OP_SEND, value, NULL, out);
        return send_general(c, value, out, fn);
    }
    if (c != NULL && c->state == CORO_CREATED && value == NULL) {
        /* The first resume (coro_next, or a send of NULL): the same switch
         * into the trampoline that send_general would make. */
        coro *prev = get_current();
        if (prev == NULL || prev->stack.mode != CORO_STACK_COMPACT)
            return resume_from(prev, c, c, CORO__OP_SEND, NULL, NULL, out);
    }
    return send_general(c, value, out, fn);
}

int coro_send(coro *c, void *value, void **out) { return send_named(c, value, out, "coro_send"); }

int coro_next(coro *c, void **out) { return send_named(c, NULL, out, "coro_next"); }

static int throw_named(coro *c, const coro_exc *exc, void **out, const char *fn);

int coro_throw(coro *c, const coro_exc_type *type, const char *msg, void **out)
{
    coro_exc e;
    if (type == NULL) {
        if (out != NULL)
            *out = NULL;
        return coro__fail(CORO_EINVAL, "coro_throw: an exception type is required");
    }
    coro_exc_set(&e, type, msg);
    return throw_named(c, &e, out, "coro_throw");
}

/* coro_throw and coro_throw_exc, with the name failures are reported under. */
static int throw_named(coro *c, const coro_exc *exc, void **out, const char *fn)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL || exc == NULL || exc->type == NULL)
        return coro__fail(CORO_EINVAL, "%s: c and an exception with a type are required", fn);
    coro *target;
    switch (c->state) {
    case CORO_CREATED:
        /* Spec D2: raised before the first line, so nothing runs. */
        coro__release_stack(c);
        c->state = CORO_CLOSED;
        c->exc = *exc;
        pep479(&c->exc);
        return CORO_RAISED;
    case CORO_SUSPENDED:
        if (coro_exc_matches(exc->type, &coro_GeneratorExit)) {
            /* Each delegator on the way must close its sub (spec Y5), so a
             * GeneratorExit never skips to the leaf. */
            if (coro__chain_running(c))
                return already_running(fn);
            target = c;
        } else {
            target = coro__target(c);
            if (target == NULL)
                return already_running(fn);
        }
        return resume(c, target, CORO__OP_THROW, NULL, exc, out);
    case CORO_RUNNING:
        return already_running(fn);
    default: /* CLOSED: spec D4, re-raised as is. */
        c->exc = *exc;
        return CORO_RAISED;
    }
}

int coro_throw_exc(coro *c, const coro_exc *exc, void **out)
{
    return throw_named(c, exc, out, "coro_throw_exc");
}

int coro_close(coro *c, void **out)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL)
        return coro__fail(CORO_EINVAL, "coro_close: c is NULL");
    switch (c->state) {
    case CORO_CREATED:
        /* Spec E1: nothing runs, and the stack goes at once. */
        coro__release_stack(c);
        c->state = CORO_CLOSED;
        return CORO_OK;
    case CORO_RUNNING:
        return already_running("coro_close");
    case CORO_CLOSED:
        return CORO_OK;
    default:
        break;
    }
    if (coro__chain_running(c))
        return already_running("coro_close");
    return close_suspended(c, out);
}

/* coro_close of a SUSPENDED coroutine that no chain run passes through
 * (coro_destroy has checked as much already). Inlined into both callers:
 * the switch into the body returns after the body's calls have filled the
 * return stack buffer, so every `ret` between it and the driver's code
 * mispredicts; a call level less here is one misprediction less per
 * destroy. */
static inline __attribute__((always_inline)) int close_suspended(coro *c, void **out)
{
    /* Built in place, field by field (coro_exc_set with an empty message,
     * without its strnlen and memcpy calls): resume_from copies nothing when
     * the exception to raise is already the target's own. */
    c->exc.type = &coro_GeneratorExit;
    c->exc.message[0] = '\0';
    c->exc.udata = NULL;
    c->exc.context = NULL;
    c->exc.cause = NULL;
    /* A body that lets GeneratorExit through finishes, and finish checks a
     * compact stack's canary, 64 bytes at the top of the slot below (another
     * page, cold in a burst): start fetching it while the body unwinds.
     * Prefetches never fault. */
    if (c->stack.mode == CORO_STACK_COMPACT)
        __builtin_prefetch(coro__stack_canary(&c->stack), 0, 3);
    void *value = NULL;
    int rc = resume(c, c, CORO__OP_THROW, NULL, &c->exc, &value);
    switch (rc) {
    case CORO_YIELDED: /* spec E2b: still SUSPENDED at the new yield */
        return coro__fail(CORO_EIGNORED,
                          "coro_close: coroutine ignored GeneratorExit (its body yielded "
                          "after the close; it is still suspended)");
    case CORO_RETURNED: /* spec E2a, 3.13: the value returned while closing */
        if (out != NULL)
            *out = value;
        return CORO_OK;
    default:
        if (c->exc.type == &coro_GeneratorExit ||
            coro_exc_matches(c->exc.type, &coro_GeneratorExit))
            return CORO_OK;
        return CORO_RAISED; /* spec E2c */
    }
}

const coro_exc *coro_exception(const coro *c)
{
    return (c != NULL && c->exc.type != NULL) ? &c->exc : NULL;
}

/* ------------------------------------------------------------------------ */
/* Inside the body                                                          */
/* ------------------------------------------------------------------------ */

static int not_current(const char *fn)
{
    return coro__fail(CORO_ENOTCURRENT,
                      "%s: self is not the coroutine running on this thread; call it only "
                      "from the body, with the self it was given",
                      fn);
}

/* coro_yield once its arguments are checked. */
static inline __attribute__((always_inline)) int yield_checked(coro *self, void *value,
                                                               void **received)
{
    self->handling = false;
    self->exc.type = NULL;
    /* The resumer fills in *received (the value, or NULL for a throw), sets
     * handling for a throw and hands over CORO_OK or CORO_THROWN as the
     * switch's result (resume_from). */
    self->received = received;
    self->in_yield = true;
    coro__run *run = hand_back(self, value);
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, run->back_lo, run->back_size);
    int st = coro__ctx_switch_back(&self->ctx, self->back, CORO_YIELDED);
    arrived_from_driver(self, fake);
    return st;
#else
    (void)run;
    return coro__ctx_switch_back(&self->ctx, self->back, CORO_YIELDED);
#endif
}

/* coro_yield from a compact stack: its canary is checked on the way out.
 * Out of line, so that the guarded case calls nothing before the switch. */
__attribute__((noinline)) static int yield_compact(coro *self, void *value, void **received)
{
    check_canary(self);
    return yield_checked(self, value, received);
}

int coro_yield(coro *self, void *value, void **received)
{
    /* *received is written by whoever resumes (resume_from: the value sent,
     * or NULL for a throw), not here on the way out. */
    if (self == NULL || self != get_current()) {
        if (received != NULL)
            *received = NULL;
        return not_current("coro_yield");
    }
    if (self->stack.mode == CORO_STACK_COMPACT)
        return yield_compact(self, value, received);
    return yield_checked(self, value, received);
}

void *coro_yield_value(coro *self, void *value)
{
    void *received = NULL;
    int rc = coro_yield(self, value, &received);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    if (rc != CORO_OK)
        die("coro_yield_value: self is not the coroutine running on this thread");
    return received;
}

static void check_raise(coro *self, const char *fn)
{
    if (self == NULL || self != get_current()) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%s: self is not the coroutine running on this thread (raise only from "
                 "inside the body)",
                 fn);
        die(msg);
    }
}

void coro_raise(coro *self, const coro_exc_type *type, const char *msg)
{
    check_raise(self, "coro_raise");
    if (type == NULL)
        die("coro_raise: an exception type is required");
    coro__set_exc(self, type, msg, NULL);
    propagate(self, &self->exc);
}

void coro_raisef(coro *self, const coro_exc_type *type, const char *fmt, ...)
{
    check_raise(self, "coro_raisef");
    if (type == NULL)
        die("coro_raisef: an exception type is required");
    char msg[CORO_EXC_MSG_MAX] = "";
    if (fmt != NULL) { /* NULL: an empty message, as coro_raise */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    coro__set_exc(self, type, msg, NULL);
    propagate(self, &self->exc);
}

void coro_raise_exc(coro *self, const coro_exc *exc)
{
    check_raise(self, "coro_raise_exc");
    if (exc == NULL || exc->type == NULL)
        die("coro_raise_exc: an exception with a type is required");
    coro_exc e = *exc;
    if (e.context == NULL && self->handling)
        e.context = self->exc.type;
    propagate(self, &e);
}

void coro_reraise(coro *self)
{
    check_raise(self, "coro_reraise");
    if (self->exc.type == NULL)
        die("coro_reraise: no exception is being handled (call it after CORO_THROWN)");
    propagate(self, &self->exc);
}

int coro_defer(coro *self, void (*fn)(void *arg), void *arg)
{
    if (self == NULL || self != get_current())
        return not_current("coro_defer");
    if (fn == NULL)
        return coro__fail(CORO_EINVAL, "coro_defer: fn is required");
    coro__defer *d;
    if (self->ndefers < CORO__INLINE_DEFERS) {
        d = &self->inline_defers[self->ndefers]; /* see coro__defer: no allocation */
    } else {
        d = coro__alloc(sizeof *d);
        if (d == NULL)
            return coro__fail(CORO_ENOMEM, "coro_defer: could not allocate a cleanup handler");
    }
    self->ndefers++;
    d->fn = fn;
    d->arg = arg;
    d->next = self->defers;
    self->defers = d;
    return CORO_OK;
}

int coro_defer_pop(coro *self, bool run)
{
    if (self == NULL || self != get_current())
        return not_current("coro_defer_pop");
    coro__defer *d = self->defers;
    if (d == NULL)
        return coro__fail(CORO_EINVAL, "coro_defer_pop: no cleanup handler is registered");
    if (self->try_top != NULL && self->ndefers <= self->try_top->defer_mark)
        return coro__fail(CORO_EINVAL, "coro_defer_pop: the newest cleanup handler was "
                                       "registered outside the current coro_try; pop it "
                                       "after the protected call returns");
    if (run)
        run_newest_defer(self);
    else
        unlink_newest_defer(self);
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* Introspection                                                            */
/* ------------------------------------------------------------------------ */

int coro_get_state(const coro *c)
{
    if (c == NULL)
        return coro__fail(CORO_EINVAL, "coro_get_state: c is NULL");
    if (c->state == CORO_SUSPENDED && coro__chain_running(c))
        return CORO_RUNNING;
    return c->state;
}

const char *coro_state_name(int state)
{
    switch (state) {
    case CORO_CREATED:
        return "GEN_CREATED";
    case CORO_RUNNING:
        return "GEN_RUNNING";
    case CORO_SUSPENDED:
        return "GEN_SUSPENDED";
    case CORO_CLOSED:
        return "GEN_CLOSED";
    default:
        return "GEN_UNKNOWN";
    }
}

coro *coro_current(void) { return get_current(); }

const char *coro_name(const coro *c)
{
    if (c == NULL)
        return NULL;
    return c->name ? c->name : "coroutine";
}

size_t coro_stack_size(const coro *c) { return c ? c->stack_size : 0; }

size_t coro_stack_high_water(const coro *c)
{
    if (c == NULL)
        return 0;
    if (c->stack.lo == NULL)
        return c->high_water;
    size_t used = coro__stack_used(&c->stack);
    /* Remembered for after CLOSED (coro.h). c is const to the caller, but the
     * struct itself never is: it was allocated by coro_create. */
    coro *m = (coro *)(uintptr_t)c;
    if (used > m->high_water)
        m->high_water = used;
    return used;
}

int coro_stack_mode(const coro *c)
{
    if (c == NULL)
        return coro__fail(CORO_EINVAL, "coro_stack_mode: c is NULL");
    return c->stack.lo != NULL ? c->stack.mode : c->stack_mode;
}
