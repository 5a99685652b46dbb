/* sync_int.h - waiter lists and loop binding shared by the locks and the queues.
 * SPDX-License-Identifier: MIT
 *
 * asyncio keeps a deque of waiter futures in each primitive; a waiter appends
 * its future, awaits it, and removes it in a finally block. Here the deque is
 * an intrusive list of aio_waiter nodes that live on the waiting task's own
 * stack (in the frame of the call that awaits), so waiting allocates nothing
 * but the future, which comes from the loop's free list.
 *
 * Invariants:
 *  - A node is on at most one list; `linked` says whether it is. It is
 *    unlinked by its owner before the owning call returns (on every path:
 *    normal, exception, GeneratorExit from coro_destroy), or earlier by
 *    Queue._wakeup_next, which pops waiters as asyncio's popleft does.
 *  - The list holds no references: the owner holds one on `fut` for as long
 *    as the node is linked.
 *  - A primitive is bound to the first loop it creates a waiter on
 *    (_LoopBoundMixin._get_loop) and never to another.
 */
#ifndef CORO_AIO_SYNC_INT_H
#define CORO_AIO_SYNC_INT_H

#include "aio_int.h"

typedef struct aio_waiter {
    coro_aio_future *fut;
    struct aio_waiter *prev, *next;
    bool linked;
} aio_waiter;

typedef struct aio_wlist {
    aio_waiter *head, *tail;
    size_t n;
} aio_wlist;

/* asyncio.Event; the queue embeds one (Queue._finished). */
struct coro_aio_event {
    coro_aio_loop *loop; /* bound loop, NULL until the first wait */
    aio_wlist waiters;
    bool value;
};

void coro__aio_wl_push(aio_wlist *l, aio_waiter *w);
/* Unlinks w if it is linked (deque.remove, tolerant as Queue's try/except). */
void coro__aio_wl_remove(aio_wlist *l, aio_waiter *w);

/* Creates a waiter future on the running loop, binds *bound to it (or fails
 * as _get_loop does, with repr(obj) in the message) and
 * links w at the tail of l. On failure returns a negative code with the
 * RuntimeError already thrown in (CORO_THROWN) or a CORO_E* for misuse. */
typedef void (*aio_repr_fn)(const void *obj, char *buf, size_t size);
int coro__aio_wait_begin(coro_aio_loop **bound, aio_repr_fn repr, const void *obj, aio_wlist *l,
                         aio_waiter *w);
/* Unlinks w (if still linked) and gives back its future. */
void coro__aio_wait_end(aio_wlist *l, aio_waiter *w);
/* True when called from a task body of the running loop (else sets the
 * coro_aio_last_error text "<what>: called outside a task"). */
bool coro__aio_in_task(const char *what);

/* Throws type(msg) into the current body (coro__aio_throw) and returns
 * CORO_THROWN. */
int coro__aio_throw_new(const coro_exc_type *type, const char *msg);

/* Event.set / Event.wait on an embedded event. */
void coro__aio_event_set(struct coro_aio_event *e);
int coro__aio_event_wait(struct coro_aio_event *e);

#endif /* CORO_AIO_SYNC_INT_H */
