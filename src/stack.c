/* stack.c - stack allocation: page rounding, guard pages, compact arenas,
 * the per-thread pool, and registration with ASan and Valgrind.
 * SPDX-License-Identifier: MIT
 */
#include "stack.h"

#include "coro_int.h"
#include "sanitizer.h"
#ifdef CORO_VALGRIND
#include <valgrind/memcheck.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Test hooks                                                               */
/* ------------------------------------------------------------------------ */

#ifdef CORO_TESTING
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

/* mmap, or the injected failure. */
static void *map_anon(size_t size)
{
    if (injected_failure()) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return mmap(NULL, size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
}

size_t coro__page_size(void)
{
    /* Every thread computes and stores the same value; atomic so that this is
     * not a data race. */
    static _Atomic size_t page;
    size_t p = atomic_load_explicit(&page, memory_order_relaxed);
    if (p == 0) {
        long sys = sysconf(_SC_PAGESIZE);
        p = sys > 0 ? (size_t)sys : 4096u;
        atomic_store_explicit(&page, p, memory_order_relaxed);
    }
    return p;
}

static int map_failed(size_t size, int err)
{
    return coro__fail(CORO_ENOMEM,
                      "could not map a %zu-byte coroutine stack: %s (with many coroutines "
                      "alive the process may have hit vm.max_map_count, the kernel's limit "
                      "on mappings, at about two per guarded stack; use compact stacks "
                      "(CORO_STACK_COMPACT), raise the limit, or destroy coroutines)",
                      size, strerror(err));
}

/* ------------------------------------------------------------------------ */
/* Guarded stacks: one mapping each                                         */
/* ------------------------------------------------------------------------ */

static int guarded_map(coro__stack *st, size_t size)
{
    size_t page = coro__page_size();
    size_t map_size = size + page;
    void *map = map_anon(map_size);
    if (map == MAP_FAILED)
        return map_failed(size, errno);
    /* The lowest page is the guard: a body that overruns its stack faults
     * there instead of writing into whatever lies below. */
    if (mprotect(map, page, PROT_NONE) != 0) {
        int e = errno;
        munmap(map, map_size);
        return map_failed(size, e);
    }
    st->map = map;
    st->map_size = map_size;
    st->lo = (char *)map + page;
    st->size = size;
    st->arena = NULL;
    st->mode = CORO_STACK_GUARDED;
    return CORO_OK;
}

/* ------------------------------------------------------------------------ */
/* Compact stacks: slots of shared arenas                                   */
/* ------------------------------------------------------------------------ */

/* An arena: one mapping of a guard page and `nslots` slots of `slot_size`.
 * free_idx is a stack of free slot numbers; arenas with a free slot are on
 * the `open` list. Everything here is under arena_lock. Arenas are process
 * infrastructure, so their bookkeeping uses plain malloc, not the user's
 * allocator; an arena whose slots are all free is unmapped at once. */
typedef struct arena {
    struct arena *next, *prev;
    char *base;
    size_t map_size, slot_size;
    unsigned nslots, nfree;
    bool open;
    unsigned free_idx[];
} arena;

#define ARENA_BYTES ((size_t)64 << 20)

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static arena *open_arenas;

static void arena_unlist(arena *a)
{
    if (!a->open)
        return;
    if (a->prev != NULL)
        a->prev->next = a->next;
    else
        open_arenas = a->next;
    if (a->next != NULL)
        a->next->prev = a->prev;
    a->next = a->prev = NULL;
    a->open = false;
}

static void arena_list(arena *a)
{
    if (a->open)
        return;
    a->prev = NULL;
    a->next = open_arenas;
    if (open_arenas != NULL)
        open_arenas->prev = a;
    open_arenas = a;
    a->open = true;
}

static arena *arena_new(size_t slot_size)
{
    size_t page = coro__page_size();
    size_t nslots = ARENA_BYTES / slot_size;
    if (nslots < 16)
        nslots = 16;
    arena *a = malloc(sizeof *a + nslots * sizeof a->free_idx[0]);
    if (a == NULL) {
        coro__fail(CORO_ENOMEM, "could not allocate the bookkeeping of a compact stack arena");
        return NULL;
    }
    size_t map_size = page + nslots * slot_size;
    void *map = map_anon(map_size);
    if (map == MAP_FAILED) {
        map_failed(slot_size, errno);
        free(a);
        return NULL;
    }
    /* One guard page per arena: the lowest slot overrunning faults. */
    mprotect(map, page, PROT_NONE);
    memset(a, 0, sizeof *a);
    a->base = map;
    a->map_size = map_size;
    a->slot_size = slot_size;
    a->nslots = a->nfree = (unsigned)nslots;
    /* Pop order hands out the highest slot first, so a fresh arena fills from
     * the top down and a slot's overrun lands in a still-free slot below. */
    for (unsigned i = 0; i < nslots; i++)
        a->free_idx[i] = i;
    return a;
}

static int compact_take(coro__stack *st, size_t slot_size)
{
    pthread_mutex_lock(&arena_lock);
    arena *a = open_arenas;
    while (a != NULL && a->slot_size != slot_size)
        a = a->next;
    if (a == NULL) {
        a = arena_new(slot_size);
        if (a == NULL) {
            pthread_mutex_unlock(&arena_lock);
            return CORO_ENOMEM;
        }
        arena_list(a);
    }
    unsigned idx = a->free_idx[--a->nfree];
    if (a->nfree == 0)
        arena_unlist(a);
    pthread_mutex_unlock(&arena_lock);

    char *slot = a->base + coro__page_size() + (size_t)idx * slot_size;
    st->map = slot;
    st->map_size = slot_size;
    st->arena = a;
    st->lo = slot + CORO__CANARY_BYTES;
    st->size = slot_size - CORO__CANARY_BYTES;
    st->mode = CORO_STACK_COMPACT;
    return CORO_OK;
}

static void compact_give_back(coro__stack *st)
{
    arena *a = st->arena;
    /* Hand the slot's memory back; it reads as zeros again, canary included. */
    madvise(st->map, st->map_size, MADV_DONTNEED);
    unsigned idx = (unsigned)(((char *)st->map - a->base - coro__page_size()) / a->slot_size);
    pthread_mutex_lock(&arena_lock);
    a->free_idx[a->nfree++] = idx;
    if (a->nfree == a->nslots) {
        arena_unlist(a);
        munmap(a->base, a->map_size);
        free(a);
    } else {
        arena_list(a);
    }
    pthread_mutex_unlock(&arena_lock);
}

bool coro__stack_canary_ok(const coro__stack *st)
{
    const uint64_t *w = st->map;
#ifdef CORO_VALGRIND
    /* After an overrun and return, Memcheck marks the canary as below the
     * stack pointer; reading it is this check's whole point. */
    VALGRIND_MAKE_MEM_DEFINED(st->map, CORO__CANARY_BYTES);
#endif
    uint64_t any = 0;
    for (unsigned i = 0; i < CORO__CANARY_BYTES / sizeof *w; i++)
        any |= w[i];
    return any == 0;
}

/* ------------------------------------------------------------------------ */
/* The per-thread pool                                                      */
/* ------------------------------------------------------------------------ */

/* Freed stacks wait here for the next create on the same thread, so that a
 * create/destroy cycle costs no system call. The first POOL_HOT entries keep
 * their memory; entries past that are madvise'd back to the kernel (the
 * mapping stays, so reuse is still cheap). Past the capacity, stacks go back
 * for good. A thread's pool is emptied when the thread exits. */
#define POOL_LIMIT 64
#define POOL_HOT 16

typedef struct pool {
    coro__stack items[POOL_LIMIT];
    unsigned count;
    bool registered;
} pool;

static _Thread_local pool thread_pool;
static size_t pool_capacity = POOL_LIMIT; /* process-wide, set before use */
static pthread_key_t pool_key;
static pthread_once_t pool_key_once = PTHREAD_ONCE_INIT;

static void release(coro__stack *st);

static void pool_drain(pool *p)
{
    while (p->count > 0)
        release(&p->items[--p->count]);
}

static void pool_thread_exit(void *p) { pool_drain(p); }

static void pool_make_key(void) { pthread_key_create(&pool_key, pool_thread_exit); }

int coro_set_stack_pool_size(size_t n)
{
    if (n > POOL_LIMIT)
        return coro__fail(CORO_EINVAL, "coro_set_stack_pool_size: at most %d stacks per thread",
                          POOL_LIMIT);
    pool_capacity = n;
    return CORO_OK;
}

void coro_stack_pool_trim(void) { pool_drain(&thread_pool); }

static bool pool_take(coro__stack *st, size_t size, int mode)
{
    pool *p = &thread_pool;
    for (unsigned i = p->count; i-- > 0;) {
        coro__stack *it = &p->items[i];
        if (it->mode == mode && it->size == size) {
            *st = *it;
            *it = p->items[--p->count];
            return true;
        }
    }
    return false;
}

static bool pool_put(const coro__stack *st)
{
    pool *p = &thread_pool;
    if (p->count >= pool_capacity)
        return false;
    if (!p->registered) {
        pthread_once(&pool_key_once, pool_make_key);
        pthread_setspecific(pool_key, p);
        p->registered = true;
    }
    if (p->count >= POOL_HOT)
        madvise(st->mode == CORO_STACK_GUARDED ? st->lo : st->map,
                st->mode == CORO_STACK_GUARDED ? st->size : st->map_size, MADV_DONTNEED);
    p->items[p->count++] = *st;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Handing stacks out and taking them back                                  */
/* ------------------------------------------------------------------------ */

static void tools_register(coro__stack *st)
{
    st->valgrind_id = 0;
#ifdef CORO_VALGRIND
    st->valgrind_id = VALGRIND_STACK_REGISTER(st->lo, (char *)st->lo + st->size);
#endif
}

static void tools_unregister(coro__stack *st)
{
#ifdef CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(st->valgrind_id);
#endif
#ifdef CORO_ASAN
    /* Frames abandoned by a raise leave poisoned redzones behind; the next
     * user of this memory must not trip over them. */
    ASAN_UNPOISON_MEMORY_REGION(st->lo, st->size);
#endif
    (void)st;
}

int coro__stack_alloc(coro__stack *st, size_t requested, int mode)
{
    size_t page = coro__page_size();
    if (requested < CORO_MIN_STACK_SIZE)
        requested = CORO_MIN_STACK_SIZE;
    /* Round up to whole pages, refusing sizes where the rounding, the guard
     * page or an arena would overflow size_t. */
    if (requested > SIZE_MAX / 4 - 2 * page)
        return coro__fail(CORO_EINVAL, "stack size %zu is too large to map", requested);
    size_t size = (requested + page - 1) / page * page;
    int rc;
    if (mode == CORO_STACK_COMPACT) {
        /* The slot is the rounded size; its lowest bytes are the canary, so
         * a 16 KiB compact stack packs into exactly 16 KiB. */
        if (pool_take(st, size - CORO__CANARY_BYTES, mode))
            rc = CORO_OK;
        else
            rc = compact_take(st, size);
    } else {
        rc = pool_take(st, size, CORO_STACK_GUARDED) ? CORO_OK : guarded_map(st, size);
    }
    if (rc != CORO_OK)
        return rc;
    tools_register(st);
    COUNT_STACK(1);
    return CORO_OK;
}

static void release(coro__stack *st)
{
    if (st->mode == CORO_STACK_COMPACT)
        compact_give_back(st);
    else
        munmap(st->map, st->map_size);
}

void coro__stack_free(coro__stack *st)
{
    if (st->lo == NULL)
        return;
    tools_unregister(st);
    COUNT_STACK(-1);
    if (!pool_put(st))
        release(st);
    memset(st, 0, sizeof *st);
}

size_t coro__stack_used(const coro__stack *st)
{
    if (st->lo == NULL)
        return 0;
    size_t page = coro__page_size();
    size_t npages = st->size / page;
    char *top = (char *)st->lo + st->size;
    /* Pages are committed on first touch and a stack grows down from the
     * top, so the run of resident pages below the top is what was used.
     * mincore is asked about up to RESIDENCY_CHUNK pages per call, from the
     * top down: one system call for any stack that used less than that
     * (a call per page would cost a system call per page used). */
    enum { RESIDENCY_CHUNK = 256 };
    unsigned char resident[RESIDENCY_CHUNK];
    size_t used_pages = 0;
    while (used_pages < npages) {
        size_t n = npages - used_pages < RESIDENCY_CHUNK ? npages - used_pages : RESIDENCY_CHUNK;
        char *lo = top - (used_pages + n) * page;
        if (mincore(lo, n * page, resident) != 0)
            break;
        /* resident[n - 1] is the page just below what is counted so far. */
        size_t run = 0;
        while (run < n && (resident[n - 1 - run] & 1))
            run++;
        used_pages += run;
        if (run < n)
            break;
    }
    size_t used = used_pages * page;
    return used < st->size ? used : st->size;
}
