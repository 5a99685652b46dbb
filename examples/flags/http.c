/* http.c - a minimal HTTP/1.1 for the flags demo: request and response heads, parsed and formatted.
 * SPDX-License-Identifier: MIT
 */
#include "http.h"

#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t http_head_length(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* One line of a head: [p, end) without its "\r\n". */
typedef struct line {
    const char *p, *end;
} line;

/* The next line of the head [*at, stop); false at the blank line or when no
 * "\r\n" is left. */
static bool next_line(const char **at, const char *stop, line *out)
{
    const char *p = *at;
    for (const char *q = p; q + 1 < stop; q++) {
        if (q[0] == '\r' && q[1] == '\n') {
            *at = q + 2;
            out->p = p;
            out->end = q;
            return q != p;
        }
    }
    return false;
}

static bool equal_nocase(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
    return true;
}

/* True when the comma-separated token list [p, end) holds `token`. */
static bool has_token(const char *p, const char *end, const char *token)
{
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *t = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > t && equal_nocase(t, (size_t)(e - t), token))
            return true;
    }
    return false;
}

/* The headers both kinds of head care about. */
typedef struct headers {
    long long content_length; /* -1: none */
    bool close, keep_alive;   /* the Connection tokens seen */
} headers;

static int parse_headers(const char *at, const char *stop, headers *h)
{
    h->content_length = -1;
    h->close = h->keep_alive = false;
    line l;
    while (next_line(&at, stop, &l)) {
        const char *colon = memchr(l.p, ':', (size_t)(l.end - l.p));
        if (colon == NULL || colon == l.p)
            return flags_fail("malformed header line '%.*s'", (int)(l.end - l.p), l.p);
        const char *v = colon + 1, *ve = l.end;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t name_len = (size_t)(colon - l.p);
        if (equal_nocase(l.p, name_len, "content-length")) {
            char digits[24];
            size_t n = (size_t)(ve - v);
            if (n == 0 || n >= sizeof digits)
                return flags_fail("bad Content-Length '%.*s'", (int)n, v);
            memcpy(digits, v, n);
            digits[n] = '\0';
            char *end = NULL;
            errno = 0;
            long long cl = strtoll(digits, &end, 10);
            if (errno != 0 || *end != '\0' || cl < 0 || !isdigit((unsigned char)digits[0]))
                return flags_fail("bad Content-Length '%s'", digits);
            h->content_length = cl;
        } else if (equal_nocase(l.p, name_len, "connection")) {
            h->close = h->close || has_token(v, ve, "close");
            h->keep_alive = h->keep_alive || has_token(v, ve, "keep-alive");
        }
    }
    return 0;
}

/* "HTTP/1.x" at p: its minor version, or -1. */
static int http_version(const char *p, const char *end)
{
    if (end - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)p[7]))
        return -1;
    return p[7] - '0';
}

int http_parse_request(const char *head, size_t len, http_request *req)
{
    const char *at = head, *stop = head + len;
    line l;
    if (!next_line(&at, stop, &l))
        return flags_fail("empty request");
    /* method SP target SP version */
    const char *sp1 = memchr(l.p, ' ', (size_t)(l.end - l.p));
    const char *sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(l.end - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == l.p || sp2 == sp1 + 1)
        return flags_fail("malformed request line '%.*s'", (int)(l.end - l.p), l.p);
    size_t mlen = (size_t)(sp1 - l.p), tlen = (size_t)(sp2 - sp1 - 1);
    if (mlen >= sizeof req->method || tlen >= sizeof req->target)
        return flags_fail("request line too long");
    req->minor = http_version(sp2 + 1, l.end);
    if (req->minor < 0)
        return flags_fail("not an HTTP/1.x request: '%.*s'", (int)(l.end - l.p), l.p);
    memcpy(req->method, l.p, mlen);
    req->method[mlen] = '\0';
    memcpy(req->target, sp1 + 1, tlen);
    req->target[tlen] = '\0';
    headers h;
    if (parse_headers(at, stop, &h) != 0)
        return -1;
    req->keep_alive = req->minor >= 1 ? !h.close : h.keep_alive && !h.close;
    return 0;
}

int http_parse_response(const char *head, size_t len, http_response *resp)
{
    const char *at = head, *stop = head + len;
    line l;
    if (!next_line(&at, stop, &l))
        return flags_fail("empty response");
    /* version SP 3DIGIT SP reason */
    int minor = l.end - l.p >= 12 ? http_version(l.p, l.p + 8) : -1;
    if (minor < 0 || l.p[8] != ' ' || !isdigit((unsigned char)l.p[9]) ||
        !isdigit((unsigned char)l.p[10]) || !isdigit((unsigned char)l.p[11]) ||
        (l.end - l.p > 12 && l.p[12] != ' '))
        return flags_fail("malformed status line '%.*s'", (int)(l.end - l.p), l.p);
    resp->status = (l.p[9] - '0') * 100 + (l.p[10] - '0') * 10 + (l.p[11] - '0');
    headers h;
    if (parse_headers(at, stop, &h) != 0)
        return -1;
    resp->content_length = h.content_length;
    resp->keep_alive = minor >= 1 ? !h.close : h.keep_alive && !h.close;
    return 0;
}

static size_t fitted(int n, size_t size) { return n > 0 && (size_t)n < size ? (size_t)n : 0; }

size_t http_format_request(char *buf, size_t size, const char *host, int port, const char *target,
                           bool keep_alive)
{
    int n = snprintf(buf, size,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: coro-flags\r\n"
                     "Connection: %s\r\n\r\n",
                     target, host, port, keep_alive ? "keep-alive" : "close");
    return fitted(n, size);
}

size_t http_format_response(char *buf, size_t size, int status, const char *content_type,
                            size_t content_length, bool keep_alive)
{
    int n = snprintf(buf, size,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: %s\r\n\r\n",
                     status, http_reason(status), content_type, content_length,
                     keep_alive ? "keep-alive" : "close");
    return fitted(n, size);
}

const char *http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Unknown";
    }
}
