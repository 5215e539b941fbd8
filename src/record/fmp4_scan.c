/*
 * DESIGN: parse an fMP4 segment image from memory, for crash recovery and
 * `horus check`. The input is untrusted disk bytes (a torn write, a bad
 * sector, a file someone edited), so every read is bounds-checked against
 * the enclosing box, sample counts are capped, and the first box that is
 * torn or inconsistent ends the valid prefix instead of failing the whole
 * file. Only the layout our writer produces counts as a part: a complete
 * moof whose sample data lies inside the immediately following mdat.
 * Thread: any.
 */
#include "record.h"

#include "fmp4_int.h"

#include "err.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_SAMPLES 65536 /* per trun: far above any 1 s fragment */

/* A bounded view of bytes. Reads past the end set ok = false and return 0. */
struct rd {
    const uint8_t *p, *end;
    bool ok;
};

static struct rd rd_make(const uint8_t *p, size_t n)
{
    return (struct rd){p, p + n, true};
}

static size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static bool rd_skip(struct rd *r, size_t n)
{
    if (!r->ok || rd_left(r) < n)
        return r->ok = false;
    r->p += n;
    return true;
}

static uint64_t rd_uint(struct rd *r, unsigned bytes)
{
    const uint8_t *p = r->p;
    if (!rd_skip(r, bytes))
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* Splits the next child box off r: its type and a reader over its payload. */
static bool rd_box(struct rd *r, char type[5], struct rd *body, size_t *box_size)
{
    uint64_t size = rd_uint(r, 4);
    const uint8_t *t = r->p;
    if (!rd_skip(r, 4))
        return false;
    memcpy(type, t, 4);
    type[4] = '\0';
    size_t hdr = 8;
    if (size == 1) {
        size = rd_uint(r, 8);
        hdr = 16;
    }
    if (!r->ok || size < hdr || size - hdr > rd_left(r))
        return r->ok = false;
    *body = rd_make(r->p, (size_t)(size - hdr));
    r->p += size - hdr;
    if (box_size)
        *box_size = (size_t)size;
    return true;
}

/* ---- moov ---- */

struct scan_track {
    struct rec_track_info info;
    uint32_t trex_duration, trex_size, trex_flags;
};

static void codec_string_hvcc(struct rd r, char *out, size_t cap)
{
    if (rd_left(&r) < 13)
        return;
    const uint8_t *c = r.p;
    unsigned space = c[1] >> 6, tier = (c[1] >> 5) & 1, profile = c[1] & 0x1f;
    uint32_t compat = (uint32_t)c[2] << 24 | (uint32_t)c[3] << 16 | (uint32_t)c[4] << 8 | c[5];
    uint32_t rev = 0;
    for (int i = 0; i < 32; i++)
        rev |= ((compat >> i) & 1u) << (31 - i);
    snprintf(out, cap, "hvc1.%s%u.%x.%c%u", space ? (const char *[]){"", "A", "B", "C"}[space] : "",
             profile, rev, tier ? 'H' : 'L', c[12]);
    int last = 5;
    while (last >= 0 && c[6 + last] == 0)
        last--;
    for (int i = 0; i <= last; i++) {
        size_t len = strlen(out);
        if (len < cap)
            snprintf(out + len, cap - len, ".%X", c[6 + i]);
    }
}

/* Reads an MPEG-4 descriptor header (tag, expandable size). */
static bool descr(struct rd *r, unsigned *tag, struct rd *body)
{
    *tag = (unsigned)rd_uint(r, 1);
    size_t size = 0;
    for (int i = 0; i < 4; i++) {
        unsigned b = (unsigned)rd_uint(r, 1);
        size = size << 7 | (b & 0x7f);
        if (!(b & 0x80))
            break;
    }
    if (!r->ok || size > rd_left(r))
        return r->ok = false;
    *body = rd_make(r->p, size);
    r->p += size;
    return true;
}

static void codec_string_esds(struct rd r, char *out, size_t cap)
{
    unsigned tag;
    struct rd es, d;
    rd_skip(&r, 4);
    if (!descr(&r, &tag, &es) || tag != 3)
        return;
    rd_skip(&es, 2);
    unsigned flags = (unsigned)rd_uint(&es, 1);
    if (flags & 0x80)
        rd_skip(&es, 2);
    if (flags & 0x40)
        rd_skip(&es, (size_t)rd_uint(&es, 1));
    if (flags & 0x20)
        rd_skip(&es, 2);
    if (!descr(&es, &tag, &d) || tag != 4 || !rd_skip(&d, 13))
        return;
    struct rd dsi;
    if (!descr(&d, &tag, &dsi) || tag != 5 || rd_left(&dsi) < 1)
        return;
    unsigned aot = dsi.p[0] >> 3;
    if (aot == 31 && rd_left(&dsi) >= 2)
        aot = 32 + (((dsi.p[0] & 7u) << 3) | (dsi.p[1] >> 5));
    snprintf(out, cap, "mp4a.40.%u", aot);
}

static void scan_stsd(struct rd r, struct rec_track_info *t)
{
    char type[5];
    struct rd entry;
    if (!rd_skip(&r, 8) || !rd_box(&r, type, &entry, NULL))
        return;
    struct rd children = entry;
    if (!strcmp(type, "avc1") || !strcmp(type, "avc3") || !strcmp(type, "hvc1") ||
        !strcmp(type, "hev1")) {
        t->codec = type[0] == 'a' ? MEDIA_CODEC_H264 : MEDIA_CODEC_H265;
        rd_skip(&children, 24);
        t->width = (uint32_t)rd_uint(&children, 2);
        t->height = (uint32_t)rd_uint(&children, 2);
        rd_skip(&children, 50);
    } else if (!strcmp(type, "mp4a")) {
        t->codec = MEDIA_CODEC_AAC;
        rd_skip(&children, 16);
        t->channels = (uint32_t)rd_uint(&children, 2);
        rd_skip(&children, 6);
        t->sample_rate = (uint32_t)(rd_uint(&children, 4) >> 16);
    } else {
        return;
    }
    struct rd body;
    while (children.ok && rd_left(&children) >= 8 && rd_box(&children, type, &body, NULL)) {
        if (!strcmp(type, "avcC") && rd_left(&body) >= 4)
            snprintf(t->codec_string, sizeof(t->codec_string), "avc1.%02x%02x%02x", body.p[1],
                     body.p[2], body.p[3]);
        else if (!strcmp(type, "hvcC"))
            codec_string_hvcc(body, t->codec_string, sizeof(t->codec_string));
        else if (!strcmp(type, "esds"))
            codec_string_esds(body, t->codec_string, sizeof(t->codec_string));
    }
}

/* Walks down a path of container boxes and calls the leaves it knows. */
static void scan_container(struct rd r, struct rec_track_info *t)
{
    char type[5];
    struct rd body;
    while (r.ok && rd_left(&r) >= 8 && rd_box(&r, type, &body, NULL)) {
        if (!strcmp(type, "mdia") || !strcmp(type, "minf") || !strcmp(type, "stbl")) {
            scan_container(body, t);
        } else if (!strcmp(type, "tkhd")) {
            unsigned version = (unsigned)rd_uint(&body, 4) >> 24;
            rd_skip(&body, version == 1 ? 16 : 8);
            t->track_id = (uint32_t)rd_uint(&body, 4);
        } else if (!strcmp(type, "mdhd")) {
            unsigned version = (unsigned)rd_uint(&body, 4) >> 24;
            rd_skip(&body, version == 1 ? 16 : 8);
            t->timescale = (uint32_t)rd_uint(&body, 4);
        } else if (!strcmp(type, "hdlr")) {
            rd_skip(&body, 8);
            if (rd_left(&body) >= 4)
                t->kind = memcmp(body.p, "vide", 4) ? MEDIA_KIND_AUDIO : MEDIA_KIND_VIDEO;
        } else if (!strcmp(type, "stsd")) {
            scan_stsd(body, t);
        }
    }
}

static int scan_moov(struct rd r, struct scan_track *tracks, size_t *n, int64_t *start_wall_us)
{
    char type[5];
    struct rd body;
    *n = 0;
    while (rd_left(&r) && rd_box(&r, type, &body, NULL)) {
        if (!strcmp(type, "trak")) {
            if (*n == REC_MAX_TRACKS)
                return HORUS_EPARSE;
            struct scan_track *t = &tracks[(*n)++];
            memset(t, 0, sizeof(*t));
            t->info.kind = MEDIA_KIND_AUDIO;
            scan_container(body, &t->info);
            if (!t->info.track_id || !t->info.timescale || t->info.codec == MEDIA_CODEC_NONE)
                return HORUS_EPARSE;
        } else if (!strcmp(type, "udta")) {
            struct rd hrst;
            while (rd_left(&body) && rd_box(&body, type, &hrst, NULL)) {
                if (strcmp(type, FMP4_START_BOX) || rd_uint(&hrst, 4) != 0)
                    continue; /* another box, or a version we do not know */
                uint64_t us = rd_uint(&hrst, 8);
                if (hrst.ok && us > 0 && us < (UINT64_C(1) << 62))
                    *start_wall_us = (int64_t)us;
            }
        } else if (!strcmp(type, "mvex")) {
            struct rd trex;
            while (rd_left(&body) && rd_box(&body, type, &trex, NULL)) {
                if (strcmp(type, "trex"))
                    continue;
                rd_skip(&trex, 4);
                uint32_t id = (uint32_t)rd_uint(&trex, 4);
                rd_skip(&trex, 4);
                for (size_t i = 0; i < *n; i++) {
                    if (tracks[i].info.track_id != id)
                        continue;
                    struct rd d = trex;
                    tracks[i].trex_duration = (uint32_t)rd_uint(&d, 4);
                    tracks[i].trex_size = (uint32_t)rd_uint(&d, 4);
                    tracks[i].trex_flags = (uint32_t)rd_uint(&d, 4);
                }
            }
        }
    }
    return r.ok && *n ? 0 : HORUS_EPARSE;
}

/* ---- moof ---- */

struct traf_result {
    bool found;
    uint64_t base_dts;
    uint64_t duration;
    bool first_sync;
};

/*
 * Checks one traf's samples lie within the mdat payload
 * [data_lo, data_hi) (offsets from the moof start) and sums the primary
 * track's durations.
 */
static bool scan_traf(struct rd r, const struct scan_track *tracks, size_t n_tracks,
                      uint32_t primary_id, size_t data_lo, size_t data_hi, struct traf_result *res)
{
    char type[5];
    struct rd body;
    const struct scan_track *t = NULL;
    uint32_t def_dur = 0, def_size = 0, def_flags = 0;
    uint64_t base_dts = 0;
    bool has_tfdt = false, is_primary = false, first = true;
    uint64_t data_pos = data_lo;
    while (rd_left(&r) && rd_box(&r, type, &body, NULL)) {
        if (!strcmp(type, "tfhd")) {
            uint32_t flags = (uint32_t)rd_uint(&body, 4) & 0xffffff;
            uint32_t id = (uint32_t)rd_uint(&body, 4);
            for (size_t i = 0; i < n_tracks; i++)
                if (tracks[i].info.track_id == id)
                    t = &tracks[i];
            if (!t || (flags & 0x01)) /* we only write moof-relative offsets */
                return false;
            is_primary = id == primary_id;
            def_dur = t->trex_duration;
            def_size = t->trex_size;
            def_flags = t->trex_flags;
            if (flags & 0x02)
                rd_skip(&body, 4);
            if (flags & 0x08)
                def_dur = (uint32_t)rd_uint(&body, 4);
            if (flags & 0x10)
                def_size = (uint32_t)rd_uint(&body, 4);
            if (flags & 0x20)
                def_flags = (uint32_t)rd_uint(&body, 4);
            if (!body.ok)
                return false;
        } else if (!strcmp(type, "tfdt")) {
            unsigned version = (unsigned)rd_uint(&body, 4) >> 24;
            base_dts = rd_uint(&body, version == 1 ? 8 : 4);
            has_tfdt = body.ok;
        } else if (!strcmp(type, "trun")) {
            if (!t)
                return false;
            uint32_t flags = (uint32_t)rd_uint(&body, 4) & 0xffffff;
            uint32_t count = (uint32_t)rd_uint(&body, 4);
            if (flags & 0x01) {
                int32_t off = (int32_t)(uint32_t)rd_uint(&body, 4);
                if (off < 0)
                    return false;
                data_pos = (uint64_t)off;
            }
            uint32_t first_flags = def_flags;
            bool has_first_flags = flags & 0x04;
            if (has_first_flags)
                first_flags = (uint32_t)rd_uint(&body, 4);
            if (!body.ok || count > SCAN_MAX_SAMPLES)
                return false;
            for (uint32_t i = 0; i < count; i++) {
                uint32_t dur = flags & 0x100 ? (uint32_t)rd_uint(&body, 4) : def_dur;
                uint32_t size = flags & 0x200 ? (uint32_t)rd_uint(&body, 4) : def_size;
                uint32_t sflags = flags & 0x400 ? (uint32_t)rd_uint(&body, 4) : def_flags;
                if (flags & 0x800)
                    rd_skip(&body, 4);
                if (!body.ok)
                    return false;
                if (i == 0 && has_first_flags)
                    sflags = first_flags;
                if (data_pos < data_lo || data_pos + size > data_hi)
                    return false;
                data_pos += size;
                if (is_primary) {
                    if (first)
                        res->first_sync = !(sflags & 0x10000);
                    first = false;
                    res->duration += dur;
                }
            }
        }
    }
    if (!r.ok || !t)
        return false;
    if (is_primary) {
        if (!has_tfdt || base_dts > INT64_MAX)
            return false;
        res->found = true;
        res->base_dts = base_dts;
    }
    return true;
}

static bool scan_moof(struct rd r, const struct scan_track *tracks, size_t n_tracks,
                      uint32_t primary_id, size_t data_lo, size_t data_hi, struct traf_result *res)
{
    char type[5];
    struct rd body;
    bool has_mfhd = false;
    memset(res, 0, sizeof(*res));
    while (rd_left(&r) && rd_box(&r, type, &body, NULL)) {
        if (!strcmp(type, "mfhd"))
            has_mfhd = true;
        else if (!strcmp(type, "traf") &&
                 !scan_traf(body, tracks, n_tracks, primary_id, data_lo, data_hi, res))
            return false;
    }
    return r.ok && has_mfhd;
}

void rec_scan_release(struct rec_scan *s)
{
    free(s->parts);
    memset(s, 0, sizeof(*s));
}

int rec_fmp4_scan(const uint8_t *buf, size_t len, struct rec_scan *out)
{
    memset(out, 0, sizeof(*out));
    struct rd r = rd_make(buf, len);
    struct scan_track tracks[REC_MAX_TRACKS];
    size_t n_tracks = 0;
    char type[5];
    struct rd body;
    size_t box_size;

    /* The init segment: any boxes up to and including a valid moov. */
    while (!out->init_size) {
        if (!rd_box(&r, type, &body, &box_size) || !strcmp(type, "moof") || !strcmp(type, "mdat"))
            return HORUS_EPARSE;
        if (!strcmp(type, "moov")) {
            if (scan_moov(body, tracks, &n_tracks, &out->start_wall_us) < 0)
                return HORUS_EPARSE;
            out->init_size = (size_t)(r.p - buf);
        }
    }
    out->n_tracks = n_tracks;
    for (size_t i = 0; i < n_tracks; i++)
        out->tracks[i] = tracks[i].info;
    out->primary = 0;
    for (size_t i = n_tracks; i-- > 0;)
        if (tracks[i].info.kind == MEDIA_KIND_VIDEO)
            out->primary = i;
    uint32_t primary_id = tracks[out->primary].info.track_id;
    uint32_t timescale = tracks[out->primary].info.timescale;
    out->valid_size = out->init_size;

    size_t cap = 0;
    bool have_t0 = false;
    int64_t t0 = 0, expected = 0;
    for (;;) {
        const uint8_t *moof_start = r.p;
        struct rd moof, mdat;
        size_t moof_size, mdat_size;
        if (!rd_box(&r, type, &moof, &moof_size) || strcmp(type, "moof"))
            break;
        const uint8_t *mdat_start = r.p;
        if (!rd_box(&r, type, &mdat, &mdat_size) || strcmp(type, "mdat") ||
            moof_size + mdat_size > UINT32_MAX)
            break;
        size_t data_lo = (size_t)(mdat.p - moof_start);
        size_t data_hi = (size_t)(mdat_start - moof_start) + mdat_size;
        struct traf_result res;
        if (!scan_moof(moof, tracks, n_tracks, primary_id, data_lo, data_hi, &res))
            break;
        if (out->n_parts == cap) {
            cap = cap ? cap * 2 : 64;
            out->parts = horus_realloc(out->parts, cap * sizeof(*out->parts));
        }
        struct sto_part *p = &out->parts[out->n_parts++];
        p->offset = (uint64_t)(moof_start - buf);
        p->size_bytes = (uint32_t)(moof_size + mdat_size);
        if (res.found && !have_t0) {
            t0 = (int64_t)res.base_dts;
            have_t0 = true;
        }
        p->start_90k = res.found ? fmp4_to_90k((int64_t)res.base_dts - t0, timescale) : expected;
        int64_t dur =
            fmp4_to_90k(res.duration > INT64_MAX ? INT64_MAX : (int64_t)res.duration, timescale);
        p->duration_90k = dur > UINT32_MAX ? UINT32_MAX : (uint32_t)dur;
        p->is_keyframe = res.found && res.first_sync;
        expected = p->start_90k + p->duration_90k;
        out->valid_size = (size_t)(r.p - buf);
    }
    return 0;
}
