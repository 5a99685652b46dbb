/* rows_burst.c - spawn_burst_ns, spawn_burst_compact_ns: coroutines born and dying in bursts.
 * SPDX-License-Identifier: MIT
 *
 * A burst creates BURST coroutines with the default options of its stack
 * mode (guarded: CORO_DEFAULT_STACK_SIZE; compact: CORO_COMPACT_STACK_SIZE),
 * runs each to its first yield, then destroys them all (each destroy closes
 * its coroutine: GeneratorExit thrown in and propagated). Setup runs one
 * untimed burst, so every timed burst is a second or later one and finds its
 * stacks in the stack cache. The figure is nanoseconds per coroutine: create,
 * first resume, close and destroy.
 */
#include "rows.h"

#include <stdlib.h>

#define BURST 20000

typedef struct burst {
    int mode;
    coro **cs; /* BURST slots */
} burst;

static void run_burst(burst *b, long n)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = b->mode;
    for (long i = 0; i < n; i++) {
        bench_expect("coro_create", coro_create(&b->cs[i], bench_body_yield_forever, NULL, &opt),
                     CORO_OK);
        bench_expect("coro_next (to the first yield)", coro_next(b->cs[i], NULL), CORO_YIELDED);
    }
    for (long i = 0; i < n; i++)
        bench_expect("coro_destroy", coro_destroy(b->cs[i]), CORO_OK);
}

static void *setup_burst(long mode)
{
    burst *b = malloc(sizeof *b);
    if (b == NULL || (b->cs = malloc(BURST * sizeof *b->cs)) == NULL)
        bench_fail("out of memory for a burst of %d coroutines", BURST);
    b->mode = (int)mode;
    run_burst(b, BURST); /* the first burst fills the stack cache */
    return b;
}

/* iters coroutines: whole bursts, then what remains as a smaller one. */
static void run(void *state, uint64_t iters)
{
    burst *b = state;
    for (; iters >= BURST; iters -= BURST)
        run_burst(b, BURST);
    if (iters > 0)
        run_burst(b, (long)iters);
}

static void teardown_burst(void *state)
{
    burst *b = state;
    free(b->cs);
    free(b);
}

const bench_row bench_row_spawn_burst = {"spawn_burst_ns", CORO_STACK_GUARDED, setup_burst, run,
                                         teardown_burst};
const bench_row bench_row_spawn_burst_compact = {"spawn_burst_compact_ns", CORO_STACK_COMPACT,
                                                 setup_burst, run, teardown_burst};
