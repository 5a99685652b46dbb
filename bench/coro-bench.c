/* coro-bench.c - the coro-bench command: options, the machine line, and the results table.
 * SPDX-License-Identifier: MIT
 *
 * Prints one row per measured operation: the median, over --reps
 * repetitions of at least --min-time seconds each, of nanoseconds per
 * operation. --tsv prints "metric<TAB>value<TAB>unit" lines and nothing else
 * on stdout; the machine description always goes to stderr.
 *
 * After the library's rows come the peers, for comparison in the same run:
 * other libraries' context switches (rows_peers.c, measured round robin with
 * the library's rows) and CPython's generator send (cpython.c). A peer that
 * is not available is skipped with a note on stderr and prints no row.
 */
#include "rows.h"
#ifdef CORO_BENCH_HAVE_AIO
#include "echo.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define DEFAULT_REPS 7
#define MIN_REPS 5
#define MAX_REPS 1001
#define DEFAULT_MIN_TIME 0.2
#define MIN_MIN_TIME 0.2
#define MAX_MIN_TIME 60.0
#define DEFAULT_ECHO_REPS 3 /* an echo sample lasts seconds: few of them */
#define MAX_ECHO_REPS 101
#define DEFAULT_ECHO_TIME 3.0
#define MIN_ECHO_TIME 0.1
#define MAX_ECHO_TIME 60.0

static const bench_row *const rows[] = {
    &bench_row_swapcontext_pair, &bench_row_ctx_switch_pair,
#ifdef CORO_BENCH_HAVE_NO_FP_SWITCH
    &bench_row_switch_pair_no_fp,
#endif
    &bench_row_next,
    &bench_row_send,
#ifdef CORO_BENCH_HAVE_SHARED_FP
    &bench_row_send_shared_fp,
#endif
    &bench_row_throw_catch,      &bench_row_try_raise,
    &bench_row_makecontext,      &bench_row_create_destroy,
    &bench_row_create_destroy_pooled, &bench_row_spawn_burst,
    &bench_row_spawn_burst_compact, &bench_row_yield_from_1,
    &bench_row_yield_from_10,    &bench_row_yield_from_100,
};

/* rss_per_coroutine_bytes: default coroutines (guarded 256 KiB stacks) alive
 * at once, each run to its first yield. */
#define RSS_SAMPLE 10000
#define ROW_COUNT (sizeof rows / sizeof rows[0])

typedef struct options {
    bool tsv;
    const char *only; /* --only: comma-separated metrics, or NULL for all */
    bench_config cfg;
    int echo_reps;     /* --echo-reps: samples per echo row */
    double echo_time;  /* --echo-time: seconds per echo sample */
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: coro-bench [--tsv] [--reps N] [--min-time S] [--echo-reps N] [--echo-time S]\n"
            "                  [--only M,...] [--no-warmup] [--help]\n"
            "       coro-bench scale N [--compact] [--tsv]\n"
            "       coro-bench cycles N [--compact]   (N pooled create/next/destroy, for strace)\n"
            "       coro-bench stall   the longest pooled life while the stack cache hands\n"
            "                          back an idle burst of 20000 guarded stacks\n"
            "       coro-bench aio [options]   only the aio_* rows, the echo rows, their peers\n"
            "                                  and flags_*\n"
            "       coro-bench echo-client PORT [SECONDS]   the echo client against 127.0.0.1:PORT\n"
            "  --tsv         print metric<TAB>value<TAB>unit lines only\n"
            "  --reps N      repetitions per row, median reported (default %d, at least %d)\n"
            "  --min-time S  seconds each repetition lasts at least (default %.1f, at least "
            "%.1f)\n"
            "  --echo-reps N samples per *_echo_rps row, median reported (default %d, 1 to %d)\n"
            "  --echo-time S seconds per echo sample (default %.0f, %.1f to %.0f)\n"
            "  --only M,...  measure only these metrics of the library's rows, the\n"
            "                Boost.Context and PCL rows, the aio_* rows and the echo\n"
            "                rows (no rss_per_coroutine_bytes, no CPython)\n"
            "  --no-warmup   time each sample cold, right after the previous row's sample\n"
            "Method: rows are set up and calibrated (the count doubled until one run\n"
            "  lasts --min-time), then --reps rounds, one sample of every row per round\n"
            "  (round robin); the median is reported. Each sample, of the library's rows\n"
            "  and of the peers alike (CPython's too), is preceded by an untimed warm-up\n"
            "  run of the same row, a quarter of the sample's iterations, so that it\n"
            "  does not start with the previous row's code and data in the caches.\n"
            "scale: N coroutines alive at once, each run to its first yield\n"
            "  (--compact: compact stacks); prints scale_live and scale_rss_bytes\n"
            "After the library's rows come the peers when available: Boost.Context and PCL\n"
            "  (found at build time) and CPython (python3 in PATH); a missing peer is\n"
            "  skipped with a note on stderr. With libcoro-aio: the aio_* rows, then\n"
            "  asyncio_* (python3 in PATH) and uvloop_* (python3 or /usr/bin/python3\n"
            "  with uvloop) from bench/aio_peers.py, then the flags demo's downloads at a\n"
            "  50 ms server delay (flags_sequential_ms, flags_concurrent_ms).\n"
            "The backend and machine are described on stderr.\n",
            DEFAULT_REPS, MIN_REPS, DEFAULT_MIN_TIME, MIN_MIN_TIME, DEFAULT_ECHO_REPS,
            MAX_ECHO_REPS, DEFAULT_ECHO_TIME, MIN_ECHO_TIME, MAX_ECHO_TIME);
}

static _Noreturn void bad_usage(const char *fmt, ...) CORO_PRINTF(1, 2);

static void bad_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("coro-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(2);
}

static int parse_reps(const char *s)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < MIN_REPS || n > MAX_REPS)
        bad_usage("--reps wants a whole number from 5 to 1001, not '%s'", s);
    return (int)n;
}

static double parse_min_time(const char *s)
{
    char *end = NULL;
    errno = 0;
    double t = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(t >= MIN_MIN_TIME && t <= MAX_MIN_TIME))
        bad_usage("--min-time wants seconds from 0.2 to 60, not '%s'", s);
    return t;
}

static int parse_echo_reps(const char *s)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || n < 1 || n > MAX_ECHO_REPS)
        bad_usage("--echo-reps wants a whole number from 1 to %d, not '%s'", MAX_ECHO_REPS, s);
    return (int)n;
}

static double parse_echo_time(const char *s)
{
    char *end = NULL;
    errno = 0;
    double t = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(t >= MIN_ECHO_TIME && t <= MAX_ECHO_TIME))
        bad_usage("--echo-time wants seconds from %.1f to %.0f, not '%s'", MIN_ECHO_TIME,
                  MAX_ECHO_TIME, s);
    return t;
}

static options parse_args(int argc, char **argv)
{
    options o = {false, NULL, {DEFAULT_REPS, DEFAULT_MIN_TIME, true}, DEFAULT_ECHO_REPS,
                 DEFAULT_ECHO_TIME};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--tsv") == 0) {
            o.tsv = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--no-warmup") == 0) {
            o.cfg.warmup = false;
        } else if (strcmp(a, "--only") == 0) {
            if (i + 1 >= argc)
                bad_usage("%s needs a value", a);
            o.only = argv[++i];
        } else if (strcmp(a, "--echo-reps") == 0 || strcmp(a, "--echo-time") == 0) {
            if (i + 1 >= argc)
                bad_usage("%s needs a value", a);
            if (strcmp(a, "--echo-reps") == 0)
                o.echo_reps = parse_echo_reps(argv[++i]);
            else
                o.echo_time = parse_echo_time(argv[++i]);
        } else if (strcmp(a, "--reps") == 0 || strcmp(a, "--min-time") == 0) {
            if (i + 1 >= argc)
                bad_usage("%s needs a value", a);
            if (strcmp(a, "--reps") == 0)
                o.cfg.reps = parse_reps(argv[++i]);
            else
                o.cfg.min_time = parse_min_time(argv[++i]);
        } else {
            bad_usage("unknown argument '%s'", a);
        }
    }
    return o;
}

/* The first "model name" of /proc/cpuinfo into buf, or "unknown". */
static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        snprintf(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

static void describe_machine(const bench_config *cfg)
{
    struct utsname u;
    const char *machine = uname(&u) == 0 ? u.machine : "unknown";
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    fprintf(stderr,
            "coro-bench: libcoro %s, backend %s, machine %s, cpu %s; %d reps of >= %.3g s "
            "per row, %s\n",
            coro_version_string(), coro_backend_name(), machine, cpu, cfg->reps,
            cfg->min_time, cfg->warmup ? "each after a warm-up run" : "no warm-up");
}

/* Every number coro-bench prints, in the order it prints them. */
#ifdef CORO_BENCH_HAVE_FLAGS
#define FLAGS_RESULTS BENCH_FLAGS_ROWS
#else
#define FLAGS_RESULTS 0
#endif
#ifdef CORO_BENCH_HAVE_AIO
#define AIO_RESULTS (BENCH_AIO_ROWS + 2 * BENCH_AIO_PEER_ROWS + BENCH_ECHO_ROWS + FLAGS_RESULTS)
#else
#define AIO_RESULTS 0
#endif
#define MAX_RESULTS (ROW_COUNT + BENCH_PEER_COUNT + 1 + BENCH_CPYTHON_ROWS + AIO_RESULTS)
typedef struct results {
    size_t n;
    const char *metric[MAX_RESULTS];
    double value[MAX_RESULTS];
    const char *unit[MAX_RESULTS]; /* "ns", "ms" (one decimal), "bytes", "timers/s", "req/s" (none) */
} results;

static void add_result(results *r, const char *metric, double value, const char *unit)
{
    if (r->n == MAX_RESULTS)
        bench_fail("more than %d results", (int)MAX_RESULTS);
    r->metric[r->n] = metric;
    r->value[r->n] = value;
    r->unit[r->n] = unit;
    r->n++;
}

/* The value of `metric` into *value; false if the run has no such row (a
 * skipped peer). */
static bool value_of(const results *r, const char *metric, double *value)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->metric[i], metric) == 0) {
            *value = r->value[i];
            return true;
        }
    return false;
}

static void print_results(const results *r, bool tsv)
{
    if (!tsv)
        printf("%-26s %12s  %s\n", "metric", "value", "unit");
    for (size_t i = 0; i < r->n; i++) {
        int decimals = strcmp(r->unit[i], "ns") == 0 || strcmp(r->unit[i], "ms") == 0 ? 1 : 0;
        if (tsv)
            printf("%s\t%.*f\t%s\n", r->metric[i], decimals, r->value[i], r->unit[i]);
        else
            printf("%-26s %12.*f  %s\n", r->metric[i], decimals, r->value[i], r->unit[i]);
    }
}

/* The ratios docs/benchmarks.md tracks; human output only, and only when
 * both rows exist. at_most: the goal is an upper bound, else a lower one. */
static void print_ratio(const results *r, const char *num, const char *den, bool at_most,
                        double goal)
{
    double n = 0.0, d = 0.0;
    if (!value_of(r, num, &n) || !value_of(r, den, &d))
        return;
    char name[80];
    snprintf(name, sizeof name, "%s / %s", num, den);
    printf("%-48s %7.3f  (goal %s %.2f)\n", name, n / d, at_most ? "<=" : ">=", goal);
}

/* True when `metric` is one of the comma-separated names in `list`. */
static bool listed(const char *list, const char *metric)
{
    size_t len = strlen(metric);
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, metric, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

/* The echo rows whose wanted[i] is set (rows_echo.c). */
static void add_echo_results(results *r, const options *o, const bool *wanted)
{
#ifdef CORO_BENCH_HAVE_AIO
    bench_echo_config ecfg = {o->echo_reps, o->echo_time};
    double values[BENCH_ECHO_ROWS];
    bool have[BENCH_ECHO_ROWS];
    bench_echo(&ecfg, wanted, values, have);
    for (size_t i = 0; i < BENCH_ECHO_ROWS; i++)
        if (have[i])
            add_result(r, bench_echo_metrics[i], values[i], "req/s");
#else
    (void)r;
    (void)o;
    (void)wanted;
#endif
}

/* The event loop: libcoro-aio's rows, then asyncio's and uvloop's, then the
 * echo rows. */
static void add_aio_results(results *r, const options *o)
{
    const bench_config *cfg = &o->cfg;
#ifdef CORO_BENCH_HAVE_AIO
    double aio[BENCH_AIO_ROWS];
    bench_aio(cfg, NULL, aio);
    for (size_t i = 0; i < BENCH_AIO_ROWS; i++)
        add_result(r, bench_aio_metrics[i], aio[i], bench_aio_units[i]);
    static char peer_names[2][BENCH_AIO_PEER_ROWS][40];
    const char *peer_units[BENCH_AIO_PEER_ROWS];
    double peer_values[BENCH_AIO_PEER_ROWS];
    static const char *const kinds[2] = {"asyncio", "uvloop"};
    for (size_t k = 0; k < 2; k++)
        if (bench_aio_peer(cfg, kinds[k], peer_names[k], peer_units, peer_values))
            for (size_t i = 0; i < BENCH_AIO_PEER_ROWS; i++)
                add_result(r, peer_names[k][i], peer_values[i], peer_units[i]);
    bool all[BENCH_ECHO_ROWS];
    for (size_t i = 0; i < BENCH_ECHO_ROWS; i++)
        all[i] = true;
    add_echo_results(r, o, all);
#ifdef CORO_BENCH_HAVE_FLAGS
    double flags[BENCH_FLAGS_ROWS]; /* the flags demo, examples/flags/ */
    bench_flags(cfg, flags);
    for (size_t i = 0; i < BENCH_FLAGS_ROWS; i++)
        add_result(r, bench_flags_metrics[i], flags[i], "ms");
#endif
#else
    (void)r;
    (void)cfg;
    fprintf(stderr, "coro-bench: skipped aio_* rows: libcoro-aio is not built "
                    "(CORO_BUILD_AIO=OFF)\n");
#endif
}

/* --only: just the named rows of the library and context-switch peers
 * (Boost.Context, PCL), measured round robin, then the named aio_* rows,
 * then the named echo rows. */
static void add_only_results(results *r, const options *o)
{
    const bench_config *cfg = &o->cfg;
    const char *only = o->only;
    const bench_row *measured[ROW_COUNT + BENCH_PEER_COUNT];
    size_t n_measured = 0, n_echo = 0, n_aio = 0;
    for (size_t i = 0; i < ROW_COUNT; i++)
        if (listed(only, rows[i]->metric))
            measured[n_measured++] = rows[i];
    for (size_t i = 0; i < BENCH_PEER_COUNT; i++) {
        if (!listed(only, bench_peers[i].metric))
            continue;
        if (bench_peers[i].row == NULL)
            bad_usage("--only names %s, but %s", bench_peers[i].metric, bench_peers[i].missing);
        measured[n_measured++] = bench_peers[i].row;
    }
#ifdef CORO_BENCH_HAVE_AIO
    bool aio[BENCH_AIO_ROWS];
    for (size_t i = 0; i < BENCH_AIO_ROWS; i++)
        n_aio += aio[i] = listed(only, bench_aio_metrics[i]);
    bool echo[BENCH_ECHO_ROWS];
    for (size_t i = 0; i < BENCH_ECHO_ROWS; i++)
        n_echo += echo[i] = listed(only, bench_echo_metrics[i]);
#endif
    if (n_measured == 0 && n_aio == 0 && n_echo == 0)
        bad_usage("--only names no row of coro-bench: '%s'", only);
    if (n_measured > 0) {
        double values[ROW_COUNT + BENCH_PEER_COUNT];
        bench_measure(measured, n_measured, cfg, values);
        coro_stack_pool_trim();
        for (size_t i = 0; i < n_measured; i++)
            add_result(r, measured[i]->metric, values[i], "ns");
    }
#ifdef CORO_BENCH_HAVE_AIO
    if (n_aio > 0) {
        double values[BENCH_AIO_ROWS];
        bench_aio(cfg, aio, values);
        for (size_t i = 0; i < BENCH_AIO_ROWS; i++)
            if (aio[i])
                add_result(r, bench_aio_metrics[i], values[i], bench_aio_units[i]);
    }
    if (n_echo > 0)
        add_echo_results(r, o, echo);
#endif
}

/* The library's rows, the context-switch peers, rss_per_coroutine_bytes,
 * CPython's rows, then the aio rows. */
static void add_library_results(results *r, const options *o)
{
    const bench_config *cfg = &o->cfg;
    /* The library's rows and the peers compiled in, measured round robin. */
    const bench_row *measured[ROW_COUNT + BENCH_PEER_COUNT];
    size_t n_measured = 0;
    for (size_t i = 0; i < ROW_COUNT; i++)
        measured[n_measured++] = rows[i];
    for (size_t i = 0; i < BENCH_PEER_COUNT; i++) {
        if (bench_peers[i].row != NULL)
            measured[n_measured++] = bench_peers[i].row;
        else
            fprintf(stderr, "coro-bench: skipped %s: %s\n", bench_peers[i].metric,
                    bench_peers[i].missing);
    }
    double values[ROW_COUNT + BENCH_PEER_COUNT];
    bench_measure(measured, n_measured, cfg, values);
    coro_stack_pool_trim(); /* every row is torn down: hand the pooled stacks back */

    long live = 0, rss = 0;
    if (bench_scale(RSS_SAMPLE, CORO_STACK_GUARDED, &live, &rss) != CORO_OK || live == 0)
        bench_fail("could not keep %d coroutines alive for rss_per_coroutine_bytes", RSS_SAMPLE);
    double cpython[BENCH_CPYTHON_ROWS];
    bool have_cpython = bench_cpython(cfg, cpython);

    for (size_t i = 0; i < ROW_COUNT; i++)
        add_result(r, measured[i]->metric, values[i], "ns");
    add_result(r, "rss_per_coroutine_bytes", (double)rss / (double)live, "bytes");
    for (size_t i = ROW_COUNT; i < n_measured; i++)
        add_result(r, measured[i]->metric, values[i], "ns");
    for (size_t i = 0; have_cpython && i < BENCH_CPYTHON_ROWS; i++)
        add_result(r, bench_cpython_metrics[i], cpython[i], "ns");
    add_aio_results(r, o);
}

/* A destroy that had to close a coroutine and met an error (docs/semantics.md
 * F1/F2) means a body or the library misbehaved: fail the run. */
static void unraisable(const coro *c, const coro_exc *exc, const char *what, void *udata)
{
    (void)udata;
    bench_fail("%s in '%s': %s", what, coro_name(c),
               exc != NULL ? exc->type->name : "the body ignored GeneratorExit");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "scale") == 0)
        return bench_scale_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "cycles") == 0)
        return bench_cycles_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "stall") == 0)
        return bench_stall_main(argc, argv);
#ifdef CORO_BENCH_HAVE_AIO
    if (argc >= 2 && strcmp(argv[1], "echo-client") == 0)
        return bench_echo_client_main(argc, argv);
#endif
    bool aio_only = argc >= 2 && strcmp(argv[1], "aio") == 0;
    if (aio_only) {
        argv++;
        argc--;
    }
    options o = parse_args(argc, argv);
    describe_machine(&o.cfg);
    coro_set_unraisable_hook(unraisable, NULL);
    /* Rows take turns, seconds apart: with idle hand-back on, one row's
     * cached stacks would idle out during the others and be mapped again
     * inside its next repetition. Steady state means a warm cache. */
    coro_set_stack_cache_idle_ms(0);
    results r = {0};
    if (aio_only)
        add_aio_results(&r, &o);
    else if (o.only != NULL)
        add_only_results(&r, &o);
    else
        add_library_results(&r, &o);

    print_results(&r, o.tsv);
    if (!o.tsv) {
        putchar('\n');
        print_ratio(&r, "send_ns", "swapcontext_pair_ns", true, 1.10);
        print_ratio(&r, "yield_from_100_ns", "yield_from_1_ns", true, 1.50);
        print_ratio(&r, "send_ns", "boost_fcontext_pair_ns", true, 1.50);
        print_ratio(&r, "cpython_send_ns", "send_ns", false, 5.0);
        print_ratio(&r, "cpython_create_close_ns", "create_destroy_pooled_ns", false, 2.0);
        print_ratio(&r, "cpython_try_raise_ns", "try_raise_ns", false, 3.0);
        print_ratio(&r, "send_shared_fp_ns", "boost_fcontext_pair_ns", true, 0.90);
        print_ratio(&r, "uvloop_sleep0_ns", "aio_sleep0_ns", false, 15.0);
        print_ratio(&r, "asyncio_spawn_ns", "aio_spawn_ns", false, 8.0);
        /* On ucontext a round trip through the loop is two swapcontext calls
         * plus the loop: it should cost little more than a send. */
        if (strncmp(coro_backend_name(), "ucontext", 8) == 0)
            print_ratio(&r, "aio_sleep0_ns", "send_ns", true, 1.30);
        /* Echo: within 15% of the bare epoll server and no slower than
         * uvloop; on ucontext, where every switch is two system calls more,
         * within 30% of epoll. */
        if (strncmp(coro_backend_name(), "ucontext", 8) == 0) {
            print_ratio(&r, "aio_echo_rps", "epoll_echo_rps", false, 0.70);
        } else {
            print_ratio(&r, "aio_echo_rps", "epoll_echo_rps", false, 0.85);
            print_ratio(&r, "aio_echo_rps", "uvloop_echo_rps", false, 1.0);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "coro-bench: could not write the results\n");
        return 1;
    }
    return 0;
}
