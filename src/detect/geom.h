/*
 * Plane geometry shared by the analysis stages (motion masks, zones,
 * tripwires): points in normalised frame coordinates.
 */
#ifndef HORUS_DETECT_GEOM_H
#define HORUS_DETECT_GEOM_H

/* A point in normalised frame coordinates: (0,0) top left, (1,1) bottom right. */
struct det_point {
    float x, y;
};

#endif
