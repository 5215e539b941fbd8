/*
 * DESIGN: HLS media playlists over recorded segment files, without
 * touching the files: everything comes from the index rows and their part
 * index blobs (offset, size, 90 kHz start and duration, keyframe flag per
 * moof+mdat). The player fetches each file's init section and then byte
 * ranges of whole parts, which the API serves with sendfile.
 *
 * Grouping: a media segment starts on a part flagged as starting with a
 * keyframe and takes the following parts until the first keyframe part
 * after PB_SEGMENT_TARGET_90K (4 s), the end of the file, a hole, or the
 * end of the range. Consecutive parts are adjacent in the file, so a
 * segment is one EXT-X-BYTERANGE. Only the keyframe flag is trusted: with
 * a writer that cuts parts anywhere, segments simply grow to the next
 * flagged part (at worst the whole file).
 *
 * Discontinuities: between files whose times are more than
 * PB_GAP_TOLERANCE_US apart (either way) or whose codec string or
 * resolution differ (their init sections differ in a way that matters),
 * and at a hole of the same size between parts inside a file. After one,
 * parts are skipped up to the next keyframe part. Every file starts with
 * EXT-X-MAP (its own init bytes) and PROGRAM-DATE-TIME, and so does the
 * first segment after a discontinuity, so a player can always place a
 * segment on the wall clock.
 *
 * Open segments (docs/design/0032): files the index does not have yet
 * (the segment being written, the one just closed) come from the recorder
 * through the caller and are listed after the rows. An open file's last
 * segment is held back until it cannot grow (a later keyframe part cut
 * it, or a part starts at or after the range's end), so an EVENT playlist
 * only gains segments; pb_file_reaches says when such a range is complete.
 *
 * With a media token (opt->token), every URI ends with "t=<token>", so
 * players that cannot send headers fetch the byte ranges with it.
 *
 * Thread: any; no state.
 */
#include "playback.h"

#include "checked.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "playback"

#define TOLERANCE_90K (PB_GAP_TOLERANCE_US * 9 / 100)

/* One media segment to be written. */
struct seg {
    size_t file;
    uint64_t offset, size;
    int64_t start_90k, end_90k; /* relative to the file's start */
    bool is_discontinuity;
    bool has_map; /* first segment of its file */
};

struct segs {
    struct seg *items;
    size_t n, cap;
};

static struct seg *segs_push(struct segs *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->items = horus_realloc(s->items, s->cap * sizeof(*s->items));
    }
    memset(&s->items[s->n], 0, sizeof(s->items[0]));
    return &s->items[s->n++];
}

/*
 * (a_us - b_us) in 90 kHz ticks, rounding toward minus infinity so a start
 * is never late. a_us is a request's start or end: a difference or
 * product out of range saturates (the part walk clips to the file anyway).
 */
static int64_t rel_90k(int64_t a_us, int64_t b_us)
{
    int64_t us, t;
    if (!horus_sub_i64(a_us, b_us, &us))
        return a_us < b_us ? INT64_MIN : INT64_MAX;
    if (!horus_mul_i64(us, 9, &t))
        return us < 0 ? INT64_MIN : INT64_MAX;
    return t / 100 - (t % 100 < 0);
}

static bool same_init(const struct pb_file *a, const struct pb_file *b)
{
    return a->width == b->width && a->height == b->height &&
           strcmp(a->codec ? a->codec : "", b->codec ? b->codec : "") == 0;
}

/* Index of the keyframe part at or before rel_90k, else the first keyframe part, else n. */
static size_t start_part(const struct pb_file *f, int64_t rel_90k)
{
    size_t best = f->nparts;
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i].start_90k > rel_90k && best != f->nparts)
            break;
        if (f->parts[i].is_keyframe)
            best = i;
    }
    return best;
}

struct grouper {
    struct segs segs;
    struct seg *cur; /* open segment, or NULL */
    bool need_keyframe; /* at the start and after a discontinuity */
    bool pending_discontinuity;
    bool has_emitted;
    size_t discontinuities;
    size_t files;
};

/*
 * Takes back the segment still growing at the end of an open file: once
 * listed in an EVENT playlist a segment may not change (RFC 8216bis
 * §6.2.1), and the next keyframe part, or a part past the range's end,
 * is not written yet. It is listed on a later reload, whole.
 */
static void withhold_last(struct grouper *g)
{
    struct seg *s = g->cur;
    if (s->has_map)
        g->files--;
    if (s->is_discontinuity)
        g->discontinuities--;
    g->pending_discontinuity = s->is_discontinuity;
    g->segs.n--;
    g->has_emitted = g->segs.n > 0;
    g->cur = NULL;
}

bool pb_file_reaches(const struct pb_file *f, int64_t end_us)
{
    if (f->start_us >= end_us)
        return true;
    int64_t rel_end = rel_90k(end_us, f->start_us);
    return f->nparts > 0 && f->parts[f->nparts - 1].start_90k >= rel_end;
}

static void group_file(struct grouper *g, const struct pb_file *files, size_t fi,
                       const struct pb_playlist_options *opt)
{
    const struct pb_file *f = &files[fi];
    int64_t rel_end = rel_90k(opt->end_us, f->start_us);
    size_t first = 0;
    if (!g->has_emitted) {
        /* Snap back to the keyframe at or before start; a start before the file takes it all. */
        first = start_part(f, rel_90k(opt->start_us, f->start_us));
    }
    /* A file is a new segment; one that does not start on a keyframe part skips to one. */
    g->need_keyframe = true;
    bool has_map = true;
    bool is_end_reached = false;
    int64_t prev_end = INT64_MIN;
    g->cur = NULL;
    for (size_t i = first; i < f->nparts; i++) {
        const struct sto_part *p = &f->parts[i];
        if (p->start_90k >= rel_end) {
            is_end_reached = true;
            break;
        }
        int64_t hole = prev_end == INT64_MIN ? 0 : p->start_90k - prev_end;
        prev_end = p->start_90k + p->duration_90k;
        if (hole > TOLERANCE_90K || hole < -TOLERANCE_90K) {
            g->cur = NULL;
            if (g->has_emitted)
                g->pending_discontinuity = true;
            g->need_keyframe = true;
        }
        if (g->need_keyframe && !p->is_keyframe) {
            /* Skipped media after media already listed is a jump in time: say so. */
            if (g->has_emitted)
                g->pending_discontinuity = true;
            continue;
        }
        bool is_new = !g->cur || (p->is_keyframe &&
                                  g->cur->end_90k - g->cur->start_90k >= PB_SEGMENT_TARGET_90K);
        if (!is_new) {
            g->cur->size += p->size_bytes;
            g->cur->end_90k = p->start_90k + p->duration_90k;
            continue;
        }
        g->cur = segs_push(&g->segs);
        g->cur->file = fi;
        g->cur->offset = p->offset;
        g->cur->size = p->size_bytes;
        g->cur->start_90k = p->start_90k;
        g->cur->end_90k = p->start_90k + p->duration_90k;
        g->cur->has_map = has_map;
        g->cur->is_discontinuity = g->pending_discontinuity;
        if (g->pending_discontinuity)
            g->discontinuities++;
        if (has_map)
            g->files++;
        has_map = false;
        g->pending_discontinuity = false;
        g->need_keyframe = false;
        g->has_emitted = true;
    }
    if (f->is_open && !is_end_reached && g->cur)
        withhold_last(g);
    g->cur = NULL;
}

/* A growing text buffer; appends never fail (allocation aborts on OOM). */
struct text {
    char *buf;
    size_t len, cap;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)n + 1;
        t->buf = horus_realloc(t->buf, t->cap);
    }
}

static void write_pdt(struct text *t, int64_t us)
{
    char ts[32];
    clock_format_rfc3339_ms(us / 1000 - (us % 1000 < 0), ts, sizeof(ts)); /* floor */
    text_printf(t, "#EXT-X-PROGRAM-DATE-TIME:%s\n", ts);
}

/*
 * The query a file's URI gets: "?m=<offset_us>" (where the file's first
 * picture belongs in the window's media time, docs/design/0074), then
 * "&t=<token>" with a token ("&" first when the URI has a query).
 */
static void uri_query(const char *uri, int64_t offset_us, const char *token, char *out, size_t size)
{
    int n = snprintf(out, size, "%sm=%" PRId64, strchr(uri, '?') ? "&" : "?", offset_us);
    if (token && n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "&t=%s", token);
}

void pb_playlist_render(const struct pb_file *files, size_t n,
                        const struct pb_playlist_options *opt, char **out, size_t *len,
                        struct pb_playlist_info *info)
{
    if (opt->token) {
        size_t tn = strnlen(opt->token, PB_TOKEN_MAX + 1);
        if (tn == 0 || tn > PB_TOKEN_MAX ||
            strspn(opt->token,
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") != tn)
            HORUS_BUG("playback media token is empty, longer than %d or not URL-safe",
                      PB_TOKEN_MAX);
    }
    struct grouper g = {0};
    const struct pb_file *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct pb_file *f = &files[i];
        if (f->start_us >= opt->end_us)
            break;
        if (prev && g.has_emitted) {
            int64_t hole = f->start_us - prev->end_us;
            if (hole > PB_GAP_TOLERANCE_US || hole < -PB_GAP_TOLERANCE_US || !same_init(prev, f))
                g.pending_discontinuity = true;
        }
        size_t before = g.segs.n;
        group_file(&g, files, i, opt);
        if (g.segs.n > before)
            prev = f;
    }

    /* RFC 8216: every EXTINF, rounded to the nearest integer, is at most the target. */
    long target = opt->is_event ? PB_EVENT_MIN_TARGET_S : 1;
    int64_t total = 0;
    for (size_t i = 0; i < g.segs.n; i++) {
        int64_t d = g.segs.items[i].end_90k - g.segs.items[i].start_90k;
        long r = lround((double)d / 90000.0);
        if (r > target)
            target = r;
        total += d;
    }

    size_t qcap = (opt->token ? strlen(opt->token) + 4 : 1) + 24;
    /* Media time 0 of the window: its first segment's first picture. */
    int64_t window_us =
        g.segs.n ? files[g.segs.items[0].file].start_us + g.segs.items[0].start_90k * 100 / 9 : 0;
    char *q = horus_malloc(qcap);
    struct text t = {.cap = 512 + g.segs.n * (160 + 2 * qcap)};
    t.buf = horus_malloc(t.cap);
    t.buf[0] = '\0';
    text_printf(&t,
                "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:%ld\n#EXT-X-MEDIA-SEQUENCE:0\n"
                "#EXT-X-PLAYLIST-TYPE:%s\n#EXT-X-INDEPENDENT-SEGMENTS\n",
                target, opt->is_event ? "EVENT" : "VOD");
    for (size_t i = 0; i < g.segs.n; i++) {
        const struct seg *s = &g.segs.items[i];
        const struct pb_file *f = &files[s->file];
        uri_query(f->uri, f->start_us - window_us, opt->token, q, qcap);
        if (s->is_discontinuity)
            text_printf(&t, "#EXT-X-DISCONTINUITY\n");
        if (s->has_map)
            text_printf(&t, "#EXT-X-MAP:URI=\"%s%s\",BYTERANGE=\"%" PRIu64 "@0\"\n", f->uri, q,
                        f->init_bytes);
        if (s->has_map || s->is_discontinuity)
            write_pdt(&t, f->start_us + s->start_90k * 100 / 9);
        text_printf(&t, "#EXTINF:%.6f,\n#EXT-X-BYTERANGE:%" PRIu64 "@%" PRIu64 "\n%s%s\n",
                    (double)(s->end_90k - s->start_90k) / 90000.0, s->size, s->offset, f->uri, q);
    }
    free(q);
    if (!opt->is_event)
        text_printf(&t, "#EXT-X-ENDLIST\n");

    if (info) {
        memset(info, 0, sizeof(*info));
        info->segments = g.segs.n;
        info->files = g.files;
        info->discontinuities = g.discontinuities;
        info->duration_90k = total;
        if (g.segs.n)
            info->first_us =
                files[g.segs.items[0].file].start_us + g.segs.items[0].start_90k * 100 / 9;
    }
    free(g.segs.items);
    *out = t.buf;
    *len = t.len;
}

int pb_playlist_read(sto_db *db, const char *camera_id, const char *stream,
                     const struct pb_playlist_options *opt, char **out, size_t *len,
                     struct pb_playlist_info *info)
{
    struct sto_recording *rows = NULL;
    size_t nrows = 0;
    int64_t span;
    if (!horus_sub_i64(opt->end_us, opt->start_us, &span) || span <= 0 || span > PB_PLAYLIST_MAX_US)
        return -EINVAL;
    int rc = sto_recordings_seek(db, camera_id, stream, opt->start_us, opt->end_us,
                                 PB_PLAYLIST_MAX_FILES, true, &rows, &nrows);
    if (rc < 0)
        return rc;
    size_t cap = nrows + opt->npending + 1;
    struct pb_file *files = horus_calloc(cap, sizeof(*files));
    struct sto_part **parts = horus_calloc(cap, sizeof(*parts));
    char(*uris)[80] = horus_calloc(cap, sizeof(*uris));
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        const struct sto_recording *r = &rows[i];
        size_t np = 0;
        rc = sto_index_decode(r->fragments, r->fragments_size, &parts[n], &np);
        if (rc < 0 || np == 0) {
            log_warn_kv(LOG_KV({"camera", camera_id}, {"stream", stream}, {"path", r->path}),
                        "recording left out of a playlist: %s",
                        rc < 0 ? "its part index does not decode" : "it has no parts");
            free(parts[n]);
            parts[n] = NULL;
            continue;
        }
        snprintf(uris[n], sizeof(uris[n]), "recordings/%s/%" PRId64 ".mp4", stream, r->start_us);
        files[n] = (struct pb_file){
            .start_us = r->start_us,
            .end_us = r->end_us,
            .uri = uris[n],
            .codec = r->codec,
            .width = r->width,
            .height = r->height,
            .init_bytes = parts[n][0].offset,
            .parts = parts[n],
            .nparts = np,
        };
        n++;
    }
    /* Files not indexed yet: newer than every row, listed unless a row has them already. */
    size_t nindexed = n;
    for (size_t i = 0; i < opt->npending; i++) {
        const struct pb_file *pf = &opt->pending[i];
        bool is_indexed = false;
        for (size_t k = nindexed; k-- > 0 && !is_indexed;)
            is_indexed = files[k].start_us == pf->start_us;
        if (is_indexed || pf->nparts == 0 || pf->start_us >= opt->end_us ||
            pf->end_us <= opt->start_us || (n > 0 && pf->start_us <= files[n - 1].start_us))
            continue;
        snprintf(uris[n], sizeof(uris[n]), "recordings/%s/%" PRId64 ".mp4", stream, pf->start_us);
        files[n] = *pf;
        files[n].uri = uris[n];
        files[n].init_bytes = pf->parts[0].offset;
        n++;
    }
    struct pb_playlist_options ro = *opt;
    ro.pending = NULL;
    ro.npending = 0;
    pb_playlist_render(files, n, &ro, out, len, info);
    for (size_t i = 0; i < nindexed; i++)
        free(parts[i]);
    free(parts);
    free(uris);
    free(files);
    sto_recording_list_free(rows, nrows);
    return 0;
}
