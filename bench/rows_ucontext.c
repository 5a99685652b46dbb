/* rows_ucontext.c - swapcontext_pair_ns and makecontext_ns: raw glibc ucontext.
 * SPDX-License-Identifier: MIT
 *
 * The floor of the ucontext backend: main switches to a context on a stack of
 * its own, which switches straight back. No library code runs, so a library
 * row that does the same two switches (next, send) can be compared with it.
 */
#include "rows.h"

#include <stdlib.h>
#include <ucontext.h>

#define RAW_STACK_SIZE (64u * 1024u)

/* makecontext passes only ints, so the two contexts are file-level. */
static ucontext_t driver_uc;
static ucontext_t partner_uc;
static void *partner_stack;

/* The partner: back to the driver, forever. It is never resumed after the
 * row ends; its stack is simply freed (nothing on it needs cleaning up). */
static void partner(void)
{
    for (;;)
        if (swapcontext(&partner_uc, &driver_uc) != 0)
            bench_fail("swapcontext (partner -> driver) failed");
}

static void *setup(long param)
{
    (void)param;
    partner_stack = malloc(RAW_STACK_SIZE);
    if (partner_stack == NULL)
        bench_fail("out of memory for a %u-byte ucontext stack", RAW_STACK_SIZE);
    if (getcontext(&partner_uc) != 0)
        bench_fail("getcontext failed");
    partner_uc.uc_stack.ss_sp = partner_stack;
    partner_uc.uc_stack.ss_size = RAW_STACK_SIZE;
    partner_uc.uc_link = NULL;
    makecontext(&partner_uc, partner, 0);
    return &partner_uc;
}

static void run(void *state, uint64_t iters)
{
    (void)state;
    for (uint64_t i = 0; i < iters; i++)
        if (swapcontext(&driver_uc, &partner_uc) != 0)
            bench_fail("swapcontext (driver -> partner) failed");
}

static void teardown(void *state)
{
    (void)state;
    free(partner_stack);
    partner_stack = NULL;
}

const bench_row bench_row_swapcontext_pair = {"swapcontext_pair_ns", 0, setup, run, teardown};

/* makecontext_ns: getcontext + makecontext on a stack that already exists,
 * the least any ucontext create can cost; create_destroy_pooled_ns is
 * compared with it. */
static void *setup_make(long param)
{
    (void)param;
    partner_stack = malloc(RAW_STACK_SIZE);
    if (partner_stack == NULL)
        bench_fail("out of memory for a %u-byte ucontext stack", RAW_STACK_SIZE);
    return partner_stack;
}

/* Out of line: getcontext returns twice in principle, which would make the
 * loop counter of its caller a -Wclobbered hazard. */
__attribute__((noinline)) static void make_one(ucontext_t *uc, void *stack)
{
    if (getcontext(uc) != 0)
        bench_fail("getcontext failed");
    uc->uc_stack.ss_sp = stack;
    uc->uc_stack.ss_size = RAW_STACK_SIZE;
    uc->uc_link = NULL;
    makecontext(uc, partner, 0);
}

static void run_make(void *state, uint64_t iters)
{
    static ucontext_t uc;
    for (uint64_t i = 0; i < iters; i++)
        make_one(&uc, state);
}

const bench_row bench_row_makecontext = {"makecontext_ns", 0, setup_make, run_make, teardown};
