/* dns.c - getaddrinfo without blocking the loop: numeric names inline, others on a resolver lane.
 * SPDX-License-Identifier: MIT
 *
 * asyncio's loop.getaddrinfo runs socket.getaddrinfo in the default
 * executor; create_connection first tries _ipaddr_info, which answers
 * numeric addresses without a thread. coro_aio_getaddrinfo does both: it
 * first asks getaddrinfo(3) with AI_NUMERICHOST | AI_NUMERICSERV, which never
 * touches the network or a file, and only when that says EAI_NONAME for a
 * name it hands the lookup to the loop's resolver lane.
 *
 * The lane (coro__aio_dns, made on first use) is a small pool of its own,
 * apart from to_thread's: a slow name server must not hold up to_thread's
 * callers, nor a busy pool the lookups. Workers start one at a time when a
 * lookup finds none idle, up to max_workers (default 4), with every signal
 * blocked (signal handlers run on the loop's thread or any other, never a
 * resolver's).
 *
 * A lookup (dns_job) has two references, counted under the lane's `mu`: the
 * awaiting frame's and the lane's. The lane's goes when the lookup is
 * delivered (collect, on the loop's thread), dropped unstarted (the frame
 * took it out of the queue, or close emptied the queue), or finished while
 * nobody waits (the frame left, or the loop is closing). The last one frees
 * the job and, unless the frame took it (`handed`), the result, with
 * freeaddrinfo. So a cancelled await returns at once, and the result that
 * comes later is freed by whichever side lets go last.
 *
 * Delivery: a worker that finishes a lookup someone waits for puts it on the
 * done list and, if no collect is scheduled, schedules one with
 * call_soon_threadsafe; collect (loop thread) finishes each job's future, so
 * the task resumes in the next iteration, as a task awaiting wrap_future's
 * future does.
 *
 * Close (coro__aio_dns_close, from loop_close once the pending tasks were
 * destroyed): no new work; the workers finish the lookup in hand
 * (getaddrinfo cannot be interrupted) and are joined; queued and delivered
 * lookups are dropped. The struct itself stays until the loop's memory goes
 * (coro__aio_dns_free), as a task the caller still holds may leave its await
 * later.
 */
#include "aio_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* How many resolver threads a loop starts at most, by default. */
#define DNS_DEFAULT_WORKERS 4

int (*coro__aio_dns_lookup)(const char *host, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res) = getaddrinfo;

typedef struct dns_job {
    struct dns_job *next; /* the queue or the done list */
    int refs;             /* under mu */
    bool queued;          /* in the queue (not started), under mu */
    bool handed;          /* the frame took res, under mu */
    char *host, *service; /* copies; NULL stays NULL */
    bool has_hints;
    struct addrinfo hints; /* the four fields a caller may set */
    int rc, err;           /* getaddrinfo's status; errno for EAI_SYSTEM */
    struct addrinfo *res;
    coro_aio_future *fut; /* loop thread only: what the frame awaits */
} dns_job;

typedef struct coro__aio_dns {
    coro_aio_loop *loop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dns_job *q_head, *q_tail;
    size_t q_len;
    dns_job *done_head, *done_tail;
    bool collect_scheduled;
    bool closed;
    pthread_t *workers;
    int nworkers, max_workers, idle;
} coro__aio_dns;

static void job_free(dns_job *j)
{
    if (j->res != NULL && !j->handed)
        freeaddrinfo(j->res);
    free(j->host);
    free(j->service);
    free(j);
}

/* Drops one reference; mu held. True when the caller must job_free (after
 * unlocking). */
static bool job_unref_locked(dns_job *j) { return --j->refs == 0; }

static void job_unref(coro__aio_dns *d, dns_job *j)
{
    pthread_mutex_lock(&d->mu);
    bool last = job_unref_locked(j);
    pthread_mutex_unlock(&d->mu);
    if (last)
        job_free(j);
}

static coro__aio_dns *lane(coro_aio_loop *loop)
{
    if (loop->dns != NULL)
        return loop->dns;
    coro__aio_dns *d = coro__aio_calloc(1, sizeof *d);
    if (d == NULL) {
        coro__aio_fail(CORO_ENOMEM, "getaddrinfo: could not allocate the resolver lane");
        return NULL;
    }
    d->loop = loop;
    d->max_workers = DNS_DEFAULT_WORKERS;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    loop->dns = d;
    return d;
}

/* ------------------------------------------------------------------------ */
/* The lane's threads                                                       */
/* ------------------------------------------------------------------------ */

static void collect(void *arg);

static void *worker(void *arg)
{
    coro__aio_dns *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (d->q_head == NULL && !d->closed) {
            d->idle++;
            pthread_cond_wait(&d->cv, &d->mu);
            d->idle--;
        }
        if (d->closed)
            break; /* close drops what is still queued */
        dns_job *j = d->q_head;
        d->q_head = j->next;
        if (d->q_head == NULL)
            d->q_tail = NULL;
        d->q_len--;
        j->queued = false;
        j->next = NULL;
        pthread_mutex_unlock(&d->mu);

        struct addrinfo *res = NULL;
        int rc = coro__aio_dns_lookup(j->host, j->service, j->has_hints ? &j->hints : NULL, &res);
        int err = rc == EAI_SYSTEM ? errno : 0;

        pthread_mutex_lock(&d->mu);
        j->rc = rc;
        j->err = err;
        j->res = rc == 0 ? res : NULL;
        if (j->refs == 1 || d->closed) {
            /* Nobody waits (the frame left), or the loop is closing: the
             * lane lets go here; the last reference frees the result. */
            if (job_unref_locked(j)) {
                pthread_mutex_unlock(&d->mu);
                job_free(j);
                pthread_mutex_lock(&d->mu);
            }
            continue;
        }
        if (d->done_tail)
            d->done_tail->next = j;
        else
            d->done_head = j;
        d->done_tail = j;
        if (!d->collect_scheduled) {
            d->collect_scheduled = true;
            pthread_mutex_unlock(&d->mu);
            /* The loop is open while a worker runs: close joins us first. */
            int wrc = coro_aio_call_soon_threadsafe(d->loop, collect, d);
            pthread_mutex_lock(&d->mu);
            if (wrc < 0) {
                d->collect_scheduled = false; /* the next lookup to finish tries again */
                fprintf(stderr, "libcoro-aio: out of memory, a lookup waits for the next one\n");
            }
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Loop thread: hands the finished lookups to their frames. */
static void collect(void *arg)
{
    coro__aio_dns *d = arg;
    pthread_mutex_lock(&d->mu);
    dns_job *j = d->done_head;
    d->done_head = d->done_tail = NULL;
    d->collect_scheduled = false;
    pthread_mutex_unlock(&d->mu);
    while (j != NULL) {
        dns_job *next = j->next;
        j->next = NULL;
        if (j->fut != NULL && j->fut->state == AIO_PENDING)
            coro__aio_future_finish(j->fut, NULL, NULL);
        job_unref(d, j);
        j = next;
    }
}

/* Queues j (the lane's reference is in j->refs); starts a worker when the
 * lookups waiting outnumber the idle workers and the lane may grow.
 * CORO_ENOMEM when the lane has no worker and none could be started. */
static int submit(coro__aio_dns *d, dns_job *j)
{
    pthread_mutex_lock(&d->mu);
    if (d->q_len + 1 > (size_t)d->idle && d->nworkers < d->max_workers) {
        int rc;
        pthread_t *w = coro__aio_realloc(d->workers, (size_t)(d->nworkers + 1) * sizeof *w);
        if (w == NULL)
            rc = ENOMEM;
        else {
            d->workers = w;
            sigset_t all, old;
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &old);
            rc = pthread_create(&w[d->nworkers], NULL, worker, d);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            if (rc == 0)
                d->nworkers++;
        }
        if (rc != 0 && d->nworkers == 0) {
            pthread_mutex_unlock(&d->mu);
            return coro__aio_fail(CORO_ENOMEM, "getaddrinfo: could not start a resolver thread: %s",
                                  strerror(rc));
        }
    }
    j->queued = true;
    j->next = NULL;
    if (d->q_tail)
        d->q_tail->next = j;
    else
        d->q_head = j;
    d->q_tail = j;
    d->q_len++;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return CORO_OK;
}

/* The frame gives up a lookup still queued: takes it out (it never runs)
 * and drops the lane's reference; mu held. */
static void unqueue_locked(coro__aio_dns *d, dns_job *j)
{
    dns_job **p = &d->q_head, *prev = NULL;
    while (*p != NULL && *p != j) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p == NULL)
        return;
    *p = j->next;
    if (d->q_tail == j)
        d->q_tail = prev;
    d->q_len--;
    j->queued = false;
    j->next = NULL;
    j->refs--; /* the lane's; the frame still holds one */
}

void coro__aio_dns_close(coro_aio_loop *loop)
{
    coro__aio_dns *d = loop->dns;
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    d->closed = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < d->nworkers; i++)
        pthread_join(d->workers[i], NULL);
    d->nworkers = 0;
    pthread_mutex_lock(&d->mu);
    dns_job *q = d->q_head, *done = d->done_head;
    d->q_head = d->q_tail = d->done_head = d->done_tail = NULL;
    d->q_len = 0;
    for (dns_job *j = q; j != NULL; j = j->next)
        j->queued = false;
    pthread_mutex_unlock(&d->mu);
    for (dns_job *lists[2] = {q, done}, **l = lists; l < lists + 2; l++)
        for (dns_job *j = *l; j != NULL;) {
            dns_job *next = j->next;
            j->next = NULL;
            job_unref(d, j);
            j = next;
        }
}

void coro__aio_dns_free(coro_aio_loop *loop)
{
    coro__aio_dns *d = loop->dns;
    if (d == NULL)
        return;
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->workers);
    free(d);
    loop->dns = NULL;
}

int coro_aio_set_resolver_workers(coro_aio_loop *loop, int n)
{
    if (loop == NULL || loop->closed || n < 0)
        return coro__aio_fail(CORO_EINVAL, "set_resolver_workers: an open loop and n >= 0 are "
                                           "required");
    coro__aio_dns *d = lane(loop);
    if (d == NULL)
        return CORO_ENOMEM;
    pthread_mutex_lock(&d->mu);
    d->max_workers = n == 0 ? DNS_DEFAULT_WORKERS : n;
    pthread_mutex_unlock(&d->mu);
    return CORO_OK;
}

int coro_aio_resolver_workers(const coro_aio_loop *loop)
{
    if (loop == NULL || loop->dns == NULL)
        return 0;
    coro__aio_dns *d = loop->dns;
    pthread_mutex_lock(&d->mu);
    int n = d->nworkers;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* ------------------------------------------------------------------------ */
/* getaddrinfo                                                              */
/* ------------------------------------------------------------------------ */

/* Reports a failed lookup in the task as Python's socket module raises it:
 * gaierror "[Errno <EAI code>] <gai_strerror>", or for EAI_SYSTEM the
 * OSError of errno. */
static int raise_gai(coro *self, int code, int err)
{
    coro_exc e;
    if (code == EAI_SYSTEM) {
        coro_exc_set(&e, &coro_aio_OSError, "");
        snprintf(e.message, sizeof e.message, "[Errno %d] %s", err, strerror(err));
        e.udata = (void *)(intptr_t)err;
    } else {
        coro_exc_set(&e, &coro_aio_gaierror, "");
        snprintf(e.message, sizeof e.message, "[Errno %d] %s", code, gai_strerror(code));
        e.udata = (void *)(intptr_t)code;
    }
    return coro__aio_throw(self, &e);
}

/* An IPv4 or IPv6 address in the standard text form (inet_pton's). */
static bool numeric_host(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* A port number: decimal digits only. */
static bool numeric_service(const char *service)
{
    if (*service == '\0')
        return false;
    for (const char *p = service; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static bool dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return true;
    return (*dst = coro__aio_strdup(src)) != NULL;
}

int coro_aio_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                         struct addrinfo **res)
{
    coro *self = NULL;
    if (res == NULL)
        return coro__aio_fail(CORO_EINVAL, "getaddrinfo: res is NULL");
    *res = NULL;
    int rc = coro__aio_check_await("getaddrinfo", &self);
    if (rc < 0)
        return rc;

    /* Numeric host and service: answered here, as _ipaddr_info would. A
     * NULL hints means what getaddrinfo(3) gives it (glibc: AI_V4MAPPED |
     * AI_ADDRCONFIG). */
    struct addrinfo h = {0};
    if (hints != NULL) {
        h.ai_flags = hints->ai_flags;
        h.ai_family = hints->ai_family;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
    } else
        h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
    bool numeric = (host == NULL || (h.ai_flags & AI_NUMERICHOST) || numeric_host(host)) &&
                   (service == NULL || (h.ai_flags & AI_NUMERICSERV) || numeric_service(service));
    h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    struct addrinfo *r = NULL;
    int grc = getaddrinfo(host, service, &h, &r);
    if (grc == 0) {
        *res = r;
        return CORO_OK;
    }
    /* A failure is the answer, unless a name still has to be looked up. */
    if (grc != EAI_NONAME || numeric)
        return raise_gai(self, grc, grc == EAI_SYSTEM ? errno : 0);

    coro_aio_loop *loop = coro__aio_running;
    coro__aio_dns *d = lane(loop);
    if (d == NULL)
        return CORO_ENOMEM;
    dns_job *j = coro__aio_calloc(1, sizeof *j);
    if (j == NULL)
        return coro__aio_fail(CORO_ENOMEM, "getaddrinfo: could not allocate the lookup");
    if (!dup_str(&j->host, host) || !dup_str(&j->service, service)) {
        job_free(j);
        return coro__aio_fail(CORO_ENOMEM, "getaddrinfo: could not copy the names");
    }
    if (hints != NULL) {
        j->has_hints = true;
        j->hints.ai_flags = hints->ai_flags;
        j->hints.ai_family = hints->ai_family;
        j->hints.ai_socktype = hints->ai_socktype;
        j->hints.ai_protocol = hints->ai_protocol;
    }
    if ((j->fut = coro__aio_future_alloc(loop)) == NULL) {
        job_free(j);
        return CORO_ENOMEM;
    }
    coro_aio_future *fut = j->fut;
    j->refs = 2; /* this frame's, the lane's */
    if ((rc = submit(d, j)) < 0) {
        coro_aio_future_release(fut);
        job_free(j);
        return rc;
    }

    rc = coro_aio_await(fut, NULL);

    j->fut = NULL;
    pthread_mutex_lock(&d->mu);
    if (rc == CORO_OK) {
        r = j->res;
        grc = j->rc;
        j->handed = true;
    } else if (j->queued)
        unqueue_locked(d, j); /* cancelled before a worker took it: it never runs */
    int err = j->err;
    bool last = job_unref_locked(j);
    pthread_mutex_unlock(&d->mu);
    if (last)
        job_free(j);
    coro_aio_future_release(fut);
    if (rc != CORO_OK)
        return rc; /* CancelledError (or the task destroyed): in self already */
    if (grc != 0)
        return raise_gai(self, grc, err);
    *res = r;
    return CORO_OK;
}
