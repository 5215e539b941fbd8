/*
 * The pure parsers of GET /api/v1/events/stream's inputs (docs/design/0042):
 * a Last-Event-ID and the ?camera= lists. No I/O; fuzzed by fuzz_api_events.
 */
#include "query_int.h"

#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_event_id_parse(const char *s, bool *has_last, uint64_t *id)
{
    *has_last = false;
    *id = 0;
    if (!s || !*s)
        return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *has_last = true;
    *id = v;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void api_camera_list_release(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int api_camera_list_parse(const char *const *vals, size_t nvals, char ***out, size_t *nout,
                          char *why, size_t why_size)
{
    *out = NULL;
    *nout = 0;
    char **ids = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nvals; i++) {
        const char *p = vals[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 0 || len > API_CAMERA_ID_MAX) {
                snprintf(why, why_size, "must be camera ids (1 to %d bytes) separated by commas",
                         API_CAMERA_ID_MAX);
                api_camera_list_release(ids, n);
                return -EINVAL;
            }
            if (n == API_CAMERA_LIST_MAX) {
                snprintf(why, why_size, "at most %d cameras", API_CAMERA_LIST_MAX);
                api_camera_list_release(ids, n);
                return -EINVAL;
            }
            if (!ids)
                ids = horus_calloc(API_CAMERA_LIST_MAX, sizeof(*ids));
            ids[n++] = horus_strndup(p, len);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    if (n)
        qsort(ids, n, sizeof(*ids), cmp_str);
    *out = ids;
    *nout = n;
    return 0;
}
