#ifndef HORUS_DETECT_GEOM_H
#define HORUS_DETECT_GEOM_H

struct det_point {
    float x, y;
};

#endif
