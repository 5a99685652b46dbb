/* aio_util.h - helpers shared by the libcoro-aio suites.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_AIO_UTIL_H
#define CORO_AIO_UTIL_H

#include "check_util.h"
#include "coro_aio.h"

/* An exception handler that appends "handler: <message> [<exc>] [<repr>]" to
 * the transcript tr. */
void record_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx, void *udata);
/* A new loop (the clock given) with record_handler installed; fails the test
 * on error. */
coro_aio_loop *new_loop(int clock);
/* "Type: message" or "Type" into a static buffer. */
const char *exc_str(const coro_exc *e);

#endif
