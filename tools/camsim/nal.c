/*
 * DESIGN: access units travel inside camsim in Annex B form, whatever the
 * source (libx264/libx265 emit it; files go through the mp4toannexb
 * bitstream filters). This file walks start codes and pulls the parameter
 * sets out of keyframes for the SDP. Thread: any (no state).
 */
#include "nal.h"

#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Returns the offset of the next 00 00 01 at or after from, or len. */
static size_t find_start_code(const uint8_t *buf, size_t len, size_t from)
{
    for (size_t i = from; i + 2 < len; i++) {
        if (buf[i + 2] > 1) {
            i += 2; /* no start code can end at i + 2 */
            continue;
        }
        if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1)
            return i;
    }
    return len;
}

bool cs_annexb_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal,
                    size_t *nal_len)
{
    for (;;) {
        size_t sc = find_start_code(buf, len, *pos);
        if (sc == len)
            return false;
        size_t start = sc + 3;
        size_t next = find_start_code(buf, len, start);
        size_t stop = next;
        while (stop > start && buf[stop - 1] == 0)
            stop--; /* zero_byte of a 4-byte start code, or trailing_zero_8bits */
        *pos = next;
        if (stop > start) {
            *nal = buf + start;
            *nal_len = stop - start;
            return true;
        }
    }
}

int cs_nal_type(enum cs_codec codec, const uint8_t *nal)
{
    return codec == CS_CODEC_H264 ? (nal[0] & 0x1f) : ((nal[0] >> 1) & 0x3f);
}

bool cs_nal_is_aud(enum cs_codec codec, int type)
{
    return codec == CS_CODEC_H264 ? type == 9 : type == 35;
}

cs_au *cs_au_new(int track, const uint8_t *data, size_t size)
{
    cs_au *au = horus_malloc(sizeof(*au) + size);
    memset(au, 0, sizeof(*au));
    au->track = track;
    au->size = size;
    if (size)
        memcpy(au->data, data, size);
    return au;
}

static void replace_param(uint8_t **dst, size_t *dst_len, const uint8_t *nal, size_t len)
{
    free(*dst);
    *dst = horus_malloc(len);
    memcpy(*dst, nal, len);
    *dst_len = len;
}

int cs_media_info_take_params(cs_media_info *info, const cs_au *key)
{
    size_t pos = 0;
    const uint8_t *nal;
    size_t len;
    bool is_h264 = info->codec == CS_CODEC_H264;
    while (cs_annexb_next(key->data, key->size, &pos, &nal, &len)) {
        if (len < (is_h264 ? 4u : 3u))
            continue;
        int type = cs_nal_type(info->codec, nal);
        if (is_h264 ? type == 7 : type == 33)
            replace_param(&info->sps, &info->sps_len, nal, len);
        else if (is_h264 ? type == 8 : type == 34)
            replace_param(&info->pps, &info->pps_len, nal, len);
        else if (!is_h264 && type == 32)
            replace_param(&info->vps, &info->vps_len, nal, len);
    }
    if (!info->sps || !info->pps || (!is_h264 && !info->vps))
        return HORUS_ECODEC;
    return 0;
}

void cs_media_info_release(cs_media_info *info)
{
    free(info->vps);
    free(info->sps);
    free(info->pps);
    info->vps = info->sps = info->pps = NULL;
}

int64_t cs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cs_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
