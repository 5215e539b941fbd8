/*
 * The tracker's Kalman filter (track.c): constant velocity on a box's
 * centre x, centre y, aspect (width / height) and height, in normalised
 * frame coordinates. Private to detect.
 */
#ifndef HORUS_DETECT_TRACK_KALMAN_INT_H
#define HORUS_DETECT_TRACK_KALMAN_INT_H

/* ByteTrack's noise model is per frame of a 30 fps video; elapsed time is
   counted in these steps so that any sample rate gets the same model. */
#define DET_KALMAN_STEP_S (1.0 / 30.0)

struct det_kalman {
    double x[8]; /* cx, cy, a, h, then their velocities per step */
    double p[64]; /* covariance, row major */
};

/* Starts a filter at measurement z = {cx, cy, a, h} (h > 0), at rest. */
void det_kalman_init(struct det_kalman *k, const double z[4]);

/* Moves the state steps (>= 0) steps ahead; freeze_size stops the height
   and aspect from drifting (a lost track keeps its size, as ByteTrack). */
void det_kalman_predict(struct det_kalman *k, double steps, int freeze_size);

/* Corrects the state with measurement z = {cx, cy, a, h}. */
void det_kalman_update(struct det_kalman *k, const double z[4]);

#endif
