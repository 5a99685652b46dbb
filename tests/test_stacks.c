/* test_stacks.c - stacks: guard pages, the overflow handler, compact mode and
 * its canary, the stack cache, the high-water mark, the size cap.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"
#include "stack.h"

#include <alloca.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Recursion with 1 KiB frames that fills every byte of each frame, so an
 * overrun writes everywhere it passes (guard page, canary). noinline and
 * the volatile buffer keep the compiler from flattening it; alloca keeps
 * the buffer on the real stack under ASan, whose stack-use-after-return
 * mode (the default in newer compilers) moves local arrays to the heap. */
__attribute__((noinline)) static int burn(int depth)
{
    enum { FRAME = 1024 };
    volatile char *frame = alloca(FRAME);
    for (size_t i = 0; i < FRAME; i++)
        frame[i] = (char)(depth | 1);
    if (depth == 0)
        return frame[0];
    return burn(depth - 1) + frame[FRAME - 1];
}

static void *recurse_forever(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    for (int depth = 1;; depth *= 2)
        burn(depth);
    return NULL;
}

/* Recurses `arg` KiB deep, then yields (a switch out: the canary check). */
static void *recurse_then_yield(coro *self, void *arg)
{
    burn((int)(intptr_t)arg);
    coro_yield(self, NULL, NULL);
    return NULL;
}

static void drive_named(coro_fn fn, void *arg, const char *name, int mode, size_t size)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    opt.stack_mode = mode;
    opt.stack_size = size;
    coro *c = NULL;
    if (coro_create(&c, fn, arg, &opt) != CORO_OK)
        _exit(3);
    coro_next(c, NULL);
    coro_destroy(c);
}

/* Runs fn in a child with stderr captured; returns the wait status and puts
 * what the child wrote on stderr in out. */
static int run_child(void (*fn)(void), char *out, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* --- guard pages ---------------------------------------------------------- */

START_TEST(guard_page_traps_without_handler)
{
    /* Check expects this test to die by SIGSEGV: the overrun hits the
     * PROT_NONE page below the stack, not the heap. */
    drive_named(recurse_forever, NULL, "deep", CORO_STACK_GUARDED, 32 * 1024);
}
END_TEST

static void overflow_with_handler(void)
{
    if (coro_install_overflow_handler() != CORO_OK)
        _exit(4);
    drive_named(recurse_forever, NULL, "deep", CORO_STACK_GUARDED, 32 * 1024);
}

START_TEST(handler_names_the_coroutine_and_aborts)
{
    char err[4096];
    int status = run_child(overflow_with_handler, err, sizeof err);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "expected SIGABRT, got status %d; stderr: %s", status, err);
    ck_assert_msg(strstr(err, "libcoro: stack overflow in coroutine 'deep' (stack of 32768 "
                              "bytes)") != NULL,
                  "stderr was: %s", err);
}
END_TEST

static void other_fault_with_handler(void)
{
    coro_install_overflow_handler();
    volatile uintptr_t addr = 16; /* volatile: the compiler must not see it is bad */
    *(volatile int *)addr = 1;    /* not in any guard page: must reach the default action */
}

START_TEST(handler_passes_other_faults_on)
{
    char err[4096];
    int status = run_child(other_fault_with_handler, err, sizeof err);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %d: %s", status,
                  err);
    ck_assert_ptr_null(strstr(err, "stack overflow"));
}
END_TEST

START_TEST(handler_install_twice_is_harmless)
{
    ck_assert_int_eq(coro_install_overflow_handler(), CORO_OK);
    ck_assert_int_eq(coro_install_overflow_handler(), CORO_OK);
}
END_TEST

/* --- compact mode ---------------------------------------------------------- */

static void overflow_compact(void)
{
    /* A 16 KiB compact stack and ~24 KiB of frames: the canary goes. The
     * first slot of an arena is its highest, so the overrun lands in free
     * slots below it. */
    drive_named(recurse_then_yield, (void *)(intptr_t)24, "tiny", CORO_STACK_COMPACT,
                16 * 1024);
}

/* Runs fn in a child, which must die of SIGABRT with both strings in what
 * it wrote on stderr. */
static void expect_abort_saying(void (*fn)(void), const char *what, const char *also)
{
    char err[4096];
    int status = run_child(fn, err, sizeof err);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d: %s", status,
                  err);
    ck_assert_msg(strstr(err, what) != NULL && strstr(err, also) != NULL, "stderr was: %s", err);
}

START_TEST(canary_abort_names_the_coroutine)
{
    expect_abort_saying(overflow_compact, "libcoro: stack overflow in coroutine 'tiny'", "canary");
}
END_TEST

/* The bottom of the running compact coroutine's stack, found from its frame
 * (in the stack's top page while the body is shallow): the slot's top is
 * the next page boundary, and the stack ends CORO__CANARY_BYTES below it
 * (stack.h). __builtin_frame_address, not a local's address: ASan may keep
 * locals on a fake stack elsewhere. */
static char *compact_stack_bottom(coro *self)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *slot_top = (char *)((uintptr_t)__builtin_frame_address(0) / page * page) + page;
    return slot_top - CORO__CANARY_BYTES - coro_stack_size(self);
}

/* Writes the 64 bytes just below its own stack, as an overrun would (an
 * exact one: recursion overshoots by a frame size that the sanitizers
 * change). If arg (a coro **) names a coroutine, destroys it next, before
 * any switch out; then yields: the switch out checks the canary. */
static void *scribble_below_then_yield(coro *self, void *arg)
{
    memset(compact_stack_bottom(self) - CORO__CANARY_BYTES, 0x5a, CORO__CANARY_BYTES);
    coro **victim = arg;
    if (victim != NULL && *victim != NULL)
        coro_destroy(*victim);
    coro_yield(self, NULL, NULL);
    return NULL;
}

/* A compact slot size of at least 16 KiB and 4 pages, and how many such
 * slots an arena holds (stack.c's ARENA_BYTES, at least 16). */
static size_t compact_slot(void)
{
    size_t four_pages = 4 * (size_t)sysconf(_SC_PAGESIZE);
    return four_pages > 16384 ? four_pages : 16384;
}
static size_t slots_per_arena(void)
{
    size_t n = ((size_t)64 << 20) / compact_slot();
    return n < 16 ? 16 : n;
}

/* The lowest slot of an arena (the last one a fresh arena hands out): its
 * canary is the top of the arena's canary page, above the guard page, so
 * an overrun is caught by the canary like any other slot's, not by a
 * SIGSEGV in the guard page. */
static void overflow_lowest_slot(void)
{
    coro_stack_pool_trim();
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    opt.stack_size = compact_slot();
    for (size_t i = 0; i + 1 < slots_per_arena(); i++) {
        coro *held = NULL; /* left alive: the child exits */
        if (coro_create(&held, recurse_then_yield, NULL, &opt) != CORO_OK)
            _exit(3);
    }
    drive_named(scribble_below_then_yield, NULL, "lowest", CORO_STACK_COMPACT, compact_slot());
}

START_TEST(canary_of_an_arenas_lowest_slot)
{
    expect_abort_saying(overflow_lowest_slot, "libcoro: stack overflow in coroutine 'lowest'",
                        "canary");
}
END_TEST

/* A running coroutine overruns into the slot below it, then destroys the
 * coroutine of that slot with the compact cache off: the slot goes back to
 * its arena at once, and the give-back, which would zero the canary, finds
 * it written first. (A fresh arena hands out its highest slot first, so the
 * one created second sits just below.) */
static void overrun_then_free_the_slot_below(void)
{
    coro_stack_pool_trim();
    if (coro_set_stack_cache_limit(CORO_STACK_COMPACT, 0) != CORO_OK)
        _exit(3);
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    opt.stack_size = compact_slot();
    opt.name = "above";
    static coro *below; /* filled in before `above` runs */
    coro *above = NULL;
    if (coro_create(&above, scribble_below_then_yield, &below, &opt) != CORO_OK)
        _exit(3);
    opt.name = "below";
    if (coro_create(&below, recurse_then_yield, NULL, &opt) != CORO_OK)
        _exit(3);
    coro_next(above, NULL);
}

START_TEST(give_back_of_the_slot_below_finds_an_overrun)
{
    expect_abort_saying(overrun_then_free_the_slot_below,
                        "libcoro: stack overflow in a running coroutine",
                        "found when the slot below it was handed back");
}
END_TEST

/* Records the bottom of its stack, then yields until closed. */
static void *note_bottom_then_yield(coro *self, void *arg)
{
    *(char **)arg = compact_stack_bottom(self);
    while (coro_yield(self, NULL, NULL) == CORO_OK)
        ;
    return NULL;
}

START_TEST(canary_check_leaves_the_stacks_lowest_page_alone)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    coro_stack_pool_trim(); /* a slot whose pages nobody touched before */
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    opt.stack_size = 4 * page; /* the lowest page is not the top one */
    char *lowest = NULL;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, note_bottom_then_yield, (void *)&lowest, &opt), CORO_OK);
    for (int i = 0; i < 4; i++) /* four switches out, four canary checks */
        ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_uint_eq((uintptr_t)lowest % page, 0);
    char *top_page = lowest + 3 * page;
    unsigned char top_res = 0, low_res = 0;
    ck_assert_int_eq(mincore(top_page, page, &top_res), 0);
    ck_assert_int_eq(mincore(lowest, page, &low_res), 0);
    ck_assert_msg(top_res & 1, "the top page, where the frames are, should be resident");
    ck_assert_msg(!(low_res & 1), "the lowest page was made resident though no frame reached it");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(compact_stack_within_bounds_runs)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, recurse_then_yield, (void *)(intptr_t)8, &opt), CORO_OK);
    ck_assert_int_eq(coro_stack_mode(c), CORO_STACK_COMPACT);
    ck_assert_uint_eq(coro_stack_size(c), CORO_COMPACT_STACK_SIZE - 64);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

static void *count_up(coro *self, void *arg)
{
    intptr_t n = (intptr_t)arg;
    void *got = NULL;
    while (coro_yield(self, (void *)n, &got) == CORO_OK)
        n += (intptr_t)got;
    return NULL;
}

START_TEST(many_compact_coroutines_alive_at_once)
{
    enum { N = 4000 }; /* scale itself is measured by coro-bench scale */
    coro **cs = calloc(N, sizeof *cs);
    ck_assert_int_eq(coro_set_default_stack_mode(CORO_STACK_COMPACT), CORO_OK);
    for (intptr_t i = 0; i < N; i++) {
        ck_assert_int_eq(coro_create(&cs[i], count_up, (void *)i, NULL), CORO_OK);
        ck_assert_int_eq(coro_next(cs[i], NULL), CORO_YIELDED);
    }
    for (intptr_t i = 0; i < N; i++) {
        void *out = NULL;
        ck_assert_int_eq(coro_send(cs[i], (void *)(intptr_t)3, &out), CORO_YIELDED);
        ck_assert_int_eq((intptr_t)out, i + 3);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(coro_destroy(cs[i]), CORO_OK);
    free(cs);
    ck_assert_int_eq(coro_set_default_stack_mode(CORO_STACK_GUARDED), CORO_OK);
    ck_assert_int_eq(coro_get_default_stack_mode(), CORO_STACK_GUARDED);
}
END_TEST

START_TEST(compact_default_size_is_settable)
{
    ck_assert_uint_eq(coro_get_default_compact_stack_size(), CORO_COMPACT_STACK_SIZE);
    ck_assert_int_eq(coro_set_default_compact_stack_size(32 * 1024), CORO_OK);
    ck_assert_uint_eq(coro_get_default_compact_stack_size(), 32 * 1024);
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, &opt), CORO_OK);
    ck_assert_uint_eq(coro_stack_size(c), 32 * 1024 - 64); /* the slot less its canary */
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    /* Below the minimum is raised to it; the guarded default is untouched. */
    ck_assert_int_eq(coro_set_default_compact_stack_size(1), CORO_OK);
    ck_assert_uint_eq(coro_get_default_compact_stack_size(), CORO_MIN_STACK_SIZE);
    ck_assert_uint_eq(coro_get_default_stack_size(), CORO_DEFAULT_STACK_SIZE);
}
END_TEST

START_TEST(stack_mode_arguments_are_checked)
{
    ck_assert_int_eq(coro_set_default_stack_mode(7), CORO_EINVAL);
    ck_assert_int_eq(coro_set_default_stack_mode(CORO_STACK_DEFAULT), CORO_EINVAL);
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = 9;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, &opt), CORO_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(coro_stack_mode(NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_set_default_compact_stack_size(0), CORO_EINVAL);
    ck_assert_int_eq(coro_set_stack_pool_size(65), CORO_EINVAL);
}
END_TEST

/* --- pool ------------------------------------------------------------------ */

START_TEST(pool_reuses_a_freed_stack_without_mapping)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    /* No mapping may succeed now: the stack must come from the pool. */
    coro__testing_fail_map_after(0);
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    coro__testing_fail_map_after(-1);
}
END_TEST

START_TEST(pool_trim_and_size_zero_map_afresh)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    coro_stack_pool_trim();
    coro__testing_fail_map_after(0);
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_ENOMEM);
    ck_assert_msg(strstr(coro_last_error(), "vm.max_map_count") != NULL, "%s",
                  coro_last_error());
    coro__testing_fail_map_after(-1);

    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK);
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    coro__testing_fail_map_after(0);
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_ENOMEM);
    coro__testing_fail_map_after(-1);
    ck_assert_int_eq(coro_set_stack_pool_size(64), CORO_OK);
}
END_TEST

START_TEST(pool_matches_size_and_mode)
{
    coro_options small = CORO_OPTIONS_INIT;
    small.stack_size = 32 * 1024;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, &small), CORO_OK);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    coro__testing_fail_map_after(0);
    /* A different size or mode cannot use the pooled 32 KiB guarded stack. */
    ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_ENOMEM);
    small.stack_mode = CORO_STACK_COMPACT;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, &small), CORO_ENOMEM);
    small.stack_mode = CORO_STACK_GUARDED;
    ck_assert_int_eq(coro_create(&c, count_up, NULL, &small), CORO_OK);
    coro__testing_fail_map_after(-1);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

static void *churn_thread_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        coro *c = NULL;
        if (coro_create(&c, count_up, NULL, NULL) != CORO_OK)
            return (void *)1;
        coro_next(c, NULL);
        coro_destroy(c);
    }
    return NULL;
}

START_TEST(threads_have_their_own_pools)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, churn_thread_body, NULL), 0);
    for (int i = 0; i < 2; i++) {
        void *r = (void *)1;
        pthread_join(t[i], &r);
        ck_assert_ptr_null(r);
    }
}
END_TEST

/* --- high-water mark ------------------------------------------------------- */

static void *use_40k(coro *self, void *arg)
{
    (void)arg;
    burn(40);
    coro_yield(self, NULL, NULL);
    return NULL;
}

START_TEST(high_water_tracks_use)
{
    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK); /* fresh stacks */
    coro_options rec = CORO_OPTIONS_INIT;
    rec.flags = CORO_RECORD_STACK_USE;
    coro *small = NULL, *big = NULL;
    ck_assert_int_eq(coro_create(&small, count_up, NULL, &rec), CORO_OK);
    ck_assert_int_eq(coro_create(&big, use_40k, NULL, &rec), CORO_OK);
    ck_assert_int_eq(coro_next(small, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(big, NULL), CORO_YIELDED);
    size_t s = coro_stack_high_water(small), b = coro_stack_high_water(big);
    ck_assert_uint_gt(s, 0);
    ck_assert_uint_le(s, 16 * 1024);
    ck_assert_uint_ge(b, 40 * 1024);
    ck_assert_uint_le(b, coro_stack_size(big));
    /* After the stack is released the last figure stays readable. */
    ck_assert_int_eq(coro_next(big, NULL), CORO_RETURNED);
    ck_assert_uint_eq(coro_stack_high_water(big), b);
    ck_assert_uint_eq(coro_stack_high_water(NULL), 0);
    coro_destroy(small);
    coro_destroy(big);
}
END_TEST

/* A stack used deeper than one residency query covers (256 pages, 1 MiB with
 * 4 KiB pages): the mark must count on past the first query. */
START_TEST(high_water_counts_past_a_mebibyte)
{
    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK); /* a fresh stack */
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_size = 8u * 1024u * 1024u; /* room for ASan's larger frames */
    opt.flags = CORO_RECORD_STACK_USE;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, recurse_then_yield, (void *)(intptr_t)1500, &opt),
                     CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    size_t used = coro_stack_high_water(c);
    ck_assert_uint_ge(used, 1500u * 1024u);
    ck_assert_uint_le(used, coro_stack_size(c));
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_uint_eq(coro_stack_high_water(c), used); /* recorded at release */
    coro_destroy(c);
}
END_TEST

/* Yields at `arg` KiB deep, then goes 40 KiB deep and returns: what the
 * stack held at the yield is less than what it held at the end. */
static void *shallow_then_deep(coro *self, void *arg)
{
    burn((int)(intptr_t)arg);
    coro_yield(self, NULL, NULL);
    burn(40);
    return NULL;
}

/* Without CORO_RECORD_STACK_USE, a CLOSED coroutine reports the largest
 * figure asked for while it ran (0 if never asked); with it, the figure
 * measured when its stack went. */
START_TEST(high_water_after_close_with_and_without_the_flag)
{
    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK); /* fresh stacks */
    coro_options rec = CORO_OPTIONS_INIT;
    rec.flags = CORO_RECORD_STACK_USE;
    coro *asked = NULL, *never = NULL, *recorded = NULL;
    ck_assert_int_eq(coro_create(&asked, shallow_then_deep, (void *)(intptr_t)1, NULL),
                     CORO_OK);
    ck_assert_int_eq(coro_create(&never, shallow_then_deep, (void *)(intptr_t)1, NULL),
                     CORO_OK);
    ck_assert_int_eq(coro_create(&recorded, shallow_then_deep, (void *)(intptr_t)1, &rec),
                     CORO_OK);
    ck_assert_int_eq(coro_next(asked, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(never, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(recorded, NULL), CORO_YIELDED);
    size_t shallow = coro_stack_high_water(asked);
    ck_assert_uint_gt(shallow, 0);
    ck_assert_uint_lt(shallow, 40 * 1024);
    ck_assert_int_eq(coro_next(asked, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_next(never, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_next(recorded, NULL), CORO_RETURNED);
    ck_assert_uint_eq(coro_stack_high_water(asked), shallow); /* the figure asked for */
    ck_assert_uint_eq(coro_stack_high_water(never), 0);       /* never asked */
    ck_assert_uint_ge(coro_stack_high_water(recorded), 40 * 1024); /* measured at release */
    ck_assert_uint_le(coro_stack_high_water(recorded), coro_stack_size(recorded));
    /* Destroying a suspended coroutine releases its stack too. */
    coro *destroyed = NULL;
    ck_assert_int_eq(coro_create(&destroyed, use_40k, NULL, &rec), CORO_OK);
    ck_assert_int_eq(coro_next(destroyed, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_close(destroyed, NULL), CORO_OK);
    ck_assert_uint_ge(coro_stack_high_water(destroyed), 40 * 1024);
    coro_destroy(asked);
    coro_destroy(never);
    coro_destroy(recorded);
    coro_destroy(destroyed);
}
END_TEST

/* A body that reserves `depth` bytes below its frame and writes only their
 * lowest byte, then yields: everything between the frame and that byte was
 * used, though most of it was never touched. alloca, not a fixed array, so
 * that ASan keeps it on the real stack. */
static void *touch_lowest(coro *self, void *arg)
{
    size_t depth = (size_t)(uintptr_t)arg;
    volatile char *p = alloca(depth);
    p[0] = 1;
    p[depth - 1] = 1;
    coro_yield(self, NULL, NULL);
    return NULL;
}

/* Never below what was used, for both modes and several sizes and depths
 * (the lowest partial page of a compact stack included), and not absurdly
 * above it on a fresh stack. */
START_TEST(high_water_never_under_reports)
{
    static const struct {
        int mode;
        size_t size, depth;
    } cases[] = {
        {CORO_STACK_COMPACT, 16 * 1024, 1000},    {CORO_STACK_COMPACT, 16 * 1024, 6000},
        {CORO_STACK_COMPACT, 16 * 1024, 13000},   {CORO_STACK_COMPACT, 64 * 1024, 30000},
        {CORO_STACK_COMPACT, 64 * 1024, 61000},   {CORO_STACK_GUARDED, 16 * 1024, 1000},
        {CORO_STACK_GUARDED, 16 * 1024, 13000},   {CORO_STACK_GUARDED, 256 * 1024, 5000},
        {CORO_STACK_GUARDED, 256 * 1024, 100000}, {CORO_STACK_GUARDED, 256 * 1024, 250000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coro_stack_pool_trim(); /* a fresh stack: no earlier user's pages */
        coro_options opt = CORO_OPTIONS_INIT;
        opt.stack_mode = cases[i].mode;
        opt.stack_size = cases[i].size;
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, touch_lowest, (void *)(uintptr_t)cases[i].depth, &opt),
                         CORO_OK);
        ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
        size_t used = coro_stack_high_water(c);
        ck_assert_msg(used >= cases[i].depth && used <= cases[i].depth + 32 * 1024 &&
                          used <= coro_stack_size(c),
                      "mode %d, %zu-byte stack, %zu bytes used: high water %zu", cases[i].mode,
                      cases[i].size, cases[i].depth, used);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
    }
}
END_TEST

/* --- the size cap ---------------------------------------------------------- */

START_TEST(oversized_stacks_are_refused)
{
    const size_t sizes[] = {(size_t)CORO_MAX_STACK_SIZE + 1, (size_t)64 << 40, SIZE_MAX};
    const int modes[] = {CORO_STACK_GUARDED, CORO_STACK_COMPACT};
    for (size_t m = 0; m < 2; m++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            coro_options opt = CORO_OPTIONS_INIT;
            opt.stack_mode = modes[m];
            opt.stack_size = sizes[i];
            coro *c = NULL;
            ck_assert_int_eq(coro_create(&c, count_up, NULL, &opt), CORO_EINVAL);
            ck_assert_ptr_null(c);
            ck_assert_msg(strstr(coro_last_error(), "CORO_MAX_STACK_SIZE") != NULL, "%s",
                          coro_last_error());
        }
    ck_assert_uint_eq(CORO_MAX_STACK_SIZE, (size_t)1 << 40);
}
END_TEST

/* --- the stack cache ------------------------------------------------------- */

static void spawn(coro **cs, int n, int mode)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = mode;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(coro_create(&cs[i], count_up, NULL, &opt), CORO_OK);
        ck_assert_int_eq(coro_next(cs[i], NULL), CORO_YIELDED);
    }
}

static void destroy_all(coro **cs, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(coro_destroy(cs[i]), CORO_OK);
}

START_TEST(cache_limits_are_checked)
{
    ck_assert_uint_eq(coro_get_stack_cache_limit(CORO_STACK_COMPACT), 32768);
    size_t guarded = coro_get_stack_cache_limit(CORO_STACK_GUARDED);
    ck_assert_uint_gt(guarded, 0);
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    unsigned long maps = 0;
    if (f != NULL) {
        ck_assert_int_eq(fscanf(f, "%lu", &maps), 1);
        fclose(f);
        ck_assert_uint_eq(guarded, maps / 3);
    }
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_DEFAULT, 1), CORO_EINVAL);
    ck_assert_int_eq(coro_set_stack_cache_limit(7, 1), CORO_EINVAL);
    ck_assert_uint_eq(coro_get_stack_cache_limit(7), 0);
    if (maps > 0) {
        ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, maps / 2 + 1),
                         CORO_EINVAL);
        ck_assert_msg(strstr(coro_last_error(), "vm.max_map_count") != NULL, "%s",
                      coro_last_error());
        ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, maps / 2), CORO_OK);
    }
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_COMPACT, 100000), CORO_OK);
    ck_assert_uint_eq(coro_get_stack_cache_limit(CORO_STACK_COMPACT), 100000);
    /* The older call sets both. */
    ck_assert_int_eq(coro_set_stack_pool_size(5), CORO_OK);
    ck_assert_uint_eq(coro_get_stack_cache_limit(CORO_STACK_GUARDED), 5);
    ck_assert_uint_eq(coro_get_stack_cache_limit(CORO_STACK_COMPACT), 5);
    ck_assert_uint_eq(coro_get_stack_cache_idle_ms(), 1000);
    coro_set_stack_cache_idle_ms(0);
    ck_assert_uint_eq(coro_get_stack_cache_idle_ms(), 0);
}
END_TEST

/* A burst larger than the default pool of old: every stack is cached, and
 * the next burst maps nothing. */
START_TEST(cache_serves_a_whole_burst)
{
    enum { N = 300 }; /* past the 64 of the old pool, and quick under ThreadSanitizer */
    coro **cs = calloc(N, sizeof *cs);
    const int modes[] = {CORO_STACK_GUARDED, CORO_STACK_COMPACT};
    for (int m = 0; m < 2; m++) {
        spawn(cs, N, modes[m]);
        destroy_all(cs, N);
        ck_assert_int_eq(coro__testing_cached_stacks(modes[m]), N);
        coro__testing_fail_map_after(0); /* no mapping may succeed now */
        spawn(cs, N, modes[m]);
        ck_assert_int_eq(coro__testing_cached_stacks(modes[m]), 0);
        ck_assert_int_eq(coro__testing_live_stacks(), N);
        destroy_all(cs, N);
        coro__testing_fail_map_after(-1);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
    }
    free(cs);
    coro_stack_pool_trim();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_COMPACT), 0);
}
END_TEST

/* A burst past the limit: the cache keeps the limit and hands back the rest. */
START_TEST(cache_keeps_its_bound)
{
    enum { N = 25, LIMIT = 10 };
    coro *cs[N];
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, LIMIT), CORO_OK);
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_COMPACT, LIMIT), CORO_OK);
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), LIMIT);
    spawn(cs, N, CORO_STACK_COMPACT);
    destroy_all(cs, N);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_COMPACT), LIMIT);
    /* LIMIT guarded creates come from the cache; the next one must map. */
    coro__testing_fail_map_after(0);
    coro_options opt = CORO_OPTIONS_INIT;
    for (int i = 0; i < LIMIT; i++)
        ck_assert_int_eq(coro_create(&cs[i], count_up, NULL, &opt), CORO_OK);
    ck_assert_int_eq(coro_create(&cs[LIMIT], count_up, NULL, &opt), CORO_ENOMEM);
    coro__testing_fail_map_after(-1);
    destroy_all(cs, LIMIT);
    /* Trim empties this thread's cache: the next guarded create maps. */
    coro_stack_pool_trim();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_COMPACT), 0);
    coro__testing_fail_map_after(0);
    ck_assert_int_eq(coro_create(&cs[0], count_up, NULL, &opt), CORO_ENOMEM);
    coro__testing_fail_map_after(-1);
}
END_TEST

static void cycles(int n)
{
    for (int i = 0; i < n; i++) {
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, count_up, NULL, NULL), CORO_OK);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
    }
}

/* Stacks nobody takes for a whole idle period go back; the one in use stays.
 * (Each cycles(300) makes 600 cache operations, so at least two sweeps.) */
START_TEST(idle_stacks_go_back)
{
    enum { N = 50 };
    coro *cs[N];
    coro_set_stack_cache_idle_ms(20);
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), N);
    cycles(300); /* a sweep starts a period */
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    cycles(300); /* the next sweep finds N - 1 stacks idle for the period */
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 1);
}
END_TEST

/* Fails the test, saying what, when this thread's stack cache is not
 * consistent (coro__testing_cache_invariants). */
static void check_cache(void)
{
    const char *broken = coro__testing_cache_invariants();
    ck_assert_msg(broken == NULL, "stack cache: %s", broken);
}

/* Starts an idle period while sweeps cannot end one (so that a slow run,
 * under Valgrind say, does not hand anything back yet), then lets a whole
 * 20 ms period pass: the next sweep finds every cached stack not taken
 * since idle. */
static void let_an_idle_period_pass(void)
{
    coro_set_stack_cache_idle_ms(60 * 1000);
    cycles(300); /* the first sweep starts the period */
    coro_set_stack_cache_idle_ms(20);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
}

/* The idle stacks of a large cache go back a batch per cache operation, not
 * all inside the one create or destroy that notices them: one cycle (a take
 * and a give) hands back at most two batches, and the cache still drains to
 * the one stack in use. */
START_TEST(idle_stacks_go_back_a_batch_at_a_time)
{
    enum { N = 200, MAX_CYCLES = 2000 };
    coro *cs[N];
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    let_an_idle_period_pass();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), N);
    long most = 0;
    int n = 0;
    for (; n < MAX_CYCLES && coro__testing_cached_stacks(CORO_STACK_GUARDED) > 1; n++) {
        long before = coro__testing_cached_stacks(CORO_STACK_GUARDED);
        cycles(1);
        check_cache();
        long gone = before - coro__testing_cached_stacks(CORO_STACK_GUARDED);
        if (gone > most)
            most = gone;
    }
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 1);
    ck_assert_int_gt(most, 0);
    ck_assert_int_le(most, 2 * CORO__CACHE_RELEASE_BATCH);
    /* 199 idle stacks cannot go in fewer cycles than that at two batches each. */
    ck_assert_int_ge(n, (N - 1 + 2 * CORO__CACHE_RELEASE_BATCH - 1) / (2 * CORO__CACHE_RELEASE_BATCH));
}
END_TEST

/* A list is a ring: after a partial hand-back from its old end, new stacks
 * wrap around past the array's end. Every stack it then hands out must be a
 * whole, working one (ASan and Valgrind watch this test too), and the count
 * stays exact. */
START_TEST(cache_ring_wraps_after_a_partial_hand_back)
{
    enum { N = 100, MORE = 110 };
    coro *cs[MORE];
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    let_an_idle_period_pass();
    /* Cycle until some, not all, of the idle stacks went back. */
    for (int i = 0; i < 2000 && coro__testing_cached_stacks(CORO_STACK_GUARDED) > N / 2; i++) {
        cycles(1);
        check_cache();
    }
    long left = coro__testing_cached_stacks(CORO_STACK_GUARDED);
    ck_assert_int_le(left, N / 2);
    ck_assert_int_gt(left, 1);
    coro_set_stack_cache_idle_ms(0); /* no further sweeps from here on */
    spawn(cs, MORE, CORO_STACK_GUARDED); /* all cached ones, then new ones */
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
    check_cache();
    destroy_all(cs, MORE); /* past the ring's end and round to its start */
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), MORE);
    check_cache();
    spawn(cs, MORE, CORO_STACK_GUARDED);
    for (int i = 0; i < MORE; i++) {
        void *v = NULL;
        ck_assert_int_eq(coro_send(cs[i], (void *)(intptr_t)(i + 1), &v), CORO_YIELDED);
        ck_assert_ptr_eq(v, (void *)(intptr_t)(i + 1)); /* count_up: 0 + what was sent */
    }
    destroy_all(cs, MORE);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), MORE);
    check_cache();
    coro_stack_pool_trim();
    check_cache();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
}
END_TEST

/* ... and a ring that has wrapped round grows without losing its order:
 * after a partial hand-back the oldest item sits mid-array, and a burst
 * past the ring's capacity doubles it from there. Every stack handed out
 * again must be a whole one of its own (two coroutines on one stack would
 * yield each other's numbers). */
START_TEST(cache_ring_grows_while_wrapped)
{
    enum { N = 100, MORE = 300 }; /* a ring of 128, then of 256 and 512 */
    coro *cs[MORE];
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    let_an_idle_period_pass();
    for (int i = 0; i < 2000 && coro__testing_cached_stacks(CORO_STACK_GUARDED) > N / 2; i++)
        cycles(1);
    ck_assert_int_gt(coro__testing_cached_stacks(CORO_STACK_GUARDED), 1);
    coro_set_stack_cache_idle_ms(0);
    for (int round = 0; round < 2; round++) {
        spawn(cs, MORE, CORO_STACK_GUARDED);
        for (int i = 0; i < MORE; i++) {
            void *v = NULL;
            ck_assert_int_eq(coro_send(cs[i], (void *)(intptr_t)(i + 1), &v), CORO_YIELDED);
        }
        for (int i = 0; i < MORE; i++) {
            void *v = NULL;
            ck_assert_int_eq(coro_send(cs[i], (void *)(intptr_t)i, &v), CORO_YIELDED);
            ck_assert_ptr_eq(v, (void *)(intptr_t)(2 * i + 1));
        }
        destroy_all(cs, MORE);
        check_cache();
        ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), MORE);
    }
    coro__testing_fail_map_after(0); /* every one of them is cached */
    spawn(cs, MORE, CORO_STACK_GUARDED);
    coro__testing_fail_map_after(-1);
    destroy_all(cs, MORE);
    check_cache();
}
END_TEST

/* Mixed use, deterministic in what it does (a fixed pseudo-random
 * sequence) though not in when sweeps fall: coroutines of four (mode, size)
 * classes made and destroyed in random order, limits changed on the way,
 * idle periods passing now and then. The cache must stay consistent after
 * every step, and every coroutine must run on the stack it was given. */
START_TEST(cache_stays_consistent_under_mixed_use)
{
    enum { SLOTS = 64, STEPS = 3000 };
    static const struct {
        int mode;
        size_t size;
    } classes[] = {
        {CORO_STACK_GUARDED, 0},
        {CORO_STACK_GUARDED, 128 * 1024},
        {CORO_STACK_COMPACT, 0},
        {CORO_STACK_COMPACT, 32 * 1024},
    };
    coro *alive[SLOTS] = {0};
    unsigned seed = 12345;
    coro_set_stack_cache_idle_ms(5);
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        int slot = (int)(r % SLOTS);
        if (alive[slot] == NULL) {
            coro_options opt = CORO_OPTIONS_INIT;
            opt.stack_mode = classes[(r >> 6) % 4].mode;
            opt.stack_size = classes[(r >> 6) % 4].size;
            ck_assert_int_eq(coro_create(&alive[slot], count_up, (void *)(intptr_t)slot, &opt),
                             CORO_OK);
            void *v = NULL;
            ck_assert_int_eq(coro_next(alive[slot], &v), CORO_YIELDED);
            ck_assert_ptr_eq(v, (void *)(intptr_t)slot);
        } else {
            void *v = NULL;
            ck_assert_int_eq(coro_send(alive[slot], (void *)1, &v), CORO_YIELDED);
            ck_assert_ptr_eq(v, (void *)(intptr_t)(slot + 1));
            ck_assert_int_eq(coro_destroy(alive[slot]), CORO_OK);
            alive[slot] = NULL;
        }
        if (step % 700 == 350) { /* a tight bound for a while, then a loose one */
            ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_COMPACT, 8), CORO_OK);
            ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, 8), CORO_OK);
        } else if (step % 700 == 600) {
            ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_COMPACT, 1000), CORO_OK);
            ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, 1000), CORO_OK);
        }
        if (step % 500 == 499)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL); /* idle periods pass */
        check_cache();
    }
    for (int i = 0; i < SLOTS; i++)
        ck_assert_int_eq(coro_destroy(alive[i]), CORO_OK);
    check_cache();
    coro_stack_pool_trim();
    check_cache();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_COMPACT), 0);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
}
END_TEST

/* ... and not before a whole period has passed. */
START_TEST(stacks_stay_within_the_idle_period)
{
    enum { N = 50 };
    coro *cs[N];
    coro_set_stack_cache_idle_ms(60 * 1000);
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    cycles(300);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    cycles(300);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), N);
}
END_TEST

START_TEST(idle_zero_keeps_stacks)
{
    enum { N = 50 };
    coro *cs[N];
    coro_set_stack_cache_idle_ms(0);
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    cycles(300);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    cycles(300);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), N);
}
END_TEST

/* Makes and destroys `arg` guarded coroutines on a thread of its own and
 * returns how many stacks its cache then holds (-1 if a create failed). */
static void *cache_a_burst(void *arg)
{
    int n = (int)(intptr_t)arg;
    coro **cs = calloc((size_t)n, sizeof *cs);
    long got = -1;
    int made = 0;
    for (; cs != NULL && made < n; made++)
        if (coro_create(&cs[made], count_up, NULL, NULL) != CORO_OK)
            break;
    if (made == n)
        got = 0;
    for (int i = 0; i < made; i++)
        coro_destroy(cs[i]);
    if (got == 0)
        got = coro__testing_cached_stacks(CORO_STACK_GUARDED);
    free(cs);
    return (void *)(intptr_t)got;
}

/* Guarded stacks handed back a batch at a time give back their places
 * under the process-wide limit, even on a thread that only gives (here:
 * destroys of coroutines whose stacks no cache held): another thread can
 * then cache a burst up to the limit, less what this one may keep spare. */
START_TEST(handed_back_stacks_give_back_their_places)
{
    enum { LIMIT = 300, GIVES = 600 };
    coro **cs = calloc(GIVES, sizeof *cs);
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, LIMIT), CORO_OK);
    spawn(cs, LIMIT, CORO_STACK_GUARDED);
    destroy_all(cs, LIMIT);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), LIMIT);
    let_an_idle_period_pass();
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = CORO_STACK_COMPACT;
    opt.stack_size = 48 * 1024; /* no cached stack fits: the creates take nothing */
    for (int i = 0; i < GIVES; i++)
        ck_assert_int_eq(coro_create(&cs[i], count_up, NULL, &opt), CORO_OK);
    destroy_all(cs, GIVES); /* a sweep, then a batch per give */
    check_cache();
    ck_assert_int_le(coro__testing_cached_stacks(CORO_STACK_GUARDED), 1);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, cache_a_burst, (void *)(intptr_t)LIMIT), 0);
    void *r = NULL;
    pthread_join(t, &r);
    /* This thread keeps its one stack and at most 128 spare places. */
    ck_assert_int_ge((intptr_t)r, LIMIT - 1 - 128);
    free(cs);
}
END_TEST

/* A lowered limit holds for the stacks freed after it, even when the
 * thread holds places it reserved under the old one: 0 turns caching off.
 * (A cache already fuller keeps its stacks; here it had given its one
 * stack out again.) */
START_TEST(lowered_limit_holds_for_later_frees)
{
    static const struct {
        int mode;
        size_t limit;
        int burst;
    } rows[] = {
        {CORO_STACK_GUARDED, 0, 3},
        {CORO_STACK_GUARDED, 5, 20},
        {CORO_STACK_COMPACT, 0, 3},
        {CORO_STACK_COMPACT, 5, 20},
    };
    coro *cs[20];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        coro_stack_pool_trim();
        ck_assert_int_eq(coro_set_stack_cache_limit(rows[i].mode, 1000), CORO_OK);
        spawn(cs, 1, rows[i].mode);
        destroy_all(cs, 1);
        ck_assert_int_eq(coro__testing_cached_stacks(rows[i].mode), 1);
        ck_assert_int_eq(coro_set_stack_cache_limit(rows[i].mode, rows[i].limit), CORO_OK);
        spawn(cs, rows[i].burst, rows[i].mode); /* the cached one, then fresh ones */
        destroy_all(cs, rows[i].burst);
        ck_assert_msg(coro__testing_cached_stacks(rows[i].mode) == (long)rows[i].limit,
                      "row %zu: %ld cached, limit %zu", i,
                      coro__testing_cached_stacks(rows[i].mode), rows[i].limit);
        check_cache();
    }
}
END_TEST

/* An idle period of 0 keeps cached stacks, including those a sweep had
 * already doomed and not yet handed back. */
START_TEST(idle_zero_mid_drain_keeps_the_rest)
{
    enum { N = 200 };
    coro *cs[N];
    spawn(cs, N, CORO_STACK_GUARDED);
    destroy_all(cs, N);
    let_an_idle_period_pass();
    for (int i = 0; i < 2000 && coro__testing_cached_stacks(CORO_STACK_GUARDED) == N; i++)
        cycles(1);
    long left = coro__testing_cached_stacks(CORO_STACK_GUARDED);
    ck_assert_int_lt(left, N);
    ck_assert_int_gt(left, N / 2); /* the hand-back has begun, not ended */
    coro_set_stack_cache_idle_ms(0);
    cycles(300);
    check_cache();
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), left);
}
END_TEST

/* Fills this thread's cache with `arg` guarded stacks, lets them idle and
 * starts their hand-back, then ends it by trimming (arg < 0: by returning,
 * so that the thread's exit drains the cache). Returns NULL, or what went
 * wrong. */
static void *start_a_drain(void *arg)
{
    intptr_t n = (intptr_t)arg;
    bool by_exit = n < 0;
    if (by_exit)
        n = -n;
    coro *cs[200];
    for (intptr_t i = 0; i < n; i++)
        if (coro_create(&cs[i], count_up, NULL, NULL) != CORO_OK)
            return "a create failed";
    for (intptr_t i = 0; i < n; i++)
        coro_destroy(cs[i]);
    coro_set_stack_cache_idle_ms(60 * 1000);
    cycles(300);
    coro_set_stack_cache_idle_ms(20);
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    for (int i = 0; i < 2000 && coro__testing_cached_stacks(CORO_STACK_GUARDED) == n; i++)
        cycles(1);
    long left = coro__testing_cached_stacks(CORO_STACK_GUARDED);
    if (left == n || left <= n / 2)
        return "the hand-back did not begin, or ended already";
    if (by_exit)
        return NULL;
    coro_stack_pool_trim();
    if (coro__testing_cached_stacks(CORO_STACK_GUARDED) != 0 || coro__testing_live_stacks() != 0)
        return "a trim midway left stacks";
    return (void *)coro__testing_cache_invariants();
}

/* A trim or the thread's exit in the middle of a hand-back returns every
 * stack and every place: another thread can then cache up to the limit. */
START_TEST(trim_or_exit_mid_drain_returns_everything)
{
    enum { LIMIT = 200 };
    static const intptr_t rows[] = {LIMIT, -LIMIT}; /* trim; exit */
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, LIMIT), CORO_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, start_a_drain, (void *)rows[i]), 0);
        void *r = (void *)"not joined";
        pthread_join(t, &r);
        ck_assert_msg(r == NULL, "row %zu: %s", i, (const char *)r);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
        coro_set_stack_cache_idle_ms(0);
        ck_assert_int_eq(pthread_create(&t, NULL, cache_a_burst, (void *)(intptr_t)LIMIT), 0);
        pthread_join(t, &r);
        ck_assert_int_eq((intptr_t)r, LIMIT);
    }
}
END_TEST

/* One thread of cache_stays_consistent_across_threads: a fixed
 * pseudo-random run over more (mode, size) classes than a cache has lists,
 * with a trim now and then (often while idle stacks are going back). It
 * leaves its live coroutines in `left` for another thread to destroy and
 * returns NULL, or what went wrong. */
enum { MT_SLOTS = 32, MT_CLASSES = 10 };
typedef struct mixed_run {
    unsigned seed;
    coro *left[MT_SLOTS];
} mixed_run;

static void *mixed_thread(void *arg)
{
    mixed_run *run = arg;
    unsigned seed = run->seed;
    for (int step = 0; step < 1500; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        int slot = (int)(r % MT_SLOTS);
        coro **c = &run->left[slot];
        void *v = NULL;
        if (*c == NULL) {
            unsigned k = (r >> 6) % MT_CLASSES;
            coro_options opt = CORO_OPTIONS_INIT;
            opt.stack_mode = k % 2 ? CORO_STACK_COMPACT : CORO_STACK_GUARDED;
            opt.stack_size = (size_t)(16 + 4 * (k / 2)) * 1024;
            if (coro_create(c, count_up, (void *)(intptr_t)slot, &opt) != CORO_OK ||
                coro_next(*c, &v) != CORO_YIELDED || v != (void *)(intptr_t)slot)
                return "a create or its first resume failed";
        } else {
            if (coro_send(*c, (void *)1, &v) != CORO_YIELDED || v != (void *)(intptr_t)(slot + 1) ||
                coro_destroy(*c) != CORO_OK)
                return "a coroutine did not run on its stack, or its destroy failed";
            *c = NULL;
        }
        if (step % 400 == 399)
            coro_stack_pool_trim();
        if (step % 300 == 150)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL); /* idle periods pass */
        const char *broken = coro__testing_cache_invariants();
        if (broken != NULL)
            return (void *)broken;
    }
    return NULL; /* the thread's exit drains its cache, doomed stacks and all */
}

/* Several threads, each with its own cache, under one guarded limit small
 * enough for them to compete for places; the coroutines a thread leaves
 * alive are destroyed by this one after it exited. Nothing leaks (the
 * fixture counts the list arrays; Valgrind and ASan watch the stacks). */
START_TEST(cache_stays_consistent_across_threads)
{
    enum { THREADS = 3 };
    static mixed_run runs[THREADS];
    pthread_t t[THREADS];
    coro_set_stack_cache_idle_ms(5);
    ck_assert_int_eq(coro_set_stack_cache_limit(CORO_STACK_GUARDED, 40), CORO_OK);
    for (int i = 0; i < THREADS; i++) {
        runs[i].seed = 777u * (unsigned)(i + 1);
        ck_assert_int_eq(pthread_create(&t[i], NULL, mixed_thread, &runs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *r = (void *)"not joined";
        pthread_join(t[i], &r);
        ck_assert_msg(r == NULL, "thread %d: %s", i, (const char *)r);
    }
    long left = 0;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < MT_SLOTS; k++)
            if (runs[i].left[k] != NULL) {
                ck_assert_int_eq(coro_destroy(runs[i].left[k]), CORO_OK);
                left++;
            }
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    ck_assert_int_le(coro__testing_cached_stacks(CORO_STACK_GUARDED), 40);
    check_cache();
    ck_assert_int_gt(left, 0);
    /* The threads' places went with them: this one can fill the limit. */
    coro_stack_pool_trim();
    coro *cs[40];
    spawn(cs, 40, CORO_STACK_GUARDED);
    destroy_all(cs, 40);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 40);
}
END_TEST

/* Frames a raise abandons leave ASan redzones poisoned; a stack reused from
 * the cache must not carry them to its next body (nor, under Valgrind, the
 * earlier body's bytes as defined). */
static void *deep_then_raise(coro *self, void *arg)
{
    (void)arg;
    burn(24);
    coro_raise(self, &coro_ValueError, "abandon the frames");
}

/* Raises from `depth` 512-byte frames down (a negative depth returns). */
__attribute__((noinline)) static int raise_at(coro *self, int depth)
{
    volatile char frame[512];
    frame[0] = (char)depth;
    if (depth < 0)
        return 0;
    if (depth == 0)
        coro_raise(self, &coro_ValueError, "abandon the frames");
    return raise_at(self, depth - 1) + frame[0];
}

static void *deep_raise_inside(coro *self, void *arg)
{
    (void)arg;
    raise_at(self, 40);
    return NULL;
}

START_TEST(reused_stack_is_clean_for_the_tools)
{
    const int modes[] = {CORO_STACK_GUARDED, CORO_STACK_COMPACT};
    for (int m = 0; m < 2; m++) {
        coro_options opt = CORO_OPTIONS_INIT;
        opt.stack_mode = modes[m];
        opt.stack_size = 64 * 1024;
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, deep_raise_inside, NULL, &opt), CORO_OK);
        ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
        ck_assert_int_eq(coro_create(&c, deep_then_raise, NULL, &opt), CORO_OK);
        ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
        coro__testing_fail_map_after(0); /* the same stack again, from the cache */
        ck_assert_int_eq(coro_create(&c, recurse_then_yield, (void *)(intptr_t)40, &opt),
                         CORO_OK);
        ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
        ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
        coro__testing_fail_map_after(-1);
    }
}
END_TEST

/* A coroutine made on one thread and destroyed on another: its stack goes
 * to the destroying thread's cache, and a thread's cache goes with it. */
static void *make_one(void *arg)
{
    coro **out = arg;
    if (coro_create(out, count_up, NULL, NULL) != CORO_OK || coro_next(*out, NULL) != CORO_YIELDED)
        return (void *)1;
    coro *c = NULL; /* and leave one stack in this thread's cache */
    if (coro_create(&c, count_up, NULL, NULL) != CORO_OK || coro_destroy(c) != CORO_OK)
        return (void *)1;
    return coro__testing_cached_stacks(CORO_STACK_GUARDED) == 1 ? NULL : (void *)1;
}

START_TEST(stacks_cross_threads)
{
    coro *c = NULL;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, make_one, &c), 0);
    void *r = (void *)1;
    pthread_join(t, &r);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(coro__testing_live_stacks(), 1); /* the thread's cache went with it */
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 0);
    void *out = NULL;
    ck_assert_int_eq(coro_send(c, (void *)(intptr_t)2, &out), CORO_YIELDED);
    ck_assert_int_eq((intptr_t)out, 2);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(coro__testing_cached_stacks(CORO_STACK_GUARDED), 1);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
}
END_TEST

/* The pool case runs with idle stacks kept (idle period 0): under the slow
 * tools a burst can take longer than the default second, and a sweep in the
 * middle of a test would hand back stacks it counts on. The idle tests set
 * their own period. */
static void pool_setup(void)
{
    alloc_setup();
    coro_set_stack_cache_idle_ms(0);
}

int main(void)
{
    Suite *s = suite_create("stacks");

    /* Deliberate crashes, tagged so that the Valgrind run can leave them out
     * (a process Valgrind watches die by SIGSEGV is reported, by design). */
    TCase *faults = tcase_create("faults");
    tcase_set_tags(faults, "fault");
    tcase_add_checked_fixture(faults, alloc_setup, alloc_teardown);
    /* Under ASan this needs ASAN_OPTIONS=handle_segv=0 (scripts/test sets it),
     * or ASan turns the SIGSEGV into its own report and exit. */
    tcase_add_test_raise_signal(faults, guard_page_traps_without_handler, SIGSEGV);
    tcase_add_test(faults, handler_names_the_coroutine_and_aborts);
    tcase_add_test(faults, handler_passes_other_faults_on);
    tcase_add_test(faults, canary_abort_names_the_coroutine);
    tcase_add_test(faults, canary_of_an_arenas_lowest_slot);
    tcase_add_test(faults, give_back_of_the_slot_below_finds_an_overrun);
    suite_add_tcase(s, faults);

    TCase *guard = tcase_create("guard");
    tcase_add_checked_fixture(guard, alloc_setup, alloc_teardown);
    tcase_add_test(guard, handler_install_twice_is_harmless);
    suite_add_tcase(s, guard);

    TCase *compact = tcase_create("compact");
    tcase_add_checked_fixture(compact, alloc_setup, alloc_teardown);
    tcase_add_test(compact, compact_stack_within_bounds_runs);
    tcase_add_test(compact, canary_check_leaves_the_stacks_lowest_page_alone);
    tcase_add_test(compact, many_compact_coroutines_alive_at_once);
    tcase_add_test(compact, compact_default_size_is_settable);
    tcase_add_test(compact, stack_mode_arguments_are_checked);
    suite_add_tcase(s, compact);

    TCase *cache = tcase_create("cache");
    tcase_add_checked_fixture(cache, alloc_setup, alloc_teardown);
    tcase_add_test(cache, cache_limits_are_checked);
    suite_add_tcase(s, cache);

    TCase *pool = tcase_create("pool");
    tcase_add_checked_fixture(pool, pool_setup, alloc_teardown);
    tcase_add_test(pool, pool_reuses_a_freed_stack_without_mapping);
    tcase_add_test(pool, pool_trim_and_size_zero_map_afresh);
    tcase_add_test(pool, pool_matches_size_and_mode);
    tcase_add_test(pool, threads_have_their_own_pools);
    tcase_add_test(pool, high_water_tracks_use);
    tcase_add_test(pool, high_water_counts_past_a_mebibyte);
    tcase_add_test(pool, high_water_after_close_with_and_without_the_flag);
    tcase_add_test(pool, high_water_never_under_reports);
    tcase_add_test(pool, oversized_stacks_are_refused);
    tcase_add_test(pool, cache_serves_a_whole_burst);
    tcase_add_test(pool, cache_keeps_its_bound);
    tcase_add_test(pool, idle_stacks_go_back);
    tcase_add_test(pool, idle_stacks_go_back_a_batch_at_a_time);
    tcase_add_test(pool, cache_ring_wraps_after_a_partial_hand_back);
    tcase_add_test(pool, cache_ring_grows_while_wrapped);
    tcase_add_test(pool, cache_stays_consistent_under_mixed_use);
    tcase_add_test(pool, stacks_stay_within_the_idle_period);
    tcase_add_test(pool, idle_zero_keeps_stacks);
    tcase_add_test(pool, handed_back_stacks_give_back_their_places);
    tcase_add_test(pool, lowered_limit_holds_for_later_frees);
    tcase_add_test(pool, idle_zero_mid_drain_keeps_the_rest);
    tcase_add_test(pool, trim_or_exit_mid_drain_returns_everything);
    tcase_add_test(pool, cache_stays_consistent_across_threads);
    tcase_add_test(pool, reused_stack_is_clean_for_the_tools);
    tcase_add_test(pool, stacks_cross_threads);
    suite_add_tcase(s, pool);
    return run_suite(s);
}
