/*
 * libFuzzer driver for the native RTSP client's parsers, all fed with what
 * a hostile camera could send. The first input byte picks the target:
 *   0: RTSP messages and the header parsers (Session, Transport, Public,
 *      RTP-Info, WWW-Authenticate) and URLs on the same text
 *   1: an SDP body
 *   2: RTP and RTCP packets, interleaved framing
 *   3: depacketisers (next byte: codec), the rest as packets, each
 *      [16-bit length][flags: marker, new timestamp, seq skip][payload]
 *   4: the session state machine fed the rest in chunks, with keep-alives
 *      (odd-length inputs as a UDP session)
 *   5: an MP4A-LATM StreamMuxConfig (rtsp_latm.c)
 *   6: the LATM depacketiser (next byte: subframes and other-data bits),
 *      packets as in 3
 *   7: the UDP reorder buffer (rtsp_reorder.c): [length][ms later][datagram]...
 */
#include "rtsp_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *text_of(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

static void fuzz_messages(const uint8_t *data, size_t size)
{
    static struct ing_rtsp_msg m;
    size_t pos = 0;
    while (pos < size) {
        int n = ing_rtsp_msg_parse(data + pos, size - pos, &m);
        if (n <= 0)
            break;
        for (unsigned i = 0; i < m.nheaders; i++)
            (void)ing_rtsp_msg_header(&m, m.headers[i].name);
        pos += (size_t)n;
    }
    char *t = text_of(data, size);
    char id[128];
    int timeout, a, b;
    (void)ing_rtsp_session_parse(t, id, sizeof(id), &timeout);
    (void)ing_rtsp_transport_parse(t, &a, &b);
    (void)ing_rtsp_transport_parse_udp(t, &a, &b);
    (void)rtsp_list_has(rtsp_span_of(t), "GET_PARAMETER");
    struct ing_rtsp_rtp_info info[ING_RTSP_RTP_INFO_MAX];
    (void)ing_rtsp_rtp_info_parse(t, info, ING_RTSP_RTP_INFO_MAX);
    struct ing_rtsp_challenge c;
    if (ing_rtsp_challenge_parse(t, &c) == 0) {
        char out[1024];
        (void)ing_rtsp_authorization(&c, "u", "p", "DESCRIBE", "rtsp://h/", 1, "00", out,
                                     sizeof(out));
    }
    struct ing_rtsp_url u;
    if (ing_rtsp_url_parse(t, &u) == 0) {
        char out[ING_RTSP_URL_MAX];
        (void)ing_rtsp_url_resolve(u.request_url, "trackID=1", out, sizeof(out));
    }
    free(t);
}

static void fuzz_sdp(const uint8_t *data, size_t size)
{
    static struct ing_sdp s;
    (void)ing_sdp_parse((const char *)data, size, "rtsp://127.0.0.1/cam1/", &s);
}

static void fuzz_rtp(const uint8_t *data, size_t size)
{
    struct rtp_packet r;
    (void)rtp_packet_parse(data, size, &r);
    struct rtcp_sr sr;
    if (rtcp_sr_find(data, size, &sr) == 0)
        (void)rtcp_sr_unix_us(&sr, r.timestamp, 90000);
    uint8_t ch;
    const uint8_t *d;
    size_t n;
    (void)rtsp_interleaved_parse(data, size, &ch, &d, &n);
}

static void au_cb(void *arg, media_packet *au, uint32_t ts)
{
    media_packet_unref(au);
}

/* Packets: [16-bit length][flags: marker 1, new timestamp 2, seq skip 4 (by flags >> 4)]. */
static void feed(struct ing_depack *d, const uint8_t *data, size_t size)
{
    size_t pos = 0;
    uint16_t seq = 0;
    uint32_t ts = 0;
    while (pos + 3 <= size) {
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        uint8_t flags = data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        seq = (uint16_t)(seq + 1 + ((flags & 4) ? flags >> 4 : 0));
        if (flags & 2)
            ts += 3000;
        struct rtp_packet r = {.seq = seq,
                               .timestamp = ts,
                               .marker = flags & 1,
                               .payload = data + pos,
                               .payload_len = len};
        ing_depack_push(d, &r);
        pos += len;
    }
}

static void fuzz_depack(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    static const enum media_codec codecs[] = {MEDIA_CODEC_H264, MEDIA_CODEC_H265, MEDIA_CODEC_AAC,
                                              MEDIA_CODEC_PCMU};
    enum media_codec codec = codecs[data[0] % 4];
    bool is_audio = codec == MEDIA_CODEC_AAC || codec == MEDIA_CODEC_PCMU;
    struct ing_param_sets ps = {.codec = codec};
    struct ing_depack d;
    ing_depack_init(&d, codec, is_audio ? NULL : &ps, au_cb, NULL, NULL);
    d.stream = media_stream_new(is_audio ? MEDIA_KIND_AUDIO : MEDIA_KIND_VIDEO, codec,
                                codec == MEDIA_CODEC_PCMU ? 8000 : 90000, NULL, 0);
    if (codec == MEDIA_CODEC_AAC && (data[0] & 0x40)) { /* odd AU header layouts */
        d.size_length = 1 + data[0] % 16;
        d.index_length = data[0] % 4;
        d.index_delta_length = data[0] % 4;
    }
    feed(&d, data + 1, size - 1);
    ing_depack_release(&d);
    media_stream_unref(d.stream);
}

static void fuzz_latm_config(const uint8_t *data, size_t size)
{
    struct ing_latm_config c;
    const char *why;
    if (ing_latm_config_parse(data, size, &c, &why) == 0 && c.asc_len > sizeof(c.asc))
        abort();
}

static void fuzz_latm(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    struct ing_depack d;
    ing_depack_init(&d, MEDIA_CODEC_AAC, NULL, au_cb, NULL, NULL);
    d.stream = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, NULL, 0);
    d.is_latm = true;
    d.latm_subframes = 1 + data[0] % 4;
    d.latm_other_bits = (uint32_t)(data[0] >> 2) % 4 * 5;
    feed(&d, data + 1, size - 1);
    ing_depack_release(&d);
    media_stream_unref(d.stream);
}

static int describe_cb(void *arg, const struct ing_sdp_media *v, const struct ing_sdp_media *a)
{
    return 0;
}

static void play_cb(void *arg, const struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS])
{
}

static void packet_cb(void *arg, enum ing_rtsp_track t, bool is_rtcp, const uint8_t *d, size_t n)
{
    struct rtp_packet r;
    (void)rtp_packet_parse(d, n, &r);
}

static void fuzz_conn(const uint8_t *data, size_t size)
{
    static const struct ing_rtsp_conn_cbs cbs = {describe_cb, play_cb, packet_cb};
    static struct ing_rtsp_conn c;
    if (ing_rtsp_conn_init(&c, "rtsp://user:pass@127.0.0.1:8554/cam1", &cbs, NULL) < 0)
        return;
    /* Inputs of odd length drive a UDP session (the fuzzer flips that with one byte). */
    if (size % 2 == 1) {
        c.is_udp = true;
        c.client_port[0] = 50000;
        c.client_port[1] = 50002;
    }
    /* Feed in chunks of varying size, keeping what was not consumed, as rtsp_stream.c does. */
    uint8_t *buf = malloc(size + 1);
    size_t have = 0, pos = 0, step = 1;
    while (pos < size) {
        size_t n = size - pos < step ? size - pos : step;
        memcpy(buf + have, data + pos, n);
        have += n;
        pos += n;
        step = step * 3 % 97 + 1;
        long used = ing_rtsp_conn_input(&c, buf, have);
        ing_rtsp_conn_sent(&c, c.out_len);
        if (used < 0)
            break;
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        ing_rtsp_conn_keepalive(&c);
    }
    ing_rtsp_conn_teardown(&c);
    ing_rtsp_conn_closed(&c, 0);
    free(buf);
}

static void reorder_out(void *arg, const uint8_t *d, size_t n)
{
    uint16_t *last = arg;
    if (n >= 4)
        *last = (uint16_t)(d[2] << 8 | d[3]);
}

/* Datagrams for the UDP reorder buffer: [len][ms] then len bytes, again and again. */
static void fuzz_reorder(const uint8_t *data, size_t size)
{
    struct ing_reorder r;
    ing_reorder_init(&r, 40000000);
    uint16_t last = 0;
    int64_t now = 0;
    size_t pos = 0;
    while (pos + 2 <= size) {
        size_t n = data[pos];
        now += (int64_t)data[pos + 1] * 1000000;
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        ing_reorder_push(&r, data + pos, n, now, reorder_out, &last);
        pos += n;
    }
    ing_reorder_expire(&r, now + 1000000000, reorder_out, &last);
    ing_reorder_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 8) {
    case 0:
        fuzz_messages(data + 1, size - 1);
        break;
    case 1:
        fuzz_sdp(data + 1, size - 1);
        break;
    case 2:
        fuzz_rtp(data + 1, size - 1);
        break;
    case 3:
        fuzz_depack(data + 1, size - 1);
        break;
    case 4:
        fuzz_conn(data + 1, size - 1);
        break;
    case 5:
        fuzz_latm_config(data + 1, size - 1);
        break;
    case 7:
        fuzz_reorder(data + 1, size - 1);
        break;
    default:
        fuzz_latm(data + 1, size - 1);
        break;
    }
    return 0;
}
