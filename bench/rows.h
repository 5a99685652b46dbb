/* rows.h - the rows coro-bench measures, in the order it prints them.
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include "harness.h"

/* rows_ucontext.c: raw glibc swapcontext, the floor of the ucontext backend. */
extern const bench_row bench_row_swapcontext_pair;
extern const bench_row bench_row_makecontext;

/* rows_switch.c: the backend's bare switch, and (x86-64) the asm switch
 * without the floating-point control state, for comparison. */
extern const bench_row bench_row_ctx_switch_pair;
#ifdef CORO_BENCH_HAVE_NO_FP_SWITCH
extern const bench_row bench_row_switch_pair_no_fp;
#endif

/* rows_shared_fp.c: send_ns through a second copy of the library whose asm
 * switch leaves out the floating-point control state (CORO_SHARED_FP). */
#ifdef CORO_BENCH_HAVE_SHARED_FP
extern const bench_row bench_row_send_shared_fp;
#endif

/* rows_drive.c: driving one coroutine. */
extern const bench_row bench_row_next;
extern const bench_row bench_row_send;
extern const bench_row bench_row_throw_catch;
extern const bench_row bench_row_create_destroy;
extern const bench_row bench_row_create_destroy_pooled;

/* rows_try.c: a protected call that raises, caught. */
extern const bench_row bench_row_try_raise;

/* rows_burst.c: bursts of 20 000 coroutines created, started and destroyed. */
extern const bench_row bench_row_spawn_burst;
extern const bench_row bench_row_spawn_burst_compact;

/* rows_chain.c: a send through a yield from chain. */
extern const bench_row bench_row_yield_from_1;
extern const bench_row bench_row_yield_from_10;
extern const bench_row bench_row_yield_from_100;

/* The body that yields back whatever it is sent, forever (first yield: NULL).
 * Used by send_ns and as the innermost level of every chain, so that the two
 * rows do the same work at the bottom. */
void *bench_body_echo(coro *self, void *arg);
/* Yields NULL forever; a close propagates GeneratorExit (rows_drive.c). */
void *bench_body_yield_forever(coro *self, void *arg);

/* rows_peers.c: other libraries' context switches, measured in the same run.
 * A peer whose library was not found at build time has row == NULL and
 * `missing` says why; coro-bench skips it with that note. */
typedef struct bench_peer {
    const char *metric;   /* its row's metric, also when the row is missing */
    const bench_row *row; /* NULL when not compiled in */
    const char *missing;  /* the note for a NULL row */
} bench_peer;
#define BENCH_PEER_COUNT 2
extern const bench_peer bench_peers[BENCH_PEER_COUNT]; /* boost_fcontext_pair_ns, pcl_pair_ns */

/* cpython.c: CPython's generator send, measured by running python3. */
#define BENCH_CPYTHON_ROWS 6
/* cpython_send_ns, cpython_yield_from_1_ns, _10_ns, _100_ns,
 * cpython_create_close_ns, cpython_try_raise_ns. */
extern const char *const bench_cpython_metrics[BENCH_CPYTHON_ROWS];
/* Runs python3 (from PATH) to measure those rows with cfg's repetitions and
 * minimum time, and stores their medians in values[] in that order. Returns
 * false, after a note on stderr for each row saying why, when python3 is
 * missing or fails; then values[] means nothing. */
bool bench_cpython(const bench_config *cfg, double *values);

/* The path of the first executable `name` in PATH into buf; false if none. */
bool bench_find_in_path(const char *name, char *buf, size_t size);

/* rows_aio.c (when libcoro-aio is built): the loop's rows, measured with
 * their own timing, and asyncio's and uvloop's (bench/aio_peers.py). */
#ifdef CORO_BENCH_HAVE_AIO
#define BENCH_AIO_ROWS 6
/* aio_sleep0_ns, aio_handoff_ns, aio_spawn_ns, aio_timer_arm_ns, aio_timer_fire_per_s,
 * aio_mem_per_task_bytes; units "ns", "timers/s", "bytes". */
extern const char *const bench_aio_metrics[BENCH_AIO_ROWS];
extern const char *const bench_aio_units[BENCH_AIO_ROWS];
/* Measures them into values[], in that order, only those whose wanted[i]
 * is set (every row for a NULL wanted); fails the run on error. */
void bench_aio(const bench_config *cfg, const bool *wanted, double *values);
/* The rows aio_peers.py prints for one loop. */
#define BENCH_AIO_PEER_ROWS 6
/* Runs aio_peers.py for kind "asyncio" or "uvloop": stores the metric names
 * ("asyncio_sleep0_ns", ...), units and values of its rows; false after a
 * note on stderr when the peer is missing or fails. */
bool bench_aio_peer(const bench_config *cfg, const char *kind, char names[][40],
                    const char **units, double *values);
/* The python3 that runs loop `kind` ("asyncio": the first python3 in PATH;
 * "uvloop": the first of that and /usr/bin/python3 that can import uvloop)
 * into python; false with *why saying what is missing. */
bool bench_aio_python(const char *kind, char *python, size_t size, const char **why);
#endif

/* rows_flags.c (when libcoro-aio is built): the flags demo (examples/flags/)
 * at a 50 ms server delay, sequential and concurrent, in milliseconds. */
#ifdef CORO_BENCH_HAVE_FLAGS
#define BENCH_FLAGS_ROWS 2
extern const char *const bench_flags_metrics[BENCH_FLAGS_ROWS]; /* flags_sequential_ms, ... */
/* Measures them into values[], in that order; fails the run on error. */
void bench_flags(const bench_config *cfg, double *values);
#endif

/* scale.c: many coroutines alive at once and what they cost in memory. */

/* Resident memory of this process in bytes (from /proc/self/statm). */
long bench_rss_bytes(void);
/* Creates n coroutines in `mode` (a CORO_STACK_* value), runs each to its
 * first yield, stores how many got there in *live and the growth of resident
 * memory in *rss, then destroys them all. Returns 0, or the library's error
 * with coro_last_error() telling why (everything made so far is destroyed). */
int bench_scale(long n, int mode, long *live, long *rss);
/* `coro-bench scale N [--compact] [--tsv]`: the above, printed. */
int bench_scale_main(int argc, char **argv);

/* cycles.c: `coro-bench cycles N [--compact]`, N pooled lives for strace. */
int bench_cycles_main(int argc, char **argv);
/* stall.c: `coro-bench stall`, the longest pooled life while the stack cache
 * hands back an idle burst of guarded stacks. */
int bench_stall_main(int argc, char **argv);

#endif /* BENCH_ROWS_H */
