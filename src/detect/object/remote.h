/*
 * The "remote" detector backend: frames sent as JPEG to an HTTP provider
 * speaking the DeepStack / CodeProject.AI detection API (POST
 * <url>/v1/vision/detection, multipart field "image"), which another Horus
 * serves too (vision.serve). See docs/design/0041-remote-and-hybrid-detectors.md.
 */
#ifndef HORUS_DETECT_REMOTE_H
#define HORUS_DETECT_REMOTE_H

#include "detect.h"

#include <stdint.h>

struct det_remote_options {
    const char *url; /* "http[s]://host[:port][/prefix]"; borrowed during the call */
    const char *labels_path; /* labels file (detect.h): the provider's label names */
    const char *api_key; /* sent as "Authorization: Bearer KEY"; NULL or "" = none */
    int timeout_ms; /* whole request, 1..600000; 0 = 5000 */
    int connect_timeout_ms; /* TCP/TLS connect, 1..timeout_ms; 0 = min(timeout_ms, 2000) */
    float min_confidence; /* sent as form field min_confidence when > 0 */
    int jpeg_quality; /* 1..100; 0 = 85 */
    const char *ca_file; /* PEM CA bundle for https; NULL = the system's */
};

/*
 * Makes a remote detector (no request is sent yet). input_width/height of
 * the result are 0: the provider takes any size. Returns 0 and *out (new;
 * det_detector_close), -EINVAL for bad options (url not http/https,
 * timeouts out of range), or the labels file's error; *errmsg (new) names
 * the field or file. Thread: any.
 *
 * Each run encodes the frame (libswscale RGB24 -> YUVJ420P, libavcodec
 * mjpeg), posts it and parses the reply (remote_int.h). Failures return
 * -ETIMEDOUT (no answer within timeout_ms), -ECONNREFUSED / -EHOSTUNREACH
 * / -EIO (transport), -EPROTO (HTTP status other than 200), HORUS_EPARSE
 * (a reply that is not a valid detection answer), with *errmsg naming the
 * provider's URL (credentials masked) and the cause:
 * "remote 'http://gpu:5000': timed out after 2000 ms".
 */
int det_remote_open(const struct det_remote_options *opt, struct det_detector **out, char **errmsg);

/* Predictions dropped because the provider named a label not in the labels file. */
uint64_t det_remote_unknown_labels(const struct det_detector *d);

#endif
