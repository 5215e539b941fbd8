/*
 * DTLS 1.2 server for DTLS-SRTP (RFC 5764) with OpenSSL, over memory BIOs
 * so that one UDP socket carries every peer: the caller feeds each
 * datagram in and sends what comes out. SRTP/SRTCP keyed from the
 * handshake with libsrtp2. Design: docs/design/0055-webrtc-whep.md.
 */
#ifndef HORUS_WEBRTC_DTLS_INT_H
#define HORUS_WEBRTC_DTLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBRTC_SRTP_KEYS_BYTES 60 /* two 16-byte keys, two 14-byte salts (RFC 5764 4.2) */
#define WEBRTC_DTLS_MTU 1200 /* datagrams we send are at most this long */

/* The node's certificate and DTLS context, shared by every session. */
typedef struct webrtc_cert webrtc_cert;

/*
 * Makes a self-signed ECDSA P-256 certificate (valid from a day ago for 30
 * days, CN "horus") and a DTLS 1.2 server context that asks for the
 * peer's certificate and offers use_srtp SRTP_AES128_CM_SHA1_80. Returns 0
 * or -EIO (OpenSSL's reason is in err, errsize bytes). Thread: any.
 */
int webrtc_cert_new(webrtc_cert **out, char *err, size_t errsize);
void webrtc_cert_free(webrtc_cert *c); /* NULL is a no-op; after every session is freed */

/* "AB:CD:..." SHA-256 of the certificate, for a=fingerprint (borrowed, lives with c). */
const char *webrtc_cert_fingerprint(const webrtc_cert *c);

typedef struct webrtc_dtls webrtc_dtls;

/* Receives a datagram to send (borrowed for the call). */
typedef void (*webrtc_dtls_send_cb)(void *arg, const uint8_t *buf, size_t len);

/*
 * Makes one peer's DTLS server state: the peer's certificate must hash to
 * fp (fp_len bytes, with fp_alg "sha-256", "sha-1", "sha-384" or "sha-512"
 * as the offer's a=fingerprint said). send is called with each outgoing
 * datagram. Returns 0 or -EINVAL (unknown hash). Thread: one at a time.
 */
int webrtc_dtls_new(webrtc_cert *c, const char *fp_alg, const uint8_t *fp, size_t fp_len,
                    webrtc_dtls_send_cb send, void *arg, webrtc_dtls **out);
void webrtc_dtls_free(webrtc_dtls *d); /* NULL is a no-op */

/*
 * Feeds one datagram from the peer. Returns 0 while the handshake goes
 * on or after it (application data is ignored), 1 when this datagram
 * finished the handshake (keys are ready), HORUS_EAUTH when the peer's
 * certificate does not match the offer's fingerprint, -EPROTO for a failed
 * handshake or no SRTP profile. After an error the session is dead:
 * further input returns the same error. Thread: one at a time.
 */
int webrtc_dtls_input(webrtc_dtls *d, const uint8_t *buf, size_t len);

/* Resends the last flight when OpenSSL's retransmission timer ran out. */
void webrtc_dtls_tick(webrtc_dtls *d);

/* True once the handshake finished and the fingerprint matched. */
bool webrtc_dtls_done(const webrtc_dtls *d);

/* Copies the SRTP keying material (RFC 5764 4.2 order). Returns 0, -EAGAIN before done. */
int webrtc_dtls_srtp_keys(const webrtc_dtls *d, uint8_t out[WEBRTC_SRTP_KEYS_BYTES]);

/* Sends close_notify (best effort). */
void webrtc_dtls_close(webrtc_dtls *d);

/* SRTP of one session: ours outbound (server keys), theirs inbound (client keys). */
typedef struct webrtc_srtp webrtc_srtp;

#define WEBRTC_SRTP_TRAILER 148 /* bytes protect may add (SRTP_MAX_TRAILER_LEN) */

/*
 * Makes the SRTP contexts from the DTLS keys, as the DTLS server. The
 * same RTP packet may be protected twice (answers to NACK). Returns 0 or
 * -EIO. Thread: one at a time.
 */
int webrtc_srtp_new(const uint8_t keys[WEBRTC_SRTP_KEYS_BYTES], webrtc_srtp **out);
void webrtc_srtp_free(webrtc_srtp *s); /* NULL is a no-op */

/* Protects an RTP (or RTCP) packet in place: buf has room for *len + WEBRTC_SRTP_TRAILER. */
int webrtc_srtp_protect(webrtc_srtp *s, uint8_t *buf, size_t *len);
int webrtc_srtp_protect_rtcp(webrtc_srtp *s, uint8_t *buf, size_t *len);

/* Checks and decrypts an SRTCP packet from the peer in place. Returns 0 or HORUS_EAUTH. */
int webrtc_srtp_unprotect_rtcp(webrtc_srtp *s, uint8_t *buf, size_t *len);

#endif
