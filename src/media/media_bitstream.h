/*
 * H.264/H.265 bitstream helpers every producer of media needs: Annex B
 * start-code scanning and NAL unit classification. Shared by ingest (the
 * libav client splits Annex B access units; the RTP depacketiser classifies
 * units) and tools/camsim (which packetises Annex B). Pure functions over
 * borrowed bytes. Thread: any (no state).
 */
#ifndef HORUS_MEDIA_BITSTREAM_H
#define HORUS_MEDIA_BITSTREAM_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The offset of the next 00 00 01 start code at or after from, or len when
 * there is none. A 4-byte code (00 00 00 01) is found at its last three
 * bytes.
 */
size_t media_annexb_find(const uint8_t *buf, size_t len, size_t from);

/*
 * Finds the next NAL unit in buf at or after *pos. On true, *nal and
 * *nal_len name the unit without its start code and trailing zero bytes
 * (borrowed from buf) and *pos moves past it. Bytes before the first start
 * code are skipped. Returns false at the end.
 */
bool media_annexb_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **nal,
                       size_t *nal_len);

/* NAL unit type of a H.264 (5 bits) or H.265 (6 bits) NAL header of len bytes, or -1 if empty. */
int media_nal_type(enum media_codec codec, const uint8_t *nal, size_t len);

/* True for the types of a keyframe: H.264 IDR, H.265 IRAP (16..21). */
bool media_nal_is_keyframe(enum media_codec codec, int type);

/* True for access unit delimiters. */
bool media_nal_is_aud(enum media_codec codec, int type);

/*
 * True for the types RTP payload formats take for their own packets (H.264
 * 24..31: STAP, MTAP, FU, RFC 6184; H.265 48..63: AP, FU, PACI, RFC 7798),
 * which a stream should never hold: a sender drops them, since one sent
 * alone would be read as such a packet.
 */
bool media_nal_is_rtp_reserved(enum media_codec codec, int type);

enum media_ps_kind {
    MEDIA_PS_VPS,
    MEDIA_PS_SPS,
    MEDIA_PS_PPS,
    MEDIA_PS_COUNT,
};

/* Which parameter set a NAL unit type is (enum media_ps_kind), or -1. */
int media_nal_ps_kind(enum media_codec codec, int type);

/*
 * The parameter-set NAL units of a stream's extradata: an avcC record
 * (H.264: SPS then PPS) or an hvcC record (H.265: its arrays in order).
 * *index starts at 0; on true, *nal and *nal_len name the next unit
 * (borrowed from rec) and *index moves on. Returns false at the end and on
 * a record that is malformed or truncated from there on. Pure, bounded by
 * len (fuzzed by fuzz_restream_request).
 */
bool media_config_ps_next(enum media_codec codec, const uint8_t *rec, size_t len, size_t *index,
                          const uint8_t **nal, size_t *nal_len);

#endif
