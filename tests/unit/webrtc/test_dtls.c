/*
 * Tests for src/webrtc/dtls.c and srtp.c with a real OpenSSL DTLS client
 * (its own self-signed certificate, use_srtp offered) exchanging
 * datagrams through memory: the handshake completes, both sides export
 * the same SRTP keys, the client sees our fingerprint, RTP we protect is
 * opened by a libsrtp receiver keyed as a browser would be and SRTCP the
 * client protects is opened by us; a client whose certificate does not
 * match the offer's fingerprint is refused, and garbage never completes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dtls_int.h"

#include "err.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wire {
    size_t n;
    uint8_t buf[32][WEBRTC_DTLS_MTU];
    size_t len[32];
};

static void to_client(void *arg, const uint8_t *buf, size_t len)
{
    struct wire *w = arg;
    assert_true(len <= WEBRTC_DTLS_MTU);
    assert_true(w->n < 32);
    memcpy(w->buf[w->n], buf, len);
    w->len[w->n++] = len;
}

struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
    uint8_t fp[32];
};

static void client_open(struct client *c)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"browser", -1, -1,
                               0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    unsigned n = 0;
    X509_digest(x, EVP_sha256(), c->fp, &n);
    assert_int_equal(n, 32);
    c->ctx = SSL_CTX_new(DTLS_client_method());
    assert_int_equal(SSL_CTX_use_certificate(c->ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(c->ctx, key), 1);
    assert_int_equal(SSL_CTX_set_tlsext_use_srtp(c->ctx, "SRTP_AES128_CM_SHA1_80"), 0);
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void client_close(struct client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
}

/* Runs the handshake; returns the server's last input result. */
static int handshake(struct client *c, webrtc_dtls *d, struct wire *w)
{
    int last = 0;
    for (int round = 0; round < 10 && !webrtc_dtls_done(d) && last >= 0; round++) {
        SSL_do_handshake(c->ssl);
        char *data;
        long n = BIO_get_mem_data(c->wbio, &data);
        if (n > 0)
            last = webrtc_dtls_input(d, (const uint8_t *)data, (size_t)n);
        (void)BIO_reset(c->wbio);
        for (size_t i = 0; i < w->n; i++)
            BIO_write(c->rbio, w->buf[i], (int)w->len[i]);
        w->n = 0;
    }
    SSL_do_handshake(c->ssl); /* the client reads the server's last flight */
    return last;
}

static void test_a_client_handshakes_and_both_sides_share_srtp_keys(void **state)
{
    char err[200];
    webrtc_cert *cert;
    assert_int_equal(webrtc_cert_new(&cert, err, sizeof(err)), 0);
    assert_int_equal(strlen(webrtc_cert_fingerprint(cert)), 32 * 3 - 1);
    struct client c;
    client_open(&c);
    struct wire *w = calloc(1, sizeof(*w));
    webrtc_dtls *d;
    assert_int_equal(webrtc_dtls_new(cert, "sha-256", c.fp, 32, to_client, w, &d), 0);
    uint8_t keys[WEBRTC_SRTP_KEYS_BYTES];
    assert_int_equal(webrtc_dtls_srtp_keys(d, keys), -EAGAIN);
    assert_int_equal(handshake(&c, d, w), 1);
    assert_true(webrtc_dtls_done(d));
    assert_int_equal(SSL_is_init_finished(c.ssl), 1);

    /* the client sees the certificate we announce */
    X509 *peer = SSL_get1_peer_certificate(c.ssl);
    uint8_t md[32];
    unsigned n = 0;
    X509_digest(peer, EVP_sha256(), md, &n);
    char fp[100] = "";
    for (unsigned i = 0; i < n; i++)
        sprintf(fp + i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
    assert_string_equal(fp, webrtc_cert_fingerprint(cert));
    X509_free(peer);

    uint8_t theirs[WEBRTC_SRTP_KEYS_BYTES];
    assert_int_equal(webrtc_dtls_srtp_keys(d, keys), 0);
    assert_int_equal(SSL_export_keying_material(c.ssl, theirs, sizeof(theirs),
                                                "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
                     1);
    assert_memory_equal(keys, theirs, sizeof(keys));

    /* RTP we protect opens with the server key and salt, as a browser keys it */
    webrtc_srtp *s;
    assert_int_equal(webrtc_srtp_new(keys, &s), 0);
    uint8_t pkt[64 + WEBRTC_SRTP_TRAILER] = {0x80, 102, 0, 1, 0, 0, 0, 9, 0, 0, 0, 42};
    memcpy(pkt + 12, "payload bytes", 13);
    size_t len = 25;
    assert_int_equal(webrtc_srtp_protect(s, pkt, &len), 0);
    assert_int_equal(len, 25 + 10);
    assert_memory_not_equal(pkt + 12, "payload bytes", 13);
    uint8_t master[30];
    memcpy(master, theirs + 16, 16);
    memcpy(master + 16, theirs + 46, 14);
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.ssrc.type = ssrc_any_inbound;
    p.key = master;
    p.window_size = 128;
    srtp_t browser_in;
    assert_int_equal(srtp_create(&browser_in, &p), srtp_err_status_ok);
    int plen = (int)len;
    assert_int_equal(srtp_unprotect(browser_in, pkt, &plen), srtp_err_status_ok);
    assert_int_equal(plen, 25);
    assert_memory_equal(pkt + 12, "payload bytes", 13);

    /* SRTCP the browser sends with the client key opens here; a flipped bit does not */
    memcpy(master, theirs, 16);
    memcpy(master + 16, theirs + 32, 14);
    p.ssrc.type = ssrc_any_outbound;
    srtp_t browser_out;
    assert_int_equal(srtp_create(&browser_out, &p), srtp_err_status_ok);
    uint8_t pli[12 + WEBRTC_SRTP_TRAILER] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 42};
    plen = 12;
    assert_int_equal(srtp_protect_rtcp(browser_out, pli, &plen), srtp_err_status_ok);
    uint8_t copy[sizeof(pli)];
    memcpy(copy, pli, sizeof(pli));
    len = (size_t)plen;
    copy[9] ^= 1;
    assert_int_equal(webrtc_srtp_unprotect_rtcp(s, copy, &len), HORUS_EAUTH);
    len = (size_t)plen;
    assert_int_equal(webrtc_srtp_unprotect_rtcp(s, pli, &len), 0);
    assert_int_equal(len, 12);
    assert_int_equal(pli[1], 206);

    srtp_dealloc(browser_in);
    srtp_dealloc(browser_out);
    webrtc_srtp_free(s);
    webrtc_dtls_close(d);
    webrtc_dtls_free(d);
    client_close(&c);
    webrtc_cert_free(cert);
    free(w);
}

static void test_a_certificate_other_than_the_offered_one_is_refused(void **state)
{
    char err[200];
    webrtc_cert *cert;
    assert_int_equal(webrtc_cert_new(&cert, err, sizeof(err)), 0);
    struct client c;
    client_open(&c);
    struct wire *w = calloc(1, sizeof(*w));
    webrtc_dtls *d;
    c.fp[5] ^= 1;
    assert_int_equal(webrtc_dtls_new(cert, "sha-256", c.fp, 32, to_client, w, &d), 0);
    assert_int_equal(handshake(&c, d, w), HORUS_EAUTH);
    assert_false(webrtc_dtls_done(d));
    uint8_t keys[WEBRTC_SRTP_KEYS_BYTES];
    assert_int_equal(webrtc_dtls_srtp_keys(d, keys), -EAGAIN);
    assert_int_equal(webrtc_dtls_input(d, (const uint8_t *)"\x16", 1), HORUS_EAUTH); /* dead */
    webrtc_dtls_free(d);
    client_close(&c);
    /* a hash the offer cannot have meant */
    assert_int_equal(webrtc_dtls_new(cert, "md5", c.fp, 16, to_client, w, &d), -EINVAL);
    assert_int_equal(webrtc_dtls_new(cert, "sha-256", c.fp, 20, to_client, w, &d), -EINVAL);
    webrtc_cert_free(cert);
    free(w);
}

static void test_garbage_records_never_finish_a_handshake(void **state)
{
    char err[200];
    webrtc_cert *cert;
    assert_int_equal(webrtc_cert_new(&cert, err, sizeof(err)), 0);
    struct wire *w = calloc(1, sizeof(*w));
    uint8_t fp[32] = {0};
    webrtc_dtls *d;
    assert_int_equal(webrtc_dtls_new(cert, "sha-256", fp, 32, to_client, w, &d), 0);
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 22);
    junk[0] = 22; /* a handshake record's type, then nonsense */
    for (int i = 0; i < 20; i++) {
        int rc = webrtc_dtls_input(d, junk, sizeof(junk) - (size_t)i);
        assert_true(rc == 0 || rc == -EPROTO);
    }
    assert_false(webrtc_dtls_done(d));
    webrtc_dtls_tick(d);
    webrtc_dtls_free(d);
    webrtc_cert_free(cert);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_client_handshakes_and_both_sides_share_srtp_keys),
        cmocka_unit_test(test_a_certificate_other_than_the_offered_one_is_refused),
        cmocka_unit_test(test_garbage_records_never_finish_a_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
