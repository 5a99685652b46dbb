/* harness.h - rows, timing by calibrated repetitions, medians, and failure checks.
 * SPDX-License-Identifier: MIT
 *
 * A row is one measured operation. Its setup makes whatever the operation
 * needs (coroutines, stacks), run performs the operation `iters` times in a
 * loop, and teardown destroys everything, checking each return code. The
 * harness times whole calls of run and divides by iters.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include "coro.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The warm-up pass before each sample runs the row's calibrated iteration
 * count divided by this (at least one iteration). */
#define BENCH_WARMUP_DIVISOR 4

typedef struct bench_row {
    const char *metric;                        /* printed as is, e.g. "send_ns" */
    long param;                                /* given to setup (a chain depth) */
    void *(*setup)(long param);                /* returns the row's state */
    void (*run)(void *state, uint64_t iters);  /* the operation, iters times */
    void (*teardown)(void *state);             /* destroys the state */
} bench_row;

typedef struct bench_config {
    int reps;        /* repetitions per row; the median is reported */
    double min_time; /* seconds each repetition must last at least */
    bool warmup;     /* an untimed pass of the row right before each sample
                        (--no-warmup turns it off, to measure what it does) */
} bench_config;

/* Measures n rows and stores each one's median nanoseconds per operation in
 * medians[i]. Every row is set up first and calibrated (iterations doubled
 * until one run lasts cfg->min_time); then the repetitions go round robin,
 * one of each row per round, so that a burst of load from other processes
 * falls on every row alike instead of on the one that happened to be running;
 * then every row is torn down. With cfg->warmup, each sample is preceded by
 * an untimed run of the same row (BENCH_WARMUP_DIVISOR: a quarter of the
 * sample's iterations), so that it starts with that row's code and data in
 * the caches and predictors, not the previous row's. */
void bench_measure(const bench_row *const *rows, size_t n, const bench_config *cfg,
                   double *medians);

/* Prints "coro-bench: <message>" and the library's last error on stderr and
 * exits with status 1. For a library that misbehaves; callable from a body. */
_Noreturn void bench_fail(const char *fmt, ...) CORO_PRINTF(1, 2);

/* The out-of-line half of bench_expect. */
_Noreturn void bench_fail_status(const char *what, int got, int want);

/* Fails unless a call returned the status it must. Inline so that the check
 * on the hot path costs a compare, not a call. */
static inline void bench_expect(const char *what, int got, int want)
{
    if (got != want)
        bench_fail_status(what, got, want);
}

/* For a body whose coro_yield or coro_yield_from reported `rc` instead of
 * CORO_OK: a GeneratorExit (close or destroy) is propagated, as an uncaught
 * exception is in Python; anything else is a library failure. Never returns. */
_Noreturn void bench_propagate_close(coro *self, int rc, const char *what);

#endif /* BENCH_HARNESS_H */
