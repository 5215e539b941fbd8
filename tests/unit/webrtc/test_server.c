/*
 * Tests for src/webrtc/server.c and session.c with a peer made of real
 * parts on loopback: a UDP socket, STUN requests built and checked with
 * the session's credentials, an OpenSSL DTLS client, and libsrtp keyed
 * from its handshake; media comes from a real relay feed. The peer is
 * answered only with the right password, receives the camera's keyframe
 * with its parameter sets first, makes the session wait for the next
 * keyframe with a PLI, gets a lost packet again with a NACK; a viewer
 * whose consent runs out, one that never starts DTLS and one deleted
 * through the API go away. Waits are poll() on the
 * socket with deadlines, never sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "peer.h"
#include "server_int.h"
#include "stun_int.h"

#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t avcc[] = {1,    0x42, 0xe0, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67,
                               0x42, 0xe0, 0x1f, 0x01, 0x00, 0x02, 0x68, 0xce};

struct peer {
    struct whep_peer w;
    SSL_CTX *ctx;
    char fp[100];
    srtp_policy_t in_policy; /* for a fresh receiver: a NACKed packet it never saw */
};

static void peer_open_on(struct peer *p, uint16_t port, bool tcp)
{
    memset(p, 0, sizeof(*p));
    p->ctx = whep_peer_identity(p->fp);
    assert_non_null(p->ctx);
    struct sockaddr_in server = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(tcp ? whep_peer_open_tcp(&p->w, &server) : whep_peer_open(&p->w, &server), 0);
}

static void peer_open(struct peer *p, uint16_t port)
{
    peer_open_on(p, port, false);
}

static void peer_close(struct peer *p)
{
    whep_peer_close(&p->w);
    SSL_CTX_free(p->ctx);
}

static size_t peer_recv(struct peer *p, uint8_t *buf, size_t cap, int ms)
{
    return whep_peer_recv(&p->w, buf, cap, ms);
}

static void copy_attr(const char *sdp, const char *name, char *out, size_t cap)
{
    const char *at = strstr(sdp, name);
    assert_non_null(at);
    at += strlen(name);
    size_t n = strcspn(at, "\r\n");
    assert_true(n < cap);
    memcpy(out, at, n);
    out[n] = '\0';
}

static char *offer_text(const struct peer *p)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
             "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
             "a=ice-ufrag:peer\r\na=ice-pwd:peerpasswordpeerpassword\r\n"
             "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\n"
             "a=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
             "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n",
             p->fp);
    return buf;
}

/* A binding request with the given password; true when the server answered it correctly. */
static bool stun_check(struct peer *p, const char *pwd)
{
    uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, (uint8_t)pwd[0]};
    uint8_t resp[256];
    assert_int_equal(whep_peer_stun(&p->w, "peer", pwd, true, txid), 0);
    size_t got;
    do /* media and sender reports may come first */
        got = peer_recv(p, resp, sizeof(resp), 300);
    while (got > 0 && webrtc_demux_classify(resp, got) != WEBRTC_DEMUX_STUN);
    if (got == 0)
        return false;
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(resp, got, &m), 0);
    assert_int_equal(m.type, WEBRTC_STUN_BINDING_SUCCESS);
    assert_memory_equal(m.txid, txid, 12);
    assert_int_equal(webrtc_stun_check_integrity(resp, &m, p->w.pwd, strlen(p->w.pwd)), 0);
    return true;
}

struct count_ctx {
    unsigned answers;
};

/* Each frame a viewer reads must be a whole Binding success response. */
static int count_answer(void *arg, uint8_t *frame, size_t len)
{
    struct count_ctx *c = arg;
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(frame, len, &m), 0);
    assert_int_equal(m.type, WEBRTC_STUN_BINDING_SUCCESS);
    c->answers++;
    return 0;
}

static void dtls_connect(struct peer *p)
{
    char err[120] = "";
    if (whep_peer_dtls(&p->w, p->ctx, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    whep_peer_policy(&p->in_policy, p->w.in_master, ssrc_any_inbound);
}

/* The next RTP packet (RTCP skipped), decrypted into buf; its length, 0 on timeout. */
static size_t next_rtp(struct peer *p, uint8_t *buf, size_t cap, int ms)
{
    for (;;) {
        size_t n = peer_recv(p, buf, cap, ms);
        if (n == 0)
            return 0;
        int len = (int)n;
        if (webrtc_demux_classify(buf, n) != WEBRTC_DEMUX_RTP)
            fail_msg("not RTP: %zu bytes, first %02x %02x", n, buf[0], buf[1]);
        if (buf[1] >= 192 && buf[1] <= 223) { /* a sender report: it must open too */
            assert_int_equal(srtp_unprotect_rtcp(p->w.in, buf, &len), srtp_err_status_ok);
            continue;
        }
        assert_int_equal(srtp_unprotect(p->w.in, buf, &len), srtp_err_status_ok);
        return (size_t)len;
    }
}

static void send_rtcp(struct peer *p, const uint8_t *pkt, size_t len)
{
    uint8_t buf[256];
    memcpy(buf, pkt, len);
    int n = (int)len;
    assert_int_equal(srtp_protect_rtcp(p->w.out, buf, &n), srtp_err_status_ok);
    assert_int_equal(whep_peer_send(&p->w, buf, (size_t)n), 0);
}

static void push_frame(media_sink *sink, media_stream *st, bool key, int64_t pts, uint8_t tag)
{
    media_packet *pkt = media_packet_new(st, 4 + 40);
    memcpy(pkt->data, "\0\0\0\x28", 4); /* one NAL unit of 40 bytes */
    pkt->data[4] = key ? 0x65 : 0x41;
    memset(pkt->data + 5, tag, 39);
    pkt->is_keyframe = key;
    pkt->pts = pkt->dts = pts;
    sink->ops->packet_cb(sink, pkt);
    media_packet_unref(pkt);
}

/* A relay whose camera "cam" streams H.264 on "main", a keyframe already in memory. */
static media_stream *relay_with_keyframe(relay_hub **hub, media_sink **sink)
{
    assert_int_equal(relay_hub_new(&(struct relay_hub_options){0}, hub), 0);
    *sink = relay_hub_attach(*hub, "cam", "main");
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    (*sink)->ops->stream_cb(*sink, st);
    push_frame(*sink, st, true, 0, 0xaa);
    return st;
}

/* The whole life of a viewer, over UDP or (tcp) over ICE-TCP alone: the same protocol. */
static void peer_connects_plays_asks_keyframes_and_nacks(bool tcp)
{
    relay_hub *hub;
    media_sink *sink;
    media_stream *st = relay_with_keyframe(&hub, &sink);

    char err[200] = "";
    webrtc_server *s;
    /* Short deadlines: the handshake has 3 s, consent lasts 1 s (30 s in production). */
    struct webrtc_options o = {.udp_listen = tcp ? NULL : "127.0.0.1:0",
                               .tcp_listen = tcp ? "127.0.0.1:0" : NULL,
                               .relay = hub,
                               .dtls_timeout_ms = 3000,
                               .consent_timeout_ms = 1000};
    assert_int_equal(webrtc_server_new(&o, &s, err, sizeof(err)), 0);
    uint16_t port = tcp ? webrtc_server_tcp_port(s) : webrtc_server_port(s);
    assert_true(port > 0);
    assert_int_equal(tcp ? webrtc_server_port(s) : webrtc_server_tcp_port(s), 0);
    assert_int_equal(webrtc_server_start(s), 0);

    struct peer p;
    peer_open_on(&p, port, tcp);
    const char *offer = offer_text(&p);
    struct webrtc_answer ans;
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &ans, err, sizeof(err)), 0);
    copy_attr(ans.sdp, "a=ice-ufrag:", p.w.ufrag, sizeof(p.w.ufrag));
    copy_attr(ans.sdp, "a=ice-pwd:", p.w.pwd, sizeof(p.w.pwd));
    char cand[64];
    snprintf(cand, sizeof(cand), "127.0.0.1 %u typ host%s", (unsigned)port,
             tcp ? " tcptype passive" : "\r\n");
    assert_non_null(strstr(ans.sdp, cand));
    assert_true(webrtc_server_has_session(s, "cam", ans.session_id));
    assert_false(webrtc_server_has_session(s, "other", ans.session_id));

    /* Only the session's password gets an answer; then DTLS from the bound address. (Over
     * TCP a connection whose first request fails is closed: the wrong one is not tried.) */
    if (!tcp)
        assert_false(stun_check(&p, "wrongpasswordwrongpass"));
    assert_true(stun_check(&p, p.w.pwd));
    dtls_connect(&p);

    /* The reader starts at the keyframe in memory: SPS, PPS, then the IDR with the marker. */
    uint8_t buf[2048];
    size_t n = next_rtp(&p, buf, sizeof(buf), 2000);
    assert_int_equal(n, 12 + 4);
    assert_int_equal(buf[1] & 0x7f, 102);
    assert_int_equal(buf[12] & 0x1f, 7);
    assert_int_equal(next_rtp(&p, buf, sizeof(buf), 1000), 12 + 2);
    assert_int_equal(buf[12] & 0x1f, 8);
    n = next_rtp(&p, buf, sizeof(buf), 1000);
    assert_int_equal(n, 12 + 40);
    assert_int_equal(buf[12], 0x65);
    assert_true(buf[1] & 0x80);
    uint8_t idr[64];
    memcpy(idr, buf, n);
    uint16_t idr_seq = (uint16_t)((buf[2] << 8) | buf[3]);
    uint32_t ssrc = ((uint32_t)buf[8] << 24) | ((uint32_t)buf[9] << 16) | (buf[10] << 8) | buf[11];

    push_frame(sink, st, false, 3600, 0xbb);
    n = next_rtp(&p, buf, sizeof(buf), 1000);
    assert_int_equal(buf[12], 0x41);
    assert_int_equal(buf[13], 0xbb);

    /* A NACK for the IDR: the same packet again, same sequence number. */
    uint8_t nack[16] = {0x81, 205, 0, 3, 0, 0, 0, 1};
    nack[8] = (uint8_t)(ssrc >> 24);
    nack[9] = (uint8_t)(ssrc >> 16);
    nack[10] = (uint8_t)(ssrc >> 8);
    nack[11] = (uint8_t)ssrc;
    nack[12] = (uint8_t)(idr_seq >> 8);
    nack[13] = (uint8_t)idr_seq;
    send_rtcp(&p, nack, sizeof(nack));
    n = peer_recv(&p, buf, sizeof(buf), 1000);
    while (n > 0 && buf[1] >= 192 && buf[1] <= 223) /* a sender report */
        n = peer_recv(&p, buf, sizeof(buf), 1000);
    /* our receiver saw it already (a replay to it); one that lost it opens it */
    int len = (int)n;
    assert_int_equal(srtp_unprotect(p.w.in, buf, &len), srtp_err_status_replay_fail);
    srtp_t fresh;
    assert_int_equal(srtp_create(&fresh, &p.in_policy), srtp_err_status_ok);
    assert_int_equal(srtp_unprotect(fresh, buf, &len), srtp_err_status_ok);
    srtp_dealloc(fresh);
    assert_int_equal(len, 12 + 40);
    assert_memory_equal(buf, idr, (size_t)len);

    /* A PLI: P-frames are held back until the next keyframe, which comes with SPS/PPS. */
    uint8_t pli[12] = {0x81, 206, 0, 2, 0, 0, 0, 1};
    memcpy(pli + 8, nack + 8, 4);
    send_rtcp(&p, pli, sizeof(pli));
    assert_true(stun_check(&p, p.w.pwd)); /* a round trip: the PLI was read before what follows */
    push_frame(sink, st, false, 7200, 0xcc);
    push_frame(sink, st, true, 10800, 0xdd);
    n = next_rtp(&p, buf, sizeof(buf), 1000);
    assert_int_equal(buf[12] & 0x1f, 7); /* not the 0xcc P-frame */
    next_rtp(&p, buf, sizeof(buf), 1000);
    n = next_rtp(&p, buf, sizeof(buf), 1000);
    assert_int_equal(buf[12], 0x65);
    assert_int_equal(buf[13], 0xdd);

    /* A second viewer that never starts DTLS, and the first one's consent both run out:
     * each is dropped (waiting on the socket, which the media keeps busy). */
    struct webrtc_answer silent;
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &silent, err, sizeof(err)), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (webrtc_server_has_session(s, "cam", ans.session_id))
        peer_recv(&p, buf, sizeof(buf), 20);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited < 3); /* consent: 1 s after the last request */
    assert_true(webrtc_server_has_session(s, "cam", silent.session_id));
    while (webrtc_server_has_session(s, "cam", silent.session_id))
        peer_recv(&p, buf, sizeof(buf), 20);
    assert_int_equal(webrtc_server_delete(s, "cam", silent.session_id), -ENOENT);
    free(silent.sdp);
    free(ans.sdp);

    /* DELETE: a session is gone at once, well before its deadlines. */
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &ans, err, sizeof(err)), 0);
    assert_int_equal(webrtc_server_delete(s, "cam", ans.session_id), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (webrtc_server_has_session(s, "cam", ans.session_id))
        peer_recv(&p, buf, sizeof(buf), 20); /* wait on the socket, not a sleep */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    assert_int_equal(webrtc_server_delete(s, "cam", ans.session_id), -ENOENT);
    assert_int_equal(webrtc_server_sessions(s), 0);

    free(ans.sdp);
    peer_close(&p);
    webrtc_server_free(s);
    relay_hub_detach(hub, "cam", "main");
    media_stream_unref(st);
    relay_hub_free(hub);
}

static void test_a_peer_connects_plays_asks_keyframes_and_nacks(void **state)
{
    peer_connects_plays_asks_keyframes_and_nacks(false);
}

static void test_an_ice_tcp_peer_does_the_same_over_rfc4571_frames(void **state)
{
    peer_connects_plays_asks_keyframes_and_nacks(true);
}

static int tcp_connect(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Milliseconds until the server closes fd (EOF or reset; bytes it sends are read), -1 if not
 * within ms. */
static int closed_within(int fd, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int spent = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (spent > ms)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, ms - spent) <= 0)
            return -1;
        uint8_t buf[4096];
        if (recv(fd, buf, sizeof(buf), 0) <= 0)
            return spent;
    }
}

static size_t stun_request(uint8_t *out, const char *ufrag, const char *pwd, uint32_t n)
{
    char user[64];
    snprintf(user, sizeof(user), "%s:peer", ufrag);
    uint8_t txid[12] = {9, 9, 9, 9, 9, 9, 9, 9};
    memcpy(txid + 8, &n, 4);
    struct webrtc_stun_build_options o = {.type = WEBRTC_STUN_BINDING_REQUEST,
                                          .txid = txid,
                                          .username = user,
                                          .priority = 1,
                                          .use_candidate = true,
                                          .ice_controlling = true,
                                          .tie_breaker = 42,
                                          .integrity_key = pwd,
                                          .integrity_key_len = strlen(pwd),
                                          .fingerprint = true};
    int len = webrtc_stun_build(&o, out + 2, 200);
    assert_true(len > 0);
    webrtc_tcp_frame_header(out, (size_t)len);
    return 2 + (size_t)len;
}

/*
 * The hostile side of ICE-TCP: past the cap of unbound connections a new one is closed at
 * once; one that never sends, or sends half a frame, is closed at the bind deadline; one
 * whose first frame is DTLS, or a request with the wrong password, is closed unanswered. A
 * viewer that reads nothing while it sends thousands of requests gets whole frames only
 * (some dropped, counted), and everything it does read parses.
 */
static void test_ice_tcp_strangers_are_closed_and_a_slow_reader_gets_whole_frames(void **state)
{
    relay_hub *hub;
    media_sink *sink;
    media_stream *st = relay_with_keyframe(&hub, &sink);
    metrics_registry *reg = metrics_registry_new();
    char err[200] = "";
    webrtc_server *s;
    /* The session must outlive the slow reader's requests (ThreadSanitizer's build is slow):
     * no DTLS ever starts here. */
    struct webrtc_options o = {.tcp_listen = "127.0.0.1:0",
                               .relay = hub,
                               .metrics = reg,
                               .dtls_timeout_ms = 120000,
                               .tcp_bind_timeout_ms = 300,
                               .tcp_max_unbound = 2};
    assert_int_equal(webrtc_server_new(&o, &s, err, sizeof(err)), 0);
    assert_int_equal(webrtc_server_start(s), 0);
    uint16_t port = webrtc_server_tcp_port(s);
    struct peer p;
    peer_open(&p, 9); /* only for the offer's fingerprint */
    const char *offer = offer_text(&p);
    struct webrtc_answer ans;
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &ans, err, sizeof(err)), 0);
    char ufrag[64], pwd[128];
    copy_attr(ans.sdp, "a=ice-ufrag:", ufrag, sizeof(ufrag));
    copy_attr(ans.sdp, "a=ice-pwd:", pwd, sizeof(pwd));

    /* Two silent ones fill the cap; a third is closed at once; the two at the deadline. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int a = tcp_connect(port, 0), b = tcp_connect(port, 0);
    uint8_t half[3] = {0x00, 0x40, 0x00}; /* a header saying 64 bytes, then one */
    assert_int_equal(send(b, half, sizeof(half), 0), 3);
    int c = tcp_connect(port, 0);
    assert_true(closed_within(c, 200) >= 0);
    assert_true(closed_within(a, 2000) >= 0 && closed_within(b, 2000) >= 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited > 0.25 && waited < 1.5); /* the 300 ms deadline, on a 100 ms tick */
    close(a);
    close(b);
    close(c);

    /* A first frame that is DTLS, and a request with the wrong password: no answer, closed. */
    int d = tcp_connect(port, 0);
    uint8_t dtls[2 + 13] = {0, 13, 22, 0xfe, 0xfd};
    assert_int_equal(send(d, dtls, sizeof(dtls), 0), (ssize_t)sizeof(dtls));
    assert_true(closed_within(d, 1000) >= 0);
    close(d);
    int e = tcp_connect(port, 0);
    uint8_t req[256];
    size_t n = stun_request(req, ufrag, "wrongpasswordwrongpass", 0);
    assert_int_equal(send(e, req, n, 0), (ssize_t)n);
    assert_true(closed_within(e, 1000) >= 0);
    close(e);

    /* A viewer that does not read: its answers queue (the kernel's buffers first, then the
     * connection's 256 KiB), then drop whole. Requests go on until the first drop. */
    int f = tcp_connect(port, 4096);
    uint32_t sent = 0;
    double dropped = 0;
    char *text = NULL;
    while (dropped == 0 && sent < 2000000) {
        for (int i = 0; i < 10000; i++, sent++) {
            n = stun_request(req, ufrag, pwd, sent);
            assert_int_equal(send(f, req, n, 0), (ssize_t)n);
        }
        free(text);
        /* a round trip's worth: the server has read the requests (send() returned) */
        poll(NULL, 0, 20);
        text = metrics_render(reg, &(size_t){0});
        const char *m = strstr(text, "\nhorus_webrtc_tcp_dropped_frames_total ");
        assert_non_null(m);
        dropped = strtod(m + strlen("\nhorus_webrtc_tcp_dropped_frames_total "), NULL);
    }
    struct webrtc_tcp_framer *fr = malloc(sizeof(*fr));
    webrtc_tcp_framer_init(fr);
    struct count_ctx cc = {0};
    for (;;) {
        /* Read until the server has nothing more; a frame begun must end, however slow the
         * server's thread (ThreadSanitizer's build flushes the queue in slow steps). */
        struct pollfd pfd = {.fd = f, .events = POLLIN};
        if (poll(&pfd, 1, fr->have ? 5000 : 1000) <= 0)
            break;
        uint8_t buf[16384];
        ssize_t got = recv(f, buf, sizeof(buf), 0);
        if (got <= 0)
            break;
        assert_int_equal(webrtc_tcp_framer_push(fr, buf, (size_t)got, count_answer, &cc), 0);
    }
    assert_int_equal(fr->have, 0); /* nothing half-sent */
    free(fr);
    free(text);
    text = metrics_render(reg, &(size_t){0});
    const char *m = strstr(text, "\nhorus_webrtc_tcp_dropped_frames_total ");
    dropped = strtod(m + strlen("\nhorus_webrtc_tcp_dropped_frames_total "), NULL);
    print_message("%u requests: %u answers read whole, %.0f dropped\n", (unsigned)sent, cc.answers,
                  dropped);
    assert_true(cc.answers > 1000);
    assert_true(dropped > 0);
    assert_int_equal(cc.answers + (unsigned)dropped, sent);
    assert_non_null(strstr(text, "horus_webrtc_tcp_closed_total{reason=\"too_many_unbound\"} 1"));
    assert_non_null(strstr(text, "horus_webrtc_tcp_closed_total{reason=\"bind_timeout\"} 2"));
    assert_non_null(strstr(text, "horus_webrtc_tcp_closed_total{reason=\"not_authenticated\"} 2"));
    free(text);

    /* A taken TCP port is named; a server with neither socket is refused. */
    webrtc_server *s2;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
    assert_int_equal(webrtc_server_new(&(struct webrtc_options){.tcp_listen = listen, .relay = hub},
                                       &s2, err, sizeof(err)),
                     -EADDRINUSE);
    assert_non_null(strstr(err, "webrtc.tcp_listen: bind 127.0.0.1:"));
    assert_int_equal(
        webrtc_server_new(&(struct webrtc_options){.relay = hub}, &s2, err, sizeof(err)), -EINVAL);

    /* Deleting the session closes its connection. */
    assert_int_equal(webrtc_server_delete(s, "cam", ans.session_id), 0);
    assert_true(closed_within(f, 2000) >= 0);
    close(f);
    free(ans.sdp);
    peer_close(&p);
    webrtc_server_free(s);
    metrics_registry_free(reg);
    relay_hub_detach(hub, "cam", "main");
    media_stream_unref(st);
    relay_hub_free(hub);
}

static void test_offers_for_streams_the_relay_lacks_are_refused(void **state)
{
    relay_hub *hub;
    assert_int_equal(relay_hub_new(&(struct relay_hub_options){0}, &hub), 0);
    char err[200] = "";
    webrtc_server *s;
    assert_int_equal(
        webrtc_server_new(&(struct webrtc_options){.udp_listen = "127.0.0.1:0", .relay = hub}, &s,
                          err, sizeof(err)),
        0);
    struct peer p;
    peer_open(&p, webrtc_server_port(s));
    const char *offer = offer_text(&p);
    struct webrtc_answer ans;
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &ans, err, sizeof(err)),
        -ENOENT);
    assert_string_equal(err, "camera 'cam' has no stream 'main' streaming now");
    media_sink *sink = relay_hub_attach(hub, "cam", "main");
    static const uint8_t hvcc[1] = {1};
    media_stream *h265 = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 90000, hvcc, 1);
    sink->ops->stream_cb(sink, h265);
    assert_int_equal(
        webrtc_server_offer(s, "cam", "main", offer, strlen(offer), &ans, err, sizeof(err)),
        HORUS_ECODEC);
    assert_string_equal(
        err, "camera 'cam' stream 'main' sends H.265; the offer has no usable H.265 (it has H264)");
    assert_int_equal(webrtc_server_offer(s, "cam", "main", "v=1", 3, &ans, err, sizeof(err)),
                     HORUS_EPARSE);
    assert_int_equal(webrtc_server_sessions(s), 0);
    /* a taken port is named */
    webrtc_server *s2;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)webrtc_server_port(s));
    assert_int_equal(webrtc_server_new(&(struct webrtc_options){.udp_listen = listen, .relay = hub},
                                       &s2, err, sizeof(err)),
                     -EADDRINUSE);
    assert_non_null(strstr(err, "webrtc.udp_listen: bind 127.0.0.1:"));
    peer_close(&p);
    webrtc_server_free(s); /* never started: free alone */
    relay_hub_detach(hub, "cam", "main");
    media_stream_unref(h265);
    relay_hub_free(hub);
}

enum { RACERS = 8 };

struct racer {
    webrtc_server *s;
    const char *offer;
    pthread_barrier_t *go;
    int rc;
    char err[200];
};

static void *race_offer(void *arg)
{
    struct racer *r = arg;
    struct webrtc_answer ans;
    pthread_barrier_wait(r->go);
    r->rc = webrtc_server_offer(r->s, "cam", "main", r->offer, strlen(r->offer), &ans, r->err,
                                sizeof(r->err));
    if (r->rc == 0)
        free(ans.sdp);
    return NULL; /* cmocka's asserts belong to the main thread: checked there */
}

/* The limit holds for offers that arrive together, each on its own HTTP thread. */
static void test_offers_that_arrive_together_never_pass_the_session_limit(void **state)
{
    relay_hub *hub;
    media_sink *sink;
    media_stream *st = relay_with_keyframe(&hub, &sink);
    char err[200] = "";
    webrtc_server *s;
    assert_int_equal(
        webrtc_server_new(
            &(struct webrtc_options){.udp_listen = "127.0.0.1:0", .relay = hub, .max_sessions = 2},
            &s, err, sizeof(err)),
        0);
    struct peer p;
    peer_open(&p, webrtc_server_port(s));
    const char *offer = offer_text(&p);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    struct racer r[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){.s = s, .offer = offer, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, race_offer, &r[i]), 0);
    }
    int served = 0, busy = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        served += r[i].rc == 0;
        if (r[i].rc == -EBUSY) {
            assert_string_equal(r[i].err, "webrtc: 2 sessions already, the most this node serves");
            busy++;
        }
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(served, 2);
    assert_int_equal(busy, RACERS - 2);
    assert_int_equal(webrtc_server_sessions(s), 2);
    peer_close(&p);
    webrtc_server_free(s);
    relay_hub_detach(hub, "cam", "main");
    media_stream_unref(st);
    relay_hub_free(hub);
}

int main(void)
{
    /* libsrtp is process-wide and initialised once, by the module (srtp.c): let it do so
     * before the peer's contexts are made here, so that no thread races the init. */
    uint8_t keys[WEBRTC_SRTP_KEYS_BYTES] = {0};
    webrtc_srtp *warm = NULL;
    if (webrtc_srtp_new(keys, &warm) != 0)
        return 1;
    webrtc_srtp_free(warm);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_peer_connects_plays_asks_keyframes_and_nacks),
        cmocka_unit_test(test_an_ice_tcp_peer_does_the_same_over_rfc4571_frames),
        cmocka_unit_test(test_ice_tcp_strangers_are_closed_and_a_slow_reader_gets_whole_frames),
        cmocka_unit_test(test_offers_for_streams_the_relay_lacks_are_refused),
        cmocka_unit_test(test_offers_that_arrive_together_never_pass_the_session_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
