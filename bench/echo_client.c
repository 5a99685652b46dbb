/* echo_client.c - the echo benchmark's client: one epoll thread, N connections, one message each in flight.
 * SPDX-License-Identifier: MIT
 *
 * Every connection is a small state machine: write the message (the first
 * eight bytes carry the connection's round-trip count, so a stale or mixed
 * up reply is caught), then read until the same number of bytes came back,
 * compare, count, and write the next. Level-triggered epoll: a connection
 * asks for EPOLLOUT only while a write is left over (a 1 KiB message nearly
 * always goes out whole on loopback).
 *
 * Timing: a warm-up of a tenth of the run (at most 0.2 s) is not counted;
 * then round trips that complete inside the timed window are counted and
 * divided by the window's measured length. After the window no new message
 * is sent; the ones in flight are read back and every connection is shut
 * down and closed, so the server sees EOF, not a reset.
 */
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STALL_SECONDS 5.0 /* no progress for this long: the server is stuck */
#define MAX_EVENTS 64

typedef struct conn {
    int fd;
    uint64_t round;   /* round trips completed */
    size_t sent, got; /* of the message in flight */
    bool busy;        /* a message is in flight */
    bool want_out;    /* registered for EPOLLOUT */
    unsigned char *tx, *rx;
} conn;

typedef struct client {
    int ep;
    int n;
    size_t msg;
    conn *c;
    char *err;
    size_t errsize;
} client;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(client *cl, const char *what, int err)
{
    if (err != 0)
        snprintf(cl->err, cl->errsize, "%s: %s", what, strerror(err));
    else
        snprintf(cl->err, cl->errsize, "%s", what);
    return -1;
}

static int set_events(client *cl, conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return fail(cl, "epoll_ctl", errno);
    c->want_out = out;
    return 0;
}

/* Writes what is left of the message; asks for EPOLLOUT if some stays. */
static int flush(client *cl, conn *c)
{
    while (c->sent < cl->msg) {
        ssize_t w = send(c->fd, c->tx + c->sent, cl->msg - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            return fail(cl, "send to the echo server", errno);
        }
        c->sent += (size_t)w;
    }
    bool out = c->sent < cl->msg;
    return out != c->want_out ? set_events(cl, c, out) : 0;
}

/* Starts the connection's next round trip. */
static int start(client *cl, conn *c)
{
    memcpy(c->tx, &c->round, sizeof c->round);
    c->sent = c->got = 0;
    c->busy = true;
    return flush(cl, c);
}

/* Reads what came back; *done tells when the whole reply is in (checked). */
static int receive(client *cl, conn *c, bool *done)
{
    *done = false;
    while (c->got < cl->msg) {
        ssize_t r = recv(c->fd, c->rx + c->got, cl->msg - c->got, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return fail(cl, "recv from the echo server", errno);
        }
        if (r == 0)
            return fail(cl,
                        c->busy ? "the echo server closed a connection mid-message"
                                : "the echo server closed a connection",
                        0);
        if (!c->busy || c->got + (size_t)r > c->sent)
            return fail(cl, "the echo server sent bytes that were never sent to it", 0);
        c->got += (size_t)r;
    }
    if (memcmp(c->rx, c->tx, cl->msg) != 0)
        return fail(cl, "the echo server sent back different bytes", 0);
    c->busy = false;
    c->round++;
    *done = true;
    return 0;
}

static int connect_one(client *cl, conn *c, int port)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return fail(cl, "socket", errno);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        char what[64];
        snprintf(what, sizeof what, "connect to 127.0.0.1:%d", port);
        return fail(cl, what, errno);
    }
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return fail(cl, "setsockopt(TCP_NODELAY)", errno);
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return fail(cl, "making a socket non-blocking", errno);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        return fail(cl, "epoll_ctl", errno);
    return 0;
}

/* The event loop: runs until `until`, counting round trips completed at or
 * after `count_from`; with stopping set, starts no new message and returns
 * once none is in flight. */
static int run(client *cl, double count_from, double until, bool stopping, uint64_t *counted)
{
    struct epoll_event ev[MAX_EVENTS];
    int in_flight = 0;
    for (int i = 0; i < cl->n; i++)
        in_flight += cl->c[i].busy;
    double last_progress = now_s();
    for (;;) {
        double t = now_s();
        if (stopping ? in_flight == 0 : t >= until)
            return 0;
        if (t - last_progress > STALL_SECONDS)
            return fail(cl, "the echo server answered nothing for 5 s", 0);
        int k = epoll_wait(cl->ep, ev, MAX_EVENTS, 100);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return fail(cl, "epoll_wait", errno);
        }
        if (k > 0)
            last_progress = t;
        bool counting = t >= count_from;
        for (int i = 0; i < k; i++) {
            conn *c = ev[i].data.ptr;
            if ((ev[i].events & EPOLLOUT) && c->busy && flush(cl, c) != 0)
                return -1;
            if (!(ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            bool done = false;
            if (receive(cl, c, &done) != 0)
                return -1;
            if (!done)
                continue;
            if (counting)
                (*counted)++;
            if (stopping)
                in_flight--;
            else if (start(cl, c) != 0)
                return -1;
        }
    }
}

int bench_echo_client(int port, int conns, size_t msg, double seconds, bench_echo_result *out,
                      char *err, size_t errsize)
{
    client cl = {-1, 0, msg, NULL, err, errsize};
    int rc = -1;
    if (conns < 1 || msg < sizeof(uint64_t) || !(seconds > 0)) {
        snprintf(err, errsize, "bad echo client arguments");
        return -1;
    }
    cl.c = calloc((size_t)conns, sizeof *cl.c);
    unsigned char *bufs = malloc((size_t)conns * 2 * msg);
    if (cl.c == NULL || bufs == NULL) {
        fail(&cl, "out of memory", 0);
        goto done;
    }
    for (int i = 0; i < conns; i++) {
        cl.c[i].fd = -1;
        cl.c[i].tx = bufs + (size_t)i * 2 * msg;
        cl.c[i].rx = cl.c[i].tx + msg;
        for (size_t j = 0; j < msg; j++) /* a pattern that differs per connection */
            cl.c[i].tx[j] = (unsigned char)(j * 31u + (unsigned)i * 7u);
    }
    cl.ep = epoll_create1(EPOLL_CLOEXEC);
    if (cl.ep < 0) {
        fail(&cl, "epoll_create1", errno);
        goto done;
    }
    for (; cl.n < conns; cl.n++)
        if (connect_one(&cl, &cl.c[cl.n], port) != 0) {
            if (cl.c[cl.n].fd >= 0)
                cl.n++; /* so that it is closed below */
            goto done;
        }
    for (int i = 0; i < conns; i++)
        if (start(&cl, &cl.c[i]) != 0)
            goto done;
    double warm = seconds / 10 < 0.2 ? seconds / 10 : 0.2;
    double t0 = now_s() + warm, t1 = t0 + seconds;
    uint64_t counted = 0, ignored = 0;
    /* Round trips completing after t1 are not counted: the window is
     * [t0, end of the last epoll batch before t1], measured below. */
    if (run(&cl, t0, t1, false, &counted) != 0)
        goto done;
    double end = now_s();
    if (run(&cl, t1, t1, true, &ignored) != 0)
        goto done;
    for (int i = 0; i < cl.n; i++)
        shutdown(cl.c[i].fd, SHUT_WR);
    out->round_trips = counted;
    out->seconds = end - t0;
    out->rps = (double)counted / out->seconds;
    rc = 0;
done:
    for (int i = 0; i < cl.n; i++)
        close(cl.c[i].fd);
    if (cl.ep >= 0)
        close(cl.ep);
    free(bufs);
    free(cl.c);
    return rc;
}
