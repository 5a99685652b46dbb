/* cpython.c - cpython_send_ns, cpython_yield_from_{1,10,100}_ns, cpython_create_close_ns and
 * cpython_try_raise_ns: Python generators and exceptions, via python3.
 * SPDX-License-Identifier: MIT
 *
 * coro-bench runs `python3 -c SCRIPT REPS MIN_TIME WARMUP`, with python3 looked up
 * in PATH at run time, and reads one "metric<TAB>value" line per row from its
 * stdout. The script measures the Python counterparts of send_ns and the
 * yield_from rows the way the harness measures ours: every row is set up and
 * calibrated first (timeit's count doubled until one repetition lasts at
 * least MIN_TIME seconds), then REPS repetitions go round robin, each after
 * an untimed warm-up run of a quarter of its count when WARMUP is 1 (as the
 * harness does: BENCH_WARMUP_DIVISOR), and the median of nanoseconds per
 * send is reported. Depth means what it means in
 * rows_chain.c: depth 1 is the root plus one sub, and the innermost level
 * is a generator that yields back what it receives.
 *
 * cpython_create_close_ns times a call of a function that creates a
 * generator, runs it to its first yield with next() and closes it (the life
 * create_destroy_pooled_ns measures); cpython_try_raise_ns times a call of a
 * function whose body is `try: raise ValueError('x') except ValueError: pass`
 * (what try_raise_ns measures). Both include one Python function call, as
 * the C rows include one C call of the protected function or the body.
 *
 * The timed statement is `send(1)` with `send` the root's bound send method:
 * the echo and the chain's depth are checked once at setup, not on every
 * send (a check would cost Python bytecode that the C rows' compare does
 * not), so the Python numbers, if anything, flatter Python.
 */
#include "rows.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const bench_cpython_metrics[BENCH_CPYTHON_ROWS] = {
    "cpython_send_ns",           "cpython_yield_from_1_ns", "cpython_yield_from_10_ns",
    "cpython_yield_from_100_ns", "cpython_create_close_ns", "cpython_try_raise_ns"};

/* The metric names and depths must match bench_cpython_metrics, in order. */
static const char script[] =
    "import statistics, sys, timeit\n"
    "reps, min_time = int(sys.argv[1]), float(sys.argv[2])\n"
    "warmup = sys.argv[3] == '1'\n"
    "def echo():\n"
    "    received = yield\n"
    "    while True:\n"
    "        received = yield received\n"
    "def delegate(depth):\n"
    "    return (yield from (echo() if depth == 1 else delegate(depth - 1)))\n"
    "def started(depth):\n"
    "    gen = echo() if depth == 0 else delegate(depth)\n"
    "    below, g = 0, gen\n"
    "    if next(gen) is not None or gen.send(42) != 42:\n"
    "        sys.exit('the echo generator does not echo')\n"
    "    while g.gi_yieldfrom is not None:\n"
    "        below, g = below + 1, g.gi_yieldfrom\n"
    "    if below != depth:\n"
    "        sys.exit(f'a chain of depth {depth} has {below} levels below its root')\n"
    "    return gen\n"
    "def forever():\n"
    "    while True:\n"
    "        yield\n"
    "def life():\n"
    "    g = forever()\n"
    "    next(g)\n"
    "    g.close()\n"
    "def try_raise():\n"
    "    try:\n"
    "        raise ValueError('x')\n"
    "    except ValueError:\n"
    "        pass\n"
    "rows = [('cpython_send_ns', 0), ('cpython_yield_from_1_ns', 1),\n"
    "        ('cpython_yield_from_10_ns', 10), ('cpython_yield_from_100_ns', 100)]\n"
    "timers = [timeit.Timer('send(1)', globals={'send': started(d).send}) for _, d in rows]\n"
    "rows += [('cpython_create_close_ns', None), ('cpython_try_raise_ns', None)]\n"
    "timers += [timeit.Timer('life()', globals={'life': life}),\n"
    "           timeit.Timer('try_raise()', globals={'try_raise': try_raise})]\n"
    "numbers = [1] * len(rows)\n"
    "def run_at_least(i):\n"
    "    while True:\n"
    "        t = timers[i].timeit(numbers[i])\n"
    "        if t >= min_time:\n"
    "            return t\n"
    "        numbers[i] *= 2\n"
    "for i in range(len(rows)):\n"
    "    run_at_least(i)\n"
    "samples = [[] for _ in rows]\n"
    "for _ in range(reps):\n"
    "    for i in range(len(rows)):\n"
    "        if warmup:\n"
    "            timers[i].timeit(max(1, numbers[i] // 4))\n"
    "        samples[i].append(run_at_least(i) / numbers[i] * 1e9)\n"
    "print(f'coro-bench: cpython rows: Python {sys.version.split()[0]} '\n"
    "      f'({sys.executable}), {reps} reps of >= {min_time:g} s per row', file=sys.stderr)\n"
    "for (metric, _), s in zip(rows, samples):\n"
    "    print(f'{metric}\\t{statistics.median(s):.1f}')\n";

bool bench_find_in_path(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    while (*path != '\0') {
        size_t len = strcspn(path, ":");
        const char *dir = len == 0 ? "." : path; /* an empty entry is the cwd */
        int dir_len = len == 0 ? 1 : (int)len;
        int n = snprintf(buf, size, "%.*s/%s", dir_len, dir, name);
        if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

static void skip_all(const char *why)
{
    for (size_t i = 0; i < BENCH_CPYTHON_ROWS; i++)
        fprintf(stderr, "coro-bench: skipped %s: %s\n", bench_cpython_metrics[i], why);
}

/* Reads the script's lines into values, in the order of bench_cpython_metrics;
 * false (with a note) if they are not exactly those rows. */
static bool read_rows(FILE *from, double *values)
{
    char line[256];
    size_t got = 0;
    while (fgets(line, sizeof line, from) != NULL) {
        const char *want = got < BENCH_CPYTHON_ROWS ? bench_cpython_metrics[got] : "";
        size_t len = strlen(want);
        char *end = NULL;
        double v = 0.0;
        if (len > 0 && strncmp(line, want, len) == 0 && line[len] == '\t')
            v = strtod(line + len + 1, &end);
        if (end == NULL || end == line + len + 1 || (*end != '\n' && *end != '\0') ||
            !(v > 0.0)) {
            fprintf(stderr, "coro-bench: python3 printed an unexpected line: %s", line);
            return false;
        }
        values[got++] = v;
    }
    return got == BENCH_CPYTHON_ROWS;
}

bool bench_cpython(const bench_config *cfg, double *values)
{
    char python[4096];
    if (!bench_find_in_path("python3", python, sizeof python)) {
        skip_all("no python3 in PATH");
        return false;
    }
    char reps[32], min_time[32], warmup[2] = {cfg->warmup ? '1' : '0', '\0'};
    snprintf(reps, sizeof reps, "%d", cfg->reps);
    snprintf(min_time, sizeof min_time, "%.17g", cfg->min_time);
    char *argv[] = {python, "-c", (char *)script, reps, min_time, warmup, NULL};

    int fds[2];
    if (pipe(fds) != 0)
        bench_fail("pipe failed: %s", strerror(errno));
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fds[0]) != 0 ||
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fds[1]) != 0)
        bench_fail("posix_spawn_file_actions failed");
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = 0;
    int rc = posix_spawn(&pid, python, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        char why[4200];
        snprintf(why, sizeof why, "could not run %s: %s", python, strerror(rc));
        skip_all(why);
        return false;
    }
    FILE *from = fdopen(fds[0], "r");
    if (from == NULL)
        bench_fail("fdopen failed: %s", strerror(errno));
    bool ok = read_rows(from, values);
    fclose(from);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail("waitpid failed: %s", strerror(errno));
    if (ok && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char why[4200];
    if (!WIFEXITED(status))
        snprintf(why, sizeof why, "%s was killed by signal %d", python,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    else if (WEXITSTATUS(status) != 0)
        snprintf(why, sizeof why, "%s exited with status %d", python, WEXITSTATUS(status));
    else
        snprintf(why, sizeof why, "%s did not print the rows", python);
    skip_all(why);
    return false;
}
