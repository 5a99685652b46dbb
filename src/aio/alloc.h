/* alloc.h - every allocation of libcoro-aio, and its fault-injection hook in test builds.
 * SPDX-License-Identifier: MIT
 *
 * libcoro-aio allocates with malloc, not with coro_set_allocator's allocator
 * (its memory is freed with free(), and read_all's buffer is the user's to
 * free()). Every allocation goes through these four names so that the test
 * suite can refuse any one of them. Without CORO_TESTING they are the libc
 * calls themselves (no extra call, no branch). With CORO_TESTING (the
 * coro_aio_testing library) each first asks the hook set by
 * coro__aio_testing_set_alloc_hook; when it answers true the allocation fails
 * as malloc does when memory is exhausted (NULL, errno ENOMEM). The hook may
 * be called from any thread (the to_thread pool, the resolver threads).
 */
#ifndef CORO_AIO_ALLOC_H
#define CORO_AIO_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef CORO_TESTING
void *coro__aio_malloc(size_t size);
void *coro__aio_calloc(size_t n, size_t size);
void *coro__aio_realloc(void *ptr, size_t size);
char *coro__aio_strdup(const char *s);
/* Installs `refuse` (NULL: none): it is called before every allocation of
 * libcoro-aio, from whichever thread allocates, and the allocation fails
 * when it returns true. */
void coro__aio_testing_set_alloc_hook(bool (*refuse)(void));
#else
#define coro__aio_malloc(size) malloc(size)
#define coro__aio_calloc(n, size) calloc(n, size)
#define coro__aio_realloc(ptr, size) realloc(ptr, size)
#define coro__aio_strdup(s) strdup(s)
#endif

#endif /* CORO_AIO_ALLOC_H */
