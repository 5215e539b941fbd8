/*
 * The packet relay: per (camera, stream), a fan-out of media packets from
 * memory to any number of readers (the RTSP re-stream server, WebRTC).
 * Design: docs/design/0054-rtsp-restream.md.
 *
 * A feed is a media_sink that the supervisor puts in a camera stream's
 * tee. Its callbacks never block and never do I/O: they take the feed's
 * lock, keep a reference, append a reference to each reader's queue and
 * wake the readers whose queue was empty. The recorder, the other sinks
 * and ingest never wait for a reader.
 *
 * The feed keeps the packets since the latest video keyframe (its GOP,
 * bounded), so a new reader starts at once: its queue begins with a
 * RELAY_EV_STREAM per track, then the GOP from its keyframe. A reader
 * whose queue is full is skipped forward: its queue is emptied, the
 * packets up to the next video keyframe are not given to it, the skip is
 * counted (relay_reader_stats, horus_relay_skips_total), and it resumes
 * with a RELAY_EV_STREAM per track then that keyframe. Other readers are
 * not affected.
 *
 * Events a reader sees, in order:
 *   RELAY_EV_STREAM  a track (video or audio) starts or changes parameters;
 *                    ev.stream is a new reference. Also repeated after a skip
 *                    or a gap, with parameters that may be unchanged.
 *   RELAY_EV_PACKET  ev.packet is a new reference; the first video packet
 *                    after a STREAM, a GAP or a skip is a keyframe.
 *   RELAY_EV_GAP     the camera lost continuity (reconnect, stall): the
 *                    next packets start a new timeline; ev.reason is a
 *                    static phrase.
 *   RELAY_EV_END     the feed was removed (camera stopped or deleted). No
 *                    event follows; the reader should be closed.
 * Audio-only feeds have no video keyframe: each audio packet counts as one.
 *
 * Wake-ups: each reader has an eventfd (relay_reader_fd, for epoll) that is
 * readable while the reader has events, or instead a callback given at
 * open. relay_reader_next returns 0 once the queue is empty and re-arms the
 * wake-up in the same locked step, so no event is ever missed.
 *
 * Ownership: the hub owns feeds; a feed lives while the supervisor has it
 * attached or a reader holds it, so a reader stays valid (and sees
 * RELAY_EV_END) after its camera is detached. Lock order: hub, then feed.
 *
 * No thread of its own: relay_hub_new / relay_hub_free only.
 */
#ifndef HORUS_RELAY_H
#define HORUS_RELAY_H

#include "media.h"
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct relay_hub relay_hub;
typedef struct relay_reader relay_reader;

struct relay_hub_options {
    size_t gop_max_packets; /* packets kept since the keyframe; 0 = 1024 */
    size_t gop_max_bytes; /* bytes kept since the keyframe; 0 = 16 MiB */
    metrics_registry *metrics; /* borrowed, may be NULL; must outlive the hub */
};

/* Makes an empty hub in *out. Returns 0. Thread: main. */
int relay_hub_new(const struct relay_hub_options *opt, relay_hub **out);

/*
 * Frees the hub and every feed it still holds. Readers must all be closed
 * before (a bug otherwise). NULL is a no-op. Thread: main, after every
 * producer stopped.
 */
void relay_hub_free(relay_hub *h);

/*
 * Adds the feed of (camera, stream) and returns its sink (borrowed: valid
 * until relay_hub_detach of the same pair), to be called by the producer's
 * thread only. A feed of that pair still attached is detached first (its
 * readers get RELAY_EV_END). camera and stream are copied. Thread: any.
 */
media_sink *relay_hub_attach(relay_hub *h, const char *camera, const char *stream);

/*
 * Removes the feed of (camera, stream), after its producer has stopped
 * calling the sink: its readers get RELAY_EV_END, later opens get -ENOENT.
 * Unknown pairs are ignored. Thread: any.
 */
void relay_hub_detach(relay_hub *h, const char *camera, const char *stream);

/* The current tracks of a feed (new references or NULL), for a description (SDP). */
struct relay_tracks {
    media_stream *video; /* new reference or NULL */
    media_stream *audio; /* new reference or NULL */
};

/*
 * Fills *out with the feed's current tracks. Returns 0; -ENOENT when no
 * feed of that pair is attached; -EAGAIN when it has no track yet (the
 * camera is connecting). Release with relay_tracks_release. Thread: any.
 */
int relay_hub_tracks(relay_hub *h, const char *camera, const char *stream,
                     struct relay_tracks *out);
void relay_tracks_release(struct relay_tracks *t);

/*
 * Wake-up callback: called on the producer's thread, with the feed's lock
 * held, when the reader's queue goes from empty to non-empty. It must only
 * signal (set a flag, write an eventfd) and must not call into the relay.
 */
typedef void (*relay_wake_cb)(void *arg);

struct relay_reader_options {
    size_t queue_max_packets; /* events queued before a skip; 0 = 512 */
    size_t queue_max_bytes; /* packet bytes queued before a skip; 0 = 8 MiB */
    relay_wake_cb wake; /* NULL: an eventfd (relay_reader_fd) is made instead */
    void *wake_arg;
};

/*
 * Opens a reader of (camera, stream): its queue starts with the feed's
 * tracks and the packets since the latest keyframe. Returns 0 (a new reader
 * in *out); -ENOENT when no feed of that pair is attached; -errno when the
 * eventfd cannot be made. Thread: any.
 */
int relay_hub_open(relay_hub *h, const char *camera, const char *stream,
                   const struct relay_reader_options *opt, relay_reader **out);

/* Closes a reader and releases what its queue held. NULL is a no-op. Thread: any. */
void relay_reader_close(relay_reader *r);

/* The reader's eventfd (readable while events wait), or -1 when it has a callback. */
int relay_reader_fd(const relay_reader *r);

enum relay_event_kind {
    RELAY_EV_NONE,
    RELAY_EV_STREAM,
    RELAY_EV_PACKET,
    RELAY_EV_GAP,
    RELAY_EV_END,
};

struct relay_event {
    enum relay_event_kind kind;
    media_stream *stream; /* RELAY_EV_STREAM: new reference */
    media_packet *packet; /* RELAY_EV_PACKET: new reference */
    const char *reason; /* RELAY_EV_GAP: static phrase */
};

/*
 * Takes the oldest event into *ev (the caller owns its references: release
 * with relay_event_release). Returns 1 with an event, 0 when the queue is
 * empty (the eventfd is cleared and re-armed). Thread: one reader thread at
 * a time.
 */
int relay_reader_next(relay_reader *r, struct relay_event *ev);

/* Drops the references of an event and sets it to RELAY_EV_NONE. */
void relay_event_release(struct relay_event *ev);

struct relay_reader_stats {
    uint64_t packets; /* packets taken by relay_reader_next */
    uint64_t skips; /* times the queue was full and the reader skipped to a keyframe */
    uint64_t skipped_packets; /* packets it never got because of those skips */
};

/* Copies the reader's counters. Thread: any. */
void relay_reader_stats(relay_reader *r, struct relay_reader_stats *out);

#endif
