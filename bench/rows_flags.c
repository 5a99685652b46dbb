/* rows_flags.c - the flags demo's downloads timed: 21 flags one after another, then one task each.
 * SPDX-License-Identifier: MIT
 *
 *   flags_sequential_ms   examples/flags' sequential client (blocking sockets)
 *                         against its server with a 50 ms delay per request:
 *                         milliseconds for all 21 (about 21 x 50)
 *   flags_concurrent_ms   the same with one task per code on an event loop:
 *                         the delays overlap (about 50)
 *
 * Each repetition is flags_compare (the server on its own thread, started
 * and stopped each time); the median of min(cfg->reps, 5) repetitions is
 * reported, since one repetition is more than a second of server delays.
 */
#include "rows.h"

#include "client.h"
#include "flags.h"

#include <stdlib.h>

#define FLAGS_DELAY 0.05
#define FLAGS_MAX_REPS 5

const char *const bench_flags_metrics[BENCH_FLAGS_ROWS] = {"flags_sequential_ms",
                                                           "flags_concurrent_ms"};

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_flags(const bench_config *cfg, double *values)
{
    int reps = cfg->reps < FLAGS_MAX_REPS ? cfg->reps : FLAGS_MAX_REPS;
    double seq[FLAGS_MAX_REPS], conc[FLAGS_MAX_REPS];
    for (int i = 0; i < reps; i++) {
        if (flags_compare(FLAGS_DELAY, &seq[i], &conc[i]) != 0)
            bench_fail("flags demo: %s", flags_error());
        seq[i] *= 1e3;
        conc[i] *= 1e3;
    }
    values[0] = median(seq, reps);
    values[1] = median(conc, reps);
}
