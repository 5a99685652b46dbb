/* ctx_asm.c - the asm backend's coro__ctx_make: the first frame of a new context.
 * SPDX-License-Identifier: MIT
 *
 * The switch itself is in ctx_x86_64.S. A context is resumed by loading the
 * frame described there; a new context gets a frame that looks as if it had
 * been saved by coro__ctx_switch just before "returning" into the
 * trampoline, which calls entry(arg).
 */
#include "ctx.h"

#if !defined(__x86_64__) || defined(__ILP32__)
#error "the asm backend supports x86-64 (LP64) only; use CORO_BACKEND=ucontext"
#endif

#include <errno.h>
#include <stdint.h>

/* Inside the trampoline of ctx_x86_64.S: where a new context's first switch
 * "returns" to. Only its address is used. */
__attribute__((visibility("hidden"))) void coro__ctx_trampoline_ret(void);

/* The saved frame at ctx->sp, lowest address first. Must match the layout
 * in ctx_x86_64.S (which leaves the first 8 bytes out with
 * CORO_SHARED_FP). */
struct frame {
#ifndef CORO_SHARED_FP
    uint32_t mxcsr;
    uint16_t x87_cw;
    uint16_t pad;
#endif
    uint64_t r15, r14;
    uint64_t r13;  /* first entry: arg */
    uint64_t r12;  /* first entry: entry */
    uint64_t rbx;
    uint64_t rbp;  /* first entry: 0, ends frame-pointer backtraces */
    uint64_t ret;  /* first entry: coro__ctx_trampoline_ret */
};

#ifdef CORO_SHARED_FP
_Static_assert(sizeof(struct frame) == 56, "struct frame must match ctx_x86_64.S");
#else
_Static_assert(sizeof(struct frame) == 64, "struct frame must match ctx_x86_64.S");
#endif

int coro__ctx_make(coro__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                   void *arg)
{
    uintptr_t lo = (uintptr_t)stack_lo;
    /* The frame ends at the 16-byte aligned top (its start, ctx->sp, is then
     * 16-byte aligned for the 64-byte frame and 8 mod 16 for the 56-byte
     * one, as for any context the switch saves), and after the switch pops
     * it rsp is the aligned top: the trampoline's call then enters entry
     * with rsp + 8 aligned to 16. */
    uintptr_t top = (lo + size) & ~(uintptr_t)15;
    if (stack_lo == NULL || size < 4 * sizeof(struct frame) || top < lo ||
        top - lo < 4 * sizeof(struct frame)) {
        errno = EINVAL;
        return -1;
    }
    struct frame *f = (struct frame *)(top - sizeof(struct frame));
#ifndef CORO_SHARED_FP
    /* A new context starts with the floating-point control state of the
     * thread that makes it (rounding, exception masks, precision), as a
     * ucontext made by getcontext would. (With CORO_SHARED_FP it has none of
     * its own: it runs with whatever the thread has when it runs.) */
    __asm__ volatile("stmxcsr %0" : "=m"(f->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(f->x87_cw));
    f->pad = 0;
#endif
    f->r15 = 0;
    f->r14 = 0;
    f->r13 = (uint64_t)(uintptr_t)arg;
    f->r12 = (uint64_t)(uintptr_t)entry;
    f->rbx = 0;
    f->rbp = 0;
    f->ret = (uint64_t)(uintptr_t)coro__ctx_trampoline_ret;
    ctx->sp = f;
    return 0;
}

#ifdef CORO_SHARED_FP
const char *coro__ctx_name(void) { return "asm-x86_64-shared-fp"; }
#else
const char *coro__ctx_name(void) { return "asm-x86_64"; }
#endif
