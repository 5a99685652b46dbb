/* test_aio_queue.c - Queue, LifoQueue, PriorityQueue, task_done and join.
 * SPDX-License-Identifier: MIT
 *
 * Table-driven transcript cases: each runs the C version of the Python
 * coroutine in the comment above it under coro_aio_run (virtual clock) and
 * compares the transcript with what CPython 3.11.7 printed for
 * asyncio.run(case()) (p(...) lines joined with "; "), where
 *     p = lambda *a: print(*a)
 */
#include "aio_util.h"

#include <stdint.h>
#include <string.h>

#define LOOP() coro_aio_get_running_loop()
/* Propagates what a call inside a body threw (no ck_assert in bodies). */
#define TRY(x)                                                                                  \
    do {                                                                                        \
        if ((x) != CORO_OK)                                                                     \
            coro_reraise(self);                                                                 \
    } while (0)
#define SLEEP0() TRY(coro_aio_sleep(0))
#define P(...) tr_add(&tr, __VA_ARGS__)
#define I(x) ((void *)(intptr_t)(x))
#define V(p) ((int)(intptr_t)(p))

static const char *tf(bool b)
{
    return b ? "True" : "False";
}

static bool is_cancel(coro *self)
{
    return coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError);
}

static coro_aio_queue *Q;
static double T0;

static double now(void)
{
    return coro_aio_time(LOOP()) - T0;
}

/* q.get_nowait() that the case knows succeeds. */
static int getnw(void)
{
    void *v = NULL;
    coro_aio_queue_get_nowait(Q, &v, NULL);
    return V(v);
}

/*
 * async def q_nowait():
 *     q = asyncio.Queue(2)
 *     p('empty', q.empty(), 'full', q.full(), 'qsize', q.qsize(), 'maxsize', q.maxsize)
 *     try: q.get_nowait()
 *     except asyncio.QueueEmpty as e: p('QueueEmpty', repr(str(e)))
 *     q.put_nowait(1); q.put_nowait(2)
 *     p('empty', q.empty(), 'full', q.full(), 'qsize', q.qsize())
 *     try: q.put_nowait(3)
 *     except asyncio.QueueFull: p('QueueFull')
 *     p('got', q.get_nowait(), q.get_nowait(), 'empty', q.empty())
 * -> (3.11.7) empty True full False qsize 0 maxsize 2; QueueEmpty ''; empty False full True
 *    qsize 2; QueueFull; got 1 2 empty True
 */
static void *q_nowait(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_queue_new(&Q, 2, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    P("empty %s full %s qsize %zu maxsize %ld", tf(coro_aio_queue_empty(Q)),
      tf(coro_aio_queue_full(Q)), coro_aio_queue_qsize(Q), coro_aio_queue_maxsize(Q));
    coro_exc e;
    if (coro_aio_queue_get_nowait(Q, NULL, &e) == CORO_RAISED &&
        coro_exc_matches(e.type, &coro_aio_QueueEmpty))
        P("%s '%s'", e.type->name, e.message);
    coro_aio_queue_put_nowait(Q, I(1), NULL);
    coro_aio_queue_put_nowait(Q, I(2), NULL);
    P("empty %s full %s qsize %zu", tf(coro_aio_queue_empty(Q)), tf(coro_aio_queue_full(Q)),
      coro_aio_queue_qsize(Q));
    if (coro_aio_queue_put_nowait(Q, I(3), &e) == CORO_RAISED &&
        coro_exc_matches(e.type, &coro_aio_QueueFull))
        P("%s", e.type->name);
    int a = getnw(), b = getnw();
    P("got %d %d empty %s", a, b, tf(coro_aio_queue_empty(Q)));
    return NULL;
}

/*
 * async def q_unbounded():
 *     for m in (0, -3):
 *         q = asyncio.Queue(m)
 *         for i in range(100): q.put_nowait(i)
 *         p('maxsize', q.maxsize, 'qsize', q.qsize(), 'full', q.full())
 *         s = 0
 *         while not q.empty(): s += q.get_nowait()
 *         p('sum', s)
 * -> (3.11.7) maxsize 0 qsize 100 full False; sum 4950; maxsize -3 qsize 100 full False; sum
 *    4950
 */
static void *q_unbounded(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    long sizes[] = {0, -3};
    for (int k = 0; k < 2; k++) {
        coro_aio_queue_free(Q);
        coro_aio_queue_new(&Q, sizes[k], CORO_AIO_QUEUE_FIFO, NULL, NULL);
        for (int i = 0; i < 100; i++)
            coro_aio_queue_put_nowait(Q, I(i), NULL);
        P("maxsize %ld qsize %zu full %s", coro_aio_queue_maxsize(Q), coro_aio_queue_qsize(Q),
          tf(coro_aio_queue_full(Q)));
        int s = 0;
        while (!coro_aio_queue_empty(Q))
            s += getnw();
        P("sum %d", s);
    }
    return NULL;
}

static void *producer(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        TRY(coro_aio_queue_put(Q, I(i)));
        P("put %d qsize %zu", i, coro_aio_queue_qsize(Q));
    }
    TRY(coro_aio_queue_put(Q, I(-1)));
    P("producer done");
    return NULL;
}

static void *consumer(coro *self, void *arg)
{
    (void)arg;
    for (;;) {
        void *item;
        TRY(coro_aio_queue_get(Q, &item));
        if (V(item) < 0) {
            P("get None");
            break;
        }
        P("get %d", V(item));
        SLEEP0();
    }
    return NULL;
}

/*
 * async def q_producer_consumer():
 *     q = asyncio.Queue(2)
 *     async def producer():
 *         for i in range(5):
 *             await q.put(i); p('put', i, 'qsize', q.qsize())
 *         await q.put(None); p('producer done')
 *     async def consumer():
 *         while True:
 *             item = await q.get(); p('get', item)
 *             if item is None: break
 *             await asyncio.sleep(0)
 *     await asyncio.gather(asyncio.create_task(producer()), asyncio.create_task(consumer()))
 * -> (3.11.7) put 0 qsize 1; put 1 qsize 2; get 0; put 2 qsize 2; get 1; put 3 qsize 2; get 2;
 *    put 4 qsize 2; get 3; producer done; get 4; get None
 */
static void *q_producer_consumer(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 2, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    case_spawn(producer, NULL);
    case_spawn(consumer, NULL);
    TRY(case_gather(0, 2));
    return NULL;
}

static void *getter(coro *self, void *arg)
{
    P("%s waits", (char *)arg);
    void *item;
    TRY(coro_aio_queue_get(Q, &item));
    P("%s got %d", (char *)arg, V(item));
    return NULL;
}

/*
 * async def q_getters_fifo():
 *     q = asyncio.Queue()
 *     async def getter(tag):
 *         p(tag, 'waits'); item = await q.get(); p(tag, 'got', item)
 *     ts = [asyncio.create_task(getter(x)) for x in 'abc']
 *     await asyncio.sleep(0)
 *     q.put_nowait(1); q.put_nowait(2); p('put 2')
 *     await asyncio.sleep(0)
 *     q.put_nowait(3); p('put 3')
 *     await asyncio.gather(*ts)
 * -> (3.11.7) a waits; b waits; c waits; put 2; a got 1; b got 2; put 3; c got 3
 */
static void *q_getters_fifo(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    case_spawn(getter, "a");
    case_spawn(getter, "b");
    case_spawn(getter, "c");
    SLEEP0();
    coro_aio_queue_put_nowait(Q, I(1), NULL);
    coro_aio_queue_put_nowait(Q, I(2), NULL);
    P("put 2");
    SLEEP0();
    coro_aio_queue_put_nowait(Q, I(3), NULL);
    P("put 3");
    TRY(case_gather(0, 3));
    return NULL;
}

static void *putter(coro *self, void *arg)
{
    P("%s waits", (char *)arg);
    TRY(coro_aio_queue_put(Q, arg));
    P("%s put", (char *)arg);
    return NULL;
}

/*
 * async def q_putters_fifo():
 *     q = asyncio.Queue(1); q.put_nowait('x')
 *     async def putter(tag):
 *         p(tag, 'waits'); await q.put(tag); p(tag, 'put')
 *     ts = [asyncio.create_task(putter(x)) for x in 'abc']
 *     await asyncio.sleep(0)
 *     for i in range(4):
 *         p('got', await q.get())
 *     await asyncio.gather(*ts)
 * -> (3.11.7) a waits; b waits; c waits; got x; a put; got a; b put; got b; c put; got c
 */
static void *q_putters_fifo(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 1, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    coro_aio_queue_put_nowait(Q, "x", NULL);
    case_spawn(putter, "a");
    case_spawn(putter, "b");
    case_spawn(putter, "c");
    SLEEP0();
    for (int i = 0; i < 4; i++) {
        void *item;
        TRY(coro_aio_queue_get(Q, &item));
        P("got %s", (char *)item);
    }
    TRY(case_gather(0, 3));
    return NULL;
}

/*
 * async def q_lifo():
 *     q = asyncio.LifoQueue()
 *     for i in (1, 2, 3): q.put_nowait(i)
 *     p('got', q.get_nowait(), q.get_nowait())
 *     q.put_nowait(4); p('got', q.get_nowait(), q.get_nowait(), 'empty', q.empty())
 * -> (3.11.7) got 3 2; got 4 1 empty True
 */
static void *q_lifo(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_LIFO, NULL, NULL);
    for (int i = 1; i <= 3; i++)
        coro_aio_queue_put_nowait(Q, I(i), NULL);
    int a = getnw(), b = getnw();
    P("got %d %d", a, b);
    coro_aio_queue_put_nowait(Q, I(4), NULL);
    a = getnw();
    b = getnw();
    P("got %d %d empty %s", a, b, tf(coro_aio_queue_empty(Q)));
    return NULL;
}

/*
 * async def q_priority_int():
 *     q = asyncio.PriorityQueue()
 *     for i in (5, 1, 4, 1, 3, 9, 2, 6, 5, 3): q.put_nowait(i)
 *     p('got', *[q.get_nowait() for _ in range(10)])
 * -> (3.11.7) got 1 1 2 3 3 4 5 5 6 9
 */
static void *q_priority_int(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_PRIORITY, NULL, NULL);
    int in[] = {5, 1, 4, 1, 3, 9, 2, 6, 5, 3};
    for (int i = 0; i < 10; i++)
        coro_aio_queue_put_nowait(Q, I(in[i]), NULL);
    char buf[64];
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %d", getnw());
    P("got%s", buf);
    return NULL;
}

typedef struct item {
    int prio;
    char name;
} item;

static int by_prio(const void *a, const void *b, void *udata)
{
    (void)udata;
    const item *x = a, *y = b;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

/*
 * async def q_priority_cmp():
 *     q = asyncio.PriorityQueue()
 *     # items compare by priority only: equal priorities come out in heapq's order
 *     @functools.total_ordering
 *     class It:
 *         def __init__(s, prio, name): s.prio, s.name = prio, name
 *         def __lt__(s, o): return s.prio < o.prio
 *         def __eq__(s, o): return s.prio == o.prio
 *     for prio, name in [(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (2, 'e'), (0, 'f'), (1, 'g')]:
 *         q.put_nowait(It(prio, name))
 *     p('got', *[f'{i.prio}{i.name}' for i in (q.get_nowait() for _ in range(7))])
 * -> (3.11.7) got 0f 1b 1g 1d 2c 2a 2e
 */
static void *q_priority_cmp(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    static item items[] = {{2, 'a'}, {1, 'b'}, {2, 'c'}, {1, 'd'}, {2, 'e'}, {0, 'f'}, {1, 'g'}};
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_PRIORITY, by_prio, NULL);
    for (int i = 0; i < 7; i++)
        coro_aio_queue_put_nowait(Q, &items[i], NULL);
    char buf[64];
    size_t n = 0;
    for (int i = 0; i < 7; i++) {
        void *v;
        coro_aio_queue_get_nowait(Q, &v, NULL);
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %d%c", ((item *)v)->prio,
                              ((item *)v)->name);
    }
    P("got%s", buf);
    return NULL;
}

static const double DELAYS[] = {1.0, 0.5, 2.0};

static void *join_worker(coro *self, void *arg)
{
    for (;;) {
        void *v;
        TRY(coro_aio_queue_get(Q, &v));
        const double *d = v;
        TRY(coro_aio_sleep(*d));
        P("%s done %.1f at %.1f", (char *)arg, *d, now());
        coro_aio_queue_task_done(Q);
    }
    return NULL;
}

/*
 * async def q_join():
 *     q = asyncio.Queue(); loop = asyncio.get_running_loop(); t0 = loop.time()
 *     async def worker(tag):
 *         while True:
 *             item = await q.get()
 *             await asyncio.sleep(item)
 *             p(tag, 'done', item, 'at %.1f' % (loop.time() - t0)); q.task_done()
 *     for d in (1.0, 0.5, 2.0): q.put_nowait(d)
 *     ws = [asyncio.create_task(worker(x)) for x in 'ab']
 *     await q.join(); p('joined at %.1f' % (loop.time() - t0))
 *     await q.join(); p('join again returns at once')
 *     for w in ws: w.cancel()
 *     await asyncio.gather(*ws, return_exceptions=True)
 *     try: q.task_done()
 *     except ValueError as e: p('ValueError:', e)
 * -> (3.11.7) b done 0.5 at 0.5; a done 1.0 at 1.0; b done 2.0 at 2.5; joined at 2.5; join
 *    again returns at once; ValueError: task_done() called too many times
 */
static void *q_join(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    T0 = coro_aio_time(LOOP());
    for (int i = 0; i < 3; i++)
        coro_aio_queue_put_nowait(Q, (void *)&DELAYS[i], NULL);
    coro_aio_future *a = case_spawn(join_worker, "a"), *b = case_spawn(join_worker, "b");
    TRY(coro_aio_queue_join(Q));
    P("joined at %.1f", now());
    TRY(coro_aio_queue_join(Q));
    P("join again returns at once");
    coro_aio_future_cancel(a, NULL);
    coro_aio_future_cancel(b, NULL);
    TRY(case_gather(0, 2));
    if (coro_aio_queue_task_done(Q) == CORO_EINVAL)
        P("%s", strstr(coro_aio_last_error(), "ValueError: "));
    return NULL;
}

static void *getter_c(coro *self, void *arg)
{
    void *v;
    if (coro_aio_queue_get(Q, &v) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, qsize %zu", (char *)arg, coro_aio_queue_qsize(Q));
        coro_reraise(self);
    }
    P("%s got %s", (char *)arg, (char *)v);
    return NULL;
}

/*
 * async def q_getter_cancel_after_wake():
 *     q = asyncio.Queue()
 *     async def getter(tag):
 *         try: item = await q.get()
 *         except asyncio.CancelledError: p(tag, 'cancelled, qsize', q.qsize()); raise
 *         p(tag, 'got', item)
 *     a = asyncio.create_task(getter('a')); b = asyncio.create_task(getter('b'))
 *     await asyncio.sleep(0)
 *     q.put_nowait('x'); a.cancel(); p('put and cancelled a')
 *     await asyncio.gather(a, b, return_exceptions=True); p('qsize', q.qsize())
 * -> (3.11.7) put and cancelled a; a cancelled, qsize 1; b got x; qsize 0
 */
static void *q_getter_cancel_after_wake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    coro_aio_future *a = case_spawn(getter_c, "a");
    case_spawn(getter_c, "b");
    SLEEP0();
    coro_aio_queue_put_nowait(Q, "x", NULL);
    coro_aio_future_cancel(a, NULL);
    P("put and cancelled a");
    TRY(case_gather(0, 2));
    P("qsize %zu", coro_aio_queue_qsize(Q));
    return NULL;
}

static void *putter_c(coro *self, void *arg)
{
    if (coro_aio_queue_put(Q, arg) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled, full %s", (char *)arg, tf(coro_aio_queue_full(Q)));
        coro_reraise(self);
    }
    P("%s put", (char *)arg);
    return NULL;
}

/*
 * async def q_putter_cancel_after_wake():
 *     q = asyncio.Queue(1); q.put_nowait('x')
 *     async def putter(tag):
 *         try: await q.put(tag)
 *         except asyncio.CancelledError: p(tag, 'cancelled, full', q.full()); raise
 *         p(tag, 'put')
 *     a = asyncio.create_task(putter('a')); b = asyncio.create_task(putter('b'))
 *     await asyncio.sleep(0)
 *     p('got', q.get_nowait()); a.cancel()
 *     await asyncio.gather(a, b, return_exceptions=True)
 *     p('got', q.get_nowait(), 'empty', q.empty())
 * -> (3.11.7) got x; a cancelled, full False; b put; got b empty True
 */
static void *q_putter_cancel_after_wake(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 1, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    coro_aio_queue_put_nowait(Q, "x", NULL);
    coro_aio_future *a = case_spawn(putter_c, "a");
    case_spawn(putter_c, "b");
    SLEEP0();
    void *v;
    coro_aio_queue_get_nowait(Q, &v, NULL);
    P("got %s", (char *)v);
    coro_aio_future_cancel(a, NULL);
    TRY(case_gather(0, 2));
    coro_aio_queue_get_nowait(Q, &v, NULL);
    P("got %s empty %s", (char *)v, tf(coro_aio_queue_empty(Q)));
    return NULL;
}

static void *getter_w(coro *self, void *arg)
{
    void *v;
    if (coro_aio_queue_get(Q, &v) != CORO_OK) {
        if (is_cancel(self))
            P("%s cancelled", (char *)arg);
        coro_reraise(self);
    }
    if ((uintptr_t)v < 100)
        P("%s got %d", (char *)arg, V(v));
    else
        P("%s got %s", (char *)arg, (char *)v);
    return NULL;
}

/*
 * async def q_getter_cancel_waiting():
 *     q = asyncio.Queue()
 *     async def getter(tag):
 *         try: item = await q.get()
 *         except asyncio.CancelledError: p(tag, 'cancelled'); raise
 *         p(tag, 'got', item)
 *     a = asyncio.create_task(getter('a')); b = asyncio.create_task(getter('b'))
 *     await asyncio.sleep(0); a.cancel(); await asyncio.sleep(0)
 *     q.put_nowait('y'); p('put')
 *     await asyncio.gather(a, b, return_exceptions=True)
 * -> (3.11.7) a cancelled; put; b got y
 */
static void *q_getter_cancel_waiting(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    coro_aio_future *a = case_spawn(getter_w, "a");
    case_spawn(getter_w, "b");
    SLEEP0();
    coro_aio_future_cancel(a, NULL);
    SLEEP0();
    coro_aio_queue_put_nowait(Q, "y", NULL);
    P("put");
    TRY(case_gather(0, 2));
    return NULL;
}

/*
 * async def q_wakeup_skips_cancelled():
 *     q = asyncio.Queue()
 *     async def getter(tag):
 *         try: item = await q.get()
 *         except asyncio.CancelledError: p(tag, 'cancelled'); raise
 *         p(tag, 'got', item)
 *     ts = [asyncio.create_task(getter(x)) for x in 'abc']
 *     await asyncio.sleep(0)
 *     ts[0].cancel(); ts[1].cancel()
 *     q.put_nowait('z'); p('put')
 *     await asyncio.gather(*ts, return_exceptions=True)
 * -> (3.11.7) put; a cancelled; b cancelled; c got z
 */
static void *q_wakeup_skips_cancelled(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    case_spawn(getter_w, "a");
    case_spawn(getter_w, "b");
    case_spawn(getter_w, "c");
    SLEEP0();
    coro_aio_future_cancel(case_task[0], NULL);
    coro_aio_future_cancel(case_task[1], NULL);
    coro_aio_queue_put_nowait(Q, "z", NULL);
    P("put");
    TRY(case_gather(0, 3));
    return NULL;
}

/*
 * async def q_two_woken_one_cancelled():
 *     q = asyncio.Queue()
 *     async def getter(tag):
 *         try: item = await q.get()
 *         except asyncio.CancelledError: p(tag, 'cancelled'); raise
 *         p(tag, 'got', item)
 *     ts = [asyncio.create_task(getter(x)) for x in 'abc']
 *     await asyncio.sleep(0)
 *     q.put_nowait(1); q.put_nowait(2); ts[0].cancel(); p('put 2, cancelled a')
 *     await asyncio.sleep(0); await asyncio.sleep(0)
 *     p('qsize', q.qsize()); ts[2].cancel()
 *     await asyncio.gather(*ts, return_exceptions=True)
 * -> (3.11.7) put 2, cancelled a; a cancelled; b got 1; c got 2; qsize 0
 */
static void *q_two_woken_one_cancelled(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    case_spawn(getter_w, "a");
    case_spawn(getter_w, "b");
    case_spawn(getter_w, "c");
    SLEEP0();
    coro_aio_queue_put_nowait(Q, I(1), NULL);
    coro_aio_queue_put_nowait(Q, I(2), NULL);
    coro_aio_future_cancel(case_task[0], NULL);
    P("put 2, cancelled a");
    SLEEP0();
    SLEEP0();
    P("qsize %zu", coro_aio_queue_qsize(Q));
    coro_aio_future_cancel(case_task[2], NULL);
    TRY(case_gather(0, 3));
    return NULL;
}

static void *timed_producer(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        TRY(coro_aio_sleep(1.5));
        coro_aio_queue_put_nowait(Q, I(i), NULL);
    }
    return NULL;
}

/*
 * async def q_get_timed():
 *     q = asyncio.Queue(); loop = asyncio.get_running_loop(); t0 = loop.time()
 *     async def producer():
 *         for i in range(3):
 *             await asyncio.sleep(1.5); q.put_nowait(i)
 *     t = asyncio.create_task(producer())
 *     for _ in range(3):
 *         item = await q.get(); p('got', item, 'at %.1f' % (loop.time() - t0))
 *     await t
 * -> (3.11.7) got 0 at 1.5; got 1 at 3.0; got 2 at 4.5
 */
static void *q_get_timed(coro *self, void *arg)
{
    (void)arg;
    coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL);
    T0 = coro_aio_time(LOOP());
    coro_aio_future *t = case_spawn(timed_producer, NULL);
    for (int i = 0; i < 3; i++) {
        void *v;
        TRY(coro_aio_queue_get(Q, &v));
        P("got %d at %.1f", V(v), now());
    }
    TRY(coro_aio_await(t, NULL));
    return NULL;
}

/* ======================================================================== */
/* The table                                                                */
/* ======================================================================== */

typedef struct tcase_def {
    const char *name;
    coro_fn main;
    const char *expect;
} tcase_def;

static const tcase_def cases[] = {
    {"q_nowait", q_nowait,
     "empty True full False qsize 0 maxsize 2; QueueEmpty ''; empty False full True qsize "
     "2; QueueFull; got 1 2 empty True"},
    {"q_unbounded", q_unbounded,
     "maxsize 0 qsize 100 full False; sum 4950; maxsize -3 qsize 100 full False; sum 4950"},
    {"q_producer_consumer", q_producer_consumer,
     "put 0 qsize 1; put 1 qsize 2; get 0; put 2 qsize 2; get 1; put 3 qsize 2; get 2; put"
     " 4 qsize 2; get 3; producer done; get 4; get None"},
    {"q_getters_fifo", q_getters_fifo,
     "a waits; b waits; c waits; put 2; a got 1; b got 2; put 3; c got 3"},
    {"q_putters_fifo", q_putters_fifo,
     "a waits; b waits; c waits; got x; a put; got a; b put; got b; c put; got c"},
    {"q_lifo", q_lifo,
     "got 3 2; got 4 1 empty True"},
    {"q_priority_int", q_priority_int,
     "got 1 1 2 3 3 4 5 5 6 9"},
    {"q_priority_cmp", q_priority_cmp,
     "got 0f 1b 1g 1d 2c 2a 2e"},
    {"q_join", q_join,
     "b done 0.5 at 0.5; a done 1.0 at 1.0; b done 2.0 at 2.5; joined at 2.5; join again "
     "returns at once; ValueError: task_done() called too many times"},
    {"q_getter_cancel_after_wake", q_getter_cancel_after_wake,
     "put and cancelled a; a cancelled, qsize 1; b got x; qsize 0"},
    {"q_putter_cancel_after_wake", q_putter_cancel_after_wake,
     "got x; a cancelled, full False; b put; got b empty True"},
    {"q_getter_cancel_waiting", q_getter_cancel_waiting,
     "a cancelled; put; b got y"},
    {"q_wakeup_skips_cancelled", q_wakeup_skips_cancelled,
     "put; a cancelled; b cancelled; c got z"},
    {"q_two_woken_one_cancelled", q_two_woken_one_cancelled,
     "put 2, cancelled a; a cancelled; b got 1; c got 2; qsize 0"},
    {"q_get_timed", q_get_timed,
     "got 0 at 1.5; got 1 at 3.0; got 2 at 4.5"},
};

START_TEST(test_transcript)
{
    const tcase_def *c = &cases[_i];
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    tr_reset(&tr);
    case_ntasks = 0;
    Q = NULL;
    coro_exc exc;
    int rc = coro_aio_run(c->main, NULL, &o, NULL, &exc);
    ck_assert_msg(rc == CORO_OK, "%s: run returned %d (%s)", c->name, rc,
                  rc == CORO_RAISED ? exc_str(&exc) : coro_aio_last_error());
    case_release_tasks();
    ck_assert_int_eq(coro_aio_queue_free(Q), CORO_OK);
    ck_assert_msg(strcmp(tr.buf, c->expect) == 0, "%s:\n got      %s\n expected %s", c->name,
                  tr.buf, c->expect);
}
END_TEST

/* ======================================================================== */
/* Misuse, heap order, growth                                               */
/* ======================================================================== */

START_TEST(test_misuse)
{
    coro_aio_queue *q = NULL;
    ck_assert_int_eq(coro_aio_queue_new(NULL, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_queue_new(&q, 0, 7, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "unknown kind 7"));
    ck_assert_ptr_null(q);
    ck_assert_int_eq(coro_aio_queue_new(&q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_queue_get(q, NULL), CORO_EINVAL); /* empty, outside a task */
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "called outside a task"));
    ck_assert_int_eq(coro_aio_queue_put(q, I(1)), CORO_OK); /* never full: no wait */
    ck_assert_int_eq(coro_aio_queue_join(q), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_queue_task_done(q), CORO_OK);
    ck_assert_int_eq(coro_aio_queue_task_done(q), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(),
                     "queue_task_done: ValueError: task_done() called too many times");
    ck_assert_int_eq(coro_aio_queue_put_nowait(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_queue_get_nowait(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_queue_free(q), CORO_OK);
}
END_TEST

/* A FIFO ring that wraps while it grows keeps its order. */
START_TEST(test_fifo_wrap_grow)
{
    coro_aio_queue *q;
    ck_assert_int_eq(coro_aio_queue_new(&q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL), CORO_OK);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < round % 7 + 3; i++)
            ck_assert_int_eq(coro_aio_queue_put_nowait(q, I(next_in++), NULL), CORO_OK);
        for (int i = 0; i < round % 5 + 1 && !coro_aio_queue_empty(q); i++) {
            void *v;
            ck_assert_int_eq(coro_aio_queue_get_nowait(q, &v, NULL), CORO_OK);
            ck_assert_int_eq(V(v), next_out++);
        }
    }
    while (!coro_aio_queue_empty(q)) {
        void *v;
        ck_assert_int_eq(coro_aio_queue_get_nowait(q, &v, NULL), CORO_OK);
        ck_assert_int_eq(V(v), next_out++);
    }
    ck_assert_int_eq(next_in, next_out);
    ck_assert_int_eq(coro_aio_queue_free(q), CORO_OK);
}
END_TEST

/* A priority queue gives its items back sorted, for many random inputs. */
START_TEST(test_priority_sorted)
{
    coro_aio_queue *q;
    ck_assert_int_eq(coro_aio_queue_new(&q, 0, CORO_AIO_QUEUE_PRIORITY, NULL, NULL), CORO_OK);
    unsigned seed = 12345;
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        ck_assert_int_eq(coro_aio_queue_put_nowait(q, I((int)(seed >> 16) % 500 - 250), NULL),
                         CORO_OK);
    }
    int prev = -1000;
    for (int i = 0; i < 1000; i++) {
        void *v;
        ck_assert_int_eq(coro_aio_queue_get_nowait(q, &v, NULL), CORO_OK);
        ck_assert_int_ge(V(v), prev);
        prev = V(v);
    }
    ck_assert(coro_aio_queue_empty(q));
    ck_assert_int_eq(coro_aio_queue_free(q), CORO_OK);
}
END_TEST

static void *stuck_getter(coro *self, void *arg)
{
    (void)arg;
    TRY(coro_aio_queue_get(Q, NULL));
    return NULL;
}

static void *busy_main(coro *self, void *arg)
{
    (void)arg;
    case_spawn(stuck_getter, NULL);
    SLEEP0();
    P("free %d", coro_aio_queue_free(Q));
    return NULL;
}

/* Freeing a queue a task waits on is refused. */
START_TEST(test_free_busy)
{
    case_ntasks = 0;
    ck_assert_int_eq(coro_aio_queue_new(&Q, 0, CORO_AIO_QUEUE_FIFO, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_aio_run(busy_main, NULL, NULL, NULL, NULL), CORO_OK);
    case_release_tasks();
    ck_assert_str_eq(tr.buf, "free -7");
    ck_assert_int_eq(coro_aio_queue_free(Q), CORO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aio_queue");
    TCase *tc = tcase_create("transcripts");
    tcase_add_loop_test(tc, test_transcript, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_misuse);
    tcase_add_test(tc, test_fifo_wrap_grow);
    tcase_add_test(tc, test_priority_sorted);
    tcase_add_test(tc, test_free_busy);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
