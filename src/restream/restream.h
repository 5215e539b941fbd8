/*
 * The RTSP re-stream server (docs/design/0054-rtsp-restream.md, users'
 * page docs/restream.md): every camera stream the node runs, served again
 * to RTSP clients from memory through the packet relay, so that any number
 * of viewers cost the camera one connection.
 *
 * URLs follow MediaMTX's convention: rtsp://HOST:PORT/<camera> for the
 * main stream, rtsp://HOST:PORT/<camera>/sub for the sub stream; tracks
 * are trackID=0 (video) and trackID=1 (audio). TCP interleaved transport,
 * or RTP/UDP unicast to the client's own address;
 * RTP per RFC 6184 (H.264), RFC 7798 (H.265), RFC 3640 (AAC), RTCP sender
 * reports every 5 s.
 *
 * SRT callers (restream.srt) get MPEG-TS of the same packets; they name
 * the camera and an API key or live token in their stream id, and may have
 * to know the node's AES passphrase (docs/design/0060).
 *
 * Clients authenticate with Basic credentials (a Horus user's password,
 * or any name and an API key "hk_..." as the password) or a live media
 * token in the URL (?t=...). A principal sees the cameras of its grant and
 * tenant, as on the HTTP API; others get 404.
 *
 * Lifecycle (docs/conventions.md §6): restream_server_new binds the
 * socket and starts nothing; restream_server_start starts "rtsp-srv";
 * restream_server_stop closes every session and joins it;
 * restream_server_free frees (stopping first).
 */
#ifndef HORUS_RESTREAM_H
#define HORUS_RESTREAM_H

#include "audit.h"
#include "auth.h"
#include "cfg.h"
#include "clock.h"
#include "login_limit.h"
#include "media_token.h"
#include "metrics.h"
#include "relay.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `restream:` section of horus.yaml. */
struct restream_rtsp_config {
    char *listen; /* "HOST:PORT"; "" = off (the default) */
    int64_t session_timeout_ms; /* no request or RTCP for this long ends a session */
    int64_t max_clients; /* connections at once; more are refused */
    uint64_t max_buffer_bytes; /* a client's unsent bytes at most */
    int64_t stall_timeout_ms; /* a client that takes no byte for this long is cut off */
    bool digest; /* Digest offered beside Basic (docs/design/0077) */
};

/* `restream.srt`: MPEG-TS over SRT (docs/design/0060). */
struct restream_srt_config {
    char *listen; /* "HOST:PORT" (UDP); "" = off (the default) */
    char *passphrase; /* AES for every session; "" = none */
    int64_t latency_ms;
    int64_t max_clients;
};

struct restream_config {
    struct restream_rtsp_config rtsp;
    struct restream_srt_config srt;
};

extern const cfg_field restream_config_fields[];

typedef struct restream_server restream_server;

struct restream_options {
    const char *listen; /* "HOST:PORT" or "[v6]:PORT"; port 0 picks a free one. Copied */
    int64_t session_timeout_ms; /* 0 = 60 s */
    unsigned max_clients; /* 0 = 64 */
    size_t max_buffer_bytes; /* 0 = 4 MiB */
    int64_t stall_timeout_ms; /* 0 = 10 s */
    bool digest; /* challenge with Digest (users' and keys' kept HA1s) beside Basic */
    relay_hub *relay; /* borrowed: the packets */
    sto_db *db; /* borrowed: users, API keys, cameras (existence and tenant) */
    auth_login_limit *login_limit; /* borrowed, may be NULL: password guesses limited */
    auth_media_keys *media_keys; /* borrowed, may be NULL: ?t= refused */
    auth_audit_log *audit; /* borrowed, may be NULL */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system */
    /* SRT (docs/design/0060): srt_listen NULL or "" = off; listen may then be "" (no RTSP). */
    const char *srt_listen;
    const char *srt_passphrase; /* "" = unencrypted; else 10..79 characters */
    int64_t srt_latency_ms; /* 0 = 120 ms */
    unsigned srt_max_clients; /* 0 = 64 */
    char *err; /* may be NULL: why restream_server_new failed, errsize bytes */
    size_t errsize;
};

/*
 * Binds and listens; starts no thread. Returns 0 (a new server in *out),
 * -EINVAL for a listen address that does not parse, or -errno of the bind.
 * Thread: main.
 */
int restream_server_new(const struct restream_options *o, restream_server **out);

/* Starts "rtsp-srv". Returns 0 or -errno. Thread: main. */
int restream_server_start(restream_server *s);

/* Ends every session, closes the connections and joins the thread; idempotent. Thread: main. */
void restream_server_stop(restream_server *s);

/* Stops and frees. NULL is a no-op. Thread: main. */
void restream_server_free(restream_server *s);

/* The bound port. Thread: any. */
uint16_t restream_server_port(const restream_server *s);

/* The SRT listener's bound UDP port, 0 when SRT is off. Thread: any. */
uint16_t restream_server_srt_port(const restream_server *s);

/* One client's session, as GET /api/v1/restream/sessions lists it. */
struct restream_session_info {
    char client[64]; /* "ADDR:PORT" */
    char camera[AUTH_ID_MAX + 1];
    char stream[8]; /* "main", "sub" */
    char user[AUTH_NAME_MAX]; /* the user, the API key's name, or "media token" */
    char transport[16]; /* "tcp" or "udp" (of the last SETUP), or "srt" */
    bool is_playing;
    uint64_t bytes; /* sent to the client so far */
    uint64_t skips; /* times it fell behind and skipped to a keyframe */
    int64_t started_unix_ms;
};

/*
 * Copies the sessions (connections that have named a camera) into a new
 * array in *out (free()) and returns their number. Thread: any.
 */
size_t restream_server_sessions(restream_server *s, struct restream_session_info **out);

#endif
