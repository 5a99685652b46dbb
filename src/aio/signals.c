/* signals.c - loop.add_signal_handler: signals delivered as loop callbacks, never in signal context.
 * SPDX-License-Identifier: MIT
 *
 * Dispositions are process-wide, so the table is too: one slot per signal
 * number, owned by at most one loop at a time. A slot holds the loop, the
 * callback, and the disposition found when the loop took the signal (put
 * back by remove and by loop_close).
 *
 * Delivery (design.md, "Signals"): the sigaction handler, which may run on
 * any thread that does not block the signal, only counts the signal in its
 * slot and wakes the owning loop through the loop's own wake-up eventfd
 * (coro__aio_wake: a lock-free atomic exchange and a write(2), both
 * async-signal-safe). The loop's next drain of cross-thread work
 * (drain_threadsafe_slow in loop.c) calls coro__aio_signals_collect, which
 * turns each count into that many call_soon callbacks; a callback looks up
 * the slot's current handler when it runs. So a signal raised inside a
 * callback is handled in the next iteration, after the callbacks already
 * ready, as asyncio's self-pipe delivers it.
 *
 * Lifetimes: `loop` in a slot is read by the handler with an atomic load.
 * Whoever clears it (remove, loop_close) first puts the old disposition
 * back, then waits until no handler is inside its body (`active`), so no
 * handler still holds the loop once the call returns.
 *
 * The runner's SIGINT (runner.c) is an ordinary slot with `interrupt` set:
 * its handler also counts deliveries, and from the second on restores the
 * default disposition and re-raises, so a loop that never gets to run its
 * callbacks can still be interrupted (asyncio.Runner raises
 * KeyboardInterrupt from the second SIGINT).
 */
#include "aio_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#if ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_POINTER_LOCK_FREE != 2
#error "signal delivery needs lock-free atomic int and pointer operations"
#endif

typedef struct sig_slot {
    _Atomic(coro_aio_loop *) loop; /* NULL: free */
    atomic_uint count;             /* deliveries not yet collected */
    atomic_bool interrupt;         /* the runner's SIGINT: the second one kills */
    atomic_uint hits;              /* deliveries while interrupt is set */
    coro_aio_signal_fn fn;         /* under table_mu */
    void *arg;
    struct sigaction old; /* the disposition before the loop took it */
} sig_slot;

static sig_slot slots[NSIG];
static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int active;    /* handlers inside their body */
static atomic_int installed; /* slots in use, all loops */

static void on_signal(int signum)
{
    atomic_fetch_add(&active, 1);
    int saved = errno;
    sig_slot *s = &slots[signum];
    coro_aio_loop *loop = atomic_load(&s->loop);
    if (loop != NULL) {
        if (atomic_load(&s->interrupt) && atomic_fetch_add(&s->hits, 1) >= 1) {
            /* A second SIGINT under the runner: the process is interrupted
             * as the default disposition does (the signal is blocked while
             * this handler runs, so it is delivered on return). */
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            sigemptyset(&dfl.sa_mask);
            sigaction(signum, &dfl, NULL);
            raise(signum);
        } else {
            atomic_fetch_add(&s->count, 1);
            coro__aio_wake(loop);
        }
    }
    errno = saved;
    atomic_fetch_sub(&active, 1);
}

/* asyncio's _check_signal: a number signal.valid_signals() lists (glibc
 * keeps two real-time signals for itself; sigfillset leaves them out). */
static bool valid_signal(int signum)
{
    if (signum < 1 || signum >= NSIG)
        return false;
    sigset_t all;
    sigfillset(&all);
    return sigismember(&all, signum) == 1;
}

/* Puts back the slot's old disposition and frees it; table_mu held. */
static void release_slot(int signum)
{
    sig_slot *s = &slots[signum];
    sigaction(signum, &s->old, NULL);
    atomic_store(&s->loop, NULL);
    atomic_store(&s->interrupt, false);
    atomic_store(&s->count, 0);
    atomic_store(&s->hits, 0);
    s->fn = NULL;
    s->arg = NULL;
    atomic_fetch_sub(&installed, 1);
    /* A handler that loaded the loop before the store may still use it. */
    while (atomic_load(&active) != 0)
        ;
}

int coro_aio_add_signal_handler(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn, void *arg)
{
    if (loop == NULL || fn == NULL)
        return coro__aio_fail(CORO_EINVAL, "add_signal_handler: loop and fn are required");
    if (!valid_signal(signum))
        return coro__aio_fail(CORO_EINVAL, "add_signal_handler: invalid signal number %d", signum);
    if (loop->closed)
        return coro__aio_fail(CORO_EINVAL, "add_signal_handler: Event loop is closed");
    pthread_mutex_lock(&table_mu);
    sig_slot *s = &slots[signum];
    coro_aio_loop *owner = atomic_load(&s->loop);
    if (owner != NULL && owner != loop) {
        pthread_mutex_unlock(&table_mu);
        return coro__aio_fail(CORO_EBUSY,
                              "add_signal_handler: signal %d is handled by another loop; "
                              "remove it there first",
                              signum);
    }
    if (owner == NULL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigfillset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART; /* asyncio: siginterrupt(sig, False) */
        s->fn = fn;
        s->arg = arg;
        atomic_store(&s->loop, loop);
        if (sigaction(signum, &sa, &s->old) != 0) {
            int err = errno;
            atomic_store(&s->loop, NULL);
            s->fn = NULL;
            s->arg = NULL;
            pthread_mutex_unlock(&table_mu);
            if (err == EINVAL)
                return coro__aio_fail(CORO_EINVAL, "add_signal_handler: sig %d cannot be caught",
                                      signum);
            return coro__aio_fail(CORO_EINVAL, "add_signal_handler: sigaction: %s", strerror(err));
        }
        atomic_fetch_add(&installed, 1);
    } else {
        /* Replaced: the new callback gets every delivery not yet run. */
        s->fn = fn;
        s->arg = arg;
        atomic_store(&s->interrupt, false);
    }
    pthread_mutex_unlock(&table_mu);
    return CORO_OK;
}

bool coro_aio_remove_signal_handler(coro_aio_loop *loop, int signum)
{
    if (loop == NULL)
        return false;
    if (!valid_signal(signum)) {
        coro__aio_fail(CORO_EINVAL, "remove_signal_handler: invalid signal number %d", signum);
        return false;
    }
    pthread_mutex_lock(&table_mu);
    bool mine = atomic_load(&slots[signum].loop) == loop;
    if (mine)
        release_slot(signum);
    pthread_mutex_unlock(&table_mu);
    return mine;
}

/* The callback a delivery becomes: the slot's handler at the time it runs. */
static void dispatch(void *arg)
{
    int signum = (int)(intptr_t)arg;
    coro_aio_loop *loop = coro__aio_running;
    pthread_mutex_lock(&table_mu);
    sig_slot *s = &slots[signum];
    coro_aio_signal_fn fn = atomic_load(&s->loop) == loop ? s->fn : NULL;
    void *fn_arg = s->arg;
    pthread_mutex_unlock(&table_mu);
    if (fn != NULL)
        fn(signum, fn_arg);
}

void coro__aio_signals_collect(coro_aio_loop *loop)
{
    if (atomic_load_explicit(&installed, memory_order_relaxed) == 0)
        return;
    for (int signum = 1; signum < NSIG; signum++) {
        sig_slot *s = &slots[signum];
        if (atomic_load(&s->loop) != loop || atomic_load(&s->count) == 0)
            continue;
        for (unsigned n = atomic_exchange(&s->count, 0); n > 0; n--)
            if (coro_aio_call_soon(loop, dispatch, (void *)(intptr_t)signum, NULL) < 0)
                break; /* out of memory: the deliveries left are lost */
    }
}

void coro__aio_signals_close(coro_aio_loop *loop)
{
    if (atomic_load(&installed) == 0)
        return;
    pthread_mutex_lock(&table_mu);
    for (int signum = 1; signum < NSIG; signum++)
        if (atomic_load(&slots[signum].loop) == loop)
            release_slot(signum);
    pthread_mutex_unlock(&table_mu);
}

int coro__aio_signals_interrupt(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn, void *arg)
{
    int rc = coro_aio_add_signal_handler(loop, signum, fn, arg);
    if (rc == CORO_OK) {
        atomic_store(&slots[signum].hits, 0);
        atomic_store(&slots[signum].interrupt, true);
    }
    return rc;
}

bool coro__aio_signals_owned_by(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn, void *arg)
{
    pthread_mutex_lock(&table_mu);
    sig_slot *s = &slots[signum];
    bool same = atomic_load(&s->loop) == loop && s->fn == fn && s->arg == arg;
    pthread_mutex_unlock(&table_mu);
    return same;
}
