/* stream_errors.c - the connection and stream exceptions, and OSError values built from an errno.
 * SPDX-License-Identifier: MIT
 *
 * Python 3.11's ConnectionError family (builtins), FileNotFoundError, and
 * asyncio's EOFError-based IncompleteReadError and LimitOverrunError.
 * coro__aio_os_exc picks the subclass Python's OSError(errno, text)
 * constructor picks and writes str(e) as "[Errno N] text".
 */
#include "stream_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const coro_exc_type coro_aio_ConnectionError = {"ConnectionError", &coro_aio_OSError};
const coro_exc_type coro_aio_ConnectionResetError = {"ConnectionResetError",
                                                     &coro_aio_ConnectionError};
const coro_exc_type coro_aio_ConnectionRefusedError = {"ConnectionRefusedError",
                                                       &coro_aio_ConnectionError};
const coro_exc_type coro_aio_ConnectionAbortedError = {"ConnectionAbortedError",
                                                       &coro_aio_ConnectionError};
const coro_exc_type coro_aio_BrokenPipeError = {"BrokenPipeError", &coro_aio_ConnectionError};
const coro_exc_type coro_aio_FileNotFoundError = {"FileNotFoundError", &coro_aio_OSError};
const coro_exc_type coro_aio_EOFError = {"EOFError", &coro_Exception};
const coro_exc_type coro_aio_IncompleteReadError = {"IncompleteReadError", &coro_aio_EOFError};
const coro_exc_type coro_aio_LimitOverrunError = {"LimitOverrunError", &coro_Exception};

const coro_exc_type *coro__aio_errno_type(int err)
{
    switch (err) {
    case ECONNRESET:
        return &coro_aio_ConnectionResetError;
    case ECONNREFUSED:
        return &coro_aio_ConnectionRefusedError;
    case ECONNABORTED:
        return &coro_aio_ConnectionAbortedError;
    case EPIPE:
    case ESHUTDOWN:
        return &coro_aio_BrokenPipeError;
    case ETIMEDOUT:
        return &coro_aio_TimeoutError;
    case ENOENT:
        return &coro_aio_FileNotFoundError;
    default:
        return &coro_aio_OSError;
    }
}

void coro__aio_os_exc(coro_exc *x, int err, const char *text)
{
    char msg[CORO_EXC_MSG_MAX];
    snprintf(msg, sizeof msg, "[Errno %d] %s", err, text != NULL ? text : strerror(err));
    coro_exc_set(x, coro__aio_errno_type(err), msg);
    x->udata = (void *)(intptr_t)err;
}
