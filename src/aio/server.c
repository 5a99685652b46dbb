/* server.c - asyncio.start_server / start_unix_server: listening sockets, one task per connection.
 * SPDX-License-Identifier: MIT
 *
 * Each listening socket has an acceptor task: accept4(2) until EAGAIN (at
 * most `backlog` connections per round, then a sleep(0) so that a flood of
 * connections does not starve the loop, as asyncio accepts at most backlog
 * per readiness event), then a readiness wait. Each accepted socket becomes
 * a stream and a task running the handler; when the handler ends the task's
 * cleanup handler closes the stream if needed and gives it back.
 *
 * The server struct, its invariants:
 *  - refs: the caller's (coro_aio_server_release), one per acceptor task
 *    while it runs, one per connection task while it runs. Freed at zero.
 *  - `closed`: close ran; listening fds are -1 from then on. The acceptors
 *    wake from their wait with ClosedError and end.
 *  - `active`: connection tasks running. closed_fut (wait_closed's future)
 *    is resolved once closed and active == 0. It lives as long as the
 *    struct, which keeps the loop's memory valid for a release after
 *    coro_aio_loop_close.
 *  - forever: serve_forever's future while a task awaits it; close cancels
 *    it, as Server.close() cancels _serving_forever_fut.
 */
#include "stream_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LISTENERS 8

typedef struct listener {
    coro_aio_server *srv;
    int fd;
} listener;

struct coro_aio_server {
    coro_aio_loop *loop;
    unsigned refs;
    coro_aio_connection_fn fn;
    void *arg;
    coro_aio_stream_options opt;
    listener l[MAX_LISTENERS];
    int nl;
    int port;
    bool closed;
    size_t active;
    coro_aio_future *forever;
    coro_aio_future *closed_fut;
};

typedef struct conn {
    coro_aio_server *srv;
    coro_aio_stream *s;
} conn;

static void srv_unref(coro_aio_server *srv)
{
    if (--srv->refs > 0)
        return;
    for (int i = 0; i < srv->nl; i++)
        if (srv->l[i].fd >= 0)
            coro__aio_close_sock(srv->loop, srv->l[i].fd);
    coro_aio_future_release(srv->closed_fut);
    free(srv);
}

static void maybe_closed(coro_aio_server *srv)
{
    if (srv->closed && srv->active == 0 && srv->closed_fut->state == AIO_PENDING &&
        !srv->loop->closed)
        coro__aio_future_finish(srv->closed_fut, NULL, NULL);
}

static void conn_done(void *arg)
{
    conn *c = arg;
    coro_aio_server *srv = c->srv;
    if (!c->s->released) { /* the handler may have released it itself */
        coro_aio_stream_close(c->s); /* a buffered tail is still flushed */
        coro_aio_stream_release(c->s);
    }
    coro__aio_stream_unref(c->s); /* serve_one's reference */
    free(c);
    srv->active--;
    maybe_closed(srv);
    srv_unref(srv);
}

/* A connection or acceptor task whose body never ran (its coroutine could
 * not be made: out of memory) ends without the body's cleanup handler: its
 * done callback does that cleanup instead. The body removes it first thing. */
static void conn_never_ran(coro_aio_future *t, void *arg)
{
    (void)t;
    conn_done(arg);
}

static void *conn_main(coro *self, void *arg)
{
    conn *c = arg;
    coro_aio_future_remove_done_callback(coro_aio_current_task(NULL), conn_never_ran, c);
    coro_defer(self, conn_done, c); /* the first handler: cannot fail */
    return c->srv->fn(self, c->s, c->srv->arg);
}

/* A new connection: a stream and its task; the socket is closed when either
 * cannot be had (reported, the server goes on). */
static void serve_one(coro_aio_server *srv, int fd)
{
    coro_aio_stream *s = coro__aio_stream_new(srv->loop, fd, &srv->opt);
    if (s != NULL)
        s->refs++; /* the server's, dropped by conn_done: see stream_int.h */
    conn *c = s != NULL ? coro__aio_malloc(sizeof *c) : NULL;
    coro_aio_future *t = NULL;
    if (c != NULL) {
        c->srv = srv;
        c->s = s;
        t = coro_aio_create_task(srv->loop, conn_main, c, NULL);
    }
    if (t == NULL) {
        free(c);
        coro_aio_stream_release(s);
        if (s != NULL)
            coro__aio_stream_unref(s);
        coro__aio_report(srv->loop, "out of memory: an accepted connection was dropped", NULL, NULL,
                         NULL);
        return;
    }
    srv->refs++;
    srv->active++;
    /* A fresh task has room for two callbacks: this cannot fail. */
    coro_aio_future_add_done_callback(t, conn_never_ran, c);
    coro_aio_future_release(t);
}

static void acceptor_done(void *arg) { srv_unref(arg); }

static void acceptor_never_ran(coro_aio_future *t, void *arg)
{
    (void)t;
    acceptor_done(arg);
}

static void *acceptor_main(coro *self, void *arg)
{
    listener *l = arg;
    coro_aio_server *srv = l->srv;
    coro_aio_future_remove_done_callback(coro_aio_current_task(NULL), acceptor_never_ran, srv);
    coro_defer(self, acceptor_done, srv);
    int round = 0;
    while (!srv->closed && l->fd >= 0) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (srv->opt.family != AF_UNIX) {
                int one = 1; /* as asyncio's TCP transports */
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            }
            serve_one(srv, fd);
            if (++round >= srv->opt.backlog) {
                round = 0;
                if (coro_aio_sleep(0) != CORO_OK)
                    break;
            }
            continue;
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED || err == EPROTO)
            continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            round = 0;
            coro_aio_fd_clear_ready(srv->loop, l->fd, CORO_AIO_FD_READ);
            if (coro_aio_wait_readable(l->fd, CORO_AIO_NO_TIMEOUT) != CORO_OK)
                break; /* closed (ClosedError) or cancelled */
            continue;
        }
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: asyncio reports and retries
         * after a second. */
        coro_exc x;
        coro__aio_os_exc(&x, err, NULL);
        coro__aio_report(srv->loop, "socket.accept() out of system resource", &x, NULL, NULL);
        if (coro_aio_sleep(1.0) != CORO_OK)
            break;
    }
    return NULL;
}

/* A bind / listen failure as Python words it; *x filled. */
static void bind_error(coro_exc *x, int err, const struct sockaddr *sa, socklen_t len)
{
    char addr[120], low[80], text[CORO_EXC_MSG_MAX];
    coro__aio_addr_repr(sa, len, addr, sizeof addr);
    snprintf(low, sizeof low, "%s", strerror(err));
    for (char *p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(text, sizeof text, "error while attempting to bind on address %.64s: %.48s", addr,
             low);
    coro__aio_os_exc(x, err, text);
}

/* Reports *x: raised in a task, CORO_EINVAL with its text outside one. */
static int fail_exc(const coro_exc *x, const char *what)
{
    coro *self = NULL;
    coro_aio_loop *loop = coro__aio_running;
    if (loop != NULL && loop->current != NULL && coro__aio_check_await(what, &self) == CORO_OK)
        return coro__aio_throw(self, x);
    return coro__aio_fail(CORO_EINVAL, "%s: %s: %s", what, x->type->name, x->message);
}

static int new_server(coro_aio_loop *loop, coro_aio_connection_fn fn, void *arg,
                      const coro_aio_stream_options *opt, coro_aio_server **out, const char *what,
                      coro_aio_server **srvp)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: out is NULL", what);
    *out = NULL;
    if (loop == NULL || fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: %s is NULL", what, loop == NULL ? "loop" : "fn");
    if (loop->closed)
        return coro__aio_fail(CORO_EINVAL, "%s: Event loop is closed", what);
    coro_aio_server *srv = coro__aio_calloc(1, sizeof *srv);
    if (srv == NULL)
        return coro__aio_fail(CORO_ENOMEM, "%s: out of memory", what);
    int rc = coro__aio_stream_opts(opt, &srv->opt, what);
    if (rc < 0) {
        free(srv);
        return rc;
    }
    if ((srv->closed_fut = coro__aio_future_alloc(loop)) == NULL) {
        free(srv);
        return coro__aio_fail(CORO_ENOMEM, "%s: out of memory", what);
    }
    srv->loop = loop;
    srv->refs = 1;
    srv->fn = fn;
    srv->arg = arg;
    *srvp = srv;
    return CORO_OK;
}

/* Listens on a bound socket and starts its acceptor. */
static int start_listener(coro_aio_server *srv, int fd, const char *what)
{
    listener *l = &srv->l[srv->nl];
    l->srv = srv;
    l->fd = fd;
    srv->nl++;
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.name = "server-accept";
    coro_aio_future *t = coro_aio_create_task(srv->loop, acceptor_main, l, &o);
    if (t == NULL)
        return coro__aio_fail(CORO_ENOMEM, "%s: out of memory", what);
    srv->refs++;
    coro_aio_future_add_done_callback(t, acceptor_never_ran, srv); /* cannot fail: see serve_one */
    coro_aio_future_release(t);
    return CORO_OK;
}

static int open_listener(coro_aio_server *srv, const struct sockaddr *sa, socklen_t len,
                         coro_exc *x, bool *failed)
{
    *failed = false;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        coro__aio_os_exc(x, errno, NULL);
        *failed = true;
        return -1;
    }
    int one = 1;
    if (sa->sa_family != AF_UNIX) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (srv->opt.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
            coro__aio_os_exc(x, errno, NULL);
            *failed = true;
            close(fd);
            return -1;
        }
        if (sa->sa_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, sa, len) < 0) {
        int err = errno;
        if (sa->sa_family != AF_UNIX) {
            bind_error(x, err, sa, len);
        } else if (err == EADDRINUSE) { /* start_unix_server's own wording */
            char text[CORO_EXC_MSG_MAX];
            snprintf(text, sizeof text, "Address '%s' is already in use",
                     ((const struct sockaddr_un *)sa)->sun_path);
            coro__aio_os_exc(x, err, text);
        } else {
            coro__aio_os_exc(x, err, NULL);
        }
        *failed = true;
        close(fd);
        return -1;
    }
    if (listen(fd, srv->opt.backlog) < 0) {
        coro__aio_os_exc(x, errno, NULL);
        *failed = true;
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/* A half-built server goes: its sockets closed, its acceptors end. */
static void abandon(coro_aio_server *srv)
{
    coro_aio_server_close(srv);
    srv_unref(srv);
}

int coro_aio_start_server(coro_aio_loop *loop, coro_aio_connection_fn fn, void *arg,
                          const char *host, int port, const coro_aio_stream_options *opt,
                          coro_aio_server **out)
{
    const char *what = "start_server";
    coro_aio_server *srv = NULL;
    int rc = new_server(loop, fn, arg, opt, out, what, &srv);
    if (rc < 0)
        return rc;
    if (port < 0 || port > 65535) {
        srv_unref(srv);
        return coro__aio_fail(CORO_EINVAL, "%s: port %d is out of range 0-65535", what, port);
    }
    struct addrinfo *res = NULL;
    if ((rc = coro__aio_resolve(host, port, srv->opt.family, true, &res, what)) != CORO_OK) {
        srv_unref(srv);
        return rc;
    }
    for (struct addrinfo *ai = res; ai != NULL && srv->nl < MAX_LISTENERS; ai = ai->ai_next) {
        /* Port 0: every address gets the port the kernel picked first. */
        if (srv->nl > 0 && port == 0) {
            if (ai->ai_family == AF_INET)
                ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)srv->port);
            else if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)srv->port);
        }
        coro_exc x;
        bool failed = false;
        int fd = open_listener(srv, ai->ai_addr, ai->ai_addrlen, &x, &failed);
        if (failed && x.udata == (void *)(intptr_t)EAFNOSUPPORT && (host == NULL || !*host))
            continue; /* no IPv6 on this machine: asyncio skips the family too */
        if (failed) {
            freeaddrinfo(res);
            abandon(srv);
            return fail_exc(&x, what);
        }
        if (srv->nl == 0)
            srv->port = bound_port(fd);
        if ((rc = start_listener(srv, fd, what)) < 0) {
            freeaddrinfo(res);
            abandon(srv);
            return rc;
        }
    }
    freeaddrinfo(res);
    *out = srv;
    return CORO_OK;
}

int coro_aio_start_unix_server(coro_aio_loop *loop, coro_aio_connection_fn fn, void *arg,
                               const char *path, const coro_aio_stream_options *opt,
                               coro_aio_server **out)
{
    const char *what = "start_unix_server";
    struct sockaddr_un un;
    if (out != NULL)
        *out = NULL;
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof un.sun_path)
        return coro__aio_fail(CORO_EINVAL, "%s: path is %s", what,
                              path == NULL ? "NULL"
                              : path[0]    ? "too long for sun_path"
                                           : "empty");
    coro_aio_server *srv = NULL;
    int rc = new_server(loop, fn, arg, opt, out, what, &srv);
    if (rc < 0)
        return rc;
    srv->opt.family = AF_UNIX;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket from an earlier run */
    coro_exc x;
    bool failed = false;
    int fd = open_listener(srv, (struct sockaddr *)&un, sizeof un, &x, &failed);
    if (failed) {
        srv_unref(srv);
        return fail_exc(&x, what);
    }
    if ((rc = start_listener(srv, fd, what)) < 0) {
        abandon(srv);
        return rc;
    }
    *out = srv;
    return CORO_OK;
}

int coro_aio_server_port(const coro_aio_server *srv)
{
    return srv != NULL && !srv->closed ? srv->port : -1;
}

void coro_aio_server_close(coro_aio_server *srv)
{
    if (srv == NULL || srv->closed)
        return;
    srv->closed = true;
    for (int i = 0; i < srv->nl; i++) {
        int fd = srv->l[i].fd;
        srv->l[i].fd = -1;
        if (fd >= 0)
            coro__aio_close_sock(srv->loop, fd); /* its acceptor wakes and ends */
    }
    if (srv->forever != NULL && !srv->loop->closed)
        coro__aio_future_cancel(srv->forever, NULL);
    maybe_closed(srv);
}

int coro_aio_server_wait_closed(coro_aio_server *srv)
{
    if (srv == NULL)
        return coro__aio_fail(CORO_EINVAL, "server_wait_closed: server is NULL");
    coro *self = NULL;
    int rc = coro__aio_check_await("server_wait_closed", &self);
    if (rc < 0)
        return rc;
    srv->refs++;
    coro_aio_future *f = coro__aio_ref(srv->closed_fut);
    rc = coro_aio_await(f, NULL);
    coro__aio_unref(f);
    srv_unref(srv);
    return rc;
}

int coro_aio_server_serve_forever(coro_aio_server *srv)
{
    const char *what = "server_serve_forever";
    if (srv == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: server is NULL", what);
    coro *self = NULL;
    int rc = coro__aio_check_await(what, &self);
    if (rc < 0)
        return rc;
    if (srv->forever != NULL)
        return coro__aio_fail(CORO_EBUSY,
                              "%s: the server is already being awaited on "
                              "serve_forever()",
                              what);
    if (srv->closed)
        return coro__aio_fail(CORO_EINVAL, "%s: server is closed", what);
    coro_aio_future *f = coro__aio_future_alloc(srv->loop);
    if (f == NULL)
        return coro__aio_fail(CORO_ENOMEM, "%s: out of memory", what);
    srv->refs++;
    srv->forever = f;
    rc = coro_aio_await(f, NULL);
    srv->forever = NULL;
    coro_aio_future_release(f);
    if (rc == CORO_THROWN && coro_exc_matches(coro_exception(self)->type, &coro_aio_CancelledError))
        coro_aio_server_close(srv);
    srv_unref(srv);
    return rc;
}

void coro_aio_server_release(coro_aio_server *srv)
{
    if (srv == NULL)
        return;
    coro_aio_server_close(srv);
    srv_unref(srv);
}
