/* check_util.h - shared fixtures for the Check suites: transcripts and a
 * counting allocator.
 * SPDX-License-Identifier: MIT
 *
 * Rule for every suite: never ck_assert inside a coroutine body. Bodies
 * append to a transcript; the test asserts on it after the resume returns.
 */
#ifndef CORO_CHECK_UTIL_H
#define CORO_CHECK_UTIL_H

#include "coro.h"

#include <check.h>
#include <stddef.h>

/* A transcript: events joined by "; ", e.g. "start; got 10; finally". */
typedef struct transcript {
    char buf[8192];
    size_t len;
} transcript;

void tr_reset(transcript *t);
/* Appends one event (printf-style). */
void tr_add(transcript *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The global transcript most suites use. */
extern transcript tr;

/* Counting allocator: installed by alloc_setup, checked by alloc_teardown
 * (a test that leaks library memory or a stack fails). alloc_fail_after(n)
 * makes every allocation after the next n fail; -1 turns failing off. */
void alloc_setup(void);
void alloc_teardown(void);
void alloc_fail_after(long n);
long alloc_live(void);

/* Builds a suite runner: runs `s` in fork mode and returns the exit status. */
int run_suite(Suite *s);

#endif
