/*
 * Private to src/live: the hub's data structures, shared by hub.c (state,
 * publishing, the live thread), playlist.c (rendering) and serve.c (HTTP).
 * Unit tests include it too.
 *
 * Lock order: live_stream.lock, then live_hub.lock (publishing marks a
 * stream dirty while holding its lock); live_camera.viewers_lock alone.
 * No I/O and no logging under a lock.
 */
#ifndef HORUS_LIVE_INT_H
#define HORUS_LIVE_INT_H

#include "live.h"

#include <pthread.h>
#include <stdatomic.h>

#define LIVE_NAME_MAX 65 /* camera ids are at most 64 bytes */
#define LIVE_HASH_BUCKETS 256
#define LIVE_MAX_VIEWERS 64 /* distinct addresses tracked per camera */
#define LIVE_VIEWER_WINDOW_NS (INT64_C(10) * 1000000000) /* "viewer": fetched within 10 s */
#define LIVE_PARTS_SHOWN_SEGMENTS 3 /* EXT-X-PART lines for the last this many segments */
#define LIVE_IDLE_NS (INT64_C(60) * 1000000000) /* unwatched this long: keep one segment */

/* Refcounted bytes: a rendered playlist or a concatenated segment, served by reference. */
struct live_blob {
    _Atomic int refs;
    size_t len, cap;
    char data[];
};

struct live_blob *live_blob_new(size_t cap);
struct live_blob *live_blob_ref(struct live_blob *b);
void live_blob_unref(void *b); /* (struct live_blob *); an http free callback; NULL is a no-op */
/* Appends printf output, growing *b (which must not be shared yet). */
void live_blob_printf(struct live_blob **b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
long live_live_blobs(void);

struct live_part {
    media_part *mp; /* owned reference */
    uint64_t seq; /* stream-wide part number: the part's URI */
    uint64_t msn; /* its segment's media sequence number */
    uint32_t index; /* its position in the segment (_HLS_part) */
};

struct live_segment {
    uint64_t msn;
    uint64_t first_seq; /* seq of its first part */
    uint32_t n_parts;
    int64_t duration; /* sum of its parts, timescale ticks */
    uint32_t timescale;
    int64_t wall_us; /* UTC of its first sample: EXT-X-PROGRAM-DATE-TIME */
    uint64_t disc_seq; /* discontinuity sequence: +1 after every discontinuity */
    uint64_t init_id; /* EXT-X-MAP in force */
    bool is_complete;
    size_t bytes; /* of its parts */
    struct live_blob *cached; /* owned, may be NULL: the whole segment, built on first request */
};

/* A deferred request waiting on a stream: a blocking reload or the hinted next part. */
struct live_waiter {
    struct live_waiter *next;
    http_deferred *d; /* owned handle */
    bool is_part; /* waits for part seq; else for (msn, part) in the playlist */
    int64_t msn, part;
    uint64_t seq;
    media_part *mp; /* owned, set by the flush that answers a part waiter */
    bool has_token;
    char token[LIVE_TOKEN_MAX + 1]; /* a playlist waiter's media token, when has_token */
    struct live_view view; /* the waiter's media time (both kinds) */
    struct live_blob *playlist; /* owned, set by the flush that answers a playlist waiter */
};

struct live_camera;
struct live_stream;

/*
 * One live_hub_attach: the sink it returned and the stream generation it
 * stands for. A part published through an attachment whose generation is
 * no longer the stream's (a segment opened before a camera restart) is
 * dropped and counted. Attachments live until live_hub_free, since a
 * producer may still hold one.
 */
struct live_attachment {
    media_part_sink sink; /* first: the sink pointer is the attachment pointer */
    struct live_stream *s; /* borrowed */
    uint64_t gen;
    struct live_attachment *next; /* in s->attachments, under s->lock */
};

struct live_stream {
    live_hub *hub; /* borrowed */
    struct live_camera *cam; /* borrowed: the owner */
    struct live_stream *next; /* in cam->streams */
    char name[LIVE_NAME_MAX];
    char suffix[LIVE_NAME_MAX + 16]; /* URI query: "" for main, "?stream=<name>" otherwise */
    metrics_series *m_delay; /* under lock: replaced on each attach */
    pthread_mutex_t lock;
    /* under lock: */
    bool is_attached;
    uint64_t gen; /* generation of the current attachment: +1 on every attach */
    struct live_attachment *attachments; /* owned: every attachment so far */
    uint64_t parts_stale; /* published through an older attachment: dropped */
    struct live_part *parts; /* owned: every part of the kept segments, by seq */
    size_t n_parts, cap_parts;
    struct live_segment *segs; /* owned: kept segments by msn; the last may be open */
    size_t n_segs, cap_segs;
    uint64_t next_seq, next_msn;
    uint64_t init_id; /* bumped whenever the init bytes change (but for hrst) */
    uint64_t disc_seq;
    media_init *init; /* owned: the init of the last part */
    bool has_expect; /* expect_dts is valid */
    int64_t expect_dts; /* where the next part should start, for continuity */
    bool is_disc_pending; /* the next segment follows a discontinuity */
    size_t bytes; /* parts plus cached segments */
    double max_segment_s; /* largest complete segment seen: TARGETDURATION */
    uint64_t parts_dropped; /* not independent and no segment to join */
    struct live_waiter *waiters;
    /* under hub->lock: */
    bool is_dirty;
    struct live_stream *dirty_next;
};

struct live_camera {
    char id[LIVE_NAME_MAX];
    struct live_camera *hash_next; /* under hub->lock */
    struct live_stream *streams; /* under hub->lock; never removed */
    metrics_series *m_viewers; /* under hub->lock: replaced on each attach */
    _Atomic int64_t last_seen_ns; /* the last playlist fetch of any stream; 0 = never */
    pthread_mutex_t viewers_lock;
    struct {
        char addr[48];
        int64_t seen_ns;
    } viewers[LIVE_MAX_VIEWERS];
};

struct live_hub {
    struct live_hub_options opt;
    char run[24]; /* this process's run token in media URIs */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct live_camera *buckets[LIVE_HASH_BUCKETS];
    struct live_stream *dirty; /* streams with waiters to check */
    bool is_quitting;
    pthread_t thread;
    bool has_thread;
    metrics_family *f_delay, *f_viewers;
    metrics_series *m_blocking[4]; /* enum live_block_result */
};

enum live_block_result {
    LIVE_BLOCK_AT_ONCE, /* already there */
    LIVE_BLOCK_WOKEN, /* deferred, answered when published */
    LIVE_BLOCK_TIMEOUT, /* deferred, 503 */
    LIVE_BLOCK_REJECTED, /* too far ahead: 400 */
};

/* ---- hub.c ---- */

/* The stream, or NULL when the hub never saw (camera, stream). Pointers stay valid. */
struct live_stream *live_hub_find(live_hub *h, const char *camera, const char *stream);
struct live_camera *live_hub_find_camera(live_hub *h, const char *camera);
/*
 * Publishes a part made under attachment generation gen (the sink callback,
 * exposed for tests); a part from an older generation is dropped and counted
 * in s->parts_stale. Thread: the producer's.
 */
void live_stream_publish(struct live_stream *s, uint64_t gen, media_part *mp);
/* Records addr as a viewer of cam now. */
void live_camera_seen(struct live_camera *cam, const char *addr, int64_t now_ns);
/* Viewers seen within LIVE_VIEWER_WINDOW_NS of now. */
unsigned live_camera_viewers(struct live_camera *cam, int64_t now_ns);
/*
 * Parks w (its d already deferred) on s. Call with s->lock held after
 * checking that w is not satisfied yet.
 */
void live_stream_park(struct live_stream *s, struct live_waiter *w);
void live_hub_count_block(live_hub *h, enum live_block_result r);
/* Milliseconds a blocking request may wait: three target durations. */
unsigned live_hub_block_timeout_ms(const live_hub *h, const struct live_stream *s);
/* end_cb for deferred waiters (arg: the stream). */
void live_waiter_end_cb(http_deferred *d, enum http_defer_end why, void *arg);

/* ---- playlist.c (call with s->lock held) ---- */

/* TARGETDURATION: whole seconds, at least every segment's rounded duration. */
unsigned live_target_duration_s(const live_hub *h, const struct live_stream *s);
/* PART-TARGET in seconds, from the listed parts: at least the longest, and per the 85% rule. */
double live_part_target_s(const live_hub *h, const struct live_stream *s);
/* True when the playlist holds part `part` of segment msn (part < 0: the whole segment). */
bool live_stream_has(const struct live_stream *s, int64_t msn, int64_t part);
/* The last msn a playlist shows (the open segment's), or -1 with no segment. */
int64_t live_stream_last_msn(const struct live_stream *s);
/*
 * Renders the LL-HLS (or, with is_legacy, the plain HLS) media playlist,
 * every URI carrying token when not NULL (see live_serve_playlist), from
 * view's segment on (view may be NULL). Returns a new blob.
 */
struct live_blob *live_playlist_render(const live_hub *h, const struct live_stream *s,
                                       bool is_legacy, const char *token,
                                       const struct live_view *view);
/*
 * The copy of bytes (a part or a segment whose first decode time is
 * first_dts in its primary track's timescale) that view asks for, moved to
 * its media time; NULL when the bytes go as they are (no view, or a first
 * decode time before view's base).
 */
struct live_blob *live_view_bytes(const struct live_view *view, const media_init *init,
                                  int64_t first_dts, uint32_t timescale, const uint8_t *data,
                                  size_t size);
/* Aborts (HORUS_BUG) unless token is NULL or fits LIVE_TOKEN_MAX characters of a URL-safe set. */
void live_token_check(const char *token);
/*
 * The query every URI of s gets: its stream suffix plus "t=<token>" (token
 * may be NULL). out must hold LIVE_QUERY_MAX bytes.
 */
#define LIVE_QUERY_MAX (LIVE_NAME_MAX + 16 + 3 + LIVE_TOKEN_MAX + 1)
/* What a reply sends: a part's own bytes, or a copy moved to a view's media time. */
struct live_payload {
    const void *data;
    size_t len;
    void (*free_cb)(void *arg);
    void *arg;
};
/* The view a viewer who starts now gets (docs/design/0075). s has media; lock held. */
struct live_view live_stream_view(const struct live_stream *s);
/* The payload for a reference to mp, which it takes over. */
struct live_payload live_part_payload(media_part *mp, const struct live_view *view);
/* The longest "&base_msn=<n>&base_us=<n>" a view adds to it. */
#define LIVE_VIEW_QUERY_MAX (2 * 20 + 20)
void live_stream_query(const struct live_stream *s, const char *token, char *out);

#endif
