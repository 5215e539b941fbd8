/*
 * fMP4 parts crossing module boundaries: the recorder's segment writer
 * builds each part (one moof + mdat) once and publishes it, with the init
 * segment (ftyp + moov) it belongs to, to an optional media_part_sink; live
 * view serves the same bytes from memory (write once, serve both; see
 * docs/design/0005-live-ll-hls.md). record and live never include each
 * other: this header is their whole contract.
 *
 * Ownership: inits and parts are refcounted and immutable once published;
 * *_ref returns the same pointer with one more reference, *_unref frees at
 * zero. Thread: any.
 */
#ifndef HORUS_MEDIA_PART_H
#define HORUS_MEDIA_PART_H

#include "media.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_INIT_MAX_STREAMS 4

/*
 * An init segment (ftyp + moov) and the streams it describes, track ids
 * 1..n in order. A writer makes one per segment file; two inits with equal
 * bytes describe the same decoder setup (media_init_same).
 */
typedef struct media_init {
    _Atomic int refs;
    size_t n_streams;
    media_stream *streams[MEDIA_INIT_MAX_STREAMS]; /* owned references */
    size_t primary; /* index of the track parts are cut on (first video, else 0) */
    size_t size;
    uint8_t data[]; /* size bytes */
} media_init;

/*
 * Returns a new init (refcount 1) holding a copy of the size bytes at data
 * and a reference to each of streams[0..n_streams) (1..MEDIA_INIT_MAX_STREAMS).
 */
media_init *media_init_new(const uint8_t *data, size_t size, media_stream *const *streams,
                           size_t n_streams);
media_init *media_init_ref(media_init *i);
void media_init_unref(media_init *i); /* NULL is a no-op */
/* True when both hold the same bytes (a player needs no new EXT-X-MAP). */
bool media_init_same(const media_init *a, const media_init *b);

/*
 * One part: the complete moof + mdat bytes of ~200 ms of every track,
 * starting at any sample; is_independent when the primary track's first
 * sample is a keyframe. Times are in the primary stream's timescale.
 */
typedef struct media_part {
    _Atomic int refs;
    media_init *init; /* owned reference: the init the part's tracks refer to */
    int64_t dts; /* the primary track's first dts (the part's tfdt), continuous across files */
    int64_t duration; /* the primary track's duration in the part */
    uint32_t timescale; /* of the primary stream */
    bool is_independent; /* starts with a primary keyframe: a player may start here */
    int64_t wall_us; /* UTC microseconds of the first primary sample */
    int64_t arrival_ns; /* monotonic arrival of the newest packet in the part; 0 = unknown */
    size_t size;
    uint8_t data[]; /* size bytes: moof + mdat */
} media_part;

/*
 * Returns a new part (refcount 1) with room for size bytes (uninitialised)
 * and a new reference to init; the other fields are zero.
 */
media_part *media_part_new(media_init *init, size_t size);
media_part *media_part_ref(media_part *p);
void media_part_unref(media_part *p); /* NULL is a no-op */

/* Live init and part counts, for leak checks in tests. */
long media_live_inits(void);
long media_live_parts(void);

/*
 * A consumer of parts. The producer (the recorder thread) calls part_cb for
 * every part it builds, in order, and must never wait: the sink takes its
 * own reference under a short lock and returns. The part is borrowed for
 * the call. The sink must outlive every producer it was given to.
 */
typedef struct media_part_sink media_part_sink;

struct media_part_sink_ops {
    void (*part_cb)(media_part_sink *sink, media_part *part);
};

struct media_part_sink {
    const struct media_part_sink_ops *ops;
};

#endif
