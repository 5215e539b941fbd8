/*
 * Test helper for tests/unit/live: fake parts (bytes that spell their
 * number) on real media_init objects, published straight into a hub's
 * sink as the recorder would. Header-only so each test stays one file.
 */
#ifndef HORUS_TEST_LIVE_FAKE_H
#define HORUS_TEST_LIVE_FAKE_H

#include "live_int.h"

#include <stdio.h>
#include <string.h>

#define FAKE_WALL0_US INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */
#define FAKE_PART_TICKS 18000 /* 200 ms at 90 kHz */

struct fake_src {
    media_stream *video; /* owned */
    media_init *init; /* owned */
    int64_t dts; /* next part's dts */
    unsigned n; /* parts made */
    unsigned gop_parts; /* a keyframe part every this many */
    bool is_fmp4; /* parts are a real moof (tfdt = dts) + mdat; else text that spells the number */
};

/* epoch and tag make different init bytes / stream epochs. */
static void fake_src_init(struct fake_src *f, uint32_t epoch, char tag)
{
    memset(f, 0, sizeof(*f));
    uint8_t extra[4] = {1, 0x64, 0, (uint8_t)tag};
    f->video = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, extra, sizeof(extra));
    f->video->epoch = epoch;
    f->video->width = 640;
    f->video->height = 360;
    snprintf(f->video->codec_string, sizeof(f->video->codec_string), "avc1.64001e");
    uint8_t bytes[16];
    memset(bytes, tag, sizeof(bytes));
    f->init = media_init_new(bytes, sizeof(bytes), &f->video, 1);
    f->gop_parts = 5; /* 1 s GOPs */
}

static void fake_src_release(struct fake_src *f)
{
    media_init_unref(f->init);
    media_stream_unref(f->video);
    memset(f, 0, sizeof(*f));
}

/* The next part of f (a new reference); keyframe every gop_parts. */
static media_part *fake_part_next(struct fake_src *f)
{
    char text[64];
    int len = snprintf(text, sizeof(text), "moof+mdat of part %u", f->n);
    media_part *p;
    if (f->is_fmp4) {
        /* moof(mfhd, traf(tfhd track 1, tfdt v1 at byte 60)) + mdat holding the text. */
        static const uint8_t moof[] = {0,   0,   0,   68,  'm', 'o', 'o', 'f', 0, 0, 0, 16,
                                       'm', 'f', 'h', 'd', 0,   0,   0,   0,   0, 0, 0, 1,
                                       0,   0,   0,   44,  't', 'r', 'a', 'f', 0, 0, 0, 16,
                                       't', 'f', 'h', 'd', 0,   2,   0,   0,   0, 0, 0, 1,
                                       0,   0,   0,   20,  't', 'f', 'd', 't', 1, 0, 0, 0};
        size_t size = sizeof(moof) + 8 + 8 + (size_t)len;
        p = media_part_new(f->init, size);
        memcpy(p->data, moof, sizeof(moof));
        for (int i = 0; i < 8; i++)
            p->data[sizeof(moof) + (size_t)i] = (uint8_t)((uint64_t)f->dts >> (56 - 8 * i));
        uint8_t *mdat = p->data + sizeof(moof) + 8;
        uint32_t mlen = (uint32_t)(8 + len);
        uint8_t head[8] = {(uint8_t)(mlen >> 24),
                           (uint8_t)(mlen >> 16),
                           (uint8_t)(mlen >> 8),
                           (uint8_t)mlen,
                           'm',
                           'd',
                           'a',
                           't'};
        memcpy(mdat, head, 8);
        memcpy(mdat + 8, text, (size_t)len);
    } else {
        p = media_part_new(f->init, (size_t)len);
        memcpy(p->data, text, (size_t)len);
    }
    p->dts = f->dts;
    p->duration = FAKE_PART_TICKS;
    p->timescale = 90000;
    p->is_independent = f->n % f->gop_parts == 0;
    p->wall_us = FAKE_WALL0_US + f->dts * 100 / 9;
    p->arrival_ns = clock_monotonic_ns(clock_system());
    f->dts += FAKE_PART_TICKS;
    f->n++;
    return p;
}

/* The tfdt of the first moof of a part made with is_fmp4 (in data[0..len)). */
static inline uint64_t fake_tfdt(const void *data, size_t len)
{
    const uint8_t *d = data;
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && 60 + i < len; i++)
        v = v << 8 | d[60 + i];
    return v;
}

/* Publishes n parts of f through sink. */
static void fake_publish(struct fake_src *f, media_part_sink *sink, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        media_part *p = fake_part_next(f);
        sink->ops->part_cb(sink, p);
        media_part_unref(p);
    }
}

#endif
