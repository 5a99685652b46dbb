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

static inline bool lt(const coro_aio_handle *a, const coro_aio_handle *b)
{
    return a->when < b->when;
}

/* heapq._siftdown: moves heap[pos] up towards startpos. */
static void siftdown(coro_aio_handle **heap, size_t startpos, size_t pos)
{
    coro_aio_handle *item = heap[pos];
    while (pos > startpos) {
        size_t parentpos = (pos - 1) >> 1;
        coro_aio_handle *parent = heap[parentpos];
        if (!lt(item, parent))
            break;
        heap[pos] = parent;
        pos = parentpos;
    }
    heap[pos] = item;
}

/* heapq._siftup: moves the smaller child up until a leaf, then siftdown. */
static void siftup(coro_aio_handle **heap, size_t endpos, size_t pos)
{
    size_t startpos = pos;
    coro_aio_handle *item = heap[pos];
    size_t childpos = 2 * pos + 1;
    while (childpos < endpos) {
        size_t rightpos = childpos + 1;
        if (rightpos < endpos && !lt(heap[childpos], heap[rightpos]))
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
        coro_aio_handle **n = realloc(loop->heap, cap * sizeof *n);
        if (n == NULL)
            return coro__aio_fail(CORO_ENOMEM, "call_later: could not grow the timer heap");
        loop->heap = n;
        loop->heap_cap = cap;
    }
    loop->heap[loop->heap_len] = h;
    siftdown(loop->heap, 0, loop->heap_len);
    loop->heap_len++;
    return CORO_OK;
}

coro_aio_handle *coro__aio_heap_pop(coro_aio_loop *loop)
{
    coro_aio_handle **heap = loop->heap;
    coro_aio_handle *last = heap[--loop->heap_len];
    if (loop->heap_len == 0)
        return last;
    coro_aio_handle *top = heap[0];
    heap[0] = last;
    siftup(heap, loop->heap_len, 0);
    return top;
}

void coro__aio_heap_heapify(coro_aio_loop *loop)
{
    for (size_t i = loop->heap_len / 2; i-- > 0;)
        siftup(loop->heap, loop->heap_len, i);
}
