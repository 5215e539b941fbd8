/*
 * DESIGN: the `restream:` section's schema table (docs/conventions.md §7;
 * docs/design/0054). Every key needs a restart: the server binds and
 * starts with the daemon. The listen address is empty by default, so a
 * daemon serves RTSP only when asked (and test daemons never collide).
 */
#include "restream.h"
#include "restream_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

static int validate_listen(const void *value, char *err, size_t size)
{
    const char *s = *(char *const *)value;
    char host[RS_HOST_MAX];
    int port;
    if (!s || !s[0] || rs_listen_parse(s, host, sizeof(host), &port) == 0)
        return 0;
    snprintf(err, size, "must be HOST:PORT (or [IPv6]:PORT), port 0..65535, or empty for off");
    return -EINVAL;
}

#define RTSP(f) offsetof(struct restream_rtsp_config, f)

static const cfg_field rtsp_fields[] = {
    {.name = "listen",
     .type = CFG_STRING,
     .offset = RTSP(listen),
     .def = "",
     .validate_cb = validate_listen,
     .pattern_help = "HOST:PORT, e.g. 127.0.0.1:8554; empty: off",
     .help = "Where the RTSP re-stream server listens (rtsp://HOST:PORT/<camera>[/sub]); empty: "
             "off"},
    {.name = "session_timeout",
     .type = CFG_DURATION,
     .offset = RTSP(session_timeout_ms),
     .def = "60s",
     .min = 5000,
     .max = 3600000,
     .help = "A session with no request (or RTCP report) for this long is ended"},
    {.name = "max_clients",
     .type = CFG_INT,
     .offset = RTSP(max_clients),
     .def = "64",
     .min = 1,
     .max = 10000,
     .help = "RTSP connections at once; more are refused"},
    {.name = "max_buffer",
     .type = CFG_BYTES,
     .offset = RTSP(max_buffer_bytes),
     .def = "4MiB",
     .min = 65536,
     .max = 268435456,
     .help = "Unsent bytes kept per client; a client behind by more skips to the next keyframe"},
    {.name = "stall_timeout",
     .type = CFG_DURATION,
     .offset = RTSP(stall_timeout_ms),
     .def = "10s",
     .min = 1000,
     .max = 600000,
     .help = "A client that takes no byte of its pending media for this long is cut off"},
    {.name = "digest",
     .type = CFG_BOOL,
     .offset = RTSP(digest),
     .def = "false",
     .help = "Offer Digest authentication beside Basic. Keeps a sealed MD5 digest of each "
             "user's password (from the next password change or login) and of each API key made "
             "while on (name hk_<id>); off drops them. Set alike on every node"},
    {0},
};

#define SRT(f) offsetof(struct restream_srt_config, f)

static int validate_passphrase(const void *value, char *err, size_t size)
{
    const char *s = *(char *const *)value;
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || (n >= 10 && n <= 79))
        return 0;
    snprintf(err, size, "must be 10 to 79 characters (SRT's AES passphrase), or empty for none");
    return -EINVAL;
}

static const cfg_field srt_fields[] = {
    {.name = "listen",
     .type = CFG_STRING,
     .offset = SRT(listen),
     .def = "",
     .validate_cb = validate_listen,
     .pattern_help = "HOST:PORT, e.g. 127.0.0.1:8890; empty: off",
     .help = "Where the SRT re-stream listens (UDP; callers name the camera and a credential "
             "in the stream id: #!::r=<camera>[/sub],s=<API key or live token>); empty: off"},
    {.name = "passphrase",
     .type = CFG_STRING,
     .offset = SRT(passphrase),
     .def = "",
     .is_secret = true,
     .validate_cb = validate_passphrase,
     .help = "AES encryption of every SRT session with this passphrase (10 to 79 characters); "
             "callers need the same; empty: unencrypted"},
    {.name = "latency",
     .type = CFG_DURATION,
     .offset = SRT(latency_ms),
     .def = "120ms",
     .min = 20,
     .max = 10000,
     .help = "SRT's receive latency: the time a lost packet has to be sent again (20 to 60 ms "
             "on a LAN, several round trips elsewhere)"},
    {.name = "max_clients",
     .type = CFG_INT,
     .offset = SRT(max_clients),
     .def = "64",
     .min = 1,
     .max = 10000,
     .help = "SRT callers at once; more are refused"},
    {0},
};

const cfg_field restream_config_fields[] = {
    {.name = "rtsp",
     .type = CFG_SECTION,
     .offset = offsetof(struct restream_config, rtsp),
     .sub = rtsp_fields,
     .help = "The RTSP re-stream server (docs/restream.md); applied at start"},
    {.name = "srt",
     .type = CFG_SECTION,
     .offset = offsetof(struct restream_config, srt),
     .sub = srt_fields,
     .help = "The SRT re-stream (MPEG-TS over SRT, docs/restream.md); applied at start"},
    {0},
};
