/* coro.h - libcoro: Python's generator coroutines for C, on stackful coroutines.
 * SPDX-License-Identifier: MIT
 *
 * A coroutine runs a C function (its body) on a stack of its own. The driver
 * moves it with next / send / throw / close exactly as Python drives a
 * generator; the body talks back with yield, yield from, raise and defer.
 *
 * Return-value rule, stated once for every function below that returns int:
 *   0 or a positive status  the call went through (see enum coro_status);
 *   a negative CORO_E*      misuse or failure; nothing happened to the
 *                           coroutine (one exception: CORO_EIGNORED from
 *                           coro_close, after the body ran and yielded), and
 *                           coro_last_error() says why in words.
 *
 * Values travel as void * in both directions. NULL plays Python's None:
 * next(c) is send(c, NULL), and only a NULL may be sent to a coroutine that
 * has not started.
 *
 * Threads: each thread has its own "current coroutine". Different threads may
 * run different coroutines at the same time; a suspended coroutine may be
 * resumed from any thread. One coroutine must never be driven by two threads
 * at once (the library does not lock). A body that may be resumed on another
 * thread must not keep errno or a thread-local's address across a yield
 * (docs/guide.md, section 7).
 */
#ifndef CORO_H
#define CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CORO_STATIC_DEFINE)
#define CORO_API
#elif defined(__GNUC__) || defined(__clang__)
#define CORO_API __attribute__((visibility("default")))
#else
#define CORO_API
#endif

/* Marks the functions that never return: C11's _Noreturn, C++11's
 * [[noreturn]] (the header compiles as C11 and as C++11 or later). */
#if defined(__cplusplus)
#define CORO_NORETURN [[noreturn]]
#else
#define CORO_NORETURN _Noreturn
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CORO_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CORO_PRINTF(fmt, args)
#endif

/* ======================================================================== */
/* Version                                                                  */
/* ======================================================================== */

#define CORO_VERSION_MAJOR 0
#define CORO_VERSION_MINOR 1
#define CORO_VERSION_PATCH 0
/** The version as one number: major * 10000 + minor * 100 + patch. */
#define CORO_VERSION_HEX                                                       \
    (CORO_VERSION_MAJOR * 10000 + CORO_VERSION_MINOR * 100 + CORO_VERSION_PATCH)

/** The version of the library linked in, as CORO_VERSION_HEX. */
CORO_API unsigned coro_version(void);
/** The version of the library linked in, as "major.minor.patch". */
CORO_API const char *coro_version_string(void);

/* ======================================================================== */
/* Statuses and errors                                                      */
/* ======================================================================== */

/* X(name, value, message). Statuses (>= 0) first, then errors (< 0).
 * This one table generates the enum, coro_strerror() and coro_err_name(). */
#define CORO_STATUS_MAP(X)                                                     \
    X(OK, 0, "success")                                                        \
    X(YIELDED, 1, "the coroutine yielded a value")                             \
    X(RETURNED, 2, "the coroutine returned (or had already finished)")         \
    X(RAISED, 3, "an exception escaped the coroutine")                         \
    X(THROWN, 4, "an exception was thrown into the coroutine at this point")

#define CORO_ERRNO_MAP(X)                                                      \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(EJUSTSTARTED, -3, "can't send non-None value to a just-started coroutine") \
    X(ERUNNING, -4, "coroutine already executing")                             \
    X(EIGNORED, -5, "coroutine ignored GeneratorExit")                         \
    X(ENOTCURRENT, -6,                                                         \
      "called from outside the body of the coroutine passed as self")         \
    X(EBUSY, -7, "coroutine is the target of a yield from in another coroutine")

/** What a call reports. Statuses are >= 0, errors are < 0. */
typedef enum coro_status {
#define CORO_STATUS_ENUM_(name, value, msg) CORO_##name = value,
    CORO_STATUS_MAP(CORO_STATUS_ENUM_) CORO_ERRNO_MAP(CORO_STATUS_ENUM_)
#undef CORO_STATUS_ENUM_
} coro_status;

/** A sentence for a status or error code ("unknown error -42" otherwise). */
CORO_API const char *coro_strerror(int code);
/** The enumerator's name without the prefix, e.g. "ERUNNING"; "UNKNOWN" otherwise. */
CORO_API const char *coro_err_name(int code);
/** Details of the most recent failure on this thread: what happened and what
 *  to do, e.g. which allocation failed. Never NULL; "" until the first
 *  failure. Not cleared by calls that succeed: read it right after the
 *  failing call. */
CORO_API const char *coro_last_error(void);

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/** An opaque coroutine. */
typedef struct coro coro;

/** A coroutine body. Runs on the coroutine's own stack. What it returns is
 *  the coroutine's return value (Python's StopIteration.value). */
typedef void *(*coro_fn)(coro *self, void *arg);

/** The four states, named as inspect.getgeneratorstate() prints them. */
typedef enum coro_state {
    CORO_CREATED = 0,   /* GEN_CREATED: made, the body has not started */
    CORO_RUNNING = 1,   /* GEN_RUNNING: the body is executing, or a coroutine
                           it delegates to (yield from) is */
    CORO_SUSPENDED = 2, /* GEN_SUSPENDED: paused at a yield or a yield from */
    CORO_CLOSED = 3     /* GEN_CLOSED: finished by return, exception or close;
                           its stack has been released */
} coro_state;

/** An exception type: a static descriptor compared by identity. `base` makes
 *  families: a handler for a type also catches the types derived from it.
 *  Define your own as `const coro_exc_type my_error = {"MyError",
 *  &coro_Exception};`. */
typedef struct coro_exc_type {
    const char *name;                 /* printed in messages, e.g. "ValueError" */
    const struct coro_exc_type *base; /* NULL only for coro_BaseException */
} coro_exc_type;

/* Python's hierarchy, as far as generators need it. GeneratorExit derives from
 * BaseException, not Exception, so a handler for coro_Exception does not catch
 * it (docs/semantics.md, E2). */
CORO_API extern const coro_exc_type coro_BaseException;
CORO_API extern const coro_exc_type coro_Exception;      /* base: BaseException */
CORO_API extern const coro_exc_type coro_GeneratorExit;  /* base: BaseException */
CORO_API extern const coro_exc_type coro_StopIteration;  /* base: Exception */
CORO_API extern const coro_exc_type coro_RuntimeError;   /* base: Exception */
CORO_API extern const coro_exc_type coro_ValueError;     /* base: Exception */
CORO_API extern const coro_exc_type coro_TypeError;      /* base: Exception */
CORO_API extern const coro_exc_type coro_AttributeError; /* base: Exception */

/** Longest message kept, including the terminating NUL; longer ones are cut. */
#define CORO_EXC_MSG_MAX 160

/** An exception value. Copied by value; holds no pointers that need freeing. */
typedef struct coro_exc {
    const coro_exc_type *type;       /* never NULL in an exception the library hands out */
    char message[CORO_EXC_MSG_MAX];  /* Python's str(e); may be "" */
    void *udata;                     /* the raiser's pointer, passed through untouched */
    const coro_exc_type *context;    /* __context__: the type of the exception being
                                        handled when this one was raised, or NULL */
    const coro_exc_type *cause;      /* __cause__: set when PEP 479 turned a
                                        StopIteration into RuntimeError, else NULL */
} coro_exc;

/** True when `type` is `family` or derives from it (Python's issubclass).
 *  False when either is NULL. */
CORO_API bool coro_exc_matches(const coro_exc_type *type, const coro_exc_type *family);

/** Fills *exc with a type and message (udata, context and cause cleared). For
 *  foreign iterators that report an exception. Returns CORO_OK, or CORO_EINVAL
 *  for a NULL exc or type. */
CORO_API int coro_exc_set(coro_exc *exc, const coro_exc_type *type, const char *msg);

/** Flags for coro_options.flags. */
enum {
    /** Run the body to its first yield inside coro_create (the seeds'
     *  @coroutine decorator); the yielded value is discarded. */
    CORO_PRIME = 1u << 0,
    /** Measure the stack's use when the stack is released (the body
     *  finished, was closed, or the coroutine is destroyed), so that
     *  coro_stack_high_water still knows it once the coroutine is CLOSED.
     *  Costs one mincore system call per release; without the flag a
     *  release costs none. */
    CORO_RECORD_STACK_USE = 1u << 1
};

/** How a coroutine's stack is laid out (coro_options.stack_mode). */
enum {
    /** Use the process default (coro_set_default_stack_mode; GUARDED unless
     *  changed). */
    CORO_STACK_DEFAULT = 0,
    /** A mapping of its own with a PROT_NONE guard page below: an overrun
     *  faults at once (see coro_install_overflow_handler). Costs two of the
     *  kernel's memory mappings (vm.max_map_count), so about 32 000 can be
     *  alive with the default limit, counting those in the stack cache
     *  (coro_set_stack_cache_limit). */
    CORO_STACK_GUARDED = 1,
    /** A slot of a large shared mapping, no guard page: for hundreds of
     *  thousands of coroutines. An overrun is caught by a canary checked on
     *  every switch out of the coroutine, which aborts with a message. */
    CORO_STACK_COMPACT = 2
};

/** Creation options. Always start from coro_options_init() or
 *  CORO_OPTIONS_INIT so that fields added later get their defaults. */
typedef struct coro_options {
    size_t stack_size; /* bytes, rounded up to pages; 0 = the process default
                          for the stack mode. All usable in GUARDED mode; in
                          COMPACT mode the top 64 bytes of the slot are the
                          canary of the slot above */
    unsigned flags;    /* CORO_PRIME, CORO_RECORD_STACK_USE */
    const char *name;  /* for diagnostics; copied; NULL = "coroutine" */
    int stack_mode;    /* CORO_STACK_DEFAULT, _GUARDED or _COMPACT */
} coro_options;

#define CORO_OPTIONS_INIT {0, 0u, NULL, CORO_STACK_DEFAULT}

/** Sets every field of *opt to its default. */
CORO_API void coro_options_init(coro_options *opt);

/** A foreign iterator for coro_yield_from_iter: an array, a range or anything
 *  of yours. Each call reports CORO_YIELDED (value in *out), CORO_RETURNED
 *  (exhausted; *out is the value of the yield from, like StopIteration.value)
 *  or CORO_RAISED (after filling *exc, e.g. with coro_exc_set). From next,
 *  send or throw_, CORO_RAISED with a StopIteration (or a type derived from
 *  it) is another way of returning: exc->udata is the value of the yield from,
 *  as Python takes StopIteration.value from whatever StopIteration comes back.
 *  From close it is raised in the delegator like any other exception. `next`
 *  is required; a missing `send`, `throw` or `close` behaves as Python does for
 *  an iterator without that method (docs/semantics.md, Y3, Y4, Y5). */
typedef struct coro_iter_vtable {
    const char *name; /* in messages: "'range' object has no attribute 'send'" */
    int (*next)(void *it, void **out, coro_exc *exc);
    int (*send)(void *it, void *value, void **out, coro_exc *exc);
    int (*throw_)(void *it, const coro_exc *thrown, void **out, coro_exc *exc);
    /* close: CORO_OK (or CORO_RETURNED; the value is discarded) or CORO_RAISED */
    int (*close)(void *it, coro_exc *exc);
} coro_iter_vtable;

/* ======================================================================== */
/* Lifecycle                                                                */
/* ======================================================================== */

/** Creates a coroutine that will run fn(self, arg) on a stack of its own.
 *  Nothing of the body runs (unless opt->flags has CORO_PRIME).
 *  @param out  receives the coroutine; untouched on error
 *  @param fn   the body; required
 *  @param arg  passed to the body untouched
 *  @param opt  NULL for the defaults
 *  @return CORO_OK (state CREATED, or SUSPENDED when primed); CORO_EINVAL for
 *  a NULL out or fn or a stack size above CORO_MAX_STACK_SIZE; CORO_ENOMEM when the
 *  coroutine or its stack could not be allocated (coro_last_error() names the
 *  cause). With CORO_PRIME, a body that returns or raises before its first
 *  yield makes this return CORO_RETURNED or CORO_RAISED: *out is then set, is
 *  CLOSED, and must still be destroyed. */
CORO_API int coro_create(coro **out, coro_fn fn, void *arg, const coro_options *opt);

/** Destroys a coroutine and frees all its memory. A SUSPENDED coroutine is
 *  closed first, so its cleanup handlers run; what goes wrong in that close
 *  goes to the unraisable hook, never to the caller (docs/semantics.md, F1, F2), and the
 *  memory is freed even if the body ignores GeneratorExit.
 *  @return CORO_OK (also for NULL, like free); CORO_ERUNNING if c is running
 *  (nothing happens); CORO_EBUSY if another coroutine is parked in a yield from
 *  on c (close or destroy that delegator first). */
CORO_API int coro_destroy(coro *c);

/* ======================================================================== */
/* Driving: next, send, throw, close                                        */
/* ======================================================================== */

/** Python's next(c): the same as coro_send(c, NULL, out). */
CORO_API int coro_next(coro *c, void **out);

/** Resumes c; the pending yield evaluates to `value`.
 *  @param out  receives the yielded or returned value; may be NULL
 *  @return by state:
 *   CREATED    value NULL: runs from the top. Non-NULL: CORO_EJUSTSTARTED,
 *              nothing runs, c stays CREATED.
 *   SUSPENDED  runs to the next yield or the end.
 *   RUNNING    CORO_ERUNNING (also when c is a delegator whose sub runs).
 *   CLOSED     CORO_RETURNED with *out = NULL, whatever the value.
 *  After running: CORO_YIELDED (*out = the yielded value, SUSPENDED),
 *  CORO_RETURNED (*out = the body's return value, delivered once; CLOSED) or
 *  CORO_RAISED (an exception escaped; CLOSED; see coro_exception). */
CORO_API int coro_send(coro *c, void *value, void **out);

/** Raises an exception of `type` with message `msg` (NULL = "") in c at its
 *  pending yield, like Python's gen.throw().
 *  @return by state:
 *   CREATED    no body code runs; c becomes CLOSED; CORO_RAISED with the
 *              exception (a StopIteration becomes RuntimeError, PEP 479).
 *   SUSPENDED  CORO_YIELDED if the body handled it and yielded again,
 *              CORO_RETURNED if it handled it and returned, CORO_RAISED if an
 *              exception escaped (this one or another).
 *   RUNNING    CORO_ERUNNING.
 *   CLOSED     CORO_RAISED with this exception; nothing runs.
 *  CORO_EINVAL for a NULL c or type. Throwing coro_GeneratorExit is not a
 *  close: if it escapes, CORO_RAISED reports it (docs/semantics.md, D5). */
CORO_API int coro_throw(coro *c, const coro_exc_type *type, const char *msg, void **out);

/** coro_throw with a whole exception value (type, message and udata). */
CORO_API int coro_throw_exc(coro *c, const coro_exc *exc, void **out);

/** Python's gen.close() (3.13 semantics): raises GeneratorExit at the pending
 *  yield and lets the body clean up.
 *  @param out  receives the value the body returned while closing, else NULL;
 *              may be NULL
 *  @return by state:
 *   CREATED    CORO_OK; nothing runs; c is CLOSED and its stack freed at once.
 *   SUSPENDED  CORO_OK if GeneratorExit escaped or the body returned (CLOSED);
 *              CORO_EIGNORED if the body yielded again (it stays SUSPENDED at
 *              that yield); CORO_RAISED if another exception escaped (CLOSED).
 *   RUNNING    CORO_ERUNNING.
 *   CLOSED     CORO_OK, nothing happens. */
CORO_API int coro_close(coro *c, void **out);

/** The exception that escaped c on its last CORO_RAISED status, or, inside
 *  c's body, the one just thrown in (after CORO_THROWN). NULL if none. Valid
 *  until c is driven again or destroyed. */
CORO_API const coro_exc *coro_exception(const coro *c);

/* ======================================================================== */
/* Inside the body                                                          */
/* ======================================================================== */

/** Suspends the body and hands `value` to the driver.
 *  @param self      the running coroutine (the body's first argument)
 *  @param received  receives the value sent in (NULL for next); may be NULL
 *  @return CORO_OK when resumed by next/send; CORO_THROWN when an exception
 *  was thrown in (by throw, or GeneratorExit by close): read it with
 *  coro_exception(self), then handle it and go on, or propagate it with
 *  coro_reraise(self). Yielding again after GeneratorExit makes close report
 *  CORO_EIGNORED. CORO_ENOTCURRENT if self is not the coroutine running on
 *  this thread. */
CORO_API int coro_yield(coro *self, void *value, void **received);

/** coro_yield for bodies that do not handle exceptions: returns the value sent
 *  in, and propagates a thrown exception (as an uncaught Python exception
 *  does). Aborts with a message if self is not the running coroutine. */
CORO_API void *coro_yield_value(coro *self, void *value);

/** Python's `result = yield from sub` (PEP 380). Runs sub to its end, passing
 *  every next/send/throw/close of the driver straight to it and every value it
 *  yields straight to the driver, at a cost that does not grow with the depth
 *  of the chain. sub stays owned by the caller; it cannot be destroyed while
 *  this runs.
 *  A sub that finished behind this call's back (driven or closed directly)
 *  ends the delegation at the next forwarded operation, as in CPython 3.11: a
 *  send gives CORO_OK with *result NULL; a throw is re-raised by the finished
 *  sub, so a thrown StopIteration (or a type derived from it) ends it with
 *  CORO_OK and *result = that exception's udata (Python's StopIteration.value;
 *  the delegator carries on), and any other thrown exception surfaces here.
 *  (A live sub turns a thrown StopIteration into RuntimeError, PEP 479.)
 *  @param result  receives sub's return value, or the udata of a StopIteration
 *                 that ended the delegation; may be NULL
 *  @return CORO_OK when sub returned; CORO_THROWN when an exception surfaced
 *  here (raised by sub, thrown into self while sub has no handler for it,
 *  GeneratorExit from a close, or ValueError if sub is running):
 *  coro_exception(self) has it, and the body handles or propagates it.
 *  CORO_EINVAL for a NULL sub; CORO_ENOTCURRENT as coro_yield. */
CORO_API int coro_yield_from(coro *self, coro *sub, void **result);

/** `yield from` a coroutine made for the occasion: creates fn(sub, arg) with
 *  default options, delegates to it, and destroys it when the delegation ends
 *  however it ends. Returns as coro_yield_from (*result is the sub's return
 *  value; the sub cannot finish behind this call's back, being nobody else's,
 *  so a StopIteration thrown in always meets it live and becomes RuntimeError
 *  in it, PEP 479), or CORO_ENOMEM, or CORO_EINVAL for a NULL fn. */
CORO_API int coro_yield_from_fn(coro *self, coro_fn fn, void *arg, void **result);

/** `yield from` a foreign iterator described by vt. Returns as
 *  coro_yield_from; CORO_EINVAL if vt or vt->next is NULL. *result is the
 *  value vt reported with CORO_RETURNED, or the udata of a StopIteration (or
 *  derived) that next, send or throw_ reported with CORO_RAISED. A thrown
 *  StopIteration with no throw_ to take it is raised here (CORO_THROWN), as
 *  in CPython 3.11; one reported by close is raised here too. */
CORO_API int coro_yield_from_iter(coro *self, const coro_iter_vtable *vt, void *it,
                                  void **result);

/** Raises an exception in the body: runs the cleanup handlers (coro_defer),
 *  newest first, and ends the coroutine with CORO_RAISED for its driver (or,
 *  under a yield from, raises it in the delegator). Works from any depth of C
 *  calls on the coroutine's stack; never returns. A StopIteration becomes
 *  RuntimeError when it leaves the body (PEP 479). Aborts with a message if
 *  self is not the running coroutine or type is NULL. */
CORO_NORETURN CORO_API void coro_raise(coro *self, const coro_exc_type *type, const char *msg);
/** coro_raise with a printf-style message. */
CORO_NORETURN CORO_API void coro_raisef(coro *self, const coro_exc_type *type,
                                        const char *fmt, ...) CORO_PRINTF(3, 4);
/** coro_raise with a whole exception value (keeps its udata). */
CORO_NORETURN CORO_API void coro_raise_exc(coro *self, const coro_exc *exc);
/** Propagates the exception that coro_yield/coro_yield_from just reported
 *  with CORO_THROWN (Python's bare `raise`). */
CORO_NORETURN CORO_API void coro_reraise(coro *self);

/** Registers fn(arg) to run when the body ends, however it ends: return,
 *  raise, close or destroy (Python's finally). Handlers run newest first, on
 *  the coroutine's stack, and may yield. A handler registered inside the
 *  protected call of a coro_try belongs to that call instead: it runs when the
 *  call ends, normally or by a raise, before coro_try returns. The one
 *  exception: handlers still pending when coro_destroy frees a body that
 *  ignored GeneratorExit are dropped without running (as Python drops the
 *  frame). The first CORO_INLINE_DEFERS handlers pending at once on a
 *  coroutine need no allocation; deeper ones allocate a node each.
 *  @return CORO_OK; CORO_ENOMEM (only past CORO_INLINE_DEFERS pending
 *  handlers); CORO_EINVAL for a NULL fn; CORO_ENOTCURRENT. */
CORO_API int coro_defer(coro *self, void (*fn)(void *arg), void *arg);

/** Removes the newest cleanup handler, running it first if `run` is true: the
 *  normal end of a try/finally block. CORO_EINVAL if there is none, or if it
 *  was registered outside the coro_try whose protected call is running (pop
 *  it after that call returns); CORO_ENOTCURRENT as coro_yield. */
CORO_API int coro_defer_pop(coro *self, bool run);

/** How many cleanup handlers a coroutine can have pending at once before
 *  coro_defer allocates (they live in the coroutine itself). */
#define CORO_INLINE_DEFERS 4

/** Python's `try: result = fn(arg) except BaseException:` inside one body.
 *  Calls fn(self, arg) on the caller's own stack (no new coroutine, no
 *  switch, no system call) and catches what is raised below it: coro_raise,
 *  coro_raisef, coro_raise_exc, coro_reraise or coro_yield_value from any
 *  depth of C calls inside fn.
 *  Rules:
 *   - Cleanup handlers (coro_defer) registered inside the call run, newest
 *     first, before coro_try returns, however fn ends; those registered
 *     before it do not run. A handler that raises replaces the exception
 *     (its __context__ records the one it replaced), as in Python.
 *   - Calls nest: a raise goes to the innermost coro_try; one inside fn that
 *     catches stops it there.
 *   - fn may yield (and yield from): the coroutine can be resumed, thrown
 *     into, closed or destroyed while inside the call. A GeneratorExit thrown
 *     in by coro_close and propagated by fn is caught here too (it is a
 *     BaseException); propagate it with coro_reraise, or the close reports
 *     CORO_EIGNORED if the body then yields.
 *   - PEP 479 applies only when an exception leaves the body: a StopIteration
 *     is caught here as itself.
 *   - __context__ is recorded as for any raise: an exception raised inside
 *     fn while the body handles one has it as context.
 *   - Only raises of self's body are caught. A coroutine that fn drives and
 *     that raises reports CORO_RAISED to fn as usual.
 *  @param self    the running coroutine (the body's first argument)
 *  @param fn      the protected call; it gets self and arg
 *  @param result  receives fn's return value on CORO_OK, else NULL; may be
 *                 NULL
 *  @return CORO_OK when fn returned (a handler being handled before the call
 *  is current again); CORO_THROWN when an exception was raised and caught:
 *  coro_exception(self) has it, exactly as after coro_yield returned
 *  CORO_THROWN (handle it, or propagate it with coro_reraise(self));
 *  CORO_EINVAL for a NULL fn; CORO_ENOTCURRENT as coro_yield. */
CORO_API int coro_try(coro *self, coro_fn fn, void *arg, void **result);

/* ======================================================================== */
/* Helpers: loops, yield from with propagation, built-in iterators, ints    */
/* ======================================================================== */

/* Shorthands for the common cases, built on the calls above (src/helpers.c).
 * Everything here can be written with the calls above; these just keep a
 * program as short as its Python original without dropping an error. */

#if defined(__GNUC__) || defined(__clang__)
#define CORO_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define CORO_WARN_UNUSED
#endif

/** An integer as a value, without a cast at every call: CORO_INT(42) is the
 *  void * that coro_int() turns back into 42. Round-trips every intptr_t. */
#define CORO_INT(i) ((void *)(intptr_t)(i))

/** The integer a value carries (the inverse of CORO_INT); NULL gives 0. */
static inline intptr_t coro_int(const void *value) { return (intptr_t)value; }

/** coro_yield_value for integers: yields CORO_INT(value) and returns the
 *  value sent in as an integer (0 for next). A thrown exception propagates
 *  (as coro_yield_value); aborts with a message if self is not running. */
CORO_API intptr_t coro_yield_int(coro *self, intptr_t value);

/** Creates a coroutine with default options and runs it to its first yield
 *  in one call: Python's `g = gen(arg); first = next(g)`, or the
 *  @coroutine priming decorator.
 *  @param out    receives the coroutine; set to NULL on error
 *  @param first  receives the first yielded value, or the return value of a
 *                body that returned before its first yield (Python's
 *                StopIteration.value); NULL otherwise; may be NULL
 *  @return CORO_YIELDED (SUSPENDED); CORO_RETURNED or CORO_RAISED when the
 *  body ended before its first yield (*out is set, CLOSED, and must still be
 *  destroyed; coro_exception(*out) has the exception); CORO_EINVAL for a
 *  NULL out or fn; CORO_ENOMEM as coro_create. */
CORO_API int coro_start(coro **out, coro_fn fn, void *arg, void **first) CORO_WARN_UNUSED;

/** One step of a for loop over c's values: coro_next(c, value), with the
 *  status stored in *status.
 *  @return true while c yields (*value is the yielded value), false once the
 *  loop must end: *status is then CORO_RETURNED (c finished; *value is its
 *  return value), CORO_RAISED (an exception escaped; coro_exception(c) has
 *  it) or a negative error (e.g. CORO_EINVAL for a NULL c, CORO_ERUNNING).
 *  A NULL status or value is CORO_EINVAL (false). */
CORO_API bool coro_iter_next(coro *c, void **value, int *status);

/** Python's `for v in c:` over a coroutine you created: declares `void *v`
 *  for the loop body, and leaves the final status in the int variable `rc`
 *  (declared by you): CORO_RETURNED when c was exhausted, CORO_RAISED when an
 *  exception escaped (read coro_exception(c)), CORO_YIELDED after a `break`,
 *  a negative CORO_E* for a bad c. Check rc after the loop: a raise is never
 *  mistaken for the end. c stays yours to destroy. */
#define CORO_FOR_EACH(c, v, rc) for (void *v = NULL; coro_iter_next((c), &v, &(rc));)

/** Python's `for v in fn(arg):`: creates fn(self, arg) with default options,
 *  loops over its values like CORO_FOR_EACH, and destroys it when the loop
 *  ends, also after a `break` (a suspended coroutine is closed first, so its
 *  cleanup runs). rc as CORO_FOR_EACH, plus CORO_ENOMEM when it could not be
 *  created. After CORO_RAISED the coroutine is gone, so coro_last_error()
 *  holds "<type>: <message>" of the exception. Leave the loop with break,
 *  never with return or goto (the coroutine would leak). */
#define CORO_FOR_EACH_FN(fn, arg, v, rc)                                                   \
    for (coro *CORO_FE_C_ = coro_for_begin((fn), (arg), &(rc)); CORO_FE_C_ != NULL;        \
         CORO_FE_C_ = coro_for_end(CORO_FE_C_, &(rc)))                                     \
        for (void *v = NULL; coro_iter_next(CORO_FE_C_, &v, &(rc));)
#define CORO_FE_C_ CORO_FE_CAT_(coro_fe_c_, __LINE__)
#define CORO_FE_CAT_(a, b) CORO_FE_CAT2_(a, b)
#define CORO_FE_CAT2_(a, b) a##b

/** CORO_FOR_EACH_FN's start: coro_create(&c, fn, arg, NULL). Returns c with
 *  *status = CORO_OK, or NULL with *status = the error. */
CORO_API coro *coro_for_begin(coro_fn fn, void *arg, int *status);
/** CORO_FOR_EACH_FN's end: when *status is CORO_RAISED, copies "<type>:
 *  <message>" of c's exception into coro_last_error(); then destroys c (its
 *  errors go to the unraisable hook) and returns NULL. *status is kept. */
CORO_API coro *coro_for_end(coro *c, const int *status);

/** Python's MemoryError (base: Exception): raised by the *_value helpers
 *  below when a sub coroutine could not be created. */
CORO_API extern const coro_exc_type coro_MemoryError;

/** `return yield from sub` for bodies that do not handle exceptions, as
 *  coro_yield_value is for coro_yield: returns sub's return value, and
 *  propagates what surfaced in self (CORO_THROWN) with coro_reraise. A NULL
 *  sub raises TypeError "'NULL' object is not iterable" (Python's
 *  `yield from None`). Aborts with a message if self is not running. */
CORO_API void *coro_yield_from_value(coro *self, coro *sub);

/** coro_yield_from_fn that propagates: returns the sub's return value;
 *  re-raises a CORO_THROWN; raises coro_MemoryError (message from
 *  coro_last_error()) when the sub could not be created, and TypeError for a
 *  NULL fn. Aborts with a message if self is not running. */
CORO_API void *coro_yield_from_fn_value(coro *self, coro_fn fn, void *arg);

/** coro_yield_from_iter that propagates: returns the iterator's final value;
 *  re-raises a CORO_THROWN; raises TypeError for a NULL vt or vt->next.
 *  Aborts with a message if self is not running. */
CORO_API void *coro_yield_from_iter_value(coro *self, const coro_iter_vtable *vt, void *it);

/** A built-in iterator over an integer range for coro_yield_from_iter, like
 *  Python's range(start, stop, step): yields CORO_INT(start),
 *  CORO_INT(start + step), ... while below stop (above it for a negative
 *  step), then ends with the value NULL (None). Put the state on your stack
 *  and fill it with coro_range_init. Like Python's range_iterator it has no
 *  send, throw or close: a non-NULL send raises AttributeError
 *  "'range_iterator' object has no attribute 'send'" in the delegator, and a
 *  throw is raised in the delegator directly. */
typedef struct coro_range {
    intptr_t next, stop, step; /* the next value; the bound; never 0 */
    bool done;                 /* set once the range is exhausted */
} coro_range;

/** The vtable for a coro_range (name "range_iterator"). */
CORO_API extern const coro_iter_vtable coro_range_vt;

/** Fills *r for range(start, stop, step). Returns CORO_OK, or CORO_EINVAL
 *  for a NULL r or a step of 0 (Python: "range() arg 3 must not be zero"). */
CORO_API int coro_range_init(coro_range *r, intptr_t start, intptr_t stop, intptr_t step);

/** A built-in iterator over an array for coro_yield_from_iter, like
 *  Python's list_iterator: yields a pointer to each element in turn
 *  (`(char *)base + i * elem_size`), or, when elem_size is 0, the elements
 *  of an array of void * themselves; then ends with the value NULL. No
 *  send, throw or close, with the behaviour coro_range describes (the name
 *  in messages is "array_iterator"). The array must outlive the yield from. */
typedef struct coro_array_iter {
    const void *base; /* the first element */
    size_t count;     /* number of elements */
    size_t elem_size; /* bytes per element; 0 = an array of void *, values yielded */
    size_t pos;       /* index of the next element */
} coro_array_iter;

/** The vtable for a coro_array_iter (name "array_iterator"). */
CORO_API extern const coro_iter_vtable coro_array_iter_vt;

/** Fills *a for count elements of elem_size bytes at base (elem_size 0: an
 *  array of void *). Returns CORO_OK, or CORO_EINVAL for a NULL a, or a NULL
 *  base with count > 0. */
CORO_API int coro_array_iter_init(coro_array_iter *a, const void *base, size_t count,
                                  size_t elem_size);

/* ======================================================================== */
/* Introspection                                                            */
/* ======================================================================== */

/** The state of c (a coro_state, >= 0), or CORO_EINVAL for NULL. A delegator
 *  reports CORO_RUNNING while a driver call that went through it runs
 *  anything below it in its yield from chain (as Python's gi_running); a sub
 *  driven directly does not make its delegator RUNNING. O(1), except for a
 *  delegator in the middle of a chain: O(depth). */
CORO_API int coro_get_state(const coro *c);

/** "GEN_CREATED", "GEN_RUNNING", "GEN_SUSPENDED", "GEN_CLOSED", or
 *  "GEN_UNKNOWN" for anything else. */
CORO_API const char *coro_state_name(int state);

/** The coroutine running on this thread, or NULL outside every body. */
CORO_API coro *coro_current(void);

/** Python's gi_yieldfrom: the coroutine c is parked on in a yield from, or
 *  NULL (also when the target is a foreign iterator, see coro_yield_from_iter_target,
 *  and while c is running). */
CORO_API coro *coro_yield_from_target(const coro *c);

/** The foreign iterator c is parked on in coro_yield_from_iter (and its vtable
 *  in *vt if vt is not NULL), or NULL. */
CORO_API void *coro_yield_from_iter_target(const coro *c, const coro_iter_vtable **vt);

/** The name given in coro_options, or "coroutine". NULL for a NULL c. */
CORO_API const char *coro_name(const coro *c);

/** The usable stack size of c in bytes (0 for NULL). */
CORO_API size_t coro_stack_size(const coro *c);

/** How many bytes of c's stack have been used so far, measured now (one
 *  mincore system call for stacks up to 1 MiB): from the top of the stack
 *  down to the lowest page the body touched. Never less than the body used;
 *  page-granular, so up to a page more, and possibly more for a stack reused
 *  from the stack cache (its earlier user's pages count). Use it to size
 *  stack_size.
 *  Once c's stack is released (CLOSED): with CORO_RECORD_STACK_USE, the
 *  figure measured at the release; without it, the largest figure this call
 *  returned while c still had its stack (0 if it was never asked).
 *  0 for NULL. Any state; like every call on c, not concurrently with
 *  another call on c. */
CORO_API size_t coro_stack_high_water(const coro *c);

/** CORO_STACK_GUARDED or CORO_STACK_COMPACT (what c was given), or
 *  CORO_EINVAL for NULL. */
CORO_API int coro_stack_mode(const coro *c);

/** Which context switch was compiled in: "ucontext", "asm-x86_64" or
 *  "asm-aarch64", with "-shared-fp" appended to an asm name when the library
 *  was built with -DCORO_SHARED_FP=ON. Without the option every coroutine
 *  keeps its own floating-point control state (x86-64: the MXCSR and the x87
 *  control word; AArch64: the FPCR), saved and restored by each switch, and
 *  a new coroutine starts with its creator's. With it ("-shared-fp") the
 *  switch leaves that state alone, which makes it faster, and there is one
 *  state per thread: a body that changes the rounding mode or the exception
 *  masks (fesetround, feenableexcept, _mm_setcsr, or a library that does)
 *  changes them for every coroutine on that thread and for the thread
 *  itself, until something changes them back; a coroutine runs with whatever
 *  the thread has when it runs, and keeps nothing across a yield. */
CORO_API const char *coro_backend_name(void);

/* ======================================================================== */
/* Configuration (process-wide; set before creating coroutines)             */
/* ======================================================================== */

/** Smallest stack accepted, in bytes. */
#ifndef CORO_MIN_STACK_SIZE
#define CORO_MIN_STACK_SIZE (16u * 1024u)
#endif
/** Largest stack accepted, in bytes: 1 TiB with a 64-bit size_t (far beyond
 *  any real stack; Linux on x86-64 gives a process 128 TiB of addresses),
 *  1 GiB with a 32-bit one. A larger stack_size makes coro_create return
 *  CORO_EINVAL; a smaller one the kernel cannot map gives CORO_ENOMEM. */
#ifndef CORO_MAX_STACK_SIZE
#define CORO_MAX_STACK_SIZE (sizeof(size_t) > 4 ? (size_t)1 << 20 << 20 : (size_t)1 << 30)
#endif
/** Stack size used when neither the options nor coro_set_default_stack_size
 *  give one. */
#ifndef CORO_DEFAULT_STACK_SIZE
#define CORO_DEFAULT_STACK_SIZE (256u * 1024u)
#endif

/** Sets the stack size for coroutines created without one. Sizes below
 *  CORO_MIN_STACK_SIZE are raised to it. CORO_EINVAL for 0. */
CORO_API int coro_set_default_stack_size(size_t size);
/** The current default stack size. */
CORO_API size_t coro_get_default_stack_size(void);

/** Default usable size of compact stacks. */
#ifndef CORO_COMPACT_STACK_SIZE
#define CORO_COMPACT_STACK_SIZE (16u * 1024u)
#endif

/** Sets the stack size for compact coroutines created without one (raised to
 *  CORO_MIN_STACK_SIZE if below). CORO_EINVAL for 0. */
CORO_API int coro_set_default_compact_stack_size(size_t size);
/** The current default size of compact stacks. */
CORO_API size_t coro_get_default_compact_stack_size(void);

/** Sets the stack mode used when coro_options.stack_mode is
 *  CORO_STACK_DEFAULT: CORO_STACK_GUARDED (the initial default) or
 *  CORO_STACK_COMPACT. CORO_EINVAL otherwise. */
CORO_API int coro_set_default_stack_mode(int mode);
/** The current default stack mode. */
CORO_API int coro_get_default_stack_mode(void);

/** Sets how many freed stacks of `mode` the stack cache keeps for reuse.
 *  A freed stack goes, memory and all, into the cache of the thread that
 *  frees it; a create of the same mode and size on that thread takes it back
 *  without a system call. A stack freed past the limit goes back to the
 *  kernel at once.
 *  @param mode  CORO_STACK_GUARDED: n counts the guarded stacks in every
 *               thread's cache together (each costs two of the kernel's
 *               vm.max_map_count mappings); default a third of
 *               vm.max_map_count, read once (21 843 with the usual 65 530);
 *               at most half of it.
 *               CORO_STACK_COMPACT: n counts the compact stacks in each
 *               thread's cache; default 32 768.
 *  @param n     0 turns caching off for the mode
 *  @return CORO_OK; CORO_EINVAL for another mode or a guarded n above half
 *  of vm.max_map_count. Stacks already cached past a lowered limit stay
 *  until they idle out (coro_set_stack_cache_idle_ms) or are trimmed. */
CORO_API int coro_set_stack_cache_limit(int mode, size_t n);
/** The current limit for `mode` (0 for an unknown mode). */
CORO_API size_t coro_get_stack_cache_limit(int mode);

/** Sets how long a cached stack may go unused before it goes back to the
 *  kernel, in milliseconds (default 1000; 0: never for idleness). A thread
 *  checks the clock every few hundred creates and destroys, and hands back
 *  the stacks that were not taken during a whole period, so a stack goes
 *  back after one to two periods without use, at a create or destroy on the
 *  thread whose cache holds it. A thread that stops creating and destroying
 *  keeps its cache until coro_stack_pool_trim or its exit. */
CORO_API void coro_set_stack_cache_idle_ms(unsigned ms);
/** The current idle period in milliseconds. */
CORO_API unsigned coro_get_stack_cache_idle_ms(void);

/** Older form of coro_set_stack_cache_limit: sets both limits (the guarded
 *  one process-wide, the compact one per thread) to n, at most 64
 *  (CORO_EINVAL above). Returns CORO_OK. */
CORO_API int coro_set_stack_pool_size(size_t n);

/** Hands every stack in this thread's stack cache back to the kernel:
 *  guarded stacks are unmapped, compact slots madvise'd and returned to
 *  their arena. Also frees the structs of destroyed coroutines that this
 *  thread keeps for reuse (see coro_set_allocator). A thread's caches are
 *  also emptied when the thread exits. */
CORO_API void coro_stack_pool_trim(void);

/** Installs a SIGSEGV/SIGBUS handler that turns a fault in a coroutine's
 *  guard page into one line on stderr naming the coroutine and its stack
 *  size, then aborts. Other faults go to the handler that was there before.
 *  The handler runs on an alternate signal stack, which this call sets up for
 *  the calling thread: call it in every thread that runs coroutines (calling
 *  it again is harmless). Returns CORO_OK, or CORO_ENOMEM if the alternate
 *  stack could not be mapped. */
CORO_API int coro_install_overflow_handler(void);

/** Memory functions for the library's own bookkeeping (not the stacks, which
 *  are mapped with mmap). */
typedef struct coro_allocator {
    void *(*alloc)(void *udata, size_t size); /* NULL on failure */
    void (*free)(void *udata, void *ptr, size_t size);
    void *udata;
} coro_allocator;

/** Replaces malloc/free for everything allocated after this call. NULL
 *  restores the defaults. With the defaults, each thread keeps up to 32 768
 *  structs of destroyed coroutines for reuse (freed by coro_stack_pool_trim
 *  and at thread exit); with a replacement, every create and destroy goes
 *  through it. CORO_EINVAL if a function is missing. Do not change
 *  it while coroutines made with the previous allocator are alive. */
CORO_API int coro_set_allocator(const coro_allocator *allocator);

/** Receives the errors of implicit closes (coro_destroy of a suspended
 *  coroutine): `what` says which ("exception ignored while destroying"),
 *  exc is the exception or NULL when the body ignored GeneratorExit. */
typedef void (*coro_unraisable_fn)(const coro *c, const coro_exc *exc, const char *what,
                                   void *udata);

/** Installs the hook (NULL restores the default, one line on stderr). */
CORO_API void coro_set_unraisable_hook(coro_unraisable_fn fn, void *udata);

#ifdef __cplusplus
}
#endif

#endif /* CORO_H */
