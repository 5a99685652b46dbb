/* error.c - status names and messages, and the per-thread failure detail.
 * SPDX-License-Identifier: MIT
 */
#include "coro_int.h"

#include <stdarg.h>
#include <stdio.h>

const char *coro_strerror(int code)
{
    static _Thread_local char unknown[40];
    switch (code) {
#define CORO_STRERROR_CASE_(name, value, msg)                                          \
    case value:                                                                        \
        return msg;
        CORO_STATUS_MAP(CORO_STRERROR_CASE_)
        CORO_ERRNO_MAP(CORO_STRERROR_CASE_)
#undef CORO_STRERROR_CASE_
    }
    snprintf(unknown, sizeof unknown, "unknown error %d", code);
    return unknown;
}

const char *coro_err_name(int code)
{
    switch (code) {
#define CORO_ERR_NAME_CASE_(name, value, msg)                                          \
    case value:                                                                        \
        return #name;
        CORO_STATUS_MAP(CORO_ERR_NAME_CASE_)
        CORO_ERRNO_MAP(CORO_ERR_NAME_CASE_)
#undef CORO_ERR_NAME_CASE_
    }
    return "UNKNOWN";
}

static _Thread_local char last_error[320];

const char *coro_last_error(void) { return last_error; }

int coro__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}
