/* stall.c - `coro-bench stall`: the longest single create/next/destroy after an idle burst.
 * SPDX-License-Identifier: MIT
 *
 * Keeps BURST guarded coroutines alive at once, twice, so that the thread's
 * stack cache holds BURST guarded stacks; then runs pooled compact lives (a
 * create, a first next and a destroy each) for SECONDS seconds, timing each
 * one. Past the cache's idle period (coro_set_stack_cache_idle_ms, 1000 ms
 * by default) the guarded stacks, which nothing takes any more, go back to
 * the kernel from inside those lives. The report is the longest life, when
 * it happened, and how many lasted over 50 us and over 1 ms: the latency a
 * program pays for its cache handing back an idle burst.
 */
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BURST = 20000 };
#define SECONDS 3.5

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void life(const coro_options *opt)
{
    coro *c = NULL;
    bench_expect("coro_create", coro_create(&c, bench_body_yield_forever, NULL, opt), CORO_OK);
    bench_expect("coro_next", coro_next(c, NULL), CORO_YIELDED);
    bench_expect("coro_destroy", coro_destroy(c), CORO_OK);
}

int bench_stall_main(int argc, char **argv)
{
    (void)argv;
    if (argc != 2) {
        fprintf(stderr, "usage: coro-bench stall\n");
        return 2;
    }
    coro **cs = malloc(BURST * sizeof *cs);
    if (cs == NULL)
        bench_fail("out of memory for a burst of %d coroutines", BURST);
    coro_options guarded = CORO_OPTIONS_INIT;
    guarded.stack_mode = CORO_STACK_GUARDED;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < BURST; i++) {
            bench_expect("coro_create",
                         coro_create(&cs[i], bench_body_yield_forever, NULL, &guarded), CORO_OK);
            bench_expect("coro_next", coro_next(cs[i], NULL), CORO_YIELDED);
        }
        for (int i = 0; i < BURST; i++)
            bench_expect("coro_destroy", coro_destroy(cs[i]), CORO_OK);
    }
    free(cs);

    coro_options compact = CORO_OPTIONS_INIT;
    compact.stack_mode = CORO_STACK_COMPACT;
    double start = now_ns(), worst = 0, worst_at = 0;
    long lives = 0, over_50us = 0, over_1ms = 0;
    while (now_ns() - start < SECONDS * 1e9) {
        double t0 = now_ns();
        life(&compact);
        double took = now_ns() - t0;
        if (took > worst) {
            worst = took;
            worst_at = t0 - start;
        }
        over_50us += took > 50e3;
        over_1ms += took > 1e6;
        lives++;
    }
    printf("stall_worst_ms\t%.3f\tms\n", worst / 1e6);
    printf("stall_worst_at_s\t%.2f\ts\n", worst_at / 1e9);
    printf("stall_over_50us\t%ld\tlives\n", over_50us);
    printf("stall_over_1ms\t%ld\tlives\n", over_1ms);
    printf("stall_lives\t%ld\tlives\n", lives);
    return 0;
}
