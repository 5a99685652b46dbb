/* rows_drive.c - next_ns, send_ns, throw_catch_ns, create_destroy_ns: driving one coroutine.
 * SPDX-License-Identifier: MIT
 *
 * Each round trip is one driver call that switches into the body and the
 * body's switch back at its next yield. Every return code and every value
 * that comes back is checked, in the driver and in the bodies.
 */
#include "rows.h"

#include <pthread.h>
#include <stddef.h>

/* ------------------------------------------------------------------------ */
/* Bodies                                                                   */
/* ------------------------------------------------------------------------ */

void *bench_body_yield_forever(coro *self, void *arg)
{
    (void)arg;
    int rc;
    while ((rc = coro_yield(self, NULL, NULL)) == CORO_OK)
        continue;
    bench_propagate_close(self, rc, "coro_yield");
}

void *bench_body_echo(coro *self, void *arg)
{
    (void)arg;
    void *received = NULL;
    int rc = coro_yield(self, NULL, &received);
    while (rc == CORO_OK)
        rc = coro_yield(self, received, &received);
    bench_propagate_close(self, rc, "coro_yield");
}

/* Catches every ValueError thrown in (CORO_THROWN) and yields again; a close
 * propagates GeneratorExit. */
static void *body_catch_forever(coro *self, void *arg)
{
    (void)arg;
    for (;;) {
        int rc = coro_yield(self, NULL, NULL);
        if (rc == CORO_OK)
            continue;
        const coro_exc *e = coro_exception(self);
        if (rc == CORO_THROWN && e != NULL && e->type == &coro_ValueError)
            continue; /* handled: the except clause does nothing */
        bench_propagate_close(self, rc, "coro_yield");
    }
}

/* ------------------------------------------------------------------------ */
/* One started coroutine per row                                            */
/* ------------------------------------------------------------------------ */

/* Creates a coroutine on `body` with the default options and runs it to its
 * first yield, which must yield NULL. */
static coro *start(coro_fn body)
{
    coro *c = NULL;
    void *out = &out;
    bench_expect("coro_create", coro_create(&c, body, NULL, NULL), CORO_OK);
    bench_expect("coro_next (to the first yield)", coro_next(c, &out), CORO_YIELDED);
    if (out != NULL)
        bench_fail("the first yield gave %p, expected NULL", out);
    return c;
}

static void *setup_yield_forever(long param)
{
    (void)param;
    return start(bench_body_yield_forever);
}

static void *setup_echo(long param)
{
    (void)param;
    return start(bench_body_echo);
}

static void *setup_catch_forever(long param)
{
    (void)param;
    return start(body_catch_forever);
}

/* Destroying a suspended coroutine closes it: GeneratorExit runs through
 * bench_propagate_close in the body. */
static void teardown_destroy(void *state)
{
    coro *c = state;
    bench_expect("coro_destroy", coro_destroy(c), CORO_OK);
}

/* ------------------------------------------------------------------------ */
/* The operations                                                           */
/* ------------------------------------------------------------------------ */

static void run_next(void *state, uint64_t iters)
{
    coro *c = state;
    for (uint64_t i = 0; i < iters; i++) {
        void *out = &out;
        bench_expect("coro_next", coro_next(c, &out), CORO_YIELDED);
        if (out != NULL)
            bench_fail("coro_next gave %p, expected NULL", out);
    }
}

static void run_send(void *state, uint64_t iters)
{
    coro *c = state;
    for (uint64_t i = 0; i < iters; i++) {
        void *value = (void *)(uintptr_t)(i + 1); /* never NULL, new every time */
        void *out = NULL;
        bench_expect("coro_send", coro_send(c, value, &out), CORO_YIELDED);
        if (out != value)
            bench_fail("coro_send of %p gave back %p", value, out);
    }
}

static void run_throw_catch(void *state, uint64_t iters)
{
    coro *c = state;
    for (uint64_t i = 0; i < iters; i++) {
        void *out = &out;
        bench_expect("coro_throw", coro_throw(c, &coro_ValueError, "x", &out), CORO_YIELDED);
        if (out != NULL)
            bench_fail("coro_throw gave %p, expected NULL", out);
    }
}

static void *setup_nothing(long param)
{
    (void)param;
    return NULL;
}

static void teardown_nothing(void *state) { (void)state; }

/* The whole life of a coroutine with the default options (a guarded stack of
 * CORO_DEFAULT_STACK_SIZE, 256 KiB): create, run to the first yield, close
 * (GeneratorExit thrown in and propagated) and free. create_destroy_ns turns
 * the stack cache off for guarded stacks and runs on a fresh thread, so
 * every stack is mapped and unmapped; create_destroy_pooled_ns leaves it on,
 * so every stack after the first is reused. */
static void life_cycles(uint64_t iters)
{
    for (uint64_t i = 0; i < iters; i++) {
        coro *c = NULL;
        void *out = &out;
        bench_expect("coro_create", coro_create(&c, bench_body_yield_forever, NULL, NULL), CORO_OK);
        bench_expect("coro_next (to the first yield)", coro_next(c, &out), CORO_YIELDED);
        bench_expect("coro_destroy", coro_destroy(c), CORO_OK);
    }
}

static void *life_cycles_thread(void *iters)
{
    life_cycles(*(uint64_t *)iters);
    return NULL;
}

/* On a thread of its own, whose stack cache starts empty: trimming this
 * thread's cache instead would throw away the stacks the burst rows keep
 * warm between their repetitions. */
static void run_create_destroy(void *state, uint64_t iters)
{
    (void)state;
    size_t limit = coro_get_stack_cache_limit(CORO_STACK_GUARDED);
    bench_expect("coro_set_stack_cache_limit", coro_set_stack_cache_limit(CORO_STACK_GUARDED, 0),
                 CORO_OK);
    pthread_t t;
    if (pthread_create(&t, NULL, life_cycles_thread, &iters) != 0 || pthread_join(t, NULL) != 0)
        bench_fail("could not run create_destroy_ns on a thread of its own");
    bench_expect("coro_set_stack_cache_limit",
                 coro_set_stack_cache_limit(CORO_STACK_GUARDED, limit), CORO_OK);
}

static void run_create_destroy_pooled(void *state, uint64_t iters)
{
    (void)state;
    life_cycles(iters);
}

const bench_row bench_row_next = {"next_ns", 0, setup_yield_forever, run_next, teardown_destroy};
const bench_row bench_row_send = {"send_ns", 0, setup_echo, run_send, teardown_destroy};
const bench_row bench_row_throw_catch = {"throw_catch_ns", 0, setup_catch_forever, run_throw_catch,
                                         teardown_destroy};
const bench_row bench_row_create_destroy = {"create_destroy_ns", 0, setup_nothing,
                                            run_create_destroy, teardown_nothing};
const bench_row bench_row_create_destroy_pooled = {"create_destroy_pooled_ns", 0, setup_nothing,
                                                   run_create_destroy_pooled, teardown_nothing};
