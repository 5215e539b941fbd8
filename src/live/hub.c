/*
 * DESIGN: the live hub: per (camera, stream), the recent parts grouped
 * into segments, in memory, and the requests waiting for the next ones.
 *
 * Publishing (the recorder thread, through the stream's media_part_sink):
 * take a reference to the part under the stream's lock, place it, evict,
 * observe horus_live_part_delay_seconds, and, only when requests wait,
 * mark the stream dirty and signal the "live" thread. The recorder never
 * renders a playlist nor touches a connection, so 200 viewers cost it
 * nothing; the live thread renders each playlist once per publish and
 * media token (waiters carry the token their URIs get; every viewer of a
 * stream has the same one within a token window, two around a window's
 * change) and answers every waiter with the same refcounted bytes.
 *
 * Segments: a segment starts on an independent (keyframe) part and closes
 * when the next independent part arrives after at least segment_target_ms
 * (less half a part, for timestamp jitter),
 * or at a discontinuity. A part that is not independent and has no open
 * segment to join (the start, or after a discontinuity) is dropped:
 * players must be able to start at every segment. Discontinuities: new
 * init bytes (a new EXT-X-MAP id; bytes that differ only in the hrst start
 * time every recorded file stamps are the same init), a new stream epoch
 * (reconnect), a jump
 * of more than 250 ms between a part's dts and where the previous part
 * ended, or a detach/attach. Numbers (part seq, msn, init id, discontinuity
 * sequence) only grow for the hub's lifetime.
 *
 * Generations: every attach starts a new generation of the stream and
 * returns a sink of its own (a live_attachment) stamped with it. A
 * recorder segment keeps the sink it was opened with, so after a camera
 * restart (detach, attach) the old segment's last parts still arrive, on
 * the recorder thread, after the new attachment began; they carry the old
 * generation and are dropped and counted (parts_stale) instead of
 * reaching the new viewers.
 *
 * Memory: at most segments_kept complete segments plus the open one (one
 * complete segment while nobody fetched a playlist of the camera for a
 * minute: 250 unwatched cameras need not hold 10 s of video each), and
 * at most max_stream_bytes: oldest complete segments are dropped first; an
 * open segment that alone outgrows the cap (a GOP of tens of seconds) is
 * dropped too, and the stream restarts at the next keyframe part.
 *
 * Thread: publish on the producer's thread; serving on http-N; waiter
 * flushes and viewer gauges on "live". Lock order in live_int.h.
 */
#include "live_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "live"

#define DEFAULT_PART_MS 200
#define DEFAULT_SEGMENT_MS 2000
#define DEFAULT_SEGMENTS_KEPT 4
#define DEFAULT_MAX_STREAM_BYTES (32u * 1024 * 1024)
#define GAUGE_PERIOD_NS INT64_C(1000000000)

/* Fine around one frame interval (40 ms at 25 fps), where most parts land. */
static const double delay_buckets[] = {0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1,
                                       0.125, 0.15, 0.2,  0.25, 0.3,  0.4,  0.5,  1,    2.5};

static int64_t hub_now_ns(const live_hub *h)
{
    return clock_monotonic_ns(h->opt.clock);
}

/* ---- lookup ---- */

static unsigned hash_id(const char *s)
{
    uint32_t x = 2166136261u;
    for (; *s; s++)
        x = (x ^ (uint8_t)*s) * 16777619u;
    return x % LIVE_HASH_BUCKETS;
}

static struct live_camera *find_camera_locked(live_hub *h, const char *camera)
{
    for (struct live_camera *c = h->buckets[hash_id(camera)]; c; c = c->hash_next)
        if (strcmp(c->id, camera) == 0)
            return c;
    return NULL;
}

static struct live_stream *find_stream_locked(struct live_camera *c, const char *stream)
{
    for (struct live_stream *s = c ? c->streams : NULL; s; s = s->next)
        if (strcmp(s->name, stream) == 0)
            return s;
    return NULL;
}

struct live_camera *live_hub_find_camera(live_hub *h, const char *camera)
{
    pthread_mutex_lock(&h->lock);
    struct live_camera *c = find_camera_locked(h, camera);
    pthread_mutex_unlock(&h->lock);
    return c;
}

struct live_stream *live_hub_find(live_hub *h, const char *camera, const char *stream)
{
    pthread_mutex_lock(&h->lock);
    struct live_stream *s = find_stream_locked(find_camera_locked(h, camera), stream);
    pthread_mutex_unlock(&h->lock);
    return s;
}

/* ---- viewers ---- */

void live_camera_seen(struct live_camera *cam, const char *addr, int64_t now_ns)
{
    atomic_store(&cam->last_seen_ns, now_ns);
    pthread_mutex_lock(&cam->viewers_lock);
    size_t slot = 0;
    for (size_t i = 0; i < LIVE_MAX_VIEWERS; i++) {
        if (strcmp(cam->viewers[i].addr, addr) == 0) {
            slot = i;
            break;
        }
        if (cam->viewers[i].seen_ns < cam->viewers[slot].seen_ns)
            slot = i; /* the stalest entry makes room */
    }
    snprintf(cam->viewers[slot].addr, sizeof(cam->viewers[slot].addr), "%s", addr);
    cam->viewers[slot].seen_ns = now_ns;
    pthread_mutex_unlock(&cam->viewers_lock);
}

unsigned live_camera_viewers(struct live_camera *cam, int64_t now_ns)
{
    unsigned n = 0;
    pthread_mutex_lock(&cam->viewers_lock);
    for (size_t i = 0; i < LIVE_MAX_VIEWERS; i++)
        n += cam->viewers[i].addr[0] && now_ns - cam->viewers[i].seen_ns < LIVE_VIEWER_WINDOW_NS;
    pthread_mutex_unlock(&cam->viewers_lock);
    return n;
}

/* ---- segments and parts (stream lock held) ---- */

static void drop_first_segment(struct live_stream *s)
{
    struct live_segment *seg = &s->segs[0];
    horus_assert(s->n_parts >= seg->n_parts &&
                 (!seg->n_parts || s->parts[0].seq == seg->first_seq));
    for (size_t k = 0; k < seg->n_parts; k++) {
        s->bytes -= s->parts[k].mp->size;
        media_part_unref(s->parts[k].mp);
    }
    s->n_parts -= seg->n_parts;
    memmove(s->parts, s->parts + seg->n_parts, s->n_parts * sizeof(*s->parts));
    if (seg->cached) {
        s->bytes -= seg->cached->len;
        live_blob_unref(seg->cached);
    }
    s->n_segs--;
    memmove(s->segs, s->segs + 1, s->n_segs * sizeof(*s->segs));
}

static void drop_all(struct live_stream *s)
{
    while (s->n_segs)
        drop_first_segment(s);
    s->bytes = 0;
}

static void evict(struct live_stream *s, int64_t now)
{
    const struct live_hub_options *o = &s->hub->opt;
    /* Nobody watched for a minute: one complete segment is enough to start playing at once. */
    int64_t seen = atomic_load(&s->cam->last_seen_ns);
    size_t kept = seen && now - seen < LIVE_IDLE_NS ? o->segments_kept : 1;
    for (;;) {
        size_t complete = s->n_segs;
        if (complete && !s->segs[s->n_segs - 1].is_complete)
            complete--;
        bool is_over = complete > kept || (complete && s->bytes > o->max_stream_bytes);
        if (!is_over)
            break;
        drop_first_segment(s);
    }
    if (s->bytes > o->max_stream_bytes && s->n_segs) {
        /* One open segment above the cap: start again at the next keyframe part. */
        drop_all(s);
        s->is_disc_pending = true;
    }
}

static void close_segment(struct live_stream *s, struct live_segment *seg)
{
    seg->is_complete = true;
    double d = seg->timescale ? (double)seg->duration / seg->timescale : 0;
    if (d > s->max_segment_s)
        s->max_segment_s = d;
}

static struct live_segment *open_segment(struct live_stream *s, const media_part *mp)
{
    if (s->n_segs == s->cap_segs) {
        s->cap_segs = s->cap_segs ? s->cap_segs * 2 : 8;
        s->segs = horus_realloc(s->segs, s->cap_segs * sizeof(*s->segs));
    }
    if (s->is_disc_pending && s->next_msn > 0)
        s->disc_seq++;
    s->is_disc_pending = false;
    struct live_segment *seg = &s->segs[s->n_segs++];
    *seg = (struct live_segment){
        .msn = s->next_msn++,
        .first_seq = s->next_seq,
        .timescale = mp->timescale,
        .wall_us = mp->wall_us,
        .disc_seq = s->disc_seq,
        .init_id = s->init_id,
    };
    return seg;
}

/*
 * Offset of the 8-byte payload of moov/udta/hrst in an init (the writer's
 * start time, src/record/fmp4.c), or 0 when the init has none. Walks the
 * boxes: the tag's bytes may also occur inside codec data.
 */
static size_t hrst_offset(const uint8_t *d, size_t size)
{
    static const char *const path[] = {"moov", "udta", "hrst"};
    size_t at = 0, end = size;
    for (size_t depth = 0; depth < 3;) {
        if (end - at < 8)
            return 0;
        size_t box =
            (size_t)d[at] << 24 | (size_t)d[at + 1] << 16 | (size_t)d[at + 2] << 8 | d[at + 3];
        if (box < 8 || box > end - at)
            return 0;
        if (memcmp(d + at + 4, path[depth], 4) != 0) {
            at += box;
            continue;
        }
        if (depth == 2) /* a full box: version and flags, then the u64 */
            return box >= 20 ? at + 12 : 0;
        end = at + box;
        at += 8;
        depth++;
    }
    return 0;
}

/*
 * Whether a player may keep decoding b's parts with a's init: the same
 * bytes but for the start time each recorded file stamps in its hrst box.
 * One EXT-X-MAP per codec configuration, not one per file: a new MAP and
 * discontinuity at every rotation stops VLC ("no moov before mdat").
 */
static bool is_same_setup(const media_init *a, const media_init *b)
{
    if (media_init_same(a, b))
        return true;
    if (a->size != b->size)
        return false;
    size_t at = hrst_offset(a->data, a->size);
    if (!at || at != hrst_offset(b->data, b->size))
        return false;
    return memcmp(a->data, b->data, at) == 0 &&
           memcmp(a->data + at + 8, b->data + at + 8, a->size - at - 8) == 0;
}

/* Whether mp does not continue the stream where the last part ended. */
static bool is_discontinuous(struct live_stream *s, const media_part *mp)
{
    if (!s->init)
        return false;
    const media_init *a = s->init, *b = mp->init;
    if (a->streams[a->primary]->epoch != b->streams[b->primary]->epoch)
        return true;
    if (!s->has_expect)
        return true;
    int64_t jump = mp->dts - s->expect_dts;
    return llabs(jump) > (int64_t)mp->timescale / 4;
}

static void mark_dirty(struct live_stream *s)
{
    live_hub *h = s->hub;
    pthread_mutex_lock(&h->lock);
    if (!s->is_dirty) {
        s->is_dirty = true;
        s->dirty_next = h->dirty;
        h->dirty = s;
        pthread_cond_signal(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
}

void live_stream_publish(struct live_stream *s, uint64_t gen, media_part *mp)
{
    live_hub *h = s->hub;
    int64_t now = hub_now_ns(h);
    pthread_mutex_lock(&s->lock);
    if (gen != s->gen) {
        s->parts_stale++;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (!s->is_attached || !mp->timescale) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (is_discontinuous(s, mp))
        s->is_disc_pending = true;
    if (!s->init || !is_same_setup(s->init, mp->init)) {
        s->init_id++;
        s->is_disc_pending = s->is_disc_pending || s->init != NULL;
    }
    if (s->init != mp->init) {
        media_init_unref(s->init);
        s->init = media_init_ref(mp->init);
    }
    s->expect_dts = mp->dts + mp->duration;
    s->has_expect = true;
    struct live_segment *open =
        s->n_segs && !s->segs[s->n_segs - 1].is_complete ? &s->segs[s->n_segs - 1] : NULL;
    /* Half a part of slack: a keyframe 2 ms early must not make the segment a GOP longer. */
    int64_t due_ms = (int64_t)h->opt.segment_target_ms - h->opt.part_target_ms / 2;
    if (open && (s->is_disc_pending ||
                 (mp->is_independent && open->duration * 1000 >= due_ms * open->timescale))) {
        close_segment(s, open);
        open = NULL;
    }
    if (!open && !mp->is_independent) {
        s->parts_dropped++;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    if (!open)
        open = open_segment(s, mp);
    if (s->n_parts == s->cap_parts) {
        s->cap_parts = s->cap_parts ? s->cap_parts * 2 : 64;
        s->parts = horus_realloc(s->parts, s->cap_parts * sizeof(*s->parts));
    }
    s->parts[s->n_parts++] = (struct live_part){
        .mp = media_part_ref(mp),
        .seq = s->next_seq++,
        .msn = open->msn,
        .index = open->n_parts,
    };
    open->n_parts++;
    open->duration += mp->duration;
    open->bytes += mp->size;
    s->bytes += mp->size;
    evict(s, now);
    bool has_waiters = s->waiters != NULL;
    metrics_series *m_delay = s->m_delay; /* attach replaces it under s->lock */
    pthread_mutex_unlock(&s->lock);
    if (mp->arrival_ns > 0 && m_delay)
        metrics_histogram_observe(m_delay, (double)(now - mp->arrival_ns) / 1e9);
    if (has_waiters)
        mark_dirty(s);
}

static void sink_part(media_part_sink *sink, media_part *mp)
{
    struct live_attachment *a = (struct live_attachment *)sink;
    live_stream_publish(a->s, a->gen, mp);
}

static const struct media_part_sink_ops sink_ops = {.part_cb = sink_part};

/* ---- waiters ---- */

void live_hub_count_block(live_hub *h, enum live_block_result r)
{
    if (h->m_blocking[r])
        metrics_counter_inc(h->m_blocking[r]);
}

unsigned live_hub_block_timeout_ms(const live_hub *h, const struct live_stream *s)
{
    return live_target_duration_s(h, s) * 3000;
}

void live_stream_park(struct live_stream *s, struct live_waiter *w)
{
    w->next = s->waiters;
    s->waiters = w;
}

/* Removes the waiter holding d; returns it, or NULL when a flush already took it. */
static struct live_waiter *unpark(struct live_stream *s, http_deferred *d)
{
    for (struct live_waiter **p = &s->waiters; *p; p = &(*p)->next) {
        if ((*p)->d == d) {
            struct live_waiter *w = *p;
            *p = w->next;
            return w;
        }
    }
    return NULL;
}

void live_waiter_end_cb(http_deferred *d, enum http_defer_end why, void *arg)
{
    struct live_stream *s = arg;
    pthread_mutex_lock(&s->lock);
    struct live_waiter *w = unpark(s, d);
    pthread_mutex_unlock(&s->lock);
    if (!w)
        return; /* being answered right now; that reply gives the handle back */
    if (why == HTTP_DEFER_TIMEOUT)
        live_hub_count_block(s->hub, LIVE_BLOCK_TIMEOUT);
    http_deferred_release(w->d);
    free(w);
}

/*
 * The playlists one flush renders: one per distinct media token and view
 * among the waiters it wakes. A handful mostly (a token window's change, a
 * reload without a token next to signed ones, viewers who joined at
 * different segments through the multivariant playlist); past
 * FLUSH_RENDERS a waiter gets a render of its own (a few microseconds).
 */
#define FLUSH_RENDERS 4

struct flush_renders {
    struct {
        const char *token; /* borrowed from a waiter; NULL: no token */
        const struct live_view *view; /* borrowed from a waiter */
        struct live_blob *blob; /* owned reference */
    } r[FLUSH_RENDERS];
    size_t n;
};

/* The playlist for w's token, rendered at most once per flush (s->lock held). */
static struct live_blob *flush_render(live_hub *h, struct live_stream *s, struct flush_renders *fr,
                                      const struct live_waiter *w)
{
    const char *token = w->has_token ? w->token : NULL;
    for (size_t i = 0; i < fr->n; i++) {
        bool same =
            token && fr->r[i].token ? strcmp(token, fr->r[i].token) == 0 : token == fr->r[i].token;
        const struct live_view *v = fr->r[i].view;
        if (same && v->is_set == w->view.is_set &&
            (!v->is_set || (v->msn == w->view.msn && v->base_us == w->view.base_us)))
            return live_blob_ref(fr->r[i].blob);
    }
    struct live_blob *b = live_playlist_render(h, s, false, token, &w->view);
    if (fr->n < FLUSH_RENDERS) {
        fr->r[fr->n].token = token;
        fr->r[fr->n].view = &w->view;
        fr->r[fr->n].blob = live_blob_ref(b);
        fr->n++;
    }
    return b;
}

/* Answers every waiter of s whose part or playlist now exists. Thread: live. */
static void flush_stream(live_hub *h, struct live_stream *s)
{
    struct live_waiter *ready = NULL;
    struct flush_renders fr = {.n = 0};
    pthread_mutex_lock(&s->lock);
    struct live_waiter **p = &s->waiters;
    while (*p) {
        struct live_waiter *w = *p;
        bool is_ready;
        if (w->is_part) {
            is_ready =
                s->n_parts && w->seq >= s->parts[0].seq && w->seq < s->parts[0].seq + s->n_parts;
            if (is_ready)
                w->mp = media_part_ref(s->parts[w->seq - s->parts[0].seq].mp);
        } else {
            is_ready = live_stream_has(s, w->msn, w->part);
            if (is_ready)
                w->playlist = flush_render(h, s, &fr, w);
        }
        if (!is_ready) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        w->next = ready;
        ready = w;
    }
    pthread_mutex_unlock(&s->lock);
    while (ready) {
        struct live_waiter *w = ready;
        ready = w->next;
        if (w->mp) {
            struct live_payload pl = live_part_payload(w->mp, &w->view);
            http_deferred_reply_borrowed(w->d, 200, "video/iso.segment", pl.data, pl.len,
                                         pl.free_cb, pl.arg);
        } else {
            /* The reference the waiter holds goes with the reply. */
            http_deferred_reply_borrowed(w->d, 200, "application/vnd.apple.mpegurl",
                                         w->playlist->data, w->playlist->len, live_blob_unref,
                                         w->playlist);
        }
        live_hub_count_block(h, LIVE_BLOCK_WOKEN);
        free(w);
    }
    for (size_t i = 0; i < fr.n; i++)
        live_blob_unref(fr.r[i].blob);
}

static void update_gauges(live_hub *h)
{
    int64_t now = hub_now_ns(h);
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < LIVE_HASH_BUCKETS; i++)
        for (struct live_camera *c = h->buckets[i]; c; c = c->hash_next)
            if (c->m_viewers)
                metrics_gauge_set(c->m_viewers, live_camera_viewers(c, now));
    pthread_mutex_unlock(&h->lock);
}

static void *live_main(void *arg)
{
    live_hub *h = arg;
    int64_t next_gauges = 0;
    pthread_mutex_lock(&h->lock);
    while (!h->is_quitting) {
        if (!h->dirty) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&h->cond, &h->lock, &until);
        }
        struct live_stream *dirty = h->dirty;
        h->dirty = NULL;
        for (struct live_stream *s = dirty; s; s = s->dirty_next)
            s->is_dirty = false;
        pthread_mutex_unlock(&h->lock);
        while (dirty) {
            struct live_stream *s = dirty;
            dirty = s->dirty_next;
            flush_stream(h, s);
        }
        int64_t now = hub_now_ns(h);
        if (now >= next_gauges) {
            update_gauges(h);
            next_gauges = now + GAUGE_PERIOD_NS;
        }
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ---- attach, detach ---- */

media_part_sink *live_hub_attach(live_hub *h, const char *camera, const char *stream)
{
    pthread_mutex_lock(&h->lock);
    struct live_camera *c = find_camera_locked(h, camera);
    if (!c) {
        c = horus_calloc(1, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", camera);
        pthread_mutex_init(&c->viewers_lock, NULL);
        unsigned b = hash_id(camera);
        c->hash_next = h->buckets[b];
        h->buckets[b] = c;
    }
    /* Again on every attach: a deleted camera's series were removed (supervisor). */
    if (h->f_viewers)
        c->m_viewers = metrics_series_get(h->f_viewers, c->id);
    struct live_stream *s = find_stream_locked(c, stream);
    if (!s) {
        s = horus_calloc(1, sizeof(*s));
        s->hub = h;
        s->cam = c;
        snprintf(s->name, sizeof(s->name), "%s", stream);
        if (strcmp(stream, "main") != 0)
            snprintf(s->suffix, sizeof(s->suffix), "?stream=%s", s->name);
        pthread_mutex_init(&s->lock, NULL);
        /* main first: the multivariant playlist lists it first */
        struct live_stream **p = &c->streams;
        if (strcmp(stream, "main") != 0)
            while (*p)
                p = &(*p)->next;
        s->next = *p;
        *p = s;
    }
    pthread_mutex_unlock(&h->lock);
    struct live_attachment *a = horus_calloc(1, sizeof(*a));
    a->sink.ops = &sink_ops;
    a->s = s;
    pthread_mutex_lock(&s->lock);
    if (h->f_delay) /* as m_viewers: fresh if the camera was deleted and made again */
        s->m_delay = metrics_series_get(h->f_delay, s->cam->id, s->name);
    s->is_attached = true;
    a->gen = ++s->gen;
    a->next = s->attachments;
    s->attachments = a;
    pthread_mutex_unlock(&s->lock);
    return &a->sink;
}

void live_hub_detach(live_hub *h, const char *camera, const char *stream)
{
    struct live_stream *s = live_hub_find(h, camera, stream);
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->is_attached = false;
    drop_all(s);
    s->is_disc_pending = true;
    s->has_expect = false;
    struct live_waiter *w = s->waiters;
    s->waiters = NULL;
    pthread_mutex_unlock(&s->lock);
    while (w) {
        struct live_waiter *next = w->next;
        http_deferred_reply_error(w->d, -ENOENT, "camera '%s' stream '%s' stopped", camera, stream);
        free(w);
        w = next;
    }
}

/* ---- lifecycle ---- */

int live_hub_new(const struct live_hub_options *opt, live_hub **out)
{
    live_hub *h = horus_calloc(1, sizeof(*h));
    h->opt = *opt;
    if (!h->opt.part_target_ms)
        h->opt.part_target_ms = DEFAULT_PART_MS;
    if (!h->opt.segment_target_ms)
        h->opt.segment_target_ms = DEFAULT_SEGMENT_MS;
    if (!h->opt.segments_kept)
        h->opt.segments_kept = DEFAULT_SEGMENTS_KEPT;
    if (h->opt.segments_kept < 2)
        h->opt.segments_kept = 2;
    if (!h->opt.max_stream_bytes)
        h->opt.max_stream_bytes = DEFAULT_MAX_STREAM_BYTES;
    if (!h->opt.clock)
        h->opt.clock = clock_system();
    /* Media URIs carry the start time, so a restart never reuses a cached URL. */
    snprintf(h->run, sizeof(h->run), "%llx", (unsigned long long)clock_realtime_ms(h->opt.clock));
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (opt->metrics) {
        h->f_delay = metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){
                .type = METRICS_HISTOGRAM,
                .name = "horus_live_part_delay_seconds",
                .help = "From the arrival of a part's newest packet to the part servable in "
                        "the live hub",
                .labels = "camera,stream",
                .buckets = delay_buckets,
                .nbuckets = sizeof(delay_buckets) / sizeof(delay_buckets[0]),
            });
        h->f_viewers = metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){
                .type = METRICS_GAUGE,
                .name = "horus_live_viewers",
                .help = "Distinct client addresses that fetched a live playlist of the camera "
                        "in the last 10 s",
                .labels = "camera",
            });
        metrics_family *f_block = metrics_family_add(
            opt->metrics, &(struct metrics_desc){
                              .type = METRICS_COUNTER,
                              .name = "horus_live_blocking_requests_total",
                              .help = "Blocking playlist reloads and preload-hinted part "
                                      "requests, by outcome",
                              .labels = "result",
                          });
        static const char *const names[] = {"at_once", "woken", "timeout", "rejected"};
        for (size_t i = 0; i < 4; i++)
            h->m_blocking[i] = metrics_series_get(f_block, names[i]);
    }
    *out = h;
    return 0;
}

int live_hub_start(live_hub *h)
{
    if (h->has_thread)
        return 0;
    pthread_mutex_lock(&h->lock);
    h->is_quitting = false;
    pthread_mutex_unlock(&h->lock);
    int rc = horus_thread_start(&h->thread, "live", live_main, h);
    if (rc == 0)
        h->has_thread = true;
    return rc;
}

void live_hub_stop(live_hub *h)
{
    if (!h || !h->has_thread)
        return;
    pthread_mutex_lock(&h->lock);
    h->is_quitting = true;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    h->has_thread = false;
}

void live_hub_free(live_hub *h)
{
    if (!h)
        return;
    live_hub_stop(h);
    for (size_t i = 0; i < LIVE_HASH_BUCKETS; i++) {
        struct live_camera *c = h->buckets[i];
        while (c) {
            struct live_camera *cnext = c->hash_next;
            struct live_stream *s = c->streams;
            while (s) {
                struct live_stream *snext = s->next;
                drop_all(s);
                while (s->waiters) {
                    struct live_waiter *w = s->waiters;
                    s->waiters = w->next;
                    http_deferred_reply_error(w->d, HORUS_ESTOPPED, "live view is stopping");
                    free(w);
                }
                media_init_unref(s->init);
                while (s->attachments) {
                    struct live_attachment *a = s->attachments;
                    s->attachments = a->next;
                    free(a);
                }
                free(s->parts);
                free(s->segs);
                pthread_mutex_destroy(&s->lock);
                free(s);
                s = snext;
            }
            pthread_mutex_destroy(&c->viewers_lock);
            free(c);
            c = cnext;
        }
    }
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
