/*
 * DESIGN: TLS for the HTTP server (docs/design/0019). libmicrohttpd 0.9.75
 * speaks TLS through GnuTLS; instead of handing it the certificate once
 * (MHD_OPTION_HTTPS_MEM_CERT, fixed for the daemon's life) we give it a
 * certificate-retrieve callback (MHD_OPTION_HTTPS_CERT_CALLBACK2, GnuTLS's
 * retrieve_function3), which GnuTLS calls once per handshake. The callback
 * imports the current PEM bytes into a fresh certificate list and private
 * key and hands them over with GNUTLS_CERT_RETR_DEINIT_ALL, so the session
 * owns its copies and frees them itself: a reload only swaps the PEM bytes
 * under the lock and never frees anything a session still uses. Open
 * connections (keep-alive included) keep the certificate they shook hands
 * with; the next handshake sees the new one.
 *
 * A reload reads both files and validates them in full (the key parses, the
 * chain parses, the key matches the first certificate) before the swap; a
 * bad pair is logged with the reason and the previous pair stays.
 *
 * Protocols: TLS 1.3 and 1.2 only, 1.3 first (GnuTLS priority string
 * TLS_PRIORITIES). Replies on a TLS server carry Strict-Transport-Security
 * (http_reply.c).
 *
 * Thread: http_tls_new/_reload/_free on main; the callback on the http-N
 * thread doing the handshake. The lock guards the PEM bytes only, and is
 * held for the in-memory import (no I/O, no logging).
 */
#include "http_int.h"

#include "err.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "http"

#define PEM_MAX_BYTES                                                                              \
    (1024 * 1024) /* a certificate chain or key file larger than this is refused */
#define CHAIN_MAX 16 /* certificates in a chain */

struct http_tls {
    char *cert_path; /* owned */
    char *key_path; /* owned */
    pthread_mutex_t lock; /* guards the two buffers and serial */
    gnutls_datum_t cert_pem; /* owned (malloc) */
    gnutls_datum_t key_pem; /* owned (malloc), secret: wiped before free */
    char serial[80]; /* hex serial of the first certificate, for the log */
};

const char *const http_tls_priorities = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

static void datum_wipe(gnutls_datum_t *d)
{
    if (d->data) {
        explicit_bzero(d->data, d->size);
        free(d->data);
    }
    d->data = NULL;
    d->size = 0;
}

/* Reads a whole PEM file. Returns 0 or -errno / HORUS_ETOOBIG; *why says what failed. */
static int read_pem(const char *path, gnutls_datum_t *out, char *why, size_t why_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(why, why_size, "open '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX_BYTES))
        rc = S_ISREG(st.st_mode) && st.st_size > 0 ? HORUS_ETOOBIG : -EINVAL;
    if (rc < 0) {
        snprintf(why, why_size, "read '%s': %s", path,
                 rc == -EINVAL ? "not a regular non-empty file" : horus_strerror(rc));
        close(fd);
        return rc;
    }
    unsigned char *buf = horus_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        snprintf(why, why_size, "read '%s': %s", path, horus_strerror(rc));
        explicit_bzero(buf, got);
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    out->data = buf;
    out->size = (unsigned)got;
    return 0;
}

/* Frees n certificates of list. */
static void pcerts_deinit(gnutls_pcert_st *list, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        gnutls_pcert_deinit(&list[i]);
}

/*
 * Imports cert_pem and key_pem into a new list (gnutls_malloc'ed, as
 * GnuTLS frees it with DEINIT_ALL) and key. Returns 0 or a GnuTLS error.
 */
static int import_pair(const gnutls_datum_t *cert_pem, const gnutls_datum_t *key_pem,
                       gnutls_pcert_st **certs, unsigned *ncerts, gnutls_privkey_t *key)
{
    gnutls_pcert_st *list = gnutls_malloc(CHAIN_MAX * sizeof(*list));
    if (!list)
        return GNUTLS_E_MEMORY_ERROR;
    unsigned n = CHAIN_MAX;
    int rc = gnutls_pcert_list_import_x509_raw(list, &n, cert_pem, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        gnutls_free(list);
        return rc;
    }
    gnutls_privkey_t k = NULL;
    rc = gnutls_privkey_init(&k);
    if (rc == 0)
        rc = gnutls_privkey_import_x509_raw(k, key_pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc < 0) {
        gnutls_privkey_deinit(k);
        pcerts_deinit(list, n);
        gnutls_free(list);
        return rc;
    }
    *certs = list;
    *ncerts = n;
    *key = k;
    return 0;
}

/*
 * Checks that the pair loads and that the key belongs to the first
 * certificate (a credentials object refuses a mismatched pair). Fills
 * serial with the first certificate's serial number in hex.
 */
static int validate_pair(const gnutls_datum_t *cert_pem, const gnutls_datum_t *key_pem,
                         char *serial, size_t serial_size, char *why, size_t why_size)
{
    gnutls_pcert_st *certs = NULL;
    unsigned n = 0;
    gnutls_privkey_t key = NULL;
    int rc = import_pair(cert_pem, key_pem, &certs, &n, &key);
    if (rc < 0) {
        snprintf(why, why_size, "%s", gnutls_strerror(rc));
        return -EINVAL;
    }
    gnutls_privkey_deinit(key);
    pcerts_deinit(certs, n);
    gnutls_free(certs);

    gnutls_certificate_credentials_t cred = NULL;
    rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc == 0)
        rc = gnutls_certificate_set_x509_key_mem2(cred, cert_pem, key_pem, GNUTLS_X509_FMT_PEM,
                                                  NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        snprintf(why, why_size, "%s", gnutls_strerror(rc));
        return -EINVAL;
    }

    gnutls_x509_crt_t crt = NULL;
    unsigned char raw[40];
    size_t raw_len = sizeof(raw);
    serial[0] = '\0';
    if (gnutls_x509_crt_init(&crt) == 0 &&
        gnutls_x509_crt_import(crt, cert_pem, GNUTLS_X509_FMT_PEM) == 0 &&
        gnutls_x509_crt_get_serial(crt, raw, &raw_len) == 0) {
        for (size_t i = 0; i < raw_len && 2 * i + 2 < serial_size; i++)
            snprintf(serial + 2 * i, 3, "%02x", raw[i]);
    }
    gnutls_x509_crt_deinit(crt);
    return 0;
}

/* Reads and validates the pair; on success steals it into t. */
static int load_pair(http_tls *t, char *why, size_t why_size)
{
    gnutls_datum_t cert = {0}, key = {0};
    char serial[sizeof(t->serial)];
    int rc = read_pem(t->cert_path, &cert, why, why_size);
    if (rc == 0)
        rc = read_pem(t->key_path, &key, why, why_size);
    if (rc == 0) {
        char what[200];
        rc = validate_pair(&cert, &key, serial, sizeof(serial), what, sizeof(what));
        if (rc < 0)
            snprintf(why, why_size, "certificate '%s' with key '%s': %s", t->cert_path, t->key_path,
                     what);
    }
    if (rc < 0) {
        datum_wipe(&cert);
        datum_wipe(&key);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    gnutls_datum_t old_cert = t->cert_pem, old_key = t->key_pem;
    t->cert_pem = cert;
    t->key_pem = key;
    memcpy(t->serial, serial, sizeof(serial));
    pthread_mutex_unlock(&t->lock);
    datum_wipe(&old_cert);
    datum_wipe(&old_key);
    return 0;
}

int http_tls_new(const char *cert_path, const char *key_path, http_tls **out)
{
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS) ||
        !MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK2)) {
        log_error("TLS: this libmicrohttpd has no TLS or no certificate callback");
        return -ENOTSUP;
    }
    http_tls *t = horus_calloc(1, sizeof(*t));
    t->cert_path = horus_strdup(cert_path);
    t->key_path = horus_strdup(key_path);
    pthread_mutex_init(&t->lock, NULL);
    char why[512];
    int rc = load_pair(t, why, sizeof(why));
    if (rc < 0) {
        log_error("TLS: %s", why);
        http_tls_free(t);
        return rc;
    }
    log_info_kv(LOG_KV({"cert", t->cert_path}, {"serial", t->serial}), "TLS certificate loaded");
    *out = t;
    return 0;
}

int http_tls_reload(http_tls *t)
{
    char why[512];
    int rc = load_pair(t, why, sizeof(why));
    if (rc < 0) {
        log_error_kv(LOG_KV({"cert", t->cert_path}),
                     "TLS certificate reload failed, keeping the previous one: %s", why);
        return rc;
    }
    char serial[sizeof(t->serial)];
    pthread_mutex_lock(&t->lock);
    memcpy(serial, t->serial, sizeof(serial));
    pthread_mutex_unlock(&t->lock);
    log_info_kv(LOG_KV({"cert", t->cert_path}, {"serial", serial}),
                "TLS certificate reloaded; new connections use it");
    return 0;
}

void http_tls_free(http_tls *t)
{
    if (!t)
        return;
    datum_wipe(&t->cert_pem);
    datum_wipe(&t->key_pem);
    pthread_mutex_destroy(&t->lock);
    free(t->cert_path);
    free(t->key_path);
    free(t);
}

/*
 * GnuTLS's retrieve callback has no user argument, so the certificate of
 * the (single) TLS server is found here; http_tls_activate refuses a second.
 */
static _Atomic(http_tls *) active;

int http_tls_activate(http_tls *t)
{
    http_tls *none = NULL;
    return atomic_compare_exchange_strong(&active, &none, t) ? 0 : -EBUSY;
}

void http_tls_deactivate(http_tls *t)
{
    http_tls *expect = t;
    atomic_compare_exchange_strong(&active, &expect, NULL);
}

int http_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
                      gnutls_pcert_st **certs, unsigned int *ncerts, gnutls_ocsp_data_st **ocsp,
                      unsigned int *nocsp, gnutls_privkey_t *key, unsigned int *flags)
{
    (void)session;
    (void)info;
    http_tls *t = atomic_load(&active);
    *ocsp = NULL;
    *nocsp = 0;
    if (!t)
        return -1; /* the handshake fails: no certificate */
    pthread_mutex_lock(&t->lock);
    int rc = import_pair(&t->cert_pem, &t->key_pem, certs, ncerts, key);
    pthread_mutex_unlock(&t->lock);
    if (rc < 0)
        return -1;
    /* The session owns its copies: a reload never frees what it uses. */
    *flags = GNUTLS_CERT_RETR_DEINIT_ALL;
    return 0;
}
