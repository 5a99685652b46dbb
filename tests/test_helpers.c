/* test_helpers.c - the shorthands of src/helpers.c: integer values, coro_start,
 * the for-each loops, yield from that propagates, and the range and array
 * iterators (docs/semantics.md: B2, B5, B8, Y1, Y3, Y4, Y7, Y8).
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void tr_setup(void) { tr_reset(&tr); }

static void fin(void *arg) { tr_add(&tr, "%s finally", (const char *)arg); }

static const coro_exc_type Skip = {"Skip", &coro_Exception};

/* ------------------------------------------------------------------------ */
/* Integers as values                                                       */
/* ------------------------------------------------------------------------ */

START_TEST(int_values_round_trip)
{
    const intptr_t cases[] = {INTPTR_MIN, -1, 0, 1, 42, INTPTR_MAX};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert(coro_int(CORO_INT(cases[i])) == cases[i]);
    ck_assert(CORO_INT(0) == NULL);
    ck_assert(coro_int(NULL) == 0);
}
END_TEST

/* yields 1, 2, 3 and records what each yield received; returns the sum. */
static void *int_body(coro *self, void *arg)
{
    (void)arg;
    intptr_t sum = 0;
    for (intptr_t i = 1; i <= 3; i++) {
        intptr_t got = coro_yield_int(self, i);
        tr_add(&tr, "got %ld", (long)got);
        sum += got;
    }
    return CORO_INT(sum);
}

START_TEST(yield_int_sends_and_receives)
{
    coro *c = NULL;
    void *out = NULL;
    ck_assert_int_eq(coro_create(&c, int_body, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(coro_int(out), 1);
    ck_assert_int_eq(coro_send(c, CORO_INT(-7), &out), CORO_YIELDED);
    ck_assert_int_eq(coro_int(out), 2);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(coro_int(out), 3);
    ck_assert_int_eq(coro_send(c, CORO_INT(10), &out), CORO_RETURNED);
    ck_assert_int_eq(coro_int(out), 3);
    ck_assert_str_eq(tr.buf, "got -7; got 0; got 10");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(yield_int_propagates_a_throw)
{
    coro *c = NULL;
    void *out = NULL;
    ck_assert_int_eq(coro_create(&c, int_body, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(coro_throw(c, &Skip, "now", &out), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &Skip);
    ck_assert_str_eq(coro_exception(c)->message, "now");
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* coro_start                                                               */
/* ------------------------------------------------------------------------ */

enum { START_YIELDS, START_RETURNS, START_RAISES };

static void *start_body(coro *self, void *arg)
{
    tr_add(&tr, "body");
    switch (coro_int(arg)) {
    case START_RETURNS:
        return CORO_INT(5);
    case START_RAISES:
        coro_raise(self, &coro_ValueError, "early");
    default:
        return CORO_INT(coro_yield_int(self, 11));
    }
}

START_TEST(start_creates_and_runs_to_the_first_yield)
{
    static const struct {
        int mode, rc, state;
        intptr_t first;
    } cases[] = {
        {START_YIELDS, CORO_YIELDED, CORO_SUSPENDED, 11},
        {START_RETURNS, CORO_RETURNED, CORO_CLOSED, 5}, /* StopIteration(5).value */
        {START_RAISES, CORO_RAISED, CORO_CLOSED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        coro *c = NULL;
        void *first = CORO_INT(-1);
        ck_assert_int_eq(coro_start(&c, start_body, CORO_INT(cases[i].mode), &first), cases[i].rc);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(coro_get_state(c), cases[i].state);
        ck_assert_int_eq(coro_int(first), cases[i].first);
        ck_assert_str_eq(tr.buf, "body");
        if (cases[i].rc == CORO_RAISED)
            ck_assert_str_eq(coro_exception(c)->message, "early");
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
    }
}
END_TEST

START_TEST(start_reports_bad_arguments_and_enomem)
{
    coro *c = (coro *)&c;
    void *first = CORO_INT(1);
    ck_assert_int_eq(coro_start(NULL, start_body, NULL, &first), CORO_EINVAL);
    ck_assert_ptr_null(first);
    ck_assert_int_eq(coro_start(&c, NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_null(c);
    c = (coro *)&c;
    alloc_fail_after(0);
    ck_assert_int_eq(coro_start(&c, start_body, NULL, NULL), CORO_ENOMEM);
    alloc_fail_after(-1);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* CORO_FOR_EACH and CORO_FOR_EACH_FN                                       */
/* ------------------------------------------------------------------------ */

/* Yields 1 .. n (n = arg mod 100); raises ValueError "bad" after them when
 * arg >= 100, else returns 99. */
static void *counted(coro *self, void *arg)
{
    coro_defer(self, fin, "body");
    intptr_t n = coro_int(arg) % 100;
    for (intptr_t i = 1; i <= n; i++)
        coro_yield_int(self, i);
    if (coro_int(arg) >= 100)
        coro_raise(self, &coro_ValueError, "bad");
    return CORO_INT(99);
}

START_TEST(for_each_ends_on_returned_or_raised)
{
    static const struct {
        intptr_t arg;
        int rc;
        const char *transcript;
    } cases[] = {
        {3, CORO_RETURNED, "v 1; v 2; v 3; body finally; end RETURNED 99"},
        {0, CORO_RETURNED, "body finally; end RETURNED 99"},
        {102, CORO_RAISED, "v 1; v 2; body finally; end RAISED ValueError: bad"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, counted, CORO_INT(cases[i].arg), NULL), CORO_OK);
        int rc = -100;
        CORO_FOR_EACH (c, v, rc) {
            tr_add(&tr, "v %ld", (long)coro_int(v));
        }
        if (rc == CORO_RAISED)
            tr_add(&tr, "end RAISED %s: %s", coro_exception(c)->type->name,
                   coro_exception(c)->message);
        else
            tr_add(&tr, "end %s 99", coro_err_name(rc));
        ck_assert_int_eq(rc, cases[i].rc);
        ck_assert_str_eq(tr.buf, cases[i].transcript);
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
    }
}
END_TEST

START_TEST(for_each_break_leaves_it_suspended)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, counted, CORO_INT(5), NULL), CORO_OK);
    int rc = -100;
    CORO_FOR_EACH (c, v, rc) {
        if (coro_int(v) == 2)
            break;
    }
    ck_assert_int_eq(rc, CORO_YIELDED);
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK); /* closes it: the defer runs */
    ck_assert_str_eq(tr.buf, "body finally");
}
END_TEST

START_TEST(for_each_bad_arguments)
{
    int rc = -100;
    int body_runs = 0;
    CORO_FOR_EACH (NULL, v, rc) {
        (void)v;
        body_runs++;
    }
    ck_assert_int_eq(rc, CORO_EINVAL);
    ck_assert_int_eq(body_runs, 0);
    void *v = NULL;
    ck_assert(!coro_iter_next(NULL, &v, NULL));
    ck_assert(!coro_iter_next(NULL, NULL, &rc));
    ck_assert_int_eq(rc, CORO_EINVAL);
    ck_assert_ptr_null(coro_for_end(NULL, &rc));
}
END_TEST

START_TEST(for_each_fn_destroys_however_the_loop_ends)
{
    static const struct {
        intptr_t arg, stop_at;
        int rc;
        const char *transcript;
    } cases[] = {
        {3, 0, CORO_RETURNED, "v 1; v 2; v 3; body finally"},
        {5, 2, CORO_YIELDED, "v 1; v 2; body finally"},
        {101, 0, CORO_RAISED, "v 1; body finally"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        int rc = -100;
        CORO_FOR_EACH_FN (counted, CORO_INT(cases[i].arg), v, rc) {
            tr_add(&tr, "v %ld", (long)coro_int(v));
            if (coro_int(v) == cases[i].stop_at)
                break;
        }
        ck_assert_int_eq(rc, cases[i].rc);
        ck_assert_str_eq(tr.buf, cases[i].transcript);
        if (rc == CORO_RAISED)
            ck_assert_str_eq(coro_last_error(), "ValueError: bad");
        ck_assert_int_eq(alloc_live(), 0);
    }
}
END_TEST

START_TEST(for_each_fn_nested_loops)
{
    int outer = -100, inner = -100;
    CORO_FOR_EACH_FN (counted, CORO_INT(2), a, outer) {
        CORO_FOR_EACH_FN (counted, CORO_INT(2), b, inner) {
            tr_add(&tr, "%ld%ld", (long)coro_int(a), (long)coro_int(b));
        }
    }
    ck_assert_int_eq(outer, CORO_RETURNED);
    ck_assert_int_eq(inner, CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "11; 12; body finally; 21; 22; body finally; body finally");
}
END_TEST

START_TEST(for_each_fn_enomem_runs_nothing)
{
    int rc = -100;
    int body_runs = 0;
    alloc_fail_after(0);
    CORO_FOR_EACH_FN (counted, CORO_INT(3), v, rc) {
        (void)v;
        body_runs++;
    }
    alloc_fail_after(-1);
    ck_assert_int_eq(rc, CORO_ENOMEM);
    ck_assert_int_eq(body_runs, 0);
    ck_assert_str_eq(tr.buf, "");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* yield from that propagates                                               */
/* ------------------------------------------------------------------------ */

/* A sub: yields 1 and 2 (a thrown Skip is caught and yields 77), returns 30;
 * raises ValueError "sub failed" instead when arg is 1. */
static void *sub_body(coro *self, void *arg)
{
    coro_defer(self, fin, "sub");
    for (intptr_t i = 1; i <= 2; i++) {
        void *got = NULL;
        int rc = coro_yield(self, CORO_INT(i), &got);
        if (rc == CORO_THROWN) {
            if (!coro_exc_matches(coro_exception(self)->type, &Skip))
                coro_reraise(self);
            coro_yield(self, CORO_INT(77), NULL);
        }
    }
    if (coro_int(arg) == 1)
        coro_raise(self, &coro_ValueError, "sub failed");
    return CORO_INT(30);
}

enum { VIA_CORO, VIA_FN, VIA_ITER, VIA_NULL_CORO, VIA_NULL_FN, VIA_NULL_VT };

typedef struct dspec {
    int via;
    intptr_t sub_arg;
} dspec;

static void destroy_sub(void *sub) { coro_destroy(sub); }

/* The delegator: records the result of the *_value call, returns it + 1. */
static void *delegator(coro *self, void *arg)
{
    dspec *d = arg;
    coro_defer(self, fin, "delegator");
    void *r = NULL;
    coro *sub = NULL;
    coro_range range;
    switch (d->via) {
    case VIA_CORO:
        if (coro_create(&sub, sub_body, CORO_INT(d->sub_arg), NULL) != CORO_OK)
            return NULL;
        coro_defer(self, destroy_sub, sub);
        r = coro_yield_from_value(self, sub);
        break;
    case VIA_FN:
        r = coro_yield_from_fn_value(self, sub_body, CORO_INT(d->sub_arg));
        break;
    case VIA_ITER:
        coro_range_init(&range, 1, 3, 1);
        r = coro_yield_from_iter_value(self, &coro_range_vt, &range);
        break;
    case VIA_NULL_CORO:
        r = coro_yield_from_value(self, NULL);
        break;
    case VIA_NULL_FN:
        r = coro_yield_from_fn_value(self, NULL, NULL);
        break;
    default:
        r = coro_yield_from_iter_value(self, NULL, NULL);
        break;
    }
    tr_add(&tr, "result %ld", (long)coro_int(r));
    return CORO_INT(coro_int(r) + 1);
}

/* Drives a delegator for d with next until it ends, throwing throw_type (if
 * not NULL) at the first yield; the values and the end go to the transcript. */
static void drive(dspec *d, const coro_exc_type *throw_type)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, delegator, d, NULL), CORO_OK);
    void *out = NULL;
    int rc = coro_next(c, &out);
    bool thrown = false;
    while (rc == CORO_YIELDED) {
        tr_add(&tr, "y %ld", (long)coro_int(out));
        if (throw_type != NULL && !thrown) {
            thrown = true;
            rc = coro_throw(c, throw_type, "t", &out);
        } else {
            rc = coro_next(c, &out);
        }
    }
    if (rc == CORO_RETURNED)
        tr_add(&tr, "returned %ld", (long)coro_int(out));
    else if (rc == CORO_RAISED)
        tr_add(&tr, "raised %s: %s", coro_exception(c)->type->name, coro_exception(c)->message);
    else
        tr_add(&tr, "rc %s", coro_err_name(rc));
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}

START_TEST(yield_from_value_returns_or_propagates)
{
    static const struct {
        int via;
        intptr_t sub_arg;
        const coro_exc_type *thrown;
        const char *transcript;
    } cases[] = {
        /* Y7: the value of the yield from is the sub's return value. */
        {VIA_CORO, 0, NULL, "y 1; y 2; sub finally; result 30; delegator finally; returned 31"},
        {VIA_FN, 0, NULL, "y 1; y 2; sub finally; result 30; delegator finally; returned 31"},
        /* Y4: a throw the sub handles goes on with the sub's next yield. */
        {VIA_FN, 0, &Skip,
         "y 1; y 77; y 2; sub finally; result 30; delegator finally; returned 31"},
        /* Y8: what the sub raises propagates out of the delegator. */
        {VIA_CORO, 1, NULL,
         "y 1; y 2; sub finally; delegator finally; raised ValueError: sub failed"},
        {VIA_FN, 1, NULL,
         "y 1; y 2; sub finally; delegator finally; raised ValueError: sub failed"},
        /* Y4: a throw the sub does not handle unwinds sub then delegator. */
        {VIA_FN, 0, &coro_ValueError, "y 1; sub finally; delegator finally; raised ValueError: t"},
        {VIA_CORO, 0, &coro_ValueError,
         "y 1; sub finally; delegator finally; raised ValueError: t"},
        /* Y1, Y7: an iterator's final value is None. */
        {VIA_ITER, 0, NULL, "y 1; y 2; result 0; delegator finally; returned 1"},
        /* Y4: an iterator without throw: raised in the delegator directly. */
        {VIA_ITER, 0, &Skip, "y 1; delegator finally; raised Skip: t"},
        {VIA_NULL_CORO, 0, NULL,
         "delegator finally; raised TypeError: 'NULL' object is not iterable"},
        {VIA_NULL_FN, 0, NULL,
         "delegator finally; raised TypeError: coro_yield_from_fn_value: fn is NULL"},
        {VIA_NULL_VT, 0, NULL,
         "delegator finally; raised TypeError: coro_yield_from_iter_value: vt and vt->next are "
         "required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        dspec d = {cases[i].via, cases[i].sub_arg};
        drive(&d, cases[i].thrown);
        ck_assert_msg(strcmp(tr.buf, cases[i].transcript) == 0, "case %zu: got \"%s\"", i, tr.buf);
    }
}
END_TEST

START_TEST(yield_from_fn_value_raises_memory_error)
{
    coro *c = NULL;
    dspec d = {VIA_FN, 0};
    ck_assert_int_eq(coro_create(&c, delegator, &d, NULL), CORO_OK);
    alloc_fail_after(0); /* the defer needs no allocation (inline); the sub's struct fails */
    void *out = NULL;
    int rc = coro_next(c, &out);
    alloc_fail_after(-1);
    ck_assert_int_eq(rc, CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_MemoryError);
    ck_assert(coro_exc_matches(&coro_MemoryError, &coro_Exception));
    ck_assert_ptr_nonnull(strstr(coro_exception(c)->message, "coro_create"));
    ck_assert_str_eq(tr.buf, "delegator finally");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* range_iterator and array_iterator                                        */
/* ------------------------------------------------------------------------ */

/* Collects what the iterator yields, and its final value, by driving the
 * vtable directly (the same calls coro_yield_from_iter makes). */
static void collect(const coro_iter_vtable *vt, void *it, bool chars)
{
    for (int n = 0; n < 64; n++) {
        void *out = CORO_INT(-1);
        coro_exc exc;
        memset(&exc, 0, sizeof exc);
        int st = vt->next(it, &out, &exc);
        if (st != CORO_YIELDED) {
            tr_add(&tr, "%s %s", coro_err_name(st), out == NULL ? "None" : "?");
            return;
        }
        if (chars)
            tr_add(&tr, "%c", *(const char *)out);
        else
            tr_add(&tr, "%jd", (intmax_t)coro_int(out));
    }
    tr_add(&tr, "runaway");
}

START_TEST(range_matches_python)
{
    /* Expected lists printed by CPython 3.11: list(range(start, stop, step)).
     * The extreme cases assume a 64-bit intptr_t, as on every supported target. */
    static const struct {
        intptr_t start, stop, step;
        const char *values;
    } cases[] = {
        {1, 4, 1, "1; 2; 3; RETURNED None"},
        {0, 10, 3, "0; 3; 6; 9; RETURNED None"},
        {5, 0, -2, "5; 3; 1; RETURNED None"},
        {3, 3, 1, "RETURNED None"},
        {4, 1, 1, "RETURNED None"},
        {1, 4, -1, "RETURNED None"},
        {-3, 0, 1, "-3; -2; -1; RETURNED None"},
        {INTPTR_MAX - 2, INTPTR_MAX, 1, "9223372036854775805; 9223372036854775806; RETURNED None"},
        {INTPTR_MIN, INTPTR_MAX, INTPTR_MAX,
         "-9223372036854775808; -1; 9223372036854775806; RETURNED None"},
        {INTPTR_MAX, INTPTR_MIN, INTPTR_MIN, "9223372036854775807; -1; RETURNED None"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        coro_range r;
        ck_assert_int_eq(coro_range_init(&r, cases[i].start, cases[i].stop, cases[i].step),
                         CORO_OK);
        collect(&coro_range_vt, &r, false);
        collect(&coro_range_vt, &r, false); /* exhausted stays exhausted */
        char want[256];
        snprintf(want, sizeof want, "%s; RETURNED None", cases[i].values);
        ck_assert_msg(strcmp(tr.buf, want) == 0, "case %zu: got \"%s\"", i, tr.buf);
    }
}
END_TEST

START_TEST(range_and_array_init_errors)
{
    coro_range r;
    ck_assert_int_eq(coro_range_init(&r, 0, 3, 0), CORO_EINVAL);
    ck_assert_str_eq(coro_last_error(), "coro_range_init: range() arg 3 must not be zero");
    ck_assert_int_eq(coro_range_init(NULL, 0, 3, 1), CORO_EINVAL);
    coro_array_iter a;
    ck_assert_int_eq(coro_array_iter_init(NULL, "x", 1, 1), CORO_EINVAL);
    ck_assert_int_eq(coro_array_iter_init(&a, NULL, 2, 1), CORO_EINVAL);
    ck_assert_int_eq(coro_array_iter_init(&a, NULL, 0, 1), CORO_OK);
    collect(&coro_array_iter_vt, &a, false);
    ck_assert_str_eq(tr.buf, "RETURNED None");
    ck_assert(coro_range_vt.send == NULL);
    ck_assert(coro_range_vt.throw_ == NULL);
    ck_assert(coro_range_vt.close == NULL);
    ck_assert(coro_array_iter_vt.send == NULL);
    ck_assert(coro_array_iter_vt.throw_ == NULL);
    ck_assert(coro_array_iter_vt.close == NULL);
}
END_TEST

START_TEST(array_yields_element_pointers_or_void_pointers)
{
    const char ab[] = "AB";
    coro_array_iter a;
    ck_assert_int_eq(coro_array_iter_init(&a, ab, 2, 1), CORO_OK);
    void *out = NULL;
    coro_exc exc;
    ck_assert_int_eq(coro_array_iter_vt.next(&a, &out, &exc), CORO_YIELDED);
    ck_assert_ptr_eq(out, &ab[0]);
    ck_assert_int_eq(coro_array_iter_vt.next(&a, &out, &exc), CORO_YIELDED);
    ck_assert_ptr_eq(out, &ab[1]);
    ck_assert_int_eq(coro_array_iter_vt.next(&a, &out, &exc), CORO_RETURNED);
    ck_assert_ptr_null(out);

    const double xs[] = {1.5, 2.5, 3.5};
    ck_assert_int_eq(coro_array_iter_init(&a, xs, 3, sizeof xs[0]), CORO_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(coro_array_iter_vt.next(&a, &out, &exc), CORO_YIELDED);
        ck_assert_ptr_eq(out, &xs[i]);
    }

    void *ptrs[] = {CORO_INT(7), NULL, CORO_INT(9)};
    ck_assert_int_eq(coro_array_iter_init(&a, ptrs, 3, 0), CORO_OK);
    collect(&coro_array_iter_vt, &a, false);
    ck_assert_str_eq(tr.buf, "7; 0; 9; RETURNED None");
}
END_TEST

/* def g(): yield from 'AB'; yield from range(1, 4) - with the built-ins. */
static void *seed_body(coro *self, void *arg)
{
    (void)arg;
    coro_array_iter ab;
    coro_range r;
    coro_array_iter_init(&ab, "AB", 2, 1);
    coro_range_init(&r, 1, 4, 1);
    void *x = coro_yield_from_iter_value(self, &coro_array_iter_vt, &ab);
    void *y = coro_yield_from_iter_value(self, &coro_range_vt, &r);
    tr_add(&tr, "values %s %s", x ? "?" : "None", y ? "?" : "None");
    return NULL;
}

START_TEST(seed_yield_from_str_and_range_with_builtins)
{
    int rc = -100;
    int n = 0;
    CORO_FOR_EACH_FN (seed_body, NULL, v, rc) {
        if (n++ < 2)
            tr_add(&tr, "%c", *(const char *)v);
        else
            tr_add(&tr, "%ld", (long)coro_int(v));
    }
    ck_assert_int_eq(rc, CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "A; B; 1; 2; 3; values None None");
}
END_TEST

/* Y3: a non-NULL send to a delegator parked on a range iterator. */
static void *range_delegator(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, fin, "D");
    coro_range r;
    coro_range_init(&r, 1, 4, 1);
    int rc = coro_yield_from_iter(self, &coro_range_vt, &r, NULL);
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(self);
        tr_add(&tr, "D caught %s: %s", e->type->name, e->message);
    }
    return NULL;
}

START_TEST(range_send_is_attribute_error_as_in_python)
{
    coro *c = NULL;
    void *out = NULL;
    ck_assert_int_eq(coro_create(&c, range_delegator, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(coro_send(c, CORO_INT(5), &out), CORO_RETURNED);
    /* CPython 3.11 prints: AttributeError 'range_iterator' object has no
     * attribute 'send' */
    ck_assert_str_eq(tr.buf,
                     "D caught AttributeError: 'range_iterator' object has no attribute 'send'; "
                     "D finally");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_checked_fixture(tc, tr_setup, NULL);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("helpers");

    TCase *tc = tcase("ints_start");
    tcase_add_test(tc, int_values_round_trip);
    tcase_add_test(tc, yield_int_sends_and_receives);
    tcase_add_test(tc, yield_int_propagates_a_throw);
    tcase_add_test(tc, start_creates_and_runs_to_the_first_yield);
    tcase_add_test(tc, start_reports_bad_arguments_and_enomem);
    suite_add_tcase(s, tc);

    tc = tcase("for_each");
    tcase_add_test(tc, for_each_ends_on_returned_or_raised);
    tcase_add_test(tc, for_each_break_leaves_it_suspended);
    tcase_add_test(tc, for_each_bad_arguments);
    tcase_add_test(tc, for_each_fn_destroys_however_the_loop_ends);
    tcase_add_test(tc, for_each_fn_nested_loops);
    tcase_add_test(tc, for_each_fn_enomem_runs_nothing);
    suite_add_tcase(s, tc);

    tc = tcase("yield_from_value");
    tcase_add_test(tc, yield_from_value_returns_or_propagates);
    tcase_add_test(tc, yield_from_fn_value_raises_memory_error);
    suite_add_tcase(s, tc);

    tc = tcase("iterators");
    tcase_add_test(tc, range_matches_python);
    tcase_add_test(tc, range_and_array_init_errors);
    tcase_add_test(tc, array_yields_element_pointers_or_void_pointers);
    tcase_add_test(tc, seed_yield_from_str_and_range_with_builtins);
    tcase_add_test(tc, range_send_is_attribute_error_as_in_python);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
