/* stack.c - stack allocation: page rounding, guard pages, Valgrind registration.
 * SPDX-License-Identifier: MIT
 */

#include "stack.h"

#include "coro_int.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORO_HAVE_VALGRIND 1
#endif
#endif

#ifdef CORO_TESTING
#include <stdatomic.h>
static _Atomic long fail_after = -1;
static _Atomic long live_stacks;
void coro__testing_fail_map_after(long n) { atomic_store(&fail_after, n); }
long coro__testing_live_stacks(void) { return atomic_load(&live_stacks); }
/* True when the injected fault says this mapping must fail. */
static int injected_failure(void)
{
    long n = atomic_load(&fail_after);
    if (n < 0)
        return 0;
    if (n == 0)
        return 1;
    atomic_store(&fail_after, n - 1);
    return 0;
}
#define COUNT_STACK(d) atomic_fetch_add(&live_stacks, (d))
#else
void coro__testing_fail_map_after(long n) { (void)n; }
long coro__testing_live_stacks(void) { return -1; }
#define injected_failure() 0
#define COUNT_STACK(d) ((void)0)
#endif

size_t coro__page_size(void)
{
    static size_t page; /* a benign race: every thread stores the same value */
    if (page == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096u;
    }
    return page;
}

int coro__stack_alloc(coro__stack *st, size_t requested)
{
    size_t page = coro__page_size();
    if (requested < CORO_MIN_STACK_SIZE)
        requested = CORO_MIN_STACK_SIZE;
    /* Round up to whole pages, refusing sizes where the rounding or the guard
     * page would overflow size_t. */
    if (requested > SIZE_MAX - 2 * page)
        return coro__fail(CORO_EINVAL, "stack size %zu is too large to map", requested);
    size_t size = (requested + page - 1) / page * page;
    size_t map_size = size + page;

    void *map = MAP_FAILED;
    if (!injected_failure())
        map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    else
        errno = ENOMEM;
    if (map == MAP_FAILED) {
        int e = errno;
        return coro__fail(CORO_ENOMEM,
                          "could not map a %zu-byte coroutine stack: %s (if many coroutines "
                          "are alive, the process may have hit the kernel's limit on "
                          "mappings, vm.max_map_count; destroy coroutines or use smaller "
                          "stacks)",
                          size, strerror(e));
    }
    /* The lowest page is the guard: a body that overruns its stack faults here
     * instead of writing into whatever lies below. */
    if (mprotect(map, page, PROT_NONE) != 0) {
        int e = errno;
        munmap(map, map_size);
        return coro__fail(CORO_ENOMEM,
                          "could not protect the guard page of a coroutine stack: %s (the "
                          "process may have hit vm.max_map_count, the kernel's limit on "
                          "mappings; destroy coroutines or raise the limit)",
                          strerror(e));
    }
    st->map = map;
    st->map_size = map_size;
    st->lo = (char *)map + page;
    st->size = size;
    st->valgrind_id = 0;
#ifdef CORO_HAVE_VALGRIND
    st->valgrind_id = VALGRIND_STACK_REGISTER(st->lo, (char *)st->lo + size);
#endif
    COUNT_STACK(1);
    return CORO_OK;
}

void coro__stack_free(coro__stack *st)
{
    if (st->lo == NULL)
        return;
#ifdef CORO_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(st->valgrind_id);
#endif
    munmap(st->map, st->map_size);
    COUNT_STACK(-1);
    st->map = st->lo = NULL;
    st->map_size = st->size = 0;
}
