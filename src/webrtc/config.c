/*
 * DESIGN: the `webrtc:` section's schema table (docs/conventions.md §7;
 * docs/design/0055, 0076). Off unless udp_listen or tcp_listen is set, so
 * that a node exposes no port it was not asked to and test daemons never
 * collide on one.
 * Every key needs a restart: the socket and the certificate are made at
 * start.
 */
#include "webrtc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int validate_listen(const void *value, char *err, size_t size)
{
    const char *v = *(char *const *)value;
    if (!v || !v[0])
        return 0;
    const char *colon = strrchr(v, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
        snprintf(err, size, "must be host:port (\":8189\" for every address)");
        return -EINVAL;
    }
    return 0;
}

static int validate_host(const void *value, char *err, size_t size)
{
    const char *v = *(char *const *)value;
    size_t n = v ? strlen(v) : 0;
    bool ok = n > 0 && n < 254;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '-' || v[i] == ':';
    if (!ok) {
        snprintf(err, size, "must be an IPv4 or IPv6 address or a host name");
        return -EINVAL;
    }
    return 0;
}

/* stun:, turn: or turns: and a host, with nothing a quoted Link header cannot carry. */
static int validate_ice_url(const void *value, char *err, size_t size)
{
    const char *v = *(char *const *)value;
    size_t n = v ? strlen(v) : 0;
    bool ok = n > 5 && n < 200 &&
              (strncmp(v, "stun:", 5) == 0 || strncmp(v, "turn:", 5) == 0 ||
               strncmp(v, "turns:", 6) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] > ' ' && v[i] < 0x7f && v[i] != '<' && v[i] != '>' && v[i] != '"' &&
             v[i] != ',' && v[i] != ';' && v[i] != '\\';
    if (!ok) {
        snprintf(err, size,
                 "must be a stun:, turn: or turns: URL (RFC 7064/7065), e.g. "
                 "turn:turn.example.net:3478?transport=udp");
        return -EINVAL;
    }
    return 0;
}

const cfg_field webrtc_config_fields[] = {
    {.name = "udp_listen",
     .type = CFG_STRING,
     .offset = offsetof(struct webrtc_config, udp_listen),
     .def = "",
     .validate_cb = validate_listen,
     .help = "host:port of the one UDP socket every WebRTC (WHEP) viewer uses (\":8189\": every "
             "address); empty: no UDP (WebRTC is off when tcp_listen is empty too)"},
    {.name = "tcp_listen",
     .type = CFG_STRING,
     .offset = offsetof(struct webrtc_config, tcp_listen),
     .def = "",
     .validate_cb = validate_listen,
     .help = "host:port of the one TCP socket for viewers whose UDP is blocked (ICE-TCP, RFC "
             "6544: announced as passive TCP candidates below the UDP ones); empty: none. "
             "WebRTC is on when udp_listen or tcp_listen is set"},
    {.name = "additional_hosts",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct webrtc_config, additional_hosts),
     .count_offset = offsetof(struct webrtc_config, nadditional_hosts),
     .max = 8,
     .validate_cb = validate_host,
     .help = "Addresses announced as extra host candidates on the same port: the public or "
             "Docker host address of a node behind NAT"},
    {.name = "ice_servers",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct webrtc_config, ice_servers),
     .count_offset = offsetof(struct webrtc_config, nice_servers),
     .max = WEBRTC_MAX_ICE_SERVERS,
     .validate_cb = validate_ice_url,
     .help = "STUN and TURN servers players are told to use (WHEP Link headers), e.g. "
             "turn:turn.example.net:3478?transport=udp: viewers behind NATs that block a direct "
             "path reach the node through a relay"},
    {.name = "turn_secret",
     .type = CFG_STRING,
     .offset = offsetof(struct webrtc_config, turn_secret),
     .def = "",
     .is_secret = true,
     .help = "The TURN server's shared secret (coturn's static-auth-secret): each viewer gets a "
             "credential minted from it (TURN REST API), never the secret; empty: TURN URLs go "
             "out without credentials"},
    {.name = "turn_ttl",
     .type = CFG_DURATION,
     .offset = offsetof(struct webrtc_config, turn_ttl_ms),
     .def = "24h",
     .min = 60000,
     .max = INT64_C(30) * 86400 * 1000,
     .help = "How long a minted TURN credential lasts: longer than a viewing session, since the "
             "relay refreshes its allocation with it"},
    {.name = "max_sessions",
     .type = CFG_INT,
     .offset = offsetof(struct webrtc_config, max_sessions),
     .def = "256",
     .min = 1,
     .max = 10000,
     .help = "WebRTC sessions this node serves at once; more are refused with 503"},
    {0},
};
