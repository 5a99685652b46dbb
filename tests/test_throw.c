/* test_throw.c - throw(): spec rules D1-D5 and coro_throw_exc.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

/* Records a thrown exception as "caught <Type>: <message>". */
static void note_thrown(coro *self)
{
    const coro_exc *e = coro_exception(self);
    tr_add(&tr, "caught %s: %s", e->type->name, e->message);
}

/* Yields "a"; propagates whatever is thrown in; a cleanup handler. */
static void *strict(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "start");
    coro_defer(self, on_cleanup, "finally");
    coro_yield_value(self, "a");
    tr_add(&tr, "after");
    return "r";
}

/* Yields "a"; on a throw, records it and yields "handled". */
static void *handles_and_yields(coro *self, void *arg)
{
    (void)arg;
    void *got = NULL;
    for (;;) {
        int rc = coro_yield(self, "a", &got);
        if (rc != CORO_THROWN)
            return got;
        note_thrown(self);
        rc = coro_yield(self, "handled", &got);
        if (rc != CORO_THROWN)
            return got;
        note_thrown(self);
    }
}

/* ---- D1 ------------------------------------------------------------------ */

START_TEST(d1_null_type_is_einval)
{
    coro *c = make(strict, NULL);
    coro_next(c, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_throw(c, NULL, "x", &out), CORO_EINVAL);
    coro_exc no_type = {0};
    ck_assert_int_eq(coro_throw_exc(c, &no_type, &out), CORO_EINVAL);
    ck_assert_int_eq(coro_throw_exc(c, NULL, &out), CORO_EINVAL);
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_str_eq(tr.buf, "start");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(tr.buf, "start; after; finally");
    coro_destroy(c);
}
END_TEST

START_TEST(d1_null_type_on_created_leaves_it_created)
{
    coro *c = make(strict, NULL);
    ck_assert_int_eq(coro_throw(c, NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_str_eq(tr.buf, "start");
    coro_destroy(c);
}
END_TEST

/* ---- D2 ------------------------------------------------------------------ */

START_TEST(d2_created_throw_runs_no_body_code)
{
    long before = coro__testing_live_stacks();
    coro *c = make(strict, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "early", &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "early");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    coro_destroy(c);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

START_TEST(d2_created_stop_iteration_becomes_runtime_error)
{
    coro *c = make(strict, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_StopIteration, NULL, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine raised StopIteration");
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

/* ---- D3 ------------------------------------------------------------------ */

START_TEST(d3a_handled_then_yield)
{
    coro *c = make(handles_and_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "v1", &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "handled");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, "v2", &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "a");
    ck_assert_str_eq(tr.buf, "caught ValueError: v1; caught TypeError: v2");
    ck_assert_int_eq(coro_send(c, "end", &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "end");
    coro_destroy(c);
}
END_TEST

static void *handles_and_returns(coro *self, void *arg)
{
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        note_thrown(self);
        return arg;
    }
    return NULL;
}

START_TEST(d3b_handled_then_return)
{
    int token = 3;
    coro *c = make(handles_and_returns, &token);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "m", &out), CORO_RETURNED);
    ck_assert_ptr_eq(out, &token);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "caught ValueError: m");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    coro_destroy(c);
}
END_TEST

static void *two_defers(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer");
    coro_defer(self, on_cleanup, "inner");
    coro_yield_value(self, "a");
    tr_add(&tr, "not reached");
    return NULL;
}

START_TEST(d3c_unhandled_runs_defers)
{
    coro *c = make(two_defers, NULL);
    void *out = "untouched";
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "m", &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "inner; outer");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "m");
    ck_assert_ptr_null(e->context);
    coro_destroy(c);
}
END_TEST

static void *handler_raises_other(coro *self, void *arg)
{
    (void)arg;
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        note_thrown(self);
        coro_raise(self, &coro_TypeError, "from handler");
    }
    return NULL;
}

START_TEST(d3d_handler_raises_another)
{
    coro *c = make(handler_raises_other, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "first", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_TypeError);
    ck_assert_str_eq(e->message, "from handler");
    ck_assert_ptr_eq(e->context, &coro_ValueError);
    ck_assert_ptr_null(e->cause);
    ck_assert_str_eq(tr.buf, "caught ValueError: first");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* ---- D4 ------------------------------------------------------------------ */

START_TEST(d4_closed_reraises_as_is)
{
    coro *c = make(strict, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    tr_reset(&tr);
    void *out = "untouched";
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, "late", &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_TypeError);
    ck_assert_str_eq(coro_exception(c)->message, "late");
    ck_assert_ptr_null(coro_exception(c)->context);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "");
    /* Again, with another type: each throw re-raises its own exception. */
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "later", NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "later");
    coro_destroy(c);
}
END_TEST

/* ---- D5 ------------------------------------------------------------------ */

START_TEST(d5_thrown_generator_exit_escapes_as_raised)
{
    coro *c = make(strict, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_GeneratorExit, NULL, NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_GeneratorExit);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "start; finally");
    coro_destroy(c);
}
END_TEST

START_TEST(d5_thrown_generator_exit_on_created)
{
    coro *c = make(strict, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_GeneratorExit, "x", NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_GeneratorExit);
    ck_assert_str_eq(coro_exception(c)->message, "x");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

START_TEST(d5_thrown_generator_exit_on_closed)
{
    coro *c = make(strict, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_int_eq(coro_throw(c, &coro_GeneratorExit, NULL, NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_GeneratorExit);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(d5_generator_exit_then_yield_is_yielded)
{
    coro *c = make(handles_and_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_GeneratorExit, NULL, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "handled");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit: ");
    ck_assert_int_eq(coro_send(c, "bye", &out), CORO_RETURNED);
    coro_destroy(c);
}
END_TEST

/* ---- coro_throw_exc ------------------------------------------------------ */

static void *records_udata(coro *self, void *arg)
{
    (void)arg;
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        tr_add(&tr, "%s %s udata %d", e->type->name, e->message, *(int *)e->udata);
        coro_reraise(self);
    }
    return NULL;
}

START_TEST(throw_exc_keeps_udata)
{
    int tag = 77;
    coro_exc e;
    ck_assert_int_eq(coro_exc_set(&e, &coro_ValueError, "with data"), CORO_OK);
    e.udata = &tag;
    coro *c = make(records_udata, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw_exc(c, &e, NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "ValueError with data udata 77");
    const coro_exc *got = coro_exception(c);
    ck_assert_ptr_eq(got->type, &coro_ValueError);
    ck_assert_str_eq(got->message, "with data");
    ck_assert_ptr_eq(got->udata, &tag);
    coro_destroy(c);
}
END_TEST

START_TEST(throw_null_message_is_empty)
{
    coro *c = make(handles_and_yields, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, NULL, NULL), CORO_YIELDED);
    ck_assert_str_eq(tr.buf, "caught ValueError: ");
    ck_assert_int_eq(coro_send(c, "end", NULL), CORO_RETURNED);
    coro_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("throw");
    TCase *tc = tcase_create("throw");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, d1_null_type_is_einval);
    tcase_add_test(tc, d1_null_type_on_created_leaves_it_created);
    tcase_add_test(tc, d2_created_throw_runs_no_body_code);
    tcase_add_test(tc, d2_created_stop_iteration_becomes_runtime_error);
    tcase_add_test(tc, d3a_handled_then_yield);
    tcase_add_test(tc, d3b_handled_then_return);
    tcase_add_test(tc, d3c_unhandled_runs_defers);
    tcase_add_test(tc, d3d_handler_raises_another);
    tcase_add_test(tc, d4_closed_reraises_as_is);
    tcase_add_test(tc, throw_exc_keeps_udata);
    tcase_add_test(tc, throw_null_message_is_empty);
    suite_add_tcase(s, tc);

    TCase *ge = tcase_create("generator_exit");
    tcase_add_checked_fixture(ge, alloc_setup, alloc_teardown);
    tcase_add_test(ge, d5_thrown_generator_exit_escapes_as_raised);
    tcase_add_test(ge, d5_thrown_generator_exit_on_created);
    tcase_add_test(ge, d5_thrown_generator_exit_on_closed);
    tcase_add_test(ge, d5_generator_exit_then_yield_is_yielded);
    suite_add_tcase(s, ge);
    return run_suite(s);
}
