/*
 * DESIGN: the recorder of one volume: the public face of three files
 * (recorder_int.h; decisions in docs/design/0003 and 0011).
 *
 * Ingest threads call each rec_camera's sink; the sink only takes a
 * reference to the packet and appends it to the camera's own bounded queue
 * (recorder_work.c), which a pool of "rec-<volume>-<n>" workers serves in
 * turns, one camera per worker at a time. A full queue refuses the packet:
 * the sink counts the drop (per camera, with its reason), logs it
 * rate-limited, and the next packet it does queue carries the mark
 * (is_resync), so the worker closes the camera's segment exactly where
 * the hole is and resumes at the next keyframe (recorder_segment.c).
 * gap_cb marks the camera the same way. Ingest therefore never waits for
 * the disk, and a camera that floods only loses its own packets.
 *
 * Live: a camera may be given a media_part_sink (rec_camera_set_part_sink);
 * every segment it opens publishes its parts there, on the worker. The
 * sink only takes a reference under a short lock, so viewers never slow
 * the recorder.
 *
 * Lifetime: a rec_camera is refcounted: the recorder's list holds one
 * reference. rec_recorder_remove marks the camera; the worker that empties
 * its queue closes the segment, unlinks the camera and drops the list's
 * reference.
 *
 * Snapshots: the sink also keeps a reference to the latest video keyframe
 * (swapped under kf_lock, a few instructions on the ingest thread), so an
 * HTTP thread can decode "now" without touching the workers or the disk.
 * A gap drops it: a camera that stopped sending has no "now".
 *
 * Open segments: the pending views (segments not indexed yet, readable by
 * HTTP threads) live in recorder_view.c.
 *
 * Lock order: cameras_lock, then lock, then a camera's kf_lock or
 * view_lock; never held across I/O.
 */
#include "recorder_int.h"

#include "clock.h"
#include "err.h"
#include "indexer_int.h"
#include "log.h"
#include "mem.h"
#include "path_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "record"

#define CAMERA_QUEUE_MAX_DEFAULT 2048
#define THREADS_MAX_DEFAULT 4

/* Label values of horus_record_dropped_packets_total{reason}, by enum rec_drop_reason. */
static const char *const drop_reason_names[REC_DROP_COUNT] = {"queue_full", "stopping",
                                                              "lease_expired"};

void rec_camera_unref(rec_camera *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->q_len; i++)
        media_packet_unref(c->q[(c->q_head + i) % c->q_cap].pkt);
    free(c->q);
    rec_interleave_release(&c->ilv);
    free(c->lease_node);
    media_packet_unref(c->keyframe);
    pthread_mutex_destroy(&c->kf_lock);
    rec_view_release(c);
    pthread_mutex_destroy(&c->view_lock);
    media_stream_unref(c->video);
    media_stream_unref(c->audio);
    media_stream_unref(c->seg_video);
    media_stream_unref(c->seg_audio);
    free(c->camera);
    free(c->stream);
    free(c);
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

/* Counts a refused packet; logs the first of a run, then a count every 10 s. */
static void count_drop(rec_camera *c, enum rec_drop_reason why)
{
    metrics_counter_inc(c->m_dropped[why]);
    if (why != REC_DROP_QUEUE_FULL)
        return;
    int64_t now = clock_monotonic_ns(c->r->opt.clock);
    if (c->drop_logged_ns && now - c->drop_logged_ns < INT64_C(10000000000)) {
        c->drops_unlogged++;
        return;
    }
    log_warn_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                "recorder queue of this camera full (%zu packets): packets dropped, recording "
                "resumes at the next keyframe (%llu more since the last report)",
                c->r->camera_queue_max, (unsigned long long)c->drops_unlogged);
    c->drop_logged_ns = now;
    c->drops_unlogged = 0;
}

static void sink_packet(media_sink *sink, media_packet *pkt)
{
    rec_camera *c = (rec_camera *)sink;
    if (media_codec_is_g711(pkt->stream->codec)) {
        /* fMP4 has no G.711 that browsers and players take: the picture is recorded alone;
         * WebRTC viewers and the RTSP re-stream get the sound (design 0080). Told once. */
        if (!atomic_load_explicit(&c->is_g711_told, memory_order_relaxed) &&
            !atomic_exchange(&c->is_g711_told, true))
            log_info_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                        "the camera's audio is G.711 (%s): it is not recorded (WebRTC and the "
                        "RTSP re-stream pass it through)",
                        pkt->stream->codec == MEDIA_CODEC_PCMU ? "PCMU" : "PCMA");
        return;
    }
    if (pkt->stream->kind == MEDIA_KIND_VIDEO)
        atomic_store(&c->video_ns, clock_monotonic_ns(c->r->opt.clock));
    if (pkt->is_keyframe && pkt->stream->kind == MEDIA_KIND_VIDEO)
        keep_keyframe(c, pkt);
    enum rec_drop_reason why;
    if (rec_work_push(c->r, c, pkt, &why) < 0)
        count_drop(c, why);
}

static void sink_stream(media_sink *sink, media_stream *stream)
{
    /* Streams travel with their packets; a change is detected there. */
}

static void sink_gap(media_sink *sink, const char *reason)
{
    rec_camera *c = (rec_camera *)sink;
    rec_work_mark_resync(c->r, c);
    keep_keyframe(c, NULL);
}

static const struct media_sink_ops sink_ops = {
    .stream_cb = sink_stream,
    .packet_cb = sink_packet,
    .gap_cb = sink_gap,
};

/* ---- public ---- */

/* <data_dir>/recordings/index.journal; without it rows go to the database alone. */
static void open_journal(rec_recorder *r)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/recordings/index.journal", r->data_dir);
    int rc = rec_journal_open(path, r->opt.metrics, &r->journal);
    if (rc < 0)
        log_error_kv(LOG_KV({"path", path}),
                     "open index journal: %s; index rows go to the database alone",
                     horus_strerror(rc));
}

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
    r->camera_queue_max = opt->camera_queue_max ? opt->camera_queue_max : CAMERA_QUEUE_MAX_DEFAULT;
    r->nthreads = opt->threads;
    if (!r->nthreads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        r->nthreads = cpus < 1                     ? 1
                      : cpus > THREADS_MAX_DEFAULT ? THREADS_MAX_DEFAULT
                                                   : (unsigned)cpus;
    }
    open_journal(r);
    pthread_mutex_init(&r->cameras_lock, NULL);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->work_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&r->idle_cond, NULL);
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
                               .help = "Packets not recorded: the camera's own recorder queue was "
                                       "full (queue_full), the recorder was stopping, or this "
                                       "node's camera leases had run out (lease_expired)",
                               .labels = "camera,stream,reason"});
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
    int rc = rec_work_start(r);
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

/*
 * Where the index says camera/stream's recording ended, when that was in
 * the last 30 s (0 otherwise): a restart's first segment must not
 * start before it. A camera that sends its cached GOP at connect repeats
 * frames the previous process recorded, dated (docs/design/0047) exactly
 * as they were then; without this, the first segment after a quick restart
 * would start where the last one did and its row would replace the other
 * file's. Rows in the future (a clock that was wrong) are not followed.
 */
#define INDEXED_END_WINDOW_US INT64_C(30000000)

static int64_t indexed_end(rec_recorder *r, const char *camera, const char *stream)
{
    if (!r->opt.db)
        return 0;
    int64_t now = clock_realtime_ms(clock_system()) * 1000;
    struct sto_recording *rows = NULL;
    size_t n = 0;
    if (sto_recordings_range(r->opt.db, camera, stream, now - INDEXED_END_WINDOW_US, now + 1, 64,
                             &rows, &n) < 0)
        return 0;
    int64_t end = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].end_us > end && rows[i].end_us <= now + 2000000)
            end = rows[i].end_us;
    sto_recording_list_free(rows, n);
    return end;
}

void rec_recorder_set_lease_deadline(rec_recorder *r, int64_t until_ms)
{
    atomic_store(&r->lease_until_ms, until_ms);
}

void rec_camera_set_lease(rec_camera *c, const char *node, int64_t token, int64_t not_before_ms)
{
    free(c->lease_node);
    c->lease_node = node ? horus_strdup(node) : NULL;
    c->lease_token = node ? token : 0;
    c->not_before_us = node ? not_before_ms * 1000 : 0;
}

rec_camera *rec_recorder_add(rec_recorder *r, const char *camera, const char *stream,
                             int64_t segment_seconds)
{
    rec_camera *c = horus_calloc(1, sizeof(*c));
    c->sink.ops = &sink_ops;
    atomic_init(&c->refs, 1);
    c->r = r;
    pthread_mutex_init(&c->kf_lock, NULL);
    pthread_mutex_init(&c->view_lock, NULL);
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
    for (int i = 0; i < REC_DROP_COUNT; i++)
        c->m_dropped[i] = metrics_series_get(r->f_dropped, camera, stream, drop_reason_names[i]);
    c->m_errors = metrics_series_get(r->f_errors, camera, stream);
    c->m_flush = metrics_series_get(r->f_flush, camera, stream);
    c->m_lag = metrics_series_get(r->f_lag, camera, stream);
    c->last_end_us = indexed_end(r, camera, stream);
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
        /* No worker to hand it to (never started, or stopped): do it here. */
        rec_camera_remove_now(r, c);
        return;
    }
    /* The list's reference goes with it; a flag cannot be lost, so nobody waits. */
    rec_work_remove(r, c);
}

void rec_recorder_stop(rec_recorder *r)
{
    if (!r || r->is_stopped)
        return;
    r->is_stopped = true;
    rec_work_stop(r); /* the workers drain what is queued, then end */
    /* Close what is still open; the writer thread indexes the rows. */
    for (rec_camera *c = r->cameras; c; c = c->next) {
        rec_segment_drain(r, c);
        rec_segment_finish(r, c, "shutdown");
    }
}

void rec_recorder_sync(rec_recorder *r)
{
    rec_work_sync(r);
}

void rec_recorder_free(rec_recorder *r)
{
    if (!r)
        return;
    rec_recorder_stop(r);
    rec_camera *c = r->cameras;
    while (c) {
        rec_camera *next = c->next;
        rec_camera_unref(c);
        c = next;
    }
    free(r->threads);
    pthread_mutex_destroy(&r->cameras_lock);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->work_cond);
    pthread_cond_destroy(&r->idle_cond);
    rec_journal_unref(r->journal); /* rows still in flight hold their own references */
    free(r->data_dir);
    free(r->volume);
    free(r);
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
