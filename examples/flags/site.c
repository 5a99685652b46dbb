/* site.c - the flags site: which reply each request gets, and the demo's error text.
 * SPDX-License-Identifier: MIT
 *
 * GET /flags/{cc}/{cc}.gif, cc one of the codes in lower case (the
 * notebook's URLs: '{}/{cc}/{cc}.gif'.format(BASE_URL, cc=cc.lower())),
 * gets the image; anything else a short text with 404 (or 405, or 400 for a
 * request that could not be parsed). Transport-free, so the streams server
 * and the tests' blocking server give the same bytes.
 */
#include "flags.h"
#include "http.h"

#include <stdarg.h>
#include <string.h>

void flags_path(int index, char *buf, size_t size)
{
    char cc[3] = {0};
    if (index >= 0 && index < FLAGS_COUNT) {
        cc[0] = (char)(flags_codes[index][0] - 'A' + 'a');
        cc[1] = (char)(flags_codes[index][1] - 'A' + 'a');
    }
    snprintf(buf, size, "/flags/%s/%s.gif", cc, cc);
}

/* The code of a flag path, or -1: "/flags/" cc "/" cc ".gif", lower case. */
static int route(const char *target)
{
    for (int i = 0; i < FLAGS_COUNT; i++) {
        char path[32];
        flags_path(i, path, sizeof path);
        if (strcmp(target, path) == 0)
            return i;
    }
    return -1;
}

static void text_reply(flags_reply *out, int status, const char *text, bool keep_alive)
{
    out->body = (const unsigned char *)text;
    out->body_len = strlen(text);
    out->keep_alive = keep_alive;
    out->head_len = http_format_response(out->head, sizeof out->head, status,
                                         "text/plain; charset=utf-8", out->body_len, keep_alive);
}

void flags_site_reply(const flags_catalog *c, const struct http_request *req, flags_reply *out)
{
    if (req == NULL) {
        text_reply(out, 400, "bad request\n", false);
        return;
    }
    int i = route(req->target);
    if (i < 0) {
        text_reply(out, 404, "not found\n", req->keep_alive);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        text_reply(out, 405, "only GET\n", req->keep_alive);
        return;
    }
    out->body = c->gif[i];
    out->body_len = c->size[i];
    out->keep_alive = req->keep_alive;
    out->head_len = http_format_response(out->head, sizeof out->head, 200, "image/gif",
                                         out->body_len, req->keep_alive);
}

/* flags_error's text, one per thread: the server thread and the client's
 * may fail at once. */
static _Thread_local char error_text[256];

const char *flags_error(void) { return error_text; }

int flags_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return -1;
}
