/*
 * DESIGN: the body of POST /api/v1/events (an event from an integration)
 * parsed and checked apart from any request, so that the libFuzzer driver
 * (tests/fuzz/fuzz_api_event_input.c) reaches it: every field known,
 * typed and bounded, messages naming the field ("score: must be ...").
 * Times: start and end (RFC 3339 or Unix ms), or one of them with
 * duration_s, or duration_s alone (ending now). Thread: any.
 */
#include "api_int.h"
#include "query_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define POST_DURATION_MAX_S (24 * 3600)

/* Reads "box": [x0, y0, x1, y1] normalised. */
static int parse_box(const json_t *v, struct det_box *b)
{
    if (!json_is_array(v) || json_array_size(v) != 4)
        return -EINVAL;
    double c[4];
    for (size_t i = 0; i < 4; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_number(x))
            return -EINVAL;
        c[i] = json_number_value(x);
        if (!(c[i] >= 0 && c[i] <= 1))
            return -EINVAL;
    }
    if (c[0] > c[2] || c[1] > c[3])
        return -EINVAL;
    *b = (struct det_box){(float)c[0], (float)c[1], (float)c[2], (float)c[3], 1, -1};
    return 0;
}

int api_event_input_parse(const json_t *body, int64_t now_us, struct evt_post *p,
                          const char *zones[EVT_ZONES_MAX], char *why, size_t cap)
{
    *p = (struct evt_post){.score = 1};
    bool has_start = false, has_end = false, has_duration = false;
    double duration_s = 0;
    const char *key;
    json_t *v;
    char msg[200] = "";
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "camera") == 0) {
            if (!json_is_string(v) || !evt_name_is_valid(json_string_value(v), 64)) {
                snprintf(msg, sizeof(msg), "camera: must be a camera id");
                break;
            }
            p->camera_id = json_string_value(v);
        } else if (strcmp(key, "label") == 0 || strcmp(key, "sub_label") == 0) {
            bool is_sub = key[0] == 's';
            if (!json_is_string(v) || !evt_name_is_valid(json_string_value(v), EVT_NAME_MAX - 1)) {
                snprintf(msg, sizeof(msg),
                         "%s: must be 1..%d characters without control "
                         "characters",
                         key, EVT_NAME_MAX - 1);
                break;
            }
            *(is_sub ? &p->sub_label : &p->label) = json_string_value(v);
        } else if (strcmp(key, "score") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1)) {
                snprintf(msg, sizeof(msg), "score: must be a number 0..1");
                break;
            }
            p->score = json_number_value(v);
        } else if (strcmp(key, "start") == 0 || strcmp(key, "end") == 0) {
            bool is_start = key[0] == 's';
            if (api_time_parse_json(v, is_start ? &p->start_us : &p->end_us) < 0) {
                snprintf(msg, sizeof(msg),
                         "%s: must be an RFC 3339 time or Unix milliseconds "
                         "in years 1970..9999",
                         key);
                break;
            }
            *(is_start ? &has_start : &has_end) = true;
        } else if (strcmp(key, "duration_s") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) > 0) ||
                json_number_value(v) > POST_DURATION_MAX_S) {
                snprintf(msg, sizeof(msg),
                         "duration_s: must be a number of seconds, more than "
                         "0 and at most %d",
                         POST_DURATION_MAX_S);
                break;
            }
            duration_s = json_number_value(v);
            has_duration = true;
        } else if (strcmp(key, "box") == 0) {
            if (parse_box(v, &p->box) < 0) {
                snprintf(msg, sizeof(msg),
                         "box: must be [x0, y0, x1, y1] with 0 <= x0 <= x1 "
                         "<= 1 and 0 <= y0 <= y1 <= 1");
                break;
            }
            p->has_box = true;
        } else if (strcmp(key, "zones") == 0) {
            if (!json_is_array(v) || json_array_size(v) > EVT_ZONES_MAX) {
                snprintf(msg, sizeof(msg), "zones: must be an array of at most %d names",
                         EVT_ZONES_MAX);
                break;
            }
            for (size_t i = 0; i < json_array_size(v) && !msg[0]; i++) {
                const json_t *z = json_array_get(v, i);
                if (!json_is_string(z) ||
                    !evt_name_is_valid(json_string_value(z), EVT_NAME_MAX - 1))
                    snprintf(msg, sizeof(msg), "zones[%zu]: must be 1..%d characters", i,
                             EVT_NAME_MAX - 1);
                else
                    zones[p->nzones++] = json_string_value(z);
            }
            if (msg[0])
                break;
            p->zones = zones;
        } else {
            snprintf(msg, sizeof(msg),
                     "%.64s: unknown field (allowed: camera, label, sub_label, score, start, end, "
                     "duration_s, box, zones)",
                     key);
            break;
        }
    }
    int64_t dur_us = (int64_t)llround(duration_s * 1e6);
    if (!msg[0] && !p->camera_id)
        snprintf(msg, sizeof(msg), "camera: is required");
    else if (!msg[0] && !p->label)
        snprintf(msg, sizeof(msg), "label: is required");
    else if (!msg[0] && has_start && has_end && has_duration)
        snprintf(msg, sizeof(msg), "duration_s: give end or duration_s, not both");
    else if (!msg[0] && !has_end && !has_duration)
        snprintf(msg, sizeof(msg), "end: is required (or duration_s)");
    if (!msg[0]) {
        if (!has_end && has_start)
            p->end_us = p->start_us + dur_us;
        else if (!has_end)
            p->end_us = now_us;
        if (!has_start)
            p->start_us = p->end_us - dur_us;
        if (p->end_us <= p->start_us)
            snprintf(msg, sizeof(msg), "end: must be after start");
        else if (p->end_us - p->start_us > (int64_t)POST_DURATION_MAX_S * 1000000)
            snprintf(msg, sizeof(msg), "end: an event lasts at most %d hours",
                     POST_DURATION_MAX_S / 3600);
    }
    if (msg[0]) {
        snprintf(why, cap, "%s", msg);
        return -EINVAL;
    }
    return 0;
}
