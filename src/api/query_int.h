/*
 * Private to src/api: the pure parse-and-validate steps of the handlers'
 * query strings (query.c), apart from any request so that unit tests and
 * the libFuzzer driver (tests/fuzz/fuzz_api_query.c) can call them.
 *
 * Every function is pure and Thread: any. On failure each returns -EINVAL
 * and, where it takes why/why_size, writes a message that starts with
 * the field at fault ("start: must be ..."), ready for http_reply_error.
 */
#ifndef HORUS_API_QUERY_INT_H
#define HORUS_API_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The instants a request may name: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z. */
#define API_TIME_MIN_MS INT64_C(-62135596800000)
#define API_TIME_MAX_MS INT64_C(253402300799999)

/*
 * Parses s (RFC 3339 or Unix milliseconds) into UTC microseconds in
 * *out_us, refusing instants outside API_TIME_MIN_MS..API_TIME_MAX_MS, so
 * that sums and differences of two request times never overflow. name
 * (borrowed) is the field named in why. *out_us is untouched on failure.
 */
int api_time_parse_us(const char *name, const char *s, int64_t *out_us, char *why, size_t why_size);

/*
 * The optional filters after= and before= of a list (values as
 * api_time_parse_us), into *after_us and *before_us (untouched when
 * absent); before must come after after. Returns 0 or -EINVAL with why.
 */
int api_after_before_parse(const char *after, const char *before, int64_t *after_us,
                           int64_t *before_us, char *why, size_t why_size);

/* Which handler's range rules api_range_parse applies. */
enum api_range_kind {
    /*
     * Timeline: end defaults to now, start to end - 24 h; the range
     * covers at most PB_TIMELINE_MAX_US.
     */
    API_RANGE_TIMELINE,
    /*
     * Playlist: start is required and not in the future; end defaults to
     * now; an explicit range covers at most PB_PLAYLIST_MAX_US, a default
     * end is cut at start + PB_PLAYLIST_MAX_US.
     */
    API_RANGE_PLAYLIST,
};

/*
 * Parses and validates the ?start= and ?end= of a range (each borrowed,
 * NULL when absent) against now_us into [*start_us, *end_us): both
 * parsed and bounded first, then the span computed with checked
 * arithmetic and compared with the kind's limit. Returns 0, or -EINVAL
 * with the reason in why.
 */
int api_range_parse(enum api_range_kind kind, const char *start, const char *end, int64_t now_us,
                    int64_t *start_us, int64_t *end_us, char *why, size_t why_size);

/*
 * Parses s, decimal digits only (a leading '-' when min < 0), into
 * *out within min..max, naming name in why. *out is untouched on failure.
 */
int api_int_parse(const char *name, const char *s, int64_t min, int64_t max, int64_t *out,
                  char *why, size_t why_size);

/* "Z", "z" or "+HH:MM" / "-HH:MM" (at most 14:00) into seconds east of UTC. */
int api_tz_parse(const char *s, int *offset_s, char *why, size_t why_size);

/* "<start_us>.mp4", the name of a recorded file in a playlist, into *start_us (>= 0). */
int api_file_start_parse(const char *name, int64_t *start_us);

/* ---- GET /api/v1/events/stream (events_args.c; pure, fuzzed by fuzz_api_events) ---- */

#define API_CAMERA_LIST_MAX 64 /* ids in ?camera= */
#define API_CAMERA_ID_MAX 64 /* bytes of one id */

/*
 * A Last-Event-ID: decimal digits that fit 64 bits. NULL or "" is no id
 * (*has_last false; EventSource sends "" after an event without an id).
 * Returns 0 or -EINVAL.
 */
int api_event_id_parse(const char *s, bool *has_last, uint64_t *id);

/*
 * The values of a repeated ?camera= parameter, each a comma-separated
 * list, into sorted ids (*out owned, release with api_camera_list_release;
 * none = no filter). Returns 0, or -EINVAL with why (an empty or overlong
 * id, more than API_CAMERA_LIST_MAX ids).
 */
int api_camera_list_parse(const char *const *vals, size_t nvals, char ***out, size_t *nout,
                          char *why, size_t why_size);
void api_camera_list_release(char **ids, size_t n);

#endif
