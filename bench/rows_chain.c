/* rows_chain.c - yield_from_{1,10,100}_ns: a send round trip through a yield from chain.
 * SPDX-License-Identifier: MIT
 *
 * Depth, precisely: a chain of depth D is D + 1 coroutines. The root (made
 * with coro_create) is level D; the body at level k > 0 delegates with
 * coro_yield_from_fn to a new coroutine at level k - 1; level 0, the
 * innermost, is bench_body_echo (it yields back what it receives, forever).
 * So depth 1 = root + 1 sub, and depth D has D delegation levels (D yield
 * froms in progress). The driver sends to the root only; the value travels to
 * level 0 and its echo back, exactly as in send_ns, which is the same
 * operation at depth 0.
 *
 * Every level gets a 64 KiB stack: the root through coro_options, the subs
 * (which coro_yield_from_fn creates with default options) through
 * coro_set_default_stack_size, in force only while setup builds the chain.
 */
#include "rows.h"

#include <stdint.h>
#include <stdlib.h>

#define CHAIN_STACK_SIZE (64u * 1024u)

typedef struct chain {
    coro *root;
} chain;

/* Level k (arg) of a chain: see the comment at the top of the file. */
static void *body_level(coro *self, void *arg)
{
    intptr_t level = (intptr_t)arg;
    if (level == 0)
        return bench_body_echo(self, NULL);
    void *result = NULL;
    int rc = coro_yield_from_fn(self, body_level, (void *)(level - 1), &result);
    /* The echo never returns, so the delegation ends only with a close. */
    bench_propagate_close(self, rc, "coro_yield_from_fn");
}

static void *setup(long depth)
{
    chain *ch = malloc(sizeof *ch);
    if (ch == NULL)
        bench_fail("out of memory for a chain");
    ch->root = NULL;
    size_t saved_default = coro_get_default_stack_size();
    bench_expect("coro_set_default_stack_size",
                 coro_set_default_stack_size(CHAIN_STACK_SIZE), CORO_OK);

    coro_options opt;
    coro_options_init(&opt);
    opt.stack_size = CHAIN_STACK_SIZE;
    opt.name = "chain root";
    bench_expect("coro_create (chain root)",
                 coro_create(&ch->root, body_level, (void *)(intptr_t)depth, &opt), CORO_OK);
    void *out = &out;
    bench_expect("coro_next (build the chain)", coro_next(ch->root, &out), CORO_YIELDED);
    if (out != NULL)
        bench_fail("the chain's first yield gave %p, expected NULL", out);
    bench_expect("coro_set_default_stack_size (restore)",
                 coro_set_default_stack_size(saved_default), CORO_OK);

    /* The chain is as deep as claimed: depth coroutines hang below the root,
     * each with a stack as large as the root's. */
    long below = 0;
    size_t root_stack = coro_stack_size(ch->root);
    for (coro *c = coro_yield_from_target(ch->root); c != NULL; c = coro_yield_from_target(c)) {
        if (coro_stack_size(c) != root_stack)
            bench_fail("a chain level has a %zu-byte stack, the root %zu", coro_stack_size(c),
                       root_stack);
        below++;
    }
    if (below != depth)
        bench_fail("the chain has %ld levels below its root, expected %ld", below, depth);
    return ch;
}

static void run(void *state, uint64_t iters)
{
    chain *ch = state;
    for (uint64_t i = 0; i < iters; i++) {
        void *value = (void *)(uintptr_t)(i + 1);
        void *out = NULL;
        bench_expect("coro_send (chain root)", coro_send(ch->root, value, &out), CORO_YIELDED);
        if (out != value)
            bench_fail("coro_send of %p through the chain gave back %p", value, out);
    }
}

/* Destroying the root closes it: GeneratorExit goes down the chain level by
 * level (each coro_yield_from_fn closes and destroys its sub) and comes back
 * up; the unraisable hook set by main fails the run if a level misbehaves. */
static void teardown(void *state)
{
    chain *ch = state;
    bench_expect("coro_destroy (chain root)", coro_destroy(ch->root), CORO_OK);
    free(ch);
}

const bench_row bench_row_yield_from_1 = {"yield_from_1_ns", 1, setup, run, teardown};
const bench_row bench_row_yield_from_10 = {"yield_from_10_ns", 10, setup, run, teardown};
const bench_row bench_row_yield_from_100 = {"yield_from_100_ns", 100, setup, run, teardown};
