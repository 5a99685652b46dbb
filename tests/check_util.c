/* check_util.c - transcripts, the counting allocator, the suite runner.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

transcript tr;

void tr_reset(transcript *t)
{
    t->len = 0;
    t->buf[0] = '\0';
}

void tr_add(transcript *t, const char *fmt, ...)
{
    if (t->len != 0 && t->len + 2 < sizeof t->buf) {
        t->buf[t->len++] = ';';
        t->buf[t->len++] = ' ';
        t->buf[t->len] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < sizeof t->buf - t->len ? (size_t)n : sizeof t->buf - t->len - 1;
}

/* Atomic: thread tests allocate from several threads at once. */
static _Atomic long live, fail_after = -1;

static void *counting_alloc(void *udata, size_t size)
{
    (void)udata;
    long n = atomic_load(&fail_after);
    while (n > 0 && !atomic_compare_exchange_weak(&fail_after, &n, n - 1))
        ;
    if (n == 0)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        live++;
    return p;
}

static void counting_free(void *udata, void *ptr, size_t size)
{
    (void)udata;
    (void)size;
    live--;
    free(ptr);
}

void alloc_setup(void)
{
    static const coro_allocator a = {counting_alloc, counting_free, NULL};
    live = 0;
    fail_after = -1;
    coro_set_allocator(&a);
    coro__testing_fail_map_after(-1);
}

void alloc_teardown(void)
{
    ck_assert_msg(live == 0, "%ld library allocation(s) leaked", live);
    ck_assert_msg(coro__testing_live_stacks() == 0, "%ld stack(s) leaked",
                  coro__testing_live_stacks());
    coro_set_allocator(NULL);
}

void alloc_fail_after(long n) { fail_after = n; }
long alloc_live(void) { return live; }

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK_GETENV); /* CK_FORK=no to debug */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
