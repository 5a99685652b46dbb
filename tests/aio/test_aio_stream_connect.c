/* test_aio_stream_connect.c - open_connection over several resolved addresses: order, errors, timeout.
 * SPDX-License-Identifier: MIT
 *
 * Host names here resolve through a fake resolver (the internal hook
 * coro__aio_dns_lookup) to a fixed list of loopback addresses, in that
 * order: a closed 127.0.0.2 or ::1 port refuses, 255.255.255.255 fails at
 * once with ENETUNREACH (Linux never connects TCP to a broadcast address),
 * and servers on 127.0.0.1 and 127.0.0.3 (one port) greet with "A" and "B".
 * Each expected line is what Python 3.11.7 prints for the same list, with
 * asyncio's getaddrinfo replaced the same way (the port shown as P):
 *
 *   v4v6     OSError: Multiple exceptions: [Errno 111] Connect call failed
 *            ('127.0.0.2', P), [Errno 111] Connect call failed ('::1', P, 0, 0)
 *            errno None
 *   errnos   OSError: Multiple exceptions: [Errno 111] Connect call failed
 *            ('127.0.0.2', P), [Errno 101] Network is unreachable errno None
 *   same     ConnectionRefusedError: [Errno 111] Connect call failed
 *            ('127.0.0.2', P) errno 111
 *   same-now OSError: [Errno 101] Network is unreachable errno 101
 *   second   connected A ('127.0.0.1', P)
 *   order    connected B ('127.0.0.3', P)
 *   order2   connected A ('127.0.0.1', P)
 *   hang2, refused-hang under wait_for(..., 0.5): TimeoutError at 0.5
 */
#include "aio/stream_int.h"
#include "aio_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NONE CORO_AIO_NO_TIMEOUT

static coro_aio_loop *lp(void) { return coro_aio_get_running_loop(); }

static double now(void) { return coro_aio_time(lp()); }

/* ------------------------------------------------------------------------ */
/* The fake resolver                                                        */
/* ------------------------------------------------------------------------ */

typedef struct fake_name {
    const char *name;
    const char *addrs[4]; /* numeric, in the order "resolved" */
} fake_name;

static const fake_name names[] = {
    {"v4v6.test", {"127.0.0.2", "::1"}},
    {"errnos.test", {"127.0.0.2", "255.255.255.255"}},
    {"same.test", {"127.0.0.2", "127.0.0.2"}},
    {"same-now.test", {"255.255.255.255", "255.255.255.255"}},
    {"second.test", {"127.0.0.2", "127.0.0.1"}},
    {"order.test", {"127.0.0.2", "127.0.0.3", "127.0.0.1"}},
    {"order2.test", {"127.0.0.1", "127.0.0.3"}},
    {"hang2.test", {"127.0.0.1", "127.0.0.1"}},
    {"refused-hang.test", {"127.0.0.2", "127.0.0.1"}},
};

/* getaddrinfo(3) of each numeric address (the caller's hints, so a family
 * filters), the lists chained in order: glibc's freeaddrinfo frees node by
 * node, so the caller's freeaddrinfo frees the chain, and a leak of it
 * would show. Other names go to the real resolver. */
static int fake_lookup(const char *host, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (host == NULL || strcmp(host, names[i].name) != 0)
            continue;
        struct addrinfo h = *hints, *head = NULL, **tail = &head;
        h.ai_flags |= AI_NUMERICHOST;
        for (const char *const *a = names[i].addrs; *a != NULL; a++) {
            struct addrinfo *r = NULL;
            if (getaddrinfo(*a, service, &h, &r) != 0)
                continue; /* another family */
            *tail = r;
            while (*tail != NULL)
                tail = &(*tail)->ai_next;
        }
        *res = head;
        return head != NULL ? 0 : EAI_NONAME;
    }
    return getaddrinfo(host, service, hints, res);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static int port;

/* Appends s to the transcript with every occurrence of the case's port
 * written as P. */
static void tr_port(const char *s)
{
    char num[16], out[512];
    int n = snprintf(num, sizeof num, "%d", port);
    size_t k = 0;
    while (*s != '\0' && k + 2 < sizeof out) {
        if (strncmp(s, num, (size_t)n) == 0 && (s[n] < '0' || s[n] > '9')) {
            out[k++] = 'P';
            s += n;
        } else {
            out[k++] = *s++;
        }
    }
    out[k] = '\0';
    tr_add(&tr, "%s", out);
}

/* "<Type>: <message> errno <n>" of the running task's exception, or the
 * status's name. */
static void rec_status(const char *tag, int rc)
{
    char buf[400];
    if (rc == CORO_THROWN) {
        const coro_exc *e = coro_exception(coro_current());
        snprintf(buf, sizeof buf, "%s %s errno %d", tag, exc_str(e), coro_aio_exc_errno(e));
    } else {
        snprintf(buf, sizeof buf, "%s %s", tag, rc == CORO_OK ? "ok" : coro_err_name(rc));
    }
    tr_port(buf);
}

/* A socket bound (not listening) to addr:port, so that the port is closed
 * there and nobody else takes it; -1 when addr is not available. */
static int reserve(int family, const char *addr, int p)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* ------------------------------------------------------------------------ */
/* Errors and order                                                         */
/* ------------------------------------------------------------------------ */

static void *greet_handler(coro *self, coro_aio_stream *s, void *arg)
{
    (void)self;
    coro_aio_stream_write(s, arg, strlen(arg));
    coro_aio_stream_close(s);
    return NULL;
}

typedef struct connect_case {
    const char *host;
    const char *want;
} connect_case;

static const connect_case connect_cases[] = {
    {"v4v6.test", "OSError: Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.2', P), "
                  "[Errno 111] Connect call failed ('::1', P, 0, 0) errno 0"},
    {"errnos.test", "OSError: Multiple exceptions: [Errno 111] Connect call failed "
                    "('127.0.0.2', P), [Errno 101] Network is unreachable errno 0"},
    {"same.test", "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.2', P) "
                  "errno 111"},
    {"same-now.test", "OSError: [Errno 101] Network is unreachable errno 101"},
    {"second.test", "ok; connected A ('127.0.0.1', P)"},
    {"order.test", "ok; connected B ('127.0.0.3', P)"},
    {"order2.test", "ok; connected A ('127.0.0.1', P)"},
};

static void *connect_main(coro *self, void *arg)
{
    (void)self;
    const connect_case *c = arg;
    coro_aio_server *a = NULL, *b = NULL;
    int rc = coro_aio_start_server(lp(), greet_handler, "A\n", "127.0.0.1", 0, NULL, &a);
    port = coro_aio_server_port(a);
    int rc2 = coro_aio_start_server(lp(), greet_handler, "B\n", "127.0.0.3", port, NULL, &b);
    int fd2 = reserve(AF_INET, "127.0.0.2", port);
    int fd6 = reserve(AF_INET6, "::1", port);
    if (rc != CORO_OK || rc2 != CORO_OK || fd2 < 0)
        tr_add(&tr, "setup failed: %d %d %d", rc, rc2, fd2);
    if (fd6 < 0 && strcmp(c->host, "v4v6.test") == 0) {
        tr_add(&tr, "connect %s; out NULL", c->want); /* no IPv6 loopback here */
    } else {
        coro_aio_stream *s = NULL;
        rc = coro_aio_open_connection(c->host, port, NULL, &s);
        rec_status("connect", rc);
        if (rc == CORO_OK) {
            char line[8], peer[96];
            size_t len = 0;
            coro_aio_stream_readline(s, line, sizeof line, &len);
            struct sockaddr_storage ss;
            socklen_t slen = sizeof ss;
            coro_aio_stream_peername(s, &ss, &slen);
            coro__aio_addr_repr((struct sockaddr *)&ss, slen, peer, sizeof peer);
            char buf[160];
            snprintf(buf, sizeof buf, "connected %.*s %s", len > 0 ? (int)len - 1 : 0, line, peer);
            tr_port(buf);
        }
        tr_add(&tr, "out %s", s == NULL ? "NULL" : "set");
        coro_aio_stream_release(s);
    }
    if (fd6 >= 0)
        close(fd6);
    if (fd2 >= 0)
        close(fd2);
    coro_aio_server_release(a);
    coro_aio_server_release(b);
    return NULL;
}

START_TEST(test_several_addresses)
{
    const connect_case *c = &connect_cases[_i];
    ck_assert_int_eq(run_in_virtual_loop(connect_main, (void *)c), CORO_OK);
    char want[512];
    snprintf(want, sizeof want, "connect %s; out %s", c->want,
             strncmp(c->want, "ok;", 3) == 0 ? "set" : "NULL");
    ck_assert_str_eq(tr.buf, want);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* connect_timeout covers every address                                     */
/* ------------------------------------------------------------------------ */

/* A listener on 127.0.0.1 whose accept queue is full: the next SYN is
 * dropped and that connect hangs. */
static int full_listener(int *lfd, int *c1)
{
    *lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(*lfd, (struct sockaddr *)&a, sizeof a);
    listen(*lfd, 0);
    socklen_t len = sizeof a;
    getsockname(*lfd, (struct sockaddr *)&a, &len);
    *c1 = socket(AF_INET, SOCK_STREAM, 0);
    connect(*c1, (struct sockaddr *)&a, sizeof a); /* fills the queue */
    return ntohs(a.sin_port);
}

static const char *const timeout_hosts[] = {"hang2.test", "refused-hang.test"};

/* Two addresses that each hang (or one refusal, then a hang) under one
 * connect_timeout of 2 s: TimeoutError at 2.0, not after 2 s per address;
 * the refusal before it is dropped, as wait_for drops it in Python. */
static void *timeout_main(coro *self, void *arg)
{
    (void)self;
    int lfd, c1;
    port = full_listener(&lfd, &c1);
    int fd2 = reserve(AF_INET, "127.0.0.2", port);
    coro_aio_stream_options o = CORO_AIO_STREAM_OPTIONS_INIT;
    o.connect_timeout = 2;
    coro_aio_stream *s = NULL;
    int rc = coro_aio_open_connection(arg, port, &o, &s);
    char tag[32];
    snprintf(tag, sizeof tag, "%.1f", now());
    rec_status(tag, rc);
    coro_aio_stream_release(s);
    close(fd2);
    close(c1);
    close(lfd);
    return NULL;
}

START_TEST(test_connect_timeout_every_address)
{
    ck_assert_int_eq(run_in_virtual_loop(timeout_main, (void *)timeout_hosts[_i]), CORO_OK);
    ck_assert_str_eq(tr.buf, "2.0 TimeoutError errno 0");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
    coro__aio_dns_lookup = fake_lookup;
}

static void teardown(void) { coro__aio_dns_lookup = getaddrinfo; }

int main(void)
{
    Suite *s = suite_create("aio_stream_connect");
    TCase *tc = tcase_create("connect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_several_addresses, 0,
                        (int)(sizeof connect_cases / sizeof connect_cases[0]));
    tcase_add_loop_test(tc, test_connect_timeout_every_address, 0,
                        (int)(sizeof timeout_hosts / sizeof timeout_hosts[0]));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
