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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
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
                      "could not map a %zu-byte coroutine stack: %s (the process may have hit "
                      "vm.max_map_count, the kernel's limit on mappings: two per guarded "
                      "stack, cached ones too; use compact stacks (CORO_STACK_COMPACT), raise "
                      "the limit, destroy coroutines or call coro_stack_pool_trim)",
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

/* An arena: one mapping of a guard page, the canary page (ARENA_HEAD_PAGES)
 * and `nslots` slots of `slot_size`.
 * free_idx is a stack of free slot numbers; arenas with a free slot are on
 * the `open` list. Everything here is under arena_lock. Arenas are process
 * infrastructure, so their bookkeeping uses plain malloc, not the user's
 * allocator. An arena whose slots are all free becomes the `spare` (the
 * spare before it is unmapped): the next arena wanted for that slot size is
 * the spare, so a program whose compact stacks come and go in bursts does
 * not map and unmap an arena each time. */
typedef struct arena {
    struct arena *next, *prev;
    char *base;
    size_t map_size, slot_size;
    unsigned nslots, nfree;
    bool open;
    unsigned free_idx[];
} arena;

#define ARENA_BYTES ((size_t)64 << 20)
/* Pages below an arena's first slot: a guard page, then the canary page,
 * whose top CORO__CANARY_BYTES are the canary of slot 0 (every other slot's
 * canary is the top of the slot below it; stack.h). */
#define ARENA_HEAD_PAGES 2u

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static arena *open_arenas;
static arena *spare; /* all slots free, not on the open list; or NULL */

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
    size_t map_size = ARENA_HEAD_PAGES * page + nslots * slot_size;
    void *map = map_anon(map_size);
    if (map == MAP_FAILED) {
        map_failed(slot_size, errno);
        free(a);
        return NULL;
    }
    /* One guard page per arena, below the canary page: the lowest slot
     * overrunning past its canary faults. */
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
    if (a == NULL && spare != NULL && spare->slot_size == slot_size) {
        a = spare;
        spare = NULL;
        arena_list(a);
    }
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

    char *slot = a->base + ARENA_HEAD_PAGES * coro__page_size() + (size_t)idx * slot_size;
    st->map = slot;
    st->map_size = slot_size;
    st->arena = a;
    /* The slot's top CORO__CANARY_BYTES are the canary of the slot above
     * (stack.h); its own canary is the top of the slot below. */
    st->lo = slot;
    st->size = slot_size - CORO__CANARY_BYTES;
    st->mode = CORO_STACK_COMPACT;
    return CORO_OK;
}

/* True when the CORO__CANARY_BYTES at p (a canary: 8-byte aligned) are all
 * zero. */
static bool canary_clear(const void *p)
{
    const uint64_t *w = p;
#ifdef CORO_VALGRIND
    /* After an overrun and return, Memcheck marks the canary as below the
     * stack pointer; reading it is this check's whole point. */
    if (coro__on_valgrind())
        VALGRIND_MAKE_MEM_DEFINED(w, CORO__CANARY_BYTES);
#endif
    uint64_t any = 0;
    for (unsigned i = 0; i < CORO__CANARY_BYTES / sizeof *w; i++)
        any |= w[i];
    return any == 0;
}

static void compact_give_back(coro__stack *st)
{
    arena *a = st->arena;
    /* The slot's top bytes are the canary of the slot above, and handing the
     * memory back zeroes them. Written, they record an overrun by the
     * coroutine above that its next switch out has not yet caught (it would
     * have aborted): that coroutine is running now, on this thread or
     * another. Check them first, so that the give-back cannot erase it. */
    if (!canary_clear((const char *)st->map + st->map_size - CORO__CANARY_BYTES)) {
        fprintf(stderr,
                "libcoro: stack overflow in a running coroutine: it overran its compact stack "
                "of %zu bytes (the canary below the stack was overwritten; found when the "
                "slot below it was handed back); give it a larger stack_size or a guarded "
                "stack\n",
                st->size);
        abort();
    }
    /* Hand the slot's memory back; it reads as zeros again. */
    madvise(st->map, st->map_size, MADV_DONTNEED);
    unsigned idx = (unsigned)(((char *)st->map - a->base - ARENA_HEAD_PAGES * coro__page_size()) /
                              a->slot_size);
    arena *unmap = NULL;
    pthread_mutex_lock(&arena_lock);
    a->free_idx[a->nfree++] = idx;
    if (a->nfree == a->nslots) {
        arena_unlist(a);
        unmap = spare;
        spare = a;
    } else {
        arena_list(a);
    }
    pthread_mutex_unlock(&arena_lock);
    if (unmap != NULL) {
        munmap(unmap->base, unmap->map_size);
        free(unmap);
    }
}

bool coro__stack_canary_ok(const coro__stack *st) { return canary_clear(coro__stack_canary(st)); }

/* ------------------------------------------------------------------------ */
/* The stack cache                                                          */
/* ------------------------------------------------------------------------ */

/* Freed stacks wait in the freeing thread's cache for the next create of the
 * same mode and size on that thread, memory and all, so that creating and
 * destroying coroutines, one at a time or in bursts of tens of thousands,
 * costs no system call once the cache holds what the program uses.
 *
 * - Each thread's cache is reached through one thread-local pointer and is
 *   touched only by its thread: no lock on the hot path. It holds up to
 *   CACHE_CLASSES lists, one per (mode, size), each a LIFO ring.
 * - Bounds. Guarded stacks: process-wide, because each costs two of the
 *   kernel's mappings (vm.max_map_count); the default is a third of that
 *   limit, read once. An atomic counts the places threads have reserved,
 *   CREDIT_CHUNK at a time (one at a time near the limit), and a thread
 *   caches a guarded stack only in a place it holds: the stacks cached never
 *   exceed the limit, and the atomic is touched about once per CREDIT_CHUNK
 *   gives, not on every give and take. Compact stacks: per thread (a slot
 *   costs no mapping). A stack freed past its bound goes back at once.
 * - Idle stacks go back. Every SWEEP_EVERY cache operations the thread reads
 *   the coarse monotonic clock (the vDSO: no system call). Each list keeps
 *   its low-water mark, the fewest stacks it held since the last sweep; the
 *   ones below that mark were not used for a whole period. Once idle_ms have
 *   passed since the last sweep, those are doomed and the marks reset; every
 *   cache operation then hands back up to CORO__CACHE_RELEASE_BATCH doomed stacks, so
 *   that no single create or destroy pays for a whole idle burst (a system
 *   call of a few microseconds per stack). A doomed stack that a create
 *   takes first is simply in use again. A stack therefore goes back after
 *   one to two periods without use, as long as the thread keeps creating or
 *   destroying coroutines; a thread that stops keeps its cache until
 *   coro_stack_pool_trim or its exit.
 * - Handing back: guarded stacks are unmapped; compact slots are madvise'd
 *   (their memory reads as zeros again, the canary of the slot above
 *   included, once compact_give_back has checked it) and return to their
 *   arena. The list arrays come from plain malloc, like the arenas'
 *   bookkeeping: process infrastructure, not the user's allocator. */
#define CACHE_CLASSES 8
#define SWEEP_EVERY 256
#define DEFAULT_COMPACT_LIMIT 32768u
#define DEFAULT_IDLE_MS 1000u
#define DEFAULT_MAX_MAP_COUNT 65530u
#define CREDIT_CHUNK 64u

/* A list is a ring of cap items (a power of two, or 0): the k-th oldest
 * item is items[(first + k) & (cap - 1)] (list_at), so that handing back
 * the oldest ones, a few at a time, moves no memory. */
typedef struct cache_list {
    coro__stack *items;
    size_t first;       /* ring index of the oldest item */
    size_t count, cap;  /* list_at(l, count - 1) is the most recently cached */
    size_t low;         /* the fewest items held since the last sweep */
    size_t doomed;      /* the oldest `doomed` items sat unused for a whole
                           period and go back a few per cache operation
                           (hand_back_some); always <= count */
    size_t size;        /* usable size of every stack here */
    unsigned char mode; /* 0: the list is free for any (mode, size) */
} cache_list;

typedef struct thread_cache {
    cache_list lists[CACHE_CLASSES];
    size_t compact_count; /* compact stacks in this cache */
    size_t guarded_count; /* guarded stacks in this cache */
    size_t credit;        /* places for guarded stacks reserved in `reserved`;
                             always >= guarded_count */
    size_t limit_seen;    /* the guarded limit at this thread's last give */
    size_t doomed;        /* the lists' doomed items, summed */
    unsigned ops;         /* cache operations since the clock was last read */
    long long swept_ms;   /* coarse clock at the last sweep; 0 = never */
} thread_cache;

static coro__stack *list_at(const cache_list *l, size_t k)
{
    return &l->items[(l->first + k) & (l->cap - 1)];
}

static _Thread_local thread_cache *tcache __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;

/* SIZE_MAX until decided: set by coro_set_stack_cache_limit, or on first use
 * from vm.max_map_count. */
static _Atomic size_t guarded_limit = SIZE_MAX;
static _Atomic size_t reserved; /* places for guarded stacks held by all caches */
static _Atomic size_t compact_limit = DEFAULT_COMPACT_LIMIT;
static _Atomic unsigned idle_ms = DEFAULT_IDLE_MS;
static _Atomic size_t max_map_count;
static pthread_once_t map_count_once = PTHREAD_ONCE_INIT;

static void read_max_map_count(void)
{
    size_t n = DEFAULT_MAX_MAP_COUNT;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f != NULL) {
        unsigned long v = 0;
        if (fscanf(f, "%lu", &v) == 1 && v > 0)
            n = v;
        fclose(f);
    }
    atomic_store(&max_map_count, n);
}

/* The kernel's limit on mappings, read once per process. */
static size_t map_limit(void)
{
    pthread_once(&map_count_once, read_max_map_count);
    return atomic_load(&max_map_count);
}

static size_t guarded_limit_now(void)
{
    size_t l = atomic_load_explicit(&guarded_limit, memory_order_relaxed);
    if (l != SIZE_MAX)
        return l;
    size_t want = map_limit() / 3;
    /* A limit set meanwhile by coro_set_stack_cache_limit wins. */
    atomic_compare_exchange_strong(&guarded_limit, &l, want);
    return atomic_load(&guarded_limit);
}

static void release(coro__stack *st);

static void uncount(const coro__stack *st, thread_cache *tc)
{
    if (st->mode == CORO_STACK_GUARDED)
        tc->guarded_count--;
    else
        tc->compact_count--;
}

/* Returns reserved places this thread holds beyond `keep` more than its
 * guarded stacks need. */
static void credit_return(thread_cache *tc, size_t keep)
{
    if (tc->credit > tc->guarded_count + keep) {
        size_t n = tc->credit - tc->guarded_count - keep;
        atomic_fetch_sub_explicit(&reserved, n, memory_order_relaxed);
        tc->credit -= n;
    }
}

/* Reserves n more places if the limit allows. */
static bool credit_reserve(thread_cache *tc, size_t n, size_t limit)
{
    size_t had = atomic_fetch_add_explicit(&reserved, n, memory_order_relaxed);
    if (had + n <= limit && had + n >= had) {
        tc->credit += n;
        return true;
    }
    atomic_fetch_sub_explicit(&reserved, n, memory_order_relaxed);
    return false;
}

/* Hands back the n oldest stacks of a list (n <= count). They sat at the
 * bottom of the list, below its low-water mark if they were doomed, so the
 * mark drops with them. */
static void list_release_oldest(thread_cache *tc, cache_list *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        coro__stack *st = list_at(l, 0);
        uncount(st, tc);
        release(st);
        l->first = (l->first + 1) & (l->cap - 1);
        l->count--;
    }
    size_t d = n < l->doomed ? n : l->doomed;
    l->doomed -= d;
    tc->doomed -= d;
    l->low -= n < l->low ? n : l->low;
    if (l->count == 0)
        l->first = 0;
}

/* Hands back up to CORO__CACHE_RELEASE_BATCH doomed stacks. Called by every cache
 * operation while some are doomed, so that a large idle cache drains over
 * a few thousand operations instead of stalling the one that noticed it
 * (20 000 guarded stacks took 91 ms in one destroy before). */
static void hand_back_some(thread_cache *tc)
{
    size_t budget = CORO__CACHE_RELEASE_BATCH;
    for (unsigned i = 0; i < CACHE_CLASSES && budget > 0; i++) {
        cache_list *l = &tc->lists[i];
        size_t n = l->doomed < budget ? l->doomed : budget;
        list_release_oldest(tc, l, n);
        budget -= n;
    }
    /* The places of guarded stacks handed back, as a take does: a thread
     * that only gives would otherwise hold them until its next sweep. */
    if (tc->credit > tc->guarded_count + 2 * CREDIT_CHUNK)
        credit_return(tc, CREDIT_CHUNK);
}

static void cache_drain(thread_cache *tc)
{
    for (unsigned i = 0; i < CACHE_CLASSES; i++) {
        cache_list *l = &tc->lists[i];
        list_release_oldest(tc, l, l->count);
        free(l->items);
        memset(l, 0, sizeof *l);
    }
    credit_return(tc, 0);
}

static void cache_thread_exit(void *p)
{
    thread_cache *tc = p;
    cache_drain(tc);
    if (tcache == tc)
        tcache = NULL;
    free(tc);
}

static void cache_make_key(void) { pthread_key_create(&cache_key, cache_thread_exit); }

/* This thread's cache, made (and its exit hook registered) on first use;
 * NULL if it could not be allocated. */
static thread_cache *cache_get(void)
{
    thread_cache *tc = tcache;
    if (tc != NULL)
        return tc;
    tc = calloc(1, sizeof *tc);
    if (tc == NULL)
        return NULL;
    pthread_once(&cache_key_once, cache_make_key);
    if (pthread_setspecific(cache_key, tc) != 0) {
        free(tc);
        return NULL;
    }
    tcache = tc;
    return tc;
}

static long long coarse_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
#endif
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Dooms what sat below each list's low-water mark for a whole period:
 * hand_back_some then returns it, a batch per cache operation. */
static void cache_sweep(thread_cache *tc)
{
    unsigned idle = atomic_load_explicit(&idle_ms, memory_order_relaxed);
    if (idle == 0)
        return;
    long long now = coarse_ms();
    if (tc->swept_ms != 0 && now - tc->swept_ms < (long long)idle)
        return;
    for (unsigned i = 0; i < CACHE_CLASSES; i++) {
        cache_list *l = &tc->lists[i];
        if (tc->swept_ms != 0 && l->low > l->doomed) {
            tc->doomed += l->low - l->doomed;
            l->doomed = l->low; /* low <= count: list_release_oldest keeps it so */
        }
        l->low = l->count;
    }
    credit_return(tc, CREDIT_CHUNK);
    tc->swept_ms = now;
}

static void cache_tick(thread_cache *tc)
{
    if (++tc->ops >= SWEEP_EVERY) {
        tc->ops = 0;
        cache_sweep(tc);
    }
    /* An idle period of 0 keeps every cached stack, doomed ones too. */
    if (tc->doomed != 0 && atomic_load_explicit(&idle_ms, memory_order_relaxed) != 0)
        hand_back_some(tc);
}

/* In a burst, the next create takes `next`, whose memory has gone cold:
 * start the page walk and the cache misses of its top frames (and of a
 * compact stack's canary, read at its first yield) now, while this
 * coroutine is being made and run. Prefetches never fault. PREFETCH_LINES
 * covers the frames a body's first resume and yield touch on the asm
 * backend (measured with spawn_burst_ns: about 15 % off a burst). */
enum { PREFETCH_LINES = 8 };
static void prefetch_next(const coro__stack *next)
{
    const char *top = (const char *)next->lo + next->size;
    for (unsigned i = 1; i <= PREFETCH_LINES; i++)
        __builtin_prefetch(top - 64 * i, 1, 3);
    if (next->mode == CORO_STACK_COMPACT)
        __builtin_prefetch(coro__stack_canary(next), 0, 3);
}

static bool cache_take(coro__stack *st, size_t size, int mode)
{
    thread_cache *tc = tcache;
    if (tc == NULL)
        return false;
    for (unsigned i = 0; i < CACHE_CLASSES; i++) {
        cache_list *l = &tc->lists[i];
        if (l->mode != mode || l->size != size || l->count == 0)
            continue;
        *st = *list_at(l, --l->count);
        if (l->count < l->low)
            l->low = l->count;
        if (l->count < l->doomed) { /* a doomed stack is in use again */
            tc->doomed -= l->doomed - l->count;
            l->doomed = l->count;
        }
        if (l->count > 0)
            prefetch_next(list_at(l, l->count - 1));
        uncount(st, tc);
        if (tc->credit > tc->guarded_count + 2 * CREDIT_CHUNK)
            credit_return(tc, CREDIT_CHUNK);
        cache_tick(tc);
        return true;
    }
    return false;
}

/* Counts st against its mode's bound; false (nothing counted) when full. */
static bool cache_admit(const coro__stack *st, thread_cache *tc)
{
    if (st->mode == CORO_STACK_GUARDED) {
        size_t limit = guarded_limit_now();
        if (limit != tc->limit_seen) {
            /* Spare places were reserved under another limit: a lowered
             * one (0 above all) must hold for this give already. */
            tc->limit_seen = limit;
            credit_return(tc, 0);
        }
        if (tc->guarded_count == tc->credit) {
            if (!credit_reserve(tc, CREDIT_CHUNK, limit) && !credit_reserve(tc, 1, limit))
                return false;
        }
        tc->guarded_count++;
        return true;
    }
    if (tc->compact_count >= atomic_load_explicit(&compact_limit, memory_order_relaxed))
        return false;
    tc->compact_count++;
    return true;
}

/* Doubles a full list's ring; false when out of memory (the list is
 * unchanged). realloc may keep the items where they are (glibc remaps a
 * large array rather than copying it), and only the ones that had wrapped
 * round to the start of the old array, the newest, move: to just past its
 * end, after the oldest. */
static bool list_grow(cache_list *l)
{
    size_t cap = l->cap ? l->cap * 2 : 16;
    coro__stack *items = realloc(l->items, cap * sizeof *items);
    if (items == NULL)
        return false;
    if (l->first + l->count > l->cap)
        memcpy(items + l->cap, items, (l->first + l->count - l->cap) * sizeof *items);
    l->items = items;
    l->cap = cap;
    return true;
}

static bool cache_put(const coro__stack *st)
{
    thread_cache *tc = cache_get();
    if (tc == NULL || !cache_admit(st, tc))
        return false;
    cache_list *l = NULL;
    for (unsigned i = 0; i < CACHE_CLASSES; i++) {
        cache_list *it = &tc->lists[i];
        if (it->mode == st->mode && it->size == st->size) {
            l = it;
            break;
        }
        if (l == NULL && it->count == 0)
            l = it; /* a free or empty list, if no list has this class */
    }
    if (l != NULL && (l->mode != st->mode || l->size != st->size)) {
        l->mode = st->mode;
        l->size = st->size;
        l->low = 0;
    }
    if (l != NULL && l->count == l->cap && !list_grow(l))
        l = NULL;
    if (l == NULL) {
        uncount(st, tc);
        return false;
    }
    *list_at(l, l->count++) = *st;
    cache_tick(tc);
    return true;
}

int coro_set_stack_cache_limit(int mode, size_t n)
{
    if (mode == CORO_STACK_GUARDED) {
        size_t most = map_limit() / 2;
        if (n > most)
            return coro__fail(CORO_EINVAL,
                              "coro_set_stack_cache_limit: at most %zu guarded stacks (half of "
                              "vm.max_map_count, since each costs two mappings)",
                              most);
        atomic_store(&guarded_limit, n);
        return CORO_OK;
    }
    if (mode == CORO_STACK_COMPACT) {
        atomic_store(&compact_limit, n);
        return CORO_OK;
    }
    return coro__fail(CORO_EINVAL,
                      "coro_set_stack_cache_limit: mode must be "
                      "CORO_STACK_GUARDED or CORO_STACK_COMPACT, not %d",
                      mode);
}

size_t coro_get_stack_cache_limit(int mode)
{
    if (mode == CORO_STACK_GUARDED)
        return guarded_limit_now();
    if (mode == CORO_STACK_COMPACT)
        return atomic_load(&compact_limit);
    return 0;
}

void coro_set_stack_cache_idle_ms(unsigned ms) { atomic_store(&idle_ms, ms); }

unsigned coro_get_stack_cache_idle_ms(void) { return atomic_load(&idle_ms); }

int coro_set_stack_pool_size(size_t n)
{
    if (n > 64)
        return coro__fail(CORO_EINVAL, "coro_set_stack_pool_size: at most 64 stacks; use "
                                       "coro_set_stack_cache_limit for larger caches");
    atomic_store(&guarded_limit, n);
    atomic_store(&compact_limit, n);
    return CORO_OK;
}

void coro_stack_pool_trim(void)
{
    if (tcache != NULL)
        cache_drain(tcache);
    coro__struct_cache_trim();
}

#ifdef CORO_TESTING
long coro__testing_cached_stacks(int mode)
{
    thread_cache *tc = tcache;
    long n = 0;
    for (unsigned i = 0; tc != NULL && i < CACHE_CLASSES; i++)
        if (tc->lists[i].mode == mode)
            n += (long)tc->lists[i].count;
    return n;
}

const char *coro__testing_cache_invariants(void)
{
    thread_cache *tc = tcache;
    if (tc == NULL)
        return NULL;
    size_t doomed = 0, guarded = 0, compact = 0;
    for (unsigned i = 0; i < CACHE_CLASSES; i++) {
        const cache_list *l = &tc->lists[i];
        if (l->cap & (l->cap - 1))
            return "a list's capacity is not a power of two";
        if (l->count > l->cap || (l->cap > 0 && l->first >= l->cap) || (l->cap == 0 && l->first))
            return "a list's first or count is outside its ring";
        if (l->doomed > l->count)
            return "a list dooms more stacks than it holds";
        if (l->low > l->count)
            return "a list's low-water mark is above its count";
        for (size_t k = 0; k < l->count; k++) {
            const coro__stack *st = list_at(l, k);
            if (st->lo == NULL || st->mode != l->mode || st->size != l->size)
                return "a cached stack is empty or in the wrong list";
        }
        doomed += l->doomed;
        if (l->mode == CORO_STACK_GUARDED)
            guarded += l->count;
        else if (l->mode == CORO_STACK_COMPACT)
            compact += l->count;
    }
    if (doomed != tc->doomed)
        return "the thread's doomed total is not the lists' sum";
    if (guarded != tc->guarded_count || compact != tc->compact_count)
        return "the thread's stack counts are not the lists' sums";
    if (tc->credit < tc->guarded_count)
        return "the thread holds fewer places than guarded stacks";
    return NULL;
}
#else
long coro__testing_cached_stacks(int mode)
{
    (void)mode;
    return -1;
}

const char *coro__testing_cache_invariants(void) { return NULL; }
#endif

/* ------------------------------------------------------------------------ */
/* Handing stacks out and taking them back                                  */
/* ------------------------------------------------------------------------ */

static void tools_register(coro__stack *st, bool reused)
{
    st->valgrind_id = 0;
#ifdef CORO_VALGRIND
    if (!coro__on_valgrind())
        return;
    st->valgrind_id = VALGRIND_STACK_REGISTER(st->lo, (char *)st->lo + st->size);
    /* A cached stack keeps its earlier user's bytes; to Memcheck they are
     * what they are to the new body: never written. */
    if (reused)
        VALGRIND_MAKE_MEM_UNDEFINED(st->lo, st->size);
#endif
    (void)reused;
}

static void tools_unregister(coro__stack *st)
{
#ifdef CORO_VALGRIND
    if (coro__on_valgrind())
        VALGRIND_STACK_DEREGISTER(st->valgrind_id);
#endif
#ifdef CORO_ASAN
    /* Frames abandoned by a raise leave poisoned redzones behind; the next
     * user of this memory must not trip over them. */
    ASAN_UNPOISON_MEMORY_REGION(st->lo, st->size);
#endif
    (void)st;
}

/* A fresh stack from the kernel or an arena. */
static int map_stack(coro__stack *st, size_t size, int mode)
{
    if (mode == CORO_STACK_COMPACT)
        return compact_take(st, size);
    return guarded_map(st, size);
}

int coro__stack_alloc(coro__stack *st, size_t requested, int mode)
{
    size_t page = coro__page_size();
    if (requested < CORO_MIN_STACK_SIZE)
        requested = CORO_MIN_STACK_SIZE;
    if (requested > CORO_MAX_STACK_SIZE)
        return coro__fail(CORO_EINVAL,
                          "stack size %zu bytes is above CORO_MAX_STACK_SIZE (%zu bytes); ask "
                          "for a smaller stack_size",
                          requested, (size_t)CORO_MAX_STACK_SIZE);
    size_t size = (requested + page - 1) & ~(page - 1); /* page: a power of two */
    /* A compact slot is the rounded size; its top bytes are the canary of
     * the slot above (stack.h), so a 16 KiB compact stack packs into
     * exactly 16 KiB. */
    size_t usable = mode == CORO_STACK_COMPACT ? size - CORO__CANARY_BYTES : size;
    bool reused = cache_take(st, usable, mode);
    if (!reused) {
        int rc = map_stack(st, size, mode);
        if (rc != CORO_OK)
            return rc;
    }
    tools_register(st, reused);
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
    if (!cache_put(st))
        release(st);
    memset(st, 0, sizeof *st);
}

size_t coro__stack_used(const coro__stack *st)
{
    if (st->lo == NULL)
        return 0;
    size_t page = coro__page_size();
    /* lo is page-aligned in both modes. The top is too for a guarded
     * stack; a compact one ends CORO__CANARY_BYTES below its slot's top
     * (the canary of the slot above), inside its own top page. The check of
     * the slot above reads those bytes, in the top page, which the first
     * frame makes resident anyway; no other page of [lo, top) is read by any
     * canary check, so below the top page residency is the body's doing. */
    char *base = st->lo;
    char *top = base + st->size;
    size_t npages = (st->size + page - 1) / page;
    size_t from = 0; /* pages, from the bottom, that mincore is asked about */
    /* Pages are committed on first touch, and a body may touch a page far
     * below the ones above it (a large local array written at its low end),
     * so what was used reaches down to the lowest resident page, not to the
     * end of the run of resident pages below the top. mincore is asked
     * about up to RESIDENCY_CHUNK pages per call from the bottom up, and the
     * search stops at the first resident page: one system call for stacks up
     * to that many pages. */
    enum { RESIDENCY_CHUNK = 256 };
    unsigned char resident[RESIDENCY_CHUNK];
    while (from < npages) {
        size_t n = npages - from < RESIDENCY_CHUNK ? npages - from : RESIDENCY_CHUNK;
        char *lo = base + from * page;
        if (mincore(lo, n * page, resident) != 0)
            return st->size; /* cannot tell: never report less than was used */
        for (size_t i = 0; i < n; i++)
            if (resident[i] & 1) {
                size_t used = (size_t)(top - (lo + i * page));
                return used < st->size ? used : st->size;
            }
        from += n;
    }
    return 0;
}
