/*
 * DESIGN: the DTLS-SRTP server (docs/design/0055). One SSL_CTX holds the
 * node's self-signed ECDSA certificate; each peer gets an SSL object with
 * two memory BIOs. A datagram from the peer is written into the read BIO
 * and the handshake stepped; whatever OpenSSL wrote is cut back into
 * datagrams at DTLS record boundaries (a memory BIO joins records) of at
 * most WEBRTC_DTLS_MTU bytes and handed to the caller's send callback.
 * The peer's certificate is self-signed too: OpenSSL's chain check is
 * turned off and the certificate is instead compared with the offer's
 * a=fingerprint once the handshake ends (RFC 8827 6.5). Thread: the
 * caller's (the webrtc thread), one at a time per object.
 */
#include "dtls_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct webrtc_cert {
    SSL_CTX *ctx; /* owned */
    char fingerprint[32 * 3]; /* "AB:CD:..." */
};

struct webrtc_dtls {
    SSL *ssl; /* owned; owns its BIOs */
    BIO *rbio, *wbio; /* borrowed from ssl */
    const EVP_MD *md; /* of the offer's fingerprint */
    uint8_t fp[EVP_MAX_MD_SIZE];
    size_t fp_len;
    webrtc_dtls_send_cb send;
    void *arg;
    bool done;
    int error; /* 0, or the error every later input returns */
    uint8_t keys[WEBRTC_SRTP_KEYS_BYTES];
};

static void openssl_reason(char *err, size_t errsize, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "unknown error";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, errsize, "%s: %s", what, buf);
}

/* The peer's certificate is checked against the SDP fingerprint after the handshake. */
static int accept_any_certificate(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

static X509 *make_certificate(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[8];
    bool ok = x && name && RAND_bytes(serial, sizeof(serial)) == 1;
    if (ok) {
        serial[0] &= 0x7f; /* a positive serial */
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
        BN_free(bn);
    }
    ok = ok && X509_set_version(x, 2) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) != NULL &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"horus", -1,
                                    -1, 0) &&
         X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
         X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static void format_fingerprint(const uint8_t *md, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

int webrtc_cert_new(webrtc_cert **out, char *err, size_t errsize)
{
    webrtc_cert *c = horus_calloc(1, sizeof(*c));
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? make_certificate(key) : NULL;
    int rc = 0;
    if (!x) {
        openssl_reason(err, errsize, "make the DTLS certificate");
        rc = -EIO;
        goto out;
    }
    uint8_t md[32];
    unsigned md_len = 0;
    X509_digest(x, EVP_sha256(), md, &md_len);
    format_fingerprint(md, md_len, c->fingerprint);
    c->ctx = SSL_CTX_new(DTLS_server_method());
    /* SSL_CTX_set_tlsext_use_srtp returns 0 on success */
    if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION) ||
        SSL_CTX_use_certificate(c->ctx, x) != 1 || SSL_CTX_use_PrivateKey(c->ctx, key) != 1 ||
        SSL_CTX_set_tlsext_use_srtp(c->ctx, "SRTP_AES128_CM_SHA1_80") != 0) {
        openssl_reason(err, errsize, "make the DTLS context");
        rc = -EIO;
        goto out;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       accept_any_certificate);
    SSL_CTX_set_read_ahead(c->ctx, 1);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_QUERY_MTU);
out:
    X509_free(x);
    EVP_PKEY_free(key);
    if (rc != 0) {
        webrtc_cert_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

void webrtc_cert_free(webrtc_cert *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

const char *webrtc_cert_fingerprint(const webrtc_cert *c)
{
    return c->fingerprint;
}

static const EVP_MD *md_of(const char *alg)
{
    if (strcmp(alg, "sha-256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "sha-1") == 0)
        return EVP_sha1();
    if (strcmp(alg, "sha-384") == 0)
        return EVP_sha384();
    if (strcmp(alg, "sha-512") == 0)
        return EVP_sha512();
    return NULL;
}

int webrtc_dtls_new(webrtc_cert *c, const char *fp_alg, const uint8_t *fp, size_t fp_len,
                    webrtc_dtls_send_cb send, void *arg, webrtc_dtls **out)
{
    const EVP_MD *md = md_of(fp_alg);
    if (!md || fp_len != (size_t)EVP_MD_get_size(md))
        return -EINVAL;
    webrtc_dtls *d = horus_calloc(1, sizeof(*d));
    d->md = md;
    memcpy(d->fp, fp, fp_len);
    d->fp_len = fp_len;
    d->send = send;
    d->arg = arg;
    d->ssl = SSL_new(c->ctx);
    d->rbio = BIO_new(BIO_s_mem());
    d->wbio = BIO_new(BIO_s_mem());
    horus_assert(d->ssl && d->rbio && d->wbio);
    BIO_set_mem_eof_return(d->rbio, -1); /* empty means "would block", not EOF */
    SSL_set_bio(d->ssl, d->rbio, d->wbio);
    DTLS_set_link_mtu(d->ssl, WEBRTC_DTLS_MTU);
    SSL_set_accept_state(d->ssl);
    *out = d;
    return 0;
}

void webrtc_dtls_free(webrtc_dtls *d)
{
    if (!d)
        return;
    SSL_free(d->ssl);
    OPENSSL_cleanse(d->keys, sizeof(d->keys));
    free(d);
}

/* Sends what OpenSSL wrote, cut into datagrams at record boundaries. */
static void flush(webrtc_dtls *d)
{
    char *data;
    long n = BIO_get_mem_data(d->wbio, &data);
    const uint8_t *p = (const uint8_t *)data;
    size_t len = n > 0 ? (size_t)n : 0, start = 0, pos = 0;
    while (pos < len) {
        size_t rec = 13;
        if (len - pos >= 13)
            rec += ((size_t)p[pos + 11] << 8) | p[pos + 12];
        if (rec > len - pos)
            rec = len - pos; /* cannot happen with OpenSSL's output; send what is there */
        if (pos > start && pos + rec - start > WEBRTC_DTLS_MTU) {
            d->send(d->arg, p + start, pos - start);
            start = pos;
        }
        pos += rec;
    }
    if (pos > start)
        d->send(d->arg, p + start, pos - start);
    (void)BIO_reset(d->wbio);
}

static int finish_handshake(webrtc_dtls *d)
{
    const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
    if (!prof || prof->id != SRTP_AES128_CM_SHA1_80)
        return -EPROTO;
    X509 *peer = SSL_get1_peer_certificate(d->ssl);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    bool match = peer && X509_digest(peer, d->md, md, &md_len) == 1 && md_len == d->fp_len &&
                 CRYPTO_memcmp(md, d->fp, md_len) == 0;
    X509_free(peer);
    if (!match)
        return HORUS_EAUTH;
    static const char label[] = "EXTRACTOR-dtls_srtp";
    if (SSL_export_keying_material(d->ssl, d->keys, sizeof(d->keys), label, sizeof(label) - 1, NULL,
                                   0, 0) != 1)
        return -EPROTO;
    return 1;
}

int webrtc_dtls_input(webrtc_dtls *d, const uint8_t *buf, size_t len)
{
    if (d->error)
        return d->error;
    if (len == 0 || len > INT32_MAX)
        return 0;
    BIO_write(d->rbio, buf, (int)len);
    int rc = 0;
    if (!d->done) {
        int r = SSL_do_handshake(d->ssl);
        if (r == 1) {
            rc = finish_handshake(d);
            d->done = rc == 1;
        } else {
            int e = SSL_get_error(d->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                rc = -EPROTO;
        }
    } else {
        /* after the handshake: alerts (close_notify) or stray data; nothing to deliver */
        uint8_t sink[512];
        while (SSL_read(d->ssl, sink, sizeof(sink)) > 0) {
        }
        if (SSL_get_shutdown(d->ssl) & SSL_RECEIVED_SHUTDOWN)
            rc = -EPIPE;
    }
    ERR_clear_error();
    flush(d);
    if (rc < 0)
        d->error = rc;
    return rc;
}

void webrtc_dtls_tick(webrtc_dtls *d)
{
    if (d->done || d->error)
        return;
    if (DTLSv1_handle_timeout(d->ssl) > 0)
        flush(d);
    ERR_clear_error();
}

bool webrtc_dtls_done(const webrtc_dtls *d)
{
    return d->done;
}

int webrtc_dtls_srtp_keys(const webrtc_dtls *d, uint8_t out[WEBRTC_SRTP_KEYS_BYTES])
{
    if (!d->done)
        return -EAGAIN;
    memcpy(out, d->keys, WEBRTC_SRTP_KEYS_BYTES);
    return 0;
}

void webrtc_dtls_close(webrtc_dtls *d)
{
    if (d->done && !d->error) {
        SSL_shutdown(d->ssl);
        flush(d);
    }
    ERR_clear_error();
}
