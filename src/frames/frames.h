/*
 * Frame publishing (issue 12 item 2; docs/design/0050-frame-publishing.md):
 * JPEG frames of chosen cameras for the message buses, best effort, from
 * memory. The hub is a media_sink per camera (beside the recorder, after
 * it in the supervisor's tee: its callbacks only queue a packet reference
 * or drop and count), one or more `frm-N` workers that decode, scale and
 * encode at the configured rate, and a bounded queue of ready messages per
 * camera and bus (the oldest dropped and counted when a bus falls behind),
 * which each bus thread takes from between its outbox batches and
 * publishes fire and forget. An adaptive controller per camera lowers the
 * quality, then the size, then the rate when a queue drops or backs up or
 * the camera's byte budget is exceeded, and raises them back step by step
 * once that clears.
 *
 * Lifecycle (docs/conventions.md §6): frames_hub_new, frames_hub_start,
 * cameras come and go with frames_hub_attach/_detach, frames_hub_stop,
 * frames_hub_free. The `frames:` section is applied at start only.
 */
#ifndef HORUS_FRAMES_H
#define HORUS_FRAMES_H

#include "cfg.h"
#include "media.h"
#include "metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a camera's frames come from. */
enum frames_source {
    FRAMES_SOURCE_KEYFRAMES, /* the main stream's keyframes, each decoded alone (default) */
    FRAMES_SOURCE_SUB, /* every frame of the sub stream (keyframes of main without one) */
    FRAMES_SOURCE_MAIN, /* every frame of the main stream: costly, only when asked */
};

/* One entry of `frames.cameras`. */
struct frames_camera_config {
    char *id; /* the camera's id */
    bool enabled;
    double fps; /* frames per second at most */
    int source; /* enum frames_source */
    int64_t max_width; /* pixels; narrower pictures keep their width */
    int64_t quality; /* JPEG quality 1..100 (mapped to mjpeg's qscale 31..2) */
    int64_t batch; /* frames per message; 1 = one JPEG per message */
    int64_t batch_ms; /* a batch goes out when its first frame is this old; 0 = by count */
    char **buses; /* "mqtt", "nats", "amqp"; none = nats and amqp */
    size_t nbuses;
    uint64_t max_bytes_per_s; /* bandwidth budget of the camera's frames; 0 = none */
};

/* `frames:` of horus.yaml. */
struct frames_config {
    int64_t threads; /* frm-N workers */
    int64_t queue; /* messages waiting per camera and bus; the oldest goes first */
    struct frames_camera_config *cameras;
    size_t ncameras;
};

extern const cfg_field frames_config_fields[];

/* The bus names a camera's frames go to (buses empty: nats and amqp). */
bool frames_camera_wants_bus(const struct frames_camera_config *c, const char *bus);

typedef struct frames_hub frames_hub;

struct frames_options {
    const struct frames_config *config; /* copied */
    const char *const *buses; /* the buses that exist ("nats", ...), borrowed for new */
    size_t nbuses;
    metrics_registry *metrics; /* borrowed, may be NULL */
    /* Frames are ready for the buses: wakes the bus threads; only signals. Thread: any. */
    void (*notify)(void *arg);
    void *notify_arg;
};

/*
 * Returns a new hub for the cameras the config names (nothing runs).
 * A camera whose buses name none that exists publishes nowhere and is
 * left out (logged). Thread: main.
 */
frames_hub *frames_hub_new(const struct frames_options *o);

/* Whether any camera publishes frames (the daemon then wires the hub in). Thread: any. */
bool frames_hub_is_active(const frames_hub *h);

/* Starts the frm-N workers (none without cameras). Returns 0 or a negative code. */
int frames_hub_start(frames_hub *h);

/*
 * Which of camera_id's streams its frames come from: "main", "sub" or
 * NULL (no frames for that camera). has_sub: the camera has a sub stream.
 * Thread: main.
 */
const char *frames_hub_stream_for(frames_hub *h, const char *camera_id, bool has_sub);

/*
 * The sink for camera_id's chosen stream (frames_hub_stream_for), to be
 * fed after the recorder; NULL when the camera publishes no frames. The
 * sink's callbacks never block. Thread: main.
 */
media_sink *frames_hub_attach(frames_hub *h, const char *camera_id);

/*
 * After the producer stopped calling the sink: waits for a worker busy
 * with the camera, drops its queued packets and messages, forgets its
 * cached metric series. Unknown or detached: nothing. Thread: main.
 */
void frames_hub_detach(frames_hub *h, const char *camera_id);

/* Stops and joins the workers. Twice: nothing. Thread: main. */
void frames_hub_stop(frames_hub *h);

/* Stops, frees. NULL: nothing. Thread: main. */
void frames_hub_free(frames_hub *h);

/* One header of a frame message. */
struct frames_header {
    char name[24];
    char value[40];
};

#define FRAMES_HEADERS_MAX 10

/*
 * A message ready for a bus: one JPEG (content type "image/jpeg") or a
 * batch container (frames_batch.h). Shared by the buses it goes to;
 * read-only once queued.
 */
struct frames_msg {
    _Atomic int refs;
    char camera[72];
    const char *content_type;
    struct frames_header headers[FRAMES_HEADERS_MAX];
    size_t nheaders;
    size_t nframes;
    size_t len;
    uint8_t *body; /* owned */
};

/*
 * Moves up to cap of the oldest waiting messages for bus into out, in
 * order per camera (cameras in turn). The caller owns them and hands them
 * back with frames_hub_done. Thread: that bus's thread.
 */
size_t frames_hub_take(frames_hub *h, const char *bus, struct frames_msg **out, size_t cap);

/*
 * The outcome of msgs[0..n): the first sent were handed to the broker
 * (counted as published), the rest were lost with the connection
 * (counted as dropped). Releases all n. Thread: that bus's thread.
 */
void frames_hub_done(frames_hub *h, const char *bus, struct frames_msg **msgs, size_t n,
                     size_t sent);

#endif
