/*
 * DESIGN: the SDP carries everything a client needs to decode at once, as
 * cameras do: sprop-parameter-sets (H.264, RFC 6184) or sprop-vps/sps/pps
 * (H.265, RFC 7798), and the AAC AudioSpecificConfig (RFC 3640 config=),
 * or for MP4A-LATM (RFC 6416) the StreamMuxConfig (cpresent=0 config=) or
 * nothing (cpresent=1, in band).
 * Built once at start; every path gets the same text. Thread: any.
 */
#include "sdp.h"

#include "latm.h"
#include "mem.h"

#include <libavutil/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns a new base64 rendering of data. */
static char *base64_new(const uint8_t *data, size_t len)
{
    size_t size = AV_BASE64_SIZE(len);
    char *out = horus_malloc(size);
    av_base64_encode(out, (int)size, data, (int)len);
    return out;
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 1024;
        *buf = horus_realloc(*buf, *cap);
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static char *video_fmtp_new(const cs_media_info *info)
{
    char *sps = base64_new(info->sps, info->sps_len);
    char *pps = base64_new(info->pps, info->pps_len);
    char *out;
    if (info->codec == CS_CODEC_H264) {
        unsigned profile = 0x42e01f;
        if (info->sps_len >= 4)
            profile = ((unsigned)info->sps[1] << 16) | ((unsigned)info->sps[2] << 8) | info->sps[3];
        out = horus_asprintf("a=fmtp:96 packetization-mode=1;profile-level-id=%06x;"
                             "sprop-parameter-sets=%s,%s\r\n",
                             profile, sps, pps);
    } else {
        char *vps = base64_new(info->vps, info->vps_len);
        out = horus_asprintf("a=fmtp:96 sprop-vps=%s;sprop-sps=%s;sprop-pps=%s\r\n", vps, sps, pps);
        free(vps);
    }
    free(sps);
    free(pps);
    return out;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
}

static char *audio_section_new(const cs_media_info *info)
{
    char config[2 * (sizeof(info->audio_config) + 8) + 1];
    if (info->audio_payload != CS_AUDIO_HBR) {
        const char *fmtp = "cpresent=1";
        char line[sizeof(config) + 32];
        if (info->audio_payload == CS_AUDIO_LATM) {
            uint8_t smc[sizeof(info->audio_config) + 8];
            size_t n = cs_latm_config(info->audio_config, info->audio_config_len, smc, sizeof(smc));
            hex(smc, n, config);
            snprintf(line, sizeof(line), "cpresent=0;config=%s", config);
            fmtp = line;
        }
        return horus_asprintf("m=audio 0 RTP/AVP 97\r\n"
                              "a=rtpmap:97 MP4A-LATM/%d/%d\r\n"
                              "a=fmtp:97 profile-level-id=1;object=2;%s\r\n"
                              "a=control:trackID=1\r\n",
                              info->audio_rate_hz, info->audio_channels, fmtp);
    }
    hex(info->audio_config, info->audio_config_len, config);
    return horus_asprintf("m=audio 0 RTP/AVP 97\r\n"
                          "a=rtpmap:97 MPEG4-GENERIC/%d/%d\r\n"
                          "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;"
                          "indexlength=3;indexdeltalength=3;config=%s\r\n"
                          "a=control:trackID=1\r\n",
                          info->audio_rate_hz, info->audio_channels, config);
}

char *cs_sdp_new(const cs_media_info *info)
{
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    append(&buf, &len, &cap,
           "v=0\r\n"
           "o=- 1 1 IN IP4 127.0.0.1\r\n"
           "s=horus-camsim\r\n"
           "c=IN IP4 0.0.0.0\r\n"
           "t=0 0\r\n"
           "a=tool:horus-camsim\r\n"
           "a=range:npt=now-\r\n"
           "a=control:*\r\n"
           "m=video 0 RTP/AVP 96\r\n");
    append(&buf, &len, &cap,
           info->codec == CS_CODEC_H264 ? "a=rtpmap:96 H264/90000\r\n"
                                        : "a=rtpmap:96 H265/90000\r\n");
    char *fmtp = video_fmtp_new(info);
    append(&buf, &len, &cap, fmtp);
    free(fmtp);
    if (info->fps > 0) {
        char line[64];
        snprintf(line, sizeof(line), "a=framerate:%d\r\n", info->fps);
        append(&buf, &len, &cap, line);
    }
    if (info->width > 0) {
        char line[64];
        snprintf(line, sizeof(line), "a=x-dimensions:%d,%d\r\n", info->width, info->height);
        append(&buf, &len, &cap, line);
    }
    append(&buf, &len, &cap, "a=control:trackID=0\r\n");
    if (info->has_audio) {
        char *audio = audio_section_new(info);
        append(&buf, &len, &cap, audio);
        free(audio);
    }
    return buf;
}
