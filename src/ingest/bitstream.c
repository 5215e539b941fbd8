/*
 * DESIGN: H.264/H.265/AAC bitstream helpers, pure logic. libavformat's RTSP
 * demuxer hands us Annex B access units and Annex B extradata (from the SDP
 * sprop-* parameters); the media contract wants 4-byte length-prefixed NAL
 * units and avcC/hvcC records (ISO/IEC 14496-15), so this file splits Annex
 * B (with media_bitstream.h's start-code scan), parses just enough of an
 * SPS for the picture size, the RFC 6381 codec string and the reorder
 * depth (H.264 VUI bitstream_restriction / H.265 sub-layer ordering info,
 * which the timeline uses to order B-frames from a session's first frame;
 * a broken VUI only makes the depth unknown, never the SPS unusable), and
 * writes the decoder configuration records.
 *
 * Every parser bounds-checks against its input and fails with HORUS_EPARSE;
 * camera bytes are untrusted. Thread: any (no state).
 */
#include "ingest_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

size_t ing_annexb_split(const uint8_t *buf, size_t size, struct ing_nal *nals, size_t max)
{
    size_t n = 0;
    if (max == 0)
        return 0;
    size_t sc = media_annexb_find(buf, size, 0);
    if (sc == size) {
        if (size > 0)
            nals[n++] = (struct ing_nal){buf, size};
        return n;
    }
    size_t start = sc + 3;
    for (;;) {
        size_t next = media_annexb_find(buf, size, start);
        if (next == size)
            break;
        size_t end = next;
        while (end > start && buf[end - 1] == 0) /* trailing zero / 4-byte code */
            end--;
        if (end > start) {
            if (n == max - 1) /* the last slot takes the rest */
                break;
            nals[n++] = (struct ing_nal){buf + start, end - start};
        }
        start = next + 3;
    }
    if (size > start)
        nals[n++] = (struct ing_nal){buf + start, size - start};
    return n;
}

bool ing_param_sets_update(struct ing_param_sets *ps, enum ing_ps_kind kind,
                           const struct ing_nal *nal)
{
    if (nal->size > ING_PS_MAX_SIZE || nal->size == 0)
        return false;
    if (ps->size[kind] == nal->size && memcmp(ps->data[kind], nal->data, nal->size) == 0)
        return false;
    memcpy(ps->data[kind], nal->data, nal->size);
    ps->size[kind] = nal->size;
    return true;
}

bool ing_param_sets_complete(const struct ing_param_sets *ps)
{
    if (ps->size[ING_PS_SPS] == 0 || ps->size[ING_PS_PPS] == 0)
        return false;
    return ps->codec != MEDIA_CODEC_H265 || ps->size[ING_PS_VPS] > 0;
}

/* ---- RBSP bit reader ---- */

struct bits {
    uint8_t buf[ING_PS_MAX_SIZE];
    size_t size, pos; /* pos in bits */
    bool overrun;
};

/* Copies the payload after a hdr-byte header, dropping emulation prevention bytes of RBSP. */
static void bits_init(struct bits *b, const struct ing_nal *nal, size_t hdr, bool is_rbsp)
{
    memset(b, 0, sizeof(*b));
    unsigned zeros = 0;
    for (size_t i = hdr; i < nal->size && b->size < sizeof(b->buf); i++) {
        if (is_rbsp && zeros >= 2 && nal->data[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = nal->data[i] == 0 ? zeros + 1 : 0;
        b->buf[b->size++] = nal->data[i];
    }
}

static uint32_t bits_read(struct bits *b, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (b->pos >= b->size * 8) {
            b->overrun = true;
            return 0;
        }
        v = (v << 1) | ((b->buf[b->pos / 8] >> (7 - b->pos % 8)) & 1);
        b->pos++;
    }
    return v;
}

static uint32_t bits_ue(struct bits *b)
{
    unsigned zeros = 0;
    while (bits_read(b, 1) == 0) {
        if (b->overrun || ++zeros > 31) {
            b->overrun = true;
            return 0;
        }
    }
    return zeros ? ((1u << zeros) - 1 + bits_read(b, zeros)) : 0;
}

static int32_t bits_se(struct bits *b)
{
    uint32_t v = bits_ue(b);
    return (v & 1) ? (int32_t)((v + 1) / 2) : -(int32_t)(v / 2);
}

static void h264_skip_scaling_list(struct bits *b, int n)
{
    int last = 8, next = 8;
    for (int j = 0; j < n && !b->overrun; j++) {
        if (next != 0) {
            /* delta_scale is -128..127; anything else is a broken or hostile SPS. */
            int32_t delta = bits_se(b);
            if (delta < -128 || delta > 127) {
                b->overrun = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

static void h264_skip_hrd(struct bits *b)
{
    uint32_t cpb_cnt = bits_ue(b) + 1;
    if (cpb_cnt > 32) {
        b->overrun = true;
        return;
    }
    bits_read(b, 8); /* bit_rate_scale, cpb_size_scale */
    for (uint32_t i = 0; i < cpb_cnt && !b->overrun; i++) {
        bits_ue(b); /* bit_rate_value_minus1 */
        bits_ue(b); /* cpb_size_value_minus1 */
        bits_read(b, 1); /* cbr_flag */
    }
    bits_read(b, 20); /* four delay/offset lengths, 5 bits each */
}

/*
 * The reorder depth from the VUI (b just after frame_cropping). Without
 * bitstream_restriction the spec infers 0 only for profiles without
 * B-slices (Baseline, anything obeying Baseline's constraints, the intra
 * profiles); otherwise it is unknown here (-1).
 */
static int8_t h264_vui_reorder(struct bits *b, const struct ing_sps_info *info)
{
    bool is_intra =
        (info->constraint_flags & 0x10) && (info->profile_idc == 100 || info->profile_idc == 110 ||
                                            info->profile_idc == 122 || info->profile_idc == 244);
    int8_t inferred = info->profile_idc == 66 || (info->constraint_flags & 0x80) ||
                              info->profile_idc == 44 || is_intra
                          ? 0
                          : -1;
    if (inferred == 0)
        return 0;
    if (!bits_read(b, 1)) /* vui_parameters_present_flag */
        return -1;
    if (bits_read(b, 1) && bits_read(b, 8) == 255) /* aspect_ratio_idc: Extended_SAR */
        bits_read(b, 32);
    if (bits_read(b, 1)) /* overscan_info_present_flag */
        bits_read(b, 1);
    if (bits_read(b, 1)) { /* video_signal_type_present_flag */
        bits_read(b, 4);
        if (bits_read(b, 1))
            bits_read(b, 24); /* colour primaries, transfer, matrix */
    }
    if (bits_read(b, 1)) { /* chroma_loc_info_present_flag */
        bits_ue(b);
        bits_ue(b);
    }
    if (bits_read(b, 1)) { /* timing_info_present_flag */
        bits_read(b, 32);
        bits_read(b, 32);
        bits_read(b, 1);
    }
    unsigned nal_hrd = bits_read(b, 1);
    if (nal_hrd)
        h264_skip_hrd(b);
    unsigned vcl_hrd = bits_read(b, 1);
    if (vcl_hrd)
        h264_skip_hrd(b);
    if (nal_hrd || vcl_hrd)
        bits_read(b, 1); /* low_delay_hrd_flag */
    bits_read(b, 1); /* pic_struct_present_flag */
    if (!bits_read(b, 1)) /* bitstream_restriction_flag */
        return -1;
    bits_read(b, 1); /* motion_vectors_over_pic_boundaries_flag */
    for (int i = 0; i < 4; i++)
        bits_ue(b); /* max_bytes_per_pic_denom .. log2_max_mv_length_vertical */
    uint32_t reorder = bits_ue(b);
    uint32_t dpb = bits_ue(b); /* max_dec_frame_buffering */
    if (b->overrun || reorder > 16 || reorder > dpb)
        return -1;
    return (int8_t)reorder;
}

static int h264_sps_parse(const struct ing_nal *nal, struct ing_sps_info *out)
{
    struct bits b;
    bits_init(&b, nal, 1, true);
    out->profile_idc = (uint8_t)bits_read(&b, 8);
    out->constraint_flags = (uint8_t)bits_read(&b, 8);
    out->level_idc = (uint8_t)bits_read(&b, 8);
    bits_ue(&b); /* seq_parameter_set_id */
    unsigned chroma = 1, sep_planes = 0;
    out->bit_depth_luma = out->bit_depth_chroma = 8;
    switch (out->profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
        chroma = bits_ue(&b);
        if (chroma == 3)
            sep_planes = bits_read(&b, 1);
        out->bit_depth_luma = (uint8_t)(8 + bits_ue(&b));
        out->bit_depth_chroma = (uint8_t)(8 + bits_ue(&b));
        bits_read(&b, 1); /* qpprime_y_zero_transform_bypass_flag */
        if (bits_read(&b, 1)) {
            for (int i = 0; i < (chroma != 3 ? 8 : 12); i++)
                if (bits_read(&b, 1))
                    h264_skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
        break;
    default:
        break;
    }
    out->chroma_format_idc = (uint8_t)chroma;
    bits_ue(&b); /* log2_max_frame_num_minus4 */
    unsigned poc_type = bits_ue(&b);
    if (poc_type == 0) {
        bits_ue(&b);
    } else if (poc_type == 1) {
        bits_read(&b, 1);
        bits_se(&b);
        bits_se(&b);
        unsigned n = bits_ue(&b);
        for (unsigned i = 0; i < n && i < 256 && !b.overrun; i++)
            bits_se(&b);
    }
    bits_ue(&b); /* max_num_ref_frames */
    bits_read(&b, 1);
    uint32_t w_mbs = bits_ue(&b) + 1;
    uint32_t h_units = bits_ue(&b) + 1;
    unsigned frame_mbs_only = bits_read(&b, 1);
    if (!frame_mbs_only)
        bits_read(&b, 1);
    bits_read(&b, 1); /* direct_8x8_inference_flag */
    uint32_t crop[4] = {0, 0, 0, 0};
    if (bits_read(&b, 1))
        for (int i = 0; i < 4; i++)
            crop[i] = bits_ue(&b);
    if (b.overrun || w_mbs > 1024 || h_units > 1024)
        return HORUS_EPARSE;
    uint32_t array_type = sep_planes ? 0 : chroma;
    uint32_t crop_x = array_type == 0 ? 1 : (array_type == 3 ? 1 : 2);
    uint32_t crop_y = (array_type == 0 ? 1 : (array_type == 1 ? 2 : 1)) * (2 - frame_mbs_only);
    uint32_t w = w_mbs * 16, h = h_units * 16 * (2 - frame_mbs_only);
    uint32_t cw = (crop[0] + crop[1]) * crop_x, ch = (crop[2] + crop[3]) * crop_y;
    if (cw >= w || ch >= h)
        return HORUS_EPARSE;
    out->width = w - cw;
    out->height = h - ch;
    out->max_reorder = h264_vui_reorder(&b, out);
    return 0;
}

static int h265_sps_parse(const struct ing_nal *nal, struct ing_sps_info *out)
{
    struct bits b;
    bits_init(&b, nal, 2, true);
    bits_read(&b, 4); /* sps_video_parameter_set_id */
    unsigned max_sub_layers_minus1 = bits_read(&b, 3);
    out->max_sub_layers = (uint8_t)(max_sub_layers_minus1 + 1);
    out->temporal_id_nested = (uint8_t)bits_read(&b, 1);
    /* profile_tier_level(1, max_sub_layers_minus1) */
    out->profile_space = (uint8_t)bits_read(&b, 2);
    out->tier_flag = (uint8_t)bits_read(&b, 1);
    out->general_profile_idc = (uint8_t)bits_read(&b, 5);
    out->profile_compat_flags = bits_read(&b, 32);
    for (int i = 0; i < 6; i++)
        out->constraint_bytes[i] = (uint8_t)bits_read(&b, 8);
    out->general_level_idc = (uint8_t)bits_read(&b, 8);
    unsigned prof_present[8] = {0}, level_present[8] = {0};
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        prof_present[i] = bits_read(&b, 1);
        level_present[i] = bits_read(&b, 1);
    }
    if (max_sub_layers_minus1 > 0)
        for (unsigned i = max_sub_layers_minus1; i < 8; i++)
            bits_read(&b, 2);
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        if (prof_present[i]) {
            bits_read(&b, 32);
            bits_read(&b, 32);
            bits_read(&b, 24);
        }
        if (level_present[i])
            bits_read(&b, 8);
    }
    bits_ue(&b); /* sps_seq_parameter_set_id */
    unsigned chroma = bits_ue(&b);
    if (chroma == 3)
        bits_read(&b, 1);
    uint32_t w = bits_ue(&b), h = bits_ue(&b);
    uint32_t crop[4] = {0, 0, 0, 0};
    if (bits_read(&b, 1))
        for (int i = 0; i < 4; i++)
            crop[i] = bits_ue(&b);
    out->bit_depth_luma = (uint8_t)(8 + bits_ue(&b));
    out->bit_depth_chroma = (uint8_t)(8 + bits_ue(&b));
    out->chroma_format_idc = (uint8_t)chroma;
    if (b.overrun || chroma > 3 || w == 0 || h == 0 || w > 16384 || h > 16384)
        return HORUS_EPARSE;
    uint32_t sub_w = (chroma == 1 || chroma == 2) ? 2 : 1, sub_h = chroma == 1 ? 2 : 1;
    uint32_t cw = (crop[0] + crop[1]) * sub_w, ch = (crop[2] + crop[3]) * sub_h;
    if (cw >= w || ch >= h)
        return HORUS_EPARSE;
    out->width = w - cw;
    out->height = h - ch;
    /* sub-layer ordering info: the highest sub-layer's sps_max_num_reorder_pics */
    bits_ue(&b); /* log2_max_pic_order_cnt_lsb_minus4 */
    unsigned first = bits_read(&b, 1) ? 0 : max_sub_layers_minus1;
    uint32_t reorder = 0, dpb = 0;
    for (unsigned i = first; i <= max_sub_layers_minus1 && !b.overrun; i++) {
        dpb = bits_ue(&b); /* sps_max_dec_pic_buffering_minus1 */
        reorder = bits_ue(&b);
        bits_ue(&b); /* sps_max_latency_increase_plus1 */
    }
    out->max_reorder = b.overrun || reorder > 15 || reorder > dpb ? -1 : (int8_t)reorder;
    return 0;
}

int ing_sps_parse(enum media_codec codec, const struct ing_nal *sps, struct ing_sps_info *out)
{
    memset(out, 0, sizeof(*out));
    if (codec == MEDIA_CODEC_H265)
        return sps->size >= 3 ? h265_sps_parse(sps, out) : HORUS_EPARSE;
    if (codec == MEDIA_CODEC_H264)
        return sps->size >= 4 ? h264_sps_parse(sps, out) : HORUS_EPARSE;
    return HORUS_EPARSE;
}

/* ---- decoder configuration records ---- */

struct writer {
    uint8_t *buf;
    size_t size, pos;
};

static void put8(struct writer *w, unsigned v)
{
    if (w->pos < w->size)
        w->buf[w->pos] = (uint8_t)v;
    w->pos++;
}

static void put16(struct writer *w, unsigned v)
{
    put8(w, v >> 8);
    put8(w, v);
}

static void put_bytes(struct writer *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(w, p[i]);
}

static void avcc_build(const struct ing_param_sets *ps, const struct ing_sps_info *sps,
                       struct writer *w)
{
    const uint8_t *s = ps->data[ING_PS_SPS];
    put8(w, 1);
    put8(w, s[1]); /* profile, compatibility, level straight from the SPS */
    put8(w, s[2]);
    put8(w, s[3]);
    put8(w, 0xff); /* 4-byte lengths */
    put8(w, 0xe1);
    put16(w, (unsigned)ps->size[ING_PS_SPS]);
    put_bytes(w, s, ps->size[ING_PS_SPS]);
    put8(w, 1);
    put16(w, (unsigned)ps->size[ING_PS_PPS]);
    put_bytes(w, ps->data[ING_PS_PPS], ps->size[ING_PS_PPS]);
    /* The chroma/bit-depth extension, for every profile but Baseline, Main and Extended. */
    if (sps->profile_idc != 66 && sps->profile_idc != 77 && sps->profile_idc != 88) {
        put8(w, 0xfc | sps->chroma_format_idc);
        put8(w, 0xf8 | (unsigned)(sps->bit_depth_luma - 8));
        put8(w, 0xf8 | (unsigned)(sps->bit_depth_chroma - 8));
        put8(w, 0);
    }
}

static void hvcc_build(const struct ing_param_sets *ps, const struct ing_sps_info *sps,
                       struct writer *w)
{
    put8(w, 1);
    put8(w, (unsigned)(sps->profile_space << 6 | sps->tier_flag << 5 | sps->general_profile_idc));
    put8(w, sps->profile_compat_flags >> 24);
    put8(w, sps->profile_compat_flags >> 16);
    put8(w, sps->profile_compat_flags >> 8);
    put8(w, sps->profile_compat_flags);
    put_bytes(w, sps->constraint_bytes, 6);
    put8(w, sps->general_level_idc);
    put16(w, 0xf000); /* min_spatial_segmentation_idc unknown */
    put8(w, 0xfc); /* parallelismType unknown */
    put8(w, 0xfc | sps->chroma_format_idc);
    put8(w, 0xf8 | (unsigned)(sps->bit_depth_luma - 8));
    put8(w, 0xf8 | (unsigned)(sps->bit_depth_chroma - 8));
    put16(w, 0); /* avgFrameRate unknown */
    put8(w, (unsigned)((sps->max_sub_layers & 7) << 3 | (sps->temporal_id_nested & 1) << 2 | 3));
    put8(w, 3);
    static const unsigned types[] = {32, 33, 34};
    for (int k = 0; k < 3; k++) {
        put8(w, 0x80 | types[k]); /* array_completeness: every set is in the record */
        put16(w, 1);
        put16(w, (unsigned)ps->size[k]);
        put_bytes(w, ps->data[k], ps->size[k]);
    }
}

int ing_decoder_config_build(const struct ing_param_sets *ps, const struct ing_sps_info *sps,
                             uint8_t *buf, size_t size)
{
    if (!ing_param_sets_complete(ps) || ps->size[ING_PS_SPS] < 4)
        return HORUS_EPARSE;
    struct writer w = {buf, size, 0};
    if (ps->codec == MEDIA_CODEC_H265)
        hvcc_build(ps, sps, &w);
    else
        avcc_build(ps, sps, &w);
    return w.pos <= size ? (int)w.pos : -ENOSPC;
}

static unsigned reverse_bits32(uint32_t v)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++)
        r |= ((v >> i) & 1u) << (31 - i);
    return r;
}

int ing_codec_string_video(enum media_codec codec, const struct ing_sps_info *sps, char *buf,
                           size_t size)
{
    int n;
    if (codec == MEDIA_CODEC_H264) {
        n = snprintf(buf, size, "avc1.%02x%02x%02x", sps->profile_idc, sps->constraint_flags,
                     sps->level_idc);
    } else {
        static const char space[] = {0, 'A', 'B', 'C'};
        char prefix[2] = {space[sps->profile_space & 3], 0};
        n = snprintf(buf, size, "hvc1.%s%u.%X.%c%u", prefix, sps->general_profile_idc,
                     reverse_bits32(sps->profile_compat_flags), sps->tier_flag ? 'H' : 'L',
                     sps->general_level_idc);
        /* Constraint bytes, trailing zero bytes omitted (RFC 6381 via ISO/IEC 14496-15 E.3). */
        int last = -1;
        for (int i = 0; i < 6; i++)
            if (sps->constraint_bytes[i])
                last = i;
        for (int i = 0; i <= last && n >= 0 && (size_t)n < size; i++)
            n += snprintf(buf + n, size - (size_t)n, ".%X", sps->constraint_bytes[i]);
    }
    return n >= 0 && (size_t)n < size ? 0 : -ENOSPC;
}

int ing_aac_config_parse(const uint8_t *asc, size_t size, unsigned *object_type,
                         uint32_t *sample_rate, uint32_t *channels)
{
    static const uint32_t rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};
    struct ing_nal nal = {asc, size};
    struct bits b;
    bits_init(&b, &nal, 0, false);
    unsigned aot = bits_read(&b, 5);
    if (aot == 31)
        aot = 32 + bits_read(&b, 6);
    unsigned idx = bits_read(&b, 4);
    uint32_t rate = idx == 15 ? bits_read(&b, 24) : (idx < 13 ? rates[idx] : 0);
    unsigned ch = bits_read(&b, 4);
    if (b.overrun || aot == 0 || rate == 0)
        return HORUS_EPARSE;
    *object_type = aot;
    *sample_rate = rate;
    *channels = ch == 7 ? 8 : ch;
    return 0;
}

size_t ing_nals_to_length_prefixed(const struct ing_nal *nals, const bool *skip, size_t nnals,
                                   uint8_t *out)
{
    size_t pos = 0;
    for (size_t i = 0; i < nnals; i++) {
        if (skip && skip[i])
            continue;
        uint32_t n = (uint32_t)nals[i].size;
        out[pos] = (uint8_t)(n >> 24);
        out[pos + 1] = (uint8_t)(n >> 16);
        out[pos + 2] = (uint8_t)(n >> 8);
        out[pos + 3] = (uint8_t)n;
        memcpy(out + pos + 4, nals[i].data, n);
        pos += 4 + n;
    }
    return pos;
}
