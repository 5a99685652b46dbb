/* aio_gather_sleep.c - three tasks sleep at once: gather takes as long as the longest sleep.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     import asyncio, time
 *
 *     async def nap(name, seconds):
 *         print(f'start {name} ({seconds} s)')
 *         await asyncio.sleep(seconds)
 *         print(f'done {name}')
 *         return name
 *
 *     async def main():
 *         naps = [('a', 0.3), ('b', 0.1), ('c', 0.2)]
 *         t = time.monotonic()
 *         names = await asyncio.gather(*(nap(n, s) for n, s in naps))
 *         elapsed = time.monotonic() - t
 *         print('results:', *names)
 *         print(f'elapsed about {max(s for _, s in naps):.1f} s (the longest sleep), '
 *               f'not {sum(s for _, s in naps):.1f} s (the sum)')
 *
 *     asyncio.run(main())
 *
 * The tasks wake in the order of their deadlines (b, c, a) while gather
 * keeps the argument order (a, b, c). The elapsed time is measured and
 * checked (at least the longest sleep, less than the sum) before the line
 * about it is printed, so the output does not depend on the machine's speed.
 */
#include <coro.h>
#include <coro_aio.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct nap {
    const char *name;
    double seconds;
} nap;

static void *nap_body(coro *self, void *arg)
{
    const nap *n = arg;
    printf("start %s (%.1f s)\n", n->name, n->seconds);
    if (coro_aio_sleep(n->seconds) != CORO_OK)
        coro_reraise(self); /* cancelled: CancelledError goes on up */
    printf("done %s\n", n->name);
    return (void *)n->name;
}

static void *main_body(coro *self, void *arg)
{
    (void)arg;
    static const nap naps[] = {{"a", 0.3}, {"b", 0.1}, {"c", 0.2}};
    enum { N = sizeof naps / sizeof naps[0] };
    coro_aio_loop *loop = coro_aio_get_running_loop();
    double longest = 0, sum = 0;
    coro_aio_future *tasks[N];
    for (size_t i = 0; i < N; i++) {
        /* gather wraps each coroutine in a task, in argument order */
        tasks[i] = coro_aio_create_task(loop, nap_body, (void *)&naps[i], NULL);
        if (tasks[i] == NULL) {
            fprintf(stderr, "create_task: %s\n", coro_aio_last_error());
            exit(1);
        }
        longest = naps[i].seconds > longest ? naps[i].seconds : longest;
        sum += naps[i].seconds;
    }
    double t = coro_aio_time(loop);
    coro_aio_future *all = coro_aio_gather(loop, tasks, N, false);
    if (all == NULL) {
        fprintf(stderr, "gather: %s\n", coro_aio_last_error());
        exit(1);
    }
    if (coro_aio_await(all, NULL) != CORO_OK)
        coro_reraise(self);
    double elapsed = coro_aio_time(loop) - t;
    printf("results:");
    for (size_t i = 0; i < N; i++) {
        void *name = NULL;
        coro_aio_gather_item(all, i, &name, NULL);
        printf(" %s", (const char *)name);
        coro_aio_future_release(tasks[i]);
    }
    printf("\n");
    coro_aio_future_release(all);
    if (elapsed < longest || elapsed >= sum) {
        printf("elapsed %.3f s: expected at least %.1f s and less than %.1f s\n", elapsed,
               longest, sum);
        exit(1);
    }
    printf("elapsed about %.1f s (the longest sleep), not %.1f s (the sum)\n", longest, sum);
    return NULL;
}

int main(void)
{
    coro_exc exc;
    int rc = coro_aio_run(main_body, NULL, NULL, NULL, &exc);
    if (rc == CORO_RAISED) {
        fprintf(stderr, "%s: %s\n", exc.type->name, exc.message);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "run: %s (%s)\n", coro_strerror(rc), coro_aio_last_error());
        return 1;
    }
    return 0;
}
