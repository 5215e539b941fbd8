/*
 * Private to src/record: the on-disk layout of recordings, encoded and
 * decoded in one place (path.c). Relative to the data directory a
 * segment's file is
 *
 *   recordings/<camera>/<stream>/<YYYY-MM-DD>/<HH-MM-SS>[-N].mp4[.part]
 *
 * with the date and time of its first sample in UTC. -N (1..99) tells
 * apart segments of one stream that start in the same second; .part marks
 * a file still being written, or one a crash left.
 */
#ifndef HORUS_RECORD_PATH_INT_H
#define HORUS_RECORD_PATH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_PATH_CAMERA_MAX 64 /* the API's limit on a camera id */
#define REC_PATH_STREAM_MAX 15
#define REC_PATH_SEQ_MAX 99

/* A segment's path, taken apart. */
struct rec_path {
    char camera[REC_PATH_CAMERA_MAX + 1];
    char stream[REC_PATH_STREAM_MAX + 1];
    int64_t start_s; /* UTC seconds named by the date folder and the file name */
    unsigned seq; /* the -N suffix; 0 when there is none */
    bool is_part; /* ends in ".mp4.part" */
};

/*
 * Writes "<data_dir>/recordings/<camera>/<stream>" into buf: the folder
 * of one stream's date folders. Returns 0, or -ENAMETOOLONG when it does
 * not fit. Thread: any.
 */
int rec_path_stream_dir(char *buf, size_t size, const char *data_dir, const char *camera,
                        const char *stream);

/*
 * Writes "<stream_dir>/<YYYY-MM-DD>" for start_s into buf. Returns 0,
 * -EINVAL when start_s is negative, or -ENAMETOOLONG. Thread: any.
 */
int rec_path_day_dir(char *buf, size_t size, const char *stream_dir, int64_t start_s);

/*
 * Writes "<day_dir>/<HH-MM-SS>[-seq].mp4" for start_s into buf (seq 0:
 * no suffix). Returns 0, -EINVAL when start_s is negative or seq is above
 * REC_PATH_SEQ_MAX, or -ENAMETOOLONG. Thread: any.
 */
int rec_path_file(char *buf, size_t size, const char *day_dir, int64_t start_s, unsigned seq);

/*
 * Writes p's path relative to the data directory into buf. Returns 0,
 * -EINVAL (empty or too long camera or stream, a '/' in them, negative
 * start_s, seq too large) or -ENAMETOOLONG. Thread: any.
 */
int rec_path_format(const struct rec_path *p, char *buf, size_t size);

/*
 * Takes apart a path relative to the data directory. Returns 0 when rel
 * is a segment's path in every part; HORUS_EPARSE when it lies in a
 * stream's folder ("recordings/<camera>/<stream>/...": out->camera and
 * out->stream are set) but the rest is not a date folder and segment file
 * name; -EINVAL when it is not under a stream's folder at all. Thread: any.
 */
int rec_path_parse(const char *rel, struct rec_path *out);

#endif
