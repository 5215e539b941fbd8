/*
 * DESIGN: libFuzzer driver for the horus-camsim RTSP parser (rtsp_parse.c
 * and the src/proto grammar under it), the code that reads bytes from the
 * network. It walks the input the way the server walks a connection's
 * buffer (interleaved '$' frames skipped, requests parsed one after
 * another) and feeds every parsed request's URI, Session, Transport and
 * Authorization to their parsers. The input is copied to a heap buffer of
 * exactly its size so ASan catches any read past the end.
 */
#include "rtsp_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct rtsp_msg *req)
{
    int cam, track;
    if (cs_path_parse(req->uri, 10000, &cam, &track) == 0) {
        if (cam < 1 || cam > 10000 || track < CS_PATH_TRACK_NONE || track > 1)
            abort();
    }
    struct rtsp_transport t;
    struct rtsp_span v = rtsp_msg_header(req, "Transport");
    if (v.p && rtsp_transport_parse(v, &t) == 0 && t.has_interleaved) {
        if (t.channel_rtp < 0 || t.channel_rtp > 255 || t.channel_rtcp < 0 || t.channel_rtcp > 255)
            abort();
    }
    if (v.p && rtsp_transport_parse(v, &t) == 0 && t.is_udp) {
        if (t.is_tcp || t.client_port_rtp < 1 || t.client_port_rtp > 65535 ||
            t.client_port_rtcp < 1 || t.client_port_rtcp > 65535)
            abort();
    }
    v = rtsp_msg_header(req, "Session");
    struct rtsp_span id;
    int timeout_s;
    if (v.p && rtsp_session_parse(v, &id, &timeout_s) == 0) {
        if (id.len == 0 || id.p < v.p || id.p + id.len > v.p + v.len || timeout_s < 1)
            abort();
    }
    struct rtsp_auth_params d;
    v = rtsp_msg_header(req, "Authorization");
    if (v.p && rtsp_auth_parse(v, &d) == 0) {
        if (strlen(d.username) >= RTSP_AUTH_FIELD_MAX || strlen(d.response) >= RTSP_AUTH_FIELD_MAX)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t pos = 0;
    while (pos < size) {
        const char *p = buf + pos;
        size_t left = size - pos;
        size_t used;
        if (p[0] == '$') {
            used = rtsp_interleaved_len((const uint8_t *)p, left);
            if (used == 0 || used > left)
                break;
        } else {
            struct rtsp_msg req;
            int rc = cs_rtsp_request_parse(p, left, &req);
            if (rc <= 0)
                break;
            if ((size_t)rc > left || !req.is_request)
                abort();
            check_request(&req);
            used = (size_t)rc;
        }
        pos += used;
    }

    /* The value parsers also see the raw input, as if it were a header value. */
    struct rtsp_span whole = {buf, size};
    struct rtsp_transport t;
    rtsp_transport_parse(whole, &t);
    struct rtsp_auth_params d;
    rtsp_auth_parse(whole, &d);
    int cam, track;
    cs_path_parse(whole, 8, &cam, &track);
    free(buf);
    return 0;
}
