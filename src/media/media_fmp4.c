/*
 * DESIGN: fMP4 decode times moved in place (media_fmp4.h). The walk reads
 * box headers only inside the buffer: a box whose size does not fit ends
 * the walk, a traf without tfhd is skipped, a tfdt of an unknown version
 * is left alone.
 */
#include "media_fmp4.h"

#include <stdbool.h>
#include <string.h>

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = bytes; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

/*
 * The box at buf[pos..len): its type, where its body starts and its total
 * size. Returns false when the header is truncated or the size does not
 * fit what is left.
 */
static bool box_at(const uint8_t *buf, size_t len, size_t pos, char type[5], size_t *body,
                   size_t *size)
{
    if (len - pos < 8)
        return false;
    uint64_t n = get_be(buf + pos, 4);
    size_t head = 8;
    if (n == 1) {
        if (len - pos < 16)
            return false;
        n = get_be(buf + pos + 8, 8);
        head = 16;
    } else if (n == 0) {
        n = len - pos;
    }
    if (n < head || n > len - pos)
        return false;
    memcpy(type, buf + pos + 4, 4);
    type[4] = '\0';
    *body = pos + head;
    *size = (size_t)n;
    return true;
}

/* What a traf says: its track, and where its decode time is. */
struct traf_fields {
    uint32_t track_id;
    size_t tfdt; /* offset of the tfdt box's version byte in the buffer; 0 when absent */
    unsigned tfdt_bytes; /* 4 (version 0) or 8 (version 1) */
};

/* Reads the traf whose body is buf[from..to). Returns false when it is malformed or has no tfhd. */
static bool traf_fields(const uint8_t *buf, size_t from, size_t to, struct traf_fields *out)
{
    memset(out, 0, sizeof(*out));
    bool has_id = false;
    for (size_t pos = from, body, size; pos < to; pos += size) {
        char type[5];
        if (!box_at(buf, to, pos, type, &body, &size))
            return false;
        if (strcmp(type, "tfhd") == 0 && to - body >= 8) {
            out->track_id = (uint32_t)get_be(buf + body + 4, 4);
            has_id = true;
        } else if (strcmp(type, "tfdt") == 0 && size >= 16) {
            unsigned version = buf[body];
            if ((version == 1 && size < 20) || version > 1)
                return false;
            out->tfdt = body;
            out->tfdt_bytes = version == 1 ? 8 : 4;
        }
    }
    return has_id;
}

/*
 * Calls fn for each traf with a tfdt in the moof boxes of buf[from..len),
 * which starts at a box, until fn returns false. Stops at the first box
 * that does not fit (a range may end inside one).
 */
static void each_tfdt(const uint8_t *buf, size_t len, size_t from,
                      bool (*fn)(void *arg, const struct traf_fields *f), void *arg)
{
    for (size_t pos = from, body, size; pos < len; pos += size) {
        char type[5];
        if (!box_at(buf, len, pos, type, &body, &size))
            return;
        if (strcmp(type, "moof") != 0)
            continue;
        for (size_t p = body, tb, ts; p < pos + size; p += ts) {
            char t[5];
            struct traf_fields f;
            if (!box_at(buf, pos + size, p, t, &tb, &ts))
                break;
            if (strcmp(t, "traf") == 0 && traf_fields(buf, tb, p + ts, &f) && f.tfdt &&
                !fn(arg, &f))
                return;
        }
    }
}

struct first_dts {
    const uint8_t *buf;
    uint32_t track_id;
    int64_t t0; /* -1 until found */
};

static bool find_first_dts(void *arg, const struct traf_fields *f)
{
    struct first_dts *d = arg;
    if (f->track_id != d->track_id)
        return true;
    uint64_t v = get_be(d->buf + f->tfdt + 4, f->tfdt_bytes);
    d->t0 = v > INT64_MAX ? -1 : (int64_t)v;
    return false;
}

int64_t media_fmp4_first_tfdt(const uint8_t *buf, size_t len, size_t from, uint32_t track_id)
{
    struct first_dts d = {.buf = buf, .track_id = track_id, .t0 = -1};
    each_tfdt(buf, len, from, find_first_dts, &d);
    return d.t0;
}

struct move {
    uint8_t *buf;
    const struct media_tfdt_shift *s;
    size_t moved;
};

static bool move_tfdt(void *arg, const struct traf_fields *f)
{
    struct move *m = arg;
    for (size_t i = 0; i < m->s->n_tracks; i++) {
        if (m->s->tracks[i].track_id != f->track_id)
            continue;
        uint8_t *at = m->buf + f->tfdt + 4;
        __int128 v = (__int128)get_be(at, f->tfdt_bytes) + m->s->tracks[i].shift;
        __int128 max = f->tfdt_bytes == 4 ? (__int128)UINT32_MAX : (__int128)UINT64_MAX;
        put_be(at, (uint64_t)(v < 0 ? 0 : v > max ? max : v), f->tfdt_bytes);
        m->moved++;
    }
    return true;
}

size_t media_fmp4_shift_tfdt(uint8_t *buf, size_t len, const struct media_tfdt_shift *s)
{
    struct move m = {.buf = buf, .s = s};
    each_tfdt(buf, len, 0, move_tfdt, &m);
    return m.moved;
}

void media_fmp4_shift_for(const media_init *init, int64_t base_us, struct media_tfdt_shift *out)
{
    memset(out, 0, sizeof(*out));
    out->n_tracks = init->n_streams;
    for (size_t i = 0; i < init->n_streams; i++) {
        uint32_t ts = init->streams[i]->timescale ? init->streams[i]->timescale : 1;
        out->tracks[i].track_id = (uint32_t)i + 1;
        out->tracks[i].timescale = ts;
        out->tracks[i].shift = -(int64_t)((__int128)base_us * ts / 1000000);
    }
}
