/* test_chains.c - yield from chains: depth, re-linking, shared subs, and the
 * linked fast path against plain forwarding (spec Y11, Y13, Y10, C3).
 * SPDX-License-Identifier: MIT
 *
 * The library serves a delegator two ways: it links a sub and lets the driver
 * jump to the chain's leaf, or (for a sub another delegator has linked) it
 * forwards every operation. The "paths" tests run one script four ways and
 * require the same transcript from each.
 */
#include "check_util.h"

#include "stack.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define I2P(i) ((void *)(intptr_t)(i))
#define P2I(p) ((int)(intptr_t)(p))

static void fin(void *arg) { tr_add(&tr, "%s finally", (const char *)arg); }

static void note_exc(const char *who, const coro *self)
{
    const coro_exc *e = coro_exception(self);
    if (e == NULL) {
        tr_add(&tr, "%s caught nothing", who);
        return;
    }
    tr_add(&tr, "%s caught %s%s%s%s%s", who, e->type->name, e->message[0] ? ": " : "", e->message,
           e->context ? " ctx " : "", e->context ? e->context->name : "");
}

static coro *make(coro_fn fn, void *arg)
{
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, fn, arg, NULL), CORO_OK);
    return c;
}

static void expect_send(coro *c, int value, int want)
{
    void *out = NULL;
    ck_assert_int_eq(coro_send(c, I2P(value), &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), want);
}

static const char *sname(const coro *c) { return coro_state_name(coro_get_state(c)); }

static void tr_setup(void) { tr_reset(&tr); }

/* ------------------------------------------------------------------------ */
/* A chain L1 -> L2 -> L3 -> L4, every coroutine made by the test           */
/* ------------------------------------------------------------------------ */

#define DEPTH 4

typedef struct chain {
    coro *co[DEPTH + 1]; /* co[1] is the root, co[DEPTH] the leaf */
    bool leaf_catches;   /* the leaf handles a throw (not a close) by yielding -1 */
    int catch_at;        /* this middle level handles an exception and re-delegates */
    bool watch;          /* the leaf records every level's state while it runs */
    int close_root_on;   /* when sent this value, the leaf tries to close the root */
} chain;

typedef struct level {
    chain *ch;
    int k;
} level;

static const char *const lname[] = {"L0", "L1", "L2", "L3", "L4"};

static void record_states(const chain *ch)
{
    char buf[256];
    size_t len = 0;
    for (int k = 1; k <= DEPTH; k++) {
        const coro *target = coro_yield_from_target(ch->co[k]);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s/%s", k > 1 ? " " : "",
                                sname(ch->co[k]), target ? "sub" : "null");
    }
    tr_add(&tr, "[%s]", buf);
}

/* Echoes: yields 0, then 10 * every value sent; returns DEPTH on a next. */
static void *leaf_body(coro *self, chain *ch)
{
    int out = 0;
    for (;;) {
        if (ch->watch)
            record_states(ch);
        void *got = NULL;
        if (coro_yield(self, I2P(out), &got) == CORO_THROWN) {
            note_exc("L4", self);
            if (!ch->leaf_catches ||
                coro_exc_matches(coro_exception(self)->type, &coro_GeneratorExit))
                coro_reraise(self);
            out = -1;
            continue;
        }
        if (got == NULL)
            return I2P(DEPTH);
        tr_add(&tr, "L4 got %d", P2I(got));
        if (ch->close_root_on != 0 && P2I(got) == ch->close_root_on) {
            int rc = coro_close(ch->co[1], NULL);
            const coro_exc *e = coro_exception(ch->co[1]);
            tr_add(&tr, "close root %s %s", coro_err_name(rc), e ? e->type->name : "-");
        }
        out = P2I(got) * 10;
    }
}

/* Yields 7 and 8, records what it receives, returns 9. */
static void *fresh_sub(coro *self, void *arg)
{
    (void)arg;
    coro_defer(self, fin, "fresh");
    void *got = coro_yield_value(self, I2P(7));
    tr_add(&tr, "fresh got %d", P2I(got));
    got = coro_yield_value(self, I2P(8));
    tr_add(&tr, "fresh got %d", P2I(got));
    return I2P(9);
}

/* Middle levels return 10 * their sub's value + their number: 4 -> 43 -> 432 -> 4321. */
static void *level_body(coro *self, void *arg)
{
    level *l = arg;
    chain *ch = l->ch;
    int k = l->k;
    coro_defer(self, fin, (void *)lname[k]);
    if (k == DEPTH)
        return leaf_body(self, ch);
    void *res = NULL;
    int rc = coro_yield_from(self, ch->co[k + 1], &res);
    if (rc == CORO_THROWN) {
        note_exc(lname[k], self);
        if (ch->catch_at != k)
            coro_reraise(self);
        rc = coro_yield_from_fn(self, fresh_sub, NULL, &res);
        if (rc == CORO_THROWN) {
            note_exc(lname[k], self);
            coro_reraise(self);
        }
    }
    tr_add(&tr, "%s got %d", lname[k], P2I(res));
    return I2P(P2I(res) * 10 + k);
}

static level levels[DEPTH + 1];

/* Makes the chain and runs it to the leaf's first yield (0). */
static void chain_up(chain *ch)
{
    for (int k = 1; k <= DEPTH; k++) {
        levels[k] = (level){ch, k};
        ch->co[k] = make(level_body, &levels[k]);
    }
    void *out = I2P(-1);
    ck_assert_int_eq(coro_next(ch->co[1], &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 0);
}

static void chain_down(chain *ch)
{
    for (int k = 1; k <= DEPTH; k++)
        ck_assert_int_eq(coro_destroy(ch->co[k]), CORO_OK);
}

static void expect_all_state(const chain *ch, int state)
{
    for (int k = 1; k <= DEPTH; k++)
        ck_assert_msg(coro_get_state(ch->co[k]) == state, "L%d is %s", k, sname(ch->co[k]));
}

START_TEST(y11_send_reaches_leaf_and_values_come_back)
{
    chain ch = {0};
    chain_up(&ch);
    expect_send(ch.co[1], 1, 10);
    expect_send(ch.co[1], 2, 20);
    expect_send(ch.co[1], 3, 30);
    ck_assert_str_eq(tr.buf, "L4 got 1; L4 got 2; L4 got 3");
    expect_all_state(&ch, CORO_SUSPENDED);
    chain_down(&ch);
}
END_TEST

START_TEST(y11_throw_caught_by_leaf)
{
    chain ch = {.leaf_catches = true};
    chain_up(&ch);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(ch.co[1], &coro_ValueError, "deep", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), -1);
    ck_assert_ptr_null(coro_exception(ch.co[1]));
    expect_send(ch.co[1], 3, 30);
    ck_assert_str_eq(tr.buf, "L4 caught ValueError: deep; L4 got 3");
    expect_all_state(&ch, CORO_SUSPENDED);
    chain_down(&ch);
}
END_TEST

START_TEST(y11_uncaught_throw_unwinds_innermost_first)
{
    chain ch = {0};
    chain_up(&ch);
    ck_assert_int_eq(coro_throw(ch.co[1], &coro_ValueError, "deep", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(ch.co[1]);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "deep");
    ck_assert_str_eq(tr.buf, "L4 caught ValueError: deep; L4 finally; "
                             "L3 caught ValueError: deep; L3 finally; "
                             "L2 caught ValueError: deep; L2 finally; "
                             "L1 caught ValueError: deep; L1 finally");
    expect_all_state(&ch, CORO_CLOSED);
    chain_down(&ch);
}
END_TEST

START_TEST(y11_return_values_bubble_one_level_at_a_time)
{
    chain ch = {0};
    chain_up(&ch);
    expect_send(ch.co[1], 5, 50);
    void *out = NULL;
    ck_assert_int_eq(coro_next(ch.co[1], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 4321);
    ck_assert_str_eq(tr.buf, "L4 got 5; L4 finally; L3 got 4; L3 finally; L2 got 43; "
                             "L2 finally; L1 got 432; L1 finally");
    expect_all_state(&ch, CORO_CLOSED);
    ck_assert_int_eq(coro_next(ch.co[1], &out), CORO_RETURNED); /* B7: delivered once */
    ck_assert_ptr_null(out);
    chain_down(&ch);
}
END_TEST

START_TEST(y11_close_root_finalises_innermost_first)
{
    chain ch = {0};
    chain_up(&ch);
    void *out = I2P(-1);
    ck_assert_int_eq(coro_close(ch.co[1], &out), CORO_OK);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "L4 caught GeneratorExit; L4 finally; "
                             "L3 caught GeneratorExit; L3 finally; "
                             "L2 caught GeneratorExit; L2 finally; "
                             "L1 caught GeneratorExit; L1 finally");
    expect_all_state(&ch, CORO_CLOSED);
    chain_down(&ch);
}
END_TEST

START_TEST(y10_every_level_running_while_leaf_runs)
{
    chain ch = {.watch = true};
    chain_up(&ch);
    const char *running = "[GEN_RUNNING/null GEN_RUNNING/null GEN_RUNNING/null GEN_RUNNING/null]";
    ck_assert_str_eq(tr.buf, running); /* the first run, through nested starts */
    tr_reset(&tr);
    for (int k = 1; k < DEPTH; k++)
        ck_assert_ptr_eq(coro_yield_from_target(ch.co[k]), ch.co[k + 1]);
    ck_assert_ptr_null(coro_yield_from_target(ch.co[DEPTH]));
    expect_all_state(&ch, CORO_SUSPENDED);
    expect_send(ch.co[1], 2, 20);
    char want[256];
    snprintf(want, sizeof want, "L4 got 2; %s", running);
    ck_assert_str_eq(tr.buf, want);
    expect_all_state(&ch, CORO_SUSPENDED);
    chain_down(&ch);
}
END_TEST

START_TEST(y13_drive_middle_level_directly_then_root)
{
    chain ch = {.watch = true};
    chain_up(&ch);
    tr_reset(&tr);
    expect_send(ch.co[2], 4, 40); /* forwarded down to the leaf */
    ck_assert_str_eq(tr.buf, "L4 got 4; [GEN_SUSPENDED/sub GEN_RUNNING/null GEN_RUNNING/null "
                             "GEN_RUNNING/null]");
    expect_all_state(&ch, CORO_SUSPENDED);
    tr_reset(&tr);
    expect_send(ch.co[1], 5, 50);
    ck_assert_str_eq(tr.buf, "L4 got 5; [GEN_RUNNING/null GEN_RUNNING/null GEN_RUNNING/null "
                             "GEN_RUNNING/null]");
    /* Finish L2's part of the chain through L2: its driver gets 432. */
    tr_reset(&tr);
    void *out = NULL;
    ck_assert_int_eq(coro_next(ch.co[2], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 432);
    ck_assert_str_eq(tr.buf, "L4 finally; L3 got 4; L3 finally; L2 got 43; L2 finally");
    ck_assert_int_eq(coro_get_state(ch.co[1]), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(ch.co[1]), ch.co[2]);
    /* The root's next forwarded next meets a closed sub: its yield from gives NULL. */
    tr_reset(&tr);
    ck_assert_int_eq(coro_next(ch.co[1], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_str_eq(tr.buf, "L1 got 0; L1 finally");
    chain_down(&ch);
}
END_TEST

START_TEST(y13_finish_deep_middle_level_directly)
{
    chain ch = {0};
    chain_up(&ch);
    void *out = NULL;
    ck_assert_int_eq(coro_next(ch.co[3], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 43);
    ck_assert_str_eq(tr.buf, "L4 finally; L3 got 4; L3 finally");
    ck_assert_int_eq(coro_get_state(ch.co[1]), CORO_SUSPENDED);
    ck_assert_int_eq(coro_get_state(ch.co[2]), CORO_SUSPENDED);
    tr_reset(&tr);
    ck_assert_int_eq(coro_next(ch.co[1], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 21);
    ck_assert_str_eq(tr.buf, "L2 got 0; L2 finally; L1 got 2; L1 finally");
    chain_down(&ch);
}
END_TEST

START_TEST(y5_throw_generatorexit_into_root_closes_each_level)
{
    chain ch = {.leaf_catches = true}; /* a throw would be caught; a close is not */
    chain_up(&ch);
    ck_assert_int_eq(coro_throw(ch.co[1], &coro_GeneratorExit, "ge", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(ch.co[1]);
    ck_assert_ptr_eq(e->type, &coro_GeneratorExit);
    ck_assert_str_eq(e->message, "ge");
    /* Inner levels see the GeneratorExit of a close; the root sees the thrown one. */
    ck_assert_str_eq(tr.buf, "L4 caught GeneratorExit; L4 finally; "
                             "L3 caught GeneratorExit; L3 finally; "
                             "L2 caught GeneratorExit; L2 finally; "
                             "L1 caught GeneratorExit: ge; L1 finally");
    expect_all_state(&ch, CORO_CLOSED);
    chain_down(&ch);
}
END_TEST

START_TEST(y13_throw_into_middle_level_then_root)
{
    chain ch = {.catch_at = 2};
    chain_up(&ch);
    void *out = NULL;
    /* Thrown into L2 directly: L4 and L3 unwind, L2 handles it and re-delegates. */
    ck_assert_int_eq(coro_throw(ch.co[2], &coro_ValueError, "mid", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 7);
    ck_assert_str_eq(tr.buf, "L4 caught ValueError: mid; L4 finally; "
                             "L3 caught ValueError: mid; L3 finally; L2 caught ValueError: mid");
    ck_assert_int_eq(coro_get_state(ch.co[1]), CORO_SUSPENDED);
    tr_reset(&tr);
    expect_send(ch.co[1], 6, 8); /* the root now reaches L2's new sub */
    ck_assert_int_eq(coro_next(ch.co[1], &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 921);
    ck_assert_str_eq(tr.buf, "fresh got 6; fresh got 0; fresh finally; L2 got 9; L2 finally; "
                             "L1 got 92; L1 finally");
    chain_down(&ch);
}
END_TEST

/* The leaf, driven on its own, closes the root: every level's close of its
 * sub meets the running leaf, so ValueError unwinds L3, L2, L1 (C1, Y5). */
START_TEST(c3_leaf_driven_directly_closes_root)
{
    chain ch = {.close_root_on = 7};
    chain_up(&ch);
    expect_send(ch.co[DEPTH], 7, 70);
    ck_assert_str_eq(tr.buf, "L4 got 7; "
                             "L3 caught ValueError: coroutine already executing; L3 finally; "
                             "L2 caught ValueError: coroutine already executing; L2 finally; "
                             "L1 caught ValueError: coroutine already executing; L1 finally; "
                             "close root RAISED ValueError");
    for (int k = 1; k < DEPTH; k++)
        ck_assert_int_eq(coro_get_state(ch.co[k]), CORO_CLOSED);
    ck_assert_int_eq(coro_get_state(ch.co[DEPTH]), CORO_SUSPENDED);
    ck_assert_ptr_null(coro_yield_from_target(ch.co[DEPTH - 1]));
    tr_reset(&tr);
    ck_assert_int_eq(coro_destroy(ch.co[DEPTH]), CORO_OK); /* nobody is parked on it now */
    ck_assert_str_eq(tr.buf, "L4 caught GeneratorExit; L4 finally");
    for (int k = 1; k < DEPTH; k++)
        ck_assert_int_eq(coro_destroy(ch.co[k]), CORO_OK);
}
END_TEST

START_TEST(middle_level_catches_and_starts_new_delegation)
{
    chain ch = {.catch_at = 2};
    chain_up(&ch);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(ch.co[1], &coro_ValueError, "x", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 7);
    ck_assert_str_eq(tr.buf, "L4 caught ValueError: x; L4 finally; "
                             "L3 caught ValueError: x; L3 finally; L2 caught ValueError: x");
    coro *fresh = coro_yield_from_target(ch.co[2]);
    ck_assert_ptr_nonnull(fresh);
    ck_assert_ptr_ne(fresh, ch.co[3]);
    ck_assert_ptr_eq(coro_yield_from_target(ch.co[1]), ch.co[2]);
    ck_assert_int_eq(coro_get_state(ch.co[3]), CORO_CLOSED);
    tr_reset(&tr);
    expect_send(ch.co[1], 6, 8);
    ck_assert_str_eq(tr.buf, "fresh got 6");
    /* A throw now reaches the new sub, and unwinds L2 and L1 this time. */
    tr_reset(&tr);
    ck_assert_int_eq(coro_throw(ch.co[1], &coro_TypeError, "t", &out), CORO_RAISED);
    ck_assert_ptr_eq(coro_exception(ch.co[1])->type, &coro_TypeError);
    ck_assert_str_eq(tr.buf, "fresh finally; L2 caught TypeError: t; L2 finally; "
                             "L1 caught TypeError: t; L1 finally");
    expect_all_state(&ch, CORO_CLOSED);
    chain_down(&ch);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Re-linking: a leaf that starts a new sub after every value               */
/* ------------------------------------------------------------------------ */

static coro *relink_watch[3]; /* root, middle, relinking leaf */

static void *one_value_sub(coro *self, void *arg)
{
    int i = P2I(arg);
    tr_add(&tr, "sub%d %s %s %s", i, sname(relink_watch[0]), sname(relink_watch[1]),
           sname(relink_watch[2]));
    void *got = coro_yield_value(self, I2P(i * 10));
    tr_add(&tr, "sub%d got %d", i, P2I(got));
    return I2P(100 + i);
}

static void *relinking_leaf(coro *self, void *arg)
{
    (void)arg;
    for (int i = 1; i <= 3; i++) {
        void *res = NULL;
        if (coro_yield_from_fn(self, one_value_sub, I2P(i), &res) != CORO_OK)
            coro_reraise(self);
        tr_add(&tr, "F got %d", P2I(res));
    }
    return I2P(3);
}

typedef struct pass {
    const char *name;
    coro *sub;
} pass;

/* yield from p->sub, record the value, return it. */
static void *pass_body(coro *self, void *arg)
{
    pass *p = arg;
    coro_defer(self, fin, (void *)p->name);
    void *res = NULL;
    if (coro_yield_from(self, p->sub, &res) != CORO_OK) {
        note_exc(p->name, self);
        coro_reraise(self);
    }
    tr_add(&tr, "%s got %d", p->name, P2I(res));
    return res;
}

START_TEST(relinking_leaf_new_sub_after_each_value)
{
    coro *f = make(relinking_leaf, NULL);
    pass pm = {"M", f};
    coro *m = make(pass_body, &pm);
    pass pr = {"R", m};
    coro *r = make(pass_body, &pr);
    relink_watch[0] = r;
    relink_watch[1] = m;
    relink_watch[2] = f;
    void *out = NULL;
    ck_assert_int_eq(coro_next(r, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 10);
    for (int i = 2; i <= 3; i++) {
        expect_send(r, i - 1, i * 10);
        coro *sub = coro_yield_from_target(f);
        ck_assert_ptr_nonnull(sub);
        ck_assert_int_eq(coro_get_state(sub), CORO_SUSPENDED);
        ck_assert_ptr_eq(coro_yield_from_target(m), f);
        ck_assert_ptr_eq(coro_yield_from_target(r), m);
    }
    ck_assert_int_eq(coro__testing_live_stacks(), 4);
    ck_assert_int_eq(coro_send(r, I2P(3), &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 3);
    const char *run = "GEN_RUNNING GEN_RUNNING GEN_RUNNING";
    char want[1024];
    snprintf(want, sizeof want,
             "sub1 %s; sub1 got 1; F got 101; sub2 %s; sub2 got 2; F got 102; sub3 %s; "
             "sub3 got 3; F got 103; M got 3; M finally; R got 3; R finally",
             run, run, run);
    ck_assert_str_eq(tr.buf, want);
    ck_assert_int_eq(coro_destroy(r), CORO_OK);
    ck_assert_int_eq(coro_destroy(m), CORO_OK);
    ck_assert_int_eq(coro_destroy(f), CORO_OK);
}
END_TEST

START_TEST(relinking_leaf_throw_reaches_current_sub)
{
    coro *f = make(relinking_leaf, NULL);
    pass pm = {"M", f};
    coro *m = make(pass_body, &pm);
    pass pr = {"R", m};
    coro *r = make(pass_body, &pr);
    relink_watch[0] = r;
    relink_watch[1] = m;
    relink_watch[2] = f;
    ck_assert_int_eq(coro_next(r, NULL), CORO_YIELDED);
    expect_send(r, 1, 20);
    tr_reset(&tr);
    ck_assert_int_eq(coro_throw(r, &coro_ValueError, "v", NULL), CORO_RAISED);
    ck_assert_str_eq(tr.buf, "M caught ValueError: v; M finally; R caught ValueError: v; "
                             "R finally");
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    ck_assert_int_eq(coro_destroy(r), CORO_OK);
    ck_assert_int_eq(coro_destroy(m), CORO_OK);
    ck_assert_int_eq(coro_destroy(f), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Depth 1000                                                               */
/* ------------------------------------------------------------------------ */

#define DEEP 1000
#define DEEP_VALUES 100

static int deep_errors, deep_last_final;

static void deep_fin(void *arg)
{
    int depth = P2I(arg);
    if (depth != deep_last_final - 1)
        deep_errors++;
    deep_last_final = depth;
}

/* Each level delegates to a new one; the leaf sums the values sent and
 * returns the sum, each level adding 1 to it on the way up. */
static void *deep_level(coro *self, void *arg)
{
    int depth = P2I(arg);
    if (coro_defer(self, deep_fin, arg) != CORO_OK)
        deep_errors++;
    if (depth == DEEP) {
        long sum = 0;
        void *v = coro_yield_value(self, I2P(0));
        for (int n = 1;; n++) {
            sum += P2I(v);
            if (n == DEEP_VALUES)
                return I2P(sum);
            v = coro_yield_value(self, I2P(P2I(v) * 2));
        }
    }
    void *res = NULL;
    int rc = coro_yield_from_fn(self, deep_level, I2P(depth + 1), &res);
    if (rc == CORO_THROWN)
        coro_reraise(self);
    if (rc != CORO_OK)
        deep_errors++;
    return I2P(P2I(res) + 1);
}

START_TEST(y11_depth_1000_send_100_values_and_return)
{
    size_t saved = coro_get_default_stack_size();
    ck_assert_int_eq(coro_set_default_stack_size(16u * 1024u), CORO_OK);
    deep_errors = 0;
    deep_last_final = DEEP + 1;
    coro *root = make(deep_level, I2P(1));
    void *out = NULL;
    ck_assert_int_eq(coro_next(root, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 0);
    ck_assert_int_eq(coro__testing_live_stacks(), DEEP);
    for (int i = 1; i < DEEP_VALUES; i++) {
        ck_assert_int_eq(coro_send(root, I2P(i), &out), CORO_YIELDED);
        ck_assert_int_eq(P2I(out), 2 * i);
    }
    ck_assert_int_eq(coro_send(root, I2P(DEEP_VALUES), &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), DEEP_VALUES * (DEEP_VALUES + 1) / 2 + DEEP - 1);
    ck_assert_int_eq(deep_errors, 0);
    ck_assert_int_eq(deep_last_final, 1);
    ck_assert_int_eq(coro_get_state(root), CORO_CLOSED);
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    ck_assert_int_eq(coro_destroy(root), CORO_OK);
    coro_set_default_stack_size(saved);
}
END_TEST

START_TEST(f4_depth_1000_destroy_parked_root_innermost_first)
{
    size_t saved = coro_get_default_stack_size();
    ck_assert_int_eq(coro_set_default_stack_size(16u * 1024u), CORO_OK);
    deep_errors = 0;
    deep_last_final = DEEP + 1;
    coro *root = make(deep_level, I2P(1));
    ck_assert_int_eq(coro_next(root, NULL), CORO_YIELDED);
    expect_send(root, 3, 6);
    ck_assert_int_eq(coro_destroy(root), CORO_OK);
    ck_assert_int_eq(deep_errors, 0);
    ck_assert_int_eq(deep_last_final, 1); /* every level, DEEP first, 1 last */
    ck_assert_int_eq(coro__testing_live_stacks(), 0);
    coro_set_default_stack_size(saved);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Shared sub                                                               */
/* ------------------------------------------------------------------------ */

static coro *shared_watch[2];

/* Yields 1..4, recording what it receives and both delegators' states. */
static void *shared_sub(coro *self, void *arg)
{
    (void)arg;
    for (int i = 1; i <= 4; i++) {
        tr_add(&tr, "S %s %s", sname(shared_watch[0]), sname(shared_watch[1]));
        void *got = coro_yield_value(self, I2P(i));
        tr_add(&tr, "S got %d", P2I(got));
    }
    return I2P(104);
}

START_TEST(shared_sub_each_delegator_forwards)
{
    coro *s = make(shared_sub, NULL);
    pass p1 = {"D1", s}, p2 = {"D2", s};
    coro *d1 = make(pass_body, &p1);
    coro *d2 = make(pass_body, &p2);
    shared_watch[0] = d1;
    shared_watch[1] = d2;
    void *out = NULL;
    ck_assert_int_eq(coro_next(d1, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_int_eq(coro_next(d2, &out), CORO_YIELDED); /* S receives None, yields 2 */
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_ptr_eq(coro_yield_from_target(d1), s);
    ck_assert_ptr_eq(coro_yield_from_target(d2), s);
    expect_send(d1, 7, 3);
    expect_send(d2, 8, 4);
    ck_assert_int_eq(coro_next(d2, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 104);
    ck_assert_int_eq(coro_get_state(d1), CORO_SUSPENDED);
    ck_assert_int_eq(coro_send(d1, I2P(9), &out), CORO_RETURNED);
    ck_assert_ptr_null(out); /* S was exhausted behind D1's back */
    ck_assert_str_eq(tr.buf, "S GEN_RUNNING GEN_CREATED; S got 0; S GEN_SUSPENDED GEN_RUNNING; "
                             "S got 7; S GEN_RUNNING GEN_SUSPENDED; S got 8; "
                             "S GEN_SUSPENDED GEN_RUNNING; S got 0; D2 got 104; D2 finally; "
                             "D1 got 0; D1 finally");
    ck_assert_int_eq(coro_destroy(d1), CORO_OK);
    ck_assert_int_eq(coro_destroy(d2), CORO_OK);
    ck_assert_int_eq(coro_destroy(s), CORO_OK);
}
END_TEST

START_TEST(shared_sub_close_one_delegator_closes_sub_for_both)
{
    coro *s = make(shared_sub, NULL);
    pass p1 = {"D1", s}, p2 = {"D2", s};
    coro *d1 = make(pass_body, &p1);
    coro *d2 = make(pass_body, &p2);
    shared_watch[0] = d1;
    shared_watch[1] = d2;
    ck_assert_int_eq(coro_next(d1, NULL), CORO_YIELDED);
    ck_assert_int_eq(coro_next(d2, NULL), CORO_YIELDED);
    tr_reset(&tr);
    ck_assert_int_eq(coro_close(d1, NULL), CORO_OK);
    ck_assert_int_eq(coro_get_state(s), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(s), CORO_EBUSY); /* D2 is still parked on it */
    void *out = I2P(-1);
    ck_assert_int_eq(coro_next(d2, &out), CORO_RETURNED);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(tr.buf, "D1 caught GeneratorExit; D1 finally; D2 got 0; D2 finally");
    ck_assert_int_eq(coro_destroy(d1), CORO_OK);
    ck_assert_int_eq(coro_destroy(d2), CORO_OK);
    ck_assert_int_eq(coro_destroy(s), CORO_OK);
}
END_TEST

/* S -> T is built and started first; D then delegates to S, a parked delegator. */
START_TEST(delegating_to_a_parked_delegator)
{
    coro *t = make(shared_sub, NULL);
    pass ps = {"S", t};
    coro *s = make(pass_body, &ps);
    pass pd = {"D", s};
    coro *d = make(pass_body, &pd);
    shared_watch[0] = d;
    shared_watch[1] = s;
    void *out = NULL;
    ck_assert_int_eq(coro_next(s, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 1);
    ck_assert_int_eq(coro_next(d, &out), CORO_YIELDED); /* T receives None at its yield */
    ck_assert_int_eq(P2I(out), 2);
    ck_assert_ptr_eq(coro_yield_from_target(d), s);
    ck_assert_ptr_eq(coro_yield_from_target(s), t);
    expect_send(d, 5, 3);
    expect_send(s, 6, 4); /* the middle driven directly */
    ck_assert_int_eq(coro_send(d, I2P(7), &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 104);
    ck_assert_str_eq(tr.buf, "S GEN_CREATED GEN_RUNNING; S got 0; S GEN_RUNNING GEN_RUNNING; "
                             "S got 5; S GEN_RUNNING GEN_RUNNING; S got 6; "
                             "S GEN_SUSPENDED GEN_RUNNING; S got 7; S got 104; S finally; "
                             "D got 104; D finally");
    ck_assert_int_eq(coro_destroy(d), CORO_OK);
    ck_assert_int_eq(coro_destroy(s), CORO_OK);
    ck_assert_int_eq(coro_destroy(t), CORO_OK);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Paths: one script, four ways of serving the delegator D                  */
/* ------------------------------------------------------------------------ */

/* Mode bits: FORWARD - another delegator B linked the sub first, so D
 * forwards; UNDER_ROOT - D is itself the sub of a silent root R and the
 * driver drives R. */
enum { FORWARD = 1, UNDER_ROOT = 2 };

enum policy { PROPAGATE, YIELD_AGAIN, RETURN_42, RAISE_VALUE, RAISE_STOP };

typedef struct sspec {
    int n;        /* after a first yield 0, yields 1..n; returns 100 + n */
    int on_throw; /* policy for a thrown exception other than GeneratorExit */
    int on_close; /* policy for GeneratorExit */
    int handled;  /* a policy other than PROPAGATE applies to the first exception only */
    coro *watch;  /* recorded from inside: D's state and target, top's state */
    coro *top;
} sspec;

static void watch_from_sub(const sspec *s, coro *self)
{
    (void)self;
    if (s->watch == NULL)
        return;
    tr_add(&tr, "D %s/%s top %s", sname(s->watch),
           coro_yield_from_target(s->watch) ? "sub" : "null", sname(s->top));
    tr_add(&tr, "calls D %s top %s", coro_err_name(coro_next(s->watch, NULL)),
           coro_err_name(coro_close(s->top, NULL)));
}

static void *path_sub(coro *self, void *arg)
{
    sspec *s = arg;
    coro_yield_value(self, I2P(0)); /* consumed by B or by the test */
    coro_defer(self, fin, "S");
    for (int i = 1; i <= s->n; i++) {
        watch_from_sub(s, self);
        void *got = NULL;
        int rc = coro_yield(self, I2P(i), &got);
        while (rc == CORO_THROWN) {
            const coro_exc *e = coro_exception(self);
            bool ge = coro_exc_matches(e->type, &coro_GeneratorExit);
            int policy = s->handled++ == 0 ? (ge ? s->on_close : s->on_throw) : PROPAGATE;
            tr_add(&tr, "S got %s", e->type->name);
            switch (policy) {
            case YIELD_AGAIN:
                rc = coro_yield(self, I2P(99), &got);
                continue;
            case RETURN_42:
                return I2P(42);
            case RAISE_VALUE:
                coro_raise(self, &coro_ValueError, ge ? "in close" : "from sub");
            case RAISE_STOP: /* PEP 479 turns it into RuntimeError in S */
                coro_raise(self, &coro_StopIteration, "own");
            default:
                coro_reraise(self);
            }
        }
        tr_add(&tr, "S got %d", P2I(got));
    }
    return I2P(100 + s->n);
}

typedef struct dspec {
    coro *sub;
    bool catch_all;
    bool return_at_once; /* return the value of the yield from instead */
} dspec;

/* yield from d->sub; record the outcome (and any exception still visible);
 * yield 500; return 600 (or return the value at once). */
static void *path_delegator(coro *self, void *arg)
{
    dspec *d = arg;
    coro_defer(self, fin, "D");
    void *res = I2P(-1);
    int rc = coro_yield_from(self, d->sub, &res);
    if (rc == CORO_THROWN) {
        note_exc("D", self);
        if (!d->catch_all)
            coro_reraise(self);
    } else {
        const coro_exc *e = coro_exception(self);
        tr_add(&tr, "D %s %d exc %s", coro_err_name(rc), P2I(res), e ? e->type->name : "none");
        if (d->return_at_once)
            return res;
    }
    coro_yield_value(self, I2P(500));
    return I2P(600);
}

/* A silent delegator: passes everything through, records nothing. */
static void *silent(coro *self, void *arg)
{
    void *res = NULL;
    if (coro_yield_from(self, arg, &res) != CORO_OK)
        coro_reraise(self);
    return res;
}

typedef struct rig {
    sspec s;
    dspec d;
    coro *sub, *blocker, *del, *root, *top;
} rig;

/* Parks D on the sub (which sits at its first yield) in the way `mode` says;
 * the test drives r->top. */
static void rig_up(rig *r, int mode)
{
    r->sub = make(path_sub, &r->s);
    void *out = I2P(-1);
    if (mode & FORWARD) {
        r->blocker = make(silent, r->sub);
        ck_assert_int_eq(coro_next(r->blocker, &out), CORO_YIELDED);
    } else {
        ck_assert_int_eq(coro_next(r->sub, &out), CORO_YIELDED);
    }
    ck_assert_int_eq(P2I(out), 0);
    r->d.sub = r->sub;
    r->del = make(path_delegator, &r->d);
    r->top = r->del;
    if (mode & UNDER_ROOT) {
        r->root = make(silent, r->del);
        r->top = r->root;
    }
    tr_reset(&tr);
}

static void rig_watch(rig *r)
{
    r->s.watch = r->del;
    r->s.top = r->top;
}

static void rig_down(rig *r)
{
    ck_assert_int_eq(coro_destroy(r->root), CORO_OK);
    ck_assert_int_eq(coro_destroy(r->del), CORO_OK);
    ck_assert_int_eq(coro_destroy(r->blocker), CORO_OK);
    ck_assert_int_eq(coro_destroy(r->sub), CORO_OK);
}

static void expect_next(coro *c, int want)
{
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), want);
}

START_TEST(paths_send_next_and_return)
{
    rig r = {.s = {.n = 2}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    expect_send(r.top, 5, 2);
    expect_send(r.top, 9, 500);
    void *out = NULL;
    ck_assert_int_eq(coro_next(r.top, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 600);
    ck_assert_str_eq(tr.buf, "S got 5; S got 9; S finally; D OK 102 exc none; "
                             "D finally");
    ck_assert_ptr_null(coro_exception(r.top));
    rig_down(&r);
}
END_TEST

START_TEST(paths_throw_handled_by_sub)
{
    rig r = {.s = {.n = 2, .on_throw = YIELD_AGAIN}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(r.top, &coro_ValueError, "x", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 99);
    ck_assert_ptr_null(coro_exception(r.top)); /* nothing escaped */
    ck_assert_ptr_null(coro_exception(r.del));
    ck_assert_int_eq(coro_get_state(r.del), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(r.del), r.sub);
    expect_next(r.top, 2);
    ck_assert_str_eq(tr.buf, "S got ValueError; S got 0");
    rig_down(&r);
}
END_TEST

START_TEST(paths_throw_sub_returns)
{
    rig r = {.s = {.n = 2, .on_throw = RETURN_42}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(r.top, &coro_ValueError, "x", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "S got ValueError; S finally; D OK 42 exc none");
    ck_assert_ptr_null(coro_exception(r.top));
    ck_assert_ptr_null(coro_yield_from_target(r.del));
    rig_down(&r);
}
END_TEST

START_TEST(paths_throw_sub_raises_new_exception)
{
    rig r = {.s = {.n = 2, .on_throw = RAISE_VALUE}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    ck_assert_int_eq(coro_throw(r.top, &coro_TypeError, "t", NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(r.top);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "from sub");
    ck_assert_ptr_eq(e->context, &coro_TypeError);
    ck_assert_str_eq(tr.buf, "S got TypeError; S finally; "
                             "D caught ValueError: from sub ctx TypeError; D finally");
    ck_assert_int_eq(coro_get_state(r.top), CORO_CLOSED);
    rig_down(&r);
}
END_TEST

START_TEST(paths_thrown_exception_passes_through_unchanged)
{
    static int token;
    rig r = {.s = {.n = 2}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    coro_exc thrown;
    coro_exc_set(&thrown, &coro_ValueError, "with udata");
    thrown.udata = &token;
    ck_assert_int_eq(coro_throw_exc(r.top, &thrown, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(r.top);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_str_eq(e->message, "with udata");
    ck_assert_ptr_eq(e->udata, &token);
    ck_assert_ptr_null(e->context);
    ck_assert_ptr_null(e->cause);
    ck_assert_str_eq(tr.buf, "S got ValueError; S finally; D caught ValueError: with udata; "
                             "D finally");
    rig_down(&r);
}
END_TEST

START_TEST(paths_close_sub_raises)
{
    rig r = {.s = {.n = 2, .on_close = RAISE_VALUE}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    ck_assert_int_eq(coro_close(r.top, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(r.top);
    ck_assert_ptr_eq(e->type, &coro_ValueError);
    ck_assert_ptr_eq(e->context, &coro_GeneratorExit);
    ck_assert_str_eq(tr.buf, "S got GeneratorExit; S finally; "
                             "D caught ValueError: in close ctx GeneratorExit; D finally");
    rig_down(&r);
}
END_TEST

START_TEST(paths_close_sub_ignores)
{
    rig r = {.s = {.n = 2, .on_close = YIELD_AGAIN}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    ck_assert_int_eq(coro_close(r.top, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(r.top);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_str_eq(e->message, "coroutine ignored GeneratorExit");
    ck_assert_str_eq(tr.buf, "S got GeneratorExit; "
                             "D caught RuntimeError: coroutine ignored GeneratorExit; D finally");
    ck_assert_int_eq(coro_get_state(r.sub), CORO_SUSPENDED);
    ck_assert_int_eq(coro_get_state(r.del), CORO_CLOSED);
    rig_down(&r);
}
END_TEST

START_TEST(paths_states_and_calls_from_inside_sub)
{
    rig r = {.s = {.n = 3}};
    rig_up(&r, _i);
    rig_watch(&r);
    expect_next(r.top, 1);
    expect_next(r.top, 2);
    ck_assert_int_eq(coro_get_state(r.del), CORO_SUSPENDED);
    ck_assert_ptr_eq(coro_yield_from_target(r.del), r.sub);
    ck_assert_int_eq(coro_get_state(r.top), CORO_SUSPENDED);
    const char *inside = "D GEN_RUNNING/null top GEN_RUNNING; calls D ERUNNING top ERUNNING";
    char want[512];
    snprintf(want, sizeof want, "%s; S got 0; %s", inside, inside);
    ck_assert_str_eq(tr.buf, want);
    rig_down(&r);
}
END_TEST

START_TEST(paths_sub_closed_directly_then_throw)
{
    rig r = {.s = {.n = 3}, .d = {.catch_all = true}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    ck_assert_int_eq(coro_close(r.sub, NULL), CORO_OK);
    void *out = NULL;
    ck_assert_int_eq(coro_throw(r.top, &coro_ValueError, "late", &out), CORO_YIELDED);
    ck_assert_int_eq(P2I(out), 500);
    ck_assert_str_eq(tr.buf, "S got GeneratorExit; S finally; "
                             "D caught ValueError: late");
    rig_down(&r);
}
END_TEST

START_TEST(paths_sub_finished_directly_then_send)
{
    rig r = {.s = {.n = 2}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    expect_next(r.sub, 2);
    void *out = NULL;
    ck_assert_int_eq(coro_next(r.sub, &out), CORO_RETURNED);
    ck_assert_int_eq(P2I(out), 102);
    expect_send(r.top, 7, 500);
    ck_assert_str_eq(tr.buf, "S got 0; S got 0; S finally; D OK 0 exc none");
    rig_down(&r);
}
END_TEST

START_TEST(paths_y14_throw_stop_iteration)
{
    rig r = {.s = {.n = 2}};
    rig_up(&r, _i);
    expect_next(r.top, 1);
    ck_assert_int_eq(coro_throw(r.top, &coro_StopIteration, NULL, NULL), CORO_RAISED);
    const coro_exc *e = coro_exception(r.top);
    ck_assert_ptr_eq(e->type, &coro_RuntimeError);
    ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    ck_assert_str_eq(tr.buf, "S got StopIteration; S finally; D caught RuntimeError: "
                             "coroutine raised StopIteration ctx StopIteration; D finally");
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A StopIteration back out of the sub: one table, the four paths          */
/* ------------------------------------------------------------------------ */

/* Each row mirrors a Python 3.11 program (the `python` column; `s` is the sub,
 * parked in `r = yield from s` of the delegator `d`, which prints r, yields
 * 'after' and returns). CPython forwards a throw to the sub even when the sub
 * has finished (generator.throw on a finished generator re-raises what it was
 * given), and a StopIteration coming back ends the yield from with its value:
 * here the thrown exception's udata. */

static const coro_exc_type my_stop = {"MyStop", &coro_StopIteration};

/* How the sub is left before the top is driven: still at its yield 1, or
 * finished directly, behind D's back. */
enum finish { LIVE, SUB_RETURNED, SUB_RAISED, SUB_CLOSED };
enum top_op { OP_THROW, OP_SEND, OP_CLOSE };

typedef struct stop_case {
    const char *python;
    int finish;
    int on_throw;              /* S's policy for the exception thrown in */
    bool return_at_once;       /* D returns the value of its yield from */
    int op;                    /* what the test then does to the top */
    const coro_exc_type *type; /* OP_THROW: thrown with this type ... */
    int udata;                 /* ... and this udata (StopIteration.value) */
    int want_rc;
    int want_out;                  /* YIELDED or RETURNED: the value */
    const coro_exc_type *want_exc; /* RAISED: the exception's type */
    const char *want_tr;           /* after a YIELDED 500, a next finishes D */
} stop_case;

#define FIN_RETURNED "S got 0; S got 0; S finally; "
#define FIN_RAISED "S got ValueError; S finally; "
#define FIN_CLOSED "S got GeneratorExit; S finally; "
#define D_RUNTIME "D caught RuntimeError: coroutine raised StopIteration ctx StopIteration; "

static const stop_case stop_cases[] = {
    {"next(s); next(s) -> StopIteration('r'); d.throw(StopIteration(77)) -> 'after'", SUB_RETURNED,
     PROPAGATE, false, OP_THROW, &coro_StopIteration, 77, CORO_YIELDED, 500, NULL,
     FIN_RETURNED "D OK 77 exc none; D finally"},
    {"s finished; d.throw(StopIteration()) -> 'after', r is None", SUB_RETURNED, PROPAGATE, false,
     OP_THROW, &coro_StopIteration, 0, CORO_YIELDED, 500, NULL,
     FIN_RETURNED "D OK 0 exc none; D finally"},
    {"s finished; d.throw(MyStop(78)), class MyStop(StopIteration) -> 'after', r == 78",
     SUB_RETURNED, PROPAGATE, false, OP_THROW, &my_stop, 78, CORO_YIELDED, 500, NULL,
     FIN_RETURNED "D OK 78 exc none; D finally"},
    {"s.throw(ValueError) escaped s; d.throw(StopIteration(77)) -> 'after'", SUB_RAISED, PROPAGATE,
     false, OP_THROW, &coro_StopIteration, 77, CORO_YIELDED, 500, NULL,
     FIN_RAISED "D OK 77 exc none; D finally"},
    {"s.close(); d.throw(StopIteration(77)) -> 'after'", SUB_CLOSED, PROPAGATE, false, OP_THROW,
     &coro_StopIteration, 77, CORO_YIELDED, 500, NULL, FIN_CLOSED "D OK 77 exc none; D finally"},
    {"s finished; d (return (yield from s)).throw(StopIteration(77)) -> StopIteration(77)",
     SUB_RETURNED, PROPAGATE, true, OP_THROW, &coro_StopIteration, 77, CORO_RETURNED, 77, NULL,
     FIN_RETURNED "D OK 77 exc none; D finally"},
    {"s finished; d.throw(ValueError('late')) -> ValueError in d", SUB_RETURNED, PROPAGATE, false,
     OP_THROW, &coro_ValueError, 0, CORO_RAISED, 0, &coro_ValueError,
     FIN_RETURNED "D caught ValueError: late; D finally"},
    {"s live; d.throw(StopIteration(77)) -> RuntimeError from s (PEP 479) unwinds d", LIVE,
     PROPAGATE, false, OP_THROW, &coro_StopIteration, 77, CORO_RAISED, 0, &coro_RuntimeError,
     "S got StopIteration; S finally; " D_RUNTIME "D finally"},
    {"s catches ValueError and raises StopIteration -> RuntimeError in s, unwinds d", LIVE,
     RAISE_STOP, false, OP_THROW, &coro_ValueError, 0, CORO_RAISED, 0, &coro_RuntimeError,
     "S got ValueError; S finally; " D_RUNTIME "D finally"},
    {"s finished; d.send(7) -> s.send(7) returns None at once -> 'after', r is None", SUB_RETURNED,
     PROPAGATE, false, OP_SEND, NULL, 0, CORO_YIELDED, 500, NULL,
     FIN_RETURNED "D OK 0 exc none; D finally"},
    {"s.close(); d.close() -> None", SUB_CLOSED, PROPAGATE, false, OP_CLOSE, NULL, 0, CORO_OK, 0,
     NULL, FIN_CLOSED "D caught GeneratorExit; D finally"},
    {"s.close(); d.throw(GeneratorExit) -> GeneratorExit", SUB_CLOSED, PROPAGATE, false, OP_THROW,
     &coro_GeneratorExit, 0, CORO_RAISED, 0, &coro_GeneratorExit,
     FIN_CLOSED "D caught GeneratorExit; D finally"},
};

#define N_STOP_CASES ((int)(sizeof stop_cases / sizeof stop_cases[0]))

static void finish_sub(coro *sub, int how)
{
    void *out = NULL;
    switch (how) {
    case SUB_RETURNED:
        expect_next(sub, 2);
        ck_assert_int_eq(coro_next(sub, &out), CORO_RETURNED);
        ck_assert_int_eq(P2I(out), 102);
        break;
    case SUB_RAISED:
        ck_assert_int_eq(coro_throw(sub, &coro_ValueError, "direct", NULL), CORO_RAISED);
        break;
    case SUB_CLOSED:
        ck_assert_int_eq(coro_close(sub, NULL), CORO_OK);
        break;
    default:
        return;
    }
    ck_assert_int_eq(coro_get_state(sub), CORO_CLOSED);
}

/* _i: row * 4 + mode (mode as in the other paths tests). */
START_TEST(paths_stop_iteration_table)
{
    const stop_case *c = &stop_cases[_i / 4];
    rig r = {.s = {.n = 2, .on_throw = c->on_throw}, .d = {.return_at_once = c->return_at_once}};
    rig_up(&r, _i % 4);
    expect_next(r.top, 1);
    finish_sub(r.sub, c->finish);

    void *out = I2P(-1);
    int rc;
    if (c->op == OP_SEND) {
        rc = coro_send(r.top, I2P(7), &out);
    } else if (c->op == OP_CLOSE) {
        rc = coro_close(r.top, &out);
    } else {
        coro_exc e;
        coro_exc_set(&e, c->type, c->type == &coro_ValueError ? "late" : "");
        e.udata = I2P(c->udata);
        rc = coro_throw_exc(r.top, &e, &out);
    }
    ck_assert_msg(rc == c->want_rc, "%s: got %s", c->python, coro_err_name(rc));
    if (rc == CORO_YIELDED || rc == CORO_RETURNED)
        ck_assert_int_eq(P2I(out), c->want_out);
    if (rc == CORO_RAISED) {
        const coro_exc *e = coro_exception(r.top);
        ck_assert_ptr_nonnull(e);
        ck_assert_ptr_eq(e->type, c->want_exc);
        if (e->type == &coro_RuntimeError)
            ck_assert_ptr_eq(e->cause, &coro_StopIteration);
    }
    if (rc == CORO_YIELDED) {
        /* The yield from is over and left nothing behind. */
        ck_assert_ptr_null(coro_exception(r.top));
        ck_assert_ptr_null(coro_yield_from_target(r.del));
        ck_assert_int_eq(coro_get_state(r.top), CORO_SUSPENDED);
        ck_assert_int_eq(coro_next(r.top, &out), CORO_RETURNED);
        ck_assert_int_eq(P2I(out), 600);
    }
    ck_assert_int_eq(coro_get_state(r.top), CORO_CLOSED);
    ck_assert_msg(strcmp(tr.buf, c->want_tr) == 0, "%s:\n  got  %s\n  want %s", c->python, tr.buf,
                  c->want_tr);
    rig_down(&r);
}
END_TEST

/* ------------------------------------------------------------------------ */

static TCase *tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_checked_fixture(tc, tr_setup, NULL);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("chains");

    TCase *tc = tcase("depth4");
    tcase_add_test(tc, y11_send_reaches_leaf_and_values_come_back);
    tcase_add_test(tc, y11_throw_caught_by_leaf);
    tcase_add_test(tc, y11_uncaught_throw_unwinds_innermost_first);
    tcase_add_test(tc, y11_return_values_bubble_one_level_at_a_time);
    tcase_add_test(tc, y11_close_root_finalises_innermost_first);
    tcase_add_test(tc, y10_every_level_running_while_leaf_runs);
    tcase_add_test(tc, y13_drive_middle_level_directly_then_root);
    tcase_add_test(tc, y13_throw_into_middle_level_then_root);
    tcase_add_test(tc, middle_level_catches_and_starts_new_delegation);
    tcase_add_test(tc, c3_leaf_driven_directly_closes_root);
    tcase_add_test(tc, y13_finish_deep_middle_level_directly);
    tcase_add_test(tc, y5_throw_generatorexit_into_root_closes_each_level);
    suite_add_tcase(s, tc);

    tc = tcase("relink");
    tcase_add_test(tc, relinking_leaf_new_sub_after_each_value);
    tcase_add_test(tc, relinking_leaf_throw_reaches_current_sub);
    tcase_add_test(tc, shared_sub_each_delegator_forwards);
    tcase_add_test(tc, shared_sub_close_one_delegator_closes_sub_for_both);
    tcase_add_test(tc, delegating_to_a_parked_delegator);
    suite_add_tcase(s, tc);

    tc = tcase("depth1000");
    tcase_add_test(tc, y11_depth_1000_send_100_values_and_return);
    tcase_add_test(tc, f4_depth_1000_destroy_parked_root_innermost_first);
    suite_add_tcase(s, tc);

    /* _i: 0 linked, 1 forwarding, 2 linked under a root, 3 forwarding under a root. */
    tc = tcase("paths");
    tcase_add_loop_test(tc, paths_send_next_and_return, 0, 4);
    tcase_add_loop_test(tc, paths_throw_handled_by_sub, 0, 4);
    tcase_add_loop_test(tc, paths_throw_sub_returns, 0, 4);
    tcase_add_loop_test(tc, paths_throw_sub_raises_new_exception, 0, 4);
    tcase_add_loop_test(tc, paths_thrown_exception_passes_through_unchanged, 0, 4);
    tcase_add_loop_test(tc, paths_close_sub_raises, 0, 4);
    tcase_add_loop_test(tc, paths_close_sub_ignores, 0, 4);
    tcase_add_loop_test(tc, paths_states_and_calls_from_inside_sub, 0, 4);
    tcase_add_loop_test(tc, paths_sub_closed_directly_then_throw, 0, 4);
    tcase_add_loop_test(tc, paths_sub_finished_directly_then_send, 0, 4);
    tcase_add_loop_test(tc, paths_y14_throw_stop_iteration, 0, 4);
    tcase_add_loop_test(tc, paths_stop_iteration_table, 0, N_STOP_CASES * 4);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
