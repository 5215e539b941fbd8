/*
 * DESIGN: MP4A-LATM audio (RFC 6416, ISO/IEC 14496-3 1.7.3), as
 * GStreamer's rtpmp4apay and many cameras send it, turned into raw AAC
 * frames (docs/design/0031-mp4a-latm.md).
 *
 * Configuration: only out of band (fmtp cpresent=0 with config=<hex
 * StreamMuxConfig>). ing_latm_config_parse takes audioMuxVersion 0, one
 * program, one layer, allStreamsSameTimeFraming 1 and frameLengthType 0
 * (PayloadLengthInfo in 255-escaped bytes); anything else is refused with
 * a sentence naming the feature. Its AudioSpecificConfig is walked to know
 * where it ends (AAC object types 1-4, 6, 7, explicit SBR/PS 5 and 29, and
 * the backward-compatible 0x2b7 SBR/PS extension) and copied out
 * byte-aligned: that is the track's extradata. When what follows does not
 * parse there, it is tried again after the zero padding of the ASC's last
 * byte: GStreamer's rtpmp4apay copies the encoder's ASC as whole bytes.
 *
 * Payload: an RTP packet carries one or more AudioMuxElements, or one
 * fragment of an element; the marker bit ends an element. Each element is
 * numSubFrames + 1 times PayloadLengthInfo + PayloadMux, then otherData
 * bits, then byte alignment. A packet with the marker and no fragment in
 * progress is parsed in place; fragments are gathered in one buffer owned
 * by the depacketiser that grows to the largest element and is kept (no
 * per-packet allocation). A loss drops the element in progress and every
 * packet up to and including the next marker (a lost first fragment would
 * leave fragments that can read as a plausible element: garbage audio is
 * worse than one more missing frame). A timestamp change before the marker
 * ends the element (taken only when it parses whole: some senders never
 * set the marker); an element that overruns its bytes, or one over
 * LATM_GATHER_MAX, is dropped. Every drop is counted. Frames of a packet
 * are stamped rtp_ts + i * frame_samples.
 *
 * Pure logic, no I/O or logging. Thread: the owner's only.
 */
#include "rtsp_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LATM_GATHER_MAX (256 * 1024) /* bytes of one fragmented AudioMuxElement */

struct latm_bits {
    const uint8_t *p;
    size_t n; /* bytes */
    size_t pos; /* bits read */
    bool overrun;
};

static uint32_t latm_read(struct latm_bits *b, unsigned count)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < count; i++) {
        if (b->pos >= b->n * 8) {
            b->overrun = true;
            return 0;
        }
        v = v << 1 | ((b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1);
        b->pos++;
    }
    return v;
}

/* GASpecificConfig (14496-3 4.4.1) for object types 1-4, 6, 7. */
static void ga_specific_skip(struct latm_bits *b, unsigned aot)
{
    latm_read(b, 1); /* frameLengthFlag */
    if (latm_read(b, 1)) /* dependsOnCoreCoder */
        latm_read(b, 14); /* coreCoderDelay */
    bool has_extension = latm_read(b, 1);
    if (aot == 6 || aot == 20)
        latm_read(b, 3); /* layerNr */
    if (has_extension)
        latm_read(b, 1); /* extensionFlag3 */
}

static unsigned aot_read(struct latm_bits *b)
{
    unsigned aot = latm_read(b, 5);
    return aot == 31 ? 32 + latm_read(b, 6) : aot;
}

/* The next count bits without reading them; UINT32_MAX when there are fewer. */
static uint32_t latm_peek(const struct latm_bits *b, unsigned count)
{
    struct latm_bits c = *b;
    uint32_t v = latm_read(&c, count);
    return c.overrun ? UINT32_MAX : v;
}

/*
 * Backward-compatible SBR/PS signalling (syncExtensionType 0x2b7) after
 * the GASpecificConfig, as libavcodec's AAC encoder writes it and payloaders
 * copy it into the StreamMuxConfig. frameLengthType 0 starts with bits 000,
 * never 010 1011 0111, so it cannot be mistaken for one.
 */
static void sync_extension_skip(struct latm_bits *b)
{
    latm_read(b, 11);
    if (aot_read(b) != 5) {
        b->overrun = true; /* ER BSAC and others: not AAC we record */
        return;
    }
    if (!latm_read(b, 1)) /* sbrPresentFlag */
        return;
    if (latm_read(b, 4) == 15)
        latm_read(b, 24);
    if (latm_peek(b, 11) == 0x548) {
        latm_read(b, 11);
        latm_read(b, 1); /* psPresentFlag */
    }
}

static bool is_ga(unsigned aot)
{
    return aot == 1 || aot == 2 || aot == 3 || aot == 4 || aot == 6 || aot == 7;
}

/*
 * Walks an AudioSpecificConfig from b's position to its end. Returns 0 with
 * the core sampling rate, or -ENOTSUP (why set) or HORUS_EPARSE.
 */
static int asc_walk(struct latm_bits *b, uint32_t *rate, const char **why)
{
    static const uint32_t rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};
    unsigned aot = aot_read(b);
    unsigned idx = latm_read(b, 4);
    uint32_t r = idx == 15 ? latm_read(b, 24) : (idx < 13 ? rates[idx] : 0);
    unsigned channels = latm_read(b, 4);
    bool is_explicit_sbr = aot == 5 || aot == 29;
    if (is_explicit_sbr) { /* explicit SBR / PS: the extension rate, then the core */
        unsigned ext = latm_read(b, 4);
        if (ext == 15)
            latm_read(b, 24);
        aot = aot_read(b);
    }
    if (b->overrun || r == 0)
        return HORUS_EPARSE;
    if (!is_ga(aot)) {
        *why = "an AudioSpecificConfig of an object type other than AAC is not supported";
        return -ENOTSUP;
    }
    if (channels == 0) {
        *why = "channelConfiguration 0 (a program_config_element) is not supported";
        return -ENOTSUP;
    }
    ga_specific_skip(b, aot);
    if (!is_explicit_sbr && latm_peek(b, 11) == 0x2b7)
        sync_extension_skip(b);
    if (b->overrun)
        return HORUS_EPARSE;
    *rate = r;
    return 0;
}

/* What follows the ASC: frameLengthType 0 and its buffer fullness, other data, CRC. */
static int tail_parse(struct latm_bits *b, uint32_t *other_bits, const char **why)
{
    unsigned frame_length_type = latm_read(b, 3);
    if (frame_length_type != 0) {
        *why = "a fixed frameLengthType (CELP, HVXC or fixed-size AAC) is not supported";
        return b->overrun ? HORUS_EPARSE : -ENOTSUP;
    }
    latm_read(b, 8); /* latmBufferFullness */
    *other_bits = 0;
    if (latm_read(b, 1)) { /* otherDataPresent */
        bool esc;
        unsigned rounds = 0;
        do {
            esc = latm_read(b, 1);
            *other_bits = *other_bits << 8 | latm_read(b, 8);
        } while (esc && ++rounds < 3 && !b->overrun);
        if (esc) {
            *why = "otherDataLenBits is too large";
            return HORUS_EPARSE;
        }
    }
    if (latm_read(b, 1)) /* crcCheckPresent */
        latm_read(b, 8);
    if (b->overrun) {
        *why = "the StreamMuxConfig cannot be parsed";
        return HORUS_EPARSE;
    }
    return 0;
}

/*
 * Whether the config ends after the ASC with less than a tail's 13 bits
 * (frameLengthType, latmBufferFullness, otherDataPresent, crcCheckPresent),
 * all of them zero: the byte padding of a config that left the tail out.
 */
static bool tail_is_absent(const struct latm_bits *after_asc)
{
    struct latm_bits b = *after_asc;
    size_t left = b.n * 8 > b.pos ? b.n * 8 - b.pos : 0;
    if (left >= 13)
        return false;
    return left == 0 || (latm_read(&b, (unsigned)left) == 0 && !b.overrun);
}

int ing_latm_config_parse(const uint8_t *cfg, size_t n, struct ing_latm_config *out,
                          const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = "the StreamMuxConfig cannot be parsed";
    struct latm_bits b = {cfg, n, 0, false};
    if (latm_read(&b, 1)) { /* audioMuxVersion */
        *why = "audioMuxVersion 1 is not supported";
        return b.overrun ? HORUS_EPARSE : -ENOTSUP;
    }
    unsigned same_framing = latm_read(&b, 1);
    unsigned subframes = latm_read(&b, 6) + 1;
    unsigned programs = latm_read(&b, 4) + 1;
    unsigned layers = latm_read(&b, 3) + 1;
    if (b.overrun)
        return HORUS_EPARSE;
    if (programs != 1 || layers != 1) {
        *why = "several programs or layers are not supported";
        return -ENOTSUP;
    }
    if (!same_framing) {
        *why = "allStreamsSameTimeFraming 0 is not supported";
        return -ENOTSUP;
    }
    size_t asc_start = b.pos;
    uint32_t rate = 0;
    int rc = asc_walk(&b, &rate, why);
    if (rc < 0)
        return rc;
    size_t asc_bits = b.pos - asc_start;
    if ((asc_bits + 7) / 8 > sizeof(out->asc))
        return HORUS_EPARSE;
    uint32_t other_bits = 0;
    struct latm_bits tail = b;
    rc = tail_parse(&tail, &other_bits, why);
    if (rc < 0 && asc_bits % 8) {
        /*
         * Payloaders that copy the encoder's ASC as whole bytes (GStreamer's
         * rtpmp4apay, camsim) leave its zero padding in: try after it.
         */
        unsigned pad = 8 - asc_bits % 8;
        struct latm_bits padded = b;
        const char *why2 = NULL;
        uint32_t other2 = 0;
        if (latm_read(&padded, pad) == 0 && !padded.overrun &&
            tail_parse(&padded, &other2, &why2) == 0) {
            rc = 0;
            other_bits = other2;
        }
    }
    if (rc < 0 && tail_is_absent(&b)) {
        /*
         * GStreamer's rtpmp4apay ends the config right after the ASC's byte
         * padding, without frameLengthType, buffer fullness and the two
         * flags: read that as what every AAC payloader means (type 0, no
         * other data, no CRC), as libavformat does.
         */
        rc = 0;
        other_bits = 0;
    }
    if (rc < 0)
        return rc;
    /* Copy the AudioSpecificConfig out, byte-aligned and zero-padded. */
    struct latm_bits a = {cfg, n, asc_start, false};
    size_t left = asc_bits;
    while (left > 0) {
        unsigned take = left < 8 ? (unsigned)left : 8;
        out->asc[out->asc_len++] = (uint8_t)(latm_read(&a, take) << (8 - take));
        left -= take;
    }
    out->subframes = subframes;
    out->other_bits = other_bits;
    out->sample_rate = rate;
    *why = NULL;
    return 0;
}

/* ---- payload ---- */

/*
 * Parses the AudioMuxElements in p[0..n) and, when every one is whole,
 * hands their frames to the owner. Returns false (nothing emitted) when
 * they are not.
 */
static bool latm_elements(struct ing_depack *d, const uint8_t *p, size_t n, uint32_t ts)
{
    /* Pass 1 checks, pass 2 emits: a damaged packet emits nothing. */
    for (int pass = 0; pass < 2; pass++) {
        size_t pos = 0;
        uint32_t frame = 0;
        while (pos < n) {
            for (unsigned sf = 0; sf < d->latm_subframes; sf++) {
                size_t len = 0;
                uint8_t v;
                do {
                    if (pos >= n)
                        return false;
                    v = p[pos++];
                    len += v;
                } while (v == 0xff);
                if (len > n - pos)
                    return false;
                if (pass == 1) {
                    if (len == 0 || !d->stream) {
                        d->dropped_units++;
                    } else {
                        media_packet *au = media_packet_new(d->stream, len);
                        memcpy(au->data, p + pos, len);
                        au->is_keyframe = true;
                        d->au_cb(d->arg, au, ts + frame * d->frame_samples);
                    }
                }
                frame++;
                pos += len;
            }
            size_t other = (d->latm_other_bits + 7) / 8;
            if (other > n - pos)
                return false;
            pos += other;
        }
    }
    return true;
}

static void latm_gather_drop(struct ing_depack *d)
{
    if (!d->latm_in)
        return;
    d->latm_in = false;
    d->latm_len = 0;
    d->dropped_units++;
}

static void latm_parse(struct ing_depack *d, const uint8_t *p, size_t n, uint32_t ts)
{
    if (!latm_elements(d, p, n, ts)) {
        d->bad_packets++;
        d->dropped_units++;
    }
}

void ing_depack_latm_push(struct ing_depack *d, const struct rtp_packet *rtp, bool is_loss)
{
    if (is_loss) {
        /*
         * A piece of the element in progress is gone, or the start of one
         * whose fragments follow: what comes up to the next marker is not
         * parsed, for a fragment could read as a plausible element.
         */
        if (d->latm_in)
            latm_gather_drop(d);
        else
            d->dropped_units++;
        d->latm_skip = true;
    }
    if (d->latm_skip) {
        if (rtp->marker)
            d->latm_skip = false;
        return;
    }
    if (d->latm_in && rtp->timestamp != d->latm_ts) {
        /* No marker ended it: take it if it is whole, as senders that never set it do. */
        d->latm_in = false;
        latm_parse(d, d->latm_buf, d->latm_len, d->latm_ts);
        d->latm_len = 0;
    }
    if (!d->latm_in && rtp->marker) {
        if (rtp->payload_len > 0)
            latm_parse(d, rtp->payload, rtp->payload_len, rtp->timestamp);
        return;
    }
    if (!d->latm_in) {
        d->latm_in = true;
        d->latm_ts = rtp->timestamp;
        d->latm_len = 0;
    }
    if (rtp->payload_len > LATM_GATHER_MAX - d->latm_len) {
        d->bad_packets++;
        latm_gather_drop(d);
        return;
    }
    if (d->latm_len + rtp->payload_len > d->latm_cap) {
        size_t cap = d->latm_cap ? d->latm_cap * 2 : 4096;
        while (cap < d->latm_len + rtp->payload_len)
            cap *= 2;
        d->latm_buf = horus_realloc(d->latm_buf, cap);
        d->latm_cap = cap;
    }
    if (rtp->payload_len)
        memcpy(d->latm_buf + d->latm_len, rtp->payload, rtp->payload_len);
    d->latm_len += rtp->payload_len;
    if (rtp->marker) {
        d->latm_in = false;
        latm_parse(d, d->latm_buf, d->latm_len, d->latm_ts);
        d->latm_len = 0;
    }
}
