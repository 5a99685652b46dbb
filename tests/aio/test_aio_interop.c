/* test_aio_interop.c - streams against Python's asyncio: its client with our server, our client with its server.
 * SPDX-License-Identifier: MIT
 *
 * Loopback only. tests/aio/interop_peer.py is the Python side, run as a
 * child by python3 from PATH (the suite passes with a note on stderr when
 * there is none). Each scenario has one golden transcript per role, client
 * and server, and either program may play either role: when Python's
 * asyncio client talks to our server, our server's transcript and the
 * client's (which the script prints) must both match; the same the other
 * way round. The script's docstring describes the four scenarios; the C
 * roles below do exactly what its roles do.
 */
#include "aio_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CORO_TEST_AIO_DIR
#define CORO_TEST_AIO_DIR "."
#endif
#define PEER_PY CORO_TEST_AIO_DIR "/interop_peer.py"
#define TIMEOUT 10.0

typedef struct scenario {
    const char *name;
    const char *client; /* the client role's golden transcript */
    const char *server; /* the server role's */
} scenario;

static const scenario scenarios[] = {
    {"lines",
     "readline \"echo: hello\\n\"; readline \"echo: how are you\\n\"; readline \"bye!\\n\"; eof",
     "readline \"hello\\n\"; readline \"how are you\\n\"; readline \"bye\\n\"; closed"},
    {"exactly", "readline \"got 5000 sum 636700\\n\"; readexactly 4096 ok; eof",
     "readline \"data 5000\\n\"; readexactly 5000 ok; eof; closed"},
    {"pipeline", "200 replies ok; eof", "200 lines; eof; closed"},
    {"eof", "readline \"partial 3 abc\\n\"; readline \"\"; at_eof yes",
     "IncompleteReadError: 3 bytes read on a total of 10 expected bytes; closed"},
};

/* ---- the C roles: record into tr, never assert (they run in tasks) ----- */

/* Appends what happened as the scripts write bytes: "...", \n and \xNN. */
static void tr_bytes(const char *prefix, const unsigned char *p, size_t n)
{
    char buf[1024];
    size_t k = 0;
    buf[k++] = '"';
    for (size_t i = 0; i < n && k < sizeof buf - 8; i++) {
        if (p[i] == '\n')
            k += (size_t)snprintf(buf + k, sizeof buf - k, "\\n");
        else if (p[i] >= 32 && p[i] < 127 && p[i] != '"' && p[i] != '\\')
            buf[k++] = (char)p[i];
        else
            k += (size_t)snprintf(buf + k, sizeof buf - k, "\\x%02x", p[i]);
    }
    buf[k++] = '"';
    buf[k] = '\0';
    tr_add(&tr, "%s%s", prefix, buf);
}

static unsigned char pattern_byte(size_t i, unsigned mul, unsigned add)
{
    return (unsigned char)((i * mul + add) & 0xFF);
}

static bool is_pattern(const unsigned char *p, size_t n, unsigned mul, unsigned add)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern_byte(i, mul, add))
            return false;
    return true;
}

/* Records a call that failed; true when rc is not CORO_OK. */
static bool failed(coro *self, const char *what, int rc)
{
    if (rc == CORO_OK)
        return false;
    tr_add(&tr, "%s failed: %s", what,
           rc == CORO_THROWN ? exc_str(coro_exception(self)) : coro_err_name(rc));
    return true;
}

static bool send_all(coro *self, coro_aio_stream *s, const void *p, size_t n)
{
    return !failed(self, "write", coro_aio_stream_write(s, p, n)) &&
           !failed(self, "drain", coro_aio_stream_drain(s));
}

/* read(100) that must see end of file: "eof", or what came instead. */
static void expect_eof(coro *self, coro_aio_stream *s)
{
    unsigned char buf[100];
    size_t got = 0;
    if (failed(self, "read", coro_aio_stream_read(s, buf, sizeof buf, &got)))
        return;
    if (got == 0)
        tr_add(&tr, "eof");
    else
        tr_bytes("read ", buf, got);
}

static bool readline(coro *self, coro_aio_stream *s, char *buf, size_t cap, size_t *len,
                     bool record)
{
    *len = 0;
    if (failed(self, "readline", coro_aio_stream_readline(s, buf, cap, len)))
        return false;
    if (record)
        tr_bytes("readline ", (unsigned char *)buf, *len);
    return true;
}

static void client_role(coro *self, coro_aio_stream *s, const char *name)
{
    char line[256];
    size_t len = 0;
    if (strcmp(name, "lines") == 0) {
        static const char *const lines[] = {"hello\n", "how are you\n", "bye\n"};
        for (size_t i = 0; i < 3; i++)
            if (!send_all(self, s, lines[i], strlen(lines[i])) ||
                !readline(self, s, line, sizeof line, &len, true))
                return;
        expect_eof(self, s);
    } else if (strcmp(name, "exactly") == 0) {
        static unsigned char body[5000], back[4096];
        for (size_t i = 0; i < sizeof body; i++)
            body[i] = pattern_byte(i, 7, 3);
        if (!send_all(self, s, "data 5000\n", 10))
            return;
        static const size_t cut[4] = {0, 1000, 4000, 5000};
        for (size_t i = 0; i < 3; i++) {
            if (!send_all(self, s, body + cut[i], cut[i + 1] - cut[i]) ||
                failed(self, "sleep", coro_aio_sleep(0.01)))
                return;
        }
        if (!readline(self, s, line, sizeof line, &len, true))
            return;
        size_t got = 0;
        if (failed(self, "readexactly", coro_aio_stream_readexactly(s, back, sizeof back, &got)))
            return;
        tr_add(&tr, "readexactly 4096 %s",
               got == sizeof back && is_pattern(back, got, 13, 1) ? "ok" : "differs");
        if (failed(self, "write_eof", coro_aio_stream_write_eof(s)))
            return;
        expect_eof(self, s);
    } else if (strcmp(name, "pipeline") == 0) {
        static char all[200 * 9 + 1]; /* and the NUL of the last snprintf */
        for (int i = 0; i < 200; i++)
            snprintf(all + i * 9, 10, "line %03d\n", i);
        if (!send_all(self, s, all, 200 * 9))
            return;
        int bad = -1;
        for (int i = 0; i < 200; i++) {
            char want[32];
            snprintf(want, sizeof want, "echo: line %03d\n", i);
            if (!readline(self, s, line, sizeof line, &len, false))
                return;
            if (bad < 0 && (len != strlen(want) || memcmp(line, want, len) != 0)) {
                bad = i;
                tr_bytes(i == 0 ? "reply 0 differs: " : "a reply differs: ", (unsigned char *)line,
                         len);
            }
        }
        if (bad < 0)
            tr_add(&tr, "200 replies ok");
        if (failed(self, "write_eof", coro_aio_stream_write_eof(s)))
            return;
        expect_eof(self, s);
    } else if (strcmp(name, "eof") == 0) {
        if (failed(self, "write", coro_aio_stream_write(s, "abc", 3)) ||
            failed(self, "write_eof", coro_aio_stream_write_eof(s)))
            return;
        for (int i = 0; i < 2; i++)
            if (!readline(self, s, line, sizeof line, &len, true))
                return;
        tr_add(&tr, "at_eof %s", coro_aio_stream_at_eof(s) ? "yes" : "no");
    }
}

static void server_role(coro *self, coro_aio_stream *s, const char *name)
{
    char line[256];
    size_t len = 0;
    if (strcmp(name, "lines") == 0) {
        for (;;) {
            if (!readline(self, s, line, sizeof line, &len, false))
                return;
            if (len == 0) {
                tr_add(&tr, "eof");
                break;
            }
            tr_bytes("readline ", (unsigned char *)line, len);
            if (len == 4 && memcmp(line, "bye\n", 4) == 0) {
                if (!send_all(self, s, "bye!\n", 5))
                    return;
                break;
            }
            if (failed(self, "write", coro_aio_stream_write(s, "echo: ", 6)) ||
                !send_all(self, s, line, len))
                return;
        }
    } else if (strcmp(name, "exactly") == 0) {
        static unsigned char body[5000], back[4096];
        if (!readline(self, s, line, sizeof line, &len, true))
            return;
        size_t got = 0;
        if (failed(self, "readexactly", coro_aio_stream_readexactly(s, body, sizeof body, &got)))
            return;
        tr_add(&tr, "readexactly 5000 %s",
               got == sizeof body && is_pattern(body, got, 7, 3) ? "ok" : "differs");
        unsigned long sum = 0;
        for (size_t i = 0; i < got; i++)
            sum += body[i];
        for (size_t i = 0; i < sizeof back; i++)
            back[i] = pattern_byte(i, 13, 1);
        char head[64];
        int n = snprintf(head, sizeof head, "got 5000 sum %lu\n", sum);
        if (failed(self, "write", coro_aio_stream_write(s, head, (size_t)n)) ||
            !send_all(self, s, back, sizeof back))
            return;
        expect_eof(self, s);
    } else if (strcmp(name, "pipeline") == 0) {
        int n = 0;
        for (;;) {
            if (!readline(self, s, line, sizeof line, &len, false))
                return;
            if (len == 0)
                break;
            n++;
            if (failed(self, "write", coro_aio_stream_write(s, "echo: ", 6)) ||
                !send_all(self, s, line, len))
                return;
        }
        tr_add(&tr, "%d lines", n);
        tr_add(&tr, "eof");
    } else if (strcmp(name, "eof") == 0) {
        unsigned char buf[10];
        size_t got = 0;
        int rc = coro_aio_stream_readexactly(s, buf, sizeof buf, &got);
        if (rc == CORO_OK) {
            tr_add(&tr, "readexactly 10 returned");
        } else if (rc == CORO_THROWN &&
                   coro_exception(self)->type == &coro_aio_IncompleteReadError) {
            tr_add(&tr, "%s", exc_str(coro_exception(self)));
            char reply[64];
            int n = snprintf(reply, sizeof reply, "partial %zu %.*s\n", got, (int)got, buf);
            if (!send_all(self, s, reply, (size_t)n))
                return;
        } else {
            failed(self, "readexactly", rc);
            return;
        }
    }
    if (!failed(self, "close", coro_aio_stream_close(s)) &&
        !failed(self, "wait_closed", coro_aio_stream_wait_closed(s)))
        tr_add(&tr, "closed");
}

/* ---- the Python child ------------------------------------------------- */

typedef struct child {
    pid_t pid;
    FILE *out; /* its stdout */
} child;

/* The first executable python3 in PATH into buf; false if none. */
static bool find_python(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        size_t n = strcspn(path, ":");
        if (n > 0 && (size_t)snprintf(buf, size, "%.*s/python3", (int)n, path) < size &&
            access(buf, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/* Why spawn_peer failed, for the test to report after the loop. */
static char spawn_error[256];

/* python3 interop_peer.py ARGS..., stdin /dev/null, stdout to c->out.
 * Returns 1 when it runs, 0 (after a note) when there is no python3, -1
 * with spawn_error set on failure. No ck_assert: tasks call it. */
static int spawn_peer(child *c, const char *role, const char *name, const char *port)
{
    char python[4096];
    if (!find_python(python, sizeof python)) {
        fprintf(stderr, "test_aio_interop: skipped: no python3 in PATH (the Python side of "
                        "these tests needs it)\n");
        return 0;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(spawn_error, sizeof spawn_error, "pipe2: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t a;
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addopen(&a, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&a, fds[1], STDOUT_FILENO);
    char *argv[] = {python, PEER_PY, (char *)role, (char *)name, (char *)port, NULL};
    fflush(NULL);
    int rc = posix_spawn(&c->pid, python, &a, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&a);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        snprintf(spawn_error, sizeof spawn_error, "could not run %.100s: %s", python, strerror(rc));
        return -1;
    }
    c->out = fdopen(fds[0], "r");
    if (c->out == NULL) {
        snprintf(spawn_error, sizeof spawn_error, "fdopen: %s", strerror(errno));
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        close(fds[0]);
        return -1;
    }
    return 1;
}

/* Waits for the child; its transcript line into buf ("" if none). */
static void finish_peer(child *c, char *buf, size_t size)
{
    char line[8192];
    buf[0] = '\0';
    while (fgets(line, sizeof line, c->out) != NULL)
        if (strncmp(line, "transcript: ", 12) == 0)
            snprintf(buf, size, "%.*s", (int)strcspn(line + 12, "\n"), line + 12);
    fclose(c->out);
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "interop_peer.py failed (status %d); its transcript: %s", status, buf);
}

/* ---- Python's client, our server --------------------------------------- */

typedef struct server_case {
    const scenario *sc;
    coro_aio_future *done; /* set when the one connection's handler returns */
    child peer;
    int spawned; /* spawn_peer's result */
} server_case;

static void *handler(coro *self, coro_aio_stream *s, void *arg)
{
    server_case *cx = arg;
    server_role(self, s, cx->sc->name);
    if (!coro_aio_future_done(cx->done))
        coro_aio_future_set_result(cx->done, NULL);
    return NULL;
}

static void *server_main(coro *self, void *arg)
{
    server_case *cx = arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_server *srv = NULL;
    cx->done = coro_aio_future_new(loop);
    if (failed(self, "start_server",
               coro_aio_start_server(loop, handler, cx, "127.0.0.1", 0, NULL, &srv)))
        goto out;
    char port[16];
    snprintf(port, sizeof port, "%d", coro_aio_server_port(srv));
    cx->spawned = spawn_peer(&cx->peer, "client", cx->sc->name, port);
    if (cx->spawned > 0)
        failed(self, "waiting for the connection", coro_aio_wait_for(cx->done, TIMEOUT, NULL));
    coro_aio_server_close(srv);
    failed(self, "server wait_closed", coro_aio_server_wait_closed(srv));
    coro_aio_server_release(srv);
out:
    coro_aio_future_release(cx->done);
    return NULL;
}

START_TEST(test_python_client)
{
    server_case cx = {&scenarios[_i], NULL, {0, NULL}, 0};
    ck_assert_int_eq(coro_aio_run(server_main, &cx, NULL, NULL, NULL), CORO_OK);
    ck_assert_msg(cx.spawned >= 0, "%s", spawn_error);
    if (cx.spawned == 0)
        return;
    char theirs[8192];
    finish_peer(&cx.peer, theirs, sizeof theirs);
    ck_assert_str_eq(tr.buf, cx.sc->server);
    ck_assert_str_eq(theirs, cx.sc->client);
}
END_TEST

/* ---- our client, Python's server --------------------------------------- */

typedef struct client_case {
    const scenario *sc;
    int port;
} client_case;

static void *client_main(coro *self, void *arg)
{
    client_case *cx = arg;
    coro_aio_stream *s = NULL;
    if (failed(self, "open_connection", coro_aio_open_connection("127.0.0.1", cx->port, NULL, &s)))
        return NULL;
    client_role(self, s, cx->sc->name);
    if (!failed(self, "close", coro_aio_stream_close(s)))
        failed(self, "wait_closed", coro_aio_stream_wait_closed(s));
    coro_aio_stream_release(s);
    return NULL;
}

START_TEST(test_python_server)
{
    client_case cx = {&scenarios[_i], 0};
    child peer;
    int spawned = spawn_peer(&peer, "server", cx.sc->name, NULL);
    ck_assert_msg(spawned >= 0, "%s", spawn_error);
    if (spawned == 0)
        return;
    char line[64];
    ck_assert_msg(fgets(line, sizeof line, peer.out) != NULL, "interop_peer.py printed no port");
    cx.port = atoi(line);
    ck_assert_int_gt(cx.port, 0);
    ck_assert_int_eq(coro_aio_run(client_main, &cx, NULL, NULL, NULL), CORO_OK);
    char theirs[8192];
    finish_peer(&peer, theirs, sizeof theirs);
    ck_assert_str_eq(tr.buf, cx.sc->client);
    ck_assert_str_eq(theirs, cx.sc->server);
}
END_TEST

static void setup(void) { tr_reset(&tr); }

int main(void)
{
    Suite *s = suite_create("aio_interop");
    TCase *tc = tcase_create("interop");
    /* Each case starts a python3; on a loaded machine under Valgrind that
     * alone can take seconds. */
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    int n = (int)(sizeof scenarios / sizeof scenarios[0]);
    tcase_add_loop_test(tc, test_python_client, 0, n);
    tcase_add_loop_test(tc, test_python_server, 0, n);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
