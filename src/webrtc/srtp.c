/*
 * DESIGN: SRTP/SRTCP of one WebRTC session with libsrtp2 (docs/design/
 * 0055). The DTLS keying material holds the client's and the server's
 * master keys and salts (RFC 5764 4.2); we are the DTLS server, so what
 * we send is protected with the server's and what the browser sends
 * (SRTCP feedback) is checked with the client's. libsrtp's global init
 * runs once for the process. Thread: the caller's, one at a time.
 */
#include "dtls_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(WEBRTC_SRTP_TRAILER >= SRTP_MAX_TRAILER_LEN, "room for the SRTP trailer");

struct webrtc_srtp {
    srtp_t out; /* owned */
    srtp_t in; /* owned */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status;

static void init_library(void)
{
    init_status = srtp_init();
}

static srtp_t make_session(const uint8_t *key, const uint8_t *salt, bool outbound)
{
    uint8_t master[30];
    memcpy(master, key, 16);
    memcpy(master + 16, salt, 14);
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = master;
    p.window_size = 1024;
    p.allow_repeat_tx = 1;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok)
        s = NULL;
    memset(master, 0, sizeof(master));
    return s;
}

int webrtc_srtp_new(const uint8_t keys[WEBRTC_SRTP_KEYS_BYTES], webrtc_srtp **out)
{
    pthread_once(&init_once, init_library);
    *out = NULL;
    if (init_status != srtp_err_status_ok)
        return -EIO;
    const uint8_t *client_key = keys, *server_key = keys + 16;
    const uint8_t *client_salt = keys + 32, *server_salt = keys + 46;
    webrtc_srtp *s = horus_calloc(1, sizeof(*s));
    s->out = make_session(server_key, server_salt, true);
    s->in = make_session(client_key, client_salt, false);
    if (!s->out || !s->in) {
        webrtc_srtp_free(s);
        return -EIO;
    }
    *out = s;
    return 0;
}

void webrtc_srtp_free(webrtc_srtp *s)
{
    if (!s)
        return;
    if (s->out)
        srtp_dealloc(s->out);
    if (s->in)
        srtp_dealloc(s->in);
    free(s);
}

int webrtc_srtp_protect(webrtc_srtp *s, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    if (srtp_protect(s->out, buf, &n) != srtp_err_status_ok)
        return -EIO;
    *len = (size_t)n;
    return 0;
}

int webrtc_srtp_protect_rtcp(webrtc_srtp *s, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    if (srtp_protect_rtcp(s->out, buf, &n) != srtp_err_status_ok)
        return -EIO;
    *len = (size_t)n;
    return 0;
}

int webrtc_srtp_unprotect_rtcp(webrtc_srtp *s, uint8_t *buf, size_t *len)
{
    if (*len > 65536)
        return HORUS_EAUTH;
    int n = (int)*len;
    if (srtp_unprotect_rtcp(s->in, buf, &n) != srtp_err_status_ok)
        return HORUS_EAUTH;
    *len = (size_t)n;
    return 0;
}
