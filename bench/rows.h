/* rows.h - the rows coro-bench measures, in the order it prints them.
 * SPDX-License-Identifier: MIT
 */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include "harness.h"

/* rows_ucontext.c: raw glibc swapcontext, the floor of the ucontext backend. */
extern const bench_row bench_row_swapcontext_pair;

/* rows_drive.c: driving one coroutine. */
extern const bench_row bench_row_next;
extern const bench_row bench_row_send;
extern const bench_row bench_row_throw_catch;
extern const bench_row bench_row_create_destroy;

/* rows_chain.c: a send through a yield from chain. */
extern const bench_row bench_row_yield_from_1;
extern const bench_row bench_row_yield_from_10;
extern const bench_row bench_row_yield_from_100;

/* The body that yields back whatever it is sent, forever (first yield: NULL).
 * Used by send_ns and as the innermost level of every chain, so that the two
 * rows do the same work at the bottom. */
void *bench_body_echo(coro *self, void *arg);

#endif /* BENCH_ROWS_H */
