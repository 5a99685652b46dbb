/* test_yield_from_iter.c - yield from a foreign iterator through coro_iter_vtable
 * (spec Y1, Y3, Y4, Y5, Y7, Y8, Y10, Y14, section 6 point 7).
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <stdint.h>
#include <string.h>

#define I2P(i) ((void *)(intptr_t)(i))
#define P2I(p) ((int)(intptr_t)(p))

/* ------------------------------------------------------------------------ */
/* Iterators                                                                */
/* ------------------------------------------------------------------------ */

enum { THROW_YIELD_77 = 1, THROW_RETURN_42, THROW_RAISE_BACK, THROW_STOP_79 };
enum { CLOSE_OK = 0, CLOSE_RETURN, CLOSE_RAISE, CLOSE_BAD, CLOSE_STOP };

/* A type derived from StopIteration, as `class MyStop(StopIteration)`. */
static const coro_exc_type my_stop = {"MyStop", &coro_StopIteration};

/* One iterator type for all tests: a string ('AB') or a range [pos, hi). */
typedef struct fake_it {
    const char *chars; /* string mode when not NULL */
    int pos, hi;       /* range mode */
    void *ret;         /* StopIteration.value at exhaustion */
    int throw_policy;
    int close_policy;
    int bad_status;  /* next reports this status when non-zero */
    int raise_at;    /* next raises ValueError at this position (when non-zero) */
    int stop_at;     /* next raises MyStop (udata `ret`) at this position */
    bool send_stops; /* send raises StopIteration with the value sent as udata */
    int nexts, sends, throws, closes;
    coro *watch; /* its state and iterator target are recorded from next */
} fake_it;

static int fake_next(void *p, void **out, coro_exc *exc)
{
    fake_it *it = p;
    it->nexts++;
    if (it->watch != NULL) {
        const coro_iter_vtable *vt = I2P(1);
        void *target = coro_yield_from_iter_target(it->watch, &vt);
        tr_add(&tr, "it sees %s %s %s", coro_state_name(coro_get_state(it->watch)),
               target ? "it" : "null", vt ? "vt" : "null");
    }
    if (it->bad_status != 0)
        return it->bad_status;
    if (it->stop_at != 0 && it->pos == it->stop_at) {
        coro_exc_set(exc, &my_stop, "done");
        exc->udata = it->ret;
        return CORO_RAISED;
    }
    if (it->raise_at != 0 && it->pos == it->raise_at) {
        coro_exc_set(exc, &coro_ValueError, "bad item");
        return CORO_RAISED;
    }
    if (it->chars != NULL) {
        if (it->chars[it->pos] == '\0') {
            *out = it->ret;
            return CORO_RETURNED;
        }
        *out = I2P(it->chars[it->pos++]);
        return CORO_YIELDED;
    }
    if (it->pos >= it->hi) {
        *out = it->ret;
        return CORO_RETURNED;
    }
    *out = I2P(it->pos++);
    return CORO_YIELDED;
}

static int fake_send(void *p, void *value, void **out, coro_exc *exc)
{
    fake_it *it = p;
    it->sends++;
    tr_add(&tr, "it send %d", P2I(value));
    if (it->send_stops) {
        coro_exc_set(exc, &coro_StopIteration, "");
        exc->udata = value;
        return CORO_RAISED;
    }
    it->nexts--; /* fake_next below counts as the send */
    return fake_next(p, out, exc);
}

static int fake_throw(void *p, const coro_exc *thrown, void **out, coro_exc *exc)
{
    fake_it *it = p;
    it->throws++;
    tr_add(&tr, "it throw %s: %s", thrown->type->name, thrown->message);
    switch (it->throw_policy) {
    case THROW_YIELD_77:
        *out = I2P(77);
        return CORO_YIELDED;
    case THROW_RETURN_42:
        *out = I2P(42);
        return CORO_RETURNED;
    case THROW_STOP_79:
        coro_exc_set(exc, &coro_StopIteration, "from throw");
        exc->udata = I2P(79);
        return CORO_RAISED;
    default:
        *exc = *thrown;
        return CORO_RAISED;
    }
}

static int fake_close(void *p, coro_exc *exc)
{
    fake_it *it = p;
    it->closes++;
    tr_add(&tr, "it close");
    switch (it->close_policy) {
    case CLOSE_RETURN:
        return CORO_RETURNED;
    case CLOSE_RAISE:
        coro_exc_set(exc, &coro_ValueError, "close failed");
        return CORO_RAISED;
    case CLOSE_BAD:
        return 42;
    case CLOSE_STOP:
        coro_exc_set(exc, &coro_StopIteration, "cv");
        return CORO_RAISED;
    default:
        return CORO_OK;
    }
}

static const coro_iter_vtable str_vt = {"str", fake_next, NULL, NULL, NULL};
static const coro_iter_vtable range_vt = {"range", fake_next, NULL, NULL, NULL};
static const coro_iter_vtable full_vt = {"full", fake_next, fake_send, fake_throw, fake_close};
/* Has close but no throw: a throw must not close it (Y4). */
static const coro_iter_vtable nothrow_vt = {"nothrow", fake_next, NULL, NULL, fake_close};

/* ------------------------------------------------------------------------ */
/* Delegators                                                               */
/* ------------------------------------------------------------------------ */

static void fin(void *arg) { tr_add(&tr, "%s finally", (const char *)arg); }

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

typedef struct idspec {
    const coro_iter_vtable *vt;
    void *it;
    bool catch_all;
    void *res;
    int rc;
} idspec;

/* yield from the iterator; record the outcome; yield 500; return 600. */
static void *iter_delegator(coro *self, void *arg)
{
    idspec *d = arg;
    coro_defer(self, fin, "D");
    d->res = I2P(-1);
    d->rc = coro_yield_from_iter(self, d->vt, d->it, &d->res);
    if (d->rc == CORO_THROWN) {
        note_exc("D", self);
        if (!d->catch_all)
            coro_reraise(self);
    } else if (d->rc == CORO_OK) {
        const coro_exc *e = coro_exception(self);
        tr_add(&tr, "D result %d exc %s", P2I(d->res), e ? e->type->name : "none");
    } else {
        tr_add(&tr, "D rc %s", coro_err_name(d->rc));
    }
    coro_yield_value(self, I2P(500));
    return I2P(600);
}

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    return c;
}

static void expect_next(coro *c, int want)
{
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), want);
}

static void tr_setup(void) { tr_reset(&tr); }

/* ------------------------------------------------------------------------ */
/* The seeds, values and Y7                                                 */
/* ------------------------------------------------------------------------ */

/* def g(): yield from 'AB'; yield from range(1, 4) */
static void *seed_body(coro *self, void *arg)
{
    (void)arg;
    fake_it ab = {.chars = "AB"};
    fake_it r = {.pos = 1, .hi = 4};
    int rc1 = coro_yield_from_iter(self, &str_vt, &ab, NULL);
    int rc2 = coro_yield_from_iter(self, &range_vt, &r, NULL);
    tr_add(&tr, "body %s %s", coro_err_name(rc1), coro_err_name(rc2));
    return NULL;
}

START_TEST(seeds_yield_from_str_and_range)
{
    coro *g = make(seed_body, NULL);
    char got[64] = "";
    void *out = NULL;
    int st;
    while ((st = coro_next(g, &out)) == CORO_YIELDED) {
        int v = P2I(out);
        size_t len = strlen(got);
        if (v >= 'A')
            got[len] = (char)v;
        else
            got[len] = (char)('0' + v);
        got[len + 1] = '\0';
    }
    ck_assert_int_eq(st, CORO_RETURNED);
    ck_assert_str_eq(got, "AB123");
    ck_assert_str_eq(tr.buf, "body OK OK");
    ck_assert_int_eq(coro_destroy(g), CORO_OK);
}
END_TEST

START_TEST(y7_iterator_return_value_is_yield_from_value)
{
    static int token;
    fake_it it = {.pos = 0, .hi = 2, .ret = &token};
    idspec d = {.vt = &range_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 0);
    expect_next(del, 1);
    expect_next(del, 500);
    ck_assert_int_eq(d.rc, CORO_OK);
    ck_assert_ptr_eq(d.res, &token);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y1_empty_iterator_gives_value_without_suspension)
{
    fake_it it = {.pos = 3, .hi = 3, .ret = I2P(42)};
    idspec d = {.vt = &range_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 500);
    ck_assert_str_eq(tr.buf, "D result 42 exc none");
    ck_assert_int_eq(it.nexts, 1);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y3: send                                                                 */
/* ------------------------------------------------------------------------ */

START_TEST(y3_send_forwarded_to_send_and_null_to_next)
{
    fake_it it = {.pos = 0, .hi = 5};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    void *out = NULL;
    expect_next(del, 0);
    ck_assert_int_eq(coro_send(del, I2P(9), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_int_eq(coro_send(del, NULL, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_int_eq(it.sends, 1);
    ck_assert_int_eq(it.nexts, 2);
    ck_assert_str_eq(tr.buf, "it send 9");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y3_missing_send_is_attribute_error_in_delegator)
{
    fake_it it = {.pos = 1, .hi = 4};
    idspec d = {.vt = &range_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    expect_next(del, 2); /* a NULL send is a next: fine without send */
    ck_assert_int_eq(coro_send(del, I2P(5), NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_AttributeError);
    ck_assert_str_eq(e->message, "'range' object has no attribute 'send'");
    ck_assert_str_eq(tr.buf, "D caught AttributeError: 'range' object has no attribute 'send'; "
                             "D finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y3_attribute_error_caught_and_delegator_continues)
{
    fake_it it = {.pos = 1, .hi = 4};
    idspec d = {.vt = &range_vt, .it = &it, .catch_all = true};
    coro *del = make(iter_delegator, &d);
    void *out = NULL;
    expect_next(del, 1);
    ck_assert_int_eq(coro_send(del, I2P(5), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_ptr_null(coro_yield_from_iter_target(del, NULL));
    ck_assert_int_eq(coro_next(del, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 600);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y4: throw                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(y4_missing_throw_raises_in_delegator_without_closing)
{
    fake_it it = {.pos = 1, .hi = 4};
    idspec d = {.vt = &nothrow_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "boom", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "boom");
    ck_assert_int_eq(it.closes, 0);
    ck_assert_str_eq(tr.buf, "D caught ValueError: boom; D finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(it.closes, 0);
}
END_TEST

START_TEST(y4_throw_forwarded_iterator_yields)
{
    fake_it it = {.pos = 1, .hi = 4, .throw_policy = THROW_YIELD_77};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    void *out = NULL;
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "boom", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 77);
    ck_assert_int_eq(it.throws, 1);
    ck_assert_ptr_null(coro_exception(del)); /* nothing escaped */
    expect_next(del, 2);
    ck_assert_str_eq(tr.buf, "it throw ValueError: boom");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y4_throw_forwarded_iterator_returns)
{
    fake_it it = {.pos = 1, .hi = 4, .throw_policy = THROW_RETURN_42};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    void *out = NULL;
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_ValueError, "boom", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "it throw ValueError: boom; D result 42 exc none");
    ck_assert_int_eq(it.closes, 0);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y4_throw_forwarded_iterator_raises_back)
{
    fake_it it = {.pos = 1, .hi = 4, .throw_policy = THROW_RAISE_BACK};
    idspec d = {.vt = &full_vt, .it = &it, .catch_all = true};
    coro *del = make(iter_delegator, &d);
    void *out = NULL;
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_TypeError, "tt", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "it throw TypeError: tt; D caught TypeError: tt");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y5: close and throw(GeneratorExit)                                       */
/* ------------------------------------------------------------------------ */

START_TEST(y5_close_forwarded_to_iterator_close)
{
    fake_it it = {.pos = 1, .hi = 4, .close_policy = CLOSE_RETURN};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    void *out = I2P(-1);
    ck_assert_int_eq(coro_close(del, &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(it.closes, 1);
    ck_assert_int_eq(it.throws, 0);
    ck_assert_str_eq(tr.buf, "it close; D caught GeneratorExit; D finally");
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y5_iterator_close_raising_replaces_generatorexit)
{
    fake_it it = {.pos = 1, .hi = 4, .close_policy = CLOSE_RAISE};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "close failed");
    ck_assert_ptr_null(e->context); /* a plain close method: no context (edge3) */
    ck_assert_str_eq(tr.buf, "it close; D caught ValueError: close failed; D finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y5_missing_close_just_generatorexit)
{
    fake_it it = {.pos = 1, .hi = 4};
    idspec d = {.vt = &range_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "D caught GeneratorExit; D finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

START_TEST(y5_throw_generatorexit_closes_iterator_never_throws)
{
    fake_it it = {.pos = 1, .hi = 4, .throw_policy = THROW_YIELD_77};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_GeneratorExit, "ge", NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(del)->type, &coro_GeneratorExit);
    ck_assert_int_eq(it.throws, 0);
    ck_assert_int_eq(it.closes, 1);
    ck_assert_str_eq(tr.buf, "it close; D caught GeneratorExit: ge; D finally");
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Errors out of the iterator                                               */
/* ------------------------------------------------------------------------ */

START_TEST(y8_iterator_raising_surfaces_in_delegator)
{
    fake_it at_start = {.pos = 1, .hi = 4, .raise_at = 1};
    fake_it later = {.pos = 1, .hi = 4, .raise_at = 2};
    idspec d1 = {.vt = &range_vt, .it = &at_start, .catch_all = true};
    idspec d2 = {.vt = &full_vt, .it = &later, .catch_all = true};
    coro *del1 = make(iter_delegator, &d1);
    coro *del2 = make(iter_delegator, &d2);
    expect_next(del1, 500);
    expect_next(del2, 1);
    void *out = NULL;
    ck_assert_int_eq(coro_send(del2, I2P(3), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "D caught ValueError: bad item; it send 3; "
                             "D caught ValueError: bad item");
    ck_assert_int_eq(later.closes, 0);
    ck_assert_int_eq(coro_destroy(del1), CORO_OK);
    ck_assert_int_eq(coro_destroy(del2), CORO_OK);
}
END_TEST

START_TEST(invalid_status_from_next_is_runtime_error)
{
    fake_it it = {.pos = 1, .hi = 4, .bad_status = 42};
    idspec d = {.vt = &range_vt, .it = &it, .catch_all = true};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 500);
    ck_assert_int_eq(d.rc, CORO_THROWN);
    ck_assert_ptr_nonnull(strstr(tr.buf, "D caught RuntimeError: "));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

static int raise_without_type(void *p, void **out, coro_exc *exc)
{
    (void)p;
    (void)out;
    (void)exc;
    return CORO_RAISED;
}

static int send_thrown_status(void *p, void *value, void **out, coro_exc *exc)
{
    (void)p;
    (void)value;
    (void)out;
    (void)exc;
    return CORO_THROWN;
}

static int throw_negative(void *p, const coro_exc *thrown, void **out, coro_exc *exc)
{
    (void)p;
    (void)thrown;
    (void)out;
    (void)exc;
    return CORO_EINVAL;
}

START_TEST(invalid_status_from_send_throw_and_typeless_raise)
{
    static const coro_iter_vtable typeless_vt = {"typeless", raise_without_type, NULL, NULL, NULL};
    static const coro_iter_vtable bad_vt = {"bad", fake_next, send_thrown_status, throw_negative,
                                            NULL};
    fake_it it1 = {.hi = 3}, it2 = {.hi = 3}, it3 = {.hi = 3};
    idspec d1 = {.vt = &typeless_vt, .it = &it1, .catch_all = true};
    idspec d2 = {.vt = &bad_vt, .it = &it2, .catch_all = true};
    idspec d3 = {.vt = &bad_vt, .it = &it3, .catch_all = true};
    coro *del1 = make(iter_delegator, &d1);
    coro *del2 = make(iter_delegator, &d2);
    coro *del3 = make(iter_delegator, &d3);
    expect_next(del1, 500);
    expect_next(del2, 0);
    expect_next(del3, 0);
    void *out = NULL;
    ck_assert_int_eq(coro_send(del2, I2P(1), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_int_eq(coro_throw(del3, &coro_ValueError, "v", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    const coro_iter_vtable *vt = NULL;
    ck_assert_ptr_null(coro_yield_from_iter_target(del2, &vt));
    ck_assert_ptr_null(vt);
    /* Every one of the three ended in a RuntimeError in its delegator. */
    const char *p = tr.buf;
    for (int i = 0; i < 3; i++) {
        p = strstr(p, "D caught RuntimeError");
        ck_assert_msg(p != NULL, "RuntimeError %d missing from: %s", i, tr.buf);
        p++;
    }
    ck_assert_int_eq(coro_destroy(del1), CORO_OK);
    ck_assert_int_eq(coro_destroy(del2), CORO_OK);
    ck_assert_int_eq(coro_destroy(del3), CORO_OK);
}
END_TEST

START_TEST(invalid_status_from_close_is_runtime_error)
{
    fake_it it = {.pos = 1, .hi = 4, .close_policy = CLOSE_BAD};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_close(del, NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(del)->type, &coro_RuntimeError);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

static void *einval_body(coro *self, void *arg)
{
    fake_it *it = arg;
    static const coro_iter_vtable no_next = {"nonext", NULL, fake_send, NULL, NULL};
    void *res = I2P(-1);
    int rc = coro_yield_from_iter(self, NULL, it, &res);
    tr_add(&tr, "null vt %s res %d", coro_err_name(rc), P2I(res));
    res = I2P(-1);
    rc = coro_yield_from_iter(self, &no_next, it, &res);
    tr_add(&tr, "null next %s res %d", coro_err_name(rc), P2I(res));
    return I2P(1);
}

START_TEST(null_vt_or_next_is_einval)
{
    fake_it it = {.hi = 3};
    coro *c = make(einval_body, &it);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_str_eq(tr.buf, "null vt EINVAL res 0; null next EINVAL res 0");
    ck_assert_int_eq(it.nexts + it.sends, 0);
    ck_assert_int_eq(coro_yield_from_iter(c, &range_vt, &it, NULL), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y10: the iterator target                                                 */
/* ------------------------------------------------------------------------ */

START_TEST(y10_iter_target_while_parked)
{
    fake_it it = {.pos = 1, .hi = 3};
    idspec d = {.vt = &full_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    it.watch = del;
    const coro_iter_vtable *vt = I2P(1);
    ck_assert_ptr_null(coro_yield_from_iter_target(del, &vt));
    ck_assert_ptr_null(vt);
    expect_next(del, 1);
    ck_assert_ptr_eq(coro_yield_from_iter_target(del, &vt), &it);
    ck_assert_ptr_eq(vt, &full_vt);
    ck_assert_ptr_eq(coro_yield_from_iter_target(del, NULL), &it);
    ck_assert_ptr_null(coro_yield_from_target(del)); /* not a coroutine */
    ck_assert_int_eq(coro_get_state(del), CORO_SUSPENDED);
    expect_next(del, 2);
    expect_next(del, 500);
    vt = I2P(1);
    ck_assert_ptr_null(coro_yield_from_iter_target(del, &vt));
    ck_assert_ptr_null(vt);
    /* From inside the iterator's next the delegator is running: no target. */
    ck_assert_str_eq(tr.buf, "it sees GEN_RUNNING null null; it sees GEN_RUNNING null null; "
                             "it sees GEN_RUNNING null null; D result 0 exc none");
    ck_assert_int_eq(coro_next(del, NULL), CORO_RETURNED);
    ck_assert_ptr_null(coro_yield_from_iter_target(del, NULL));
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Y14: throw(StopIteration) into a delegator                               */
/* ------------------------------------------------------------------------ */

static void *gen_sub(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, fin, "S");
    for (int i = 1; i < 100; i++)
        coro_yield_value(self, I2P(i));
    return NULL;
}

static void *sub_delegator(coro *self, void *arg)
{
    coro_defer(self, fin, "D");
    if (coro_yield_from(self, arg, NULL) == CORO_THROWN) {
        note_exc("D", self);
        coro_reraise(self);
    }
    return NULL;
}

START_TEST(y14_stop_iteration_into_delegator_of_coroutine)
{
    coro *sub = make(gen_sub, NULL);
    coro *del = make(sub_delegator, sub);
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_StopIteration, "stop", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine raised StopIteration");
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    /* The sub turned it into RuntimeError; that is what unwound the delegator. */
    ck_assert_str_eq(tr.buf, "S finally; D caught RuntimeError: coroutine raised StopIteration "
                             "ctx StopIteration; D finally");
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
    ck_assert_int_eq(coro_get_state(del), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
    ck_assert_int_eq(coro_destroy(sub), CORO_OK);
}
END_TEST

START_TEST(y14_stop_iteration_into_delegator_of_iterator_without_throw)
{
    fake_it it = {.pos = 1, .hi = 4};
    idspec d = {.vt = &nothrow_vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    expect_next(del, 1);
    ck_assert_int_eq(coro_throw(del, &coro_StopIteration, "stop", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(del);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    /* 3.11: raised as StopIteration in the delegator, RuntimeError at its boundary. */
    ck_assert_str_eq(tr.buf, "D caught StopIteration: stop; D finally");
    ck_assert_int_eq(it.closes, 0);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A StopIteration reported by the iterator: one table, two ways           */
/* ------------------------------------------------------------------------ */

/* Each row mirrors a Python 3.11 program (the `python` column: `it` is a
 * class-based iterator, `d` does `r = yield from it`, prints r, yields 'after'
 * and returns). A StopIteration out of it.__next__, it.send or it.throw ends
 * the yield from with its value (here: its udata); one out of it.close, or
 * raised in d because it has no throw, is an exception in d like any other,
 * and PEP 479 makes it RuntimeError at d's boundary. */

enum iter_op { IOP_NEXT, IOP_SEND, IOP_THROW, IOP_CLOSE };

typedef struct iter_stop_case {
    const char *python;
    const coro_iter_vtable *vt;
    int stop_at, throw_policy, close_policy;
    bool send_stops;
    int first; /* what the first next of D yields */
    int op;
    const coro_exc_type *type; /* IOP_THROW: thrown with this type, udata 77 */
    int want_rc, want_out;
    const coro_exc_type *want_exc; /* RAISED: the exception's type */
    const char *want_tr;           /* after a YIELDED 500, a next finishes D */
} iter_stop_case;

static const iter_stop_case iter_stop_cases[] = {
    {"it.throw raises StopIteration(79): d.throw(ValueError('x')) -> 'after', r == 79", &full_vt, 0,
     THROW_STOP_79, CLOSE_OK, false, 1, IOP_THROW, &coro_ValueError, CORO_YIELDED, 500, NULL,
     "it throw ValueError: x; D result 79 exc none; D finally"},
    {"it.throw re-raises what it gets: d.throw(StopIteration(77)) -> 'after', r == 77", &full_vt, 0,
     THROW_RAISE_BACK, CLOSE_OK, false, 1, IOP_THROW, &coro_StopIteration, CORO_YIELDED, 500, NULL,
     "it throw StopIteration: x; D result 77 exc none; D finally"},
    {"it has no throw: d.throw(StopIteration(77)) -> raised in d -> RuntimeError", &nothrow_vt, 0,
     0, CLOSE_OK, false, 1, IOP_THROW, &coro_StopIteration, CORO_RAISED, 0, &coro_RuntimeError,
     "D caught StopIteration: x; D finally"},
    {"it.__next__ raises MyStop(80) on the second call: next(d) -> 'after', r == 80", &full_vt, 2,
     0, CLOSE_OK, false, 1, IOP_NEXT, NULL, CORO_YIELDED, 500, NULL,
     "D result 80 exc none; D finally"},
    {"it.__next__ raises MyStop(80) at once: next(d) -> 'after' with no suspension", &full_vt, 1, 0,
     CLOSE_OK, false, 500, IOP_NEXT, NULL, CORO_RETURNED, 600, NULL,
     "D result 80 exc none; D finally"},
    {"it.send(v) raises StopIteration(v): d.send(5) -> 'after', r == 5", &full_vt, 0, 0, CLOSE_OK,
     true, 1, IOP_SEND, NULL, CORO_YIELDED, 500, NULL, "it send 5; D result 5 exc none; D finally"},
    {"it.close raises StopIteration: d.close() -> RuntimeError", &full_vt, 0, 0, CLOSE_STOP, false,
     1, IOP_CLOSE, NULL, CORO_RAISED, 0, &coro_RuntimeError,
     "it close; D caught StopIteration: cv; D finally"},
    {"it.close raises StopIteration: d.throw(GeneratorExit) -> RuntimeError", &full_vt, 0, 0,
     CLOSE_STOP, false, 1, IOP_THROW, &coro_GeneratorExit, CORO_RAISED, 0, &coro_RuntimeError,
     "it close; D caught StopIteration: cv; D finally"},
};

#define N_ITER_STOP_CASES ((int)(sizeof iter_stop_cases / sizeof iter_stop_cases[0]))

/* A silent delegator above D: D is then the leaf of a linked chain. */
static void *silent(coro *self, void *arg)
{
    void *res = NULL;
    if (coro_yield_from(self, arg, &res) != CORO_OK)
        coro_reraise(self);
    return res;
}

/* _i: row * 2 + (1 when D runs under a silent root that the test drives). */
START_TEST(iter_stop_iteration_table)
{
    const iter_stop_case *c = &iter_stop_cases[_i / 2];
    fake_it it = {.pos = 1,
                  .hi = 4,
                  .ret = I2P(80),
                  .stop_at = c->stop_at,
                  .throw_policy = c->throw_policy,
                  .close_policy = c->close_policy,
                  .send_stops = c->send_stops};
    idspec d = {.vt = c->vt, .it = &it};
    coro *del = make(iter_delegator, &d);
    coro *root = (_i % 2) ? make(silent, del) : NULL;
    coro *top = root ? root : del;
    expect_next(top, c->first);

    void *out = I2P(-1);
    int rc;
    if (c->op == IOP_NEXT) {
        rc = coro_next(top, &out);
    } else if (c->op == IOP_SEND) {
        rc = coro_send(top, I2P(5), &out);
    } else if (c->op == IOP_CLOSE) {
        rc = coro_close(top, &out);
    } else {
        coro_exc e;
        coro_exc_set(&e, c->type, "x");
        e.udata = I2P(77);
        rc = coro_throw_exc(top, &e, &out);
    }
    ck_assert_msg(rc == c->want_rc, "%s: got %s", c->python, coro_err_name(rc));
    if (rc == CORO_YIELDED || rc == CORO_RETURNED)
        ck_assert_int_eq(P2I(out), c->want_out);
    if (rc == CORO_RAISED) {
        const coro_exc *e = coro_exception(top);
        ck_assert_ptr_nonnull(e);
        ck_assert_ptr_eq(e->type, c->want_exc);
        ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    }
    if (rc == CORO_YIELDED) {
        ck_assert_ptr_null(coro_exception(top));
        ck_assert_ptr_null(coro_yield_from_iter_target(del, NULL));
        ck_assert_int_eq(coro_next(top, &out), CORO_RETURNED);
        ck_assert_int_eq(P2I(out), 600);
    }
    ck_assert_int_eq(coro_get_state(top), CORO_CLOSED);
    ck_assert_msg(strcmp(tr.buf, c->want_tr) == 0, "%s:\n  got  %s\n  want %s", c->python, tr.buf,
                  c->want_tr);
    ck_assert_int_eq(coro_destroy(root), CORO_OK);
    ck_assert_int_eq(coro_destroy(del), CORO_OK);
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
    Suite *s = suite_create("yield_from_iter");

    TCase *tc = tcase("values");
    tcase_add_test(tc, seeds_yield_from_str_and_range);
    tcase_add_test(tc, y7_iterator_return_value_is_yield_from_value);
    tcase_add_test(tc, y1_empty_iterator_gives_value_without_suspension);
    tcase_add_test(tc, y3_send_forwarded_to_send_and_null_to_next);
    tcase_add_test(tc, y3_missing_send_is_attribute_error_in_delegator);
    tcase_add_test(tc, y3_attribute_error_caught_and_delegator_continues);
    tcase_add_test(tc, y10_iter_target_while_parked);
    suite_add_tcase(s, tc);

    tc = tcase("throw_close");
    tcase_add_test(tc, y4_missing_throw_raises_in_delegator_without_closing);
    tcase_add_test(tc, y4_throw_forwarded_iterator_yields);
    tcase_add_test(tc, y4_throw_forwarded_iterator_returns);
    tcase_add_test(tc, y4_throw_forwarded_iterator_raises_back);
    tcase_add_test(tc, y5_close_forwarded_to_iterator_close);
    tcase_add_test(tc, y5_iterator_close_raising_replaces_generatorexit);
    tcase_add_test(tc, y5_missing_close_just_generatorexit);
    tcase_add_test(tc, y5_throw_generatorexit_closes_iterator_never_throws);
    tcase_add_test(tc, y14_stop_iteration_into_delegator_of_coroutine);
    tcase_add_test(tc, y14_stop_iteration_into_delegator_of_iterator_without_throw);
    tcase_add_loop_test(tc, iter_stop_iteration_table, 0, N_ITER_STOP_CASES * 2);
    suite_add_tcase(s, tc);

    tc = tcase("errors");
    tcase_add_test(tc, y8_iterator_raising_surfaces_in_delegator);
    tcase_add_test(tc, invalid_status_from_next_is_runtime_error);
    tcase_add_test(tc, invalid_status_from_send_throw_and_typeless_raise);
    tcase_add_test(tc, invalid_status_from_close_is_runtime_error);
    tcase_add_test(tc, null_vt_or_next_is_einval);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
