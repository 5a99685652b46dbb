/* stream_int.h - streams and servers of libcoro-aio: their structs, invariants and shared helpers.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_AIO_STREAM_INT_H
#define CORO_AIO_STREAM_INT_H

#include "aio_int.h"

#include <netdb.h>
#include <sys/socket.h>

/* A stream: one connected, non-blocking socket.
 *
 * Reading happens in the calling task: rbuf[rstart, rstart + rlen) holds
 * bytes received but not yet read (only readline / readuntil receive into
 * it, and an interrupted readexactly puts its partial bytes back there);
 * read and readexactly receive straight into the caller's buffer when rbuf
 * is empty. `eof`: recv returned 0. `reading`: a task waits to read (one at
 * a time, as asyncio allows). `tcp`: a TCP socket, whose short reads prove
 * the receive queue empty (coro__aio_fd_drained), which saves the recv that
 * would only say EAGAIN before each wait.
 *
 * Writing: wbuf[wstart, wstart + wlen) is what send(2) did not take. While
 * wlen > 0 a flusher task (`flushing`) sends it when the socket is
 * writable; `paused` is asyncio's protocol._paused: set when wlen went over
 * `high`, cleared when the flusher brings it to `low` or below, and then
 * every future in drainers[] (one per drain call waiting, a reference each:
 * asyncio's _drain_waiters; one per waiter, since cancelling a waiter
 * cancels its future) is resolved and the list emptied.
 *
 * `err`: the errno of the connection failure (0 none); once set it stays.
 * `closing`: close or release was called. The socket is closed (fd = -1)
 * by close at once when nothing is buffered, else by the flusher when it
 * ends; closed_fut (asyncio's protocol._closed) is resolved then. closed_fut
 * exists for the stream's whole life: it also keeps the loop's memory valid
 * (a loop is freed only when its last future goes), so a stream released
 * after coro_aio_loop_close can still see that the loop is closed.
 *
 * refs: the owner's (released by coro_aio_stream_release; `released` says
 * it was), the flusher's while it runs, one per call waiting in it, and a
 * server's for the stream of a connection task (so that a handler which
 * releases its own stream leaves it valid for the server's cleanup). The
 * memory goes at zero. */
struct coro_aio_stream {
    coro_aio_loop *loop;
    int fd;
    unsigned refs;
    bool released; /* coro_aio_stream_release was called */
    size_t limit, high, low;

    unsigned char *rbuf;
    size_t rstart, rlen, rcap;
    bool eof;
    bool reading;
    bool tcp;

    unsigned char *wbuf;
    size_t wstart, wlen, wcap;
    bool flushing;
    bool paused;
    bool eof_wanted; /* write_eof called: shutdown once flushed */
    bool eof_sent;
    coro_aio_future **drainers;
    size_t ndrainers, drainers_cap;

    int err;
    bool closing;
    coro_aio_future *closed_fut;
};

/* --- stream_errors.c --- */
/* The exception type Python's OSError(err, ...) constructor picks. */
const coro_exc_type *coro__aio_errno_type(int err);
/* *x = OSError(err, text): "[Errno err] text" (strerror(err) for NULL text),
 * errno in udata. */
void coro__aio_os_exc(coro_exc *x, int err, const char *text);

/* --- stream.c --- */
/* Drops a reference taken with s->refs++ (a server's, server.c). */
void coro__aio_stream_unref(coro_aio_stream *s);
/* Checks opt (NULL: defaults) and fills *o with the defaults applied. */
int coro__aio_stream_opts(const coro_aio_stream_options *opt, coro_aio_stream_options *o,
                          const char *what);
/* A stream around the connected non-blocking socket fd (taken over; closed
 * on failure). NULL when out of memory. */
coro_aio_stream *coro__aio_stream_new(coro_aio_loop *loop, int fd,
                                      const coro_aio_stream_options *o);
/* Closes a socket for the loop (coro_aio_close_fd) or, once the loop is
 * closed, with close(2). */
void coro__aio_close_sock(coro_aio_loop *loop, int fd);
/* Python's repr of a socket address: ('127.0.0.1', 80), ('::1', 80, 0, 0),
 * '/path'. */
void coro__aio_addr_repr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);
/* Resolves host/port to stream-socket addresses (numeric hosts inline; names
 * with coro_aio_getaddrinfo in a task, getaddrinfo(3) outside one).
 * CORO_OK with *res; CORO_THROWN (in a task) with gaierror / CancelledError;
 * CORO_EINVAL outside a task with the gaierror text. */
int coro__aio_resolve(const char *host, int port, int family, bool passive, struct addrinfo **res,
                      const char *what);

#endif /* CORO_AIO_STREAM_INT_H */
