/* delegator.c - a delegator over two subs, with a return value and a custom
 * exception thrown in and caught (coro_yield_from_fn_value, coro_start).
 * SPDX-License-Identifier: MIT
 *
 * The Python it reproduces (its output is expected/delegator.txt):
 *
 *     class Reset(Exception):
 *         pass
 *
 *     def tally(name):
 *         total = 0
 *         while True:
 *             try:
 *                 x = yield total
 *             except Reset:
 *                 print(f"{name}: reset")
 *                 total = 0
 *                 continue
 *             if x is None:
 *                 return total
 *             total += x
 *
 *     def delegator():
 *         first = yield from tally("first")
 *         print(f"first returned {first}")
 *         second = yield from tally("second")
 *         print(f"second returned {second}")
 *         return first + second
 *
 *     g = delegator()
 *     print("start ->", next(g))
 *     for x in (1, 2):
 *         print(f"send {x} ->", g.send(x))
 *     print("throw Reset ->", g.throw(Reset))
 *     print("send 5 ->", g.send(5))
 *     print("send None ->", g.send(None))
 *     print("send 10 ->", g.send(10))
 *     try:
 *         g.send(None)
 *     except StopIteration as e:
 *         print("delegator returned", e.value)
 *
 * Values are integers (CORO_INT / coro_int), so nothing points into a
 * coroutine's stack. None is NULL, so the integer 0 cannot be sent as a
 * value here: CORO_INT(0) is NULL.
 */
#include <coro.h>
#include <stdio.h>

static const coro_exc_type Reset = {"Reset", &coro_Exception};

static void *tally(coro *self, void *name)
{
    intptr_t total = 0;
    for (;;) {
        void *x = NULL;
        if (coro_yield(self, CORO_INT(total), &x) == CORO_THROWN) {
            if (!coro_exc_matches(coro_exception(self)->type, &Reset))
                coro_reraise(self); /* not ours: propagate, like an uncaught exception */
            printf("%s: reset\n", (const char *)name);
            total = 0;
            continue;
        }
        if (x == NULL)
            return CORO_INT(total);
        total += coro_int(x);
    }
}

static void *delegator(coro *self, void *arg)
{
    (void)arg;
    intptr_t first = coro_int(coro_yield_from_fn_value(self, tally, "first"));
    printf("first returned %ld\n", (long)first);
    intptr_t second = coro_int(coro_yield_from_fn_value(self, tally, "second"));
    printf("second returned %ld\n", (long)second);
    return CORO_INT(first + second);
}

/* Prints "<what> -> <value>" for a call that must yield; 1 otherwise. */
static int show(const char *what, int rc, void *const *out)
{
    if (rc != CORO_YIELDED)
        return fprintf(stderr, "%s: %s\n", what, coro_strerror(rc)), 1;
    printf("%s -> %ld\n", what, (long)coro_int(*out)); /* *out: read after the call */
    return 0;
}

int main(void)
{
    coro *g = NULL;
    void *out = NULL;
    int bad = show("start", coro_start(&g, delegator, NULL, &out), &out);
    for (intptr_t x = 1; x <= 2 && !bad; x++) {
        char what[16];
        snprintf(what, sizeof what, "send %ld", (long)x);
        bad = show(what, coro_send(g, CORO_INT(x), &out), &out);
    }
    bad = bad || show("throw Reset", coro_throw(g, &Reset, NULL, &out), &out);
    bad = bad || show("send 5", coro_send(g, CORO_INT(5), &out), &out);
    bad = bad || show("send None", coro_send(g, NULL, &out), &out);
    bad = bad || show("send 10", coro_send(g, CORO_INT(10), &out), &out);
    if (!bad && coro_send(g, NULL, &out) == CORO_RETURNED)
        printf("delegator returned %ld\n", (long)coro_int(out));
    else
        bad = 1;
    coro_destroy(g);
    return bad;
}
