/*
 * DESIGN: the WHEP offer parser and answer writer (docs/design/0055).
 * The parser reads the subset of SDP a browser's offer needs: the m-lines
 * (each answered, in order), and for the first video m-line with a port
 * its ICE credentials, DTLS fingerprint and setup role, direction,
 * rtcp-mux and H.264 and H.265 formats (rtpmap + fmtp, in any order); for the first
 * audio m-line its Opus payload type and direction (its transport is the
 * video's: BUNDLE; one of port 0 counts when it says a=bundle-only, as
 * GStreamer's max-bundle offers do, RFC 8843 6). Session-level ICE and fingerprint attributes apply
 * when the video line has none.
 * Every error names the line and the problem, since it goes back to the
 * client as the 400's message. Pure; Thread: any.
 */
#include "sdp_int.h"

#include "err.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fmtp parameters seen on the video line, by payload type */
struct fmtp_entry {
    uint8_t pt;
    int packetization_mode;
    bool has_profile;
    uint8_t profile[3];
    int h265_profile_id, h265_tier_flag, h265_level_id, h265_tx_mode; /* as webrtc_sdp_h265 */
};

/* The ICE/DTLS attributes of one level (session, or the video m-line). */
struct level_attrs {
    char ufrag[257];
    char pwd[257];
    char fp_alg[16];
    uint8_t fp[64];
    size_t fp_len;
    char setup[10];
};

struct parser {
    struct webrtc_sdp_offer *out;
    char *err;
    size_t errsize;
    int line_no;
    int cur_media; /* -1: session level */
    struct level_attrs session, video;
    int direction; /* 0 sendrecv (default), 1 recvonly, 2 sendonly, 3 inactive */
    int direction_line;
    /* the video m-line's payload types, in order */
    uint8_t fmts[64];
    size_t n_fmts;
    uint8_t h264_pts[WEBRTC_SDP_MAX_H264];
    size_t n_h264_pts;
    uint8_t h265_pts[WEBRTC_SDP_MAX_H265];
    size_t n_h265_pts;
    struct fmtp_entry fmtp[64];
    size_t n_fmtp;
    /* the first audio m-line's payload types and direction */
    uint8_t audio_fmts[64];
    size_t n_audio_fmts;
    int audio_direction;
    /* That audio line has port 0: usable only with a=bundle-only (RFC 8843 6). */
    bool audio_port0, audio_bundle_only;
};

/* An audio line of port 0 that did not say a=bundle-only is a rejected one: forgotten. */
static void drop_port0_audio(struct parser *p)
{
    if (!p->audio_port0 || p->audio_bundle_only)
        return;
    p->out->audio_index = -1;
    p->out->opus_pt = 0;
    p->out->has_pcmu = p->out->has_pcma = false;
    p->n_audio_fmts = 0;
    p->audio_direction = 0;
    p->audio_port0 = false;
}

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
    if (p->errsize > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errsize, fmt, ap);
        va_end(ap);
    }
    return HORUS_EPARSE;
}

static bool in_video(const struct parser *p)
{
    return p->cur_media >= 0 && p->cur_media == p->out->video_index;
}

/* Copies the first token of s (up to a space or the end) into dst; false when it does not fit. */
static bool copy_token(char *dst, size_t cap, const char **s)
{
    size_t n = strcspn(*s, " ");
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, *s, n);
    dst[n] = '\0';
    *s += n;
    while (**s == ' ')
        (*s)++;
    return true;
}

static bool parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The payload types of an m-line: the first in first, the rest in rest. */
static void read_formats(const char *first, const char *rest, uint8_t *fmts, size_t *n, size_t cap)
{
    const char *f = first;
    for (;;) {
        uint32_t pt;
        size_t fl = strcspn(f, " ");
        if (parse_u32(f, fl, 127, &pt) && *n < cap)
            fmts[(*n)++] = (uint8_t)pt;
        if (f == first)
            f = rest;
        else
            f += fl;
        while (*f == ' ')
            f++;
        if (*f == '\0')
            break;
    }
}

static int parse_m(struct parser *p, const char *v)
{
    struct webrtc_sdp_offer *o = p->out;
    if (o->n_media >= WEBRTC_SDP_MAX_MEDIA)
        return fail(p, "line %d: more than %d m= lines", p->line_no, WEBRTC_SDP_MAX_MEDIA);
    struct webrtc_sdp_media *m = &o->media[o->n_media];
    memset(m, 0, sizeof(*m));
    if (!copy_token(m->kind, sizeof(m->kind), &v))
        return fail(p, "line %d: m= line has no media type", p->line_no);
    size_t n = strcspn(v, " /");
    uint32_t port;
    if (!parse_u32(v, n, 65535, &port))
        return fail(p, "line %d: m= line has no port", p->line_no);
    v += n;
    if (*v == '/') { /* port/count */
        v++;
        v += strspn(v, "0123456789");
    }
    while (*v == ' ')
        v++;
    if (!copy_token(m->proto, sizeof(m->proto), &v))
        return fail(p, "line %d: m= line has no protocol", p->line_no);
    if (!copy_token(m->first_fmt, sizeof(m->first_fmt), &v))
        return fail(p, "line %d: m= line has no format", p->line_no);
    drop_port0_audio(p);
    p->cur_media = (int)o->n_media;
    o->n_media++;
    bool savpf = strcmp(m->proto, "UDP/TLS/RTP/SAVPF") == 0;
    if (o->audio_index < 0 && savpf && strcmp(m->kind, "audio") == 0) {
        o->audio_index = p->cur_media;
        p->audio_port0 = port == 0;
        read_formats(m->first_fmt, v, p->audio_fmts, &p->n_audio_fmts,
                     HORUS_ARRAY_LEN(p->audio_fmts));
        return 0;
    }
    if (o->video_index >= 0 || strcmp(m->kind, "video") != 0 || port == 0)
        return 0;
    if (strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0 && strcmp(m->proto, "UDP/TLS/RTP/SAVP") != 0)
        return fail(p, "line %d: video m= line protocol '%s' is not UDP/TLS/RTP/SAVPF", p->line_no,
                    m->proto);
    o->video_index = p->cur_media;
    read_formats(m->first_fmt, v, p->fmts, &p->n_fmts, HORUS_ARRAY_LEN(p->fmts));
    return 0;
}

static bool is_ice_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '/';
}

static int parse_ice(struct parser *p, const char *name, const char *v, char *dst, size_t cap,
                     size_t min)
{
    size_t n = strlen(v);
    bool ok = n >= min && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_ice_char(v[i]);
    if (!ok)
        return fail(p, "line %d: a=%s must be %zu to %zu of A-Z a-z 0-9 + /", p->line_no, name, min,
                    cap - 1);
    memcpy(dst, v, n + 1);
    return 0;
}

static int parse_fingerprint(struct parser *p, const char *v, struct level_attrs *a)
{
    char alg[16];
    if (!copy_token(alg, sizeof(alg), &v))
        return fail(p, "line %d: a=fingerprint has no hash function", p->line_no);
    for (char *c = alg; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strcmp(alg, "sha-256") != 0 && strcmp(alg, "sha-1") != 0 && strcmp(alg, "sha-384") != 0 &&
        strcmp(alg, "sha-512") != 0)
        return fail(p, "line %d: a=fingerprint hash function '%s' is not sha-1/256/384/512",
                    p->line_no, alg);
    size_t n = 0;
    for (;;) {
        int hi = isxdigit((unsigned char)v[0]) ? v[0] : -1;
        int lo = hi >= 0 && isxdigit((unsigned char)v[1]) ? v[1] : -1;
        if (lo < 0 || n >= sizeof(a->fp))
            return fail(p, "line %d: a=fingerprint is not colon-separated hex bytes", p->line_no);
        char pair[3] = {(char)hi, (char)lo, 0};
        a->fp[n++] = (uint8_t)strtoul(pair, NULL, 16);
        v += 2;
        if (*v == '\0')
            break;
        if (*v != ':')
            return fail(p, "line %d: a=fingerprint is not colon-separated hex bytes", p->line_no);
        v++;
    }
    memcpy(a->fp_alg, alg, sizeof(alg));
    a->fp_len = n;
    return 0;
}

/* Adds an rtpmap's encoding name ("VP8" of "VP8/90000") to o->video_codecs, once. */
static void note_codec(struct webrtc_sdp_offer *o, const char *enc)
{
    size_t n = strcspn(enc, "/ ");
    size_t have = strlen(o->video_codecs);
    if (n == 0 || have + n + 2 > sizeof(o->video_codecs))
        return;
    for (const char *at = o->video_codecs; *at;) { /* already there? */
        size_t m = strcspn(at, " ");
        if (m == n && strncasecmp(at, enc, n) == 0)
            return;
        at += m + (at[m] == ' ');
    }
    for (size_t i = 0; i < n; i++) /* printable only: it goes back in the 400's message */
        if ((unsigned char)enc[i] < 0x21 || (unsigned char)enc[i] > 0x7e)
            return;
    if (have)
        o->video_codecs[have++] = ' ';
    memcpy(o->video_codecs + have, enc, n);
    o->video_codecs[have + n] = '\0';
}

static int parse_rtpmap(struct parser *p, const char *v)
{
    size_t n = strcspn(v, " ");
    uint32_t pt;
    if (!parse_u32(v, n, 127, &pt) || v[n] != ' ')
        return fail(p, "line %d: a=rtpmap has no payload type", p->line_no);
    v += n + 1;
    bool listed = false;
    for (size_t i = 0; i < p->n_fmts; i++)
        listed = listed || p->fmts[i] == pt;
    if (listed)
        note_codec(p->out, v);
    bool h264 = strncasecmp(v, "H264/90000", 10) == 0 && (v[10] == '\0' || v[10] == '/');
    bool h265 = strncasecmp(v, "H265/90000", 10) == 0 && (v[10] == '\0' || v[10] == '/');
    if (listed && h264 && p->n_h264_pts < WEBRTC_SDP_MAX_H264)
        p->h264_pts[p->n_h264_pts++] = (uint8_t)pt;
    if (listed && h265 && p->n_h265_pts < WEBRTC_SDP_MAX_H265)
        p->h265_pts[p->n_h265_pts++] = (uint8_t)pt;
    return 0;
}

static int hex_byte(const char *s)
{
    if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
        return -1;
    char pair[3] = {s[0], s[1], 0};
    return (int)strtoul(pair, NULL, 16);
}

static int parse_fmtp(struct parser *p, const char *v)
{
    size_t n = strcspn(v, " ");
    uint32_t pt;
    if (!parse_u32(v, n, 127, &pt) || v[n] != ' ')
        return fail(p, "line %d: a=fmtp has no payload type", p->line_no);
    if (p->n_fmtp >= HORUS_ARRAY_LEN(p->fmtp))
        return 0;
    struct fmtp_entry e = {
        .pt = (uint8_t)pt, .h265_profile_id = -1, .h265_tier_flag = -1, .h265_level_id = -1};
    v += n + 1;
    while (*v) {
        while (*v == ' ' || *v == ';')
            v++;
        size_t kl = strcspn(v, "=;");
        const char *val = v[kl] == '=' ? v + kl + 1 : v + kl;
        size_t vl = strcspn(val, ";");
        if (kl == 18 && strncasecmp(v, "packetization-mode", 18) == 0) {
            uint32_t mode;
            if (!parse_u32(val, vl, 2, &mode))
                return fail(p, "line %d: a=fmtp packetization-mode must be 0, 1 or 2", p->line_no);
            e.packetization_mode = (int)mode;
        } else if (kl == 16 && strncasecmp(v, "profile-level-id", 16) == 0) {
            int b0 = vl == 6 ? hex_byte(val) : -1;
            int b1 = vl == 6 ? hex_byte(val + 2) : -1;
            int b2 = vl == 6 ? hex_byte(val + 4) : -1;
            if (b0 < 0 || b1 < 0 || b2 < 0)
                return fail(p, "line %d: a=fmtp profile-level-id must be 6 hex digits", p->line_no);
            e.has_profile = true;
            e.profile[0] = (uint8_t)b0;
            e.profile[1] = (uint8_t)b1;
            e.profile[2] = (uint8_t)b2;
        } else if (kl == 10 && strncasecmp(v, "profile-id", 10) == 0) {
            uint32_t x;
            if (!parse_u32(val, vl, 31, &x))
                return fail(p, "line %d: a=fmtp profile-id must be 0 to 31", p->line_no);
            e.h265_profile_id = (int)x;
        } else if (kl == 9 && strncasecmp(v, "tier-flag", 9) == 0) {
            uint32_t x;
            if (!parse_u32(val, vl, 1, &x))
                return fail(p, "line %d: a=fmtp tier-flag must be 0 or 1", p->line_no);
            e.h265_tier_flag = (int)x;
        } else if (kl == 8 && strncasecmp(v, "level-id", 8) == 0) {
            uint32_t x;
            if (!parse_u32(val, vl, 255, &x))
                return fail(p, "line %d: a=fmtp level-id must be 0 to 255", p->line_no);
            e.h265_level_id = (int)x;
        } else if (kl == 7 && strncasecmp(v, "tx-mode", 7) == 0) {
            e.h265_tx_mode = vl == 4 && strncasecmp(val, "SRST", 4) == 0 ? 1 : 2;
        }
        v = val + vl;
    }
    p->fmtp[p->n_fmtp++] = e;
    return 0;
}

#define ABS_CAPTURE_TIME_URI "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"

/*
 * "a=extmap:<id>[/<direction>] <uri> ...": keeps the id of abs-capture-time
 * when it fits the one-byte header form (1..14). Others are not answered.
 */
static void parse_extmap(struct webrtc_sdp_offer *o, const char *v)
{
    char *end;
    unsigned long id = strtoul(v, &end, 10);
    if (end == v || id < 1 || id > 14)
        return;
    const char *uri = end + strcspn(end, " ");
    while (*uri == ' ')
        uri++;
    size_t n = strcspn(uri, " ");
    if (n == strlen(ABS_CAPTURE_TIME_URI) && strncmp(uri, ABS_CAPTURE_TIME_URI, n) == 0)
        o->abs_capture_id = (uint8_t)id;
}

/* The index of a direction attribute (0 sendrecv .. 3 inactive), -1 for another attribute. */
static int direction_of(const char *name)
{
    static const char *const names[] = {"sendrecv", "recvonly", "sendonly", "inactive"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static void parse_direction(struct parser *p, const char *name)
{
    int d = direction_of(name);
    if (d >= 0) {
        p->direction = d;
        p->direction_line = p->line_no;
    }
}

/* An attribute of the audio m-line: Opus's payload type and the direction. */
static void parse_audio_a(struct parser *p, const char *v)
{
    struct webrtc_sdp_offer *o = p->out;
    int d = direction_of(v);
    if (d >= 0) {
        p->audio_direction = d;
        return;
    }
    if (strcmp(v, "bundle-only") == 0) {
        p->audio_bundle_only = true;
        return;
    }
    if (strncmp(v, "rtpmap:", 7) != 0)
        return;
    v += 7;
    size_t n = strcspn(v, " ");
    uint32_t pt;
    if (!parse_u32(v, n, 127, &pt) || pt < 96 || v[n] != ' ' || o->opus_pt != 0)
        return;
    const char *enc = v + n + 1;
    /* RFC 7587 6: always "opus/48000/2", whatever the channels sent */
    if (strncasecmp(enc, "opus/48000", 10) != 0 || (enc[10] != '\0' && strcmp(enc + 10, "/2") != 0))
        return;
    for (size_t i = 0; i < p->n_audio_fmts; i++)
        if (p->audio_fmts[i] == pt)
            o->opus_pt = (uint8_t)pt;
}

static int parse_a(struct parser *p, const char *v)
{
    bool session = p->cur_media < 0;
    bool video = in_video(p);
    if (!session && !video) {
        if (strncmp(v, "mid:", 4) == 0) {
            struct webrtc_sdp_media *m = &p->out->media[p->cur_media];
            if (strlen(v + 4) >= sizeof(m->mid))
                return fail(p, "line %d: a=mid is longer than 32 characters", p->line_no);
            strcpy(m->mid, v + 4);
        } else if (p->cur_media == p->out->audio_index) {
            parse_audio_a(p, v);
        }
        return 0;
    }
    struct level_attrs *a = session ? &p->session : &p->video;
    if (strncmp(v, "ice-ufrag:", 10) == 0)
        return parse_ice(p, "ice-ufrag", v + 10, a->ufrag, sizeof(a->ufrag), 4);
    if (strncmp(v, "ice-pwd:", 8) == 0)
        return parse_ice(p, "ice-pwd", v + 8, a->pwd, sizeof(a->pwd), 22);
    if (strncmp(v, "fingerprint:", 12) == 0)
        return parse_fingerprint(p, v + 12, a);
    if (strncmp(v, "setup:", 6) == 0) {
        const char *r = v + 6;
        if (strcmp(r, "actpass") != 0 && strcmp(r, "active") != 0 && strcmp(r, "passive") != 0)
            return fail(p, "line %d: a=setup must be actpass, active or passive", p->line_no);
        strcpy(a->setup, r);
        return 0;
    }
    if (session)
        return 0;
    struct webrtc_sdp_offer *o = p->out;
    if (strncmp(v, "mid:", 4) == 0) {
        struct webrtc_sdp_media *m = &o->media[p->cur_media];
        if (strlen(v + 4) >= sizeof(m->mid))
            return fail(p, "line %d: a=mid is longer than 32 characters", p->line_no);
        strcpy(m->mid, v + 4);
    } else if (strcmp(v, "rtcp-mux") == 0) {
        o->rtcp_mux = true;
    } else if (strcmp(v, "rtcp-rsize") == 0) {
        o->rtcp_rsize = true;
    } else if (strncmp(v, "extmap:", 7) == 0) {
        parse_extmap(o, v + 7);
    } else if (strncmp(v, "rtpmap:", 7) == 0) {
        return parse_rtpmap(p, v + 7);
    } else if (strncmp(v, "fmtp:", 5) == 0) {
        return parse_fmtp(p, v + 5);
    } else {
        parse_direction(p, v);
    }
    return 0;
}

static int parse_line(struct parser *p, const char *line)
{
    if (p->line_no == 1 && strcmp(line, "v=0") != 0)
        return fail(p, "line 1: an SDP offer starts with v=0");
    if (line[0] == '\0')
        return 0;
    if (!isalpha((unsigned char)line[0]) || line[1] != '=')
        return fail(p, "line %d: not an SDP 'x=value' line", p->line_no);
    switch (line[0]) {
    case 'm':
        return parse_m(p, line + 2);
    case 'a':
        return parse_a(p, line + 2);
    default:
        return 0;
    }
}

static int finish(struct parser *p)
{
    struct webrtc_sdp_offer *o = p->out;
    drop_port0_audio(p);
    if (o->video_index < 0)
        return fail(p, "offer has no video m= line");
    const struct level_attrs *s = &p->session, *v = &p->video;
    strcpy(o->ice_ufrag, v->ufrag[0] ? v->ufrag : s->ufrag);
    strcpy(o->ice_pwd, v->pwd[0] ? v->pwd : s->pwd);
    const struct level_attrs *fp = v->fp_len ? v : s;
    memcpy(o->fingerprint_alg, fp->fp_alg, sizeof(o->fingerprint_alg));
    memcpy(o->fingerprint, fp->fp, fp->fp_len);
    o->fingerprint_len = fp->fp_len;
    strcpy(o->setup, v->setup[0] ? v->setup : s->setup);
    if (o->ice_ufrag[0] == '\0')
        return fail(p, "offer has no a=ice-ufrag");
    if (o->ice_pwd[0] == '\0')
        return fail(p, "offer has no a=ice-pwd");
    if (o->fingerprint_len == 0)
        return fail(p, "offer has no a=fingerprint");
    if (strcmp(o->setup, "passive") == 0)
        return fail(p, "offer's a=setup:passive leaves no DTLS client (we are passive)");
    if (p->direction >= 2)
        return fail(p, "line %d: the video m= line is %s: a viewer must receive", p->direction_line,
                    p->direction == 2 ? "sendonly" : "inactive");
    o->video_sends = p->direction == 0;
    for (size_t i = 0; i < p->n_h264_pts; i++) {
        struct webrtc_sdp_h264 *h = &o->h264[o->n_h264++];
        *h = (struct webrtc_sdp_h264){.pt = p->h264_pts[i]};
        for (size_t j = 0; j < p->n_fmtp; j++) {
            if (p->fmtp[j].pt != h->pt)
                continue;
            h->packetization_mode = p->fmtp[j].packetization_mode;
            h->has_profile = p->fmtp[j].has_profile;
            h->profile_idc = p->fmtp[j].profile[0];
            h->profile_iop = p->fmtp[j].profile[1];
            h->level_idc = p->fmtp[j].profile[2];
        }
    }
    for (size_t i = 0; i < p->n_h265_pts; i++) {
        struct webrtc_sdp_h265 *h = &o->h265[o->n_h265++];
        *h = (struct webrtc_sdp_h265){
            .pt = p->h265_pts[i], .profile_id = -1, .tier_flag = -1, .level_id = -1};
        for (size_t j = 0; j < p->n_fmtp; j++) {
            if (p->fmtp[j].pt != h->pt)
                continue;
            h->profile_id = p->fmtp[j].h265_profile_id;
            h->tier_flag = p->fmtp[j].h265_tier_flag;
            h->level_id = p->fmtp[j].h265_level_id;
            h->tx_mode = p->fmtp[j].h265_tx_mode;
        }
    }
    /* Audio the viewer cannot receive as Opus is rejected, not an error. */
    bool bundled =
        o->audio_index >= 0 && o->media[o->audio_index].mid[0] && o->media[o->video_index].mid[0];
    for (size_t i = 0; o->audio_index >= 0 && i < p->n_audio_fmts; i++) {
        o->has_pcmu |= p->audio_fmts[i] == 0;
        o->has_pcma |= p->audio_fmts[i] == 8;
    }
    bool takes = o->opus_pt != 0 || o->has_pcmu || o->has_pcma;
    if (!takes || p->audio_direction >= 2 || !bundled) {
        o->audio_index = -1;
        o->opus_pt = 0;
        o->has_pcmu = o->has_pcma = false;
    }
    if (o->n_h264 == 0 && o->n_h265 == 0)
        return fail(p, "offer has no H.264 or H.265 video (it has %s)",
                    o->video_codecs[0] ? o->video_codecs : "no rtpmap on its video line");
    if (webrtc_sdp_h264_choose(o, 0) >= 0 || webrtc_sdp_h265_choose(o, 0) >= 0)
        return 0;
    if (o->n_h265 == 0)
        return fail(p, "offer has no H.264 video with packetization-mode=1");
    return fail(p, "offer has no H.264 video with packetization-mode=1 nor H.265 with "
                   "tx-mode=SRST");
}

int webrtc_sdp_offer_parse(const char *text, size_t len, struct webrtc_sdp_offer *out, char *err,
                           size_t errsize)
{
    struct parser *p = horus_calloc(1, sizeof(*p));
    p->out = out;
    p->err = err;
    p->errsize = errsize;
    p->cur_media = -1;
    memset(out, 0, sizeof(*out));
    out->video_index = -1;
    out->audio_index = -1;
    if (errsize > 0)
        err[0] = '\0';
    int rc = 0;
    char *line = horus_malloc(len + 1);
    if (len == 0)
        rc = fail(p, "the SDP offer is empty");
    else if (len > WEBRTC_SDP_MAX_BYTES)
        rc = fail(p, "the SDP offer is longer than %d bytes", WEBRTC_SDP_MAX_BYTES);
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        p->line_no++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        for (size_t i = 0; rc == 0 && i < n; i++)
            if ((unsigned char)text[pos + i] < 0x20 && text[pos + i] != '\t')
                rc = fail(p, "line %d: contains a control character", p->line_no);
        if (rc != 0)
            break;
        memcpy(line, text + pos, n);
        line[n] = '\0';
        rc = parse_line(p, line);
        pos = end + 1;
    }
    if (rc == 0)
        rc = finish(p);
    free(line);
    free(p);
    return rc;
}

static bool is_constrained_baseline(const struct webrtc_sdp_h264 *h)
{
    /* RFC 6184 table 5: profile_idc 66 with constraint_set1, or 77/88 with set0+set1 */
    return h->has_profile && ((h->profile_idc == 0x42 && (h->profile_iop & 0x40)) ||
                              (h->profile_idc == 0x4d && (h->profile_iop & 0x80)));
}

int webrtc_sdp_h264_choose(const struct webrtc_sdp_offer *offer, uint8_t camera_profile_idc)
{
    int first = -1, baseline = -1;
    for (size_t i = 0; i < offer->n_h264; i++) {
        const struct webrtc_sdp_h264 *h = &offer->h264[i];
        if (h->packetization_mode != 1)
            continue;
        if (camera_profile_idc != 0 && h->has_profile && h->profile_idc == camera_profile_idc)
            return (int)i;
        if (first < 0)
            first = (int)i;
        if (baseline < 0 && is_constrained_baseline(h))
            baseline = (int)i;
    }
    return baseline >= 0 ? baseline : first;
}

int webrtc_sdp_h265_choose(const struct webrtc_sdp_offer *offer, int camera_profile_id)
{
    int first = -1;
    for (size_t i = 0; i < offer->n_h265; i++) {
        const struct webrtc_sdp_h265 *h = &offer->h265[i];
        if (h->tx_mode == 2) /* several RTP streams: we send one */
            continue;
        int profile = h->profile_id >= 0 ? h->profile_id : 1;
        if (camera_profile_id != 0 && profile == camera_profile_id)
            return (int)i;
        if (first < 0)
            first = (int)i;
    }
    return first;
}

/* A growing string. */
struct sbuf {
    char *p;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        horus_assert(n >= 0);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n;
        b->p = horus_realloc(b->p, b->cap);
    }
}

static void write_rejected(struct sbuf *b, const struct webrtc_sdp_media *m)
{
    sb_printf(b, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind, m->proto, m->first_fmt);
    if (m->mid[0])
        sb_printf(b, "a=mid:%s\r\n", m->mid);
    sb_printf(b, "a=inactive\r\n");
}

/* What every answered line says of the shared transport (BUNDLE: the same on each). */
static void write_transport(struct sbuf *b, const struct webrtc_sdp_offer *o,
                            const struct webrtc_sdp_media *m,
                            const struct webrtc_sdp_answer_options *opt)
{
    sb_printf(b, "c=IN IP4 0.0.0.0\r\n");
    if (m->mid[0])
        sb_printf(b, "a=mid:%s\r\n", m->mid);
    sb_printf(b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", opt->ice_ufrag, opt->ice_pwd);
    sb_printf(b, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", opt->fingerprint_sha256);
    sb_printf(b, "a=sendonly\r\na=rtcp-mux\r\n");
    if (o->rtcp_rsize)
        sb_printf(b, "a=rtcp-rsize\r\n");
}

/* The m-line's port: ICE decides, but 0 would reject the line (a TCP-only node has no UDP). */
static uint16_t media_port(const struct webrtc_sdp_answer_options *opt)
{
    return opt->port ? opt->port : opt->tcp_port ? opt->tcp_port : 9;
}

static void write_candidates(struct sbuf *b, const struct webrtc_sdp_answer_options *opt)
{
    size_t n = opt->n_hosts < WEBRTC_SDP_MAX_HOSTS ? opt->n_hosts : WEBRTC_SDP_MAX_HOSTS;
    for (size_t i = 0; opt->port && i < n; i++) {
        /* RFC 8445 5.1.2.1: type preference 126 (host), local preference by order */
        uint32_t prio = (126u << 24) | ((uint32_t)(65535 - i) << 8) | 255u;
        sb_printf(b, "a=candidate:%zu 1 udp %u %s %u typ host\r\n", i + 1, (unsigned)prio,
                  opt->hosts[i], (unsigned)opt->port);
    }
    for (size_t i = 0; opt->tcp_port && i < n; i++) {
        /* RFC 6544 4.2: local preference (2^13 * direction-pref + other-pref), passive's
         * direction preference 4: at most 40959, below every UDP host's 65535 - i, so a
         * browser that has both pairs working prefers UDP. Other foundations than UDP's. */
        uint32_t local = (4u << 13) | (uint32_t)(8191 - i);
        uint32_t prio = (126u << 24) | (local << 8) | 255u;
        sb_printf(b, "a=candidate:%zu 1 tcp %u %s %u typ host tcptype passive\r\n",
                  WEBRTC_SDP_MAX_HOSTS + i + 1, (unsigned)prio, opt->hosts[i],
                  (unsigned)opt->tcp_port);
    }
    sb_printf(b, "a=end-of-candidates\r\n");
}

static void write_h264_fmtp(struct sbuf *b, const struct webrtc_sdp_h264 *h);
static void write_h265_fmtp(struct sbuf *b, const struct webrtc_sdp_h265 *h);

static void write_video(struct sbuf *b, const struct webrtc_sdp_offer *o,
                        const struct webrtc_sdp_answer_options *opt)
{
    const struct webrtc_sdp_media *m = &o->media[o->video_index];
    unsigned pt = opt->h265 ? o->h265[opt->h265_index].pt : o->h264[opt->h264_index].pt;
    sb_printf(b, "m=video %u %s %u\r\n", (unsigned)media_port(opt), m->proto, pt);
    write_transport(b, o, m, opt);
    if (o->abs_capture_id) /* each frame's wall clock: the browser's live latency */
        sb_printf(b, "a=extmap:%u %s\r\n", (unsigned)o->abs_capture_id, ABS_CAPTURE_TIME_URI);
    sb_printf(b, "a=rtpmap:%u %s/90000\r\n", pt, opt->h265 ? "H265" : "H264");
    sb_printf(b, "a=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\na=rtcp-fb:%u ccm fir\r\n", pt, pt,
              pt);
    /* Receiver reference times (RFC 3611): answered with DLRR, they give a
     * receive-only browser its round trip, hence the sender-report clock. */
    sb_printf(b, "a=rtcp-fb:%u rrtr\r\n", pt);
    if (opt->h265)
        write_h265_fmtp(b, &o->h265[opt->h265_index]);
    else
        write_h264_fmtp(b, &o->h264[opt->h264_index]);
    sb_printf(b, "a=ssrc:%u cname:horus\r\na=msid:horus video\r\n", (unsigned)opt->ssrc);
    write_candidates(b, opt);
}

static void write_h264_fmtp(struct sbuf *b, const struct webrtc_sdp_h264 *h)
{
    if (h->has_profile)
        sb_printf(b,
                  "a=fmtp:%u level-asymmetry-allowed=1;packetization-mode=1;"
                  "profile-level-id=%02x%02x%02x\r\n",
                  (unsigned)h->pt, h->profile_idc, h->profile_iop, h->level_idc);
    else
        sb_printf(b, "a=fmtp:%u level-asymmetry-allowed=1;packetization-mode=1\r\n",
                  (unsigned)h->pt);
}

/* RFC 7798 7.1: what the offer said of profile, tier, level and transmission mode, echoed;
 * nothing when it said nothing (the defaults then hold on both sides). */
static void write_h265_fmtp(struct sbuf *b, const struct webrtc_sdp_h265 *h)
{
    char params[128] = "";
    size_t n = 0;
    if (h->profile_id >= 0)
        n += (size_t)snprintf(params + n, sizeof(params) - n, ";profile-id=%d", h->profile_id);
    if (h->tier_flag >= 0)
        n += (size_t)snprintf(params + n, sizeof(params) - n, ";tier-flag=%d", h->tier_flag);
    if (h->level_id >= 0)
        n += (size_t)snprintf(params + n, sizeof(params) - n, ";level-id=%d", h->level_id);
    if (h->tx_mode == 1)
        n += (size_t)snprintf(params + n, sizeof(params) - n, ";tx-mode=SRST");
    if (n > 0)
        sb_printf(b, "a=fmtp:%u %s\r\n", (unsigned)h->pt, params + 1);
}

/* Opus (RFC 7587) or G.711, in the same media stream as the video so that the browser syncs them.
 */
static void write_audio(struct sbuf *b, const struct webrtc_sdp_offer *o,
                        const struct webrtc_sdp_answer_options *opt)
{
    const struct webrtc_sdp_media *m = &o->media[o->audio_index];
    unsigned pt = opt->audio_pt;
    sb_printf(b, "m=audio %u %s %u\r\n", (unsigned)media_port(opt), m->proto, pt);
    write_transport(b, o, m, opt);
    if (pt == 0 || pt == 8) /* G.711 as the camera sends it (RFC 3551) */
        sb_printf(b, "a=rtpmap:%u %s/8000\r\n", pt, pt == 0 ? "PCMU" : "PCMA");
    else
        sb_printf(b, "a=rtpmap:%u opus/48000/2\r\na=fmtp:%u minptime=10\r\n", pt, pt);
    sb_printf(b, "a=ssrc:%u cname:horus\r\na=msid:horus audio\r\n", (unsigned)opt->audio_ssrc);
    write_candidates(b, opt);
}

int webrtc_sdp_answer_write(const struct webrtc_sdp_offer *offer,
                            const struct webrtc_sdp_answer_options *opt, char **out,
                            size_t *out_len)
{
    if (offer->video_index < 0 || (size_t)offer->video_index >= offer->n_media ||
        (!opt->h265 && (opt->h264_index < 0 || (size_t)opt->h264_index >= offer->n_h264)) ||
        (opt->h265 && (opt->h265_index < 0 || (size_t)opt->h265_index >= offer->n_h265)) ||
        (opt->audio && (offer->audio_index < 0 || (size_t)offer->audio_index >= offer->n_media)))
        return -EINVAL;
    struct sbuf b = {.cap = 2048};
    b.p = horus_malloc(b.cap);
    b.p[0] = '\0';
    sb_printf(&b, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
              (unsigned long long)opt->session_id);
    int audio = opt->audio ? offer->audio_index : -1;
    if (offer->media[offer->video_index].mid[0]) {
        sb_printf(&b, "a=group:BUNDLE");
        for (size_t i = 0; i < offer->n_media; i++)
            if ((int)i == offer->video_index || (int)i == audio)
                sb_printf(&b, " %s", offer->media[i].mid);
        sb_printf(&b, "\r\n");
    }
    sb_printf(&b, "a=ice-lite\r\na=msid-semantic: WMS horus\r\n");
    /* Also at session level: GStreamer's webrtcbin (1.22) refuses an answer with a rejected
     * m-line that has no fingerprint of its own or above it. */
    sb_printf(&b, "a=fingerprint:sha-256 %s\r\n", opt->fingerprint_sha256);
    for (size_t i = 0; i < offer->n_media; i++) {
        if ((int)i == offer->video_index)
            write_video(&b, offer, opt);
        else if ((int)i == audio)
            write_audio(&b, offer, opt);
        else
            write_rejected(&b, &offer->media[i]);
    }
    *out = b.p;
    if (out_len)
        *out_len = b.len;
    return 0;
}
