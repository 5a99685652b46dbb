/* timer.c - the timer heap: Python's heapq algorithms over TimerHandles.
 * SPDX-License-Identifier: MIT
 *
 * asyncio keeps its timers in a list ordered by heapq, comparing handles by
 * `when` alone. heapq is not stable, so timers with equal deadlines pop in an
 * order that depends on its exact sift steps; these are the same steps
 * (_siftdown, the leaf-first _siftup, heapify from the middle), so ties run in
 * the order Python would run them.
 */
#include "aio_int.h"

#include <stdlib.h>

static inline bool lt(const aio_slot *a, const aio_slot *b)
{
    return a->when < b->when;
}

/* heapq._siftdown: moves heap[pos] up towards startpos. */
static void siftdown(aio_slot *heap, size_t startpos, size_t pos)
{
    aio_slot item = heap[pos];
    while (pos > startpos) {
        size_t parentpos = (pos - 1) >> 1;
        if (!lt(&item, &heap[parentpos]))
            break;
        heap[pos] = heap[parentpos];
        pos = parentpos;
    }
    heap[pos] = item;
}

/* heapq._siftup: moves the smaller child up until a leaf, then siftdown. */
static void siftup(aio_slot *heap, size_t endpos, size_t pos)
{
    size_t startpos = pos;
    aio_slot item = heap[pos];
    size_t childpos = 2 * pos + 1;
    while (childpos < endpos) {
        size_t rightpos = childpos + 1;
        if (rightpos < endpos && !lt(&heap[childpos], &heap[rightpos]))
            childpos = rightpos;
        heap[pos] = heap[childpos];
        pos = childpos;
        childpos = 2 * pos + 1;
    }
    heap[pos] = item;
    siftdown(heap, startpos, pos);
}

int coro__aio_heap_push(coro_aio_loop *loop, coro_aio_handle *h)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        aio_slot *n = coro__aio_realloc(loop->heap, cap * sizeof *n);
        if (n == NULL)
            return coro__aio_fail(CORO_ENOMEM, "call_later: could not grow the timer heap");
        loop->heap = n;
        loop->heap_cap = cap;
    }
    loop->heap[loop->heap_len].when = h->when;
    loop->heap[loop->heap_len].h = h;
    siftdown(loop->heap, 0, loop->heap_len);
    loop->heap_len++;
    return CORO_OK;
}

coro_aio_handle *coro__aio_heap_pop(coro_aio_loop *loop)
{
    aio_slot *heap = loop->heap;
    aio_slot last = heap[--loop->heap_len];
    if (loop->heap_len == 0)
        return last.h;
    coro_aio_handle *top = heap[0].h;
    heap[0] = last;
    siftup(heap, loop->heap_len, 0);
    return top;
}

void coro__aio_heap_heapify(coro_aio_loop *loop)
{
    for (size_t i = loop->heap_len / 2; i-- > 0;)
        siftup(loop->heap, loop->heap_len, i);
}
