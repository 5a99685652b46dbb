/* coro_aio.h - libcoro-aio: asyncio's event loop, futures and tasks for libcoro.
 * SPDX-License-Identifier: MIT
 *
 * A loop runs callbacks and tasks exactly as CPython 3.11's asyncio does:
 * one iteration (asyncio's BaseEventLoop._run_once) runs the callbacks that
 * were ready when it began, in FIFO order, after moving the timers that are
 * due to the ready queue. A task is a libcoro coroutine driven by the loop:
 * its body awaits futures with coro_aio_await, which yields the future to the
 * loop (through any yield from chain); the loop resumes the task when the
 * future is done, in the same iteration Python would.
 *
 * Names are asyncio's with the coro_aio_ prefix (docs/aio.md maps each one).
 * Return values follow coro.h: 0 or a positive status for success, a
 * negative CORO_E* for misuse, with coro_aio_last_error() saying why.
 * Where Python raises an exception out of a call (result(), exception()),
 * the C call returns CORO_RAISED and fills a coro_exc; inside a task body,
 * coro_aio_await and coro_aio_sleep report CORO_THROWN exactly as coro_yield
 * does, with the exception in coro_exception(coro_current()).
 *
 * Threads: a loop belongs to the thread that runs it. From other threads,
 * only coro_aio_call_soon_threadsafe, coro_aio_run_coroutine_threadsafe and
 * the coro_aio_cfuture_ calls may be used. coro_aio_to_thread runs blocking
 * functions on the loop's worker pool.
 *
 * Ownership: futures and tasks are reference counted. Every call that creates
 * one hands the caller a reference, given back with coro_aio_future_release.
 * The loop keeps its own references while it needs an object (a pending task,
 * a scheduled callback), so releasing early is always safe.
 */
#ifndef CORO_AIO_H
#define CORO_AIO_H

#include "coro.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/** An event loop (asyncio.AbstractEventLoop). */
typedef struct coro_aio_loop coro_aio_loop;
/** A scheduled callback (asyncio.Handle / TimerHandle). */
typedef struct coro_aio_handle coro_aio_handle;
/** A future (asyncio.Future). Tasks are futures too (asyncio.Task). */
typedef struct coro_aio_future coro_aio_future;

/** A plain callback for call_soon / call_later / call_at. */
typedef void (*coro_aio_callback_fn)(void *arg);
/** A done callback: called through the loop with the future that finished. */
typedef void (*coro_aio_done_fn)(coro_aio_future *f, void *arg);

/* asyncio's exceptions. CancelledError derives from BaseException (as since
 * Python 3.8), so a handler for coro_Exception does not catch it. */
CORO_API extern const coro_exc_type coro_aio_CancelledError;    /* base: BaseException */
CORO_API extern const coro_exc_type coro_aio_TimeoutError;      /* base: OSError (below) */
CORO_API extern const coro_exc_type coro_aio_InvalidStateError; /* base: Exception */

/** Details of the most recent failure of a coro_aio_ call on this thread
 *  ("" until the first). Not cleared by calls that succeed. */
CORO_API const char *coro_aio_last_error(void);

/* ======================================================================== */
/* The loop                                                                 */
/* ======================================================================== */

/** Loop clocks (coro_aio_loop_options.clock). */
enum {
    /** CLOCK_MONOTONIC (time.monotonic, asyncio's loop.time). */
    CORO_AIO_CLOCK_MONOTONIC = 0,
    /** A virtual clock that starts at 0 and, when nothing is ready, jumps to
     *  the next timer's deadline instead of sleeping (trio's MockClock with
     *  autojump). For deterministic tests of timeouts. Not for real I/O: a
     *  timeout around work that finishes in real time (a remote peer, a DNS
     *  lookup, a to_thread call) expires at once, the clock jumping to it. */
    CORO_AIO_CLOCK_VIRTUAL = 1
};

/** Loop options. Start from coro_aio_loop_options_init() or
 *  CORO_AIO_LOOP_OPTIONS_INIT. */
typedef struct coro_aio_loop_options {
    int clock;         /* CORO_AIO_CLOCK_MONOTONIC or _VIRTUAL */
    size_t stack_size; /* default stack size of tasks, bytes; 0 = libcoro's
                          default for the stack mode */
    int stack_mode;    /* default stack mode of tasks; CORO_STACK_DEFAULT
                          here means CORO_STACK_COMPACT */
} coro_aio_loop_options;

#define CORO_AIO_LOOP_OPTIONS_INIT {CORO_AIO_CLOCK_MONOTONIC, 0, CORO_STACK_DEFAULT}

/** Sets every field of *opt to its default. */
CORO_API void coro_aio_loop_options_init(coro_aio_loop_options *opt);

/** Creates a loop (asyncio.new_event_loop).
 *  @return CORO_OK; CORO_EINVAL for a NULL out or a bad option; CORO_ENOMEM
 *  when memory, the poller or the wake-up descriptor could not be had. */
CORO_API int coro_aio_loop_new(coro_aio_loop **out, const coro_aio_loop_options *opt);

/** Closes a loop (loop.close()) and gives it up: the callbacks and timers
 *  still scheduled are dropped; every pending task that nothing else
 *  references is reported to the exception handler ("Task was destroyed but
 *  it is pending!") and its coroutine destroyed, so its cleanup handlers run.
 *  A pending task the caller still holds stays pending until released, and
 *  is reported and destroyed then (as Python does when the last reference to
 *  a pending task goes). Futures, tasks and handles the caller still holds
 *  stay valid for release only.
 *  The loop's memory is freed now, or with the last of those releases: like
 *  fclose, the loop pointer must not be used after this call (not even for
 *  coro_aio_is_closed or a second close).
 *  @return CORO_OK (also for NULL); CORO_ERUNNING if the loop is running
 *  ("Cannot close a running event loop"), and then nothing is closed. */
CORO_API int coro_aio_loop_close(coro_aio_loop *loop);

/** Runs the loop until f is done (loop.run_until_complete(f)).
 *  @param result  receives f's result on CORO_OK; may be NULL
 *  @param exc     receives the exception result() raises on CORO_RAISED
 *                 (f's exception, or CancelledError); may be NULL
 *  @return CORO_OK; CORO_RAISED; CORO_EINVAL for NULL arguments, a future of
 *  another loop or a closed loop; CORO_ERUNNING if this or another loop is
 *  running on this thread ("This event loop is already running",
 *  "Cannot run the event loop while another loop is running"); CORO_EINVAL
 *  when the loop was stopped before f completed ("Event loop stopped before
 *  Future completed."). */
CORO_API int coro_aio_run_until_complete(coro_aio_loop *loop, coro_aio_future *f,
                                         void **result, coro_exc *exc);

/** Runs the loop until coro_aio_stop (loop.run_forever()). Returns CORO_OK, or
 *  the errors of coro_aio_run_until_complete. */
CORO_API int coro_aio_run_forever(coro_aio_loop *loop);

/** Makes a running loop return after the iteration in progress (loop.stop());
 *  before run_forever, makes the next run do one iteration. */
CORO_API void coro_aio_stop(coro_aio_loop *loop);

/** True while the loop runs (loop.is_running()). */
CORO_API bool coro_aio_is_running(const coro_aio_loop *loop);
/** True once closed (loop.is_closed()). */
CORO_API bool coro_aio_is_closed(const coro_aio_loop *loop);

/** asyncio.run(main()): a new loop, main as its first task, then: cancel
 *  every task left and wait for them, finish, close the loop.
 *  SIGINT, as asyncio.Runner (3.11) handles it: when called on the process's
 *  main thread while SIGINT has its default disposition, run handles SIGINT
 *  until main is done. The first SIGINT cancels main (and wakes the loop);
 *  if main then ends cancelled and its uncancel() count drops to 0, run
 *  returns CORO_RAISED with coro_aio_KeyboardInterrupt (main may also catch
 *  the CancelledError and return normally). A second SIGINT (or a first one
 *  after main is done) interrupts the process: the default disposition is
 *  put back and the signal raised again. The default disposition is back
 *  before the shutdown begins.
 *  @param opt     loop options; NULL for the defaults
 *  @param result  receives main's return value on CORO_OK; may be NULL
 *  @param exc     receives the exception that escaped main on CORO_RAISED
 *                 (CancelledError if it was cancelled, KeyboardInterrupt
 *                 if SIGINT cancelled it); may be NULL
 *  @return CORO_OK; CORO_RAISED; CORO_ERUNNING when called with a loop
 *  running on this thread ("asyncio.run() cannot be called from a running
 *  event loop"); CORO_EINVAL for a NULL main; CORO_ENOMEM. */
CORO_API int coro_aio_run(coro_fn main, void *arg, const coro_aio_loop_options *opt,
                          void **result, coro_exc *exc);

/** The loop running on this thread, or NULL (asyncio.get_running_loop()
 *  raises "no running event loop" where this returns NULL). */
CORO_API coro_aio_loop *coro_aio_get_running_loop(void);

/** The loop's clock in seconds (loop.time()). */
CORO_API double coro_aio_time(const coro_aio_loop *loop);
/** The loop's clock in nanoseconds. */
CORO_API int64_t coro_aio_time_ns(const coro_aio_loop *loop);

/* ======================================================================== */
/* Callbacks and handles                                                    */
/* ======================================================================== */

/** Schedules fn(arg) for the next iteration, after every callback already
 *  ready (loop.call_soon).
 *  @param out  NULL, or receives a reference to the handle (for cancel),
 *              given back with coro_aio_handle_release
 *  @return CORO_OK; CORO_EINVAL for a NULL loop or fn, or a closed loop
 *  ("Event loop is closed"); CORO_ENOMEM. */
CORO_API int coro_aio_call_soon(coro_aio_loop *loop, coro_aio_callback_fn fn, void *arg,
                                coro_aio_handle **out);

/** Schedules fn(arg) `delay` seconds from now (loop.call_later): at the first
 *  iteration that begins at or after time() + delay; never earlier. Timers
 *  due in the same iteration run in deadline order (ties as Python's heapq
 *  orders them). Negative delays count as 0. Returns as coro_aio_call_soon;
 *  CORO_EINVAL also for a NaN delay. */
CORO_API int coro_aio_call_later(coro_aio_loop *loop, double delay, coro_aio_callback_fn fn,
                                 void *arg, coro_aio_handle **out);

/** Schedules fn(arg) at loop time `when` in seconds (loop.call_at). Returns
 *  as coro_aio_call_later. */
CORO_API int coro_aio_call_at(coro_aio_loop *loop, double when, coro_aio_callback_fn fn,
                              void *arg, coro_aio_handle **out);

/** coro_aio_call_soon from any thread (loop.call_soon_threadsafe): wakes the
 *  loop if it is waiting. No handle is returned (a handle belongs to the
 *  loop's thread).
 *  @return CORO_OK; CORO_EINVAL for NULL arguments or a closed loop;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_call_soon_threadsafe(coro_aio_loop *loop, coro_aio_callback_fn fn,
                                           void *arg);

/** Cancels a handle (Handle.cancel()): it will not run. Harmless on a handle
 *  that ran or was cancelled. */
CORO_API void coro_aio_handle_cancel(coro_aio_handle *h);
/** True once cancelled (Handle.cancelled()). */
CORO_API bool coro_aio_handle_cancelled(const coro_aio_handle *h);
/** A timer's deadline in loop seconds (TimerHandle.when()); -1 for a handle
 *  from call_soon. */
CORO_API double coro_aio_handle_when(const coro_aio_handle *h);
/** Gives back the reference from call_soon/call_later/call_at's out. */
CORO_API void coro_aio_handle_release(coro_aio_handle *h);

/* ======================================================================== */
/* Futures                                                                  */
/* ======================================================================== */

/** Creates a pending future on loop (loop.create_future()). NULL on failure
 *  (coro_aio_last_error says why). Returns a reference. */
CORO_API coro_aio_future *coro_aio_future_new(coro_aio_loop *loop);
/** Takes one more reference on f; returns f. */
CORO_API coro_aio_future *coro_aio_future_ref(coro_aio_future *f);
/** Gives back a reference. When the last one goes and f holds an exception
 *  nobody read (result or exception never called), the loop's exception
 *  handler hears "Future exception was never retrieved" (or "Task exception
 *  was never retrieved"). NULL is ignored. */
CORO_API void coro_aio_future_release(coro_aio_future *f);

/** The loop f belongs to (Future.get_loop()). */
CORO_API coro_aio_loop *coro_aio_future_get_loop(const coro_aio_future *f);

/** Marks f done with `value` and schedules its callbacks (set_result).
 *  @return CORO_OK; CORO_EINVAL for a NULL f, a task ("Task does not support
 *  set_result operation") or a future already done ("invalid state:
 *  FINISHED: ..." as InvalidStateError says). */
CORO_API int coro_aio_future_set_result(coro_aio_future *f, void *value);
/** Marks f done with an exception (set_exception). Errors as set_result, and
 *  CORO_EINVAL for a StopIteration ("StopIteration interacts badly with
 *  generators and cannot be raised into a Future"). When the exception
 *  cannot be copied (out of memory), f still finishes, with MemoryError
 *  "out of memory: the exception could not be stored". */
CORO_API int coro_aio_future_set_exception(coro_aio_future *f, const coro_exc *exc);

/** True unless pending (done()). */
CORO_API bool coro_aio_future_done(const coro_aio_future *f);
/** True once cancelled (cancelled()). */
CORO_API bool coro_aio_future_cancelled(const coro_aio_future *f);

/** Future.result(). @return CORO_OK with *result (may be NULL); CORO_RAISED
 *  with *exc (may be NULL) = what result() raises: f's exception,
 *  CancelledError, or InvalidStateError("Result is not ready."). */
CORO_API int coro_aio_future_result(coro_aio_future *f, void **result, coro_exc *exc);

/** Future.exception(). @return CORO_OK with *exc = f's exception, or
 *  exc->type == NULL when f has a result (Python's None); CORO_RAISED with
 *  *exc = CancelledError, or InvalidStateError("Exception is not set."). */
CORO_API int coro_aio_future_exception(coro_aio_future *f, coro_exc *exc);

/** Cancels f (Future.cancel(msg); for a task, Task.cancel(msg)). msg NULL is
 *  Python's None. Returns true if it took effect. */
CORO_API bool coro_aio_future_cancel(coro_aio_future *f, const char *msg);

/** Adds a done callback (add_done_callback): called as fn(f, arg) through the
 *  loop, in registration order; scheduled at once if f is already done.
 *  @return CORO_OK; CORO_EINVAL; CORO_ENOMEM. */
CORO_API int coro_aio_future_add_done_callback(coro_aio_future *f, coro_aio_done_fn fn,
                                               void *arg);
/** Removes every registration of (fn, arg) (remove_done_callback); returns
 *  how many. */
CORO_API size_t coro_aio_future_remove_done_callback(coro_aio_future *f, coro_aio_done_fn fn,
                                                     void *arg);

/** Writes Python's repr of f ("<Future pending>", "<Task finished
 *  name='Task-1' result=...>") into buf (size bytes, cut if longer); returns
 *  buf. The coroutine and callbacks parts are left out. */
CORO_API char *coro_aio_future_repr(const coro_aio_future *f, char *buf, size_t size);

/* ======================================================================== */
/* Tasks                                                                    */
/* ======================================================================== */

/** Flags for coro_aio_task_options.flags. */
enum {
    /** Run the first step at once, inside create_task, when the loop is
     *  running (Python 3.12's eager_start / eager_task_factory). */
    CORO_AIO_TASK_EAGER = 1u << 0
};

/** Task options; start from CORO_AIO_TASK_OPTIONS_INIT. */
typedef struct coro_aio_task_options {
    const char *name;  /* copied; NULL = "Task-N" with a process-wide counter */
    size_t stack_size; /* bytes; 0 = the loop's default */
    int stack_mode;    /* CORO_STACK_*; CORO_STACK_DEFAULT = the loop's */
    unsigned flags;    /* CORO_AIO_TASK_EAGER */
} coro_aio_task_options;

#define CORO_AIO_TASK_OPTIONS_INIT {NULL, 0, CORO_STACK_DEFAULT, 0u}

/** Wraps fn(self, arg) in a task scheduled to start on the next iteration
 *  (loop.create_task). The body runs as a libcoro coroutine on its own stack;
 *  what it returns is the task's result, an exception escaping it the task's
 *  exception (CancelledError: the task ends cancelled). The coroutine and
 *  its stack are made at the task's first step (or by coro_aio_task_get_coro),
 *  so tasks that finish in their first step share one pooled stack; a stack
 *  that cannot be had then ends the task with RuntimeError (the reason as
 *  its message).
 *  @return a reference to the task (a future), or NULL: NULL loop or fn,
 *  closed loop, an unknown stack mode or an impossible stack size, or out of
 *  memory (coro_aio_last_error says which). */
CORO_API coro_aio_future *coro_aio_create_task(coro_aio_loop *loop, coro_fn fn, void *arg,
                                               const coro_aio_task_options *opt);

/** True when f is a task. */
CORO_API bool coro_aio_is_task(const coro_aio_future *f);
/** A task's name (get_name()); NULL for a plain future. */
CORO_API const char *coro_aio_task_get_name(const coro_aio_future *task);
/** Renames a task (set_name). CORO_EINVAL for a plain future; CORO_ENOMEM. */
CORO_API int coro_aio_task_set_name(coro_aio_future *task, const char *name);
/** The count of cancel requests (cancelling()); 0 for a plain future. */
CORO_API int coro_aio_task_cancelling(const coro_aio_future *task);
/** Takes one cancel request back (uncancel()); returns the count left. */
CORO_API int coro_aio_task_uncancel(coro_aio_future *task);
/** The coroutine a task drives (get_coro()), made now if the task has not
 *  had its first step; NULL for a plain future (or if it cannot be made). */
CORO_API coro *coro_aio_task_get_coro(const coro_aio_future *task);

/** The task running on loop (asyncio.current_task(loop)); NULL loop means the
 *  running loop. Borrowed; NULL outside a task. */
CORO_API coro_aio_future *coro_aio_current_task(coro_aio_loop *loop);

/** The loop's tasks that are not done (asyncio.all_tasks(loop)): stores up to
 *  cap borrowed pointers in out (out may be NULL with cap 0) and returns how
 *  many there are. NULL loop means the running loop. */
CORO_API size_t coro_aio_all_tasks(coro_aio_loop *loop, coro_aio_future **out, size_t cap);

/** Writes every task of loop that is not done, one line each: name, state
 *  (pending / cancelling), what it awaits, its cancel count. */
CORO_API void coro_aio_dump_tasks(coro_aio_loop *loop, FILE *out);

/* ======================================================================== */
/* Inside a task                                                            */
/* ======================================================================== */

/** `await f` in the running task (Future.__await__ driven by Task.__step).
 *  Call it from the task's body or from a coroutine the body delegates to
 *  with coro_yield_from. If f is pending, the task parks until f is done.
 *  @param result  receives f's result on CORO_OK; may be NULL
 *  @return CORO_OK; CORO_THROWN with the exception in
 *  coro_exception(coro_current()): f's exception, CancelledError (f was
 *  cancelled, or the task was), or RuntimeError for awaiting the task itself
 *  ("Task cannot await on itself: <Task ...>") or a future of another loop
 *  ("Task <...> got Future <...> attached to a different loop"), or, when
 *  memory runs out, RuntimeError "out of memory adding a done callback" (or
 *  MemoryError "out of memory in a task step"). Handle it
 *  and go on, or propagate it with coro_reraise. CORO_EINVAL for a NULL f,
 *  or outside a task of the running loop ("coro_aio_await: called outside a
 *  task"). */
CORO_API int coro_aio_await(coro_aio_future *f, void **result);

/** asyncio.sleep(delay) in the running task: parks for delay seconds;
 *  delay <= 0 gives the other ready callbacks one turn (a bare yield: the
 *  task goes to the end of the ready queue).
 *  @return CORO_OK; CORO_THROWN (cancelled, see coro_aio_await);
 *  CORO_EINVAL outside a task; CORO_ENOMEM. */
CORO_API int coro_aio_sleep(double delay);

/* ======================================================================== */
/* Combinators                                                              */
/* ======================================================================== */

/** asyncio.gather(*children, return_exceptions=...) over futures and tasks of
 *  one loop: a future that finishes when all children have (its result is
 *  NULL; read each child's outcome, in argument order, with
 *  coro_aio_gather_item). Without return_exceptions, the first child that
 *  fails or is cancelled makes it fail at once with that exception (the
 *  others keep running). Cancelling it cancels every child not done; it then
 *  ends with CancelledError. A child passed twice counts once. With n == 0,
 *  a future already done. Holds references on the children.
 *  @return a reference, or NULL: NULL loop, a NULL child, children of
 *  another loop, out of memory (coro_aio_last_error says which). */
CORO_API coro_aio_future *coro_aio_gather(coro_aio_loop *loop, coro_aio_future *const *children,
                                          size_t n, bool return_exceptions);

/** Child i's entry in gather's result list.
 *  @return CORO_OK with *value = its result; CORO_RAISED with *exc = its
 *  exception (return_exceptions) or CancelledError (a cancelled child);
 *  CORO_EINVAL if g is not a gather that finished with a result, or i >= n. */
CORO_API int coro_aio_gather_item(const coro_aio_future *g, size_t i, void **value,
                                  coro_exc *exc);

/* ======================================================================== */
/* Waiting, timeouts and task groups (wait.c, timeouts.c, taskgroup.c)      */
/* ======================================================================== */

/** A timeout or deadline that never comes (Python's None): +infinity. */
#define CORO_AIO_NO_TIMEOUT HUGE_VAL

/** coro_aio_wait's return_when (asyncio.FIRST_COMPLETED, ...). */
enum {
    CORO_AIO_FIRST_COMPLETED = 1, /* when any future finishes or is cancelled */
    CORO_AIO_FIRST_EXCEPTION = 2, /* when any future fails (being cancelled does not
                                     count), or when all are done */
    CORO_AIO_ALL_COMPLETED = 3    /* when every future is done */
};

/** `done, pending = await asyncio.wait(fs, timeout=..., return_when=...)` in
 *  the running task. A future given twice counts once (Python makes a set).
 *  Never raises TimeoutError: when the timeout comes first, the futures not
 *  done are simply pending. The futures are not cancelled.
 *  @param fs       n futures or tasks of the running loop
 *  @param timeout  seconds (<= 0: give the loop one turn); CORO_AIO_NO_TIMEOUT
 *                  for None
 *  @param done     NULL, or n flags: done[i] is true when fs[i] is in the
 *                  done set, false when it is in the pending set
 *  @param ndone    NULL, or receives how many entries of fs are done
 *  @return CORO_OK; CORO_THROWN when the waiting task was cancelled
 *  (CancelledError in coro_exception(coro_current()); done and ndone are
 *  then left alone);
 *  CORO_EINVAL for n == 0 ("ValueError: Set of Tasks/Futures is empty."), a
 *  bad return_when ("ValueError: Invalid return_when value: 7"), a NULL or
 *  foreign future, a NaN timeout, or outside a task; CORO_ENOMEM. */
CORO_API int coro_aio_wait(coro_aio_future *const *fs, size_t n, double timeout,
                           int return_when, bool *done, size_t *ndone);

/** asyncio.shield(inner): a future that mirrors inner's outcome, whose
 *  cancellation does not cancel inner. If inner is already done, returns a
 *  new reference to inner itself (Python's shortcut). If the outer future is
 *  cancelled, inner keeps running and its later exception counts as
 *  retrieved. Holds what it needs: release the result whenever you like.
 *  @return a reference, or NULL for a NULL inner / out of memory. */
CORO_API coro_aio_future *coro_aio_shield(coro_aio_future *inner);

/** asyncio.as_completed(fs, timeout=...): an iterator over fs in the order
 *  they finish. Opaque; free with coro_aio_as_completed_free. */
typedef struct coro_aio_as_completed coro_aio_as_completed;

/** Starts watching fs (a future given twice counts once). With a timeout
 *  (seconds from now; CORO_AIO_NO_TIMEOUT for None), once it passes every
 *  call still to come raises TimeoutError.
 *  @return the iterator, or NULL: NULL loop, a NULL or foreign future, a NaN
 *  timeout, out of memory (coro_aio_last_error says which). */
CORO_API coro_aio_as_completed *coro_aio_as_completed_new(coro_aio_loop *loop,
                                                          coro_aio_future *const *fs,
                                                          size_t n, double timeout);
/** How many calls to coro_aio_as_completed_next are left (Python's for loop
 *  runs once per distinct future). */
CORO_API size_t coro_aio_as_completed_left(const coro_aio_as_completed *it);
/** `await next_coroutine` in the running task: waits for the next future to
 *  finish, then returns its result (f.result()).
 *  @param which   NULL, or receives the future (borrowed; NULL on timeout)
 *  @param result  NULL, or receives its result
 *  @return CORO_OK; CORO_THROWN with its exception, CancelledError (it was
 *  cancelled, or the waiting task was) or TimeoutError (the timeout passed);
 *  CORO_EINVAL when no call is left, for a NULL it, or outside a task;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_as_completed_next(coro_aio_as_completed *it, coro_aio_future **which,
                                        void **result);
/** Stops watching and frees the iterator (NULL is ignored). */
CORO_API void coro_aio_as_completed_free(coro_aio_as_completed *it);

/** A timeout scope (asyncio.Timeout), alive while its body runs. */
typedef struct coro_aio_timeout_scope coro_aio_timeout_scope;
/** The body of a timeout scope: runs in the task that opened the scope, on
 *  its stack; what it returns is the scope's result. */
typedef void *(*coro_aio_timeout_fn)(coro *self, coro_aio_timeout_scope *scope, void *arg);

/** `async with asyncio.timeout_at(when) as scope: return body()`: runs
 *  fn(self, scope, arg) inside coro_try in the running task (self is the
 *  running coroutine). When the deadline comes the task is cancelled; when
 *  the CancelledError that results leaves the body and no other cancel
 *  request is outstanding (the 3.11.7 uncancel count rule: uncancel() <= the
 *  count at entry), the scope raises TimeoutError (its __context__ is
 *  CancelledError) instead. A body that catches the CancelledError and
 *  returns ends the scope normally (expired() is still true).
 *  @param when     loop time in seconds; CORO_AIO_NO_TIMEOUT for None; a time
 *                  already past expires at the next iteration
 *  @param expired  NULL, or receives scope.expired() at exit
 *  @return CORO_OK with *result (may be NULL) = fn's value; CORO_THROWN with
 *  the exception in coro_exception(self): TimeoutError, or whatever left the
 *  body; CORO_EINVAL for a NULL fn, a NaN when, or outside a task ("Timeout
 *  should be used inside a task"); CORO_ENOMEM when the deadline could not
 *  be scheduled. */
CORO_API int coro_aio_timeout_at_run(double when, coro_aio_timeout_fn fn, void *arg,
                                     void **result, bool *expired);
/** asyncio.timeout(delay): coro_aio_timeout_at_run at time() + delay. */
CORO_API int coro_aio_timeout_run(double delay, coro_aio_timeout_fn fn, void *arg,
                                  void **result, bool *expired);
/** asyncio.timeout(delay) around a plain body: fn(self, arg) runs in the
 *  scope. Returns as coro_aio_timeout_at_run. */
CORO_API int coro_aio_timeout(double delay, coro_fn fn, void *arg, void **result);
/** asyncio.timeout_at(when) around a plain body. */
CORO_API int coro_aio_timeout_at(double when, coro_fn fn, void *arg, void **result);

/** Timeout.reschedule(when): moves the deadline (CORO_AIO_NO_TIMEOUT: none).
 *  @return CORO_OK; CORO_EINVAL for a NULL scope, a NaN when, or a scope not
 *  active ("Cannot change state of expiring Timeout", "... expired ...",
 *  "... finished ..."). */
CORO_API int coro_aio_timeout_reschedule(coro_aio_timeout_scope *scope, double when);
/** Timeout.when(): the deadline, CORO_AIO_NO_TIMEOUT for None. */
CORO_API double coro_aio_timeout_when(const coro_aio_timeout_scope *scope);
/** Timeout.expired(): true once the deadline has cancelled the task. */
CORO_API bool coro_aio_timeout_expired(const coro_aio_timeout_scope *scope);
/** repr(scope): "<Timeout [active] when=12.5>", "<Timeout [expiring]>", ...;
 *  returns buf. */
CORO_API char *coro_aio_timeout_repr(const coro_aio_timeout_scope *scope, char *buf, size_t size);

/** `await asyncio.wait_for(f, timeout)` as Python 3.12 defines it: with
 *  timeout <= 0, f's result if f is done, else f is cancelled and waited for
 *  and TimeoutError is raised if it ended cancelled; otherwise `async with
 *  timeout(timeout): return await f` (CORO_AIO_NO_TIMEOUT: no limit). On
 *  timeout f is cancelled (the task awaiting it is, and cancels what it
 *  awaits) and TimeoutError is raised.
 *  @return CORO_OK with *result; CORO_THROWN with TimeoutError, f's
 *  exception or CancelledError; CORO_EINVAL for a NULL or foreign f, a NaN
 *  timeout, or outside a task; CORO_ENOMEM when the deadline could not be
 *  scheduled. */
CORO_API int coro_aio_wait_for(coro_aio_future *f, double timeout, void **result);

/* Exception groups. ExceptionGroup derives from coro_Exception here and
 * BaseExceptionGroup from coro_BaseException (Python's ExceptionGroup has
 * both as bases; C types have one). */
CORO_API extern const coro_exc_type coro_aio_BaseExceptionGroup; /* base: BaseException */
CORO_API extern const coro_exc_type coro_aio_ExceptionGroup;     /* base: Exception */

/** The sub-exceptions of an exception group (Python's eg.exceptions).
 *  Lifetime: a group belongs to the loop whose task group raised it and is
 *  freed with the loop's memory (after coro_aio_loop_close, when its last
 *  future, task and handle are released). A group that escapes main through
 *  coro_aio_run is handed to the caller: free it with
 *  coro_aio_exception_group_free. Copies of the coro_exc all name the same
 *  group; never modify it. */
typedef struct coro_aio_exception_group {
    size_t n;                  /* len(eg.exceptions), >= 1 */
    const coro_exc *exceptions; /* n entries, in the order they were collected */
} coro_aio_exception_group;

/** The group an exception value carries, or NULL when e is not an exception
 *  group (its type is neither ExceptionGroup nor BaseExceptionGroup). */
CORO_API const coro_aio_exception_group *coro_aio_exception_group_get(const coro_exc *e);
/** Frees a group handed over by coro_aio_run (and the groups nested in it);
 *  ignored for anything else. */
CORO_API void coro_aio_exception_group_free(const coro_exc *e);

/** A task group (asyncio.TaskGroup), opaque. */
typedef struct coro_aio_task_group coro_aio_task_group;
/** The body of `async with TaskGroup() as g:`. */
typedef void *(*coro_aio_task_group_fn)(coro *self, coro_aio_task_group *g, void *arg);

/** `async with asyncio.TaskGroup() as g: return body(g)` in the running task:
 *  runs body(self, g, arg) inside coro_try, then waits for every task of the
 *  group. The first child that fails (an exception other than
 *  CancelledError) cancels the other children and the task itself (the body's
 *  await raises CancelledError; the group takes that cancel back when it
 *  ends). An exception leaving the body also cancels the children. Cancelling
 *  the task cancels every child. At the end, the failures (children's, then
 *  the body's) are raised together as one ExceptionGroup("unhandled errors in
 *  a TaskGroup (N sub-exceptions)"); a BaseExceptionGroup if one of them is
 *  not an Exception; failing that, a CancelledError that must propagate.
 *  @return CORO_OK with *result = body's value; CORO_THROWN with the group or
 *  CancelledError in coro_exception(self); CORO_EINVAL for a NULL body or
 *  outside a task ("TaskGroup <TaskGroup> cannot determine the parent
 *  task"); CORO_ENOMEM. */
CORO_API int coro_aio_task_group_run(coro_aio_task_group_fn body, void *arg,
                                     void **result);

/** g.create_task(fn(arg)): a task of the running loop that belongs to g.
 *  @return a reference to the task (release it when done with it; the group
 *  holds its own), or NULL: "TaskGroup <...> is finished" (all its tasks are
 *  done and it is exiting or gone), "TaskGroup <...> is shutting down" (it
 *  is cancelling its tasks), and create_task's errors, in
 *  coro_aio_last_error(). */
CORO_API coro_aio_future *coro_aio_task_group_create_task(coro_aio_task_group *g, coro_fn fn,
                                                          void *arg,
                                                          const coro_aio_task_options *opt);
/** Keeps g valid after its scope ends (for create_task to report "is
 *  finished"); returns g. */
CORO_API coro_aio_task_group *coro_aio_task_group_ref(coro_aio_task_group *g);
/** Gives back a reference from coro_aio_task_group_ref. */
CORO_API void coro_aio_task_group_release(coro_aio_task_group *g);
/** repr(g): "<TaskGroup tasks=2 errors=1 cancelling>"; returns buf. */
CORO_API char *coro_aio_task_group_repr(const coro_aio_task_group *g, char *buf, size_t size);

/* ======================================================================== */
/* Synchronisation primitives and queues (asyncio.locks, asyncio.queues)   */
/* ======================================================================== */

/* Event, Lock, Semaphore, BoundedSemaphore, Condition, Barrier and Queue
 * (FIFO, LIFO, priority) with CPython 3.11's rules: FIFO wake-up order, the
 * waiter bookkeeping of locks.py and queues.py, and the 3.11 fixes by which a
 * waiter that is cancelled after it was woken passes the wake-up on (for
 * Condition, the 3.13 fix, see docs/aio.md). Objects are not tied to a loop
 * when created: each binds to the running loop the first time a task has to
 * wait on it (_LoopBoundMixin), and waiting on it from another loop then
 * throws RuntimeError("<...> is bound to a different event loop").
 *
 * Calls that wait (marked "in a task") must run in a task body, as
 * coro_aio_await: they return CORO_OK, CORO_THROWN with the exception in
 * coro_exception(coro_current()) (CancelledError, or the RuntimeError asyncio
 * raises there), CORO_EINVAL outside a task, or CORO_ENOMEM when no waiter
 * future could be allocated. Calls that do not wait work anywhere on the
 * loop's thread; where asyncio raises RuntimeError or ValueError for misuse
 * they return CORO_EINVAL with "RuntimeError: ..." / "ValueError: ..." in
 * coro_aio_last_error(). Waiting allocates one future from the loop's free
 * list and nothing else.
 *
 * Freeing an object while tasks wait on it is refused (CORO_EBUSY); free it
 * after they are done (a task left waiting when its loop closes leaves the
 * line when its last reference goes and its coroutine is destroyed). */

/** asyncio.Event. */
typedef struct coro_aio_event coro_aio_event;
/** asyncio.Lock. */
typedef struct coro_aio_lock coro_aio_lock;
/** asyncio.Semaphore and asyncio.BoundedSemaphore. */
typedef struct coro_aio_semaphore coro_aio_semaphore;
/** asyncio.Condition. */
typedef struct coro_aio_condition coro_aio_condition;
/** asyncio.Queue, asyncio.LifoQueue and asyncio.PriorityQueue. */
typedef struct coro_aio_queue coro_aio_queue;

/* asyncio.QueueFull and asyncio.QueueEmpty (base: Exception). */
CORO_API extern const coro_exc_type coro_aio_QueueFull;
CORO_API extern const coro_exc_type coro_aio_QueueEmpty;

/* --- Event --- */

/** Creates an event, flag clear (asyncio.Event()).
 *  @return CORO_OK; CORO_EINVAL for a NULL out; CORO_ENOMEM. */
CORO_API int coro_aio_event_new(coro_aio_event **out);
/** Frees e. @return CORO_OK (also for NULL); CORO_EBUSY while tasks wait on it. */
CORO_API int coro_aio_event_free(coro_aio_event *e);
/** Sets the flag and wakes every waiter (Event.set()); nothing if already set. */
CORO_API void coro_aio_event_set(coro_aio_event *e);
/** Clears the flag (Event.clear()). */
CORO_API void coro_aio_event_clear(coro_aio_event *e);
/** The flag (Event.is_set()). */
CORO_API bool coro_aio_event_is_set(const coro_aio_event *e);
/** In a task: waits until the flag is set (await Event.wait()); returns at
 *  once if it is. @return CORO_OK; CORO_THROWN; CORO_EINVAL. */
CORO_API int coro_aio_event_wait(coro_aio_event *e);

/* --- Lock --- */

/** Creates an unlocked lock (asyncio.Lock()). Returns as coro_aio_event_new. */
CORO_API int coro_aio_lock_new(coro_aio_lock **out);
/** Frees l. @return CORO_OK (also for NULL); CORO_EBUSY while tasks wait on it. */
CORO_API int coro_aio_lock_free(coro_aio_lock *l);
/** In a task: takes the lock (await Lock.acquire()), waiting in FIFO order
 *  behind earlier waiters. A waiter cancelled after release() woke it passes
 *  the lock on to the next. @return CORO_OK; CORO_THROWN; CORO_EINVAL. */
CORO_API int coro_aio_lock_acquire(coro_aio_lock *l);
/** Releases the lock and wakes the first waiter (Lock.release()).
 *  @return CORO_OK; CORO_EINVAL for NULL or an unlocked lock
 *  ("RuntimeError: Lock is not acquired."). */
CORO_API int coro_aio_lock_release(coro_aio_lock *l);
/** True while locked (Lock.locked()). */
CORO_API bool coro_aio_lock_locked(const coro_aio_lock *l);

/* --- Semaphore, BoundedSemaphore --- */

/** Creates a semaphore with counter `value` (asyncio.Semaphore(value)); with
 *  `bounded`, asyncio.BoundedSemaphore(value).
 *  @return CORO_OK; CORO_EINVAL for a NULL out or value < 0 ("ValueError:
 *  Semaphore initial value must be >= 0"); CORO_ENOMEM. */
CORO_API int coro_aio_semaphore_new(coro_aio_semaphore **out, long value, bool bounded);
/** Frees s. @return CORO_OK (also for NULL); CORO_EBUSY while tasks wait on it. */
CORO_API int coro_aio_semaphore_free(coro_aio_semaphore *s);
/** In a task: decrements the counter, first waiting while it is 0 or others
 *  wait (await Semaphore.acquire()). @return CORO_OK; CORO_THROWN;
 *  CORO_EINVAL. */
CORO_API int coro_aio_semaphore_acquire(coro_aio_semaphore *s);
/** Increments the counter and wakes the first waiter (Semaphore.release()).
 *  @return CORO_OK; CORO_EINVAL for NULL, or for a bounded semaphore at its
 *  initial value ("ValueError: BoundedSemaphore released too many times"). */
CORO_API int coro_aio_semaphore_release(coro_aio_semaphore *s);
/** True when acquire would wait (Semaphore.locked()). */
CORO_API bool coro_aio_semaphore_locked(const coro_aio_semaphore *s);
/** The counter (Semaphore._value): a woken waiter has already taken its unit. */
CORO_API long coro_aio_semaphore_value(const coro_aio_semaphore *s);

/* --- Condition --- */

/** A predicate for coro_aio_condition_wait_for: true ends the wait. */
typedef bool (*coro_aio_predicate_fn)(void *arg);

/** Creates a condition variable (asyncio.Condition(lock)) over `lock`, or
 *  over a lock of its own when lock is NULL. The condition does not own a
 *  lock it is given: free that after the condition.
 *  @return CORO_OK; CORO_EINVAL for a NULL out; CORO_ENOMEM. */
CORO_API int coro_aio_condition_new(coro_aio_condition **out, coro_aio_lock *lock);
/** Frees c (and its own lock). @return CORO_OK (also for NULL); CORO_EBUSY
 *  while tasks wait on it or on its own lock. */
CORO_API int coro_aio_condition_free(coro_aio_condition *c);
/** The condition's lock (Condition._lock), borrowed. */
CORO_API coro_aio_lock *coro_aio_condition_lock(const coro_aio_condition *c);
/** In a task: coro_aio_lock_acquire on the condition's lock. */
CORO_API int coro_aio_condition_acquire(coro_aio_condition *c);
/** coro_aio_lock_release on the condition's lock. */
CORO_API int coro_aio_condition_release(coro_aio_condition *c);
/** coro_aio_lock_locked on the condition's lock. */
CORO_API bool coro_aio_condition_locked(const coro_aio_condition *c);
/** In a task: releases the lock, waits for a notify, takes the lock back
 *  (await Condition.wait()). The lock is held again on every return,
 *  cancellation included (re-acquiring is retried through further cancels,
 *  which then end in CancelledError). A waiter that ends with an exception
 *  passes one notification on (Python 3.13), so none is lost.
 *  @return CORO_OK; CORO_THROWN (CancelledError; RuntimeError("cannot wait
 *  on un-acquired lock") when the lock is not held); CORO_EINVAL. */
CORO_API int coro_aio_condition_wait(coro_aio_condition *c);
/** In a task: `while not pred(arg): await wait()` (Condition.wait_for);
 *  pred is called with the lock held. Returns as coro_aio_condition_wait;
 *  CORO_EINVAL also for a NULL pred. */
CORO_API int coro_aio_condition_wait_for(coro_aio_condition *c, coro_aio_predicate_fn pred,
                                         void *arg);
/** Wakes up to n waiters, oldest first, skipping those already woken
 *  (Condition.notify(n)). @return CORO_OK; CORO_EINVAL for NULL or when the
 *  lock is not held ("RuntimeError: cannot notify on un-acquired lock"). */
CORO_API int coro_aio_condition_notify(coro_aio_condition *c, size_t n);
/** Condition.notify_all(). Returns as coro_aio_condition_notify. */
CORO_API int coro_aio_condition_notify_all(coro_aio_condition *c);

/* --- Barrier --- */

/** asyncio.Barrier. */
typedef struct coro_aio_barrier coro_aio_barrier;
/* asyncio.BrokenBarrierError (base: RuntimeError). */
CORO_API extern const coro_exc_type coro_aio_BrokenBarrierError;

/** Creates a barrier for `parties` tasks (asyncio.Barrier(parties)).
 *  @return CORO_OK; CORO_EINVAL for a NULL out or parties < 1 ("ValueError:
 *  parties must be > 0"); CORO_ENOMEM. */
CORO_API int coro_aio_barrier_new(coro_aio_barrier **out, long parties);
/** Frees b. @return CORO_OK (also for NULL); CORO_EBUSY while tasks are in
 *  its wait, reset or abort. */
CORO_API int coro_aio_barrier_free(coro_aio_barrier *b);
/** In a task: waits until `parties` tasks wait, then all pass
 *  (await Barrier.wait()); *index (may be NULL) gets this task's arrival
 *  number, 0 to parties-1. Tasks arriving while the others drain out wait
 *  for the next round. @return CORO_OK; CORO_THROWN (CancelledError;
 *  BrokenBarrierError "Barrier aborted" for a broken barrier, "Abort or
 *  reset of barrier" for waiters of an abort or reset); CORO_EINVAL. */
CORO_API int coro_aio_barrier_wait(coro_aio_barrier *b, long *index);
/** In a task: back to the empty state; tasks waiting get BrokenBarrierError
 *  (await Barrier.reset()). Also repairs a broken barrier. Returns as
 *  coro_aio_barrier_wait without the BrokenBarrierError. */
CORO_API int coro_aio_barrier_reset(coro_aio_barrier *b);
/** In a task: breaks the barrier; waiting and later tasks get
 *  BrokenBarrierError (await Barrier.abort()). Returns as reset. */
CORO_API int coro_aio_barrier_abort(coro_aio_barrier *b);
/** Barrier.parties. */
CORO_API long coro_aio_barrier_parties(const coro_aio_barrier *b);
/** Tasks waiting for the round to fill (Barrier.n_waiting); 0 while it drains. */
CORO_API long coro_aio_barrier_n_waiting(const coro_aio_barrier *b);
/** True once aborted and not reset (Barrier.broken). */
CORO_API bool coro_aio_barrier_broken(const coro_aio_barrier *b);

/* --- Queue, LifoQueue, PriorityQueue --- */

/** Queue kinds (coro_aio_queue_new). */
enum {
    CORO_AIO_QUEUE_FIFO = 0,    /* asyncio.Queue */
    CORO_AIO_QUEUE_LIFO = 1,    /* asyncio.LifoQueue */
    CORO_AIO_QUEUE_PRIORITY = 2 /* asyncio.PriorityQueue: smallest first */
};

/** Orders a priority queue: negative when a comes before b (Python's a < b
 *  on the items). udata is coro_aio_queue_new's. */
typedef int (*coro_aio_compare_fn)(const void *a, const void *b, void *udata);

/** Creates a queue (asyncio.Queue(maxsize) and its subclasses).
 *  @param maxsize  items it holds before put waits; <= 0 means no limit
 *  @param kind     CORO_AIO_QUEUE_FIFO, _LIFO or _PRIORITY
 *  @param cmp      PRIORITY only: the order; NULL compares the items as
 *                  integers (intptr_t), for items that are integer keys
 *  @return CORO_OK; CORO_EINVAL for a NULL out or an unknown kind;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_queue_new(coro_aio_queue **out, long maxsize, int kind,
                                coro_aio_compare_fn cmp, void *udata);
/** Frees q (the items in it are the caller's). @return CORO_OK (also for
 *  NULL); CORO_EBUSY while tasks wait in put, get or join. */
CORO_API int coro_aio_queue_free(coro_aio_queue *q);
/** In a task: adds item, first waiting while the queue is full
 *  (await Queue.put(item)). @return CORO_OK; CORO_THROWN; CORO_EINVAL. */
CORO_API int coro_aio_queue_put(coro_aio_queue *q, void *item);
/** In a task: takes the next item into *item (may be NULL), first waiting
 *  while the queue is empty (await Queue.get()). @return CORO_OK;
 *  CORO_THROWN; CORO_EINVAL. */
CORO_API int coro_aio_queue_get(coro_aio_queue *q, void **item);
/** Queue.put_nowait(item). @return CORO_OK; CORO_RAISED with *exc (may be
 *  NULL) = QueueFull when full; CORO_EINVAL for NULL; CORO_ENOMEM. */
CORO_API int coro_aio_queue_put_nowait(coro_aio_queue *q, void *item, coro_exc *exc);
/** Queue.get_nowait(). @return CORO_OK with *item; CORO_RAISED with *exc (may
 *  be NULL) = QueueEmpty when empty; CORO_EINVAL for NULL. */
CORO_API int coro_aio_queue_get_nowait(coro_aio_queue *q, void **item, coro_exc *exc);
/** Queue.task_done(). @return CORO_OK; CORO_EINVAL for NULL or more calls
 *  than items put ("ValueError: task_done() called too many times"). */
CORO_API int coro_aio_queue_task_done(coro_aio_queue *q);
/** In a task: waits until every item put has had its task_done
 *  (await Queue.join()). @return CORO_OK; CORO_THROWN; CORO_EINVAL. */
CORO_API int coro_aio_queue_join(coro_aio_queue *q);
/** Items in the queue (qsize()). */
CORO_API size_t coro_aio_queue_qsize(const coro_aio_queue *q);
/** The maxsize given (Queue.maxsize). */
CORO_API long coro_aio_queue_maxsize(const coro_aio_queue *q);
/** True when no item is in it (empty()). */
CORO_API bool coro_aio_queue_empty(const coro_aio_queue *q);
/** True when maxsize > 0 and it holds maxsize items (full()). */
CORO_API bool coro_aio_queue_full(const coro_aio_queue *q);

/* ======================================================================== */
/* Threads (asyncio.to_thread, asyncio.run_coroutine_threadsafe)            */
/* ======================================================================== */

/** A function run on a worker thread by coro_aio_to_thread. What it returns
 *  is the await's result. It must not touch the loop, except through
 *  coro_aio_call_soon_threadsafe and coro_aio_run_coroutine_threadsafe. */
typedef void *(*coro_aio_thread_fn)(void *arg);

/** Called on the loop's thread when a result of coro_aio_to_thread_ex goes
 *  to nobody (its await was cancelled, or its task destroyed, before the
 *  result reached it): `result` is what fn returned, `arg` what fn got. */
typedef void (*coro_aio_discard_fn)(void *result, void *arg);

/** `await asyncio.to_thread(fn, arg)` in the running task: runs fn(arg) on
 *  the loop's worker pool and parks the task until it returns. The pool is
 *  the loop's default executor: started lazily, one more worker for each
 *  call that finds none idle, up to min(32, CPUs + 4) (as
 *  ThreadPoolExecutor); coro_aio_loop_close waits for every call to return
 *  and joins the workers.
 *  A cancelled await returns CancelledError at once while fn keeps running
 *  (a thread cannot be interrupted); its result then goes to nobody: it is
 *  dropped (use coro_aio_to_thread_ex to free it). `arg` must stay valid
 *  until fn returns, which may be after a cancelled await returned. A call
 *  still queued when its await is cancelled still runs (concurrent.futures
 *  would skip it).
 *  @param result  receives fn's return value on CORO_OK; may be NULL
 *  @return CORO_OK; CORO_THROWN with CancelledError (see coro_aio_await);
 *  CORO_EINVAL for a NULL fn or outside a task; CORO_ENOMEM, also when no
 *  worker thread could be started. */
CORO_API int coro_aio_to_thread(coro_aio_thread_fn fn, void *arg, void **result);

/** coro_aio_to_thread with `discard` (may be NULL), which receives the
 *  result and arg of a call whose result went to nobody, on the loop's
 *  thread, once, after fn returned and the await gave up on it (at the latest
 *  when coro_aio_loop_close destroys the task, or when the task is freed).
 *  When the result reaches the await, discard is not called: the caller owns
 *  result and arg. Returns as coro_aio_to_thread. */
CORO_API int coro_aio_to_thread_ex(coro_aio_thread_fn fn, void *arg, coro_aio_discard_fn discard,
                                   void **result);

/** Sets how many worker threads the loop's pool may run at once (its
 *  max_workers); 0 restores the default min(32, CPUs + 4). Workers already
 *  started stay until the loop closes. Call from the loop's thread.
 *  @return CORO_OK; CORO_EINVAL for a NULL or closed loop or n < 0. */
CORO_API int coro_aio_set_thread_workers(coro_aio_loop *loop, int n);

/** How many worker threads the loop's pool has started (0 before the first
 *  coro_aio_to_thread). Call from the loop's thread. */
CORO_API int coro_aio_thread_workers(const coro_aio_loop *loop);

/** A concurrent.futures.Future: the outcome of a task submitted from another
 *  thread, waited for with a timeout. Reference counted like a future; safe
 *  to use from any thread. */
typedef struct coro_aio_cfuture coro_aio_cfuture;

/** asyncio.run_coroutine_threadsafe(fn(arg), loop), from any thread: asks
 *  the loop to create a task for fn(self, arg) (at its next iteration, as a
 *  call_soon_threadsafe callback) and returns a concurrent future that gets
 *  the task's outcome. Cancelling the concurrent future cancels the task (in
 *  the loop's thread). When the loop closes first (the task never started,
 *  or was still pending), the concurrent future ends cancelled, so a waiter
 *  never hangs (Python's would stay pending).
 *  @return a reference, given back with coro_aio_cfuture_release; NULL for
 *  a NULL loop or fn, a closed loop ("Event loop is closed"), or out of
 *  memory (coro_aio_last_error, on the calling thread, says which). */
CORO_API coro_aio_cfuture *coro_aio_run_coroutine_threadsafe(coro_aio_loop *loop, coro_fn fn,
                                                            void *arg);

/** Future.result(timeout): waits up to `timeout` seconds (< 0: no limit) for
 *  the outcome. Never call it, without a timeout, on the loop's own thread:
 *  the loop cannot run while it waits.
 *  @return CORO_OK with *result (may be NULL) = the task's return value;
 *  CORO_RAISED with *exc (may be NULL): the task's exception, CancelledError
 *  (cancelled), or TimeoutError with an empty message when the time ran out
 *  (the future stays pending); CORO_EINVAL for a NULL cf or a NaN timeout. */
CORO_API int coro_aio_cfuture_result(coro_aio_cfuture *cf, double timeout, void **result,
                                     coro_exc *exc);

/** Future.exception(timeout): as coro_aio_cfuture_result, but CORO_OK with
 *  *exc = the task's exception, or exc->type == NULL when it returned. */
CORO_API int coro_aio_cfuture_exception(coro_aio_cfuture *cf, double timeout, coro_exc *exc);

/** Future.cancel(): if the outcome is not in yet, the concurrent future ends
 *  cancelled at once (waiters wake up) and the loop is asked to cancel the
 *  task; returns true. False when already done (or cancelled), or NULL. */
CORO_API bool coro_aio_cfuture_cancel(coro_aio_cfuture *cf);
/** Future.done(): true once it has an outcome or is cancelled. */
CORO_API bool coro_aio_cfuture_done(coro_aio_cfuture *cf);
/** Future.cancelled(). */
CORO_API bool coro_aio_cfuture_cancelled(coro_aio_cfuture *cf);
/** Gives back the reference run_coroutine_threadsafe returned (any thread).
 *  The task goes on if still running. NULL is ignored. */
CORO_API void coro_aio_cfuture_release(coro_aio_cfuture *cf);

/* ======================================================================== */
/* Waiting on file descriptors (fd.c)                                       */
/* ======================================================================== */

/** The exception a task waiting on a descriptor gets when coro_aio_close_fd
 *  closes it (base: coro_aio_OSError, errno EBADF). Its
 *  message: "file descriptor N was closed while a task waited on it". */
CORO_API extern const coro_exc_type coro_aio_ClosedError;

/** A direction of readiness, for coro_aio_fd_clear_ready. */
enum { CORO_AIO_FD_READ = 1, CORO_AIO_FD_WRITE = 2 };

/** Waits in the running task until fd is readable (what loop.add_reader and
 *  loop.sock_recv build on: `fut = loop.create_future();
 *  loop.add_reader(fd, fut.set_result, None); await fut`).
 *  fd must be non-blocking and stay open until coro_aio_close_fd closes it.
 *  On first use it is registered with the loop's poller, edge-triggered, for
 *  both directions, and stays registered until coro_aio_close_fd. The loop
 *  remembers per direction that the poller reported the fd ready; the wait
 *  returns at once while that mark is set. The pattern is: try the I/O; on
 *  EAGAIN call coro_aio_fd_clear_ready(loop, fd, CORO_AIO_FD_READ), then
 *  wait. Readiness seen by a poll resolves the waiter in a ready callback of
 *  that iteration (in the order the poller reported the fds); the task then
 *  runs in the next iteration, as a task awaiting an add_reader future does.
 *  End of file, hang-up and errors count as readable and writable.
 *  @param fd       an open descriptor the poller accepts (not a regular file)
 *  @param timeout  seconds; CORO_AIO_NO_TIMEOUT for none; <= 0 times out at
 *                  once unless the fd is marked ready
 *  @return CORO_OK: ready (or marked ready); CORO_THROWN with, in
 *  coro_exception(coro_current()), TimeoutError (the timeout passed),
 *  CancelledError (the task was cancelled) or coro_aio_ClosedError
 *  (coro_aio_close_fd closed fd meanwhile); CORO_EINVAL outside a task, for
 *  fd < 0, a NaN timeout, or an fd the poller refuses (closed, a regular
 *  file: coro_aio_last_error gives the errno text); CORO_EBUSY when another
 *  task already waits on fd for reading (one waiter per fd and direction);
 *  CORO_ENOMEM. */
CORO_API int coro_aio_wait_readable(int fd, double timeout);

/** coro_aio_wait_readable for writability (loop.add_writer, sock_sendall's
 *  wait); clear with CORO_AIO_FD_WRITE. Same arguments and statuses. */
CORO_API int coro_aio_wait_writable(int fd, double timeout);

/** Forgets that the poller reported fd ready in the directions `dir`
 *  (CORO_AIO_FD_READ, CORO_AIO_FD_WRITE or both): call it when read or write
 *  on fd failed with EAGAIN, before waiting. An fd the loop does not know is
 *  ignored. Costs no system call.
 *  @return CORO_OK; CORO_EINVAL for a NULL or closed loop, fd < 0 or a dir
 *  outside READ|WRITE. */
CORO_API int coro_aio_fd_clear_ready(coro_aio_loop *loop, int fd, int dir);

/** Closes fd for the loop (what transports do with loop.remove_reader,
 *  remove_writer and sock.close()): takes it out of the poller, wakes every
 *  task waiting on it with coro_aio_ClosedError ("file descriptor N was
 *  closed while a task waited on it"), forgets readiness already fetched for
 *  it (a descriptor that reuses the number later starts afresh), then
 *  close(2)s it. Close a descriptor a task may have waited on only this way:
 *  a plain close(2) leaves the loop believing the number is registered, and
 *  a later descriptor with that number would never be polled.
 *  May be called from a task, a callback, or with the loop stopped.
 *  @return CORO_OK; CORO_EINVAL for a NULL loop, fd < 0, or when close(2)
 *  fails (EBADF: fd was not open; the loop forgot it anyway). Not after
 *  coro_aio_loop_close (the loop is gone; close(2) the fd yourself). */
CORO_API int coro_aio_close_fd(coro_aio_loop *loop, int fd);

/* ======================================================================== */
/* Signals and embedding (signals.c, embed.c)                               */
/* ======================================================================== */

/** A signal handler added with coro_aio_add_signal_handler: runs as a loop
 *  callback (never in signal context), with the signal number and `arg`. */
typedef void (*coro_aio_signal_fn)(int signum, void *arg);

/** Raised out of coro_aio_run when SIGINT cancelled the main task (base:
 *  BaseException, as Python's KeyboardInterrupt). */
CORO_API extern const coro_exc_type coro_aio_KeyboardInterrupt;

/** loop.add_signal_handler(signum, fn, arg): from now on each delivery of
 *  signum schedules fn(signum, arg) as a callback of loop (call_soon at the
 *  loop's next look at its wake-up descriptor: a signal raised during an
 *  iteration runs its callback in the next one, after the callbacks already
 *  ready). Any thread may receive the signal; the callback runs on the
 *  loop's thread, so it may call anything a callback may. Deliveries while
 *  the loop is not running wait for it. Adding again for the same signal
 *  replaces fn and arg. The disposition signum had before is remembered and
 *  put back by coro_aio_remove_signal_handler and coro_aio_loop_close
 *  (asyncio puts back SIG_DFL). Dispositions are process-wide: a signal
 *  belongs to one loop at a time. Call from the loop's thread.
 *  @param signum  a signal number (SIGUSR1, SIGINT, SIGRTMIN + 1, ...)
 *  @return CORO_OK; CORO_EINVAL for a NULL loop or fn, a closed loop ("Event
 *  loop is closed"), a number that is no signal ("invalid signal number
 *  0", asyncio's ValueError; glibc's two reserved real-time signals count as
 *  none) or one that cannot be caught ("sig 9 cannot be caught" for SIGKILL
 *  and SIGSTOP, asyncio's RuntimeError); CORO_EBUSY when another loop
 *  handles signum ("remove it there first"). */
CORO_API int coro_aio_add_signal_handler(coro_aio_loop *loop, int signum, coro_aio_signal_fn fn,
                                         void *arg);

/** loop.remove_signal_handler(signum): stops handling signum on loop and puts
 *  back the disposition it had before coro_aio_add_signal_handler. A
 *  delivery whose callback has not run yet is dropped.
 *  @return true if a handler was removed; false if loop had none for
 *  signum, for a NULL loop, or for an invalid number (coro_aio_last_error
 *  then says "invalid signal number N"). */
CORO_API bool coro_aio_remove_signal_handler(coro_aio_loop *loop, int signum);

/** A descriptor for embedding the loop in another event loop: it polls
 *  readable (POLLIN) when the loop has work that arrives from outside:
 *  a descriptor a task waits on is ready, another thread called
 *  coro_aio_call_soon_threadsafe (or a to_thread / resolver thread
 *  finished), or a signal handled by the loop arrived. Ready callbacks and
 *  timers do not show on it: ask coro_aio_loop_timeout. The descriptor
 *  belongs to the loop: poll it, never read, write or close it. Valid until
 *  coro_aio_loop_close.
 *  @return the descriptor (>= 0); CORO_EINVAL for a NULL loop. */
CORO_API int coro_aio_loop_fd(const coro_aio_loop *loop);

/** How long a host may wait on coro_aio_loop_fd before it must call
 *  coro_aio_run_once, in seconds: 0 when callbacks are ready (or the loop
 *  was stopped, or work from other threads waits), else the time left until
 *  the earliest timer (never later than needed; it may be earlier when that
 *  timer was cancelled), else CORO_AIO_NO_TIMEOUT when no timer is
 *  scheduled. On the virtual clock a scheduled timer gives 0: the next
 *  iteration jumps the clock to it. Round up when converting to
 *  milliseconds, or the host wakes just early and turns once for nothing.
 *  @return seconds >= 0, or CORO_AIO_NO_TIMEOUT; -1.0 for a NULL loop. */
CORO_API double coro_aio_loop_timeout(const coro_aio_loop *loop);

/** One iteration of the loop (asyncio's _run_once) that never blocks: takes
 *  the work other threads and signals queued, polls the descriptors tasks
 *  wait on without waiting, moves the timers that are due (on the virtual
 *  clock, jumps to the next one when nothing is ready), runs the callbacks
 *  ready when it began. The loop counts as running for its duration
 *  (coro_aio_get_running_loop returns it; tasks step). A coro_aio_stop
 *  called before or during the iteration is consumed and reported.
 *  @return CORO_OK; 1 when coro_aio_stop was called (run_forever would have
 *  returned); CORO_EINVAL for a NULL or closed loop; CORO_ERUNNING when the
 *  loop is running ("This event loop is already running") or another loop
 *  runs on this thread ("Cannot run the event loop while another loop is
 *  running"). */
CORO_API int coro_aio_run_once(coro_aio_loop *loop);

/* ======================================================================== */
/* I/O errors (io_errors.c)                                                 */
/* ======================================================================== */

/* Python 3.11's OSError family as the I/O calls raise it. An exception of
 * the family carries its errno (for gaierror the EAI_* code) in `udata` as
 * (void *)(intptr_t)err; its message is Python's str(e), e.g.
 * "[Errno -2] Name or service not known". */
CORO_API extern const coro_exc_type coro_aio_OSError;  /* base: Exception */
CORO_API extern const coro_exc_type coro_aio_gaierror; /* socket.gaierror; base: OSError */

/** The errno an OSError-family exception carries (e.errno in Python; for
 *  coro_aio_gaierror the EAI_* code, negative on glibc: EAI_NONAME is -2).
 *  0 for NULL, for exceptions outside the family, and for one raised
 *  without an errno. */
CORO_API int coro_aio_exc_errno(const coro_exc *e);

/* ======================================================================== */
/* DNS (dns.c)                                                              */
/* ======================================================================== */

struct addrinfo;

/** `await loop.getaddrinfo(host, service, ...)` in the running task:
 *  getaddrinfo(3) without blocking the loop.
 *  Numeric hosts and services ("127.0.0.1", "::1", "8080") are answered at
 *  once, without a thread and without suspending (as asyncio's _ipaddr_info
 *  spares create_connection the executor). Anything else is looked up on
 *  the loop's resolver lane: a few threads of its own (not the to_thread
 *  pool), started on first need, up to coro_aio_set_resolver_workers; the
 *  task resumes one iteration after the lookup returns.
 *  Cancelling the task returns CancelledError at once: a lookup not yet
 *  started never runs; one in progress finishes on its thread and its
 *  result is freed with freeaddrinfo. coro_aio_loop_close waits for the
 *  lookups in progress (getaddrinfo cannot be interrupted), as asyncio.run
 *  waits for its executor.
 *  @param host     a name or numeric address; NULL for the local or
 *                  wildcard address (AI_PASSIVE)
 *  @param service  a service name or port number as text; may be NULL
 *  @param hints    as getaddrinfo(3) (ai_flags, ai_family, ai_socktype,
 *                  ai_protocol; the rest must be 0); NULL as there
 *  @param res      receives the list on CORO_OK, the caller's to free with
 *                  freeaddrinfo(3); NULL on any other status
 *  @return CORO_OK; CORO_THROWN with, in coro_exception(coro_current()),
 *  coro_aio_gaierror "[Errno -2] Name or service not known" (the EAI_* code
 *  and gai_strerror's text, the code also in coro_aio_exc_errno), or
 *  coro_aio_OSError "[Errno N] ..." for EAI_SYSTEM, or CancelledError;
 *  CORO_EINVAL for a NULL res or outside a task; CORO_ENOMEM, also when no
 *  resolver thread could be started. */
CORO_API int coro_aio_getaddrinfo(const char *host, const char *service,
                                  const struct addrinfo *hints, struct addrinfo **res);

/** Sets how many resolver threads the loop may run at once (default 4; 0
 *  restores it). Threads already started stay until the loop closes. Call
 *  from the loop's thread.
 *  @return CORO_OK; CORO_EINVAL for a NULL or closed loop or n < 0;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_set_resolver_workers(coro_aio_loop *loop, int n);

/** How many resolver threads the loop has started (0 until a lookup needed
 *  one). Call from the loop's thread. */
CORO_API int coro_aio_resolver_workers(const coro_aio_loop *loop);

/* ======================================================================== */
/* Connection and stream exceptions (stream_errors.c)                       */
/* ======================================================================== */

/* The rest of Python 3.11's OSError family (coro_aio_OSError, gaierror and
 * coro_aio_exc_errno are above) and asyncio's stream exceptions. An OSError
 * carries its errno in `udata` as (void *)(intptr_t)errno (0 where Python's
 * e.errno is None); coro_aio_exc_errno reads it. Messages are what Python
 * prints for str(e): "[Errno 104] Connection reset by peer",
 * "[Errno 111] Connect call failed ('127.0.0.1', 1)",
 * "[Errno -2] Name or service not known". An errno maps to the type Python's
 * OSError(errno, ...) constructor picks: ECONNRESET ConnectionResetError,
 * ECONNREFUSED ConnectionRefusedError, ECONNABORTED ConnectionAbortedError,
 * EPIPE and ESHUTDOWN BrokenPipeError, ETIMEDOUT TimeoutError, ENOENT
 * FileNotFoundError, any other OSError. coro_aio_TimeoutError and
 * coro_aio_ClosedError (above) derive from OSError too, as builtins'
 * TimeoutError does since Python 3.3. */
CORO_API extern const coro_exc_type coro_aio_ConnectionError;       /* base: OSError */
CORO_API extern const coro_exc_type coro_aio_ConnectionResetError;  /* base: ConnectionError */
CORO_API extern const coro_exc_type coro_aio_ConnectionRefusedError; /* base: ConnectionError */
CORO_API extern const coro_exc_type coro_aio_ConnectionAbortedError; /* base: ConnectionError */
CORO_API extern const coro_exc_type coro_aio_BrokenPipeError;       /* base: ConnectionError */
CORO_API extern const coro_exc_type coro_aio_FileNotFoundError;     /* base: OSError */
CORO_API extern const coro_exc_type coro_aio_EOFError;              /* base: Exception */
/** asyncio.IncompleteReadError: EOF came before readexactly's n bytes or
 *  readuntil's separator. Message "3 bytes read on a total of 5 expected
 *  bytes" (expected "undefined" for readuntil, as Python 3.11 prints None);
 *  udata is the expected count (0 for undefined). The partial bytes are in
 *  the caller's buffer, their count in *got / *len. */
CORO_API extern const coro_exc_type coro_aio_IncompleteReadError;   /* base: EOFError */
/** asyncio.LimitOverrunError: readuntil found no separator within the
 *  limit. Message "Separator is not found, and chunk exceed the limit" or
 *  "Separator is found, but chunk is longer than limit"; udata is
 *  e.consumed (bytes to consume before the separator, or before the next
 *  search would start) as (void *)(intptr_t). */
CORO_API extern const coro_exc_type coro_aio_LimitOverrunError;     /* base: Exception */

/* ======================================================================== */
/* Streams (stream.c, server.c): asyncio's StreamReader / StreamWriter      */
/* ======================================================================== */

/* A stream is one connected socket (TCP or Unix domain) with asyncio's
 * StreamReader and StreamWriter on it, in one object. There is no
 * background reader: a read call tries recv(2) in the calling task first and
 * waits for readiness (coro_aio_wait_readable) only on EAGAIN; a write tries
 * send(2) at once when nothing is buffered and buffers only what the kernel
 * did not take, which a helper task then flushes in the background, as a
 * transport does. Peer resets and broken pipes are exceptions
 * (MSG_NOSIGNAL: never SIGPIPE).
 *
 * Ownership: the task that opened a stream (or, for a server, the
 * connection's task) owns it: it reads, writes, closes and finally gives it
 * back with coro_aio_stream_release. Another task may read while the owner
 * drains, or close the stream to wake a reader. The owner may also release
 * the stream while another task waits in a read, drain or wait_closed: the
 * waiter wakes (a read with ClosedError; drain and wait_closed return as
 * after a close) and the memory goes when its call returns; that task must
 * not use the stream after that call. A stream belongs to the loop that
 * opened it: a call that would wait in a task of another loop is CORO_EINVAL
 * ("the stream belongs to another event loop"; asyncio's RuntimeError "got
 * Future attached to a different loop").
 *
 * Statuses, for every call below: CORO_OK; CORO_THROWN when an awaiting call
 * reports an exception in the task (in coro_exception(coro_current())),
 * exactly as coro_aio_await does; negative CORO_E* for misuse, with
 * coro_aio_last_error() saying what happened. A connection error (reset,
 * broken pipe, ...) is sticky, as asyncio's StreamReader.set_exception: once
 * seen, every later read, drain and wait_closed raises it again. */

/** A connected stream: asyncio's StreamReader and StreamWriter together. */
typedef struct coro_aio_stream coro_aio_stream;
/** A listening server (asyncio.Server). */
typedef struct coro_aio_server coro_aio_server;

/** Stream and server options. Start from coro_aio_stream_options_init() or
 *  CORO_AIO_STREAM_OPTIONS_INIT. */
typedef struct coro_aio_stream_options {
    size_t limit;           /* reader limit for readline / readuntil, bytes; 0 = 65536
                               (asyncio's _DEFAULT_LIMIT) */
    size_t write_high;      /* drain high-water mark, bytes; 0 = 65536 */
    size_t write_low;       /* drain low-water mark, bytes; 0 = write_high / 4; must not
                               exceed write_high */
    double connect_timeout; /* open_connection: seconds for the whole attempt (every
                               address); CORO_AIO_NO_TIMEOUT = none */
    int backlog;            /* start_server: listen(2) backlog; 0 = 100 (asyncio's) */
    bool reuse_port;        /* start_server: SO_REUSEPORT on the listening sockets, so that
                               several servers (one loop per thread) share a port */
    int family;             /* AF_UNSPEC (0), AF_INET or AF_INET6: the addresses tried */
} coro_aio_stream_options;

#define CORO_AIO_STREAM_OPTIONS_INIT {0, 0, 0, CORO_AIO_NO_TIMEOUT, 0, false, 0}

/** Sets every field of *opt to its default (CORO_AIO_STREAM_OPTIONS_INIT). */
CORO_API void coro_aio_stream_options_init(coro_aio_stream_options *opt);

/** `reader, writer = await asyncio.open_connection(host, port)` in the
 *  running task. Resolves host (numeric addresses inline, names with
 *  coro_aio_getaddrinfo), then tries every address in order: a non-blocking
 *  socket (SOCK_NONBLOCK | SOCK_CLOEXEC, TCP_NODELAY as asyncio sets it),
 *  connect(2), a wait until writable, SO_ERROR.
 *  @param host  a numeric IPv4 / IPv6 address or a host name; not NULL; ""
 *               is no host (gaierror, as in Python: only start_server reads
 *               "" as every interface)
 *  @param port  0..65535
 *  @param opt   NULL for the defaults
 *  @param out   receives the stream (owned by the caller, given back with
 *               coro_aio_stream_release); NULL on failure
 *  @return CORO_OK; CORO_THROWN with: the OSError of the only address tried,
 *  e.g. ConnectionRefusedError "[Errno 111] Connect call failed ('127.0.0.1',
 *  1)" (an error connect(2) reports at once has the plain strerror text:
 *  "[Errno 101] Network is unreachable"); when several addresses failed,
 *  OSError "Multiple exceptions: <each str>, ..." (errno 0; each in the
 *  order tried; cut at CORO_EXC_MSG_MAX bytes), except that when every str
 *  is the same, the first exception itself, as asyncio raises it;
 *  gaierror when resolution failed; TimeoutError (empty message) when
 *  opt->connect_timeout passed; CancelledError. CORO_EINVAL outside a task,
 *  for a NULL host or out, a port out of range or bad options; CORO_ENOMEM. */
CORO_API int coro_aio_open_connection(const char *host, int port,
                                      const coro_aio_stream_options *opt,
                                      coro_aio_stream **out);

/** `await asyncio.open_unix_connection(path)` in the running task: connects
 *  an AF_UNIX stream socket to path.
 *  @return CORO_OK; CORO_THROWN with FileNotFoundError "[Errno 2] No such
 *  file or directory", ConnectionRefusedError "[Errno 111] Connection
 *  refused" (nobody listens), another OSError, TimeoutError
 *  (connect_timeout) or CancelledError; CORO_EINVAL outside a task, for a
 *  NULL or empty path, one longer than sun_path, NULL out or bad options;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_open_unix_connection(const char *path,
                                           const coro_aio_stream_options *opt,
                                           coro_aio_stream **out);

/** A connection handler (asyncio's client_connected_cb): runs as the body
 *  of a new task per accepted connection, with self that task's coroutine.
 *  The stream belongs to the task: when fn returns or raises, the stream is
 *  closed if still open (buffered data is still flushed in the background)
 *  and given back. fn may close it itself, or release it (which aborts it
 *  if still open, as for any stream); either way the server's cleanup
 *  after fn stays safe. An exception escaping fn is
 *  reported as the task's, as asyncio reports it ("Task exception was never
 *  retrieved"). The return value is the task's result. */
typedef void *(*coro_aio_connection_fn)(coro *self, coro_aio_stream *s, void *arg);

/** `server = await asyncio.start_server(fn, host, port)`: binds and listens
 *  on every address host resolves to, up to the first 8 (asyncio has no
 *  limit), with SO_REUSEADDR (as asyncio sets on Unix; IPV6_V6ONLY on IPv6
 *  sockets; SO_REUSEPORT with opt->reuse_port) and starts accepting at once (start_serving=True): each connection gets a new
 *  task running fn(self, stream, arg). May be called in a task or, before
 *  the loop runs, from plain code.
 *  @param loop  the loop that serves (in a task: the running loop)
 *  @param host  numeric address or host name; NULL or "" binds every
 *               interface (0.0.0.0 and ::); names need a task (resolved
 *               with coro_aio_getaddrinfo), or are resolved with a blocking
 *               getaddrinfo(3) outside one
 *  @param port  0..65535; 0 lets the kernel pick (coro_aio_server_port tells
 *               which; with several addresses they all get the first one's)
 *  @param out   receives the server, given back with coro_aio_server_release
 *  @return CORO_OK; in a task CORO_THROWN with the OSError Python raises,
 *  e.g. "[Errno 98] error while attempting to bind on address ('127.0.0.1',
 *  8888): address already in use", or gaierror; outside a task those
 *  failures are CORO_EINVAL with that text in coro_aio_last_error().
 *  CORO_EINVAL for a NULL loop, fn or out, a closed loop, a port out of range
 *  or bad options; CORO_ENOMEM. */
CORO_API int coro_aio_start_server(coro_aio_loop *loop, coro_aio_connection_fn fn, void *arg,
                                   const char *host, int port,
                                   const coro_aio_stream_options *opt,
                                   coro_aio_server **out);

/** `await asyncio.start_unix_server(fn, path)`: as coro_aio_start_server on
 *  an AF_UNIX socket bound to path. A socket file already at path is
 *  removed first (a stale one from an earlier run), as asyncio does; any
 *  other file there makes bind fail ("[Errno 98] Address '/tmp/x' is already
 *  in use").
 *  The file is left in place when the server closes (as in Python 3.11).
 *  @return as coro_aio_start_server; CORO_EINVAL also for a NULL or empty
 *  path or one longer than sun_path. */
CORO_API int coro_aio_start_unix_server(coro_aio_loop *loop, coro_aio_connection_fn fn,
                                        void *arg, const char *path,
                                        const coro_aio_stream_options *opt,
                                        coro_aio_server **out);

/** The port the server's first listening socket is bound to (the one the
 *  kernel picked for port 0); 0 for a Unix-domain server, -1 for NULL or a
 *  closed server. */
CORO_API int coro_aio_server_port(const coro_aio_server *srv);

/** Server.close(): stops listening (closes the listening sockets) and
 *  cancels a pending serve_forever. Connections already accepted go on.
 *  Idempotent; NULL is ignored. */
CORO_API void coro_aio_server_close(coro_aio_server *srv);

/** `await server.wait_closed()` in the running task: waits until the server
 *  is closed and every connection task it started has ended (Python 3.12's
 *  rule; 3.11 returns at once once closed).
 *  @return CORO_OK; CORO_THROWN with CancelledError; CORO_EINVAL outside a
 *  task or for NULL; CORO_ENOMEM. */
CORO_API int coro_aio_server_wait_closed(coro_aio_server *srv);

/** `await server.serve_forever()` in the running task: waits until
 *  cancelled. When the task is cancelled the server is closed and
 *  CancelledError propagates; coro_aio_server_close from elsewhere also ends
 *  it with CancelledError (as in Python 3.11, where close() cancels the
 *  serve_forever future).
 *  @return CORO_THROWN with CancelledError (never CORO_OK); CORO_EINVAL
 *  outside a task, for NULL or a closed server ("server is closed");
 *  CORO_EBUSY when another task already awaits serve_forever; CORO_ENOMEM. */
CORO_API int coro_aio_server_serve_forever(coro_aio_server *srv);

/** Closes the server if needed and gives it back. Connection tasks still
 *  running keep what they need; the memory goes with the last of them. NULL
 *  is ignored. May be called after the loop was closed. */
CORO_API void coro_aio_server_release(coro_aio_server *srv);

/** `data = await reader.read(n)` in the running task: up to n bytes, as
 *  soon as at least one is there. When nothing is buffered the bytes are
 *  received straight into buf (no copy).
 *  @param buf  room for n bytes
 *  @param got  receives the count; 0 means EOF (or n == 0)
 *  @return CORO_OK; CORO_THROWN with the connection's error (e.g.
 *  ConnectionResetError "[Errno 104] Connection reset by peer"),
 *  CancelledError, TimeoutError (from an enclosing timeout) or ClosedError
 *  (the stream was closed by another task while this one waited; asyncio
 *  returns b'' there); nothing is consumed when the wait is interrupted.
 *  CORO_EINVAL for NULL arguments, n over PTRDIFF_MAX (a negative length
 *  converted to size_t), after close, or outside a task when it would have
 *  to wait; CORO_EBUSY when another task already waits to read
 *  ("read() called while another coroutine is already waiting for incoming
 *  data"); CORO_ENOMEM when the read buffer could not grow or the wait could
 *  not be set up (the other read calls return it too). */
CORO_API int coro_aio_stream_read(coro_aio_stream *s, void *buf, size_t n, size_t *got);

/** `data = await reader.read()` (read(-1)) in the running task: every byte
 *  until EOF, in one malloc'd buffer. The bytes already buffered come
 *  first; the rest is received straight into the buffer, which doubles when
 *  it runs short (no quadratic copying). There is no bound, as in Python:
 *  memory grows with whatever the peer sends before it shuts its side
 *  down; use coro_aio_stream_read in a loop where the peer is not trusted.
 *  @param data  receives the buffer (free() it), NUL-terminated for
 *               convenience (the NUL is not counted in *len); an empty
 *               string at EOF; NULL on any failure
 *  @param len   receives the count of bytes read; 0 on failure
 *  @return CORO_OK; CORO_THROWN with the connection's error (e.g.
 *  ConnectionResetError "[Errno 104] Connection reset by peer"),
 *  CancelledError, TimeoutError (an enclosing timeout) or ClosedError (as
 *  coro_aio_stream_read); on any exception the bytes read so far are freed
 *  and lost, as Python's read(-1) loses them with the cancelled coroutine.
 *  CORO_EINVAL for NULL arguments, after close, or outside a task when it
 *  would have to wait (that message names "read", as Python's read(-1) runs
 *  read()); CORO_EBUSY when another task already waits to read ("read()
 *  called while another coroutine is already waiting for incoming data");
 *  CORO_ENOMEM when the buffer could not grow (the bytes read are lost;
 *  before the first allocation nothing is consumed). */
CORO_API int coro_aio_stream_read_all(coro_aio_stream *s, void **data, size_t *len);

/** `data = await reader.readexactly(n)`: exactly n bytes.
 *  @param got  receives n on success; the partial count with
 *              IncompleteReadError; 0 when the wait was interrupted
 *  @return CORO_OK; CORO_THROWN with IncompleteReadError ("3 bytes read on a
 *  total of 5 expected bytes"; the partial bytes are in buf and consumed)
 *  when EOF comes first, or as coro_aio_stream_read (an interrupted wait
 *  puts the bytes received so far back in the stream's buffer, as asyncio
 *  leaves them in its buffer); statuses as coro_aio_stream_read. */
CORO_API int coro_aio_stream_readexactly(coro_aio_stream *s, void *buf, size_t n, size_t *got);

/** `line = await reader.readline()`: readuntil("\n"), except that EOF ends
 *  the line (the partial line is returned, CORO_OK; *len 0 at EOF) and a
 *  line over the limit raises ValueError with LimitOverrunError's message,
 *  after discarding it: through the separator when one was found, else
 *  every byte buffered. The limit is the stream's, lowered to cap - 1 when
 *  buf is smaller.
 *  @param buf  receives the line with its "\n"; cap bytes
 *  @param len  receives the length
 *  @return CORO_OK; CORO_THROWN with ValueError ("Separator is found, but
 *  chunk is longer than limit", "Separator is not found, and chunk exceed
 *  the limit"), or as coro_aio_stream_read; CORO_EINVAL also for cap 0. */
CORO_API int coro_aio_stream_readline(coro_aio_stream *s, void *buf, size_t cap, size_t *len);

/** `data = await reader.readuntil(sep)`: the bytes up to and including the
 *  first sep. The limit counts the bytes before the separator, as asyncio's
 *  does: the stream's limit, lowered to cap - seplen when buf is smaller.
 *  @param buf  receives the data with the separator; cap bytes
 *  @param len  receives the length (the partial count with
 *              IncompleteReadError)
 *  @return CORO_OK; CORO_THROWN with LimitOverrunError (nothing consumed; its
 *  udata is e.consumed), IncompleteReadError at EOF (every buffered byte
 *  moved to buf, "N bytes read on a total of undefined expected bytes"), or
 *  as coro_aio_stream_read; CORO_EINVAL also for an empty separator
 *  ("Separator should be at least one-byte string") or cap < seplen. */
CORO_API int coro_aio_stream_readuntil(coro_aio_stream *s, const void *sep, size_t seplen,
                                       void *buf, size_t cap, size_t *len);

/** reader.at_eof(): true once EOF was received and every buffered byte was
 *  read. False for NULL. */
CORO_API bool coro_aio_stream_at_eof(const coro_aio_stream *s);

/** writer.write(data): never waits. With nothing buffered, send(2) is tried
 *  at once (MSG_NOSIGNAL); what the kernel does not take is copied to the
 *  stream's buffer and flushed by a background task. After a connection
 *  error the data is dropped silently (asyncio ignores writes to a lost
 *  connection); drain reports the error.
 *  @return CORO_OK; CORO_EINVAL for NULL s, NULL data with n > 0, n over
 *  PTRDIFF_MAX (a negative length converted to size_t: nothing is sent),
 *  after close, or after write_eof ("Cannot call write() after
 *  write_eof()"); CORO_ENOMEM when the rest could not be buffered. */
CORO_API int coro_aio_stream_write(coro_aio_stream *s, const void *data, size_t n);

/** `await writer.drain()` in the running task: returns at once unless the
 *  buffer went over the high-water mark, then waits until the background
 *  flush brings it to the low-water mark or below.
 *  @return CORO_OK; CORO_THROWN with the connection's error (e.g.
 *  BrokenPipeError "[Errno 32] Broken pipe", ConnectionResetError),
 *  ConnectionResetError "Connection lost" after close, CancelledError or
 *  TimeoutError from an enclosing timeout (the data stays buffered);
 *  CORO_EINVAL for NULL, or outside a task when it would have to wait;
 *  CORO_ENOMEM. */
CORO_API int coro_aio_stream_drain(coro_aio_stream *s);

/** writer.write_eof(): shuts the sending side down (shutdown(SHUT_WR)) once
 *  the buffer is flushed; the peer reads EOF, this side can still read.
 *  Repeating it does nothing.
 *  @return CORO_OK; CORO_EINVAL for NULL or after close. */
CORO_API int coro_aio_stream_write_eof(coro_aio_stream *s);

/** writer.close(): stops the stream. With nothing buffered, the socket is
 *  closed now (coro_aio_close_fd: a task waiting to read on it wakes with
 *  ClosedError); otherwise the buffer is flushed in the background first.
 *  Never waits; idempotent.
 *  @return CORO_OK; CORO_EINVAL for NULL. */
CORO_API int coro_aio_stream_close(coro_aio_stream *s);

/** `await writer.wait_closed()` in the running task: waits until the socket
 *  is closed (after close and the flush).
 *  @return CORO_OK; CORO_THROWN with the connection's error if it failed
 *  (as asyncio's closed future carries it), or CancelledError; CORO_EINVAL
 *  outside a task or for NULL. */
CORO_API int coro_aio_stream_wait_closed(coro_aio_stream *s);

/** writer.is_closing(): true after close, or once the connection failed.
 *  False for NULL. */
CORO_API bool coro_aio_stream_is_closing(const coro_aio_stream *s);

/** get_extra_info('peername'): the peer's address (getpeername(2)).
 *  @param len  in: the size of *addr; out: the address's length
 *  @return CORO_OK; CORO_EINVAL for NULL arguments, after close, or when
 *  getpeername fails (the text says why). */
CORO_API int coro_aio_stream_peername(const coro_aio_stream *s, struct sockaddr_storage *addr,
                                      socklen_t *len);

/** get_extra_info('sockname'): the local address (getsockname(2)). Statuses
 *  as coro_aio_stream_peername. */
CORO_API int coro_aio_stream_sockname(const coro_aio_stream *s, struct sockaddr_storage *addr,
                                      socklen_t *len);

/** get_extra_info('socket').fileno(): the socket, for setsockopt and the
 *  like (reading or writing it directly bypasses the stream's buffers);
 *  -1 for NULL or once closed. */
CORO_API int coro_aio_stream_fd(const coro_aio_stream *s);

/** Gives the stream back. If it was not closed it is aborted
 *  (transport.abort(): buffered data dropped, socket closed now); a close
 *  whose flush is still running finishes first, then the memory goes. NULL
 *  is ignored. May be called after the loop was closed. Release a stream
 *  once: for a connection handler's stream, a second release is refused
 *  (CORO_EINVAL in coro_aio_last_error, nothing happens); for a stream from
 *  open_connection the memory may be gone after the first. */
CORO_API void coro_aio_stream_release(coro_aio_stream *s);

/* ======================================================================== */
/* Errors nobody looked at                                                  */
/* ======================================================================== */

/** What loop.call_exception_handler receives (its context dict). Unused
 *  fields are NULL. */
typedef struct coro_aio_exc_context {
    const char *message;        /* 'message' */
    const coro_exc *exception;  /* 'exception' */
    coro_aio_future *future;    /* 'future' (a failed future or task) */
    coro_aio_future *task;      /* 'task' (a task destroyed pending) */
    coro_aio_handle *handle;    /* 'handle' */
} coro_aio_exc_context;

/** An exception handler (loop.set_exception_handler). */
typedef void (*coro_aio_exception_handler_fn)(coro_aio_loop *loop,
                                              const coro_aio_exc_context *ctx, void *udata);

/** Installs the loop's handler; NULL restores the default. */
CORO_API void coro_aio_set_exception_handler(coro_aio_loop *loop,
                                             coro_aio_exception_handler_fn fn, void *udata);
/** The default handler: writes to stderr the message, then one line per field
 *  ("future: <Task finished name='Task-2' exception=ValueError('boom')>"),
 *  then the exception as "ValueError: boom", as asyncio logs it without the
 *  traceback. */
CORO_API void coro_aio_default_exception_handler(coro_aio_loop *loop,
                                                 const coro_aio_exc_context *ctx);
/** Calls the loop's handler (loop.call_exception_handler). */
CORO_API void coro_aio_call_exception_handler(coro_aio_loop *loop,
                                              const coro_aio_exc_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* CORO_AIO_H */
