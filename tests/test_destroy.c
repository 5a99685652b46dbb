/* test_destroy.c - finalisation: spec rules F1-F3, the unraisable hook,
 * destroy while running, and create/destroy cycles without leaks.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static void on_cleanup(void *arg) { tr_add(&tr, "%s", (const char *)arg); }

/* The unraisable hook records into the transcript and counts its calls. */
struct hook_log {
    int calls;
    uintptr_t c; /* identity only: the coroutine is being destroyed */
    char name[32];
    const coro_exc_type *type;
    const coro_exc_type *context;
    char message[CORO_EXC_MSG_MAX];
    const char *what;
    void *udata;
};

static struct hook_log hook_log;

static void record_hook(const coro *c, const coro_exc *exc, const char *what, void *udata)
{
    hook_log.calls++;
    hook_log.c = (uintptr_t)c;
    snprintf(hook_log.name, sizeof hook_log.name, "%s", coro_name(c));
    hook_log.type = exc != NULL ? exc->type : NULL;
    hook_log.context = exc != NULL ? exc->context : NULL;
    snprintf(hook_log.message, sizeof hook_log.message, "%s", exc != NULL ? exc->message : "");
    hook_log.what = what;
    hook_log.udata = udata;
    tr_add(&tr, "hook %s", exc != NULL ? exc->type->name : "ignored GeneratorExit");
}

static int hook_tag;

static void setup(void)
{
    alloc_setup();
    hook_log = (struct hook_log){0};
    coro_set_unraisable_hook(record_hook, &hook_tag);
}

static void teardown(void)
{
    coro_set_unraisable_hook(NULL, NULL);
    alloc_teardown();
}

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    tr_reset(&tr);
    return c;
}

static coro *started(coro_fn fn, void *arg)
{
    coro *c = make(fn, arg);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_reset(&tr);
    return c;
}

/* ---- F1 ------------------------------------------------------------------ */

static void *catches_generator_exit(coro *self, void *arg)
{
    coro_defer(self, on_cleanup, "outer finally");
    coro_defer(self, on_cleanup, "inner finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN) {
        tr_add(&tr, "caught %s", coro_exception(self)->type->name);
        return arg; /* a value returned while closing is discarded by destroy */
    }
    return NULL;
}

START_TEST(f1_destroy_suspended_runs_handlers)
{
    long before = coro__testing_live_stacks();
    coro *c = started(catches_generator_exit, "discarded");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "caught GeneratorExit; inner finally; outer finally");
    ck_assert_int_eq(hook_log.calls, 0);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
}
END_TEST

static void *lets_generator_exit_escape(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    coro_yield_value(self, "a");
    tr_add(&tr, "not reached");
    return NULL;
}

START_TEST(f1_destroy_suspended_generator_exit_escapes_quietly)
{
    coro *c = started(lets_generator_exit_escape, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "finally");
    ck_assert_int_eq(hook_log.calls, 0);
}
END_TEST

/* ---- F2 ------------------------------------------------------------------ */

static void *ignores_generator_exit(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    for (int i = 0; i < 100; i++) {
        if (coro_yield(self, "a", NULL) == CORO_THROWN)
            tr_add(&tr, "ignoring %s", coro_exception(self)->type->name);
    }
    return NULL;
}

START_TEST(f2_ignored_generator_exit_goes_to_hook)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = "stubborn";
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, ignores_generator_exit, NULL, &opt), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
    tr_reset(&tr);
    uintptr_t id = (uintptr_t)c;
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(hook_log.calls, 1);
    ck_assert(hook_log.c == id);
    ck_assert_str_eq(hook_log.name, "stubborn");
    ck_assert_ptr_null(hook_log.type);
    ck_assert_ptr_eq(hook_log.udata, &hook_tag);
    ck_assert_ptr_nonnull(hook_log.what);
    ck_assert_str_eq(hook_log.what, "exception ignored while destroying");
    ck_assert_str_eq(tr.buf, "ignoring GeneratorExit; hook ignored GeneratorExit");
    /* The teardown checks that the memory and the stack were freed anyway. */
}
END_TEST

static void *raises_while_closing(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    if (coro_yield(self, "a", NULL) == CORO_THROWN)
        coro_raise(self, &coro_ValueError, "cleanup failed");
    return NULL;
}

START_TEST(f2_other_exception_goes_to_hook)
{
    coro *c = started(raises_while_closing, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(hook_log.calls, 1);
    ck_assert_ptr_eq(hook_log.type, &coro_ValueError);
    ck_assert_ptr_eq(hook_log.context, &coro_GeneratorExit);
    ck_assert_str_eq(hook_log.message, "cleanup failed");
    ck_assert_str_eq(hook_log.what, "exception ignored while destroying");
    ck_assert_str_eq(tr.buf, "finally; hook ValueError");
}
END_TEST

static void raising_cleanup(void *arg)
{
    coro *self = arg;
    tr_add(&tr, "cleanup raises");
    coro_raise(self, &coro_TypeError, "in cleanup");
}

static void *cleanup_raises(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer finally");
    coro_defer(self, raising_cleanup, self);
    coro_yield_value(self, "a");
    return NULL;
}

START_TEST(f2_cleanup_raising_during_destroy_goes_to_hook)
{
    coro *c = started(cleanup_raises, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(hook_log.calls, 1);
    ck_assert_ptr_eq(hook_log.type, &coro_TypeError);
    ck_assert_ptr_eq(hook_log.context, &coro_GeneratorExit);
    ck_assert_str_eq(tr.buf, "cleanup raises; outer finally; hook TypeError");
}
END_TEST

static void yielding_cleanup(void *arg)
{
    coro *self = arg;
    tr_add(&tr, "finally yields");
    coro_yield(self, "in finally", NULL);
    tr_add(&tr, "never resumed");
}

static void *cleanup_yields(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "outer finally");
    coro_defer(self, yielding_cleanup, self);
    coro_yield_value(self, "a");
    return NULL;
}

START_TEST(f2_yield_in_cleanup_during_destroy_goes_to_hook)
{
    coro *c = started(cleanup_yields, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(hook_log.calls, 1);
    ck_assert_ptr_null(hook_log.type);
    ck_assert_str_eq(tr.buf, "finally yields; hook ignored GeneratorExit");
}
END_TEST

/* ---- F3 ------------------------------------------------------------------ */

START_TEST(f3_destroy_created_runs_nothing)
{
    long before = coro__testing_live_stacks();
    coro *c = make(catches_generator_exit, NULL);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(hook_log.calls, 0);
    ck_assert_int_eq(coro__testing_live_stacks(), before);
}
END_TEST

START_TEST(f3_destroy_closed_runs_nothing)
{
    coro *returned = started(catches_generator_exit, NULL);
    ck_assert_int_eq(coro_next(returned, NULL), CORO_RETURNED);
    coro *raised = started(raises_while_closing, NULL);
    ck_assert_int_eq(coro_throw(raised, &coro_TypeError, NULL, NULL), CORO_RAISED);
    coro *closed = started(lets_generator_exit_escape, NULL);
    ck_assert_int_eq(coro_close(closed, NULL), CORO_OK);
    tr_reset(&tr);
    ck_assert_int_eq(coro_destroy(returned), CORO_OK);
    ck_assert_int_eq(coro_destroy(raised), CORO_OK);
    ck_assert_int_eq(coro_destroy(closed), CORO_OK);
    ck_assert_str_eq(tr.buf, "");
    ck_assert_int_eq(hook_log.calls, 0);
}
END_TEST

/* ---- destroy while running ----------------------------------------------- */

static void *destroys_itself(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, on_cleanup, "finally");
    tr_add(&tr, "destroy self %s", coro_err_name(coro_destroy(self)));
    tr_add(&tr, "%s", coro_state_name(coro_get_state(self)));
    coro_yield_value(self, "alive");
    return "r";
}

START_TEST(destroy_running_is_erunning)
{
    coro *c = make(destroys_itself, NULL);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_str_eq((const char *)out, "alive");
    ck_assert_str_eq(tr.buf, "destroy self ERUNNING; GEN_RUNNING");
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "r");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "destroy self ERUNNING; GEN_RUNNING; finally");
}
END_TEST

/* ---- cycles -------------------------------------------------------------- */

static void *cycle_body(coro *self, void *arg)
{
    int *count = arg;
    coro_defer(self, on_cleanup, "c");
    coro_yield_value(self, NULL);
    (*count)++;
    return NULL;
}

START_TEST(thousand_create_destroy_cycles_leak_nothing)
{
    int finished = 0;
    coro_options opt;
    coro_options_init(&opt);
    opt.name = "cycle";
    for (int i = 0; i < 1000; i++) {
        coro *c = NULL;
        ck_assert_int_eq(coro_create(&c, cycle_body, &finished, &opt), CORO_OK);
        switch (i % 4) {
        case 0: /* never started */
            break;
        case 1: /* suspended: destroy closes it */
            ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
            break;
        default: /* ran to the end */
            ck_assert_int_eq(coro_next(c, NULL), CORO_YIELDED);
            ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
            break;
        }
        ck_assert_int_eq(coro_destroy(c), CORO_OK);
        ck_assert_int_eq(alloc_live(), 0);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
    }
    ck_assert_int_eq(finished, 500);
    ck_assert_int_eq(hook_log.calls, 0);
}
END_TEST

/* ---- the per-thread cache of coroutine structs ---------------------------- */

static void *yield_once(coro *self, void *arg)
{
    (void)arg;
    coro_yield_value(self, NULL);
    return NULL;
}

/* With the default allocator a destroyed coroutine's struct is reused by the
 * next create on the thread (not under ASan, where the cache is off so that a
 * use after destroy is still caught). */
START_TEST(struct_reused_with_default_allocator)
{
    coro *a = NULL, *b = NULL;
    ck_assert_int_eq(coro_create(&a, yield_once, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(a, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_destroy(a), CORO_OK);
    ck_assert_int_eq(coro_create(&b, yield_once, NULL, NULL), CORO_OK);
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_ptr_eq(a, b);
#endif
    /* A reused struct starts clean: CREATED, no exception, runs from the top. */
    ck_assert_int_eq(coro_get_state(b), CORO_CREATED);
    ck_assert_ptr_null(coro_exception(b));
    ck_assert_int_eq(coro_next(b, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(b, NULL), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(b), CORO_OK);
}
END_TEST

/* Under a user's allocator no struct enters or leaves the cache: every
 * create allocates through it and every destroy frees through it. */
START_TEST(struct_cache_bypassed_with_user_allocator)
{
    coro *warm = NULL;
    ck_assert_int_eq(coro_create(&warm, yield_once, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_destroy(warm), CORO_OK); /* one struct in the cache */
    alloc_setup();
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, yield_once, NULL, NULL), CORO_OK);
    ck_assert_int_eq(alloc_live(), 1);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_int_eq(alloc_live(), 0);
    alloc_teardown();
}
END_TEST

static void *create_destroy_on_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        coro *c = NULL;
        if (coro_create(&c, yield_once, NULL, NULL) != CORO_OK)
            return "create failed";
        if (coro_next(c, NULL) != CORO_YIELDED || coro_destroy(c) != CORO_OK)
            return "next or destroy failed";
    }
    return NULL;
}

/* A thread's cached structs are freed when it exits (Valgrind's leak check,
 * which scripts/test runs over this suite, fails the test otherwise). */
START_TEST(struct_cache_freed_at_thread_exit)
{
    pthread_t t;
    void *res = "not run";
    ck_assert_int_eq(pthread_create(&t, NULL, create_destroy_on_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_null(res);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("destroy");
    TCase *sc = tcase_create("struct_cache");
    tcase_add_test(sc, struct_reused_with_default_allocator);
    tcase_add_test(sc, struct_cache_bypassed_with_user_allocator);
    tcase_add_test(sc, struct_cache_freed_at_thread_exit);
    suite_add_tcase(s, sc);
    TCase *tc = tcase_create("destroy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, f1_destroy_suspended_runs_handlers);
    tcase_add_test(tc, f1_destroy_suspended_generator_exit_escapes_quietly);
    tcase_add_test(tc, f2_ignored_generator_exit_goes_to_hook);
    tcase_add_test(tc, f2_other_exception_goes_to_hook);
    tcase_add_test(tc, f2_cleanup_raising_during_destroy_goes_to_hook);
    tcase_add_test(tc, f2_yield_in_cleanup_during_destroy_goes_to_hook);
    tcase_add_test(tc, f3_destroy_created_runs_nothing);
    tcase_add_test(tc, f3_destroy_closed_runs_nothing);
    tcase_add_test(tc, destroy_running_is_erunning);
    tcase_add_test(tc, thousand_create_destroy_cycles_leak_nothing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
