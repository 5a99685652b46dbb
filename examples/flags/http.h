/* http.h - a minimal HTTP/1.1 for the flags demo: request and response heads, parsed and formatted.
 * SPDX-License-Identifier: MIT
 *
 * Only what the demo needs: GET, a status line, headers, a Content-Length
 * body, keep-alive. No chunked encoding, no pipelining. The functions work
 * on bytes already read, so the blocking client and the streams server and
 * client share them.
 */
#ifndef FLAGS_HTTP_H
#define FLAGS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/** The longest head (request or status line plus headers) accepted. */
#define HTTP_HEAD_MAX 4096

/** A parsed request head. */
typedef struct http_request {
    char method[16];
    char target[256]; /* the request target, "/flags/cn/cn.gif" */
    int minor;        /* HTTP/1.<minor> */
    bool keep_alive;  /* 1.1 unless "Connection: close"; 1.0 only with "keep-alive" */
} http_request;

/** A parsed response head. */
typedef struct http_response {
    int status;               /* 200, 404, ... */
    long long content_length; /* -1 when the header is missing */
    bool keep_alive;
} http_response;

/** The length of the head at the start of buf, through its blank line
 *  ("\r\n\r\n"); 0 when buf does not hold all of it yet. */
size_t http_head_length(const char *buf, size_t len);

/** Parses a request head of len bytes (through the blank line).
 *  @return 0, or -1 for a malformed head (flags_error says why). */
int http_parse_request(const char *head, size_t len, http_request *req);

/** Parses a response head of len bytes (through the blank line).
 *  @return 0, or -1 for a malformed head (flags_error says why). */
int http_parse_response(const char *head, size_t len, http_response *resp);

/** Formats "GET target HTTP/1.1" with Host and Connection headers.
 *  @return its length, or 0 if it does not fit in size bytes. */
size_t http_format_request(char *buf, size_t size, const char *host, int port, const char *target,
                           bool keep_alive);

/** Formats a status line and Content-Type, Content-Length and Connection.
 *  @return its length, or 0 if it does not fit in size bytes. */
size_t http_format_response(char *buf, size_t size, int status, const char *content_type,
                            size_t content_length, bool keep_alive);

/** The reason phrase for a status ("OK", "Not Found"); "Unknown" otherwise. */
const char *http_reason(int status);

#endif /* FLAGS_HTTP_H */
