/*
 * The media side of a WHEP viewer, made of real parts: a UDP socket on
 * loopback (or an ICE-TCP connection, RFC 4571 frames, for the unit test), STUN binding requests
 * built with src/webrtc's STUN code, an OpenSSL DTLS 1.2 client with use_srtp, and libsrtp2
 * contexts keyed from its handshake (RFC 5764 4.2). Shared by horus-whepload and the server's unit
 * test (tests/unit/webrtc/test_server.c). Thread: one per peer.
 */
#ifndef HORUS_WHEP_PEER_H
#define HORUS_WHEP_PEER_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct whep_peer {
    int fd;
    bool tcp, eof; /* an ICE-TCP connection; the server closed it */
    struct sockaddr_in server;
    SSL *ssl;
    BIO *rbio, *wbio;
    srtp_t in, out; /* what the server sends; what we send it (RTCP) */
    uint8_t in_master[30], out_master[30]; /* their key and salt */
    char ufrag[64], pwd[128]; /* the server's, from the answer */
};

/*
 * A DTLS client context with a fresh self-signed P-256 certificate;
 * fingerprint gets its SHA-256 as SDP writes it ("AB:CD:..."). NULL on
 * failure.
 */
SSL_CTX *whep_peer_identity(char fingerprint[100]);

/* Opens p's socket on 127.0.0.1 towards server. Returns 0 or -errno. */
int whep_peer_open(struct whep_peer *p, const struct sockaddr_in *server);
void whep_peer_close(struct whep_peer *p);
/* Connects p over TCP to server instead (ICE-TCP, active side). Returns 0 or -errno. */
int whep_peer_open_tcp(struct whep_peer *p, const struct sockaddr_in *server);

/* One datagram (over TCP: one frame) within ms: its length, or 0 on timeout or when closed. */
size_t whep_peer_recv(struct whep_peer *p, uint8_t *buf, size_t cap, int ms);
/* Returns 0, or -errno when the datagram was not sent whole. */
int whep_peer_send(struct whep_peer *p, const void *buf, size_t len);

/*
 * Sends a binding request: USERNAME "<server ufrag>:<local_ufrag>",
 * MESSAGE-INTEGRITY keyed with pwd, ICE-CONTROLLING, USE-CANDIDATE when
 * nominate, FINGERPRINT.
 */
int whep_peer_stun(struct whep_peer *p, const char *local_ufrag, const char *pwd, bool nominate,
                   const uint8_t txid[12]);

/*
 * The DTLS handshake as client, then p->in and p->out. Returns 0, or -1
 * with err naming the step that failed.
 */
int whep_peer_dtls(struct whep_peer *p, SSL_CTX *ctx, char *err, size_t errsize);

/* An SRTP policy for AES128_CM_SHA1_80 with master (key and salt) and ssrc type. */
void whep_peer_policy(srtp_policy_t *pol, uint8_t master[30], srtp_ssrc_type_t type);

#endif
