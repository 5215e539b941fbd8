/*
 * DESIGN: the recorder thread of one volume ("rec-<volume>").
 *
 * Ingest threads call each rec_camera's sink; the sink only takes a
 * reference to the packet and queues it (with a reference to the camera)
 * on one bounded queue shared by every camera of the volume. A full queue
 * refuses the packet: the sink counts the drop and marks the camera, and
 * the next packet it does queue carries the mark (is_resync), so the
 * recorder closes the camera's segment exactly where the hole is (not when
 * it notices the count, which may be packets earlier) and resumes at the
 * next keyframe: a recording never contains a broken GOP. gap_cb marks the
 * camera the same way. Ingest therefore never waits for the disk.
 *
 * The recorder thread keeps at most one open rec_segment per camera
 * stream. A segment starts on a keyframe of the primary track (video, or
 * audio for audio-only streams) and is cut at the first primary keyframe
 * after segment_seconds; each camera's first segment is shorter by a
 * per-camera amount so that 250 cameras do not all rotate in the same
 * second. A codec, size or parameter-set change (new media_stream that is
 * not media_stream_same_params) closes the segment, since the init section
 * must change. Audio that appears after a segment opened joins the next.
 *
 * Live: a camera may be given a media_part_sink (rec_camera_set_part_sink);
 * every segment it opens publishes its parts there, on this thread. The
 * sink only takes a reference under a short lock, so viewers never slow
 * the recorder.
 *
 * Closing a segment inserts its index row through the writer thread
 * (batched with every other camera's rows). ENOSPC from the writer kicks
 * retention; the segment stays usable (the writer truncates the failed
 * part) and recording continues once space is back.
 *
 * Lifetime: a rec_camera is refcounted: the recorder's list holds one
 * reference, each queued packet one more. rec_recorder_remove queues a
 * removal behind the camera's packets; the recorder closes the segment,
 * unlinks the camera and drops the list's reference.
 *
 * Snapshots: the sink also keeps a reference to the latest video keyframe
 * (swapped under kf_lock, a few instructions on the ingest thread), so an
 * HTTP thread can decode "now" without touching the recorder thread or
 * the disk. A gap drops it: a camera that stopped sending has no "now".
 *
 * Lock order: cameras_lock, then a camera's kf_lock; never held across I/O.
 */
#include "recorder.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "path_int.h"
#include "queue.h"
#include "record.h"
#include "thread.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "record"

/*
 * How often the open segments' hashes advance: long enough that most
 * cameras have bytes pending at once (they share the vector lanes), short
 * enough that the packets held for hashing stay small (~0.5 MB per
 * 4 Mbit/s camera per second).
 */
#define HASH_INTERVAL_NS (500 * 1000 * 1000LL)

struct rec_camera {
    media_sink sink; /* first: the sink pointer is the camera pointer */
    _Atomic int refs;
    rec_recorder *r; /* borrowed */
    char *camera;
    char *stream;
    _Atomic bool is_resync_pending; /* a drop or gap since the last queued packet */
    pthread_mutex_t kf_lock; /* guards keyframe only */
    media_packet *keyframe; /* owned: latest video keyframe, NULL after a gap */
    _Atomic(media_part_sink *) part_sink; /* borrowed; NULL = no live consumer */
    _Atomic int64_t open_since_us; /* start of the open segment; 0 = none (for timelines) */
    /* Health (rec_camera_health), monotonic ns; 0 = never: */
    _Atomic int64_t video_ns; /* the sink's last video packet (ingest thread) */
    _Atomic int64_t written_ns; /* last segment opened or part written (recorder thread) */
    _Atomic int64_t failed_ns; /* last failed open, write or close (recorder thread) */
    _Atomic int write_err; /* that failure's code */
    struct rec_camera *next; /* in r->cameras, under cameras_lock */
    /* Recorder thread only: */
    rec_segment *seg;
    media_stream *video, *audio; /* latest streams seen (owned refs) */
    media_stream *seg_video, *seg_audio; /* streams of the open segment (owned refs) */
    int64_t segment_90k;
    int64_t first_segment_90k;
    int64_t audio_only_since_us; /* first audio packet while no video was seen; 0 = none */
    int64_t err_logged_ns; /* when the last write error was logged */
    unsigned err_unlogged; /* write errors since then */
    unsigned nsegments;
    char dir[PATH_MAX];
    metrics_series *m_segments, *m_bytes, *m_dropped, *m_errors, *m_flush, *m_lag;
};

struct rec_msg {
    rec_camera *cam; /* owned reference; NULL = a rec_recorder_sync marker */
    media_packet *pkt; /* owned reference; NULL = remove the camera */
    bool is_resync; /* packets of cam were dropped (or a gap) just before pkt */
    bool *is_synced; /* marker: borrowed from the waiting rec_recorder_sync */
};

struct rec_recorder {
    struct rec_recorder_options opt;
    char *data_dir;
    char *volume;
    horus_queue *queue; /* of struct rec_msg */
    pthread_t thread;
    bool is_started, is_stopped; /* caller's thread only */
    pthread_mutex_t cameras_lock;
    rec_camera *cameras;
    pthread_mutex_t sync_lock; /* guards the markers' is_synced (rec_recorder_sync) */
    pthread_cond_t sync_cond;
    metrics_family *f_segments, *f_bytes, *f_dropped, *f_errors, *f_flush, *f_lag;
};

static void camera_unref(rec_camera *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    media_packet_unref(c->keyframe);
    pthread_mutex_destroy(&c->kf_lock);
    media_stream_unref(c->video);
    media_stream_unref(c->audio);
    media_stream_unref(c->seg_video);
    media_stream_unref(c->seg_audio);
    free(c->camera);
    free(c->stream);
    free(c);
}

static void msg_free(void *item)
{
    struct rec_msg *m = item;
    media_packet_unref(m->pkt);
    camera_unref(m->cam);
    free(m);
}

/* ---- sink callbacks: ingest thread ---- */

/* Replaces the camera's latest keyframe with pkt (NULL clears it). */
static void keep_keyframe(rec_camera *c, media_packet *pkt)
{
    media_packet *ref = pkt ? media_packet_ref(pkt) : NULL;
    pthread_mutex_lock(&c->kf_lock);
    media_packet *old = c->keyframe;
    c->keyframe = ref;
    pthread_mutex_unlock(&c->kf_lock);
    media_packet_unref(old); /* outside the lock: it may free */
}

static void sink_packet(media_sink *sink, media_packet *pkt)
{
    rec_camera *c = (rec_camera *)sink;
    if (pkt->stream->kind == MEDIA_KIND_VIDEO)
        atomic_store(&c->video_ns, clock_monotonic_ns(c->r->opt.clock));
    if (pkt->is_keyframe && pkt->stream->kind == MEDIA_KIND_VIDEO)
        keep_keyframe(c, pkt);
    struct rec_msg *m = horus_malloc(sizeof(*m));
    atomic_fetch_add(&c->refs, 1);
    m->cam = c;
    m->pkt = media_packet_ref(pkt);
    /* The sink has one caller (the ingest thread), so the flag is not lost. */
    m->is_resync = atomic_exchange(&c->is_resync_pending, false);
    if (queue_push(c->r->queue, m) < 0) {
        atomic_store(&c->is_resync_pending, true);
        metrics_counter_inc(c->m_dropped);
        msg_free(m);
    }
}

static void sink_stream(media_sink *sink, media_stream *stream)
{
    /* Streams travel with their packets; a change is detected there. */
}

static void sink_gap(media_sink *sink, const char *reason)
{
    rec_camera *c = (rec_camera *)sink;
    atomic_store(&c->is_resync_pending, true);
    keep_keyframe(c, NULL);
}

static const struct media_sink_ops sink_ops = {
    .stream_cb = sink_stream,
    .packet_cb = sink_packet,
    .gap_cb = sink_gap,
};

/* ---- recorder thread ---- */

/* Records a write's outcome (rc 0: something reached the disk) for the health getters. */
static void note_write(rec_recorder *r, rec_camera *c, int rc)
{
    int64_t now = clock_monotonic_ns(r->opt.clock);
    if (rc == 0) {
        atomic_store(&c->written_ns, now);
        return;
    }
    atomic_store(&c->write_err, rc);
    atomic_store(&c->failed_ns, now);
}

static void row_done(int rc, void *arg)
{
    char *path = arg;
    if (rc < 0)
        log_error_kv(LOG_KV({"path", path}), "index segment: %s", horus_strerror(rc));
    free(path);
}

/* Inserts the index row for a closed segment. */
void rec_recording_row(const struct rec_segment_info *info, const char *data_dir,
                       const char *camera, const char *stream, char codec[80],
                       struct sto_recording_input *row)
{
    size_t dlen = strlen(data_dir);
    const char *rel = info->path;
    if (strncmp(rel, data_dir, dlen) == 0 && rel[dlen] == '/')
        rel += dlen + 1;
    snprintf(codec, 80, "%s%s%s", info->video_codec,
             info->video_codec[0] && info->audio_codec[0] ? "," : "", info->audio_codec);
    *row = (struct sto_recording_input){
        .camera_id = camera,
        .stream = stream,
        .start_us = info->start_wall_us,
        .end_us = info->end_wall_us,
        .path = rel,
        .bytes = info->size_bytes,
        .codec = codec,
        .width = info->width,
        .height = info->height,
        .sha256 = info->sha256_hex,
        .fragments = info->index,
        .fragments_size = info->index_size,
    };
}

/* Inserts the index row for a closed segment. */
static void index_segment(rec_recorder *r, const char *camera, const char *stream,
                          const struct rec_segment_info *info)
{
    char codec[80];
    struct sto_recording_input row;
    rec_recording_row(info, r->data_dir, camera, stream, codec, &row);
    char *path_copy = horus_strdup(row.path);
    int rc = sto_recording_insert_async(r->opt.db, &row, row_done, path_copy);
    if (rc < 0) {
        log_error_kv(LOG_KV({"camera", camera}, {"path", row.path}),
                     "index segment: %s (the file stays; horus check --repair adds it)",
                     horus_strerror(rc));
        free(path_copy);
    }
}

static int64_t close_segment(rec_recorder *r, rec_camera *c, const char *why)
{
    if (!c->seg)
        return 0;
    struct rec_segment_info info;
    memset(&info, 0, sizeof(info));
    atomic_store(&c->open_since_us, 0);
    int rc = rec_segment_close(c->seg, &info);
    c->seg = NULL;
    media_stream_unref(c->seg_video);
    media_stream_unref(c->seg_audio);
    c->seg_video = c->seg_audio = NULL;
    if (rc == -ENODATA)
        return 0;
    if (rc < 0) {
        metrics_counter_inc(c->m_errors);
        note_write(r, c, rc);
        log_error_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                     "close segment: %s; kept up to its last complete part", horus_strerror(rc));
    }
    if (info.path) {
        index_segment(r, c->camera, c->stream, &info);
        metrics_counter_inc(c->m_segments);
        metrics_counter_add(c->m_bytes, (double)info.size_bytes);
        log_debug_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}, {"reason", why}),
                     "segment closed: %s", info.path);
    }
    int64_t end = info.path ? info.end_wall_us : 0;
    rec_segment_info_release(&info);
    return end;
}

/*
 * Opens a segment starting with pkt. start_wall_us is where the previous
 * segment ended when this one continues it without a gap (0 otherwise): the
 * recording then stays contiguous even when the wall-clock mapping of
 * individual packets jitters by a frame.
 */
static void open_segment(rec_recorder *r, rec_camera *c, media_packet *pkt, int64_t continues_us)
{
    int64_t start = pkt->wall_us;
    if (continues_us && llabs(start - continues_us) < 2000000)
        start = continues_us;
    media_stream *streams[2];
    size_t n = 0;
    if (c->video)
        streams[n++] = c->video;
    if (c->audio)
        streams[n++] = c->audio;
    struct rec_segment_options so = {.part_duration_ms = r->opt.part_duration_ms,
                                     .part_sink = atomic_load(&c->part_sink)};
    int rc = rec_segment_open(c->dir, start, streams, n, &so, &c->seg);
    if (rc < 0) {
        c->seg = NULL;
        metrics_counter_inc(c->m_errors);
        note_write(r, c, rc);
        log_error_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                     "open segment in '%s': %s", c->dir, horus_strerror(rc));
        if (rc == -ENOSPC && r->opt.retention)
            rec_retention_kick(r->opt.retention);
        return;
    }
    atomic_store(&c->open_since_us, start);
    note_write(r, c, 0);
    c->seg_video = c->video ? media_stream_ref(c->video) : NULL;
    c->seg_audio = c->audio ? media_stream_ref(c->audio) : NULL;
    c->nsegments++;
}

/* Replaces *slot with s; returns true when the parameters changed. */
static bool track_stream(media_stream **slot, media_stream *s)
{
    if (*slot == s)
        return false;
    bool is_changed = *slot && !media_stream_same_params(*slot, s);
    media_stream_unref(*slot);
    *slot = media_stream_ref(s);
    return is_changed;
}

static void handle_packet(rec_recorder *r, rec_camera *c, media_packet *pkt, bool is_resync)
{
    if (is_resync)
        close_segment(r, c, "packets dropped or source gap");
    media_stream *s = pkt->stream;
    bool is_video = s->kind == MEDIA_KIND_VIDEO;
    if (track_stream(is_video ? &c->video : &c->audio, s))
        close_segment(r, c, "stream parameters changed");
    bool is_primary = is_video || !c->video;
    int64_t continues_us = 0;
    if (c->seg && is_primary && pkt->is_keyframe) {
        int64_t target = c->nsegments == 1 ? c->first_segment_90k : c->segment_90k;
        if (rec_segment_duration_90k(c->seg) >= target)
            continues_us = close_segment(r, c, "length reached");
    }
    if (!c->seg) {
        if (!is_primary || !pkt->is_keyframe)
            return; /* a segment starts on a primary keyframe */
        /*
         * Ingest announces each track with its first packet, and audio often
         * arrives first: give video 3 s to show up before recording a
         * stream as audio-only.
         */
        if (!is_video) {
            if (!c->audio_only_since_us)
                c->audio_only_since_us = pkt->wall_us;
            if (pkt->wall_us - c->audio_only_since_us < 3000000)
                return;
        }
        open_segment(r, c, pkt, continues_us);
        if (!c->seg)
            return;
    }
    /* A track that appeared after the segment opened joins the next one. */
    if ((is_video && s != c->seg_video) || (!is_video && s != c->seg_audio))
        return;
    size_t parts = rec_segment_part_count(c->seg);
    int64_t t0 = clock_monotonic_ns(r->opt.clock);
    int rc = rec_segment_push(c->seg, pkt);
    if (rc == 0 && rec_segment_part_count(c->seg) != parts) {
        /* This push wrote a part: its write time, and how far disk is behind the camera. */
        int64_t t1 = clock_monotonic_ns(r->opt.clock);
        note_write(r, c, 0);
        metrics_histogram_observe(c->m_flush, (double)(t1 - t0) / 1e9);
        if (pkt->arrival_ns)
            metrics_gauge_set(c->m_lag, (double)(t1 - pkt->arrival_ns) / 1e9);
    }
    if (rc == 0 || rc == -EAGAIN)
        return;
    metrics_counter_inc(c->m_errors);
    note_write(r, c, rc);
    /* A full or failing disk fails every part: log the first, then a count every 10 s. */
    int64_t now = clock_monotonic_ns(r->opt.clock);
    if (c->err_logged_ns && now - c->err_logged_ns < INT64_C(10000000000)) {
        c->err_unlogged++;
    } else {
        log_error_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                     "write part: %s; the part is lost, recording continues (%u more since the "
                     "last report)",
                     horus_strerror(rc), c->err_unlogged);
        c->err_logged_ns = now;
        c->err_unlogged = 0;
    }
    if (rc == -ENOSPC && r->opt.retention)
        rec_retention_kick(r->opt.retention);
}

static void unlink_camera(rec_recorder *r, rec_camera *c)
{
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera **p = &r->cameras; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->cameras_lock);
}

/*
 * Advances the SHA-256 of every open segment together (vector lanes; see
 * sha256_mb.c). Segments are only closed or freed on this thread, so the
 * pointers stay valid after the lock is dropped.
 */
static void hash_open_segments(rec_recorder *r)
{
    rec_segment *segs[256];
    size_t n = 0;
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        if (c->seg)
            segs[n++] = c->seg;
        if (n == HORUS_ARRAY_LEN(segs)) {
            pthread_mutex_unlock(&r->cameras_lock);
            rec_segments_hash(segs, n);
            n = 0;
            pthread_mutex_lock(&r->cameras_lock);
        }
    }
    pthread_mutex_unlock(&r->cameras_lock);
    rec_segments_hash(segs, n);
}

/* Closes c's segment, takes it off the list and drops the list's reference. */
static void remove_camera(rec_recorder *r, rec_camera *c)
{
    close_segment(r, c, "camera removed");
    unlink_camera(r, c);
    camera_unref(c);
}

static void *recorder_main(void *arg)
{
    rec_recorder *r = arg;
    void *batch[256];
    int64_t hashed_ns = clock_monotonic_ns(r->opt.clock);
    for (;;) {
        int64_t now = clock_monotonic_ns(r->opt.clock);
        if (now - hashed_ns >= HASH_INTERVAL_NS) {
            hash_open_segments(r);
            hashed_ns = now;
        }
        int n = queue_pop_batch(r->queue, batch, HORUS_ARRAY_LEN(batch), 1000);
        if (n == HORUS_ESTOPPED)
            break;
        for (int i = 0; i < n; i++) {
            struct rec_msg *m = batch[i];
            if (m->pkt) {
                handle_packet(r, m->cam, m->pkt, m->is_resync);
            } else if (!m->cam) {
                pthread_mutex_lock(&r->sync_lock);
                *m->is_synced = true;
                pthread_cond_broadcast(&r->sync_cond);
                pthread_mutex_unlock(&r->sync_lock);
            } else {
                remove_camera(r, m->cam); /* drops the list's reference the message carried */
                m->cam = NULL;
            }
            msg_free(m);
        }
    }
    return NULL;
}

/* ---- public ---- */

rec_recorder *rec_recorder_new(const struct rec_recorder_options *opt)
{
    rec_recorder *r = horus_calloc(1, sizeof(*r));
    r->opt = *opt;
    r->data_dir = horus_strdup(opt->data_dir);
    r->volume = horus_strdup(opt->volume ? opt->volume : "0");
    r->opt.data_dir = r->data_dir;
    r->opt.volume = r->volume;
    if (!r->opt.clock)
        r->opt.clock = clock_system();
    r->queue = queue_new(opt->queue_max ? opt->queue_max : 65536);
    pthread_mutex_init(&r->cameras_lock, NULL);
    pthread_mutex_init(&r->sync_lock, NULL);
    pthread_cond_init(&r->sync_cond, NULL);
    r->f_segments = metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_record_segments_total",
                                             .help = "Segment files closed and indexed",
                                             .labels = "camera,stream"});
    r->f_bytes = metrics_family_add(opt->metrics,
                                    &(struct metrics_desc){.type = METRICS_COUNTER,
                                                           .name = "horus_record_bytes_total",
                                                           .help = "Bytes of closed segment files",
                                                           .labels = "camera,stream"});
    r->f_dropped = metrics_family_add(
        opt->metrics,
        &(struct metrics_desc){.type = METRICS_COUNTER,
                               .name = "horus_record_dropped_packets_total",
                               .help = "Packets not recorded because the recorder queue was full",
                               .labels = "camera,stream"});
    r->f_errors = metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_record_write_errors_total",
                                             .help = "Failed segment opens, part writes, closes",
                                             .labels = "camera,stream"});
    r->f_flush = metrics_family_add(
        opt->metrics,
        &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                               .name = "horus_record_part_flush_seconds",
                               .help = "Time to write one part (moof+mdat) to the segment file",
                               .labels = "camera,stream",
                               .buckets = metrics_latency_buckets,
                               .nbuckets = metrics_latency_nbuckets});
    r->f_lag = metrics_family_add(
        opt->metrics,
        &(struct metrics_desc){
            .type = METRICS_GAUGE,
            .name = "horus_record_lag_seconds",
            .help = "From the arrival of the packet that completed a part to the part on disk",
            .labels = "camera,stream"});
    return r;
}

int rec_recorder_start(rec_recorder *r)
{
    char name[16];
    snprintf(name, sizeof(name), "rec-%s", r->volume);
    int rc = horus_thread_start(&r->thread, name, recorder_main, r);
    if (rc == 0)
        r->is_started = true;
    return rc;
}

/* FNV-1a: a stable per-camera number for staggering rotations. */
static uint32_t name_hash(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *p = a; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (const char *p = b; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

rec_camera *rec_recorder_add(rec_recorder *r, const char *camera, const char *stream,
                             int64_t segment_seconds)
{
    rec_camera *c = horus_calloc(1, sizeof(*c));
    c->sink.ops = &sink_ops;
    atomic_init(&c->refs, 1);
    c->r = r;
    pthread_mutex_init(&c->kf_lock, NULL);
    c->camera = horus_strdup(camera);
    c->stream = horus_strdup(stream);
    c->segment_90k = (segment_seconds > 0 ? segment_seconds : 60) * 90000;
    /* The first segment is 50-100% long, different per camera. */
    c->first_segment_90k =
        c->segment_90k / 2 + (int64_t)(name_hash(camera, stream) % (uint32_t)(c->segment_90k / 2));
    /* PATH_MAX holds it: the data directory's own paths are PATH_MAX at most. */
    (void)rec_path_stream_dir(c->dir, sizeof(c->dir), r->data_dir, camera, stream);
    c->m_segments = metrics_series_get(r->f_segments, camera, stream);
    c->m_bytes = metrics_series_get(r->f_bytes, camera, stream);
    c->m_dropped = metrics_series_get(r->f_dropped, camera, stream);
    c->m_errors = metrics_series_get(r->f_errors, camera, stream);
    c->m_flush = metrics_series_get(r->f_flush, camera, stream);
    c->m_lag = metrics_series_get(r->f_lag, camera, stream);
    pthread_mutex_lock(&r->cameras_lock);
    c->next = r->cameras;
    r->cameras = c;
    pthread_mutex_unlock(&r->cameras_lock);
    return c;
}

media_sink *rec_camera_sink(rec_camera *c)
{
    return &c->sink;
}

int rec_recorder_latest_keyframe(rec_recorder *r, const char *camera, const char *stream,
                                 media_packet **out)
{
    int rc = -ENOENT;
    *out = NULL;
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        if (strcmp(c->camera, camera) != 0 || strcmp(c->stream, stream) != 0)
            continue;
        pthread_mutex_lock(&c->kf_lock);
        if (c->keyframe) {
            *out = media_packet_ref(c->keyframe);
            rc = 0;
        } else {
            rc = -EAGAIN;
        }
        pthread_mutex_unlock(&c->kf_lock);
        break;
    }
    pthread_mutex_unlock(&r->cameras_lock);
    return rc;
}

int rec_recorder_recording_since(rec_recorder *r, const char *camera, const char *stream,
                                 int64_t *since_us)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        if (strcmp(c->camera, camera) != 0 || strcmp(c->stream, stream) != 0)
            continue;
        int64_t since = atomic_load(&c->open_since_us);
        if (since > 0) {
            *since_us = since;
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&r->cameras_lock);
    return rc;
}

void rec_camera_set_part_sink(rec_camera *c, media_part_sink *sink)
{
    atomic_store(&c->part_sink, sink);
}

void rec_recorder_remove(rec_recorder *r, rec_camera *c)
{
    if (!r->is_started || r->is_stopped) {
        /* No recorder thread to hand it to (never started, or stopped): do it here. */
        remove_camera(r, c);
        return;
    }
    struct rec_msg *m = horus_calloc(1, sizeof(*m));
    m->cam = c; /* takes over the caller's (the list's) reference */
    /* A removal must not be lost: wait for room behind the camera's packets. */
    if (queue_push_wait(r->queue, m) < 0) {
        /* Closed under us: the list keeps its reference, rec_recorder_free drops it. */
        m->cam = NULL;
        msg_free(m);
    }
}

void rec_recorder_stop(rec_recorder *r)
{
    if (!r || r->is_stopped)
        return;
    r->is_stopped = true;
    queue_close(r->queue); /* the thread drains what is queued, then ends */
    if (r->is_started)
        pthread_join(r->thread, NULL);
    /* Close what is still open; the writer thread indexes the rows. */
    for (rec_camera *c = r->cameras; c; c = c->next)
        close_segment(r, c, "shutdown");
}

void rec_recorder_sync(rec_recorder *r)
{
    bool is_synced = false;
    struct rec_msg *m = horus_calloc(1, sizeof(*m)); /* cam and pkt NULL: a marker */
    m->is_synced = &is_synced;
    /* Like a removal, the marker must not be lost: wait for room. */
    int rc = queue_push_wait(r->queue, m);
    if (rc < 0) {
        msg_free(m); /* stopped: nothing will be handled any more */
        return;
    }
    pthread_mutex_lock(&r->sync_lock);
    while (!is_synced)
        pthread_cond_wait(&r->sync_cond, &r->sync_lock);
    pthread_mutex_unlock(&r->sync_lock);
}

void rec_recorder_free(rec_recorder *r)
{
    if (!r)
        return;
    rec_recorder_stop(r);
    queue_free(r->queue, msg_free);
    rec_camera *c = r->cameras;
    while (c) {
        rec_camera *next = c->next;
        camera_unref(c);
        c = next;
    }
    pthread_mutex_destroy(&r->cameras_lock);
    pthread_mutex_destroy(&r->sync_lock);
    pthread_cond_destroy(&r->sync_cond);
    free(r->data_dir);
    free(r->volume);
    free(r);
}

/* ---- crash recovery ---- */

/* One recovery walk: its recorder and count (no process-wide state). */
struct recover_walk {
    rec_recorder *r; /* borrowed */
    int recovered;
};

static void recover_one(struct recover_walk *w, const char *path)
{
    /* <data_dir>/recordings/<camera>/<stream>/<date>/<time>.mp4.part */
    struct rec_path p;
    size_t dlen = strlen(w->r->data_dir);
    bool has_stream = strncmp(path, w->r->data_dir, dlen) == 0 && path[dlen] == '/' &&
                      rec_path_parse(path + dlen + 1, &p) != -EINVAL;
    const char *camera = has_stream ? p.camera : NULL, *stream = has_stream ? p.stream : NULL;
    struct rec_segment_info info;
    memset(&info, 0, sizeof(info));
    int rc = rec_segment_recover(path, &info);
    if (rc == HORUS_EPARSE) {
        log_warn_kv(LOG_KV({"path", path}), "no complete init segment in a crashed file: removed");
        unlink(path);
    } else if (rc < 0) {
        log_error_kv(LOG_KV({"path", path}), "recover segment: %s", horus_strerror(rc));
    } else if (camera && stream) {
        index_segment(w->r, camera, stream, &info);
        w->recovered++;
        log_info_kv(LOG_KV({"camera", camera}, {"path", info.path}),
                    "recovered a segment left open by a crash (%zu parts)", info.n_parts);
    }
    rec_segment_info_release(&info);
}

/* Recovers every *.part file under dir, depth first; symlinks are not followed. */
static void recover_dir(struct recover_walk *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        size_t len = strlen(path);
        if (S_ISDIR(st.st_mode) && depth < 16)
            recover_dir(w, path, depth + 1);
        else if (S_ISREG(st.st_mode) && len >= 5 && strcmp(path + len - 5, ".part") == 0)
            recover_one(w, path);
    }
    closedir(d);
}

int rec_recorder_recover(rec_recorder *r)
{
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/recordings", r->data_dir);
    if (access(root, F_OK) < 0)
        return 0;
    struct recover_walk w = {.r = r};
    recover_dir(&w, root, 0);
    return w.recovered;
}

/* ---- health (Thread: any) ---- */

/* ns -> ms since then, or -1 for "never" (0). */
static int64_t age_ms(const horus_clock *clock, int64_t then_ns)
{
    return then_ns ? (clock_monotonic_ns(clock) - then_ns) / 1000000 : -1;
}

void rec_camera_health(rec_camera *c, struct rec_camera_health *out)
{
    const horus_clock *clock = c->r->opt.clock;
    int64_t written = atomic_load(&c->written_ns), failed = atomic_load(&c->failed_ns);
    *out = (struct rec_camera_health){
        .video_age_ms = age_ms(clock, atomic_load(&c->video_ns)),
        .written_age_ms = age_ms(clock, written),
        .write_error = failed > written ? atomic_load(&c->write_err) : 0,
    };
}

void rec_recorder_health(rec_recorder *r, struct rec_recorder_health *out)
{
    *out = (struct rec_recorder_health){.is_ok = true};
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        int64_t written = atomic_load(&c->written_ns), failed = atomic_load(&c->failed_ns);
        int64_t failed_ms = age_ms(r->opt.clock, failed);
        if (failed <= written || failed_ms >= REC_HEALTH_WINDOW_MS)
            continue;
        if (out->is_ok || failed_ms < out->failed_age_ms) {
            out->write_error = atomic_load(&c->write_err);
            out->failed_age_ms = failed_ms;
        }
        out->is_ok = false;
        out->failing_streams++;
    }
    pthread_mutex_unlock(&r->cameras_lock);
}
