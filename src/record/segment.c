/*
 * DESIGN: one segment file of one camera stream (on-disk protocol in
 * docs/design/0003-recording-files.md).
 *
 * Job: turn media_packets into <HH-MM-SS>.mp4.part = init segment + parts,
 * then close it into <HH-MM-SS>.mp4 with its index blob and sha256.
 *
 * Parts: packets of every track queue (by reference, never copied) until a
 * packet of the primary track (first video track, else first track)
 * arrives with the part at least part_duration_ms long (less 10 ms of
 * slack for timestamp jitter), or a video
 * keyframe of the primary track arrives; then the queued samples become
 * one moof + mdat written with one pwritev at the file's complete length.
 * The trigger packet starts the next part, so every keyframe starts a part
 * (LL-HLS segments start on keyframe parts) and other parts may start on
 * any sample. A sample's duration is the next sample's dts minus its own;
 * the last one of a part takes the trigger's dts (primary), else
 * pkt->duration, else the previous duration.
 *
 * Parameter sets in band: every keyframe sample of the primary video track
 * starts with the stream's parameter sets (VPS/SPS/PPS from its avcC/hvcC,
 * 4-byte lengths), written from one copy per segment. The sample entry
 * still carries them (avc1/hvc1), but a player that keeps the first init
 * of a playlist across a resolution change (ffmpeg, mpv, VLC) finds the new
 * ones in the first picture after the change. Costs tens of bytes per
 * keyframe, one iovec per part (a keyframe only ever starts a part).
 *
 * Live: with a part sink in the options, each part is also copied once
 * into a refcounted media_part (moof + mdat in one buffer) and published,
 * with the segment's media_init, before the write is attempted; a part the
 * disk refused (ENOSPC, EIO) is still published, so live view survives a
 * full disk as long as segments can be opened.
 *
 * Invariants: seg->size is the length of the init segment plus every
 * complete part, and the file never stays longer than that after a failed
 * write (ftruncate back), so a crash or ENOSPC leaves a file that
 * rec_fmp4_scan accepts whole. The sha256 job holds exactly bytes
 * [0, seg->size), queued only after a part is fully written (by packet
 * reference; hashed later with other segments' bytes, see sha256_mb.c).
 *
 * fsync policy: never per part (a part is in the page cache once written,
 * so kill -9 loses at most the part in progress). On close: fsync the
 * file, rename, fsync the directory. A new date directory is fsynced into
 * its parent when created. Power loss may lose up to one segment per
 * stream (60 s by default) of unsynced parts; recovery keeps whatever
 * complete parts reached the disk.
 *
 * Thread: a segment belongs to the recorder thread that opened it.
 */
#include "record.h"

#include "err.h"
#include "media_part.h"
#include "fmp4_int.h"
#include "fs.h"
#include "media_bitstream.h"
#include "path_int.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Timestamp jitter tolerated when deciding that a part is long enough. */
#define SEG_PART_SLACK_MS 10

/* 4 tracks x 255 samples + the header stay under IOV_MAX (1024). */
#define SEG_MAX_PART_SAMPLES 255

struct seg_track {
    media_stream *stream; /* owned reference */
    media_packet **pending; /* owned references: the part in progress */
    size_t n, cap;
    uint32_t last_duration;
    uint8_t *inband; /* owned: parameter sets put before each keyframe, or NULL */
    size_t inband_len;
};

struct rec_segment {
    int fd;
    char *tmp_path; /* owned: .mp4.part */
    char *final_path; /* owned: .mp4 */
    char *dir_path; /* owned: the date directory */
    int64_t start_wall_us;
    uint32_t part_duration_ms;
    media_part_sink *part_sink; /* borrowed; NULL = parts go to the file only */
    media_init *init; /* owned when part_sink is set: the init segment's bytes */
    size_t n_tracks, primary;
    struct seg_track tracks[REC_MAX_TRACKS];
    uint64_t size; /* init + complete parts */
    uint32_t seq;
    bool started;
    int64_t t0_dts; /* primary track's first dts */
    int64_t part_start_dts; /* primary dts that opened the part in progress */
    int64_t last_primary_dts;
    struct rec_sha256_job sha; /* bytes queued by reference, hashed in batches */
    struct sto_part *parts; /* owned */
    size_t n_parts, cap_parts;
    struct fmp4_buf hdr;
    struct fmp4_sample samples[REC_MAX_TRACKS][SEG_MAX_PART_SAMPLES];
    struct iovec iov[2 + REC_MAX_TRACKS * SEG_MAX_PART_SAMPLES]; /* + in-band parameter sets */
};

static _Atomic long live_segments;

long rec_live_segments(void)
{
    return live_segments;
}

void rec_segment_info_release(struct rec_segment_info *info)
{
    free(info->path);
    free(info->index);
    memset(info, 0, sizeof(*info));
}

static void segment_free(rec_segment *seg)
{
    if (!seg)
        return;
    if (seg->fd >= 0)
        close(seg->fd);
    for (size_t i = 0; i < seg->n_tracks; i++) {
        struct seg_track *t = &seg->tracks[i];
        for (size_t k = 0; k < t->n; k++)
            media_packet_unref(t->pending[k]);
        free(t->pending);
        free(t->inband);
        media_stream_unref(t->stream);
    }
    free(seg->tmp_path);
    free(seg->final_path);
    free(seg->dir_path);
    free(seg->parts);
    media_init_unref(seg->init);
    fmp4_buf_release(&seg->hdr);
    rec_sha256_job_release(&seg->sha);
    free(seg);
    live_segments--;
}

void rec_segment_abandon(rec_segment *seg)
{
    segment_free(seg);
}

const char *rec_segment_path(const rec_segment *seg)
{
    return seg->tmp_path;
}

static int pick_names(rec_segment *seg, const char *dir, int64_t start_wall_us)
{
    int64_t start_s = start_wall_us / 1000000;
    char path[PATH_MAX];
    int rc = start_wall_us < 0 ? -EINVAL : rec_path_day_dir(path, sizeof(path), dir, start_s);
    if (rc < 0)
        return rc;
    seg->dir_path = horus_strdup(path);
    bool created;
    rc = fs_mkdirs(seg->dir_path, &created);
    if (rc < 0)
        return rc;
    if (created) {
        rc = fs_fsync_dir(dir);
        if (rc < 0)
            return rc;
    }
    for (unsigned k = 0; k <= REC_PATH_SEQ_MAX; k++) {
        rc = rec_path_file(path, sizeof(path), seg->dir_path, start_s, k);
        if (rc < 0)
            return rc;
        free(seg->final_path);
        free(seg->tmp_path);
        seg->final_path = horus_strdup(path);
        seg->tmp_path = horus_asprintf("%s.part", seg->final_path);
        if (access(seg->final_path, F_OK) == 0)
            continue;
        seg->fd = open(seg->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (seg->fd >= 0)
            return 0;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/*
 * The primary video track's parameter sets as length-prefixed NAL units
 * (see the top), or nothing for audio and for an unreadable record.
 */
static void inband_build(struct seg_track *t)
{
    const media_stream *st = t->stream;
    if (st->kind != MEDIA_KIND_VIDEO ||
        (st->codec != MEDIA_CODEC_H264 && st->codec != MEDIA_CODEC_H265))
        return;
    size_t len = 0, index = 0, nal_len;
    const uint8_t *nal;
    while (
        media_config_ps_next(st->codec, st->extradata, st->extradata_size, &index, &nal, &nal_len))
        len += 4 + nal_len;
    if (!len)
        return;
    t->inband = horus_malloc(len);
    uint8_t *w = t->inband;
    index = 0;
    while (media_config_ps_next(st->codec, st->extradata, st->extradata_size, &index, &nal,
                                &nal_len)) {
        w[0] = (uint8_t)(nal_len >> 24);
        w[1] = (uint8_t)(nal_len >> 16);
        w[2] = (uint8_t)(nal_len >> 8);
        w[3] = (uint8_t)nal_len;
        memcpy(w + 4, nal, nal_len);
        w += 4 + nal_len;
    }
    t->inband_len = len;
}

/* The bytes put before pkt in its sample: the parameter sets before a keyframe, else none. */
static size_t inband_len_of(const struct seg_track *t, const media_packet *pkt)
{
    return pkt->is_keyframe ? t->inband_len : 0;
}

int rec_segment_open(const char *dir, int64_t start_wall_us, media_stream *const *streams,
                     size_t n_streams, const struct rec_segment_options *opt, rec_segment **out)
{
    *out = NULL;
    if (n_streams < 1 || n_streams > REC_MAX_TRACKS)
        return -EINVAL;
    rec_segment *seg = horus_calloc(1, sizeof(*seg));
    live_segments++;
    seg->fd = -1;
    seg->start_wall_us = start_wall_us;
    seg->part_duration_ms =
        opt && opt->part_duration_ms ? opt->part_duration_ms : REC_PART_DURATION_MS_DEFAULT;
    seg->part_sink = opt ? opt->part_sink : NULL;
    seg->n_tracks = n_streams;
    seg->primary = 0;
    for (size_t i = n_streams; i-- > 0;) {
        seg->tracks[i].stream = media_stream_ref(streams[i]);
        if (streams[i]->kind == MEDIA_KIND_VIDEO)
            seg->primary = i;
    }
    inband_build(&seg->tracks[seg->primary]);
    rec_sha256_job_init(&seg->sha);
    int rc = fmp4_init_write(&seg->hdr, streams, n_streams, start_wall_us);
    if (rc < 0)
        goto fail;
    rc = pick_names(seg, dir, start_wall_us);
    if (rc < 0)
        goto fail;
    struct iovec iov = {seg->hdr.data, seg->hdr.len};
    rc = fs_pwritev_all(seg->fd, &iov, 1, 0);
    if (rc < 0) {
        unlink(seg->tmp_path);
        goto fail;
    }
    rec_sha256_job_copy(&seg->sha, seg->hdr.data, seg->hdr.len);
    if (seg->part_sink)
        seg->init = media_init_new(seg->hdr.data, seg->hdr.len, streams, n_streams);
    seg->size = seg->hdr.len;
    seg->seq = 1;
    *out = seg;
    return 0;
fail:
    segment_free(seg);
    return rc;
}

static uint32_t clamp_u32(int64_t v)
{
    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * Builds one track's samples. next_dts is the dts that follows the last
 * sample, or -1 when unknown. Returns the summed duration.
 */
static int64_t build_samples(struct seg_track *t, struct fmp4_sample *out, int64_t next_dts)
{
    int64_t total = 0;
    for (size_t i = 0; i < t->n; i++) {
        const media_packet *p = t->pending[i];
        int64_t dur;
        if (i + 1 < t->n)
            dur = t->pending[i + 1]->dts - p->dts;
        else if (next_dts >= 0)
            dur = next_dts - p->dts;
        else
            dur = p->duration > 0 ? p->duration : t->last_duration;
        out[i].duration = clamp_u32(dur);
        t->last_duration = out[i].duration;
        total += out[i].duration;
        out[i].size = (uint32_t)(inband_len_of(t, p) + p->size);
        int64_t cts = p->pts - p->dts;
        out[i].cts_offset = cts > INT32_MAX   ? INT32_MAX
                            : cts < INT32_MIN ? INT32_MIN
                                              : (int32_t)cts;
        out[i].is_sync = p->is_keyframe || t->stream->kind == MEDIA_KIND_AUDIO;
    }
    return total;
}

static void add_part(rec_segment *seg, uint64_t size, const struct seg_track *pt,
                     int64_t primary_dur)
{
    if (seg->n_parts == seg->cap_parts) {
        seg->cap_parts = seg->cap_parts ? seg->cap_parts * 2 : 64;
        seg->parts = horus_realloc(seg->parts, seg->cap_parts * sizeof(*seg->parts));
    }
    struct sto_part *p = &seg->parts[seg->n_parts];
    const struct sto_part *prev = seg->n_parts ? p - 1 : NULL;
    uint32_t ts = pt->stream->timescale;
    p->offset = seg->size;
    p->size_bytes = (uint32_t)size;
    if (pt->n) {
        p->start_90k = fmp4_to_90k(pt->pending[0]->dts - seg->t0_dts, ts);
        p->duration_90k = clamp_u32(fmp4_to_90k(primary_dur, ts));
        p->is_keyframe = pt->pending[0]->is_keyframe || pt->stream->kind == MEDIA_KIND_AUDIO;
    } else {
        p->start_90k = prev ? prev->start_90k + prev->duration_90k : 0;
        p->duration_90k = 0;
        p->is_keyframe = false;
    }
    seg->n_parts++;
}

/*
 * Copies the part just laid out (seg->hdr holds moof + the mdat header,
 * the samples follow) into one media_part and hands it to the part sink.
 * A part without a primary sample has no duration to announce: not
 * published.
 */
static void publish_part(rec_segment *seg, size_t payload, int64_t primary_dur)
{
    const struct seg_track *pt = &seg->tracks[seg->primary];
    if (!pt->n)
        return;
    media_part *mp = media_part_new(seg->init, seg->hdr.len + payload);
    uint8_t *w = mp->data;
    memcpy(w, seg->hdr.data, seg->hdr.len);
    w += seg->hdr.len;
    int64_t newest = 0;
    for (size_t i = 0; i < seg->n_tracks; i++) {
        for (size_t k = 0; k < seg->tracks[i].n; k++) {
            const struct seg_track *t = &seg->tracks[i];
            const media_packet *p = t->pending[k];
            size_t pre = inband_len_of(t, p);
            if (pre)
                memcpy(w, t->inband, pre);
            memcpy(w + pre, p->data, p->size);
            w += pre + p->size;
            if (p->arrival_ns > newest)
                newest = p->arrival_ns;
        }
    }
    const media_packet *first = pt->pending[0];
    mp->dts = first->dts;
    mp->duration = primary_dur;
    mp->timescale = pt->stream->timescale;
    mp->is_independent = first->is_keyframe || pt->stream->kind == MEDIA_KIND_AUDIO;
    mp->wall_us = first->wall_us;
    mp->arrival_ns = newest;
    seg->part_sink->ops->part_cb(seg->part_sink, mp);
    media_part_unref(mp);
}

/* Writes the queued samples as one part; next_primary_dts as in build_samples. */
static int flush_part(rec_segment *seg, int64_t next_primary_dts)
{
    struct fmp4_run runs[REC_MAX_TRACKS];
    size_t n_samples = 0;
    int64_t primary_dur = 0;
    for (size_t i = 0; i < seg->n_tracks; i++) {
        struct seg_track *t = &seg->tracks[i];
        int64_t dur = build_samples(t, seg->samples[i], i == seg->primary ? next_primary_dts : -1);
        if (i == seg->primary)
            primary_dur = dur;
        runs[i] = (struct fmp4_run){
            .track_id = (uint32_t)i + 1,
            .base_dts = t->n ? (uint64_t)t->pending[0]->dts : 0,
            .samples = seg->samples[i],
            .n = t->n,
        };
        n_samples += t->n;
    }
    if (!n_samples)
        return 0;
    seg->hdr.len = 0;
    size_t payload = fmp4_fragment_header_write(&seg->hdr, seg->seq, runs, seg->n_tracks);
    int n_iov = 0;
    seg->iov[n_iov++] = (struct iovec){seg->hdr.data, seg->hdr.len};
    for (size_t i = 0; i < seg->n_tracks; i++) {
        const struct seg_track *t = &seg->tracks[i];
        for (size_t k = 0; k < t->n; k++) {
            size_t pre = inband_len_of(t, t->pending[k]);
            if (pre)
                seg->iov[n_iov++] = (struct iovec){t->inband, pre};
            seg->iov[n_iov++] = (struct iovec){t->pending[k]->data, t->pending[k]->size};
        }
    }
    uint64_t size = seg->hdr.len + payload;
    if (seg->part_sink)
        publish_part(seg, payload, primary_dur);
    int rc = fs_pwritev_all(seg->fd, seg->iov, n_iov, seg->size);
    if (rc == 0) {
        rec_sha256_job_copy(&seg->sha, seg->hdr.data, seg->hdr.len);
        for (size_t i = 0; i < seg->n_tracks; i++) {
            const struct seg_track *t = &seg->tracks[i];
            for (size_t k = 0; k < t->n; k++) {
                rec_sha256_job_copy(&seg->sha, t->inband, inband_len_of(t, t->pending[k]));
                rec_sha256_job_packet(&seg->sha, t->pending[k]);
            }
        }
        add_part(seg, size, &seg->tracks[seg->primary], primary_dur);
        seg->size += size;
        seg->seq++;
    } else if (ftruncate(seg->fd, (off_t)seg->size) < 0) {
        /* The torn tail stays; recovery trims it if the process dies now. */
        rc = rc == -ENOSPC ? rc : -errno;
    }
    for (size_t i = 0; i < seg->n_tracks; i++) {
        struct seg_track *t = &seg->tracks[i];
        for (size_t k = 0; k < t->n; k++)
            media_packet_unref(t->pending[k]);
        t->n = 0;
    }
    return rc;
}

static int find_track(const rec_segment *seg, const media_stream *s)
{
    for (size_t i = 0; i < seg->n_tracks; i++)
        if (seg->tracks[i].stream == s)
            return (int)i;
    for (size_t i = 0; i < seg->n_tracks; i++)
        if (media_stream_same_params(seg->tracks[i].stream, s))
            return (int)i;
    return -1;
}

int rec_segment_push(rec_segment *seg, media_packet *pkt)
{
    int ti = find_track(seg, pkt->stream);
    if (ti < 0 || pkt->dts < 0 || pkt->size > UINT32_MAX / 2)
        return -EINVAL;
    struct seg_track *t = &seg->tracks[ti];
    bool primary = (size_t)ti == seg->primary;
    if (!seg->started) {
        if (!primary || (t->stream->kind == MEDIA_KIND_VIDEO && !pkt->is_keyframe))
            return -EAGAIN;
        seg->started = true;
        seg->t0_dts = seg->part_start_dts = pkt->dts;
    }
    int rc = 0;
    if (primary) {
        int64_t elapsed = pkt->dts - seg->part_start_dts;
        bool is_video_key = pkt->is_keyframe && t->stream->kind == MEDIA_KIND_VIDEO;
        /*
         * Some slack (SEG_PART_SLACK_MS, at most a tenth of the part): camera
         * timestamps jitter by a few ms, and a frame that lands 2 ms short
         * must not stretch the part by a whole frame (LL-HLS parts must stay
         * under PART-TARGET).
         */
        uint32_t slack = seg->part_duration_ms / 10;
        if (slack > SEG_PART_SLACK_MS)
            slack = SEG_PART_SLACK_MS;
        int64_t due = (int64_t)(seg->part_duration_ms - slack) * t->stream->timescale;
        if (t->n && (is_video_key || elapsed * 1000 >= due)) {
            rc = flush_part(seg, pkt->dts);
            seg->part_start_dts = pkt->dts;
        }
        seg->last_primary_dts = pkt->dts;
    }
    if (t->n == SEG_MAX_PART_SAMPLES) {
        rc = flush_part(seg, -1);
        seg->part_start_dts = seg->last_primary_dts;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->pending = horus_realloc(t->pending, t->cap * sizeof(*t->pending));
    }
    t->pending[t->n++] = media_packet_ref(pkt);
    return rc;
}

void rec_segments_hash(rec_segment *const *segs, size_t n)
{
    enum { BATCH = 64 };
    struct rec_sha256_job *jobs[BATCH];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; i < n && k < BATCH; i++)
            jobs[k++] = &segs[i]->sha;
        rec_sha256_mb_run(jobs, k);
    }
}

uint64_t rec_segment_unhashed_bytes(const rec_segment *seg)
{
    return seg->sha.pending;
}

size_t rec_segment_part_count(const rec_segment *seg)
{
    return seg->n_parts;
}

const struct sto_part *rec_segment_parts(const rec_segment *seg, size_t *n)
{
    *n = seg->n_parts;
    return seg->parts;
}

int64_t rec_segment_start_wall_us(const rec_segment *seg)
{
    return seg->start_wall_us;
}

int64_t rec_segment_duration_90k(const rec_segment *seg)
{
    if (!seg->started)
        return 0;
    const struct seg_track *t = &seg->tracks[seg->primary];
    return fmp4_to_90k(seg->last_primary_dts + t->last_duration - seg->t0_dts,
                       t->stream->timescale);
}

static void fill_codecs(struct rec_segment_info *info, const struct rec_track_info *tracks,
                        size_t n)
{
    for (size_t i = n; i-- > 0;) {
        const struct rec_track_info *t = &tracks[i];
        if (t->kind == MEDIA_KIND_VIDEO) {
            info->width = t->width;
            info->height = t->height;
            snprintf(info->video_codec, sizeof(info->video_codec), "%s", t->codec_string);
        } else {
            snprintf(info->audio_codec, sizeof(info->audio_codec), "%s", t->codec_string);
        }
    }
}

static int fill_index(struct rec_segment_info *info, const struct sto_part *parts, size_t n)
{
    info->n_parts = n;
    const struct sto_part *last = &parts[n - 1];
    info->duration_90k = last->start_90k + last->duration_90k;
    info->end_wall_us = info->start_wall_us + info->duration_90k * 100 / 9;
    return sto_index_encode(parts, n, &info->index, &info->index_size);
}

int rec_segment_close(rec_segment *seg, struct rec_segment_info *info)
{
    memset(info, 0, sizeof(*info));
    int rc = flush_part(seg, -1);
    if (!seg->n_parts || rec_segment_duration_90k(seg) <= 0) {
        /* Nothing, or one frame of unknown duration (the camera left right after a
         * keyframe): an index row with start == end would help no one. */
        unlink(seg->tmp_path);
        segment_free(seg);
        return rc < 0 ? rc : -ENODATA;
    }
    int err = fsync(seg->fd) < 0 ? -errno : 0;
    if (err == 0 && rename(seg->tmp_path, seg->final_path) < 0)
        err = -errno;
    if (err == 0)
        err = fs_fsync_dir(seg->dir_path);
    if (err < 0 && access(seg->final_path, F_OK) < 0) {
        /* Still named .part: recovery at the next start finishes the job. */
        segment_free(seg);
        return err;
    }
    info->path = horus_strdup(seg->final_path);
    info->start_wall_us = seg->start_wall_us;
    info->size_bytes = seg->size;
    uint8_t digest[32];
    rec_sha256_job_final(&seg->sha, digest);
    rec_sha256_hex(digest, info->sha256_hex);
    for (size_t i = seg->n_tracks; i-- > 0;) {
        const media_stream *s = seg->tracks[i].stream;
        if (s->kind == MEDIA_KIND_VIDEO) {
            info->width = s->width;
            info->height = s->height;
            snprintf(info->video_codec, sizeof(info->video_codec), "%s", s->codec_string);
        } else {
            snprintf(info->audio_codec, sizeof(info->audio_codec), "%s", s->codec_string);
        }
    }
    int irc = fill_index(info, seg->parts, seg->n_parts);
    segment_free(seg);
    return rc < 0 ? rc : err < 0 ? err : irc;
}

/* Start time from ".../YYYY-MM-DD/HH-MM-SS[-N].mp4.part", or 0. */
static int64_t wall_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (base - path < 11)
        return 0;
    struct tm tm = {0};
    if (sscanf(base - 11, "%4d-%2d-%2d/%2d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000000;
}

/*
 * Maps fd (read-only) and scans it. On success map and size describe the
 * mapping (unmap with munmap) and scan is filled. Returns 0, HORUS_EPARSE
 * for an empty file or an incomplete init segment, or -errno.
 */
static int map_and_scan(int fd, uint8_t **map, size_t *size, struct rec_scan *scan)
{
    *map = MAP_FAILED;
    *size = 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size == 0)
        return HORUS_EPARSE;
    *size = (size_t)st.st_size;
    *map = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
    if (*map == MAP_FAILED)
        return -errno;
    return rec_fmp4_scan(*map, *size, scan);
}

/*
 * Fills *info from a scanned file: the SHA-256 of its first hash_len bytes,
 * the start time from name, size, codecs and the part index. The caller
 * sets info->path. Returns 0 or the index encoder's error.
 */
static int describe_scan(struct rec_segment_info *info, const char *name, const uint8_t *map,
                         size_t hash_len, const struct rec_scan *scan)
{
    struct rec_sha256 sha;
    uint8_t digest[32];
    rec_sha256_init(&sha);
    rec_sha256_update(&sha, map, hash_len);
    rec_sha256_final(&sha, digest);
    rec_sha256_hex(digest, info->sha256_hex);
    /* The exact start from the init segment; files written before it existed: the name. */
    info->start_wall_us = scan->start_wall_us > 0 ? scan->start_wall_us : wall_from_path(name);
    info->size_bytes = scan->valid_size;
    fill_codecs(info, scan->tracks, scan->n_tracks);
    return fill_index(info, scan->parts, scan->n_parts);
}

int rec_segment_recover(const char *part_path, struct rec_segment_info *info)
{
    memset(info, 0, sizeof(*info));
    size_t len = strlen(part_path);
    if (len < 6 || strcmp(part_path + len - 5, ".part"))
        return -EINVAL;
    int fd = open(part_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct rec_scan scan = {0};
    char *final = horus_strndup(part_path, len - 5);
    char *dir = horus_strdup(part_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    uint8_t *map;
    size_t map_size;
    int rc = map_and_scan(fd, &map, &map_size, &scan);
    if (rc == 0 && !scan.n_parts) {
        unlink(part_path);
        rc = -ENODATA;
    }
    if (rc < 0)
        goto out;
    rc = describe_scan(info, part_path, map, scan.valid_size, &scan);
    if (rc == 0 && scan.valid_size < map_size && ftruncate(fd, (off_t)scan.valid_size) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (rc == 0 && rename(part_path, final) < 0)
        rc = -errno;
    if (rc == 0)
        rc = fs_fsync_dir(dir);
    if (rc < 0)
        goto out;
    info->path = final;
    final = NULL;
out:
    if (map != MAP_FAILED)
        munmap(map, map_size);
    close(fd);
    rec_scan_release(&scan);
    free(final);
    free(dir);
    if (rc < 0)
        rec_segment_info_release(info);
    return rc;
}

int rec_segment_inspect(const char *path, struct rec_segment_info *info, uint64_t *file_size)
{
    memset(info, 0, sizeof(*info));
    *file_size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct rec_scan scan = {0};
    uint8_t *map;
    size_t map_size;
    int rc = map_and_scan(fd, &map, &map_size, &scan);
    *file_size = map_size;
    if (rc == 0 && !scan.n_parts)
        rc = -ENODATA; /* an init segment alone holds no video */
    if (rc < 0)
        goto out;
    rc = describe_scan(info, path, map, map_size, &scan);
    if (rc == 0)
        info->path = horus_strdup(path);
out:
    if (map != MAP_FAILED)
        munmap(map, map_size);
    close(fd);
    rec_scan_release(&scan);
    if (rc < 0)
        rec_segment_info_release(info);
    return rc;
}
