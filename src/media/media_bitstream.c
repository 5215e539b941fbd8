/*
 * DESIGN: Annex B as both ends of Horus meet it: encoders and libavformat
 * hand out access units with 00 00 01 / 00 00 00 01 start codes, and RTP
 * and MP4 want the bare NAL units. The scan skips three bytes whenever the
 * third is above 1 (no start code can end there), so most payload bytes
 * are looked at once; it runs for every access unit the libav client
 * splits and every one the simulator packetises. Thread: any (no state).
 */
#include "media_bitstream.h"

size_t media_annexb_find(const uint8_t *buf, size_t len, size_t from)
{
    size_t i = from;
    while (i + 2 < len) {
        if (buf[i + 2] > 1) {
            i += 3;
            continue;
        }
        if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1)
            return i;
        i++;
    }
    return len;
}

bool media_annexb_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal,
                       size_t *nal_len)
{
    for (;;) {
        size_t sc = media_annexb_find(buf, len, *pos);
        if (sc == len)
            return false;
        size_t start = sc + 3;
        size_t next = media_annexb_find(buf, len, start);
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

int media_nal_type(enum media_codec codec, const uint8_t *nal, size_t len)
{
    if (len < 1)
        return -1;
    if (codec == MEDIA_CODEC_H265)
        return (nal[0] >> 1) & 0x3f;
    return nal[0] & 0x1f;
}

bool media_nal_is_keyframe(enum media_codec codec, int type)
{
    if (codec == MEDIA_CODEC_H265)
        return type >= 16 && type <= 21;
    return type == 5;
}

bool media_nal_is_aud(enum media_codec codec, int type)
{
    return codec == MEDIA_CODEC_H265 ? type == 35 : type == 9;
}

int media_nal_ps_kind(enum media_codec codec, int type)
{
    if (codec == MEDIA_CODEC_H265) {
        if (type == 32)
            return MEDIA_PS_VPS;
        if (type == 33)
            return MEDIA_PS_SPS;
        if (type == 34)
            return MEDIA_PS_PPS;
        return -1;
    }
    if (type == 7)
        return MEDIA_PS_SPS;
    if (type == 8)
        return MEDIA_PS_PPS;
    return -1;
}
