/*
 * DESIGN: the part of an SDP (RFC 8866) a camera's DESCRIBE reply needs:
 * each m= section's kind and payload type, its rtpmap (H264, H265/HEVC,
 * MPEG4-GENERIC), its fmtp (sprop-parameter-sets, sprop-vps/sps/pps,
 * profile-level-id, packetization-mode, and for RFC 3640 audio config,
 * mode, sizeLength, indexLength, indexDeltaLength; for MP4A-LATM, RFC
 * 6416, cpresent and config, whose StreamMuxConfig rtsp_latm.c turns into
 * the AudioSpecificConfig) and its control URL
 * resolved to an absolute one. Parameter sets are decoded straight into
 * an ing_param_sets, the same struct in-band sets update later.
 *
 * A media section whose format we do not take keeps MEDIA_CODEC_NONE with
 * what it offered (encoding) and why it is refused (refusal), which the
 * stream reports; the session decides what to set up. Pure logic, no allocation. Thread: any.
 */
#include "rtsp_int.h"

#include "err.h"
#include "hex.h"

#include <libavutil/base64.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PT_MAX 8 /* formats remembered per m= line */

struct media_state {
    int pts[PT_MAX];
    unsigned npts;
    const char *fmtp[PT_MAX]; /* borrowed line text after "a=fmtp:" */
    size_t fmtp_len[PT_MAX];
    int fmtp_pt[PT_MAX];
    unsigned nfmtp;
    bool has_control;
    char control[ING_RTSP_URL_MAX];
    bool is_hbr;
    bool is_latm;
    int cpresent; /* MP4A-LATM; RFC 6416's default is 1 (configuration in band) */
    bool is_other; /* neither video nor audio */
};

static bool has_pt(const struct media_state *m, int pt)
{
    for (unsigned i = 0; i < m->npts; i++)
        if (m->pts[i] == pt)
            return true;
    return false;
}

static long parse_num(const char *s, size_t n, int base, long max)
{
    if (n == 0)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = horus_hex_value(s[i]);
        if (d < 0 || d >= base)
            return -1;
        v = v * base + d;
        if (v > max)
            return -1;
    }
    return v;
}

/* Decodes base64 NAL units separated by commas into ps. */
static void sprop_add(struct ing_param_sets *ps, const char *v, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t end = pos;
        while (end < n && v[end] != ',')
            end++;
        char b64[1024];
        size_t len = end - pos;
        if (len > 0 && len < sizeof(b64)) {
            memcpy(b64, v + pos, len);
            b64[len] = '\0';
            uint8_t nal[ING_PS_MAX_SIZE];
            int got = av_base64_decode(nal, b64, sizeof(nal));
            if (got > 0) {
                struct ing_nal u = {nal, (size_t)got};
                int kind = media_nal_ps_kind(ps->codec, media_nal_type(ps->codec, u.data, u.size));
                if (kind >= 0)
                    ing_param_sets_update(ps, (enum ing_ps_kind)kind, &u);
            }
        }
        pos = end + 1;
    }
}

static void fmtp_param(struct ing_sdp_media *md, struct media_state *st, const char *key,
                       size_t klen, const char *v, size_t vlen)
{
#define KEY_IS(k) (klen == sizeof(k) - 1 && strncasecmp(key, k, klen) == 0)
    if (md->codec == MEDIA_CODEC_H264 || md->codec == MEDIA_CODEC_H265) {
        if (KEY_IS("sprop-parameter-sets") || KEY_IS("sprop-vps") || KEY_IS("sprop-sps") ||
            KEY_IS("sprop-pps"))
            sprop_add(&md->ps, v, vlen);
        else if (KEY_IS("profile-level-id") && md->codec == MEDIA_CODEC_H264) {
            long p = parse_num(v, vlen, 16, 0xffffff);
            if (p >= 0 && vlen == 6) {
                md->profile_level_id = (uint32_t)p;
                md->has_profile_level_id = true;
            }
        } else if (KEY_IS("packetization-mode")) {
            long p = parse_num(v, vlen, 10, 2);
            if (p >= 0)
                md->packetization_mode = (int)p;
        }
        return;
    }
    if (md->codec != MEDIA_CODEC_AAC)
        return;
    if (KEY_IS("config")) {
        md->config_len = 0;
        if (vlen % 2 || vlen / 2 > sizeof(md->config))
            return;
        for (size_t i = 0; i < vlen; i += 2) {
            long b = parse_num(v + i, 2, 16, 255);
            if (b < 0) {
                md->config_len = 0;
                return;
            }
            md->config[md->config_len++] = (uint8_t)b;
        }
    } else if (KEY_IS("cpresent")) {
        st->cpresent = (int)parse_num(v, vlen, 10, 1);
    } else if (KEY_IS("mode")) {
        st->is_hbr = (vlen == 7 && strncasecmp(v, "AAC-hbr", 7) == 0) ||
                     (vlen == 7 && strncasecmp(v, "AAC-lbr", 7) == 0);
    } else if (KEY_IS("sizelength")) {
        long n = parse_num(v, vlen, 10, 32);
        md->size_length = n > 0 ? (unsigned)n : 0;
    } else if (KEY_IS("indexlength")) {
        long n = parse_num(v, vlen, 10, 32);
        md->index_length = n >= 0 ? (unsigned)n : 0;
    } else if (KEY_IS("indexdeltalength")) {
        long n = parse_num(v, vlen, 10, 32);
        md->index_delta_length = n >= 0 ? (unsigned)n : 0;
    }
#undef KEY_IS
}

static void fmtp_apply(struct ing_sdp_media *md, struct media_state *st, const char *p, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t end = pos;
        while (end < n && p[end] != ';')
            end++;
        size_t a = pos, b = end;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
            b--;
        const char *eq = memchr(p + a, '=', b - a);
        if (eq) {
            size_t klen = (size_t)(eq - (p + a));
            while (klen > 0 && p[a + klen - 1] == ' ')
                klen--;
            const char *v = eq + 1;
            size_t vlen = (size_t)(p + b - v);
            while (vlen > 0 && *v == ' ') {
                v++;
                vlen--;
            }
            fmtp_param(md, st, p + a, klen, v, vlen);
        }
        pos = end + 1;
    }
}

/* Remembers what a section offered (for a refusal), in characters safe to log. */
static void encoding_set(struct ing_sdp_media *md, const char *p, size_t n)
{
    if (md->encoding[0] || md->codec != MEDIA_CODEC_NONE)
        return;
    size_t len = 0;
    while (len < n && len + 1 < sizeof(md->encoding) && p[len] != ' ') {
        char c = p[len];
        md->encoding[len] = isalnum((unsigned char)c) || strchr("/._-+", c) ? c : '?';
        len++;
    }
    md->encoding[len] = '\0';
}

/* Reads "a=rtpmap:PT NAME/RATE[/CHANNELS]" for media md. */
static void rtpmap_apply(struct ing_sdp_media *md, struct media_state *st, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && isdigit((unsigned char)p[i]))
        i++;
    long pt = parse_num(p, i, 10, 127);
    if (pt < 0 || st->is_other || !has_pt(st, (int)pt) || md->codec != MEDIA_CODEC_NONE)
        return;
    while (i < n && p[i] == ' ')
        i++;
    const char *name = p + i;
    size_t nlen = 0;
    while (i + nlen < n && name[nlen] != '/')
        nlen++;
    encoding_set(md, name, n - i);
    enum media_codec codec = MEDIA_CODEC_NONE;
    if (md->kind == MEDIA_KIND_VIDEO && nlen == 4 && strncasecmp(name, "H264", 4) == 0)
        codec = MEDIA_CODEC_H264;
    else if (md->kind == MEDIA_KIND_VIDEO && ((nlen == 4 && strncasecmp(name, "H265", 4) == 0) ||
                                              (nlen == 4 && strncasecmp(name, "HEVC", 4) == 0)))
        codec = MEDIA_CODEC_H265;
    else if (md->kind == MEDIA_KIND_AUDIO && nlen == 13 &&
             strncasecmp(name, "MPEG4-GENERIC", 13) == 0)
        codec = MEDIA_CODEC_AAC;
    else if (md->kind == MEDIA_KIND_AUDIO && nlen == 9 && strncasecmp(name, "MP4A-LATM", 9) == 0)
        codec = MEDIA_CODEC_AAC;
    else if (md->kind == MEDIA_KIND_AUDIO && nlen == 4 && strncasecmp(name, "PCMU", 4) == 0)
        codec = MEDIA_CODEC_PCMU;
    else if (md->kind == MEDIA_KIND_AUDIO && nlen == 4 && strncasecmp(name, "PCMA", 4) == 0)
        codec = MEDIA_CODEC_PCMA;
    if (codec == MEDIA_CODEC_NONE)
        return;
    i += nlen;
    if (i >= n || p[i] != '/')
        return;
    i++;
    size_t r = 0;
    while (i + r < n && isdigit((unsigned char)p[i + r]))
        r++;
    long rate = parse_num(p + i, r, 10, 10000000);
    if (rate <= 0)
        return;
    i += r;
    long channels = 1;
    if (i < n && p[i] == '/') {
        size_t c = 0;
        while (i + 1 + c < n && isdigit((unsigned char)p[i + 1 + c]))
            c++;
        channels = parse_num(p + i + 1, c, 10, 64);
        if (channels <= 0)
            channels = 1;
    }
    md->codec = codec;
    st->is_latm = nlen == 9 && strncasecmp(name, "MP4A-LATM", 9) == 0;
    st->cpresent = 1;
    md->payload_type = (int)pt;
    md->clock_rate = (uint32_t)rate;
    md->channels = (unsigned)channels;
    md->ps.codec = codec;
}

/* Reads "m=KIND PORT PROTO FMT...". */
static void media_begin(struct ing_sdp_media *md, struct media_state *st, const char *p, size_t n)
{
    memset(md, 0, sizeof(*md));
    memset(st, 0, sizeof(*st));
    md->kind = n >= 5 && strncmp(p, "video", 5) == 0 ? MEDIA_KIND_VIDEO : MEDIA_KIND_AUDIO;
    st->is_other = !(n >= 5 && (strncmp(p, "video", 5) == 0 || strncmp(p, "audio", 5) == 0));
    /* Skip kind, port and protocol; the rest are formats. */
    size_t i = 0;
    for (int field = 0; field < 3; field++) {
        while (i < n && p[i] != ' ')
            i++;
        while (i < n && p[i] == ' ')
            i++;
    }
    while (i < n && st->npts < PT_MAX) {
        size_t f = 0;
        while (i + f < n && p[i + f] != ' ')
            f++;
        long pt = parse_num(p + i, f, 10, 127);
        if (pt >= 0)
            st->pts[st->npts++] = (int)pt;
        i += f;
        while (i < n && p[i] == ' ')
            i++;
    }
}

/* MP4A-LATM: the StreamMuxConfig in md->config becomes the AudioSpecificConfig. */
static void latm_end(struct ing_sdp_media *md, struct media_state *st)
{
    struct ing_latm_config lc;
    const char *why = NULL;
    md->codec = MEDIA_CODEC_NONE;
    if (st->cpresent != 0) {
        md->refusal = "cpresent=1 (the StreamMuxConfig in band) is not supported";
        return;
    }
    if (md->config_len == 0) {
        md->refusal = "has no config= (StreamMuxConfig)";
        return;
    }
    if (ing_latm_config_parse(md->config, md->config_len, &lc, &why) < 0) {
        md->refusal = why;
        return;
    }
    memcpy(md->config, lc.asc, lc.asc_len);
    md->config_len = lc.asc_len;
    md->codec = MEDIA_CODEC_AAC;
    md->is_latm = true;
    md->latm_subframes = lc.subframes;
    md->latm_other_bits = lc.other_bits;
    md->frame_ticks =
        (uint32_t)(((uint64_t)md->clock_rate * 1024 + lc.sample_rate / 2) / lc.sample_rate);
}

static int media_end(struct ing_sdp_media *md, struct media_state *st, const char *base)
{
    /* RFC 3551's static G.711 payload types need no rtpmap line. */
    for (unsigned i = 0; i < st->npts && md->codec == MEDIA_CODEC_NONE; i++) {
        if (md->kind != MEDIA_KIND_AUDIO || st->is_other || (st->pts[i] != 0 && st->pts[i] != 8))
            continue;
        encoding_set(md, st->pts[i] == 0 ? "PCMU/8000" : "PCMA/8000", 9);
        md->codec = st->pts[i] == 0 ? MEDIA_CODEC_PCMU : MEDIA_CODEC_PCMA;
        md->payload_type = st->pts[i];
        md->clock_rate = 8000;
        md->channels = 1;
    }
    for (unsigned i = 0; i < st->nfmtp && md->codec != MEDIA_CODEC_NONE; i++)
        if (st->fmtp_pt[i] == md->payload_type)
            fmtp_apply(md, st, st->fmtp[i], st->fmtp_len[i]);
    if (md->codec == MEDIA_CODEC_AAC && st->is_latm) {
        latm_end(md, st);
    } else if (md->codec == MEDIA_CODEC_AAC && (!st->is_hbr || md->config_len == 0 ||
                                                md->size_length == 0 || md->size_length > 16)) {
        md->codec = MEDIA_CODEC_NONE; /* only AAC-hbr/lbr with an AudioSpecificConfig */
        md->refusal = "only mode=AAC-hbr or AAC-lbr with config and sizeLength is supported";
    }
    if (md->codec == MEDIA_CODEC_H264 && md->packetization_mode == 2) {
        md->codec = MEDIA_CODEC_NONE; /* interleaved mode needs UDP-era reordering */
        md->refusal = "packetization-mode 2 (interleaved) is not supported";
    }
    if (md->codec == MEDIA_CODEC_NONE && !st->is_other) {
        if (!md->encoding[0] && st->npts > 0)
            snprintf(md->encoding, sizeof(md->encoding), "payload type %d", st->pts[0]);
        if (!md->refusal)
            md->refusal = "is not a format Horus takes (H.264, H.265, AAC, G.711)";
    }
    return ing_rtsp_url_resolve(base, st->has_control ? st->control : "", md->control,
                                sizeof(md->control)) < 0
               ? HORUS_EPARSE
               : 0;
}

int ing_sdp_parse(const char *text, size_t len, const char *base, struct ing_sdp *out)
{
    memset(out, 0, sizeof(*out));
    char session_base[ING_RTSP_URL_MAX];
    snprintf(session_base, sizeof(session_base), "%s", base);
    struct media_state st;
    struct ing_sdp_media *md = NULL;
    bool has_version = false;
    size_t pos = 0;
    while (pos < len) {
        size_t eol = pos;
        while (eol < len && text[eol] != '\n')
            eol++;
        size_t n = eol - pos;
        const char *line = text + pos;
        pos = eol + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n < 2 || line[1] != '=')
            continue; /* blank or broken lines are skipped, as cameras send both */
        if (memchr(line, '\0', n))
            return HORUS_EPARSE;
        char type = line[0];
        const char *v = line + 2;
        size_t vn = n - 2;
        if (type == 'v') {
            has_version = true;
        } else if (type == 'm') {
            if (md && media_end(md, &st, session_base) < 0)
                return HORUS_EPARSE;
            if (out->nmedia == ING_SDP_MAX_MEDIA) {
                md = NULL;
                break;
            }
            md = &out->media[out->nmedia++];
            media_begin(md, &st, v, vn);
        } else if (type == 'a' && vn > 8 && strncmp(v, "control:", 8) == 0) {
            char control[ING_RTSP_URL_MAX];
            if (vn - 8 >= sizeof(control))
                return HORUS_EPARSE;
            memcpy(control, v + 8, vn - 8);
            control[vn - 8] = '\0';
            if (md) {
                snprintf(st.control, sizeof(st.control), "%s", control);
                st.has_control = true;
            } else if (ing_rtsp_url_resolve(base, control, session_base, sizeof(session_base)) <
                       0) {
                return HORUS_EPARSE;
            }
        } else if (md && type == 'a' && vn > 7 && strncmp(v, "rtpmap:", 7) == 0) {
            rtpmap_apply(md, &st, v + 7, vn - 7);
        } else if (md && type == 'a' && vn > 5 && strncmp(v, "fmtp:", 5) == 0 &&
                   st.nfmtp < PT_MAX) {
            size_t i = 5;
            while (i < vn && isdigit((unsigned char)v[i]))
                i++;
            long pt = parse_num(v + 5, i - 5, 10, 127);
            while (i < vn && v[i] == ' ')
                i++;
            if (pt >= 0) {
                st.fmtp_pt[st.nfmtp] = (int)pt;
                st.fmtp[st.nfmtp] = v + i;
                st.fmtp_len[st.nfmtp] = vn - i;
                st.nfmtp++;
            }
        }
    }
    if (md && media_end(md, &st, session_base) < 0)
        return HORUS_EPARSE;
    snprintf(out->control, sizeof(out->control), "%s", session_base);
    return has_version || out->nmedia > 0 ? 0 : HORUS_EPARSE;
}
