/* test_aio_many.c - many stream clients at once against one server, in one loop (loopback).
 * SPDX-License-Identifier: MIT
 *
 * 1 000 client tasks and the server's 1 000 handler tasks share one loop:
 * every client is served, and every reply is checked. That is about 2 000
 * sockets open at once, so the suite raises RLIMIT_NOFILE's soft limit to
 * the hard one when it is lower than that needs, and passes with a note
 * when even the hard limit is too low. The counts are the same under
 * Valgrind (about 15 s for the suite there): the case's timeout is raised
 * instead, as test_aio_loop's scale case does.
 */
#include "aio_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define CLIENTS 1000
#define BULK_CLIENTS 50
#define BULK_BYTES (256 * 1024)
#define FDS_SPARE 64 /* listening socket, epoll, the loop's own, stdio, Check */

/* Makes room for `fds` descriptors: raises the soft limit to the hard one
 * when needed. False (after a note) when even the hard limit is too low. */
static bool room_for(rlim_t fds)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < fds) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < fds) {
            fprintf(stderr,
                    "test_aio_many: skipped: %lu descriptors are needed and RLIMIT_NOFILE's "
                    "hard limit is %lu (raise it, e.g. ulimit -Hn %lu as root)\n",
                    (unsigned long)fds, (unsigned long)rl.rlim_max, (unsigned long)fds);
            return false;
        }
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    return true;
}

/* ---- shared state: only touched on the loop's thread -------------------- */

typedef struct many {
    int clients;  /* how many client tasks */
    bool barrier; /* everyone connected before anyone talks */
    coro_aio_event *all_connected, *all_accepted;
    int connected, accepted, live, max_live;
    coro_aio_connection_fn handler;
    coro_fn client; /* body of each client task, its index as arg */
    int port;       /* the server's */
    int served;     /* handlers that replied and saw EOF */
    int ok;         /* clients whose reply was right */
    char first_error[256];
} many;

static many m;

static void note_error(coro *self, const char *what, int rc)
{
    if (m.first_error[0] != '\0')
        return;
    snprintf(m.first_error, sizeof m.first_error, "%s: %s", what,
             rc == CORO_THROWN ? exc_str(coro_exception(self)) : coro_err_name(rc));
}

/* Server: one line in, "ok LINE" out, then end of file. With the barrier,
 * the reply waits until every connection has a handler, so that all of
 * them are alive at once. */
static void *line_handler(coro *self, coro_aio_stream *s, void *arg)
{
    (void)arg;
    if (++m.live > m.max_live)
        m.max_live = m.live;
    if (++m.accepted == m.clients && m.barrier)
        coro_aio_event_set(m.all_accepted);
    char line[64];
    size_t len = 0;
    int rc = coro_aio_stream_readline(s, line, sizeof line, &len);
    if (rc == CORO_OK && m.barrier)
        rc = coro_aio_event_wait(m.all_accepted);
    if (rc == CORO_OK)
        rc = coro_aio_stream_write(s, "ok ", 3);
    if (rc == CORO_OK)
        rc = coro_aio_stream_write(s, line, len);
    if (rc == CORO_OK)
        rc = coro_aio_stream_drain(s);
    size_t more = 1;
    if (rc == CORO_OK)
        rc = coro_aio_stream_readline(s, line, sizeof line, &more);
    if (rc != CORO_OK)
        note_error(self, "handler", rc);
    else if (more == 0)
        m.served++;
    m.live--;
    return NULL;
}

/* Client: connect, (barrier,) "client N" out, "ok client N" back, close. */
static void *line_client(coro *self, void *arg)
{
    int id = (int)(intptr_t)arg;
    coro_aio_stream *s = NULL;
    int rc = coro_aio_open_connection("127.0.0.1", m.port, NULL, &s);
    if (rc != CORO_OK) {
        note_error(self, "open_connection", rc);
        return NULL;
    }
    if (++m.connected == m.clients && m.barrier)
        coro_aio_event_set(m.all_connected);
    if (m.barrier)
        rc = coro_aio_event_wait(m.all_connected);
    char out[32], want[40], got[64];
    int n = snprintf(out, sizeof out, "client %d\n", id);
    snprintf(want, sizeof want, "ok client %d\n", id);
    size_t len = 0;
    if (rc == CORO_OK)
        rc = coro_aio_stream_write(s, out, (size_t)n);
    if (rc == CORO_OK)
        rc = coro_aio_stream_drain(s);
    if (rc == CORO_OK)
        rc = coro_aio_stream_readline(s, got, sizeof got, &len);
    if (rc == CORO_OK && len == strlen(want) && memcmp(got, want, len) == 0)
        m.ok++;
    else if (rc == CORO_OK && m.first_error[0] == '\0')
        snprintf(m.first_error, sizeof m.first_error, "client %d got '%.*s'", id, (int)len, got);
    if (rc == CORO_OK)
        rc = coro_aio_stream_close(s);
    if (rc == CORO_OK)
        rc = coro_aio_stream_wait_closed(s);
    if (rc != CORO_OK)
        note_error(self, "client", rc);
    coro_aio_stream_release(s);
    return NULL;
}

/* Starts the server, then the clients (all in this loop), awaits them all,
 * waits for the handlers to finish, closes the server. */
static void *many_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_stream_options opt;
    coro_aio_stream_options_init(&opt);
    opt.backlog = m.clients; /* every connect is queued at once */
    coro_aio_server *srv = NULL;
    int rc = coro_aio_start_server(loop, m.handler, NULL, "127.0.0.1", 0, &opt, &srv);
    if (rc != CORO_OK) {
        note_error(self, "start_server", rc);
        return NULL;
    }
    m.port = coro_aio_server_port(srv);
    coro_aio_future **t = calloc((size_t)m.clients, sizeof *t);
    for (int i = 0; t != NULL && i < m.clients; i++)
        if ((t[i] = coro_aio_create_task(loop, m.client, (void *)(intptr_t)i, NULL)) == NULL)
            note_error(self, "create_task", CORO_ENOMEM);
    for (int i = 0; t != NULL && i < m.clients; i++)
        if (t[i] != NULL) {
            coro_aio_await(t[i], NULL);
            coro_aio_future_release(t[i]);
        }
    free(t);
    /* The clients are done; their handlers see EOF a moment later. */
    for (int spins = 0; m.live > 0 && spins < 10000; spins++)
        if (coro_aio_sleep(0.001) != CORO_OK)
            break;
    coro_aio_server_close(srv);
    rc = coro_aio_server_wait_closed(srv);
    if (rc != CORO_OK)
        note_error(self, "wait_closed", rc);
    coro_aio_server_release(srv);
    return NULL;
}

static void run_many(int clients, bool barrier, coro_aio_connection_fn handler, coro_fn client)
{
    memset(&m, 0, sizeof m);
    m.handler = handler;
    m.client = client;
    m.clients = clients;
    m.barrier = barrier;
    ck_assert_int_eq(coro_aio_event_new(&m.all_connected), CORO_OK);
    ck_assert_int_eq(coro_aio_event_new(&m.all_accepted), CORO_OK);
    ck_assert_int_eq(coro_aio_run(many_main, NULL, NULL, NULL, NULL), CORO_OK);
    coro_aio_event_free(m.all_connected);
    coro_aio_event_free(m.all_accepted);
    tr_add(&tr, "served %d; ok %d; error '%s'", m.served, m.ok, m.first_error);
}

START_TEST(test_thousand_clients_at_once)
{
    int n = CLIENTS;
    if (!room_for((rlim_t)(2 * n + FDS_SPARE)))
        return;
    run_many(n, true, line_handler, line_client);
    char want[128];
    snprintf(want, sizeof want, "served %d; ok %d; error ''", n, n);
    ck_assert_str_eq(tr.buf, want);
    /* The barrier held every connection open with its handler alive. */
    ck_assert_int_eq(m.max_live, n);
    ck_assert_int_eq(m.connected, n);
}
END_TEST

START_TEST(test_thousand_clients_as_they_come)
{
    int n = CLIENTS;
    if (!room_for((rlim_t)(2 * n + FDS_SPARE)))
        return;
    run_many(n, false, line_handler, line_client);
    char want[128];
    snprintf(want, sizeof want, "served %d; ok %d; error ''", n, n);
    ck_assert_str_eq(tr.buf, want);
    ck_assert_int_eq(m.accepted, n);
    ck_assert_int_le(m.max_live, n);
}
END_TEST

/* ---- bulk: 256 KiB each way per client, through read/write/drain ------- */

static unsigned char bulk_byte(size_t i, int id)
{
    return (unsigned char)((i * 131u + (size_t)id * 7u + i / 251u) & 0xFF);
}

/* Server: the natural echo, read up to 64 KiB, write it, drain, until EOF. */
static void *echo_handler(coro *self, coro_aio_stream *s, void *arg)
{
    (void)arg;
    if (++m.live > m.max_live)
        m.max_live = m.live;
    m.accepted++;
    unsigned char *buf = malloc(65536);
    int rc = buf != NULL ? CORO_OK : CORO_ENOMEM;
    size_t got = 0;
    while (rc == CORO_OK) {
        rc = coro_aio_stream_read(s, buf, 65536, &got);
        if (rc != CORO_OK || got == 0)
            break;
        rc = coro_aio_stream_write(s, buf, got);
        if (rc == CORO_OK)
            rc = coro_aio_stream_drain(s);
    }
    free(buf);
    if (rc != CORO_OK)
        note_error(self, "echo handler", rc);
    else
        m.served++;
    m.live--;
    return NULL;
}

typedef struct bulk_reader_arg {
    coro_aio_stream *s;
    int id;
    bool same;   /* the echo was the bytes sent */
    size_t tail; /* bytes read after them (0: EOF came) */
} bulk_reader_arg;

/* Reads the echo while the owner writes (the header allows another task to
 * read while the owner drains): readexactly the whole, then EOF. */
static void *bulk_reader(coro *self, void *arg)
{
    bulk_reader_arg *r = arg;
    unsigned char *back = malloc(BULK_BYTES);
    size_t got = 0;
    int rc = back != NULL ? CORO_OK : CORO_ENOMEM;
    if (rc == CORO_OK)
        rc = coro_aio_stream_readexactly(r->s, back, BULK_BYTES, &got);
    r->same = rc == CORO_OK;
    for (size_t i = 0; r->same && i < BULK_BYTES; i++)
        r->same = back[i] == bulk_byte(i, r->id);
    unsigned char extra[16];
    if (rc == CORO_OK) /* the server closes after our EOF: nothing more comes */
        rc = coro_aio_stream_read(r->s, extra, sizeof extra, &r->tail);
    free(back);
    if (rc != CORO_OK)
        note_error(self, "bulk reader", rc);
    return NULL;
}

/* Writes 256 KiB in 16 KiB pieces, draining after each, then EOF; a reader
 * task takes the echo meanwhile. */
static void *bulk_client(coro *self, void *arg)
{
    int id = (int)(intptr_t)arg;
    coro_aio_stream *s = NULL;
    int rc = coro_aio_open_connection("127.0.0.1", m.port, NULL, &s);
    if (rc != CORO_OK) {
        note_error(self, "open_connection", rc);
        return NULL;
    }
    m.connected++;
    bulk_reader_arg r = {s, id, false, 1};
    coro_aio_future *reader =
        coro_aio_create_task(coro_aio_get_running_loop(), bulk_reader, &r, NULL);
    if (reader == NULL)
        rc = CORO_ENOMEM;
    unsigned char piece[1024];
    for (size_t off = 0; rc == CORO_OK && off < BULK_BYTES; off += 16384) {
        for (size_t k = 0; rc == CORO_OK && k < 16384; k += sizeof piece) {
            for (size_t j = 0; j < sizeof piece; j++)
                piece[j] = bulk_byte(off + k + j, id);
            rc = coro_aio_stream_write(s, piece, sizeof piece);
        }
        if (rc == CORO_OK)
            rc = coro_aio_stream_drain(s);
    }
    if (rc == CORO_OK)
        rc = coro_aio_stream_write_eof(s);
    if (rc != CORO_OK)
        note_error(self, "bulk client", rc);
    if (reader != NULL) {
        coro_aio_await(reader, NULL); /* its errors are noted by itself */
        coro_aio_future_release(reader);
    }
    if (rc == CORO_OK && r.same && r.tail == 0)
        m.ok++;
    else if (rc == CORO_OK && m.first_error[0] == '\0')
        snprintf(m.first_error, sizeof m.first_error, "client %d: echo %s, %zu bytes after it", id,
                 r.same ? "same" : "differs", r.tail);
    coro_aio_stream_release(s);
    return NULL;
}

START_TEST(test_bulk_echo)
{
    int n = BULK_CLIENTS;
    if (!room_for((rlim_t)(2 * n + FDS_SPARE)))
        return;
    run_many(n, false, echo_handler, bulk_client);
    char want[128];
    snprintf(want, sizeof want, "served %d; ok %d; error ''", n, n);
    ck_assert_str_eq(tr.buf, want);
}
END_TEST

static void setup(void) { tr_reset(&tr); }

int main(void)
{
    Suite *s = suite_create("aio_many");
    TCase *tc = tcase_create("many");
    tcase_set_timeout(tc, 90); /* Valgrind takes seconds per case; natively well under 1 s */
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_thousand_clients_at_once);
    tcase_add_test(tc, test_thousand_clients_as_they_come);
    tcase_add_test(tc, test_bulk_echo);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
