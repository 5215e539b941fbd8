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

bool media_nal_is_rtp_reserved(enum media_codec codec, int type)
{
    return codec == MEDIA_CODEC_H265 ? type >= 48 && type <= 63 : type >= 24 && type <= 31;
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

/*
 * Walks count length-prefixed (16-bit) NAL units at *pos: 1 when the n-th
 * of the record (*seen counts across calls) is among them, 0 when not, -1
 * when the record ends inside them.
 */
static int units_nth(const uint8_t *rec, size_t len, size_t *pos, size_t count, size_t n,
                     size_t *seen, const uint8_t **nal, size_t *nal_len)
{
    for (size_t i = 0; i < count; i++) {
        if (len - *pos < 2)
            return -1;
        size_t l = (size_t)rec[*pos] << 8 | rec[*pos + 1];
        *pos += 2;
        if (len - *pos < l)
            return -1;
        if ((*seen)++ == n) {
            *nal = rec + *pos;
            *nal_len = l;
            return 1;
        }
        *pos += l;
    }
    return 0;
}

/* The n-th NAL unit of an avcC record: numOfSequenceParameterSets at 5, then the PPS count. */
static bool avcc_nth(const uint8_t *rec, size_t len, size_t n, const uint8_t **nal, size_t *nal_len)
{
    if (len < 6 || rec[0] != 1)
        return false;
    size_t pos = 5, seen = 0;
    for (int section = 0; section < 2; section++) {
        if (pos >= len)
            return false;
        size_t count = section == 0 ? rec[pos] & 0x1f : rec[pos];
        pos++;
        int rc = units_nth(rec, len, &pos, count, n, &seen, nal, nal_len);
        if (rc != 0)
            return rc > 0;
    }
    return false;
}

/* The n-th NAL unit of an hvcC record: numOfArrays at 22, each with its NAL units. */
static bool hvcc_nth(const uint8_t *rec, size_t len, size_t n, const uint8_t **nal, size_t *nal_len)
{
    if (len < 23 || rec[0] != 1)
        return false;
    size_t pos = 23, seen = 0;
    for (unsigned a = 0; a < rec[22]; a++) {
        if (len - pos < 3)
            return false;
        size_t count = (size_t)rec[pos + 1] << 8 | rec[pos + 2];
        pos += 3;
        int rc = units_nth(rec, len, &pos, count, n, &seen, nal, nal_len);
        if (rc != 0)
            return rc > 0;
    }
    return false;
}

bool media_config_ps_next(enum media_codec codec, const uint8_t *rec, size_t len, size_t *index,
                          const uint8_t **nal, size_t *nal_len)
{
    bool ok = codec == MEDIA_CODEC_H265 ? hvcc_nth(rec, len, *index, nal, nal_len)
                                        : avcc_nth(rec, len, *index, nal, nal_len);
    if (ok)
        ++*index;
    return ok;
}
