/* ctx.h - the contract every context-switch backend implements.
 * SPDX-License-Identifier: MIT
 *
 * The protocol code (coro.c, delegate.c) sees only this header: it never
 * touches ucontext_t or registers. A backend is one file, chosen at build
 * time with CORO_BACKEND, that defines struct coro__ctx and these functions.
 * Adding a backend means adding a file, not editing the protocol.
 *
 * Contract:
 *  - coro__ctx_make prepares `ctx` so that the first switch into it calls
 *    entry(arg) on the stack [stack_lo, stack_lo + size). It does not switch.
 *    entry must never return: the protocol always leaves a body for good with
 *    coro__ctx_exit.
 *  - coro__ctx_switch saves the running context into `from` and resumes `to`,
 *    handing it `status`: the switch (or exit) that `to` is waiting in returns
 *    that status there. A first switch into a made context drops it. The call
 *    returns when something later switches back into `from`, with the status
 *    that side handed over. A context used as `from` may live anywhere.
 *  - coro__ctx_switch_back does exactly what coro__ctx_switch does; the
 *    protocol calls it to hand control back to a driver (a yield, a park)
 *    and coro__ctx_switch to go into a coroutine. A backend whose switch
 *    ends in an indirect jump makes it a second copy, so that each
 *    direction's jump is predicted from its own history; others make it a
 *    second name for the same code.
 *  - coro__ctx_exit resumes `to` with `status` and never returns; the running
 *    context is abandoned. If `on_arrival` is not NULL, it is called with
 *    `arg` on to's stack before to's switch returns, so it may free the stack
 *    that was just left.
 *  - Exactly one switch happens per direction; no allocation, no system call
 *    beyond what the backend inherently needs (ucontext: the signal mask).
 *
 * Why the status travels through the switch: it lets coro_send and coro_yield
 * end with a tail call of the switch, so that nothing of theirs runs after it
 * and no `ret` has to cross from one stack to the other (every such `ret` is
 * mispredicted; docs/design.md, "The hot path"). The side that switches back
 * does the other side's bookkeeping and hands over the result.
 */
#ifndef CORO_CTX_H
#define CORO_CTX_H

#include <stddef.h>

#if defined(CORO_BACKEND_UCONTEXT)
#include <ucontext.h>
/* The ucontext backend: glibc's makecontext/swapcontext. Portable to every
 * libc that still has them; slow (swapcontext saves the signal mask with a
 * system call). The status and the arrival hook wait in the target's struct
 * until its swapcontext returns. */
struct coro__ctx {
    ucontext_t uc;
    void (*entry)(void *); /* only read on the first switch in */
    void *arg;
    int status;                    /* handed over by whoever switched here */
    void (*on_arrival)(void *);    /* set by coro__ctx_exit, run once */
    void *on_arrival_arg;
};
/* A ucontext_t is about a kilobyte: keep the thread's own context out of the
 * static TLS block that glibc keeps small for dlopen'ed libraries. */
#define CORO__CTX_TLS_MODEL "global-dynamic"
#elif defined(CORO_BACKEND_ASM)
/* The asm backend (x86-64 and AArch64): ctx_x86_64.S stores the callee-saved
 * registers, the MXCSR and the x87 control word on the running stack and
 * swaps stack pointers; ctx_aarch64.S does the same with x19-x30, d8-d15
 * and the FPCR. Everything a suspended context needs is on its own
 * stack, so the struct is just that stack pointer and may live anywhere.
 * Unlike ucontext it does not save or restore the signal mask: a body that
 * changes the mask changes it for whatever runs next on the thread. Built
 * with CORO_SHARED_FP, it does not save or restore the floating-point
 * control state either (MXCSR and x87 control word, or FPCR), with the same
 * consequence for the rounding mode and exception masks. */
struct coro__ctx {
    void *sp; /* the saved frame (ctx_x86_64.S, ctx_aarch64.S); 16-byte aligned,
                 except x86-64 with CORO_SHARED_FP: 8 mod 16 */
};
/* Eight bytes: one %fs-relative access, no __tls_get_addr call. */
#define CORO__CTX_TLS_MODEL "initial-exec"
#else
/* CMake defines one of these from CORO_BACKEND. */
#error "no context backend selected: define CORO_BACKEND_UCONTEXT or CORO_BACKEND_ASM"
#endif

typedef struct coro__ctx coro__ctx;

/* Returns 0, or -1 if the backend could not prepare the context (errno set). */
int coro__ctx_make(coro__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                   void *arg);
int coro__ctx_switch(coro__ctx *from, coro__ctx *to, int status);
int coro__ctx_switch_back(coro__ctx *from, coro__ctx *to, int status);
_Noreturn void coro__ctx_exit(coro__ctx *to, int status, void (*on_arrival)(void *), void *arg);
const char *coro__ctx_name(void);

#endif /* CORO_CTX_H */
