/* ctx_asm_aarch64.c - the asm backend's coro__ctx_make on AArch64: the first frame of a new context.
 * SPDX-License-Identifier: MIT
 *
 * The switch itself is in ctx_aarch64.S. A context is resumed by popping the
 * frame described there; a new context gets a frame that looks as if it had
 * been saved by coro__ctx_switch just before "returning" into the
 * trampoline, which calls entry(arg).
 */
#include "ctx.h"

#if !defined(__aarch64__) || defined(__ILP32__)
#error "ctx_asm_aarch64.c is for AArch64 (LP64) only; use CORO_BACKEND=ucontext"
#endif

#include <errno.h>
#include <stdint.h>

/* In ctx_aarch64.S: where a new context's first switch "returns" to. Only
 * its address is used. */
__attribute__((visibility("hidden"))) void coro__ctx_trampoline(void);

/* The saved frame at ctx->sp, lowest address first. Must match the offsets
 * in ctx_aarch64.S (which leaves fpcr and pad out with CORO_SHARED_FP). */
struct frame {
    uint64_t x19;   /* first entry: entry */
    uint64_t x20;   /* first entry: arg */
    uint64_t x21_x28[8];
    uint64_t x29;   /* first entry: 0, ends frame-pointer backtraces */
    uint64_t x30;   /* first entry: coro__ctx_trampoline */
    uint64_t d8_d15[8];
#ifndef CORO_SHARED_FP
    uint64_t fpcr;
    uint64_t pad;
#endif
};

#ifdef CORO_SHARED_FP
_Static_assert(sizeof(struct frame) == 160, "struct frame must match ctx_aarch64.S");
#else
_Static_assert(sizeof(struct frame) == 176, "struct frame must match ctx_aarch64.S");
#endif

int coro__ctx_make(coro__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                   void *arg)
{
    uintptr_t lo = (uintptr_t)stack_lo;
    /* The frame ends at the 16-byte aligned top and is 176 bytes (160 with
     * CORO_SHARED_FP), a multiple of 16, so sp stays aligned as AAPCS64
     * requires at every point. */
    uintptr_t top = (lo + size) & ~(uintptr_t)15;
    if (stack_lo == NULL || top < lo || top - lo < 4 * sizeof(struct frame)) {
        errno = EINVAL;
        return -1;
    }
    struct frame *f = (struct frame *)(top - sizeof(struct frame));
    *f = (struct frame){0};
    f->x19 = (uint64_t)(uintptr_t)entry;
    f->x20 = (uint64_t)(uintptr_t)arg;
    f->x30 = (uint64_t)(uintptr_t)coro__ctx_trampoline;
#ifndef CORO_SHARED_FP
    /* A new context starts with the floating-point modes of the thread that
     * makes it, as a ucontext made by getcontext would. (With CORO_SHARED_FP
     * it has none of its own: it runs with whatever the thread has.) */
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    f->fpcr = fpcr;
#endif
    ctx->sp = f;
    return 0;
}

#ifdef CORO_SHARED_FP
const char *coro__ctx_name(void) { return "asm-aarch64-shared-fp"; }
#else
const char *coro__ctx_name(void) { return "asm-aarch64"; }
#endif
