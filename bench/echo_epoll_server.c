/* echo_epoll_server.c - the echo benchmark's ceiling: a minimal single-threaded epoll echo server in C.
 * SPDX-License-Identifier: MIT
 *
 * What any event loop's echo server does underneath, and nothing else: one
 * thread, level-triggered epoll, accept4 non-blocking, read up to 64 KiB,
 * write it straight back. A write that does not go out whole keeps the rest
 * in the connection's buffer, asks for EPOLLOUT and stops reading that
 * connection until the rest is out (the back-pressure a drain gives). An
 * eventfd stops the thread.
 */
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_SIZE 65536
#define MAX_EVENTS 64

typedef struct econn {
    struct econn *prev, *next; /* every open connection, for stop */
    int fd;
    size_t len, off; /* bytes read but not written yet: pending[off, len) */
    unsigned char *pending;
} econn;

struct bench_echo_epoll {
    int listen_fd, stop_fd, ep;
    pthread_t thread;
    econn *conns;
    unsigned char buf[READ_SIZE];
};

/* Tags for the two fds that are not connections (epoll data.ptr). */
static char listen_tag, stop_tag;

static void drop(bench_echo_epoll *s, econn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

/* Writes data[0, n) to c; what does not go out is kept. False: drop it. */
static bool write_out(bench_echo_epoll *s, econn *c, const unsigned char *data, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(c->fd, data + done, n - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w < 0)
            return false;
        done += (size_t)w;
    }
    if (done == n) {
        c->len = c->off = 0;
        return true;
    }
    if (data != c->pending) {
        unsigned char *p = malloc(n - done);
        if (p == NULL)
            return false;
        memcpy(p, data + done, n - done);
        free(c->pending);
        c->pending = p;
        c->off = 0;
        c->len = n - done;
    } else {
        c->off += done;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static bool on_writable(bench_echo_epoll *s, econn *c)
{
    size_t before = c->len - c->off;
    if (!write_out(s, c, c->pending + c->off, before))
        return false;
    if (c->len != 0)
        return true; /* still more: EPOLLOUT stays */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static bool on_readable(bench_echo_epoll *s, econn *c)
{
    ssize_t r = recv(c->fd, s->buf, sizeof s->buf, 0);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (r == 0)
        return false; /* EOF: the client is done */
    return write_out(s, c, s->buf, (size_t)r);
}

static void on_accept(bench_echo_epoll *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an error the client will report */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        econn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (c == NULL || epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->next = s->conns;
        if (s->conns != NULL)
            s->conns->prev = c;
        s->conns = c;
    }
}

static void *serve(void *arg)
{
    bench_echo_epoll *s = arg;
    struct epoll_event ev[MAX_EVENTS];
    for (;;) {
        int k = epoll_wait(s->ep, ev, MAX_EVENTS, -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            bench_fail("echo epoll server: epoll_wait: %s", strerror(errno));
        for (int i = 0; i < k; i++) {
            void *p = ev[i].data.ptr;
            if (p == &stop_tag)
                return NULL; /* connections still open are closed by stop */
            if (p == &listen_tag) {
                on_accept(s);
                continue;
            }
            econn *c = p;
            bool ok = (ev[i].events & EPOLLOUT) ? on_writable(s, c) : on_readable(s, c);
            if (!ok || (ev[i].events & EPOLLERR))
                drop(s, c);
        }
    }
}

bench_echo_epoll *bench_echo_epoll_start(int *port, char *err, size_t errsize)
{
    bench_echo_epoll *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &listen_tag};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &stop_tag};
    if (s->listen_fd < 0 || s->stop_fd < 0 || s->ep < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->listen_fd, 128) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) != 0 ||
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &lev) != 0 ||
        epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_fd, &sev) != 0) {
        snprintf(err, errsize, "echo epoll server: could not listen on 127.0.0.1: %s",
                 strerror(errno));
        goto fail;
    }
    int rc = pthread_create(&s->thread, NULL, serve, s);
    if (rc != 0) {
        snprintf(err, errsize, "echo epoll server: pthread_create: %s", strerror(rc));
        goto fail;
    }
    *port = ntohs(sa.sin_port);
    return s;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->ep >= 0)
        close(s->ep);
    free(s);
    return NULL;
}

void bench_echo_epoll_stop(bench_echo_epoll *s)
{
    uint64_t one = 1;
    if (write(s->stop_fd, &one, sizeof one) != (ssize_t)sizeof one)
        bench_fail("echo epoll server: could not signal the thread to stop");
    pthread_join(s->thread, NULL);
    while (s->conns != NULL) /* the client closes its own first: normally none */
        drop(s, s->conns);
    close(s->listen_fd);
    close(s->stop_fd);
    close(s->ep);
    free(s);
}
