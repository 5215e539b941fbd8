/*
 * DESIGN: libFuzzer driver for the horus-camsim RTSP parser (rtsp_parse.c),
 * the code that reads bytes from the network. It walks the input the way
 * the server walks a connection's buffer (interleaved '$' frames skipped,
 * requests parsed one after another) and feeds every parsed request's URI,
 * Transport and Authorization to their parsers. The input is copied to a
 * heap buffer of exactly its size so ASan catches any read past the end.
 */
#include "rtsp_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const cs_rtsp_request *req)
{
    int cam, track;
    if (cs_path_parse(req->uri, 10000, &cam, &track) == 0) {
        if (cam < 1 || cam > 10000 || track < CS_PATH_TRACK_NONE || track > 1)
            abort();
    }
    cs_transport t;
    cs_span v = cs_rtsp_request_header(req, "Transport");
    if (v.p && cs_transport_parse(v, &t) == 0 && t.has_interleaved) {
        if (t.channel_rtp < 0 || t.channel_rtp > 255 || t.channel_rtcp < 0 || t.channel_rtcp > 255)
            abort();
    }
    if (v.p && cs_transport_parse(v, &t) == 0 && t.is_udp) {
        if (t.is_tcp || t.client_port_rtp < 1 || t.client_port_rtp > 65535 ||
            t.client_port_rtcp < 1 || t.client_port_rtcp > 65535)
            abort();
    }
    cs_digest d;
    v = cs_rtsp_request_header(req, "Authorization");
    if (v.p && cs_digest_parse(v, &d) == 0) {
        if (strlen(d.username) >= CS_DIGEST_FIELD_MAX || strlen(d.response) >= CS_DIGEST_FIELD_MAX)
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
            used = cs_rtsp_interleaved_len(p, left);
            if (used == 0 || used > left)
                break;
        } else {
            cs_rtsp_request req;
            int rc = cs_rtsp_request_parse(p, left, &req);
            if (rc <= 0)
                break;
            if ((size_t)rc > left)
                abort();
            check_request(&req);
            used = (size_t)rc;
        }
        pos += used;
    }

    /* The value parsers also see the raw input, as if it were a header value. */
    cs_span whole = {buf, size};
    cs_transport t;
    cs_transport_parse(whole, &t);
    cs_digest d;
    cs_digest_parse(whole, &d);
    int cam, track;
    cs_path_parse(whole, 8, &cam, &track);
    free(buf);
    return 0;
}
