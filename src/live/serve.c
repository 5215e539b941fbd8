/*
 * DESIGN: answering live HTTP requests from the hub (Thread: http-N).
 * Playlists are rendered under the stream's lock and sent as refcounted
 * blobs; init segments and parts are sent by reference to the recorder's
 * bytes (no copy); a whole segment, which only plain-HLS players ask for,
 * is concatenated once on first request outside the lock and cached with
 * the segment.
 *
 * Blocking requests check, defer, then check again under the lock before
 * parking, so a part published between the two checks is never missed
 * (the publisher wakes the live thread only for parked waiters). The
 * deadline (three target durations) is the HTTP layer's: it answers 503
 * and the waiter is unparked in live_waiter_end_cb.
 *
 * Media tokens: a playlist request's token goes into every URI it lists;
 * a parked blocking reload keeps a copy, so the live thread renders one
 * playlist per distinct token among the waiters it wakes (one per token
 * window, since every viewer of a stream gets the same token in it).
 */
#include "live_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M3U8_TYPE "application/vnd.apple.mpegurl"
#define PART_TYPE "video/iso.segment"
#define INIT_TYPE "video/mp4"
#define MEDIA_CACHE "public, max-age=31536000, immutable"

static void media_init_free_cb(void *arg)
{
    media_init_unref(arg);
}

static void media_part_free_cb(void *arg)
{
    media_part_unref(arg);
}

/* Whether s has media to serve. Lock held. */
static bool has_media(const struct live_stream *s)
{
    return s->is_attached && s->n_segs > 0;
}

static int reply_playlist(http_request *req, struct live_blob *b)
{
    http_reply_header(req, "Cache-Control", "no-cache");
    return http_reply_borrowed(req, 200, M3U8_TYPE, b->data, b->len, live_blob_unref, b);
}

int live_serve_playlist(live_hub *h, http_request *req, const char *camera, const char *stream,
                        bool is_legacy, int64_t msn, int64_t part, const char *token,
                        const struct live_view *view)
{
    live_token_check(token);
    struct live_stream *s = live_hub_find(h, camera, stream);
    if (!s)
        return -ENOENT;
    live_camera_seen(s->cam, http_request_remote(req), clock_monotonic_ns(h->opt.clock));
    bool is_blocking = msn >= 0 && !is_legacy;
    pthread_mutex_lock(&s->lock);
    if (!has_media(s)) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    if (is_blocking) {
        int64_t last = live_stream_last_msn(s);
        if (msn > last + 2) {
            pthread_mutex_unlock(&s->lock);
            live_hub_count_block(h, LIVE_BLOCK_REJECTED);
            return http_reply_error(req, -EINVAL,
                                    "_HLS_msn=%" PRId64 " is more than two segments after the "
                                    "last one (%" PRId64 ")",
                                    msn, last);
        }
        if (!live_stream_has(s, msn, part)) {
            unsigned timeout_ms = live_hub_block_timeout_ms(h, s);
            pthread_mutex_unlock(&s->lock);
            http_reply_header(req, "Cache-Control", "no-cache");
            http_deferred *d = http_request_defer(req, timeout_ms, live_waiter_end_cb, s);
            if (!d)
                return http_reply_error(req, HORUS_ESTOPPED, "the server is stopping");
            struct live_waiter *w = horus_calloc(1, sizeof(*w));
            w->d = d;
            w->msn = msn;
            w->part = part;
            if (token) {
                w->has_token = true;
                snprintf(w->token, sizeof(w->token), "%s", token);
            }
            if (view)
                w->view = *view;
            pthread_mutex_lock(&s->lock);
            if (!has_media(s) || live_stream_has(s, msn, part)) {
                struct live_blob *b =
                    has_media(s) ? live_playlist_render(h, s, false, token, view) : NULL;
                pthread_mutex_unlock(&s->lock);
                free(w);
                live_hub_count_block(h, LIVE_BLOCK_AT_ONCE);
                if (!b) {
                    http_deferred_reply_error(d, -ENOENT, "camera '%s' stream '%s' stopped", camera,
                                              stream);
                    return 0;
                }
                http_deferred_reply_borrowed(d, 200, M3U8_TYPE, b->data, b->len, live_blob_unref,
                                             b);
                return 0;
            }
            live_stream_park(s, w);
            pthread_mutex_unlock(&s->lock);
            return 0;
        }
        live_hub_count_block(h, LIVE_BLOCK_AT_ONCE);
    }
    struct live_blob *b = live_playlist_render(h, s, is_legacy, token, view);
    pthread_mutex_unlock(&s->lock);
    return reply_playlist(req, b);
}

/*
 * Parses "<run>-<n><ext>". Returns 0, or replies 404 naming what is wrong
 * and returns 1.
 */
static int parse_name(live_hub *h, http_request *req, const char *name, const char *ext,
                      const char *what, uint64_t *n)
{
    size_t rlen = strlen(h->run), elen = strlen(ext), len = strlen(name);
    const char *num = name + rlen + 1;
    bool is_shaped = len > rlen + 1 + elen && strncmp(name, h->run, rlen) == 0 &&
                     name[rlen] == '-' && strcmp(name + len - elen, ext) == 0 &&
                     strspn(num, "0123456789") == len - rlen - 1 - elen &&
                     len - rlen - 1 - elen < 20;
    if (!is_shaped) {
        bool is_other_run =
            strchr(name, '-') && strcmp(name + (len > elen ? len - elen : 0), ext) == 0;
        http_reply_error(req, -ENOENT,
                         is_other_run ? "%s '%s' is from an earlier run of the server; reload the "
                                        "playlist"
                                      : "%s '%s' is not a name this server gives out",
                         what, name);
        return 1;
    }
    *n = strtoull(num, NULL, 10);
    return 0;
}

int live_serve_init(live_hub *h, http_request *req, const char *camera, const char *stream,
                    const char *name)
{
    struct live_stream *s = live_hub_find(h, camera, stream);
    if (!s)
        return -ENOENT;
    uint64_t id;
    if (parse_name(h, req, name, ".mp4", "init segment", &id))
        return 0;
    media_init *init = NULL;
    pthread_mutex_lock(&s->lock);
    bool has = has_media(s);
    if (has && id == s->init_id) {
        init = media_init_ref(s->init);
    } else if (has) {
        for (size_t i = 0; i < s->n_segs && !init; i++)
            if (s->segs[i].init_id == id)
                init = media_init_ref(s->parts[s->segs[i].first_seq - s->parts[0].seq].mp->init);
    }
    pthread_mutex_unlock(&s->lock);
    if (!has)
        return -ENOENT;
    if (!init)
        return http_reply_error(req, -ENOENT, "init segment %" PRIu64 " is no longer in memory",
                                id);
    http_reply_header(req, "Cache-Control", MEDIA_CACHE);
    return http_reply_borrowed(req, 200, INIT_TYPE, init->data, init->size, media_init_free_cb,
                               init);
}

/*
 * How far before its segment's first picture a view's media time starts:
 * audio captured just before the keyframe keeps a time above zero.
 */
#define VIEW_LEAD_US 250000

struct live_view live_stream_view(const struct live_stream *s)
{
    size_t complete = s->n_segs;
    if (complete && !s->segs[complete - 1].is_complete)
        complete--;
    /* Plain players start three complete segments before the end (LL-HLS ones later). */
    size_t i = complete > 3 ? complete - 3 : 0;
    const struct live_segment *seg = &s->segs[i];
    const media_part *head = s->parts[seg->first_seq - s->parts[0].seq].mp;
    int64_t us = head->timescale ? (int64_t)((__int128)head->dts * 1000000 / head->timescale) : 0;
    return (struct live_view){
        .is_set = true, .msn = seg->msn, .base_us = us > VIEW_LEAD_US ? us - VIEW_LEAD_US : 0};
}

struct live_payload live_part_payload(media_part *mp, const struct live_view *view)
{
    struct live_blob *b =
        live_view_bytes(view, mp->init, mp->dts, mp->timescale, mp->data, mp->size);
    if (!b)
        return (struct live_payload){mp->data, mp->size, media_part_free_cb, mp};
    media_part_unref(mp);
    return (struct live_payload){b->data, b->len, live_blob_unref, b};
}

int live_serve_part(live_hub *h, http_request *req, const char *camera, const char *stream,
                    const char *name, const struct live_view *view)
{
    struct live_stream *s = live_hub_find(h, camera, stream);
    if (!s)
        return -ENOENT;
    uint64_t seq;
    if (parse_name(h, req, name, ".m4s", "part", &seq))
        return 0;
    pthread_mutex_lock(&s->lock);
    if (!has_media(s)) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    uint64_t first = s->parts[0].seq, next = s->next_seq;
    if (seq >= first && seq < next) {
        media_part *mp = media_part_ref(s->parts[seq - first].mp);
        pthread_mutex_unlock(&s->lock);
        http_reply_header(req, "Cache-Control", MEDIA_CACHE);
        struct live_payload pl = live_part_payload(mp, view);
        return http_reply_borrowed(req, 200, PART_TYPE, pl.data, pl.len, pl.free_cb, pl.arg);
    }
    if (seq != next) {
        pthread_mutex_unlock(&s->lock);
        if (seq < first)
            return http_reply_error(req, -ENOENT,
                                    "part %" PRIu64 " is no longer in memory (the oldest is "
                                    "%" PRIu64 ")",
                                    seq, first);
        return http_reply_error(req, -ENOENT,
                                "part %" PRIu64 " does not exist yet (the next is %" PRIu64 ")",
                                seq, next);
    }
    /* The preload hint: answer when it is published. */
    unsigned timeout_ms = live_hub_block_timeout_ms(h, s);
    pthread_mutex_unlock(&s->lock);
    http_reply_header(req, "Cache-Control", MEDIA_CACHE);
    http_deferred *d = http_request_defer(req, timeout_ms, live_waiter_end_cb, s);
    if (!d)
        return http_reply_error(req, HORUS_ESTOPPED, "the server is stopping");
    struct live_waiter *w = horus_calloc(1, sizeof(*w));
    w->d = d;
    w->is_part = true;
    w->seq = seq;
    if (view)
        w->view = *view;
    pthread_mutex_lock(&s->lock);
    if (has_media(s) && seq < s->next_seq && seq >= s->parts[0].seq) {
        media_part *mp = media_part_ref(s->parts[seq - s->parts[0].seq].mp);
        pthread_mutex_unlock(&s->lock);
        free(w);
        live_hub_count_block(h, LIVE_BLOCK_AT_ONCE);
        struct live_payload pl = live_part_payload(mp, view);
        http_deferred_reply_borrowed(d, 200, PART_TYPE, pl.data, pl.len, pl.free_cb, pl.arg);
        return 0;
    }
    live_stream_park(s, w);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int live_serve_segment(live_hub *h, http_request *req, const char *camera, const char *stream,
                       const char *name, const struct live_view *view)
{
    struct live_stream *s = live_hub_find(h, camera, stream);
    if (!s)
        return -ENOENT;
    uint64_t msn;
    if (parse_name(h, req, name, ".m4s", "segment", &msn))
        return 0;
    pthread_mutex_lock(&s->lock);
    if (!has_media(s)) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    uint64_t first = s->segs[0].msn;
    if (msn < first || msn >= first + s->n_segs || !s->segs[msn - first].is_complete) {
        bool is_old = msn < first;
        pthread_mutex_unlock(&s->lock);
        return http_reply_error(req, -ENOENT, "segment %" PRIu64 " %s", msn,
                                is_old ? "is no longer in memory" : "is not complete yet");
    }
    struct live_segment *seg = &s->segs[msn - first];
    const media_part *head = s->parts[seg->first_seq - s->parts[0].seq].mp;
    media_init *init = media_init_ref(head->init);
    int64_t first_dts = head->dts;
    uint32_t timescale = head->timescale;
    struct live_blob *b = seg->cached ? live_blob_ref(seg->cached) : NULL;
    media_part **parts = NULL;
    size_t n = 0;
    if (!b) {
        /* Take the parts and concatenate them outside the lock. */
        n = seg->n_parts;
        parts = horus_malloc((n ? n : 1) * sizeof(*parts));
        size_t k0 = (size_t)(seg->first_seq - s->parts[0].seq);
        for (size_t k = 0; k < n; k++)
            parts[k] = media_part_ref(s->parts[k0 + k].mp);
    }
    pthread_mutex_unlock(&s->lock);
    if (!b) {
        size_t total = 0;
        for (size_t k = 0; k < n; k++)
            total += parts[k]->size;
        b = live_blob_new(total);
        for (size_t k = 0; k < n; k++) {
            memcpy(b->data + b->len, parts[k]->data, parts[k]->size);
            b->len += parts[k]->size;
            media_part_unref(parts[k]);
        }
        free(parts);
        pthread_mutex_lock(&s->lock);
        /* The segment may have been evicted (or cached by another request) meanwhile. */
        if (s->n_segs && msn >= s->segs[0].msn && msn < s->segs[0].msn + s->n_segs) {
            struct live_segment *again = &s->segs[msn - s->segs[0].msn];
            if (!again->cached) {
                again->cached = live_blob_ref(b);
                s->bytes += b->len;
            }
        }
        pthread_mutex_unlock(&s->lock);
    }
    struct live_blob *moved =
        live_view_bytes(view, init, first_dts, timescale, (const uint8_t *)b->data, b->len);
    media_init_unref(init);
    if (moved) {
        live_blob_unref(b);
        b = moved;
    }
    http_reply_header(req, "Cache-Control", MEDIA_CACHE);
    return http_reply_borrowed(req, 200, PART_TYPE, b->data, b->len, live_blob_unref, b);
}

int live_serve_master(live_hub *h, http_request *req, const char *camera,
                      const struct live_token_source *tokens)
{
    struct live_camera *c = live_hub_find_camera(h, camera);
    if (!c)
        return -ENOENT;
    live_camera_seen(c, http_request_remote(req), clock_monotonic_ns(h->opt.clock));
    struct live_blob *b = live_blob_new(1024);
    live_blob_printf(&b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    int variants = 0;
    /* Streams are never freed while the hub lives; take the list under the hub's lock. */
    struct live_stream *streams[8];
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    for (struct live_stream *s = c->streams; s && n < 8; s = s->next)
        streams[n++] = s;
    pthread_mutex_unlock(&h->lock);
    for (size_t k = 0; k < n; k++) {
        struct live_stream *s = streams[k];
        /* The token first: issuing takes the auth module's lock, never under ours. */
        char token[LIVE_TOKEN_MAX + 1];
        bool has_token =
            tokens && tokens->issue(tokens->arg, camera, s->name, token, sizeof(token)) > 0;
        char q[LIVE_QUERY_MAX];
        live_stream_query(s, has_token ? token : NULL, q);
        pthread_mutex_lock(&s->lock);
        if (has_media(s)) {
            const media_init *init = s->init;
            char codecs[80] = "";
            for (size_t i = 0; i < init->n_streams; i++)
                snprintf(codecs + strlen(codecs), sizeof(codecs) - strlen(codecs), "%s%s",
                         i ? "," : "", init->streams[i]->codec_string);
            int64_t ticks = 0;
            size_t bytes = 0;
            for (size_t i = 0; i < s->n_segs; i++) {
                ticks += s->segs[i].duration;
                bytes += s->segs[i].bytes;
            }
            uint32_t ts = s->segs[0].timescale;
            double secs = ts ? (double)ticks / ts : 0;
            unsigned long bandwidth = secs > 0 ? (unsigned long)(bytes * 8 / secs * 1.2) : 1000000;
            const media_stream *v = init->streams[init->primary];
            live_blob_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%lu,CODECS=\"%s\"", bandwidth,
                             codecs);
            if (v->kind == MEDIA_KIND_VIDEO && v->width)
                live_blob_printf(&b, ",RESOLUTION=%ux%u", v->width, v->height);
            struct live_view view = live_stream_view(s);
            live_blob_printf(&b, "\nindex.m3u8%s%sbase_msn=%llu&base_us=%lld\n", q,
                             q[0] ? "&" : "?", (unsigned long long)view.msn,
                             (long long)view.base_us);
            variants++;
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (!variants) {
        live_blob_unref(b);
        return -ENOENT;
    }
    return reply_playlist(req, b);
}
