/* test_exceptions.c - the exception model: type families, raise from any
 * depth, messages, udata, reraise, PEP 479 (B9) and cleanup handlers.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <string.h>

static const coro_exc_type my_error = {"MyError", &coro_Exception};
static const coro_exc_type my_sub_error = {"MySubError", &my_error};
static const coro_exc_type my_stop = {"MyStop", &coro_StopIteration};

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

/* ---- coro_exc_matches ---------------------------------------------------- */

START_TEST(matches_builtin_hierarchy)
{
    const coro_exc_type *exceptions[] = {&coro_Exception,  &coro_StopIteration,
                                         &coro_RuntimeError, &coro_ValueError,
                                         &coro_TypeError,  &coro_AttributeError};
    for (size_t i = 0; i < sizeof exceptions / sizeof exceptions[0]; i++) {
        ck_assert(coro_exc_matches(exceptions[i], exceptions[i]));
        ck_assert(coro_exc_matches(exceptions[i], &coro_Exception));
        ck_assert(coro_exc_matches(exceptions[i], &coro_BaseException));
        ck_assert(!coro_exc_matches(exceptions[i], &coro_GeneratorExit));
    }
    ck_assert(coro_exc_matches(&coro_GeneratorExit, &coro_BaseException));
    ck_assert(!coro_exc_matches(&coro_GeneratorExit, &coro_Exception));
    ck_assert(!coro_exc_matches(&coro_BaseException, &coro_Exception));
    ck_assert(!coro_exc_matches(&coro_StopIteration, &coro_RuntimeError));
    ck_assert(!coro_exc_matches(&coro_ValueError, &coro_TypeError));
    ck_assert(!coro_exc_matches(NULL, &coro_Exception));
    ck_assert(!coro_exc_matches(&coro_Exception, NULL));
    ck_assert(!coro_exc_matches(NULL, NULL));
    ck_assert_ptr_null(coro_BaseException.base);
    ck_assert_str_eq(coro_GeneratorExit.name, "GeneratorExit");
}
END_TEST

START_TEST(matches_user_types)
{
    ck_assert(coro_exc_matches(&my_sub_error, &my_sub_error));
    ck_assert(coro_exc_matches(&my_sub_error, &my_error));
    ck_assert(coro_exc_matches(&my_sub_error, &coro_Exception));
    ck_assert(coro_exc_matches(&my_sub_error, &coro_BaseException));
    ck_assert(!coro_exc_matches(&my_error, &my_sub_error));
    ck_assert(!coro_exc_matches(&my_sub_error, &coro_ValueError));
    ck_assert(coro_exc_matches(&my_stop, &coro_StopIteration));
}
END_TEST

/* ---- raise from a deep call stack ---------------------------------------- */

static const char *const level_names[] = {"", "level 10", "level 20", "level 30",
                                          "level 40"};

struct deep {
    coro *self;
    int depth;
    int reached;
};

static int descend(struct deep *d, int level)
{
    if (d->self == NULL) /* never: keeps a returning path for the compiler */
        return 0;
    d->reached = level;
    if (level % 10 == 0 && level < d->depth)
        coro_defer(d->self, on_cleanup, (void *)level_names[level / 10]);
    if (level == d->depth)
        coro_raisef(d->self, &my_sub_error, "at depth %d", level);
    int r = descend(d, level + 1);
    tr_add(&tr, "returned through level %d", level); /* never runs */
    return r + 1;
}

static void *raise_deep(coro *self, void *arg)
{
    struct deep *d = arg;
    d->self = self;
    coro_defer(self, on_cleanup, "cleanup");
    coro_yield_value(self, NULL);
    descend(d, 1);
    tr_add(&tr, "after descend");
    return NULL;
}

START_TEST(raise_unwinds_nested_calls)
{
    struct deep d = {NULL, 50, 0};
    coro *c = make(raise_deep, &d);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_int_eq(d.reached, 50);
    ck_assert_str_eq(tr.buf, "level 40; level 30; level 20; level 10; cleanup");
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &my_sub_error);
    ck_assert_str_eq(e->message, "at depth 50");
    ck_assert(coro_exc_matches(e->type, &my_error));
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

/* ---- messages ------------------------------------------------------------ */

static void *raisef_body(coro *self, void *arg)
{
    (void)arg;
    coro_raisef(self, &coro_ValueError, "%d items in %s (%.1f%%)", 3, "box", 12.5);
}

START_TEST(raisef_formats_message)
{
    coro *c = make(raisef_body, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_str_eq(coro_exception(c)->message, "3 items in box (12.5%)");
    coro_destroy(c);
}
END_TEST

static char long_message[400];

static void *raise_long(coro *self, void *arg)
{
    if (arg != NULL)
        coro_raisef(self, &coro_ValueError, "%s%s", long_message, "tail");
    coro_raise(self, &coro_ValueError, long_message);
}

static void check_truncated(const char *message)
{
    ck_assert_uint_eq(strlen(message), CORO_EXC_MSG_MAX - 1);
    ck_assert_int_eq(memcmp(message, long_message, CORO_EXC_MSG_MAX - 1), 0);
}

START_TEST(message_truncated_at_max)
{
    memset(long_message, 'x', sizeof long_message - 1);
    long_message[sizeof long_message - 1] = '\0';
    for (int i = 0; i < 26; i++)
        long_message[i] = (char)('a' + i);
    coro *c = make(raise_long, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    check_truncated(coro_exception(c)->message);
    coro_destroy(c);

    c = make(raise_long, "formatted");
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    check_truncated(coro_exception(c)->message);
    coro_destroy(c);

    coro_exc e;
    ck_assert_int_eq(coro_exc_set(&e, &coro_TypeError, long_message), CORO_OK);
    check_truncated(e.message);

    /* Exactly CORO_EXC_MSG_MAX - 1 characters fit whole. */
    long_message[CORO_EXC_MSG_MAX - 1] = '\0';
    c = make(raise_long, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_str_eq(coro_exception(c)->message, long_message);
    coro_destroy(c);
}
END_TEST

/* ---- udata and reraise --------------------------------------------------- */

static void *raise_with_udata(coro *self, void *arg)
{
    coro_exc e;
    coro_exc_set(&e, &my_error, "carrying");
    e.udata = arg;
    coro_raise_exc(self, &e);
}

START_TEST(raise_exc_keeps_udata)
{
    int payload = 9;
    coro *c = make(raise_with_udata, &payload);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &my_error);
    ck_assert_str_eq(e->message, "carrying");
    ck_assert_ptr_eq(e->udata, &payload);
    ck_assert_ptr_null(e->context);
    coro_destroy(c);
}
END_TEST

/* Propagates the thrown exception from a helper a few calls deep. */
static void reraise_from(coro *self, int depth)
{
    if (self == NULL) /* never: keeps a returning path for the compiler */
        return;
    if (depth == 0)
        coro_reraise(self);
    reraise_from(self, depth - 1);
    tr_add(&tr, "not reached");
}

static void *catch_and_reraise(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, NULL, NULL) == CORO_THROWN) {
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
        reraise_from(self, 3);
    }
    return NULL;
}

START_TEST(reraise_propagates_thrown_exception)
{
    int payload = 4;
    coro_exc thrown;
    coro_exc_set(&thrown, &my_sub_error, "thrown in");
    thrown.udata = &payload;
    coro *c = make(catch_and_reraise, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw_exc(c, &thrown, NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "caught MySubError; finally");
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &my_sub_error);
    ck_assert_str_eq(e->message, "thrown in");
    ck_assert_ptr_eq(e->udata, &payload);
    ck_assert_ptr_null(e->context); /* a bare raise is not a new exception */
    coro_destroy(c);
}
END_TEST

/* ---- B9: PEP 479 --------------------------------------------------------- */

static void *raises_stop(coro *self, void *arg)
{
    coro_yield_value(self, NULL);
    coro_raise(self, arg, "stop!");
}

START_TEST(b9_raised_stop_iteration_becomes_runtime_error)
{
    const coro_exc_type *types[] = {&coro_StopIteration, &my_stop};
    for (int i = 0; i < 2; i++) {
        coro *c = make(raises_stop, (void *)types[i]);
        coro_next(c, NULL);
        void *out = "untouched";
        ck_assert_int_eq(coro_next(c, &out), CORO_RAISED);
        ck_assert_ptr_null(out);
        const coro_exc *e = coro_exception(c);
        ck_assert_ptr_eq(e->type, &coro_RuntimeError);
        ck_assert_str_eq(e->message, "coroutine raised StopIteration");
        ck_assert_ptr_eq(e->cause, types[i]);
        ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
        ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
        coro_destroy(c);
    }
}
END_TEST

static void *plain_yield(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    coro_yield_value(self, NULL);
    return "r";
}

START_TEST(b9_thrown_stop_iteration_uncaught_becomes_runtime_error)
{
    coro *c = make(plain_yield, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_StopIteration, "in", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine raised StopIteration");
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    ck_assert_str_eq(tr.buf, "finally");
    coro_destroy(c);
}
END_TEST

static void *catches_stop(coro *self, void *arg)
{
    (void)arg;
    if (coro_yield(self, "a", NULL) == CORO_THROWN)
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
    coro_yield_value(self, "b");
    return "r";
}

START_TEST(b9_caught_stop_iteration_is_harmless)
{
    coro *c = make(catches_stop, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_StopIteration, NULL, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "b");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(tr.buf, "caught StopIteration");
    coro_destroy(c);
}
END_TEST

/* ---- cleanup handlers ---------------------------------------------------- */

/* Registers "1", "2", "3"; then does what arg says. */
static void *three_defers(coro *self, void *arg)
{
    const char *how = arg;
    coro_defer(self, on_cleanup, "1");
    coro_defer(self, on_cleanup, "2");
    coro_defer(self, on_cleanup, "3");
    if (strcmp(how, "raise") == 0)
        coro_raise(self, &coro_ValueError, "");
    coro_yield_value(self, NULL);
    tr_add(&tr, "body end");
    return NULL;
}

START_TEST(defers_lifo_on_return)
{
    coro *c = make(three_defers, "return");
    coro_next(c, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "body end; 3; 2; 1");
    coro_destroy(c);
}
END_TEST

START_TEST(defers_lifo_on_raise)
{
    coro *c = make(three_defers, "raise");
    ck_assert_int_eq(coro_next(c, NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "3; 2; 1");
    coro_destroy(c);
}
END_TEST

START_TEST(defers_lifo_on_close)
{
    coro *c = make(three_defers, "close");
    coro_next(c, NULL);
    ck_assert_int_eq(coro_close(c, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "3; 2; 1");
    coro_destroy(c);
    ck_assert_str_eq(tr.buf, "3; 2; 1");
}
END_TEST

START_TEST(defers_lifo_on_destroy)
{
    coro *c = make(three_defers, "destroy");
    coro_next(c, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "3; 2; 1");
}
END_TEST

static void *pops(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "kept");
    coro_defer(self, on_cleanup, "popped and run");
    tr_add(&tr, "pop run %s", coro_err_name(coro_defer_pop(self, true)));
    coro_defer(self, on_cleanup, "dropped");
    tr_add(&tr, "pop drop %s", coro_err_name(coro_defer_pop(self, false)));
    tr_add(&tr, "pop drop %s", coro_err_name(coro_defer_pop(self, false)));
    tr_add(&tr, "pop empty %s", coro_err_name(coro_defer_pop(self, true)));
    coro_defer(self, on_cleanup, "last");
    tr_add(&tr, "defer NULL %s", coro_err_name(coro_defer(self, NULL, NULL)));
    return NULL;
}

START_TEST(defer_pop_runs_or_drops)
{
    coro *c = make(pops, NULL);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "popped and run; pop run OK; pop drop OK; pop drop OK; "
                             "pop empty EINVAL; defer NULL EINVAL; last");
    coro_destroy(c);
}
END_TEST

struct raising_cleanup {
    coro *self;
    const coro_exc_type *type;
};

static void raise_in_cleanup(void *arg)
{
    struct raising_cleanup *r = arg;
    tr_add(&tr, "cleanup raises");
    coro_raise(r->self, r->type, "from cleanup");
}

static void *cleanup_raises(coro *self, void *arg)
{
    struct raising_cleanup *r = arg;
    r->self = self;
    coro_defer(self, on_cleanup, "outer");
    coro_defer(self, raise_in_cleanup, r);
    coro_defer(self, on_cleanup, "inner");
    if (coro_yield_value(self, NULL) != NULL)
        coro_raise(self, &coro_ValueError, "original");
    tr_add(&tr, "returning");
    return "r";
}

START_TEST(defer_raise_replaces_exception)
{
    struct raising_cleanup r = {NULL, &coro_TypeError};
    coro *c = make(cleanup_raises, &r);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_send(c, "raise", NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "inner; cleanup raises; outer");
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_TypeError);
    ck_assert_str_eq(e->message, "from cleanup");
    ck_assert_ptr_eq(e->context, &coro_ValueError);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    coro_destroy(c);
}
END_TEST

START_TEST(defer_raise_on_return_has_no_context)
{
    struct raising_cleanup r = {NULL, &coro_TypeError};
    coro *c = make(cleanup_raises, &r);
    coro_next(c, NULL);
    void *out = "untouched";
    ck_assert_int_eq(coro_next(c, &out), CORO_RAISED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "returning; inner; cleanup raises; outer");
    const coro_exc *e = coro_exception(c);
    ck_assert_ptr_eq(e->type, &coro_TypeError);
    ck_assert_ptr_null(e->context);
    coro_destroy(c);
}
END_TEST

static void *defer_while_handling(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer");
    int rc = coro_yield(self, NULL, NULL);
    if (rc == CORO_THROWN) {
        tr_add(&tr, "handling %s", coro_exception(self)->type->name);
        coro_defer(self, on_cleanup, "registered while handling");
        if (coro_exception(self)->type == &coro_TypeError)
            coro_reraise(self);
    }
    coro_yield_value(self, "after handling");
    return "r";
}

START_TEST(defer_registered_during_handling)
{
    coro *c = make(defer_while_handling, NULL);
    void *out = NULL;
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, NULL, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "after handling");
    ck_assert_str_eq(tr.buf, "handling ValueError");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "handling ValueError; registered while handling; outer");
    coro_destroy(c);

    c = make(defer_while_handling, NULL);
    coro_next(c, NULL);
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, NULL, &out), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "handling TypeError; registered while handling; outer");
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_TypeError);
    coro_destroy(c);
}
END_TEST

/* A cleanup handler that yields (Python allows yield in finally). */
static void yielding_cleanup(void *arg)
{
    coro *self = arg;
    void *got = NULL;
    int rc = coro_yield(self, "in finally", &got);
    if (rc == CORO_THROWN)
        tr_add(&tr, "finally caught %s", coro_exception(self)->type->name);
    else
        tr_add(&tr, "finally resumed");
}

static void *finally_yields(coro *self, void *arg)
{
    coro_defer(self, on_cleanup, "outer");
    coro_defer(self, yielding_cleanup, self);
    if (arg != NULL)
        coro_raise(self, &coro_ValueError, "pending");
    return "r";
}

START_TEST(defer_may_yield_on_return)
{
    coro *c = make(finally_yields, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "in finally");
    ck_assert_int_eq(coro_get_state(c), CORO_SUSPENDED);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_str_eq(tr.buf, "finally resumed; outer");
    coro_destroy(c);
}
END_TEST

START_TEST(defer_may_yield_while_raising)
{
    coro *c = make(finally_yields, "raise");
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "in finally");
    ck_assert_int_eq(coro_next(c, &out), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "pending");
    ck_assert_str_eq(tr.buf, "finally resumed; outer");
    coro_destroy(c);
}
END_TEST

START_TEST(throw_into_yielding_defer_keeps_pending_exception)
{
    coro *c = make(finally_yields, "raise");
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    /* Caught inside the finally block; the ValueError then goes on. */
    ck_assert_int_eq(coro_throw(c, &coro_TypeError, NULL, NULL), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "pending");
    ck_assert_str_eq(tr.buf, "finally caught TypeError; outer");
    coro_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exceptions");
    TCase *m = tcase_create("model");
    tcase_add_checked_fixture(m, alloc_setup, alloc_teardown);
    tcase_add_test(m, matches_builtin_hierarchy);
    tcase_add_test(m, matches_user_types);
    tcase_add_test(m, raise_unwinds_nested_calls);
    tcase_add_test(m, raisef_formats_message);
    tcase_add_test(m, message_truncated_at_max);
    tcase_add_test(m, raise_exc_keeps_udata);
    tcase_add_test(m, reraise_propagates_thrown_exception);
    suite_add_tcase(s, m);

    TCase *p = tcase_create("pep479");
    tcase_add_checked_fixture(p, alloc_setup, alloc_teardown);
    tcase_add_test(p, b9_raised_stop_iteration_becomes_runtime_error);
    tcase_add_test(p, b9_thrown_stop_iteration_uncaught_becomes_runtime_error);
    tcase_add_test(p, b9_caught_stop_iteration_is_harmless);
    suite_add_tcase(s, p);

    TCase *d = tcase_create("defers");
    tcase_add_checked_fixture(d, alloc_setup, alloc_teardown);
    tcase_add_test(d, defers_lifo_on_return);
    tcase_add_test(d, defers_lifo_on_raise);
    tcase_add_test(d, defers_lifo_on_close);
    tcase_add_test(d, defers_lifo_on_destroy);
    tcase_add_test(d, defer_pop_runs_or_drops);
    tcase_add_test(d, defer_raise_replaces_exception);
    tcase_add_test(d, defer_raise_on_return_has_no_context);
    tcase_add_test(d, defer_registered_during_handling);
    tcase_add_test(d, defer_may_yield_on_return);
    tcase_add_test(d, defer_may_yield_while_raising);
    tcase_add_test(d, throw_into_yielding_defer_keeps_pending_exception);
    suite_add_tcase(s, d);
    return run_suite(s);
}
