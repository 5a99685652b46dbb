/* test_aio_flags.c - the flags demo (examples/flags/): GIF images, HTTP heads, the site, the clients.
 * SPDX-License-Identifier: MIT
 *
 * Links the example's own objects. The images are decoded here by an
 * independent LZW decoder and compared pixel by pixel with the design; the
 * HTTP parser is checked against a table of heads; the sequential client
 * runs against a tiny blocking server on a thread of this test (the site's
 * replies, a per-request delay). Loopback only.
 */
#include "check_util.h"

#include "client.h"
#include "flags.h"
#include "http.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Timing bounds are not checked under Valgrind or ThreadSanitizer: their
 * instrumentation makes every step many times slower, so the times say
 * nothing about the loop. The downloads are still checked. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ON_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef ON_VALGRIND
#define ON_VALGRIND() 0
#endif
#if defined(__SANITIZE_THREAD__)
#define ON_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ON_TSAN 1
#endif
#endif
#ifndef ON_TSAN
#define ON_TSAN 0
#endif
#define UNTIMED() (ON_VALGRIND() || ON_TSAN)

/* ------------------------------------------------------------------------ */
/* A GIF decoder (the spec's LZW, written apart from the encoder)           */
/* ------------------------------------------------------------------------ */

typedef struct image {
    int width, height;
    unsigned char palette[256][3];
    int colours;
    unsigned char pixels[FLAGS_GIF_WIDTH * FLAGS_GIF_HEIGHT];
    char error[128];
} image;

static int fail_image(image *im, const char *why)
{
    snprintf(im->error, sizeof im->error, "%s", why);
    return -1;
}

/* Decodes a GIF89a with a global colour table and one image of at most
 * FLAGS_GIF_WIDTH x FLAGS_GIF_HEIGHT pixels; -1 with im->error otherwise. */
static int gif_decode(const unsigned char *b, size_t n, image *im)
{
    if (n < 13 || memcmp(b, "GIF89a", 6) != 0)
        return fail_image(im, "no GIF89a signature");
    int sw = b[6] | b[7] << 8, sh = b[8] | b[9] << 8;
    if (!(b[10] & 0x80))
        return fail_image(im, "no global colour table");
    im->colours = 2 << (b[10] & 7);
    size_t p = 13;
    if (p + 3 * (size_t)im->colours > n)
        return fail_image(im, "short colour table");
    memcpy(im->palette, b + p, 3 * (size_t)im->colours);
    p += 3 * (size_t)im->colours;
    if (p + 11 > n || b[p] != 0x2c)
        return fail_image(im, "no image descriptor");
    int w = b[p + 5] | b[p + 6] << 8, h = b[p + 7] | b[p + 8] << 8;
    if (w != sw || h != sh || w * h > (int)sizeof im->pixels || b[p + 9] != 0)
        return fail_image(im, "unexpected image size or flags");
    im->width = w;
    im->height = h;
    int min = b[p + 10];
    p += 11;
    if (min < 2 || min > 8)
        return fail_image(im, "bad LZW minimum code size");
    static unsigned char data[FLAGS_GIF_MAX];
    size_t dlen = 0;
    while (p < n && b[p] != 0) {
        if (p + 1 + b[p] > n || dlen + b[p] > sizeof data)
            return fail_image(im, "short sub-block");
        memcpy(data + dlen, b + p + 1, b[p]);
        dlen += b[p];
        p += 1 + b[p];
    }
    if (p + 2 != n || b[p] != 0 || b[p + 1] != 0x3b)
        return fail_image(im, "no block terminator and trailer at the end");

    /* The table: prefix code and last byte of each entry. */
    static int prefix[4096];
    static unsigned char suffix[4096], stack[4096];
    const int clear = 1 << min, end = clear + 1;
    int width = min + 1, next = end + 1, prev = -1, out = 0;
    size_t bit = 0;
    for (;;) {
        if (bit + (size_t)width > dlen * 8)
            return fail_image(im, "data ends before the end code");
        int code = 0;
        for (int i = 0; i < width; i++, bit++)
            code |= (data[bit / 8] >> (bit % 8) & 1) << i;
        if (code == clear) {
            width = min + 1;
            next = end + 1;
            prev = -1;
            continue;
        }
        if (code == end)
            break;
        int first, c = code, depth = 0;
        if (prev < 0) {
            if (code >= clear)
                return fail_image(im, "first code after a clear is not a literal");
        } else if (code > next || (code == next && next >= 4096)) {
            return fail_image(im, "code out of the table");
        }
        if (prev >= 0 && code == next) { /* the KwKwK case: prev + prev's first */
            c = prev;
            depth = 1;
        }
        while (c >= clear) {
            stack[depth++] = suffix[c];
            c = prefix[c];
        }
        first = c;
        stack[depth++] = (unsigned char)first;
        if (prev >= 0 && code == next)
            stack[0] = (unsigned char)first;
        for (int i = depth - 1; i >= 0; i--) {
            if (out >= w * h)
                return fail_image(im, "more pixels than the image has");
            im->pixels[out++] = stack[i];
        }
        if (prev >= 0 && next < 4096) {
            prefix[next] = prev;
            suffix[next] = (unsigned char)first;
            next++;
            if (next == 1 << width && width < 12)
                width++;
        }
        prev = code;
    }
    if (out != w * h)
        return fail_image(im, "fewer pixels than the image has");
    return 0;
}

/* The 21 images decode to their designs, with the demo's palette. */
START_TEST(test_gif_decodes_to_design)
{
    int i = _i;
    unsigned char buf[FLAGS_GIF_MAX];
    size_t n = flags_gif_encode(i, buf, sizeof buf);
    ck_assert_uint_gt(n, 0);
    static image im;
    ck_assert_msg(gif_decode(buf, n, &im) == 0, "%s: %s", flags_codes[i], im.error);
    ck_assert_int_eq(im.width, FLAGS_GIF_WIDTH);
    ck_assert_int_eq(im.height, FLAGS_GIF_HEIGHT);
    ck_assert_int_eq(im.colours, FLAGS_COLOURS);
    ck_assert_mem_eq(im.palette, flags_palette, sizeof flags_palette);
    for (int y = 0; y < FLAGS_GIF_HEIGHT; y++)
        for (int x = 0; x < FLAGS_GIF_WIDTH; x++)
            ck_assert_msg(im.pixels[y * FLAGS_GIF_WIDTH + x] == flags_pixel(i, x, y),
                          "%s pixel (%d, %d): %d, design %d", flags_codes[i], x, y,
                          im.pixels[y * FLAGS_GIF_WIDTH + x], flags_pixel(i, x, y));
}
END_TEST

/* The codes, their order, lookups, and that no two flags look alike. */
START_TEST(test_codes_and_designs)
{
    static const char *const seed_order[FLAGS_COUNT] = {"CN", "IN", "US", "ID", "BR", "PK", "NG",
                                                        "BD", "RU", "JP", "KR", "MX", "PH", "VN",
                                                        "ET", "EG", "DE", "IR", "TR", "CD", "FR"};
    for (int i = 0; i < FLAGS_COUNT; i++) {
        ck_assert_str_eq(flags_codes[i], seed_order[i]);
        char lower[3] = {(char)(seed_order[i][0] + 32), (char)(seed_order[i][1] + 32), 0};
        ck_assert_int_eq(flags_index(seed_order[i]), i);
        ck_assert_int_eq(flags_index(lower), i);
        for (int j = 0; j < i; j++) {
            bool same = true;
            for (int y = 0; y < FLAGS_GIF_HEIGHT && same; y++)
                for (int x = 0; x < FLAGS_GIF_WIDTH && same; x++)
                    same = flags_pixel(i, x, y) == flags_pixel(j, x, y);
            ck_assert_msg(!same, "%s and %s look the same", flags_codes[i], flags_codes[j]);
        }
    }
    ck_assert_int_eq(flags_index("XX"), -1);
    ck_assert_int_eq(flags_index("CNN"), -1);
    ck_assert_int_eq(flags_index(""), -1);
    ck_assert_int_eq(flags_index(NULL), -1);
    ck_assert_int_eq(flags_pixel(FLAGS_COUNT, 0, 0), -1);
    ck_assert_int_eq(flags_pixel(0, FLAGS_GIF_WIDTH, 0), -1);
    unsigned char small[FLAGS_GIF_MAX - 1];
    ck_assert_uint_eq(flags_gif_encode(0, small, sizeof small), 0);
    ck_assert_uint_eq(flags_gif_encode(-1, small, FLAGS_GIF_MAX), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* HTTP heads                                                               */
/* ------------------------------------------------------------------------ */

typedef struct request_case {
    const char *head;
    int rc;
    const char *method, *target;
    int minor;
    bool keep_alive;
} request_case;

static const request_case request_cases[] = {
    {"GET /flags/cn/cn.gif HTTP/1.1\r\nHost: x\r\n\r\n", 0, "GET", "/flags/cn/cn.gif", 1, true},
    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "GET", "/", 1, false},
    {"GET / HTTP/1.1\r\nconnection:  Upgrade, CLOSE \r\n\r\n", 0, "GET", "/", 1, false},
    {"GET / HTTP/1.0\r\n\r\n", 0, "GET", "/", 0, false},
    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, "GET", "/", 0, true},
    {"HEAD /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, "HEAD", "/x", 1, true},
    {"GET /\r\n\r\n", -1, NULL, NULL, 0, false},
    {"GET / HTTP/2.0\r\n\r\n", -1, NULL, NULL, 0, false},
    {"GET  HTTP/1.1\r\n\r\n", -1, NULL, NULL, 0, false},
    {"GET / HTTP/1.1\r\nno colon here\r\n\r\n", -1, NULL, NULL, 0, false},
    {"GET / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", -1, NULL, NULL, 0, false},
    {"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", -1, NULL, NULL, 0, false},
    {"\r\n\r\n", -1, NULL, NULL, 0, false},
};

START_TEST(test_http_request_heads)
{
    const request_case *c = &request_cases[_i];
    size_t len = http_head_length(c->head, strlen(c->head));
    ck_assert_uint_eq(len, strlen(c->head));
    http_request req;
    int rc = http_parse_request(c->head, len, &req);
    ck_assert_msg(rc == c->rc, "'%s': rc %d (%s)", c->head, rc, flags_error());
    if (rc != 0) {
        ck_assert_str_ne(flags_error(), "");
        return;
    }
    ck_assert_str_eq(req.method, c->method);
    ck_assert_str_eq(req.target, c->target);
    ck_assert_int_eq(req.minor, c->minor);
    ck_assert_int_eq(req.keep_alive, c->keep_alive);
}
END_TEST

typedef struct response_case {
    const char *head;
    int rc, status;
    long long length;
    bool keep_alive;
} response_case;

static const response_case response_cases[] = {
    {"HTTP/1.1 200 OK\r\nContent-Length: 951\r\n\r\n", 0, 200, 951, true},
    {"HTTP/1.1 404 Not Found\r\nCONTENT-LENGTH:10\r\nConnection: close\r\n\r\n", 0, 404, 10, false},
    {"HTTP/1.0 200 OK\r\n\r\n", 0, 200, -1, false},
    {"HTTP/1.1 204\r\n\r\n", 0, 204, -1, true},
    {"HTTP/1.1 20 OK\r\n\r\n", -1, 0, 0, false},
    {"HTTP/1.1 200OK\r\n\r\n", -1, 0, 0, false},
    {"HTTX/1.1 200 OK\r\n\r\n", -1, 0, 0, false},
    {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", -1, 0, 0, false},
};

START_TEST(test_http_response_heads)
{
    const response_case *c = &response_cases[_i];
    http_response resp;
    int rc = http_parse_response(c->head, strlen(c->head), &resp);
    ck_assert_msg(rc == c->rc, "'%s': rc %d (%s)", c->head, rc, flags_error());
    if (rc != 0)
        return;
    ck_assert_int_eq(resp.status, c->status);
    ck_assert_int_eq(resp.content_length, c->length);
    ck_assert_int_eq(resp.keep_alive, c->keep_alive);
}
END_TEST

START_TEST(test_http_format_and_head_length)
{
    char buf[512];
    size_t n = http_format_request(buf, sizeof buf, "127.0.0.1", 8080, "/flags/fr/fr.gif", false);
    ck_assert_str_eq(buf, "GET /flags/fr/fr.gif HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                          "User-Agent: coro-flags\r\nConnection: close\r\n\r\n");
    ck_assert_uint_eq(n, strlen(buf));
    n = http_format_response(buf, sizeof buf, 404, "text/plain", 10, true);
    ck_assert_str_eq(buf, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 10\r\nConnection: keep-alive\r\n\r\n");
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_uint_eq(http_format_response(buf, 20, 200, "image/gif", 1, true), 0);
    /* the head ends at the first blank line; a partial head is 0 */
    ck_assert_uint_eq(http_head_length("GET / HTTP/1.1\r\n\r\nbody", 22), 18);
    ck_assert_uint_eq(http_head_length("GET / HTTP/1.1\r\n\r", 17), 0);
    ck_assert_uint_eq(http_head_length("", 0), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The site                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct site_case {
    const char *method, *target;
    int status; /* what the reply's status line says */
    int flag;   /* the image served, or -1 */
} site_case;

static const site_case site_cases[] = {
    {"GET", "/flags/cn/cn.gif", 200, 0},
    {"GET", "/flags/kr/kr.gif", 200, 10},
    {"GET", "/flags/fr/fr.gif", 200, 20},
    {"GET", "/flags/CN/CN.gif", 404, -1},
    {"GET", "/flags/xx/xx.gif", 404, -1},
    {"GET", "/flags/cn/in.gif", 404, -1},
    {"GET", "/flags/cn/cn.png", 404, -1},
    {"GET", "/flags/cn/cn.gif?x", 404, -1},
    {"GET", "/", 404, -1},
    {"POST", "/flags/cn/cn.gif", 405, -1},
};

START_TEST(test_site_routes)
{
    const site_case *c = &site_cases[_i];
    static flags_catalog cat;
    flags_catalog_make(&cat);
    http_request req = {.minor = 1, .keep_alive = true};
    snprintf(req.method, sizeof req.method, "%s", c->method);
    snprintf(req.target, sizeof req.target, "%s", c->target);
    flags_reply r;
    flags_site_reply(&cat, &req, &r);
    http_response resp;
    ck_assert_uint_eq(http_head_length(r.head, r.head_len), r.head_len);
    ck_assert_int_eq(http_parse_response(r.head, r.head_len, &resp), 0);
    ck_assert_int_eq(resp.status, c->status);
    ck_assert_int_eq(resp.content_length, (long long)r.body_len);
    ck_assert(r.keep_alive);
    if (c->flag >= 0) {
        ck_assert_ptr_eq(r.body, cat.gif[c->flag]);
        ck_assert_uint_eq(r.body_len, cat.size[c->flag]);
    }
    flags_site_reply(&cat, NULL, &r); /* unparsable: 400 and close */
    ck_assert_int_eq(http_parse_response(r.head, r.head_len, &resp), 0);
    ck_assert_int_eq(resp.status, 400);
    ck_assert(!r.keep_alive && !resp.keep_alive);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A tiny blocking server: one connection at a time, the site's replies     */
/* ------------------------------------------------------------------------ */

typedef struct tiny_server {
    int listen_fd, port;
    double delay; /* seconds before each reply */
    pthread_t thread;
    flags_catalog cat;
    atomic_int connections, requests;
} tiny_server;

static void tiny_serve(tiny_server *ts, int fd)
{
    char buf[HTTP_HEAD_MAX];
    size_t have = 0;
    for (;;) {
        size_t head_len;
        while ((head_len = http_head_length(buf, have)) == 0) {
            if (have == sizeof buf)
                return;
            ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        http_request req;
        flags_reply reply;
        bool ok = http_parse_request(buf, head_len, &req) == 0;
        flags_site_reply(&ts->cat, ok ? &req : NULL, &reply);
        atomic_fetch_add(&ts->requests, 1);
        if (ts->delay > 0) {
            struct timespec d = {0, (long)(ts->delay * 1e9)};
            nanosleep(&d, NULL);
        }
        if (send(fd, reply.head, reply.head_len, MSG_NOSIGNAL) != (ssize_t)reply.head_len ||
            send(fd, reply.body, reply.body_len, MSG_NOSIGNAL) != (ssize_t)reply.body_len ||
            !reply.keep_alive)
            return;
        memmove(buf, buf + head_len, have - head_len);
        have -= head_len;
    }
}

static void *tiny_run(void *arg)
{
    tiny_server *ts = arg;
    for (;;) {
        int fd = accept(ts->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL; /* shut down */
        atomic_fetch_add(&ts->connections, 1);
        tiny_serve(ts, fd);
        close(fd);
    }
}

static void tiny_start(tiny_server *ts, double delay)
{
    memset(ts, 0, sizeof *ts);
    ts->delay = delay;
    flags_catalog_make(&ts->cat);
    ts->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(ts->listen_fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(ts->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(ts->listen_fd, 16), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(ts->listen_fd, (struct sockaddr *)&a, &len), 0);
    ts->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&ts->thread, NULL, tiny_run, ts), 0);
}

static void tiny_stop(tiny_server *ts)
{
    shutdown(ts->listen_fd, SHUT_RDWR); /* accept returns: the thread ends */
    pthread_join(ts->thread, NULL);
    close(ts->listen_fd);
}

/* ------------------------------------------------------------------------ */
/* Checking a download: the folder, the printed lines                       */
/* ------------------------------------------------------------------------ */

/* A fresh folder under /tmp, removed by remove_dir. */
static void make_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/coro-flags-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    for (int i = 0; i < FLAGS_COUNT; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%c%c.gif", dir, flags_codes[i][0] + 32,
                 flags_codes[i][1] + 32);
        unlink(path);
    }
    rmdir(dir);
}

/* Every {cc}.gif in dir is byte for byte the catalog's image. */
static void check_files(const char *dir, const flags_catalog *cat)
{
    for (int i = 0; i < FLAGS_COUNT; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%c%c.gif", dir, flags_codes[i][0] + 32,
                 flags_codes[i][1] + 32);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "%s missing", path);
        unsigned char buf[FLAGS_GIF_MAX + 1];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ck_assert_uint_eq(n, cat->size[i]);
        ck_assert_mem_eq(buf, cat->gif[i], n);
    }
}

/* The output is FLAGS_COUNT lines of codes, each code once (in the list's
 * order when `in_order`), then the notebook's "elapsed in X.XXs" line;
 * returns the seconds that line says. */
static double check_output(const char *out, bool in_order)
{
    int seen[FLAGS_COUNT] = {0};
    const char *p = out;
    for (int k = 0; k < FLAGS_COUNT; k++) {
        const char *nl = strchr(p, '\n');
        ck_assert_msg(nl != NULL && nl - p == 2, "line %d of '%s' is not a code", k + 1, out);
        char cc[3] = {p[0], p[1], 0};
        int i = flags_index(cc);
        ck_assert_msg(i >= 0 && cc[0] >= 'A' && cc[0] <= 'Z', "'%s' is not a code", cc);
        ck_assert_msg(seen[i]++ == 0, "%s printed twice", cc);
        if (in_order)
            ck_assert_int_eq(i, k);
        p = nl + 1;
    }
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "^elapsed in [0-9]+\\.[0-9]{2}s\n$", REG_EXTENDED), 0);
    int m = regexec(&re, p, 0, NULL, 0);
    regfree(&re);
    ck_assert_msg(m == 0, "last line '%s' is not 'elapsed in X.XXs'", p);
    return strtod(p + strlen("elapsed in "), NULL);
}

/* Runs a downloader with its output captured; returns the output (free it). */
static char *run_download(int (*download)(const flags_client_options *, double *), int port,
                          const char *dir, double *elapsed)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    flags_client_options o = {"127.0.0.1", port, dir, out};
    int rc = download(&o, elapsed);
    fclose(out);
    ck_assert_msg(rc == 0, "download: %s", flags_error());
    return text;
}

/* The sequential client against the tiny server: 21 files identical to the
 * images, the codes in order, the elapsed line; one connection each. */
START_TEST(test_sequential_downloads)
{
    static tiny_server ts;
    tiny_start(&ts, 0);
    char dir[64];
    make_dir(dir, sizeof dir);
    double elapsed = -1;
    char *text = run_download(flags_download_sequential, ts.port, dir, &elapsed);
    tiny_stop(&ts);
    check_files(dir, &ts.cat);
    remove_dir(dir);
    double printed = check_output(text, true);
    free(text);
    ck_assert(elapsed >= 0 && printed >= 0);
    ck_assert_double_eq_tol(printed, elapsed, 0.006);
    ck_assert_int_eq(atomic_load(&ts.connections), FLAGS_COUNT);
    ck_assert_int_eq(atomic_load(&ts.requests), FLAGS_COUNT);
}
END_TEST

/* A delay per request adds up when the requests go one after another. */
START_TEST(test_sequential_sums_delays)
{
    static tiny_server ts;
    tiny_start(&ts, 0.01);
    double elapsed = -1;
    char *text = run_download(flags_download_sequential, ts.port, NULL, &elapsed);
    tiny_stop(&ts);
    check_output(text, true);
    free(text);
    ck_assert_msg(elapsed >= FLAGS_COUNT * 0.01, "%.3f s", elapsed);
}
END_TEST

/* Keep-alive: several requests on one connection, a 404 among them, and the
 * connection stays usable; "Connection: close" ends it. */
START_TEST(test_blocking_keep_alive_and_404)
{
    static tiny_server ts;
    tiny_start(&ts, 0);
    int fd = flags_connect("127.0.0.1", ts.port);
    ck_assert_msg(fd >= 0, "%s", flags_error());
    static const char *const targets[] = {"/flags/cn/cn.gif", "/flags/zz/zz.gif",
                                          "/flags/kr/kr.gif", "/nothing"};
    static const int statuses[] = {200, 404, 200, 404};
    static const int flag[] = {0, -1, 10, -1};
    for (int k = 0; k < 4; k++) {
        unsigned char body[FLAGS_GIF_MAX];
        size_t len = 0;
        int status = 0;
        ck_assert_msg(flags_get(fd, "127.0.0.1", ts.port, targets[k], true, body, sizeof body, &len,
                                &status) == 0,
                      "%s: %s", targets[k], flags_error());
        ck_assert_int_eq(status, statuses[k]);
        if (flag[k] >= 0) {
            ck_assert_uint_eq(len, ts.cat.size[flag[k]]);
            ck_assert_mem_eq(body, ts.cat.gif[flag[k]], len);
        }
    }
    unsigned char body[FLAGS_GIF_MAX];
    size_t len = 0;
    int status = 0;
    ck_assert_int_eq(flags_get(fd, "127.0.0.1", ts.port, "/flags/fr/fr.gif", false, body,
                               sizeof body, &len, &status),
                     0);
    ck_assert_int_eq(status, 200);
    /* the server closed after the "close" request: the next one fails */
    ck_assert_int_eq(flags_get(fd, "127.0.0.1", ts.port, "/flags/fr/fr.gif", true, body,
                               sizeof body, &len, &status),
                     -1);
    close(fd);
    tiny_stop(&ts);
    ck_assert_int_eq(atomic_load(&ts.connections), 1);
    ck_assert_int_eq(atomic_load(&ts.requests), 5);
}
END_TEST

/* A refused connection and a 404 are errors with a clear text. */
START_TEST(test_client_errors)
{
    /* a port nobody listens on: bind one, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    flags_client_options o = {"127.0.0.1", ntohs(a.sin_port), NULL, NULL};
    ck_assert_int_eq(flags_download_sequential(&o, NULL), -1);
    ck_assert_msg(strstr(flags_error(), "Connection refused") != NULL, "%s", flags_error());

    ck_assert_int_eq(flags_save(&o, 3, 404, NULL, 0), -1);
    ck_assert_str_eq(flags_error(), "ID: HTTP status 404");
    o.dir = "/nonexistent-dir/sub";
    ck_assert_int_eq(flags_make_dir(o.dir), -1);
    ck_assert_msg(strstr(flags_error(), "make folder /nonexistent-dir/sub") != NULL, "%s",
                  flags_error());
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The streams server and the concurrent client                             */
/* ------------------------------------------------------------------------ */

static flags_server *spawn(double delay)
{
    flags_server *srv = NULL;
    ck_assert_msg(flags_server_spawn("127.0.0.1", 0, delay, &srv) == 0, "spawn: %s", flags_error());
    ck_assert_int_gt(flags_server_port(srv), 0);
    return srv;
}

/* One task per code: the 21 files are the server's images byte for byte,
 * each code printed once, then the elapsed line. */
START_TEST(test_concurrent_downloads)
{
    flags_server *srv = spawn(0);
    char dir[64];
    make_dir(dir, sizeof dir);
    double elapsed = -1;
    char *text = run_download(flags_download_concurrent, flags_server_port(srv), dir, &elapsed);
    check_files(dir, flags_server_catalog(srv));
    remove_dir(dir);
    double printed = check_output(text, false);
    free(text);
    ck_assert_double_eq_tol(printed, elapsed, 0.006);
    ck_assert_int_eq(flags_server_requests(srv), FLAGS_COUNT);
    ck_assert_int_eq(flags_server_connections(srv), FLAGS_COUNT);
    flags_server_stop(srv);
}
END_TEST

/* The sequential client gets the same bytes from the streams server. */
START_TEST(test_sequential_against_streams_server)
{
    flags_server *srv = spawn(0);
    char dir[64];
    make_dir(dir, sizeof dir);
    char *text = run_download(flags_download_sequential, flags_server_port(srv), dir, NULL);
    check_files(dir, flags_server_catalog(srv));
    remove_dir(dir);
    check_output(text, true);
    free(text);
    flags_server_stop(srv);
}
END_TEST

/* With a 50 ms delay per request: sequential pays it 21 times, concurrent
 * about once (the server's sleeps are awaited, so they overlap). A run on a
 * busy machine can be slow by accident: up to three runs, one must meet
 * every bound. Under Valgrind and TSan only the downloads are checked. */
START_TEST(test_concurrent_beats_sequential)
{
    const double delay = 0.05;
    char runs[512] = "";
    bool met = false;
    for (int k = 0; k < 3 && !met; k++) {
        double seq = -1, conc = -1;
        ck_assert_msg(flags_compare(delay, &seq, &conc) == 0, "compare: %s", flags_error());
        size_t n = strlen(runs);
        snprintf(runs + n, sizeof runs - n, " [sequential %.3f s, concurrent %.3f s]", seq, conc);
        met = UNTIMED() || (conc < seq / 4 && conc <= 0.080 && seq >= 18 * delay);
    }
    ck_assert_msg(met,
                  "want concurrent < sequential / 4, concurrent <= 80 ms, sequential >= "
                  "900 ms; got%s",
                  runs);
}
END_TEST

/* Keep-alive on the streams server: several requests on one connection,
 * 404 for unknown codes and paths, the right image for known ones. */
START_TEST(test_server_keep_alive_and_404)
{
    flags_server *srv = spawn(0);
    const flags_catalog *cat = flags_server_catalog(srv);
    int port = flags_server_port(srv);
    int fd = flags_connect("127.0.0.1", port);
    ck_assert_msg(fd >= 0, "%s", flags_error());
    static const char *const targets[] = {
        "/flags/de/de.gif", "/flags/zz/zz.gif", "/flags/fr/fr.gif", "/flags/DE/DE.gif", "/",
        "/flags/cn/cn.gif"};
    static const int statuses[] = {200, 404, 200, 404, 404, 200};
    static const int flag[] = {16, -1, 20, -1, -1, 0};
    for (int k = 0; k < 6; k++) {
        unsigned char body[FLAGS_GIF_MAX];
        size_t len = 0;
        int status = 0;
        ck_assert_msg(flags_get(fd, "127.0.0.1", port, targets[k], true, body, sizeof body, &len,
                                &status) == 0,
                      "%s: %s", targets[k], flags_error());
        ck_assert_int_eq(status, statuses[k]);
        if (flag[k] >= 0) {
            ck_assert_uint_eq(len, cat->size[flag[k]]);
            ck_assert_mem_eq(body, cat->gif[flag[k]], len);
        }
    }
    close(fd);
    ck_assert_int_eq(flags_server_connections(srv), 1);
    ck_assert_int_eq(flags_server_requests(srv), 6);
    flags_server_stop(srv);
}
END_TEST

/* A request that is not HTTP gets 400 and the connection closes. */
START_TEST(test_server_bad_request)
{
    flags_server *srv = spawn(0);
    int fd = flags_connect("127.0.0.1", flags_server_port(srv));
    ck_assert_int_ge(fd, 0);
    static const char junk[] = "HELLO\r\n\r\n";
    ck_assert_int_eq(send(fd, junk, sizeof junk - 1, 0), (ssize_t)(sizeof junk - 1));
    char buf[512];
    size_t have = 0;
    ssize_t r;
    while ((r = recv(fd, buf + have, sizeof buf - 1 - have, 0)) > 0)
        have += (size_t)r; /* until the server closes */
    buf[have] = '\0';
    close(fd);
    ck_assert_msg(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "Connection: close\r\n"));
    flags_server_stop(srv);
}
END_TEST

/* While one connection waits out a long delay, others are served: the
 * delay is an awaited sleep, not a blocking one. */
START_TEST(test_delay_does_not_block_others)
{
    flags_server *srv = spawn(0.3);
    int port = flags_server_port(srv);
    int slow = flags_connect("127.0.0.1", port);
    ck_assert_int_ge(slow, 0);
    char req[256];
    size_t n = http_format_request(req, sizeof req, "127.0.0.1", port, "/flags/jp/jp.gif", true);
    ck_assert_int_eq(send(slow, req, n, 0), (ssize_t)n); /* its reply comes in 0.3 s */
    double t0 = flags_now();
    flags_client_options o = {"127.0.0.1", port, NULL, NULL};
    double elapsed = -1;
    ck_assert_msg(flags_download_concurrent(&o, &elapsed) == 0, "%s", flags_error());
    double t = flags_now() - t0;
    /* 21 more requests, 0.3 s each, all overlapping the slow one */
    ck_assert_msg(UNTIMED() || t < 2 * 0.3, "took %.3f s", t);
    unsigned char body[FLAGS_GIF_MAX];
    size_t len = 0;
    int status = 0;
    ck_assert_int_eq(flags_get(slow, "127.0.0.1", port, "/flags/jp/jp.gif", true, body, sizeof body,
                               &len, &status),
                     0);
    ck_assert_int_eq(status, 200);
    close(slow);
    flags_server_stop(srv);
}
END_TEST

/* Failures are reported, not crashes: a refused connection names the code
 * and the exception; a port in use and bad options fail the spawn. */
START_TEST(test_streams_errors)
{
    flags_server *srv = spawn(0);
    int port = flags_server_port(srv);
    flags_server *again = NULL;
    ck_assert_int_eq(flags_server_spawn("127.0.0.1", port, 0, &again), -1);
    ck_assert_msg(strstr(flags_error(), "listen on 127.0.0.1:") != NULL, "%s", flags_error());
    flags_server_stop(srv); /* now nothing listens on port */
    flags_client_options o = {"127.0.0.1", port, NULL, NULL};
    ck_assert_int_eq(flags_download_concurrent(&o, NULL), -1);
    ck_assert_msg(strstr(flags_error(), "CN: ConnectionRefusedError") != NULL, "%s", flags_error());
    ck_assert_int_eq(flags_server_spawn("127.0.0.1", 70000, 0, &again), -1);
    ck_assert_str_eq(flags_error(), "port 70000 is not from 0 to 65535");
    ck_assert_int_eq(flags_server_spawn("127.0.0.1", 0, -1, &again), -1);
    ck_assert_str_eq(flags_error(), "delay -1 s is not from 0 to 60");
    flags_server_stop(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("aio_flags");
    TCase *tc = tcase_create("flags");
    tcase_set_timeout(tc, 30); /* the timing test may run flags_compare three times */
    tcase_add_loop_test(tc, test_gif_decodes_to_design, 0, FLAGS_COUNT);
    tcase_add_test(tc, test_codes_and_designs);
    tcase_add_loop_test(tc, test_http_request_heads, 0,
                        (int)(sizeof request_cases / sizeof request_cases[0]));
    tcase_add_loop_test(tc, test_http_response_heads, 0,
                        (int)(sizeof response_cases / sizeof response_cases[0]));
    tcase_add_test(tc, test_http_format_and_head_length);
    tcase_add_loop_test(tc, test_site_routes, 0, (int)(sizeof site_cases / sizeof site_cases[0]));
    tcase_add_test(tc, test_sequential_downloads);
    tcase_add_test(tc, test_sequential_sums_delays);
    tcase_add_test(tc, test_blocking_keep_alive_and_404);
    tcase_add_test(tc, test_client_errors);
    tcase_add_test(tc, test_concurrent_downloads);
    tcase_add_test(tc, test_sequential_against_streams_server);
    tcase_add_test(tc, test_concurrent_beats_sequential);
    tcase_add_test(tc, test_server_keep_alive_and_404);
    tcase_add_test(tc, test_server_bad_request);
    tcase_add_test(tc, test_delay_does_not_block_others);
    tcase_add_test(tc, test_streams_errors);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
