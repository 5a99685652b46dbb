/* rows_echo.c - the echo rows: round trips per second through libcoro-aio's streams and its peers.
 * SPDX-License-Identifier: MIT
 *
 * Every row is the same client (echo_client.c: one thread, 32 connections,
 * one 1 KiB message each in flight, loopback) against a different server:
 *
 *   aio_echo_rps         libcoro-aio: coro_aio_start_server on one loop
 *                        thread, a handler that reads up to 64 KiB, writes
 *                        it and drains (echo_aio_server.c)
 *   aio_echo_rps_2loops  the same on two loops, two threads, both listening
 *                        on the port with SO_REUSEPORT (the kernel spreads
 *                        the 32 connections over the two)
 *   epoll_echo_rps       the ceiling: a minimal single-threaded epoll echo
 *                        server in C (echo_epoll_server.c)
 *   uvloop_echo_rps      uvloop with the protocol API (bench/echo_peer.py)
 *   asyncio_echo_rps     asyncio's loop with streams (bench/echo_peer.py)
 *
 * The servers run on threads of coro-bench (the C ones) or in a python3
 * child (the peers), the client on the calling thread. Every server wanted
 * is started first; then the samples go round robin, one of each row per
 * round, so that a burst of load from other processes falls on every row
 * alike; each row's value is the median of its samples. One sample lasts
 * cfg->seconds (3 s by default), so the sample count is small (3 by
 * default, coro-bench's --echo-reps).
 */
#include "echo.h"
#include "rows.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CORO_BENCH_ECHO_PEER_PY
#define CORO_BENCH_ECHO_PEER_PY "echo_peer.py"
#endif

enum { ROW_AIO, ROW_AIO_2LOOPS, ROW_EPOLL, ROW_UVLOOP, ROW_ASYNCIO };

const char *const bench_echo_metrics[BENCH_ECHO_ROWS] = {
    "aio_echo_rps", "aio_echo_rps_2loops", "epoll_echo_rps", "uvloop_echo_rps", "asyncio_echo_rps"};

/* A server that is up: exactly one of the handles is set. */
typedef struct server {
    int port;
    bench_echo_epoll *epoll;
    bench_echo_aio *aio;
    pid_t pid;    /* python3 child, or 0 */
    int to_child; /* its stdin: closing it stops it */
} server;

static void skip(int row, const char *why)
{
    fprintf(stderr, "coro-bench: skipped %s: %s\n", bench_echo_metrics[row], why);
}

/* Starts python3 echo_peer.py kind; false after a note when missing. */
static bool start_peer(int row, const char *kind, server *s)
{
    const char *script = getenv("CORO_BENCH_ECHO_PEER");
    if (script == NULL || *script == '\0')
        script = CORO_BENCH_ECHO_PEER_PY;
    if (access(script, R_OK) != 0) {
        skip(row, "echo_peer.py not found (set CORO_BENCH_ECHO_PEER to its path)");
        return false;
    }
    char python[4096];
    const char *why = NULL;
    if (!bench_aio_python(kind, python, sizeof python, &why)) {
        skip(row, why);
        return false;
    }
    int in[2], out[2];
    /* Close-on-exec: a later child must not hold this one's stdin open. */
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        bench_fail("pipe failed: %s", strerror(errno));
    posix_spawn_file_actions_t a;
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addclose(&a, in[1]);
    posix_spawn_file_actions_addclose(&a, out[0]);
    posix_spawn_file_actions_adddup2(&a, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&a, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&a, in[0]);
    posix_spawn_file_actions_addclose(&a, out[1]);
    char *argv[] = {python, (char *)script, (char *)kind, NULL};
    fflush(NULL);
    int rc = posix_spawn(&s->pid, python, &a, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&a);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        s->pid = 0;
        skip(row, "could not run python3");
        return false;
    }
    s->to_child = in[1];
    FILE *from = fdopen(out[0], "r");
    if (from == NULL)
        bench_fail("fdopen failed: %s", strerror(errno));
    char line[64];
    char *end = NULL;
    long port = 0;
    if (fgets(line, sizeof line, from) != NULL)
        port = strtol(line, &end, 10);
    fclose(from); /* the child prints nothing else on stdout */
    if (end == NULL || end == line || port <= 0 || port > 65535) {
        close(s->to_child);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        skip(row, "echo_peer.py did not print its port");
        return false;
    }
    s->port = (int)port;
    return true;
}

static bool start(int row, server *s)
{
    char err[256];
    memset(s, 0, sizeof *s);
    switch (row) {
    case ROW_AIO:
    case ROW_AIO_2LOOPS:
        s->aio = bench_echo_aio_start(row == ROW_AIO ? 1 : 2, &s->port, err, sizeof err);
        if (s->aio == NULL)
            bench_fail("%s: %s", bench_echo_metrics[row], err);
        return true;
    case ROW_EPOLL:
        s->epoll = bench_echo_epoll_start(&s->port, err, sizeof err);
        if (s->epoll == NULL)
            bench_fail("%s", err);
        return true;
    default:
        return start_peer(row, row == ROW_UVLOOP ? "uvloop" : "asyncio", s);
    }
}

static void stop(int row, server *s)
{
    if (s->aio != NULL)
        bench_echo_aio_stop(s->aio);
    if (s->epoll != NULL)
        bench_echo_epoll_stop(s->epoll);
    if (s->pid > 0) {
        close(s->to_child); /* end of file on its stdin: it stops */
        int status = 0;
        while (waitpid(s->pid, &status, 0) < 0)
            if (errno != EINTR)
                bench_fail("waitpid failed: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bench_fail("%s: echo_peer.py failed (status %d)", bench_echo_metrics[row], status);
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double sample(int row, const server *s, double seconds)
{
    bench_echo_result r;
    char err[256];
    if (bench_echo_client(s->port, BENCH_ECHO_CONNS, BENCH_ECHO_MSG, seconds, &r, err,
                          sizeof err) != 0)
        bench_fail("%s: %s", bench_echo_metrics[row], err);
    return r.rps;
}

void bench_echo(const bench_echo_config *cfg, const bool *wanted, double *values, bool *have)
{
    server s[BENCH_ECHO_ROWS];
    double *samples = calloc((size_t)cfg->reps * BENCH_ECHO_ROWS, sizeof *samples);
    if (samples == NULL)
        bench_fail("out of memory");
    for (int i = 0; i < BENCH_ECHO_ROWS; i++)
        have[i] = wanted[i] && start(i, &s[i]);
    for (int k = 0; k < cfg->reps; k++)
        for (int i = 0; i < BENCH_ECHO_ROWS; i++)
            if (have[i])
                samples[i * cfg->reps + k] = sample(i, &s[i], cfg->seconds);
    for (int i = 0; i < BENCH_ECHO_ROWS; i++) {
        if (!have[i])
            continue;
        stop(i, &s[i]);
        double *v = samples + i * cfg->reps;
        qsort(v, (size_t)cfg->reps, sizeof *v, compare_doubles);
        int n = cfg->reps;
        values[i] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    free(samples);
}

int bench_echo_client_main(int argc, char **argv)
{
    char *end = NULL;
    long port = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
    double seconds = BENCH_ECHO_SECONDS;
    if (argc == 4) {
        char *e2 = NULL;
        seconds = strtod(argv[3], &e2);
        if (e2 == argv[3] || *e2 != '\0' || !(seconds >= 0.1 && seconds <= 600))
            end = NULL;
    }
    if (argc < 3 || argc > 4 || end == NULL || end == argv[2] || *end != '\0' || port <= 0 ||
        port > 65535) {
        fprintf(stderr,
                "usage: coro-bench echo-client PORT [SECONDS]\n"
                "  %d connections to 127.0.0.1:PORT, one %d-byte message each in "
                "flight, for SECONDS (default %g, 0.1 to 600); prints echo_rps\n",
                BENCH_ECHO_CONNS, BENCH_ECHO_MSG, BENCH_ECHO_SECONDS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bench_echo_result r;
    char err[256];
    if (bench_echo_client((int)port, BENCH_ECHO_CONNS, BENCH_ECHO_MSG, seconds, &r, err,
                          sizeof err) != 0) {
        fprintf(stderr, "coro-bench: echo-client: %s\n", err);
        return 1;
    }
    printf("echo_rps\t%.0f\treq/s\n", r.rps);
    fprintf(stderr, "coro-bench: %llu round trips in %.3f s\n", (unsigned long long)r.round_trips,
            r.seconds);
    return 0;
}
