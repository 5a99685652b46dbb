/* sumer.c - seed 000: the @coroutine primer decorator and the running sum.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     def coroutine(func):
 *         '''Decorator run until yield'''
 *         @wraps(func)
 *         def primer(*args, **kwargs):
 *             gen = func(*args, **kwargs)
 *             next(gen)
 *             return gen
 *         return primer
 *
 *     @coroutine
 *     def sumer():
 *         total = 0
 *         term = 0
 *         while True:
 *             term = yield total
 *             total += term
 *
 *     su = sumer()
 *     print('EX2-1 -', su.send(100))
 */
#include <coro.h>

#include <stdio.h>

/* The decorator: create the coroutine and run it to its first yield, so the
 * caller can send a value straight away. C has no decorators; the library
 * does the priming itself when asked with CORO_PRIME. */
static coro *coroutine(coro_fn fn, void *arg, const char *name)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    opt.flags = CORO_PRIME; /* next(gen) inside coro_create */
    coro *gen = NULL;
    int rc = coro_create(&gen, fn, arg, &opt);
    if (rc != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_strerror(rc));
        coro_destroy(gen); /* set, and closed, if the body ended while priming */
        return NULL;
    }
    return gen;
}

static void *sumer(coro *self, void *arg)
{
    (void)arg;
    int total = 0;
    for (;;) {
        /* term = yield total. The seed only ever sends numbers; send(None)
         * would be a TypeError in Python and a NULL dereference here. */
        int term = *(int *)coro_yield_value(self, &total);
        total += term;
    }
    return NULL;
}

static void send_and_print(coro *su, const char *label, int value)
{
    void *out = NULL;
    int rc = coro_send(su, &value, &out);
    if (rc == CORO_YIELDED)
        printf("%s - %d\n", label, *(int *)out);
    else
        printf("%s - unexpected: coro_send returned CORO_%s\n", label, coro_err_name(rc));
}

int main(void)
{
    coro *su = coroutine(sumer, NULL, "sumer"); /* already at `yield total` */
    if (su == NULL)
        return 1;
    send_and_print(su, "EX2-1", 100);
    send_and_print(su, "EX2-2", 40);
    send_and_print(su, "EX2-3", 60);
    coro_destroy(su); /* closes the endless loop: GeneratorExit ends it */
    return 0;
}
