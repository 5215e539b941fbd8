/*
 * DESIGN: recorded media time moved when served (docs/design/0074).
 *
 * A recorded file's decode times count from the start of the camera's
 * session (the timeline is monotonic across reconnects), so a playback
 * window that starts hours into a session starts at hours of media time.
 * Players that place media by the wall clock or rebase on their own cope;
 * GStreamer's legacy hlsdemux (the default playbin of Debian 12) does not:
 * its sink waits for that media time before the first frame. A playback
 * playlist therefore names, per file, where the file's first picture
 * belongs in the window's media time (its wall-clock offset from the
 * window's first segment), and the file is served with every fragment's
 * tfdt moved by that much:
 *
 *   tfdt' = tfdt - t0 + offset, per track in its own timescale,
 *
 * where t0 is the primary (video) track's first decode time, converted for
 * the other tracks: every track of a file shares one timeline, so audio
 * keeps its place against the picture. The rest of each fragment (trun's
 * sample durations and composition offsets, the mdat) is untouched, and
 * so is the init segment. Pure; Thread: any.
 */
#include "record.h"

#include "err.h"

#include <stdint.h>
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

int rec_rebase_prepare(const uint8_t *head, size_t len, int64_t offset_us, struct rec_rebase *out)
{
    memset(out, 0, sizeof(*out));
    struct rec_scan scan;
    int rc = rec_fmp4_scan(head, len, &scan);
    if (rc < 0 || scan.n_tracks == 0) {
        rec_scan_release(&scan);
        return HORUS_EPARSE;
    }
    out->n_tracks = scan.n_tracks;
    for (size_t i = 0; i < scan.n_tracks; i++) {
        out->tracks[i].track_id = scan.tracks[i].track_id;
        out->tracks[i].timescale = scan.tracks[i].timescale ? scan.tracks[i].timescale : 1;
    }
    size_t primary = scan.primary;
    size_t init_size = scan.init_size;
    rec_scan_release(&scan);
    /* The primary track's decode time in the first fragment. */
    struct first_dts d = {.buf = head, .track_id = out->tracks[primary].track_id, .t0 = -1};
    each_tfdt(head, len, init_size, find_first_dts, &d);
    int64_t t0 = d.t0;
    if (t0 < 0)
        return HORUS_EPARSE;
    int64_t ts0 = out->tracks[primary].timescale;
    for (size_t i = 0; i < out->n_tracks; i++) {
        __int128 ts = out->tracks[i].timescale;
        /* Exact for the usual rates; in 128 bits nothing a file can hold overflows. */
        __int128 shift = (__int128)offset_us * ts / 1000000 - (__int128)t0 * ts / ts0;
        out->tracks[i].shift = shift < INT64_MIN   ? INT64_MIN
                               : shift > INT64_MAX ? INT64_MAX
                                                   : (int64_t)shift;
    }
    return 0;
}

struct move {
    uint8_t *buf;
    const struct rec_rebase *rb;
    size_t moved;
};

static bool move_tfdt(void *arg, const struct traf_fields *f)
{
    struct move *m = arg;
    for (size_t i = 0; i < m->rb->n_tracks; i++) {
        if (m->rb->tracks[i].track_id != f->track_id)
            continue;
        uint8_t *at = m->buf + f->tfdt + 4;
        __int128 v = (__int128)get_be(at, f->tfdt_bytes) + m->rb->tracks[i].shift;
        __int128 max = f->tfdt_bytes == 4 ? (__int128)UINT32_MAX : (__int128)UINT64_MAX;
        put_be(at, (uint64_t)(v < 0 ? 0 : v > max ? max : v), f->tfdt_bytes);
        m->moved++;
    }
    return true;
}

size_t rec_rebase_apply(uint8_t *buf, size_t len, const struct rec_rebase *rb)
{
    struct move m = {.buf = buf, .rb = rb};
    each_tfdt(buf, len, 0, move_tfdt, &m);
    return m.moved;
}
