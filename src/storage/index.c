/*
 * DESIGN: the per-segment fragment index as one compact blob (format in
 * storage.h and docs/design/0003-recording-files.md). Parts of a segment
 * are contiguous in the file and, in a steady stream, in time, so each
 * part costs its size and duration as varints plus one byte of start-time
 * correction: about 7 bytes per 200 ms part, ~2 KB per stream-minute.
 * The decoder takes untrusted bytes (a corrupt DB row) and checks every
 * bound. Thread: any.
 */
#include "storage.h"

#include "checked.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>

#define INDEX_VERSION 1

static void put_varint(uint8_t *buf, size_t *pos, uint64_t v)
{
    while (v >= 0x80) {
        buf[(*pos)++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[(*pos)++] = (uint8_t)v;
}

static int get_varint(const uint8_t *buf, size_t size, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= size)
            return HORUS_EPARSE;
        uint8_t byte = buf[(*pos)++];
        if (shift == 63 && byte > 1)
            return HORUS_EPARSE;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return HORUS_EPARSE;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int sto_index_encode(const struct sto_part *parts, size_t n, uint8_t **out, size_t *out_size)
{
    /* 1 + 10 + 10 header, then at most 5 + 6 + 10 bytes per part. */
    uint8_t *buf = horus_malloc(21 + n * 21);
    size_t pos = 0;
    buf[pos++] = INDEX_VERSION;
    put_varint(buf, &pos, n ? parts[0].offset : 0);
    put_varint(buf, &pos, n);
    int64_t expected = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && parts[i].offset != parts[i - 1].offset + parts[i - 1].size_bytes) {
            free(buf);
            return -EINVAL;
        }
        put_varint(buf, &pos, parts[i].size_bytes);
        put_varint(buf, &pos, (uint64_t)parts[i].duration_90k << 1 | parts[i].is_keyframe);
        put_varint(buf, &pos, zigzag(parts[i].start_90k - expected));
        expected = parts[i].start_90k + parts[i].duration_90k;
    }
    *out = buf;
    *out_size = pos;
    return 0;
}

int sto_index_decode(const uint8_t *blob, size_t size, struct sto_part **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t pos = 0;
    uint64_t offset, count;
    if (size < 1 || blob[pos++] != INDEX_VERSION)
        return HORUS_EPARSE;
    int rc = get_varint(blob, size, &pos, &offset);
    if (rc == 0)
        rc = get_varint(blob, size, &pos, &count);
    /* Each part takes at least 3 bytes, which bounds the allocation by the blob. */
    if (rc < 0 || count > (size - pos) / 3)
        return HORUS_EPARSE;
    struct sto_part *parts = count ? horus_calloc(count, sizeof(*parts)) : NULL;
    int64_t expected = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t part_size, dur, delta;
        if (get_varint(blob, size, &pos, &part_size) < 0 ||
            get_varint(blob, size, &pos, &dur) < 0 || get_varint(blob, size, &pos, &delta) < 0 ||
            part_size > UINT32_MAX || (dur >> 1) > UINT32_MAX)
            goto bad;
        parts[i].offset = offset;
        parts[i].size_bytes = (uint32_t)part_size;
        parts[i].duration_90k = (uint32_t)(dur >> 1);
        parts[i].is_keyframe = dur & 1;
        if (!horus_add_u64(offset, part_size, &offset) ||
            !horus_add_i64(expected, unzigzag(delta), &parts[i].start_90k) ||
            !horus_add_i64(parts[i].start_90k, parts[i].duration_90k, &expected))
            goto bad;
    }
    if (pos != size)
        goto bad;
    *out = parts;
    *n = count;
    return 0;
bad:
    free(parts);
    return HORUS_EPARSE;
}
