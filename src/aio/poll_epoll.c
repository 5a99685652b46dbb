/* poll_epoll.c - the Linux epoll backend of the poller contract (poll.h).
 * SPDX-License-Identifier: MIT
 */
#include "aio_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct coro__aio_poll {
    int epfd;
};

const char *coro__aio_poll_name(void)
{
    return "epoll";
}

int coro__aio_poll_open(coro__aio_poll **out)
{
    coro__aio_poll *p = coro__aio_malloc(sizeof *p);
    if (p == NULL)
        return coro__aio_fail(CORO_ENOMEM, "poll: could not allocate the poller");
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        int e = errno;
        free(p);
        return coro__aio_fail(CORO_ENOMEM, "poll: epoll_create1 failed: %s", strerror(e));
    }
    *out = p;
    return CORO_OK;
}

static uint32_t to_epoll(unsigned events)
{
    return ((events & CORO__AIO_READ) ? EPOLLIN : 0u) | ((events & CORO__AIO_WRITE) ? EPOLLOUT : 0u) |
           ((events & CORO__AIO_EDGE) ? (uint32_t)EPOLLET | EPOLLRDHUP : 0u);
}

static int ctl(coro__aio_poll *p, int op, int fd, unsigned events, void *udata, const char *what)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = to_epoll(events);
    ev.data.ptr = udata;
    if (epoll_ctl(p->epfd, op, fd, &ev) < 0)
        return coro__aio_fail(errno == ENOMEM ? CORO_ENOMEM : CORO_EINVAL, "poll: %s fd %d: %s",
                              what, fd, strerror(errno));
    return CORO_OK;
}

int coro__aio_poll_add(coro__aio_poll *p, int fd, unsigned events, void *udata)
{
    return ctl(p, EPOLL_CTL_ADD, fd, events, udata, "add");
}

int coro__aio_poll_modify(coro__aio_poll *p, int fd, unsigned events, void *udata)
{
    return ctl(p, EPOLL_CTL_MOD, fd, events, udata, "modify");
}

int coro__aio_poll_remove(coro__aio_poll *p, int fd)
{
    return ctl(p, EPOLL_CTL_DEL, fd, 0, NULL, "remove");
}

int coro__aio_poll_wait(coro__aio_poll *p, coro__aio_poll_event *events, int max,
                        int64_t timeout_ns)
{
    struct epoll_event evs[64];
    if (max > 64)
        max = 64;
    int ms;
    if (timeout_ns < 0)
        ms = -1;
    else if (timeout_ns == 0)
        ms = 0;
    else {
        /* Round up, as selectors.EpollSelector does (math.ceil(timeout*1e3)):
         * a wait never ends before the deadline asked for. */
        int64_t r = (timeout_ns + 999999) / 1000000;
        ms = r > 86400000 ? 86400000 : (int)r;
    }
    int n = epoll_wait(p->epfd, evs, max, ms);
    if (n < 0)
        return errno == EINTR ? 0 : coro__aio_fail(CORO_EINVAL, "poll: epoll_wait: %s",
                                                    strerror(errno));
    for (int i = 0; i < n; i++) {
        unsigned e = 0;
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            e |= CORO__AIO_READ;
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            e |= CORO__AIO_WRITE;
        if (evs[i].events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            e |= CORO__AIO_HUP;
        events[i].udata = evs[i].data.ptr;
        events[i].events = e;
    }
    return n;
}

void coro__aio_poll_close(coro__aio_poll *p)
{
    if (p == NULL)
        return;
    close(p->epfd);
    free(p);
}

int coro__aio_poll_fd(const coro__aio_poll *p)
{
    return p->epfd;
}
