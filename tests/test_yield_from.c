/* test_yield_from.c - yield from a coroutine sub: spec rules Y1-Y10, Y12, Y13, C3, F4.
 * SPDX-License-Identifier: MIT
 *
 * Each test drives a delegator parked on a coroutine sub and compares a
 * transcript written by the bodies with the order Python gives.
 */
#include "check_util.h"

#include "stack.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define I2P(i) ((void *)(intptr_t)(i))
#define P2I(p) ((int)(intptr_t)(p))

/* ------------------------------------------------------------------------ */
/* Bodies                                                                   */
/* ------------------------------------------------------------------------ */

static void fin(void *arg) { tr_add(&tr, "%s finally", (const char *)arg); }

/* Records the exception just reported to `self` as "<who> caught T: msg". */
static void note_exc(const char *who, const coro *self)
{
    const coro_exc *e = coro_exception(self);
    if (e == NULL) {
        tr_add(&tr, "%s caught nothing", who);
        return;
    }
    tr_add(&tr, "%s caught %s%s%s%s%s", who, e->type->name, e->message[0] ? ": " : "", e->message,
           e->context ? " ctx " : "", e->context ? e->context->name : "");
}

/* What a sub does with an exception thrown in (or GeneratorExit from close). */
enum policy { PROPAGATE, YIELD_AGAIN, RETURN_42, RAISE_VALUE };

typedef struct sspec {
    int n;        /* yields 1..n, recording what each yield received, returns 100 + n */
    int on_throw; /* policy for a thrown exception other than GeneratorExit */
    int on_close; /* policy for GeneratorExit */
    int handled;  /* a policy other than PROPAGATE applies to the first exception only */
} sspec;

static void *sub_body(coro *self, void *arg)
{
    sspec *s = arg;
    coro_defer(self, fin, "sub");
    tr_add(&tr, "sub start");
    for (int i = 1; i <= s->n; i++) {
        void *got = NULL;
        int rc = coro_yield(self, I2P(i), &got);
        while (rc == CORO_THROWN) {
            const coro_exc *e = coro_exception(self);
            bool ge = coro_exc_matches(e->type, &coro_GeneratorExit);
            int policy = s->handled++ == 0 ? (ge ? s->on_close : s->on_throw) : PROPAGATE;
            tr_add(&tr, "sub got %s", e->type->name);
            switch (policy) {
            case YIELD_AGAIN:
                rc = coro_yield(self, I2P(99), &got);
                continue;
            case RETURN_42:
                return I2P(42);
            case RAISE_VALUE:
                coro_raise(self, &coro_ValueError, ge ? "in close" : "from sub");
            default:
                coro_reraise(self);
            }
        }
        tr_add(&tr, "sub got %d", P2I(got));
    }
    return I2P(100 + s->n);
}

typedef struct dspec {
    const char *name; /* in the transcript; NULL = "delegator" */
    coro *sub;        /* delegated to */
    bool yield_first; /* yield 0 before delegating, recording what comes back */
    bool catch_all;   /* handle an exception out of the yield from and carry on */
    void *res;        /* what the yield from stored in its result */
    int rc;           /* what coro_yield_from returned */
} dspec;

/* yield from d->sub; record the outcome; yield 500; return 600. */
static void *delegator(coro *self, void *arg)
{
    dspec *d = arg;
    const char *name = d->name ? d->name : "delegator";
    coro_defer(self, fin, (void *)name);
    if (d->yield_first) {
        void *got = coro_yield_value(self, I2P(0));
        tr_add(&tr, "%s got %d", name, P2I(got));
    }
    d->res = I2P(-1);
    d->rc = coro_yield_from(self, d->sub, &d->res);
    if (d->rc == CORO_THROWN) {
        note_exc(name, self);
        if (!d->catch_all)
            coro_reraise(self);
    } else if (d->rc == CORO_OK) {
        tr_add(&tr, "%s result %d", name, P2I(d->res));
    } else {
        tr_add(&tr, "%s rc %s", name, coro_err_name(d->rc));
    }
    coro_yield_value(self, I2P(500));
    return I2P(600);
}

/* yield from d->sub and return its result + 1 at once. */
static void *returning_delegator(coro *self, void *arg)
{
    dspec *d = arg;
    d->res = NULL;
    d->rc = coro_yield_from(self, d->sub, &d->res);
    if (d->rc != CORO_OK)
        coro_reraise(self);
    tr_add(&tr, "delegator result %d", P2I(d->res));
    return I2P(P2I(d->res) + 1);
}

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    return c;
}

/* Drives c with next and checks it yields `want`. */
static void expect_yield(coro *c, int want)
{
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), want);
}

static void tr_setup(void) { tr_reset(&tr); }

/* ------------------------------------------------------------------------ */
/* Y1: start                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(y1_fresh_sub_started_with_next_after_send)
{
    sspec s = {.n = 2};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub, .yield_first = true};
    coro *del = make(delegator, &d);
    expect_yield(del, 0);
    void *out = NULL;
    /* A send of 7 to a CREATED sub would be refused: the sub must be started with next. */
    ck_assert_int_eq(coro_send(del, I2P(7), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_str_eq(tr.buf, "delegator got 7; sub start");
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y1_started_sub_receives_null_at_pending_yield)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    expect_yield(sub, 1);
    dspec d = {.sub = sub, .yield_first = true};
    coro *del = make(delegator, &d);
    expect_yield(del, 0);
    void *out = NULL;
    ck_assert_int_eq(coro_send(del, I2P(7), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_str_eq(tr.buf, "sub start; delegator got 7; sub got 0");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

static void *return_at_once(coro *self, void *arg)
{
    (void)self;
    tr_add(&tr, "sub ran");
    return arg;
}

START_TEST(y1_closed_sub_gives_null_without_suspension)
{
    static int token;
    coro *never = make(return_at_once, &token);
    ck_assert_int_eq(coro_close(never, NULL), CORO_OK);
    coro *finished = make(return_at_once, &token);
    void *out = NULL;
    ck_assert_int_eq(coro_next(finished, &out), CORO_RETURNED);
    ck_assert_ptr_eq(out, &token);
    tr_reset(&tr);

    dspec d1 = {.sub = never}, d2 = {.sub = finished};
    coro *del1 = make(delegator, &d1);
    coro *del2 = make(delegator, &d2);
    expect_yield(del1, 500); /* the delegator's own yield: no suspension in the yield from */
    expect_yield(del2, 500);
    ck_assert_int_eq(d1.rc, CORO_OK);
    ck_assert_ptr_null(d1.res);
    ck_assert_int_eq(d2.rc, CORO_OK);
    ck_assert_ptr_null(d2.res); /* the return value was delivered once already (B7) */
    ck_assert_str_eq(tr.buf, "delegator result 0; delegator result 0");
    ck_assert_int_eq(coro_destroy(del1), CORO_OK);
    ck_assert_int_eq(coro_destroy(del2), CORO_OK);
    ck_assert_int_eq(coro_destroy(never), CORO_OK);
    ck_assert_int_eq(coro_destroy(finished), CORO_OK);
}
END_TEST

START_TEST(y1_sub_returning_at_once_gives_value_without_suspension)
{
    coro *sub = make(return_at_once, I2P(42));
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 500);
    ck_assert_str_eq(tr.buf, "sub ran; delegator result 42");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y2, Y3, Y7: values both ways                                             */
/* ------------------------------------------------------------------------ */

START_TEST(y2_sub_yields_reach_driver)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    expect_yield(del, 2);
    expect_yield(del, 3);
    expect_yield(del, 500);
    void *out = NULL;
    ck_assert_int_eq(coro_next(del, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 600);
    ck_assert_str_eq(tr.buf, "sub start; sub got 0; sub got 0; sub got 0; sub finally; "
                             "delegator result 103; delegator finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y3_send_forwarded_as_send_and_null_as_next)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_send(del, I2P(5), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_int_eq(coro_send(del, NULL, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 3);
    ck_assert_int_eq(coro_send(del, I2P(9), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "sub start; sub got 5; sub got 0; sub got 9; sub finally; "
                             "delegator result 103");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

static void *yield_once_then_return_arg(coro *self, void *arg)
{
    coro_yield_value(self, I2P(1));
    return arg;
}

START_TEST(y7_value_is_sub_return_pointer_unchanged)
{
    static int token;
    coro *sub = make(yield_once_then_return_arg, &token);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    expect_yield(del, 500);
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_ptr_eq(d.res, &token);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y7_fall_off_gives_null)
{
    coro *sub = make(yield_once_then_return_arg, NULL);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    expect_yield(del, 500);
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_ptr_null(d.res); /* was preset to -1 */
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y4: throw                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(y4_throw_sub_yields_value_is_throws_result)
{
    sspec s = {.n = 2, .on_throw = YIELD_AGAIN};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "x", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 99);
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(del), sub);
    /* Nothing escaped the delegator: the driver sees no exception on it. */
    ck_assert_ptr_null(coro_exception(del));
    expect_yield(del, 2);
    ck_assert_str_eq(tr.buf, "sub start; sub got ValueError; sub got 0");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y4_throw_sub_returns_delegator_resumes_with_value)
{
    sspec s = {.n = 2, .on_throw = RETURN_42};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "x", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500); /* the delegator's next yield */
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_int_eq(P2I(d.res), 42);
    ck_assert_str_eq(tr.buf, "sub start; sub got ValueError; sub finally; delegator result 42");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y4_throw_sub_returns_delegator_finishes_returned)
{
    sspec s = {.n = 2, .on_throw = RETURN_42};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(returning_delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "x", &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 43);
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "sub start; sub got ValueError; sub finally; delegator result 42");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y4_sub_raises_caught_in_delegator_which_carries_on)
{
    sspec s = {.n = 2};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub, .catch_all = true};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "boom", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_int_eq(d.rc, CORO_THROWN);
    ck_assert_str_eq(tr.buf, "sub start; sub got ValueError; sub finally; "
                             "delegator caught ValueError: boom");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_next(del, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 600);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y4_uncaught_throw_unwinds_sub_then_delegator)
{
    sspec s = {.n = 2};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "boom", &out), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "boom");
    ck_assert_str_eq(tr.buf, "sub start; sub got ValueError; sub finally; "
                             "delegator caught ValueError: boom; delegator finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y5, Y6: close and throw(GeneratorExit)                                   */
/* ------------------------------------------------------------------------ */

START_TEST(y5_close_closes_sub_first)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    void *out = I2P(-1);
    ck_assert_int_eq(coro_close(del, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator caught GeneratorExit; delegator finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y5_sub_close_raising_surfaces_with_context)
{
    sspec s = {.n = 3, .on_close = RAISE_VALUE};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "in close");
    ck_assert_ptr_eq(e->context, &coro_GeneratorExit);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator caught ValueError: in close ctx GeneratorExit; "
                             "delegator finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y5_value_returned_by_sub_on_close_is_discarded)
{
    sspec s = {.n = 3, .on_close = RETURN_42};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    void *out = I2P(-1);
    ck_assert_int_eq(coro_close(del, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(d.rc, CORO_THROWN);
    ck_assert_ptr_null(d.res);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator caught GeneratorExit; delegator finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y5_throw_generatorexit_closes_sub_never_throws)
{
    /* A sub that yields after GeneratorExit: had it been thrown into, throw
     * would return its 99; closed, it makes the delegator get RuntimeError. */
    sspec s = {.n = 3, .on_close = YIELD_AGAIN};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(del, &coro_GeneratorExit, NULL, &out), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine ignored GeneratorExit");
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    ck_assert_int_eq(coro_close(sub, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y5_throw_generatorexit_propagates_after_sub_closed)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(del, &coro_GeneratorExit, "bye", &out), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_GeneratorExit); /* D5: not swallowed */
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator caught GeneratorExit: bye; delegator finally");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y6_sub_ignoring_generatorexit_gives_runtime_error)
{
    sspec s = {.n = 3, .on_close = YIELD_AGAIN};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine ignored GeneratorExit");
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; "
                             "delegator caught RuntimeError: coroutine ignored GeneratorExit; "
                             "delegator finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    /* The sub is free again: a second close finishes it. */
    ck_assert_int_eq(coro_close(sub, NULL), CORO_OK);
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y8: exceptions out of the sub                                            */
/* ------------------------------------------------------------------------ */

static void *picky_sub(coro *self, void *arg)
{
    (void)arg;
    void *got = coro_yield_value(self, I2P(1));
    while (P2I(got) != 13)
        got = coro_yield_value(self, I2P(P2I(got) + 1));
    coro_raise(self, &coro_ValueError, "unlucky");
}

static void *raise_at_start(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_TypeError, "at start");
}

START_TEST(y8_exception_during_send_caught_and_delegator_continues)
{
    coro *sub = make(picky_sub, NULL);
    dspec d = {.sub = sub, .catch_all = true};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_send(del, I2P(4), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 5);
    ck_assert_int_eq(coro_send(del, I2P(13), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "delegator caught ValueError: unlucky");
    ck_assert_int_eq(coro_next(del, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 600);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y8_exception_at_start_caught_in_delegator)
{
    coro *sub = make(raise_at_start, NULL);
    dspec d = {.sub = sub, .catch_all = true};
    coro *del = make(delegator, &d);
    expect_yield(del, 500);
    ck_assert_int_eq(d.rc, CORO_THROWN);
    ck_assert_str_eq(tr.buf, "delegator caught TypeError: at start");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y9: yield from a running coroutine                                       */
/* ------------------------------------------------------------------------ */

static void *yield_from_self(coro *self, void *arg)
{
    (void)arg;
    void *res = I2P(-1);
    int rc = coro_yield_from(self, self, &res);
    tr_add(&tr, "rc %s res %d", coro_err_name(rc), P2I(res));
    if (rc == CORO_THROWN)
        note_exc("self", self);
    coro_yield_value(self, I2P(1));
    return NULL;
}

START_TEST(y9_yield_from_self_is_value_error)
{
    coro *c = make(yield_from_self, NULL);
    expect_yield(c, 1);
    ck_assert_str_eq(tr.buf,
                     "rc THROWN res 0; self caught ValueError: coroutine already executing");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_ptr_null(coro_yield_from_target(c));
    /* No delegation is left behind: destroying it is not refused as busy. */
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

typedef struct loop_spec {
    coro *target; /* what the sub yields from */
    bool catch_it;
} loop_spec;

static void *yield_from_target_sub(coro *self, void *arg)
{
    loop_spec *l = arg;
    coro_defer(self, fin, "g2");
    int rc = coro_yield_from(self, l->target, NULL);
    if (rc == CORO_THROWN) {
        note_exc("g2", self);
        if (!l->catch_it)
            coro_reraise(self);
    }
    coro_yield_value(self, I2P(2));
    return I2P(7);
}

START_TEST(y9_sub_yielding_from_its_driver_catches_value_error)
{
    loop_spec l = {.catch_it = true};
    coro *g2 = make(yield_from_target_sub, &l);
    dspec d = {.name = "g1", .sub = g2};
    coro *g1 = make(delegator, &d);
    l.target = g1;
    expect_yield(g1, 2);
    ck_assert_str_eq(tr.buf, "g2 caught ValueError: coroutine already executing");
    ck_assert_int_eq(coro_get_state(g1), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(g1), g2);
    expect_yield(g1, 500);
    ck_assert_int_eq(P2I(d.res), 7);
    ck_assert_int_eq(coro_destroy(g1), CORO_OK);
    ck_assert_int_eq(coro_destroy(g2), CORO_OK);
}
END_TEST

START_TEST(y9_loop_g1_g2_g1_unwinds_into_g1)
{
    loop_spec l = {.catch_it = false};
    coro *g2 = make(yield_from_target_sub, &l);
    dspec d = {.name = "g1", .sub = g2, .catch_all = true};
    coro *g1 = make(delegator, &d);
    l.target = g1;
    expect_yield(g1, 500);
    ck_assert_str_eq(tr.buf, "g2 caught ValueError: coroutine already executing; g2 finally; "
                             "g1 caught ValueError: coroutine already executing");
    ck_assert_int_eq(coro_get_state(g2), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(g1), CORO_OK);
    ck_assert_int_eq(coro_destroy(g2), CORO_OK);
}
END_TEST

static coro *driven;

/* Parks its delegator, then (driven directly) drives that delegator. */
static void *drives_delegator_sub(coro *self, void *arg)
{
    int how = P2I(arg);
    coro_yield_value(self, I2P(1));
    void *out = NULL;
    int rc = how == 0 ? coro_next(driven, &out) : coro_throw(driven, &coro_TypeError, "t", &out);
    tr_add(&tr, "S: %s %d %s %s", coro_err_name(rc), P2I(out),
           coro_state_name(coro_get_state(driven)),
           coro_yield_from_target(driven) ? "sub" : "null");
    coro_yield_value(self, I2P(2));
    return NULL;
}

/* _i 0: next, 1: throw. Python forwards to the sub, which is running: the
 * delegator gets ValueError at its yield from (the thrown TypeError is lost). */
START_TEST(y9_delegator_driven_from_sub_running_on_its_own)
{
    coro *sub = make(drives_delegator_sub, I2P(_i));
    dspec d = {.sub = sub, .catch_all = true};
    coro *del = make(delegator, &d);
    driven = del;
    expect_yield(del, 1);
    expect_yield(sub, 2);
    ck_assert_str_eq(tr.buf, "delegator caught ValueError: coroutine already executing; "
                             "S: YIELDED 500 GEN_SUSPENDED null");
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_destroy(sub), CORO_OK); /* no longer a yield from target */
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y10: states and coro_yield_from_target                                   */
/* ------------------------------------------------------------------------ */

static coro *watched;

static void *observer_sub(coro *self, void *arg)
{
    (void)arg;
    for (int i = 1; i <= 2; i++) {
        tr_add(&tr, "del %s target %s self %s", coro_state_name(coro_get_state(watched)),
               coro_yield_from_target(watched) ? "set" : "null",
               coro_state_name(coro_get_state(self)));
        coro_yield_value(self, I2P(i));
    }
    return NULL;
}

START_TEST(y10_states_and_target)
{
    coro *sub = make(observer_sub, NULL);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    watched = del;
    ck_assert_int_eq(coro_get_state(del), CORO_CREATED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    expect_yield(del, 1);
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(del), sub);
    ck_assert_ptr_null(coro_yield_from_target(sub));
    expect_yield(del, 2);
    ck_assert_ptr_eq(coro_yield_from_target(del), sub);
    expect_yield(del, 500);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "del GEN_RUNNING target null self GEN_RUNNING; "
                             "del GEN_RUNNING target null self GEN_RUNNING; "
                             "delegator result 0");
    ck_assert_int_eq(coro_next(del, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y10_closed_delegator_has_no_target)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_ptr_eq(coro_yield_from_target(del), sub);
    ck_assert_int_eq(coro_close(del, NULL), CORO_OK);
    ck_assert_ptr_null(coro_yield_from_target(del));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y13: the sub driven behind the delegator's back                          */
/* ------------------------------------------------------------------------ */

START_TEST(y13_sub_driven_directly_then_forwarding_resumes_it)
{
    sspec s = {.n = 4};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    ck_assert_int_eq(coro_send(sub, I2P(8), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    ck_assert_int_eq(coro_send(del, I2P(5), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 3);
    expect_yield(sub, 4);
    expect_yield(del, 500); /* the sub returns to the forwarded next */
    ck_assert_int_eq(P2I(d.res), 104);
    ck_assert_str_eq(tr.buf, "sub start; sub got 8; sub got 5; sub got 0; sub got 0; "
                             "sub finally; delegator result 104");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y13_sub_finishing_when_driven_directly_gives_null_to_delegator)
{
    sspec s = {.n = 2};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    void *out = NULL;
    expect_yield(del, 1);
    expect_yield(sub, 2);
    ck_assert_int_eq(coro_next(sub, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 102); /* the direct driver gets the value */
    ck_assert_int_eq(coro_send(del, I2P(3), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_ptr_null(d.res);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y13_sub_closed_directly_ends_delegation_with_null)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_close(sub, NULL), CORO_OK);
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    expect_yield(del, 500);
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_ptr_null(d.res);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator result 0");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y13_forwarded_throw_to_closed_sub_raises_in_delegator)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub, .catch_all = true};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_close(sub, NULL), CORO_OK);
    tr_reset(&tr);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "late", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "delegator caught ValueError: late");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* C3: the delegator runs while its sub does                                */
/* ------------------------------------------------------------------------ */

static coro *callee;

static void call_delegator(const char *when)
{
    int next = coro_next(callee, NULL);
    int send = coro_send(callee, I2P(1), NULL);
    int thrown = coro_throw(callee, &coro_ValueError, "x", NULL);
    int closed = coro_close(callee, NULL);
    int destroyed = coro_destroy(callee);
    tr_add(&tr, "%s: next %s send %s throw %s close %s destroy %s state %s", when,
           coro_err_name(next), coro_err_name(send), coro_err_name(thrown), coro_err_name(closed),
           coro_err_name(destroyed), coro_state_name(coro_get_state(callee)));
}

static void call_delegator_fin(void *arg) { call_delegator(arg); }

static void *calling_sub(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, call_delegator_fin, "closing");
    call_delegator("running");
    coro_yield_value(self, I2P(1));
    call_delegator("resumed");
    coro_yield_value(self, I2P(2));
    return NULL;
}

START_TEST(c3_delegator_called_from_sub_is_running)
{
    coro *sub = make(calling_sub, NULL);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    callee = del;
    expect_yield(del, 1);
    expect_yield(del, 2);
    ck_assert_int_eq(coro_close(del, NULL), CORO_OK);
    const char *one = "next ERUNNING send ERUNNING throw ERUNNING close ERUNNING "
                      "destroy ERUNNING state GEN_RUNNING";
    char want[512];
    snprintf(want, sizeof want,
             "running: %s; resumed: %s; closing: %s; delegator caught "
             "GeneratorExit; delegator finally",
             one, one, one);
    ck_assert_str_eq(tr.buf, want);
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Lifetime: EBUSY, EINVAL, coro_yield_from_fn, F4                          */
/* ------------------------------------------------------------------------ */

START_TEST(destroy_sub_while_delegator_parked_is_ebusy)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_destroy(sub), CORO_EBUSY);
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    expect_yield(del, 2); /* nothing happened to either */
    ck_assert_str_eq(tr.buf, "sub start; sub got 0");
    ck_assert_int_eq(coro_close(del, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

static void *null_sub_body(coro *self, void *arg)
{
    coro *other = arg;
    void *res = I2P(-1);
    int rc = coro_yield_from(self, NULL, &res);
    tr_add(&tr, "null %s res %d", coro_err_name(rc), P2I(res));
    rc = coro_yield_from(other, other, NULL);
    tr_add(&tr, "wrong self %s", coro_err_name(rc));
    res = I2P(-1);
    rc = coro_yield_from_fn(self, NULL, NULL, &res);
    tr_add(&tr, "null fn %s res %d", coro_err_name(rc), P2I(res));
    return I2P(3);
}

START_TEST(y12_null_sub_is_einval)
{
    sspec s = {.n = 1};
    coro *other = make(sub_body, &s);
    coro *c = make(null_sub_body, other);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 3);
    ck_assert_str_eq(tr.buf, "null EINVAL res 0; wrong self ENOTCURRENT; null fn EINVAL res 0");
    void *res = I2P(-1);
    ck_assert_int_eq(coro_yield_from(other, other, &res), CORO_ENOTCURRENT); /* outside */
    ck_assert_ptr_null(res);
    ck_assert_int_eq(coro_get_state(other), CORO_CREATED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(coro_destroy(other), CORO_OK);
}
END_TEST

typedef struct fn_spec {
    sspec sub;
    void *res;
    int rc;
    long live_inside; /* allocations seen from inside the sub's first run */
} fn_spec;

static void *fn_delegator(coro *self, void *arg)
{
    fn_spec *f = arg;
    f->res = I2P(-1);
    f->rc = coro_yield_from_fn(self, sub_body, &f->sub, &f->res);
    tr_add(&tr, "fn rc %s res %d", coro_err_name(f->rc), P2I(f->res));
    if (f->rc == CORO_THROWN)
        coro_reraise(self);
    coro_yield_value(self, I2P(500));
    return NULL;
}

START_TEST(yield_from_fn_creates_and_destroys_sub)
{
    fn_spec f = {.sub = {.n = 2}};
    coro *del = make(fn_delegator, &f);
    long base_live = alloc_live();
    ck_assert_int_eq(coro__testing_live_stacks(), 1);
    expect_yield(del, 1);
    coro *sub = coro_yield_from_target(del);
    ck_assert_ptr_nonnull(sub);
    ck_assert_ptr_ne(sub, del);
    ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
    ck_assert_int_eq(coro__testing_live_stacks(), 2);
    ck_assert_int_gt(alloc_live(), base_live);
    ck_assert_int_eq(coro_destroy(sub), CORO_EBUSY); /* owned by the delegation */
    expect_yield(del, 2);
    expect_yield(del, 500);
    ck_assert_str_eq(tr.buf, "sub start; sub got 0; sub got 0; sub finally; fn rc OK res 102");
    ck_assert_int_eq(coro__testing_live_stacks(), 1); /* the sub is gone */
    ck_assert_int_eq(alloc_live(), base_live);
    ck_assert_int_eq(coro_next(del, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(yield_from_fn_destroys_sub_on_throw_and_close)
{
    fn_spec f1 = {.sub = {.n = 3}}, f2 = {.sub = {.n = 3}};
    coro *thrown = make(fn_delegator, &f1);
    coro *closed = make(fn_delegator, &f2);
    long base_live = alloc_live();
    expect_yield(thrown, 1);
    expect_yield(closed, 1);
    ck_assert_int_eq(coro__testing_live_stacks(), 4);
    ck_assert_int_eq(coro_throw(thrown, &coro_ValueError, "v", NULL), CORO_RAISED);
    ck_assert_int_eq(coro_close(closed, NULL), CORO_OK);
    ck_assert_int_eq(f1.rc, CORO_THROWN);
    ck_assert_int_eq(f2.rc, CORO_THROWN);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    ck_assert_int_eq(alloc_live(), base_live);
    ck_assert_str_eq(tr.buf, "sub start; sub start; sub got ValueError; sub finally; "
                             "fn rc THROWN res 0; sub got GeneratorExit; sub finally; "
                             "fn rc THROWN res 0");
    ck_assert_int_eq(coro_destroy(thrown), CORO_OK);
    ck_assert_int_eq(coro_destroy(closed), CORO_OK);
}
END_TEST

START_TEST(yield_from_fn_out_of_memory)
{
    fn_spec f1 = {.sub = {.n = 1}}, f2 = {.sub = {.n = 1}};
    coro *no_struct = make(fn_delegator, &f1);
    coro *no_stack = make(fn_delegator, &f2);
    alloc_fail_after(0);
    expect_yield(no_struct, 500);
    alloc_fail_after(-1);
    coro__testing_fail_map_after(0);
    expect_yield(no_stack, 500);
    coro__testing_fail_map_after(-1);
    ck_assert_int_eq(f1.rc, CORO_ENOMEM);
    ck_assert_int_eq(f2.rc, CORO_ENOMEM);
    ck_assert_ptr_null(f1.res);
    ck_assert_ptr_null(f2.res);
    ck_assert_int_eq(coro__testing_live_stacks(), 2);
    ck_assert_int_eq(coro_destroy(no_struct), CORO_OK);
    ck_assert_int_eq(coro_destroy(no_stack), CORO_OK);
}
END_TEST

static int unraisable_calls;

static void count_unraisable(const coro *c, const coro_exc *exc, const char *what, void *udata)
{
    (void)c;
    (void)exc;
    (void)what;
    (void)udata;
    unraisable_calls++;
}

static void *f4_level(coro *self, void *arg)
{
    int depth = P2I(arg);
    static const char *names[] = {"L0", "L1", "L2", "L3"};
    coro_defer(self, fin, (void *)names[depth]);
    if (depth == 3) {
        for (;;)
            coro_yield_value(self, I2P(depth));
    }
    if (coro_yield_from_fn(self, f4_level, I2P(depth + 1), NULL) == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

START_TEST(f4_destroying_parked_delegator_closes_chain_innermost_first)
{
    unraisable_calls = 0;
    coro_set_unraisable_hook(count_unraisable, NULL);
    coro *root = make(f4_level, I2P(1));
    expect_yield(root, 3);
    ck_assert_int_eq(coro__testing_live_stacks(), 3);
    ck_assert_int_eq(coro_destroy(root), CORO_OK);
    ck_assert_str_eq(tr.buf, "L3 finally; L2 finally; L1 finally");
    ck_assert_int_eq(unraisable_calls, 0);
    coro_set_unraisable_hook(NULL, NULL);
}
END_TEST

/* Ignores GeneratorExit by delegating again, each time to a sub made by
 * coro_yield_from_fn. */
static void *stubborn_fn_delegator(coro *self, void *arg)
{
    sspec *s = arg;
    for (int i = 0; i < 3; i++) {
        int rc = coro_yield_from_fn(self, sub_body, &s[i], NULL);
        tr_add(&tr, "delegation %d %s", i, coro_err_name(rc));
    }
    return NULL;
}

/* The delegation of coro_yield_from_fn ends when its delegator is destroyed,
 * even one parked in it after ignoring GeneratorExit: the sub it made must be
 * freed with it (the counting allocator checks). */
START_TEST(yield_from_fn_sub_freed_when_parked_delegator_destroyed)
{
    unraisable_calls = 0;
    coro_set_unraisable_hook(count_unraisable, NULL);
    sspec s[3] = {{.n = 3}, {.n = 3}, {.n = 3}};
    coro *del = make(stubborn_fn_delegator, s);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_EIGNORED);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; delegation 0 THROWN; "
                             "sub start");
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    ck_assert_ptr_nonnull(coro_yield_from_target(del));
    tr_reset(&tr);
    /* Its close from destroy meets a third delegation: ignored again. Then
     * the sub made for that delegation is finalised with it (spec F1: in
     * Python the delegator's frame held the last reference to it), so the
     * sub's own GeneratorExit handler and finally run too. */
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(unraisable_calls, 1);
    ck_assert_str_eq(tr.buf, "sub got GeneratorExit; sub finally; delegation 1 THROWN; sub start; "
                             "sub got GeneratorExit; sub finally");
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    ck_assert_int_eq(alloc_live(), 0);
    coro_set_unraisable_hook(NULL, NULL);
}
END_TEST

START_TEST(f4_destroying_delegator_closes_user_owned_sub)
{
    sspec s = {.n = 3};
    coro *sub = make(sub_body, &s);
    dspec d = {.sub = sub};
    coro *del = make(delegator, &d);
    expect_yield(del, 1);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_str_eq(tr.buf, "sub start; sub got GeneratorExit; sub finally; "
                             "delegator caught GeneratorExit; delegator finally");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK); /* no longer busy */
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
    Suite *s = suite_create("yield_from");

    TCase *tc = tcase("values");
    tcase_add_test(tc, y1_fresh_sub_started_with_next_after_send);
    tcase_add_test(tc, y1_started_sub_receives_null_at_pending_yield);
    tcase_add_test(tc, y1_closed_sub_gives_null_without_suspension);
    tcase_add_test(tc, y1_sub_returning_at_once_gives_value_without_suspension);
    tcase_add_test(tc, y2_sub_yields_reach_driver);
    tcase_add_test(tc, y3_send_forwarded_as_send_and_null_as_next);
    tcase_add_test(tc, y7_value_is_sub_return_pointer_unchanged);
    tcase_add_test(tc, y7_fall_off_gives_null);
    suite_add_tcase(s, tc);

    tc = tcase("throw");
    tcase_add_test(tc, y4_throw_sub_yields_value_is_throws_result);
    tcase_add_test(tc, y4_throw_sub_returns_delegator_resumes_with_value);
    tcase_add_test(tc, y4_throw_sub_returns_delegator_finishes_returned);
    tcase_add_test(tc, y4_sub_raises_caught_in_delegator_which_carries_on);
    tcase_add_test(tc, y4_uncaught_throw_unwinds_sub_then_delegator);
    tcase_add_test(tc, y8_exception_during_send_caught_and_delegator_continues);
    tcase_add_test(tc, y8_exception_at_start_caught_in_delegator);
    suite_add_tcase(s, tc);

    tc = tcase("close");
    tcase_add_test(tc, y5_close_closes_sub_first);
    tcase_add_test(tc, y5_sub_close_raising_surfaces_with_context);
    tcase_add_test(tc, y5_value_returned_by_sub_on_close_is_discarded);
    tcase_add_test(tc, y5_throw_generatorexit_closes_sub_never_throws);
    tcase_add_test(tc, y5_throw_generatorexit_propagates_after_sub_closed);
    tcase_add_test(tc, y6_sub_ignoring_generatorexit_gives_runtime_error);
    suite_add_tcase(s, tc);

    tc = tcase("running");
    tcase_add_test(tc, y9_yield_from_self_is_value_error);
    tcase_add_test(tc, y9_sub_yielding_from_its_driver_catches_value_error);
    tcase_add_test(tc, y9_loop_g1_g2_g1_unwinds_into_g1);
    tcase_add_loop_test(tc, y9_delegator_driven_from_sub_running_on_its_own, 0, 2);
    tcase_add_test(tc, y10_states_and_target);
    tcase_add_test(tc, y10_closed_delegator_has_no_target);
    tcase_add_test(tc, c3_delegator_called_from_sub_is_running);
    suite_add_tcase(s, tc);

    tc = tcase("independent_sub");
    tcase_add_test(tc, y13_sub_driven_directly_then_forwarding_resumes_it);
    tcase_add_test(tc, y13_sub_finishing_when_driven_directly_gives_null_to_delegator);
    tcase_add_test(tc, y13_sub_closed_directly_ends_delegation_with_null);
    tcase_add_test(tc, y13_forwarded_throw_to_closed_sub_raises_in_delegator);
    suite_add_tcase(s, tc);

    tc = tcase("lifetime");
    tcase_add_test(tc, destroy_sub_while_delegator_parked_is_ebusy);
    tcase_add_test(tc, y12_null_sub_is_einval);
    tcase_add_test(tc, yield_from_fn_creates_and_destroys_sub);
    tcase_add_test(tc, yield_from_fn_destroys_sub_on_throw_and_close);
    tcase_add_test(tc, yield_from_fn_out_of_memory);
    tcase_add_test(tc, f4_destroying_parked_delegator_closes_chain_innermost_first);
    tcase_add_test(tc, f4_destroying_delegator_closes_user_owned_sub);
    tcase_add_test(tc, yield_from_fn_sub_freed_when_parked_delegator_destroyed);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
