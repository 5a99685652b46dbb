/* aio_util.c - helpers shared by the libcoro-aio suites.
 * SPDX-License-Identifier: MIT
 */
#include "aio_util.h"

#include <stdio.h>
#include <stdlib.h>

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

int run_in_virtual_loop(coro_fn main, void *arg)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    coro_aio_future *t = coro_aio_create_task(loop, main, arg, NULL);
    ck_assert_ptr_nonnull(t);
    int rc = coro_aio_run_until_complete(loop, t, NULL, NULL);
    coro_aio_future_release(t);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    return rc;
}

const char *exc_str(const coro_exc *e)
{
    static char buf[256];
    if (e == NULL || e->type == NULL)
        return "None";
    snprintf(buf, sizeof buf, "%s%s%s", e->type->name, e->message[0] ? ": " : "", e->message);
    return buf;
}

coro_aio_future *case_task[CASE_MAX_TASKS];
int case_ntasks;

coro_aio_future *case_spawn(coro_fn fn, const char *tag)
{
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), fn, (void *)tag, NULL);
    /* Called from task bodies, where no ck_assert may run: a case that
     * spawns too many is a broken test, so stop loudly. */
    if (case_ntasks == CASE_MAX_TASKS) {
        fprintf(stderr, "case_spawn: more than %d tasks in one case\n", CASE_MAX_TASKS);
        abort();
    }
    case_task[case_ntasks++] = t;
    return t;
}

int case_gather(int from, int n)
{
    coro_aio_future *g =
        coro_aio_gather(coro_aio_get_running_loop(), case_task + from, (size_t)n, true);
    int rc = coro_aio_await(g, NULL);
    coro_aio_future_release(g);
    return rc;
}

void case_release_tasks(void)
{
    for (int i = 0; i < case_ntasks; i++)
        coro_aio_future_release(case_task[i]);
    case_ntasks = 0;
}
