/*
 * DESIGN: rendering media playlists from a stream's kept segments (called
 * with the stream's lock held, so it only formats: a few microseconds for
 * the ~40 lines of a typical playlist), plus the refcounted blobs replies
 * are served from.
 *
 * LL-HLS (RFC 8216bis): version 9, CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK
 * three part targets, EXT-X-PART lines for the last three segments (older
 * segments appear whole), EXT-X-PROGRAM-DATE-TIME on every segment, an
 * EXT-X-MAP whenever the init changes, EXT-X-DISCONTINUITY where the
 * discontinuity sequence steps, and a preload hint for the next part.
 * The plain playlist lists complete segments only, for players without
 * LL-HLS. TARGETDURATION never goes below what the stream has produced
 * so far (segments end on keyframes, so a camera's GOP may make them
 * longer than the configured target); PART-TARGET follows the listed
 * parts and the 85% rule (live_part_target_s).
 *
 * Every URI (EXT-X-MAP, parts, segments, the preload hint, the variants
 * of the multivariant playlist) ends with one query built once per render
 * (live_stream_query): the stream suffix and the media token, if any.
 * A viewer's view (docs/design/0075) adds base_msn and base_us to every
 * URI but the init's and starts the list at its segment; live_view_bytes
 * makes the moved copy its parts and segments are served as.
 */
#include "live_int.h"

#include "media_fmp4.h"
#include "mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long live_blobs;

struct live_blob *live_blob_new(size_t cap)
{
    struct live_blob *b = horus_malloc(sizeof(*b) + cap + 1);
    atomic_init(&b->refs, 1);
    b->len = 0;
    b->cap = cap;
    b->data[0] = '\0';
    atomic_fetch_add(&live_blobs, 1);
    return b;
}

struct live_blob *live_blob_ref(struct live_blob *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void live_blob_unref(void *arg)
{
    struct live_blob *b = arg;
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    atomic_fetch_sub(&live_blobs, 1);
    free(b);
}

long live_live_blobs(void)
{
    return atomic_load(&live_blobs);
}

void live_blob_printf(struct live_blob **bp, const char *fmt, ...)
{
    struct live_blob *b = *bp;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n <= b->cap - b->len) {
            b->len += (size_t)n;
            break;
        }
        b->cap = (b->cap + (size_t)n) * 2;
        b = horus_realloc(b, sizeof(*b) + b->cap + 1);
        *bp = b;
    }
}

static double seconds(int64_t ticks, uint32_t timescale)
{
    return timescale ? (double)ticks / timescale : 0;
}

unsigned live_target_duration_s(const live_hub *h, const struct live_stream *s)
{
    double target = h->opt.segment_target_ms / 1000.0;
    if (s->max_segment_s > target)
        target = s->max_segment_s;
    /* EXTINF rounded to the nearest integer must not exceed it. */
    unsigned t = (unsigned)lround(target);
    if (t < target)
        t = (unsigned)ceil(target);
    return t ? t : 1;
}

/*
 * RFC 8216bis 4.4.4.9: no part is longer than PART-TARGET, and every part
 * is at least 85% of it except an INDEPENDENT=YES part and the last part
 * of its segment. Both are judged on the parts the playlist lists (not
 * the stream's whole life: one long part after a hole in the camera's
 * frames must not inflate the target for good, leaving every later 0.2 s
 * part under 85% of it). The target is the longest listed part, lowered
 * to the shortest "regular" part / 0.85 when that is less: a rare part
 * stretched by missing frames then overruns the target, rather than every
 * regular part falling short of it. A regular part is not independent,
 * is followed by a part of its own segment, and that part is not
 * independent either (the recorder cuts a part short at every keyframe).
 */
double live_part_target_s(const live_hub *h, const struct live_stream *s)
{
    if (!s->n_segs || !s->n_parts)
        return h->opt.part_target_ms / 1000.0;
    size_t from = s->n_segs > LIVE_PARTS_SHOWN_SEGMENTS ? s->n_segs - LIVE_PARTS_SHOWN_SEGMENTS : 0;
    double longest = 0, shortest_regular = 0;
    for (size_t k = (size_t)(s->segs[from].first_seq - s->parts[0].seq); k < s->n_parts; k++) {
        const media_part *mp = s->parts[k].mp;
        double d = seconds(mp->duration, mp->timescale);
        if (d > longest)
            longest = d;
        bool is_regular = !mp->is_independent && k + 1 < s->n_parts &&
                          s->parts[k + 1].msn == s->parts[k].msn &&
                          !s->parts[k + 1].mp->is_independent;
        if (is_regular && (shortest_regular == 0 || d < shortest_regular))
            shortest_regular = d;
    }
    if (longest <= 0)
        return h->opt.part_target_ms / 1000.0;
    /* Printed with 3 decimals: round up to cover every part, down to stay within 85%. */
    double t = ceil(longest * 1000 - 1e-6) / 1000;
    if (shortest_regular > 0) {
        double cap = floor(shortest_regular / 0.85 * 1000 + 1e-6) / 1000;
        if (t > cap)
            t = cap;
    }
    return t;
}

int64_t live_stream_last_msn(const struct live_stream *s)
{
    return s->n_segs ? (int64_t)s->segs[s->n_segs - 1].msn : -1;
}

bool live_stream_has(const struct live_stream *s, int64_t msn, int64_t part)
{
    if (!s->n_segs)
        return false;
    const struct live_segment *last = &s->segs[s->n_segs - 1];
    if (msn < (int64_t)last->msn)
        return true; /* that segment, or whatever replaced its missing part, is complete */
    if (msn > (int64_t)last->msn)
        return false;
    if (part < 0)
        return last->is_complete;
    return last->is_complete || part < (int64_t)last->n_parts;
}

void live_token_check(const char *token)
{
    if (!token)
        return;
    size_t n = strnlen(token, LIVE_TOKEN_MAX + 1);
    if (n == 0 || n > LIVE_TOKEN_MAX ||
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") != n)
        HORUS_BUG("live media token is empty, longer than %d or not URL-safe", LIVE_TOKEN_MAX);
}

void live_stream_query(const struct live_stream *s, const char *token, char *out)
{
    live_token_check(token);
    if (!token)
        snprintf(out, LIVE_QUERY_MAX, "%s", s->suffix);
    else
        snprintf(out, LIVE_QUERY_MAX, "%s%st=%s", s->suffix, s->suffix[0] ? "&" : "?", token);
}

static void put_date(struct live_blob **b, int64_t wall_us)
{
    char ts[40];
    clock_format_rfc3339_ms(wall_us / 1000, ts, sizeof(ts));
    live_blob_printf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", ts);
}

/* The first segment a playlist of view lists: view's own, or every one when it is gone by. */
static size_t first_listed(const struct live_stream *s, const struct live_view *view)
{
    if (!view || !view->is_set || !s->n_segs || view->msn > s->segs[s->n_segs - 1].msn)
        return 0; /* a stale view (another run's numbers): list everything */
    if (view->msn <= s->segs[0].msn)
        return 0;
    return (size_t)(view->msn - s->segs[0].msn);
}

struct live_blob *live_playlist_render(const live_hub *h, const struct live_stream *s,
                                       bool is_legacy, const char *token,
                                       const struct live_view *view)
{
    char q[LIVE_QUERY_MAX], qv[LIVE_QUERY_MAX + LIVE_VIEW_QUERY_MAX];
    live_stream_query(s, token, q);
    if (view && view->is_set)
        snprintf(qv, sizeof(qv), "%s%sbase_msn=%llu&base_us=%lld", q, q[0] ? "&" : "?",
                 (unsigned long long)view->msn, (long long)view->base_us);
    else
        snprintf(qv, sizeof(qv), "%s", q);
    struct live_blob *b = live_blob_new(2048 + s->n_parts * (96 + strlen(qv)));
    unsigned target = live_target_duration_s(h, s);
    double part_target = live_part_target_s(h, s);
    size_t from = first_listed(s, view);
    const struct live_segment *seg0 = s->n_segs ? &s->segs[from] : NULL;
    live_blob_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%u\n",
                     is_legacy ? 7 : 9, target);
    if (!is_legacy)
        live_blob_printf(&b,
                         "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=%.3f\n"
                         "#EXT-X-PART-INF:PART-TARGET=%.3f\n",
                         3 * part_target, part_target);
    live_blob_printf(&b, "#EXT-X-MEDIA-SEQUENCE:%llu\n#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n",
                     (unsigned long long)(seg0 ? seg0->msn : s->next_msn),
                     (unsigned long long)(seg0 ? seg0->disc_seq : s->disc_seq));
    live_blob_printf(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    uint64_t shown_init = 0;
    size_t parts_from =
        s->n_segs > LIVE_PARTS_SHOWN_SEGMENTS ? s->n_segs - LIVE_PARTS_SHOWN_SEGMENTS : 0;
    for (size_t i = from; i < s->n_segs; i++) {
        const struct live_segment *seg = &s->segs[i];
        if (is_legacy && !seg->is_complete)
            break; /* a plain player must never see the open segment */
        if (i > from && seg->disc_seq != seg[-1].disc_seq)
            live_blob_printf(&b, "#EXT-X-DISCONTINUITY\n");
        if (seg->init_id != shown_init) {
            live_blob_printf(&b, "#EXT-X-MAP:URI=\"init/%s-%llu.mp4%s\"\n", h->run,
                             (unsigned long long)seg->init_id, q);
            shown_init = seg->init_id;
        }
        put_date(&b, seg->wall_us);
        if (!is_legacy && i >= parts_from) {
            size_t k0 = (size_t)(seg->first_seq - s->parts[0].seq);
            for (size_t k = k0; k < k0 + seg->n_parts; k++) {
                const struct live_part *p = &s->parts[k];
                live_blob_printf(&b, "#EXT-X-PART:DURATION=%.5f,URI=\"part/%s-%llu.m4s%s\"%s\n",
                                 seconds(p->mp->duration, p->mp->timescale), h->run,
                                 (unsigned long long)p->seq, qv,
                                 p->mp->is_independent ? ",INDEPENDENT=YES" : "");
            }
        }
        if (seg->is_complete)
            live_blob_printf(&b, "#EXTINF:%.5f,\nsegment/%s-%llu.m4s%s\n",
                             seconds(seg->duration, seg->timescale), h->run,
                             (unsigned long long)seg->msn, qv);
    }
    if (!is_legacy)
        live_blob_printf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part/%s-%llu.m4s%s\"\n", h->run,
                         (unsigned long long)s->next_seq, qv);
    return b;
}

struct live_blob *live_view_bytes(const struct live_view *view, const media_init *init,
                                  int64_t first_dts, uint32_t timescale, const uint8_t *data,
                                  size_t size)
{
    if (!view || !view->is_set || !timescale ||
        (__int128)first_dts * 1000000 / timescale < view->base_us)
        return NULL;
    struct media_tfdt_shift shift;
    media_fmp4_shift_for(init, view->base_us, &shift);
    struct live_blob *b = live_blob_new(size);
    memcpy(b->data, data, size);
    b->len = size;
    media_fmp4_shift_tfdt((uint8_t *)b->data, size, &shift);
    return b;
}
