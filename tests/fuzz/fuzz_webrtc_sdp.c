/*
 * libFuzzer driver for the WHEP offer parser (src/webrtc/sdp.c): any bytes
 * as an offer; an accepted offer must be answerable (an H.264 or H.265
 * format chosen, an answer with one m-line per offer line and the video
 * line's port, for each codec it has), its list of video encodings
 * printable, and a refused one must say why.
 */
#include "sdp_int.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void answer(const struct webrtc_sdp_offer *o, int h264, int h265);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct webrtc_sdp_offer o;
    char err[160];
    int rc = webrtc_sdp_offer_parse((const char *)data, size, &o, err, sizeof(err));
    if (rc != 0) {
        if (rc != HORUS_EPARSE || err[0] == '\0')
            __builtin_trap();
        return 0;
    }
    if (o.video_index < 0 || (size_t)o.video_index >= o.n_media ||
        o.n_media > WEBRTC_SDP_MAX_MEDIA || o.fingerprint_len == 0 ||
        o.fingerprint_len > sizeof(o.fingerprint) || o.n_h264 + o.n_h265 == 0 ||
        o.n_h265 > WEBRTC_SDP_MAX_H265 || memchr(o.video_codecs, 0, sizeof(o.video_codecs)) == NULL)
        __builtin_trap();
    for (const char *c = o.video_codecs; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            __builtin_trap();
    int idx = webrtc_sdp_h264_choose(&o, data[0]);
    int idx265 = webrtc_sdp_h265_choose(&o, data[0] & 0x1f);
    if ((idx < 0 && idx265 < 0) || (idx >= 0 && o.h264[idx].packetization_mode != 1) ||
        (idx265 >= 0 && o.h265[idx265].tx_mode == 2))
        __builtin_trap();
    if (idx >= 0)
        answer(&o, idx, -1);
    if (idx265 >= 0)
        answer(&o, -1, idx265);
    return 0;
}

static void answer(const struct webrtc_sdp_offer *o, int h264, int h265)
{
    struct webrtc_sdp_answer_options opt = {
        .ice_ufrag = "abcd",
        .ice_pwd = "0123456789012345678901",
        .fingerprint_sha256 = "AA",
        .h264_index = h264,
        .h265 = h265 >= 0,
        .h265_index = h265,
        .hosts = {"127.0.0.1"},
        .n_hosts = 1,
        .port = 9,
    };
    char *ans = NULL;
    size_t len = 0;
    if (webrtc_sdp_answer_write(o, &opt, &ans, &len) != 0 || strlen(ans) != len)
        __builtin_trap();
    size_t lines = 0;
    for (const char *p = ans; (p = strstr(p, "\r\nm=")) != NULL; p++)
        lines++;
    if (lines != o->n_media || strstr(ans, h265 >= 0 ? " H265/90000" : " H264/90000") == NULL)
        __builtin_trap();
    free(ans);
}
