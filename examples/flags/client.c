/* client.c - the flags demo's sequential downloader, on plain blocking sockets (no event loop).
 * SPDX-License-Identifier: MIT
 *
 * The notebook's starting point before asyncio: for each code, connect,
 * send GET, read the whole reply, save the file, print the code, next.
 * Every request waits for the one before, so the total is the sum of the
 * server's delays.
 */
/* Built with _GNU_SOURCE (getaddrinfo and struct timeval under -std=c11). */
#include "client.h"

#include "flags.h"
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

double flags_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int flags_connect(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0)
        return flags_fail("resolve %s: %s", host, gai_strerror(gai));
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return flags_fail("connect to %s:%d: %s", host, port, strerror(err));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return flags_fail("send: %s", w < 0 ? strerror(errno) : "nothing sent");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int flags_get(int fd, const char *host, int port, const char *target, bool keep_alive,
              unsigned char *body, size_t cap, size_t *len, int *status)
{
    char req[512];
    size_t n = http_format_request(req, sizeof req, host, port, target, keep_alive);
    if (n == 0)
        return flags_fail("request for '%s' too long", target);
    if (send_all(fd, req, n) != 0)
        return -1;
    /* The head, a chunk at a time; what comes after it is the body's start
     * (the server sends nothing this client has not asked for). */
    char head[HTTP_HEAD_MAX];
    size_t have = 0, head_len = 0;
    while ((head_len = http_head_length(head, have)) == 0) {
        if (have == sizeof head)
            return flags_fail("response head longer than %d bytes", HTTP_HEAD_MAX);
        ssize_t r = recv(fd, head + have, sizeof head - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return flags_fail("receive: %s", strerror(errno));
        if (r == 0)
            return flags_fail("connection closed before the response head ended");
        have += (size_t)r;
    }
    http_response resp;
    if (http_parse_response(head, head_len, &resp) != 0)
        return -1;
    if (resp.content_length < 0)
        return flags_fail("response without Content-Length");
    if ((unsigned long long)resp.content_length > cap)
        return flags_fail("body of %lld bytes, room for %zu", resp.content_length, cap);
    size_t want = (size_t)resp.content_length, got = have - head_len;
    if (got > want)
        return flags_fail("%zu bytes more than Content-Length", got - want);
    memcpy(body, head + head_len, got);
    while (got < want) {
        ssize_t r = recv(fd, body + got, want - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return flags_fail("body: %zu of %zu bytes, then %s", got, want,
                              r < 0 ? strerror(errno) : "end of stream");
        got += (size_t)r;
    }
    *len = want;
    *status = resp.status;
    return 0;
}

int flags_save(const flags_client_options *o, int index, int status, const unsigned char *body,
               size_t len)
{
    const char *cc = flags_codes[index];
    if (status != 200)
        return flags_fail("%s: HTTP status %d", cc, status);
    if (o->dir != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%c%c.gif", o->dir, cc[0] - 'A' + 'a', cc[1] - 'A' + 'a');
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            return flags_fail("%s: open %s: %s", cc, path, strerror(errno));
        size_t w = fwrite(body, 1, len, f);
        if (fclose(f) != 0 || w != len)
            return flags_fail("%s: write %s: %s", cc, path, strerror(errno));
    }
    if (o->out != NULL) {
        fprintf(o->out, "%s\n", cc);
        fflush(o->out);
    }
    return 0;
}

int flags_make_dir(const char *dir)
{
    if (dir != NULL && mkdir(dir, 0777) != 0 && errno != EEXIST)
        return flags_fail("make folder %s: %s", dir, strerror(errno));
    return 0;
}

int flags_download_sequential(const flags_client_options *o, double *elapsed)
{
    if (flags_make_dir(o->dir) != 0)
        return -1;
    double t0 = flags_now();
    for (int i = 0; i < FLAGS_COUNT; i++) {
        char path[32];
        flags_path(i, path, sizeof path);
        int fd = flags_connect(o->host, o->port);
        if (fd < 0)
            return -1;
        unsigned char body[FLAGS_GIF_MAX];
        size_t len = 0;
        int status = 0;
        int rc = flags_get(fd, o->host, o->port, path, false, body, sizeof body, &len, &status);
        close(fd);
        if (rc != 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", flags_error());
            return flags_fail("%s: %s", flags_codes[i], why);
        }
        if (flags_save(o, i, status, body, len) != 0)
            return -1;
    }
    double t = flags_now() - t0;
    if (o->out != NULL)
        fprintf(o->out, "elapsed in %.2fs\n", t);
    if (elapsed != NULL)
        *elapsed = t;
    return 0;
}
