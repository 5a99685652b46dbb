/* test_aio_fd.c - readiness waits on descriptors: wait_readable / wait_writable, close_fd.
 * SPDX-License-Identifier: MIT
 *
 * Pipes and AF_UNIX socketpairs only, non-blocking; the virtual clock for
 * every timeout, so the times in the transcripts are exact.
 */
#include "aio_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NONE CORO_AIO_NO_TIMEOUT

static coro_aio_loop *lp(void)
{
    return coro_aio_get_running_loop();
}

static int run_virtual(coro_fn main, void *arg)
{
    coro_aio_loop_options o;
    coro_aio_loop_options_init(&o);
    o.clock = CORO_AIO_CLOCK_VIRTUAL;
    return coro_aio_run(main, arg, &o, NULL, NULL);
}

static double now(void)
{
    return coro_aio_time(lp());
}

/* A non-blocking pair: [0] reads, [1] writes (socketpair: both ways). */
static void make_pair(int kind, int fds[2])
{
    if (kind == 0)
        ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    else
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
                         0);
}

static coro_aio_future *spawn(coro_fn fn, void *arg)
{
    return coro_aio_create_task(lp(), fn, arg, NULL);
}

/* Awaits t, releases it. */
static void join(coro_aio_future *t)
{
    coro_aio_await(t, NULL);
    coro_aio_future_release(t);
}

static const char *status(coro *self, int rc)
{
    static char buf[256];
    if (rc == CORO_OK)
        return "ok";
    if (rc == CORO_THROWN)
        return exc_str(coro_exception(self));
    snprintf(buf, sizeof buf, "%s", coro_err_name(rc));
    return buf;
}

typedef struct io {
    int fd;     /* what the task waits on */
    int peer;   /* the other end */
    double timeout;
    const char *name;
    int rc;
} io;

/* Try the read first; on EAGAIN clear the mark and wait; until n bytes or EOF. */
static void *reader(coro *self, void *arg)
{
    io *a = arg;
    char buf[64];
    size_t total = 0;
    for (;;) {
        ssize_t n = read(a->fd, buf, 4);
        if (n > 0) {
            total += (size_t)n;
            tr_add(&tr, "%s read %.*s at %.1f", a->name, (int)n, buf, now());
            continue;
        }
        if (n == 0) {
            tr_add(&tr, "%s eof after %zu", a->name, total);
            return NULL;
        }
        if (errno != EAGAIN)
            return NULL;
        coro_aio_fd_clear_ready(lp(), a->fd, CORO_AIO_FD_READ);
        tr_add(&tr, "%s wait", a->name);
        int rc = coro_aio_wait_readable(a->fd, a->timeout);
        a->rc = rc;
        if (rc != CORO_OK) {
            tr_add(&tr, "%s %s at %.1f", a->name, status(self, rc), now());
            return NULL;
        }
    }
}

/* ------------------------------------------------------------------------ */

typedef struct later_write {
    int fd;
    double delay;
    const char *data;
    bool close_after;
} later_write;

static void *writer(coro *self, void *arg)
{
    (void)self;
    later_write *w = arg;
    coro_aio_sleep(w->delay);
    tr_add(&tr, "write %s at %.1f", w->data, now());
    ssize_t n = write(w->fd, w->data, strlen(w->data));
    (void)n;
    if (w->close_after) {
        tr_add(&tr, "close writer");
        close(w->fd);
    }
    return NULL;
}

static int g_kind;

/* A reader waits on an empty pipe / socketpair; 1 s later 6 bytes come, then
 * (2 s) 3 more and the writer closes: partial reads, EAGAIN, EOF. */
static void *partial_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int p[2];
    make_pair(g_kind, p);
    io r = {p[0], p[1], NONE, "r", 0};
    later_write w1 = {p[1], 1, "abcdef", false};
    later_write w2 = {p[1], 2, "ghi", true};
    coro_aio_future *t = spawn(reader, &r);
    coro_aio_future *a = spawn(writer, &w1);
    coro_aio_future *b = spawn(writer, &w2);
    join(a);
    join(b);
    join(t);
    coro_aio_close_fd(lp(), p[0]);
    return NULL;
}

START_TEST(test_partial_reads_then_eof)
{
    g_kind = _i;
    ck_assert_int_eq(run_virtual(partial_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r wait; write abcdef at 1.0; r read abcd at 1.0; r read ef at 1.0; "
                             "r wait; write ghi at 2.0; close writer; r read ghi at 2.0; "
                             "r eof after 9");
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *writable_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(1, p);
    int rc = coro_aio_wait_writable(p[1], NONE);
    tr_add(&tr, "writable %s at %.1f", status(self, rc), now());
    /* Marked ready: the next wait returns at once, without a poll. */
    rc = coro_aio_wait_writable(p[1], 0);
    tr_add(&tr, "again %s", status(self, rc));
    /* Readable is not marked (nothing to read): timeout 0 times out. */
    rc = coro_aio_wait_readable(p[0], 0);
    tr_add(&tr, "readable %s", status(self, rc));
    coro_aio_close_fd(lp(), p[0]);
    coro_aio_close_fd(lp(), p[1]);
    return NULL;
}

START_TEST(test_writable_at_once)
{
    ck_assert_int_eq(run_virtual(writable_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "writable ok at 0.0; again ok; readable TimeoutError");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* Fill a socketpair until EAGAIN; the writer waits; a reader drains it. */
static void *drainer(coro *self, void *arg)
{
    (void)self;
    int fd = *(int *)arg;
    coro_aio_sleep(3);
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0)
        continue;
    tr_add(&tr, "drained at %.1f", now());
    return NULL;
}

static void *full_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(1, p);
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    while (write(p[1], buf, sizeof buf) > 0)
        ;
    tr_add(&tr, "full %s", errno == EAGAIN ? "EAGAIN" : "other");
    coro_aio_fd_clear_ready(lp(), p[1], CORO_AIO_FD_WRITE);
    coro_aio_future *d = spawn(drainer, &p[0]);
    int rc = coro_aio_wait_writable(p[1], NONE);
    tr_add(&tr, "writable %s at %.1f", status(self, rc), now());
    tr_add(&tr, "write %s", write(p[1], buf, 1) == 1 ? "ok" : "failed");
    join(d);
    coro_aio_close_fd(lp(), p[0]);
    coro_aio_close_fd(lp(), p[1]);
    return NULL;
}

START_TEST(test_writable_after_drain)
{
    ck_assert_int_eq(run_virtual(full_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "full EAGAIN; drained at 3.0; writable ok at 3.0; write ok");
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *timeout_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(0, p);
    int rc = coro_aio_wait_readable(p[0], 2.5);
    tr_add(&tr, "%s at %.1f", status(self, rc), now());
    /* The slot is free again, the fd still registered: a write now wakes. */
    later_write w = {p[1], 1, "z", false};
    coro_aio_future *t = spawn(writer, &w);
    rc = coro_aio_wait_readable(p[0], 5);
    tr_add(&tr, "%s at %.1f", status(self, rc), now());
    join(t);
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_timeout)
{
    ck_assert_int_eq(run_virtual(timeout_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "TimeoutError at 2.5; write z at 3.5; ok at 3.5");
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *cancel_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(1, p);
    io r = {p[0], p[1], NONE, "r", 0};
    coro_aio_future *t = spawn(reader, &r);
    coro_aio_sleep(1);
    coro_aio_future_cancel(t, NULL);
    coro_aio_await(t, NULL);
    tr_add(&tr, "task cancelled %s", coro_aio_future_cancelled(t) ? "True" : "False");
    coro_aio_future_release(t);
    /* No waiter left behind: the next one may wait, and is served. */
    later_write w = {p[1], 1, "q", false};
    coro_aio_future *wt = spawn(writer, &w);
    int rc = coro_aio_wait_readable(p[0], NONE);
    tr_add(&tr, "new waiter %s at %.1f", status(self, rc), now());
    join(wt);
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_cancel_while_waiting)
{
    ck_assert_int_eq(run_virtual(cancel_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r wait; r CancelledError at 1.0; task cancelled False; "
                             "write q at 2.0; new waiter ok at 2.0");
}
END_TEST

/* The reader catches nothing: a reader whose wait is cancelled returns
 * normally above (it records and returns), so the task is not cancelled.
 * This one re-raises. */
static void *raw_wait(coro *self, void *arg)
{
    io *a = arg;
    int rc = coro_aio_wait_readable(a->fd, a->timeout);
    a->rc = rc;
    tr_add(&tr, "%s %s at %.1f", a->name, status(self, rc), now());
    if (rc == CORO_THROWN)
        coro_reraise(self);
    return NULL;
}

static void *cancel_raise_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int p[2];
    make_pair(0, p);
    io r = {p[0], p[1], NONE, "r", 0};
    coro_aio_future *t = spawn(raw_wait, &r);
    coro_aio_sleep(0.5);
    coro_aio_future_cancel(t, "stop");
    coro_aio_await(t, NULL);
    tr_add(&tr, "task cancelled %s", coro_aio_future_cancelled(t) ? "True" : "False");
    coro_aio_future_release(t);
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_cancel_propagates)
{
    ck_assert_int_eq(run_virtual(cancel_raise_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r CancelledError: stop at 0.5; task cancelled True");
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *ebusy_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(1, p);
    io r = {p[0], p[1], NONE, "first", 0};
    coro_aio_future *t = spawn(raw_wait, &r);
    coro_aio_sleep(1);
    int rc = coro_aio_wait_readable(p[0], NONE);
    tr_add(&tr, "second %s", status(self, rc));
    tr_add(&tr, "says %s", strstr(coro_aio_last_error(), "another task already waits")
                               ? "another task" : coro_aio_last_error());
    /* The other direction is free. */
    rc = coro_aio_wait_writable(p[0], NONE);
    tr_add(&tr, "writable %s", status(self, rc));
    tr_add(&tr, "write %zd", write(p[1], "x", 1));
    join(t);
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_ebusy_second_waiter)
{
    ck_assert_int_eq(run_virtual(ebusy_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "second EBUSY; says another task; writable ok; write 1; "
                             "first ok at 1.0");
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *wwait(coro *self, void *arg)
{
    io *a = arg;
    int rc = coro_aio_wait_writable(a->fd, a->timeout);
    a->rc = rc;
    tr_add(&tr, "%s %s at %.1f", a->name, status(self, rc), now());
    return NULL;
}

static int g_fd;

static void *close_wait_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int p[2];
    make_pair(1, p);
    char buf[4096] = {0};
    while (write(p[0], buf, sizeof buf) > 0)
        ;
    coro_aio_fd_clear_ready(lp(), p[0], CORO_AIO_FD_WRITE);
    io r = {p[0], p[1], NONE, "reader", 0};
    io w = {p[0], p[1], NONE, "writer", 0};
    coro_aio_future *t1 = spawn(raw_wait, &r);
    coro_aio_future *t2 = spawn(wwait, &w);
    coro_aio_sleep(2);
    g_fd = p[0];
    tr_add(&tr, "close_fd %s", coro_err_name(coro_aio_close_fd(lp(), p[0])));
    join(t1);
    join(t2);
    /* Really closed. */
    tr_add(&tr, "fcntl %s", fcntl(p[0], F_GETFD) < 0 && errno == EBADF ? "EBADF" : "open");
    close(p[1]);
    return NULL;
}

START_TEST(test_close_while_waiting)
{
    ck_assert_int_eq(run_virtual(close_wait_main, NULL), CORO_OK);
    char want[512];
    snprintf(want, sizeof want,
             "close_fd OK; reader ClosedError: file descriptor %d was closed while a task "
             "waited on it at 2.0; writer ClosedError: file descriptor %d was closed while a "
             "task waited on it at 2.0; fcntl EBADF", g_fd, g_fd);
    ck_assert_str_eq(tr.buf, want);
}
END_TEST

/* ------------------------------------------------------------------------ */

/* fd N closed while A waits; a new descriptor gets number N; its readiness
 * must not reach A, and a new waiter B on it is served. */
typedef struct reuse {
    int old[2];
    int fresh[2];
    bool same_iteration; /* the old fd's event is fetched in the iteration
                            that closes it */
} reuse;

static void *reuse_main(coro *self, void *arg)
{
    (void)self;
    reuse *u = arg;
    make_pair(0, u->old);
    int n = u->old[0];
    io a = {n, u->old[1], NONE, "A", 0};
    coro_aio_future *ta = spawn(raw_wait, &a);
    coro_aio_sleep(1);
    if (u->same_iteration) {
        /* The poll after this bare yield fetches A's event; this task's step
         * is ahead of the handle that would resolve A, and closes first. */
        tr_add(&tr, "write old %zd", write(u->old[1], "o", 1));
        coro_aio_sleep(0);
    }
    coro_aio_close_fd(lp(), n);
    close(u->old[1]);
    make_pair(0, u->fresh);
    if (u->fresh[0] != n) {
        ck_assert_int_eq(dup2(u->fresh[0], n), n);
        close(u->fresh[0]);
        u->fresh[0] = n;
    }
    io b = {n, u->fresh[1], NONE, "B", 0};
    coro_aio_future *tb = spawn(raw_wait, &b);
    coro_aio_sleep(1);
    tr_add(&tr, "write new %zd", write(u->fresh[1], "n", 1));
    join(tb);
    join(ta);
    tr_add(&tr, "A woken with %s", a.rc == CORO_THROWN ? "the error" : "ready");
    char c;
    tr_add(&tr, "B reads %zd", read(n, &c, 1));
    coro_aio_close_fd(lp(), n);
    close(u->fresh[1]);
    return NULL;
}

START_TEST(test_reused_fd_number)
{
    reuse u;
    memset(&u, 0, sizeof u);
    u.same_iteration = _i == 1;
    ck_assert_int_eq(run_virtual(reuse_main, &u), CORO_OK);
    char want[512];
    snprintf(want, sizeof want,
             "%sA ClosedError: file descriptor %d was closed while a task waited on it at "
             "1.0; write new 1; B ok at 2.0; A woken with the error; B reads 1",
             u.same_iteration ? "write old 1; " : "", u.old[0]);
    ck_assert_str_eq(tr.buf, want);
}
END_TEST

/* ------------------------------------------------------------------------ */

/* Peer hang-up wakes a reader: a closed pipe writer, a socket's shutdown. */
static void *hup_main(coro *self, void *arg)
{
    (void)arg;
    int p[2];
    make_pair(g_kind, p);
    io r = {p[0], p[1], NONE, "r", 0};
    coro_aio_future *t = spawn(raw_wait, &r);
    coro_aio_sleep(1);
    if (g_kind == 0)
        close(p[1]);
    else
        shutdown(p[1], SHUT_WR);
    join(t);
    char c;
    tr_add(&tr, "read %zd", read(p[0], &c, 1));
    (void)self;
    coro_aio_close_fd(lp(), p[0]);
    if (g_kind == 1)
        close(p[1]);
    return NULL;
}

START_TEST(test_hangup_wakes_reader)
{
    g_kind = _i;
    ck_assert_int_eq(run_virtual(hup_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "r ok at 1.0; read 0");
}
END_TEST

/* ------------------------------------------------------------------------ */

#define MANY 200

static int many_fds[MANY][2];
static int served, sum;

static void *many_reader(coro *self, void *arg)
{
    (void)self;
    int i = (int)(intptr_t)arg;
    if (coro_aio_wait_readable(many_fds[i][0], 10) != CORO_OK)
        return NULL;
    unsigned char c;
    if (read(many_fds[i][0], &c, 1) == 1) {
        served++;
        sum += c;
    }
    return NULL;
}

static void *many_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    coro_aio_future *t[MANY];
    for (int i = 0; i < MANY; i++) {
        make_pair(1, many_fds[i]);
        t[i] = spawn(many_reader, (void *)(intptr_t)i);
    }
    coro_aio_sleep(1);
    for (int i = MANY - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)(i % 251);
        ssize_t n = write(many_fds[i][1], &c, 1);
        (void)n;
    }
    for (int i = 0; i < MANY; i++)
        join(t[i]);
    tr_add(&tr, "served %d sum %d at %.1f", served, sum, now());
    for (int i = 0; i < MANY; i++) {
        coro_aio_close_fd(lp(), many_fds[i][0]);
        close(many_fds[i][1]);
    }
    return NULL;
}

START_TEST(test_many_fds)
{
    int want = 0;
    for (int i = 0; i < MANY; i++)
        want += i % 251;
    ck_assert_int_eq(run_virtual(many_main, NULL), CORO_OK);
    char buf[128];
    snprintf(buf, sizeof buf, "served %d sum %d at 1.0", MANY, want);
    ck_assert_str_eq(tr.buf, buf);
}
END_TEST

/* ------------------------------------------------------------------------ */

/* Waiters wake in the order the poller reported the fds: the readiness of
 * b, then a (one write each, in that order, in one step). */
static void *order_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int pa[2], pb[2], pc[2];
    make_pair(1, pa);
    make_pair(1, pb);
    make_pair(1, pc);
    io a = {pa[0], pa[1], NONE, "a", 0}, b = {pb[0], pb[1], NONE, "b", 0},
       c = {pc[0], pc[1], NONE, "c", 0};
    coro_aio_future *ta = spawn(raw_wait, &a), *tb = spawn(raw_wait, &b),
                    *tc = spawn(raw_wait, &c);
    coro_aio_sleep(1);
    ssize_t n = write(pb[1], "1", 1) + write(pc[1], "1", 1) + write(pa[1], "1", 1);
    (void)n;
    join(ta);
    join(tb);
    join(tc);
    int *all[] = {pa, pb, pc};
    for (int i = 0; i < 3; i++) {
        coro_aio_close_fd(lp(), all[i][0]);
        close(all[i][1]);
    }
    return NULL;
}

START_TEST(test_wake_order_is_poll_order)
{
    ck_assert_int_eq(run_virtual(order_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "b ok at 1.0; c ok at 1.0; a ok at 1.0");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* The ready queue never empties (a task yields bare in a loop): the loop
 * must still poll, since a descriptor is registered. */
static bool spin_done;

static void *spinner(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int i = 0;
    while (!spin_done && i < 1000) {
        coro_aio_sleep(0);
        i++;
    }
    tr_add(&tr, "spinner %s", spin_done ? "stopped" : "gave up");
    return NULL;
}

static void *busy_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int p[2];
    make_pair(0, p);
    coro_aio_future *s = spawn(spinner, NULL);
    coro_aio_sleep(0);
    coro_aio_sleep(0);
    tr_add(&tr, "write %zd", write(p[1], "w", 1));
    int rc = coro_aio_wait_readable(p[0], NONE);
    tr_add(&tr, "readable %s", rc == CORO_OK ? "ok" : "failed");
    spin_done = true;
    join(s);
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_polls_while_busy)
{
    ck_assert_int_eq(run_virtual(busy_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "write 1; readable ok; spinner stopped");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* A task still waiting when the loop closes: destroyed, nothing leaks. */
static void *forever(coro *self, void *arg)
{
    (void)self;
    int fd = *(int *)arg;
    coro_aio_wait_readable(fd, NONE);
    return NULL;
}

START_TEST(test_loop_closed_with_waiter)
{
    coro_aio_loop *loop = new_loop(CORO_AIO_CLOCK_VIRTUAL);
    int p[2];
    make_pair(0, p);
    coro_aio_future *t = coro_aio_create_task(loop, forever, &p[0], NULL);
    coro_aio_future *f = coro_aio_future_new(loop);
    coro_aio_call_soon(loop, (coro_aio_callback_fn)coro_aio_stop, loop, NULL);
    ck_assert_int_eq(coro_aio_run_forever(loop), CORO_OK);
    ck_assert(!coro_aio_future_done(t));
    coro_aio_future_release(f);
    coro_aio_future_release(t);
    ck_assert_int_eq(coro_aio_loop_close(loop), CORO_OK);
    /* The loop is gone; the descriptors stay ours. */
    ck_assert_int_eq(close(p[0]), 0);
    close(p[1]);
}
END_TEST

/* ------------------------------------------------------------------------ */

static void *misuse_main(coro *self, void *arg)
{
    (void)arg;
    tr_add(&tr, "fd -1 %s", status(self, coro_aio_wait_readable(-1, NONE)));
    int p[2];
    make_pair(0, p);
    tr_add(&tr, "nan %s", status(self, coro_aio_wait_readable(p[0], NAN)));
    int dead = dup(p[0]);
    close(dead);
    int rc = coro_aio_wait_writable(dead, NONE);
    tr_add(&tr, "closed fd %s %s", status(self, rc),
           strstr(coro_aio_last_error(), "cannot be watched") ? "says why" : coro_aio_last_error());
    rc = coro_aio_wait_readable(1 << 30, NONE);
    tr_add(&tr, "huge fd %s", status(self, rc));
    char path[] = "/tmp/coro_aio_fd_XXXXXX";
    int file = mkstemp(path);
    unlink(path);
    tr_add(&tr, "regular file %s", status(self, coro_aio_wait_readable(file, NONE)));
    close(file);
    tr_add(&tr, "clear dir 0 %s", coro_err_name(coro_aio_fd_clear_ready(lp(), p[0], 0)));
    tr_add(&tr, "clear dir 4 %s", coro_err_name(coro_aio_fd_clear_ready(lp(), p[0], 4)));
    tr_add(&tr, "clear fd -2 %s", coro_err_name(coro_aio_fd_clear_ready(lp(), -2, 1)));
    tr_add(&tr, "clear unknown %s", coro_err_name(coro_aio_fd_clear_ready(lp(), 900, 3)));
    tr_add(&tr, "close NULL %s", coro_err_name(coro_aio_close_fd(NULL, p[0])));
    tr_add(&tr, "close -1 %s", coro_err_name(coro_aio_close_fd(lp(), -1)));
    tr_add(&tr, "close dead %s", coro_err_name(coro_aio_close_fd(lp(), dead)));
    tr_add(&tr, "close ok %s", coro_err_name(coro_aio_close_fd(lp(), p[0])));
    close(p[1]);
    return NULL;
}

START_TEST(test_misuse)
{
    int p[2];
    make_pair(0, p);
    ck_assert_int_eq(coro_aio_wait_readable(p[0], NONE), CORO_EINVAL);
    ck_assert_ptr_nonnull(strstr(coro_aio_last_error(), "outside a task"));
    ck_assert_int_eq(coro_aio_wait_writable(p[1], 1), CORO_EINVAL);
    ck_assert_int_eq(coro_aio_fd_clear_ready(NULL, p[0], 1), CORO_EINVAL);
    close(p[0]);
    close(p[1]);
    ck_assert_int_eq(run_virtual(misuse_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "fd -1 EINVAL; nan EINVAL; closed fd EINVAL says why; huge fd EINVAL; "
                             "regular file EINVAL; clear dir 0 EINVAL; clear dir 4 EINVAL; "
                             "clear fd -2 EINVAL; clear unknown OK; close NULL EINVAL; "
                             "close -1 EINVAL; close dead EINVAL; close ok OK");
}
END_TEST

/* ------------------------------------------------------------------------ */

/* No descriptor registered: the loop still skips the poll when callbacks
 * are ready, and one registered fd turns polling on only until close_fd. */
static void *count_main(coro *self, void *arg)
{
    (void)self;
    (void)arg;
    int p[2];
    make_pair(0, p);
    tr_add(&tr, "write %zd", write(p[1], "x", 1));
    /* Registered only now: the initial readiness arrives with the first poll. */
    int rc = coro_aio_wait_readable(p[0], NONE);
    tr_add(&tr, "data already there: %s", rc == CORO_OK ? "ok" : "failed");
    coro_aio_close_fd(lp(), p[0]);
    close(p[1]);
    return NULL;
}

START_TEST(test_ready_before_registration)
{
    ck_assert_int_eq(run_virtual(count_main, NULL), CORO_OK);
    ck_assert_str_eq(tr.buf, "write 1; data already there: ok");
}
END_TEST

static void setup(void)
{
    tr_reset(&tr);
    served = sum = 0;
    spin_done = false;
}

int main(void)
{
    Suite *s = suite_create("aio_fd");
    TCase *tc = tcase_create("fd");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, test_partial_reads_then_eof, 0, 2);
    tcase_add_test(tc, test_writable_at_once);
    tcase_add_test(tc, test_writable_after_drain);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_cancel_while_waiting);
    tcase_add_test(tc, test_cancel_propagates);
    tcase_add_test(tc, test_ebusy_second_waiter);
    tcase_add_test(tc, test_close_while_waiting);
    tcase_add_loop_test(tc, test_reused_fd_number, 0, 2);
    tcase_add_loop_test(tc, test_hangup_wakes_reader, 0, 2);
    tcase_add_test(tc, test_many_fds);
    tcase_add_test(tc, test_wake_order_is_poll_order);
    tcase_add_test(tc, test_polls_while_busy);
    tcase_add_test(tc, test_loop_closed_with_waiter);
    tcase_add_test(tc, test_misuse);
    tcase_add_test(tc, test_ready_before_registration);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
