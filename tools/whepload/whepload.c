/*
 * horus-whepload: many WebRTC (WHEP) viewers of one camera from one
 * process, for the 50-viewer test and bench/webrtc. A browser per viewer
 * would cost more CPU than the server it measures; this is a viewer of
 * real parts and nothing more: a UDP socket each, an SDP offer POSTed
 * (libcurl), ICE connectivity checks (STUN with the answer's password),
 * an OpenSSL DTLS client handshake, SRTP keys from it (libsrtp2), and
 * then RTP counted: packets, bytes, sequence gaps, keyframes seen by
 * their parameter sets. STUN consent every 5 s keeps each session, and
 * each is ended with DELETE. With --decrypt every packet is also
 * authenticated and decrypted, as a browser would. With --audio the offer
 * asks for Opus too (BUNDLE), and Opus packets are counted apart. With
 * --tcp each viewer connects to the answer's passive TCP candidate instead
 * (ICE-TCP, RFC 6544) and reads RFC 4571 frames.
 *
 * Usage: horus-whepload --url URL [--token KEY] [--viewers N] [--seconds S] [--decrypt]
 *                       [--audio] [--tcp]
 * Prints one JSON object: viewers set up, failures, setup ms p50/max, and
 * per-viewer packet and loss figures.
 */
#include "peer.h"
#include "stun_int.h"
#include "tcp_frame_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VIEWERS 1000
#define CONSENT_NS (5LL * 1000000000)

struct viewer {
    struct whep_peer p;
    char location[512];
    char origin[512]; /* the server that answered the offer (after any redirect) */
    bool ok;
    uint64_t packets, bytes, lost, keyframes, bad_auth;
    uint64_t audio_packets; /* Opus (payload type 111), counted apart from the video */
    bool has_seq;
    uint16_t last_seq;
    int64_t next_consent_ns;
    double setup_ms;
    struct webrtc_tcp_framer *in; /* --tcp: the connection's frames */
};

struct body {
    char *data;
    size_t len;
};

static SSL_CTX *g_ctx;
static char g_fp[100];
static bool g_audio; /* --audio: the offer asks for Opus too */
static bool g_tcp; /* --tcp: ICE-TCP to the answer's passive TCP candidate */

#define OPUS_PT 111

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "horus-whepload: %s\n", what);
    exit(2);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct body *b = arg;
    size_t add = size * n;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, p, add);
    b->data = d;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct viewer *v = arg;
    size_t len = size * n;
    if (len > 10 && strncasecmp(p, "Location:", 9) == 0) {
        const char *s = p + 9;
        while (*s == ' ')
            s++;
        size_t k = strcspn(s, "\r\n");
        if (k < sizeof(v->location)) {
            memcpy(v->location, s, k);
            v->location[k] = '\0';
        }
    }
    return len;
}

/* The value after name up to the line end, or false. */
static bool sdp_attr(const char *sdp, const char *name, char *out, size_t cap)
{
    const char *at = strstr(sdp, name);
    if (!at)
        return false;
    at += strlen(name);
    size_t n = strcspn(at, "\r\n");
    if (n >= cap)
        return false;
    memcpy(out, at, n);
    out[n] = '\0';
    return true;
}

/* The first IPv4 host candidate of the answer. */
static bool answer_candidate(const char *sdp, struct sockaddr_in *out)
{
    for (const char *at = strstr(sdp, "a=candidate:"); at; at = strstr(at + 1, "a=candidate:")) {
        char ip[64];
        unsigned port;
        int got = g_tcp ? sscanf(at, "a=candidate:%*s %*u tcp %*u %63s %u typ host tcptype passive",
                                 ip, &port)
                        : sscanf(at, "a=candidate:%*s %*u udp %*u %63s %u typ host", ip, &port);
        if (got == 2 && inet_pton(AF_INET, ip, &out->sin_addr) == 1) {
            out->sin_family = AF_INET;
            out->sin_port = htons((uint16_t)port);
            return true;
        }
    }
    return false;
}

static bool offer(struct viewer *v, CURL *c, const char *url, const char *token, char *err,
                  size_t errsize)
{
    char sdp[1536];
    int n = snprintf(sdp, sizeof(sdp),
                     "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s"
                     "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
                     "a=ice-ufrag:load\r\na=ice-pwd:loadpasswordloadpassword\r\n"
                     "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\n"
                     "a=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
                     "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n",
                     g_audio ? "a=group:BUNDLE 0 1\r\n" : "", g_fp);
    if (g_audio)
        snprintf(sdp + n, sizeof(sdp) - (size_t)n,
                 "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
                 "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:%d opus/48000/2\r\n",
                 OPUS_PT, OPUS_PT);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/sdp");
    char auth[300];
    if (token && *token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    struct body b = {0};
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, sdp);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, v);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    /* A WHEP endpoint may redirect (307: the same POST elsewhere, docs/design/0070). curl sends
       the Authorization header to the first host only; the redirect carries a token. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *effective = NULL;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
    snprintf(v->origin, sizeof(v->origin), "%s", effective ? effective : url);
    curl_slist_free_all(h);
    bool ok = rc == CURLE_OK && status == 201 && b.data &&
              sdp_attr(b.data, "a=ice-ufrag:", v->p.ufrag, sizeof(v->p.ufrag)) &&
              sdp_attr(b.data, "a=ice-pwd:", v->p.pwd, sizeof(v->p.pwd)) &&
              answer_candidate(b.data, &v->p.server);
    if (!ok)
        snprintf(err, errsize, "offer: %s, HTTP %ld: %.200s", curl_easy_strerror(rc), status,
                 b.data ? b.data : "");
    free(b.data);
    return ok;
}

static void send_stun(struct viewer *v, bool nominate)
{
    uint8_t txid[12];
    for (int i = 0; i < 12; i++)
        txid[i] = (uint8_t)rand();
    whep_peer_stun(&v->p, "load", v->p.pwd, nominate, txid);
}

/* An ICE check answered, then the DTLS handshake and SRTP keys. */
static bool connect_media(struct viewer *v, char *err, size_t errsize)
{
    uint8_t buf[2048];
    bool answered = false;
    for (int i = 0; i < 10 && !answered; i++) {
        send_stun(v, true);
        size_t n;
        while ((n = whep_peer_recv(&v->p, buf, sizeof(buf), 200)) > 0)
            if (webrtc_demux_classify(buf, n) == WEBRTC_DEMUX_STUN) {
                answered = true;
                break;
            }
    }
    if (!answered) {
        snprintf(err, errsize, "no STUN answer from the server");
        return false;
    }
    return whep_peer_dtls(&v->p, g_ctx, err, errsize) == 0;
}

static void on_packet(struct viewer *v, uint8_t *buf, size_t n, bool decrypt)
{
    if (webrtc_demux_classify(buf, n) != WEBRTC_DEMUX_RTP || n < 12)
        return;
    if (buf[1] >= 192 && buf[1] <= 223)
        return; /* RTCP: sender reports */
    if (g_audio && (buf[1] & 0x7f) == OPUS_PT) {
        v->audio_packets++; /* its own sequence: not in the video's loss count */
        return;
    }
    uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
    if (v->has_seq) {
        uint16_t d = (uint16_t)(seq - v->last_seq);
        if (d == 0 || d > 0x8000)
            return; /* a duplicate or a late one (a retransmit) */
        v->lost += d - 1u;
    }
    v->has_seq = true;
    v->last_seq = seq;
    v->packets++;
    v->bytes += n;
    if (decrypt) {
        int len = (int)n;
        if (srtp_unprotect(v->p.in, buf, &len) != srtp_err_status_ok) {
            v->bad_auth++;
            return;
        }
        size_t at = 12 + 4u * (buf[0] & 0x0f);
        if (buf[0] & 0x10 && (size_t)len >= at + 4) /* a header extension */
            at += 4 + 4u * (size_t)(buf[at + 2] << 8 | buf[at + 3]);
        if ((size_t)len > at && (buf[at] & 0x1f) == 7)
            v->keyframes++; /* an SPS: sent before every keyframe */
    }
}

struct frame_arg {
    struct viewer *v;
    bool decrypt;
};

static int on_frame(void *arg, uint8_t *frame, size_t len)
{
    struct frame_arg *a = arg;
    on_packet(a->v, frame, len, a->decrypt);
    return 0;
}

/* Reads what v's socket has without blocking: datagrams, or (--tcp) the stream's frames. */
static void drain(struct viewer *v, bool decrypt)
{
    uint8_t buf[2048];
    ssize_t got;
    if (!g_tcp) {
        while ((got = recv(v->p.fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
            on_packet(v, buf, (size_t)got, decrypt);
        return;
    }
    struct frame_arg a = {v, decrypt};
    for (;;) {
        size_t cap;
        uint8_t *dst = webrtc_tcp_framer_space(v->in, &cap);
        if ((got = recv(v->p.fd, dst, cap, MSG_DONTWAIT)) <= 0)
            return;
        webrtc_tcp_framer_commit(v->in, (size_t)got, on_frame, &a);
    }
}

/* --tcp: the connection to the answer's TCP candidate, the answer's credentials kept. */
static bool open_tcp(struct viewer *v, char *err, size_t errsize)
{
    struct whep_peer answered = v->p;
    int rc = whep_peer_open_tcp(&v->p, &answered.server);
    memcpy(v->p.ufrag, answered.ufrag, sizeof(v->p.ufrag));
    memcpy(v->p.pwd, answered.pwd, sizeof(v->p.pwd));
    v->in = calloc(1, sizeof(*v->in));
    if (rc != 0 || !v->in) {
        snprintf(err, errsize, "connect to the TCP candidate: %s", strerror(-rc));
        return false;
    }
    return true;
}

static void delete_session(CURL *c, const struct viewer *v, const char *token)
{
    if (!v->location[0])
        return;
    const char *base = v->origin;
    char url[1024];
    const char *path = strstr(base, "/api/");
    snprintf(url, sizeof(url), "%.*s%s", (int)(path ? path - base : 0), base, v->location);
    struct curl_slist *h = NULL;
    char auth[300];
    if (token && *token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    free(b.data);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *token = getenv("HORUS_TOKEN");
    int viewers = 1;
    double seconds = 10;
    bool decrypt = false;
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},     {"token", required_argument, NULL, 't'},
        {"viewers", required_argument, NULL, 'n'}, {"seconds", required_argument, NULL, 's'},
        {"decrypt", no_argument, NULL, 'd'},       {"audio", no_argument, NULL, 'a'},
        {"tcp", no_argument, NULL, 'T'},           {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 't':
            token = optarg;
            break;
        case 'n':
            viewers = atoi(optarg);
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'd':
            decrypt = true;
            break;
        case 'a':
            g_audio = true;
            break;
        case 'T':
            g_tcp = true;
            break;
        default:
            die("usage: horus-whepload --url URL [--token KEY] [--viewers N] [--seconds S] "
                "[--decrypt] [--audio] [--tcp]");
        }
    }
    if (!url || viewers < 1 || viewers > MAX_VIEWERS || seconds <= 0)
        die("usage: horus-whepload --url URL [--token KEY] [--viewers 1..1000] [--seconds S] "
            "[--decrypt]");
    if (srtp_init() != srtp_err_status_ok)
        die("srtp_init failed");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_ctx = whep_peer_identity(g_fp);
    if (!g_ctx)
        die("cannot make a DTLS identity");
    srand((unsigned)mono_ns());
    struct viewer *vs = calloc((size_t)viewers, sizeof(*vs));
    CURL *c = curl_easy_init();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int failed = 0;
    char first_err[400] = "";
    for (int i = 0; i < viewers; i++) {
        struct viewer *v = &vs[i];
        struct sockaddr_in none = {.sin_family = AF_INET};
        int64_t t0 = mono_ns();
        char err[360] = "cannot open a UDP socket";
        if ((g_tcp || whep_peer_open(&v->p, &none) == 0) &&
            offer(v, c, url, token, err, sizeof(err)) &&
            (!g_tcp || open_tcp(v, err, sizeof(err))) && connect_media(v, err, sizeof(err))) {
            v->ok = true;
            v->setup_ms = (double)(mono_ns() - t0) / 1e6;
            v->next_consent_ns = mono_ns() + CONSENT_NS;
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = v};
            epoll_ctl(ep, EPOLL_CTL_ADD, v->p.fd, &e);
        } else {
            if (!failed++) {
                snprintf(first_err, sizeof(first_err), "viewer %d: %s", i, err);
                for (char *q = first_err; *q; q++) /* it goes into a JSON string */
                    if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20)
                        *q = ' ';
            }
        }
    }
    /* Counting starts once every viewer is set up: the same window for all,
     * and nothing queued while the others were set up (a full socket buffer
     * there would read as loss). What was queued still goes through SRTP: a
     * receiver that skipped the sequence number's wrap would guess the wrong
     * rollover counter (RFC 3711 3.3.1) and fail every packet after. */
    for (int i = 0; i < viewers; i++) {
        if (vs[i].ok)
            drain(&vs[i], decrypt);
        vs[i].packets = vs[i].bytes = vs[i].lost = vs[i].keyframes = vs[i].bad_auth = 0;
        vs[i].has_seq = false;
    }
    int64_t end = mono_ns() + (int64_t)(seconds * 1e9);
    struct epoll_event evs[64];
    while (mono_ns() < end) {
        int n = epoll_wait(ep, evs, 64, 50);
        for (int k = 0; k < n; k++) {
            drain(evs[k].data.ptr, decrypt);
        }
        int64_t now = mono_ns();
        for (int i = 0; i < viewers; i++)
            if (vs[i].ok && now >= vs[i].next_consent_ns) {
                send_stun(&vs[i], false);
                vs[i].next_consent_ns = now + CONSENT_NS;
            }
    }
    double *setup = calloc((size_t)viewers, sizeof(double));
    int ok = 0;
    uint64_t min_packets = UINT64_MAX, max_packets = 0, packets = 0, bytes = 0, lost = 0,
             keyframes = 0, bad = 0, audio_packets = 0;
    for (int i = 0; i < viewers; i++) {
        struct viewer *v = &vs[i];
        if (!v->ok)
            continue;
        setup[ok++] = v->setup_ms;
        min_packets = v->packets < min_packets ? v->packets : min_packets;
        max_packets = v->packets > max_packets ? v->packets : max_packets;
        packets += v->packets;
        bytes += v->bytes;
        lost += v->lost;
        keyframes += v->keyframes;
        bad += v->bad_auth;
        audio_packets += v->audio_packets;
        if (v->bad_auth)
            fprintf(stderr, "horus-whepload: viewer %d: %llu of %llu packets failed SRTP\n", i,
                    (unsigned long long)v->bad_auth, (unsigned long long)v->packets);
    }
    qsort(setup, (size_t)ok, sizeof(double), cmp_double);
    for (int i = 0; i < viewers; i++) {
        delete_session(c, &vs[i], token);
        whep_peer_close(&vs[i].p);
        free(vs[i].in);
    }
    printf("{\"viewers\": %d, \"connected\": %d, \"failed\": %d, \"first_error\": \"%s\", "
           "\"seconds\": %.1f, \"setup_ms_p50\": %.1f, \"setup_ms_max\": %.1f, "
           "\"packets\": %llu, \"bytes\": %llu, \"lost\": %llu, \"min_packets\": %llu, "
           "\"max_packets\": %llu, \"keyframes\": %llu, \"bad_auth\": %llu, \"decrypt\": %s, "
           "\"audio_packets\": %llu}\n",
           viewers, ok, failed, first_err, seconds, ok ? setup[ok / 2] : 0.0,
           ok ? setup[ok - 1] : 0.0, (unsigned long long)packets, (unsigned long long)bytes,
           (unsigned long long)lost, ok ? (unsigned long long)min_packets : 0ULL,
           (unsigned long long)max_packets, (unsigned long long)keyframes, (unsigned long long)bad,
           decrypt ? "true" : "false", (unsigned long long)audio_packets);
    free(setup);
    free(vs);
    close(ep);
    curl_easy_cleanup(c);
    SSL_CTX_free(g_ctx);
    curl_global_cleanup();
    srtp_shutdown();
    return failed ? 1 : 0;
}
