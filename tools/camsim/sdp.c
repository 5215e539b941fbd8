/*
 * DESIGN: the SDP carries everything a client needs to decode at once, as
 * cameras do: sprop-parameter-sets (H.264, RFC 6184) or sprop-vps/sps/pps
 * (H.265, RFC 7798), and the AAC AudioSpecificConfig (RFC 3640 config=),
 * or for MP4A-LATM (RFC 6416) the StreamMuxConfig (cpresent=0 config=) or
 * nothing (cpresent=1, in band).
 * The text is src/proto's writer (shared with the daemon's re-stream
 * server); MP4A-LATM sections are the simulator's. Built once at start;
 * every path gets the same text. Thread: any.
 */
#include "sdp.h"

#include "latm.h"
#include "mem.h"
#include "rtsp_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* MP4A-LATM (RFC 6416), the simulator's own; AAC-hbr is src/proto's. */
static char *audio_section_new(const cs_media_info *info)
{
    if (info->audio_payload == CS_AUDIO_PCMU || info->audio_payload == CS_AUDIO_PCMA) {
        int pt = info->audio_payload == CS_AUDIO_PCMU ? 0 : 8;
        return horus_asprintf("m=audio 0 RTP/AVP %d\r\n"
                              "a=rtpmap:%d %s/%d\r\n"
                              "a=control:trackID=1\r\n",
                              pt, pt, pt == 0 ? "PCMU" : "PCMA", info->audio_rate_hz);
    }
    if (info->audio_payload == CS_AUDIO_HBR)
        return rtsp_sdp_aac_hbr_new(info->audio_rate_hz, info->audio_channels, info->audio_config,
                                    info->audio_config_len, 97, "trackID=1");
    char config[2 * (sizeof(info->audio_config) + 8) + 1];
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

char *cs_sdp_new(const cs_media_info *info)
{
    struct rtsp_sdp_video v = {
        .is_h265 = info->codec == CS_CODEC_H265,
        .payload_type = 96,
        .vps = info->vps,
        .vps_len = info->vps_len,
        .sps = info->sps,
        .sps_len = info->sps_len,
        .pps = info->pps,
        .pps_len = info->pps_len,
        .width = info->width,
        .height = info->height,
        .fps = info->fps,
        .control = "trackID=0",
    };
    char *audio = info->has_audio ? audio_section_new(info) : NULL;
    char *sdp = rtsp_sdp_new(
        &(struct rtsp_sdp_desc){.name = "horus-camsim", .video = &v, .audio_section = audio});
    free(audio);
    return sdp;
}
