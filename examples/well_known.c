/* well_known.c - seed 003: a generator driven by next and send(None), and a summing coroutine.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     def well_known_generator():      def well_known_generator():
 *         yield 100                        print('started')
 *         yield 200                        received = yield 100
 *         yield 300                        print(received)
 *                                          ...
 *                                          print('end')
 *
 *     def coroutine():
 *         sum_ = 0
 *         while True:
 *             sum_ += yield sum_
 *         return sum_
 */
#include <coro.h>

#include <stdio.h>

/* Python prints a raised StopIteration as a traceback; C gets a status. */
static void print_stop(int rc)
{
    if (rc == CORO_RETURNED)
        printf("StopIteration: (coro_send returned CORO_%s)\n", coro_err_name(rc));
    else
        printf("unexpected: coro_send returned CORO_%s\n", coro_err_name(rc));
}

static coro *make(coro_fn fn, const char *name)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    coro *c = NULL;
    if (coro_create(&c, fn, NULL, &opt) != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_last_error());
        return NULL;
    }
    return c;
}

/* next(g), as an int; -1 if it did not yield. */
static int next_int(coro *g)
{
    void *out = NULL;
    return coro_next(g, &out) == CORO_YIELDED ? *(int *)out : -1;
}

/* g.send(None), as an int; -1 if it did not yield. The same as next(g). */
static int send_none_int(coro *g)
{
    void *out = NULL;
    return coro_send(g, NULL, &out) == CORO_YIELDED ? *(int *)out : -1;
}

/* ---- the generator as we know it ----------------------- */

static void *well_known_generator(coro *self, void *arg)
{
    (void)arg;
    int values[] = {100, 200, 300};
    for (int i = 0; i < 3; i++)
        coro_yield_value(self, &values[i]); /* yield 100, yield 200, yield 300 */
    return NULL;
}

static int walk_iteration(void)
{
    /* for x in well_known_generator(): print(x) */
    coro *g = make(well_known_generator, "well_known_generator");
    if (g == NULL)
        return 1;
    void *x = NULL;
    while (coro_next(g, &x) == CORO_YIELDED)
        printf("%d\n", *(int *)x);
    coro_destroy(g);

    /* next(g), next(g), next(g): the notebook shows the tuple (100, 200, 300).
     * C evaluates function arguments in no fixed order, so one call a line. */
    g = make(well_known_generator, "well_known_generator");
    if (g == NULL)
        return 1;
    int a = next_int(g);
    int b = next_int(g);
    int c = next_int(g);
    printf("(%d, %d, %d)\n", a, b, c);
    coro_destroy(g);

    /* print(next(g), next(g), next(g)) */
    g = make(well_known_generator, "well_known_generator");
    if (g == NULL)
        return 1;
    a = next_int(g);
    b = next_int(g);
    c = next_int(g);
    printf("%d %d %d\n", a, b, c);
    coro_destroy(g);

    /* print(next(g), g.send(None), g.send(None)): send(None) is next */
    g = make(well_known_generator, "well_known_generator");
    if (g == NULL)
        return 1;
    a = next_int(g);
    b = send_none_int(g);
    c = send_none_int(g);
    printf("%d %d %d\n", a, b, c);
    coro_destroy(g);
    return 0;
}

/* ---- printing what it receives --------------------------- */

static void print_received(void *received)
{
    if (received == NULL)
        printf("None\n");
    else
        printf("%d\n", *(int *)received);
}

/* received = yield 100; print(received) */
static void *receiving_generator(coro *self, void *arg)
{
    (void)arg;
    int values[] = {100, 200, 300};
    printf("started\n");
    for (int i = 0; i < 3; i++) {
        void *received = coro_yield_value(self, &values[i]);
        print_received(received);
    }
    printf("end\n");
    return NULL;
}

/* print((yield 100)), the yield used inside an expression. */
static void *printing_generator(coro *self, void *arg)
{
    (void)arg;
    int v100 = 100, v200 = 200, v300 = 300;
    printf("started\n");
    print_received(coro_yield_value(self, &v100));
    print_received(coro_yield_value(self, &v200));
    print_received(coro_yield_value(self, &v300));
    printf("end\n");
    return NULL;
}

/* print(next(g), g.send(None), g.send(None)); then g.send(None) once more.
 * Python evaluates all three calls before print runs, so the body's lines
 * ("started", "None", "None") come before "100 200 300". */
static int walk_receiving(coro_fn body)
{
    coro *g = make(body, "well_known_generator");
    if (g == NULL)
        return 1;
    int a = next_int(g);
    int b = send_none_int(g);
    int c = send_none_int(g);
    printf("%d %d %d\n", a, b, c);
    print_stop(coro_send(g, NULL, NULL)); /* ends like a generator: StopIteration */
    coro_destroy(g);
    return 0;
}

/* ---- return in a coroutine ---------------------------- */

static void *summing_coroutine(coro *self, void *arg)
{
    (void)arg;
    int sum = 0;
    for (;;) {
        /* sum_ += yield sum_. Python raises TypeError when the value sent is
         * None; in C adding through a NULL pointer would crash, so the body
         * makes Python's check itself and raises the same TypeError. */
        int *term = coro_yield_value(self, &sum);
        if (term == NULL)
            coro_raise(self, &coro_TypeError,
                       "unsupported operand type(s) for +=: 'int' and 'NoneType'");
        sum += *term;
    }
    return NULL; /* return sum_: never reached, as in the seed */
}

static int walk_summing(void)
{
    coro *co = make(summing_coroutine, "coroutine");
    if (co == NULL)
        return 1;
    void *out = NULL;
    printf("%d\n", next_int(co)); /* next(coro) -> 0 */

    int ten = 10, twenty = 20, thirty = 30;
    coro_send(co, &ten, &out);
    coro_send(co, &twenty, &out);
    if (coro_send(co, &thirty, &out) == CORO_YIELDED) /* the cell shows the last: 60 */
        printf("%d\n", *(int *)out);

    int rc = coro_send(co, NULL, &out); /* coro.send(None) */
    if (rc == CORO_RAISED)
        printf("%s: %s\n", coro_exception(co)->type->name, coro_exception(co)->message);
    else
        printf("unexpected: coro_send returned CORO_%s\n", coro_err_name(rc));

    print_stop(coro_send(co, &ten, &out)); /* closed by the exception: StopIteration */
    coro_destroy(co);
    return 0;
}

int main(void)
{
    if (walk_iteration() != 0 || walk_receiving(receiving_generator) != 0 ||
        walk_receiving(printing_generator) != 0 || walk_summing() != 0)
        return 1;
    return 0;
}
