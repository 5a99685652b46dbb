/* states.c - seeds 000/001: coroutine1 and coroutine2, send, and the four GEN_* states.
 * SPDX-License-Identifier: MIT
 *
 * Python (seeds 000 and 001, two versions):
 *
 *     def coroutine1():
 *         print('>>> coroutine started.')
 *         i = yield
 *         print('>>> coroutine received : {}'.format(i))
 *
 *     def coroutine2(x):
 *         print('>>> coroutine started : {}'.format(x))
 *         y = yield x
 *         print('>>> coroutine received : {}'.format(y))
 *         z = yield x + y
 *         print('>>> coroutine received : {}'.format(z))
 *
 * Values travel as void *: the driver sends pointers to its ints, the body
 * yields pointers to ints that live on its own stack (valid while it is
 * suspended).
 */
#include <coro.h>

#include <stdio.h>

/* Python prints a raised StopIteration as a traceback; C gets a status. */
static void print_status(const char *call, int rc)
{
    if (rc == CORO_RETURNED)
        printf("StopIteration: (%s returned CORO_%s)\n", call, coro_err_name(rc));
    else if (rc < 0)
        printf("error: %s\n", coro_strerror(rc));
    else
        printf("unexpected: %s returned CORO_%s\n", call, coro_err_name(rc));
}

static void print_yielded(int rc, void *out)
{
    if (rc == CORO_YIELDED)
        printf("%d\n", *(int *)out);
    else
        print_status("coro_send", rc);
}

/* ---- coroutine1 --------------------------------------------------------- */

static void *coroutine1(coro *self, void *arg)
{
    (void)arg;
    printf(">>> coroutine started.\n");
    void *i = coro_yield_value(self, NULL); /* i = yield: receive from the main routine */
    printf(">>> coroutine received : %d\n", *(int *)i);
    return NULL;
}

static coro *make(coro_fn fn, void *arg, const char *name)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    coro *c = NULL;
    if (coro_create(&c, fn, arg, &opt) != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_last_error());
        return NULL;
    }
    return c;
}

static int walk_coroutine1(void)
{
    int hundred = 100;
    coro *c1 = make(coroutine1, NULL, "coroutine1");
    coro *c2 = make(coroutine1, NULL, "coroutine1");
    if (c1 == NULL || c2 == NULL) {
        coro_destroy(c1); /* destroying NULL is a no-op, like free */
        coro_destroy(c2);
        return 1;
    }

    /* Python prints `<generator object coroutine1 at 0x7faf500696d0>
     * <class 'generator'>`. A C coroutine is a `coro *`; its address would
     * change from run to run, so we print its name and state instead. */
    printf("EX1-1 - <coro object %s (%s)> <type 'coro *'>\n", coro_name(c1),
           coro_state_name(coro_get_state(c1)));

    coro_next(c1, NULL); /* run to the first yield */
    print_status("coro_send", coro_send(c1, &hundred, NULL)); /* the body ends */

    /* Sending a value to a coroutine that has not started is an error: Python
     * raises TypeError, the library returns CORO_EJUSTSTARTED and runs nothing. */
    int rc = coro_send(c2, &hundred, NULL);
    if (rc == CORO_EJUSTSTARTED)
        printf("TypeError: %s\n", coro_strerror(rc));
    else
        print_status("coro_send", rc);

    coro_destroy(c1);
    coro_destroy(c2);
    return 0;
}

/* ---- coroutine2 --------------------------------------------------------- */

/* The two notebooks print the same lines with a different colon: seed 000
 * writes "started : 10", seed 001 "started: 10". */
struct coroutine2_args {
    int x;
    const char *colon;
};

static void *coroutine2(coro *self, void *arg)
{
    const struct coroutine2_args *a = arg;
    int x = a->x;
    printf(">>> coroutine started%s%d\n", a->colon, x);
    int y = *(int *)coro_yield_value(self, &x); /* y = yield x */
    printf(">>> coroutine received%s%d\n", a->colon, y);
    int sum = x + y;
    int z = *(int *)coro_yield_value(self, &sum); /* z = yield x + y */
    printf(">>> coroutine received%s%d\n", a->colon, z);
    return NULL;
}

/* Seed 000's version. */
static int walk_coroutine2_seed000(void)
{
    struct coroutine2_args args = {10, " : "};
    int fifteen = 15;
    void *out = NULL;
    coro *c3 = make(coroutine2, &args, "coroutine2");
    if (c3 == NULL)
        return 1;

    printf("EX1-2 - %s\n", coro_state_name(coro_get_state(c3)));
    int rc = coro_next(c3, &out);
    print_yielded(rc, out);
    printf("EX1-3 - %s\n", coro_state_name(coro_get_state(c3)));
    rc = coro_send(c3, &fifteen, &out);
    print_yielded(rc, out);

    coro_destroy(c3); /* still suspended: destroy closes it first */
    return 0;
}

/* Seed 001's version: one send further, to GEN_CLOSED. The notebook
 * shows getgeneratorstate()'s result as a cell value, so with quotes. */
static int walk_coroutine2_seed001(void)
{
    struct coroutine2_args args = {10, ": "};
    int fifteen = 15, twenty = 20;
    void *out = NULL;
    coro *c3 = make(coroutine2, &args, "coroutine2");
    if (c3 == NULL)
        return 1;

    printf("'%s'\n", coro_state_name(coro_get_state(c3)));
    int rc = coro_next(c3, &out);
    print_yielded(rc, out);
    printf("'%s'\n", coro_state_name(coro_get_state(c3)));
    rc = coro_send(c3, &fifteen, &out); /* 10 + 15 */
    print_yielded(rc, out);
    rc = coro_send(c3, &twenty, &out); /* the body returns: StopIteration */
    print_yielded(rc, out);
    printf("'%s'\n", coro_state_name(coro_get_state(c3)));

    coro_destroy(c3);
    return 0;
}

int main(void)
{
    if (walk_coroutine1() != 0 || walk_coroutine2_seed000() != 0 ||
        walk_coroutine2_seed001() != 0)
        return 1;
    return 0;
}
