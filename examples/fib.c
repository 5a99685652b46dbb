/* fib.c - a Fibonacci generator consumed up to 100: the shortest loop over a
 * coroutine's values (CORO_FOR_EACH_FN, coro_yield_int).
 * SPDX-License-Identifier: MIT
 *
 * The Python it reproduces (its output is expected/fib.txt):
 *
 *     def fib(limit):
 *         a, b = 0, 1
 *         while a <= limit:
 *             yield a
 *             a, b = b, a + b
 *
 *     for x in fib(100):
 *         print(x)
 *
 * tests: example_fib_length keeps this file at 15 lines of code or fewer.
 */
#include <coro.h>
#include <stdio.h>

static void *fib(coro *self, void *limit)
{
    for (intptr_t a = 0, b = 1; a <= coro_int(limit); b += a, a = b - a)
        coro_yield_int(self, a);
    return NULL; /* falling off the end: StopIteration, value None */
}

int main(void)
{
    int rc; /* how the loop ended: CORO_RETURNED, or CORO_RAISED, or an error */
    CORO_FOR_EACH_FN (fib, CORO_INT(100), x, rc)
        printf("%ld\n", (long)coro_int(x));
    return rc == CORO_RETURNED ? 0 : 1;
}
