/* queues.c - asyncio.queues: Queue, LifoQueue, PriorityQueue, task_done and join.
 * SPDX-License-Identifier: MIT
 *
 * Python 3.11.7's queues.py line by line. Getters and putters are waiter
 * lists (sync_int.h); _wakeup_next pops waiters off the front until it finds
 * one not done and gives it None, exactly as asyncio's popleft loop. A getter
 * (putter) that ends with an exception cancels its future, leaves the list if
 * it is still on it, and, when it had been woken and the queue still has an
 * item (a free slot), wakes the next one in line: no wake-up is lost.
 *
 * Items live in one array: a ring for FIFO, a stack for LIFO, and for
 * PRIORITY a binary heap kept with heapq's own _siftdown/_siftup steps, so
 * items that compare equal come out in the order Python's heapq gives them.
 */
#include "sync_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const coro_exc_type coro_aio_QueueFull = {"QueueFull", &coro_Exception};
const coro_exc_type coro_aio_QueueEmpty = {"QueueEmpty", &coro_Exception};

/* The queue. `buf` holds `len` items; for FIFO they start at `head` and wrap
 * around `cap` (a power of two); LIFO and PRIORITY keep head == 0.
 * `unfinished` is _unfinished_tasks; `finished` is _finished, set exactly
 * when unfinished == 0. */
struct coro_aio_queue {
    coro_aio_loop *loop;
    aio_wlist getters, putters;
    long maxsize;
    int kind;
    coro_aio_compare_fn cmp;
    void *udata;
    void **buf;
    size_t cap, head, len;
    size_t unfinished;
    struct coro_aio_event finished;
};

static const char *kind_name(int kind)
{
    return kind == CORO_AIO_QUEUE_LIFO       ? "LifoQueue"
           : kind == CORO_AIO_QUEUE_PRIORITY ? "PriorityQueue"
                                             : "Queue";
}

static void queue_repr(const void *obj, char *buf, size_t size)
{
    const coro_aio_queue *q = obj;
    size_t n = (size_t)snprintf(buf, size, "<%s at %p maxsize=%ld", kind_name(q->kind), obj,
                                q->maxsize);
    if (q->getters.n && n < size)
        n += (size_t)snprintf(buf + n, size - n, " _getters[%zu]", q->getters.n);
    if (q->putters.n && n < size)
        n += (size_t)snprintf(buf + n, size - n, " _putters[%zu]", q->putters.n);
    if (q->unfinished && n < size)
        n += (size_t)snprintf(buf + n, size - n, " tasks=%zu", q->unfinished);
    if (n < size)
        snprintf(buf + n, size - n, ">");
}

int coro_aio_queue_new(coro_aio_queue **out, long maxsize, int kind, coro_aio_compare_fn cmp,
                       void *udata)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_new: out is NULL");
    if (kind != CORO_AIO_QUEUE_FIFO && kind != CORO_AIO_QUEUE_LIFO &&
        kind != CORO_AIO_QUEUE_PRIORITY)
        return coro__aio_fail(CORO_EINVAL, "queue_new: unknown kind %d (use "
                                           "CORO_AIO_QUEUE_FIFO, _LIFO or _PRIORITY)", kind);
    coro_aio_queue *q = coro__aio_calloc(1, sizeof *q);
    if (q == NULL)
        return coro__aio_fail(CORO_ENOMEM, "queue_new: could not allocate the queue");
    q->maxsize = maxsize;
    q->kind = kind;
    q->cmp = cmp;
    q->udata = udata;
    q->finished.value = true;
    *out = q;
    return CORO_OK;
}

int coro_aio_queue_free(coro_aio_queue *q)
{
    if (q == NULL)
        return CORO_OK;
    if (q->getters.n || q->putters.n || q->finished.waiters.n)
        return coro__aio_fail(CORO_EBUSY, "queue_free: tasks still wait in put, get or join; "
                                          "free the queue once they are done");
    free(q->buf);
    free(q);
    return CORO_OK;
}

size_t coro_aio_queue_qsize(const coro_aio_queue *q)
{
    return q ? q->len : 0;
}

long coro_aio_queue_maxsize(const coro_aio_queue *q)
{
    return q ? q->maxsize : 0;
}

bool coro_aio_queue_empty(const coro_aio_queue *q)
{
    return q == NULL || q->len == 0;
}

bool coro_aio_queue_full(const coro_aio_queue *q)
{
    return q != NULL && q->maxsize > 0 && q->len >= (size_t)q->maxsize;
}

/* ------------------------------------------------------------------------ */
/* Storage: _init, _put, _get                                               */
/* ------------------------------------------------------------------------ */

static bool less(const coro_aio_queue *q, void *a, void *b)
{
    if (q->cmp != NULL)
        return q->cmp(a, b, q->udata) < 0;
    return (intptr_t)a < (intptr_t)b;
}

/* heapq._siftdown */
static void siftdown(coro_aio_queue *q, size_t startpos, size_t pos)
{
    void **heap = q->buf;
    void *newitem = heap[pos];
    while (pos > startpos) {
        size_t parentpos = (pos - 1) >> 1;
        void *parent = heap[parentpos];
        if (!less(q, newitem, parent))
            break;
        heap[pos] = parent;
        pos = parentpos;
    }
    heap[pos] = newitem;
}

/* heapq._siftup */
static void siftup(coro_aio_queue *q, size_t pos)
{
    void **heap = q->buf;
    size_t endpos = q->len, startpos = pos;
    void *newitem = heap[pos];
    size_t childpos = 2 * pos + 1;
    while (childpos < endpos) {
        size_t rightpos = childpos + 1;
        if (rightpos < endpos && !less(q, heap[childpos], heap[rightpos]))
            childpos = rightpos;
        heap[pos] = heap[childpos];
        pos = childpos;
        childpos = 2 * pos + 1;
    }
    heap[pos] = newitem;
    siftdown(q, startpos, pos);
}

static int grow(coro_aio_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 8;
    void **b = coro__aio_malloc(cap * sizeof *b);
    if (b == NULL || cap < q->cap)
        return free(b), coro__aio_fail(CORO_ENOMEM, "queue: could not grow the item array");
    for (size_t i = 0; i < q->len; i++)
        b[i] = q->buf[(q->head + i) & (q->cap - 1)];
    free(q->buf);
    q->buf = b;
    q->cap = cap;
    q->head = 0;
    return CORO_OK;
}

static int put_item(coro_aio_queue *q, void *item)
{
    if (q->len == q->cap && grow(q) < 0)
        return CORO_ENOMEM;
    if (q->kind == CORO_AIO_QUEUE_FIFO) {
        q->buf[(q->head + q->len) & (q->cap - 1)] = item;
        q->len++;
    } else {
        q->buf[q->len++] = item;
        if (q->kind == CORO_AIO_QUEUE_PRIORITY)
            siftdown(q, 0, q->len - 1); /* heappush */
    }
    return CORO_OK;
}

static void *get_item(coro_aio_queue *q)
{
    if (q->kind == CORO_AIO_QUEUE_FIFO) {
        void *item = q->buf[q->head];
        q->head = (q->head + 1) & (q->cap - 1);
        q->len--;
        return item;
    }
    void *last = q->buf[--q->len];
    if (q->kind == CORO_AIO_QUEUE_LIFO || q->len == 0)
        return last;
    void *top = q->buf[0]; /* heappop */
    q->buf[0] = last;
    siftup(q, 0);
    return top;
}

/* ------------------------------------------------------------------------ */
/* put, get                                                                 */
/* ------------------------------------------------------------------------ */

/* _wakeup_next: pop waiters until one is not done; give it None. */
static void wakeup_next(aio_wlist *l)
{
    while (l->head != NULL) {
        aio_waiter *w = l->head;
        coro__aio_wl_remove(l, w);
        if (w->fut->state == AIO_PENDING) {
            coro__aio_future_finish(w->fut, NULL, NULL);
            break;
        }
    }
}

int coro_aio_queue_put_nowait(coro_aio_queue *q, void *item, coro_exc *exc)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_put_nowait: queue is NULL");
    if (coro_aio_queue_full(q)) {
        if (exc != NULL)
            coro_exc_set(exc, &coro_aio_QueueFull, "");
        return CORO_RAISED;
    }
    if (put_item(q, item) < 0)
        return CORO_ENOMEM;
    q->unfinished++;
    q->finished.value = false;
    wakeup_next(&q->getters);
    return CORO_OK;
}

int coro_aio_queue_get_nowait(coro_aio_queue *q, void **item, coro_exc *exc)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_get_nowait: queue is NULL");
    if (q->len == 0) {
        if (exc != NULL)
            coro_exc_set(exc, &coro_aio_QueueEmpty, "");
        return CORO_RAISED;
    }
    void *v = get_item(q);
    if (item != NULL)
        *item = v;
    wakeup_next(&q->putters);
    return CORO_OK;
}

/* One turn of put's or get's `while` loop: wait in l until woken. On an
 * exception: cancel the future, leave l, and pass the wake-up on when we had
 * it and can no longer use it (`still` says the queue would still serve the
 * next waiter: not full for putters, not empty for getters). */
static int wait_turn(coro_aio_queue *q, aio_wlist *l, bool putter)
{
    aio_waiter w;
    int rc = coro__aio_wait_begin(&q->loop, queue_repr, q, l, &w);
    if (rc != CORO_OK)
        return rc;
    rc = coro_aio_await(w.fut, NULL);
    if (rc != CORO_OK) {
        coro_aio_future_cancel(w.fut, NULL); /* just in case it is not done yet */
        coro__aio_wl_remove(l, &w);
        bool still = putter ? !coro_aio_queue_full(q) : q->len > 0;
        if (still && w.fut->state != AIO_CANCELLED)
            wakeup_next(l);
    }
    coro__aio_wait_end(l, &w);
    return rc;
}

int coro_aio_queue_put(coro_aio_queue *q, void *item)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_put: queue is NULL");
    while (coro_aio_queue_full(q)) {
        int rc = wait_turn(q, &q->putters, true);
        if (rc != CORO_OK)
            return rc;
    }
    return coro_aio_queue_put_nowait(q, item, NULL);
}

int coro_aio_queue_get(coro_aio_queue *q, void **item)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_get: queue is NULL");
    while (q->len == 0) {
        int rc = wait_turn(q, &q->getters, false);
        if (rc != CORO_OK)
            return rc;
    }
    return coro_aio_queue_get_nowait(q, item, NULL);
}

/* ------------------------------------------------------------------------ */
/* task_done, join                                                          */
/* ------------------------------------------------------------------------ */

int coro_aio_queue_task_done(coro_aio_queue *q)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_task_done: queue is NULL");
    if (q->unfinished == 0)
        return coro__aio_fail(CORO_EINVAL,
                              "queue_task_done: ValueError: task_done() called too many times");
    if (--q->unfinished == 0)
        coro__aio_event_set(&q->finished);
    return CORO_OK;
}

int coro_aio_queue_join(coro_aio_queue *q)
{
    if (q == NULL)
        return coro__aio_fail(CORO_EINVAL, "queue_join: queue is NULL");
    if (q->unfinished > 0)
        return coro__aio_event_wait(&q->finished);
    return CORO_OK;
}
