/* rows_switch.c - ctx_switch_pair_ns and switch_pair_no_fp_ns: bare switches, no protocol.
 * SPDX-License-Identifier: MIT
 *
 * ctx_switch_pair_ns is the backend's own switch (src/ctx.h): main switches to
 * a context on a 64 KiB stack of its own, which switches straight back, as in
 * swapcontext_pair_ns and the peers. send_ns minus this row is what the
 * protocol costs on top of the switch.
 *
 * switch_pair_no_fp_ns (x86-64 only) is the same round trip through a copy
 * of the asm switch without the MXCSR and x87 control-word save and restore
 * (switch_no_fp_x86_64.S). It is not something libcoro offers; it measures
 * what keeping that state per context costs, in the same run.
 */
#include "rows.h"

#include "ctx.h"

#include <stdint.h>
#include <stdlib.h>

#define BARE_STACK_SIZE (64u * 1024u)

static void *bare_stack;

static void *alloc_bare_stack(void)
{
    bare_stack = malloc(BARE_STACK_SIZE);
    if (bare_stack == NULL)
        bench_fail("out of memory for a %u-byte stack", BARE_STACK_SIZE);
    return bare_stack;
}

/* Both partners are never resumed after their row ends; the stack is freed
 * with nothing on it that needs cleaning up. */
static void teardown_bare(void *state)
{
    (void)state;
    free(bare_stack);
    bare_stack = NULL;
}

/* ------------------------------------------------------------------------ */
/* The backend's switch                                                     */
/* ------------------------------------------------------------------------ */

static coro__ctx ctx_driver;
static coro__ctx ctx_partner;

static void ctx_echo(void *arg)
{
    (void)arg;
    int status = 0;
    for (;;)
        status = coro__ctx_switch(&ctx_partner, &ctx_driver, status);
}

static void *setup_ctx(long param)
{
    (void)param;
    if (coro__ctx_make(&ctx_partner, alloc_bare_stack(), BARE_STACK_SIZE, ctx_echo, NULL) != 0)
        bench_fail("coro__ctx_make failed");
    coro__ctx_switch(&ctx_driver, &ctx_partner, 0); /* to the partner's first switch */
    return bare_stack;
}

static void run_ctx(void *state, uint64_t iters)
{
    (void)state;
    for (uint64_t i = 0; i < iters; i++) {
        int sent = (int)(i & 0xffff);
        int got = coro__ctx_switch(&ctx_driver, &ctx_partner, sent);
        if (got != sent)
            bench_fail("coro__ctx_switch with status %d came back with %d", sent, got);
    }
}

const bench_row bench_row_ctx_switch_pair = {"ctx_switch_pair_ns", 0, setup_ctx, run_ctx,
                                             teardown_bare};

/* ------------------------------------------------------------------------ */
/* The asm switch without the floating-point control state                  */
/* ------------------------------------------------------------------------ */

#ifdef CORO_BENCH_HAVE_NO_FP_SWITCH

void bench_switch_no_fp(void **from_sp, void **to_sp);
void bench_switch_no_fp_back(void **from_sp, void **to_sp);
void bench_switch_no_fp_trampoline(void);

static void *no_fp_driver;
static void *no_fp_partner;

static void no_fp_echo(void *arg)
{
    (void)arg;
    for (;;)
        bench_switch_no_fp_back(&no_fp_partner, &no_fp_driver);
}

static void *setup_no_fp(long param)
{
    (void)param;
    uintptr_t top = ((uintptr_t)alloc_bare_stack() + BARE_STACK_SIZE) & ~(uintptr_t)15;
    /* r15 r14 r13 r12 rbx rbp ret, as switch_no_fp_x86_64.S loads them; after
     * the switch rsp is the aligned top, as the trampoline's call wants. */
    uint64_t *frame = (uint64_t *)top - 7;
    frame[0] = 0;                                       /* r15 */
    frame[1] = 0;                                       /* r14 */
    frame[2] = 0;                                       /* r13: arg */
    frame[3] = (uint64_t)(uintptr_t)no_fp_echo;         /* r12: entry */
    frame[4] = 0;                                       /* rbx */
    frame[5] = 0;                                       /* rbp */
    frame[6] = (uint64_t)(uintptr_t)bench_switch_no_fp_trampoline;
    no_fp_partner = frame;
    return bare_stack;
}

static void run_no_fp(void *state, uint64_t iters)
{
    (void)state;
    for (uint64_t i = 0; i < iters; i++)
        bench_switch_no_fp(&no_fp_driver, &no_fp_partner);
}

const bench_row bench_row_switch_pair_no_fp = {"switch_pair_no_fp_ns", 0, setup_no_fp,
                                               run_no_fp, teardown_bare};

#endif
