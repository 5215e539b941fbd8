/*
 * DESIGN: RTSP authentication as both ends see it (RFC 2617). A challenge
 * (WWW-Authenticate, read by the client) and credentials (Authorization,
 * read by the server) share one grammar, "Scheme key=value, ...", so one
 * scanner fills one struct of the fields either side keeps; each side
 * then decides what it accepts (schemes, algorithm, qop). Both sides
 * compute the same Digest response here, so a client and the simulator
 * can never disagree about it. MD5 comes from libcrypto. Nothing here
 * allocates. Thread: any (no state).
 */
#include "rtsp_proto.h"

#include "err.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The field of out called key (any case), or NULL when it is not one we keep. */
static char *auth_field(struct rtsp_auth_params *out, const char *key, size_t len)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"realm", offsetof(struct rtsp_auth_params, realm)},
        {"nonce", offsetof(struct rtsp_auth_params, nonce)},
        {"opaque", offsetof(struct rtsp_auth_params, opaque)},
        {"algorithm", offsetof(struct rtsp_auth_params, algorithm)},
        {"qop", offsetof(struct rtsp_auth_params, qop)},
        {"stale", offsetof(struct rtsp_auth_params, stale)},
        {"username", offsetof(struct rtsp_auth_params, username)},
        {"uri", offsetof(struct rtsp_auth_params, uri)},
        {"response", offsetof(struct rtsp_auth_params, response)},
        {"nc", offsetof(struct rtsp_auth_params, nc)},
        {"cnonce", offsetof(struct rtsp_auth_params, cnonce)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strlen(fields[i].name) == len && strncasecmp(key, fields[i].name, len) == 0)
            return (char *)out + fields[i].offset;
    return NULL;
}

int rtsp_auth_parse(struct rtsp_span value, struct rtsp_auth_params *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = value.p, *end = value.p + value.len;
    while (p < end && is_space(*p))
        p++;
    const char *s = p;
    while (p < end && !is_space(*p))
        p++;
    out->scheme = (struct rtsp_span){s, (size_t)(p - s)};
    if (p == s)
        return HORUS_EPARSE;
    for (;;) {
        while (p < end && (is_space(*p) || *p == ','))
            p++;
        if (p == end)
            break;
        const char *k = p;
        while (p < end && *p != '=' && *p != ',' && !is_space(*p))
            p++;
        size_t klen = (size_t)(p - k);
        while (p < end && is_space(*p))
            p++;
        if (p == end || *p != '=') {
            /* A bare token: skip it up to the next comma. */
            while (p < end && *p != ',')
                p++;
            continue;
        }
        p++;
        while (p < end && is_space(*p))
            p++;
        char *dst = auth_field(out, k, klen);
        size_t n = 0;
        bool is_long = false;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (n + 1 < RTSP_AUTH_FIELD_MAX) {
                    if (dst)
                        dst[n] = *p;
                    n++;
                } else {
                    is_long = true;
                }
            }
            if (p == end)
                return HORUS_EPARSE;
            p++;
        } else {
            for (; p < end && *p != ',' && !is_space(*p); p++) {
                if (n + 1 < RTSP_AUTH_FIELD_MAX) {
                    if (dst)
                        dst[n] = *p;
                    n++;
                } else {
                    is_long = true;
                }
            }
        }
        /* Anything after the value up to the next comma is ignored. */
        while (p < end && *p != ',')
            p++;
        if (!dst)
            continue;
        if (is_long)
            return HORUS_EPARSE;
        dst[n] = '\0';
        if (dst == out->nonce)
            out->has_nonce = true;
        else if (dst == out->opaque)
            out->has_opaque = true;
    }
    return 0;
}

void rtsp_hex_encode(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

void rtsp_md5_hex(const void *data, size_t len, char out[33])
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(data, len, digest, &n, EVP_md5(), NULL) != 1 || n != 16)
        memset(digest, 0, 16); /* no MD5 (a FIPS-only libcrypto): no response can match */
    rtsp_hex_encode(digest, 16, out);
}

int rtsp_digest_ha1(const char *user, const char *realm, const char *password, char out[33])
{
    char a1[1024];
    int n = snprintf(a1, sizeof(a1), "%s:%s:%s", user, realm, password);
    if (n < 0 || (size_t)n >= sizeof(a1))
        return -ENOSPC;
    rtsp_md5_hex(a1, (size_t)n, out);
    return 0;
}

int rtsp_digest_response(const char ha1[33], const char *nonce, const char *method, const char *uri,
                         const char *qop, const char *nc, const char *cnonce, char out[33])
{
    char a2[1024], ha2[33], kd[2048];
    int n = snprintf(a2, sizeof(a2), "%s:%s", method, uri);
    if (n < 0 || (size_t)n >= sizeof(a2))
        return -ENOSPC;
    rtsp_md5_hex(a2, (size_t)n, ha2);
    if (qop && qop[0])
        n = snprintf(kd, sizeof(kd), "%.32s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
    else
        n = snprintf(kd, sizeof(kd), "%.32s:%s:%s", ha1, nonce, ha2);
    if (n < 0 || (size_t)n >= sizeof(kd))
        return -ENOSPC;
    rtsp_md5_hex(kd, (size_t)n, out);
    return 0;
}

int rtsp_basic_parse(struct rtsp_span value, char user[RTSP_AUTH_FIELD_MAX],
                     char password[RTSP_AUTH_FIELD_MAX])
{
    user[0] = password[0] = '\0';
    const char *p = value.p, *end = value.p + value.len;
    if (!p || value.len < 6 || strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
        return -ENOENT;
    p += 6;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    size_t n = (size_t)(end - p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    /* Two fields of RTSP_AUTH_FIELD_MAX - 1 bytes and a ':' at the most. */
    unsigned char decoded[2 * RTSP_AUTH_FIELD_MAX + 4];
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(decoded) - 1)
        return HORUS_EPARSE;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' ||
                  (c == '=' && i >= n - 2 && (i == n - 1 || p[n - 1] == '='));
        if (!ok)
            return HORUS_EPARSE;
    }
    int got = EVP_DecodeBlock(decoded, (const unsigned char *)p, (int)n);
    if (got < 0)
        return HORUS_EPARSE;
    size_t len = (size_t)got - (p[n - 1] == '=') - (p[n - 2] == '=');
    int rc = HORUS_EPARSE;
    const unsigned char *colon = memchr(decoded, ':', len);
    if (colon && memchr(decoded, '\0', len) == NULL) {
        size_t ulen = (size_t)(colon - decoded), plen = len - ulen - 1;
        if (ulen < RTSP_AUTH_FIELD_MAX && plen < RTSP_AUTH_FIELD_MAX) {
            memcpy(user, decoded, ulen);
            user[ulen] = '\0';
            memcpy(password, colon + 1, plen);
            password[plen] = '\0';
            rc = 0;
        }
    }
    OPENSSL_cleanse(decoded, sizeof(decoded));
    return rc;
}
