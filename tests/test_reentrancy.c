/* test_reentrancy.c - spec rules C1-C2, coroutines driving coroutines,
 * coro_current, and body calls made with the wrong self.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <stdio.h>
#include <string.h>

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

/* ---- C1, C2 -------------------------------------------------------------- */

static void *drives_itself(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    coro_yield_value(self, "a");
    void *out = "untouched";
    tr_add(&tr, "next %s", coro_err_name(coro_next(self, &out)));
    tr_add(&tr, "send %s", coro_err_name(coro_send(self, "v", &out)));
    tr_add(&tr, "throw %s", coro_err_name(coro_throw(self, &coro_ValueError, "x", &out)));
    tr_add(&tr, "close %s", coro_err_name(coro_close(self, &out)));
    tr_add(&tr, "message %s",
           strstr(coro_last_error(), "already executing") != NULL ? "ok" : coro_last_error());
    tr_add(&tr, "destroy %s", coro_err_name(coro_destroy(self)));
    tr_add(&tr, "out %s", out == NULL ? "NULL" : "set");
    tr_add(&tr, "exception %s", coro_exception(self) == NULL ? "none" : "set");
    tr_add(&tr, "%s", coro_state_name(coro_get_state(self)));
    coro_yield_value(self, "b");
    return "r";
}

START_TEST(c1_operations_on_running_self_are_erunning)
{
    coro *c = make(drives_itself, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_str_eq(tr.buf, "next ERUNNING; send ERUNNING; throw ERUNNING; close ERUNNING; "
                             "message ok; destroy ERUNNING; out NULL; exception none; "
                             "GEN_RUNNING");
    /* Undisturbed: no exception pending, the cleanup still registered. */
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(strrchr(tr.buf, ';'), "; finally");
    coro_destroy(c);
}
END_TEST

/* Python's PEP 255 example: the body tries to resume itself, gets the error
 * as an ordinary value, and decides what to do with it. */
static void *treats_error(coro *self, void *arg)
{
    const char *policy = arg;
    for (int i = 1; i <= 2; i++) {
        int rc = coro_next(self, NULL);
        if (rc == CORO_ERUNNING && strcmp(policy, "raise") == 0)
            coro_raise(self, &coro_ValueError, "coroutine already executing");
        tr_add(&tr, "attempt %d %s, carrying on", i, coro_err_name(rc));
        coro_yield_value(self, NULL);
    }
    return "done";
}

START_TEST(c2_body_handles_error_and_carries_on)
{
    coro *c = make(treats_error, "carry on");
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "done");
    ck_assert_str_eq(tr.buf,
                     "attempt 1 ERUNNING, carrying on; attempt 2 ERUNNING, carrying on");
    coro_destroy(c);
}
END_TEST

START_TEST(c2_error_turned_into_exception_escapes)
{
    coro *c = make(treats_error, "raise");
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "coroutine already executing");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

/* ---- coroutines driving coroutines --------------------------------------- */

/* A level of a driving chain: drives `below` (if any) and yields what it got,
 * tagged with its own name. */
struct level {
    const char *name;
    struct level *below;
    coro *co;
    char yielded[64];
};

static void *drive_level(coro *self, void *arg)
{
    struct level *l = arg;
    for (int round = 0; round < 2; round++) {
        const char *got = "leaf";
        if (l->below != NULL) {
            void *out = NULL;
            int rc = coro_next(l->below->co, &out);
            tr_add(&tr, "%s drove %s: %s", l->name, l->below->name, coro_err_name(rc));
            got = rc == CORO_YIELDED ? out : "?";
        }
        tr_add(&tr, "%s current %s", l->name, coro_current() == self ? "self" : "other");
        snprintf(l->yielded, sizeof l->yielded, "%s<%s", l->name, got);
        coro_yield_value(self, l->yielded);
    }
    return NULL;
}

START_TEST(coroutines_drive_coroutines_three_deep)
{
    struct level c3 = {"C", NULL, NULL, ""};
    struct level c2 = {"B", &c3, NULL, ""};
    struct level c1 = {"A", &c2, NULL, ""};
    c3.co = make(drive_level, &c3);
    c2.co = make(drive_level, &c2);
    c1.co = make(drive_level, &c1);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c1.co, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "A<B<C<leaf");
    ck_assert_str_eq(tr.buf, "C current self; B drove C: YIELDED; B current self; "
                             "A drove B: YIELDED; A current self");
    ck_assert_int_eq(coro_get_state(c1.co), CORO_SUSPENDED);
    ck_assert_int_eq(coro_get_state(c2.co), CORO_SUSPENDED);
    ck_assert_int_eq(coro_get_state(c3.co), CORO_SUSPENDED);
    ck_assert_ptr_null(coro_current());
    tr_reset(&tr);
    ck_assert_int_eq(coro_next(c1.co, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "A<B<C<leaf");
    ck_assert_int_eq(coro_destroy(c1.co), CORO_OK);
    ck_assert_int_eq(coro_destroy(c2.co), CORO_OK);
    ck_assert_int_eq(coro_destroy(c3.co), CORO_OK);
}
END_TEST

/* The innermost of a chain A -> B -> C tries to drive A and B. */
struct chain {
    coro *a, *b, *c;
};

static void *inner_drives_outer(coro *self, void *arg)
{
    struct chain *ch = arg;
    void *out = NULL;
    tr_add(&tr, "A %s", coro_state_name(coro_get_state(ch->a)));
    tr_add(&tr, "B %s", coro_state_name(coro_get_state(ch->b)));
    tr_add(&tr, "next A %s", coro_err_name(coro_next(ch->a, &out)));
    tr_add(&tr, "send B %s", coro_err_name(coro_send(ch->b, "v", &out)));
    tr_add(&tr, "throw A %s",
           coro_err_name(coro_throw(ch->a, &coro_ValueError, NULL, &out)));
    tr_add(&tr, "close B %s", coro_err_name(coro_close(ch->b, &out)));
    tr_add(&tr, "destroy A %s", coro_err_name(coro_destroy(ch->a)));
    coro_yield_value(self, "from C");
    return NULL;
}

static void *drive_next(coro *self, void *arg)
{
    coro **next = arg;
    void *out = NULL;
    int rc = coro_next(*next, &out);
    tr_add(&tr, "driven %s", coro_err_name(rc));
    coro_yield_value(self, out);
    return NULL;
}

START_TEST(driving_the_driver_is_erunning)
{
    struct chain ch;
    ch.c = make(inner_drives_outer, &ch);
    ch.b = make(drive_next, &ch.c);
    ch.a = make(drive_next, &ch.b);
    void *out = NULL;
    ck_assert_int_eq(coro_next(ch.a, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "from C");
    ck_assert_str_eq(tr.buf, "A GEN_RUNNING; B GEN_RUNNING; next A ERUNNING; send B ERUNNING; "
                             "throw A ERUNNING; close B ERUNNING; destroy A ERUNNING; "
                             "driven YIELDED; driven YIELDED");
    ck_assert_int_eq(coro_get_state(ch.a), CORO_SUSPENDED);
    coro_destroy(ch.a);
    coro_destroy(ch.b);
    coro_destroy(ch.c);
}
END_TEST

static void *raises_at_once(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_TypeError, "inner failure");
}

static void *drives_failing(coro *self, void *arg)
{
    coro *inner = NULL;
    coro_create(&inner, raises_at_once, NULL, NULL);
    int rc = coro_next(inner, NULL);
    tr_add(&tr, "inner %s %s", coro_err_name(rc), coro_exception(inner)->type->name);
    tr_add(&tr, "current %s", coro_current() == self ? "self" : "other");
    coro_destroy(inner);
    return arg;
}

START_TEST(exception_in_driven_coroutine_is_a_status)
{
    coro *c = make(drives_failing, "outer done");
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "outer done");
    ck_assert_str_eq(tr.buf, "inner RAISED TypeError; current self");
    coro_destroy(c);
}
END_TEST

/* ---- coro_current -------------------------------------------------------- */

static void *records_current(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "%s", coro_current() == self ? "self" : "other");
    coro_yield_value(self, NULL);
    tr_add(&tr, "%s", coro_current() == self ? "self" : "other");
    return NULL;
}

START_TEST(current_inside_and_outside)
{
    ck_assert_ptr_null(coro_current());
    coro *c = make(records_current, NULL);
    ck_assert_ptr_null(coro_current());
    coro_next(c, NULL);
    ck_assert_ptr_null(coro_current());
    coro_next(c, NULL);
    ck_assert_ptr_null(coro_current());
    ck_assert_str_eq(tr.buf, "self; self");
    coro_destroy(c);
}
END_TEST

/* ---- wrong self ---------------------------------------------------------- */

static void *idle(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "idle ran");
    coro_yield_value(self, NULL);
    return NULL;
}

START_TEST(body_calls_from_main_are_enotcurrent)
{
    coro *c = make(idle, NULL);
    coro *sub = make(idle, NULL);
    void *got = "untouched";
    ck_assert_int_eq(coro_yield(c, "v", &got), CORO_ENOTCURRENT);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_yield"));
    ck_assert_int_eq(coro_defer(c, on_cleanup, "never"), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_defer_pop(c, true), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_yield_from(c, sub, &got), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_yield_from_fn(c, idle, NULL, &got), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    ck_assert_int_eq(coro_get_state(sub), CORO_CREATED);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_yield(c, "v", NULL), CORO_ENOTCURRENT); /* suspended too */
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "idle ran");
    coro_destroy(c);
    coro_destroy(sub);
}
END_TEST

/* B's body calls body functions with A (its driver) as self. */
static void *uses_drivers_self(coro *self, void *arg)
{
    coro *a = arg;
    coro *sub = NULL;
    coro_create(&sub, idle, NULL, NULL);
    tr_add(&tr, "yield %s", coro_err_name(coro_yield(a, "v", NULL)));
    tr_add(&tr, "defer %s", coro_err_name(coro_defer(a, on_cleanup, "never")));
    tr_add(&tr, "pop %s", coro_err_name(coro_defer_pop(a, true)));
    tr_add(&tr, "yield from %s", coro_err_name(coro_yield_from(a, sub, NULL)));
    tr_add(&tr, "yield from fn %s", coro_err_name(coro_yield_from_fn(a, idle, NULL, NULL)));
    tr_add(&tr, "sub %s", coro_state_name(coro_get_state(sub)));
    coro_destroy(sub);
    coro_yield_value(self, "B yielded");
    return NULL;
}

static void *drives_b(coro *self, void *arg)
{
    coro *b = NULL;
    coro_create(&b, uses_drivers_self, self, NULL);
    void *out = NULL;
    int rc = coro_next(b, &out);
    tr_add(&tr, "A got %s %s", coro_err_name(rc), out ? (const char *)out : "NULL");
    coro_destroy(b);
    return arg;
}

START_TEST(body_calls_from_another_body_are_enotcurrent)
{
    coro *a = make(drives_b, "A done");
    void *out = NULL;
    ck_assert_int_eq(coro_next(a, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "A done");
    ck_assert_str_eq(tr.buf, "yield ENOTCURRENT; defer ENOTCURRENT; pop ENOTCURRENT; "
                             "yield from ENOTCURRENT; yield from fn ENOTCURRENT; "
                             "sub GEN_CREATED; A got YIELDED B yielded");
    coro_destroy(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reentrancy");
    TCase *tc = tcase_create("running");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, c1_operations_on_running_self_are_erunning);
    tcase_add_test(tc, c2_body_handles_error_and_carries_on);
    tcase_add_test(tc, c2_error_turned_into_exception_escapes);
    suite_add_tcase(s, tc);

    TCase *nest = tcase_create("nesting");
    tcase_add_checked_fixture(nest, alloc_setup, alloc_teardown);
    tcase_add_test(nest, coroutines_drive_coroutines_three_deep);
    tcase_add_test(nest, driving_the_driver_is_erunning);
    tcase_add_test(nest, exception_in_driven_coroutine_is_a_status);
    tcase_add_test(nest, current_inside_and_outside);
    suite_add_tcase(s, nest);

    TCase *wrong = tcase_create("wrong_self");
    tcase_add_checked_fixture(wrong, alloc_setup, alloc_teardown);
    tcase_add_test(wrong, body_calls_from_main_are_enotcurrent);
    tcase_add_test(wrong, body_calls_from_another_body_are_enotcurrent);
    suite_add_tcase(s, wrong);
    return run_suite(s);
}
