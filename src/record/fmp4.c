/*
 * DESIGN: our own ISO BMFF (CMAF) writer, so the recorder controls every
 * byte offset and spends no CPU on a generic muxer. Two products:
 *
 *   init segment  ftyp + moov (mvhd, one trak per stream with an empty
 *                 sample table, mvex/trex); written once at the head of a
 *                 segment file and served as the LL-HLS EXT-X-MAP.
 *   fragment      moof (mfhd + one traf per track: tfhd with
 *                 default-base-is-moof, 64-bit tfdt, trun with data
 *                 offset, per-sample size/duration/flags and, when any
 *                 sample has pts != dts, signed composition offsets) and
 *                 the 8-byte mdat header; the caller appends the sample
 *                 bytes, so payloads are never copied here.
 *
 * Invariant: every box size is patched by fmp4_box_end, so a buffer holds
 * only complete boxes once the outermost box is ended. Thread: any (the
 * buffer is the caller's).
 */
#include "fmp4_int.h"

#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

void fmp4_buf_release(struct fmp4_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static uint8_t *buf_grow(struct fmp4_buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n)
            cap *= 2;
        b->data = horus_realloc(b->data, cap);
        b->cap = cap;
    }
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

void fmp4_put_u8(struct fmp4_buf *b, uint8_t v)
{
    *buf_grow(b, 1) = v;
}

void fmp4_put_u16(struct fmp4_buf *b, uint16_t v)
{
    uint8_t *p = buf_grow(b, 2);
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void fmp4_put_u32(struct fmp4_buf *b, uint32_t v)
{
    uint8_t *p = buf_grow(b, 4);
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void fmp4_put_u64(struct fmp4_buf *b, uint64_t v)
{
    fmp4_put_u32(b, (uint32_t)(v >> 32));
    fmp4_put_u32(b, (uint32_t)v);
}

void fmp4_put_bytes(struct fmp4_buf *b, const void *p, size_t n)
{
    if (n)
        memcpy(buf_grow(b, n), p, n);
}

void fmp4_put_zeros(struct fmp4_buf *b, size_t n)
{
    if (n)
        memset(buf_grow(b, n), 0, n);
}

size_t fmp4_box_begin(struct fmp4_buf *b, const char type[4])
{
    size_t start = b->len;
    fmp4_put_u32(b, 0);
    fmp4_put_bytes(b, type, 4);
    return start;
}

size_t fmp4_fullbox_begin(struct fmp4_buf *b, const char type[4], uint8_t version, uint32_t flags)
{
    size_t start = fmp4_box_begin(b, type);
    fmp4_put_u32(b, (uint32_t)version << 24 | (flags & 0xffffff));
    return start;
}

void fmp4_box_end(struct fmp4_buf *b, size_t start)
{
    size_t size = b->len - start;
    horus_assert(size <= UINT32_MAX);
    uint8_t *p = b->data + start;
    p[0] = (uint8_t)(size >> 24);
    p[1] = (uint8_t)(size >> 16);
    p[2] = (uint8_t)(size >> 8);
    p[3] = (uint8_t)size;
}

/* ---- init segment ---- */

static void put_matrix(struct fmp4_buf *b)
{
    static const uint32_t unity[9] = {0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000};
    for (int i = 0; i < 9; i++)
        fmp4_put_u32(b, unity[i]);
}

static void put_ftyp(struct fmp4_buf *b)
{
    size_t box = fmp4_box_begin(b, "ftyp");
    fmp4_put_bytes(b, "iso6", 4);
    fmp4_put_u32(b, 0);
    fmp4_put_bytes(b, "iso6cmfcisommp41", 16);
    fmp4_box_end(b, box);
}

static void put_mvhd(struct fmp4_buf *b, uint32_t next_track_id)
{
    size_t box = fmp4_fullbox_begin(b, "mvhd", 0, 0);
    fmp4_put_u32(b, 0); /* creation_time */
    fmp4_put_u32(b, 0); /* modification_time */
    fmp4_put_u32(b, 1000); /* timescale */
    fmp4_put_u32(b, 0); /* duration: fragmented */
    fmp4_put_u32(b, 0x10000); /* rate 1.0 */
    fmp4_put_u16(b, 0x100); /* volume 1.0 */
    fmp4_put_zeros(b, 10);
    put_matrix(b);
    fmp4_put_zeros(b, 24); /* pre_defined */
    fmp4_put_u32(b, next_track_id);
    fmp4_box_end(b, box);
}

static void put_tkhd(struct fmp4_buf *b, const media_stream *s, uint32_t track_id)
{
    size_t box = fmp4_fullbox_begin(b, "tkhd", 0, 3); /* enabled, in movie */
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, track_id);
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, 0); /* duration */
    fmp4_put_zeros(b, 8);
    fmp4_put_u16(b, 0); /* layer */
    fmp4_put_u16(b, 0); /* alternate_group */
    fmp4_put_u16(b, s->kind == MEDIA_KIND_AUDIO ? 0x100 : 0);
    fmp4_put_u16(b, 0);
    put_matrix(b);
    bool video = s->kind == MEDIA_KIND_VIDEO;
    fmp4_put_u32(b, video ? s->width << 16 : 0);
    fmp4_put_u32(b, video ? s->height << 16 : 0);
    fmp4_box_end(b, box);
}

static void put_mdhd(struct fmp4_buf *b, uint32_t timescale)
{
    size_t box = fmp4_fullbox_begin(b, "mdhd", 0, 0);
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, timescale);
    fmp4_put_u32(b, 0);
    fmp4_put_u16(b, 0x55c4); /* "und" */
    fmp4_put_u16(b, 0);
    fmp4_box_end(b, box);
}

static void put_hdlr(struct fmp4_buf *b, bool video)
{
    size_t box = fmp4_fullbox_begin(b, "hdlr", 0, 0);
    fmp4_put_u32(b, 0);
    fmp4_put_bytes(b, video ? "vide" : "soun", 4);
    fmp4_put_zeros(b, 12);
    const char *name = video ? "VideoHandler" : "SoundHandler";
    fmp4_put_bytes(b, name, strlen(name) + 1);
    fmp4_box_end(b, box);
}

static void put_dinf(struct fmp4_buf *b)
{
    size_t dinf = fmp4_box_begin(b, "dinf");
    size_t dref = fmp4_fullbox_begin(b, "dref", 0, 0);
    fmp4_put_u32(b, 1);
    fmp4_box_end(b, fmp4_fullbox_begin(b, "url ", 0, 1)); /* data in this file */
    fmp4_box_end(b, dref);
    fmp4_box_end(b, dinf);
}

static void put_visual_entry(struct fmp4_buf *b, const media_stream *s)
{
    bool hevc = s->codec == MEDIA_CODEC_H265;
    /* hvc1 (not hev1): parameter sets are out of band in hvcC, never in samples. */
    size_t entry = fmp4_box_begin(b, hevc ? "hvc1" : "avc1");
    fmp4_put_zeros(b, 6);
    fmp4_put_u16(b, 1); /* data_reference_index */
    fmp4_put_zeros(b, 16);
    fmp4_put_u16(b, (uint16_t)s->width);
    fmp4_put_u16(b, (uint16_t)s->height);
    fmp4_put_u32(b, 0x480000); /* 72 dpi */
    fmp4_put_u32(b, 0x480000);
    fmp4_put_u32(b, 0);
    fmp4_put_u16(b, 1); /* frame_count */
    fmp4_put_zeros(b, 32); /* compressorname */
    fmp4_put_u16(b, 0x18);
    fmp4_put_u16(b, 0xffff);
    size_t cfg = fmp4_box_begin(b, hevc ? "hvcC" : "avcC");
    fmp4_put_bytes(b, s->extradata, s->extradata_size);
    fmp4_box_end(b, cfg);
    fmp4_box_end(b, entry);
}

/* An MPEG-4 descriptor header: tag and a 4-byte "expandable" size. */
static void put_descr(struct fmp4_buf *b, uint8_t tag, size_t size)
{
    fmp4_put_u8(b, tag);
    fmp4_put_u8(b, (uint8_t)(0x80 | ((size >> 21) & 0x7f)));
    fmp4_put_u8(b, (uint8_t)(0x80 | ((size >> 14) & 0x7f)));
    fmp4_put_u8(b, (uint8_t)(0x80 | ((size >> 7) & 0x7f)));
    fmp4_put_u8(b, (uint8_t)(size & 0x7f));
}

static void put_audio_entry(struct fmp4_buf *b, const media_stream *s, uint32_t track_id)
{
    uint32_t rate = s->sample_rate ? s->sample_rate : s->timescale;
    size_t entry = fmp4_box_begin(b, "mp4a");
    fmp4_put_zeros(b, 6);
    fmp4_put_u16(b, 1);
    fmp4_put_zeros(b, 8);
    fmp4_put_u16(b, (uint16_t)(s->channels ? s->channels : 2));
    fmp4_put_u16(b, 16); /* samplesize */
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, rate <= 0xffff ? rate << 16 : 0);

    size_t asc = s->extradata_size;
    size_t dsi = 5 + asc;
    size_t dcd = 5 + 13 + dsi;
    size_t es = 5 + 3 + dcd + 5 + 1;
    size_t esds = fmp4_fullbox_begin(b, "esds", 0, 0);
    put_descr(b, 0x03, es - 5);
    fmp4_put_u16(b, (uint16_t)track_id); /* ES_ID */
    fmp4_put_u8(b, 0);
    put_descr(b, 0x04, dcd - 5);
    fmp4_put_u8(b, 0x40); /* objectTypeIndication: MPEG-4 audio */
    fmp4_put_u8(b, 0x15); /* streamType audio << 2 | 1 */
    fmp4_put_u8(b, 0); /* bufferSizeDB (24 bits) */
    fmp4_put_u16(b, 0);
    fmp4_put_u32(b, 0); /* maxBitrate: unknown */
    fmp4_put_u32(b, 0); /* avgBitrate: variable */
    put_descr(b, 0x05, asc);
    fmp4_put_bytes(b, s->extradata, asc);
    put_descr(b, 0x06, 1); /* SLConfigDescriptor */
    fmp4_put_u8(b, 0x02);
    fmp4_box_end(b, esds);
    fmp4_box_end(b, entry);
}

static void put_stbl(struct fmp4_buf *b, const media_stream *s, uint32_t track_id)
{
    size_t stbl = fmp4_box_begin(b, "stbl");
    size_t stsd = fmp4_fullbox_begin(b, "stsd", 0, 0);
    fmp4_put_u32(b, 1);
    if (s->kind == MEDIA_KIND_VIDEO)
        put_visual_entry(b, s);
    else
        put_audio_entry(b, s, track_id);
    fmp4_box_end(b, stsd);
    static const char empty[][4] = {"stts", "stsc", "stco"};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(empty); i++) {
        size_t box = fmp4_fullbox_begin(b, empty[i], 0, 0);
        fmp4_put_u32(b, 0);
        fmp4_box_end(b, box);
    }
    size_t stsz = fmp4_fullbox_begin(b, "stsz", 0, 0);
    fmp4_put_u32(b, 0);
    fmp4_put_u32(b, 0);
    fmp4_box_end(b, stsz);
    fmp4_box_end(b, stbl);
}

static int put_trak(struct fmp4_buf *b, const media_stream *s, uint32_t track_id)
{
    bool video = s->kind == MEDIA_KIND_VIDEO;
    bool known = video ? s->codec == MEDIA_CODEC_H264 || s->codec == MEDIA_CODEC_H265
                       : s->codec == MEDIA_CODEC_AAC;
    if (!known || !s->extradata_size || !s->timescale || s->extradata_size > 0xffff)
        return HORUS_ECODEC;
    size_t trak = fmp4_box_begin(b, "trak");
    put_tkhd(b, s, track_id);
    size_t mdia = fmp4_box_begin(b, "mdia");
    put_mdhd(b, s->timescale);
    put_hdlr(b, video);
    size_t minf = fmp4_box_begin(b, "minf");
    if (video) {
        size_t vmhd = fmp4_fullbox_begin(b, "vmhd", 0, 1);
        fmp4_put_zeros(b, 8);
        fmp4_box_end(b, vmhd);
    } else {
        size_t smhd = fmp4_fullbox_begin(b, "smhd", 0, 0);
        fmp4_put_zeros(b, 4);
        fmp4_box_end(b, smhd);
    }
    put_dinf(b);
    put_stbl(b, s, track_id);
    fmp4_box_end(b, minf);
    fmp4_box_end(b, mdia);
    fmp4_box_end(b, trak);
    return 0;
}

int fmp4_init_write(struct fmp4_buf *b, media_stream *const *streams, size_t n,
                    int64_t start_wall_us)
{
    put_ftyp(b);
    size_t moov = fmp4_box_begin(b, "moov");
    put_mvhd(b, (uint32_t)n + 1);
    for (size_t i = 0; i < n; i++) {
        int rc = put_trak(b, streams[i], (uint32_t)i + 1);
        if (rc < 0)
            return rc;
    }
    size_t mvex = fmp4_box_begin(b, "mvex");
    for (size_t i = 0; i < n; i++) {
        size_t trex = fmp4_fullbox_begin(b, "trex", 0, 0);
        fmp4_put_u32(b, (uint32_t)i + 1);
        fmp4_put_u32(b, 1); /* default_sample_description_index */
        fmp4_put_u32(b, 0);
        fmp4_put_u32(b, 0);
        fmp4_put_u32(b, 0);
        fmp4_box_end(b, trex);
    }
    fmp4_box_end(b, mvex);
    /*
     * udta/hrst: the UTC microsecond of the first sample, so recovery and
     * `horus check` know the start exactly (the file name has seconds).
     * Players skip user-data boxes they do not know.
     */
    size_t udta = fmp4_box_begin(b, "udta");
    size_t hrst = fmp4_fullbox_begin(b, FMP4_START_BOX, 0, 0);
    fmp4_put_u64(b, (uint64_t)start_wall_us);
    fmp4_box_end(b, hrst);
    fmp4_box_end(b, udta);
    fmp4_box_end(b, moov);
    return 0;
}

/* ---- fragments ---- */

/*
 * sample_flags (ISO 14496-12 8.8.3.1): a sync sample depends on no other
 * (sample_depends_on = 2); any other depends on others (1) and sets
 * sample_is_non_sync_sample.
 */
#define FMP4_FLAGS_SYNC 0x02000000u
#define FMP4_FLAGS_NON_SYNC 0x01010000u

#define TRUN_DATA_OFFSET 0x000001u
#define TRUN_DURATION 0x000100u
#define TRUN_SIZE 0x000200u
#define TRUN_FLAGS 0x000400u
#define TRUN_CTS 0x000800u
#define TFHD_DEFAULT_BASE_IS_MOOF 0x020000u

size_t fmp4_fragment_header_write(struct fmp4_buf *b, uint32_t seq, const struct fmp4_run *runs,
                                  size_t n_runs)
{
    size_t moof_start = b->len;
    size_t moof = fmp4_box_begin(b, "moof");
    size_t mfhd = fmp4_fullbox_begin(b, "mfhd", 0, 0);
    fmp4_put_u32(b, seq);
    fmp4_box_end(b, mfhd);

    size_t offset_pos[REC_MAX_TRACKS];
    size_t run_bytes[REC_MAX_TRACKS];
    size_t n_patch = 0;
    for (size_t r = 0; r < n_runs; r++) {
        const struct fmp4_run *run = &runs[r];
        if (!run->n)
            continue;
        horus_assert(n_patch < REC_MAX_TRACKS);
        size_t traf = fmp4_box_begin(b, "traf");
        size_t tfhd = fmp4_fullbox_begin(b, "tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF);
        fmp4_put_u32(b, run->track_id);
        fmp4_box_end(b, tfhd);
        size_t tfdt = fmp4_fullbox_begin(b, "tfdt", 1, 0);
        fmp4_put_u64(b, run->base_dts);
        fmp4_box_end(b, tfdt);

        bool has_cts = false;
        size_t bytes = 0;
        for (size_t i = 0; i < run->n; i++) {
            has_cts |= run->samples[i].cts_offset != 0;
            bytes += run->samples[i].size;
        }
        uint32_t flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS;
        if (has_cts)
            flags |= TRUN_CTS;
        size_t trun = fmp4_fullbox_begin(b, "trun", 1, flags); /* v1: signed offsets */
        fmp4_put_u32(b, (uint32_t)run->n);
        offset_pos[n_patch] = b->len;
        run_bytes[n_patch++] = bytes;
        fmp4_put_u32(b, 0); /* data_offset, patched below */
        for (size_t i = 0; i < run->n; i++) {
            const struct fmp4_sample *s = &run->samples[i];
            fmp4_put_u32(b, s->duration);
            fmp4_put_u32(b, s->size);
            fmp4_put_u32(b, s->is_sync ? FMP4_FLAGS_SYNC : FMP4_FLAGS_NON_SYNC);
            if (has_cts)
                fmp4_put_u32(b, (uint32_t)s->cts_offset);
        }
        fmp4_box_end(b, trun);
        fmp4_box_end(b, traf);
    }
    fmp4_box_end(b, moof);

    /* data_offset is relative to the moof start (default-base-is-moof). */
    size_t data = b->len - moof_start + 8, payload = 0;
    for (size_t i = 0; i < n_patch; i++) {
        uint8_t *p = b->data + offset_pos[i];
        size_t off = data + payload;
        horus_assert(off <= INT32_MAX);
        p[0] = (uint8_t)(off >> 24);
        p[1] = (uint8_t)(off >> 16);
        p[2] = (uint8_t)(off >> 8);
        p[3] = (uint8_t)off;
        payload += run_bytes[i];
    }
    horus_assert(payload + 8 <= UINT32_MAX);
    fmp4_put_u32(b, (uint32_t)(payload + 8));
    fmp4_put_bytes(b, "mdat", 4);
    return payload;
}
