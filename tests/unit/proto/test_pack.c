/*
 * Tests for src/proto/rtsp/pack.c, sdp.c and the Basic credentials of
 * digest.c: the sending side both the simulator and the re-stream server
 * use. Packets are read back with the same module's parsers (interleaved
 * framing, RTP header, RTCP sender report), so what one end writes is
 * what the other end reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "rtsp_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Walks the interleaved packets of pk's buffer into out (at most max); returns the count. */
static size_t split(const struct rtp_packer *pk, struct rtp_packet *out, size_t max)
{
    size_t n = 0, pos = 0;
    while (pos < pk->len && n < max) {
        uint8_t ch;
        const uint8_t *data;
        size_t len;
        int span = rtsp_interleaved_parse(pk->buf + pos, pk->len - pos, &ch, &data, &len);
        assert_int_equal(span, (int)(RTSP_INTERLEAVED_HEADER + len));
        assert_int_equal(ch, pk->channel);
        assert_int_equal(rtp_packet_parse(data, len, &out[n]), 0);
        n++;
        pos += RTSP_INTERLEAVED_HEADER + len;
    }
    assert_int_equal(pos, pk->len);
    return n;
}

static void test_a_small_nal_is_one_packet_with_the_marker(void **state)
{
    (void)state;
    struct rtp_packer pk;
    rtp_packer_init(&pk, 96, 0, 0x11223344, 65535);
    rtp_packer_begin(&pk, 9000);
    uint8_t sps[] = {0x67, 0x64, 0x00, 0x1f}, idr[] = {0x65, 1, 2, 3};
    rtp_packer_nal(&pk, false, sps, sizeof(sps));
    rtp_packer_nal(&pk, false, idr, sizeof(idr));
    rtp_packer_end(&pk);
    struct rtp_packet p[4];
    assert_int_equal(split(&pk, p, 4), 2);
    assert_int_equal(p[0].seq, 65535);
    assert_int_equal(p[1].seq, 0); /* wraps */
    assert_false(p[0].marker);
    assert_true(p[1].marker);
    assert_int_equal(p[1].timestamp, 9000);
    assert_int_equal(p[1].ssrc, 0x11223344);
    assert_int_equal(p[1].payload_type, 96);
    assert_memory_equal(p[1].payload, idr, sizeof(idr));
    assert_int_equal(pk.packets_sent, 2);
    assert_int_equal(pk.octets_sent, 8);
    rtp_packer_release(&pk);
}

/* Reassembles FU payloads of either codec and checks they give back nal. */
static void check_fragments(bool is_h265, const uint8_t *nal, size_t len)
{
    struct rtp_packer pk;
    rtp_packer_init(&pk, 96, 2, 1, 100);
    pk.max_payload = 100;
    rtp_packer_begin(&pk, 1);
    rtp_packer_nal(&pk, is_h265, nal, len);
    rtp_packer_end(&pk);
    struct rtp_packet p[64];
    size_t n = split(&pk, p, 64);
    assert_true(n > 1);
    size_t hdr = is_h265 ? 2 : 1;
    uint8_t *out = malloc(len);
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i].payload_len <= 100);
        const uint8_t *fu = p[i].payload;
        uint8_t fu_header = fu[hdr];
        assert_int_equal(!!(fu_header & 0x80), i == 0);
        assert_int_equal(!!(fu_header & 0x40), i == n - 1);
        assert_int_equal(p[i].marker, i == n - 1);
        if (i == 0) {
            /* The NAL header rebuilt from the FU indicator and header. */
            if (is_h265) {
                assert_int_equal((fu[0] >> 1) & 0x3f, 49);
                out[0] = (uint8_t)((fu[0] & 0x81) | ((fu_header & 0x3f) << 1));
                out[1] = fu[1];
            } else {
                assert_int_equal(fu[0] & 0x1f, 28);
                out[0] = (uint8_t)((fu[0] & 0xe0) | (fu_header & 0x1f));
            }
            got = hdr;
        }
        memcpy(out + got, fu + hdr + 1, p[i].payload_len - hdr - 1);
        got += p[i].payload_len - hdr - 1;
    }
    assert_int_equal(got, len);
    assert_memory_equal(out, nal, len);
    free(out);
    rtp_packer_release(&pk);
}

static void test_large_nals_are_fragmented_and_reassemble(void **state)
{
    (void)state;
    uint8_t nal[1000];
    for (size_t i = 0; i < sizeof(nal); i++)
        nal[i] = (uint8_t)(i * 7);
    nal[0] = 0x65; /* H.264 IDR */
    check_fragments(false, nal, sizeof(nal));
    nal[0] = 19 << 1; /* H.265 IDR_W_RADL */
    nal[1] = 1;
    check_fragments(true, nal, sizeof(nal));
}

static void test_aac_gets_one_au_header(void **state)
{
    (void)state;
    struct rtp_packer pk;
    rtp_packer_init(&pk, 97, 2, 5, 1);
    rtp_packer_begin(&pk, 1024);
    uint8_t au[300];
    memset(au, 0xab, sizeof(au));
    rtp_packer_aac_hbr(&pk, au, sizeof(au));
    rtp_packer_end(&pk);
    struct rtp_packet p[2];
    assert_int_equal(split(&pk, p, 2), 1);
    assert_int_equal(p[0].payload_len, 4 + sizeof(au));
    assert_int_equal(p[0].payload[1], 16);
    assert_int_equal((p[0].payload[2] << 5) | (p[0].payload[3] >> 3), sizeof(au));
    assert_true(p[0].marker);
    rtp_packer_release(&pk);
}

static void test_a_sender_report_with_cname_reads_back(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct rtcp_sr sr = {
        .ssrc = 7, .ntp = 0x1122334455667788ull, .rtp_timestamp = 9, .packets = 3, .octets = 4};
    size_t n = rtcp_sr_sdes_write(buf, &sr, "horus");
    assert_int_equal(n, rtcp_sr_sdes_size("horus"));
    assert_int_equal(n % 4, 0);
    struct rtcp_sr back;
    assert_int_equal(rtcp_sr_find(buf, n, &back), 0);
    assert_int_equal(back.ssrc, 7);
    assert_int_equal(back.ntp, sr.ntp);
    assert_int_equal(back.packets, 3);
    assert_memory_equal(buf + RTCP_SR_SIZE + 10, "horus", 5);
}

static void test_the_sdp_carries_parameter_sets_and_controls(void **state)
{
    (void)state;
    uint8_t sps[] = {0x67, 0x64, 0x00, 0x1f, 0xac}, pps[] = {0x68, 0xee, 0x3c, 0x80};
    struct rtsp_sdp_video v = {.payload_type = 96,
                               .sps = sps,
                               .sps_len = sizeof(sps),
                               .pps = pps,
                               .pps_len = sizeof(pps),
                               .width = 640,
                               .height = 360,
                               .control = "trackID=0"};
    uint8_t asc[] = {0x11, 0x90};
    char *audio = rtsp_sdp_aac_hbr_new(48000, 2, asc, sizeof(asc), 97, "trackID=1");
    char *sdp =
        rtsp_sdp_new(&(struct rtsp_sdp_desc){.name = "horus", .video = &v, .audio_section = audio});
    assert_non_null(strstr(sdp, "s=horus\r\n"));
    assert_non_null(strstr(sdp, "a=rtpmap:96 H264/90000\r\n"));
    assert_non_null(
        strstr(sdp, "profile-level-id=64001f;sprop-parameter-sets=Z2QAH6w=,aO48gA==\r\n"));
    assert_non_null(strstr(sdp, "a=x-dimensions:640,360\r\n"));
    assert_null(strstr(sdp, "a=framerate"));
    assert_non_null(strstr(sdp, "a=control:trackID=0\r\n"));
    assert_non_null(strstr(sdp, "MPEG4-GENERIC/48000/2\r\n"));
    assert_non_null(strstr(sdp, ";config=1190\r\na=control:trackID=1\r\n"));
    free(sdp);
    free(audio);
}

static void test_basic_credentials_are_decoded_or_refused(void **state)
{
    (void)state;
    char user[RTSP_AUTH_FIELD_MAX], pw[RTSP_AUTH_FIELD_MAX];
    /* "alice:pa:ss" */
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YWxpY2U6cGE6c3M="), user, pw), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(pw, "pa:ss");
    /* ":" alone: empty user and password */
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("basic  Og== "), user, pw), 0);
    assert_string_equal(user, "");
    assert_string_equal(pw, "");
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Digest username=\"a\""), user, pw), -ENOENT);
    assert_int_equal(rtsp_basic_parse((struct rtsp_span){0}, user, pw), -ENOENT);
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YWxpY2U="), user, pw), HORUS_EPARSE);
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YW*pY2U6cGE="), user, pw), HORUS_EPARSE);
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YWx=Y2U6cGE="), user, pw), HORUS_EPARSE);
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YWxpY2U6c"), user, pw), HORUS_EPARSE);
    /* "a\0:b": a NUL inside is refused */
    assert_int_equal(rtsp_basic_parse(rtsp_span_of("Basic YQA6Yg=="), user, pw), HORUS_EPARSE);
    char big[1200] = "Basic ";
    memset(big + 6, 'Q', 1000);
    assert_int_equal(rtsp_basic_parse(rtsp_span_of(big), user, pw), HORUS_EPARSE);
}

static void test_a_server_refuses_replies_and_bad_cseq(void **state)
{
    (void)state;
    struct rtsp_msg m;
    const char ok[] = "OPTIONS rtsp://h/cam1 RTSP/1.0\r\nCSeq: 2\r\n\r\n";
    assert_int_equal(rtsp_request_parse((const uint8_t *)ok, strlen(ok), 0, &m), (int)strlen(ok));
    assert_int_equal(m.cseq, 2);
    const char reply[] = "RTSP/1.0 200 OK\r\nCSeq: 2\r\n\r\n";
    assert_int_equal(rtsp_request_parse((const uint8_t *)reply, strlen(reply), 0, &m),
                     HORUS_EPARSE);
    const char bad[] = "OPTIONS * RTSP/1.0\r\nCSeq: x\r\n\r\n";
    assert_int_equal(rtsp_request_parse((const uint8_t *)bad, strlen(bad), 0, &m), HORUS_EPARSE);
    assert_int_equal(rtsp_request_parse((const uint8_t *)ok, 10, 0, &m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_small_nal_is_one_packet_with_the_marker),
        cmocka_unit_test(test_large_nals_are_fragmented_and_reassemble),
        cmocka_unit_test(test_aac_gets_one_au_header),
        cmocka_unit_test(test_a_sender_report_with_cname_reads_back),
        cmocka_unit_test(test_the_sdp_carries_parameter_sets_and_controls),
        cmocka_unit_test(test_basic_credentials_are_decoded_or_refused),
        cmocka_unit_test(test_a_server_refuses_replies_and_bad_cseq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
