/* test_close.c - close(): spec rules E1-E4 (Python 3.13 return value).
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

#include <string.h>

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

/* Makes and starts: the body is SUSPENDED at its first yield. */
static coro *started(coro_fn fn, void *arg)
{
    coro *c = make(fn, arg);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_reset(&tr);
    return c;
}

/* Lets GeneratorExit escape from coro_yield_value, after two cleanups. */
static void *unhandling(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer");
    coro_defer(self, on_cleanup, "inner");
    coro_yield_value(self, "a");
    tr_add(&tr, "not reached");
    return "r";
}

/* Catches the thrown exception, records it, re-raises it. */
static void *catch_and_reraise(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
        coro_reraise(self);
    }
    return NULL;
}

/* ---- E1 ------------------------------------------------------------------ */

START_TEST(e1_created_close_runs_nothing)
{
    long before = coro__testing_live_stacks();
    coro *c = make(unhandling, NULL);
    ck_assert_int_eq(coro__testing_live_stacks(), before + 1);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before); /* freed at once */
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    coro_destroy(c);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* ---- E2 ------------------------------------------------------------------ */

START_TEST(e2_generator_exit_raised_at_yield)
{
    coro *c = started(catch_and_reraise, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit; finally");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(e2a_generator_exit_escapes_is_ok)
{
    long before = coro__testing_live_stacks();
    coro *c = started(unhandling, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "inner; outer");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
    coro_destroy(c);
}
END_TEST

static void *raises_new_generator_exit(coro *self, void *arg)
{
    (void)arg;
    if (coro_yield(self, "a", NULL) == CORO_THROWN)
        coro_raise(self, &coro_GeneratorExit, "a new one");
    return "r";
}

START_TEST(e2a_new_generator_exit_is_ok)
{
    coro *c = started(raises_new_generator_exit, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

static void *returns_while_closing(coro *self, void *arg)
{
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
        return arg;
    }
    return NULL;
}

START_TEST(e2a_return_while_closing_gives_value)
{
    int token = 13;
    coro *c = started(returns_while_closing, &token);
    void *out = NULL;
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_eq(out, &token);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit; finally");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    /* Delivered by close, once: nothing left for next or another close. */
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    coro_destroy(c);
}
END_TEST

START_TEST(e2a_catch_and_fall_off_end_gives_null)
{
    coro *c = started(returns_while_closing, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* Catches GeneratorExit, yields "ignored", then lets the next one escape. */
static void *ignores_once(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
        coro_yield_value(self, "ignored");
    }
    return "r";
}

START_TEST(e2b_yield_after_generator_exit_is_eignored)
{
    coro *c = started(ignores_once, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_EIGNORED);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "ignored GeneratorExit"));
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit");
    /* A second close throws GeneratorExit at the new yield and finishes it. */
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit; finally");
    coro_destroy(c);
}
END_TEST

START_TEST(e2b_ignored_then_next_resumes_body)
{
    coro *c = started(ignores_once, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_EIGNORED);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(tr.buf, "caught GeneratorExit; finally");
    coro_destroy(c);
}
END_TEST

/* A cleanup handler that yields: "finally: yield; print". */
static void yielding_cleanup(void *arg)
{
    coro *self = arg;
    tr_add(&tr, "finally start");
    int rc = coro_yield(self, "in finally", NULL);
    tr_add(&tr, "finally resumed %s", coro_err_name(rc));
}

static void *yield_in_finally(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, yielding_cleanup, self);
    coro_yield_value(self, "a");
    tr_add(&tr, "not reached");
    return NULL;
}

START_TEST(e2b_yield_in_defer_during_unwinding)
{
    coro *c = started(yield_in_finally, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_EIGNORED);
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_str_eq(tr.buf, "finally start");
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "finally start; finally resumed OK");
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_GeneratorExit);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(e2b_second_close_during_unwinding_finishes)
{
    coro *c = started(yield_in_finally, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_EIGNORED);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "finally start; finally resumed THROWN");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

static void *raises_while_closing(coro *self, void *arg)
{
    const coro_exc_type *type = arg;
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN)
        coro_raise(self, type, "while closing");
    return NULL;
}

START_TEST(e2c_other_exception_propagates)
{
    coro *c = started(raises_while_closing, (void *)&coro_ValueError);
    void *out = "untouched";
    ck_assert_int_eq(coro_close(c, &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "while closing");
    ck_assert_ptr_eq(e->context, &coro_GeneratorExit);
    ck_assert_str_eq(tr.buf, "finally");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(e2c_stop_iteration_while_closing_becomes_runtime_error)
{
    coro *c = started(raises_while_closing, (void *)&coro_StopIteration);
    ck_assert_int_eq(coro_close(c, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine raised StopIteration");
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* ---- E3, E4 -------------------------------------------------------------- */

START_TEST(e3_closed_close_is_noop)
{
    coro *c = started(catch_and_reraise, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    tr_reset(&tr);
    for (int i = 0; i < 3; i++) {
        void *out = "untouched";
        ck_assert_int_eq(coro_close(c, &out), CORO_OK);
        ck_assert_ptr_null(out);
        ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    }
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

START_TEST(e3_close_after_raise_is_noop)
{
    coro *c = started(unhandling, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "x", NULL), CORO_RAISED);
    tr_reset(&tr);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

static void *closes_itself(coro *self, void *arg)
{
    (void)arg;
    void *out = "untouched";
    int rc = coro_close(self, &out);
    tr_add(&tr, "close %s out %s", coro_err_name(rc), out ? "set" : "NULL");
    coro_yield_value(self, "still running");
    return NULL;
}

START_TEST(e4_running_close_is_erunning)
{
    coro *c = make(closes_itself, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "still running");
    ck_assert_str_eq(tr.buf, "close ERUNNING out NULL");
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    coro_destroy(c);
}
END_TEST

/* ---- GeneratorExit is not an Exception ----------------------------------- */

/* "except Exception:" swallows and yields; anything else propagates. */
static void *except_exception(coro *self, void *arg)
{
    (void)arg;
    for (;;) {
        if (coro_yield(self, "a", NULL) != CORO_THROWN)
            continue;
        const coro_exc *e = coro_exception(self);
        if (coro_exc_matches(e->type, &coro_Exception)) {
            tr_add(&tr, "swallowed %s", e->type->name);
            continue;
        }
        tr_add(&tr, "propagating %s", e->type->name);
        coro_reraise(self);
    }
}

START_TEST(exception_handler_does_not_catch_generator_exit)
{
    coro *c = started(except_exception, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, NULL, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "swallowed ValueError; propagating GeneratorExit");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("close");
    TCase *tc = tcase_create("close");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, e1_created_close_runs_nothing);
    tcase_add_test(tc, e2_generator_exit_raised_at_yield);
    tcase_add_test(tc, e2a_generator_exit_escapes_is_ok);
    tcase_add_test(tc, e2a_new_generator_exit_is_ok);
    tcase_add_test(tc, e2a_return_while_closing_gives_value);
    tcase_add_test(tc, e2a_catch_and_fall_off_end_gives_null);
    tcase_add_test(tc, e2b_yield_after_generator_exit_is_eignored);
    tcase_add_test(tc, e2b_ignored_then_next_resumes_body);
    tcase_add_test(tc, e2b_yield_in_defer_during_unwinding);
    tcase_add_test(tc, e2b_second_close_during_unwinding_finishes);
    tcase_add_test(tc, e2c_other_exception_propagates);
    tcase_add_test(tc, e2c_stop_iteration_while_closing_becomes_runtime_error);
    tcase_add_test(tc, e3_closed_close_is_noop);
    tcase_add_test(tc, e3_close_after_raise_is_noop);
    tcase_add_test(tc, e4_running_close_is_erunning);
    tcase_add_test(tc, exception_handler_does_not_catch_generator_exit);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
