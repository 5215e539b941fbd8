/*
 * libFuzzer driver for the body of POST /api/v1/events
 * (src/api/event_input.c) and the event id check the event routes run on
 * their path parameter (evt_id_is_valid). The input is parsed as JSON;
 * an object goes to api_event_input_parse, and what it accepts must hold
 * what evt_engine_post relies on: a camera and a label, end after start
 * by at most 24 h, a score in 0..1, at most EVT_ZONES_MAX zones, an
 * ordered box inside the frame. The raw bytes also go to evt_id_is_valid,
 * which must accept only the 26-character shape evt_id_make writes.
 */
#include "api_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[64];
    size_t n = size < sizeof(id) - 1 ? size : sizeof(id) - 1;
    memcpy(id, data, n);
    id[n] = '\0';
    if (evt_id_is_valid(id)) {
        check(strlen(id) == 26 && id[17] == '-');
        char again[EVT_ID_MAX];
        evt_id_make(strtoll(id, NULL, 10), (uint32_t)strtoul(id + 18, NULL, 16), again);
        check(strcmp(again, id) == 0);
    }
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    struct evt_post p;
    const char *zones[EVT_ZONES_MAX];
    char why[200];
    int64_t now_us = INT64_C(1767225600000000);
    if (api_event_input_parse(body, now_us, &p, zones, why, sizeof(why)) == 0) {
        check(p.camera_id && p.camera_id[0] && p.label && p.label[0]);
        check(p.end_us > p.start_us && p.end_us - p.start_us <= INT64_C(86400000000));
        check(p.score >= 0 && p.score <= 1);
        check(p.nzones <= EVT_ZONES_MAX);
        for (size_t i = 0; i < p.nzones; i++)
            check(p.zones[i] && p.zones[i][0]);
        if (p.has_box)
            check(p.box.x0 >= 0 && p.box.x0 <= p.box.x1 && p.box.x1 <= 1 && p.box.y0 >= 0 &&
                  p.box.y0 <= p.box.y1 && p.box.y1 <= 1);
    } else {
        check(why[0] != '\0' && strchr(why, ':') != NULL); /* names the field */
    }
    json_decref(body);
    return 0;
}
