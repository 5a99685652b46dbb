/* poll.h - the poller contract of libcoro-aio: one backend a file (poll_epoll.c).
 * SPDX-License-Identifier: MIT
 *
 * A poller watches file descriptors for readiness. The loop calls wait once
 * an iteration with the time left until its next timer (0 when something is
 * ready). Every function returns CORO_OK or a negative CORO_E*; the backend
 * reports the cause with coro__aio_fail.
 */
#ifndef CORO_AIO_POLL_H
#define CORO_AIO_POLL_H

#include <stdint.h>

typedef struct coro__aio_poll coro__aio_poll;

/* Readiness bits, in `events`. HUP comes with READ when the peer shut its
 * side down or the descriptor hung up or failed: a state that persists, so
 * no later edge will report it again (fd.c keeps it, stream.c asks). */
enum { CORO__AIO_READ = 1u << 0, CORO__AIO_WRITE = 1u << 1, CORO__AIO_HUP = 1u << 3 };
/* For add / modify: edge-triggered, and a peer's shutdown counts as
 * readable (EPOLLET | EPOLLRDHUP). */
enum { CORO__AIO_EDGE = 1u << 2 };

typedef struct coro__aio_poll_event {
    void *udata;     /* what add/modify registered with the descriptor */
    unsigned events; /* CORO__AIO_READ | CORO__AIO_WRITE (errors and hang-ups
                        count as both), | CORO__AIO_HUP */
} coro__aio_poll_event;

/* Name of the backend compiled in ("epoll"). */
const char *coro__aio_poll_name(void);
int coro__aio_poll_open(coro__aio_poll **out);
int coro__aio_poll_add(coro__aio_poll *p, int fd, unsigned events, void *udata);
int coro__aio_poll_modify(coro__aio_poll *p, int fd, unsigned events, void *udata);
int coro__aio_poll_remove(coro__aio_poll *p, int fd);
/* Waits up to timeout_ns (< 0: no limit; rounded up to the backend's
 * granularity, so never returns early because of rounding). Returns how many
 * events it stored (at most max), or a negative CORO_E*. An interrupted wait
 * returns 0. */
int coro__aio_poll_wait(coro__aio_poll *p, coro__aio_poll_event *events, int max,
                        int64_t timeout_ns);
void coro__aio_poll_close(coro__aio_poll *p);

#endif /* CORO_AIO_POLL_H */
