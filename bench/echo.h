/* echo.h - the echo benchmark's client, its epoll reference server and its rows.
 * SPDX-License-Identifier: MIT
 *
 * One client (echo_client.c) drives every echo server the same way: one
 * thread, epoll, BENCH_ECHO_CONNS connections to 127.0.0.1, each with one
 * BENCH_ECHO_MSG-byte message in flight at a time; a round trip is a whole
 * message written and the same bytes read back. The servers: a minimal
 * single-threaded epoll server in C (echo_epoll_server.c, the ceiling),
 * libcoro-aio's streams (one loop, or two loops sharing the port), and
 * uvloop and asyncio run by bench/echo_peer.py (rows_echo.c).
 */
#ifndef BENCH_ECHO_H
#define BENCH_ECHO_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_ECHO_CONNS 32    /* connections the client keeps busy */
#define BENCH_ECHO_MSG 1024    /* bytes per message */
#define BENCH_ECHO_SECONDS 3.0 /* default length of one sample */
#define BENCH_ECHO_REPS 3      /* default samples per row (each lasts seconds) */

/* One client run's outcome. */
typedef struct bench_echo_result {
    uint64_t round_trips; /* completed inside the timed window */
    double seconds;       /* the timed window's length as measured */
    double rps;           /* round_trips / seconds */
} bench_echo_result;

/* Runs the client against 127.0.0.1:port on the calling thread: connects
 * `conns` connections (TCP_NODELAY), keeps one `msg`-byte message in flight
 * on each, checks that every reply is the bytes sent, and counts the round
 * trips completed during `seconds` (after an uncounted warm-up of a tenth of
 * that, at most 0.2 s). Then it lets every message in flight come back and
 * closes the connections, so the server sees a clean EOF on each. Returns
 * 0 and fills *out, or -1 with the reason in err (a connect that fails, a
 * reply that differs, a server that closes or stalls for 5 s). */
int bench_echo_client(int port, int conns, size_t msg, double seconds, bench_echo_result *out,
                      char *err, size_t errsize);

/* The epoll reference server, on a thread of its own. */
typedef struct bench_echo_epoll bench_echo_epoll;
/* Listens on 127.0.0.1, port picked by the kernel, and starts the thread.
 * Returns the server and its port in *port, or NULL with err filled. */
bench_echo_epoll *bench_echo_epoll_start(int *port, char *err, size_t errsize);
/* Stops the thread, closes every socket, frees the server. */
void bench_echo_epoll_stop(bench_echo_epoll *srv);

/* libcoro-aio's echo server (echo_aio_server.c): `loops` loops (1 or 2),
 * each on a thread of its own, serving 127.0.0.1 (two loops share the port
 * with reuse_port). Returns it and the port in *port, or NULL with err. */
typedef struct bench_echo_aio bench_echo_aio;
bench_echo_aio *bench_echo_aio_start(int loops, int *port, char *err, size_t errsize);
/* Stops every loop (handlers still running are waited for), frees it. */
void bench_echo_aio_stop(bench_echo_aio *srv);

/* The echo rows (rows_echo.c), in the order they print. */
#define BENCH_ECHO_ROWS 5
/* aio_echo_rps, aio_echo_rps_2loops, epoll_echo_rps, uvloop_echo_rps,
 * asyncio_echo_rps; unit "req/s". */
extern const char *const bench_echo_metrics[BENCH_ECHO_ROWS];

typedef struct bench_echo_config {
    int reps;       /* samples per row, the median reported */
    double seconds; /* timed length of one sample */
} bench_echo_config;

/* Measures the rows whose wanted[i] is true, round robin (one sample of each
 * per round, every server started once before the first round), into
 * values[i], with have[i] set for each row measured; a peer that is missing
 * is skipped with a note on stderr (have[i] false). Fails the run when a
 * server or the client misbehaves. */
void bench_echo(const bench_echo_config *cfg, const bool *wanted, double *values, bool *have);

/* `coro-bench echo-client PORT [SECONDS]`: the client against any server on
 * 127.0.0.1:PORT; prints echo_rps. */
int bench_echo_client_main(int argc, char **argv);

#endif /* BENCH_ECHO_H */
