/*
 * libFuzzer driver for what an RTSP re-stream client sends and the server
 * reads (src/restream/request.c on top of src/proto's framing): the first
 * byte picks the parser, the rest is its input.
 *   0: a request (rtsp_request_parse) and its URI (rs_target_parse);
 *   1: an Authorization value (rtsp_basic_parse);
 *   2: an avcC / hvcC record (media_config_ps_next, whose units the
 *      server sends before each keyframe);
 *   3: a listen address (rs_listen_parse), or with bit 2 of the first
 *      byte set, an SRT caller's stream id (rs_srt_streamid_parse).
 * Invariants: an accepted target names a valid camera id, "main" or "sub"
 * and a track of -1, 0 or 1; decoded credentials are NUL-terminated within
 * their fields; every parameter set lies inside the record; a parsed port
 * is 0..65535 and the host non-empty; a parsed stream id names a valid
 * camera, "main" or "sub", and a credential only when it has one.
 */
#include "media_bitstream.h"
#include "restream_int.h"
#include "srt_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void target(struct rtsp_span uri)
{
    struct rs_target t;
    if (rs_target_parse(uri, &t) < 0)
        return;
    check(cfg_is_id(t.camera, strlen(t.camera), CFG_ID_MAX));
    check(strcmp(t.stream, "main") == 0 || strcmp(t.stream, "sub") == 0);
    check(t.track >= RS_TRACK_NONE && t.track <= RS_TRACK_AUDIO);
    check(!t.has_token || (t.token[0] && strlen(t.token) < sizeof(t.token)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (mode == 0) {
        struct rtsp_msg m;
        int rc = rtsp_request_parse(p, n, RS_BODY_MAX, &m);
        check(rc <= (int)n);
        if (rc > 0) {
            check(m.is_request);
            target(m.uri);
        }
        target((struct rtsp_span){(const char *)p, n});
    } else if (mode == 1) {
        char user[RTSP_AUTH_FIELD_MAX], pw[RTSP_AUTH_FIELD_MAX];
        if (rtsp_basic_parse((struct rtsp_span){(const char *)p, n}, user, pw) == 0)
            check(strlen(user) < sizeof(user) && strlen(pw) < sizeof(pw));
    } else if (mode == 2) {
        enum media_codec codec = n && (p[0] & 0x80) ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
        size_t i = 0, count = 0;
        const uint8_t *nal;
        size_t len;
        while (media_config_ps_next(codec, p, n, &i, &nal, &len)) {
            check(nal >= p && len <= n && (size_t)(nal - p) <= n - len);
            check(++count <= n);
        }
    } else {
        char *s = malloc(n + 1);
        memcpy(s, p, n);
        s[n] = '\0';
        if (data[0] & 4) {
            struct rs_target t;
            const char *why = NULL;
            if (rs_srt_streamid_parse(s, &t, &why) == 0) {
                check(cfg_is_id(t.camera, strlen(t.camera), CFG_ID_MAX));
                check(strcmp(t.stream, "main") == 0 || strcmp(t.stream, "sub") == 0);
                check(!t.has_token || (t.token[0] && strlen(t.token) < sizeof(t.token)));
            } else {
                check(why != NULL);
            }
        } else {
            char host[RS_HOST_MAX];
            int port;
            if (rs_listen_parse(s, host, sizeof(host), &port) == 0)
                check(port >= 0 && port <= 65535 && host[0]);
        }
        free(s);
    }
    return 0;
}
