/* main.c - the flags demo's command line: serve the flags, or download them one way or both.
 * SPDX-License-Identifier: MIT
 *
 * The asyncio notebook's last cell, offline:
 *
 *     POP20_CC = (' CN IN US ID BR PK NG BD RU JP KR '
 *                 'MX PH VN ET EG DE IR TR CD FR').split()
 *     BASE_URL = 'http://flupy.org/data/flags'
 *     DEST_DIR = 'downloads/'
 *     ...
 *     print('elapsed in {:.2f}s'.format(elapsed))
 *
 * BASE_URL becomes a local server (flags serve, or one started in this
 * process on its own thread); `flags get --sequential` is the version
 * before asyncio, `--concurrent` (the default) the notebook's, `--compare`
 * runs both and prints how many times faster the concurrent one was.
 */
#include "client.h"
#include "flags.h"
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *to)
{
    fputs("usage: flags [get] [--sequential | --concurrent | --compare] [--host H] [--port N]\n"
          "                   [--dir DIR] [--delay MS]\n"
          "       flags serve [--host H] [--port N] [--delay MS]\n"
          "       flags --help\n"
          "\n"
          "get     downloads the 21 flags of the asyncio notebook (CN IN US ID BR PK NG BD\n"
          "        RU JP KR MX PH VN ET EG DE IR TR CD FR) from http://H:N/flags/{cc}/{cc}.gif\n"
          "        into DIR/{cc}.gif, printing each code as its download completes, then\n"
          "        'elapsed in X.XXs'. Without --port it first starts a server in this\n"
          "        process, on its own thread with its own event loop.\n"
          "  --sequential  one request after another on blocking sockets (no event loop)\n"
          "  --concurrent  one task per code on an event loop (the default)\n"
          "  --compare     both, then how many times faster the concurrent one was\n"
          "  --dir DIR     where the files go (default downloads/, made if missing)\n"
          "serve   serves the flags (GIF images made at start-up) until interrupted, and\n"
          "        prints 'serving on http://H:N/flags/' once it listens; 404 for anything else.\n"
          "  --host H      address (default 127.0.0.1)\n"
          "  --port N      port (serve: default 0, a free one; get: the server's)\n"
          "  --delay MS    milliseconds the server waits before each reply (default 100);\n"
          "                an awaited sleep: other connections go on meanwhile\n",
          to);
}

static _Noreturn void bad_usage(const char *what, const char *value)
{
    fprintf(stderr, "flags: %s%s%s%s\n", what, value ? " '" : "", value ? value : "",
            value ? "'" : "");
    fputs("try 'flags --help'\n", stderr);
    exit(2);
}

static long number(const char *opt, const char *s, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long v = s != NULL ? strtol(s, &end, 10) : 0;
    if (s == NULL || errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "%s wants a whole number from %ld to %ld, not", opt, lo, hi);
        bad_usage(what, s != NULL ? s : "(nothing)");
    }
    return v;
}

typedef struct args {
    bool serve;
    int mode; /* 's' sequential, 'c' concurrent, 'b' both */
    const char *host, *dir;
    int port; /* -1: not given */
    long delay_ms;
} args;

static args parse(int argc, char **argv)
{
    args a = {false, 'c', "127.0.0.1", "downloads", -1, 100};
    int i = 1;
    if (i < argc && strcmp(argv[i], "serve") == 0) {
        a.serve = true;
        i++;
    } else if (i < argc && strcmp(argv[i], "get") == 0) {
        i++;
    }
    for (; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (!a.serve && strcmp(o, "--sequential") == 0) {
            a.mode = 's';
        } else if (!a.serve && strcmp(o, "--concurrent") == 0) {
            a.mode = 'c';
        } else if (!a.serve && strcmp(o, "--compare") == 0) {
            a.mode = 'b';
        } else if (strcmp(o, "--host") == 0 && v != NULL) {
            a.host = v;
            i++;
        } else if (!a.serve && strcmp(o, "--dir") == 0 && v != NULL) {
            a.dir = v;
            i++;
        } else if (strcmp(o, "--port") == 0) {
            a.port = (int)number(o, v, a.serve ? 0 : 1, 65535);
            i++;
        } else if (strcmp(o, "--delay") == 0) {
            a.delay_ms = number(o, v, 0, 60000);
            i++;
        } else {
            bad_usage(o[0] == '-' ? "unknown option or missing value:" : "unknown argument", o);
        }
    }
    return a;
}

static void print_listening(int port, void *arg)
{
    const args *a = arg;
    if (port >= 0) {
        printf("serving on http://%s:%d/flags/ (delay %ld ms)\n", a->host, port, a->delay_ms);
        fflush(stdout);
    }
}

static int fail(void)
{
    fprintf(stderr, "flags: %s\n", flags_error());
    return 1;
}

int main(int argc, char **argv)
{
    args a = parse(argc, argv);
    double delay = (double)a.delay_ms / 1000.0;
    if (a.serve)
        return flags_serve(a.host, a.port < 0 ? 0 : a.port, delay, print_listening, &a) == 0
                   ? 0
                   : fail();

    flags_server *srv = NULL;
    if (a.port < 0) {
        if (flags_server_spawn(a.host, 0, delay, &srv) != 0)
            return fail();
        a.port = flags_server_port(srv);
    }
    flags_client_options o = {a.host, a.port, a.dir, stdout};
    double seq = 0, conc = 0;
    int rc = 0;
    if (a.mode != 'c') {
        if (a.mode == 'b')
            printf("sequential:\n");
        rc = flags_download_sequential(&o, &seq);
    }
    if (rc == 0 && a.mode != 's') {
        if (a.mode == 'b')
            printf("concurrent:\n");
        rc = flags_download_concurrent(&o, &conc);
    }
    if (rc == 0 && a.mode == 'b')
        printf("concurrent was %.1fx faster (%.2fs / %.2fs)\n", seq / (conc > 0 ? conc : 1e-9), seq,
               conc);
    flags_server_stop(srv);
    return rc == 0 ? 0 : fail();
}
