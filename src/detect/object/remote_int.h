/*
 * The pure parts of the "remote" detector, exposed to its unit test and
 * fuzz target: the DeepStack / CodeProject.AI reply parser.
 */
#ifndef HORUS_DETECT_REMOTE_INT_H
#define HORUS_DETECT_REMOTE_INT_H

#include "detect.h"

#include <stddef.h>

/* Boxes may stick out of the image by this many pixels (rounding); more is an error. */
#define DET_REMOTE_EDGE_SLACK_PX 2.0

/*
 * Parses a detection reply of len bytes for an image of width x height
 * pixels: {"success":true,"predictions":[{"label","confidence","x_min",
 * "y_min","x_max","y_max"}]}. Boxes are normalised (and clamped to [0,1]
 * within DET_REMOTE_EDGE_SLACK_PX), labels mapped to labels[0..label_count)
 * by exact name; predictions with a label not in the list are dropped and
 * counted in *unknown. At most cap boxes are written to out, in reply
 * order; *n gets their number. Returns 0, or HORUS_EPARSE with *n = 0 and
 * *errmsg (new) saying why: "reply is not JSON: ...", "provider error:
 * ..." (a success:false reply, with its "error"), "predictions[2].x_max:
 * outside the image (900, image 768x576)". Pure; Thread: any.
 */
int det_remote_parse(const char *body, size_t len, int width, int height, char *const *labels,
                     int label_count, struct det_box *out, size_t cap, size_t *n, size_t *unknown,
                     char **errmsg);

#endif
