/*
 * DESIGN: the remux step of an export: segment files in, one faststart MP4
 * out, packets copied (no decode, no transcode).
 *
 * Output tracks are the first file's video track and its first audio
 * track, if any. Each later file must carry the same video (codec, size,
 * avcC/hvcC bytes) and, when both have audio, the same audio; otherwise
 * the export fails naming the instant, because one MP4 track has one
 * sample description (docs/design/0007).
 *
 * Start: the first file is read from its beginning, and every packet from
 * the latest video keyframe at or before start_us on is kept (at most one
 * GOP is buffered until the next video packet past start_us proves that
 * keyframe the latest one). Reading the head of one segment costs
 * milliseconds and needs neither a seek nor the part index, whose parts do
 * not always begin at keyframes.
 *
 * Timestamps: each track is shifted so the cut keyframe is at 0. A file
 * that continues the previous one (its row starts where the previous row
 * ended) continues each track's timeline exactly (next dts = last dts +
 * last duration), so no sample moves by even a tick; after a gap, the
 * track jumps ahead by the gap's length, so the file's clock stays true
 * to wall time (players show a freeze over the gap). Audio that is absent
 * from the previous file restarts at the file's video origin.
 *
 * Durations (docs/design/0030): libavformat's fragmented-MP4 reader gives
 * no duration for a file's last sample (it knows one only as the next
 * sample's dts), so "last duration" is never taken from the packet. Each
 * track holds back its last packet until the next one says how long it
 * lasts: the next packet in the file, the track's end in the file at EOF
 * (AVStream.duration: the dts after the last trun sample, i.e. the
 * duration the recorder wrote), or the first packet past end_us. Only a
 * damaged tail falls back to the previous sample's duration. So every
 * sample keeps its recorded duration, none gets a tick, and each track's
 * time at a join is the sum of its samples: audio and video cannot drift
 * apart over any number of joins.
 *
 * End: a packet whose decode time maps to end_us or later ends the export
 * (decode order, so every kept frame's references are kept too).
 */
#include "export_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_GOP_PACKETS 4096 /* a GOP longer than this is cut at a later keyframe */

enum { TRACK_VIDEO, TRACK_AUDIO, NTRACKS };

struct track {
    AVStream *out; /* borrowed from oc; NULL when the output has no such track */
    AVRational tb; /* input time base (= the output stream's until the header is written) */
    int in_index; /* in the current file; -1 when it has none */
    bool has_first; /* first_dts of the current file is known */
    int64_t first_dts; /* of the current file, input time base */
    int64_t shift; /* added to the current file's dts/pts */
    bool has_next; /* next_dts is valid */
    int64_t next_dts; /* output dts right after the last packet taken (held or written) */
    bool was_present; /* the previous file had this track */
    AVPacket *held; /* the last packet taken, written once its duration is known */
    bool is_holding; /* held carries a packet */
    int64_t last_dur; /* the previous sample's true duration (0: none yet) */
    bool has_end_hint; /* end_hint is valid */
    int64_t end_hint; /* output dts of the first packet past end_us (ends the held one) */
};

struct remux_state {
    struct pb_remux *r;
    AVFormatContext *oc;
    struct track t[NTRACKS];
    int64_t origin_us; /* output time (µs) of the current file's first video sample */
    bool is_header_written;
    /* cut (first file) */
    bool is_cutting;
    AVPacket *gop[MAX_GOP_PACKETS];
    unsigned char gop_track[MAX_GOP_PACKETS];
    int gop_n;
    int64_t cut_rel_us; /* the kept keyframe's time in the first file, µs from its start */
    /* progress */
    int64_t span_us;
    int64_t last_progress_us;
    int64_t written_end_us; /* output time after the last video sample */
};

static int interrupt_cb(void *arg)
{
    struct pb_remux *r = arg;
    return atomic_load(r->is_cancelled) || atomic_load(r->is_stopping);
}

static int stop_code(const struct pb_remux *r)
{
    return pb_stop_code(r->is_cancelled, r->is_stopping);
}

static void fmt_instant(int64_t us, char *buf, size_t size)
{
    clock_format_rfc3339_ms(us / 1000, buf, (unsigned)size);
}

static const char *codec_label(const AVCodecParameters *p, char *buf, size_t size)
{
    if (p->codec_type == AVMEDIA_TYPE_VIDEO)
        snprintf(buf, size, "%s %dx%d", avcodec_get_name(p->codec_id), p->width, p->height);
    else
        snprintf(buf, size, "%s %d Hz", avcodec_get_name(p->codec_id), p->sample_rate);
    return buf;
}

static bool same_params(const AVCodecParameters *a, const AVCodecParameters *b)
{
    return a->codec_id == b->codec_id && a->width == b->width && a->height == b->height &&
           a->sample_rate == b->sample_rate && a->extradata_size == b->extradata_size &&
           (a->extradata_size == 0 || memcmp(a->extradata, b->extradata, a->extradata_size) == 0);
}

static int open_input(struct remux_state *st, const struct sto_recording *row,
                      AVFormatContext **out)
{
    struct pb_remux *r = st->r;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", r->data_dir, row->path);
    AVFormatContext *ic = avformat_alloc_context();
    ic->interrupt_callback = (AVIOInterruptCB){interrupt_cb, r};
    int rc = avformat_open_input(&ic, path, NULL, NULL);
    if (rc < 0) {
        int stopped = stop_code(r);
        if (stopped)
            return stopped;
        snprintf(r->error, sizeof(r->error), "open recording '%s': %s", row->path, av_err2str(rc));
        return rc == AVERROR(ENOENT) ? -ENOENT : -EIO;
    }
    *out = ic;
    return 0;
}

/* Creates the output tracks from the first file and writes the header. */
static int open_output(struct remux_state *st, AVFormatContext *ic)
{
    struct pb_remux *r = st->r;
    int rc = avformat_alloc_output_context2(&st->oc, NULL, "mp4", r->out_path);
    if (rc < 0 || !st->oc) {
        snprintf(r->error, sizeof(r->error), "create MP4 muxer: %s", av_err2str(rc));
        return -EIO;
    }
    st->oc->interrupt_callback = (AVIOInterruptCB){interrupt_cb, r};
    for (int k = 0; k < NTRACKS; k++) {
        int idx = av_find_best_stream(
            ic, k == TRACK_VIDEO ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
        if (idx < 0)
            continue;
        AVStream *in = ic->streams[idx];
        AVStream *o = avformat_new_stream(st->oc, NULL);
        avcodec_parameters_copy(o->codecpar, in->codecpar);
        o->codecpar->codec_tag = 0;
        if (o->codecpar->codec_id == AV_CODEC_ID_HEVC)
            o->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1'); /* parameter sets out of band */
        o->time_base = in->time_base;
        st->t[k].out = o;
        st->t[k].tb = in->time_base;
    }
    if (!st->t[TRACK_VIDEO].out) {
        snprintf(r->error, sizeof(r->error), "recording has no video track");
        return HORUS_ECODEC;
    }
    rc = avio_open2(&st->oc->pb, r->out_path, AVIO_FLAG_WRITE, &st->oc->interrupt_callback, NULL);
    if (rc < 0) {
        snprintf(r->error, sizeof(r->error), "create '%s': %s", r->out_path, av_err2str(rc));
        return rc == AVERROR(ENOSPC) ? -ENOSPC : -EIO;
    }
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "movflags", "+faststart", 0);
    rc = avformat_write_header(st->oc, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        snprintf(r->error, sizeof(r->error), "write MP4 header: %s", av_err2str(rc));
        return -EIO;
    }
    st->is_header_written = true;
    return 0;
}

/* Maps the current file's tracks to the output ones, refusing a change of parameters. */
static int map_tracks(struct remux_state *st, AVFormatContext *ic, const struct sto_recording *row)
{
    for (int k = 0; k < NTRACKS; k++) {
        struct track *t = &st->t[k];
        t->was_present = t->in_index >= 0 && t->has_first;
        t->in_index = -1;
        t->has_first = false;
        if (!t->out)
            continue;
        int idx = av_find_best_stream(
            ic, k == TRACK_VIDEO ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
        if (idx < 0) {
            if (k == TRACK_AUDIO)
                continue; /* audio may come and go; the video timeline carries on */
            snprintf(st->r->error, sizeof(st->r->error), "recording '%s' has no video track",
                     row->path);
            return HORUS_ECODEC;
        }
        AVStream *in = ic->streams[idx];
        if (!same_params(in->codecpar, t->out->codecpar) || av_cmp_q(in->time_base, t->tb) != 0) {
            char at[32], from[64], to[64];
            fmt_instant(row->start_us, at, sizeof(at));
            snprintf(st->r->error, sizeof(st->r->error),
                     "the recording changes from %s to %s at %s (new %s parameters); export the "
                     "ranges before and after that instant separately",
                     codec_label(t->out->codecpar, from, sizeof(from)),
                     codec_label(in->codecpar, to, sizeof(to)), at,
                     k == TRACK_VIDEO ? "video" : "audio");
            return HORUS_ECODEC;
        }
        t->in_index = idx;
    }
    return 0;
}

static int64_t to_us(int64_t ts, AVRational tb)
{
    return av_rescale_q(ts, tb, AV_TIME_BASE_Q);
}

static int64_t from_us(int64_t us, AVRational tb)
{
    return av_rescale_q(us, AV_TIME_BASE_Q, tb);
}

/*
 * Sets the shift of track t for the current file (row, previous row prev)
 * from its first dts. See the DESIGN note for the rules.
 */
static void set_shift(struct remux_state *st, int k, const struct sto_recording *row,
                      const struct sto_recording *prev)
{
    struct track *t = &st->t[k];
    if (!prev) {
        /* First file: the cut keyframe's time is 0 on every track. */
        t->shift = -t->first_dts - from_us(st->cut_rel_us, t->tb);
    } else if (k == TRACK_VIDEO || (t->was_present && t->has_next)) {
        int64_t gap_us = row->start_us - prev->end_us;
        int64_t gap = gap_us > 0 ? from_us(gap_us, t->tb) : 0;
        t->shift = t->next_dts + gap - t->first_dts;
    } else {
        t->shift = from_us(st->origin_us, t->tb) - t->first_dts;
        if (t->has_next && t->first_dts + t->shift < t->next_dts)
            t->shift = t->next_dts - t->first_dts;
    }
    if (k == TRACK_VIDEO)
        st->origin_us = to_us(t->first_dts + t->shift, t->tb);
}

static void report_progress(struct remux_state *st, int64_t out_us)
{
    struct pb_remux *r = st->r;
    if (!r->progress_cb || out_us - st->last_progress_us < 100000 || st->span_us <= 0)
        return;
    st->last_progress_us = out_us;
    double p = (double)out_us / (double)st->span_us;
    r->progress_cb(r->progress_arg, p < 0 ? 0 : p > 0.99 ? 0.99 : p);
}

/* Writes packet pkt of track k to the output (dts/pts shifted, pkt->duration final). */
static int mux_packet(struct remux_state *st, int k, AVPacket *pkt)
{
    struct track *t = &st->t[k];
    if (k == TRACK_VIDEO) {
        st->written_end_us = to_us(pkt->dts + pkt->duration, t->tb);
        report_progress(st, st->written_end_us);
    }
    pkt->stream_index = t->out->index;
    av_packet_rescale_ts(pkt, t->tb, t->out->time_base);
    pkt->pos = -1;
    int rc = av_write_frame(st->oc, pkt);
    if (rc < 0) {
        int stopped = stop_code(st->r);
        if (stopped)
            return stopped;
        snprintf(st->r->error, sizeof(st->r->error), "write '%s': %s", st->r->out_path,
                 av_err2str(rc));
        return rc == AVERROR(ENOSPC) ? -ENOSPC : -EIO;
    }
    return 0;
}

/*
 * Writes track k's held packet, ending at output dts end when that is
 * after it (the next sample's dts, or the track's end in its file), else
 * after the previous sample's duration. Sets next_dts to its end.
 */
static int release_held(struct remux_state *st, int k, bool has_end, int64_t end)
{
    struct track *t = &st->t[k];
    if (!t->is_holding)
        return 0;
    AVPacket *h = t->held;
    int64_t dur = has_end && end > h->dts ? end - h->dts : t->last_dur > 0 ? t->last_dur : 1;
    h->duration = dur;
    t->last_dur = dur;
    t->next_dts = h->dts + dur;
    t->is_holding = false;
    int rc = mux_packet(st, k, h);
    av_packet_unref(h);
    return rc;
}

/*
 * Takes one packet of track k (dts/pts already shifted, input time base):
 * it is held until the next one of its track (or the end of its file)
 * says how long it lasts, so no sample gets a guessed duration.
 */
static int write_packet(struct remux_state *st, int k, AVPacket *pkt)
{
    struct track *t = &st->t[k];
    if (t->has_next && pkt->dts < t->next_dts) {
        /* A jittered wall clock must never make dts go back: nudge it forward. */
        int64_t d = t->next_dts - pkt->dts;
        pkt->dts += d;
        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts += d;
    }
    int rc = release_held(st, k, true, pkt->dts);
    if (rc < 0)
        return rc;
    av_packet_move_ref(t->held, pkt);
    t->is_holding = true;
    t->next_dts = t->held->dts + 1; /* the least the next packet may take */
    t->has_next = true;
    return 0;
}

/*
 * Ends the current file: each held packet lasts until its track's end in
 * the file, which the demuxer knows from the fragments' sample durations
 * (AVStream.duration is the end of the last trun read: the dts after the
 * last sample, file time base). A file read to its end has had every
 * fragment parsed, so that is the recorded duration of its last sample;
 * is_whole is false when a damaged tail stopped the read.
 */
static int end_file(struct remux_state *st, AVFormatContext *ic, bool is_whole)
{
    for (int k = 0; k < NTRACKS; k++) {
        struct track *t = &st->t[k];
        if (t->in_index < 0 || !t->is_holding)
            continue;
        const AVStream *in = ic->streams[t->in_index];
        /* A damaged tail may have parsed a moof whose samples were not read: guess then. */
        bool has_end = is_whole && in->duration != AV_NOPTS_VALUE && in->duration > 0;
        int rc = release_held(st, k, has_end, has_end ? in->duration + t->shift : 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void gop_clear(struct remux_state *st)
{
    for (int i = 0; i < st->gop_n; i++)
        av_packet_free(&st->gop[i]);
    st->gop_n = 0;
}

/* Ends the cut: writes the buffered GOP, each packet shifted by its track. */
static int gop_flush(struct remux_state *st)
{
    int rc = 0;
    st->is_cutting = false;
    for (int i = 0; i < st->gop_n && rc == 0; i++) {
        AVPacket *p = st->gop[i];
        int k = st->gop_track[i];
        struct track *t = &st->t[k];
        if (k != TRACK_VIDEO && p->dts + t->shift < 0)
            continue; /* audio that precedes the cut keyframe */
        p->dts += t->shift;
        if (p->pts != AV_NOPTS_VALUE)
            p->pts += t->shift;
        rc = write_packet(st, k, p);
    }
    gop_clear(st);
    return rc;
}

/*
 * Handles one packet of the first file while cutting: keeps the GOP that
 * starts at the latest keyframe at or before start_us. Returns 1 when the
 * packet was taken (buffered or dropped), 0 when the cut is over and the
 * packet must be written normally, or a negative code.
 */
static int cut_packet(struct remux_state *st, int k, AVPacket *pkt, int64_t rel_us,
                      int64_t start_rel_us)
{
    bool is_key = k == TRACK_VIDEO && (pkt->flags & AV_PKT_FLAG_KEY);
    if (k == TRACK_VIDEO && rel_us > start_rel_us && st->gop_n > 0) {
        /* Past start: the buffered GOP began at the keyframe we want. */
        for (int j = 0; j < NTRACKS; j++)
            if (st->t[j].has_first)
                set_shift(st, j, NULL, NULL);
        int rc = gop_flush(st);
        return rc < 0 ? rc : 0;
    }
    if (is_key && (rel_us <= start_rel_us || st->gop_n == 0)) {
        gop_clear(st);
        st->cut_rel_us = rel_us;
    } else if (st->gop_n == 0) {
        return 1; /* before the first keyframe we keep: dropped */
    } else if (st->gop_n == MAX_GOP_PACKETS) {
        gop_clear(st); /* an absurd GOP: start over at the next keyframe */
        return 1;
    }
    st->gop_track[st->gop_n] = (unsigned char)k;
    st->gop[st->gop_n++] = av_packet_clone(pkt);
    return 1;
}

/* Copies one file's packets. Returns 0, 1 when end_us was reached, or a negative code. */
static int copy_file(struct remux_state *st, AVFormatContext *ic, const struct sto_recording *row,
                     const struct sto_recording *prev)
{
    struct pb_remux *r = st->r;
    AVPacket *pkt = av_packet_alloc();
    int64_t start_rel_us = r->start_us - row->start_us;
    bool is_past[NTRACKS] = {false};
    bool is_whole = true;
    int result = 0;
    for (;;) {
        int stopped = stop_code(r);
        if (stopped) {
            result = stopped;
            break;
        }
        int rc = av_read_frame(ic, pkt);
        if (rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            stopped = stop_code(r);
            if (stopped) {
                result = stopped;
                break;
            }
            /* A damaged tail: keep what was read (the rest of the range carries on). */
            is_whole = false;
            break;
        }
        int k = -1;
        for (int j = 0; j < NTRACKS; j++)
            if (st->t[j].in_index == pkt->stream_index)
                k = j;
        if (k < 0 || pkt->dts == AV_NOPTS_VALUE) {
            av_packet_unref(pkt);
            continue;
        }
        struct track *t = &st->t[k];
        if (!t->has_first) {
            t->has_first = true;
            t->first_dts = pkt->dts;
            if (!st->is_cutting)
                set_shift(st, k, row, prev);
        }
        int64_t rel_us = to_us(pkt->dts - t->first_dts, t->tb);
        if (row->start_us + rel_us >= r->end_us) {
            /*
             * Parts store video before audio, so audio up to end_us may still
             * follow the first video packet past it: stop once every track of
             * this file is past end_us (or a second later at most).
             */
            if (!is_past[k] && !st->is_cutting && !t->has_end_hint) {
                /* The next sample of the track: where the last one kept ends. */
                t->has_end_hint = true;
                t->end_hint = pkt->dts + t->shift;
            }
            av_packet_unref(pkt);
            is_past[k] = true;
            bool has_audio = st->t[TRACK_AUDIO].in_index >= 0;
            if (is_past[TRACK_VIDEO] && (!has_audio || is_past[TRACK_AUDIO] ||
                                         row->start_us + rel_us >= r->end_us + 1000000)) {
                result = 1;
                break;
            }
            continue;
        }
        if (st->is_cutting) {
            rc = cut_packet(st, k, pkt, rel_us, start_rel_us);
            if (rc != 0) {
                av_packet_unref(pkt);
                if (rc < 0) {
                    result = rc;
                    break;
                }
                continue;
            }
        }
        pkt->dts += t->shift;
        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts += t->shift;
        rc = write_packet(st, k, pkt);
        av_packet_unref(pkt);
        if (rc < 0) {
            result = rc;
            break;
        }
    }
    av_packet_free(&pkt);
    /* A range that ends inside the first file's first GOP (or a file with one GOP). */
    if (result >= 0 && st->is_cutting && st->gop_n > 0) {
        for (int j = 0; j < NTRACKS; j++)
            if (st->t[j].has_first)
                set_shift(st, j, NULL, NULL);
        int rc = gop_flush(st);
        if (rc < 0)
            result = rc;
    }
    if (result == 0) {
        int rc = end_file(st, ic, is_whole);
        if (rc < 0)
            result = rc;
    }
    return result;
}

static int hash_file(struct pb_remux *r)
{
    int fd = open(r->out_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(r->error, sizeof(r->error), "reopen '%s': %s", r->out_path, strerror(errno));
        return -errno;
    }
    int rc = 0;
    if (fsync(fd) < 0) {
        rc = -errno;
        snprintf(r->error, sizeof(r->error), "fsync '%s': %s", r->out_path, strerror(errno));
        close(fd);
        return rc;
    }
    rc = pb_hash_fd(fd, r->is_cancelled, r->is_stopping, r->sha256, &r->size_bytes);
    if (rc < 0 && rc != -ECANCELED && rc != HORUS_ESTOPPED)
        snprintf(r->error, sizeof(r->error), "read back '%s': %s", r->out_path, horus_strerror(rc));
    close(fd);
    return rc;
}

int pb_remux_run(struct pb_remux *r)
{
    struct remux_state st = {.r = r, .is_cutting = true};
    for (int k = 0; k < NTRACKS; k++) {
        st.t[k].in_index = -1;
        st.t[k].held = av_packet_alloc();
    }
    r->error[0] = '\0';
    r->sha256[0] = '\0';
    int64_t last_end = r->nrows ? r->rows[r->nrows - 1].end_us : r->end_us;
    int rc = 0;
    const struct sto_recording *prev = NULL;
    for (size_t i = 0; i < r->nrows && rc == 0; i++) {
        const struct sto_recording *row = &r->rows[i];
        AVFormatContext *ic = NULL;
        rc = open_input(&st, row, &ic);
        if (rc == -ENOENT) {
            /* Retention may delete a file under a long export: skip it like a gap. */
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        if (!st.oc) {
            rc = open_output(&st, ic);
            if (rc == 0) {
                int64_t from = r->start_us > row->start_us ? r->start_us : row->start_us;
                st.span_us = (last_end < r->end_us ? last_end : r->end_us) - from;
            }
        }
        if (rc == 0)
            rc = map_tracks(&st, ic, row);
        if (rc == 0)
            rc = copy_file(&st, ic, row, prev);
        avformat_close_input(&ic);
        prev = row;
        if (rc == 1) {
            rc = 0;
            break; /* end reached */
        }
    }
    gop_clear(&st);
    /* The range ended inside a file: the last samples end where the next ones began. */
    for (int k = 0; k < NTRACKS && rc == 0; k++)
        rc = release_held(&st, k, st.t[k].has_end_hint, st.t[k].end_hint);
    for (int k = 0; k < NTRACKS; k++)
        av_packet_free(&st.t[k].held);
    if (rc == 0 && (!st.oc || !st.t[TRACK_VIDEO].has_next)) {
        snprintf(r->error, sizeof(r->error), "no video frames in the range");
        rc = -ENODATA;
    }
    if (st.is_header_written) {
        /* The faststart pass runs here: moov is moved in front of mdat. */
        int wrc = av_write_trailer(st.oc);
        if (rc == 0 && wrc < 0) {
            rc = stop_code(r);
            if (rc == 0) {
                snprintf(r->error, sizeof(r->error), "finish '%s': %s", r->out_path,
                         av_err2str(wrc));
                rc = wrc == AVERROR(ENOSPC) ? -ENOSPC : -EIO;
            }
        }
    }
    if (st.oc) {
        avio_closep(&st.oc->pb);
        avformat_free_context(st.oc);
    }
    if (rc == 0) {
        r->duration_us = st.written_end_us;
        rc = hash_file(r);
    }
    return rc;
}
