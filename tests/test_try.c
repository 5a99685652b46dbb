/* test_try.c - coro_try: try/except around a call inside one body.
 * SPDX-License-Identifier: MIT
 *
 * Most cases are scripts: a body, the driver calls made on it ("n" next,
 * "s" send "sent", "t" throw ValueError, "m" throw MyError, "c" close, "d"
 * destroy) and the
 * transcript both sides write. The body records what coro_try reported; the
 * driver records each call's status. Each case names the Python it mirrors.
 */
#include "check_util.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static const coro_exc_type my_error = {"MyError", &coro_Exception};

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

/* Records what a coro_try reported: "try OK <value>" or "try THROWN
 * <Type>: <message>" (with " ctx <Type>" when it has a __context__). */
static void record_try(coro *self, int rc, void *value)
{
    if (rc == CORO_OK) {
        tr_add(&tr, "try OK %s", value ? (const char *)value : "NULL");
        return;
    }
    if (rc != CORO_THROWN) {
        tr_add(&tr, "try %s", coro_err_name(rc));
        return;
    }
    const coro_exc *e = coro_exception(self);
    tr_add(&tr, "try THROWN %s: %s%s%s", e->type->name, e->message,
           e->context ? " ctx " : "", e->context ? e->context->name : "");
}

/* ---- protected calls the bodies make ------------------------------------- */

static void *returns_v(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    return "v";
}

static void *raises_value_error(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_ValueError, "bad");
}

/* Not noreturn as far as the compiler can see (it is called through a
 * volatile pointer), so the recursion below has a visible way out. */
static void raise_at_depth(coro *self, char depth)
{
    coro_raisef(self, &my_error, "at depth %d", (int)depth);
}
static void (*volatile raise_at_bottom)(coro *, char) = raise_at_depth;

static void *recurse_then_raise(coro *self, void *arg)
{
    intptr_t depth = (intptr_t)arg;
    volatile char pad[256];
    pad[0] = (char)depth;
    if (depth > 0)
        recurse_then_raise(self, (void *)(depth - 1));
    else
        raise_at_bottom(self, pad[0]);
    return (void *)(intptr_t)pad[0];
}

static void *raises_with_udata(coro *self, void *arg)
{
    coro_exc e;
    coro_exc_set(&e, &my_error, "carried");
    e.udata = arg;
    coro_raise_exc(self, &e);
}

static void *defers_two_then_raises(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "inner 1");
    coro_defer(self, on_cleanup, "inner 2");
    coro_raise(self, &coro_ValueError, "bad");
}

static void *defers_two_then_returns(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "inner 1");
    coro_defer(self, on_cleanup, "inner 2");
    tr_add(&tr, "fn end");
    return "v";
}

static void raise_type_error_handler(void *arg)
{
    tr_add(&tr, "handler raises");
    coro_raise(arg, &coro_TypeError, "from handler");
}

static void *handler_replaces_exception(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "inner 1");
    coro_defer(self, raise_type_error_handler, self);
    coro_defer(self, on_cleanup, "inner 3");
    coro_raise(self, &coro_ValueError, "first");
}

static void *handler_raises_on_return(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, raise_type_error_handler, self);
    return "v";
}

/* except ValueError: handled; anything else goes on (re-raised). */
/* arg points at the protected call to try (a coro_fn). */
static void *catches_value_error_only(coro *self, void *arg)
{
    coro_fn inner = *(const coro_fn *)arg;
    void *v = NULL;
    int rc = coro_try(self, inner, NULL, &v);
    record_try(self, rc, v);
    if (rc == CORO_THROWN && !coro_exc_matches(coro_exception(self)->type, &coro_ValueError))
        coro_reraise(self);
    return "inner done";
}

static void *raises_type_error(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_TypeError, "not a value error");
}

static void *catch_then_raise_other(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_try(self, raises_value_error, NULL, NULL);
    record_try(self, rc, NULL);
    coro_raise(self, &coro_TypeError, "while handling");
}

static void *yields_twice(coro *self, void *arg)
{
    (void)arg;
    void *got = coro_yield_value(self, "in try 1");
    tr_add(&tr, "fn got %s", got ? (const char *)got : "NULL");
    got = coro_yield_value(self, "in try 2");
    tr_add(&tr, "fn got %s", got ? (const char *)got : "NULL");
    return "fn result";
}

static void *defers_and_yields(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "inner finally");
    coro_yield_value(self, "in try");
    tr_add(&tr, "fn resumed");
    return "v";
}

static void *raises_stop_iteration(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &coro_StopIteration, "stop");
}

static void *nests_depth(coro *self, void *arg)
{
    intptr_t depth = (intptr_t)arg;
    if (depth == 0)
        coro_raise(self, &my_error, "deepest");
    void *v = NULL;
    int rc = coro_try(self, nests_depth, (void *)(depth - 1), &v);
    if (rc != CORO_THROWN)
        return "lost";
    if (depth % 10 == 0)
        tr_add(&tr, "caught at %d", (int)depth);
    if (depth == 100)
        return "all caught";
    coro_reraise(self);
}

/* ---- bodies --------------------------------------------------------------- */

/* Each body runs one coro_try shape and then yields "after" and returns "end",
 * so that the driver sees the body carry on. */
#define BODY_TAIL(self)                                                        \
    do {                                                                       \
        coro_yield_value(self, "after");                                      \
        tr_add(&tr, "body end");                                               \
        return "end";                                                          \
    } while (0)

static void *body_try_fn(coro *self, void *arg)
{
    void *v = NULL;
    int rc = coro_try(self, *(const coro_fn *)arg, NULL, &v);
    record_try(self, rc, v);
    BODY_TAIL(self);
}

static void *body_try_deep(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_try(self, recurse_then_raise, (void *)(intptr_t)50, NULL);
    record_try(self, rc, NULL);
    BODY_TAIL(self);
}

static void *body_try_udata(coro *self, void *arg)
{
    (void)arg;
    static int token;
    int rc = coro_try(self, raises_with_udata, &token, NULL);
    record_try(self, rc, NULL);
    tr_add(&tr, "udata %s", coro_exception(self)->udata == &token ? "kept" : "lost");
    BODY_TAIL(self);
}

static void *body_outer_defer(coro *self, void *arg)
{
    coro_defer(self, on_cleanup, "outer finally");
    void *v = NULL;
    int rc = coro_try(self, *(const coro_fn *)arg, NULL, &v);
    record_try(self, rc, v);
    BODY_TAIL(self);
}

static void *body_nested(coro *self, void *arg)
{
    void *v = NULL;
    int rc = coro_try(self, catches_value_error_only, arg, &v);
    record_try(self, rc, v);
    BODY_TAIL(self);
}

static void *body_try_then_reraise(coro *self, void *arg)
{
    void *v = NULL;
    int rc = coro_try(self, *(const coro_fn *)arg, NULL, &v);
    record_try(self, rc, v);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    BODY_TAIL(self);
}

static void *body_handling_then_try(coro *self, void *arg)
{
    void *got = NULL;
    int rc = coro_yield(self, "waiting", &got);
    tr_add(&tr, "yield %s", coro_err_name(rc));
    void *v = NULL;
    rc = coro_try(self, *(const coro_fn *)arg, NULL, &v);
    record_try(self, rc, v);
    const coro_exc *e = coro_exception(self);
    tr_add(&tr, "now handling %s", e ? e->type->name : "nothing");
    BODY_TAIL(self);
}

static void *body_raise_after_ok_try(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_try(self, returns_v, NULL, NULL);
    record_try(self, rc, NULL);
    coro_raise(self, &my_error, "outside any try");
}

static void *body_nests_100(coro *self, void *arg)
{
    (void)arg;
    void *v = NULL;
    int rc = coro_try(self, nests_depth, (void *)(intptr_t)100, &v);
    record_try(self, rc, v);
    BODY_TAIL(self);
}

static void *body_yield_from_in_try_fn(coro *self, void *arg);

/* A sub for yield from that yields once, then raises MyError. */
static void *sub_raises(coro *self, void *arg)
{
    (void)arg;
    coro_yield_value(self, "from sub");
    coro_raise(self, &my_error, "sub failed");
}

static void *yield_from_and_reraise(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_yield_from_fn(self, sub_raises, NULL, NULL);
    tr_add(&tr, "yield from %s", coro_err_name(rc));
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return "no raise";
}

static void *body_yield_from_in_try_fn(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_try(self, yield_from_and_reraise, NULL, NULL);
    record_try(self, rc, NULL);
    BODY_TAIL(self);
}

/* fn drives another coroutine that raises: a status, not a raise here. */
static void *raises_at_once(coro *self, void *arg)
{
    (void)arg;
    coro_raise(self, &my_error, "in the other coroutine");
}

static void *drives_a_raiser(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro *other = NULL;
    if (coro_create(&other, raises_at_once, NULL, NULL) != CORO_OK)
        return "create failed";
    int rc = coro_next(other, NULL);
    tr_add(&tr, "other %s %s", coro_err_name(rc), coro_exception(other)->type->name);
    coro_destroy(other);
    return "drove it";
}

/* A try inside a cleanup handler that runs while an exception propagates. */
static void handler_with_try(void *arg)
{
    coro *self = arg;
    int rc = coro_try(self, raises_type_error, NULL, NULL);
    record_try(self, rc, NULL);
}

static void *body_try_in_handler(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, handler_with_try, self);
    coro_raise(self, &coro_ValueError, "escaping");
}

static void *many_defers_then_raise(coro *self, void *arg)
{
    (void)arg;
    static const char *names[] = {"d1", "d2", "d3", "d4", "d5", "d6", "d7"};
    for (int i = 0; i < 7; i++)
        coro_defer(self, on_cleanup, (void *)names[i]);
    coro_raise(self, &coro_ValueError, "after seven");
}

static void *body_many_defers(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer a");
    coro_defer(self, on_cleanup, "outer b");
    int rc = coro_try(self, many_defers_then_raise, NULL, NULL);
    record_try(self, rc, NULL);
    BODY_TAIL(self);
}

static void *pops_outer_handler(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_defer_pop(self, true);
    tr_add(&tr, "pop outer %s", coro_err_name(rc));
    coro_defer(self, on_cleanup, "inner");
    rc = coro_defer_pop(self, true);
    tr_add(&tr, "pop inner %s", coro_err_name(rc));
    return "popped";
}

static void *body_pop_across_try(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer");
    void *v = NULL;
    int rc = coro_try(self, pops_outer_handler, NULL, &v);
    record_try(self, rc, v);
    BODY_TAIL(self);
}

static void *ignores_close(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_try(self, yields_twice, NULL, NULL);
    record_try(self, rc, NULL);
    coro_yield_value(self, "ignored");
    return "end";
}

/* ---- the script runner --------------------------------------------------- */

typedef struct script {
    const char *name;
    coro_fn body;
    coro_fn fn; /* the body's protected call, passed as a pointer to this field */
    const char *ops; /* n s t m c d, one character per driver call */
    const char *expect;
} script;

static void record_driver(coro *c, const char *call, int rc, void *out)
{
    if (rc == CORO_RAISED) {
        const coro_exc *e = coro_exception(c);
        tr_add(&tr, "%s -> RAISED %s: %s%s%s", call, e->type->name, e->message,
               e->cause ? " cause " : "", e->cause ? e->cause->name : "");
        return;
    }
    tr_add(&tr, "%s -> %s %s", call, coro_err_name(rc), out ? (const char *)out : "NULL");
}

static void run_script(const script *s, int stack_mode)
{
    coro *c = NULL;
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = stack_mode;
    opt.stack_size = 256 * 1024; /* 100 nested try frames, in either mode and under ASan */
    ck_assert_int_eq(coro_create(&c, s->body, (void *)&s->fn, &opt), CORO_OK);
    tr_reset(&tr);
    for (const char *op = s->ops; *op; op++) {
        void *out = NULL;
        int rc;
        switch (*op) {
        case 'n':
            rc = coro_next(c, &out);
            record_driver(c, "next", rc, out);
            break;
        case 's':
            rc = coro_send(c, "sent", &out);
            record_driver(c, "send", rc, out);
            break;
        case 't':
            rc = coro_throw(c, &coro_ValueError, "thrown", &out);
            record_driver(c, "throw", rc, out);
            break;
        case 'm':
            rc = coro_throw(c, &my_error, "handled", &out);
            record_driver(c, "throw", rc, out);
            break;
        case 'c':
            rc = coro_close(c, &out);
            record_driver(c, "close", rc, out);
            break;
        case 'd':
            rc = coro_destroy(c);
            tr_add(&tr, "destroy -> %s", coro_err_name(rc));
            c = NULL;
            break;
        default:
            ck_abort_msg("bad op %c", *op);
        }
    }
    if (c != NULL)
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_msg(strcmp(tr.buf, s->expect) == 0, "%s:\n  got    %s\n  expect %s", s->name,
                  tr.buf, s->expect);
}

static const script scripts[] = {
    /* try: r = f() (no raise) */
    {"ok returns the value", body_try_fn, returns_v, "nn",
     "try OK v; next -> YIELDED after; body end; next -> RETURNED end"},
    /* try: raise ValueError('bad') except BaseException */
    {"a raise is caught", body_try_fn, raises_value_error, "nn",
     "try THROWN ValueError: bad; next -> YIELDED after; body end; next -> RETURNED end"},
    {"a raise 50 C calls down is caught", body_try_deep, NULL, "n",
     "try THROWN MyError: at depth 0; next -> YIELDED after"},
    {"raise_exc keeps udata", body_try_udata, NULL, "n",
     "try THROWN MyError: carried; udata kept; next -> YIELDED after"},
    /* try: (try: raise finally: 'inner 2', 'inner 1') except: ... */
    {"inner handlers run newest first before a caught raise returns", body_try_fn,
     defers_two_then_raises, "n", "inner 2; inner 1; try THROWN ValueError: bad; next -> YIELDED after"},
    {"inner handlers run when the call returns", body_try_fn, defers_two_then_returns, "n",
     "fn end; inner 2; inner 1; try OK v; next -> YIELDED after"},
    {"outer handlers wait for the body's end", body_outer_defer, defers_two_then_raises, "nn",
     "inner 2; inner 1; try THROWN ValueError: bad; next -> YIELDED after; body end; "
     "outer finally; next -> RETURNED end"},
    /* finally: raise TypeError replaces ValueError, context ValueError */
    {"a handler that raises replaces the exception", body_try_fn, handler_replaces_exception, "n",
     "inner 3; handler raises; inner 1; try THROWN TypeError: from handler ctx ValueError; "
     "next -> YIELDED after"},
    {"a handler raising after a normal return is caught", body_try_fn, handler_raises_on_return,
     "n", "handler raises; try THROWN TypeError: from handler; next -> YIELDED after"},
    /* try: (try: raise ValueError except ValueError: pass) */
    {"nested: the inner try handles", body_nested, raises_value_error, "n",
     "try THROWN ValueError: bad; try OK inner done; next -> YIELDED after"},
    /* try: (try: raise TypeError except ValueError: pass) except: */
    {"nested: what the inner one re-raises reaches the outer", body_nested, raises_type_error, "n",
     "try THROWN TypeError: not a value error; try THROWN TypeError: not a value error; "
     "next -> YIELDED after"},
    /* except ValueError: raise TypeError -> context ValueError */
    {"a raise while handling records the context", body_try_fn, catch_then_raise_other, "n",
     "try THROWN ValueError: bad; try THROWN TypeError: while handling ctx ValueError; "
     "next -> YIELDED after"},
    /* try: x = yield ...; y = yield ... */
    {"the protected call yields and is sent values", body_try_fn, yields_twice, "nssn",
     "next -> YIELDED in try 1; fn got sent; send -> YIELDED in try 2; fn got sent; "
     "try OK fn result; send -> YIELDED after; body end; next -> RETURNED end"},
    {"a throw at a yield inside is caught by the try", body_try_fn, yields_twice, "ntn",
     "next -> YIELDED in try 1; try THROWN ValueError: thrown; throw -> YIELDED after; "
     "body end; next -> RETURNED end"},
    /* close inside try/except BaseException: raise */
    {"close inside the call: GeneratorExit caught and re-raised closes", body_try_then_reraise,
     defers_and_yields, "nc",
     "next -> YIELDED in try; inner finally; try THROWN GeneratorExit: ; close -> OK NULL"},
    {"close inside the call: a body that then yields ignores it", ignores_close, NULL, "nc",
     "next -> YIELDED in try 1; try THROWN GeneratorExit: ; close -> EIGNORED NULL"},
    {"destroy inside the call runs inner then outer handlers", body_outer_defer,
     defers_and_yields, "nd",
     "next -> YIELDED in try; inner finally; try THROWN GeneratorExit: ; destroy -> OK"},
    /* try: raise StopIteration except StopIteration: (no PEP 479 inside) */
    {"a StopIteration is caught as itself", body_try_fn, raises_stop_iteration, "n",
     "try THROWN StopIteration: stop; next -> YIELDED after"},
    {"a StopIteration re-raised out of the body becomes RuntimeError", body_try_then_reraise,
     raises_stop_iteration, "n",
     "try THROWN StopIteration: stop; next -> RAISED RuntimeError: coroutine raised "
     "StopIteration cause StopIteration"},
    {"a raise after a finished try leaves the body", body_raise_after_ok_try, NULL, "n",
     "try OK NULL; next -> RAISED MyError: outside any try"},
    {"100 nested tries, each catching and re-raising", body_nests_100, NULL, "n",
     "caught at 10; caught at 20; caught at 30; caught at 40; caught at 50; caught at 60; "
     "caught at 70; caught at 80; caught at 90; caught at 100; try OK all caught; "
     "next -> YIELDED after"},
    {"yield from inside the call: the sub's raise is re-raised and caught",
     body_yield_from_in_try_fn, NULL, "nn",
     "next -> YIELDED from sub; yield from THROWN; try THROWN MyError: sub failed; "
     "next -> YIELDED after"},
    {"a coroutine that fn drives reports its raise as a status", body_try_fn, drives_a_raiser, "n",
     "other RAISED MyError; try OK drove it; next -> YIELDED after"},
    {"a try inside a cleanup handler during propagation", body_try_in_handler, NULL, "n",
     "try THROWN TypeError: not a value error ctx ValueError; next -> RAISED ValueError: "
     "escaping"},
    {"handlers past the inline ones unwind in order", body_many_defers, NULL, "nn",
     "d7; d6; d5; d4; d3; d2; d1; try THROWN ValueError: after seven; next -> YIELDED after; "
     "body end; outer b; outer a; next -> RETURNED end"},
    /* except MyError: (try: v = f() except: ...) -> still handling MyError,
     * as Python restores sys.exc_info() when the inner try ends */
    {"after a normal return the handled exception is current again", body_handling_then_try,
     returns_v, "nm",
     "next -> YIELDED waiting; yield THROWN; try OK v; now handling MyError; "
     "throw -> YIELDED after"},
    {"after a normal return with nothing handled, nothing is", body_handling_then_try, returns_v,
     "nn", "next -> YIELDED waiting; yield OK; try OK v; now handling nothing; "
     "next -> YIELDED after"},
    {"a raise inside the call while handling a thrown one has it as context",
     body_handling_then_try, raises_type_error, "nm",
     "next -> YIELDED waiting; yield THROWN; try THROWN TypeError: not a value error ctx "
     "MyError; now handling TypeError; throw -> YIELDED after"},
    {"defer_pop refuses a handler from outside the try", body_pop_across_try, NULL, "nn",
     "pop outer EINVAL; inner; pop inner OK; try OK popped; next -> YIELDED after; body end; "
     "outer; next -> RETURNED end"},
};

#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

START_TEST(script_guarded) { run_script(&scripts[_i], CORO_STACK_GUARDED); }
END_TEST

START_TEST(script_compact) { run_script(&scripts[_i], CORO_STACK_COMPACT); }
END_TEST

/* ---- misuse ----------------------------------------------------------- */

static void *try_with_other_self(coro *self, void *arg)
{
    coro *other = arg;
    int rc = coro_try(other, returns_v, NULL, NULL);
    tr_add(&tr, "other self %s", coro_err_name(rc));
    rc = coro_try(self, NULL, NULL, NULL);
    tr_add(&tr, "NULL fn %s", coro_err_name(rc));
    return NULL;
}

START_TEST(misuse_is_reported)
{
    void *v = "untouched";
    ck_assert_int_eq(coro_try(NULL, returns_v, NULL, &v), CORO_ENOTCURRENT);
    ck_assert_ptr_null(v);
    coro *idle = NULL, *c = NULL;
    ck_assert_int_eq(coro_create(&idle, returns_v, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_try(idle, returns_v, NULL, NULL), CORO_ENOTCURRENT);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_try"));
    ck_assert_int_eq(coro_create(&c, try_with_other_self, idle, NULL), CORO_OK);
    tr_reset(&tr);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "other self ENOTCURRENT; NULL fn EINVAL");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(coro_destroy(idle), CORO_OK);
}
END_TEST

/* ---- threads -------------------------------------------------------------- */

static void *resume_on_thread(void *arg)
{
    coro *c = arg;
    static int rc;
    rc = coro_throw(c, &coro_ValueError, "from another thread", NULL);
    return &rc;
}

/* Suspended inside the call on one thread, thrown into on another: the raise
 * still reaches the try frame on the coroutine's own stack. */
START_TEST(caught_after_moving_to_another_thread)
{
    coro *c = NULL;
    static const coro_fn fn = yields_twice;
    ck_assert_int_eq(coro_create(&c, body_try_fn, (void *)&fn, NULL), CORO_OK);
    tr_reset(&tr);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    pthread_t t;
    void *res = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, resume_on_thread, c), 0);
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_int_eq(*(int *)res, CORO_YIELDED);
    ck_assert_str_eq(tr.buf, "try THROWN ValueError: from another thread");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("try");
    TCase *sc = tcase_create("scripts");
    tcase_add_checked_fixture(sc, alloc_setup, alloc_teardown);
    tcase_add_loop_test(sc, script_guarded, 0, (int)NSCRIPTS);
    tcase_add_loop_test(sc, script_compact, 0, (int)NSCRIPTS);
    suite_add_tcase(s, sc);

    TCase *st = tcase_create("state");
    tcase_add_checked_fixture(st, alloc_setup, alloc_teardown);
    tcase_add_test(st, misuse_is_reported);
    tcase_add_test(st, caught_after_moving_to_another_thread);
    suite_add_tcase(s, st);
    return run_suite(s);
}
