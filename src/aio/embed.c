/* embed.c - driving a loop from another event loop: its descriptor, its timeout, one iteration.
 * SPDX-License-Identifier: MIT
 *
 * A host (a GUI toolkit, another reactor, a plain poll() loop) that cannot
 * give its thread to coro_aio_run_forever drives the loop itself:
 *
 *     for (;;) {
 *         poll coro_aio_loop_fd(loop) for reading, at most
 *             coro_aio_loop_timeout(loop) seconds (rounded up);
 *         coro_aio_run_once(loop);
 *     }
 *
 * The descriptor is the poller's own (epoll's descriptor polls readable when
 * a registered descriptor has an event): it covers the fds tasks wait on,
 * the wake-up eventfd that call_soon_threadsafe, the worker threads and
 * signal handlers write. What it cannot show, ready callbacks and timers,
 * coro_aio_loop_timeout reports. coro_aio_run_once is run_forever's body
 * once (loop.c's run_once) with the poll forced not to block.
 */
#include "aio_int.h"

#include <stdatomic.h>

int coro_aio_loop_fd(const coro_aio_loop *loop)
{
    if (loop == NULL)
        return coro__aio_fail(CORO_EINVAL, "loop_fd: loop is NULL");
    if (loop->closed)
        return coro__aio_fail(CORO_EINVAL, "loop_fd: Event loop is closed");
    return coro__aio_poll_fd(loop->poll);
}

double coro_aio_loop_timeout(const coro_aio_loop *loop)
{
    if (loop == NULL || loop->closed) {
        coro__aio_fail(CORO_EINVAL, "loop_timeout: %s",
                       loop == NULL ? "loop is NULL" : "Event loop is closed");
        return -1.0;
    }
    if (loop->ring_len > 0 || loop->stopping || atomic_load(&loop->ts_pending) != 0)
        return 0.0;
    if (loop->heap_len == 0)
        return CORO_AIO_NO_TIMEOUT;
    /* The virtual clock jumps to the next deadline in the next iteration:
     * that timer is due now. */
    if (loop->clock == CORO_AIO_CLOCK_VIRTUAL)
        return 0.0;
    /* The head of the heap may be a cancelled timer: an early wake-up, after
     * which run_once drops it and the next answer is exact. */
    int64_t left = loop->heap[0].when - coro__aio_now(loop);
    return left <= 0 ? 0.0 : (double)left / 1e9;
}

int coro_aio_run_once(coro_aio_loop *loop)
{
    if (loop == NULL)
        return coro__aio_fail(CORO_EINVAL, "run_once: loop is NULL");
    if (loop->closed)
        return coro__aio_fail(CORO_EINVAL, "run_once: Event loop is closed");
    if (loop->running)
        return coro__aio_fail(CORO_ERUNNING, "run_once: This event loop is already running");
    if (coro__aio_running != NULL)
        return coro__aio_fail(CORO_ERUNNING,
                              "run_once: Cannot run the event loop while another loop is running");
    coro__aio_running = loop;
    loop->running = true;
    loop->nowait = true;
    coro__aio_iterate(loop);
    loop->nowait = false;
    bool stop = loop->stopping; /* consumed, as run_forever consumes it */
    loop->stopping = false;
    loop->running = false;
    coro__aio_running = NULL;
    return stop ? 1 : CORO_OK;
}
