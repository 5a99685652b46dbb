/* stack.h - coroutine stacks: mapped, lazily committed, guarded.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_STACK_H
#define CORO_STACK_H

#include <stddef.h>

/* A mapped stack. The mapping is [map, map + map_size): one PROT_NONE guard
 * page at the bottom, then `size` usable bytes starting at `lo`. Pages are
 * committed by the kernel on first touch (MAP_NORESERVE), so an unused
 * 256 KiB stack costs one or two resident pages. lo == NULL: no stack. */
typedef struct coro__stack {
    void *map;
    size_t map_size;
    void *lo;
    size_t size;
    unsigned valgrind_id; /* Valgrind's stack id, 0 when not under Valgrind */
} coro__stack;

/* Rounds `requested` up to whole pages (at least CORO_MIN_STACK_SIZE) and maps
 * it with a guard page. Returns CORO_OK, CORO_EINVAL (too large to round or
 * map) or CORO_ENOMEM (mmap/mprotect failed; coro_last_error() says why). */
int coro__stack_alloc(coro__stack *st, size_t requested);
/* Unmaps the stack; a no-op on an empty one. Never call it for the stack the
 * caller is running on. */
void coro__stack_free(coro__stack *st);
size_t coro__page_size(void);

/* Fault injection for the test suite (only in builds with CORO_TESTING):
 * after `n` more successful mappings, every mapping fails; -1 turns it off. */
void coro__testing_fail_map_after(long n);
/* Stacks mapped and not yet unmapped, process-wide (CORO_TESTING only). */
long coro__testing_live_stacks(void);

#endif /* CORO_STACK_H */
