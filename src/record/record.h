/*
 * Recorder: crash-safe fragmented MP4 (CMAF) segment files and their
 * compact fragment index. The on-disk protocol (temporary name, part
 * layout, fsync policy, rename, index blob, recovery) is described in
 * docs/design/0003-recording-files.md.
 *
 * A segment file is one init segment (ftyp + moov) followed by "parts":
 * each part is exactly one moof + mdat pair holding ~200 ms of samples of
 * every track, written with a single pwritev(2). A part is the LL-HLS part
 * and also the recording fragment, so there is one writer for both.
 *
 * Thread: a rec_segment belongs to one thread (the recorder's); the free
 * functions (index, scan) are Thread: any.
 */
#ifndef HORUS_RECORD_H
#define HORUS_RECORD_H

#include "media.h"
#include "media_fmp4.h"
#include "media_part.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_MAX_TRACKS 4
#define REC_PART_DURATION_MS_DEFAULT 200

/* ---- parsing a segment file from memory ------------------------------- */

struct rec_track_info {
    uint32_t track_id;
    enum media_kind kind;
    enum media_codec codec;
    uint32_t timescale;
    uint32_t width, height; /* video */
    uint32_t sample_rate; /* audio */
    uint32_t channels; /* audio */
    char codec_string[32]; /* RFC 6381, derived from avcC / hvcC / esds */
};

struct rec_scan {
    size_t init_size; /* bytes of ftyp + moov; 0 when the init segment is incomplete */
    size_t valid_size; /* init plus every complete, consistent moof + mdat */
    int64_t start_wall_us; /* from moov/udta/hrst; 0 when the file has none */
    size_t n_tracks;
    struct rec_track_info tracks[REC_MAX_TRACKS];
    size_t primary; /* index into tracks of the primary track */
    struct sto_part *parts; /* owned; n_parts entries */
    size_t n_parts;
};

/*
 * Parses an fMP4 file image: the init segment, then moof + mdat pairs until
 * the first torn, truncated or inconsistent box. Everything before that
 * point is valid_size bytes; the rest is a torn tail. Never reads outside
 * buf. Fills *out (release with rec_scan_release, also after failure).
 * Returns 0 when the init segment is complete (there may be zero parts), or
 * HORUS_EPARSE when it is not (out->valid_size is then 0).
 */
int rec_fmp4_scan(const uint8_t *buf, size_t len, struct rec_scan *out);
void rec_scan_release(struct rec_scan *s);

/* ---- recorded media time moved when served (fmp4_rebase.c, docs/design/0074) ---- */

/*
 * From a file's head (its init segment and first fragment, or more): the
 * shift that puts the primary track's first decode time at offset_us of
 * media time, the other tracks moved alike (media_fmp4_shift_tfdt applies
 * it). Returns 0 or HORUS_EPARSE.
 */
int rec_rebase_prepare(const uint8_t *head, size_t len, int64_t offset_us,
                       struct media_tfdt_shift *out);

/* ---- segment writer ----------------------------------------------------- */

typedef struct rec_segment rec_segment;

struct rec_segment_options {
    uint32_t part_duration_ms; /* 0: REC_PART_DURATION_MS_DEFAULT */
    /*
     * Borrowed, may be NULL: receives every part built (also one whose
     * write failed), each carrying the segment's media_init. Called on the
     * segment's thread; must not block. Must outlive the segment.
     */
    media_part_sink *part_sink;
};

/* What the index row needs about a closed segment. Release with rec_segment_info_release. */
struct rec_segment_info {
    char *path; /* owned: final .mp4 path */
    int64_t start_wall_us; /* UTC */
    int64_t end_wall_us; /* start + primary track duration */
    int64_t duration_90k;
    uint64_t size_bytes;
    uint32_t width, height; /* of the first video track, 0 without video */
    char video_codec[32]; /* RFC 6381, "" without video */
    char audio_codec[32]; /* RFC 6381, "" without audio */
    char sha256_hex[65]; /* of the whole closed file */
    uint8_t *index; /* owned: sto_index_encode blob */
    size_t index_size;
    size_t n_parts;
};

void rec_segment_info_release(struct rec_segment_info *info);

/*
 * Creates <dir>/<YYYY-MM-DD>/<HH-MM-SS>.mp4.part (UTC of start_wall_us,
 * directories made as needed; "-N" is appended to the time when that name
 * is taken) and writes the init segment for streams (1..REC_MAX_TRACKS,
 * borrowed for the call; the segment takes its own references). opt may be
 * NULL. On success *out is a new segment.
 * Returns 0, -errno from the file system, or HORUS_ECODEC for a stream the
 * writer cannot describe (no extradata, unknown codec). Thread: recorder.
 */
int rec_segment_open(const char *dir, int64_t start_wall_us, media_stream *const *streams,
                     size_t n_streams, const struct rec_segment_options *opt, rec_segment **out);

/*
 * Queues pkt (borrowed; the segment takes its own reference) into the part
 * in progress. When a packet of the primary track arrives and the part
 * holds at least the part duration, or the packet is a video keyframe of
 * the primary track (a keyframe always starts a part), the part is written
 * first as one moof + mdat with one pwritev (and published to the part
 * sink, if any, before the write). The first primary packet must be a
 * keyframe; packets before it are refused with -EAGAIN (the caller waits
 * for a keyframe to start a segment).
 * Returns 0; -EINVAL when pkt's stream is not one of the segment's;
 * -EAGAIN as above; or -errno (-ENOSPC, -EIO) when writing a part failed:
 * that part's samples are dropped, the file is truncated back to its last
 * complete part, pkt itself is kept, and the segment stays usable.
 */
int rec_segment_push(rec_segment *seg, media_packet *pkt);

/*
 * Hashes the bytes written so far by several open segments together (their
 * SHA-256 advances in parallel vector lanes; see sha256_mb.c). Until then
 * a segment holds references to the packets it wrote. Call it now and then
 * (the recorder does every few hundred ms); rec_segment_close hashes what
 * is left. Thread: recorder.
 */
void rec_segments_hash(rec_segment *const *segs, size_t n);

/* Bytes written and not hashed yet. */
uint64_t rec_segment_unhashed_bytes(const rec_segment *seg);

/* Parts written to the file so far. */
size_t rec_segment_part_count(const rec_segment *seg);

/*
 * The part index of the parts written completely so far (*n entries),
 * borrowed until the next push or close; entries never change once listed.
 */
const struct sto_part *rec_segment_parts(const rec_segment *seg, size_t *n);

/* Primary-track time covered so far (written and queued), 90 kHz. */
int64_t rec_segment_duration_90k(const rec_segment *seg);
/* The wall-clock start the segment was opened with (its row's start_us). */
int64_t rec_segment_start_wall_us(const rec_segment *seg);

/* Current file name (the .part name while open). Borrowed until close. */
const char *rec_segment_path(const rec_segment *seg);

/*
 * Writes the last part, fsyncs the file, renames .part to .mp4, fsyncs the
 * directory, fills *info and frees seg (also on failure). When writing the
 * last part fails the segment is still closed at its last complete part
 * and the error is returned with *info filled. An empty segment (no part, or a zero duration)
 * is unlinked and -ENODATA returned. Thread: recorder.
 */
int rec_segment_close(rec_segment *seg, struct rec_segment_info *info);

/*
 * Frees seg without finishing it: the .part file stays as a crash would
 * leave it (for tests and for shutdown paths that cannot write). NULL is
 * a no-op.
 */
void rec_segment_abandon(rec_segment *seg);

/*
 * Repairs a .part left by a crash: keeps the init segment and every
 * complete part, truncates the torn tail, fsyncs, renames to the name
 * without ".part", fsyncs the directory and fills *info (start time from
 * the file name). Returns 0; HORUS_EPARSE when not even the init segment is
 * complete (nothing is playable: the caller may unlink the file);
 * -EINVAL when path does not end in ".part"; or -errno. Thread: any.
 */
int rec_segment_recover(const char *part_path, struct rec_segment_info *info);

/*
 * Reads a closed segment file without changing it (horus check): fills
 * *info as rec_segment_close would (size_bytes is the valid prefix: init
 * plus complete parts; sha256 covers the whole file) and *file_size with
 * the file's size, so a torn or grown file shows as a difference. Returns
 * 0, HORUS_EPARSE when the init segment is incomplete, -ENODATA when the
 * file holds no complete part, or -errno.
 */
int rec_segment_inspect(const char *path, struct rec_segment_info *info, uint64_t *file_size);

/* Live rec_segment count, for leak checks in tests. */
long rec_live_segments(void);

#endif
