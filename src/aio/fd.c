/* fd.c - readiness waits on file descriptors: wait_readable / wait_writable, close_fd.
 * SPDX-License-Identifier: MIT
 *
 * What asyncio's add_reader / add_writer give sock_recv and sock_sendall,
 * shaped for a task: a descriptor is registered with the poller once, edge
 * triggered, for both directions, on first use. The loop keeps, per fd and
 * direction, a "ready" mark (set when a poll reports the fd, cleared by the
 * caller after EAGAIN) and at most one waiter: a future the waiting task
 * awaits. A poll event resolves the waiter in a ready handle (the reader
 * callback asyncio would run), so the task steps one iteration later.
 *
 * The table is indexed by fd; the poller's udata is fd + 1 (NULL is the
 * loop's wake-up eventfd). Events are applied right after the poll, before
 * any callback can close an fd, so a fetched event always names the
 * descriptor that was registered; the ready handles hold the waiter future
 * itself, so one made stale by close_fd finds it done and does nothing.
 */
#include "aio_int.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const coro_exc_type coro_aio_ClosedError = {"ClosedError", &coro_aio_OSError};

typedef struct aio_fd {
    bool registered;
    bool hup;                     /* a poll reported CORO__AIO_HUP since registration */
    unsigned char ready;          /* CORO_AIO_FD_READ | CORO_AIO_FD_WRITE */
    coro_aio_future *waiter[2];   /* [0] read, [1] write; a reference each */
} aio_fd;

struct coro__aio_fds {
    aio_fd *v;
    size_t cap;
};

/* The entry of fd, growing the table; NULL when out of memory. */
static aio_fd *slot(coro_aio_loop *loop, int fd)
{
    struct coro__aio_fds *t = loop->fds;
    if (t == NULL) {
        if ((t = coro__aio_calloc(1, sizeof *t)) == NULL)
            return NULL;
        loop->fds = t;
    }
    if ((size_t)fd >= t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        aio_fd *v = coro__aio_realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        memset(v + t->cap, 0, (cap - t->cap) * sizeof *v);
        t->v = v;
        t->cap = cap;
    }
    return &t->v[fd];
}

static aio_fd *find(const coro_aio_loop *loop, int fd)
{
    const struct coro__aio_fds *t = loop->fds;
    return t != NULL && fd >= 0 && (size_t)fd < t->cap ? &t->v[fd] : NULL;
}

/* The poller's event for fd (udata fd + 1): mark it ready, resolve its
 * waiters in ready handles. */
void coro__aio_fd_event(coro_aio_loop *loop, void *udata, unsigned events)
{
    aio_fd *e = find(loop, (int)((uintptr_t)udata - 1));
    if (e == NULL || !e->registered)
        return;
    e->ready |= (unsigned char)(events & (CORO_AIO_FD_READ | CORO_AIO_FD_WRITE));
    if (events & CORO__AIO_HUP)
        e->hup = true;
    for (int i = 0; i < 2; i++) {
        coro_aio_future *w = e->waiter[i];
        if ((events & (1u << i)) && w != NULL && w->state == AIO_PENDING &&
            coro__aio_soon_done(loop, coro__aio_fd_fire, w, NULL, false) < 0)
            coro__aio_fd_fire(w, NULL); /* no handle (out of memory): resolve it now */
    }
}

/* The reader / writer callback: fut.set_result(None) unless done. */
void coro__aio_fd_fire(coro_aio_future *f, void *arg)
{
    (void)arg;
    if (f->state == AIO_PENDING)
        coro__aio_future_finish(f, NULL, NULL);
}

static void timed_out(coro_aio_future *f, void *arg)
{
    (void)arg;
    if (f->state == AIO_PENDING) {
        coro_exc x;
        coro_exc_set(&x, &coro_aio_TimeoutError, "");
        coro__aio_future_finish(f, NULL, &x);
    }
}

static int wait_fd(int fd, double timeout, int dir, const char *what)
{
    coro *self = NULL;
    int rc = coro__aio_check_await(what, &self);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return coro__aio_fail(CORO_EINVAL, "%s: bad file descriptor %d", what, fd);
    if (isnan(timeout))
        return coro__aio_fail(CORO_EINVAL, "%s: timeout is NaN", what);
    coro_aio_loop *loop = coro__aio_running;
    aio_fd *e = find(loop, fd);
    if (e == NULL || !e->registered) {
        /* The poller first: it refuses a number that is not an open
         * descriptor before the table grows to it. */
        rc = coro__aio_poll_add(loop->poll, fd,
                                CORO__AIO_READ | CORO__AIO_WRITE | CORO__AIO_EDGE,
                                (void *)((uintptr_t)fd + 1));
        if (rc < 0) {
            char why[200];
            snprintf(why, sizeof why, "%s", coro_aio_last_error());
            return coro__aio_fail(rc, "%s: fd %d cannot be watched (%s)", what, fd, why);
        }
        if ((e = slot(loop, fd)) == NULL) {
            coro__aio_poll_remove(loop->poll, fd);
            return coro__aio_fail(CORO_ENOMEM, "%s: could not grow the descriptor table", what);
        }
        e->registered = true;
        e->hup = false;
        e->ready = 0;
        loop->fd_registered++;
    }
    int i = dir == CORO_AIO_FD_READ ? 0 : 1;
    if (e->waiter[i] != NULL) {
        if (e->waiter[i]->state == AIO_PENDING)
            return coro__aio_fail(CORO_EBUSY,
                                  "%s: another task already waits on fd %d for %s (one "
                                  "waiter per descriptor and direction)",
                                  what, fd, i == 0 ? "reading" : "writing");
        coro__aio_unref(e->waiter[i]); /* resolved, its task not back yet */
        e->waiter[i] = NULL;
    }
    if (e->ready & dir)
        return CORO_OK;
    if (timeout <= 0) {
        coro_exc x;
        coro_exc_set(&x, &coro_aio_TimeoutError, "");
        return coro__aio_throw(self, &x);
    }
    coro_aio_future *f = coro__aio_future_alloc(loop);
    if (f == NULL)
        return CORO_ENOMEM;
    coro_aio_handle *h = NULL;
    if (timeout < CORO_AIO_NO_TIMEOUT) {
        double ns = (coro_aio_time(loop) + timeout) * 1e9;
        int64_t when = ns >= 9.2e18 ? INT64_MAX : (int64_t)llround(ns);
        if ((rc = coro__aio_later_done(loop, when, timed_out, f, &h)) < 0) {
            coro_aio_future_release(f);
            return rc;
        }
    }
    e->waiter[i] = coro__aio_ref(f);
    rc = coro_aio_await(f, NULL);
    if (h != NULL) {
        coro_aio_handle_cancel(h);
        coro_aio_handle_release(h);
    }
    /* The table may have moved, and close_fd may have emptied the slot. */
    if ((e = find(loop, fd)) != NULL && e->waiter[i] == f) {
        e->waiter[i] = NULL;
        coro__aio_unref(f);
    }
    coro_aio_future_release(f);
    return rc;
}

int coro_aio_wait_readable(int fd, double timeout)
{
    return wait_fd(fd, timeout, CORO_AIO_FD_READ, "wait_readable");
}

int coro_aio_wait_writable(int fd, double timeout)
{
    return wait_fd(fd, timeout, CORO_AIO_FD_WRITE, "wait_writable");
}

int coro_aio_fd_clear_ready(coro_aio_loop *loop, int fd, int dir)
{
    if (loop == NULL || loop->closed)
        return coro__aio_fail(CORO_EINVAL, "fd_clear_ready: %s",
                              loop ? "Event loop is closed" : "loop is NULL");
    if (fd < 0)
        return coro__aio_fail(CORO_EINVAL, "fd_clear_ready: bad file descriptor %d", fd);
    if (dir == 0 || (dir & ~(CORO_AIO_FD_READ | CORO_AIO_FD_WRITE)) != 0)
        return coro__aio_fail(CORO_EINVAL,
                              "fd_clear_ready: dir %d is not CORO_AIO_FD_READ, "
                              "CORO_AIO_FD_WRITE or both", dir);
    aio_fd *e = find(loop, fd);
    if (e != NULL)
        e->ready &= (unsigned char)~dir;
    return CORO_OK;
}

int coro_aio_close_fd(coro_aio_loop *loop, int fd)
{
    if (loop == NULL)
        return coro__aio_fail(CORO_EINVAL, "close_fd: loop is NULL");
    if (fd < 0)
        return coro__aio_fail(CORO_EINVAL, "close_fd: bad file descriptor %d", fd);
    aio_fd *e = find(loop, fd);
    if (e != NULL) {
        if (e->registered) {
            coro__aio_poll_remove(loop->poll, fd); /* fails only if already closed */
            e->registered = false;
            loop->fd_registered--;
        }
        e->ready = 0;
        e->hup = false;
        for (int i = 0; i < 2; i++) {
            coro_aio_future *w = e->waiter[i];
            e->waiter[i] = NULL;
            if (w != NULL && w->state == AIO_PENDING) {
                char msg[80];
                snprintf(msg, sizeof msg,
                         "file descriptor %d was closed while a task waited on it", fd);
                coro_exc x;
                coro_exc_set(&x, &coro_aio_ClosedError, msg);
                x.udata = (void *)(intptr_t)EBADF; /* an OSError: coro_aio_exc_errno */
                coro__aio_future_finish(w, NULL, &x);
            }
            coro__aio_unref(w);
        }
    }
    if (close(fd) < 0)
        return coro__aio_fail(CORO_EINVAL, "close_fd: close(%d): %s", fd, strerror(errno));
    return CORO_OK;
}

bool coro__aio_fd_maybe_readable(const coro_aio_loop *loop, int fd)
{
    const aio_fd *e = find(loop, fd);
    return e == NULL || !e->registered || (e->ready & CORO_AIO_FD_READ);
}

void coro__aio_fd_drained(coro_aio_loop *loop, int fd)
{
    aio_fd *e = find(loop, fd);
    if (e != NULL && e->registered && !e->hup)
        e->ready &= (unsigned char)~CORO_AIO_FD_READ;
}

void coro__aio_fds_close(coro_aio_loop *loop)
{
    struct coro__aio_fds *t = loop->fds;
    if (t == NULL)
        return;
    for (size_t fd = 0; fd < t->cap; fd++)
        for (int i = 0; i < 2; i++)
            coro__aio_unref(t->v[fd].waiter[i]);
    free(t->v);
    free(t);
    loop->fds = NULL;
    loop->fd_registered = 0;
}
