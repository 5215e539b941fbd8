/*
 * Tests for src/ingest/rtsp_conn.c: the session state machine against
 * canned byte exchanges, as a camera (and horus-camsim) answers: the
 * requests it writes, the events it raises, and how each failure is
 * classified.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct events {
    unsigned describes, plays, packets, rtcp;
    bool has_video, has_audio;
    struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS];
    int last_track;
    size_t last_len;
    int describe_rc;
};

static int describe_cb(void *arg, const struct ing_sdp_media *video,
                       const struct ing_sdp_media *audio)
{
    struct events *e = arg;
    e->describes++;
    e->has_video = video != NULL;
    e->has_audio = audio != NULL;
    return e->describe_rc;
}

static void play_cb(void *arg, const struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS])
{
    struct events *e = arg;
    e->plays++;
    memcpy(e->info, info, sizeof(e->info));
}

static void packet_cb(void *arg, enum ing_rtsp_track track, bool is_rtcp, const uint8_t *data,
                      size_t len)
{
    struct events *e = arg;
    if (is_rtcp)
        e->rtcp++;
    else
        e->packets++;
    e->last_track = (int)track;
    e->last_len = len;
}

static const struct ing_rtsp_conn_cbs cbs = {describe_cb, play_cb, packet_cb};

struct fixture {
    struct ing_rtsp_conn c;
    struct events e;
    char sent[ING_RTSP_OUT_MAX + 1];
};

static int setup(void **state)
{
    *state = calloc(1, sizeof(struct fixture));
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* Takes what the session queued: the requests it would send now. */
static const char *take(struct fixture *f)
{
    memcpy(f->sent, f->c.out, f->c.out_len);
    f->sent[f->c.out_len] = '\0';
    ing_rtsp_conn_sent(&f->c, f->c.out_len);
    return f->sent;
}

static long feed(struct fixture *f, const char *text)
{
    return ing_rtsp_conn_input(&f->c, (const uint8_t *)text, strlen(text));
}

static const char SDP[] = "v=0\r\ns=cam\r\nt=0 0\r\na=control:*\r\n"
                          "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                          "a=fmtp:96 packetization-mode=1;sprop-parameter-sets="
                          "Z0LAHtoCgL/lwEQAAAMABAAAAwDKPFi6gA==,aM4PyA==\r\n"
                          "a=control:trackID=0\r\n"
                          "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/1\r\n"
                          "a=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;"
                          "indexdeltalength=3;config=1188\r\n"
                          "a=control:trackID=1\r\n";

static void reply_describe(struct fixture *f, int cseq)
{
    char r[2048];
    snprintf(r, sizeof(r),
             "RTSP/1.0 200 OK\r\nCSeq: %d\r\nContent-Type: application/sdp\r\n"
             "Content-Base: rtsp://127.0.0.1:8554/cam1/\r\nContent-Length: %zu\r\n\r\n%s",
             cseq, strlen(SDP), SDP);
    assert_int_equal(feed(f, r), (long)strlen(r));
}

static void test_a_digest_camera_is_set_up_and_played_over_tcp(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        ing_rtsp_conn_init(&f->c, "rtsp://admin:s3cret@127.0.0.1:8554/cam1", &cbs, &f->e), 0);
    const char *req = take(f);
    assert_non_null(strstr(req, "OPTIONS rtsp://127.0.0.1:8554/cam1 RTSP/1.0\r\nCSeq: 1\r\n"));
    assert_null(strstr(req, "s3cret"));
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, "
            "GET_PARAMETER\r\n\r\n");
    req = take(f);
    assert_non_null(strstr(req, "DESCRIBE rtsp://127.0.0.1:8554/cam1 RTSP/1.0\r\nCSeq: 2\r\n"));
    assert_non_null(strstr(req, "Accept: application/sdp\r\n"));
    assert_null(strstr(req, "Authorization"));

    /* 401 offering Basic and Digest: the retry answers the Digest challenge. */
    feed(f, "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n"
            "WWW-Authenticate: Basic realm=\"cam\"\r\n"
            "WWW-Authenticate: Digest realm=\"cam\", nonce=\"abc123\", algorithm=MD5\r\n\r\n");
    req = take(f);
    assert_non_null(strstr(req, "DESCRIBE rtsp://127.0.0.1:8554/cam1 RTSP/1.0\r\nCSeq: 3\r\n"));
    assert_non_null(strstr(req, "Authorization: Digest username=\"admin\", realm=\"cam\", "
                                "nonce=\"abc123\", uri=\"rtsp://127.0.0.1:8554/cam1\", "
                                "response=\""));
    assert_null(strstr(req, "s3cret"));

    reply_describe(f, 3);
    assert_int_equal(f->e.describes, 1);
    assert_true(f->e.has_video && f->e.has_audio);
    req = take(f);
    assert_non_null(
        strstr(req, "SETUP rtsp://127.0.0.1:8554/cam1/trackID=0 RTSP/1.0\r\nCSeq: 4\r\n"));
    assert_non_null(strstr(req, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"));
    assert_non_null(strstr(req, "Authorization: Digest"));

    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 5EED;timeout=30\r\n"
            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
    assert_string_equal(f->c.session, "5EED");
    assert_int_equal(f->c.timeout_s, 30);
    req = take(f);
    assert_non_null(strstr(req, "SETUP rtsp://127.0.0.1:8554/cam1/trackID=1 RTSP/1.0\r\n"));
    assert_non_null(strstr(req, "Session: 5EED\r\n"));
    assert_non_null(strstr(req, "interleaved=2-3"));

    /* The server moves audio to channels 6-7. */
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: 5EED;timeout=30\r\n"
            "Transport: RTP/AVP/TCP;unicast;interleaved=6-7\r\n\r\n");
    req = take(f);
    assert_non_null(strstr(req, "PLAY rtsp://127.0.0.1:8554/cam1/ RTSP/1.0\r\nCSeq: 6\r\n"));
    assert_non_null(strstr(req, "Range: npt=0.000-\r\n"));

    /* PLAY's reply, a video frame, an audio RTCP frame and half a frame, in one read. */
    static const char play[] = "RTSP/1.0 200 OK\r\nCSeq: 6\r\nSession: 5EED\r\n"
                               "RTP-Info: url=rtsp://127.0.0.1:8554/cam1/trackID=0;seq=100;"
                               "rtptime=5,url=rtsp://127.0.0.1:8554/cam1/trackID=1;seq=7\r\n\r\n";
    uint8_t buf[512];
    size_t n = strlen(play);
    memcpy(buf, play, n);
    static const uint8_t frames[] = {'$', 0, 0, 2, 0x80, 0x60, '$', 7, 0, 1, 0x81, '$', 6, 0, 9, 1};
    memcpy(buf + n, frames, sizeof(frames));
    long used = ing_rtsp_conn_input(&f->c, buf, n + sizeof(frames));
    assert_int_equal(used, (long)(n + 11)); /* the half frame waits */
    assert_int_equal(f->c.phase, ING_RTSP_PLAYING);
    assert_int_equal(f->e.plays, 1);
    assert_true(f->e.info[0].has_seq && f->e.info[1].has_seq);
    assert_int_equal(f->e.info[0].seq, 100);
    assert_int_equal(f->e.info[1].seq, 7);
    assert_int_equal(f->e.packets, 1);
    assert_int_equal(f->e.rtcp, 1);
    assert_int_equal(f->e.last_track, ING_RTSP_AUDIO);

    /* Keep-alive, a server request, garbage between frames, teardown. */
    ing_rtsp_conn_keepalive(&f->c);
    req = take(f);
    assert_non_null(strstr(req, "GET_PARAMETER rtsp://127.0.0.1:8554/cam1/ RTSP/1.0\r\n"));
    assert_non_null(strstr(req, "Session: 5EED\r\n"));
    assert_true(feed(f, "RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\n") > 0);
    assert_true(feed(f, "ANNOUNCE rtsp://x/ RTSP/1.0\r\nCSeq: 40\r\n\r\n") > 0);
    assert_non_null(strstr(take(f), "RTSP/1.0 501 Not Implemented\r\nCSeq: 40\r\n"));
    static const uint8_t junk[] = {0xff, 0xfe, '$', 0, 0, 1, 0x80};
    assert_int_equal(ing_rtsp_conn_input(&f->c, junk, sizeof(junk)), (long)sizeof(junk));
    assert_int_equal(f->e.packets, 2);
    ing_rtsp_conn_teardown(&f->c);
    assert_non_null(strstr(take(f), "TEARDOWN rtsp://127.0.0.1:8554/cam1/ RTSP/1.0\r\n"));
    ing_rtsp_conn_closed(&f->c, 0);
    assert_int_equal(f->c.reason, ING_REASON_CLOSED);
}

static void test_wrong_or_missing_credentials_fail_as_auth_failed(void **state)
{
    struct fixture *f = *state;
    static const char challenge[] = "RTSP/1.0 401 Unauthorized\r\nCSeq: %d\r\n"
                                    "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n\r\n";
    char r[256];
    ing_rtsp_conn_init(&f->c, "rtsp://u:wrong@h/cam", &cbs, &f->e);
    snprintf(r, sizeof(r), challenge, 1);
    feed(f, r); /* OPTIONS itself may be protected */
    snprintf(r, sizeof(r), challenge, 2);
    assert_true(feed(f, r) < 0);
    assert_int_equal(f->c.phase, ING_RTSP_FAILED);
    assert_int_equal(f->c.reason, ING_REASON_AUTH_FAILED);
    assert_non_null(strstr(f->c.error, "authentication failed"));
    assert_null(strstr(f->c.error, "wrong"));

    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    snprintf(r, sizeof(r), challenge, 1);
    assert_true(feed(f, r) < 0);
    assert_int_equal(f->c.reason, ING_REASON_AUTH_FAILED);
}

static void test_replies_map_to_failure_reasons(void **state)
{
    struct fixture *f = *state;
    ing_rtsp_conn_init(&f->c, "rtsp://h/nope", &cbs, &f->e);
    feed(f, "RTSP/1.0 501 Not Implemented\r\nCSeq: 1\r\n\r\n"); /* OPTIONS refused: go on */
    assert_int_equal(f->c.phase, ING_RTSP_DESCRIBE);
    assert_true(feed(f, "RTSP/1.0 404 Not Found\r\nCSeq: 2\r\n\r\n") < 0);
    assert_int_equal(f->c.reason, ING_REASON_NOT_FOUND);

    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    assert_true(feed(f, "HTTP/1.0 400 Bad Request\r\n\r\n") < 0);
    assert_int_equal(f->c.reason, ING_REASON_NOT_RTSP);

    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    static const char g722[] = "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 48\r\n\r\n"
                               "v=0\r\nm=audio 0 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";
    assert_true(feed(f, g722) < 0);
    assert_int_equal(f->c.reason, ING_REASON_UNSUPPORTED);

    ing_rtsp_conn_init(&f->c, "rtsp://127.0.0.1:8554/cam1", &cbs, &f->e);
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    reply_describe(f, 2);
    assert_true(feed(f, "RTSP/1.0 461 Unsupported Transport\r\nCSeq: 3\r\n\r\n") < 0);
    assert_int_equal(f->c.reason, ING_REASON_UNSUPPORTED);
    assert_string_equal(f->c.error,
                        "the camera refuses RTP over TCP: SETUP replied 461 Unsupported Transport");

    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    ing_rtsp_conn_closed(&f->c, 0);
    assert_int_equal(f->c.reason, ING_REASON_UNREACHABLE);
    assert_string_equal(f->c.error, "unreachable: connection reset before any answer");

    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    ing_rtsp_conn_closed(&f->c, -ECONNREFUSED);
    assert_int_equal(f->c.reason, ING_REASON_UNREACHABLE);

    assert_int_equal(ing_rtsp_conn_init(&f->c, "http://h/cam", &cbs, &f->e), HORUS_EPARSE);
}

/*
 * Transport udp: SETUP asks for the owner's ports, the reply's server
 * ports are kept for our reports, interleaved frames are not media, and a
 * 461 names UDP (it is not a TCP refusal that auto would act on).
 */
static void test_a_camera_is_set_up_and_played_over_udp(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ing_rtsp_conn_init(&f->c, "rtsp://127.0.0.1:8554/cam1", &cbs, &f->e), 0);
    f->c.is_udp = true;
    take(f);
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    take(f);
    f->c.client_port[ING_RTSP_VIDEO] = 50000;
    f->c.client_port[ING_RTSP_AUDIO] = 50002;
    reply_describe(f, 2);
    const char *req = take(f);
    assert_non_null(strstr(req, "SETUP rtsp://127.0.0.1:8554/cam1/trackID=0 RTSP/1.0\r\n"));
    assert_non_null(strstr(req, "Transport: RTP/AVP;unicast;client_port=50000-50001\r\n"));
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: AB\r\n"
            "Transport: RTP/AVP;unicast;client_port=50000-50001;server_port=20000-20001;"
            "ssrc=1234\r\n\r\n");
    req = take(f);
    assert_non_null(strstr(req, "client_port=50002-50003\r\n"));
    /* A reply without server ports: media comes, our reports for the track do not go. */
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: AB\r\n"
            "Transport: RTP/AVP;unicast;client_port=50002-50003\r\n\r\n");
    assert_int_equal(f->c.server_port[ING_RTSP_VIDEO][0], 20000);
    assert_int_equal(f->c.server_port[ING_RTSP_VIDEO][1], 20001);
    assert_int_equal(f->c.server_port[ING_RTSP_AUDIO][1], -1);
    assert_non_null(strstr(take(f), "PLAY rtsp://127.0.0.1:8554/cam1/ RTSP/1.0\r\n"));
    static const char play[] = "RTSP/1.0 200 OK\r\nCSeq: 5\r\nSession: AB\r\n\r\n";
    uint8_t buf[128];
    size_t n = strlen(play);
    memcpy(buf, play, n);
    static const uint8_t frame[] = {'$', 0, 0, 2, 0x80, 0x60};
    memcpy(buf + n, frame, sizeof(frame));
    assert_int_equal(ing_rtsp_conn_input(&f->c, buf, n + sizeof(frame)), (long)(n + sizeof(frame)));
    assert_int_equal(f->c.phase, ING_RTSP_PLAYING);
    assert_int_equal(f->e.packets, 0);

    /* The camera set up TCP instead, or refuses UDP. */
    ing_rtsp_conn_init(&f->c, "rtsp://127.0.0.1:8554/cam1", &cbs, &f->e);
    f->c.is_udp = true;
    f->c.client_port[0] = f->c.client_port[1] = 50000;
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    reply_describe(f, 2);
    assert_true(feed(f, "RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: AB\r\n"
                        "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n") < 0);
    assert_int_equal(f->c.reason, ING_REASON_UNSUPPORTED);
    assert_non_null(strstr(f->c.error, "did not set up unicast RTP over UDP"));
    ing_rtsp_conn_init(&f->c, "rtsp://127.0.0.1:8554/cam1", &cbs, &f->e);
    f->c.is_udp = true;
    f->c.client_port[0] = f->c.client_port[1] = 50000;
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    reply_describe(f, 2);
    assert_true(feed(f, "RTSP/1.0 461 Unsupported Transport\r\nCSeq: 3\r\n\r\n") < 0);
    assert_string_equal(f->c.error,
                        "the camera refuses RTP over UDP: SETUP replied 461 Unsupported Transport");
    assert_false(f->c.is_tcp_refused);
    /* No port from the owner: the SETUP is not sent. */
    ing_rtsp_conn_init(&f->c, "rtsp://127.0.0.1:8554/cam1", &cbs, &f->e);
    f->c.is_udp = true;
    feed(f, "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    take(f);
    char r[2048];
    snprintf(r, sizeof(r),
             "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(SDP), SDP);
    assert_true(feed(f, r) < 0);
    assert_string_equal(f->c.error, "no UDP port to receive the track on");
    assert_null(strstr(take(f), "SETUP"));
}

static void test_a_reply_split_across_reads_is_taken_when_whole(void **state)
{
    struct fixture *f = *state;
    ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
    static const char r[] = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE\r\n\r\n";
    for (size_t cut = 1; cut < sizeof(r) - 1; cut++) {
        ing_rtsp_conn_init(&f->c, "rtsp://h/cam", &cbs, &f->e);
        assert_int_equal(ing_rtsp_conn_input(&f->c, (const uint8_t *)r, cut), 0);
        assert_int_equal(ing_rtsp_conn_input(&f->c, (const uint8_t *)r, sizeof(r) - 1),
                         (long)(sizeof(r) - 1));
        assert_int_equal(f->c.phase, ING_RTSP_DESCRIBE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_digest_camera_is_set_up_and_played_over_tcp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_or_missing_credentials_fail_as_auth_failed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_map_to_failure_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_camera_is_set_up_and_played_over_udp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_reply_split_across_reads_is_taken_when_whole, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
