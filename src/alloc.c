/* alloc.c - the replaceable allocator behind every internal allocation.
 * SPDX-License-Identifier: MIT
 */
#include "coro_int.h"

#include <stdlib.h>

static void *default_alloc(void *udata, size_t size)
{
    (void)udata;
    return malloc(size);
}

static void default_free(void *udata, void *ptr, size_t size)
{
    (void)udata;
    (void)size;
    free(ptr);
}

/* Process-wide; the header asks callers to set it before creating coroutines,
 * so it is read without synchronisation. */
static coro_allocator allocator = {default_alloc, default_free, NULL};

int coro_set_allocator(const coro_allocator *a)
{
    if (a == NULL) {
        allocator = (coro_allocator){default_alloc, default_free, NULL};
        return CORO_OK;
    }
    if (a->alloc == NULL || a->free == NULL)
        return coro__fail(CORO_EINVAL, "coro_set_allocator: alloc and free are both required");
    allocator = *a;
    return CORO_OK;
}

void *coro__alloc(size_t size) { return allocator.alloc(allocator.udata, size); }

void coro__free(void *ptr, size_t size)
{
    if (ptr != NULL)
        allocator.free(allocator.udata, ptr, size);
}
