/* alloc.c - the replaceable allocator behind every internal allocation, and
 * a per-thread cache of coroutine structs.
 * SPDX-License-Identifier: MIT
 */
#include "coro_int.h"
#include "sanitizer.h"
#ifdef CORO_VALGRIND
#include <valgrind/memcheck.h>
#endif

#include <pthread.h>
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

/* ------------------------------------------------------------------------ */
/* Coroutine structs                                                        */
/* ------------------------------------------------------------------------ */

/* A destroyed coroutine's struct waits here for the next create on the same
 * thread, so a create/destroy cycle makes no malloc/free pair (about a sixth
 * of a pooled cycle). Only with the default allocator, at both ends: a struct
 * in the cache was always malloc'ed, so it is freed with free whatever the
 * allocator is later (structs made through a user's allocator never enter).
 * coro_stack_pool_trim empties it with the stack cache.
 * Under ASan the cache is off, so a use after coro_destroy is still caught;
 * under Valgrind a cached struct is marked inaccessible. A thread's cache is
 * freed when the thread exits. */
#ifndef CORO_ASAN
/* As many as a thread's compact stack cache holds, so that a burst of that
 * many coroutines reuses its structs instead of making glibc shrink and
 * regrow its heap (page faults) every burst: at most about 18 MiB. */
#define STRUCT_CACHE_MAX 32768

typedef struct cached_struct {
    struct cached_struct *next;
} cached_struct;

typedef struct struct_cache {
    cached_struct *head;
    unsigned count;
    bool registered; /* the thread-exit destructor is set */
} struct_cache;

static _Thread_local struct_cache structs __attribute__((tls_model("initial-exec")));
static pthread_key_t structs_key;
static pthread_once_t structs_key_once = PTHREAD_ONCE_INIT;

static void structs_drain(void *p)
{
    struct_cache *sc = p;
    while (sc->head != NULL) {
        cached_struct *n = sc->head;
        sc->head = n->next;
        free(n);
    }
    sc->count = 0;
}

static void structs_make_key(void) { pthread_key_create(&structs_key, structs_drain); }

static bool default_allocator(void) { return allocator.alloc == default_alloc; }
#endif /* CORO_ASAN */

void coro__struct_cache_trim(void)
{
#ifndef CORO_ASAN
    structs_drain(&structs);
#endif
}

/* In a burst of creates, the next create takes the next cached struct,
 * whose memory has gone cold since its coroutine was destroyed: start
 * fetching it for writing now (coro_create writes most of its lines), while
 * this coroutine is made and run, as the stack cache does for stacks.
 * Prefetches never fault. */
#ifndef CORO_ASAN
static void prefetch_struct(const void *next)
{
    for (size_t off = 0; off < sizeof(coro); off += 64)
        __builtin_prefetch((const char *)next + off, 1, 3);
}
#endif

coro *coro__alloc_coro(void)
{
#ifndef CORO_ASAN
    struct_cache *sc = &structs;
    if (sc->head != NULL && default_allocator()) {
        cached_struct *n = sc->head; /* the link stays accessible (see below) */
        sc->head = n->next;
        sc->count--;
        if (n->next != NULL)
            prefetch_struct(n->next);
#ifdef CORO_VALGRIND
        if (coro__on_valgrind())
            VALGRIND_MAKE_MEM_UNDEFINED(n, sizeof(coro));
#endif
        return (coro *)n;
    }
#endif
    return coro__alloc(sizeof(coro));
}

void coro__free_coro(coro *c)
{
#ifndef CORO_ASAN
    struct_cache *sc = &structs;
    if (default_allocator() && sc->count < STRUCT_CACHE_MAX) {
        if (!sc->registered) {
            pthread_once(&structs_key_once, structs_make_key);
            pthread_setspecific(structs_key, sc);
            sc->registered = true;
        }
        cached_struct *n = (cached_struct *)(void *)c;
        n->next = sc->head;
        sc->head = n;
        sc->count++;
#ifdef CORO_VALGRIND
        /* All but the link: one client request each way. */
        if (coro__on_valgrind())
            VALGRIND_MAKE_MEM_NOACCESS((char *)c + sizeof *n, sizeof *c - sizeof *n);
#endif
        return;
    }
#endif
    coro__free(c, sizeof *c);
}
