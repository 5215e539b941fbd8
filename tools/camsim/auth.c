/*
 * DESIGN: Digest authentication as IP cameras do it. The challenge names
 * realm "horus-camsim" and one random nonce chosen at start (the simulator
 * does not expire nonces; a replay only replays a request a test made
 * anyway). No qop is offered, so clients answer the RFC 2069 form
 * MD5(HA1:nonce:HA2); a client that sends qop=auth anyway is checked with
 * nc and cnonce. Only algorithm MD5. The parsing and the response are
 * src/proto's, the same code the native client answers with.
 * Thread: server only.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

int cs_auth_init(cs_auth *auth, const char *user, const char *password)
{
    memset(auth, 0, sizeof(*auth));
    if (strlen(user) >= sizeof(auth->user) || strlen(password) > 512)
        return -EINVAL;
    snprintf(auth->user, sizeof(auth->user), "%s", user);
    if (rtsp_digest_ha1(user, CS_AUTH_REALM, password, auth->ha1) < 0)
        return -EINVAL;
    uint8_t raw[16] = {0};
    if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
        return -EIO;
    rtsp_hex_encode(raw, sizeof(raw), auth->nonce);
    return 0;
}

bool cs_auth_check(const cs_auth *auth, struct rtsp_span method, struct rtsp_span authorization)
{
    char m[33];
    if (!authorization.p || rtsp_span_copy(method, m, sizeof(m)) < 0)
        return false;
    struct rtsp_auth_params d;
    if (rtsp_auth_parse(authorization, &d) < 0 || !rtsp_span_ieq(d.scheme, "Digest"))
        return false;
    if (strcmp(d.username, auth->user) != 0 || strcmp(d.nonce, auth->nonce) != 0 ||
        strcmp(d.realm, CS_AUTH_REALM) != 0)
        return false;
    if (d.algorithm[0] && strcasecmp(d.algorithm, "MD5") != 0)
        return false;
    if (d.qop[0] && strcmp(d.qop, "auth") != 0)
        return false;
    char expected[33];
    if (rtsp_digest_response(auth->ha1, d.nonce, m, d.uri, d.qop, d.nc, d.cnonce, expected) < 0)
        return false;
    return strcasecmp(expected, d.response) == 0;
}

void cs_auth_challenge(const cs_auth *auth, char *buf, size_t size)
{
    snprintf(buf, size, "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5\r\n",
             CS_AUTH_REALM, auth->nonce);
}
