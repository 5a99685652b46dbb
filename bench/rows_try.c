/* rows_try.c - try_raise_ns: a coro_try whose protected call raises, caught.
 * SPDX-License-Identifier: MIT
 *
 * The counterpart of cpython_try_raise_ns (`try: raise ValueError('x')
 * except ValueError: pass` inside a function call). One coroutine runs the
 * loop: each send hands it a count, and it makes that many protected calls
 * of a function that raises ValueError("x"), checks that each one was caught
 * as that exception, and yields. The one switch pair per send is spread over
 * the whole count.
 */
#include "rows.h"

#include <stdint.h>

static void *raise_value_error(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_ValueError, "x");
}

static void *body_try_loop(coro *self, void *arg)
{
    (void)arg;
    void *received = NULL;
    int rc = coro_yield(self, NULL, &received);
    while (rc == CORO_OK) {
        uint64_t n = (uint64_t)(uintptr_t)received;
        for (uint64_t i = 0; i < n; i++) {
            int caught = coro_try(self, raise_value_error, NULL, NULL);
            if (caught != CORO_THROWN || coro_exception(self)->type != &coro_ValueError)
                bench_fail("coro_try reported %d, not a caught ValueError", caught);
        }
        rc = coro_yield(self, NULL, &received);
    }
    bench_propagate_close(self, rc, "coro_yield");
}

static void *setup_try_loop(long param)
{
    (void)param;
    coro *c = NULL;
    bench_expect("coro_create", coro_create(&c, body_try_loop, NULL, NULL), CORO_OK);
    bench_expect("coro_next (to the first yield)", coro_next(c, NULL), CORO_YIELDED);
    return c;
}

static void run_try_loop(void *state, uint64_t iters)
{
    bench_expect("coro_send", coro_send(state, (void *)(uintptr_t)iters, NULL), CORO_YIELDED);
}

static void teardown_try_loop(void *state)
{
    bench_expect("coro_destroy", coro_destroy(state), CORO_OK);
}

const bench_row bench_row_try_raise = {"try_raise_ns", 0, setup_try_loop, run_try_loop,
                                       teardown_try_loop};
