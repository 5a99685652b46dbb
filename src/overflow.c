/* overflow.c - the opt-in guard-page fault handler: one clear line, then abort.
 * SPDX-License-Identifier: MIT
 *
 * A body that overruns a guarded stack touches the PROT_NONE page below it
 * and the kernel sends SIGSEGV. By default that is a bare crash. With this
 * handler installed, a fault whose address lies in the guard page of the
 * coroutine running on the faulting thread becomes
 *   libcoro: stack overflow in coroutine 'name' (stack of N bytes) ...
 * and abort(). Any other fault is passed to whatever handler was installed
 * before, or to the default action.
 *
 * The faulting thread's stack is the exhausted one, so the handler runs on
 * an alternate signal stack (sigaltstack, per thread). Everything it calls
 * is async-signal-safe: write(2), abort(), sigaction(2), and a read of the
 * current coroutine (a thread-local already initialised on this thread).
 */
#include "coro_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction previous_segv, previous_bus;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static bool installed;

/* Appends s to buf at *len (bounded), async-signal-safe. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len + 1 < cap)
        buf[(*len)++] = *s++;
}

static void put_size(char *buf, size_t cap, size_t *len, size_t v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof digits);
    while (n > 0 && *len + 1 < cap)
        buf[(*len)++] = digits[--n];
}

/* True when addr is in the guard page of c's guarded stack. */
static bool in_guard_page(const coro *c, const void *addr)
{
    if (c == NULL || c->stack.lo == NULL || c->stack.mode != CORO_STACK_GUARDED)
        return false;
    uintptr_t a = (uintptr_t)addr;
    return a >= (uintptr_t)c->stack.map && a < (uintptr_t)c->stack.lo;
}

static void pass_on(int sig, siginfo_t *info, void *uctx)
{
    const struct sigaction *prev = sig == SIGBUS ? &previous_bus : &previous_segv;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction != NULL) {
        prev->sa_sigaction(sig, info, uctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* Put the old action back; returning re-runs the faulting
         * instruction, which now gets the default (a core dump). */
        sigaction(sig, prev, NULL);
    }
}

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    const coro *c = coro__get_current();
    if (!in_guard_page(c, info->si_addr)) {
        pass_on(sig, info, uctx);
        return;
    }
    char msg[512];
    size_t len = 0;
    put(msg, sizeof msg, &len, "libcoro: stack overflow in coroutine '");
    put(msg, sizeof msg, &len, coro_name(c));
    put(msg, sizeof msg, &len, "' (stack of ");
    put_size(msg, sizeof msg, &len, c->stack.size);
    put(msg, sizeof msg, &len,
        " bytes): it ran into the guard page below its stack; give it a larger stack_size "
        "(coro_options.stack_size or coro_set_default_stack_size)\n");
    ssize_t ignored = write(STDERR_FILENO, msg, len);
    (void)ignored;
    abort();
}

/* One alternate signal stack per thread, unmapped when the thread exits. */
static pthread_key_t altstack_key;
static pthread_once_t altstack_once = PTHREAD_ONCE_INIT;
static _Thread_local bool have_altstack;

static void altstack_thread_exit(void *map)
{
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    munmap(map, (size_t)SIGSTKSZ * 4);
}

static void altstack_make_key(void) { pthread_key_create(&altstack_key, altstack_thread_exit); }

static int ensure_altstack(void)
{
    if (have_altstack)
        return CORO_OK;
    size_t size = (size_t)SIGSTKSZ * 4;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return coro__fail(CORO_ENOMEM,
                          "coro_install_overflow_handler: could not map an alternate signal "
                          "stack of %zu bytes",
                          size);
    stack_t ss = {.ss_sp = map, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(map, size);
        return coro__fail(CORO_ENOMEM, "coro_install_overflow_handler: sigaltstack failed");
    }
    pthread_once(&altstack_once, altstack_make_key);
    pthread_setspecific(altstack_key, map);
    have_altstack = true;
    return CORO_OK;
}

int coro_install_overflow_handler(void)
{
    int rc = ensure_altstack();
    if (rc != CORO_OK)
        return rc;
    pthread_mutex_lock(&install_lock);
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &previous_segv);
        sigaction(SIGBUS, &sa, &previous_bus);
        installed = true;
    }
    pthread_mutex_unlock(&install_lock);
    return CORO_OK;
}
