/* test_errors.c - misuse and error reporting: NULL arguments to every public
 * function, coro_strerror / coro_err_name / coro_last_error, stack sizes and
 * the name option.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include "stack.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *idle(coro *self, void *arg)
{
    (void)arg;
    coro_yield_value(self, NULL);
    return NULL;
}

/* ---- NULL arguments ------------------------------------------------------ */

START_TEST(create_rejects_null_out_and_fn)
{
    static char storage;
    coro *sentinel = (coro *)&storage; /* *out must stay untouched */
    coro *c = sentinel;
    ck_assert_int_eq(coro_create(NULL, idle, NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_create(&c, NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_eq(c, sentinel);
    ck_assert_int_eq(alloc_live(), 0);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
}
END_TEST

START_TEST(driver_calls_reject_null)
{
    void *out = "untouched";
    ck_assert_int_eq(coro_next(NULL, &out), CORO_EINVAL);
    ck_assert_int_eq(coro_next(NULL, NULL), CORO_EINVAL);
    ck_assert_int_eq(coro_send(NULL, "v", &out), CORO_EINVAL);
    ck_assert_int_eq(coro_throw(NULL, &coro_ValueError, "m", &out), CORO_EINVAL);
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "m");
    ck_assert_int_eq(coro_throw_exc(NULL, &e, &out), CORO_EINVAL);
    ck_assert_int_eq(coro_close(NULL, &out), CORO_EINVAL);
    ck_assert_int_eq(coro_get_state(NULL), CORO_EINVAL);
}
END_TEST

START_TEST(queries_accept_null)
{
    ck_assert_int_eq(coro_destroy(NULL), CORO_OK);
    ck_assert_ptr_null(coro_exception(NULL));
    ck_assert_ptr_null(coro_name(NULL));
    ck_assert_uint_eq(coro_stack_size(NULL), 0);
    ck_assert_ptr_null(coro_yield_from_target(NULL));
    const coro_iter_vtable *vt = (const coro_iter_vtable *)&vt;
    ck_assert_ptr_null(coro_yield_from_iter_target(NULL, &vt));
    ck_assert_ptr_null(vt);
    coro_options_init(NULL); /* must not crash */
}
END_TEST

START_TEST(body_calls_reject_null_self)
{
    void *got = "untouched";
    ck_assert_int_eq(coro_yield(NULL, "v", &got), CORO_ENOTCURRENT);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(coro_defer(NULL, free, NULL), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_defer_pop(NULL, false), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_yield_from(NULL, NULL, NULL), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_yield_from_fn(NULL, idle, NULL, NULL), CORO_ENOTCURRENT);
    ck_assert_int_eq(coro_yield_from_iter(NULL, NULL, NULL, NULL), CORO_ENOTCURRENT);
}
END_TEST

/* Inside a body, with the right self: the NULL arguments themselves. */
static void *null_args_in_body(coro *self, void *arg)
{
    (void)arg;
    coro_iter_vtable no_next = {"broken", NULL, NULL, NULL, NULL};
    tr_add(&tr, "yield_from %s", coro_err_name(coro_yield_from(self, NULL, NULL)));
    tr_add(&tr, "yield_from_fn %s",
           coro_err_name(coro_yield_from_fn(self, NULL, NULL, NULL)));
    tr_add(&tr, "iter %s", coro_err_name(coro_yield_from_iter(self, NULL, NULL, NULL)));
    tr_add(&tr, "iter %s", coro_err_name(coro_yield_from_iter(self, &no_next, NULL, NULL)));
    tr_add(&tr, "defer %s", coro_err_name(coro_defer(self, NULL, NULL)));
    tr_add(&tr, "pop %s", coro_err_name(coro_defer_pop(self, true)));
    return "survived";
}

START_TEST(body_calls_reject_null_arguments)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, null_args_in_body, NULL, NULL), CORO_OK);
    tr_reset(&tr);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_str_eq((const char *)out, "survived");
    ck_assert_str_eq(tr.buf, "yield_from EINVAL; yield_from_fn EINVAL; iter EINVAL; "
                             "iter EINVAL; defer EINVAL; pop EINVAL");
    coro_destroy(c);
}
END_TEST

static void *test_alloc(void *udata, size_t size)
{
    (void)udata;
    return malloc(size);
}

static void test_free(void *udata, void *ptr, size_t size)
{
    (void)udata;
    (void)size;
    free(ptr);
}

START_TEST(set_allocator_requires_both_functions)
{
    const coro_allocator no_alloc = {NULL, test_free, NULL};
    const coro_allocator no_free = {test_alloc, NULL, NULL};
    ck_assert_int_eq(coro_set_allocator(&no_alloc), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_set_allocator"));
    ck_assert_int_eq(coro_set_allocator(&no_free), CORO_EINVAL);
    /* The fixture's counting allocator is still the one in use. */
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, idle, NULL, NULL), CORO_OK);
    ck_assert_int_gt(alloc_live(), 0);
    coro_destroy(c);
    ck_assert_int_eq(alloc_live(), 0);
}
END_TEST

START_TEST(set_default_stack_size_rejects_zero)
{
    size_t before = coro_get_default_stack_size();
    ck_assert_int_eq(coro_set_default_stack_size(0), CORO_EINVAL);
    ck_assert_uint_eq(coro_get_default_stack_size(), before);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_set_default_stack_size"));
}
END_TEST

START_TEST(exc_set_rejects_null_and_clears_fields)
{
    coro_exc e;
    ck_assert_int_eq(coro_exc_set(NULL, &coro_ValueError, "m"), CORO_EINVAL);
    ck_assert_int_eq(coro_exc_set(&e, NULL, "m"), CORO_EINVAL);
    memset(&e, 0xAB, sizeof e);
    ck_assert_int_eq(coro_exc_set(&e, &coro_TypeError, NULL), CORO_OK);
    ck_assert_ptr_eq(e.type, &coro_TypeError);
    ck_assert_str_eq(e.message, "");
    ck_assert_ptr_null(e.udata);
    ck_assert_ptr_null(e.context);
    ck_assert_ptr_null(e.cause);
    ck_assert_int_eq(coro_exc_set(&e, &coro_ValueError, "text"), CORO_OK);
    ck_assert_str_eq(e.message, "text");
}
END_TEST

/* ---- strerror, err_name, last_error -------------------------------------- */

struct code {
    int code;
    const char *name;
    const char *message;
};

static const struct code codes[] = {
    {CORO_OK, "OK", "success"},
    {CORO_YIELDED, "YIELDED", "the coroutine yielded a value"},
    {CORO_RETURNED, "RETURNED", "the coroutine returned (or had already finished)"},
    {CORO_RAISED, "RAISED", "an exception escaped the coroutine"},
    {CORO_THROWN, "THROWN", "an exception was thrown into the coroutine at this point"},
    {CORO_EINVAL, "EINVAL", "invalid argument"},
    {CORO_ENOMEM, "ENOMEM", "out of memory"},
    {CORO_EJUSTSTARTED, "EJUSTSTARTED", "can't send non-None value to a just-started coroutine"},
    {CORO_ERUNNING, "ERUNNING", "coroutine already executing"},
    {CORO_EIGNORED, "EIGNORED", "coroutine ignored GeneratorExit"},
    {CORO_ENOTCURRENT, "ENOTCURRENT",
     "called from outside the body of the coroutine passed as self"},
    {CORO_EBUSY, "EBUSY", "coroutine is the target of a yield from in another coroutine"},
};

START_TEST(strerror_and_err_name_for_every_code)
{
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(coro_strerror(codes[i].code), codes[i].message);
        ck_assert_str_eq(coro_err_name(codes[i].code), codes[i].name);
    }
    /* The table above covers the header's whole map. */
    size_t in_header = 0;
#define COUNT_CODE_(name, value, msg) in_header++;
    CORO_STATUS_MAP(COUNT_CODE_)
    CORO_ERRNO_MAP(COUNT_CODE_)
#undef COUNT_CODE_
    ck_assert_uint_eq(in_header, n);
    ck_assert_int_eq(CORO_YIELDED, 1);
    ck_assert_int_eq(CORO_RETURNED, 2);
    ck_assert_int_eq(CORO_RAISED, 3);
    ck_assert_int_eq(CORO_THROWN, 4);
}
END_TEST

START_TEST(strerror_and_err_name_for_unknown_code)
{
    ck_assert_str_eq(coro_strerror(-42), "unknown error -42");
    ck_assert_str_eq(coro_strerror(99), "unknown error 99");
    ck_assert_str_eq(coro_err_name(-42), "UNKNOWN");
    ck_assert_str_eq(coro_err_name(5), "UNKNOWN");
    ck_assert_str_eq(coro_err_name(-8), "UNKNOWN");
}
END_TEST

static void *read_last_error(void *arg)
{
    const char **where = arg;
    *where = coro_last_error();
    return (void *)(uintptr_t)((*where)[0] == '\0');
}

START_TEST(last_error_names_the_failing_function)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(NULL, idle, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_create"));
    ck_assert_int_eq(coro_send(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_send"));
    ck_assert_int_eq(coro_close(NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_close"));
    ck_assert_int_eq(coro_throw(NULL, &coro_ValueError, NULL, NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_throw"));
    ck_assert_int_eq(coro_get_state(NULL), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_get_state"));
    ck_assert_int_eq(coro_yield(NULL, NULL, NULL), CORO_ENOTCURRENT);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_yield"));

    ck_assert_int_eq(coro_create(&c, idle, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_send(c, "v", NULL), CORO_EJUSTSTARTED);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_send"));
    coro_destroy(c);

    /* Per thread: a fresh thread sees "", not this thread's failure. */
    const char *other = NULL;
    pthread_t t;
    void *empty = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, read_last_error, &other), 0);
    ck_assert_int_eq(pthread_join(t, &empty), 0);
    ck_assert_ptr_nonnull(other);
    ck_assert_ptr_eq(empty, (void *)(uintptr_t)1);
    ck_assert_str_ne(coro_last_error(), "");
}
END_TEST

/* Each driver call reports its failures under its own name: coro_next is
 * not "coro_send", coro_throw_exc is not "coro_throw". */
static bool names_call(const char *name)
{
    size_t n = strlen(name);
    return strncmp(coro_last_error(), name, n) == 0 && coro_last_error()[n] == ':';
}

/* The body drives itself: every driver call fails with CORO_ERUNNING. The
 * codes and names go to the transcript (no ck_assert in a body). */
static void *drive_self(coro *self, void *arg)
{
    (void)arg;
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "m");
    int rc = coro_next(self, NULL);
    tr_add(&tr, "next %s %d", coro_err_name(rc), names_call("coro_next"));
    rc = coro_send(self, NULL, NULL);
    tr_add(&tr, "send %s %d", coro_err_name(rc), names_call("coro_send"));
    rc = coro_throw(self, &coro_ValueError, "m", NULL);
    tr_add(&tr, "throw %s %d", coro_err_name(rc), names_call("coro_throw"));
    rc = coro_throw_exc(self, &e, NULL);
    tr_add(&tr, "throw_exc %s %d", coro_err_name(rc), names_call("coro_throw_exc"));
    return NULL;
}

START_TEST(last_error_names_next_and_throw_exc)
{
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "m");
    ck_assert_int_eq(coro_next(NULL, NULL), CORO_EINVAL);
    ck_assert_msg(names_call("coro_next"), "got: %s", coro_last_error());
    ck_assert_int_eq(coro_send(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_msg(names_call("coro_send"), "got: %s", coro_last_error());
    ck_assert_int_eq(coro_throw(NULL, &coro_ValueError, "m", NULL), CORO_EINVAL);
    ck_assert_msg(names_call("coro_throw"), "got: %s", coro_last_error());
    ck_assert_int_eq(coro_throw_exc(NULL, &e, NULL), CORO_EINVAL);
    ck_assert_msg(names_call("coro_throw_exc"), "got: %s", coro_last_error());
    ck_assert_int_eq(coro_throw_exc(NULL, NULL, NULL), CORO_EINVAL);
    ck_assert_msg(names_call("coro_throw_exc"), "got: %s", coro_last_error());

    coro *c = NULL;
    tr_reset(&tr);
    ck_assert_int_eq(coro_create(&c, drive_self, NULL, NULL), CORO_OK);
    ck_assert_int_eq(coro_next(c, NULL), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "next ERUNNING 1; send ERUNNING 1; throw ERUNNING 1; "
                             "throw_exc ERUNNING 1");
    coro_destroy(c);
}
END_TEST

/* ---- stack sizes --------------------------------------------------------- */

static size_t page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t stack_size_for(size_t requested)
{
    coro_options opt;
    coro_options_init(&opt);
    opt.stack_size = requested;
    opt.stack_mode = CORO_STACK_GUARDED;
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, idle, NULL, &opt), CORO_OK);
    size_t size = coro_stack_size(c);
    coro_destroy(c);
    return size;
}

START_TEST(stack_size_rounding)
{
    const size_t requests[] = {1, 1000, CORO_MIN_STACK_SIZE - 1, CORO_MIN_STACK_SIZE,
                               CORO_MIN_STACK_SIZE + 1, 100000, 300 * 1024 + 7};
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        size_t size = stack_size_for(requests[i]);
        ck_assert_uint_ge(size, requests[i]);
        ck_assert_uint_ge(size, CORO_MIN_STACK_SIZE);
        ck_assert_uint_eq(size % page(), 0);
        ck_assert_uint_lt(size, (requests[i] > CORO_MIN_STACK_SIZE ? requests[i]
                                                                    : CORO_MIN_STACK_SIZE) +
                                    page());
    }
    ck_assert_uint_eq(stack_size_for(1), CORO_MIN_STACK_SIZE);
}
END_TEST

START_TEST(default_stack_size_is_256_kib)
{
    ck_assert_uint_eq(CORO_DEFAULT_STACK_SIZE, 256u * 1024u);
    ck_assert_uint_eq(coro_get_default_stack_size(), 256u * 1024u);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, idle, NULL, NULL), CORO_OK);
    ck_assert_uint_eq(coro_stack_size(c), 256u * 1024u);
    coro_destroy(c);
}
END_TEST

START_TEST(set_default_stack_size_applies)
{
    size_t before = coro_get_default_stack_size();
    ck_assert_int_eq(coro_set_default_stack_size(100000), CORO_OK);
    ck_assert_uint_eq(coro_get_default_stack_size(), 100000);
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, idle, NULL, NULL), CORO_OK);
    ck_assert_uint_ge(coro_stack_size(c), 100000);
    ck_assert_uint_lt(coro_stack_size(c), 100000 + page());
    coro_destroy(c);
    ck_assert_int_eq(coro_set_default_stack_size(1), CORO_OK);
    ck_assert_uint_eq(coro_get_default_stack_size(), CORO_MIN_STACK_SIZE);
    ck_assert_int_eq(coro_set_default_stack_size(before), CORO_OK);
    ck_assert_uint_eq(coro_get_default_stack_size(), before);
}
END_TEST

START_TEST(too_large_stack_size_fails_cleanly)
{
    const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)1 << 52};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        coro_options opt;
        coro_options_init(&opt);
        opt.stack_size = sizes[i];
        opt.name = "huge";
        static char storage;
        coro *c = (coro *)&storage; /* *out must stay untouched */
        int rc = coro_create(&c, idle, NULL, &opt);
        ck_assert_msg(rc == CORO_EINVAL || rc == CORO_ENOMEM, "size %zu: %s", sizes[i],
                      coro_err_name(rc));
        ck_assert_ptr_eq(c, (coro *)&storage);
        ck_assert_str_ne(coro_last_error(), "");
        ck_assert_int_eq(alloc_live(), 0);
        ck_assert_int_eq(coro__testing_live_stacks(), 0);
    }
}
END_TEST

/* ---- options ------------------------------------------------------------- */

START_TEST(unknown_stack_mode_is_einval)
{
    static char storage;
    coro *c = (coro *)&storage;
    coro_options opt = CORO_OPTIONS_INIT;
    opt.stack_mode = 7;
    opt.name = "bad mode";
    ck_assert_int_eq(coro_create(&c, idle, NULL, &opt), CORO_EINVAL);
    ck_assert_ptr_eq(c, (coro *)&storage);
    ck_assert_ptr_nonnull(strstr(coro_last_error(), "coro_create"));
    ck_assert_int_eq(alloc_live(), 0);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
}
END_TEST

START_TEST(option_name_is_copied)
{
    char name[16] = "worker-1";
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    coro *c = NULL, *anonymous = NULL;
    ck_assert_int_eq(coro_create(&c, idle, NULL, &opt), CORO_OK);
    memset(name, 'z', sizeof name - 1);
    ck_assert_str_eq(coro_name(c), "worker-1");
    ck_assert_ptr_ne(coro_name(c), name);
    ck_assert_int_eq(coro_create(&anonymous, idle, NULL, NULL), CORO_OK);
    ck_assert_str_eq(coro_name(anonymous), "coroutine");
    coro_destroy(c);
    coro_destroy(anonymous);
}
END_TEST

START_TEST(options_init_sets_defaults)
{
    coro_options opt;
    memset(&opt, 0x5A, sizeof opt);
    coro_options_init(&opt);
    ck_assert_uint_eq(opt.stack_size, 0);
    ck_assert_uint_eq(opt.flags, 0);
    ck_assert_ptr_null(opt.name);
    coro_options lit = CORO_OPTIONS_INIT;
    ck_assert_uint_eq(lit.stack_size, 0);
    ck_assert_uint_eq(lit.flags, 0);
    ck_assert_ptr_null(lit.name);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *n = tcase_create("null");
    tcase_add_checked_fixture(n, alloc_setup, alloc_teardown);
    tcase_add_test(n, create_rejects_null_out_and_fn);
    tcase_add_test(n, driver_calls_reject_null);
    tcase_add_test(n, queries_accept_null);
    tcase_add_test(n, body_calls_reject_null_self);
    tcase_add_test(n, body_calls_reject_null_arguments);
    tcase_add_test(n, set_allocator_requires_both_functions);
    tcase_add_test(n, set_default_stack_size_rejects_zero);
    tcase_add_test(n, exc_set_rejects_null_and_clears_fields);
    suite_add_tcase(s, n);

    TCase *m = tcase_create("messages");
    tcase_add_checked_fixture(m, alloc_setup, alloc_teardown);
    tcase_add_test(m, strerror_and_err_name_for_every_code);
    tcase_add_test(m, strerror_and_err_name_for_unknown_code);
    tcase_add_test(m, last_error_names_the_failing_function);
    tcase_add_test(m, last_error_names_next_and_throw_exc);
    suite_add_tcase(s, m);

    TCase *st = tcase_create("stacks_and_options");
    tcase_add_checked_fixture(st, alloc_setup, alloc_teardown);
    tcase_add_test(st, stack_size_rounding);
    tcase_add_test(st, default_stack_size_is_256_kib);
    tcase_add_test(st, set_default_stack_size_applies);
    tcase_add_test(st, too_large_stack_size_fails_cleanly);
    tcase_add_test(st, unknown_stack_mode_is_einval);
    tcase_add_test(st, option_name_is_copied);
    tcase_add_test(st, options_init_sets_defaults);
    suite_add_tcase(s, st);
    return run_suite(s);
}
