/* yield_from.c - seed 000: gen1, gen2 (yield from) and gen3_sub/gen4_main.
 * SPDX-License-Identifier: MIT
 *
 * Python:
 *
 *     def gen1():                      def gen2():
 *         for x in 'AB':                   yield from 'AB'
 *             yield x                      yield from range(1,4)
 *         for y in range(1,4):
 *             yield y
 *
 *     def gen3_sub():                  def gen4_main():
 *         print('Sub coroutine.')          yield from gen3_sub()
 *         x = yield 10
 *         print('Recv : ', str(x))
 *         x = yield 100
 *         print('Recv : ', str(x))
 */
#include <coro.h>

#include <stdio.h>
#include <string.h>

/* ---- values: Python's 'A' and 1 ----------------------------------------- */

/* gen1 and gen2 yield one-character strings and ints. A void * does not say
 * which, so they yield a pointer to this small tagged value. */
struct value {
    enum { STR, INT } kind;
    char str[2];
    long num;
};

static struct value str_value(char ch)
{
    struct value v = {STR, {ch, '\0'}, 0};
    return v;
}

static struct value int_value(long num)
{
    struct value v = {INT, "", num};
    return v;
}

/* str(v) when print=1 (print('EX5-1 -', x) shows A), repr(v) otherwise
 * (list(...) shows 'A'). */
static void format_value(char *buf, size_t size, const struct value *v, int print)
{
    if (v->kind == INT)
        snprintf(buf, size, "%ld", v->num);
    else
        snprintf(buf, size, print ? "%s" : "'%s'", v->str);
}

/* ---- gen1: plain loops -------------------------------------------------- */

static void *gen1(coro *self, void *arg)
{
    (void)arg;
    struct value v; /* on the coroutine's stack: valid while it is suspended */
    for (const char *x = "AB"; *x != '\0'; x++) {
        v = str_value(*x);
        coro_yield_value(self, &v);
    }
    for (long y = 1; y < 4; y++) {
        v = int_value(y);
        coro_yield_value(self, &v);
    }
    return NULL;
}

/* ---- gen2: yield from 'AB', yield from range(1, 4) ----------------------- */

/* 'AB' and range(1, 4) are not coroutines but iterators; coro_yield_from_iter
 * drives them through a vtable. They have only `next`, like Python's str and
 * range iterators, which have no send/throw/close either. */
struct str_iterator {
    const char *rest;
    struct value current;
};

static int str_next(void *it, void **out, coro_exc *exc)
{
    (void)exc;
    struct str_iterator *s = it;
    if (*s->rest == '\0')
        return CORO_RETURNED; /* *out stays NULL: the yield from gives None */
    s->current = str_value(*s->rest++);
    *out = &s->current;
    return CORO_YIELDED;
}

static const coro_iter_vtable str_iterator_vt = {"str_ascii_iterator", str_next, NULL, NULL, NULL};

struct range_iterator {
    long next, stop;
    struct value current;
};

static int range_next(void *it, void **out, coro_exc *exc)
{
    (void)exc;
    struct range_iterator *r = it;
    if (r->next >= r->stop)
        return CORO_RETURNED;
    r->current = int_value(r->next++);
    *out = &r->current;
    return CORO_YIELDED;
}

static const coro_iter_vtable range_iterator_vt = {"range_iterator", range_next, NULL, NULL,
                                                   NULL};

static void *gen2(coro *self, void *arg)
{
    (void)arg;
    struct str_iterator ab = {"AB", {STR, "", 0}};
    struct range_iterator one_to_three = {1, 4, {INT, "", 0}};
    /* CORO_THROWN: an exception (GeneratorExit from a close, say) reached
     * gen2 while it delegated; gen2 does not handle it, so pass it on. */
    if (coro_yield_from_iter(self, &str_iterator_vt, &ab, NULL) == CORO_THROWN)
        coro_reraise(self);
    if (coro_yield_from_iter(self, &range_iterator_vt, &one_to_three, NULL) == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

/* ---- driving gen1 and gen2 ---------------------------------------------- */

static coro *make(coro_fn fn, const char *name)
{
    coro_options opt = CORO_OPTIONS_INIT;
    opt.name = name;
    coro *c = NULL;
    if (coro_create(&c, fn, NULL, &opt) != CORO_OK)
        return NULL;
    return c;
}

/* print('EX5-1 -', next(t1)) */
static void print_next(const char *label, coro *t)
{
    void *out = NULL;
    int rc = coro_next(t, &out);
    char text[16];
    if (rc == CORO_YIELDED) {
        format_value(text, sizeof text, out, 1);
        printf("%s - %s\n", label, text);
    } else {
        printf("%s - unexpected: coro_next returned CORO_%s\n", label, coro_err_name(rc));
    }
}

/* print('EX5-7 -', list(t2)): next until the coroutine returns. */
static void print_list(const char *label, coro *t)
{
    char list[128] = "[";
    void *out = NULL;
    int rc;
    while ((rc = coro_next(t, &out)) == CORO_YIELDED) {
        char text[16];
        format_value(text, sizeof text, out, 0);
        if (strlen(list) > 1)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, text, sizeof list - strlen(list) - 1);
    }
    strncat(list, "]", sizeof list - strlen(list) - 1);
    if (rc == CORO_RETURNED) /* list() stops at StopIteration */
        printf("%s - %s\n", label, list);
    else
        printf("%s - unexpected: coro_next returned CORO_%s\n", label, coro_err_name(rc));
}

static int walk_gen(coro_fn gen, const char *name, const char *prefix, const char *list_label)
{
    coro *t = make(gen, name);
    coro *t_list = make(gen, name);
    if (t == NULL || t_list == NULL) {
        coro_destroy(t);
        coro_destroy(t_list);
        return 1;
    }
    for (int i = 1; i <= 5; i++) {
        char label[16];
        snprintf(label, sizeof label, "%s-%d", prefix, i);
        print_next(label, t);
    }
    print_list(list_label, t_list);
    coro_destroy(t); /* suspended after 3: destroy closes it */
    coro_destroy(t_list);
    return 0;
}

/* ---- gen3_sub / gen4_main ----------------------------------------------- */

static void *gen3_sub(coro *self, void *arg)
{
    (void)arg;
    int ten = 10, hundred = 100;
    printf("Sub coroutine.\n");
    int *x = coro_yield_value(self, &ten);
    printf("Recv :  %d\n", *x); /* print('Recv : ', str(x)): print adds a space */
    x = coro_yield_value(self, &hundred);
    printf("Recv :  %d\n", *x);
    return NULL;
}

static void *gen4_main(coro *self, void *arg)
{
    (void)arg;
    /* yield from gen3_sub(): the library creates the sub, passes every send
     * straight to it, and destroys it when it ends. */
    if (coro_yield_from_fn(self, gen3_sub, NULL, NULL) == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

/* print('EX7-2 -', t5.send(7)) */
static void print_send(const char *label, coro *t, void *value)
{
    void *out = NULL;
    int rc = coro_send(t, value, &out);
    if (rc == CORO_YIELDED)
        printf("%s - %d\n", label, *(int *)out);
    else if (rc == CORO_RETURNED) /* Python: StopIteration, and nothing printed */
        printf("StopIteration: (coro_send returned CORO_%s)\n", coro_err_name(rc));
    else
        printf("%s - unexpected: coro_send returned CORO_%s\n", label, coro_err_name(rc));
}

static int walk_delegation(void)
{
    coro *t5 = make(gen4_main, "gen4_main");
    if (t5 == NULL)
        return 1;
    int seven = 7, seventy_seven = 77;
    print_send("EX7-1", t5, NULL); /* next(t5) */
    print_send("EX7-2", t5, &seven);
    print_send("EX7-2", t5, &seventy_seven); /* the seed labels both EX7-2 */
    coro_destroy(t5);
    return 0;
}

int main(void)
{
    if (walk_gen(gen1, "gen1", "EX5", "EX5-7") != 0 || walk_gen(gen2, "gen2", "EX6", "EX6-7") != 0)
        return 1;
    return walk_delegation();
}
