/*
 * DESIGN: see relay.h and docs/design/0054-rtsp-restream.md. A feed is
 * the sink; its callbacks run on the producer's (ingest) thread and under
 * the feed's lock only move references: into the GOP, and into each
 * reader's ring. A ring that would pass its bounds is emptied and the
 * reader waits for the next keyframe (a skip), so the producer's cost per
 * packet is O(readers) pointer stores, never a wait. Wake-ups happen under
 * the feed's lock (an eventfd write is a counter increment, not I/O that
 * can block), which is what lets relay_reader_next clear the eventfd in
 * the same locked step as it sees the ring empty.
 *
 * Lock order: hub->lock, then feed->lock. Feeds are refcounted: the hub's
 * list holds one reference while attached, each reader one.
 */
#include "relay.h"

#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DEF_GOP_PACKETS 1024
#define DEF_GOP_BYTES ((size_t)16 << 20)
#define DEF_QUEUE_PACKETS 512
#define DEF_QUEUE_BYTES ((size_t)8 << 20)
#define CONTROL_ROOM 8 /* ring slots beyond the packet bound for STREAM/GAP/END */

struct qev {
    enum relay_event_kind kind;
    void *ptr; /* media_stream or media_packet, owned */
    const char *reason;
};

struct feed {
    media_sink sink; /* first: the callbacks find the feed from it */
    _Atomic int refs;
    relay_hub *hub;
    char *camera, *stream; /* owned */
    pthread_mutex_t lock; /* everything below, and every reader's ring */
    media_stream *video, *audio; /* owned: current tracks */
    media_packet **gop; /* owned references; gop[0] is a keyframe when gop_n > 0 */
    size_t gop_n, gop_cap, gop_bytes;
    relay_reader **readers; /* borrowed: a reader removes itself when closed */
    size_t n_readers, cap_readers;
    bool is_ended;
    metrics_series *m_skips; /* borrowed from the registry, may be NULL */
    metrics_series *m_readers;
};

struct relay_reader {
    struct feed *feed; /* one reference */
    int efd; /* -1 with a callback */
    relay_wake_cb wake;
    void *wake_arg;
    /* Under feed->lock. */
    struct qev *ring;
    size_t cap, head, count, n_packets, bytes;
    size_t max_packets, max_bytes;
    bool is_waiting_key; /* give no packet until the next keyframe */
    bool is_skipping; /* the wait is a skip of ours: count what is not given */
    bool needs_tracks; /* queue a STREAM per track before the keyframe */
    struct relay_reader_stats stats;
};

struct relay_hub {
    struct relay_hub_options opt;
    pthread_mutex_t lock; /* feeds */
    struct feed **feeds; /* one reference each */
    size_t n_feeds, cap_feeds;
    metrics_family *f_skips, *f_readers;
};

static struct feed *of(media_sink *sink)
{
    return (struct feed *)sink;
}

static void gop_clear(struct feed *f)
{
    for (size_t i = 0; i < f->gop_n; i++)
        media_packet_unref(f->gop[i]);
    f->gop_n = 0;
    f->gop_bytes = 0;
}

static void feed_unref(struct feed *f)
{
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    gop_clear(f);
    free(f->gop);
    free(f->readers);
    media_stream_unref(f->video);
    media_stream_unref(f->audio);
    pthread_mutex_destroy(&f->lock);
    free(f->camera);
    free(f->stream);
    free(f);
}

/* With feed->lock held: the reader's wake-up, when its ring goes non-empty. */
static void reader_wake(relay_reader *r)
{
    if (r->wake) {
        r->wake(r->wake_arg);
        return;
    }
    uint64_t one = 1;
    ssize_t n = write(r->efd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already huge, so it is readable anyway */
}

static void qev_release(struct qev *e)
{
    if (e->kind == RELAY_EV_STREAM)
        media_stream_unref(e->ptr);
    else if (e->kind == RELAY_EV_PACKET)
        media_packet_unref(e->ptr);
    e->kind = RELAY_EV_NONE;
    e->ptr = NULL;
}

/* With the lock held. Returns how many packets were dropped. */
static size_t ring_clear(relay_reader *r)
{
    size_t dropped = r->n_packets;
    while (r->count) {
        qev_release(&r->ring[r->head]);
        r->head = (r->head + 1) % r->cap;
        r->count--;
    }
    r->head = 0;
    r->n_packets = 0;
    r->bytes = 0;
    return dropped;
}

/* With the lock held; the ring has room (the callers keep CONTROL_ROOM free). */
static void ring_push(relay_reader *r, enum relay_event_kind kind, void *ptr, const char *reason)
{
    horus_assert(r->count < r->cap);
    bool was_empty = r->count == 0;
    r->ring[(r->head + r->count) % r->cap] = (struct qev){kind, ptr, reason};
    r->count++;
    if (kind == RELAY_EV_PACKET) {
        r->n_packets++;
        r->bytes += ((media_packet *)ptr)->size;
    }
    if (was_empty)
        reader_wake(r);
}

/* A control event always finds room: a ring that lacks it is skipped forward first. */
static void skip(struct feed *f, relay_reader *r, size_t extra)
{
    r->stats.skipped_packets += ring_clear(r) + extra;
    r->stats.skips++;
    r->is_waiting_key = true;
    r->is_skipping = true;
    r->needs_tracks = true;
    if (f->m_skips)
        metrics_counter_inc(f->m_skips);
}

static void push_control(struct feed *f, relay_reader *r, enum relay_event_kind kind, void *ptr,
                         const char *reason)
{
    if (r->count + 1 > r->cap)
        skip(f, r, 0);
    ring_push(r, kind, ptr, reason);
}

static void push_tracks(struct feed *f, relay_reader *r)
{
    if (f->video)
        push_control(f, r, RELAY_EV_STREAM, media_stream_ref(f->video), NULL);
    if (f->audio)
        push_control(f, r, RELAY_EV_STREAM, media_stream_ref(f->audio), NULL);
    r->needs_tracks = false;
}

static bool is_key(const struct feed *f, const media_packet *p)
{
    if (p->stream->kind == MEDIA_KIND_VIDEO)
        return p->is_keyframe;
    return !f->video;
}

/* With the lock held: one packet offered to one reader. */
static void reader_offer(struct feed *f, relay_reader *r, media_packet *p)
{
    if (r->is_waiting_key) {
        if (!is_key(f, p)) {
            if (r->is_skipping)
                r->stats.skipped_packets++;
            return;
        }
        r->is_waiting_key = false;
        r->is_skipping = false;
        if (r->needs_tracks)
            push_tracks(f, r);
    }
    if (r->n_packets + 1 > r->max_packets || r->bytes + p->size > r->max_bytes ||
        r->count + CONTROL_ROOM >= r->cap) {
        skip(f, r, 1);
        return;
    }
    ring_push(r, RELAY_EV_PACKET, media_packet_ref(p), NULL);
}

static void gop_add(struct feed *f, media_packet *p)
{
    relay_hub *h = f->hub;
    if (is_key(f, p)) {
        gop_clear(f);
    } else if (f->gop_n == 0) {
        return; /* no keyframe to start from yet */
    } else if (f->gop_n + 1 > h->opt.gop_max_packets ||
               f->gop_bytes + p->size > h->opt.gop_max_bytes) {
        gop_clear(f); /* too long a GOP to keep: new readers wait for a keyframe */
        return;
    }
    if (f->gop_n == f->gop_cap) {
        f->gop_cap = f->gop_cap ? f->gop_cap * 2 : 64;
        f->gop = horus_realloc(f->gop, f->gop_cap * sizeof(*f->gop));
    }
    f->gop[f->gop_n++] = media_packet_ref(p);
    f->gop_bytes += p->size;
}

static void on_stream(media_sink *sink, media_stream *st)
{
    struct feed *f = of(sink);
    media_stream *old;
    pthread_mutex_lock(&f->lock);
    media_stream **slot = st->kind == MEDIA_KIND_VIDEO ? &f->video : &f->audio;
    old = *slot;
    *slot = media_stream_ref(st);
    gop_clear(f);
    for (size_t i = 0; i < f->n_readers; i++) {
        relay_reader *r = f->readers[i];
        if (!r->needs_tracks)
            push_control(f, r, RELAY_EV_STREAM, media_stream_ref(st), NULL);
        if (st->kind == MEDIA_KIND_VIDEO || !f->video)
            r->is_waiting_key = true; /* the new track starts at its keyframe */
    }
    pthread_mutex_unlock(&f->lock);
    media_stream_unref(old);
}

static void on_packet(media_sink *sink, media_packet *p)
{
    struct feed *f = of(sink);
    pthread_mutex_lock(&f->lock);
    gop_add(f, p);
    for (size_t i = 0; i < f->n_readers; i++)
        reader_offer(f, f->readers[i], p);
    pthread_mutex_unlock(&f->lock);
}

static void on_gap(media_sink *sink, const char *reason)
{
    struct feed *f = of(sink);
    pthread_mutex_lock(&f->lock);
    gop_clear(f);
    for (size_t i = 0; i < f->n_readers; i++) {
        relay_reader *r = f->readers[i];
        push_control(f, r, RELAY_EV_GAP, NULL, reason);
        r->is_waiting_key = true;
        r->needs_tracks = true;
    }
    pthread_mutex_unlock(&f->lock);
}

static const struct media_sink_ops feed_ops = {on_stream, on_packet, on_gap};

int relay_hub_new(const struct relay_hub_options *opt, relay_hub **out)
{
    relay_hub *h = horus_calloc(1, sizeof(*h));
    if (opt)
        h->opt = *opt;
    if (!h->opt.gop_max_packets)
        h->opt.gop_max_packets = DEF_GOP_PACKETS;
    if (!h->opt.gop_max_bytes)
        h->opt.gop_max_bytes = DEF_GOP_BYTES;
    pthread_mutex_init(&h->lock, NULL);
    if (h->opt.metrics) {
        h->f_skips = metrics_family_add(
            h->opt.metrics,
            &(struct metrics_desc){
                .type = METRICS_COUNTER,
                .name = "horus_relay_skips_total",
                .help = "Times a reader of the camera stream (re-stream client) fell a queue "
                        "behind and skipped to the next keyframe",
                .labels = "camera,stream",
            });
        h->f_readers = metrics_family_add(
            h->opt.metrics, &(struct metrics_desc){
                                .type = METRICS_GAUGE,
                                .name = "horus_relay_readers",
                                .help = "Readers of the camera stream in the packet relay",
                                .labels = "camera,stream",
                            });
    }
    *out = h;
    return 0;
}

static void feed_end(struct feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->is_ended = true;
    gop_clear(f);
    for (size_t i = 0; i < f->n_readers; i++) {
        push_control(f, f->readers[i], RELAY_EV_END, NULL, NULL);
    }
    pthread_mutex_unlock(&f->lock);
}

void relay_hub_free(relay_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_feeds; i++) {
        if (h->feeds[i]->n_readers)
            HORUS_BUG("relay hub freed with readers open");
        feed_unref(h->feeds[i]);
    }
    free(h->feeds);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* With h->lock held. */
static size_t find(relay_hub *h, const char *camera, const char *stream)
{
    for (size_t i = 0; i < h->n_feeds; i++)
        if (strcmp(h->feeds[i]->camera, camera) == 0 && strcmp(h->feeds[i]->stream, stream) == 0)
            return i;
    return SIZE_MAX;
}

/* With h->lock held: takes the feed out of the list; the caller owns its reference. */
static struct feed *take(relay_hub *h, size_t i)
{
    struct feed *f = h->feeds[i];
    h->feeds[i] = h->feeds[--h->n_feeds];
    return f;
}

media_sink *relay_hub_attach(relay_hub *h, const char *camera, const char *stream)
{
    struct feed *f = horus_calloc(1, sizeof(*f));
    f->sink.ops = &feed_ops;
    atomic_init(&f->refs, 1);
    f->hub = h;
    f->camera = horus_strdup(camera);
    f->stream = horus_strdup(stream);
    pthread_mutex_init(&f->lock, NULL);
    if (h->f_skips) {
        f->m_skips = metrics_series_get(h->f_skips, camera, stream);
        f->m_readers = metrics_series_get(h->f_readers, camera, stream);
    }
    struct feed *old = NULL;
    pthread_mutex_lock(&h->lock);
    size_t i = find(h, camera, stream);
    if (i != SIZE_MAX)
        old = take(h, i);
    if (h->n_feeds == h->cap_feeds) {
        h->cap_feeds = h->cap_feeds ? h->cap_feeds * 2 : 8;
        h->feeds = horus_realloc(h->feeds, h->cap_feeds * sizeof(*h->feeds));
    }
    h->feeds[h->n_feeds++] = f;
    pthread_mutex_unlock(&h->lock);
    if (old) {
        feed_end(old);
        feed_unref(old);
    }
    return &f->sink;
}

void relay_hub_detach(relay_hub *h, const char *camera, const char *stream)
{
    struct feed *f = NULL;
    pthread_mutex_lock(&h->lock);
    size_t i = find(h, camera, stream);
    if (i != SIZE_MAX)
        f = take(h, i);
    pthread_mutex_unlock(&h->lock);
    if (!f)
        return;
    feed_end(f);
    feed_unref(f);
}

/* A new reference to the attached feed of the pair, or NULL. */
static struct feed *feed_get(relay_hub *h, const char *camera, const char *stream)
{
    struct feed *f = NULL;
    pthread_mutex_lock(&h->lock);
    size_t i = find(h, camera, stream);
    if (i != SIZE_MAX) {
        f = h->feeds[i];
        atomic_fetch_add(&f->refs, 1);
    }
    pthread_mutex_unlock(&h->lock);
    return f;
}

int relay_hub_tracks(relay_hub *h, const char *camera, const char *stream, struct relay_tracks *out)
{
    *out = (struct relay_tracks){0};
    struct feed *f = feed_get(h, camera, stream);
    if (!f)
        return -ENOENT;
    pthread_mutex_lock(&f->lock);
    if (f->video)
        out->video = media_stream_ref(f->video);
    if (f->audio)
        out->audio = media_stream_ref(f->audio);
    pthread_mutex_unlock(&f->lock);
    feed_unref(f);
    return out->video || out->audio ? 0 : -EAGAIN;
}

void relay_tracks_release(struct relay_tracks *t)
{
    media_stream_unref(t->video);
    media_stream_unref(t->audio);
    *t = (struct relay_tracks){0};
}

int relay_hub_open(relay_hub *h, const char *camera, const char *stream,
                   const struct relay_reader_options *opt, relay_reader **out)
{
    struct relay_reader_options o = opt ? *opt : (struct relay_reader_options){0};
    int efd = -1;
    if (!o.wake) {
        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0)
            return -errno;
    }
    struct feed *f = feed_get(h, camera, stream);
    if (!f) {
        if (efd >= 0)
            close(efd);
        return -ENOENT;
    }
    relay_reader *r = horus_calloc(1, sizeof(*r));
    r->feed = f;
    r->efd = efd;
    r->wake = o.wake;
    r->wake_arg = o.wake_arg;
    r->max_packets = o.queue_max_packets ? o.queue_max_packets : DEF_QUEUE_PACKETS;
    r->max_bytes = o.queue_max_bytes ? o.queue_max_bytes : DEF_QUEUE_BYTES;
    r->cap = r->max_packets + CONTROL_ROOM + 1;
    r->ring = horus_calloc(r->cap, sizeof(*r->ring));
    r->is_waiting_key = true;

    pthread_mutex_lock(&f->lock);
    if (f->is_ended) {
        ring_push(r, RELAY_EV_END, NULL, NULL);
    } else {
        push_tracks(f, r);
        for (size_t i = 0; i < f->gop_n; i++)
            reader_offer(f, r, f->gop[i]);
        r->stats.skips = 0; /* a GOP longer than the queue is no fault of the reader */
        r->stats.skipped_packets = 0;
        r->is_skipping = false;
        if (f->n_readers == f->cap_readers) {
            f->cap_readers = f->cap_readers ? f->cap_readers * 2 : 4;
            f->readers = horus_realloc(f->readers, f->cap_readers * sizeof(*f->readers));
        }
        f->readers[f->n_readers++] = r;
        if (f->m_readers)
            metrics_gauge_set(f->m_readers, (double)f->n_readers);
    }
    pthread_mutex_unlock(&f->lock);
    *out = r;
    return 0;
}

void relay_reader_close(relay_reader *r)
{
    if (!r)
        return;
    struct feed *f = r->feed;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_readers; i++) {
        if (f->readers[i] == r) {
            f->readers[i] = f->readers[--f->n_readers];
            break;
        }
    }
    if (f->m_readers)
        metrics_gauge_set(f->m_readers, (double)f->n_readers);
    ring_clear(r);
    pthread_mutex_unlock(&f->lock);
    feed_unref(f);
    if (r->efd >= 0)
        close(r->efd);
    free(r->ring);
    free(r);
}

int relay_reader_fd(const relay_reader *r)
{
    return r->efd;
}

int relay_reader_next(relay_reader *r, struct relay_event *ev)
{
    *ev = (struct relay_event){0};
    struct feed *f = r->feed;
    pthread_mutex_lock(&f->lock);
    if (r->count == 0) {
        if (r->efd >= 0) {
            uint64_t v;
            ssize_t n = read(r->efd, &v, sizeof(v));
            (void)n; /* EAGAIN: already clear */
        }
        pthread_mutex_unlock(&f->lock);
        return 0;
    }
    struct qev *e = &r->ring[r->head];
    ev->kind = e->kind;
    if (e->kind == RELAY_EV_STREAM) {
        ev->stream = e->ptr;
    } else if (e->kind == RELAY_EV_PACKET) {
        ev->packet = e->ptr;
        r->n_packets--;
        r->bytes -= ev->packet->size;
        r->stats.packets++;
    }
    ev->reason = e->reason;
    *e = (struct qev){0};
    r->head = (r->head + 1) % r->cap;
    r->count--;
    pthread_mutex_unlock(&f->lock);
    return 1;
}

void relay_event_release(struct relay_event *ev)
{
    media_stream_unref(ev->stream);
    media_packet_unref(ev->packet);
    *ev = (struct relay_event){0};
}

void relay_reader_stats(relay_reader *r, struct relay_reader_stats *out)
{
    pthread_mutex_lock(&r->feed->lock);
    *out = r->stats;
    pthread_mutex_unlock(&r->feed->lock);
}
