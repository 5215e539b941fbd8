/*
 * Tests for the RTSP re-stream server (src/restream: server.c, session.c,
 * access.c, media.c) on a real socket, a real SQLite database with a camera
 * and an API key, and a relay feed the test pushes packets into from a
 * producer thread, as ingest does. A third thread lists the sessions all
 * along (the API's view), so under ThreadSanitizer this is the server's
 * thread test: rtsp-srv, the producer, the API reader and the client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_api_key.h"
#include "auth_digest.h"
#include "clock.h"
#include "rtsp_proto.h"
#include "restream.h"
#include "sto_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PACKETS 200

static const uint8_t avcc[] = {1,    0x64, 0,    0x1f, 0xff, 0xe1, 0,    4,   0x67,
                               0x64, 0,    0x1f, 1,    0,    2,    0x68, 0xee};

struct env {
    struct sto_fixture *sto;
    relay_hub *relay;
    media_sink *sink;
    media_stream *video;
    restream_server *srv;
    char key[AUTH_API_KEY_MAX];
    char auth[512]; /* "Authorization: Basic ...\r\n" */
};

static void push(struct env *e, int i)
{
    /* One NAL unit, length-prefixed: an IDR every 25 packets, else a P slice. */
    media_packet *p = media_packet_new(e->video, 4 + 300);
    memset(p->data, 0, p->size);
    p->data[3] = 44;
    p->data[2] = 1; /* 300 = 0x12c */
    p->data[4] = i % 25 == 0 ? 0x65 : 0x41;
    p->dts = p->pts = (int64_t)i * 3600;
    p->wall_us = INT64_C(1764720000000000) + (int64_t)i * 40000;
    p->is_keyframe = i % 25 == 0;
    e->sink->ops->packet_cb(e->sink, p);
    media_packet_unref(p);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    sto_fixture_setup((void **)&e->sto);
    struct sto_camera_input c = {.id = "cam1",
                                 .name = "",
                                 .url = "rtsp://127.0.0.1:1/x",
                                 .sub_url = "",
                                 .enabled = true,
                                 .record_enabled = true,
                                 .segment_seconds = 60,
                                 .retention_days = 14};
    assert_int_equal(sto_camera_insert(e->sto->db, &c), 0);
    char id[AUTH_API_KEY_ID_LEN + 1], why[128];
    assert_int_equal(auth_api_key_create(
                         e->sto->db,
                         &(struct auth_api_key_options){.name = "wall", .role = AUTH_ROLE_VIEWER},
                         e->key, id, why, sizeof(why)),
                     0);
    char cred[300];
    int n = snprintf(cred, sizeof(cred), "x:%s", e->key);
    char b64[400];
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)cred, n);
    snprintf(e->auth, sizeof(e->auth), "Authorization: Basic %s\r\n", b64);
    assert_int_equal(relay_hub_new(NULL, &e->relay), 0);
    e->sink = relay_hub_attach(e->relay, "cam1", "main");
    e->video = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    e->video->width = 320;
    e->video->height = 240;
    e->sink->ops->stream_cb(e->sink, e->video);
    for (int i = 0; i < 30; i++)
        push(e, i); /* a GOP kept: 25..29 */
    assert_int_equal(restream_server_new(&(struct restream_options){.listen = "127.0.0.1:0",
                                                                    .relay = e->relay,
                                                                    .db = e->sto->db},
                                         &e->srv),
                     0);
    assert_int_equal(restream_server_start(e->srv), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    restream_server_free(e->srv);
    relay_hub_detach(e->relay, "cam1", "main");
    relay_hub_free(e->relay);
    media_stream_unref(e->video);
    void *sto = e->sto;
    sto_fixture_teardown(&sto);
    free(e);
    assert_int_equal(media_live_packets(), 0);
    return 0;
}

struct client {
    int fd;
    char buf[65536];
    size_t len;
};

static void client_open(struct client *c, uint16_t port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void fill(struct client *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    assert_true(n > 0);
    c->len += (size_t)n;
}

static void consume(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Sends a request; returns the reply's head and body (NUL-terminated) in out. */
static void request(struct client *c, const char *method, const char *uri, const char *headers,
                    char *out, size_t cap)
{
    char req[1024];
    int n = snprintf(req, sizeof(req), "%s %s RTSP/1.0\r\nCSeq: 7\r\n%s\r\n", method, uri,
                     headers ? headers : "");
    assert_int_equal(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), n);
    char *end;
    for (;;) {
        if (c->len > 0 && c->buf[0] == '$') { /* media before the reply: skip it */
            while (c->len < 4)
                fill(c);
            size_t f = 4 + ((size_t)(uint8_t)c->buf[2] << 8 | (uint8_t)c->buf[3]);
            while (c->len < f)
                fill(c);
            consume(c, f);
            continue;
        }
        c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
        if ((end = strstr(c->buf, "\r\n\r\n")))
            break;
        fill(c);
    }
    size_t head = (size_t)(end - c->buf) + 4;
    const char *cl = strstr(c->buf, "Content-Length: ");
    size_t body = cl && cl < end ? (size_t)atoi(cl + 16) : 0;
    while (c->len < head + body)
        fill(c);
    size_t n_out = head + body < cap - 1 ? head + body : cap - 1;
    memcpy(out, c->buf, n_out);
    out[n_out] = '\0';
    consume(c, head + body);
    assert_non_null(strstr(out, "CSeq: 7\r\n"));
}

/* The next interleaved frame's channel, its data copied into out (cap bytes); returns its length.
 */
static size_t interleaved(struct client *c, int *channel, uint8_t *out, size_t cap)
{
    while (c->len < 4)
        fill(c);
    assert_int_equal(c->buf[0], '$');
    size_t len = (size_t)(uint8_t)c->buf[2] << 8 | (uint8_t)c->buf[3];
    while (c->len < 4 + len)
        fill(c);
    *channel = (uint8_t)c->buf[1];
    memcpy(out, c->buf + 4, len < cap ? len : cap);
    consume(c, 4 + len);
    return len;
}

static void test_requests_need_credentials_and_a_visible_camera(void **state)
{
    struct env *e = *state;
    struct client c;
    client_open(&c, restream_server_port(e->srv));
    char r[4096];
    request(&c, "OPTIONS", "*", NULL, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "DESCRIBE"));
    request(&c, "DESCRIBE", "rtsp://127.0.0.1/cam1", NULL, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 401 "));
    assert_non_null(strstr(r, "WWW-Authenticate: Basic realm=\"horus\"\r\n"));
    request(&c, "DESCRIBE", "rtsp://127.0.0.1/cam1", "Authorization: Basic eDpoa193cm9uZw==\r\n", r,
            sizeof(r)); /* x:hk_wrong */
    assert_non_null(strstr(r, "RTSP/1.0 401 "));
    request(&c, "DESCRIBE", "rtsp://127.0.0.1/cam2", e->auth, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 404 "));
    close(c.fd);

    client_open(&c, restream_server_port(e->srv));
    request(&c, "DESCRIBE", "rtsp://u:p@127.0.0.1:1/cam1?t=zz", e->auth, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Base: rtsp://127.0.0.1:1/cam1/\r\n")); /* no userinfo */
    assert_non_null(strstr(r, "a=rtpmap:96 H264/90000\r\n"));
    assert_non_null(strstr(r, "sprop-parameter-sets=Z2QAHw==,aO4=\r\n"));
    assert_non_null(strstr(r, "a=x-dimensions:320,240\r\n"));
    assert_null(strstr(r, "m=audio"));
    request(&c, "SETUP", "rtsp://127.0.0.1/cam1/trackID=0",
            "Transport: RTP/AVP;multicast;port=5000-5001\r\n", r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 461 ")); /* multicast: not offered */
    request(&c, "SETUP", "rtsp://127.0.0.1/cam1/trackID=1",
            "Transport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n", r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 404 ")); /* no audio track */
    request(&c, "PLAY", "rtsp://127.0.0.1/cam1", "Session: 1234\r\n", r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 454 "));
    request(&c, "FLY", "rtsp://127.0.0.1/cam1", NULL, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 405 "));
    close(c.fd);
}

struct lister {
    restream_server *srv;
    atomic_bool stop;
    int max_playing;
};

static void *lister_main(void *arg)
{
    struct lister *l = arg;
    while (!atomic_load(&l->stop)) {
        struct restream_session_info *v;
        size_t n = restream_server_sessions(l->srv, &v);
        int playing = 0;
        for (size_t i = 0; i < n; i++)
            playing += v[i].is_playing && strcmp(v[i].user, "wall") == 0;
        if (playing > l->max_playing)
            l->max_playing = playing;
        free(v);
        usleep(1000);
    }
    return NULL;
}

struct producer {
    struct env *e;
};

static void *producer_main(void *arg)
{
    struct env *e = ((struct producer *)arg)->e;
    for (int i = 30; i < 30 + PACKETS; i++) {
        push(e, i);
        usleep(500);
    }
    return NULL;
}

static void test_a_player_starts_at_the_kept_keyframe_and_gets_every_packet(void **state)
{
    struct env *e = *state;
    struct lister l = {.srv = e->srv};
    pthread_t lt, pt;
    assert_int_equal(pthread_create(&lt, NULL, lister_main, &l), 0);
    struct client c;
    client_open(&c, restream_server_port(e->srv));
    char r[4096], h[1024];
    request(&c, "DESCRIBE", "rtsp://127.0.0.1/cam1", e->auth, r, sizeof(r));
    snprintf(h, sizeof(h), "%sTransport: RTP/AVP/TCP;unicast;interleaved=4-5\r\n", e->auth);
    request(&c, "SETUP", "rtsp://127.0.0.1/cam1/trackID=0", h, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "interleaved=4-5"));
    char session[32];
    assert_int_equal(sscanf(strstr(r, "Session: ") + 9, "%16[0-9A-F]", session), 1);
    snprintf(h, sizeof(h), "Session: %s\r\n", session);
    request(&c, "PLAY", "rtsp://127.0.0.1/cam1", h, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "RTP-Info: url=rtsp://127.0.0.1/cam1/trackID=0;seq="));

    struct producer pr = {e};
    assert_int_equal(pthread_create(&pt, NULL, producer_main, &pr), 0);
    /* The kept GOP (25..29), then every live packet: SPS and PPS before each IDR. */
    uint8_t pkt[2048];
    int channel, units = 0, sps = 0;
    uint16_t seq = 0;
    uint32_t last_ts = 0;
    for (int got = 0; units < 5 + PACKETS;) {
        size_t n = interleaved(&c, &channel, pkt, sizeof(pkt));
        if (channel == 5)
            continue; /* a sender report */
        assert_int_equal(channel, 4);
        assert_true(n >= 13);
        int type = pkt[12] & 0x1f;
        uint16_t s = (uint16_t)(pkt[2] << 8 | pkt[3]);
        uint32_t ts =
            (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
        if (got++ == 0)
            assert_int_equal(type, 7); /* the first packet opens a keyframe */
        else
            assert_int_equal(s, (uint16_t)(seq + 1));
        seq = s;
        sps += type == 7;
        if (pkt[1] & 0x80) { /* marker: a unit ends */
            if (units > 0)
                assert_int_equal(ts - last_ts, 3600);
            last_ts = ts;
            units++;
        }
    }
    assert_int_equal(sps, 1 + PACKETS / 25);
    pthread_join(pt, NULL);
    request(&c, "TEARDOWN", "rtsp://127.0.0.1/cam1", h, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    char tail[4096];
    ssize_t got;
    while ((got = recv(c.fd, tail, sizeof(tail), 0)) > 0)
        ;
    assert_int_equal(got, 0); /* the server closed the connection */
    close(c.fd);
    atomic_store(&l.stop, true);
    pthread_join(lt, NULL);
    assert_int_equal(l.max_playing, 1);
}

static int udp_bound(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void test_udp_sends_datagrams_to_the_clients_own_ports(void **state)
{
    struct env *e = *state;
    uint16_t rtp_port, rtcp_port;
    int rtp = udp_bound(&rtp_port), rtcp = udp_bound(&rtcp_port);
    struct client c;
    client_open(&c, restream_server_port(e->srv));
    char r[4096], h[1024];
    snprintf(h, sizeof(h), "%sTransport: RTP/AVP;unicast;client_port=%u-%u\r\n", e->auth,
             (unsigned)rtp_port, (unsigned)rtcp_port);
    request(&c, "SETUP", "rtsp://127.0.0.1/cam1/trackID=0", h, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    assert_non_null(strstr(r, "Transport: RTP/AVP;unicast;client_port="));
    assert_non_null(strstr(r, ";server_port="));
    char session[32];
    assert_int_equal(sscanf(strstr(r, "Session: ") + 9, "%16[0-9A-F]", session), 1);
    snprintf(h, sizeof(h), "Session: %s\r\n", session);
    request(&c, "PLAY", "rtsp://127.0.0.1/cam1", h, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    /* UDP starts at the next live keyframe (50), not with the kept GOP's burst. */
    for (int i = 30; i <= 50; i++)
        push(e, i);
    uint8_t d[2048];
    ssize_t n = recv(rtp, d, sizeof(d), 0);
    assert_true(n >= 13);
    assert_int_equal(d[0] >> 6, 2); /* RTP version 2, no interleaved header */
    assert_int_equal(d[12] & 0x1f, 7); /* the keyframe's SPS first */
    uint32_t ts = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
    n = recv(rtp, d, sizeof(d), 0); /* its PPS, same time */
    assert_true(n >= 13);
    assert_int_equal(d[12] & 0x1f, 8);
    assert_int_equal((uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7], ts);
    struct restream_session_info *v;
    assert_int_equal(restream_server_sessions(e->srv, &v), 1);
    assert_string_equal(v[0].transport, "udp");
    assert_true(v[0].is_playing);
    free(v);
    close(c.fd);
    close(rtp);
    close(rtcp);
}

/* An Authorization: Digest header for name/password against nonce (qop auth). */
static void digest_header(const char *name, const char *password, const char *nonce,
                          const char *uri, char *out, size_t cap)
{
    char ha1[33], resp[33];
    assert_int_equal(auth_digest_ha1(name, "horus", password, ha1), 0);
    assert_int_equal(
        rtsp_digest_response(ha1, nonce, "DESCRIBE", uri, "auth", "00000001", "ab12", resp), 0);
    snprintf(out, cap,
             "Authorization: Digest username=\"%s\", realm=\"horus\", nonce=\"%s\", uri=\"%s\", "
             "response=\"%s\", qop=auth, nc=00000001, cnonce=\"ab12\"\r\n",
             name, nonce, uri, resp);
}

/* The nonce of the Digest challenge in reply r. */
static void nonce_of(const char *r, char out[64])
{
    const char *n = strstr(r, "WWW-Authenticate: Digest realm=\"horus\", nonce=\"");
    assert_non_null(n);
    n += strlen("WWW-Authenticate: Digest realm=\"horus\", nonce=\"");
    size_t len = strcspn(n, "\"");
    assert_true(len < 64);
    memcpy(out, n, len);
    out[len] = '\0';
}

static void test_digest_nonces_expire_and_a_late_right_answer_is_stale(void **state)
{
    struct env *e = *state;
    auth_digest_keep(true);
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[128], name[32];
    assert_int_equal(
        auth_api_key_create(e->sto->db,
                            &(struct auth_api_key_options){.name = "nvr", .role = AUTH_ROLE_VIEWER},
                            key, id, why, sizeof(why)),
        0);
    snprintf(name, sizeof(name), "hk_%s", id);
    clock_fake fk;
    clock_fake_init(&fk, INT64_C(1764720000000));
    restream_server *srv;
    assert_int_equal(restream_server_new(&(struct restream_options){.listen = "127.0.0.1:0",
                                                                    .relay = e->relay,
                                                                    .db = e->sto->db,
                                                                    .digest = true,
                                                                    .clock = &fk.base},
                                         &srv),
                     0);
    assert_int_equal(restream_server_start(srv), 0);
    const char *uri = "rtsp://127.0.0.1/cam1";
    struct client c;
    char r[4096], nonce[64], authz[1024];
    client_open(&c, restream_server_port(srv));
    request(&c, "DESCRIBE", uri, NULL, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 401 "));
    nonce_of(r, nonce);
    assert_null(strstr(r, "stale"));
    digest_header(name, key, nonce, uri, authz, sizeof(authz));
    request(&c, "DESCRIBE", uri, authz, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    close(c.fd);
    /* Five minutes on, the same right answer is stale: a new challenge says so. */
    clock_fake_advance_ms(&fk, 301000);
    client_open(&c, restream_server_port(srv));
    request(&c, "DESCRIBE", uri, authz, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 401 "));
    assert_non_null(strstr(r, ", stale=TRUE\r\n"));
    nonce_of(r, nonce);
    digest_header(name, key, nonce, uri, authz, sizeof(authz));
    request(&c, "DESCRIBE", uri, authz, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 200 OK\r\n"));
    close(c.fd);
    /* A wrong password with a fresh nonce: refused, not stale. */
    client_open(&c, restream_server_port(srv));
    digest_header(name, "hk_wrong", nonce, uri, authz, sizeof(authz));
    request(&c, "DESCRIBE", uri, authz, r, sizeof(r));
    assert_non_null(strstr(r, "RTSP/1.0 401 "));
    assert_null(strstr(r, "stale"));
    close(c.fd);
    restream_server_free(srv);
    auth_digest_keep(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_requests_need_credentials_and_a_visible_camera, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_player_starts_at_the_kept_keyframe_and_gets_every_packet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_digest_nonces_expire_and_a_late_right_answer_is_stale,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_sends_datagrams_to_the_clients_own_ports, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
