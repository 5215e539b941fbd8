/*
 * DESIGN: Digest authentication as IP cameras do it. The challenge names
 * realm "horus-camsim" and one random nonce chosen at start (the simulator
 * does not expire nonces; a replay only replays a request a test made
 * anyway). No qop is offered, so clients answer the RFC 2069 form
 * MD5(HA1:nonce:HA2); a client that sends qop=auth anyway is checked with
 * nc and cnonce. Only algorithm MD5. Thread: server only.
 */
#include "auth.h"

#include <errno.h>
#include <libavutil/md5.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* MD5 of the NUL-terminated text in lower-case hex. */
static void md5_hex(const char *text, char out[33])
{
    uint8_t digest[16];
    av_md5_sum(digest, (const uint8_t *)text, (int)strlen(text));
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int cs_auth_init(cs_auth *auth, const char *user, const char *password)
{
    memset(auth, 0, sizeof(*auth));
    if (strlen(user) >= sizeof(auth->user) || strlen(password) > 512)
        return -EINVAL;
    snprintf(auth->user, sizeof(auth->user), "%s", user);
    char a1[1024];
    snprintf(a1, sizeof(a1), "%s:%s:%s", user, CS_AUTH_REALM, password);
    md5_hex(a1, auth->ha1);
    uint8_t raw[16] = {0};
    if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
        return -EIO;
    for (int i = 0; i < 16; i++)
        snprintf(auth->nonce + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

bool cs_auth_check(const cs_auth *auth, cs_span method, cs_span authorization)
{
    if (!authorization.p || method.len > 32)
        return false;
    cs_digest d;
    if (cs_digest_parse(authorization, &d) < 0)
        return false;
    if (strcmp(d.username, auth->user) != 0 || strcmp(d.nonce, auth->nonce) != 0 ||
        strcmp(d.realm, CS_AUTH_REALM) != 0)
        return false;
    if (d.algorithm[0] && strcasecmp(d.algorithm, "MD5") != 0)
        return false;
    char a2[CS_DIGEST_FIELD_MAX + 40];
    snprintf(a2, sizeof(a2), "%.*s:%s", (int)method.len, method.p, d.uri);
    char ha2[33];
    md5_hex(a2, ha2);
    char kd[4 * CS_DIGEST_FIELD_MAX + 80];
    if (d.qop[0] == '\0')
        snprintf(kd, sizeof(kd), "%s:%s:%s", auth->ha1, d.nonce, ha2);
    else if (strcmp(d.qop, "auth") == 0)
        snprintf(kd, sizeof(kd), "%s:%s:%s:%s:%s:%s", auth->ha1, d.nonce, d.nc, d.cnonce, d.qop,
                 ha2);
    else
        return false;
    char expected[33];
    md5_hex(kd, expected);
    return strcasecmp(expected, d.response) == 0;
}

void cs_auth_challenge(const cs_auth *auth, char *buf, size_t size)
{
    snprintf(buf, size, "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5\r\n",
             CS_AUTH_REALM, auth->nonce);
}
