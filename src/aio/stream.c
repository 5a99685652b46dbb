/* stream.c - asyncio's StreamReader / StreamWriter on a socket, and open_connection.
 * SPDX-License-Identifier: MIT
 *
 * No protocol object reads in the background: every read call tries recv(2)
 * in the calling task and waits for readiness (fd.c) only on EAGAIN, so a
 * read that finds data costs one system call and no allocation. Writes try
 * send(2) at once while nothing is buffered; the rest is buffered and a
 * flusher task sends it when the socket is writable (what asyncio's
 * transport does in its writer callback), resolving drain's future when the
 * buffer falls to the low-water mark. The struct's invariants are in
 * stream_int.h.
 */
#include "stream_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_LIMIT 65536
#define DEFAULT_HIGH 65536
#define MIN_READ 4096 /* free room readuntil wants before a recv into rbuf */

void coro_aio_stream_options_init(coro_aio_stream_options *opt)
{
    if (opt != NULL) {
        coro_aio_stream_options o = CORO_AIO_STREAM_OPTIONS_INIT;
        *opt = o;
    }
}

int coro__aio_stream_opts(const coro_aio_stream_options *opt, coro_aio_stream_options *o,
                          const char *what)
{
    coro_aio_stream_options_init(o);
    if (opt != NULL)
        *o = *opt;
    if (o->limit == 0)
        o->limit = DEFAULT_LIMIT;
    if (o->write_high == 0)
        o->write_high = DEFAULT_HIGH;
    if (o->write_low == 0)
        o->write_low = o->write_high / 4;
    if (o->write_low > o->write_high)
        return coro__aio_fail(CORO_EINVAL, "%s: write_low (%zu) must not exceed write_high (%zu)",
                              what, o->write_low, o->write_high);
    if (isnan(o->connect_timeout))
        return coro__aio_fail(CORO_EINVAL, "%s: connect_timeout is NaN", what);
    if (o->backlog < 0)
        return coro__aio_fail(CORO_EINVAL, "%s: backlog %d is negative", what, o->backlog);
    if (o->backlog == 0)
        o->backlog = 100;
    if (o->family != AF_UNSPEC && o->family != AF_INET && o->family != AF_INET6)
        return coro__aio_fail(CORO_EINVAL, "%s: family %d is not AF_UNSPEC, AF_INET or AF_INET6",
                              what, o->family);
    return CORO_OK;
}

coro_aio_stream *coro__aio_stream_new(coro_aio_loop *loop, int fd, const coro_aio_stream_options *o)
{
    coro_aio_stream *s = coro__aio_calloc(1, sizeof *s);
    coro_aio_future *f = s != NULL ? coro__aio_future_alloc(loop) : NULL;
    if (f == NULL) {
        free(s);
        close(fd);
        return NULL;
    }
    s->loop = loop;
    s->fd = fd;
    s->refs = 1;
    s->limit = o->limit;
    s->high = o->write_high;
    s->low = o->write_low;
    s->closed_fut = f;
    int domain = 0;
    socklen_t dlen = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) == 0)
        s->tcp = domain == AF_INET || domain == AF_INET6;
    return s;
}

void coro__aio_close_sock(coro_aio_loop *loop, int fd)
{
    if (loop->closed)
        close(fd);
    else
        coro_aio_close_fd(loop, fd);
}

/* The drain waiters' future resolves (protocol.resume_writing / the
 * connection_lost that wakes them). */
static void wake_drainers(coro_aio_stream *s)
{
    size_t n = s->ndrainers;
    s->ndrainers = 0;
    for (size_t i = 0; i < n; i++) {
        coro_aio_future *f = s->drainers[i];
        if (f->state == AIO_PENDING && !s->loop->closed)
            coro__aio_future_finish(f, NULL, NULL);
        coro__aio_unref(f);
    }
}

/* A new drain waiter's future, on the list (cancelled ones leave it first). */
static coro_aio_future *add_drainer(coro_aio_stream *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->ndrainers; i++) {
        if (s->drainers[i]->state == AIO_PENDING)
            s->drainers[k++] = s->drainers[i];
        else
            coro__aio_unref(s->drainers[i]);
    }
    s->ndrainers = k;
    if (k == s->drainers_cap) {
        size_t cap = k ? k * 2 : 2;
        coro_aio_future **v = coro__aio_realloc(s->drainers, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->drainers = v;
        s->drainers_cap = cap;
    }
    coro_aio_future *f = coro__aio_future_alloc(s->loop);
    if (f != NULL)
        s->drainers[s->ndrainers++] = coro__aio_ref(f);
    return f;
}

/* connection_lost: the socket goes, the buffers with it, waiters wake. */
static void finish_close(coro_aio_stream *s)
{
    if (s->fd >= 0) {
        int fd = s->fd;
        s->fd = -1;
        coro__aio_close_sock(s->loop, fd);
    }
    free(s->wbuf);
    s->wbuf = NULL;
    s->wstart = s->wlen = s->wcap = 0;
    s->paused = false;
    wake_drainers(s);
    if (s->closed_fut->state == AIO_PENDING && !s->loop->closed)
        coro__aio_future_finish(s->closed_fut, NULL, NULL);
}

static void unref(coro_aio_stream *s)
{
    if (--s->refs > 0)
        return;
    if (s->fd >= 0) {
        s->closing = true;
        finish_close(s);
    }
    free(s->rbuf);
    free(s->wbuf);
    wake_drainers(s);
    free(s->drainers);
    coro_aio_future_release(s->closed_fut);
    free(s);
}

/* Raises *x in the running task (CORO_THROWN), or reports misuse when the
 * caller is not a task. */
static int raise_exc(const coro_exc *x, const char *what)
{
    coro *self = NULL;
    int rc = coro__aio_check_await(what, &self);
    if (rc < 0)
        return rc;
    return coro__aio_throw(self, x);
}

/* The connection's error (the reader's _exception) into the task. */
static int raise_err(coro_aio_stream *s, const char *what)
{
    coro_exc x;
    coro__aio_os_exc(&x, s->err, NULL);
    return raise_exc(&x, what);
}

/* A recv / send failed with err: the connection is lost. */
static int lose(coro_aio_stream *s, int err, const char *what)
{
    if (s->err == 0)
        s->err = err;
    return raise_err(s, what);
}

/* A byte count no buffer can have: a negative length converted to size_t.
 * Refused before recv / send would run past the caller's buffer. */
static int check_count(size_t n, const char *what)
{
    if (n > (size_t)PTRDIFF_MAX)
        return coro__aio_fail(CORO_EINVAL,
                              "%s: n is %zu, over PTRDIFF_MAX (a negative length converted "
                              "to size_t?)",
                              what, n);
    return CORO_OK;
}

static int check_stream(const coro_aio_stream *s, const char *what)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: stream is NULL", what);
    if (s->closing)
        return coro__aio_fail(CORO_EINVAL, "%s: the stream is closed", what);
    return CORO_OK;
}

/* A task of another loop must not wait on the stream: the fd would be
 * registered with that loop's poller, which the stream's close never tells
 * (asyncio: "got Future attached to a different loop"). */
static int check_loop(const coro_aio_stream *s, const char *what)
{
    if (s->loop != coro__aio_running)
        return coro__aio_fail(CORO_EINVAL,
                              "%s: the stream belongs to another event loop (Task got Future "
                              "attached to a different loop)",
                              what);
    return CORO_OK;
}

/* Waits until the socket is readable; the caller saw EAGAIN. */
static int wait_in(coro_aio_stream *s, const char *what)
{
    if (s->reading)
        return coro__aio_fail(CORO_EBUSY,
                              "%s() called while another coroutine is already "
                              "waiting for incoming data",
                              what);
    coro *self = NULL;
    int rc = coro__aio_check_await(what, &self);
    if (rc == CORO_OK)
        rc = check_loop(s, what);
    if (rc < 0)
        return rc;
    coro_aio_fd_clear_ready(s->loop, s->fd, CORO_AIO_FD_READ);
    s->reading = true;
    rc = coro_aio_wait_readable(s->fd, CORO_AIO_NO_TIMEOUT);
    s->reading = false;
    return rc;
}

/* recv(2) for the stream: > 0 bytes, 0 at EOF (s->eof set), -1 with *rc the
 * status of a failure or of an interrupted wait. On a TCP socket it waits
 * first when the last read found the queue empty and no event came since,
 * and marks the queue empty after a short read. */
static ssize_t sock_recv(coro_aio_stream *s, void *buf, size_t n, const char *what, int *rc)
{
    for (;;) {
        if (s->tcp && !coro__aio_fd_maybe_readable(s->loop, s->fd) &&
            (*rc = wait_in(s, what)) != CORO_OK)
            return -1;
        ssize_t r = recv(s->fd, buf, n, 0);
        if (r > 0) {
            if (s->tcp && (size_t)r < n)
                coro__aio_fd_drained(s->loop, s->fd);
            return r;
        }
        if (r == 0) {
            s->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *rc = lose(s, errno, what);
            return -1;
        }
        if ((*rc = wait_in(s, what)) != CORO_OK)
            return -1;
    }
}

/* Makes room for `need` more bytes after the buffered ones. */
static int rbuf_room(coro_aio_stream *s, size_t need)
{
    if (s->rcap - s->rstart - s->rlen >= need)
        return CORO_OK;
    if (s->rstart > 0) {
        memmove(s->rbuf, s->rbuf + s->rstart, s->rlen);
        s->rstart = 0;
        if (s->rcap - s->rlen >= need)
            return CORO_OK;
    }
    size_t cap = s->rcap ? s->rcap : MIN_READ;
    while (cap - s->rlen < need)
        cap *= 2;
    unsigned char *b = coro__aio_realloc(s->rbuf, cap);
    if (b == NULL)
        return coro__aio_fail(CORO_ENOMEM,
                              "stream: could not grow the read buffer to %zu "
                              "bytes",
                              cap);
    s->rbuf = b;
    s->rcap = cap;
    return CORO_OK;
}

static void consume(coro_aio_stream *s, size_t n)
{
    s->rstart += n;
    s->rlen -= n;
    if (s->rlen == 0)
        s->rstart = 0;
}

/* Receives more bytes into rbuf (waiting if none are there): CORO_OK with
 * s->eof or more bytes buffered, else the failure. */
static int fill(coro_aio_stream *s, const char *what)
{
    int rc = rbuf_room(s, MIN_READ);
    if (rc < 0)
        return rc;
    size_t room = s->rcap - s->rstart - s->rlen;
    ssize_t r = sock_recv(s, s->rbuf + s->rstart + s->rlen, room, what, &rc);
    if (r < 0)
        return rc;
    s->rlen += (size_t)r;
    return CORO_OK;
}

int coro_aio_stream_read(coro_aio_stream *s, void *buf, size_t n, size_t *got)
{
    if (got == NULL || (buf == NULL && n > 0))
        return coro__aio_fail(CORO_EINVAL, "read: %s is NULL", got == NULL ? "got" : "buf");
    *got = 0;
    int rc = check_stream(s, "read");
    if (rc == CORO_OK)
        rc = check_count(n, "read");
    if (rc < 0)
        return rc;
    if (s->err)
        return raise_err(s, "read");
    if (n == 0)
        return CORO_OK;
    if (s->rlen > 0) {
        size_t k = s->rlen < n ? s->rlen : n;
        memcpy(buf, s->rbuf + s->rstart, k);
        consume(s, k);
        *got = k;
        return CORO_OK;
    }
    if (s->eof)
        return CORO_OK;
    s->refs++; /* held while waiting: see coro_aio_stream_readexactly */
    ssize_t r = sock_recv(s, buf, n, "read", &rc);
    unref(s);
    if (r < 0)
        return rc;
    *got = (size_t)r;
    return CORO_OK;
}

/* Doubles *cap until `need` bytes fit; false when that would overflow. */
static bool grow_cap(size_t *cap, size_t need)
{
    while (*cap < need) {
        if (*cap > SIZE_MAX / 2)
            return false;
        *cap *= 2;
    }
    return true;
}

/* read(-1): what is buffered, then recv(2) straight into a buffer that
 * doubles whenever less than MIN_READ bytes of room are left (amortised
 * linear: each byte is copied at most once per doubling), until EOF. Any
 * exception drops what was read, as Python's read(-1) loses its blocks with
 * the coroutine. */
int coro_aio_stream_read_all(coro_aio_stream *s, void **data, size_t *len)
{
    if (data != NULL)
        *data = NULL;
    if (len != NULL)
        *len = 0;
    if (data == NULL || len == NULL)
        return coro__aio_fail(CORO_EINVAL, "read_all: %s is NULL", data == NULL ? "data" : "len");
    int rc = check_stream(s, "read_all");
    if (rc < 0)
        return rc;
    if (s->err)
        return raise_err(s, "read_all");
    size_t cap = MIN_READ;
    if (s->rlen > SIZE_MAX - MIN_READ - 1 || !grow_cap(&cap, s->rlen + MIN_READ + 1))
        return coro__aio_fail(CORO_ENOMEM, "read_all: out of memory");
    unsigned char *buf = coro__aio_malloc(cap); /* before anything is consumed */
    if (buf == NULL)
        return coro__aio_fail(CORO_ENOMEM, "read_all: out of memory (%zu bytes)", cap);
    size_t n = s->rlen;
    if (n > 0) {
        memcpy(buf, s->rbuf + s->rstart, n);
        consume(s, n);
    }
    while (!s->eof) {
        if (cap - n - 1 < MIN_READ) { /* the last byte is the NUL's */
            size_t ncap = cap;
            unsigned char *b =
                grow_cap(&ncap, n + MIN_READ + 1) ? coro__aio_realloc(buf, ncap) : NULL;
            if (b == NULL) {
                free(buf);
                return coro__aio_fail(CORO_ENOMEM,
                                      "read_all: could not grow the buffer to more than %zu "
                                      "bytes (%zu bytes read were dropped)",
                                      cap, n);
            }
            buf = b;
            cap = ncap;
        }
        /* "read": Python's read(-1) calls read(limit), whose wait says "read()
         * called while another coroutine is already waiting ..." */
        ssize_t r = sock_recv(s, buf + n, cap - n - 1, "read", &rc);
        if (r < 0) {
            free(buf);
            return rc;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CORO_OK;
}

static int incomplete(size_t got, size_t expected, const char *what)
{
    char msg[CORO_EXC_MSG_MAX];
    if (expected == 0)
        snprintf(msg, sizeof msg, "%zu bytes read on a total of undefined expected bytes", got);
    else
        snprintf(msg, sizeof msg, "%zu bytes read on a total of %zu expected bytes", got, expected);
    coro_exc x;
    coro_exc_set(&x, &coro_aio_IncompleteReadError, msg);
    x.udata = (void *)(uintptr_t)expected;
    return raise_exc(&x, what);
}

static int readexactly(coro_aio_stream *s, void *buf, size_t n, size_t *got)
{
    if (got == NULL || (buf == NULL && n > 0))
        return coro__aio_fail(CORO_EINVAL, "readexactly: %s is NULL", got == NULL ? "got" : "buf");
    *got = 0;
    int rc = check_stream(s, "readexactly");
    if (rc == CORO_OK)
        rc = check_count(n, "readexactly");
    if (rc < 0)
        return rc;
    if (s->err)
        return raise_err(s, "readexactly");
    if (n == 0)
        return CORO_OK;
    unsigned char *out = buf;
    size_t have = s->rlen < n ? s->rlen : n;
    if (have > 0) {
        memcpy(out, s->rbuf + s->rstart, have);
        consume(s, have);
    }
    while (have < n) {
        if (s->eof) {
            *got = have;
            return incomplete(have, n, "readexactly");
        }
        ssize_t r = sock_recv(s, out + have, n - have, "readexactly", &rc);
        if (r >= 0) {
            have += (size_t)r;
            continue;
        }
        if (s->err == 0) {
            /* An interrupted wait (or misuse): the bytes stay in the stream, as in
             * asyncio's buffer (rbuf is empty here: it was drained above). */
            if (have > 0 && rbuf_room(s, have) == CORO_OK) {
                memcpy(s->rbuf + s->rstart, out, have);
                s->rlen = have;
            }
        }
        return rc;
    }
    *got = n;
    return CORO_OK;
}

/* A call that may wait holds a reference meanwhile, so that the owner may
 * release the stream while another task waits in it: the release closes the
 * socket, the waiter wakes with ClosedError, and the memory goes when it
 * returns. */
int coro_aio_stream_readexactly(coro_aio_stream *s, void *buf, size_t n, size_t *got)
{
    if (s != NULL)
        s->refs++;
    int rc = readexactly(s, buf, n, got);
    if (s != NULL)
        unref(s);
    return rc;
}

static int overrun(const char *msg, size_t consumed, const char *what)
{
    coro_exc x;
    coro_exc_set(&x, &coro_aio_LimitOverrunError, msg);
    x.udata = (void *)(intptr_t)consumed;
    return raise_exc(&x, what);
}

static const char not_found[] = "Separator is not found, and chunk exceed the limit";
static const char too_long[] = "Separator is found, but chunk is longer than limit";

/* StreamReader.readuntil, with *consumed = LimitOverrunError.consumed and
 * *why its message (for readline) when it overruns. */
static int until_in(coro_aio_stream *s, const void *sep, size_t seplen, void *buf, size_t cap,
                    size_t *len, const char *what, size_t *consumed, const char **why)
{
    *len = 0;
    int rc = check_stream(s, what);
    if (rc < 0)
        return rc;
    if (s->err)
        return raise_err(s, what);
    size_t limit = s->limit < cap - seplen ? s->limit : cap - seplen;
    size_t offset = 0, isep = 0;
    for (;;) {
        if (s->rlen - offset >= seplen && s->rlen >= seplen) {
            const unsigned char *b = s->rbuf + s->rstart;
            const unsigned char *hit = memmem(b + offset, s->rlen - offset, sep, seplen);
            if (hit != NULL) {
                isep = (size_t)(hit - b);
                break;
            }
            offset = s->rlen + 1 - seplen;
            if (offset > limit) {
                *consumed = offset;
                *why = not_found;
                return overrun(not_found, offset, what);
            }
        }
        if (s->eof) {
            memcpy(buf, s->rbuf + s->rstart, s->rlen);
            *len = s->rlen;
            consume(s, s->rlen);
            return incomplete(*len, 0, what);
        }
        if ((rc = fill(s, what)) != CORO_OK)
            return rc;
    }
    if (isep > limit) {
        *consumed = isep;
        *why = too_long;
        return overrun(too_long, isep, what);
    }
    memcpy(buf, s->rbuf + s->rstart, isep + seplen);
    *len = isep + seplen;
    consume(s, isep + seplen);
    return CORO_OK;
}

/* until_in holding a reference (see coro_aio_stream_readexactly). readline
 * touches s after it only for LimitOverrunError, which no wait precedes
 * once the stream is released (a recv on the closed socket fails first). */
static int until(coro_aio_stream *s, const void *sep, size_t seplen, void *buf, size_t cap,
                 size_t *len, const char *what, size_t *consumed, const char **why)
{
    if (s != NULL)
        s->refs++;
    int rc = until_in(s, sep, seplen, buf, cap, len, what, consumed, why);
    if (s != NULL)
        unref(s);
    return rc;
}

int coro_aio_stream_readuntil(coro_aio_stream *s, const void *sep, size_t seplen, void *buf,
                              size_t cap, size_t *len)
{
    if (len == NULL || buf == NULL || sep == NULL)
        return coro__aio_fail(CORO_EINVAL, "readuntil: %s is NULL",
                              len == NULL   ? "len"
                              : buf == NULL ? "buf"
                                            : "sep");
    *len = 0;
    if (seplen == 0)
        return coro__aio_fail(CORO_EINVAL,
                              "readuntil: Separator should be at least one-byte string");
    if (cap < seplen)
        return coro__aio_fail(CORO_EINVAL,
                              "readuntil: cap %zu is smaller than the separator (%zu bytes)", cap,
                              seplen);
    size_t consumed;
    const char *why;
    return until(s, sep, seplen, buf, cap, len, "readuntil", &consumed, &why);
}

int coro_aio_stream_readline(coro_aio_stream *s, void *buf, size_t cap, size_t *len)
{
    if (len == NULL || buf == NULL)
        return coro__aio_fail(CORO_EINVAL, "readline: %s is NULL", len == NULL ? "len" : "buf");
    *len = 0;
    if (cap == 0)
        return coro__aio_fail(CORO_EINVAL, "readline: cap is 0 (no room for a line)");
    size_t consumed = 0;
    const char *why = NULL;
    int rc = until(s, "\n", 1, buf, cap, len, "readline", &consumed, &why);
    if (rc != CORO_THROWN)
        return rc;
    const coro_exc *e = coro_exception(coro_current());
    if (e->type == &coro_aio_IncompleteReadError)
        return CORO_OK; /* return e.partial: already in buf, *len set */
    if (why == NULL || e->type != &coro_aio_LimitOverrunError)
        return rc;
    /* ValueError(e.args[0]) after discarding the overlong line. */
    if (consumed < s->rlen && s->rbuf[s->rstart + consumed] == '\n')
        consume(s, consumed + 1);
    else
        consume(s, s->rlen);
    coro_exc x;
    coro_exc_set(&x, &coro_ValueError, why);
    return raise_exc(&x, "readline");
}

bool coro_aio_stream_at_eof(const coro_aio_stream *s)
{
    return s != NULL && s->eof && s->rlen == 0;
}

/* --- writing ------------------------------------------------------------ */

static int wbuf_add(coro_aio_stream *s, const unsigned char *p, size_t n)
{
    if (s->wcap - s->wstart - s->wlen < n) {
        if (s->wstart > 0) {
            memmove(s->wbuf, s->wbuf + s->wstart, s->wlen);
            s->wstart = 0;
        }
        if (s->wcap - s->wlen < n) {
            if (n > SIZE_MAX / 2 - s->wlen) /* the doubling below would wrap around */
                return coro__aio_fail(CORO_ENOMEM,
                                      "write: %zu bytes buffered and %zu more do not fit in "
                                      "memory",
                                      s->wlen, n);
            size_t cap = s->wcap ? s->wcap : 4096;
            while (cap - s->wlen < n)
                cap *= 2;
            unsigned char *b = coro__aio_realloc(s->wbuf, cap);
            if (b == NULL)
                return coro__aio_fail(CORO_ENOMEM,
                                      "write: could not grow the write buffer "
                                      "to %zu bytes",
                                      cap);
            s->wbuf = b;
            s->wcap = cap;
        }
    }
    memcpy(s->wbuf + s->wstart + s->wlen, p, n);
    s->wlen += n;
    if (s->wlen > s->high)
        s->paused = true;
    return CORO_OK;
}

static void flush_done(void *arg)
{
    coro_aio_stream *s = arg;
    s->flushing = false;
    if (s->wlen == 0 && s->eof_wanted && !s->eof_sent && s->fd >= 0 && s->err == 0) {
        s->eof_sent = true;
        shutdown(s->fd, SHUT_WR);
    }
    if (s->err != 0 || s->wlen == 0)
        s->paused = false;
    wake_drainers(s);
    if (s->closing && s->fd >= 0)
        finish_close(s);
    unref(s);
}

/* The transport's writer callback as a task: sends the buffer whenever the
 * socket is writable, until it is empty, the connection fails, or the task
 * is cancelled (the loop shuts down) or the socket closed under it. */
static void *flush_main(coro *self, void *arg)
{
    coro_aio_stream *s = arg;
    coro_defer(self, flush_done, s);
    while (s->wlen > 0 && s->err == 0 && s->fd >= 0) {
        ssize_t r = send(s->fd, s->wbuf + s->wstart, s->wlen, MSG_NOSIGNAL);
        if (r > 0) {
            s->wstart += (size_t)r;
            s->wlen -= (size_t)r;
            if (s->wlen == 0)
                s->wstart = 0;
            if (s->paused && s->wlen <= s->low) {
                s->paused = false;
                wake_drainers(s);
            }
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            s->err = errno;
            break;
        }
        coro_aio_fd_clear_ready(s->loop, s->fd, CORO_AIO_FD_WRITE);
        if (coro_aio_wait_writable(s->fd, CORO_AIO_NO_TIMEOUT) != CORO_OK)
            break; /* cancelled, or the socket was closed (abort) */
    }
    return NULL;
}

static void start_flusher(coro_aio_stream *s)
{
    if (s->flushing || s->loop->closed)
        return;
    coro_aio_task_options o = CORO_AIO_TASK_OPTIONS_INIT;
    o.name = "stream-flush";
    coro_aio_future *t = coro_aio_create_task(s->loop, flush_main, s, &o);
    if (t == NULL) {
        fprintf(stderr, "libcoro-aio: out of memory, a stream's buffer is not flushed\n");
        return;
    }
    s->flushing = true;
    s->refs++;
    coro_aio_future_release(t);
}

int coro_aio_stream_write(coro_aio_stream *s, const void *data, size_t n)
{
    if (data == NULL && n > 0)
        return coro__aio_fail(CORO_EINVAL, "write: data is NULL");
    int rc = check_stream(s, "write");
    if (rc == CORO_OK)
        rc = check_count(n, "write");
    if (rc < 0)
        return rc;
    if (s->eof_wanted)
        return coro__aio_fail(CORO_EINVAL, "write: Cannot call write() after write_eof()");
    if (s->err != 0 || n == 0)
        return CORO_OK;
    const unsigned char *p = data;
    if (s->wlen == 0) {
        ssize_t r;
        do
            r = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                s->err = errno; /* connection lost: drain and read report it */
                return CORO_OK;
            }
            r = 0;
        }
        if ((size_t)r == n)
            return CORO_OK;
        p += r;
        n -= (size_t)r;
    }
    if ((rc = wbuf_add(s, p, n)) < 0)
        return rc;
    start_flusher(s);
    return CORO_OK;
}

static int lost(const char *what)
{
    coro_exc x;
    coro_exc_set(&x, &coro_aio_ConnectionResetError, "Connection lost");
    return raise_exc(&x, what);
}

int coro_aio_stream_drain(coro_aio_stream *s)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "drain: stream is NULL");
    if (s->err != 0)
        return raise_err(s, "drain");
    if (s->closing)
        return lost("drain");
    if (!s->paused)
        return CORO_OK;
    coro *self = NULL;
    int rc = coro__aio_check_await("drain", &self);
    if (rc == CORO_OK)
        rc = check_loop(s, "drain");
    if (rc < 0)
        return rc;
    coro_aio_future *f = add_drainer(s);
    if (f == NULL)
        return coro__aio_fail(CORO_ENOMEM, "drain: out of memory");
    s->refs++; /* held while waiting: see coro_aio_stream_readexactly */
    rc = coro_aio_await(f, NULL);
    coro_aio_future_release(f);
    if (rc == CORO_OK && s->err != 0)
        rc = raise_err(s, "drain");
    unref(s);
    return rc;
}

int coro_aio_stream_write_eof(coro_aio_stream *s)
{
    int rc = check_stream(s, "write_eof");
    if (rc < 0)
        return rc;
    if (s->eof_wanted)
        return CORO_OK;
    s->eof_wanted = true;
    if (s->wlen == 0 && s->err == 0) {
        s->eof_sent = true;
        shutdown(s->fd, SHUT_WR);
    }
    return CORO_OK;
}

int coro_aio_stream_close(coro_aio_stream *s)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "close: stream is NULL");
    if (s->closing)
        return CORO_OK;
    s->closing = true;
    if (!s->flushing || s->err != 0)
        finish_close(s);
    return CORO_OK;
}

int coro_aio_stream_wait_closed(coro_aio_stream *s)
{
    if (s == NULL)
        return coro__aio_fail(CORO_EINVAL, "wait_closed: stream is NULL");
    coro *self = NULL;
    int rc = coro__aio_check_await("wait_closed", &self);
    if (rc == CORO_OK)
        rc = check_loop(s, "wait_closed");
    if (rc < 0)
        return rc;
    coro_aio_future *f = coro__aio_ref(s->closed_fut);
    s->refs++; /* held while waiting: see coro_aio_stream_readexactly */
    rc = coro_aio_await(f, NULL);
    coro__aio_unref(f);
    if (rc == CORO_OK && s->err != 0)
        rc = raise_err(s, "wait_closed");
    unref(s);
    return rc;
}

bool coro_aio_stream_is_closing(const coro_aio_stream *s)
{
    return s != NULL && (s->closing || s->err != 0);
}

static int name_of(const coro_aio_stream *s, struct sockaddr_storage *addr, socklen_t *len,
                   bool peer)
{
    const char *what = peer ? "peername" : "sockname";
    if (s == NULL || addr == NULL || len == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: %s is NULL", what,
                              s == NULL      ? "stream"
                              : addr == NULL ? "addr"
                                             : "len");
    if (s->fd < 0)
        return coro__aio_fail(CORO_EINVAL, "%s: the stream is closed", what);
    int r = peer ? getpeername(s->fd, (struct sockaddr *)addr, len)
                 : getsockname(s->fd, (struct sockaddr *)addr, len);
    if (r < 0)
        return coro__aio_fail(CORO_EINVAL, "%s: %s", what, strerror(errno));
    return CORO_OK;
}

int coro_aio_stream_peername(const coro_aio_stream *s, struct sockaddr_storage *addr,
                             socklen_t *len)
{
    return name_of(s, addr, len, true);
}

int coro_aio_stream_sockname(const coro_aio_stream *s, struct sockaddr_storage *addr,
                             socklen_t *len)
{
    return name_of(s, addr, len, false);
}

int coro_aio_stream_fd(const coro_aio_stream *s) { return s != NULL ? s->fd : -1; }

void coro__aio_stream_unref(coro_aio_stream *s) { unref(s); }

void coro_aio_stream_release(coro_aio_stream *s)
{
    if (s == NULL)
        return;
    if (s->released) { /* only reachable while a server still holds it */
        coro__aio_fail(CORO_EINVAL, "stream_release: the stream was already released");
        return;
    }
    s->released = true;
    if (!s->closing) { /* transport.abort() */
        s->closing = true;
        s->wlen = 0;
        finish_close(s); /* a flusher waiting on the socket wakes and ends */
    }
    unref(s);
}

/* --- connecting ---------------------------------------------------------- */

void coro__aio_addr_repr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, size, "('%s', %u)", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
        snprintf(buf, size, "('%s', %u, %u, %u)", host, ntohs(in->sin6_port),
                 (unsigned)ntohl(in->sin6_flowinfo), (unsigned)in->sin6_scope_id);
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? len - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        snprintf(buf, size, "'%.*s'", (int)strnlen(un->sun_path, n), un->sun_path);
    } else {
        snprintf(buf, size, "<family %d>", sa->sa_family);
    }
}

static int gai_raise(int err, const char *what)
{
    char msg[CORO_EXC_MSG_MAX];
    snprintf(msg, sizeof msg, "[Errno %d] %s", err, gai_strerror(err));
    coro *self = NULL;
    if (coro__aio_check_await(what, &self) < 0)
        return coro__aio_fail(CORO_EINVAL, "%s: gaierror: %s", what, msg);
    coro_exc x;
    coro_exc_set(&x, &coro_aio_gaierror, msg);
    x.udata = (void *)(intptr_t)err;
    return coro__aio_throw(self, &x);
}

int coro__aio_resolve(const char *host, int port, int family, bool passive, struct addrinfo **res,
                      const char *what)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (passive && host != NULL && host[0] == '\0')
        host = NULL; /* start_server's "every interface"; open_connection("") is a gaierror */
    coro *self = NULL;
    coro_aio_loop *loop = coro__aio_running;
    if (loop != NULL && loop->current != NULL && coro__aio_check_await(what, &self) == CORO_OK)
        return coro_aio_getaddrinfo(host, service, &hints, res); /* in a task */
    /* Before the loop runs (start_server from plain code): blocking is fine. */
    int err = getaddrinfo(host, service, &hints, res);
    if (err != 0)
        return gai_raise(err, what);
    return CORO_OK;
}

/* connect(2) on a new socket, waiting until writable; CORO_OK with *fd, or
 * *fail filled (an OSError for this address, for the next try), or a
 * status for the caller (timeout, cancellation, misuse). */
static int try_connect(const struct sockaddr *sa, socklen_t salen, double deadline, int *fd,
                       coro_exc *fail, bool *failed)
{
    *failed = false;
    int s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        coro__aio_os_exc(fail, errno, NULL);
        *failed = true;
        return CORO_OK;
    }
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int r;
    do
        r = connect(s, sa, salen);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        *fd = s;
        return CORO_OK;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        coro__aio_os_exc(fail, errno, NULL);
        *failed = true;
        close(s);
        return CORO_OK;
    }
    coro_aio_loop *loop = coro__aio_running;
    double left =
        deadline >= CORO_AIO_NO_TIMEOUT ? CORO_AIO_NO_TIMEOUT : deadline - coro_aio_time(loop);
    int rc = coro_aio_wait_writable(s, left > 0 ? left : 0);
    if (rc != CORO_OK) {
        coro__aio_close_sock(loop, s);
        return rc;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err != 0) {
        char text[CORO_EXC_MSG_MAX], addr[96];
        coro__aio_addr_repr(sa, salen, addr, sizeof addr);
        snprintf(text, sizeof text, "Connect call failed %s", addr);
        coro__aio_os_exc(fail, err, text);
        *failed = true;
        coro__aio_close_sock(loop, s);
        return CORO_OK;
    }
    *fd = s;
    return CORO_OK;
}

static int check_connect(const coro_aio_stream_options *opt, coro_aio_stream_options *o,
                         coro_aio_stream **out, coro **self, const char *what)
{
    if (out == NULL)
        return coro__aio_fail(CORO_EINVAL, "%s: out is NULL", what);
    *out = NULL;
    int rc = coro__aio_stream_opts(opt, o, what);
    if (rc < 0)
        return rc;
    return coro__aio_check_await(what, self);
}

static int connected(int fd, const coro_aio_stream_options *o, coro_aio_stream **out)
{
    coro_aio_stream *s = coro__aio_stream_new(coro__aio_running, fd, o);
    if (s == NULL)
        return coro__aio_fail(CORO_ENOMEM, "open_connection: out of memory");
    *out = s;
    return CORO_OK;
}

/* Appends text to the NUL-terminated string in buf[cap], cutting it where
 * buf is full: "Multiple exceptions: ..." is bounded by coro_exc's message
 * size anyway, as a long list is in Python's repr. */
static void append_truncated(char *buf, size_t cap, const char *text)
{
    size_t used = strlen(buf);
    size_t n = strlen(text);
    if (used + 1 >= cap)
        return;
    if (n > cap - 1 - used)
        n = cap - 1 - used;
    memcpy(buf + used, text, n);
    buf[used + n] = '\0';
}

int coro_aio_open_connection(const char *host, int port, const coro_aio_stream_options *opt,
                             coro_aio_stream **out)
{
    coro_aio_stream_options o;
    coro *self = NULL;
    int rc = check_connect(opt, &o, out, &self, "open_connection");
    if (rc < 0)
        return rc;
    if (host == NULL)
        return coro__aio_fail(CORO_EINVAL, "open_connection: host is NULL");
    if (port < 0 || port > 65535)
        return coro__aio_fail(CORO_EINVAL, "open_connection: port %d is out of range 0-65535",
                              port);
    coro_aio_loop *loop = coro__aio_running;
    double deadline = o.connect_timeout >= CORO_AIO_NO_TIMEOUT
                          ? CORO_AIO_NO_TIMEOUT
                          : coro_aio_time(loop) + o.connect_timeout;
    struct addrinfo *res = NULL;
    if ((rc = coro__aio_resolve(host, port, o.family, false, &res, "open_connection")) != 0)
        return rc;
    coro_exc first, cur;
    char multi[CORO_EXC_MSG_MAX] = "Multiple exceptions: ";
    size_t nfail = 0;
    bool same = true;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        bool failed = false;
        rc = try_connect(ai->ai_addr, ai->ai_addrlen, deadline, &fd, &cur, &failed);
        if (rc != CORO_OK || !failed)
            break;
        if (nfail++ == 0)
            first = cur;
        else if (strcmp(first.message, cur.message) != 0)
            same = false;
        if (nfail > 1)
            append_truncated(multi, sizeof multi, ", ");
        append_truncated(multi, sizeof multi, cur.message);
    }
    freeaddrinfo(res);
    if (rc != CORO_OK)
        return rc;
    if (fd >= 0)
        return connected(fd, &o, out);
    if (nfail == 0) {
        coro_exc x;
        coro_exc_set(&x, &coro_aio_OSError, "getaddrinfo() returned empty list");
        return coro__aio_throw(self, &x);
    }
    if (nfail == 1 || same)
        return coro__aio_throw(self, &first);
    coro_exc x;
    coro_exc_set(&x, &coro_aio_OSError, multi);
    return coro__aio_throw(self, &x);
}

int coro_aio_open_unix_connection(const char *path, const coro_aio_stream_options *opt,
                                  coro_aio_stream **out)
{
    coro_aio_stream_options o;
    coro *self = NULL;
    int rc = check_connect(opt, &o, out, &self, "open_unix_connection");
    if (rc < 0)
        return rc;
    struct sockaddr_un un;
    if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof un.sun_path)
        return coro__aio_fail(CORO_EINVAL, "open_unix_connection: path is %s",
                              path == NULL ? "NULL"
                              : path[0]    ? "too long for sun_path"
                                           : "empty");
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    memcpy(un.sun_path, path, strlen(path) + 1);
    coro_aio_loop *loop = coro__aio_running;
    double deadline = o.connect_timeout >= CORO_AIO_NO_TIMEOUT
                          ? CORO_AIO_NO_TIMEOUT
                          : coro_aio_time(loop) + o.connect_timeout;
    coro_exc fail;
    bool failed = false;
    int fd = -1;
    rc = try_connect((struct sockaddr *)&un, sizeof un, deadline, &fd, &fail, &failed);
    if (rc != CORO_OK)
        return rc;
    if (failed)
        return coro__aio_throw(self, &fail);
    return connected(fd, &o, out);
}
