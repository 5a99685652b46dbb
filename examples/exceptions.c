/* exceptions.c - seed 000: throw an exception in, handle it, go on; finally on close.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     class SampleException(Exception):
 *         '''설명에 사용할 예외 유형'''
 *
 *     def coroutine_except():
 *         print('>> coroutine stated.')
 *         try:
 *             while True:
 *                 try:
 *                     x = yield
 *                 except SampleException:
 *                     print('-> SampleException handled. Continuing..')
 *                 else:
 *                     print('-> coroutine received : {}'.format(x))
 *         finally:
 *             print('-> coroutine ending')
 *
 * ("stated" is the seed's spelling; the program prints it as the seed does.)
 */
#include <coro.h>

#include <stdio.h>

/* class SampleException(Exception): an exception type is a static descriptor
 * naming its base class. */
static const coro_exc_type SampleException = {"SampleException", &coro_Exception};

static void print_ending(void *arg)
{
    (void)arg;
    printf("-> coroutine ending\n");
}

static void *coroutine_except(coro *self, void *arg)
{
    (void)arg;
    printf(">> coroutine stated.\n");
    coro_defer(self, print_ending, NULL); /* try: ... finally: print(...) */
    for (;;) {
        void *x = NULL;
        /* coro_yield (not coro_yield_value) because this body handles what
         * is thrown in: CORO_THROWN says an exception arrived at this yield. */
        if (coro_yield(self, NULL, &x) == CORO_THROWN) {
            if (!coro_exc_matches(coro_exception(self)->type, &SampleException))
                coro_reraise(self); /* not ours (e.g. GeneratorExit): let it go on */
            printf("-> SampleException handled. Continuing..\n");
        } else {
            printf("-> coroutine received : %d\n", *(int *)x);
        }
    }
    return NULL;
}

/* print('EX3-n -', <what the call returned>): the body only ever yields None. */
static void print_result(const char *label, int rc, void *out, coro *c)
{
    if ((rc == CORO_YIELDED || rc == CORO_OK) && out == NULL)
        printf("%s - None\n", label);
    else if (rc == CORO_RAISED)
        printf("%s - %s: %s\n", label, coro_exception(c)->type->name,
               coro_exception(c)->message);
    else
        printf("%s - unexpected: CORO_%s\n", label, coro_err_name(rc));
}

int main(void)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = "coroutine_except";
    coro *exe_co = NULL;
    if (coro_create(&exe_co, coroutine_except, NULL, &opt) != CORO_OK)
        return 1;

    int ten = 10, hundred = 100, thousand = 1000;
    void *out = NULL;
    int rc = coro_next(exe_co, &out);
    print_result("EX3-1", rc, out, exe_co);
    rc = coro_send(exe_co, &ten, &out);
    print_result("EX3-2", rc, out, exe_co);
    rc = coro_send(exe_co, &hundred, &out);
    print_result("EX3-3", rc, out, exe_co);
    rc = coro_throw(exe_co, &SampleException, NULL, &out); /* handled: yields again */
    print_result("EX3-4", rc, out, exe_co);
    rc = coro_send(exe_co, &thousand, &out);
    print_result("EX3-5", rc, out, exe_co);
    rc = coro_close(exe_co, &out); /* GeneratorExit; the finally line runs */
    print_result("EX3-6", rc, out, exe_co); /* close() gave None; now GEN_CLOSED */

    coro_destroy(exe_co);
    return 0;
}
