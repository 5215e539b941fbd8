/*
 * The analysis pipeline (docs/design/0036): per analysed camera stream a
 * sampler (a media_sink next to the recorder's) keeps a small bounded slot
 * of packets; `detect.threads` workers (det-N) pick cameras by a global
 * budget with per-camera priority, decode (libavcodec, one thread per
 * decoder), scale to RGB24 (libswscale, width <= 640), run their own
 * detector and hand a det_report (report.h) to every observer.
 *
 * Recording never waits for analysis: the sink's callbacks only take a
 * reference under a per-camera lock held for a few instructions, and drop
 * (counted in horus_detect_skipped_frames_total) when the slot is full.
 *
 * Lifecycle (docs/conventions.md §6): det_analysis_new, _start, then
 * cameras come and go with _attach/_detach, then _stop, _free.
 */
#ifndef HORUS_DETECT_ANALYSIS_H
#define HORUS_DETECT_ANALYSIS_H

#include "cfg.h"
#include "analytics_cfg.h"
#include "detect.h"
#include "media.h"
#include "metrics.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum det_stream_choice, det_decode and det_priority: the analytics document's (AUTO = SUB). */

/* The `detect:` section (config.c). */
struct det_config {
    bool enabled;
    int64_t threads;
    double fps;
    struct {
        char *type; /* onnx, opencv, remote, hybrid */
        char *model;
        char *labels;
        char *head; /* auto, nanodet, centernet, yolov5, yolov8, ssd */
        char *device; /* cpu, cuda, auto (onnx) */
        int64_t input_size;
        int64_t threads;
        double min_score;
        char *url; /* remote, hybrid */
        char *api_key; /* remote, hybrid; a secret */
        int64_t timeout_ms;
        int64_t failures_to_open; /* hybrid */
        int64_t cooldown_ms; /* hybrid */
        struct det_fallback_config {
            char *type; /* onnx, opencv, remote */
            char *model;
            char *labels;
            int64_t input_size;
            int64_t threads;
            char *url;
            char *api_key;
            int64_t timeout_ms;
        } fallback; /* hybrid: the detector serving while the primary fails */
    } detector;
    int stream; /* enum det_stream_choice */
    int decode; /* enum det_decode */
    char **cameras; /* ids to analyse; none = every camera */
    size_t ncameras;
};

extern const cfg_field det_config_fields[];

/* One camera's analysis settings (the analytics document drives them later). */
struct det_camera_options {
    bool enabled;
    double fps; /* 0 = detect.fps */
    enum det_priority priority;
    enum det_stream_choice stream;
    enum det_decode decode;
};

/*
 * Optional stages between the detector's input and the report; NULL = not
 * there yet. Called on the worker analysing the camera, never in parallel
 * for one camera.
 *
 * motion_cb: the frame's luma plane (the decoder's, full resolution,
 * borrowed for the call) and its capture time; writes up to cap regions
 * (normalised) to out and their count to *n. *n == 0 with a return of 0
 * means "no motion: skip the detector"; a negative return means "analyse
 * the whole frame". Without a hook the whole frame is analysed.
 *
 * track_cb: fills r's tracks, crossings and loiters from r's detections
 * (the arrays stay the hook's until its next call for that camera).
 */
struct det_luma {
    const uint8_t *y;
    int width, height, stride;
};
struct det_stage_hooks {
    int (*motion_cb)(void *arg, const char *camera_id, const struct det_luma *luma, int64_t utc_us,
                     struct det_box *out, size_t cap, size_t *n);
    void (*track_cb)(void *arg, const char *camera_id, struct det_report *r);
    void *arg;
};

struct det_analysis_options {
    const struct det_config *config; /* copied at new */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const struct det_stage_hooks *hooks; /* copied; NULL = none */
};

/* A camera's analysis as the status shows it. */
struct det_camera_status {
    char state[16]; /* "off", "waiting" (no frame yet), "running", "error" */
    char stream[8]; /* "sub", "main" or "" */
    double fps; /* frames analysed per second over the last few seconds */
    double inference_ms; /* average detector time per frame (recent) */
    uint64_t frames; /* analysed since the camera started */
    uint64_t skipped; /* every reason together */
    char last_error[300]; /* "" if none */
    /*
     * detect.detector.type hybrid: the workers' breakers, the most open of
     * them ("closed", "half-open", "open"), and who served the last frame
     * analysed ("primary", "fallback", "none"); "" otherwise.
     */
    char breaker[12];
    char served_by[12];
};

typedef struct det_analysis det_analysis;

/* Returns a new pool (nothing runs). Thread: main. */
det_analysis *det_analysis_new(const struct det_analysis_options *o);

/*
 * Opens one detector per worker and starts the workers when detect.enabled.
 * A detector that cannot open is not fatal: it is logged naming the
 * detector and file, every camera's status says why, and nothing is
 * sampled. Returns 0 or a negative code when a thread cannot start.
 */
int det_analysis_start(det_analysis *a);

/* Registers an observer (borrowed until _free). Before _start. */
void det_analysis_observe(det_analysis *a, struct det_observer *o);

/* Sets camera_id's own options (copied), over the global ones. Thread: main. */
void det_analysis_camera_set(det_analysis *a, const char *camera_id,
                             const struct det_camera_options *o);

/*
 * Applies camera_id's analytics document (JSON text as stored, "" = the
 * defaults; analytics_cfg.h): enabled, fps, priority, stream and decode over
 * the detect: table (a camera is analysed only when detect: analyses it and
 * the document does not turn it off), and the motion masks, object filters,
 * zones and tripwires, which the camera's worker takes up before its next
 * frame. Nothing happens when text equals the applied one. Returns true
 * when whether or which stream the camera is analysed changed: the caller
 * restarts its pipeline for that to apply. Thread: main.
 */
bool det_analysis_camera_analytics(det_analysis *a, const char *camera_id, const char *text);

/*
 * The stream to analyse for camera_id ("sub" or "main"; "sub" only when
 * has_sub), or NULL when the camera is not analysed. Thread: main.
 */
const char *det_analysis_stream_for(det_analysis *a, const char *camera_id, bool has_sub);

/*
 * Starts analysing camera_id's stream: returns the sampler's sink (borrowed
 * until _detach), to be fed after the recorder. NULL when not analysed.
 * Thread: main.
 */
media_sink *det_analysis_attach(det_analysis *a, const char *camera_id, const char *stream);

/*
 * Stops camera_id's analysis after its producer stopped calling the sink:
 * waits for a worker busy with it, tells observers, frees the sampler. The
 * status keeps saying "off". Thread: main.
 */
void det_analysis_detach(det_analysis *a, const char *camera_id);

/*
 * The labels of the running detector, for checking analytics documents:
 * *labels is a new array of new strings (free with det_labels_free),
 * *count its length. 0 labels (analysis off, the detector failed to load,
 * or it names none) means any label is accepted. Thread: any.
 */
void det_analysis_labels(det_analysis *a, char ***labels, int *count);

/* camera_id's status; false when the camera is not analysed. Thread: any. */
bool det_analysis_camera_status(det_analysis *a, const char *camera_id,
                                struct det_camera_status *out);

/* Stops the workers (cameras still attached are detached). Idempotent. Thread: main. */
void det_analysis_stop(det_analysis *a);

/* NULL does nothing. Thread: main. */
void det_analysis_free(det_analysis *a);

#endif
