/* test_aio_nomem.c - libcoro-aio under exhausted memory: a fault-injection sweep over every allocation.
 * SPDX-License-Identifier: MIT
 *
 * Every allocation of both libraries goes through one countdown: the aio
 * allocations through coro__aio_testing_set_alloc_hook (alloc.h), the core's
 * through coro_set_allocator. For a scenario and a k, allocation number k
 * (0-based, counted across both libraries and every thread) and every later
 * one fail. Each k runs in its own process (a Check loop test in fork mode),
 * for k = 0 .. K, where K is large enough that the last run refuses nothing
 * (asserted: the sweep covers every allocation the scenario makes).
 *
 * For every k: the program neither crashes nor hangs (Check's timeout);
 * every call returns its success value, its documented CORO_ENOMEM, or an
 * exception the program can handle (the scenario's own ones, CancelledError
 * once the program gives up, or the "could not allocate" RuntimeError /
 * MemoryError a task ends with when its coroutine or a step could not be
 * had); the loop closes with CORO_OK, the core's allocations are all given
 * back, and ASan / Valgrind find no leak. Task bodies never assert: they
 * record into the transcript; a violation is an event starting "BAD", and
 * the test asserts after the run. The run that refuses nothing must produce
 * the scenario's whole transcript.
 *
 * When a task gives up (a call reported out of memory), it cancels every
 * task of the program (which allocates nothing), so that nothing waits
 * forever for work that will not come.
 */
#include "aio_util.h"

#include "aio/alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the shared countdown ------------------------------------------------ */

static _Atomic long countdown = -1; /* allocations still granted; -1: no limit */
static _Atomic long seen;           /* allocations asked for */
static _Atomic long refused;        /* allocations refused */
static _Atomic long core_live;      /* core allocations not given back */

static bool refuse(void)
{
    atomic_fetch_add(&seen, 1);
    long n = atomic_load(&countdown);
    while (n > 0 && !atomic_compare_exchange_weak(&countdown, &n, n - 1))
        ;
    if (n != 0)
        return false;
    atomic_fetch_add(&refused, 1);
    return true;
}

static void *core_alloc(void *udata, size_t size)
{
    (void)udata;
    if (refuse())
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&core_live, 1);
    return p;
}

static void core_free(void *udata, void *ptr, size_t size)
{
    (void)udata;
    (void)size;
    if (ptr != NULL)
        atomic_fetch_sub(&core_live, 1);
    free(ptr);
}

static void sweep_start(long k)
{
    static const coro_allocator a = {core_alloc, core_free, NULL};
    ck_assert_int_eq(coro_set_allocator(&a), CORO_OK);
    atomic_store(&seen, 0);
    atomic_store(&refused, 0);
    atomic_store(&core_live, 0);
    atomic_store(&countdown, k);
    coro__aio_testing_set_alloc_hook(refuse);
}

static void sweep_stop(void)
{
    atomic_store(&countdown, -1);
    coro__aio_testing_set_alloc_hook(NULL);
}

/* ---- recording ----------------------------------------------------------- */

static char gave_up[] = "gave up";
#define GAVE_UP ((void *)gave_up)
#define MAX_TASKS 8

static coro_aio_loop *loop;
static coro_aio_future *main_task;
static coro_aio_future *tasks[MAX_TASKS];
static int ntasks;
static bool giving_up;

/* A failure a program can handle when memory runs out: MemoryError, or the
 * RuntimeError a task ends with when its coroutine or a step could not be
 * had ("could not allocate", "out of memory"). */
static bool is_nomem_exc(const coro_exc *e)
{
    if (e == NULL || e->type == NULL)
        return false;
    if (coro_exc_matches(e->type, &coro_MemoryError))
        return true;
    return coro_exc_matches(e->type, &coro_RuntimeError) &&
           (strstr(e->message, "allocate") != NULL || strstr(e->message, "memory") != NULL);
}

static bool is_cancel(const coro_exc *e)
{
    return e != NULL && coro_exc_matches(e->type, &coro_aio_CancelledError);
}

/* Cancels every task of the program (main included), once. */
static void give_up(const char *what, const char *why)
{
    tr_add(&tr, "%s: %s", what, why);
    if (giving_up)
        return;
    giving_up = true;
    for (int i = 0; i < ntasks; i++)
        if (tasks[i] != NULL)
            coro_aio_future_cancel(tasks[i], NULL);
    if (main_task != NULL)
        coro_aio_future_cancel(main_task, NULL);
}

/* Checks a status. CORO_OK: true. CORO_ENOMEM where the call documents it
 * (may_nomem), or CORO_THROWN with an out-of-memory exception or, once the
 * program gives up or memory was refused, CancelledError: the program gives
 * up (false). Anything else is recorded as BAD (false). */
static bool chk(int rc, const char *what, bool may_nomem)
{
    if (rc == CORO_OK)
        return true;
    if (rc == CORO_ENOMEM && may_nomem) {
        give_up(what, "ENOMEM");
        return false;
    }
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(coro_current());
        if (coro_exc_matches(e->type, &coro_GeneratorExit) && atomic_load(&refused) > 0) {
            /* A task the program gave up on, destroyed when the loop closes. */
            tr_add(&tr, "%s: closed", what);
            return false;
        }
        if (is_nomem_exc(e) || (is_cancel(e) && (giving_up || atomic_load(&refused) > 0))) {
            give_up(what, e->type->name);
            return false;
        }
        tr_add(&tr, "BAD %s: raised %s", what, exc_str(e));
        return false;
    }
    tr_add(&tr, "BAD %s: %s (%s)", what, coro_err_name(rc), coro_aio_last_error());
    return false;
}

/* A NULL a call documents as out of memory: the program gives up. */
static bool chk_ptr(const void *p, const char *what)
{
    if (p != NULL)
        return true;
    const char *err = coro_aio_last_error();
    if (strstr(err, "memory") != NULL || strstr(err, "allocate") != NULL) {
        give_up(what, "NULL");
        return false;
    }
    tr_add(&tr, "BAD %s: NULL (%s)", what, err);
    return false;
}

/* A task of the program that dies of an out-of-memory exception (its
 * coroutine could not be made) makes the program give up, as a task that
 * gives up does. */
static void on_task_done(coro_aio_future *f, void *arg)
{
    coro_exc e;
    if (coro_aio_future_exception(f, &e) == CORO_OK && is_nomem_exc(&e))
        give_up((const char *)arg, e.type->name);
}

static coro_aio_future *spawn(coro_fn fn, void *arg, const char *what)
{
    coro_aio_future *t = coro_aio_create_task(loop, fn, arg, NULL);
    if (!chk_ptr(t, what))
        return NULL;
    tasks[ntasks++] = t;
    chk(coro_aio_future_add_done_callback(t, on_task_done, (void *)what), what, true);
    return t;
}

static void release_tasks(void)
{
    for (int i = 0; i < ntasks; i++)
        coro_aio_future_release(tasks[i]);
    ntasks = 0;
}

static void handler(coro_aio_loop *l, const coro_aio_exc_context *ctx, void *udata)
{
    (void)l;
    (void)udata;
    /* In a run that refuses nothing the handler must not be called; when
     * memory ran out, "Task exception was never retrieved" and "Task was
     * destroyed but it is pending!" are how asyncio reports what was lost. */
    tr_add(&tr, "%shandler: %s", atomic_load(&refused) > 0 ? "" : "BAD ", ctx->message);
}

/* Runs main on a fresh loop and gives everything back; violations go into
 * the transcript as BAD events (asserted by the caller). */
static void run_program(coro_fn main, int clock)
{
    tr_reset(&tr);
    ntasks = 0;
    giving_up = false;
    main_task = NULL;
    loop = NULL;
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = clock;
    int rc = coro_aio_loop_new(&loop, &o);
    if (rc == CORO_ENOMEM) {
        tr_add(&tr, loop == NULL ? "loop_new: ENOMEM" : "BAD loop_new: ENOMEM, loop set");
        return;
    }
    if (rc != CORO_OK) {
        tr_add(&tr, "BAD loop_new: %s (%s)", coro_err_name(rc), coro_aio_last_error());
        return;
    }
    coro_aio_set_exception_handler(loop, handler, NULL);
    main_task = coro_aio_create_task(loop, main, NULL, NULL);
    if (chk_ptr(main_task, "create_task(main)")) {
        void *res = NULL;
        coro_exc exc;
        rc = coro_aio_run_until_complete(loop, main_task, &res, &exc);
        if (rc == CORO_OK)
            tr_add(&tr, "main: %s", (const char *)res);
        else if (rc == CORO_RAISED && (is_nomem_exc(&exc) || is_cancel(&exc)))
            tr_add(&tr, "main raised %s", exc.type->name);
        else if (rc == CORO_RAISED)
            tr_add(&tr, "BAD main raised %s", exc_str(&exc));
        else
            tr_add(&tr, "BAD run_until_complete: %s (%s)", coro_err_name(rc),
                   coro_aio_last_error());
        coro_aio_future_release(main_task);
        main_task = NULL;
    }
    release_tasks();
    rc = coro_aio_loop_close(loop);
    if (rc != CORO_OK)
        tr_add(&tr, "BAD loop_close: %s", coro_err_name(rc));
}

/* ---- (a) a task that sleeps ---------------------------------------------- */

static void *sleeper(coro *self, void *arg)
{
    (void)self;
    if (!chk(coro_aio_sleep(0.2), "sleeper: sleep", true))
        return GAVE_UP;
    return arg;
}

static void *main_sleep(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *t = spawn(sleeper, (void *)"slept", "create_task(sleeper)");
    if (t == NULL)
        return GAVE_UP;
    if (!chk(coro_aio_sleep(0.1), "main: sleep", true))
        return GAVE_UP;
    void *r = NULL;
    if (!chk(coro_aio_await(t, &r), "await sleeper", false))
        return GAVE_UP;
    tr_add(&tr, "sleeper: %s", (const char *)r);
    return "done";
}

/* ---- (b) gather of three tasks, one raising ------------------------------ */

typedef struct kid {
    const char *name;
    double delay;
    bool raise;
} kid;

static const kid kids[3] = {{"a", 0.1, false}, {"b", 0.2, true}, {"c", 0.3, false}};

static void *gather_kid(coro *self, void *arg)
{
    const kid *k = arg;
    if (!chk(coro_aio_sleep(k->delay), k->name, true))
        coro_raise(self, &coro_aio_CancelledError, "gave up"); /* a cancelled child */
    if (k->raise)
        coro_raise(self, &coro_ValueError, k->name);
    return (void *)k->name;
}

static void *main_gather(coro *self, void *arg)
{
    (void)arg;
    coro_aio_future *kt[3];
    for (int i = 0; i < 3; i++)
        if ((kt[i] = spawn(gather_kid, (void *)&kids[i], "create_task(kid)")) == NULL)
            return GAVE_UP;
    coro_aio_future *g = coro_aio_gather(loop, kt, 3, false);
    if (!chk_ptr(g, "gather"))
        return GAVE_UP;
    int rc = coro_aio_await(g, NULL);
    coro_aio_future_release(g);
    if (rc == CORO_THROWN && coro_exc_matches(coro_exception(self)->type, &coro_ValueError))
        tr_add(&tr, "gather: %s", exc_str(coro_exception(self)));
    else if (!chk(rc, "await gather", false))
        return GAVE_UP;
    else
        tr_add(&tr, "BAD gather returned");
    void *r = NULL;
    if (!chk(coro_aio_await(kt[2], &r), "await c", false))
        return GAVE_UP;
    tr_add(&tr, "c: %s", (const char *)r);
    return "done";
}

/* ---- (c) Queue producer / consumer with Lock, Event and Semaphore --------- */

static coro_aio_queue *q;
static coro_aio_lock *lock;
static coro_aio_event *ev;
static coro_aio_semaphore *sem;

static void *producer(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    for (intptr_t i = 1; i <= 3; i++) {
        if (!chk(coro_aio_lock_acquire(lock), "producer: acquire", true))
            return GAVE_UP;
        int rc = coro_aio_sleep(0.01);
        coro_aio_lock_release(lock);
        if (!chk(rc, "producer: sleep", true) ||
            !chk(coro_aio_queue_put(q, (void *)i), "producer: put", true))
            return GAVE_UP;
    }
    return "produced";
}

static void *consumer(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    for (int i = 0; i < 3; i++) {
        void *item = NULL;
        if (!chk(coro_aio_queue_get(q, &item), "consumer: get", true) ||
            !chk(coro_aio_semaphore_acquire(sem), "consumer: sem", true))
            return GAVE_UP;
        int rc = coro_aio_lock_acquire(lock);
        coro_aio_semaphore_release(sem);
        if (!chk(rc, "consumer: acquire", true))
            return GAVE_UP;
        tr_add(&tr, "got %d", (int)(intptr_t)item);
        coro_aio_lock_release(lock);
    }
    coro_aio_event_set(ev);
    return "consumed";
}

static void *main_queue(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    void *out = GAVE_UP;
    q = NULL;
    lock = NULL;
    ev = NULL;
    sem = NULL;
    if (!chk(coro_aio_queue_new(&q, 1, CORO_AIO_QUEUE_FIFO, NULL, NULL), "queue_new", true) ||
        !chk(coro_aio_lock_new(&lock), "lock_new", true) ||
        !chk(coro_aio_event_new(&ev), "event_new", true) ||
        !chk(coro_aio_semaphore_new(&sem, 1, false), "semaphore_new", true) ||
        !chk(coro_aio_semaphore_acquire(sem), "main: sem", true))
        goto out;
    coro_aio_future *p = spawn(producer, NULL, "create_task(producer)");
    coro_aio_future *c = p ? spawn(consumer, NULL, "create_task(consumer)") : NULL;
    int rc = coro_aio_sleep(0.05);
    coro_aio_semaphore_release(sem);
    if (c == NULL || !chk(rc, "main: sleep", true) ||
        !chk(coro_aio_event_wait(ev), "main: event", true))
        goto out;
    void *rp = NULL, *rcn = NULL;
    if (!chk(coro_aio_await(p, &rp), "await producer", false) ||
        !chk(coro_aio_await(c, &rcn), "await consumer", false))
        goto out;
    tr_add(&tr, "%s %s", (const char *)rp, (const char *)rcn);
    out = "done";
out:
    /* The helpers end (or are cancelled) before the objects are freed. */
    giving_up = giving_up || out == GAVE_UP; /* main is not cancelled again */
    for (int i = 0; i < ntasks; i++)
        if (!coro_aio_future_done(tasks[i])) {
            coro_aio_future_cancel(tasks[i], NULL);
            while (!coro_aio_future_done(tasks[i]))
                if (coro_aio_await(tasks[i], NULL) != CORO_OK && !coro_aio_future_done(tasks[i]))
                    break;
        }
    bool idle = true;
    for (int i = 0; i < ntasks; i++)
        idle = idle && coro_aio_future_done(tasks[i]);
    if (idle) {
        if (coro_aio_queue_free(q) != CORO_OK || coro_aio_lock_free(lock) != CORO_OK ||
            coro_aio_event_free(ev) != CORO_OK || coro_aio_semaphore_free(sem) != CORO_OK)
            tr_add(&tr, "BAD free: %s", coro_aio_last_error());
    } else
        tr_add(&tr, "BAD helpers still running");
    return out;
}

/* ---- (d) a timeout scope and wait_for that expire ------------------------ */

static void *slow(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_sleep(1.0);
    if (rc == CORO_THROWN && is_cancel(coro_exception(self))) {
        tr_add(&tr, "slow cancelled");
        coro_reraise(self);
    }
    if (!chk(rc, "slow: sleep", true))
        return GAVE_UP;
    return "slow done";
}

static void *main_timeout(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_timeout(0.1, slow, NULL, NULL);
    if (rc == CORO_THROWN && coro_exc_matches(coro_exception(self)->type, &coro_aio_TimeoutError))
        tr_add(&tr, "timeout: TimeoutError");
    else if (chk(rc, "timeout", true) && !giving_up)
        tr_add(&tr, "BAD timeout returned");
    if (giving_up)
        return GAVE_UP;
    coro_aio_future *t = spawn(slow, NULL, "create_task(slow)");
    if (t == NULL)
        return GAVE_UP;
    rc = coro_aio_wait_for(t, 0.1, NULL);
    if (rc == CORO_THROWN && coro_exc_matches(coro_exception(self)->type, &coro_aio_TimeoutError))
        tr_add(&tr, "wait_for: TimeoutError");
    else if (chk(rc, "wait_for", true) && !giving_up)
        tr_add(&tr, "BAD wait_for returned");
    if (giving_up)
        return GAVE_UP;
    tr_add(&tr, "t cancelled: %d", coro_aio_future_cancelled(t));
    return "done";
}

/* ---- (e) a TaskGroup with a failing child --------------------------------- */

static void *tg_child(coro *self, void *arg)
{
    const kid *k = arg;
    int rc = coro_aio_sleep(k->delay);
    if (rc == CORO_THROWN && is_cancel(coro_exception(self))) {
        tr_add(&tr, "%s cancelled", k->name);
        coro_reraise(self);
    }
    if (!chk(rc, k->name, true))
        coro_raise(self, &coro_MemoryError, "gave up");
    if (k->raise)
        coro_raise(self, &coro_ValueError, k->name);
    return (void *)k->name;
}

static const kid tg_kids[2] = {{"x", 0.1, true}, {"y", 1.0, false}};

static void *tg_body(coro *self, coro_aio_task_group *g, void *arg)
{
    (void)self;
    (void)arg;
    for (int i = 0; i < 2; i++) {
        coro_aio_future *t =
            coro_aio_task_group_create_task(g, tg_child, (void *)&tg_kids[i], NULL);
        if (!chk_ptr(t, "tg create_task"))
            return GAVE_UP;
        coro_aio_future_release(t);
    }
    return "body done";
}

static void *main_taskgroup(coro *self, void *arg)
{
    (void)arg;
    int rc = coro_aio_task_group_run(tg_body, NULL, NULL);
    if (rc != CORO_THROWN) {
        chk(rc, "task_group_run", true);
        return giving_up ? GAVE_UP : "BAD task_group_run returned";
    }
    const coro_exc *e = coro_exception(self);
    const coro_aio_exception_group *eg = coro_aio_exception_group_get(e);
    if (eg == NULL) {
        chk(rc, "task_group_run", true);
        return GAVE_UP;
    }
    tr_add(&tr, "%s", exc_str(e));
    for (size_t i = 0; i < eg->n; i++) {
        const coro_exc *x = &eg->exceptions[i];
        if (coro_exc_matches(x->type, &coro_ValueError))
            tr_add(&tr, "  %s", exc_str(x));
        else if (is_nomem_exc(x))
            give_up("task group member", x->type->name);
        else
            tr_add(&tr, "BAD group member %s", exc_str(x));
    }
    return giving_up ? GAVE_UP : "done";
}

/* ---- (f) a loopback TCP echo --------------------------------------------- */

static void *echo(coro *self, coro_aio_stream *s, void *arg)
{
    (void)self;
    (void)arg;
    char line[64];
    size_t n = 0;
    if (!chk(coro_aio_stream_readline(s, line, sizeof line, &n), "server: readline", true) ||
        !chk(coro_aio_stream_write(s, line, n), "server: write", true) ||
        !chk(coro_aio_stream_drain(s), "server: drain", true))
        return GAVE_UP;
    return "echoed";
}

static void *main_echo(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_server *srv = NULL;
    if (!chk(coro_aio_start_server(loop, echo, NULL, "127.0.0.1", 0, NULL, &srv), "start_server",
             true))
        return GAVE_UP;
    void *out = GAVE_UP;
    coro_aio_stream *s = NULL;
    char line[64];
    size_t n = 0;
    if (!chk(coro_aio_open_connection("127.0.0.1", coro_aio_server_port(srv), NULL, &s),
             "open_connection", true))
        goto server;
    if (!chk(coro_aio_stream_write(s, "hello\n", 6), "write", true) ||
        !chk(coro_aio_stream_drain(s), "drain", true) ||
        !chk(coro_aio_stream_readline(s, line, sizeof line, &n), "readline", true))
        goto stream;
    if (n == 0 && atomic_load(&refused) > 0) {
        give_up("readline", "EOF"); /* the server gave the connection up */
        goto stream;
    }
    tr_add(&tr, "echo: %.*s", (int)(n > 0 ? n - 1 : 0), line);
    if (!chk(coro_aio_stream_close(s), "close", false) ||
        !chk(coro_aio_stream_wait_closed(s), "wait_closed", false))
        goto stream;
    out = "done";
stream:
    coro_aio_stream_release(s);
server:
    coro_aio_server_close(srv);
    chk(coro_aio_server_wait_closed(srv), "server wait_closed", true);
    coro_aio_server_release(srv);
    return giving_up ? GAVE_UP : out;
}

/* ---- (g) to_thread -------------------------------------------------------- */

static void *add_one(void *arg) { return (void *)((intptr_t)arg + 1); }

static void *main_thread(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    void *r = NULL;
    if (!chk(coro_aio_to_thread(add_one, (void *)41, &r), "to_thread", true))
        return GAVE_UP;
    tr_add(&tr, "to_thread: %d", (int)(intptr_t)r);
    if (!chk(coro_aio_to_thread(add_one, r, &r), "to_thread again", true))
        return GAVE_UP;
    tr_add(&tr, "to_thread: %d", (int)(intptr_t)r);
    return "done";
}

/* ---- the sweep ----------------------------------------------------------- */

typedef struct scenario {
    const char *name;
    coro_fn main;
    int clock;
    const char *want; /* the transcript of the run that refuses nothing */
    long k_max;       /* the last k: more than the allocations of a whole run */
} scenario;

enum { SLEEP, GATHER, QUEUE, TIMEOUT, TASKGROUP, ECHO, THREAD };

static const scenario scenarios[] = {
    [SLEEP] = {"sleep", main_sleep, CORO_AIO_CLOCK_VIRTUAL, "sleeper: slept; main: done", 24},
    [GATHER] = {"gather", main_gather, CORO_AIO_CLOCK_VIRTUAL,
                "gather: ValueError: b; c: c; main: done", 36},
    [QUEUE] = {"queue", main_queue, CORO_AIO_CLOCK_VIRTUAL,
               "got 1; got 2; got 3; produced consumed; main: done", 36},
    [TIMEOUT] = {"timeout", main_timeout, CORO_AIO_CLOCK_VIRTUAL,
                 "slow cancelled; timeout: TimeoutError; slow cancelled; wait_for: TimeoutError; "
                 "t cancelled: 1; main: done",
                 24},
    [TASKGROUP] = {"taskgroup", main_taskgroup, CORO_AIO_CLOCK_VIRTUAL,
                   "y cancelled; ExceptionGroup: unhandled errors in a TaskGroup (1 "
                   "sub-exception);   ValueError: x; main: done",
                   36},
    [ECHO] = {"echo", main_echo, CORO_AIO_CLOCK_MONOTONIC, "echo: hello; main: done", 48},
    [THREAD] = {"to_thread", main_thread, CORO_AIO_CLOCK_VIRTUAL,
                "to_thread: 42; to_thread: 43; main: done", 24},
};

static void sweep(int which, long k)
{
    const scenario *sc = &scenarios[which];
    sweep_start(k);
    run_program(sc->main, sc->clock);
    long asked = atomic_load(&seen), n_refused = atomic_load(&refused);
    sweep_stop();
    coro_set_allocator(NULL);
    ck_assert_msg(strstr(tr.buf, "BAD") == NULL, "k=%ld, %ld refused: %s", k, n_refused, tr.buf);
    ck_assert_msg(atomic_load(&core_live) == 0, "k=%ld: %ld core allocation(s) leaked: %s", k,
                  atomic_load(&core_live), tr.buf);
    if (n_refused == 0)
        ck_assert_str_eq(tr.buf, sc->want);
    if (k == sc->k_max) {
        /* The last run refused nothing (run_program checked its whole
         * transcript), and K keeps a margin over what a run allocates. */
        ck_assert_int_eq(n_refused, 0);
        ck_assert_msg(asked + asked / 4 < sc->k_max, "%s: a run allocates %ld times; raise K (%ld)",
                      sc->name, asked, sc->k_max);
    }
}

#define SWEEP_TEST(id)                                                                             \
    START_TEST(sweep_##id) { sweep(id, _i); }                                                      \
    END_TEST

SWEEP_TEST(SLEEP)
SWEEP_TEST(GATHER)
SWEEP_TEST(QUEUE)
SWEEP_TEST(TIMEOUT)
SWEEP_TEST(TASKGROUP)
SWEEP_TEST(ECHO)
SWEEP_TEST(THREAD)

int main(void)
{
    /* NOMEM_ONLY=<scenario>:<k> runs that one program in this process, without
     * Check (for a debugger), and prints its transcript. */
    const char *only = getenv("NOMEM_ONLY");
    if (only != NULL) {
        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
            size_t len = strlen(scenarios[i].name);
            if (strncmp(only, scenarios[i].name, len) == 0 && only[len] == ':') {
                static const coro_allocator a = {core_alloc, core_free, NULL};
                coro_set_allocator(&a);
                atomic_store(&countdown, atol(only + len + 1));
                coro__aio_testing_set_alloc_hook(refuse);
                run_program(scenarios[i].main, scenarios[i].clock);
                printf("%s: %ld allocations, %ld refused, %ld core live: %s\n", only,
                       atomic_load(&seen), atomic_load(&refused), atomic_load(&core_live), tr.buf);
                return 0;
            }
        }
        return 2;
    }
    Suite *s = suite_create("aio_nomem");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 5);
#define ADD(id) tcase_add_loop_test(tc, sweep_##id, 0, (int)scenarios[id].k_max + 1)
    ADD(SLEEP);
    ADD(GATHER);
    ADD(QUEUE);
    ADD(TIMEOUT);
    ADD(TASKGROUP);
    ADD(ECHO);
    ADD(THREAD);
#undef ADD
    suite_add_tcase(s, tc);
    return run_suite(s);
}
