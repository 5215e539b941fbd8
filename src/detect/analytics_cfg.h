/*
 * The per-camera analytics document: what to analyse and how, as one JSON
 * object stored with the camera (cameras.analytics, migration 0016), set
 * through GET/PUT /api/v1/cameras/{id}/analytics or horus.yaml's
 * cameras[].analytics. See docs/design/0039-zones-tripwires.md.
 *
 *   {"enabled": true, "fps": 5, "priority": "normal", "stream": "auto",
 *    "decode": "all",
 *    "objects": {"labels": ["person"], "min_score": 0.5, "min_area": 0,
 *                "max_area": 1},
 *    "motion": {"enabled": true, "events": false, "masks": [[[x,y],...]]},
 *    "zones": [{"name": "door", "polygon": [[x,y],...], "labels": [],
 *               "loiter_seconds": 10}],
 *    "tripwires": [{"name": "walkway", "line": [[x,y],[x,y]], "labels": []}]}
 *
 * Every field is optional (the empty document "" and {} give the defaults
 * of DET_ANALYTICS_DEFAULTS below); unknown fields are refused. Coordinates
 * are normalised 0..1, x right, y down. Polygons have 3..32 points, no
 * repeated consecutive point, no self-intersection and a non-zero area.
 * Names are unique within zones and within tripwires, 1..32 characters of
 * [A-Za-z0-9 _-]. An empty labels list means every label.
 *
 * Pure: no I/O, no threads. Thread: any (each call on its own data).
 */
#ifndef HORUS_DETECT_ANALYTICS_CFG_H
#define HORUS_DETECT_ANALYTICS_CFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "geom.h"

#define DET_ANALYTICS_POINTS_MIN 3
#define DET_ANALYTICS_POINTS_MAX 32
#define DET_ANALYTICS_ZONES_MAX 16
#define DET_ANALYTICS_TRIPWIRES_MAX 16
#define DET_ANALYTICS_MASKS_MAX 8
#define DET_ANALYTICS_LABELS_MAX 64 /* labels in one list */
#define DET_ANALYTICS_NAME_MAX 32
#define DET_ANALYTICS_FPS_MIN 0.1
#define DET_ANALYTICS_FPS_MAX 30.0
#define DET_ANALYTICS_LOITER_MAX 86400.0 /* seconds */
#define DET_ANALYTICS_TEXT_MAX 65536 /* bytes of a stored document */

enum det_priority { DET_PRIORITY_LOW, DET_PRIORITY_NORMAL, DET_PRIORITY_HIGH };
enum det_stream_choice { DET_STREAM_AUTO, DET_STREAM_SUB, DET_STREAM_MAIN };
enum det_decode { DET_DECODE_ALL, DET_DECODE_KEYFRAMES };

/* A list of label names; count 0 = every label. */
struct det_label_list {
    char **names; /* owned, names[0..count) */
    size_t count;
};

struct det_polygon {
    struct det_point points[DET_ANALYTICS_POINTS_MAX];
    size_t count; /* 3..DET_ANALYTICS_POINTS_MAX */
};

struct det_zone {
    char name[DET_ANALYTICS_NAME_MAX + 1];
    struct det_polygon polygon;
    struct det_label_list labels;
    double loiter_seconds; /* 0 = no loitering reports */
};

/* Side A of a tripwire is on the left of the directed line p0 -> p1 as seen
 * on the screen (image coordinates, y down); crossing A -> B is direction +1. */
struct det_tripwire {
    char name[DET_ANALYTICS_NAME_MAX + 1];
    struct det_point line[2]; /* p0, p1 */
    struct det_label_list labels;
};

struct det_analytics {
    bool enabled; /* default true: analysed when the node's detect: table is on */
    double fps; /* frames analysed per second, 0.1..30; default 5 */
    enum det_priority priority; /* default normal */
    enum det_stream_choice stream; /* default auto (sub when the camera has one) */
    enum det_decode decode; /* default all */
    struct {
        struct det_label_list labels; /* default: every label */
        float min_score; /* 0..1, default 0.5 */
        float min_area, max_area; /* box area / frame area, 0..1; default 0 and 1 */
    } objects;
    struct {
        bool enabled; /* default true */
        bool events; /* motion-only events; default false */
        struct det_polygon masks[DET_ANALYTICS_MASKS_MAX]; /* ignored regions */
        size_t mask_count;
    } motion;
    struct det_zone zones[DET_ANALYTICS_ZONES_MAX];
    size_t zone_count;
    struct det_tripwire tripwires[DET_ANALYTICS_TRIPWIRES_MAX];
    size_t tripwire_count;
};

/*
 * Parses len bytes of JSON text (len 0 or only blanks = the defaults) into
 * *out (new, free with det_analytics_free). labels[0..nlabels) are the
 * detector's labels when known (every label named in the document must be
 * one); NULL/0 accepts any label. Returns 0, or -EINVAL with *errmsg (new)
 * "PATH: reason", PATH the field ("zones[1].polygon: self-intersecting",
 * "analytics" for the document as a whole).
 */
int det_analytics_parse(const char *text, size_t len, const char *const *labels, size_t nlabels,
                        struct det_analytics **out, char **errmsg);

/* The same from a parsed JSON value (borrowed). */
int det_analytics_from_json(const json_t *doc, const char *const *labels, size_t nlabels,
                            struct det_analytics **out, char **errmsg);

/* The document with every field, defaults filled in (new reference). */
json_t *det_analytics_to_json(const struct det_analytics *a);

/* NULL does nothing. */
void det_analytics_free(struct det_analytics *a);

/* Whether label_name passes list (an empty list passes everything). */
bool det_label_list_has(const struct det_label_list *list, const char *label_name);

#endif
