/* rows_aio.c - the aio rows (libcoro-aio's loop, tasks and timers) and their asyncio/uvloop peers.
 * SPDX-License-Identifier: MIT
 *
 * Each row does the work bench/aio_peers.py does for asyncio and uvloop:
 *
 *   aio_sleep0_ns          one task awaiting coro_aio_sleep(0) in a loop: ns per
 *                          round trip through the loop (yield, one iteration,
 *                          resume)
 *   aio_handoff_ns         two tasks waking each other through an Event each:
 *                          each waits for its own event, clears it and sets
 *                          the other's; ns per hand-off (one set() that wakes
 *                          the other task), as aio_peers.py's handoff
 *   aio_spawn_ns           tasks that return at once, 100 000 a batch: created
 *                          by a running task, run, finished and freed: ns per
 *                          task
 *   aio_timer_arm_ns       coro_aio_call_later(3600 s), 1 000 000 a batch: ns per
 *                          call (only the arming is timed; the batch is then
 *                          cancelled and cleared)
 *   aio_timer_fire_per_s   1 000 000 timers armed with delay 0, then fired by
 *                          the loop: timers per second (only the firing timed)
 *   aio_mem_per_task_bytes resident growth with 100 000 tasks parked in
 *                          coro_aio_sleep(3600), per task
 *
 * The per-operation rows are calibrated as the harness does (the count
 * doubles until one repetition lasts min_time), then cfg->reps repetitions
 * are taken and the median reported. These rows time parts of a run (arming
 * without the cancelling), so they have their own timing instead of
 * bench_measure's whole-run timing.
 *
 * Peers: `python3 aio_peers.py LOOP REPS MIN_TIME` (the script's path is
 * compiled in; CORO_BENCH_AIO_PEERS overrides it) prints asyncio_* rows with
 * python3 from PATH and uvloop_* rows with the first of python3 in PATH and
 * /usr/bin/python3 that can import uvloop.
 */
#include "rows.h"

#include <coro_aio.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_BATCH 100000
#define TIMER_BATCH 1000000
#define PARKED_TASKS 100000

const char *const bench_aio_metrics[BENCH_AIO_ROWS] = {
    "aio_sleep0_ns",    "aio_handoff_ns",       "aio_spawn_ns",
    "aio_timer_arm_ns", "aio_timer_fire_per_s", "aio_mem_per_task_bytes"};
const char *const bench_aio_units[BENCH_AIO_ROWS] = {"ns", "ns", "ns", "ns", "timers/s", "bytes"};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static coro_aio_loop *new_loop(void)
{
    coro_aio_loop *loop = NULL;
    int rc = coro_aio_loop_new(&loop, NULL);
    if (rc < 0)
        bench_fail("coro_aio_loop_new: %s", coro_aio_last_error());
    return loop;
}

/* Runs fn(arg) as a task on loop to completion; fails the run on error. */
static void run_task(coro_aio_loop *loop, coro_fn fn, void *arg)
{
    coro_aio_future *t = coro_aio_create_task(loop, fn, arg, NULL);
    if (t == NULL)
        bench_fail("create_task: %s", coro_aio_last_error());
    coro_exc e;
    int rc = coro_aio_run_until_complete(loop, t, NULL, &e);
    if (rc != CORO_OK)
        bench_fail("a benchmark task failed: %s %s", rc == CORO_RAISED ? e.type->name : "",
                   rc == CORO_RAISED ? e.message : coro_aio_last_error());
    coro_aio_future_release(t);
}

/* ---- the rows: each returns the seconds its timed part took ------------- */

typedef double (*aio_op)(coro_aio_loop *loop, uint64_t n);

static void *sleep0_body(coro *self, void *arg)
{
    uint64_t n = *(uint64_t *)arg;
    for (uint64_t i = 0; i < n; i++)
        if (coro_aio_sleep(0) != CORO_OK)
            bench_propagate_close(self, CORO_THROWN, "sleep(0)");
    return NULL;
}

static double op_sleep0(coro_aio_loop *loop, uint64_t n)
{
    double t = now_ns();
    run_task(loop, sleep0_body, &n);
    return now_ns() - t;
}

/* One side of the hand-off: n rounds of wait for mine, clear it, set the
 * other's (clearing first, so no wake-up is lost). */
typedef struct handoff_side {
    coro_aio_event *mine, *other;
    uint64_t rounds;
} handoff_side;

static void *handoff_body(coro *self, void *arg)
{
    handoff_side *h = arg;
    for (uint64_t i = 0; i < h->rounds; i++) {
        if (coro_aio_event_wait(h->mine) != CORO_OK)
            bench_propagate_close(self, CORO_THROWN, "Event.wait");
        coro_aio_event_clear(h->mine);
        coro_aio_event_set(h->other);
    }
    return NULL;
}

static void *handoff_main(coro *self, void *arg)
{
    handoff_side *sides = arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    coro_aio_future *a = coro_aio_create_task(loop, handoff_body, &sides[0], NULL);
    coro_aio_future *b = coro_aio_create_task(loop, handoff_body, &sides[1], NULL);
    if (a == NULL || b == NULL)
        bench_fail("create_task: %s", coro_aio_last_error());
    coro_aio_event_set(sides[0].mine); /* side a moves first */
    if (coro_aio_await(a, NULL) != CORO_OK || coro_aio_await(b, NULL) != CORO_OK)
        bench_propagate_close(self, CORO_THROWN, "await");
    coro_aio_future_release(a);
    coro_aio_future_release(b);
    return NULL;
}

/* n rounds of each side: 2n hand-offs, timed as ns per hand-off below. */
static double op_handoff(coro_aio_loop *loop, uint64_t n)
{
    coro_aio_event *ea = NULL, *eb = NULL;
    (void)loop; /* an event binds to the loop of its first waiter, as asyncio's */
    if (coro_aio_event_new(&ea) != CORO_OK || coro_aio_event_new(&eb) != CORO_OK)
        bench_fail("event_new: %s", coro_aio_last_error());
    handoff_side sides[2] = {{ea, eb, n}, {eb, ea, n}};
    double t = now_ns();
    run_task(loop, handoff_main, sides);
    double dt = now_ns() - t;
    coro_aio_event_free(ea);
    coro_aio_event_free(eb);
    return dt / 2; /* two hand-offs per round */
}

static void *return_at_once(coro *self, void *arg)
{
    (void)self;
    return arg;
}

static void *spawn_body(coro *self, void *arg)
{
    uint64_t n = *(uint64_t *)arg;
    coro_aio_loop *loop = coro_aio_get_running_loop();
    /* Tasks run in creation order, so when the last one is done all are
     * (and freed: nothing else holds them). */
    coro_aio_future *last = NULL;
    for (uint64_t i = 0; i < n; i++) {
        coro_aio_future *t = coro_aio_create_task(loop, return_at_once, NULL, NULL);
        if (t == NULL)
            bench_fail("create_task: %s", coro_aio_last_error());
        if (i + 1 < n)
            coro_aio_future_release(t);
        else
            last = t;
    }
    if (coro_aio_await(last, NULL) != CORO_OK)
        bench_propagate_close(self, CORO_THROWN, "await");
    coro_aio_future_release(last);
    return NULL;
}

static double op_spawn(coro_aio_loop *loop, uint64_t n)
{
    double total = 0;
    while (n > 0) {
        uint64_t batch = n < SPAWN_BATCH ? n : SPAWN_BATCH;
        double t = now_ns();
        run_task(loop, spawn_body, &batch);
        total += now_ns() - t;
        n -= batch;
    }
    return total;
}

static void nothing(void *arg)
{
    (void)arg;
}

static coro_aio_handle **handles;

static double op_timer_arm(coro_aio_loop *loop, uint64_t n)
{
    double total = 0;
    while (n > 0) {
        uint64_t batch = n < TIMER_BATCH ? n : TIMER_BATCH;
        double t = now_ns();
        for (uint64_t i = 0; i < batch; i++)
            if (coro_aio_call_later(loop, 3600.0, nothing, NULL, &handles[i]) != CORO_OK)
                bench_fail("call_later: %s", coro_aio_last_error());
        total += now_ns() - t;
        for (uint64_t i = 0; i < batch; i++) {
            coro_aio_handle_cancel(handles[i]);
            coro_aio_handle_release(handles[i]);
        }
        coro_aio_stop(loop); /* one iteration drops the cancelled timers */
        coro_aio_run_forever(loop);
        n -= batch;
    }
    return total;
}

static uint64_t fired;

static void tick(void *arg)
{
    if (++fired == TIMER_BATCH)
        coro_aio_stop(arg);
}

/* Returns timers per second. */
static double timer_fire(coro_aio_loop *loop)
{
    fired = 0;
    for (uint64_t i = 0; i < TIMER_BATCH; i++)
        if (coro_aio_call_later(loop, 0.0, tick, loop, NULL) != CORO_OK)
            bench_fail("call_later: %s", coro_aio_last_error());
    double t = now_ns();
    coro_aio_run_forever(loop);
    double dt = now_ns() - t;
    if (fired != TIMER_BATCH)
        bench_fail("%llu of %d timers fired", (unsigned long long)fired, TIMER_BATCH);
    return TIMER_BATCH / (dt / 1e9);
}

static void *parked_body(coro *self, void *arg)
{
    (void)arg;
    if (coro_aio_sleep(3600.0) != CORO_OK)
        coro_reraise(self); /* cancelled: the task ends cancelled */
    return NULL;
}

static double parked_memory(void)
{
    coro_aio_loop *loop = new_loop();
    long before = bench_rss_bytes();
    coro_aio_future **t = malloc(PARKED_TASKS * sizeof *t);
    if (t == NULL)
        bench_fail("out of memory");
    for (size_t i = 0; i < PARKED_TASKS; i++)
        if ((t[i] = coro_aio_create_task(loop, parked_body, NULL, NULL)) == NULL)
            bench_fail("create_task: %s", coro_aio_last_error());
    coro_aio_stop(loop);
    coro_aio_run_forever(loop); /* one iteration: every task parks */
    long grown = bench_rss_bytes() - before;
    for (size_t i = 0; i < PARKED_TASKS; i++)
        coro_aio_future_cancel(t[i], NULL);
    coro_aio_stop(loop);
    coro_aio_run_forever(loop); /* the cancels reach the tasks */
    coro_aio_stop(loop);
    coro_aio_run_forever(loop);
    for (size_t i = 0; i < PARKED_TASKS; i++) {
        if (!coro_aio_future_cancelled(t[i]))
            bench_fail("a parked task did not end cancelled");
        coro_aio_future_release(t[i]);
    }
    free(t);
    coro_aio_loop_close(loop);
    return (double)grown / PARKED_TASKS;
}

/* Median over cfg->reps of ns per operation, calibrated to min_time. */
static double per_op(coro_aio_loop *loop, aio_op op, const bench_config *cfg)
{
    double min_ns = cfg->min_time * 1e9;
    uint64_t n = 1;
    while (op(loop, n) < min_ns)
        n *= 2;
    double *s = malloc((size_t)cfg->reps * sizeof *s);
    if (s == NULL)
        bench_fail("out of memory");
    for (int i = 0; i < cfg->reps; i++)
        s[i] = op(loop, n) / (double)n;
    double m = median(s, cfg->reps);
    free(s);
    return m;
}

void bench_aio(const bench_config *cfg, const bool *wanted, double *values)
{
    static aio_op const ops[] = {op_sleep0, op_handoff, op_spawn, op_timer_arm};
    handles = malloc(TIMER_BATCH * sizeof *handles);
    if (handles == NULL)
        bench_fail("out of memory");
    coro_aio_loop *loop = new_loop();
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (wanted == NULL || wanted[i])
            values[i] = per_op(loop, ops[i], cfg);
    if (wanted == NULL || wanted[4]) {
        double *s = malloc((size_t)cfg->reps * sizeof *s);
        if (s == NULL)
            bench_fail("out of memory");
        for (int i = 0; i < cfg->reps; i++)
            s[i] = timer_fire(loop);
        values[4] = median(s, cfg->reps);
        free(s);
    }
    coro_aio_loop_close(loop);
    free(handles);
    handles = NULL;
    if (wanted == NULL || wanted[5])
        values[5] = parked_memory();
}

/* ---- peers: aio_peers.py under python3 ---------------------------------- */

#ifndef CORO_BENCH_AIO_PEERS_PY
#define CORO_BENCH_AIO_PEERS_PY "aio_peers.py"
#endif

static const char *const peer_rows[BENCH_AIO_PEER_ROWS] = {
    "sleep0_ns",    "handoff_ns",       "spawn_ns",
    "timer_arm_ns", "timer_fire_per_s", "mem_per_task_bytes"};
static const char *const peer_units[BENCH_AIO_PEER_ROWS] = {"ns", "ns", "ns",
                                                            "ns", "timers/s", "bytes"};

/* Runs argv (argv[0] a path) with stdout to a pipe; returns the read end
 * and the pid, or -1. stderr passes through when `quiet` is false. */
static int spawn_reader(char *const argv[], bool quiet, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0)
        bench_fail("pipe failed: %s", strerror(errno));
    posix_spawn_file_actions_t a;
    posix_spawn_file_actions_init(&a);
    posix_spawn_file_actions_addclose(&a, fds[0]);
    posix_spawn_file_actions_adddup2(&a, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&a, fds[1]);
    if (quiet)
        posix_spawn_file_actions_addopen(&a, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    fflush(NULL);
    int rc = posix_spawn(pid, argv[0], &a, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&a);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    return fds[0];
}

static int wait_status(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail("waitpid failed: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* True when `python` runs and can import uvloop. */
static bool has_uvloop(const char *python)
{
    if (access(python, X_OK) != 0)
        return false;
    char *argv[] = {(char *)python, "-c", "import uvloop", NULL};
    pid_t pid;
    int fd = spawn_reader(argv, true, &pid);
    if (fd < 0)
        return false;
    close(fd);
    return wait_status(pid) == 0;
}

static void skip_peer(const char *kind, const char *why)
{
    fprintf(stderr, "coro-bench: skipped %s_* rows: %s\n", kind, why);
}

bool bench_aio_python(const char *kind, char *python, size_t size, const char **why)
{
    bool have = bench_find_in_path("python3", python, size);
    if (strcmp(kind, "uvloop") == 0) {
        if (!(have && has_uvloop(python))) {
            snprintf(python, size, "/usr/bin/python3");
            if (!has_uvloop(python)) {
                *why = "no python3 in PATH or /usr/bin/python3 can import uvloop "
                       "(Debian: apt-get install python3-uvloop)";
                return false;
            }
        }
    } else if (!have) {
        *why = "no python3 in PATH";
        return false;
    }
    return true;
}

bool bench_aio_peer(const bench_config *cfg, const char *kind, char names[][40],
                    const char **units, double *values)
{
    const char *script = getenv("CORO_BENCH_AIO_PEERS");
    if (script == NULL || *script == '\0')
        script = CORO_BENCH_AIO_PEERS_PY;
    if (access(script, R_OK) != 0) {
        skip_peer(kind, "aio_peers.py not found (set CORO_BENCH_AIO_PEERS to its path)");
        return false;
    }
    char python[4096];
    const char *why = NULL;
    if (!bench_aio_python(kind, python, sizeof python, &why)) {
        skip_peer(kind, why);
        return false;
    }
    char reps[32], min_time[32];
    snprintf(reps, sizeof reps, "%d", cfg->reps);
    snprintf(min_time, sizeof min_time, "%.17g", cfg->min_time);
    char *argv[] = {python, (char *)script, (char *)kind, reps, min_time, NULL};
    pid_t pid;
    int fd = spawn_reader(argv, false, &pid);
    if (fd < 0) {
        skip_peer(kind, "could not run python3");
        return false;
    }
    FILE *from = fdopen(fd, "r");
    if (from == NULL)
        bench_fail("fdopen failed: %s", strerror(errno));
    char line[256];
    size_t got = 0;
    bool ok = true;
    while (fgets(line, sizeof line, from) != NULL) {
        char want[48];
        snprintf(want, sizeof want, "%s_%s\t", kind, got < BENCH_AIO_PEER_ROWS ? peer_rows[got]
                                                                               : "?");
        char *end = NULL;
        double v = 0;
        if (got < BENCH_AIO_PEER_ROWS && strncmp(line, want, strlen(want)) == 0)
            v = strtod(line + strlen(want), &end);
        if (end == NULL || !(v > 0)) {
            fprintf(stderr, "coro-bench: aio_peers.py printed an unexpected line: %s", line);
            ok = false;
            break;
        }
        snprintf(names[got], 40, "%s_%s", kind, peer_rows[got]);
        units[got] = peer_units[got];
        values[got] = v;
        got++;
    }
    fclose(from);
    int status = wait_status(pid);
    if (!ok || status != 0 || got != BENCH_AIO_PEER_ROWS) {
        skip_peer(kind, "aio_peers.py failed");
        return false;
    }
    return true;
}
