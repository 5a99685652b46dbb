/* alloc.c - libcoro-aio's allocations with the test suite's refusal hook (CORO_TESTING only).
 * SPDX-License-Identifier: MIT
 *
 * Built into coro_aio_testing only: the production libraries get the plain
 * libc calls from alloc.h's macros.
 */
#include "alloc.h"

#include <errno.h>
#include <stdatomic.h>

#ifdef CORO_TESTING

typedef bool (*refuse_fn)(void);
static _Atomic(refuse_fn) hook; /* read from worker threads too */

void coro__aio_testing_set_alloc_hook(bool (*refuse)(void)) { atomic_store(&hook, refuse); }

static bool refused(void)
{
    refuse_fn f = atomic_load(&hook);
    if (f == NULL || !f())
        return false;
    errno = ENOMEM;
    return true;
}

void *coro__aio_malloc(size_t size) { return refused() ? NULL : malloc(size); }
void *coro__aio_calloc(size_t n, size_t size) { return refused() ? NULL : calloc(n, size); }
void *coro__aio_realloc(void *ptr, size_t size) { return refused() ? NULL : realloc(ptr, size); }
char *coro__aio_strdup(const char *s) { return refused() ? NULL : strdup(s); }

#else
typedef int coro__aio_alloc_unused; /* ISO C forbids an empty translation unit */
#endif
