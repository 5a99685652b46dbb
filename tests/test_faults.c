/* test_faults.c - fault injection: every allocation and every stack mapping
 * made by create, defer and yield_from_fn fails in turn, and each failure is
 * reported as CORO_ENOMEM with nothing leaked.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

#include <string.h>

#define MAX_STEPS 64 /* far more allocations than any create makes */

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static void *simple_body(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "body ran");
    coro_yield_value(self, "first");
    return "r";
}

/* ---- coro_create under allocation failure -------------------------------- */

/* _i selects the options: bit 0 a name, bit 1 CORO_PRIME. */
START_TEST(create_fails_cleanly_at_every_allocation)
{
    coro_options opt;
    coro_options_init(&opt);
    opt.name = (_i & 1) ? "a name to copy" : NULL;
    opt.flags = (_i & 2) ? CORO_PRIME : 0u;
    static char storage;
    coro *const sentinel = (coro *)&storage;
    int failures = 0;
    coro *c = sentinel;
    int rc = CORO_ENOMEM;
    for (long n = 0; n < MAX_STEPS; n++) {
        tr_reset(&tr);
        c = sentinel;
        alloc_fail_after(n);
        rc = coro_create(&c, simple_body, NULL, &opt);
        alloc_fail_after(-1);
        if (rc == CORO_OK)
            break;
        failures++;
        ck_assert_msg(rc == CORO_ENOMEM, "n=%ld: %s", n, coro_err_name(rc));
        ck_assert_ptr_eq(c, sentinel);
        ck_assert_str_ne(coro_last_error(), "");
        ck_assert_str_eq(tr.buf, "");
        ck_assert_int_eq(alloc_live(), 0);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
    }
    ck_assert_int_eq(rc, CORO_OK);
    ck_assert_int_ge(failures, (_i & 1) ? 2 : 1);
    ck_assert_int_eq(coro_get_state(c), (_i & 2) ? CORO_SUSPENDED : CORO_CREATED);
    ck_assert_str_eq(coro_name(c), (_i & 1) ? "a name to copy" : "coroutine");
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), (_i & 2) ? CORO_RETURNED : CORO_YIELDED);
    ck_assert_str_eq((const char *)out, (_i & 2) ? "r" : "first");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(create_allocation_failure_is_explained)
{
    coro *c = NULL;
    alloc_fail_after(0);
    ck_assert_int_eq(coro_create(&c, simple_body, NULL, NULL), CORO_ENOMEM);
    alloc_fail_after(-1);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_create"));
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "allocate"));
}
END_TEST

/* ---- coro_create under mapping failure ----------------------------------- */

#define BATCH 4

START_TEST(create_fails_cleanly_at_every_stack_mapping)
{
    /* No pool: every create must map, so that the n-th mapping is the n-th
     * create. */
    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK);
    coro_options opt;
    coro_options_init(&opt);
    opt.stack_mode = CORO_STACK_GUARDED;
    opt.name = "mapped";
    static char storage;
    coro *const sentinel = (coro *)&storage;
    for (long n = 0; n <= BATCH; n++) {
        coro *cs[BATCH];
        int made = 0;
        coro__testing_fail_map_after(n);
        for (int i = 0; i < BATCH; i++) {
            cs[i] = sentinel;
            int rc = coro_create(&cs[i], simple_body, NULL, &opt);
            if (rc == CORO_OK) {
                ck_assert_int_eq(made, i); /* no success after a failure */
                made++;
                continue;
            }
            ck_assert_msg(rc == CORO_ENOMEM, "n=%ld i=%d: %s", n, i, coro_err_name(rc));
            ck_assert_ptr_eq(cs[i], sentinel);
            ck_assert_ptr_nonnull(strstr(coro_last_error(), "vm.max_map_count"));
        }
        coro__testing_fail_map_after(-1);
        ck_assert_int_eq(made, n < BATCH ? n : BATCH);
        ck_assert_int_eq(coro__testing_live_stacks(), made);
        for (int i = 0; i < made; i++) {
            ck_assert_int_eq(coro_next(cs[i], NULL), CORO_YIELDED);
            ck_assert_int_eq(coro_destroy(cs[i]), CORO_OK);
        }
        ck_assert_int_eq(alloc_live(), 0);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
    }
    ck_assert_int_eq(coro_set_stack_pool_size(64), CORO_OK);
}
END_TEST

/* ---- coro_defer under allocation failure --------------------------------- */

static void ignore_cleanup(void *arg) { (void)arg; }

/* The first CORO_INLINE_DEFERS handlers live in the coroutine and never
 * allocate; these tests are about the allocated ones, so the body fills the
 * inline slots with silent handlers first. */
static void *registers_three(coro *self, void *arg)
{
    (void)arg;
    static const char *names[] = {"first", "second", "third"};
    for (int i = 0; i < CORO_INLINE_DEFERS; i++)
        if (coro_defer(self, ignore_cleanup, NULL) != CORO_OK)
            tr_add(&tr, "inline defer %d failed", i);
    for (int i = 0; i < 3; i++) {
        int rc = coro_defer(self, on_cleanup, (void *)names[i]);
        tr_add(&tr, "defer %s %s", names[i], coro_err_name(rc));
    }
    coro_yield_value(self, NULL);
    tr_add(&tr, "end");
    return "clean";
}

/* Registers CORO_INLINE_DEFERS + 1 handlers with every allocation failing:
 * the inline ones succeed, the next reports ENOMEM. */
static void *registers_past_inline(coro *self, void *arg)
{
    (void)arg;
    for (int i = 0; i <= CORO_INLINE_DEFERS; i++)
        tr_add(&tr, "%s", coro_err_name(coro_defer(self, on_cleanup, "h")));
    return NULL;
}

START_TEST(inline_defers_need_no_allocation)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, registers_past_inline, NULL, NULL), CORO_OK);
    tr_reset(&tr);
    alloc_fail_after(0);
    int rc = coro_next(c, NULL);
    alloc_fail_after(-1);
    ck_assert_int_eq(rc, CORO_RETURNED);
    ck_assert_int_eq(CORO_INLINE_DEFERS, 4);
    ck_assert_str_eq(tr.buf, "OK; OK; OK; OK; ENOMEM; h; h; h; h");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(alloc_live(), 0);
}
END_TEST

START_TEST(defer_enomem_inside_body)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, registers_three, NULL, NULL), CORO_OK);
    tr_reset(&tr);
    alloc_fail_after(0);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    alloc_fail_after(-1);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "clean");
    ck_assert_str_eq(tr.buf, "defer first ENOMEM; defer second ENOMEM; defer third ENOMEM; end");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(defer_fails_at_every_allocation)
{
    static const char *expect[] = {
        "defer first ENOMEM; defer second ENOMEM; defer third ENOMEM; end",
        "defer first OK; defer second ENOMEM; defer third ENOMEM; end; first",
        "defer first OK; defer second OK; defer third ENOMEM; end; second; first",
        "defer first OK; defer second OK; defer third OK; end; third; second; first",
    };
    for (long n = 0; n < 4; n++) {
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, registers_three, NULL, NULL), CORO_OK);
        tr_reset(&tr);
        alloc_fail_after(n);
        ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
        alloc_fail_after(-1);
        ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
        ck_assert_str_eq(tr.buf, expect[n]);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
        ck_assert_int_eq(alloc_live(), 0);
    }
}
END_TEST

START_TEST(defer_failure_then_close_is_clean)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, registers_three, NULL, NULL), CORO_OK);
    tr_reset(&tr);
    alloc_fail_after(1);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    alloc_fail_after(-1);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf,
                     "defer first OK; defer second ENOMEM; defer third ENOMEM; first");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ---- coro_yield_from_fn when the sub cannot be made ---------------------- */

static void *delegates(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "delegator finally");
    coro_yield_value(self, "before");
    void *result = "untouched";
    int rc = coro_yield_from_fn(self, simple_body, NULL, &result);
    tr_add(&tr, "yield_from_fn %s result %s", coro_err_name(rc),
           result == NULL ? "NULL" : (const char *)result);
    return "delegator done";
}

static void check_yield_from_fn_enomem(int by_mapping)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, delegates, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED); /* the defer is registered */
    tr_reset(&tr);
    if (by_mapping)
        coro__testing_fail_map_after(0);
    else
        alloc_fail_after(0);
    void *out = NULL;
    int rc = coro_next(c, &out);
    coro__testing_fail_map_after(-1);
    alloc_fail_after(-1);
    ck_assert_int_eq(rc, CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "delegator done");
    ck_assert_str_eq(tr.buf, "yield_from_fn ENOMEM result NULL; delegator finally");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(alloc_live(), 0);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
}

START_TEST(yield_from_fn_enomem_when_sub_cannot_be_allocated)
{
    check_yield_from_fn_enomem(0);
}
END_TEST

START_TEST(yield_from_fn_enomem_when_sub_stack_cannot_be_mapped)
{
    ck_assert_int_eq(coro_set_stack_pool_size(0), CORO_OK);
    check_yield_from_fn_enomem(1);
    ck_assert_int_eq(coro_set_stack_pool_size(64), CORO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *cr = tcase_create("create");
    tcase_add_checked_fixture(cr, alloc_setup, alloc_teardown);
    tcase_add_loop_test(cr, create_fails_cleanly_at_every_allocation, 0, 4);
    tcase_add_test(cr, create_allocation_failure_is_explained);
    tcase_add_test(cr, create_fails_cleanly_at_every_stack_mapping);
    suite_add_tcase(s, cr);

    TCase *body = tcase_create("body");
    tcase_add_checked_fixture(body, alloc_setup, alloc_teardown);
    tcase_add_test(body, inline_defers_need_no_allocation);
    tcase_add_test(body, defer_enomem_inside_body);
    tcase_add_test(body, defer_fails_at_every_allocation);
    tcase_add_test(body, defer_failure_then_close_is_clean);
    tcase_add_test(body, yield_from_fn_enomem_when_sub_cannot_be_allocated);
    tcase_add_test(body, yield_from_fn_enomem_when_sub_stack_cannot_be_mapped);
    suite_add_tcase(s, body);
    return run_suite(s);
}
