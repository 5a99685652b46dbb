/* stack.h - coroutine stacks: guarded or compact, cached per thread.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_STACK_H
#define CORO_STACK_H

#include <stdbool.h>
#include <stddef.h>

/* A stack handed to a coroutine. Usable memory is [lo, lo + size).
 *
 * Guarded mode: its own mapping [map, map + map_size): one PROT_NONE guard
 * page at the bottom, then `size` bytes. A body that runs off the bottom
 * faults in the guard page instead of writing into a neighbour.
 *
 * Compact mode: a slot of a large shared mapping (an arena), no guard page.
 * lo is the slot's bottom and the stack ends CORO__CANARY_BYTES below the
 * slot's top: those top bytes are the canary of the slot above. A stack's
 * own canary is therefore the top of the slot below (for an arena's lowest
 * slot, the top of the arena's canary page, itself above a guard page).
 * The canary stays zero unless the body overruns its stack, which
 * coro__stack_canary_ok notices on the next switch out. Reading it touches
 * the top page of the slot below, which that slot's own first frame keeps
 * resident when it is in use, not a page of this stack's own: on a kernel
 * that commits a page for a read of an untouched one (rather than mapping
 * its shared zero page), a check at the slot's own bottom would cost every
 * compact coroutine a second resident page.
 *
 * Either way pages are committed by the kernel on first touch, so an unused
 * stack costs almost nothing resident. lo == NULL: no stack. */
typedef struct coro__stack {
    void *lo;
    size_t size;
    void *map;            /* guarded: the mapping; compact: the slot */
    size_t map_size;      /* guarded: mapping size; compact: slot size */
    void *arena;          /* compact: the arena the slot belongs to */
    unsigned char mode;   /* CORO_STACK_GUARDED or CORO_STACK_COMPACT */
    unsigned valgrind_id; /* Valgrind's stack id, 0 when not under Valgrind */
} coro__stack;

#define CORO__CANARY_BYTES 64u

/* Gives st a stack of at least `requested` usable bytes in `mode`, from this
 * thread's cache when one fits (no system call), else freshly mapped. Returns
 * CORO_OK, CORO_EINVAL (above CORO_MAX_STACK_SIZE) or CORO_ENOMEM (the
 * mapping failed; coro_last_error() names the cause). */
int coro__stack_alloc(coro__stack *st, size_t requested, int mode);
/* Takes the stack back (into this thread's cache, memory and all, or to the
 * kernel past the cache's bounds); a no-op on an empty one. No system call
 * when the cache takes it. Never call it for the stack the caller is
 * running on. */
void coro__stack_free(coro__stack *st);
/* Compact mode: false when the canary below the stack was written. */
bool coro__stack_canary_ok(const coro__stack *st);
/* Compact mode: the CORO__CANARY_BYTES just below the stack (for prefetching
 * and for coro__stack_canary_ok). */
static inline const void *coro__stack_canary(const coro__stack *st)
{
    return (const char *)st->map - CORO__CANARY_BYTES;
}
/* Bytes of the stack touched so far, from the top down to the lowest touched
 * page (never less than was used; whole pages, so up to a page more, and
 * more for a stack reused from the cache). One mincore system call for
 * stacks up to 1 MiB (4 KiB pages), one more per further MiB scanned. */
size_t coro__stack_used(const coro__stack *st);
size_t coro__page_size(void);

/* Once a sweep finds stacks idle for a whole period, every cache operation
 * (a create or destroy that takes or gives a stack) hands back at most this
 * many of them (stack.c, "The stack cache"). */
#define CORO__CACHE_RELEASE_BATCH 8u

/* Fault injection for the test suite (only in builds with CORO_TESTING):
 * after `n` more successful mappings, every mapping fails; -1 turns it off. */
void coro__testing_fail_map_after(long n);
/* Stacks handed out and not yet taken back (cached ones do not count),
 * process-wide (CORO_TESTING only; -1 otherwise). */
long coro__testing_live_stacks(void);
/* Stacks of `mode` in this thread's cache (CORO_TESTING only; -1 otherwise). */
long coro__testing_cached_stacks(int mode);
/* NULL when this thread's stack cache is consistent (ring bounds, doomed and
 * low-water marks within each list's count, totals equal to the lists'
 * sums, every cached stack in its own list); else what is wrong (always
 * NULL without CORO_TESTING). */
const char *coro__testing_cache_invariants(void);

#endif /* CORO_STACK_H */
