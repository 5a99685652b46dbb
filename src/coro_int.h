/* coro_int.h - struct coro, the resume frame, and the invariants that bind them.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_INT_H
#define CORO_INT_H

#include "coro.h"
#include "ctx.h"
#include "stack.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

/* Branch hints for the hot paths (send, yield): the compiler lays the
 * likely side out as the straight line, so a round trip takes no jumps
 * besides the switch's own. Hints only; either side is correct. */
#define CORO__LIKELY(x) __builtin_expect(!!(x), 1)
#define CORO__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* What a resumer asks of a coroutine it switches into (coro->op). */
enum coro__op {
    CORO__OP_SEND,     /* the pending yield evaluates to coro->transfer */
    CORO__OP_THROW,    /* coro->exc is raised at the pending yield */
    CORO__OP_SUB_DONE  /* only for a delegator parked on a linked sub: the sub
                          finished; read its outcome from the sub itself */
};

/* One driver call (next/send/throw/close) in progress, on `entry`. It lives
 * in the entry's struct (entry->own_run), so a driver call needs no frame of
 * its own: coro_send can end with a tail call of the switch. Every coroutine
 * that runs because of the call points at it (coro->run) and finds there
 * where to go back to.
 *
 *  - `back` is where the driver's context is saved: the driving coroutine's
 *    own ctx (it is executing, so its ctx is free), or the thread's context
 *    when the driver is not a coroutine. A coroutine that yields, or the
 *    entry that finishes, switches to it.
 *  - `entry` is the coroutine the driver named. With a linked yield from
 *    chain the driver may switch straight to the chain's leaf instead; entry
 *    still decides where a finishing coroutine goes (see finish in coro.c).
 *  - Whoever switches back to `back` does the driver's bookkeeping first
 *    (the current coroutine becomes `prev`, *out gets the value, the entry's
 *    state) and hands the status over through the switch.
 */
typedef struct coro__run {
    coro__ctx *back;
    coro *entry; /* constant: the struct this record lives in */
    coro *prev;  /* the driver's current coroutine, NULL outside any */
    void **out;  /* the driver's out argument, may be NULL */
    /* The driver's stack and fiber, for the sanitizers' fiber APIs: the first
     * coroutine to arrive in the run records where `back` lives. */
    const void *back_lo;
    size_t back_size;
    void *back_fiber;
} coro__run;

/* A cleanup handler registered with coro_defer: a singly linked LIFO.
 * Handlers are strictly last in, first out (coro_defer pushes, running or
 * popping takes the newest), so the handler at depth d (0 = oldest) always
 * leaves before any at a smaller depth. That lets the first
 * CORO__INLINE_DEFERS of them live in struct coro itself, at index d, with
 * no allocation: a slot is free again exactly when its handler is unlinked.
 * Deeper handlers are allocated. */
typedef struct coro__defer {
    struct coro__defer *next;
    void (*fn)(void *);
    void *arg;
} coro__defer;

#define CORO__INLINE_DEFERS CORO_INLINE_DEFERS

/* One active coro_try on a coroutine's stack (the try frame lives in
 * coro_try's own stack frame). Frames form a LIFO through `prev`, newest in
 * coro->try_top. A raise in the body runs the handlers registered after the
 * frame began (ndefers above `defer_mark`) and then longjmps to `env`; only
 * with no frame left does an exception end the body. */
typedef struct coro__try {
    struct coro__try *prev;
    unsigned defer_mark; /* coro->ndefers when the protected call began */
    jmp_buf env;
} coro__try;

/* struct coro.
 *
 * Ownership: the user owns the struct (coro_create/coro_destroy). The stack
 * belongs to the struct from create until the coroutine is CLOSED; it is
 * released by whoever regains control after the body's final switch (never
 * by the body itself, which is still running on it).
 *
 * State field (`state`):
 *  - CREATED: `stack` is mapped and `ctx` is made; nothing ran.
 *  - RUNNING: the body is executing on some thread (maybe inside a nested
 *    driver call), or this coroutine is the entry of a driver call that is
 *    in progress through its yield from chain.
 *  - SUSPENDED: parked in coro_yield or in a yield from loop. A *linked*
 *    delegator in the middle of a chain keeps SUSPENDED in this field even
 *    while its chain runs; coro_get_state computes RUNNING for it (O(depth),
 *    never on the hot path).
 *  - CLOSED: finished; `stack` is released (stack.lo == NULL) or about to be.
 *
 * Delegation (yield from), see delegate.c and docs/design.md:
 *  - `sub` / `sub_vt` / `sub_it`: what this coroutine is parked on, NULL when
 *    not delegating. The sub may have finished without its delegator being
 *    told (driven or closed directly): the next forwarded operation meets a
 *    CLOSED coroutine and ends the delegation (spec Y13).
 *  - `linked` is true when sub->parent == this: the driver may then skip this
 *    coroutine and switch straight to the chain's leaf. A chain is the path of
 *    linked coroutines root -> ... -> leaf; only its leaf can be executing.
 *  - `parent`: the delegator linked on this coroutine, NULL if none. A
 *    coroutine with parent == NULL is a root.
 *  - `leaf`: valid only on a linked root: the deepest coroutine of the chain.
 *  - `delegators`: how many coroutines are inside a yield from on this one
 *    (linked or not). Destroy refuses while it is non-zero.
 */
struct coro {
    coro__ctx ctx;       /* saved context while not executing (also while it
                            drives another coroutine: see coro__run.back) */
    coro__run *run;      /* the driver call this coroutine last ran for */
    coro__ctx *back;     /* run->back, copied when run is set: coro_yield
                            switches to it, and one load fewer on the way
                            is a shorter dependency chain into the switch */
    void **received;     /* parked in coro_yield: its received argument, which
                            a resuming send fills in (may be NULL) */
    coro_fn fn;
    void *arg;
    void *transfer;      /* value in (send) for the body */
    unsigned char state; /* coro_state */
    unsigned char op;    /* enum coro__op, set by the resumer */
    bool handling;       /* exc is an exception the body is handling: a new
                            raise records it as __context__ */
    bool linked;
    bool sub_owned;      /* sub was made by coro_yield_from_fn: destroy it
                            with this coroutine if the delegation never ends */
    bool in_yield;       /* parked in coro_yield (not in a yield from loop):
                            the resumer fills in *received and, for a throw,
                            sets handling, because coro_yield returns straight
                            from the switch */
    coro_exc exc;        /* thrown in, or escaped out (coro_exception) */
    coro__defer *defers; /* newest first */
    unsigned ndefers;    /* length of `defers`; see coro__defer */
    coro__try *try_top;  /* the innermost active coro_try, NULL if none */
    coro__defer inline_defers[CORO__INLINE_DEFERS];
    /* Fields below are zeroed one by one at create (clear_struct in
     * coro.c): a new one must be added there. */

    coro *sub;
    const coro_iter_vtable *sub_vt;
    void *sub_it;
    coro *parent;
    coro *leaf;
    unsigned delegators;

    coro__stack stack;
    size_t stack_size;   /* usable size given at create (stack.size is 0 once
                            the stack is released) */
    size_t high_water;   /* CLOSED: what coro_stack_high_water reports (see
                            coro__release_stack) */
    int stack_mode;      /* CORO_STACK_GUARDED or CORO_STACK_COMPACT */
    bool record_stack_use; /* CORO_RECORD_STACK_USE was given */
    void *tsan_fiber;    /* ThreadSanitizer's fiber, in TSan builds */
    char *name;
    coro__run own_run;   /* the driver call on this coroutine, if any */
};

/* The coroutine executing on this thread, NULL outside. Always read through
 * this call, never a cached address: a coroutine resumed on another thread
 * must see that thread's variable (see coro.c). */
coro *coro__get_current(void);

/* --- coro.c: the protocol engine shared with delegate.c --- */

/* Switches from the running coroutine `self` to its driver with status
 * CORO_YIELDED and `value`, and returns when resumed; self->op then says how
 * (and transfer or exc what with). */
void coro__park(coro *self, void *value);
/* Sets self->exc to a new exception (context from the one being handled). */
void coro__set_exc(coro *self, const coro_exc_type *type, const char *msg, void *udata);
/* Records a failure for coro_last_error() and returns `code`. */
int coro__fail(int code, const char *fmt, ...) CORO_PRINTF(2, 3);
/* Unlinks the newest cleanup handler of self and runs it. */
void coro__run_newest_defer(coro *self);
/* Gives c's stack back (cache or kernel), measuring its high-water mark first
 * if c was created with CORO_RECORD_STACK_USE. Only once c's body can no
 * longer run on it. */
void coro__release_stack(coro *c);

/* --- delegate.c --- */

/* Where a driver call on c must switch: c itself, or the leaf of the linked
 * chain below it. Returns NULL (CORO_ERUNNING meant) when c is running
 * because a chain run passes through it. (A result, not an out argument: a
 * caller whose local's address escaped could not end with a tail call.) */
coro *coro__target(coro *c);
/* True when c (a linked delegator with SUSPENDED in its field) is running
 * because a driver call entered its chain at or above it. */
bool coro__chain_running(const coro *c);
/* Called by a finishing coroutine with a parent while it is the entry of the
 * run: unlinks it, so the delegator above becomes the leaf of its chain and
 * meets the CLOSED sub on its next forwarded operation. */
void coro__detach_from_parent(coro *c);

/* --- alloc.c --- */
void *coro__alloc(size_t size);
void coro__free(void *ptr, size_t size);
/* A struct coro (uninitialised), from this thread's cache when there is one
 * and the default allocator is in use; NULL when out of memory. */
coro *coro__alloc_coro(void);
/* Gives a struct coro back: to this thread's cache, or to the allocator. */
void coro__free_coro(coro *c);
/* Frees this thread's cached structs (coro_stack_pool_trim). */
void coro__struct_cache_trim(void);

/* --- exc.c --- */
void coro__unraisable(const coro *c, const coro_exc *exc, const char *what);

#endif /* CORO_INT_H */
