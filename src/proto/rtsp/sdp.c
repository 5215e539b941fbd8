/*
 * DESIGN: the session description a server sends in reply to DESCRIBE,
 * shared by the camera simulator and the daemon's re-stream server. It
 * carries everything a client needs to decode at once, as cameras do:
 * sprop-parameter-sets (H.264, RFC 6184) or sprop-vps/sps/pps (H.265,
 * RFC 7798), and for AAC-hbr the AudioSpecificConfig (RFC 3640 config=).
 * Other audio payloads (the simulator's MP4A-LATM) come as a ready
 * section. The text is allocated (horus_asprintf). Thread: any.
 */
#include "rtsp_proto.h"

#include "mem.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns a new base64 rendering of data. */
static char *base64_new(const uint8_t *data, size_t len)
{
    char *out = horus_malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static void append(char **buf, size_t *len, const char *text)
{
    size_t n = strlen(text);
    *buf = horus_realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static char *video_fmtp_new(const struct rtsp_sdp_video *v)
{
    char *sps = base64_new(v->sps, v->sps_len);
    char *pps = base64_new(v->pps, v->pps_len);
    char *out;
    if (!v->is_h265) {
        unsigned profile = 0x42e01f;
        if (v->sps_len >= 4)
            profile = ((unsigned)v->sps[1] << 16) | ((unsigned)v->sps[2] << 8) | v->sps[3];
        out = horus_asprintf("a=fmtp:%u packetization-mode=1;profile-level-id=%06x;"
                             "sprop-parameter-sets=%s,%s\r\n",
                             v->payload_type, profile, sps, pps);
    } else {
        char *vps = base64_new(v->vps, v->vps_len);
        out = horus_asprintf("a=fmtp:%u sprop-vps=%s;sprop-sps=%s;sprop-pps=%s\r\n",
                             v->payload_type, vps, sps, pps);
        free(vps);
    }
    free(sps);
    free(pps);
    return out;
}

char *rtsp_sdp_aac_hbr_new(int rate_hz, int channels, const uint8_t *config, size_t config_len,
                           uint8_t payload_type, const char *control)
{
    char hex[2 * 64 + 1];
    if (config_len > 64)
        config_len = 64;
    rtsp_hex_encode(config, config_len, hex);
    return horus_asprintf("m=audio 0 RTP/AVP %u\r\n"
                          "a=rtpmap:%u MPEG4-GENERIC/%d/%d\r\n"
                          "a=fmtp:%u streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;"
                          "indexlength=3;indexdeltalength=3;config=%s\r\n"
                          "a=control:%s\r\n",
                          payload_type, payload_type, rate_hz, channels, payload_type, hex,
                          control);
}

char *rtsp_sdp_new(const struct rtsp_sdp_desc *d)
{
    char *buf = NULL;
    size_t len = 0;
    char *head = horus_asprintf("v=0\r\n"
                                "o=- 1 1 IN IP4 127.0.0.1\r\n"
                                "s=%s\r\n"
                                "c=IN IP4 0.0.0.0\r\n"
                                "t=0 0\r\n"
                                "a=tool:%s\r\n"
                                "a=range:npt=now-\r\n"
                                "a=control:*\r\n",
                                d->name, d->name);
    append(&buf, &len, head);
    free(head);
    const struct rtsp_sdp_video *v = d->video;
    if (v) {
        char line[128];
        snprintf(line, sizeof(line), "m=video 0 RTP/AVP %u\r\na=rtpmap:%u %s/90000\r\n",
                 v->payload_type, v->payload_type, v->is_h265 ? "H265" : "H264");
        append(&buf, &len, line);
        char *fmtp = video_fmtp_new(v);
        append(&buf, &len, fmtp);
        free(fmtp);
        if (v->fps > 0) {
            snprintf(line, sizeof(line), "a=framerate:%d\r\n", v->fps);
            append(&buf, &len, line);
        }
        if (v->width > 0) {
            snprintf(line, sizeof(line), "a=x-dimensions:%d,%d\r\n", v->width, v->height);
            append(&buf, &len, line);
        }
        snprintf(line, sizeof(line), "a=control:%s\r\n", v->control);
        append(&buf, &len, line);
    }
    if (d->audio_section)
        append(&buf, &len, d->audio_section);
    return buf;
}
