/* aio_util.h - helpers shared by the libcoro-aio suites.
 * SPDX-License-Identifier: MIT
 */
#ifndef CORO_AIO_UTIL_H
#define CORO_AIO_UTIL_H

#include "check_util.h"
#include "coro_aio.h"

/* An exception handler that appends "handler: <message> [<exc>] [<repr>]" to
 * the transcript tr. */
void record_handler(coro_aio_loop *loop, const coro_aio_exc_context *ctx, void *udata);
/* A new loop (the clock given) with record_handler installed; fails the test
 * on error. */
coro_aio_loop *new_loop(int clock);
/* Runs main(self, arg) as the first task of a fresh virtual-clock loop (with
 * record_handler), then closes the loop; returns run_until_complete's
 * status. Fails the test when the task cannot be made or the loop closed. */
int run_in_virtual_loop(coro_fn main, void *arg);
/* "Type: message" or "Type" into a static buffer. */
const char *exc_str(const coro_exc *e);

/* The tasks a transcript case spawns (in the running loop, the tag as the
 * body's argument), kept in case_task[] in creation order and released
 * together after the run. Set case_ntasks = 0 before each case. */
#define CASE_MAX_TASKS 16
extern coro_aio_future *case_task[CASE_MAX_TASKS];
extern int case_ntasks;
coro_aio_future *case_spawn(coro_fn fn, const char *tag);
/* await asyncio.gather(*case_task[from:from+n], return_exceptions=True) */
int case_gather(int from, int n);
/* Releases every task spawned since case_ntasks was last set to 0. */
void case_release_tasks(void);

#endif
