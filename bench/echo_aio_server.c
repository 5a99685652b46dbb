/* echo_aio_server.c - libcoro-aio's echo server for the echo rows: streams on one or two loop threads.
 * SPDX-License-Identifier: MIT
 *
 * The natural user code: coro_aio_start_server with a handler that loops
 * read (up to 64 KiB, into a buffer of its own), write, drain, and returns
 * at end of file. Each loop runs on a thread of its own; its main task
 * starts the server, reports the port, waits for an Event that the
 * benchmark's thread sets through coro_aio_call_soon_threadsafe, then
 * closes the server and waits until every handler has returned. With two
 * loops both listen on the same port with reuse_port (SO_REUSEPORT): the
 * first binds port 0, the second the port the first got.
 */
#include "echo.h"

#include <coro_aio.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_SIZE 65536
#define MAX_LOOPS 2

typedef struct echo_loop {
    pthread_t thread;
    coro_aio_loop *loop;  /* set by the thread before `ready` */
    coro_aio_event *stop; /* set on the loop's thread only */
    bool reuse_port;
    int port;   /* in: port to bind (0: any); out: the bound port */
    int status; /* CORO_OK, or the failure, with err */
    char err[256];
    sem_t ready; /* posted once the server listens, or failed */
    long live;   /* handlers running (the loop's thread only) */
} echo_loop;

struct bench_echo_aio {
    int n;
    echo_loop loops[MAX_LOOPS];
};

/* One connection: read up to 64 KiB, write it back, drain; until EOF. */
static void *echo_handler(coro *self, coro_aio_stream *s, void *arg)
{
    echo_loop *el = arg;
    el->live++;
    unsigned char *buf = malloc(READ_SIZE);
    int rc = buf != NULL ? CORO_OK : CORO_ENOMEM;
    while (rc == CORO_OK) {
        size_t got = 0;
        rc = coro_aio_stream_read(s, buf, READ_SIZE, &got);
        if (rc != CORO_OK || got == 0)
            break;
        rc = coro_aio_stream_write(s, buf, got);
        if (rc == CORO_OK)
            rc = coro_aio_stream_drain(s);
    }
    free(buf);
    el->live--;
    if (rc == CORO_THROWN && coro_exception(self)->type == &coro_aio_CancelledError)
        coro_reraise(self); /* cancelled: end cancelled, as asyncio's handler would */
    /* A reset or an error: the handler handles it by ending (the stream is
     * closed when it returns); the client reports what it saw. */
    return NULL;
}

static void set_stop(void *arg)
{
    echo_loop *el = arg;
    coro_aio_event_set(el->stop);
}

static void *echo_main(coro *self, void *arg)
{
    echo_loop *el = arg;
    coro_aio_server *srv = NULL;
    coro_aio_stream_options opt;
    coro_aio_stream_options_init(&opt);
    opt.reuse_port = el->reuse_port;
    el->status = coro_aio_event_new(&el->stop);
    if (el->status == CORO_OK)
        el->status = coro_aio_start_server(coro_aio_get_running_loop(), echo_handler, el,
                                           "127.0.0.1", el->port, &opt, &srv);
    if (el->status != CORO_OK) {
        snprintf(el->err, sizeof el->err, "could not start the server: %s",
                 el->status == CORO_THROWN ? coro_exception(self)->message : coro_aio_last_error());
        if (el->stop != NULL)
            coro_aio_event_free(el->stop);
        sem_post(&el->ready);
        return NULL; /* an exception, if any, is handled: reported through status */
    }
    el->port = coro_aio_server_port(srv);
    sem_post(&el->ready);
    int rc = coro_aio_event_wait(el->stop);
    coro_aio_server_close(srv);
    if (rc == CORO_OK)
        rc = coro_aio_server_wait_closed(srv);
    while (rc == CORO_OK && el->live > 0) /* the client closed first: handlers see EOF */
        rc = coro_aio_sleep(0.001);
    coro_aio_server_release(srv);
    coro_aio_event_free(el->stop);
    if (rc != CORO_OK)
        coro_reraise(self);
    return NULL;
}

static void *loop_thread(void *arg)
{
    echo_loop *el = arg;
    el->status = coro_aio_loop_new(&el->loop, NULL);
    if (el->status != CORO_OK) {
        snprintf(el->err, sizeof el->err, "coro_aio_loop_new: %s", coro_aio_last_error());
        sem_post(&el->ready);
        return NULL;
    }
    coro_aio_future *t = coro_aio_create_task(el->loop, echo_main, el, NULL);
    if (t == NULL)
        bench_fail("echo server: create_task: %s", coro_aio_last_error());
    coro_exc e;
    int rc = coro_aio_run_until_complete(el->loop, t, NULL, &e);
    if (rc != CORO_OK)
        bench_fail("echo server: the loop's main task failed: %s",
                   rc == CORO_RAISED ? e.type->name : coro_aio_last_error());
    coro_aio_future_release(t);
    coro_aio_loop_close(el->loop);
    return NULL;
}

static void stop_loop(echo_loop *el)
{
    if (coro_aio_call_soon_threadsafe(el->loop, set_stop, el) != CORO_OK)
        bench_fail("echo server: call_soon_threadsafe: %s", coro_aio_last_error());
    pthread_join(el->thread, NULL);
    sem_destroy(&el->ready);
}

bench_echo_aio *bench_echo_aio_start(int loops, int *port, char *err, size_t errsize)
{
    if (loops < 1 || loops > MAX_LOOPS) {
        snprintf(err, errsize, "echo server: 1 or %d loops, not %d", MAX_LOOPS, loops);
        return NULL;
    }
    bench_echo_aio *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    for (int i = 0; i < loops; i++) {
        echo_loop *el = &a->loops[i];
        el->reuse_port = loops > 1;
        el->port = i == 0 ? 0 : a->loops[0].port;
        sem_init(&el->ready, 0, 0);
        int rc = pthread_create(&el->thread, NULL, loop_thread, el);
        if (rc != 0)
            bench_fail("echo server: pthread_create: %s", strerror(rc));
        while (sem_wait(&el->ready) != 0)
            ;
        if (el->status != CORO_OK) {
            snprintf(err, errsize, "echo server (loop %d): %s", i + 1, el->err);
            pthread_join(el->thread, NULL); /* it failed: the thread ends by itself */
            sem_destroy(&el->ready);
            for (int j = 0; j < i; j++)
                stop_loop(&a->loops[j]);
            free(a);
            return NULL;
        }
        a->n = i + 1;
    }
    *port = a->loops[0].port;
    return a;
}

void bench_echo_aio_stop(bench_echo_aio *a)
{
    for (int i = 0; i < a->n; i++)
        stop_loop(&a->loops[i]);
    free(a);
}
