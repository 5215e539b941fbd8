/*
 * Geometry shared by the analysis stages: a point in normalised frame
 * coordinates (0,0 top left, 1,1 bottom right; x right, y down).
 */
#ifndef HORUS_DETECT_GEOM_H
#define HORUS_DETECT_GEOM_H

struct det_point {
    float x, y;
};

#endif
