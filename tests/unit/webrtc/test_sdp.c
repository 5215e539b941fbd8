/*
 * Tests for src/webrtc/sdp.c: a browser's recvonly offer parsed (ICE,
 * fingerprint, H.264 formats from rtpmap and fmtp in any order), the
 * profile chosen against the camera's, errors that name the line and the
 * problem, and the answer written with one m-line per offer line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sdp_int.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shaped like Chromium's offer for addTransceiver('audio'/'video', recvonly). */
static const char chrome_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:aB3d\r\n"
    "a=ice-pwd:0123456789abcdefABCDEF+/\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:"
    "E8:F9\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 106\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:aB3d\r\n"
    "a=ice-pwd:0123456789abcdefABCDEF+/\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:"
    "E8:F9\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtpmap:103 H264/90000\r\n"
    "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:106 H264/90000\r\n"
    "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n";

static int parse(const char *text, struct webrtc_sdp_offer *o, char *err)
{
    return webrtc_sdp_offer_parse(text, strlen(text), o, err, 200);
}

/* The offer with the nth occurrence (1 = first) of from replaced by to (caller frees). */
static char *edit(const char *from, const char *to, int nth)
{
    const char *at = strstr(chrome_offer, from);
    for (int i = 1; at != NULL && i < nth; i++)
        at = strstr(at + 1, from);
    assert_non_null(at);
    size_t head = (size_t)(at - chrome_offer);
    char *s = malloc(sizeof(chrome_offer) + strlen(to));
    memcpy(s, chrome_offer, head);
    strcpy(s + head, to);
    strcat(s, at + strlen(from));
    return s;
}

static void test_a_browser_offer_gives_ice_dtls_and_h264_formats(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    assert_string_equal(err, "");
    assert_int_equal(o.n_media, 2);
    assert_int_equal(o.video_index, 1);
    assert_string_equal(o.media[0].kind, "audio");
    assert_string_equal(o.media[0].mid, "0");
    assert_string_equal(o.media[0].first_fmt, "111");
    assert_string_equal(o.media[1].mid, "1");
    assert_string_equal(o.ice_ufrag, "aB3d");
    assert_string_equal(o.ice_pwd, "0123456789abcdefABCDEF+/");
    assert_string_equal(o.fingerprint_alg, "sha-256");
    assert_int_equal(o.fingerprint_len, 32);
    assert_int_equal(o.fingerprint[0], 0x0a);
    assert_int_equal(o.fingerprint[31], 0xf9);
    assert_string_equal(o.setup, "actpass");
    assert_false(o.video_sends);
    assert_true(o.rtcp_mux);
    assert_true(o.rtcp_rsize);
    /* rtpmap after fmtp (102) and before it (103..106) both count */
    assert_int_equal(o.n_h264, 4);
    assert_int_equal(o.h264[0].pt, 102);
    assert_int_equal(o.h264[0].packetization_mode, 1);
    assert_int_equal(o.h264[0].profile_idc, 0x42);
    assert_int_equal(o.h264[1].packetization_mode, 0);
    assert_int_equal(o.h264[3].profile_idc, 0x64);
    assert_int_equal(o.h264[3].level_idc, 0x32);
}

static void test_the_camera_profile_wins_then_constrained_baseline(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    assert_int_equal(o.h264[webrtc_sdp_h264_choose(&o, 0x64)].pt, 106); /* High camera */
    /* unknown camera or Main: constrained baseline with mode 1 (104), never mode 0 (103) */
    assert_int_equal(o.h264[webrtc_sdp_h264_choose(&o, 0)].pt, 104);
    assert_int_equal(o.h264[webrtc_sdp_h264_choose(&o, 0x4d)].pt, 104);
}

static void test_session_level_ice_and_fingerprint_apply_to_video(void **state)
{
    static const char offer[] = "v=0\n"
                                "o=- 1 1 IN IP4 0.0.0.0\n"
                                "s=-\n"
                                "a=ice-ufrag:sess\n"
                                "a=ice-pwd:ssssssssssssssssssssssss\n"
                                "a=fingerprint:SHA-256 AA:BB\n"
                                "m=video 9 UDP/TLS/RTP/SAVPF 100\n"
                                "a=rtpmap:100 h264/90000\n"
                                "a=fmtp:100 packetization-mode=1\n";
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(offer, &o, err), 0);
    assert_string_equal(o.ice_ufrag, "sess");
    assert_string_equal(o.fingerprint_alg, "sha-256");
    assert_int_equal(o.fingerprint_len, 2);
    assert_true(o.video_sends); /* no direction: sendrecv */
    assert_false(o.h264[0].has_profile);
    assert_int_equal(webrtc_sdp_h264_choose(&o, 0x64), 0);
}

struct bad_case {
    const char *from, *to, *message;
    int nth; /* which occurrence of from: 1 = the first */
};

static void test_bad_offers_are_refused_naming_the_line_and_problem(void **state)
{
    static const struct bad_case cases[] = {
        {"v=0\r\n", "v=1\r\n", "line 1: an SDP offer starts with v=0", 1},
        {"s=-\r\n", "garbage\r\n", "line 3: not an SDP 'x=value' line", 1},
        {"m=video 9 UDP", "m=video x UDP", "line 20: m= line has no port", 1},
        {"m=video 9 UDP/TLS/RTP/SAVPF", "m=video 9 RTP/AVP",
         "line 20: video m= line protocol 'RTP/AVP' is not UDP/TLS/RTP/SAVPF", 1},
        {"m=video 9", "m=video 0", "offer has no video m= line", 1},
        {"a=ice-ufrag:aB3d\r\na=ice-pwd:0123456789abcdefABCDEF+/\r\na=ice-options:trickle\r\n"
         "a=fingerprint:sha-256 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:"
         "60:71:82:93:A4:B5:C6:D7:E8:F9\r\na=setup:actpass\r\na=mid:1",
         "a=mid:1", "offer has no a=ice-ufrag", 1},
        {"a=ice-pwd:0123456789abcdefABCDEF+/\r\na=ice-options:trickle\r\n"
         "a=fingerprint:sha-256 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:"
         "60:71:82:93:A4:B5:C6:D7:E8:F9\r\na=setup:actpass\r\na=mid:1",
         "a=ice-pwd:short\r\n", "line 24: a=ice-pwd must be 22 to 256 of A-Z a-z 0-9 + /", 1},
        {"a=fingerprint:sha-256 0A", "a=fingerprint:md5 0A",
         "line 26: a=fingerprint hash function 'md5' is not sha-1/256/384/512", 2},
        {"a=fingerprint:sha-256 0A", "a=fingerprint:sha-256 0G",
         "line 26: a=fingerprint is not colon-separated hex bytes", 2},
        {"a=mid:1\r\na=recvonly", "a=mid:1\r\na=sendonly",
         "line 29: the video m= line is sendonly: a viewer must receive", 1},
        {"SAVPF 96 97 102 103 104 106", "SAVPF 96 97",
         "offer has no H.264 or H.265 video (it has VP8 rtx)", 1},
        {"profile-level-id=640032", "profile-level-id=64003", /* */
         "line 42: a=fmtp profile-level-id must be 6 hex digits", 1},
        {"a=setup:actpass\r\na=mid:1", "a=setup:both\r\na=mid:1",
         "line 27: a=setup must be actpass, active or passive", 1},
        {"s=-", "s=\x01", "line 3: contains a control character", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = edit(cases[i].from, cases[i].to, cases[i].nth);
        struct webrtc_sdp_offer o;
        char err[200];
        assert_int_equal(parse(text, &o, err), HORUS_EPARSE);
        assert_string_equal(err, cases[i].message);
        free(text);
    }
}

static void test_only_packetization_mode_0_is_refused(void **state)
{
    static const char offer[] = "v=0\n"
                                "a=ice-ufrag:sess\n"
                                "a=ice-pwd:ssssssssssssssssssssssss\n"
                                "a=fingerprint:sha-256 AA:BB\n"
                                "m=video 9 UDP/TLS/RTP/SAVPF 100\n"
                                "a=rtpmap:100 H264/90000\n";
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(offer, &o, err), HORUS_EPARSE);
    assert_string_equal(err, "offer has no H.264 video with packetization-mode=1");
    assert_int_equal(webrtc_sdp_offer_parse("", 0, &o, err, sizeof(err)), HORUS_EPARSE);
    assert_string_equal(err, "the SDP offer is empty");
}

/* Our side of an answer: one host candidate, the H.264 format at h264_index. */
static struct webrtc_sdp_answer_options answer_options(int h264_index)
{
    return (struct webrtc_sdp_answer_options){
        .ice_ufrag = "Ufrag123",
        .ice_pwd = "PasswordPasswordPassword",
        .fingerprint_sha256 = "AA:BB",
        .ssrc = 12345,
        .session_id = 42,
        .h264_index = h264_index,
        .hosts = {"192.0.2.10"},
        .n_hosts = 1,
        .port = 8189,
    };
}

static void test_the_answer_sends_the_chosen_h264_and_rejects_the_rest(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    struct webrtc_sdp_answer_options opt = answer_options(webrtc_sdp_h264_choose(&o, 0x64));
    opt.hosts[1] = "2001:db8::1";
    opt.n_hosts = 2;
    char *ans = NULL;
    size_t len = 0;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), 0);
    assert_int_equal(len, strlen(ans));
    const char *expect[] = {
        "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 1\r\na=ice-lite\r\n",
        "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=inactive\r\n"
        "m=video 8189 UDP/TLS/RTP/SAVPF 106\r\n",
        "a=mid:1\r\na=ice-ufrag:Ufrag123\r\na=ice-pwd:PasswordPasswordPassword\r\n"
        "a=fingerprint:sha-256 AA:BB\r\na=setup:passive\r\na=sendonly\r\na=rtcp-mux\r\n"
        "a=rtcp-rsize\r\na=rtpmap:106 H264/90000\r\n",
        "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n",
        "a=ssrc:12345 cname:horus\r\n",
        "a=candidate:1 1 udp 2130706431 192.0.2.10 8189 typ host\r\n"
        "a=candidate:2 1 udp 2130706175 2001:db8::1 8189 typ host\r\na=end-of-candidates\r\n",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        if (strstr(ans, expect[i]) == NULL)
            fail_msg("answer lacks [%s]:\n%s", expect[i], ans);
    free(ans);
    opt.h264_index = 9;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), -22);
}

static void test_abs_capture_time_is_answered_when_offered_on_video(void **state)
{
    static const char uri[] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
    char line[256];
    snprintf(line, sizeof(line), "a=rtcp-rsize\r\na=extmap:13 %s\r\n", uri);
    char *offer = edit("a=rtcp-rsize\r\n", line, 1);
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(offer, &o, err), 0);
    assert_int_equal(o.abs_capture_id, 13);
    struct webrtc_sdp_answer_options opt = answer_options(0);
    char *ans = NULL;
    size_t len = 0;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), 0);
    snprintf(line, sizeof(line), "a=extmap:13 %s\r\n", uri);
    assert_non_null(strstr(ans, line));
    /* Generic NACK, PLI, FIR and receiver reference times are all answered. */
    assert_non_null(strstr(ans, "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
                                "a=rtcp-fb:102 ccm fir\r\na=rtcp-fb:102 rrtr\r\n"));
    free(ans);
    free(offer);
    /* An id past the one-byte form, or a direction suffix with another URI: not kept. */
    snprintf(line, sizeof(line), "a=rtcp-rsize\r\na=extmap:15 %s\r\na=extmap:3/recvonly %s-x\r\n",
             uri, uri);
    offer = edit("a=rtcp-rsize\r\n", line, 1);
    assert_int_equal(parse(offer, &o, err), 0);
    assert_int_equal(o.abs_capture_id, 0);
    free(offer);
    /* With a direction it counts; on the audio m-line it does not. */
    snprintf(line, sizeof(line), "a=rtcp-rsize\r\na=extmap:4/recvonly %s\r\n", uri);
    offer = edit("a=rtcp-rsize\r\n", line, 1);
    assert_int_equal(parse(offer, &o, err), 0);
    assert_int_equal(o.abs_capture_id, 4);
    free(offer);
    snprintf(line, sizeof(line), "a=rtcp-mux\r\na=extmap:5 %s\r\n", uri);
    offer = edit("a=rtcp-mux\r\n", line, 1); /* the first: audio's */
    assert_int_equal(parse(offer, &o, err), 0);
    assert_int_equal(o.abs_capture_id, 0);
    free(offer);
}

static void test_opus_audio_is_answered_in_the_bundle_when_asked(void **state)
{
    (void)state;
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    assert_int_equal(o.audio_index, 0);
    assert_int_equal(o.opus_pt, 111);
    struct webrtc_sdp_answer_options opt = answer_options(webrtc_sdp_h264_choose(&o, 0x42));
    opt.audio = true;
    opt.audio_pt = o.opus_pt;
    opt.audio_ssrc = 777;
    char *ans = NULL;
    size_t len = 0;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), 0);
    const char *expect[] = {
        "a=group:BUNDLE 0 1\r\n",
        "m=audio 8189 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=ice-ufrag:Ufrag123\r\na=ice-pwd:PasswordPasswordPassword\r\n"
        "a=fingerprint:sha-256 AA:BB\r\na=setup:passive\r\na=sendonly\r\na=rtcp-mux\r\n",
        "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10\r\n"
        "a=ssrc:777 cname:horus\r\na=msid:horus audio\r\n",
        "a=ssrc:12345 cname:horus\r\na=msid:horus video\r\n",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        if (strstr(ans, expect[i]) == NULL)
            fail_msg("answer lacks [%s]:\n%s", expect[i], ans);
    assert_null(strstr(ans, "a=inactive"));
    free(ans);

    /* Without Opus among its formats, the line is still taken for the G.711 it lists (static
     * types 0 and 8, which every browser offers): a G.711 camera's sound goes as it is. */
    static const struct {
        const char *from, *to;
    } g711_only[] = {
        {"a=rtpmap:111 opus/48000/2", "a=rtpmap:111 PCMU/8000"},
        {"SAVPF 111 0 8", "SAVPF 0 8"}, /* Opus mapped but not listed */
    };
    for (size_t i = 0; i < sizeof(g711_only) / sizeof(g711_only[0]); i++) {
        char *offer = edit(g711_only[i].from, g711_only[i].to, 1);
        assert_int_equal(parse(offer, &o, err), 0);
        assert_int_equal(o.audio_index, 0);
        assert_int_equal(o.opus_pt, 0);
        assert_true(o.has_pcmu && o.has_pcma);
        free(offer);
    }
    opt.audio_pt = 8;
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), 0);
    if (!strstr(ans, "m=audio 8189 UDP/TLS/RTP/SAVPF 8\r\n") ||
        !strstr(ans, "a=rtpmap:8 PCMA/8000\r\n") || strstr(ans, "opus"))
        fail_msg("a G.711 answer:\n%s", ans);
    free(ans);
    opt.audio_pt = o.opus_pt;

    /* Audio the viewer only sends, or with neither Opus nor G.711, is not answered. */
    static const struct {
        const char *from, *to;
        int nth;
    } no_audio[] = {
        {"a=recvonly\r\n", "a=sendonly\r\n", 1},
        {"a=recvonly\r\n", "a=inactive\r\n", 1},
        {"SAVPF 111 0 8", "SAVPF 9", 1}, /* G.722 only */
        {"a=mid:0\r\n", "", 1}, /* no mid: no BUNDLE */
    };
    for (size_t i = 0; i < sizeof(no_audio) / sizeof(no_audio[0]); i++) {
        char *offer = edit(no_audio[i].from, no_audio[i].to, no_audio[i].nth);
        assert_int_equal(parse(offer, &o, err), 0);
        if (o.audio_index != -1 || o.opus_pt != 0)
            fail_msg("case %zu: audio %d pt %u", i, o.audio_index, (unsigned)o.opus_pt);
        assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, &len), -22);
        free(offer);
    }
}

/* ICE-TCP (RFC 6544): a passive TCP candidate per host after the UDP ones, each below every
 * UDP candidate; a TCP-only node's m-line carries the TCP port (0 would reject the line). */
static void test_ice_tcp_candidates_follow_udp_with_lower_priority(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(parse(chrome_offer, &o, err), 0);
    struct webrtc_sdp_answer_options opt = answer_options(webrtc_sdp_h264_choose(&o, 0x64));
    opt.hosts[1] = "2001:db8::1";
    opt.n_hosts = 2;
    opt.tcp_port = 8443;
    char *ans = NULL;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), 0);
    static const char both[] =
        "a=candidate:1 1 udp 2130706431 192.0.2.10 8189 typ host\r\n"
        "a=candidate:2 1 udp 2130706175 2001:db8::1 8189 typ host\r\n"
        "a=candidate:9 1 tcp 2124414975 192.0.2.10 8443 typ host tcptype passive\r\n"
        "a=candidate:10 1 tcp 2124414719 2001:db8::1 8443 typ host tcptype passive\r\n"
        "a=end-of-candidates\r\n";
    if (!strstr(ans, both))
        fail_msg("answer lacks [%s]:\n%s", both, ans);
    assert_non_null(strstr(ans, "m=video 8189 "));
    free(ans);

    opt.port = 0; /* TCP only: UDP blocked */
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), 0);
    assert_null(strstr(ans, " udp "));
    assert_non_null(strstr(ans, "m=video 8443 "));
    assert_non_null(strstr(ans, "a=candidate:9 1 tcp 2124414975 192.0.2.10 8443 typ host "
                                "tcptype passive\r\na=candidate:10 "));
    free(ans);
}

/* GStreamer webrtcbin's shape of a recvonly H.265 offer, with an H.264 format beside it. */
static const char h265_offer[] = "v=0\r\n"
                                 "o=- 1 0 IN IP4 0.0.0.0\r\n"
                                 "s=-\r\n"
                                 "t=0 0\r\n"
                                 "a=group:BUNDLE video0\r\n"
                                 "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99\r\n"
                                 "c=IN IP4 0.0.0.0\r\n"
                                 "a=setup:actpass\r\n"
                                 "a=ice-ufrag:aB3d\r\n"
                                 "a=ice-pwd:0123456789abcdefABCDEF+/\r\n"
                                 "a=mid:video0\r\n"
                                 "a=rtcp-mux\r\n"
                                 "a=recvonly\r\n"
                                 "a=rtpmap:96 H265/90000\r\n"
                                 "a=fmtp:96 profile-id=2;tier-flag=0;level-id=120;tx-mode=SRST\r\n"
                                 "a=rtpmap:97 H265/90000\r\n"
                                 "a=fmtp:97 profile-id=1;tx-mode=MRST\r\n"
                                 "a=rtpmap:98 H265/90000\r\n"
                                 "a=fmtp:98 profile-id=1;level-id=93\r\n"
                                 "a=rtpmap:99 H264/90000\r\n"
                                 "a=fmtp:99 packetization-mode=1;profile-level-id=42e01f\r\n"
                                 "a=fingerprint:sha-256 AA:BB\r\n";

static void test_h265_formats_are_parsed_and_chosen_by_profile_srst_only(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(webrtc_sdp_offer_parse(h265_offer, strlen(h265_offer), &o, err, 200), 0);
    assert_string_equal(o.video_codecs, "H265 H264");
    assert_int_equal(o.n_h264, 1);
    assert_int_equal(o.n_h265, 3);
    assert_int_equal(o.h265[0].pt, 96);
    assert_int_equal(o.h265[0].profile_id, 2);
    assert_int_equal(o.h265[0].tier_flag, 0);
    assert_int_equal(o.h265[0].level_id, 120);
    assert_int_equal(o.h265[0].tx_mode, 1);
    assert_int_equal(o.h265[1].tx_mode, 2);
    assert_int_equal(o.h265[2].tier_flag, -1);
    assert_int_equal(o.h265[2].tx_mode, 0);
    /* Main 10 camera: 96; Main camera: 98 (97 is MRST); unknown: the first SRST */
    assert_int_equal(o.h265[webrtc_sdp_h265_choose(&o, 2)].pt, 96);
    assert_int_equal(o.h265[webrtc_sdp_h265_choose(&o, 1)].pt, 98);
    assert_int_equal(o.h265[webrtc_sdp_h265_choose(&o, 0)].pt, 96);

    /* H.265 alone is an offer; H.265 of several RTP streams alone is not */
    char *text = strdup(h265_offer);
    *strstr(text, "a=rtpmap:99 H264") = '\0';
    strcat(text, "a=fingerprint:sha-256 AA:BB\r\n");
    assert_int_equal(webrtc_sdp_offer_parse(text, strlen(text), &o, err, 200), 0);
    assert_int_equal(o.n_h264, 0);
    assert_int_equal(webrtc_sdp_h264_choose(&o, 0), -1);
    *strstr(text, "a=rtpmap:96") = '\0';
    strcat(text, "a=rtpmap:97 H265/90000\r\na=fmtp:97 tx-mode=MRMT\r\n"
                 "a=fingerprint:sha-256 AA:BB\r\n");
    assert_int_equal(webrtc_sdp_offer_parse(text, strlen(text), &o, err, 200), HORUS_EPARSE);
    assert_string_equal(
        err, "offer has no H.264 video with packetization-mode=1 nor H.265 with tx-mode=SRST");
    free(text);
    text = strdup(h265_offer);
    memcpy(strstr(text, "level-id=120"), "level-id=999", 12);
    assert_int_equal(webrtc_sdp_offer_parse(text, strlen(text), &o, err, 200), HORUS_EPARSE);
    assert_string_equal(err, "line 15: a=fmtp level-id must be 0 to 255");
    free(text);
}

static void test_the_answer_sends_h265_with_the_offers_fmtp_echoed(void **state)
{
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(webrtc_sdp_offer_parse(h265_offer, strlen(h265_offer), &o, err, 200), 0);
    struct webrtc_sdp_answer_options opt = answer_options(-1);
    opt.h265 = true;
    opt.h265_index = webrtc_sdp_h265_choose(&o, 2);
    char *ans = NULL;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), 0);
    const char *expect[] = {
        "a=group:BUNDLE video0\r\n",
        "m=video 8189 UDP/TLS/RTP/SAVPF 96\r\n",
        "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 H265/90000\r\n"
        "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 ccm fir\r\n",
        "a=fmtp:96 profile-id=2;tier-flag=0;level-id=120;tx-mode=SRST\r\n",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        if (strstr(ans, expect[i]) == NULL)
            fail_msg("answer lacks [%s]:\n%s", expect[i], ans);
    assert_null(strstr(ans, "H264"));
    free(ans);
    /* what the offer left out is left out: no fmtp for a format without one */
    opt.h265_index = 2;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), 0);
    if (strstr(ans, "a=fmtp:98 profile-id=1;level-id=93\r\n") == NULL)
        fail_msg("answer lacks 98's fmtp:\n%s", ans);
    free(ans);
    opt.h265_index = 3;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), -22);
    opt.h265 = false; /* h264_index -1 */
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), -22);
}

/* GStreamer's max-bundle shape: the audio line after the first is port 0 with a=bundle-only. */
static void test_a_bundle_only_audio_line_is_answered_a_plain_port_0_one_is_not(void **state)
{
    static const char base[] = "v=0\r\n"
                               "a=group:BUNDLE video0 audio1 audio2\r\n"
                               "a=ice-ufrag:aB3d\r\n"
                               "a=ice-pwd:0123456789abcdefABCDEF+/\r\n"
                               "a=fingerprint:sha-256 AA:BB\r\n"
                               "m=video 9 UDP/TLS/RTP/SAVPF 102\r\n"
                               "a=mid:video0\r\n"
                               "a=recvonly\r\n"
                               "a=rtpmap:102 H264/90000\r\n"
                               "a=fmtp:102 packetization-mode=1\r\n"
                               "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
                               "a=bundle-only\r\n"
                               "a=recvonly\r\n"
                               "a=rtpmap:111 OPUS/48000\r\n"
                               "a=mid:audio1\r\n";
    struct webrtc_sdp_offer o;
    char err[200];
    assert_int_equal(webrtc_sdp_offer_parse(base, strlen(base), &o, err, 200), 0);
    assert_int_equal(o.audio_index, 1);
    assert_int_equal(o.opus_pt, 111);
    struct webrtc_sdp_answer_options opt = answer_options(0);
    opt.audio = true;
    opt.audio_pt = o.opus_pt;
    char *ans = NULL;
    assert_int_equal(webrtc_sdp_answer_write(&o, &opt, &ans, NULL), 0);
    const char *expect[] = {
        "a=group:BUNDLE video0 audio1\r\n",
        "a=msid-semantic: WMS horus\r\na=fingerprint:sha-256 AA:BB\r\nm=video",
        "m=audio 8189 UDP/TLS/RTP/SAVPF 111\r\n",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        if (strstr(ans, expect[i]) == NULL)
            fail_msg("answer lacks [%s]:\n%s", expect[i], ans);
    free(ans);

    /* without a=bundle-only, port 0 rejects the line: the next audio line is the one */
    char text[sizeof(base) + 200];
    strcpy(text, base);
    memcpy(strstr(text, "a=bundle-only"), "a=x-nothing-", 12);
    assert_int_equal(webrtc_sdp_offer_parse(text, strlen(text), &o, err, 200), 0);
    assert_int_equal(o.audio_index, -1);
    assert_int_equal(o.opus_pt, 0);
    strcat(text,
           "m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=rtpmap:109 opus/48000/2\r\na=mid:audio2\r\n");
    assert_int_equal(webrtc_sdp_offer_parse(text, strlen(text), &o, err, 200), 0);
    assert_int_equal(o.audio_index, 2);
    assert_int_equal(o.opus_pt, 109);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_browser_offer_gives_ice_dtls_and_h264_formats),
        cmocka_unit_test(test_the_camera_profile_wins_then_constrained_baseline),
        cmocka_unit_test(test_session_level_ice_and_fingerprint_apply_to_video),
        cmocka_unit_test(test_bad_offers_are_refused_naming_the_line_and_problem),
        cmocka_unit_test(test_only_packetization_mode_0_is_refused),
        cmocka_unit_test(test_the_answer_sends_the_chosen_h264_and_rejects_the_rest),
        cmocka_unit_test(test_abs_capture_time_is_answered_when_offered_on_video),
        cmocka_unit_test(test_opus_audio_is_answered_in_the_bundle_when_asked),
        cmocka_unit_test(test_ice_tcp_candidates_follow_udp_with_lower_priority),
        cmocka_unit_test(test_h265_formats_are_parsed_and_chosen_by_profile_srst_only),
        cmocka_unit_test(test_the_answer_sends_h265_with_the_offers_fmtp_echoed),
        cmocka_unit_test(test_a_bundle_only_audio_line_is_answered_a_plain_port_0_one_is_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
