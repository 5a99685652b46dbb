/* test_smoke.c - the library links and reports its version and backend.
 * SPDX-License-Identifier: MIT
 */
#include "check_util.h"

#include <string.h>

START_TEST(version_matches_header)
{
    ck_assert_uint_eq(coro_version(), CORO_VERSION_HEX);
    ck_assert_str_eq(coro_version_string(), "0.1.0");
#if defined(CORO_BACKEND_ASM) && defined(__x86_64__) && defined(CORO_SHARED_FP)
    ck_assert_str_eq(coro_backend_name(), "asm-x86_64-shared-fp");
#elif defined(CORO_BACKEND_ASM) && defined(__x86_64__)
    ck_assert_str_eq(coro_backend_name(), "asm-x86_64");
#elif defined(CORO_BACKEND_ASM) && defined(__aarch64__) && defined(CORO_SHARED_FP)
    ck_assert_str_eq(coro_backend_name(), "asm-aarch64-shared-fp");
#elif defined(CORO_BACKEND_ASM) && defined(__aarch64__)
    ck_assert_str_eq(coro_backend_name(), "asm-aarch64");
#elif defined(CORO_BACKEND_ASM)
#error "test_smoke: no expected name for this processor's asm backend"
#else
    ck_assert_str_eq(coro_backend_name(), "ucontext");
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smoke");
    TCase *tc = tcase_create("version");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, version_matches_header);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
