/* compare.c - the flags demo's two downloaders timed against one in-process server.
 * SPDX-License-Identifier: MIT
 *
 * For --compare without a server of one's own, and for coro-bench's
 * flags_sequential_ms and flags_concurrent_ms rows.
 */
#include "client.h"
#include "server.h"

int flags_compare(double delay, double *sequential_s, double *concurrent_s)
{
    flags_server *srv = NULL;
    if (flags_server_spawn("127.0.0.1", 0, delay, &srv) != 0)
        return -1;
    flags_client_options o = {"127.0.0.1", flags_server_port(srv), NULL, NULL};
    int rc = flags_download_sequential(&o, sequential_s);
    if (rc == 0)
        rc = flags_download_concurrent(&o, concurrent_s);
    flags_server_stop(srv);
    return rc;
}
