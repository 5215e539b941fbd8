/*
 * The pure parts of the analysis pipeline (docs/design/0036), private to
 * src/detect and its unit tests: the per-camera packet slot between an
 * ingest thread and the analysis workers, and the budget's choice of the
 * next camera to analyse. No locks, threads or clocks here: the sampler
 * locks, time comes in as arguments.
 */
#ifndef HORUS_DETECT_SLOT_H
#define HORUS_DETECT_SLOT_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a frame was not analysed (the `reason` label of horus_detect_skipped_frames_total). */
enum det_skip {
    DET_SKIP_BUSY, /* due, but a newer frame was there before a worker was */
    DET_SKIP_QUEUE_FULL, /* the slot was full: dropped at ingest */
    DET_SKIP_DECODE_ERROR, /* the decoder refused it */
    DET_SKIP_KEYFRAME_WAIT, /* dropped after a loss, until the next keyframe */
    DET_SKIP_COUNT,
};
extern const char *const det_skip_names[DET_SKIP_COUNT];

#define DET_SLOT_MAX 256

/*
 * A bounded FIFO of packets of one camera stream. keyframes_only keeps
 * keyframes and ignores the rest (not a skip: they are never sampled).
 * When full, the packet is dropped (queue_full) and so is every packet
 * until the next keyframe (keyframe_wait), so the decoder never sees a
 * hole. A new stream or a gap empties it and waits for a keyframe too.
 */
struct det_slot {
    media_packet *q[DET_SLOT_MAX];
    size_t head, count, cap;
    bool is_keyframes_only;
    bool is_waiting_key;
    int64_t oldest_ns; /* arrival (caller's clock) of q[head]; 0 when empty */
    size_t superseded; /* packets the last take dropped before its newest keyframe */
    uint64_t skipped[DET_SKIP_COUNT];
};

/* cap: 1..DET_SLOT_MAX packets. */
void det_slot_init(struct det_slot *s, size_t cap, bool keyframes_only);
/* Offers p (borrowed; a kept packet gets its own reference) arriving at now_ns. */
void det_slot_push(struct det_slot *s, media_packet *p, int64_t now_ns);
/* The stream changed or lost continuity: drops what is queued, waits for a keyframe. */
void det_slot_reset(struct det_slot *s);
/*
 * Moves the queued packets to out (at most DET_SLOT_MAX; references move
 * too), starting at the newest queued keyframe when there is one: what
 * comes before it can never be shown (how many: s->superseded). Returns
 * how many it moved.
 */
size_t det_slot_take(struct det_slot *s, media_packet **out);
/* Drops everything (references released). */
void det_slot_clear(struct det_slot *s);

/*
 * The budget, stride scheduling: every camera has a pass that each analysis
 * advances by 1/weight (low 1, normal 2, high 4). Of the cameras ready to
 * analyse (due, with packets), the one with the smallest pass goes next, so
 * under overload the cameras share the workers in proportion to their
 * weights (each capped by its own fps), and a low-priority one is sampled
 * less but still sampled. A pass behind *vtime (the pass of the last pick:
 * the camera was idle or new) counts as *vtime, so idling earns no burst.
 * Returns the index and updates its pass and *vtime, or -1 when none is ready.
 */
struct det_sched_entry {
    bool is_ready;
    int weight; /* >= 1 */
    double pass;
};
int det_sched_pick(struct det_sched_entry *e, size_t n, double *vtime);

/*
 * Sampling instants: a grid every interval_us of media time, anchored at
 * the first frame analysed (*grid_us < 0: none yet). Returns how many
 * instants the frame at pts_us reaches since the last one used (0: not due
 * yet), a quarter interval early counting as on time (jitter), and moves
 * *grid_us to the last instant reached. Analysing the frame uses one
 * instant; of the others, those for which a newer frame had replaced an
 * older one were skipped as busy (det_sample_busy). A frame more than an
 * interval before the grid (a loop, a new epoch) re-anchors it: due 1.
 * interval_us <= 0: every newer frame is due.
 */
uint64_t det_sample_due(int64_t *grid_us, int64_t pts_us, int64_t interval_us);
/*
 * Frames skipped as busy when a frame due for `due` instants is analysed
 * and `superseded` older frames were dropped for it: an instant missed
 * counts only if a frame was there for it (keyframes only, or a camera
 * slower than detect.fps, miss none).
 */
uint64_t det_sample_busy(uint64_t due, uint64_t superseded);

#endif
