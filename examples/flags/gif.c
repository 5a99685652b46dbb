/* gif.c - the country codes and a small GIF89a image for each, made at start-up.
 * SPDX-License-Identifier: MIT
 *
 * Each flag is a few stripes of an 8-colour palette, with a canton or a
 * centre square for some codes: recognisable enough, and no binary file in
 * the repository. The encoder writes the simplest valid LZW stream: with a
 * minimum code size of 3 the codes start 4 bits wide, and a clear code after
 * every 6 literal pixels keeps the decoder's table below 16 entries, so the
 * width never grows. Any GIF decoder reads it; it is about 4.7 bits a pixel.
 */
#include "flags.h"

#include <stdint.h>
#include <string.h>

const char *const flags_codes[FLAGS_COUNT] = {"CN", "IN", "US", "ID", "BR", "PK", "NG",
                                              "BD", "RU", "JP", "KR", "MX", "PH", "VN",
                                              "ET", "EG", "DE", "IR", "TR", "CD", "FR"};

enum { WHITE, BLACK, RED, GREEN, BLUE, YELLOW, ORANGE, SKY };

const unsigned char flags_palette[FLAGS_COLOURS][3] = {
    {0xff, 0xff, 0xff}, {0x00, 0x00, 0x00}, {0xce, 0x11, 0x26}, {0x00, 0x9a, 0x49},
    {0x00, 0x38, 0xa8}, {0xfc, 0xd1, 0x16}, {0xff, 0x99, 0x33}, {0x75, 0xaa, 0xdb}};

#define NONE (-1)
#define MAX_STRIPES 7

/* A flag: n stripes (horizontal, or vertical when `vertical`), then an
 * optional canton (top-left) and an optional centre square on top. */
typedef struct design {
    bool vertical;
    int n;
    signed char stripe[MAX_STRIPES];
    signed char canton;
    signed char centre;
} design;

/* In flags_codes order. */
static const design designs[FLAGS_COUNT] = {
    {false, 1, {RED}, YELLOW, NONE},                                   /* CN */
    {false, 3, {ORANGE, WHITE, GREEN}, NONE, BLUE},                    /* IN */
    {false, 7, {RED, WHITE, RED, WHITE, RED, WHITE, RED}, BLUE, NONE}, /* US */
    {false, 2, {RED, WHITE}, NONE, NONE},                              /* ID */
    {false, 3, {GREEN, YELLOW, GREEN}, NONE, BLUE},                    /* BR */
    {true, 4, {WHITE, GREEN, GREEN, GREEN}, NONE, WHITE},              /* PK */
    {true, 3, {GREEN, WHITE, GREEN}, NONE, NONE},                      /* NG */
    {false, 1, {GREEN}, NONE, RED},                                    /* BD */
    {false, 3, {WHITE, BLUE, RED}, NONE, NONE},                        /* RU */
    {false, 1, {WHITE}, NONE, RED},                                    /* JP */
    {false, 1, {WHITE}, NONE, BLUE},                                   /* KR */
    {true, 3, {GREEN, WHITE, RED}, NONE, NONE},                        /* MX */
    {false, 2, {BLUE, RED}, WHITE, NONE},                              /* PH */
    {false, 1, {RED}, NONE, YELLOW},                                   /* VN */
    {false, 3, {GREEN, YELLOW, RED}, NONE, BLUE},                      /* ET */
    {false, 3, {RED, WHITE, BLACK}, NONE, NONE},                       /* EG */
    {false, 3, {BLACK, RED, YELLOW}, NONE, NONE},                      /* DE */
    {false, 3, {GREEN, WHITE, RED}, NONE, NONE},                       /* IR */
    {false, 1, {RED}, NONE, WHITE},                                    /* TR */
    {false, 5, {SKY, YELLOW, RED, YELLOW, SKY}, NONE, NONE},           /* CD */
    {true, 3, {BLUE, WHITE, RED}, NONE, NONE},                         /* FR */
};

int flags_index(const char *cc)
{
    if (cc == NULL || cc[0] == '\0' || cc[1] == '\0' || cc[2] != '\0')
        return -1;
    for (int i = 0; i < FLAGS_COUNT; i++) {
        const char *c = flags_codes[i];
        if ((cc[0] == c[0] || cc[0] == c[0] - 'A' + 'a') &&
            (cc[1] == c[1] || cc[1] == c[1] - 'A' + 'a'))
            return i;
    }
    return -1;
}

int flags_pixel(int index, int x, int y)
{
    if (index < 0 || index >= FLAGS_COUNT || x < 0 || x >= FLAGS_GIF_WIDTH || y < 0 ||
        y >= FLAGS_GIF_HEIGHT)
        return -1;
    const design *d = &designs[index];
    const int w = FLAGS_GIF_WIDTH, h = FLAGS_GIF_HEIGHT, r = FLAGS_GIF_HEIGHT / 5;
    if (d->centre != NONE && x >= w / 2 - r && x < w / 2 + r && y >= h / 2 - r && y < h / 2 + r)
        return d->centre;
    if (d->canton != NONE && x < w * 2 / 5 && y < h / 2)
        return d->canton;
    int s = d->vertical ? x * d->n / w : y * d->n / h;
    return d->stripe[s];
}

/* LZW codes, least significant bit first, into data sub-blocks of at most
 * 255 bytes each ("count byte, bytes"), as GIF wants. */
typedef struct bits {
    unsigned char *out;   /* the next byte to write */
    unsigned char *block; /* the current sub-block's count byte */
    uint32_t acc;
    int nacc;
} bits;

static void put_byte(bits *b, unsigned char byte)
{
    if (*b->block == 255) { /* the sub-block is full: start another */
        b->block = b->out++;
        *b->block = 0;
    }
    *b->out++ = byte;
    (*b->block)++;
}

static void put_code(bits *b, unsigned code, int width)
{
    b->acc |= (uint32_t)code << b->nacc;
    b->nacc += width;
    while (b->nacc >= 8) {
        put_byte(b, (unsigned char)(b->acc & 0xff));
        b->acc >>= 8;
        b->nacc -= 8;
    }
}

static unsigned char *put_le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}

#define MIN_CODE_SIZE 3 /* 8 colours */
#define CODE_WIDTH (MIN_CODE_SIZE + 1)
#define CLEAR_CODE (1u << MIN_CODE_SIZE)
#define END_CODE (CLEAR_CODE + 1)
/* After a clear the decoder's next free code is END_CODE + 1; the first
 * literal adds no entry, each later one adds one. The width would grow when
 * the next free code reached 1 << CODE_WIDTH; 6 literals stop one short. */
#define LITERALS_PER_CLEAR ((1u << CODE_WIDTH) - (END_CODE + 1))

size_t flags_gif_encode(int index, unsigned char *buf, size_t cap)
{
    if (index < 0 || index >= FLAGS_COUNT || buf == NULL || cap < FLAGS_GIF_MAX)
        return 0;
    unsigned char *p = buf;
    memcpy(p, "GIF89a", 6);
    p += 6;
    /* Logical screen descriptor: size, a global colour table of 8 entries
     * (0x80 table present, 0x20 colour resolution 3 bits, 0x02 size 2^(2+1)),
     * background colour 0, no aspect ratio. */
    p = put_le16(p, FLAGS_GIF_WIDTH);
    p = put_le16(p, FLAGS_GIF_HEIGHT);
    *p++ = 0xa2;
    *p++ = 0;
    *p++ = 0;
    memcpy(p, flags_palette, sizeof flags_palette);
    p += sizeof flags_palette;
    /* Image descriptor: at (0, 0), the whole screen, no local table, not
     * interlaced. */
    *p++ = 0x2c;
    p = put_le16(p, 0);
    p = put_le16(p, 0);
    p = put_le16(p, FLAGS_GIF_WIDTH);
    p = put_le16(p, FLAGS_GIF_HEIGHT);
    *p++ = 0;
    *p++ = MIN_CODE_SIZE;

    bits b = {p + 1, p, 0, 0};
    *b.block = 0;
    unsigned run = LITERALS_PER_CLEAR; /* a clear code comes first */
    for (int y = 0; y < FLAGS_GIF_HEIGHT; y++) {
        for (int x = 0; x < FLAGS_GIF_WIDTH; x++) {
            if (run == LITERALS_PER_CLEAR) {
                put_code(&b, CLEAR_CODE, CODE_WIDTH);
                run = 0;
            }
            put_code(&b, (unsigned)flags_pixel(index, x, y), CODE_WIDTH);
            run++;
        }
    }
    put_code(&b, END_CODE, CODE_WIDTH);
    if (b.nacc > 0)
        put_byte(&b, (unsigned char)(b.acc & 0xff));
    p = b.out;
    *p++ = 0;    /* the empty sub-block that ends the image data */
    *p++ = 0x3b; /* trailer */
    return (size_t)(p - buf);
}

void flags_catalog_make(flags_catalog *c)
{
    for (int i = 0; i < FLAGS_COUNT; i++)
        c->size[i] = flags_gif_encode(i, c->gif[i], sizeof c->gif[i]);
}
