/*
 * DESIGN: the media side of a WHEP viewer (peer.h): what a browser does
 * after the answer, with nothing else, so that a test or a load tool can
 * be a real peer of the server without a browser.
 */
#include "peer.h"
#include "stun_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

SSL_CTX *whep_peer_identity(char fingerprint[100])
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    SSL_CTX *ctx = NULL;
    if (!key || !x || !name)
        goto out;
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"whep-peer", -1, -1,
                               0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (!X509_sign(x, key, EVP_sha256()))
        goto out;
    uint8_t md[32];
    unsigned n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    for (unsigned i = 0; i < n; i++)
        sprintf(fingerprint + i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
    ctx = SSL_CTX_new(DTLS_client_method());
    if (ctx) {
        SSL_CTX_use_certificate(ctx, x);
        SSL_CTX_use_PrivateKey(ctx, key);
        SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AES128_CM_SHA1_80");
    }
out:
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

int whep_peer_open(struct whep_peer *p, const struct sockaddr_in *server)
{
    memset(p, 0, sizeof(*p));
    p->server = *server;
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -errno;
    int rcvbuf = 1 << 20;
    setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(p->fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
        int rc = -errno;
        close(p->fd);
        p->fd = -1;
        return rc;
    }
    return 0;
}

int whep_peer_open_tcp(struct whep_peer *p, const struct sockaddr_in *server)
{
    memset(p, 0, sizeof(*p));
    p->server = *server;
    p->tcp = true;
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(p->fd, (const struct sockaddr *)server, sizeof(*server)) < 0) {
        int rc = -errno;
        close(p->fd);
        p->fd = -1;
        return rc;
    }
    return 0;
}

/* Reads exactly n bytes within ms of each wait; false on timeout, EOF or error. */
static bool read_exact(struct whep_peer *p, uint8_t *buf, size_t n, int ms)
{
    size_t have = 0;
    while (have < n) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (poll(&pfd, 1, ms) <= 0)
            return false;
        ssize_t r = recv(p->fd, buf + have, n - have, 0);
        if (r <= 0) {
            p->eof = true;
            return false;
        }
        have += (size_t)r;
    }
    return true;
}

static size_t recv_frame(struct whep_peer *p, uint8_t *buf, size_t cap, int ms)
{
    uint8_t hdr[2], skip[512];
    if (p->eof) {
        poll(NULL, 0, ms);
        return 0;
    }
    if (!read_exact(p, hdr, 2, ms))
        return 0;
    size_t len = ((size_t)hdr[0] << 8) | hdr[1], keep = len < cap ? len : cap;
    if (!read_exact(p, buf, keep, 1000))
        return 0;
    for (size_t left = len - keep; left > 0;) { /* too long for buf: cut */
        size_t k = left < sizeof(skip) ? left : sizeof(skip);
        if (!read_exact(p, skip, k, 1000))
            return 0;
        left -= k;
    }
    return keep;
}

void whep_peer_close(struct whep_peer *p)
{
    if (p->in)
        srtp_dealloc(p->in);
    if (p->out)
        srtp_dealloc(p->out);
    SSL_free(p->ssl); /* frees both BIOs */
    if (p->fd >= 0)
        close(p->fd);
    memset(p, 0, sizeof(*p));
    p->fd = -1;
}

size_t whep_peer_recv(struct whep_peer *p, uint8_t *buf, size_t cap, int ms)
{
    if (p->tcp)
        return recv_frame(p, buf, cap, ms);
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) <= 0)
        return 0;
    ssize_t n = recv(p->fd, buf, cap, 0);
    return n > 0 ? (size_t)n : 0;
}

int whep_peer_send(struct whep_peer *p, const void *buf, size_t len)
{
    if (p->tcp) {
        uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        struct iovec iov[2] = {{hdr, 2}, {(void *)buf, len}};
        ssize_t n = len <= 65535 ? writev(p->fd, iov, 2) : -1;
        return n == (ssize_t)(len + 2) ? 0 : (n < 0 ? -errno : -EMSGSIZE);
    }
    ssize_t n = sendto(p->fd, buf, len, 0, (const struct sockaddr *)&p->server, sizeof(p->server));
    return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EMSGSIZE);
}

int whep_peer_stun(struct whep_peer *p, const char *local_ufrag, const char *pwd, bool nominate,
                   const uint8_t txid[12])
{
    char user[200];
    snprintf(user, sizeof(user), "%s:%s", p->ufrag, local_ufrag);
    struct webrtc_stun_build_options o = {
        .type = WEBRTC_STUN_BINDING_REQUEST,
        .txid = txid,
        .username = user,
        .priority = 1,
        .use_candidate = nominate,
        .ice_controlling = true,
        .tie_breaker = 42,
        .integrity_key = pwd,
        .integrity_key_len = strlen(pwd),
        .fingerprint = true,
    };
    uint8_t req[512];
    int n = webrtc_stun_build(&o, req, sizeof(req));
    return n < 0 ? n : whep_peer_send(p, req, (size_t)n);
}

void whep_peer_policy(srtp_policy_t *pol, uint8_t master[30], srtp_ssrc_type_t type)
{
    memset(pol, 0, sizeof(*pol));
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtcp);
    pol->window_size = 1024;
    pol->allow_repeat_tx = 1;
    pol->key = master;
    pol->ssrc.type = type;
}

int whep_peer_dtls(struct whep_peer *p, SSL_CTX *ctx, char *err, size_t errsize)
{
    p->ssl = SSL_new(ctx);
    p->rbio = BIO_new(BIO_s_mem());
    p->wbio = BIO_new(BIO_s_mem());
    if (!p->ssl || !p->rbio || !p->wbio) {
        snprintf(err, errsize, "DTLS: out of memory");
        return -1;
    }
    BIO_set_mem_eof_return(p->rbio, -1);
    SSL_set_bio(p->ssl, p->rbio, p->wbio);
    SSL_set_connect_state(p->ssl);
    uint8_t buf[2048];
    for (int round = 0; round < 40 && !SSL_is_init_finished(p->ssl); round++) {
        SSL_do_handshake(p->ssl);
        char *data;
        long n = BIO_get_mem_data(p->wbio, &data);
        if (n > 0)
            whep_peer_send(p, data, (size_t)n);
        (void)BIO_reset(p->wbio);
        if (SSL_is_init_finished(p->ssl))
            break; /* what comes next is media */
        size_t got = whep_peer_recv(p, buf, sizeof(buf), 250);
        if (got && webrtc_demux_classify(buf, got) == WEBRTC_DEMUX_DTLS)
            BIO_write(p->rbio, buf, (int)got);
    }
    if (!SSL_is_init_finished(p->ssl)) {
        snprintf(err, errsize, "DTLS handshake did not finish");
        return -1;
    }
    uint8_t keys[60]; /* client key, server key, client salt, server salt */
    if (SSL_export_keying_material(p->ssl, keys, 60, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1) {
        snprintf(err, errsize, "no SRTP keys from DTLS");
        return -1;
    }
    memcpy(p->in_master, keys + 16, 16);
    memcpy(p->in_master + 16, keys + 46, 14);
    memcpy(p->out_master, keys, 16);
    memcpy(p->out_master + 16, keys + 32, 14);
    srtp_policy_t in, out;
    whep_peer_policy(&in, p->in_master, ssrc_any_inbound);
    whep_peer_policy(&out, p->out_master, ssrc_any_outbound);
    if (srtp_create(&p->in, &in) != srtp_err_status_ok ||
        srtp_create(&p->out, &out) != srtp_err_status_ok) {
        snprintf(err, errsize, "srtp_create failed");
        return -1;
    }
    return 0;
}
