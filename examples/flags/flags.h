/* flags.h - the flags demo: country codes, GIF images, the site's routes, server and clients.
 * SPDX-License-Identifier: MIT
 *
 * The demo replays the asyncio notebook's concurrent flag downloads offline:
 * a local HTTP server (server.c) serves one small generated GIF per country
 * code (gif.c) at /flags/{cc}/{cc}.gif (site.c), and a client (client.c)
 * downloads all of them, one request after another on blocking sockets or
 * with one task per code on libcoro-aio's streams. compare.c runs both
 * against a server on its own thread; main.c is the command line.
 */
#ifndef FLAGS_H
#define FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ------------------------------------------------------------------------ */
/* Country codes and images (gif.c)                                         */
/* ------------------------------------------------------------------------ */

/** How many codes the notebook downloads. */
#define FLAGS_COUNT 21
/** Image size in pixels (3:2, like most flags). */
#define FLAGS_GIF_WIDTH 48
#define FLAGS_GIF_HEIGHT 32
/** Bytes enough for any of the images. */
#define FLAGS_GIF_MAX 2048
/** Colours in the shared palette. */
#define FLAGS_COLOURS 8

/** The notebook's codes, upper case, in its order (POP20_CC plus KR). */
extern const char *const flags_codes[FLAGS_COUNT];
/** The palette, RGB. */
extern const unsigned char flags_palette[FLAGS_COLOURS][3];

/** The index in flags_codes of a two-letter code, either case; -1 if it is
 *  not one of them. */
int flags_index(const char *cc);

/** The palette index of pixel (x, y) of flag `index`: a few stripes and,
 *  for some codes, a canton or a centre square. -1 for a bad argument. */
int flags_pixel(int index, int x, int y);

/** Encodes flag `index` as a GIF89a file into buf: global palette, one image,
 *  LZW with a clear code every few pixels so the code width stays 4 bits.
 *  @return its size in bytes, or 0 for a bad index or cap < FLAGS_GIF_MAX. */
size_t flags_gif_encode(int index, unsigned char *buf, size_t cap);

/** Every image, encoded once at start-up. */
typedef struct flags_catalog {
    unsigned char gif[FLAGS_COUNT][FLAGS_GIF_MAX];
    size_t size[FLAGS_COUNT];
} flags_catalog;

/** Fills c with the images of all FLAGS_COUNT codes. */
void flags_catalog_make(flags_catalog *c);

/* ------------------------------------------------------------------------ */
/* The site: what each request gets (site.c)                                */
/* ------------------------------------------------------------------------ */

struct http_request;

/** A response ready to send: its head (status line, headers, blank line) and
 *  its body (borrowed from the catalog, or a static text). */
typedef struct flags_reply {
    char head[256];
    size_t head_len;
    const unsigned char *body;
    size_t body_len;
    bool keep_alive; /* false: close the connection after this reply */
} flags_reply;

/** The path of a code's image, "/flags/cn/cn.gif", into buf (>= 20 bytes). */
void flags_path(int index, char *buf, size_t size);

/** The reply to req: 200 with the image for GET /flags/{cc}/{cc}.gif (cc
 *  lower case, one of the codes), 405 for another method on such a path,
 *  404 for anything else. req == NULL means a request that could not be
 *  parsed: 400, and the connection closes. */
void flags_site_reply(const flags_catalog *c, const struct http_request *req, flags_reply *out);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/** The last failure's text on this thread ("connect to 127.0.0.1:1: ..."). */
const char *flags_error(void);
/** Sets it, printf-style; returns -1 for `return flags_fail(...)`. */
int flags_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif /* FLAGS_H */
