/*
 * DESIGN: the batch container (frames_batch.h, docs/frames.md). The index
 * is JSON so that any consumer reads it with the library it has; the
 * pictures stay raw bytes after it (no base64: a third more bytes and a
 * decode per frame). The writer is the daemon's; the parser exists for
 * the tests, the fuzzer and consumers written in C, and trusts nothing:
 * one index line of bounded size, known schema, every frame's bytes inside
 * the body, in order, without gaps or a tail.
 */
#include "frames_batch.h"

#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int frames_batch_write(const char *camera, const struct frames_batch_item *items, size_t n,
                       uint8_t **out, size_t *len)
{
    if (!camera || n == 0 || n > FRAMES_BATCH_MAX)
        return -EINVAL;
    json_t *frames = json_array();
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const struct frames_frame_info *f = &items[i].info;
        char when[40];
        clock_format_rfc3339_ms(f->capture_us / 1000, when, sizeof(when));
        json_array_append_new(
            frames, json_pack("{s:I, s:I, s:s, s:i, s:i, s:b, s:i, s:I, s:I}", "seq",
                              (json_int_t)f->seq, "capture_us", (json_int_t)f->capture_us,
                              "capture_time", when, "width", f->width, "height", f->height,
                              "keyframe", f->is_keyframe, "quality", f->quality, "offset",
                              (json_int_t)offset, "length", (json_int_t)items[i].len));
        offset += items[i].len;
    }
    json_t *doc = json_pack("{s:s, s:s, s:o}", "schema", FRAMES_BATCH_SCHEMA, "camera", camera,
                            "frames", frames);
    char *index = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!index)
        return -EINVAL;
    size_t ilen = strlen(index);
    uint8_t *buf = horus_malloc(ilen + 1 + offset);
    memcpy(buf, index, ilen);
    buf[ilen] = '\n';
    size_t at = ilen + 1;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + at, items[i].jpeg, items[i].len);
        at += items[i].len;
    }
    free(index);
    *out = buf;
    *len = at;
    return 0;
}

/* An integer member in [lo, hi]; false with why naming it otherwise. */
static bool get_int(json_t *o, const char *key, size_t i, json_int_t lo, json_int_t hi,
                    json_int_t *v, char *why, size_t cap)
{
    json_t *m = json_object_get(o, key);
    if (!json_is_integer(m) || json_integer_value(m) < lo || json_integer_value(m) > hi) {
        snprintf(why, cap, "frames[%zu].%s: must be an integer in %lld..%lld", i, key,
                 (long long)lo, (long long)hi);
        return false;
    }
    *v = json_integer_value(m);
    return true;
}

int frames_batch_parse(const uint8_t *body, size_t len, char *camera, size_t camera_cap,
                       struct frames_batch_item *items, size_t cap_items, size_t *n, char *why,
                       size_t why_cap)
{
    *n = 0;
    size_t scan = len < FRAMES_BATCH_INDEX_MAX ? len : FRAMES_BATCH_INDEX_MAX;
    const uint8_t *nl = memchr(body, '\n', scan);
    if (!nl) {
        snprintf(why, why_cap, "no index line (a newline within the first %d bytes)",
                 FRAMES_BATCH_INDEX_MAX);
        return -EINVAL;
    }
    size_t ilen = (size_t)(nl - body);
    const uint8_t *data = nl + 1;
    size_t dlen = len - ilen - 1;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)body, ilen, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -EINVAL;
    if (!json_is_object(doc)) {
        snprintf(why, why_cap, "the index is not a JSON object");
        goto out;
    }
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    if (!schema || strcmp(schema, FRAMES_BATCH_SCHEMA) != 0) {
        snprintf(why, why_cap, "schema: must be \"%s\"", FRAMES_BATCH_SCHEMA);
        goto out;
    }
    const char *cam = json_string_value(json_object_get(doc, "camera"));
    if (!cam || !cam[0] || strlen(cam) >= camera_cap) {
        snprintf(why, why_cap, "camera: must be a non-empty string shorter than %zu bytes",
                 camera_cap);
        goto out;
    }
    json_t *frames = json_object_get(doc, "frames");
    size_t count = json_array_size(frames);
    if (!json_is_array(frames) || count == 0 || count > FRAMES_BATCH_MAX || count > cap_items) {
        snprintf(why, why_cap, "frames: must be an array of 1..%zu frames",
                 cap_items < FRAMES_BATCH_MAX ? cap_items : (size_t)FRAMES_BATCH_MAX);
        goto out;
    }
    size_t expect = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *f = json_array_get(frames, i);
        json_int_t seq, cap_us, w, h, q, off, flen;
        if (!json_is_object(f)) {
            snprintf(why, why_cap, "frames[%zu]: must be an object", i);
            goto out;
        }
        if (!get_int(f, "seq", i, 1, INT64_MAX, &seq, why, why_cap) ||
            !get_int(f, "capture_us", i, 0, INT64_MAX, &cap_us, why, why_cap) ||
            !get_int(f, "width", i, 1, 65535, &w, why, why_cap) ||
            !get_int(f, "height", i, 1, 65535, &h, why, why_cap) ||
            !get_int(f, "quality", i, 1, 100, &q, why, why_cap) ||
            !get_int(f, "offset", i, 0, (json_int_t)dlen, &off, why, why_cap) ||
            !get_int(f, "length", i, 1, (json_int_t)dlen, &flen, why, why_cap))
            goto out;
        json_t *key = json_object_get(f, "keyframe");
        if (!json_is_boolean(key)) {
            snprintf(why, why_cap, "frames[%zu].keyframe: must be true or false", i);
            goto out;
        }
        if ((size_t)off != expect || (size_t)flen > dlen - (size_t)off) {
            snprintf(why, why_cap,
                     "frames[%zu]: bytes %lld..%lld are not the next %lld of the %zu after the "
                     "index",
                     i, (long long)off, (long long)(off + flen), (long long)flen, dlen);
            goto out;
        }
        expect = (size_t)(off + flen);
        items[i] = (struct frames_batch_item){.info = {.seq = seq,
                                                       .capture_us = cap_us,
                                                       .width = (int)w,
                                                       .height = (int)h,
                                                       .is_keyframe = json_is_true(key),
                                                       .quality = (int)q},
                                              .jpeg = data + off,
                                              .len = (size_t)flen};
    }
    if (expect != dlen) {
        snprintf(why, why_cap, "%zu bytes after the last frame", dlen - expect);
        goto out;
    }
    snprintf(camera, camera_cap, "%s", cam);
    *n = count;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}
