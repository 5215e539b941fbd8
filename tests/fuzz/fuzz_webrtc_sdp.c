/*
 * libFuzzer driver for the WHEP offer parser (src/webrtc/sdp.c): any bytes
 * as an offer; an accepted offer must be answerable (a format chosen, an
 * answer with one m-line per offer line and the video line's port), and a
 * refused one must say why.
 */
#include "sdp_int.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
        o.fingerprint_len > sizeof(o.fingerprint) || o.n_h264 == 0)
        __builtin_trap();
    int idx = webrtc_sdp_h264_choose(&o, data[0]);
    if (idx < 0 || o.h264[idx].packetization_mode != 1)
        __builtin_trap();
    struct webrtc_sdp_answer_options opt = {
        .ice_ufrag = "abcd",
        .ice_pwd = "0123456789012345678901",
        .fingerprint_sha256 = "AA",
        .h264_index = idx,
        .hosts = {"127.0.0.1"},
        .n_hosts = 1,
        .port = 9,
    };
    char *ans = NULL;
    size_t len = 0;
    if (webrtc_sdp_answer_write(&o, &opt, &ans, &len) != 0 || strlen(ans) != len)
        __builtin_trap();
    size_t lines = 0;
    for (const char *p = ans; (p = strstr(p, "\r\nm=")) != NULL; p++)
        lines++;
    if (lines != o.n_media)
        __builtin_trap();
    free(ans);
    return 0;
}
