/* version.c - the version of the library linked in, and its backend.
 * SPDX-License-Identifier: MIT
 */
#include "coro_int.h"

#define CORO_STR_(x) #x
#define CORO_STR(x) CORO_STR_(x)

unsigned coro_version(void) { return CORO_VERSION_HEX; }

const char *coro_version_string(void)
{
    return CORO_STR(CORO_VERSION_MAJOR) "." CORO_STR(CORO_VERSION_MINOR) "." CORO_STR(
        CORO_VERSION_PATCH);
}

const char *coro_backend_name(void) { return coro__ctx_name(); }
