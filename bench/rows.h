/* rows.h - the rows coro-bench measures, in the order it prints them.
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include "harness.h"

/* rows_ucontext.c: raw glibc swapcontext, the floor of the ucontext backend. */
extern const bench_row bench_row_swapcontext_pair;
extern const bench_row bench_row_makecontext;

/* rows_drive.c: driving one coroutine. */
extern const bench_row bench_row_next;
extern const bench_row bench_row_send;
extern const bench_row bench_row_throw_catch;
extern const bench_row bench_row_create_destroy;
extern const bench_row bench_row_create_destroy_pooled;

/* rows_chain.c: a send through a yield from chain. */
extern const bench_row bench_row_yield_from_1;
extern const bench_row bench_row_yield_from_10;
extern const bench_row bench_row_yield_from_100;

/* The body that yields back whatever it is sent, forever (first yield: NULL).
 * Used by send_ns and as the innermost level of every chain, so that the two
 * rows do the same work at the bottom. */
void *bench_body_echo(coro *self, void *arg);

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

#endif /* BENCH_ROWS_H */
