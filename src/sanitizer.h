/* sanitizer.h - which dynamic-analysis tools this build is compiled for.
 * SPDX-License-Identifier: MIT
 *
 * Each tool is detected from the compiler's own macros, so its support is
 * compiled in automatically when the tool is in use and costs nothing
 * otherwise: CORO_ASAN (AddressSanitizer), CORO_TSAN (ThreadSanitizer),
 * CORO_VALGRIND (Valgrind's client requests, whenever its header exists).
 */
#ifndef CORO_SANITIZER_H
#define CORO_SANITIZER_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define CORO_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(CORO_ASAN)
#define CORO_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CORO_TSAN)
#define CORO_TSAN 1
#endif

#ifdef CORO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORO_VALGRIND 1
#endif
#endif

#ifdef CORO_VALGRIND
#include <stdatomic.h>
#include <stdbool.h>
/* Whether this process runs under Valgrind, asked once (per file). A client
 * request is a few nanoseconds natively and a pooled create/destroy cycle
 * made five of them, a tenth of its time: the hot paths skip them unless
 * Valgrind is there. Every thread computes and stores the same value. */
static inline bool coro__on_valgrind(void)
{
    static _Atomic int state = -1;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s < 0) {
        s = RUNNING_ON_VALGRIND ? 1 : 0;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s != 0;
}
#endif

#endif /* CORO_SANITIZER_H */
