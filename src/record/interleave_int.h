/*
 * Private to src/record: puts one camera's audio and video packets in
 * decode-time order before the segment writer sees them
 * (docs/design/0063-recorder-interleave.md).
 *
 * A camera's tracks arrive on separate paths (two UDP sockets, or a video
 * picture that is complete only when its last packet is in), so audio is
 * often handed over a frame or two before or after the video of the same
 * instant. The writer puts samples into the file whose keyframe they
 * follow in arrival order; without this, a segment cut gives the old file
 * audio that plays after its last picture and the new one a hole at its
 * start.
 *
 * A track's time is its dts in microseconds; the tracks of one session
 * share an origin (each timeline starts at 0 with the session, design
 * 0004), which is also how the recorded files align them. A packet leaves
 * when every other track has delivered a packet at or after its time (a
 * track's dts only grows, so nothing earlier can follow), when the other
 * track is stalled (REC_ILV_STALL_US behind the newest time seen), or when
 * the queue holds REC_ILV_MAX packets. Held packets therefore span at most
 * REC_ILV_STALL_US of media time. Ties leave video first, so audio stamped
 * with a keyframe's time goes into the keyframe's segment.
 *
 * Thread: the worker holding the camera (no locks).
 */
#ifndef HORUS_RECORD_INTERLEAVE_INT_H
#define HORUS_RECORD_INTERLEAVE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"

#define REC_ILV_STALL_US INT64_C(500000)
#define REC_ILV_MAX 1024 /* packets held, all tracks */

struct rec_ilv_track {
    media_packet **q; /* owned refs, a ring of cap */
    size_t head, len, cap;
    int64_t last_us; /* time of the newest packet pushed */
    bool is_seen; /* a packet was pushed since the last reset */
};

/* Zero-initialised is empty. */
struct rec_interleave {
    struct rec_ilv_track tracks[2]; /* [0] video, [1] audio */
    size_t len; /* packets held, all tracks */
};

/* Holds a new reference to pkt. */
void rec_interleave_push(struct rec_interleave *il, media_packet *pkt);

/*
 * Returns the next packet that may leave (the caller owns the reference),
 * or NULL. With is_draining every held packet may leave, in time order.
 */
media_packet *rec_interleave_pop(struct rec_interleave *il, bool is_draining);

/* Forgets what the tracks delivered (after a drain at a source gap). */
void rec_interleave_reset(struct rec_interleave *il);

/* Drops every held packet and frees the queues. */
void rec_interleave_release(struct rec_interleave *il);

/* Microseconds of a packet's dts in its stream's timescale. */
int64_t rec_interleave_time_us(const media_packet *pkt);

#endif
