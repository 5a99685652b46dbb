/* ctx_ucontext.c - the default context backend: makecontext/swapcontext.
 * SPDX-License-Identifier: MIT
 */
#include "ctx.h"

#include <stdbool.h>
#include <stdint.h>

/* makecontext passes only int arguments, so the context pointer travels as
 * two 32-bit halves and is put back together here. */
static void trampoline(unsigned hi, unsigned lo)
{
    uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
    coro__ctx *ctx = (coro__ctx *)p;
    ctx->entry(ctx->arg);
    /* entry never returns (ctx.h); uc_link is NULL, so returning here would
     * end the thread. Nothing to do but stop loudly. */
    __builtin_trap();
}

#if defined(__x86_64__)
/* The thread's context as getcontext saw it at the first coro__ctx_make on
 * the thread. getcontext costs a system call (it reads the signal mask), so
 * each later make copies this instead, then stores the thread's current
 * floating-point control state into the copy (what getcontext would have
 * saved, and what test_backend.c checks a new coroutine starts with).
 * makecontext sets everything else that matters, except the signal mask:
 * a body starts with the thread's signal mask as it was at the first create
 * on the thread that created it, not at its own create (docs/design.md).
 * Other architectures call getcontext on every make. */
#define CORO__UC_TEMPLATE 1
static _Thread_local ucontext_t template_uc;
static _Thread_local bool have_template;

static int context_from_template(ucontext_t *uc)
{
    if (!have_template) {
        if (getcontext(&template_uc) != 0)
            return -1;
        have_template = true;
    }
    *uc = template_uc;
    /* glibc's x86-64 ucontext_t points at its own floating-point save area,
     * and setcontext/swapcontext load the x87 environment through that
     * pointer: the copy must point into itself, not into the template. */
    uc->uc_mcontext.fpregs =
        (void *)((char *)uc + ((char *)template_uc.uc_mcontext.fpregs - (char *)&template_uc));
    __asm__ volatile("fnstcw %0" : "=m"(uc->uc_mcontext.fpregs->cwd));
    __asm__ volatile("stmxcsr %0" : "=m"(uc->uc_mcontext.fpregs->mxcsr));
    return 0;
}
#endif

int coro__ctx_make(coro__ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                   void *arg)
{
#ifdef CORO__UC_TEMPLATE
    if (context_from_template(&ctx->uc) != 0)
        return -1;
#else
    if (getcontext(&ctx->uc) != 0)
        return -1;
#endif
    ctx->uc.uc_stack.ss_sp = stack_lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    ctx->entry = entry;
    ctx->arg = arg;
    ctx->status = 0;
    ctx->on_arrival = NULL;
    ctx->on_arrival_arg = NULL;
    uintptr_t p = (uintptr_t)ctx;
    makecontext(&ctx->uc, (void (*)(void))trampoline, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
    return 0;
}

/* Runs in `from` once something switches back into it. */
static int arrive(coro__ctx *self)
{
    int status = self->status;
    if (self->on_arrival != NULL) {
        void (*fn)(void *) = self->on_arrival;
        self->on_arrival = NULL; /* once: the context may be switched to again */
        fn(self->on_arrival_arg);
    }
    return status;
}

int coro__ctx_switch(coro__ctx *from, coro__ctx *to, int status)
{
    to->status = status;
    swapcontext(&from->uc, &to->uc);
    return arrive(from);
}

/* One function for both directions: swapcontext's cost is its system call,
 * not a branch that a second copy could predict better. */
int coro__ctx_switch_back(coro__ctx *from, coro__ctx *to, int status)
    __attribute__((alias("coro__ctx_switch")));

_Noreturn void coro__ctx_exit(coro__ctx *to, int status, void (*on_arrival)(void *), void *arg)
{
    to->status = status;
    to->on_arrival = on_arrival;
    to->on_arrival_arg = arg;
    setcontext(&to->uc);
    /* setcontext returns only on failure, which a context saved by
     * swapcontext cannot produce. */
    __builtin_trap();
}

const char *coro__ctx_name(void) { return "ucontext"; }
