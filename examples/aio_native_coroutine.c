/* aio_native_coroutine.c - seed 002's asyncio cells: an event loop runs a native coroutine.
 * SPDX-License-Identifier: MIT
 *
 * Python (the notebook's two cells):
 *
 *     import asyncio
 *
 *     def native_coroutine():
 *         print('네이티브 코루틴 호출')
 *
 *     loop = asyncio.get_event_loop()
 *     loop.run_until_complete(native_coroutine())
 *     loop.close()
 *
 *     async def f(x):
 *         y = x ** 2
 *         return y
 *
 *     async def g(x):
 *         y = await f(x)
 *         print(y)
 *
 *     x = 10
 *     loop = asyncio.new_event_loop()
 *     loop.run_until_complete(g(10))
 *     loop.close()
 *
 * prints
 *
 *     네이티브 코루틴 호출
 *     100
 *
 * The first cell's function lacks `async`, so in Python the call prints
 * before the loop sees anything (and run_until_complete(None) then raises
 * TypeError); the cell means a native coroutine, and that is what runs here:
 * a task whose body prints. C has no implicit current loop, so
 * get_event_loop() and new_event_loop() are both coro_aio_loop_new.
 *
 * `await f(x)` on a coroutine does not make a task: g runs f in its own
 * frame until f returns (yield from). Here f is a libcoro coroutine that g
 * delegates to with coro_yield_from_fn; f could await futures in turn.
 */
#include <coro.h>
#include <coro_aio.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Fails the program with what went wrong. */
static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, coro_strerror(rc), coro_aio_last_error());
        exit(1);
    }
}

/* async def native_coroutine(): print('네이티브 코루틴 호출') */
static void *native_coroutine(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    printf("네이티브 코루틴 호출\n");
    return NULL;
}

/* async def f(x): y = x ** 2; return y */
static void *f(coro *self, void *arg)
{
    (void)self;
    intptr_t x = (intptr_t)arg;
    intptr_t y = x * x;
    return (void *)y;
}

/* async def g(x): y = await f(x); print(y) */
static void *g(coro *self, void *arg)
{
    void *y = NULL;
    int rc = coro_yield_from_fn(self, f, arg, &y);
    if (rc != CORO_OK)
        coro_reraise(self); /* an exception in f goes on up, as in Python */
    printf("%ld\n", (long)(intptr_t)y);
    return NULL;
}

/* loop.run_until_complete(coroutine): wraps it in a task and runs the loop
 * until the task is done. */
static void run_until_complete(coro_aio_loop *loop, coro_fn fn, void *arg)
{
    coro_aio_future *task = coro_aio_create_task(loop, fn, arg, NULL);
    if (task == NULL)
        check(CORO_ENOMEM, "create_task");
    coro_exc exc;
    int rc = coro_aio_run_until_complete(loop, task, NULL, &exc);
    if (rc == CORO_RAISED) {
        fprintf(stderr, "%s: %s\n", exc.type->name, exc.message);
        exit(1);
    }
    check(rc, "run_until_complete");
    coro_aio_future_release(task);
}

int main(void)
{
    coro_aio_loop *loop;
    check(coro_aio_loop_new(&loop, NULL), "get_event_loop"); /* loop = asyncio.get_event_loop() */
    run_until_complete(loop, native_coroutine, NULL);
    check(coro_aio_loop_close(loop), "close");

    intptr_t x = 10;
    check(coro_aio_loop_new(&loop, NULL), "new_event_loop"); /* loop = asyncio.new_event_loop() */
    run_until_complete(loop, g, (void *)x);
    check(coro_aio_loop_close(loop), "close");
    return 0;
}
