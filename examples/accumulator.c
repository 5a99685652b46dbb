/* accumulator.c - seed 002: a receiving coroutine, a running sum, and await as yield from.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     def coroutine():                 def coroutine():
 *         while True:                      y = 0
 *             x = (yield)                  while True:
 *             print('받아온 값:', x)            x = (yield y)
 *                                              print('코루틴 호출:', x)
 *                                              y += x
 *
 *     async def f(x):                  async def g(x):
 *         y = x ** 2                       y = await f(x)
 *         return y                         print(y)
 */
#include <coro.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values of any type: 10, '안녕하세요.', 3.14 ------------------------- */

/* The first coroutine is sent an int, two strings and a float. A void * does
 * not say which, so the driver sends a pointer to this tagged value. */
struct value {
    enum { INT, STR, FLOAT } kind;
    long num;
    const char *str;
    double real;
};

/* Formats a finite double as Python's str(float) does: the fewest significant
 * digits that read back as the same number, ".0" on whole numbers, and the
 * exponent form only below 1e-4 or from 1e16 on. */
static void format_float(char *buf, size_t size, double value)
{
    int digits = 1;
    for (; digits < 17; digits++) {
        snprintf(buf, size, "%.*e", digits - 1, value);
        if (strtod(buf, NULL) == value)
            break;
    }
    snprintf(buf, size, "%.*e", digits - 1, value);
    int exponent = atoi(strchr(buf, 'e') + 1);
    if (exponent < -4 || exponent >= 16)
        return; /* Python prints 1e-05 and 1e+16 too */
    int decimals = digits - 1 - exponent;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 1, value);
}

/* print(v): None for NULL, as Python prints it. */
static void print_value(const struct value *v)
{
    char buf[32];
    if (v == NULL)
        printf("None\n");
    else if (v->kind == INT)
        printf("%ld\n", v->num);
    else if (v->kind == STR)
        printf("%s\n", v->str);
    else {
        format_float(buf, sizeof buf, v->real);
        printf("%s\n", buf);
    }
}

/* ---- coroutine 1: x = (yield); print('받아온 값:', x) -------------------- */

static void *receiver(coro *self, void *arg)
{
    (void)arg;
    for (;;) {
        const struct value *x = coro_yield_value(self, NULL);
        printf("받아온 값: "); /* print() puts a space between its arguments */
        print_value(x);
    }
    return NULL;
}

static int walk_receiver(void)
{
    struct value sent[] = {
        {INT, 10, NULL, 0.0},
        {STR, 0, "안녕하세요.", 0.0},
        {STR, 0, "반갑습니다.", 0.0},
        {FLOAT, 0, NULL, 3.14},
    };
    coro *cor = NULL;
    if (coro_create(&cor, receiver, NULL, NULL) != CORO_OK)
        return 1;
    coro_next(cor, NULL); /* next(cor): run to the first yield */
    for (size_t i = 0; i < sizeof sent / sizeof sent[0]; i++)
        coro_send(cor, &sent[i], NULL);
    coro_destroy(cor);

    /* The seed: priming with send(None) instead of next gives the same result.
     * In C it is the same call: coro_next(c) is coro_send(c, NULL). */
    if (coro_create(&cor, receiver, NULL, NULL) != CORO_OK)
        return 1;
    coro_send(cor, NULL, NULL);
    coro_send(cor, &sent[0], NULL);
    coro_destroy(cor);
    return 0;
}

/* ---- coroutine 2: x = (yield y); y += x ---------------------------------- */

static void *running_sum(coro *self, void *arg)
{
    (void)arg;
    int y = 0;
    for (;;) {
        int x = *(int *)coro_yield_value(self, &y);
        printf("코루틴 호출: %d\n", x);
        y += x;
    }
    return NULL;
}

static int walk_running_sum(void)
{
    coro *cor = NULL;
    if (coro_create(&cor, running_sum, NULL, NULL) != CORO_OK)
        return 1;
    coro_send(cor, NULL, NULL); /* cor.send(None) */
    for (int n = 1; n <= 4; n++) {
        void *x = NULL;
        if (coro_send(cor, &n, &x) == CORO_YIELDED) /* x = cor.send(n) */
            printf("x: %d\n", *(int *)x);
    }
    coro_destroy(cor);
    return 0;
}

/* ---- asyncio: run_until_complete and await, as plain delegation ---------- */

/* C has no event loop here. loop.run_until_complete(co) runs co to its end;
 * with nothing to wait for, that is: next until it returns. */
static int run_until_complete(coro_fn fn, void *arg, void **result)
{
    coro *co = NULL;
    int rc = coro_create(&co, fn, arg, NULL);
    if (rc != CORO_OK)
        return rc;
    while ((rc = coro_next(co, result)) == CORO_YIELDED)
        continue;
    coro_destroy(co);
    return rc;
}

/* The seed writes `def native_coroutine()` without `async`; meant is a native
 * coroutine that prints one line. */
static void *native_coroutine(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    printf("네이티브 코루틴 호출\n");
    return NULL;
}

/* async def f(x): return x ** 2. The number travels as an intptr_t cast, not
 * a pointer: the body's stack is gone once it has returned. */
static void *f(coro *self, void *arg)
{
    (void)self;
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

/* async def g(x): y = await f(x); print(y). `await` on a coroutine is
 * `yield from` it: g is suspended while f runs, and gets f's return value. */
static void *g(coro *self, void *arg)
{
    void *y = NULL;
    if (coro_yield_from_fn(self, f, arg, &y) == CORO_THROWN)
        coro_reraise(self);
    printf("%ld\n", (long)(intptr_t)y);
    return NULL;
}

int main(void)
{
    if (walk_receiver() != 0 || walk_running_sum() != 0)
        return 1;
    if (run_until_complete(native_coroutine, NULL, NULL) != CORO_RETURNED)
        return 1;
    intptr_t x = 10;
    if (run_until_complete(g, (void *)x, NULL) != CORO_RETURNED) /* g(10) */
        return 1;
    return 0;
}
