/* aio_util.c - helpers shared by the libcoro-aio suites.
 * SPDX-License-Identifier: MIT
 */
#include "aio_util.h"

#include <stdio.h>

void record_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx, void *udata)
{
    (void)loop;
    (void)udata;
    char buf[256];
    tr_add(&tr, "handler: %s%s%s%s%s", ctx->message, ctx->exception ? " " : "",
           ctx->exception ? exc_str(ctx->exception) : "",
           ctx->future || ctx->task ? " " : "",
           ctx->future ? coro_aio_future_repr(ctx->future, buf, sizeof buf)
           : ctx->task ? coro_aio_future_repr(ctx->task, buf, sizeof buf)
                       : "");
}

coro_aio_loop *new_loop(int clock)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = clock;
    coro_aio_loop *loop = NULL;
    ck_assert_int_eq(coro_aio_loop_new(&loop, &o), CORO_OK);
    coro_aio_set_exception_handler(loop, record_handler, NULL);
    return loop;
}

const char *exc_str(const coro_exc *e)
{
    static char buf[256];
    if (e == NULL || e->type == NULL)
        return "None";
    snprintf(buf, sizeof buf, "%s%s%s", e->type->name, e->message[0] ? ": " : "", e->message);
    return buf;
}
