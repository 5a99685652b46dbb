/* harness.c - calibrated repetitions timed with CLOCK_MONOTONIC, medians, failures.
 * SPDX-License-Identifier: MIT
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_ITERS (UINT64_C(1) << 40) /* far beyond any sane run: a broken clock */

static double now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        bench_fail("clock_gettime(CLOCK_MONOTONIC) failed");
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Nanoseconds taken by one call of row->run with iters operations. */
static double time_run(const bench_row *row, void *state, uint64_t iters)
{
    double start = now_ns();
    row->run(state, iters);
    return now_ns() - start;
}

/* Doubles *iters until one run lasts at least min_ns; returns that run's time. */
static double run_at_least(const bench_row *row, void *state, uint64_t *iters, double min_ns)
{
    for (;;) {
        double t = time_run(row, state, *iters);
        if (t >= min_ns)
            return t;
        if (*iters >= MAX_ITERS)
            bench_fail("%s: %llu iterations still took under %.0f ns", row->metric,
                       (unsigned long long)*iters, min_ns);
        *iters *= 2;
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n values (n >= 1); reorders the array. */
static double median(double *values, int n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    if (n % 2 == 1)
        return values[n / 2];
    return (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

void bench_measure(const bench_row *const *rows, size_t n, const bench_config *cfg,
                   double *medians)
{
    double min_ns = cfg->min_time * 1e9;
    size_t reps = (size_t)cfg->reps;
    void **states = calloc(n, sizeof *states);
    uint64_t *iters = calloc(n, sizeof *iters);
    double *per_op = calloc(n * reps, sizeof *per_op); /* row i's samples at i * reps */
    if (states == NULL || iters == NULL || per_op == NULL)
        bench_fail("out of memory for %zu rows of %zu samples", n, reps);

    for (size_t i = 0; i < n; i++)
        states[i] = rows[i]->setup(rows[i]->param);
    /* Calibration, which also warms caches, branch predictors and stack
     * pages up; its runs are not reported. */
    for (size_t i = 0; i < n; i++) {
        iters[i] = 1;
        run_at_least(rows[i], states[i], &iters[i], min_ns);
    }
    /* Each repetition keeps the calibrated count, doubling again only if
     * noise made it finish early, so every sample lasted at least min_time. */
    for (size_t r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++) {
            /* The warm-up: untimed, same row, right before its sample. The
             * previous sample was another row's, which left its own code,
             * data and branch history behind. */
            if (cfg->warmup) {
                uint64_t warm = iters[i] / BENCH_WARMUP_DIVISOR;
                rows[i]->run(states[i], warm > 0 ? warm : 1);
            }
            per_op[i * reps + r] =
                run_at_least(rows[i], states[i], &iters[i], min_ns) / (double)iters[i];
        }
    for (size_t i = n; i-- > 0;)
        rows[i]->teardown(states[i]);

    for (size_t i = 0; i < n; i++)
        medians[i] = median(&per_op[i * reps], cfg->reps);
    free(per_op);
    free(iters);
    free(states);
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("coro-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    const char *detail = coro_last_error();
    if (detail[0] != '\0')
        fprintf(stderr, " (library says: %s)", detail);
    fputc('\n', stderr);
    exit(1);
}

void bench_fail_status(const char *what, int got, int want)
{
    bench_fail("%s returned %s (%d: %s), expected %s", what, coro_err_name(got), got,
               coro_strerror(got), coro_err_name(want));
}

void bench_propagate_close(coro *self, int rc, const char *what)
{
    const coro_exc *e = coro_exception(self);
    if (rc == CORO_THROWN && e != NULL && coro_exc_matches(e->type, &coro_GeneratorExit))
        coro_reraise(self);
    bench_fail("in a body, %s returned %s (%d), exception %s, expected a GeneratorExit "
               "from close",
               what, coro_err_name(rc), rc, e != NULL ? e->type->name : "none");
}
