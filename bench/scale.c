/* scale.c - `coro-bench scale` and rss_per_coroutine_bytes: many coroutines alive at once.
 * SPDX-License-Identifier: MIT
 *
 * Resident memory is read from /proc/self/statm before and after creating the
 * coroutines and running each to its first yield; the array of handles is
 * allocated and touched before the first reading, so it does not count.
 */
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
        bench_fail("could not read /proc/self/statm");
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Yields once, then waits to be closed. */
static void *park_once(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_yield(self, NULL, NULL);
    if (rc != CORO_OK)
        bench_propagate_close(self, rc, "coro_yield");
    return NULL;
}

int bench_scale(long n, int mode, long *live, long *rss)
{
    coro **cs = calloc((size_t)n, sizeof *cs);
    if (cs == NULL)
        bench_fail("out of memory for %ld coroutine handles", n);
    memset(cs, 0, (size_t)n * sizeof *cs); /* resident before the first reading */
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = mode;
    long before = bench_rss_bytes();
    int rc = CORO_OK;
    long made = 0;
    for (; made < n; made++) {
        rc = coro_create(&cs[made], park_once, NULL, &opt);
        if (rc != CORO_OK)
            break;
        rc = coro_next(cs[made], NULL);
        if (rc != CORO_YIELDED) {
            made++;
            break;
        }
        rc = CORO_OK;
    }
    /* On failure `made` counts a coroutine that did not reach its yield. */
    *live = rc == CORO_OK || made == 0 || cs[made - 1] == NULL ? made : made - 1;
    *rss = bench_rss_bytes() - before;
    /* Keep the library's message: destroying may overwrite it. */
    static char why[400];
    snprintf(why, sizeof why, "%s", coro_last_error());
    for (long i = 0; i < made; i++)
        if (cs[i] != NULL && coro_destroy(cs[i]) != CORO_OK)
            bench_fail("coro_destroy of coroutine %ld failed", i);
    free(cs);
    coro_stack_pool_trim();
    if (rc != CORO_OK)
        fprintf(stderr, "coro-bench: scale stopped at coroutine %ld (%ld alive): %s: %s\n",
                made, *live, coro_strerror(rc), why);
    return rc;
}

static _Noreturn void scale_usage(const char *why)
{
    fprintf(stderr, "coro-bench: %s\nusage: coro-bench scale N [--compact] [--tsv]\n", why);
    exit(2);
}

int bench_scale_main(int argc, char **argv)
{
    long n = -1;
    int mode = CORO_STACK_GUARDED;
    int tsv = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--compact") == 0) {
            mode = CORO_STACK_COMPACT;
        } else if (strcmp(argv[i], "--tsv") == 0) {
            tsv = 1;
        } else {
            char *end = NULL;
            long v = strtol(argv[i], &end, 10);
            if (n != -1 || end == argv[i] || *end != '\0' || v < 1 || v > 100000000)
                scale_usage("scale wants one count N from 1 to 100000000");
            n = v;
        }
    }
    if (n == -1)
        scale_usage("scale needs a count N");
    long live = 0, rss = 0;
    int rc = bench_scale(n, mode, &live, &rss);
    const char *m = mode == CORO_STACK_COMPACT ? "compact" : "guarded";
    if (tsv) {
        printf("scale_live\t%ld\tcoroutines\n", live);
        printf("scale_rss_bytes\t%ld\tbytes\n", rss);
        printf("scale_rss_per_coroutine_bytes\t%.0f\tbytes\n", live ? (double)rss / live : 0.0);
    } else {
        printf("%ld %s coroutines alive at once (of %ld asked)\n", live, m, n);
        printf("resident memory grew by %ld bytes: %.0f bytes per coroutine\n", rss,
               live ? (double)rss / live : 0.0);
    }
    return rc == CORO_OK ? 0 : 1;
}
