/*
 * DESIGN: what a recorder worker does with one camera's packets
 * (docs/design/0003 for the files, 0011 for the workers).
 *
 * A worker holds a camera (is_busy, recorder_work.c) while it handles a
 * batch of its packets, so everything here runs on one thread at a time
 * per camera, in the camera's packet order, and needs no lock.
 *
 * A camera keeps at most one open rec_segment. A segment starts on a
 * keyframe of the primary track (video, or audio for audio-only streams)
 * and is cut at the first primary keyframe after segment_seconds (or at
 * most 50 ms before, REC_CUT_SLACK_90K); each
 * camera's first segment is shorter by a per-camera amount so that 250
 * cameras do not all rotate in the same second. A codec, size or
 * parameter-set change (new media_stream that is not
 * media_stream_same_params) closes the segment, since the init section
 * must change. Audio that appears after a segment opened joins the next.
 * A packet queued after a hole (is_resync: dropped packets or a source
 * gap) closes the segment exactly there, and recording resumes at the next
 * keyframe: a recording never contains a broken GOP.
 *
 * Packets reach the segment in decode-time order across tracks, not in
 * arrival order (interleave.c): audio that arrived before the keyframe it
 * follows still goes into the keyframe's segment, and audio that arrived
 * after a cut but plays before it still goes into the segment it belongs
 * to.
 *
 * Every part written is also published in the camera's open view, and a
 * closed segment stays visible as the closed view until the next one
 * closes, so HTTP threads can play what is on disk before the index row
 * is readable (recorder_view.c, docs/design/0032).
 *
 * Closing a segment inserts its index row through the writer thread
 * (batched with every other camera's rows). ENOSPC kicks retention; the
 * segment stays usable (the writer truncates the failed part) and
 * recording continues once space is back.
 *
 * Crash recovery (before the workers start) closes every .part file a
 * crash left and indexes it.
 */
#include "recorder_int.h"

#include "err.h"
#include "indexer_int.h"
#include "log.h"
#include "mem.h"
#include "path_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "record"

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

/* Fills the index row for a closed segment (recorder.h). */
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

/*
 * Journals and inserts the index row for a closed segment (indexer.c),
 * fenced by c's lease (c NULL: a recovered segment, not fenced).
 */
static void index_segment(rec_recorder *r, const rec_camera *c, const char *camera,
                          const char *stream, const struct rec_segment_info *info)
{
    char codec[80];
    struct sto_recording_input row;
    rec_recording_row(info, r->data_dir, camera, stream, codec, &row);
    if (c) {
        row.lease_node = c->lease_node;
        row.lease_token = c->lease_token;
    }
    rec_index_row(r->opt.db, r->journal, r->data_dir, &row);
}

int64_t rec_segment_finish(rec_recorder *r, rec_camera *c, const char *why)
{
    if (!c->seg)
        return 0;
    struct rec_segment_info info;
    memset(&info, 0, sizeof(info));
    atomic_store(&c->open_since_us, 0);
    int rc = rec_segment_close(c->seg, &info);
    c->seg = NULL;
    rec_view_close(r, c, &info); /* readers see it closed, or still open: never neither */
    media_stream_unref(c->seg_video);
    media_stream_unref(c->seg_audio);
    c->seg_video = c->seg_audio = NULL;
    if (rc == -ENODATA)
        return 0;
    if (rc < 0) {
        metrics_counter_inc(c->m_errors);
        note_write(r, c, rc);
        /* A full disk fails every close too (one per segment): limited per camera. */
        log_error_limited("close segment", LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                          "close segment: %s; kept up to its last complete part",
                          horus_strerror(rc));
    }
    if (info.path) {
        index_segment(r, c, c->camera, c->stream, &info);
        metrics_counter_inc(c->m_segments);
        metrics_counter_add(c->m_bytes, (double)info.size_bytes);
        log_debug_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}, {"reason", why}),
                     "segment closed: %s", info.path);
    }
    int64_t end = info.path ? info.end_wall_us : 0;
    if (end > c->last_end_us)
        c->last_end_us = end;
    rec_segment_info_release(&info);
    return end;
}

/*
 * Opens a segment starting with pkt. continues_us is where the previous
 * segment ended when this one continues it without a gap (0 otherwise): the
 * recording then stays contiguous even when the wall-clock mapping of
 * individual packets jitters by a frame.
 *
 * No segment starts before the previous one of this camera and stream
 * ended (docs/design/0004): a reconnect's first keyframe often maps a
 * little earlier than that end (a GOP burst at connect, or media that ran
 * ahead of the wall clock and was slewed back), and the new segment's start
 * is then moved forward to it. A keyframe that would have to move by
 * REC_SHIFT_MAX_US or more is not recorded (the next one is tried), so the
 * index's lead over the wall clock stays bounded.
 */
#define REC_SHIFT_MAX_US INT64_C(2000000)

static void open_segment(rec_recorder *r, rec_camera *c, media_packet *pkt, int64_t continues_us)
{
    int64_t start = pkt->wall_us;
    if (continues_us && llabs(start - continues_us) < REC_SHIFT_MAX_US)
        start = continues_us;
    if (start < c->last_end_us) {
        if (c->last_end_us - start >= REC_SHIFT_MAX_US)
            return;
        start = c->last_end_us;
    }
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
        /* On a full disk this fails on every keyframe: limited per camera. */
        log_error_limited("open segment", LOG_KV({"camera", c->camera}, {"stream", c->stream}),
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
    rec_view_open(r, c);
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

/*
 * A keyframe this close before the segment's length still cuts it: camera
 * timestamps jitter by a few ms, and a GOP as long as the segment whose
 * keyframe lands 4 ms short must not make a file of two segment lengths.
 */
#define REC_CUT_SLACK_90K 4500 /* 50 ms */

/*
 * Fencing's local side: true when pkt is stamped after the node's lease
 * deadline. The open segment then ends before it, and nothing is recorded
 * until the deadline moves (a renewal) and the next keyframe comes.
 */
/*
 * Where the row would end with pkt in it. A row ends at its start plus the
 * media duration of its samples, and its start may have been moved
 * forward to the previous row's end (open_segment): with the clock
 * estimator slewing, that can lie past the packet's own wall stamp, and
 * a deadline checked on the stamp alone let a row end inside the next
 * holder's tenure, where the index refuses it.
 */
static int64_t row_end_with(const rec_camera *c, const media_packet *pkt)
{
    int64_t ts = pkt->stream->timescale > 0 ? pkt->stream->timescale : 90000;
    int64_t dur_us = pkt->duration * 1000000 / ts;
    int64_t end = pkt->wall_us + dur_us;
    int64_t row_end =
        c->seg ? rec_segment_start_wall_us(c->seg) + rec_segment_duration_90k(c->seg) * 100 / 9 +
                     dur_us
               : (c->last_end_us > pkt->wall_us ? c->last_end_us : pkt->wall_us) + dur_us;
    return row_end > end ? row_end : end;
}

static bool is_past_lease(rec_recorder *r, rec_camera *c, const media_packet *pkt)
{
    int64_t until_ms = atomic_load(&r->lease_until_ms);
    /* The row's end with this packet, not the packet's start (row_end_with). */
    if (!until_ms || row_end_with(c, pkt) <= until_ms * 1000) {
        if (c->is_lease_lapsed)
            log_info_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                        "camera leases renewed: recording resumes at the next keyframe");
        c->is_lease_lapsed = false;
        return false;
    }
    if (!c->is_lease_lapsed)
        log_warn_kv(LOG_KV({"camera", c->camera}, {"stream", c->stream}),
                    "this node's camera leases ran out without a renewal: recording stops "
                    "so that another node may take the camera over");
    c->is_lease_lapsed = true;
    metrics_counter_inc(c->m_dropped[REC_DROP_LEASE]);
    rec_segment_finish(r, c, "camera lease ran out");
    return true;
}

static void handle_packet(rec_recorder *r, rec_camera *c, media_packet *pkt)
{
    if (is_past_lease(r, c, pkt))
        return;
    media_stream *s = pkt->stream;
    bool is_video = s->kind == MEDIA_KIND_VIDEO;
    if (track_stream(is_video ? &c->video : &c->audio, s))
        rec_segment_finish(r, c, "stream parameters changed");
    bool is_primary = is_video || !c->video;
    int64_t continues_us = 0;
    if (c->seg && is_primary && pkt->is_keyframe) {
        int64_t target = c->nsegments == 1 ? c->first_segment_90k : c->segment_90k;
        if (rec_segment_duration_90k(c->seg) + REC_CUT_SLACK_90K >= target)
            continues_us = rec_segment_finish(r, c, "length reached");
    }
    if (!c->seg) {
        if (!is_primary || !pkt->is_keyframe)
            return; /* a segment starts on a primary keyframe */
        if (pkt->wall_us < c->not_before_us)
            return; /* the previous holder's time (0066) */
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
        note_write(r, c, 0);
        rec_view_update(c); /* playable before the segment closes (recorder_view.c) */
        int64_t t1 = clock_monotonic_ns(r->opt.clock);
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

void rec_segment_drain(rec_recorder *r, rec_camera *c)
{
    media_packet *pkt;
    while ((pkt = rec_interleave_pop(&c->ilv, true)) != NULL) {
        handle_packet(r, c, pkt);
        media_packet_unref(pkt);
    }
}

void rec_segment_handle(rec_recorder *r, rec_camera *c, media_packet *pkt, bool is_resync)
{
    if (is_resync) {
        /* What came before the hole is written, then the segment closes exactly there. */
        rec_segment_drain(r, c);
        rec_interleave_reset(&c->ilv);
        rec_segment_finish(r, c, "packets dropped or source gap");
    }
    rec_interleave_push(&c->ilv, pkt);
    while ((pkt = rec_interleave_pop(&c->ilv, false)) != NULL) {
        handle_packet(r, c, pkt);
        media_packet_unref(pkt);
    }
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

void rec_camera_remove_now(rec_recorder *r, rec_camera *c)
{
    rec_segment_drain(r, c);
    rec_segment_finish(r, c, "camera removed");
    unlink_camera(r, c);
    rec_camera_unref(c);
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
        index_segment(w->r, NULL, camera, stream, &info);
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
    struct rec_index_recovery ir;
    rec_index_recover(&(struct rec_index_recover_options){.db = r->opt.db,
                                                          .journal = r->journal,
                                                          .data_dir = r->data_dir,
                                                          .metrics = r->opt.metrics},
                      &ir);
    return w.recovered;
}
