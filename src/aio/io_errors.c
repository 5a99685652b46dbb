/* io_errors.c - the OSError family of the I/O layer: OSError, socket.gaierror, the errno they carry.
 * SPDX-License-Identifier: MIT
 *
 * Python 3.11's builtins.OSError derives from Exception; socket.gaierror
 * from OSError. An exception of the family carries its errno (for gaierror
 * the EAI_* code, negative on glibc) in `udata` as (void *)(intptr_t)err,
 * and its message is str(e): "[Errno -2] Name or service not known".
 */
#include "aio_int.h"

#include <stdint.h>

const coro_exc_type coro_aio_OSError = {"OSError", &coro_Exception};
const coro_exc_type coro_aio_gaierror = {"gaierror", &coro_aio_OSError};

int coro_aio_exc_errno(const coro_exc *e)
{
    if (e == NULL || !coro_exc_matches(e->type, &coro_aio_OSError))
        return 0;
    return (int)(intptr_t)e->udata;
}
