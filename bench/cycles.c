/* cycles.c - `coro-bench cycles N [--compact]`: N pooled lives, for strace.
 * SPDX-License-Identifier: MIT
 *
 * Runs N create / next (to the first yield) / destroy cycles, the life
 * create_destroy_pooled_ns times, and nothing else, so that
 * `strace -c -f coro-bench cycles 10000` counts the system calls of those
 * cycles: on the asm backend the count does not grow with N (the first
 * cycle maps the stack; every later one reuses it from the cache); on
 * ucontext each cycle adds the signal-mask calls of swapcontext itself.
 */
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_cycles_main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--compact") != 0)) {
        fprintf(stderr, "usage: coro-bench cycles N [--compact]\n");
        return 2;
    }
    char *end = NULL;
    long n = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || n < 1) {
        fprintf(stderr, "coro-bench cycles: N must be a positive integer, not '%s'\n", argv[2]);
        return 2;
    }
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = argc == 4 ? CORO_STACK_COMPACT : CORO_STACK_GUARDED;
    for (long i = 0; i < n; i++) {
        coro *c = NULL;
        bench_expect("coro_create", coro_create(&c, bench_body_yield_forever, NULL, &opt), CORO_OK);
        bench_expect("coro_next", coro_next(c, NULL), CORO_YIELDED);
        bench_expect("coro_destroy", coro_destroy(c), CORO_OK);
    }
    printf("cycles\t%ld\t%s\n", n, argc == 4 ? "compact" : "guarded");
    return 0;
}
