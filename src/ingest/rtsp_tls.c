/*
 * DESIGN: RTSP over TLS for the native client (rtsps://, docs/design/0033).
 * GnuTLS (already linked by src/http), used non-blocking on the stream's
 * socket: the handshake and every record read or write return "again"
 * instead of waiting, and the stream asks epoll for the direction GnuTLS
 * needs next. TLS 1.2 is the minimum, SNI carries the URL host when it is
 * a name (never an IP literal, RFC 6066), and the certificate is checked in
 * the handshake against the trust store with the URL host
 * (gnutls_session_set_verify_cert): a camera may only turn this off for
 * itself (tls_verify false).
 *
 * Trust stores: the system store, or the PEM file `ingest.tls_ca`, parsed
 * once per process and shared by every stream that names it (refcounted,
 * loaded by ing_tls_creds_acquire on the thread that starts a stream, never
 * on a loop thread). GnuTLS credentials are read-only once built, so any
 * loop thread may use them.
 *
 * A failed verification is explained from the status bits and the peer's
 * first certificate (ing_tls_explain, pure): expired (with its notAfter),
 * not yet valid, issued for another host, self-signed, or signed by a CA
 * we do not trust, in that order of what a person must fix first.
 */
#define LOG_MODULE "ingest"

#include "rtsp_int.h"

#include "err.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

/* TLS 1.2 and 1.3 only. */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

const char *ing_tls_failure_code(enum ing_tls_failure f)
{
    static const char *const codes[] = {"expired",   "not_yet_valid", "wrong_host", "self_signed",
                                        "untrusted", "revoked",       "handshake",  "ca_file"};
    return (unsigned)f < ING_TLS_FAILURES ? codes[f] : "handshake";
}

/* ---- explaining a verification failure (pure) ---- */

static void date_of(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, size, "%Y-%m-%d", &tm) == 0)
        snprintf(out, size, "unknown");
}

enum ing_tls_failure ing_tls_explain(unsigned status, const struct ing_tls_cert_facts *f,
                                     const char *host, char *out, size_t size)
{
    char date[32];
    bool has = f && f->has_cert;
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND || status & GNUTLS_CERT_SIGNER_NOT_CA) {
        if (has && f->is_self_signed) {
            snprintf(out, size, "TLS: certificate not trusted (self-signed)");
            return ING_TLS_SELF_SIGNED;
        }
        if (has && f->issuer[0])
            snprintf(out, size, "TLS: certificate not trusted (unknown CA '%.64s')", f->issuer);
        else
            snprintf(out, size, "TLS: certificate not trusted (unknown CA)");
        return ING_TLS_UNTRUSTED;
    }
    if (status & GNUTLS_CERT_REVOKED) {
        snprintf(out, size, "TLS: certificate revoked");
        return ING_TLS_REVOKED;
    }
    if (status & GNUTLS_CERT_EXPIRED) {
        date_of(has ? f->not_after : 0, date, sizeof(date));
        snprintf(out, size, "TLS: certificate expired (notAfter %s)", date);
        return ING_TLS_EXPIRED;
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        date_of(has ? f->not_before : 0, date, sizeof(date));
        snprintf(out, size, "TLS: certificate not valid yet (notBefore %s)", date);
        return ING_TLS_NOT_YET_VALID;
    }
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
        snprintf(out, size, "TLS: certificate is for '%.64s', not '%.64s'",
                 has && f->name[0] ? f->name : "another host", host ? host : "");
        return ING_TLS_WRONG_HOST;
    }
    if (status & (GNUTLS_CERT_INSECURE_ALGORITHM | GNUTLS_CERT_SIGNATURE_FAILURE)) {
        snprintf(out, size, "TLS: certificate not trusted (bad or insecure signature)");
        return ING_TLS_UNTRUSTED;
    }
    snprintf(out, size, "TLS: certificate not trusted (status 0x%x)", status);
    return ING_TLS_UNTRUSTED;
}

/* ---- shared trust stores ---- */

struct ing_tls_creds {
    struct ing_tls_creds *next;
    unsigned refs;
    char *ca_file; /* owned; "" = the system store */
    gnutls_certificate_credentials_t cred;
};

static struct {
    pthread_mutex_t mu;
    struct ing_tls_creds *list;
} creds_cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

int ing_tls_creds_acquire(const char *ca_file, struct ing_tls_creds **out, char *err, size_t size)
{
    if (!ca_file)
        ca_file = "";
    pthread_mutex_lock(&creds_cache.mu);
    for (struct ing_tls_creds *c = creds_cache.list; c; c = c->next) {
        if (strcmp(c->ca_file, ca_file) == 0) {
            c->refs++;
            *out = c;
            pthread_mutex_unlock(&creds_cache.mu);
            return 0;
        }
    }
    gnutls_certificate_credentials_t cred;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0) {
        pthread_mutex_unlock(&creds_cache.mu);
        snprintf(err, size, "TLS: %s", gnutls_strerror(rc));
        return -ENOMEM;
    }
    if (ca_file[0])
        rc = gnutls_certificate_set_x509_trust_file(cred, ca_file, GNUTLS_X509_FMT_PEM);
    else
        rc = gnutls_certificate_set_x509_system_trust(cred);
    if (rc <= 0) {
        gnutls_certificate_free_credentials(cred);
        pthread_mutex_unlock(&creds_cache.mu);
        if (ca_file[0])
            snprintf(err, size, "TLS: no CA certificate in '%.200s' (ingest.tls_ca): %s", ca_file,
                     rc == 0 ? "empty" : gnutls_strerror(rc));
        else
            snprintf(err, size, "TLS: no system CA certificates: %s",
                     rc == 0 ? "empty" : gnutls_strerror(rc));
        return -ENOENT;
    }
    struct ing_tls_creds *c = horus_calloc(1, sizeof(*c));
    c->refs = 1;
    c->ca_file = horus_strdup(ca_file);
    c->cred = cred;
    c->next = creds_cache.list;
    creds_cache.list = c;
    *out = c;
    pthread_mutex_unlock(&creds_cache.mu);
    return 0;
}

void ing_tls_creds_release(struct ing_tls_creds *creds)
{
    if (!creds)
        return;
    pthread_mutex_lock(&creds_cache.mu);
    if (--creds->refs == 0) {
        for (struct ing_tls_creds **p = &creds_cache.list; *p; p = &(*p)->next) {
            if (*p == creds) {
                *p = creds->next;
                break;
            }
        }
        gnutls_certificate_free_credentials(creds->cred);
        free(creds->ca_file);
        free(creds);
    }
    pthread_mutex_unlock(&creds_cache.mu);
}

/* ---- one session ---- */

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int ing_tls_start(struct ing_tls *t, struct ing_tls_creds *creds, int fd, const char *host,
                  bool verify, char *err, size_t size)
{
    ing_tls_end(t);
    gnutls_session_t s;
    int rc = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (rc < 0) {
        snprintf(err, size, "TLS: %s", gnutls_strerror(rc));
        return -ENOMEM;
    }
    const char *where = NULL;
    rc = gnutls_priority_set_direct(s, PRIORITY, &where);
    if (rc >= 0)
        rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds->cred);
    if (rc >= 0 && host[0] && !is_ip_literal(host))
        rc = gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host));
    if (rc < 0) {
        snprintf(err, size, "TLS: %s", gnutls_strerror(rc));
        gnutls_deinit(s);
        return -EINVAL;
    }
    if (verify)
        gnutls_session_set_verify_cert(s, host, 0);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, 0); /* the stream's own deadline applies */
    t->session = s;
    t->host = host;
    t->send_pending = 0;
    t->is_open = true;
    return 0;
}

/* What the peer's first certificate says, for the explanation. */
static void peer_facts(gnutls_session_t s, struct ing_tls_cert_facts *f)
{
    memset(f, 0, sizeof(*f));
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    gnutls_x509_crt_t crt;
    if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
        return;
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return;
    }
    f->has_cert = true;
    f->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    f->not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
    f->is_self_signed = gnutls_x509_crt_check_issuer(crt, crt) != 0;
    /* The name: the first DNS or IP subject alternative name, else the CN. */
    for (unsigned i = 0; !f->name[0]; i++) {
        char buf[128];
        size_t len = sizeof(buf);
        int type = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, NULL);
        if (type < 0)
            break;
        if (type == GNUTLS_SAN_DNSNAME && len < sizeof(f->name)) {
            memcpy(f->name, buf, len);
            f->name[len] = '\0';
        } else if (type == GNUTLS_SAN_IPADDRESS && (len == 4 || len == 16)) {
            inet_ntop(len == 4 ? AF_INET : AF_INET6, buf, f->name, sizeof(f->name));
        }
    }
    if (!f->name[0]) {
        size_t len = sizeof(f->name);
        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, f->name, &len) <
            0)
            f->name[0] = '\0';
    }
    size_t len = sizeof(f->issuer);
    if (gnutls_x509_crt_get_issuer_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, f->issuer,
                                             &len) < 0)
        f->issuer[0] = '\0';
    gnutls_x509_crt_deinit(crt);
}

int ing_tls_handshake(struct ing_tls *t, enum ing_tls_failure *kind, char *err, size_t size)
{
    int rc = gnutls_handshake(t->session);
    if (rc == GNUTLS_E_SUCCESS)
        return 0;
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc))
        return -EAGAIN;
    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        struct ing_tls_cert_facts f;
        peer_facts(t->session, &f);
        *kind = ing_tls_explain(gnutls_session_get_verify_cert_status(t->session), &f, t->host, err,
                                size);
        return -EPROTO;
    }
    *kind = ING_TLS_HANDSHAKE;
    if (rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_PUSH_ERROR ||
        rc == GNUTLS_E_PULL_ERROR)
        snprintf(err, size, "TLS: handshake failed: the camera closed the connection");
    else
        snprintf(err, size, "TLS: handshake failed: %s", gnutls_strerror(rc));
    return -EPROTO;
}

uint32_t ing_tls_events(const struct ing_tls *t)
{
    return gnutls_record_get_direction(t->session) ? EPOLLOUT : EPOLLIN;
}

long ing_tls_recv(struct ing_tls *t, uint8_t *buf, size_t len)
{
    ssize_t r = gnutls_record_recv(t->session, buf, len);
    if (r >= 0)
        return (long)r;
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_REHANDSHAKE)
        return -EAGAIN;
    if (r == GNUTLS_E_PREMATURE_TERMINATION)
        return 0; /* the camera closed without close_notify: an EOF all the same */
    return -ECONNRESET;
}

bool ing_tls_pending(const struct ing_tls *t)
{
    return gnutls_record_check_pending(t->session) > 0;
}

long ing_tls_send(struct ing_tls *t, const uint8_t *buf, size_t len)
{
    /* After "again", GnuTLS wants the same call once more: the head of buf is unchanged. */
    if (t->send_pending)
        len = t->send_pending;
    ssize_t r = gnutls_record_send(t->session, buf, len);
    if (r >= 0) {
        t->send_pending = 0;
        return (long)r;
    }
    if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
        t->send_pending = len;
        return -EAGAIN;
    }
    return -ECONNRESET;
}

void ing_tls_end(struct ing_tls *t)
{
    if (!t->is_open)
        return;
    gnutls_deinit(t->session);
    t->session = NULL;
    t->is_open = false;
    t->send_pending = 0;
}
