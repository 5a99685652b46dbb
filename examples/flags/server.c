/* server.c - the flags demo's HTTP server on libcoro-aio's streams: one task per connection.
 * SPDX-License-Identifier: MIT
 *
 * coro_aio_start_server runs serve_connection in a task of its own for each
 * accepted connection, as asyncio.start_server does. The task reads a
 * request head with readuntil("\r\n\r\n"), asks the site for the reply,
 * awaits the per-request delay, writes the reply and drains, and goes on
 * with the next request on the same connection while both sides keep it
 * alive. Because the delay is an awaited sleep, a slow reply holds up only
 * its own connection.
 *
 * The server's main task is `asyncio.run(main())` with main awaiting
 * serve_forever(); stopping it cancels that task, and coro_aio_run then
 * cancels the connection tasks left and waits for them before closing the
 * loop.
 */
#include "server.h"

#include "http.h"

#include <coro.h>
#include <coro_aio.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A server. Owned by whoever made it: flags_serve's frame, or the caller of
 * flags_server_spawn until flags_server_stop. `loop` and `main_task` are
 * set by the server's thread before `ready` is signalled and stay valid
 * until its main task ends; only the stop callback, run on that loop, uses
 * them from then on. */
struct flags_server {
    char host[256];
    int port; /* asked for, then bound */
    double delay;
    flags_catalog cat;
    atomic_int connections, requests;
    flags_ready_fn ready;
    void *ready_arg;
    coro_aio_loop *loop;
    coro_aio_future *main_task; /* borrowed: alive while the loop runs */
    /* flags_server_spawn only */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state;   /* 0 starting, 1 listening, -1 failed (error copied below) */
    bool failed; /* the server could not start (set on its thread, before ready) */
    char error[256];
};

/* A connection's buffer, off the task's small stack. */
typedef struct connection {
    char head[HTTP_HEAD_MAX];
} connection;

/* True when the exception a read or a drain just reported is CancelledError,
 * which must go on up. Any other (EOF before a whole head, a reset, a head
 * over the limit) only ends this connection. */
static bool cancelled(coro *self)
{
    const coro_exc *e = coro_exception(self);
    return e != NULL && coro_exc_matches(e->type, &coro_aio_CancelledError);
}

static void *serve_connection(coro *self, coro_aio_stream *s, void *arg)
{
    flags_server *srv = arg;
    atomic_fetch_add(&srv->connections, 1);
    connection *c = malloc(sizeof *c);
    if (c == NULL)
        return NULL; /* the stream is closed when we return */
    coro_defer(self, free, c);
    for (;;) {
        size_t len = 0;
        int rc = coro_aio_stream_readuntil(s, "\r\n\r\n", 4, c->head, sizeof c->head, &len);
        if (rc == CORO_THROWN && cancelled(self))
            coro_reraise(self);
        if (rc != CORO_OK)
            return NULL; /* the client went away, or sent a head too long */
        http_request req;
        flags_reply reply;
        bool ok = http_parse_request(c->head, len, &req) == 0;
        flags_site_reply(&srv->cat, ok ? &req : NULL, &reply);
        atomic_fetch_add(&srv->requests, 1);
        if (srv->delay > 0 && coro_aio_sleep(srv->delay) != CORO_OK)
            coro_reraise(self); /* cancelled while waiting */
        if (coro_aio_stream_write(s, reply.head, reply.head_len) != CORO_OK ||
            coro_aio_stream_write(s, reply.body, reply.body_len) != CORO_OK)
            return NULL;
        rc = coro_aio_stream_drain(s);
        if (rc == CORO_THROWN && cancelled(self))
            coro_reraise(self);
        if (rc != CORO_OK || !reply.keep_alive)
            return NULL;
    }
}

static void *server_main(coro *self, void *arg)
{
    flags_server *srv = arg;
    srv->loop = coro_aio_get_running_loop();
    srv->main_task = coro_aio_current_task(srv->loop);
    flags_catalog_make(&srv->cat);
    coro_aio_server *server = NULL;
    int rc = coro_aio_start_server(srv->loop, serve_connection, srv, srv->host, srv->port, NULL,
                                   &server);
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        flags_fail("listen on %s:%d: %s: %s", srv->host, srv->port, e->type->name, e->message);
    } else if (rc != CORO_OK) {
        flags_fail("listen on %s:%d: %s", srv->host, srv->port, coro_aio_last_error());
    }
    if (rc != CORO_OK) {
        srv->failed = true;
        srv->ready(-1, srv->ready_arg);
        return NULL;
    }
    srv->port = coro_aio_server_port(server);
    srv->ready(srv->port, srv->ready_arg);
    rc = coro_aio_server_serve_forever(server); /* until cancelled */
    coro_aio_server_release(server);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

static int init(flags_server *srv, const char *host, int port, double delay)
{
    if (host == NULL || strlen(host) >= sizeof srv->host)
        return flags_fail("bad host");
    if (port < 0 || port > 65535)
        return flags_fail("port %d is not from 0 to 65535", port);
    if (!(delay >= 0 && delay <= 60))
        return flags_fail("delay %g s is not from 0 to 60", delay);
    snprintf(srv->host, sizeof srv->host, "%s", host);
    srv->port = port;
    srv->delay = delay;
    atomic_init(&srv->connections, 0);
    atomic_init(&srv->requests, 0);
    return 0;
}

/* The result of coro_aio_run for a server: 0 when it ended by being
 * cancelled (the way a server stops), -1 otherwise. */
static int run(flags_server *srv)
{
    coro_exc exc;
    int rc = coro_aio_run(server_main, srv, NULL, NULL, &exc);
    if (srv->failed)
        return -1; /* flags_error says why */
    if (rc == CORO_RAISED && coro_exc_matches(exc.type, &coro_aio_CancelledError))
        return 0;
    if (rc == CORO_RAISED)
        return flags_fail("server: %s: %s", exc.type->name, exc.message);
    if (rc < 0)
        return flags_fail("server: %s", coro_aio_last_error());
    return 0;
}

int flags_serve(const char *host, int port, double delay, flags_ready_fn ready, void *arg)
{
    flags_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return flags_fail("out of memory");
    int rc = init(srv, host, port, delay);
    if (rc == 0) {
        srv->ready = ready;
        srv->ready_arg = arg;
        rc = run(srv);
    }
    free(srv);
    return rc;
}

/* ---- a server on its own thread ---- */

static void spawned_ready(int port, void *arg)
{
    flags_server *srv = arg;
    pthread_mutex_lock(&srv->lock);
    srv->state = port >= 0 ? 1 : -1;
    if (port < 0)
        snprintf(srv->error, sizeof srv->error, "%s", flags_error());
    pthread_cond_signal(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
}

static void *spawned_thread(void *arg)
{
    flags_server *srv = arg;
    if (run(srv) != 0 && srv->state == 1)
        fprintf(stderr, "flags server: %s\n", flags_error());
    return NULL;
}

int flags_server_spawn(const char *host, int port, double delay, flags_server **out)
{
    flags_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return flags_fail("out of memory");
    if (init(srv, host, port, delay) != 0) {
        free(srv);
        return -1;
    }
    srv->ready = spawned_ready;
    srv->ready_arg = srv;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    if (pthread_create(&srv->thread, NULL, spawned_thread, srv) != 0) {
        flags_fail("could not start the server's thread");
        goto fail_thread;
    }
    pthread_mutex_lock(&srv->lock);
    while (srv->state == 0)
        pthread_cond_wait(&srv->cond, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
    if (srv->state < 0) {
        pthread_join(srv->thread, NULL);
        flags_fail("%s", srv->error);
        goto fail_thread;
    }
    *out = srv;
    return 0;

fail_thread:
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    return -1;
}

int flags_server_port(const flags_server *s) { return s->port; }

const flags_catalog *flags_server_catalog(const flags_server *s) { return &s->cat; }

int flags_server_connections(const flags_server *s)
{
    return atomic_load(&((flags_server *)s)->connections);
}

int flags_server_requests(const flags_server *s)
{
    return atomic_load(&((flags_server *)s)->requests);
}

/* On the server's loop: cancel its main task (KeyboardInterrupt's way). */
static void cancel_main(void *arg)
{
    flags_server *srv = arg;
    coro_aio_future_cancel(srv->main_task, NULL);
}

void flags_server_stop(flags_server *s)
{
    if (s == NULL)
        return;
    if (coro_aio_call_soon_threadsafe(s->loop, cancel_main, s) != CORO_OK)
        fprintf(stderr, "flags server: could not stop: %s\n", coro_aio_last_error());
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
