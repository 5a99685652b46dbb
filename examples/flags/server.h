/* server.h - the flags demo's HTTP server on libcoro-aio's streams: one task per connection.
 * SPDX-License-Identifier: MIT
 */
#ifndef FLAGS_SERVER_H
#define FLAGS_SERVER_H

#include "flags.h"

/** A running server: its images, its counters, and (for flags_server_spawn)
 *  the thread whose loop it runs on. */
typedef struct flags_server flags_server;

/** Called once the server listens (or could not), from the server's thread.
 *  @param port  the bound port, or -1 when starting failed (flags_error,
 *               on that thread, says why) */
typedef void (*flags_ready_fn)(int port, void *arg);

/** Serves the flags on host:port (port 0: a free one) in this thread, as
 *  `asyncio.run(main())` with main awaiting server.serve_forever(): makes the
 *  images, starts the server, calls ready, and runs until the process is
 *  interrupted. Each request waits `delay` seconds (an awaited sleep: the
 *  other connections go on meanwhile) before its reply.
 *  @return -1 when the server could not start (flags_error says why);
 *  otherwise does not return until the main task is cancelled, then 0. */
int flags_serve(const char *host, int port, double delay, flags_ready_fn ready, void *arg);

/** The same server on a thread of its own, with its own event loop, for
 *  clients in this process (the tests, --compare, coro-bench).
 *  @return 0 with *out once it listens; -1 (flags_error says why). */
int flags_server_spawn(const char *host, int port, double delay, flags_server **out);

/** The port it listens on. */
int flags_server_port(const flags_server *s);
/** The images it serves, as made at its start. */
const flags_catalog *flags_server_catalog(const flags_server *s);
/** Connections accepted and requests answered so far. */
int flags_server_connections(const flags_server *s);
int flags_server_requests(const flags_server *s);

/** Stops a spawned server (its main task is cancelled, every connection
 *  task with it), joins its thread and frees it. NULL is harmless. */
void flags_server_stop(flags_server *s);

#endif /* FLAGS_SERVER_H */
