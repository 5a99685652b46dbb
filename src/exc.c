/* exc.c - exception types, matching, and the unraisable hook.
 * SPDX-License-Identifier: MIT
 */
#include "coro_int.h"

#include <stdio.h>
#include <string.h>

const coro_exc_type coro_BaseException = {"BaseException", NULL};
const coro_exc_type coro_Exception = {"Exception", &coro_BaseException};
const coro_exc_type coro_GeneratorExit = {"GeneratorExit", &coro_BaseException};
const coro_exc_type coro_StopIteration = {"StopIteration", &coro_Exception};
const coro_exc_type coro_RuntimeError = {"RuntimeError", &coro_Exception};
const coro_exc_type coro_ValueError = {"ValueError", &coro_Exception};
const coro_exc_type coro_TypeError = {"TypeError", &coro_Exception};
const coro_exc_type coro_AttributeError = {"AttributeError", &coro_Exception};

bool coro_exc_matches(const coro_exc_type *type, const coro_exc_type *family)
{
    if (family == NULL)
        return false;
    for (; type != NULL; type = type->base)
        if (type == family)
            return true;
    return false;
}

int coro_exc_set(coro_exc *exc, const coro_exc_type *type, const char *msg)
{
    if (exc == NULL || type == NULL)
        return coro__fail(CORO_EINVAL, "coro_exc_set: exc and type are required");
    exc->type = type;
    exc->udata = NULL;
    exc->context = NULL;
    exc->cause = NULL;
    /* A bounded copy, truncated like snprintf would (the message stays
     * NUL-terminated), without snprintf's formatting machinery, which cost
     * more than the rest of a throw. Only the message and its terminator are
     * written: the bytes after it are never read. */
    size_t len = msg != NULL ? strnlen(msg, sizeof exc->message - 1) : 0;
    memcpy(exc->message, msg != NULL ? msg : "", len);
    exc->message[len] = '\0';
    return CORO_OK;
}

static void default_hook(const coro *c, const coro_exc *exc, const char *what, void *udata)
{
    (void)udata;
    if (exc != NULL)
        fprintf(stderr, "libcoro: %s %s: %s%s%s\n", what, coro_name(c), exc->type->name,
                exc->message[0] ? ": " : "", exc->message);
    else
        fprintf(stderr, "libcoro: %s %s: it ignored GeneratorExit\n", what, coro_name(c));
}

/* Process-wide, set before use like the allocator. */
static coro_unraisable_fn hook = default_hook;
static void *hook_udata;

void coro_set_unraisable_hook(coro_unraisable_fn fn, void *udata)
{
    hook = fn ? fn : default_hook;
    hook_udata = fn ? udata : NULL;
}

void coro__unraisable(const coro *c, const coro_exc *exc, const char *what)
{
    hook(c, exc, what, hook_udata);
}
