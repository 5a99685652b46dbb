/* test_states.c - spec section 1: the four states, every state x operation
 * cell, A1-A3, the state names and the CORO_PRIME option.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"


/* Records what a yield brought back: "got <value>" or "thrown <type>". */
static void note(coro *self, int rc, void *got)
{
    if (rc == CORO_THROWN)
        tr_add(&tr, "thrown %s", coro_exception(self)->type->name);
    else
        tr_add(&tr, "got %s", got != NULL ? (const char *)got : "NULL");
}

/* start; yield "a"; yield "b"; return "r" - handling whatever is thrown in. */
static void *two_yields(coro *self, void *arg)
{
    (void)arg;
    void *got = NULL;
    tr_add(&tr, "start");
    int rc = coro_yield(self, "a", &got);
    note(self, rc, got);
    rc = coro_yield(self, "b", &got);
    note(self, rc, got);
    tr_add(&tr, "end");
    return "r";
}

/* Propagates everything thrown in; records its cleanup. */
static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static void *strict_body(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "start");
    coro_defer(self, on_cleanup, "finally");
    void *got = coro_yield_value(self, "a");
    tr_add(&tr, "got %s", got != NULL ? (const char *)got : "NULL");
    return "r";
}

static void *returns_at_once(coro *self, void *arg)
{
    (void)self;
    tr_add(&tr, "ran");
    return arg;
}

static void *raises_at_once(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "ran");
    coro_raise(self, &coro_ValueError, "early");
}

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    ck_assert_ptr_nonnull(c);
    tr_reset(&tr);
    return c;
}

/* ---- A: creation and state ---------------------------------------------- */

START_TEST(a1_create_runs_nothing)
{
    tr_reset(&tr);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, two_yields, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    ck_assert_ptr_null(coro_yield_from_target(c));
    ck_assert_ptr_null(coro_exception(c));
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

static void *record_own_state(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "%s", coro_state_name(coro_get_state(self)));
    coro_yield(self, NULL, NULL);
    tr_add(&tr, "%s", coro_state_name(coro_get_state(self)));
    return NULL;
}

START_TEST(a2_body_sees_itself_running)
{
    coro *c = make(record_own_state, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "GEN_RUNNING; GEN_RUNNING");
    coro_destroy(c);
}
END_TEST

START_TEST(a3_return_releases_stack)
{
    long before = coro__testing_live_stacks();
    coro *c = make(two_yields, NULL);
    ck_assert_int_eq(coro__testing_live_stacks(), before + 1);
    coro_next(c, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro__testing_live_stacks(), before + 1);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
    coro_destroy(c);
}
END_TEST

START_TEST(a3_raise_releases_stack)
{
    long before = coro__testing_live_stacks();
    coro *c = make(raises_at_once, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
    coro_destroy(c);
}
END_TEST

START_TEST(a3_close_releases_stack)
{
    long before = coro__testing_live_stacks();
    coro *c = make(strict_body, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
    coro_destroy(c);
}
END_TEST

/* ---- CREATED x operations ------------------------------------------------ */

START_TEST(created_next_runs_to_first_yield)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "a");
    ck_assert_str_eq(tr.buf, "start");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED); /* to "b", where close ends it */
    coro_destroy(c);
}
END_TEST

START_TEST(created_send_null_runs_to_first_yield)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_send(c, NULL, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "a");
    ck_assert_str_eq(tr.buf, "start");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED); /* to "b", where close ends it */
    coro_destroy(c);
}
END_TEST

START_TEST(created_send_value_is_refused)
{
    coro *c = make(two_yields, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_send(c, "v", &out), CORO_EJUSTSTARTED);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    coro_destroy(c);
}
END_TEST

START_TEST(created_throw_closes_without_running)
{
    coro *c = make(strict_body, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "boom", NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "boom");
    coro_destroy(c);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

START_TEST(created_close_closes_without_running)
{
    coro *c = make(strict_body, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* ---- SUSPENDED x operations ---------------------------------------------- */

START_TEST(suspended_next_resumes_with_null)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_str_eq(tr.buf, "start; got NULL");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    coro_destroy(c);
}
END_TEST

START_TEST(suspended_send_resumes_with_value)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_send(c, "x", &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_int_eq(coro_send(c, "y", &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(tr.buf, "start; got x; got y; end");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(suspended_throw_raises_at_yield)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, NULL, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_str_eq(tr.buf, "start; thrown TypeError");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    coro_destroy(c);
}
END_TEST

START_TEST(suspended_close_raises_generator_exit_at_yield)
{
    coro *c = make(two_yields, NULL);
    coro_next(c, NULL);
    /* two_yields swallows GeneratorExit and yields again: E2b. */
    ck_assert_int_eq(coro_close(c, NULL), CORO_EIGNORED);
    ck_assert_str_eq(tr.buf, "start; thrown GeneratorExit");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK); /* handled again, then returned */
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* ---- RUNNING x operations ------------------------------------------------ */

static void *drives_itself(coro *self, void *arg)
{
    (void)arg;
    void *out = "untouched";
    tr_add(&tr, "next %s", coro_err_name(coro_next(self, &out)));
    tr_add(&tr, "send None %s", coro_err_name(coro_send(self, NULL, &out)));
    tr_add(&tr, "send v %s", coro_err_name(coro_send(self, "v", &out)));
    tr_add(&tr, "throw %s", coro_err_name(coro_throw(self, &coro_ValueError, "x", &out)));
    tr_add(&tr, "close %s", coro_err_name(coro_close(self, &out)));
    tr_add(&tr, "%s", coro_state_name(coro_get_state(self)));
    coro_yield(self, "still fine", NULL);
    return NULL;
}

START_TEST(running_rejects_every_operation)
{
    coro *c = make(drives_itself, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "still fine");
    ck_assert_str_eq(tr.buf, "next ERUNNING; send None ERUNNING; send v ERUNNING; "
                             "throw ERUNNING; close ERUNNING; GEN_RUNNING");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    coro_destroy(c);
}
END_TEST

/* ---- CLOSED x operations ------------------------------------------------- */

static coro *finished(void)
{
    coro *c = make(returns_at_once, "r");
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    tr_reset(&tr);
    return c;
}

START_TEST(closed_next_and_send_return_null)
{
    coro *c = finished();
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    out = "untouched";
    ck_assert_int_eq(coro_send(c, NULL, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    out = "untouched";
    ck_assert_int_eq(coro_send(c, "v", &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(closed_throw_reraises)
{
    coro *c = finished();
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, "late", NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_TypeError);
    ck_assert_str_eq(coro_exception(c)->message, "late");
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(closed_close_is_noop)
{
    coro *c = finished();
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* ---- names --------------------------------------------------------------- */

START_TEST(state_names)
{
    ck_assert_str_eq(coro_state_name(CORO_CREATED), "GEN_CREATED");
    ck_assert_str_eq(coro_state_name(CORO_RUNNING), "GEN_RUNNING");
    ck_assert_str_eq(coro_state_name(CORO_SUSPENDED), "GEN_SUSPENDED");
    ck_assert_str_eq(coro_state_name(CORO_CLOSED), "GEN_CLOSED");
    ck_assert_str_eq(coro_state_name(4), "GEN_UNKNOWN");
    ck_assert_str_eq(coro_state_name(-1), "GEN_UNKNOWN");
    ck_assert_str_eq(coro_state_name(CORO_EINVAL), "GEN_UNKNOWN");
}
END_TEST

/* ---- CORO_PRIME ---------------------------------------------------------- */

static coro *make_primed(coro_fn fn, void *arg, int expect)
{
    coro_options opt;
    coro_options_init(&opt);
    opt.flags = CORO_PRIME;
    coro *c = NULL;
    tr_reset(&tr);
    ck_assert_int_eq(coro_create(&c, fn, arg, &opt), expect);
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(prime_runs_to_first_yield)
{
    coro *c = make_primed(two_yields, NULL, CORO_OK);
    ck_assert_str_eq(tr.buf, "start");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    void *out = NULL;
    ck_assert_int_eq(coro_send(c, "x", &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_str_eq(tr.buf, "start; got x");
    coro_destroy(c);
}
END_TEST

START_TEST(prime_body_returns_before_yield)
{
    coro *c = make_primed(returns_at_once, "r", CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "ran");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(prime_body_raises_before_yield)
{
    coro *c = make_primed(raises_at_once, NULL, CORO_RAISED);
    ck_assert_str_eq(tr.buf, "ran");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "early");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("states");
    TCase *a = tcase_create("creation");
    tcase_add_checked_fixture(a, alloc_setup, alloc_teardown);
    tcase_add_test(a, a1_create_runs_nothing);
    tcase_add_test(a, a2_body_sees_itself_running);
    tcase_add_test(a, a3_return_releases_stack);
    tcase_add_test(a, a3_raise_releases_stack);
    tcase_add_test(a, a3_close_releases_stack);
    tcase_add_test(a, state_names);
    suite_add_tcase(s, a);

    TCase *t = tcase_create("table");
    tcase_add_checked_fixture(t, alloc_setup, alloc_teardown);
    tcase_add_test(t, created_next_runs_to_first_yield);
    tcase_add_test(t, created_send_null_runs_to_first_yield);
    tcase_add_test(t, created_send_value_is_refused);
    tcase_add_test(t, created_throw_closes_without_running);
    tcase_add_test(t, created_close_closes_without_running);
    tcase_add_test(t, suspended_next_resumes_with_null);
    tcase_add_test(t, suspended_send_resumes_with_value);
    tcase_add_test(t, suspended_throw_raises_at_yield);
    tcase_add_test(t, suspended_close_raises_generator_exit_at_yield);
    tcase_add_test(t, running_rejects_every_operation);
    tcase_add_test(t, closed_next_and_send_return_null);
    tcase_add_test(t, closed_throw_reraises);
    tcase_add_test(t, closed_close_is_noop);
    suite_add_tcase(s, t);

    TCase *p = tcase_create("prime");
    tcase_add_checked_fixture(p, alloc_setup, alloc_teardown);
    tcase_add_test(p, prime_runs_to_first_yield);
    tcase_add_test(p, prime_body_returns_before_yield);
    tcase_add_test(p, prime_body_raises_before_yield);
    suite_add_tcase(s, p);
    return run_suite(s);
}
