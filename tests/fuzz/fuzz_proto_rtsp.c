/*
 * DESIGN: libFuzzer driver for src/proto's RTSP parsers, the grammar both
 * the native client (src/ingest) and the camera simulator read untrusted
 * bytes with. The first input byte picks the target:
 *   0: messages one after another (body limit of the client), every
 *      header value through the Session, Transport, auth-param and list
 *      parsers; every span must lie inside the input
 *   1: the value parsers on the whole rest, as one header value
 *   2: interleaved frames, each as RTP (written back and parsed again,
 *      which must give the same header, and counted by the receiver
 *      statistics, whose report is written and must parse back) and as
 *      compound RTCP (sender and receiver reports)
 * The rest is copied to a heap buffer of exactly its size so ASan catches
 * any read past the end.
 */
#include "rtsp_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *lo, *hi; /* the input, for span checks */

static void check_span(struct rtsp_span s)
{
    if (s.p && ((const uint8_t *)s.p < lo || (const uint8_t *)s.p + s.len > hi))
        abort();
}

static void values(struct rtsp_span v)
{
    struct rtsp_span id;
    int timeout_s;
    if (rtsp_session_parse(v, &id, &timeout_s) == 0) {
        check_span(id);
        if (id.len == 0 || timeout_s < 1 || timeout_s > 86400)
            abort();
    }
    struct rtsp_transport t;
    if (rtsp_transport_parse(v, &t) == 0) {
        if (t.is_tcp && (t.channel_rtp < 0 || t.channel_rtp > 255 || t.channel_rtcp > 255))
            abort();
        if (t.is_udp && (t.client_port_rtp < 1 || t.client_port_rtcp > 65535))
            abort();
    }
    struct rtsp_auth_params a;
    if (rtsp_auth_parse(v, &a) == 0) {
        check_span(a.scheme);
        char ha1[33], response[33];
        if (rtsp_digest_ha1(a.username, a.realm, "p", ha1) == 0)
            (void)rtsp_digest_response(ha1, a.nonce, "DESCRIBE", a.uri, a.qop, a.nc, a.cnonce,
                                       response);
    }
    struct rtsp_span list = v, item;
    while (rtsp_list_next(&list, &item))
        check_span(item);
}

static void messages(const uint8_t *buf, size_t size)
{
    static struct rtsp_msg m;
    size_t pos = 0;
    while (pos < size) {
        int n = rtsp_msg_parse(buf + pos, size - pos, 65536, &m);
        if (n <= 0)
            break;
        if ((size_t)n > size - pos || m.nheaders > RTSP_HEADERS_MAX)
            abort();
        check_span(m.method);
        check_span(m.uri);
        for (unsigned i = 0; i < m.nheaders; i++) {
            check_span(m.headers[i].name);
            check_span(m.headers[i].value);
            values(m.headers[i].value);
        }
        pos += (size_t)n;
    }
}

static void frames(const uint8_t *buf, size_t size)
{
    static struct rtp_rx_stats st;
    memset(&st, 0, sizeof(st));
    int64_t now_us = 0;
    size_t pos = 0;
    for (;;) {
        uint8_t channel;
        const uint8_t *d;
        size_t n;
        int used = rtsp_interleaved_parse(buf + pos, size - pos, &channel, &d, &n);
        if (used <= 0)
            break;
        struct rtp_packet p;
        if (rtp_packet_parse(d, n, &p) == 0) {
            if (p.payload < d || p.payload + p.payload_len > d + n)
                abort();
            uint8_t hdr[RTP_HEADER_SIZE];
            struct rtp_packet q;
            rtp_header_write(hdr, &p);
            if (rtp_packet_parse(hdr, sizeof(hdr), &q) != 0 || q.seq != p.seq ||
                q.timestamp != p.timestamp || q.ssrc != p.ssrc || q.marker != p.marker ||
                q.payload_type != p.payload_type)
                abort();
            now_us += 1000 + channel * 997;
            rtp_rx_stats_packet(&st, p.ssrc, p.seq, p.timestamp, now_us * 9 / 100);
        }
        struct rtcp_sr sr;
        if (rtcp_sr_find(d, n, &sr) == 0) {
            (void)rtcp_sr_unix_us(&sr, sr.rtp_timestamp + 90000, 90000);
            rtp_rx_stats_sr(&st, sr.ntp, now_us);
        }
        struct rtcp_rr rr;
        if (rtcp_rr_find(d, n, &rr) == 0 && rr.nblocks > 31)
            abort();
        struct rtcp_report_block b;
        if (rtp_rx_stats_report(&st, now_us, &b)) {
            uint8_t out[RTCP_RR_COMPOUND_SIZE];
            rtcp_rr_write(out, 1, &b);
            struct rtcp_rr back;
            if (rtcp_rr_find(out, sizeof(out), &back) != 0 || back.nblocks != 1 ||
                back.block.ssrc != b.ssrc || back.block.highest_seq != b.highest_seq ||
                back.block.jitter != b.jitter || back.block.fraction_lost != b.fraction_lost)
                abort();
        }
        pos += (size_t)used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    lo = buf;
    hi = buf + n;
    switch (data[0] % 3) {
    case 0:
        messages(buf, n);
        break;
    case 1:
        values((struct rtsp_span){(const char *)buf, n});
        break;
    default:
        frames(buf, n);
        break;
    }
    free(buf);
    return 0;
}
