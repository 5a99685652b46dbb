/* test_send.c - next, send and the return value: spec rules B1-B8 and the
 * averager seed example.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <stdio.h>
#include <string.h>

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

/* Yields "a", "b", records what each yield received, returns "r". */
static void *two_yields(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "start");
    void *got = coro_yield_value(self, "a");
    tr_add(&tr, "got %s", got ? (const char *)got : "NULL");
    got = coro_yield_value(self, "b");
    tr_add(&tr, "got %s", got ? (const char *)got : "NULL");
    return "r";
}

/* ---- B1 ------------------------------------------------------------------ */

START_TEST(b1_next_equals_send_null)
{
    coro *a = make(two_yields, NULL);
    coro *b = make(two_yields, NULL);
    const char *expect[] = {"a", "b", "r", NULL};
    int status[] = {CORO_YIELDED, CORO_YIELDED, CORO_RETURNED, CORO_RETURNED};
    transcript by_next;
    tr_reset(&tr);
    for (int i = 0; i < 4; i++) {
        void *out = "untouched";
        ck_assert_int_eq(coro_next(a, &out), status[i]);
        if (expect[i] == NULL)
            ck_assert_ptr_null(out);
        else
            ck_assert_str_eq((const char *)out, expect[i]);
    }
    by_next = tr;
    tr_reset(&tr);
    for (int i = 0; i < 4; i++) {
        void *out = "untouched";
        ck_assert_int_eq(coro_send(b, NULL, &out), status[i]);
        if (expect[i] == NULL)
            ck_assert_ptr_null(out);
        else
            ck_assert_str_eq((const char *)out, expect[i]);
    }
    ck_assert_str_eq(tr.buf, by_next.buf);
    ck_assert_str_eq(tr.buf, "start; got NULL; got NULL");
    coro_destroy(a);
    coro_destroy(b);
}
END_TEST

/* ---- B2, B3 -------------------------------------------------------------- */

static void *lines_then_yield(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "line 1");
    tr_add(&tr, "line 2");
    coro_yield_value(self, "first");
    tr_add(&tr, "after");
    return NULL;
}

START_TEST(b2_first_resume_runs_to_first_yield)
{
    coro *c = make(lines_then_yield, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "first");
    ck_assert_str_eq(tr.buf, "line 1; line 2");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "line 1; line 2; after");
    coro_destroy(c);
}
END_TEST

/* Echo: each yield hands back what the previous one received, as a number. */
static void *echo(coro *self, void *arg)
{
    (void)arg;
    void *got = coro_yield_value(self, NULL);
    while (got != NULL) {
        tr_add(&tr, "received %d", *(int *)got);
        got = coro_yield_value(self, got);
    }
    return "done";
}

START_TEST(b3_send_value_becomes_yield_result)
{
    int values[] = {7, 0, -3};
    coro *c = make(echo, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_ptr_null(out);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(coro_send(c, &values[i], &out), CORO_YIELDED);
        ck_assert_ptr_eq(out, &values[i]);
    }
    ck_assert_str_eq(tr.buf, "received 7; received 0; received -3");
    ck_assert_int_eq(coro_send(c, NULL, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "done");
    coro_destroy(c);
}
END_TEST

/* ---- B4 ------------------------------------------------------------------ */

START_TEST(b4_priming_nonnull_send_fails)
{
    coro *c = make(two_yields, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_send(c, "v", &out), CORO_EJUSTSTARTED);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "just-started"));
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "a");
    ck_assert_str_eq(tr.buf, "start");
    coro_destroy(c);
}
END_TEST

START_TEST(b4_priming_falsy_nonnull_send_fails)
{
    int zero = 0;
    char empty[] = "";
    coro *c = make(echo, NULL);
    ck_assert_int_eq(coro_send(c, &zero, NULL), CORO_EJUSTSTARTED);
    ck_assert_int_eq(coro_send(c, empty, NULL), CORO_EJUSTSTARTED);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_get_state(c), CORO_CREATED);
    void *out = "untouched";
    ck_assert_int_eq(coro_send(c, NULL, &out), CORO_YIELDED);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_send(c, &zero, &out), CORO_YIELDED); /* fine once started */
    ck_assert_ptr_eq(out, &zero);
    ck_assert_str_eq(tr.buf, "received 0");
    coro_destroy(c);
}
END_TEST

/* ---- B5 ------------------------------------------------------------------ */

START_TEST(b5_return_value_via_next)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* Returns, doubled, the first value sent in. */
static void *doubles(coro *self, void *arg)
{
    int *slot = arg;
    *slot = 2 * *(int *)coro_yield_value(self, NULL);
    return slot;
}

START_TEST(b5_return_value_via_send)
{
    int slot = 0, v = 21;
    coro *c = make(doubles, &slot);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_send(c, &v, &out), CORO_RETURNED);
    ck_assert_ptr_eq(out, &slot);
    ck_assert_int_eq(slot, 42);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

static void *returns_when_thrown(coro *self, void *arg)
{
    if (coro_yield(self, NULL, NULL) == CORO_THROWN)
        return arg;
    return NULL;
}

START_TEST(b5_return_value_via_throw)
{
    int token = 5;
    coro *c = make(returns_when_thrown, &token);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, NULL, &out), CORO_RETURNED);
    ck_assert_ptr_eq(out, &token);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

static void *falls_off(coro *self, void *arg)
{
    (void)arg;
    coro_yield_value(self, "only");
    return NULL;
}

START_TEST(b5_fall_off_end_returns_null)
{
    coro *c = make(falls_off, NULL);
    void *out = "untouched";
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    coro_destroy(c);
}
END_TEST

/* ---- B6 ------------------------------------------------------------------ */

struct payload {
    int tag;
    void *received;
};

static void *pass_through(coro *self, void *arg)
{
    struct payload *p = arg;
    p->received = coro_yield_value(self, p);
    return p->received;
}

START_TEST(b6_pointer_passes_unchanged)
{
    struct payload p = {1, NULL};
    struct payload sent = {2, NULL};
    coro *c = make(pass_through, &p);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_ptr_eq(out, &p);
    ck_assert_int_eq(coro_send(c, &sent, &out), CORO_RETURNED);
    ck_assert_ptr_eq(p.received, &sent);
    ck_assert_ptr_eq(out, &sent);
    ck_assert_int_eq(sent.tag, 2);
    coro_destroy(c);
}
END_TEST

/* ---- B7 ------------------------------------------------------------------ */

START_TEST(b7_return_value_delivered_once)
{
    coro *c = make(two_yields, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    for (int i = 0; i < 3; i++) {
        out = "untouched";
        ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
        ck_assert_ptr_null(out);
        out = "untouched";
        ck_assert_int_eq(coro_send(c, "v", &out), CORO_RETURNED);
        ck_assert_ptr_null(out);
    }
    ck_assert_str_eq(tr.buf, "start; got NULL; got NULL");
    coro_destroy(c);
}
END_TEST

START_TEST(b7_closed_while_created_send_value_returns)
{
    coro *c = make(two_yields, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    void *out = "untouched";
    ck_assert_int_eq(coro_send(c, "v", &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "");
    coro_destroy(c);
}
END_TEST

/* ---- B8 ------------------------------------------------------------------ */

static void *raises_after_yield(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer finally");
    coro_defer(self, on_cleanup, "inner finally");
    coro_yield_value(self, "a");
    tr_add(&tr, "raising");
    coro_raise(self, &coro_ValueError, "bad value");
}

START_TEST(b8_exception_escapes_after_defers)
{
    coro *c = make(raises_after_yield, NULL);
    void *out = "untouched";
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "raising; inner finally; outer finally");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "bad value");
    ck_assert_ptr_null(e->context);
    ck_assert_ptr_null(e->cause);
    out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "raising; inner finally; outer finally");
    coro_destroy(c);
}
END_TEST

/* ---- seed: the averager -------------------------------------------------- */

struct averager {
    double average;
    char result[64];
};

static void *averager(coro *self, void *arg)
{
    struct averager *a = arg;
    double total = 0.0;
    int count = 0;
    void *average = NULL; /* None until the first term */
    for (;;) {
        const double *term = coro_yield_value(self, average);
        if (term == NULL)
            break;
        total += *term;
        count++;
        a->average = total / count;
        average = &a->average;
    }
    snprintf(a->result, sizeof a->result, "Average : %.1f", a->average);
    return a->result;
}

START_TEST(seed_averager)
{
    struct averager a = {0.0, ""};
    const double terms[] = {10, 20, 30, 40, 50};
    const double expect[] = {10.0, 15.0, 20.0, 25.0, 30.0};
    coro *c = make(averager, &a);
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(coro_send(c, (void *)&terms[i], &out), CORO_YIELDED);
        ck_assert_ptr_nonnull(out);
        ck_assert_double_eq(*(double *)out, expect[i]);
    }
    ck_assert_int_eq(coro_send(c, NULL, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "Average : 30.0");
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("send");
    TCase *tc = tcase_create("send");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, b1_next_equals_send_null);
    tcase_add_test(tc, b2_first_resume_runs_to_first_yield);
    tcase_add_test(tc, b3_send_value_becomes_yield_result);
    tcase_add_test(tc, b4_priming_nonnull_send_fails);
    tcase_add_test(tc, b4_priming_falsy_nonnull_send_fails);
    suite_add_tcase(s, tc);

    TCase *ret = tcase_create("return");
    tcase_add_checked_fixture(ret, alloc_setup, alloc_teardown);
    tcase_add_test(ret, b5_return_value_via_next);
    tcase_add_test(ret, b5_return_value_via_send);
    tcase_add_test(ret, b5_return_value_via_throw);
    tcase_add_test(ret, b5_fall_off_end_returns_null);
    tcase_add_test(ret, b6_pointer_passes_unchanged);
    tcase_add_test(ret, b7_return_value_delivered_once);
    tcase_add_test(ret, b7_closed_while_created_send_value_returns);
    tcase_add_test(ret, b8_exception_escapes_after_defers);
    tcase_add_test(ret, seed_averager);
    suite_add_tcase(s, ret);
    return run_suite(s);
}
