/* averager.c - seed 000: a coroutine that returns its result when sent None.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     def averager_re():
 *         total = 0.0
 *         cnt = 0
 *         avg = None
 *         while True:
 *             term = yield
 *             if term is None:
 *                 break
 *             total += term
 *             cnt += 1
 *             avg = total / cnt
 *         return 'Average : {}'.format(avg)
 *
 *     try:
 *         avger2.send(None)
 *     except StopIteration as e:
 *         print('EX4-1 -', e.value)
 */
#include <coro.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The return value outlives the body (its stack is freed when it returns),
 * so the text goes into a buffer the caller owns. */
struct averager_result {
    char text[64];
};

static void *averager_re(coro *self, void *arg)
{
    struct averager_result *result = arg;
    double total = 0.0;
    int cnt = 0;
    char avg[32] = "None";
    for (;;) {
        void *term = coro_yield_value(self, NULL);
        if (term == NULL) /* if term is None: break */
            break;
        total += *(int *)term;
        cnt += 1;
        format_float(avg, sizeof avg, total / cnt);
    }
    snprintf(result->text, sizeof result->text, "Average : %s", avg);
    return result->text; /* Python: StopIteration.value */
}

int main(void)
{
    struct averager_result result;
    coro *avger2 = NULL;
    if (coro_create(&avger2, averager_re, &result, NULL) != CORO_OK)
        return 1;

    int terms[] = {10, 30, 50};
    coro_next(avger2, NULL);
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        coro_send(avger2, &terms[i], NULL);

    /* In Python, send(None) raises StopIteration carrying the return value;
     * in C the call returns CORO_RETURNED and hands the value over in out. */
    void *value = NULL;
    int rc = coro_send(avger2, NULL, &value);
    if (rc == CORO_RETURNED)
        printf("EX4-1 - %s\n", (const char *)value);
    else
        printf("EX4-1 - unexpected: coro_send returned CORO_%s\n", coro_err_name(rc));

    coro_destroy(avger2);
    return 0;
}
