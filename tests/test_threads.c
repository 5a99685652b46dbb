/* test_threads.c - coroutines on several threads: concurrent drivers, the
 * per-thread current coroutine, and a coroutine resumed on another thread.
 * SPDX-License-Identifier: MIT
 *
 * Bodies here never touch the shared transcript (it is not thread-safe):
 * each thread records into its own struct, checked after the join.
 */
#include "check_util.h"

#include <pthread.h>
#include <stdint.h>

#define THREADS 4
#define COROS_PER_THREAD 4
#define ROUNDS 2000

/* ---- concurrent drivers -------------------------------------------------- */

/* Creation and destruction allocate through the test's counting allocator;
 * they are serialised so that the test does not depend on that allocator
 * being thread-safe. Running (the switches) is fully concurrent. */
static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

struct counter {
    int base;       /* yields base + i for i in [0, ROUNDS) */
    long received;  /* sum of the values sent in */
    int not_current; /* times coro_current() was not self after a resume */
};

static void *count_up(coro *self, void *arg)
{
    struct counter *k = arg;
    for (int i = 0; i < ROUNDS; i++) {
        void *got = coro_yield_value(self, (void *)(intptr_t)(k->base + i));
        k->received += (long)(intptr_t)got;
        if (coro_current() != self)
            k->not_current++;
    }
    return k;
}

struct worker {
    int id;
    struct counter counters[COROS_PER_THREAD];
    long yielded_sum;
    int bad_status;
    int returned;
    int current_outside; /* times coro_current() was not NULL in the driver */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    coro *cs[COROS_PER_THREAD];
    pthread_mutex_lock(&alloc_lock);
    for (int i = 0; i < COROS_PER_THREAD; i++) {
        w->counters[i] = (struct counter){(w->id * COROS_PER_THREAD + i) * 100000, 0, 0};
        if (coro_create(&cs[i], count_up, &w->counters[i], NULL) != CORO_OK)
            w->bad_status++;
    }
    pthread_mutex_unlock(&alloc_lock);
    if (w->bad_status != 0)
        return NULL;
    /* Round robin: every send switches into one coroutine and back. */
    for (int round = 0; round <= ROUNDS; round++) {
        for (int i = 0; i < COROS_PER_THREAD; i++) {
            void *out = NULL;
            void *send = round == 0 ? NULL : (void *)(intptr_t)(w->id + 1);
            int rc = coro_send(cs[i], send, &out);
            if (coro_current() != NULL)
                w->current_outside++;
            if (round < ROUNDS && rc == CORO_YIELDED)
                w->yielded_sum += (long)(intptr_t)out;
            else if (round == ROUNDS && rc == CORO_RETURNED && out == &w->counters[i])
                w->returned++;
            else
                w->bad_status++;
        }
    }
    pthread_mutex_lock(&alloc_lock);
    for (int i = 0; i < COROS_PER_THREAD; i++)
        coro_destroy(cs[i]);
    pthread_mutex_unlock(&alloc_lock);
    return NULL;
}

START_TEST(threads_run_their_own_coroutines)
{
    pthread_t threads[THREADS];
    static struct worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){.id = t};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
    long triangle = (long)ROUNDS * (ROUNDS - 1) / 2;
    for (int t = 0; t < THREADS; t++) {
        struct worker *w = &workers[t];
        ck_assert_int_eq(w->bad_status, 0);
        ck_assert_int_eq(w->returned, COROS_PER_THREAD);
        ck_assert_int_eq(w->current_outside, 0);
        long expect = 0;
        for (int i = 0; i < COROS_PER_THREAD; i++) {
            const struct counter *k = &w->counters[i];
            expect += (long)k->base * ROUNDS + triangle;
            ck_assert_int_eq(k->received, (long)(t + 1) * ROUNDS);
            ck_assert_int_eq(k->not_current, 0);
        }
        ck_assert_int_eq(w->yielded_sum, expect);
    }
}
END_TEST

/* ---- coro_current is per thread ------------------------------------------ */

struct probe {
    coro *outer;          /* running on the spawning thread meanwhile */
    int current_was_null; /* coro_current() in the new thread, outside bodies */
    int inner_saw_self;
    int inner_status;
};

static void *inner_body(coro *self, void *arg)
{
    struct probe *p = arg;
    p->inner_saw_self = coro_current() == self;
    coro_yield_value(self, NULL);
    return NULL;
}

static void *probe_thread(void *arg)
{
    struct probe *p = arg;
    p->current_was_null = coro_current() == NULL;
    coro *c = NULL;
    if (coro_create(&c, inner_body, p, NULL) != CORO_OK)
        return NULL;
    p->inner_status = coro_next(c, NULL);
    coro_destroy(c);
    return NULL;
}

static void *spawns_thread(coro *self, void *arg)
{
    struct probe *p = arg;
    p->outer = self;
    pthread_t t;
    if (pthread_create(&t, NULL, probe_thread, p) != 0)
        return NULL;
    pthread_join(t, NULL);
    return coro_current() == self ? "still self" : "changed";
}

START_TEST(current_is_per_thread)
{
    struct probe p = {NULL, 0, 0, 0};
    coro *c = NULL;
    ck_assert_int_eq(coro_create(&c, spawns_thread, &p, NULL), CORO_OK);
    void *out = NULL;
    ck_assert_int_eq(coro_next(c, &out), CORO_RETURNED);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq((const char *)out, "still self");
    ck_assert_int_eq(p.current_was_null, 1);
    ck_assert_int_eq(p.inner_saw_self, 1);
    ck_assert_int_eq(p.inner_status, CORO_YIELDED);
    ck_assert_ptr_null(coro_current());
    coro_destroy(c);
}
END_TEST

/* ---- resumed on another thread ------------------------------------------- */

struct migrant {
    pthread_t seen[8];
    int steps;
    int not_current;
    int cleanup_ran;
    coro *co;
    int statuses[8];
    int nstatuses;
};

static void migrant_cleanup(void *arg)
{
    struct migrant *m = arg;
    m->cleanup_ran++;
}

static void *migrant_body(coro *self, void *arg)
{
    struct migrant *m = arg;
    coro_defer(self, migrant_cleanup, m);
    for (m->steps = 0; m->steps < 4; m->steps++) {
        m->seen[m->steps] = pthread_self();
        if (coro_current() != self)
            m->not_current++;
        coro_yield_value(self, (void *)(intptr_t)m->steps);
        if (coro_current() != self)
            m->not_current++;
    }
    return "finished elsewhere";
}

static void *start_it(void *arg)
{
    struct migrant *m = arg;
    if (coro_create(&m->co, migrant_body, m, NULL) != CORO_OK)
        return NULL;
    m->statuses[m->nstatuses++] = coro_next(m->co, NULL);
    return NULL;
}

static void *finish_it(void *arg)
{
    struct migrant *m = arg;
    void *out = NULL;
    int rc;
    while ((rc = coro_next(m->co, &out)) == CORO_YIELDED && m->nstatuses < 7)
        m->statuses[m->nstatuses++] = rc;
    m->statuses[m->nstatuses++] = rc;
    return out;
}

START_TEST(resumed_on_another_thread)
{
    static struct migrant m;
    pthread_t a, b;
    ck_assert_int_eq(pthread_create(&a, NULL, start_it, &m), 0);
    ck_assert_int_eq(pthread_join(a, NULL), 0);
    ck_assert_ptr_nonnull(m.co);
    ck_assert_int_eq(m.statuses[0], CORO_YIELDED);
    ck_assert_int_eq(coro_get_state(m.co), CORO_SUSPENDED);

    void *out = NULL;
    ck_assert_int_eq(pthread_create(&b, NULL, finish_it, &m), 0);
    ck_assert_int_eq(pthread_join(b, &out), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq((const char *)out, "finished elsewhere");
    ck_assert_int_eq(m.nstatuses, 5);
    ck_assert_int_eq(m.statuses[1], CORO_YIELDED);
    ck_assert_int_eq(m.statuses[4], CORO_RETURNED);
    ck_assert_int_eq(m.steps, 4);
    ck_assert_int_eq(m.not_current, 0);
    ck_assert_int_eq(m.cleanup_ran, 1);
    ck_assert(pthread_equal(m.seen[1], m.seen[3]));
    ck_assert_int_eq(coro_get_state(m.co), CORO_CLOSED);
    ck_assert_int_eq(coro_destroy(m.co), CORO_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, alloc_setup, alloc_teardown);
    tcase_add_test(tc, threads_run_their_own_coroutines);
    tcase_add_test(tc, current_is_per_thread);
    tcase_add_test(tc, resumed_on_another_thread);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
