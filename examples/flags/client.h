/* client.h - the flags demo's two downloaders: sequential on blocking sockets, concurrent on tasks.
 * SPDX-License-Identifier: MIT
 */
#ifndef FLAGS_CLIENT_H
#define FLAGS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** What to download from where. */
typedef struct flags_client_options {
    const char *host; /* the server, "127.0.0.1" */
    int port;
    const char *dir; /* the folder the files go to ({cc}.gif, lower case), made
                         if missing; NULL: check the downloads, write no file */
    FILE *out;       /* each code printed on its own line as its download
                         completes, then "elapsed in X.XXs"; NULL: quiet */
} flags_client_options;

/** Downloads all FLAGS_COUNT flags one after another, one blocking
 *  connection each (the notebook's flags.py, before asyncio).
 *  @param elapsed  receives the wall time in seconds; may be NULL
 *  @return 0, or -1 at the first failure (flags_error says which code and
 *  why). */
int flags_download_sequential(const flags_client_options *o, double *elapsed);

/** Downloads them with one task per code on a new event loop, as the
 *  notebook does: create the tasks, run the loop until coro_aio_wait says
 *  all are done, close the loop. Each task opens its own connection.
 *  @return 0, or -1 when the loop could not be made or any task failed
 *  (flags_error names the first failed code and its exception). */
int flags_download_concurrent(const flags_client_options *o, double *elapsed);

/** Runs both against a server this function starts on its own thread with
 *  the given per-request delay, quietly and without writing files.
 *  @param delay  seconds the server waits before each reply
 *  @return 0, or -1 (flags_error says why). */
int flags_compare(double delay, double *sequential_s, double *concurrent_s);

/* ---- blocking helpers (client.c), also used by the tests ---- */

/** A blocking TCP connection to host:port (numeric or a name), with a 10 s
 *  receive and send timeout so that a stuck server fails instead of hanging.
 *  @return the descriptor, or -1 (flags_error says why). */
int flags_connect(const char *host, int port);

/** One GET on a blocking connection: sends the request, reads the status
 *  line, headers and a Content-Length body of at most cap bytes.
 *  @param keep_alive  ask the server to keep the connection open
 *  @param status      receives the status code
 *  @param len         receives the body's length
 *  @return 0; -1 for an I/O error, a malformed reply, no Content-Length or a
 *  body larger than cap (flags_error says which). */
int flags_get(int fd, const char *host, int port, const char *target, bool keep_alive,
              unsigned char *body, size_t cap, size_t *len, int *status);

/** Checks a downloaded body, writes it to o->dir (when set) and prints the
 *  code to o->out (when set). Shared by both downloaders.
 *  @return 0, or -1 (flags_error says why). */
int flags_save(const flags_client_options *o, int index, int status, const unsigned char *body,
               size_t len);

/** Makes the folder dir unless it exists (NULL: nothing to do).
 *  @return 0, or -1 (flags_error says why). */
int flags_make_dir(const char *dir);

/** Seconds on the monotonic clock. */
double flags_now(void);

#endif /* FLAGS_CLIENT_H */
