/*
 * DESIGN: access units travel inside camsim in Annex B form, whatever the
 * source (libx264/libx265 emit it; files go through the mp4toannexb
 * bitstream filters). This file pulls the parameter sets out of keyframes
 * for the SDP, walking start codes with src/media's media_bitstream.h. Thread: any (no state).
 */
#include "nal.h"

#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    enum media_codec codec = cs_media_codec(info->codec);
    while (media_annexb_next(key->data, key->size, &pos, &nal, &len)) {
        if (len < (is_h264 ? 4u : 3u))
            continue;
        int kind = media_nal_ps_kind(codec, media_nal_type(codec, nal, len));
        if (kind == MEDIA_PS_SPS)
            replace_param(&info->sps, &info->sps_len, nal, len);
        else if (kind == MEDIA_PS_PPS)
            replace_param(&info->pps, &info->pps_len, nal, len);
        else if (kind == MEDIA_PS_VPS)
            replace_param(&info->vps, &info->vps_len, nal, len);
    }
    if (!info->sps || !info->pps || (!is_h264 && !info->vps))
        return HORUS_ECODEC;
    return 0;
}

void cs_nal_garble_sps(enum cs_codec codec, uint8_t *nal, size_t len)
{
    size_t hdr = codec == CS_CODEC_H264 ? 1 : 2;
    for (size_t i = hdr; i < len; i++)
        nal[i] = (i - hdr) % 3 == 2 ? 3 : 0;
}

void cs_au_garble_sps(enum cs_codec codec, cs_au *au)
{
    size_t pos = 0;
    const uint8_t *nal;
    size_t len;
    enum media_codec mc = cs_media_codec(codec);
    while (media_annexb_next(au->data, au->size, &pos, &nal, &len)) {
        if (len > 2 && media_nal_ps_kind(mc, media_nal_type(mc, nal, len)) == MEDIA_PS_SPS)
            cs_nal_garble_sps(codec, au->data + (nal - au->data), len);
    }
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
