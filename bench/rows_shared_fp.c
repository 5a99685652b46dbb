/* rows_shared_fp.c - send_shared_fp_ns: send_ns on the asm switch built with CORO_SHARED_FP.
 * SPDX-License-Identifier: MIT
 *
 * The backend is chosen when the library is built, so this row drives a
 * second copy of libcoro compiled into coro-bench for the purpose: the asm
 * backend with CORO_SHARED_FP (the switch keeps no floating-point control
 * state per coroutine), whatever backend the rest of the run uses. Its public
 * symbols carry the prefix coro_bench_sfp_ (bench/CMakeLists.txt,
 * prefix_symbols.cmake) and its internal ones are local, so it cannot clash
 * with coro_static. The names below are mapped before coro.h is included, so
 * every library call in this file goes to the copy; setup checks by
 * coro_backend_name() that it is the copy that runs. The operation and the
 * body are send_ns's, line for line (rows_drive.c).
 */
#define coro_create coro_bench_sfp_coro_create
#define coro_destroy coro_bench_sfp_coro_destroy
#define coro_next coro_bench_sfp_coro_next
#define coro_send coro_bench_sfp_coro_send
#define coro_yield coro_bench_sfp_coro_yield
#define coro_reraise coro_bench_sfp_coro_reraise
#define coro_exception coro_bench_sfp_coro_exception
#define coro_exc_matches coro_bench_sfp_coro_exc_matches
#define coro_GeneratorExit coro_bench_sfp_coro_GeneratorExit
#define coro_backend_name coro_bench_sfp_coro_backend_name

#include "rows.h"

#include <stdint.h>
#include <string.h>

/* bench_body_echo, with the copy's calls: yields back whatever it is sent; a
 * close (GeneratorExit) is propagated. */
static void *echo(coro *self, void *arg)
{
    (void)arg;
    void *received = NULL;
    int rc = coro_yield(self, NULL, &received);
    while (rc == CORO_OK)
        rc = coro_yield(self, received, &received);
    const coro_exc *e = coro_exception(self);
    if (rc == CORO_THROWN && e != NULL && coro_exc_matches(e->type, &coro_GeneratorExit))
        coro_reraise(self);
    bench_fail("send_shared_fp_ns: coro_yield reported %d", rc);
}

static void *setup(long param)
{
    (void)param;
    const char *name = coro_backend_name();
    const char *suffix = "-shared-fp";
    size_t len = strlen(name), slen = strlen(suffix);
    if (len < slen || strcmp(name + len - slen, suffix) != 0)
        bench_fail("send_shared_fp_ns: the second copy reports backend '%s'", name);
    coro *c = NULL;
    bench_expect("coro_create (shared-FP copy)", coro_create(&c, echo, NULL, NULL), CORO_OK);
    bench_expect("coro_next (shared-FP copy)", coro_next(c, NULL), CORO_YIELDED);
    return c;
}

static void run(void *state, uint64_t iters)
{
    coro *c = state;
    for (uint64_t i = 0; i < iters; i++) {
        void *value = (void *)(uintptr_t)(i + 1); /* never NULL, new every time */
        void *out = NULL;
        bench_expect("coro_send (shared-FP copy)", coro_send(c, value, &out), CORO_YIELDED);
        if (out != value)
            bench_fail("coro_send of %p gave back %p", value, out);
    }
}

static void teardown(void *state)
{
    bench_expect("coro_destroy (shared-FP copy)", coro_destroy(state), CORO_OK);
}

const bench_row bench_row_send_shared_fp = {"send_shared_fp_ns", 0, setup, run, teardown};
