/* test_cpp.cpp - coro.h from C++: bodies written in C++ (lambdas, static
 * member functions, std::function), and which cleanup runs when a body
 * returns, raises, is closed or is destroyed.
 * SPDX-License-Identifier: MIT
 *
 * Built once per language standard (test_cpp11, test_cpp17, test_cpp23: see
 * tests/CMakeLists.txt). What it checks is what docs/api.md, section "C++",
 * promises:
 *   - coro_defer handlers run however the body ends;
 *   - destructors of objects on the body's stack run only when the body
 *     returns: coro_raise, coro_throw, coro_close and coro_destroy leave the
 *     body with a context switch, not C++ unwinding, so they do not run;
 *   - an exception caught inside the body works; one that leaves the body
 *     calls std::terminate (the test is killed by SIGABRT).
 */
#include <check.h>

extern "C" {
#include "check_util.h"
}

#include <coro.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/* An object with a destructor, to see which frames are unwound. */
struct Guard {
    explicit Guard(const char *n) : name(n) { tr_add(&tr, "enter %s", name); }
    ~Guard() { tr_add(&tr, "~%s", name); }
    Guard(const Guard &) = delete;
    Guard &operator=(const Guard &) = delete;
    const char *name;
};

void deferred(void *arg) { tr_add(&tr, "defer %s", static_cast<const char *>(arg)); }

/* Creates a coroutine or fails the test (outside any body). */
coro *make(coro_fn fn, void *arg)
{
    coro *c = nullptr;
    ck_assert_int_eq(coro_create(&c, fn, arg, nullptr), CORO_OK);
    return c;
}

} // namespace

/* ---- bodies written in C++ ----------------------------------------------- */

START_TEST(captureless_lambda_is_a_body)
{
    /* A lambda without captures converts to the function pointer coro_fn. */
    coro_fn fn = [](coro *self, void *arg) -> void * {
        auto *terms = static_cast<std::vector<int> *>(arg);
        static int total;
        total = 0;
        for (int &t : *terms) {
            total += t;
            coro_yield_value(self, &total);
        }
        return &total;
    };
    std::vector<int> terms{10, 20, 30};
    coro *c = make(fn, &terms);
    void *out = nullptr;
    int seen[3] = {0, 0, 0};
    for (int &s : seen) {
        ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
        s = *static_cast<int *>(out);
    }
    ck_assert_int_eq(seen[0], 10);
    ck_assert_int_eq(seen[1], 30);
    ck_assert_int_eq(seen[2], 60);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_int_eq(*static_cast<int *>(out), 60);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

struct Echo {
    /* A static member function is an ordinary function: it is a body. */
    static void *body(coro *self, void *arg)
    {
        auto *prefix = static_cast<const std::string *>(arg);
        std::string last;
        void *got = coro_yield_value(self, nullptr);
        while (got != nullptr) {
            last = *prefix + static_cast<const char *>(got);
            tr_add(&tr, "%s", last.c_str());
            got = coro_yield_value(self, nullptr);
        }
        return nullptr;
    }
};

START_TEST(static_member_function_is_a_body)
{
    tr_reset(&tr);
    const std::string prefix = "echo ";
    coro *c = make(&Echo::body, const_cast<std::string *>(&prefix));
    char a[] = "a", b[] = "b";
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_send(c, a, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_send(c, b, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_RETURNED);
    ck_assert_str_eq(tr.buf, "echo a; echo b");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* A lambda with captures cannot convert to coro_fn: pass it through arg and
 * call it from a plain function. */
static void *call_function(coro *self, void *arg)
{
    return (*static_cast<std::function<void *(coro *)> *>(arg))(self);
}

START_TEST(capturing_lambda_through_arg)
{
    int calls = 0;
    std::function<void *(coro *)> body = [&calls](coro *self) -> void * {
        ++calls;
        coro_yield_value(self, &calls);
        ++calls;
        return &calls;
    };
    coro *c = make(call_function, &body);
    void *out = nullptr;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_ptr_eq(out, &calls);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ---- what runs when the body ends ---------------------------------------- */

/* Holds a Guard and a deferred handler across a yield, then returns. */
static void *guarded_return(coro *self, void *arg)
{
    (void)arg;
    Guard g("local");
    coro_defer(self, deferred, const_cast<char *>("d"));
    coro_yield_value(self, nullptr);
    tr_add(&tr, "returning");
    return nullptr;
}

START_TEST(return_runs_destructors_then_defer)
{
    tr_reset(&tr);
    coro *c = make(guarded_return, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_RETURNED);
    /* The destructor runs as the body's function returns; the handlers run
     * after it. */
    ck_assert_str_eq(tr.buf, "enter local; returning; ~local; defer d");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

[[noreturn]] static void raise_from_inner(coro *self)
{
    Guard inner("inner");
    coro_raise(self, &coro_ValueError, "boom");
}

static void *guarded_raise(coro *self, void *arg)
{
    (void)arg;
    Guard outer("outer");
    coro_defer(self, deferred, const_cast<char *>("d"));
    raise_from_inner(self);
}

START_TEST(raise_skips_destructors_runs_defer)
{
    tr_reset(&tr);
    coro *c = make(guarded_raise, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(coro_exception(c)->message, "boom");
    /* No "~inner", no "~outer": coro_raise switches away from both frames. */
    ck_assert_str_eq(tr.buf, "enter outer; enter inner; defer d");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* Parked at a yield with no handler: close and destroy end it from there. */
static void *guarded_yield(coro *self, void *arg)
{
    (void)arg;
    Guard g("local");
    coro_defer(self, deferred, const_cast<char *>("d"));
    coro_yield_value(self, nullptr);
    tr_add(&tr, "resumed");
    return nullptr;
}

START_TEST(close_skips_destructors_runs_defer)
{
    tr_reset(&tr);
    coro *c = make(guarded_yield, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_close(c, nullptr), CORO_OK);
    ck_assert_int_eq(coro_get_state(c), CORO_CLOSED);
    ck_assert_str_eq(tr.buf, "enter local; defer d");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(throw_skips_destructors_runs_defer)
{
    tr_reset(&tr);
    coro *c = make(guarded_yield, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_throw(c, &coro_ValueError, "in", nullptr), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(c)->type, &coro_ValueError);
    ck_assert_str_eq(tr.buf, "enter local; defer d");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

START_TEST(destroy_skips_destructors_runs_defer)
{
    tr_reset(&tr);
    coro *c = make(guarded_yield, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
    ck_assert_str_eq(tr.buf, "enter local; defer d");
}
END_TEST

/* The way to have destructors run on close: take the GeneratorExit at the
 * yield (coro_yield reports CORO_THROWN) and return. */
static void *guarded_yield_returns_on_close(coro *self, void *arg)
{
    (void)arg;
    Guard g("local");
    coro_defer(self, deferred, const_cast<char *>("d"));
    if (coro_yield(self, nullptr, nullptr) == CORO_THROWN)
        tr_add(&tr, "thrown %s", coro_exception(self)->type->name);
    return nullptr;
}

START_TEST(close_taken_at_the_yield_runs_destructors)
{
    tr_reset(&tr);
    coro *c = make(guarded_yield_returns_on_close, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_close(c, nullptr), CORO_OK);
    ck_assert_str_eq(tr.buf, "enter local; thrown GeneratorExit; ~local; defer d");
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

/* ---- C++ exceptions ------------------------------------------------------ */

static void *catches_its_own(coro *self, void *arg)
{
    (void)arg;
    try {
        Guard g("in try");
        coro_yield_value(self, nullptr);
        throw std::runtime_error("inside");
    } catch (const std::exception &e) {
        tr_add(&tr, "caught %s", e.what());
    }
    coro_yield_value(self, nullptr);
    return nullptr;
}

START_TEST(exception_caught_inside_the_body)
{
    tr_reset(&tr);
    coro *c = make(catches_its_own, nullptr);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    ck_assert_int_eq(coro_next(c, nullptr), CORO_YIELDED);
    /* A throw that stays in the body unwinds it as usual. */
    ck_assert_str_eq(tr.buf, "enter in try; ~in try; caught inside");
    ck_assert_int_eq(coro_next(c, nullptr), CORO_RETURNED);
    ck_assert_int_eq(coro_destroy(c), CORO_OK);
}
END_TEST

static void *throws_out(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    throw std::runtime_error("escapes");
}

/* Killed by SIGABRT: the unwinder finds no handler on the coroutine's stack
 * (its first frame ends the search) and std::terminate aborts. The driver's
 * catch is never reached. */
START_TEST(exception_leaving_the_body_terminates)
{
    coro *c = make(throws_out, nullptr);
    try {
        coro_next(c, nullptr);
    } catch (...) {
        tr_add(&tr, "driver caught it");
    }
    /* Not reached; if it were, the test would fail for want of SIGABRT. */
    coro_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpp");

    TCase *bodies = tcase_create("bodies");
    tcase_add_checked_fixture(bodies, alloc_setup, alloc_teardown);
    tcase_add_test(bodies, captureless_lambda_is_a_body);
    tcase_add_test(bodies, static_member_function_is_a_body);
    tcase_add_test(bodies, capturing_lambda_through_arg);
    suite_add_tcase(s, bodies);

    TCase *cleanup = tcase_create("cleanup");
    tcase_add_checked_fixture(cleanup, alloc_setup, alloc_teardown);
    tcase_add_test(cleanup, return_runs_destructors_then_defer);
    tcase_add_test(cleanup, raise_skips_destructors_runs_defer);
    tcase_add_test(cleanup, close_skips_destructors_runs_defer);
    tcase_add_test(cleanup, throw_skips_destructors_runs_defer);
    tcase_add_test(cleanup, destroy_skips_destructors_runs_defer);
    tcase_add_test(cleanup, close_taken_at_the_yield_runs_destructors);
    tcase_add_test(cleanup, exception_caught_inside_the_body);
    suite_add_tcase(s, cleanup);

    /* Crashes on purpose: tagged "fault" so that Valgrind runs leave it out. */
    TCase *faults = tcase_create("faults");
    tcase_set_tags(faults, "fault");
    tcase_add_test_raise_signal(faults, exception_leaving_the_body_terminates, SIGABRT);
    suite_add_tcase(s, faults);

    return run_suite(s);
}
