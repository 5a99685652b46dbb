/* test_aio_dns.c - coro_aio_getaddrinfo: numeric names inline, the resolver lane, failures, cancellation.
 * SPDX-License-Identifier: MIT
 *
 * Real lookups only where the answer needs no network: numeric addresses,
 * "localhost" (/etc/hosts), and "localhost" with an unknown service (glibc
 * fails it from /etc/services before any name server is asked). A host
 * name that does not exist is never looked up for real: that would ask the
 * machine's name server. Everything
 * about timing (a lookup in progress, queued, cancelled, timed out) uses a
 * fake resolver (the internal hook coro__aio_dns_lookup) that blocks on a
 * semaphore, so the outcomes do not depend on a name server.
 */
#include "aio/aio_int.h"
#include "aio_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* The fake resolver                                                        */
/* ------------------------------------------------------------------------ */

static sem_t fake_gate;    /* a blocking fake waits here */
static sem_t fake_entered; /* posted when a lookup starts */
static bool fake_block;
static int fake_rc, fake_errno;
static atomic_int fake_calls, fake_returned;

static void sem_wait_all(sem_t *s)
{
    while (sem_wait(s) != 0 && errno == EINTR)
        ;
}

static int fake_lookup(const char *host, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    (void)host;
    (void)service;
    (void)hints;
    atomic_fetch_add(&fake_calls, 1);
    sem_post(&fake_entered);
    if (fake_block)
        sem_wait_all(&fake_gate);
    int rc = fake_rc;
    if (rc == 0) {
        /* A real, malloc'd list, so that a leak of it would show. */
        struct addrinfo h = {0};
        h.ai_family = AF_INET;
        h.ai_socktype = SOCK_STREAM;
        h.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        rc = getaddrinfo("127.0.0.2", "53", &h, res);
    } else if (rc == EAI_SYSTEM)
        errno = fake_errno;
    atomic_fetch_add(&fake_returned, 1);
    return rc;
}

static void use_fake(bool block, int rc, int err)
{
    coro__aio_dns_lookup = fake_lookup;
    fake_block = block;
    fake_rc = rc;
    fake_errno = err;
}

/* "127.0.0.1:8080" (or "[::1]:443") for the first address, with the count. */
static void describe(const struct addrinfo *r, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN] = "?";
    int port = -1, n = 0;
    for (const struct addrinfo *p = r; p != NULL; p = p->ai_next)
        n++;
    if (r != NULL && r->ai_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)r->ai_addr;
        inet_ntop(AF_INET, &s->sin_addr, a, sizeof a);
        port = ntohs(s->sin_port);
        snprintf(buf, size, "%s:%d n=%d", a, port, n);
    } else if (r != NULL && r->ai_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)r->ai_addr;
        inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof a);
        port = ntohs(s->sin6_port);
        snprintf(buf, size, "[%s]:%d n=%d", a, port, n);
    } else
        snprintf(buf, size, "none");
}

typedef struct query {
    const char *host, *service;
    int family, flags;
} query;

/* Resolves q in the running task and records "ok <addr>" or "<exc>". */
static int resolve_rec(const char *tag, const query *q)
{
    struct addrinfo h = {0}, *r = NULL;
    h.ai_family = q->family;
    h.ai_socktype = SOCK_STREAM;
    h.ai_flags = q->flags;
    int rc = coro_aio_getaddrinfo(q->host, q->service, &h, &r);
    if (rc == CORO_OK) {
        char buf[128];
        describe(r, buf, sizeof buf);
        tr_add(&tr, "%s ok %s", tag, buf);
        freeaddrinfo(r);
    } else if (rc == CORO_THROWN)
        tr_add(&tr, "%s %s errno=%d", tag, exc_str(coro_exception(coro_current())),
               coro_aio_exc_errno(coro_exception(coro_current())));
    else
        tr_add(&tr, "%s rc=%d res=%s", tag, rc, r == NULL ? "NULL" : "set");
    return rc;
}

static void *other_body(coro *self, void *arg)
{
    (void)self;
    tr_add(&tr, "%s ran", (const char *)arg);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Numeric names: inline, no thread                                         */
/* ------------------------------------------------------------------------ */

static void *numeric_main(coro *self, void *arg)
{
    (void)self;
    const query *q = arg;
    coro_aio_future *o =
        coro_aio_create_task(coro_aio_get_running_loop(), other_body, "other", NULL);
    resolve_rec("main", q); /* does not suspend: "other" has not run yet */
    tr_add(&tr, "workers %d", coro_aio_resolver_workers(coro_aio_get_running_loop()));
    coro_aio_await(o, NULL);
    coro_aio_future_release(o);
    return NULL;
}

START_TEST(test_numeric_inline)
{
    static const struct {
        query q;
        const char *want;
    } cases[] = {
        {{"127.0.0.1", "8080", AF_INET, 0}, "main ok 127.0.0.1:8080 n=1; workers 0; other ran"},
        {{"::1", "443", AF_INET6, 0}, "main ok [::1]:443 n=1; workers 0; other ran"},
        {{"10.1.2.3", NULL, AF_UNSPEC, 0}, "main ok 10.1.2.3:0 n=1; workers 0; other ran"},
        {{NULL, "7", AF_INET, AI_PASSIVE}, "main ok 0.0.0.0:7 n=1; workers 0; other ran"},
        /* The caller asked for numeric only: the inline answer is final. */
        {{"not-a-number", "1", AF_INET, AI_NUMERICHOST | AI_NUMERICSERV},
         "main gaierror: [Errno -2] Name or service not known errno=-2; workers 0; other ran"},
        /* An address of the wrong family: answered inline too. */
        {{"::1", "1", AF_INET, 0}, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        ck_assert_int_eq(coro_aio_run(numeric_main, (void *)&cases[i].q, NULL, NULL, NULL),
                         CORO_OK);
        if (cases[i].want != NULL)
            ck_assert_str_eq(tr.buf, cases[i].want);
        else {
            ck_assert_msg(strncmp(tr.buf, "main gaierror: [Errno ", 22) == 0, "%s", tr.buf);
            ck_assert_ptr_nonnull(strstr(tr.buf, "; workers 0; other ran"));
        }
    }
}
END_TEST

/* hints NULL: getaddrinfo(3)'s defaults (glibc: AI_V4MAPPED | AI_ADDRCONFIG),
 * still inline; the same answer as a direct call. */
static char null_hints_got[128];
static int null_hints_rc;

static void *null_hints_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    struct addrinfo *r = NULL;
    null_hints_rc = coro_aio_getaddrinfo("127.0.0.1", "22", NULL, &r);
    if (null_hints_rc == CORO_THROWN)
        snprintf(null_hints_got, sizeof null_hints_got, "%s",
                 exc_str(coro_exception(coro_current())));
    else
        describe(r, null_hints_got, sizeof null_hints_got);
    tr_add(&tr, "workers %d", coro_aio_resolver_workers(coro_aio_get_running_loop()));
    freeaddrinfo(r);
    return NULL;
}

START_TEST(test_numeric_null_hints)
{
    struct addrinfo *r = NULL;
    int grc = getaddrinfo("127.0.0.1", "22", NULL, &r);
    char want[128];
    if (grc == 0)
        describe(r, want, sizeof want);
    else
        snprintf(want, sizeof want, "gaierror: [Errno %d] %s", grc, gai_strerror(grc));
    freeaddrinfo(r);
    ck_assert_int_eq(coro_aio_run(null_hints_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_int_eq(null_hints_rc, grc == 0 ? CORO_OK : CORO_THROWN);
    ck_assert_str_eq(null_hints_got, want);
    ck_assert_str_eq(tr.buf, "workers 0");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Real lookups that need no network                                        */
/* ------------------------------------------------------------------------ */

static void *localhost_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *o =
        coro_aio_create_task(coro_aio_get_running_loop(), other_body, "other", NULL);
    struct addrinfo h = {0}, *r = NULL;
    h.ai_socktype = SOCK_STREAM;
    int rc = coro_aio_getaddrinfo("localhost", "80", &h, &r);
    int n = 0, loopback = 0;
    for (struct addrinfo *p = r; p; p = p->ai_next, n++) {
        if (p->ai_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)p->ai_addr;
            loopback += (ntohl(s->sin_addr.s_addr) >> 24) == 127 && ntohs(s->sin_port) == 80;
        } else if (p->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)p->ai_addr;
            loopback += IN6_IS_ADDR_LOOPBACK(&s->sin6_addr) && ntohs(s->sin6_port) == 80;
        }
    }
    tr_add(&tr, "rc %d all loopback %d some %d workers %d", rc, loopback == n, n > 0,
           coro_aio_resolver_workers(coro_aio_get_running_loop()));
    freeaddrinfo(r);
    coro_aio_await(o, NULL);
    coro_aio_future_release(o);
    return NULL;
}

START_TEST(test_localhost)
{
    ck_assert_int_eq(coro_aio_run(localhost_main, NULL, NULL, NULL, NULL), CORO_OK);
    /* The lookup suspended the task: the other task ran first. */
    ck_assert_str_eq(tr.buf, "other ran; rc 0 all loopback 1 some 1 workers 1");
}
END_TEST

/* A real lookup on the resolver lane that fails without asking any name
 * server: "localhost" is not numeric, so it goes to the lane, and glibc
 * looks the service up (in /etc/services) before the host, so an unknown
 * service fails there. Python 3.11:
 *   socket.getaddrinfo('localhost', 'no-such-service', type=SOCK_STREAM)
 *   -> gaierror: [Errno -8] Servname not supported for ai_socktype
 * (A failing host name would query the machine's name server: not
 * loopback-only. The host-name failures' texts are checked with the fake
 * resolver below.) */
static coro_exc failed_exc;
static int failed_rc;

static void *failing_lookup_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    struct addrinfo h = {0}, *r = (void *)&h;
    h.ai_socktype = SOCK_STREAM;
    failed_rc = coro_aio_getaddrinfo("localhost", "no-such-service", &h, &r);
    if (failed_rc == CORO_THROWN)
        failed_exc = *coro_exception(coro_current());
    tr_add(&tr, "res %s", r == NULL ? "NULL" : "set");
    return NULL;
}

START_TEST(test_failing_lookup)
{
    ck_assert_int_eq(coro_aio_run(failing_lookup_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_int_eq(failed_rc, CORO_THROWN);
    ck_assert_str_eq(tr.buf, "res NULL");
    ck_assert_ptr_eq(failed_exc.type, &coro_aio_gaierror);
    ck_assert(coro_exc_matches(failed_exc.type, &coro_aio_OSError));
    ck_assert(coro_exc_matches(failed_exc.type, &coro_Exception));
    ck_assert_int_eq(coro_aio_exc_errno(&failed_exc), EAI_SERVICE);
    ck_assert_str_eq(failed_exc.message, "[Errno -8] Servname not supported for ai_socktype");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Failures as Python reports them (fake resolver)                          */
/* ------------------------------------------------------------------------ */

static void *one_lookup_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    query q = {"example.test", "http", AF_UNSPEC, 0};
    resolve_rec("lookup", &q);
    return NULL;
}

START_TEST(test_failure_messages)
{
    static const struct {
        int rc, err;
        const char *want;
    } cases[] = {
        {EAI_NONAME, 0, "lookup gaierror: [Errno -2] Name or service not known errno=-2"},
        {EAI_AGAIN, 0,
         "lookup gaierror: [Errno -3] Temporary failure in name resolution "
         "errno=-3"},
        {EAI_FAIL, 0,
         "lookup gaierror: [Errno -4] Non-recoverable failure in name resolution "
         "errno=-4"},
        {EAI_SYSTEM, ECONNREFUSED, "lookup OSError: [Errno 111] Connection refused errno=111"},
        {0, 0, "lookup ok 127.0.0.2:53 n=1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_reset(&tr);
        use_fake(false, cases[i].rc, cases[i].err);
        ck_assert_int_eq(coro_aio_run(one_lookup_main, NULL, NULL, NULL, NULL), CORO_OK);
        ck_assert_str_eq(tr.buf, cases[i].want);
    }
    ck_assert_int_eq(atomic_load(&fake_calls), 5);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The loop runs while a lookup blocks                                      */
/* ------------------------------------------------------------------------ */

static void *ticker(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    for (int i = 1; i <= 3; i++) {
        tr_add(&tr, "tick %d", i);
        coro_aio_sleep(0.001);
    }
    tr_add(&tr, "open");
    sem_post(&fake_gate);
    return NULL;
}

static void *keeps_running_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), ticker, NULL, NULL);
    query q = {"blocked.test", "53", AF_INET, 0};
    resolve_rec("lookup", &q);
    coro_aio_await(t, NULL);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_loop_keeps_running)
{
    use_fake(true, 0, 0);
    ck_assert_int_eq(coro_aio_run(keeps_running_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "tick 1; tick 2; tick 3; open; lookup ok 127.0.0.2:53 n=1");
}
END_TEST

/* Three lookups at once on a lane of two: two threads, all answered. */
static void *lane_body(coro *self, void *arg)
{
    (void)self;
    query q = {"x.test", "53", AF_INET, 0};
    resolve_rec(arg, &q);
    return NULL;
}

static void *lane_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_set_resolver_workers(loop, 2);
    case_ntasks = 0;
    case_spawn(lane_body, "a");
    case_spawn(lane_body, "b");
    case_spawn(lane_body, "c");
    coro_aio_sleep(0);
    sem_wait_all(&fake_entered);
    sem_wait_all(&fake_entered);
    tr_add(&tr, "running %d workers %d", atomic_load(&fake_calls), coro_aio_resolver_workers(loop));
    for (int i = 0; i < 3; i++)
        sem_post(&fake_gate);
    case_gather(0, 3);
    case_release_tasks();
    tr_add(&tr, "workers %d", coro_aio_resolver_workers(loop));
    return NULL;
}

START_TEST(test_lane_limit)
{
    use_fake(true, 0, 0);
    ck_assert_int_eq(coro_aio_run(lane_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_msg(strncmp(tr.buf, "running 2 workers 2; ", 21) == 0, "%s", tr.buf);
    ck_assert_ptr_nonnull(strstr(tr.buf, "a ok 127.0.0.2:53 n=1"));
    ck_assert_ptr_nonnull(strstr(tr.buf, "b ok 127.0.0.2:53 n=1"));
    ck_assert_ptr_nonnull(strstr(tr.buf, "c ok 127.0.0.2:53 n=1"));
    ck_assert_ptr_nonnull(strstr(tr.buf, "; workers 2"));
    ck_assert_int_eq(atomic_load(&fake_calls), 3);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Cancellation and timeouts                                                */
/* ------------------------------------------------------------------------ */

static void *timed_body(coro *self, void *arg)
{
    (void)self;
    query q = {"slow.test", "53", AF_INET, 0};
    if (resolve_rec(arg, &q) == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

static void *cancel_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    case_ntasks = 0;
    coro_aio_future *r = case_spawn(timed_body, "r");
    coro_aio_sleep(0);
    sem_wait_all(&fake_entered); /* the lookup is in progress */
    coro_aio_future_cancel(r, NULL);
    coro_aio_await(r, NULL);
    tr_add(&tr, "r cancelled %d, lookup returned %d", coro_aio_future_cancelled(r),
           atomic_load(&fake_returned));
    sem_post(&fake_gate); /* the thread finishes; its result goes to nobody */
    case_release_tasks();
    return NULL;
}

START_TEST(test_cancel_in_progress)
{
    use_fake(true, 0, 0);
    ck_assert_int_eq(coro_aio_run(cancel_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r CancelledError errno=0; r cancelled 1, lookup returned 0");
    /* loop_close joined the thread: the lookup returned, its list was freed
     * (the sanitizer and Valgrind configurations check that). */
    ck_assert_int_eq(atomic_load(&fake_returned), 1);
}
END_TEST

static void *cancel_queued_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_set_resolver_workers(coro_aio_get_running_loop(), 1);
    case_ntasks = 0;
    coro_aio_future *a = case_spawn(lane_body, "a");
    coro_aio_future *b = case_spawn(lane_body, "b");
    coro_aio_sleep(0);
    sem_wait_all(&fake_entered); /* a in progress, b queued */
    coro_aio_future_cancel(b, NULL);
    coro_aio_await(b, NULL);
    sem_post(&fake_gate);
    coro_aio_await(a, NULL);
    tr_add(&tr, "lookups %d", atomic_load(&fake_calls));
    case_release_tasks();
    return NULL;
}

START_TEST(test_cancel_queued)
{
    use_fake(true, 0, 0);
    ck_assert_int_eq(coro_aio_run(cancel_queued_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "b CancelledError errno=0; a ok 127.0.0.2:53 n=1; lookups 1");
    ck_assert_int_eq(atomic_load(&fake_calls), 1); /* b never ran */
}
END_TEST

static void *timeout_main(coro *self, void *arg)
{
    (void)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    int rc = coro_aio_timeout(0.5, timed_body, "scoped", NULL);
    tr_add(&tr, "scope rc %d %s at %.2f", rc, exc_str(coro_exception(self)), coro_aio_time(loop));
    coro_aio_future *t = coro_aio_create_task(loop, timed_body, "task", NULL);
    rc = coro_aio_wait_for(t, 0.25, NULL);
    tr_add(&tr, "wait_for rc %d %s at %.2f, task cancelled %d", rc, exc_str(coro_exception(self)),
           coro_aio_time(loop), coro_aio_future_cancelled(t));
    coro_aio_future_release(t);
    sem_post(&fake_gate);
    sem_post(&fake_gate);
    return NULL;
}

START_TEST(test_timeouts)
{
    use_fake(true, 0, 0);
    coro_aio_loop_options o = CORO_AIO_LOOP_OPTIONS_INIT;
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    ck_assert_int_eq(coro_aio_run(timeout_main, NULL, &o, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "scoped CancelledError errno=0; scope rc 4 TimeoutError at 0.50; "
                             "task CancelledError errno=0; wait_for rc 4 TimeoutError at "
                             "0.75, task cancelled 1");
    /* Each lookup a worker started had returned when close was done (it
     * joins them); one still queued at its cancellation never ran. */
    ck_assert_int_eq(atomic_load(&fake_returned), atomic_load(&fake_calls));
}
END_TEST

/* main leaves a lookup in progress: asyncio.run's shutdown cancels its task,
 * and loop_close waits for the thread, which a helper thread lets go. */
static void *opener(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    sem_post(&fake_gate);
    return NULL;
}

static pthread_t opener_thread;

static void *abandon_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *t = coro_aio_create_task(coro_aio_get_running_loop(), lane_body, "left", NULL);
    coro_aio_sleep(0);
    sem_wait_all(&fake_entered); /* in progress */
    pthread_create(&opener_thread, NULL, opener, NULL);
    coro_aio_future_release(t);
    return NULL;
}

START_TEST(test_close_waits_for_lookup)
{
    use_fake(true, 0, 0);
    ck_assert_int_eq(coro_aio_run(abandon_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_int_eq(atomic_load(&fake_returned), 1);
    pthread_join(opener_thread, NULL);
    ck_assert_str_eq(tr.buf, "left CancelledError errno=0");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Misuse                                                                   */
/* ------------------------------------------------------------------------ */

static void *null_res_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int rc = coro_aio_getaddrinfo("127.0.0.1", NULL, NULL, NULL);
    tr_add(&tr, "rc %d: %s", rc, coro_aio_last_error());
    return NULL;
}

START_TEST(test_misuse)
{
    struct addrinfo *r = (void *)&r;
    ck_assert_int_eq(coro_aio_getaddrinfo("127.0.0.1", "80", NULL, &r), CORO_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "getaddrinfo: called outside a task"));
    ck_assert_int_eq(coro_aio_run(null_res_main, NULL, NULL, NULL, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "rc -1: getaddrinfo: res is NULL");
    ck_assert_int_eq(coro_aio_set_resolver_workers(NULL, 1), CORO_EINVAL);
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_MONOTONIC);
    ck_assert_int_eq(coro_aio_set_resolver_workers(loop, -1), CORO_EINVAL);
    ck_assert_str_eq(coro_aio_last_error(),
                     "set_resolver_workers: an open loop and n >= 0 are required");
    ck_assert_int_eq(coro_aio_set_resolver_workers(loop, 3), CORO_OK);
    ck_assert_int_eq(coro_aio_set_resolver_workers(loop, 0), CORO_OK);
    ck_assert_int_eq(coro_aio_resolver_workers(loop), 0);
    ck_assert_int_eq(coro_aio_resolver_workers(NULL), 0);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    coro_exc e;
    coro_exc_set(&e, &coro_ValueError, "x");
    e.udata = (void *)(intptr_t)5;
    ck_assert_int_eq(coro_aio_exc_errno(&e), 0); /* not an OSError */
    ck_assert_int_eq(coro_aio_exc_errno(NULL), 0);
    ck_assert_ptr_eq(coro_aio_gaierror.base, &coro_aio_OSError);
    ck_assert_ptr_eq(coro_aio_OSError.base, &coro_Exception);
    ck_assert_str_eq(coro_aio_gaierror.name, "gaierror");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
    coro__aio_dns_lookup = getaddrinfo;
    sem_init(&fake_gate, 0, 0);
    sem_init(&fake_entered, 0, 0);
    atomic_store(&fake_calls, 0);
    atomic_store(&fake_returned, 0);
}

int main(void)
{
    Suite *s = suite_create("aio_dns");
    TCase *tc = tcase_create("getaddrinfo");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_numeric_inline);
    tcase_add_test(tc, test_numeric_null_hints);
    tcase_add_test(tc, test_localhost);
    tcase_add_test(tc, test_failing_lookup);
    tcase_add_test(tc, test_failure_messages);
    tcase_add_test(tc, test_loop_keeps_running);
    tcase_add_test(tc, test_lane_limit);
    tcase_add_test(tc, test_cancel_in_progress);
    tcase_add_test(tc, test_cancel_queued);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_close_waits_for_lookup);
    tcase_add_test(tc, test_misuse);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
