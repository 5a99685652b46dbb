/* test_backend.c - the context-switch backend's contract (src/ctx.h), tested
 * on the backend this build uses, and the floating-point control state each
 * context keeps across switches (or, built with CORO_SHARED_FP, shares with
 * the thread).
 * SPDX-License-Identifier: MIT
 *
 * The contract cases call coro__ctx_make / coro__ctx_switch / coro__ctx_exit
 * directly (coro_testing is a static library, so the hidden symbols link).
 * Each context records what it saw in a transcript; the test asserts after
 * control is back on the test's own stack.
 */
#include "check_util.h"
#include "ctx.h"
#include "sanitizer.h"

#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#define STACK_SIZE (64u * 1024u)

static coro__ctx main_ctx;
static coro__ctx side_ctx;
static char *side_stack;
static unsigned side_stack_id; /* Valgrind's name for it */

/* Makes side_ctx on a fresh stack, to run entry(arg). */
static void make_side(void (*entry)(void *), void *arg)
{
    side_stack = malloc(STACK_SIZE);
    ck_assert_ptr_nonnull(side_stack);
#ifdef CORO_VALGRIND
    side_stack_id = VALGRIND_STACK_REGISTER(side_stack, side_stack + STACK_SIZE);
#endif
    ck_assert_int_eq(coro__ctx_make(&side_ctx, side_stack, STACK_SIZE, entry, arg), 0);
}

static void free_side(void)
{
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(side_stack_id);
#endif
    free(side_stack);
    side_stack = NULL;
}

static int in_side_stack(const void *p)
{
    return (const char *)p >= side_stack && (const char *)p < side_stack + STACK_SIZE;
}

/* ------------------------------------------------------------------------ */
/* The status travels through every switch                                  */
/* ------------------------------------------------------------------------ */

static void echo_plus_100(void *arg)
{
    tr_add(&tr, "entry %d", *(int *)arg);
    int got = coro__ctx_switch(&side_ctx, &main_ctx, 100);
    for (;;) {
        tr_add(&tr, "side got %d", got);
        got = coro__ctx_switch(&side_ctx, &main_ctx, got + 100);
    }
}

START_TEST(status_is_handed_over_both_ways)
{
    tr_reset(&tr);
    int first = 5;
    make_side(echo_plus_100, &first);
    /* The first switch into a made context drops its status (ctx.h). */
    int st = coro__ctx_switch(&main_ctx, &side_ctx, 999);
    tr_add(&tr, "main got %d", st);
    for (int i = 1; i <= 3; i++) {
        st = coro__ctx_switch(&main_ctx, &side_ctx, i);
        tr_add(&tr, "main got %d", st);
    }
    ck_assert_str_eq(tr.buf, "entry 5; main got 100; side got 1; main got 101; side got 2; "
                             "main got 102; side got 3; main got 103");
    free_side();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* coro__ctx_exit and its arrival hook                                      */
/* ------------------------------------------------------------------------ */

static int hook_calls;
static const void *hook_local;
static void *hook_arg;

static void arrival_hook(void *arg)
{
    int local = 0;
    hook_calls++;
    hook_arg = arg;
    hook_local = &local;
    /* What the hook is for: the stack just left may be freed here. */
    free_side();
}

static void exit_with_hook(void *arg)
{
    tr_add(&tr, "side runs");
    coro__ctx_exit(&main_ctx, 42, arrival_hook, arg);
}

START_TEST(exit_runs_the_hook_on_the_target_stack_once)
{
    tr_reset(&tr);
    hook_calls = 0;
    int token = 0;
    make_side(exit_with_hook, &token);
    char *stack = side_stack;
    int st = coro__ctx_switch(&main_ctx, &side_ctx, 0);
    tr_add(&tr, "main got %d", st);
    ck_assert_str_eq(tr.buf, "side runs; main got 42");
    ck_assert_int_eq(hook_calls, 1);
    ck_assert_ptr_eq(hook_arg, &token);
    /* The hook ran below main's frame, not on the stack it freed. */
    ck_assert(!((const char *)hook_local >= stack && (const char *)hook_local < stack + STACK_SIZE));
    ck_assert_ptr_null(side_stack);

    /* The hook does not stick to main_ctx: the next switch back runs none. */
    make_side(echo_plus_100, &token);
    st = coro__ctx_switch(&main_ctx, &side_ctx, 0);
    ck_assert_int_eq(st, 100);
    ck_assert_int_eq(hook_calls, 1);
    free_side();
}
END_TEST

static void exit_without_hook(void *arg)
{
    (void)arg;
    coro__ctx_exit(&main_ctx, -7, NULL, NULL);
}

START_TEST(exit_without_a_hook_delivers_the_status)
{
    make_side(exit_without_hook, NULL);
    ck_assert_int_eq(coro__ctx_switch(&main_ctx, &side_ctx, 0), -7);
    free_side();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Alignment and the registers a callee must preserve                       */
/* ------------------------------------------------------------------------ */

/* Out of line, so its frame is laid out from the rsp the ABI promises: a
 * 16-byte aligned object is misplaced if the switch misaligned the stack. */
__attribute__((noinline)) static uintptr_t aligned_local_misalignment(void)
{
    _Alignas(16) volatile char buf[16];
    buf[0] = 0;
    return (uintptr_t)buf % 16;
}

static void report_alignment(void *arg)
{
    (void)arg;
    for (;;) {
        tr_add(&tr, "%s misalignment %u", in_side_stack(&arg) ? "side" : "elsewhere",
               (unsigned)aligned_local_misalignment());
        coro__ctx_switch(&side_ctx, &main_ctx, 0);
    }
}

START_TEST(the_stack_stays_aligned_after_every_switch)
{
    tr_reset(&tr);
    make_side(report_alignment, NULL);
    for (int i = 0; i < 3; i++)
        coro__ctx_switch(&main_ctx, &side_ctx, 0);
    ck_assert_str_eq(tr.buf, "side misalignment 0; side misalignment 0; side misalignment 0");
    ck_assert_uint_eq(aligned_local_misalignment(), 0);
    free_side();
}
END_TEST

#if defined(__x86_64__)
/* The side context loads junk into every callee-saved register the compiler
 * lets it name (rbx, r12-r15), then switches back. */
static void clobber_registers(void *arg)
{
    (void)arg;
    for (;;) {
        __asm__ volatile("movq $-1, %%rbx\n\t"
                         "movq $-1, %%r12\n\t"
                         "movq $-1, %%r13\n\t"
                         "movq $-1, %%r14\n\t"
                         "movq $-1, %%r15"
                         :
                         :
                         : "rbx", "r12", "r13", "r14", "r15");
        coro__ctx_switch(&side_ctx, &main_ctx, 0);
    }
}

/* Puts known values in rbx and r12-r15, calls the switch from assembly (so
 * the compiler cannot keep the values anywhere else), and returns how many
 * of them came back intact. The call is made below the red zone on a
 * 16-byte aligned stack, as the ABI requires; the contexts are named as
 * RIP-relative memory operands, which moving rsp cannot invalidate. rbp is
 * left out: it may be the frame pointer, which inline assembly must not
 * touch. */
static int callee_saved_intact_after_switch(void)
{
    int intact;
    __asm__ volatile("movq %%rsp, %%rax\n\t"
                     "subq $128, %%rsp\n\t"
                     "andq $-16, %%rsp\n\t"
                     "pushq %%rax\n\t"
                     "pushq %%rax\n\t"
                     "movq $0x1b1b1b1b, %%rbx\n\t"
                     "movq $0x12121212, %%r12\n\t"
                     "movq $0x13131313, %%r13\n\t"
                     "movq $0x14141414, %%r14\n\t"
                     "movq $0x15151515, %%r15\n\t"
                     "leaq %[from], %%rdi\n\t"
                     "leaq %[to], %%rsi\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "call coro__ctx_switch\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "cmpq $0x1b1b1b1b, %%rbx\n\t"
                     "sete %%cl\n\t"
                     "addb %%cl, %%al\n\t"
                     "cmpq $0x12121212, %%r12\n\t"
                     "sete %%cl\n\t"
                     "addb %%cl, %%al\n\t"
                     "cmpq $0x13131313, %%r13\n\t"
                     "sete %%cl\n\t"
                     "addb %%cl, %%al\n\t"
                     "cmpq $0x14141414, %%r14\n\t"
                     "sete %%cl\n\t"
                     "addb %%cl, %%al\n\t"
                     "cmpq $0x15151515, %%r15\n\t"
                     "sete %%cl\n\t"
                     "addb %%cl, %%al\n\t"
                     "movzbl %%al, %%eax\n\t"
                     "movq (%%rsp), %%rsp"
                     : "=&a"(intact)
                     : [from] "m"(main_ctx), [to] "m"(side_ctx)
                     : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
                       "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                       "xmm14", "xmm15", "memory", "cc");
    return intact;
}
#define CALLEE_SAVED_CHECKED 5

#elif defined(__aarch64__)
/* The side context loads junk into x19-x28 and d8-d15, then switches back. */
static void clobber_registers(void *arg)
{
    (void)arg;
    for (;;) {
        __asm__ volatile("mov x19, #-1\n\t"
                         "mov x20, #-1\n\t"
                         "mov x21, #-1\n\t"
                         "mov x22, #-1\n\t"
                         "mov x23, #-1\n\t"
                         "mov x24, #-1\n\t"
                         "mov x25, #-1\n\t"
                         "mov x26, #-1\n\t"
                         "mov x27, #-1\n\t"
                         "mov x28, #-1\n\t"
                         "movi d8, #0xffffffffffffffff\n\t"
                         "movi d9, #0xffffffffffffffff\n\t"
                         "movi d10, #0xffffffffffffffff\n\t"
                         "movi d11, #0xffffffffffffffff\n\t"
                         "movi d12, #0xffffffffffffffff\n\t"
                         "movi d13, #0xffffffffffffffff\n\t"
                         "movi d14, #0xffffffffffffffff\n\t"
                         "movi d15, #0xffffffffffffffff"
                         :
                         :
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
                           "x28", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15");
        coro__ctx_switch(&side_ctx, &main_ctx, 0);
    }
}

/* Puts known values in x19-x27 and d8-d15, calls the switch from assembly
 * (so the compiler cannot keep the values anywhere else), and returns how
 * many came back intact. x28 is left to the compiler for the result; x29,
 * the frame pointer, is left alone. The contexts are named as symbols. */
static int callee_saved_intact_after_switch(void)
{
    long intact;
    __asm__ volatile("mov x19, #0x19\n\t"
                     "mov x20, #0x20\n\t"
                     "mov x21, #0x21\n\t"
                     "mov x22, #0x22\n\t"
                     "mov x23, #0x23\n\t"
                     "mov x24, #0x24\n\t"
                     "mov x25, #0x25\n\t"
                     "mov x26, #0x26\n\t"
                     "mov x27, #0x27\n\t"
                     "mov x9, #0x108\n\t"
                     "fmov d8, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d9, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d10, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d11, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d12, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d13, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d14, x9\n\t"
                     "add x9, x9, #1\n\t"
                     "fmov d15, x9\n\t"
                     "adrp x0, %[from]\n\t"
                     "add x0, x0, :lo12:%[from]\n\t"
                     "adrp x1, %[to]\n\t"
                     "add x1, x1, :lo12:%[to]\n\t"
                     "mov w2, #0\n\t"
                     "bl coro__ctx_switch\n\t"
                     "mov %[n], #0\n\t"
                     /* x10: the value expected; x11: a d register's bits */
                     "mov x10, #0x19\n\t"
                     "cmp x19, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x20\n\t"
                     "cmp x20, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x21\n\t"
                     "cmp x21, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x22\n\t"
                     "cmp x22, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x23\n\t"
                     "cmp x23, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x24\n\t"
                     "cmp x24, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x25\n\t"
                     "cmp x25, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x26\n\t"
                     "cmp x26, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x27\n\t"
                     "cmp x27, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "mov x10, #0x108\n\t"
                     "fmov x11, d8\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d9\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d10\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d11\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d12\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d13\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d14\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq\n\t"
                     "add x10, x10, #1\n\t"
                     "fmov x11, d15\n\t"
                     "cmp x11, x10\n\t"
                     "cinc %[n], %[n], eq"
                     : [n] "=&r"(intact)
                     : [from] "S"(&main_ctx), [to] "S"(&side_ctx)
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                       "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
                       "x22", "x23", "x24", "x25", "x26", "x27", "x30", "v0", "v1", "v2", "v3",
                       "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
                       "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24",
                       "v25", "v26", "v27", "v28", "v29", "v30", "v31", "memory", "cc");
    return (int)intact;
}
#define CALLEE_SAVED_CHECKED 17
#endif

#ifdef CALLEE_SAVED_CHECKED
START_TEST(callee_saved_registers_survive_a_switch)
{
    make_side(clobber_registers, NULL);
    for (int round = 0; round < 3; round++)
        ck_assert_int_eq(callee_saved_intact_after_switch(), CALLEE_SAVED_CHECKED);
    free_side();
}
END_TEST
#endif

/* ------------------------------------------------------------------------ */
/* Floating-point control state, through the public API                     */
/* ------------------------------------------------------------------------ */

/* The same scripts check both builds; only the expected transcripts differ.
 * By default every context keeps its own state: the body finds its own mode
 * after each resume, the driver its own after each yield, and a new context
 * starts with its creator's mode. With CORO_SHARED_FP there is one state per
 * thread: what the body sets is what the driver finds after the yield and
 * the other way round, and a new context runs with whatever the thread has
 * when it first runs. */
#ifdef CORO_SHARED_FP
#define WANT_ROUNDING "driver towardzero; body downward; driver downward"
#define WANT_SSE "driver sse towardzero; body sse down; driver sse down"
#define WANT_NEW "body tonearest"
#define WANT_LATER "body tonearest; body tonearest"
#else
#define WANT_ROUNDING "driver upward; body towardzero; driver downward"
#define WANT_SSE "driver sse up; body sse towardzero; driver sse down"
#define WANT_NEW "body upward"
#define WANT_LATER "body tonearest; body downward"
#endif

static const char *rounding_name(void)
{
    switch (fegetround()) {
    case FE_UPWARD:
        return "upward";
    case FE_TOWARDZERO:
        return "towardzero";
    case FE_TONEAREST:
        return "tonearest";
    default:
        return "downward";
    }
}

/* Sets its own rounding mode and reports, after every resume, the mode it
 * finds: its own, whatever the driver set meanwhile (by default), or the
 * driver's (shared). */
static void *own_rounding(coro *self, void *arg)
{
    (void)arg;
    fesetround(FE_TOWARDZERO);
    for (;;) {
        void *got = NULL;
        if (coro_yield(self, NULL, &got) != CORO_OK)
            return NULL;
        tr_add(&tr, "body %s", rounding_name());
    }
}

START_TEST(rounding_mode_across_switches)
{
    tr_reset(&tr);
    fesetround(FE_UPWARD);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, own_rounding, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_add(&tr, "driver %s", rounding_name());
    fesetround(FE_DOWNWARD); /* the driver changes its own mode between resumes */
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_add(&tr, "driver %s", rounding_name());
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    fesetround(FE_TONEAREST);
    ck_assert_str_eq(tr.buf, WANT_ROUNDING);
}
END_TEST

#if defined(__x86_64__)
static const char *sse_rounding_name(void)
{
    switch (_MM_GET_ROUNDING_MODE()) {
    case _MM_ROUND_NEAREST:
        return "nearest";
    case _MM_ROUND_UP:
        return "up";
    case _MM_ROUND_TOWARD_ZERO:
        return "towardzero";
    default:
        return "down";
    }
}

/* MXCSR alone: its rounding-control bits, set without touching the x87
 * control word. (Not flush-to-zero: Valgrind does not emulate it.) */
static void *own_sse_rounding(coro *self, void *arg)
{
    (void)arg;
    _MM_SET_ROUNDING_MODE(_MM_ROUND_TOWARD_ZERO);
    for (;;) {
        if (coro_yield(self, NULL, NULL) != CORO_OK)
            return NULL;
        tr_add(&tr, "body sse %s", sse_rounding_name());
    }
}

START_TEST(mxcsr_rounding_across_switches)
{
    tr_reset(&tr);
    unsigned saved = _mm_getcsr();
    _MM_SET_ROUNDING_MODE(_MM_ROUND_UP);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, own_sse_rounding, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_add(&tr, "driver sse %s", sse_rounding_name());
    _MM_SET_ROUNDING_MODE(_MM_ROUND_DOWN);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_add(&tr, "driver sse %s", sse_rounding_name());
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    _mm_setcsr(saved);
    ck_assert_str_eq(tr.buf, WANT_SSE);
}
END_TEST
#endif

/* Reports the mode it starts with: its creator's at creation (by default), or
 * the thread's when it first runs (shared). */
static void *report_rounding(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    tr_add(&tr, "body %s", rounding_name());
    return NULL;
}

START_TEST(rounding_mode_a_new_context_starts_with)
{
    tr_reset(&tr);
    fesetround(FE_UPWARD);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, report_rounding, NULL, NULL), CORO_OK);
    fesetround(FE_TONEAREST);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, WANT_NEW);
}
END_TEST

/* Not only the first: the ucontext backend copies a context template taken
 * at the thread's first create, and must still give each new context the
 * mode current at its own create. */
START_TEST(a_later_context_inherits_the_creators_current_mode)
{
    tr_reset(&tr);
    coro *first = NULL, *c = NULL;
    fesetround(FE_TONEAREST);
    ck_assert_int_eq(coro_create(&first, report_rounding, NULL, NULL), CORO_OK);
    fesetround(FE_DOWNWARD);
    ck_assert_int_eq(coro_create(&c, report_rounding, NULL, NULL), CORO_OK);
    fesetround(FE_TONEAREST);
    ck_assert_int_eq(coro_next(first, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(first), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, WANT_LATER);
}
END_TEST

static void *report_sigusr1(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    tr_add(&tr, "body %s", sigismember(&now, SIGUSR1) ? "blocked" : "unblocked");
    return NULL;
}

/* The signal mask a body starts with. ucontext on x86-64 copies the context
 * the thread's first create saw, so the mask is the one of that first create
 * (docs/design.md); asm never touches the mask, so the body runs with
 * whatever the thread has when it is resumed. */
START_TEST(a_body_starts_with_the_documented_signal_mask)
{
    tr_reset(&tr);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    coro *first = NULL, *c = NULL;
    ck_assert_int_eq(coro_create(&first, report_sigusr1, NULL, NULL), CORO_OK);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
    ck_assert_int_eq(coro_create(&c, report_sigusr1, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    ck_assert_int_eq(coro_destroy(first), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
#if defined(__x86_64__)
    const char *want = strcmp(coro_backend_name(), "ucontext") == 0 ? "body unblocked"
                                                                     : "body blocked";
#else
    const char *want = "body blocked"; /* getcontext at every create, or asm */
#endif
    ck_assert_str_eq(tr.buf, want);
}
END_TEST

static Suite *backend_suite(void)
{
    Suite *s = suite_create("backend");
    TCase *contract = tcase_create("contract");
    tcase_add_test(contract, status_is_handed_over_both_ways);
    tcase_add_test(contract, exit_runs_the_hook_on_the_target_stack_once);
    tcase_add_test(contract, exit_without_a_hook_delivers_the_status);
    tcase_add_test(contract, the_stack_stays_aligned_after_every_switch);
#ifdef CALLEE_SAVED_CHECKED
    tcase_add_test(contract, callee_saved_registers_survive_a_switch);
#endif
    suite_add_tcase(s, contract);

    TCase *fp = tcase_create("floating_point_control");
    tcase_add_test(fp, rounding_mode_across_switches);
#if defined(__x86_64__)
    tcase_add_test(fp, mxcsr_rounding_across_switches);
#endif
    tcase_add_test(fp, rounding_mode_a_new_context_starts_with);
    tcase_add_test(fp, a_later_context_inherits_the_creators_current_mode);
    suite_add_tcase(s, fp);

    TCase *mask = tcase_create("signal_mask");
    tcase_add_test(mask, a_body_starts_with_the_documented_signal_mask);
    suite_add_tcase(s, mask);
    return s;
}

int main(void) { return run_suite(backend_suite()); }
