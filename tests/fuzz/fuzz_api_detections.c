/*
 * libFuzzer driver for the body of POST /api/v1/detections
 * (src/api/detection_input.c). The first byte picks the framing (odd:
 * NDJSON, even: a JSON array) and the rest is the body. What the parser
 * accepts must hold what the storage and the API rely on: 1..max items,
 * each with a camera and a label of bounded length, a time within the
 * window around now, a score in 0..1 and a box with x0 < x1, y0 < y1
 * inside 0..1, bounded track ids and attributes that are a JSON object.
 * A refusal must name where ("items[" or "body:" or "items:"). The body's
 * bytes up to a NUL or 200 bytes are also an Idempotency-Key header value:
 * accepted only as 1..128 printable ASCII bytes, refused naming the header.
 */
#include "detections_int.h"

#include "err.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

#define MAX_ITEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool is_ndjson = data[0] & 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    int64_t now_us = INT64_C(1767225600000000);
    struct api_det_batch b;
    char why[512];
    int rc = api_det_batch_parse(body, len, is_ndjson, MAX_ITEMS, now_us, &b, why, sizeof(why));
    if (rc == 0) {
        check(b.n >= 1 && b.n <= MAX_ITEMS);
        for (size_t i = 0; i < b.n; i++) {
            const struct sto_detection_input *r = &b.rows[i];
            check(r->camera_id && r->camera_id[0] && strlen(r->camera_id) <= 64);
            check(r->label && r->label[0] && strlen(r->label) <= API_DET_LABEL_MAX);
            check(r->time_us >= now_us - API_DET_PAST_US &&
                  r->time_us <= now_us + API_DET_FUTURE_US);
            check(r->score >= 0 && r->score <= 1);
            check(r->x0 >= 0 && r->x0 < r->x1 && r->x1 <= 1);
            check(r->y0 >= 0 && r->y0 < r->y1 && r->y1 <= 1);
            check(!r->track_id || (r->track_id[0] && strlen(r->track_id) <= API_DET_TRACK_MAX));
            if (r->attributes) {
                check(strlen(r->attributes) <= API_DET_ATTRIBUTES_MAX);
                json_t *a = json_loads(r->attributes, 0, NULL);
                check(json_is_object(a));
                json_decref(a);
            }
        }
        api_det_batch_release(&b);
    } else {
        check(rc == -EINVAL || rc == HORUS_ETOOBIG);
        check(b.n == 0 && b.rows == NULL);
        check(strstr(why, "items[") == why || strncmp(why, "body:", 5) == 0 ||
              strncmp(why, "items:", 6) == 0);
    }
    char key[201];
    size_t klen = len < 200 ? len : 200;
    memcpy(key, body, klen);
    key[klen] = '\0';
    bool is_printable = strlen(key) >= 1 && strlen(key) <= API_DET_IDEM_KEY_MAX;
    for (size_t i = 0; key[i]; i++)
        is_printable = is_printable && key[i] >= 0x20 && key[i] <= 0x7e;
    rc = api_det_idem_key_check(key, why, sizeof(why));
    check(rc == (is_printable ? 0 : -EINVAL));
    check(rc == 0 || strncmp(why, "Idempotency-Key: ", 17) == 0);
    return 0;
}
