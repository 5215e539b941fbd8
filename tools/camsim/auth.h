/*
 * RTSP Digest authentication (RFC 2617) for horus-camsim --auth.
 */
#ifndef HORUS_CAMSIM_AUTH_H
#define HORUS_CAMSIM_AUTH_H

#include "rtsp_proto.h"

#include <stdbool.h>
#include <stddef.h>

#define CS_AUTH_REALM "horus-camsim"

typedef struct cs_auth {
    char user[RTSP_AUTH_FIELD_MAX];
    char ha1[33]; /* MD5(user:realm:password) in hex */
    char nonce[33]; /* one random nonce for the life of the process */
} cs_auth;

/* Prepares the expected credentials. Returns 0 or -EINVAL when user is too long. */
int cs_auth_init(cs_auth *auth, const char *user, const char *password);

/*
 * True when authorization (the Authorization header value, p NULL when
 * absent) carries a correct Digest response for method, with or without
 * qop=auth.
 */
bool cs_auth_check(const cs_auth *auth, struct rtsp_span method, struct rtsp_span authorization);

/* Writes the WWW-Authenticate header line (with CRLF) into buf. */
void cs_auth_challenge(const cs_auth *auth, char *buf, size_t size);

#endif
