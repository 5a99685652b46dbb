/* client_aio.c - the flags demo's concurrent downloader: one task per code on libcoro-aio's streams.
 * SPDX-License-Identifier: MIT
 *
 * The notebook's cell, line by line:
 *
 *     async def get_flag(cc):                      get_flag below
 *         url = '{}/{cc}/{cc}.gif'.format(BASE_URL, cc=cc.lower())
 *         resp = await aiohttp.request('GET', url)  open_connection, write,
 *                                                   drain, readuntil the head
 *         image = await resp.read()                 readexactly(Content-Length)
 *         with open(path, 'wb') as fp: fp.write(image)
 *         ...
 *     t0 = time.time()
 *     loop = asyncio.get_event_loop()               coro_aio_loop_new
 *     coros = [asyncio.Task(get_flag(cc)) for cc in POP20_CC]
 *                                                   coro_aio_create_task x 21
 *     loop.run_until_complete(asyncio.wait(coros))  a task awaiting coro_aio_wait,
 *                                                   run until complete
 *     loop.close()                                  coro_aio_loop_close
 *     print('elapsed in {:.2f}s'.format(elapsed))
 *
 * While one task waits for its reply the loop runs the others, so the 21
 * server delays overlap and the total is about one delay.
 */
#include "client.h"

#include "flags.h"
#include "http.h"

#include <coro.h>
#include <coro_aio.h>

#include <stdlib.h>
#include <string.h>

/* One download: its code and its buffers (kept off the task's small stack). */
typedef struct job {
    const flags_client_options *o;
    int index;
    char head[HTTP_HEAD_MAX];
    unsigned char body[FLAGS_GIF_MAX];
} job;

static void release_stream(void *s) { coro_aio_stream_release(s); }

/* An awaiting call reported an exception: it goes on up (the task fails
 * with it); a misuse becomes RuntimeError with the library's text. */
static void check(coro *self, int rc, const char *what)
{
    if (rc == CORO_THROWN)
        coro_reraise(self);
    if (rc < 0)
        coro_raisef(self, &coro_RuntimeError, "%s: %s", what, coro_aio_last_error());
}

static void *get_flag(coro *self, void *arg)
{
    job *j = arg;
    const flags_client_options *o = j->o;
    char path[32], request[512];
    flags_path(j->index, path, sizeof path);

    coro_aio_stream *s = NULL;
    check(self, coro_aio_open_connection(o->host, o->port, NULL, &s), "open_connection");
    coro_defer(self, release_stream, s); /* closed however the task ends */

    size_t n = http_format_request(request, sizeof request, o->host, o->port, path, false);
    check(self, coro_aio_stream_write(s, request, n), "write");
    check(self, coro_aio_stream_drain(s), "drain");

    size_t len = 0;
    check(self, coro_aio_stream_readuntil(s, "\r\n\r\n", 4, j->head, sizeof j->head, &len),
          "readuntil");
    http_response resp;
    if (http_parse_response(j->head, len, &resp) != 0)
        coro_raisef(self, &coro_RuntimeError, "%s", flags_error());
    if (resp.content_length < 0 || resp.content_length > (long long)sizeof j->body)
        coro_raisef(self, &coro_RuntimeError, "Content-Length %lld: want 0 to %zu",
                    resp.content_length, sizeof j->body);
    size_t got = 0;
    check(self, coro_aio_stream_readexactly(s, j->body, (size_t)resp.content_length, &got),
          "readexactly");
    if (flags_save(o, j->index, resp.status, j->body, got) != 0)
        coro_raisef(self, &coro_RuntimeError, "%s", flags_error());
    return NULL;
}

/* loop.run_until_complete(asyncio.wait(coros)): wait wants a task to run in. */
static void *wait_all(coro *self, void *arg)
{
    coro_aio_future **tasks = arg;
    int rc =
        coro_aio_wait(tasks, FLAGS_COUNT, CORO_AIO_NO_TIMEOUT, CORO_AIO_ALL_COMPLETED, NULL, NULL);
    check(self, rc, "wait");
    return NULL;
}

int flags_download_concurrent(const flags_client_options *o, double *elapsed)
{
    if (flags_make_dir(o->dir) != 0)
        return -1;
    job *jobs = calloc(FLAGS_COUNT, sizeof *jobs);
    if (jobs == NULL)
        return flags_fail("out of memory");
    double t0 = flags_now();
    coro_aio_loop *loop = NULL;
    if (coro_aio_loop_new(&loop, NULL) != CORO_OK) {
        free(jobs);
        return flags_fail("new event loop: %s", coro_aio_last_error());
    }
    coro_aio_future *tasks[FLAGS_COUNT] = {NULL}, *waiter = NULL;
    int rc = 0;
    for (int i = 0; i < FLAGS_COUNT && rc == 0; i++) {
        jobs[i].o = o;
        jobs[i].index = i;
        coro_aio_task_options opt = CORO_AIO_TASK_OPTIONS_INIT;
        opt.name = flags_codes[i];
        tasks[i] = coro_aio_create_task(loop, get_flag, &jobs[i], &opt);
        if (tasks[i] == NULL)
            rc = flags_fail("create_task: %s", coro_aio_last_error());
    }
    if (rc == 0 && (waiter = coro_aio_create_task(loop, wait_all, tasks, NULL)) == NULL)
        rc = flags_fail("create_task: %s", coro_aio_last_error());
    coro_exc exc;
    if (rc == 0) {
        int run = coro_aio_run_until_complete(loop, waiter, NULL, &exc);
        if (run == CORO_RAISED)
            rc = flags_fail("wait: %s: %s", exc.type->name, exc.message);
        else if (run != CORO_OK)
            rc = flags_fail("run_until_complete: %s", coro_aio_last_error());
    }
    /* Every task's exception is looked at (none goes unretrieved); the first
     * that failed, in the list's order, names the failure. */
    for (int i = 0; i < FLAGS_COUNT && tasks[i] != NULL; i++) {
        if (coro_aio_future_done(tasks[i]) &&
            coro_aio_future_exception(tasks[i], &exc) == CORO_OK && exc.type != NULL && rc == 0)
            rc = flags_fail("%s: %s: %s", flags_codes[i], exc.type->name, exc.message);
        coro_aio_future_release(tasks[i]);
    }
    coro_aio_future_release(waiter);
    coro_aio_loop_close(loop);
    free(jobs);
    double t = flags_now() - t0;
    if (rc == 0 && o->out != NULL)
        fprintf(o->out, "elapsed in %.2fs\n", t);
    if (elapsed != NULL)
        *elapsed = t;
    return rc;
}
