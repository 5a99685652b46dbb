/* ctx.h - the contract every context-switch backend implements.
 * SPDX-License-Identifier: MIT
 *
 * The protocol code (coro.c, delegate.c) sees only this header: it never
 * touches ucontext_t or registers. A backend is one file, chosen at build
 * time with CORO_BACKEND, that defines struct coro__ctx and these three
 * functions. Adding a backend means adding a file, not editing the protocol.
 *
 * Contract:
 *  - coro__ctx_make prepares `ctx` so that the first coro__ctx_switch into it
 *    calls entry(arg) on the stack [stack_lo, stack_lo + size). It does not
 *    switch. entry must never return: the protocol always switches away for
 *    good at the end of a body.
 *  - coro__ctx_switch saves the running context into `from` and resumes `to`.
 *    It returns when something later switches back into `from`. A context
 *    used as `from` may live anywhere (a driver keeps its own on its C stack).
 *  - Exactly one switch happens per direction; no allocation, no system call
 *    beyond what the backend inherently needs (ucontext: the signal mask).
 */
#ifndef CORO_CTX_H
#define CORO_CTX_H

#include <stddef.h>

#if defined(CORO_BACKEND_UCONTEXT)
#include <ucontext.h>
/* The ucontext backend: glibc's makecontext/swapcontext. Portable to every
 * libc that still has them; slow (swapcontext saves the signal mask with a
 * system call). */
struct coro__ctx {
    ucontext_t uc;
    void (*entry)(void *); /* only read on the first switch in */
    void *arg;
};
#elif defined(CORO_BACKEND_ASM)
/* The asm backend (x86-64 only): ctx_x86_64.S pushes the callee-saved
 * registers, the MXCSR and the x87 control word on the running stack and
 * swaps stack pointers. Everything a suspended context needs is on its own
 * stack, so the struct is just that stack pointer and may live anywhere.
 * Unlike ucontext it does not save or restore the signal mask: a body that
 * changes the mask changes it for whatever runs next on the thread. */
struct coro__ctx {
    void *sp; /* the saved frame (ctx_x86_64.S); 16-byte aligned */
};
#else
/* CMake defines one of these from CORO_BACKEND. */
#error "no context backend selected: define CORO_BACKEND_UCONTEXT or CORO_BACKEND_ASM"
#endif

typedef struct coro__ctx coro__ctx;

/* Returns 0, or -1 if the backend could not prepare the context (errno set). */
int coro__ctx_make(coro__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                   void *arg);
void coro__ctx_switch(coro__ctx *from, coro__ctx *to);
const char *coro__ctx_name(void);

#endif /* CORO_CTX_H */
