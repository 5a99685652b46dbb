/* try.c - coro_try: Python's try/except around a call, inside one body.
 * SPDX-License-Identifier: MIT
 *
 * The protected call runs on the caller's own stack: no coroutine is made
 * and nothing switches. A try frame on this stack records where to come back
 * to (setjmp); a raise anywhere below it, at any depth of C calls, finds the
 * frame through coro->try_top, runs the cleanup handlers registered since the
 * frame began, and longjmps here (propagate in coro.c). This is Lua's
 * lua_pcall shape: a protected call is a jump buffer on a chain.
 *
 * Why longjmp is safe here: the frame is always above the raise on the same
 * stack (the protected call is still running below coro_try), so the jump
 * only discards frames, never enters one. A coroutine resumed on another
 * thread is still on the same stack, and the jump buffer holds nothing
 * thread-specific that glibc checks (its pointer guard is process-wide).
 * The buffer is filled with setjmp, which on glibc does not save the signal
 * mask, so neither setting nor using a try frame makes a system call.
 */
#include "coro_int.h"

#include <setjmp.h>

/* The exception state a handler of the caller's was in when the protected
 * call began: put back when the call returns normally, as Python restores
 * sys.exc_info() when a nested try statement ends. Copied only when there is
 * something to put back. */
typedef struct saved_handling {
    bool handling;
    coro_exc exc;
} saved_handling;

/* Out of line so that the common case (nothing being handled) does not pay
 * for the copy: inlined, the compiler made it unconditionally. */
__attribute__((noinline)) static void save_exc(saved_handling *saved, const coro *self)
{
    saved->exc = self->exc;
}

/* Runs the handlers registered inside the protected call (a normal end of
 * their scope, like the finally blocks inside it). With the frame still in
 * place, one that raises is caught by this coro_try like any other raise. */
static void run_scope_defers(coro *self, const coro__try *t)
{
    while (self->ndefers > t->defer_mark)
        coro__run_newest_defer(self);
}

int coro_try(coro *self, coro_fn fn, void *arg, void **result)
{
    if (result != NULL)
        *result = NULL;
    if (self == NULL || self != coro__get_current())
        return coro__fail(CORO_ENOTCURRENT,
                          "coro_try: self is not the coroutine running on this thread; call it "
                          "only from the body, with the self it was given");
    if (fn == NULL)
        return coro__fail(CORO_EINVAL, "coro_try: fn is required");

    saved_handling saved;
    saved.handling = self->handling;
    if (saved.handling)
        save_exc(&saved, self);

    coro__try t;
    t.prev = self->try_top;
    t.defer_mark = self->ndefers;
    /* Nothing below writes a local of this function between the setjmp and
     * a longjmp back, so every local keeps its value (C11 7.13.2.1). */
    if (setjmp(t.env) != 0)
        return CORO_THROWN; /* propagate popped the frame and set self->exc */

    self->try_top = &t;
    void *value = fn(self, arg);
    run_scope_defers(self, &t);
    self->try_top = t.prev;

    self->handling = saved.handling;
    if (saved.handling)
        self->exc = saved.exc;
    else
        self->exc.type = NULL;
    if (result != NULL)
        *result = value;
    return CORO_OK;
}
