/*
 * DESIGN: the `ingest:` section of horus.yaml: which RTSP client runs
 * camera streams and how many loop threads the native one uses
 * (docs/design/0008), connection deadlines, and the circuit breaker policy
 * every camera stream uses (docs/design/0004; an empty tier list means the
 * default policy of issue #3), and the CAs rtsps:// certificates must
 * chain to (tls_ca, docs/design/0033). The values reach a stream when it
 * (re)starts, so the keys are restart keys: a reload warns instead of
 * pretending they applied.
 */
#include "rtsp_int.h"
#include "stream_int.h"

#include "ingest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TIER_OFF(f) offsetof(struct ing_breaker_tier_config, f)

static const cfg_field tier_fields[] = {
    {.name = "failures",
     .type = CFG_INT,
     .offset = TIER_OFF(failures),
     .is_required = true,
     .min = 1,
     .max = 1000000,
     .help = "This tier covers consecutive failures up to this count (inclusive)"},
    {.name = "delay",
     .type = CFG_DURATION,
     .offset = TIER_OFF(delay_ms),
     .is_required = true,
     .min = 0,
     .max = 24LL * 3600 * 1000,
     .help = "Wait this long before the next attempt"},
    {0},
};

#define BRK_OFF(f) (offsetof(struct ing_config, breaker.f) - offsetof(struct ing_config, breaker))

static const cfg_field breaker_fields[] = {
    {.name = "tiers",
     .type = CFG_LIST,
     .offset = BRK_OFF(tiers),
     .count_offset = BRK_OFF(ntiers),
     .elem_size = sizeof(struct ing_breaker_tier_config),
     .sub = tier_fields,
     .help = "Retry tiers in order of failure count; empty = 1-5 at once, 6-10 every 10s, "
             "11-20 every 30s"},
    {.name = "open_for",
     .type = CFG_DURATION,
     .offset = BRK_OFF(open_ms),
     .def = "5m",
     .min = 1000,
     .max = 24LL * 3600 * 1000,
     .help = "After the last tier the breaker stays OPEN this long, then one HALF_OPEN probe"},
    {.name = "jitter",
     .type = CFG_DURATION,
     .offset = BRK_OFF(jitter_ms),
     .def = "250ms",
     .min = 0,
     .max = 60000,
     .help = "A random 0..jitter is added to every delay so cameras do not retry in step"},
    {0},
};

static const char *const client_names[] = {"native", "libav", NULL};
/* In enum ing_transport order. */
static const char *const transport_names[] = {"tcp", "udp", "auto", NULL};

/* One ingest.networks item: an address or CIDR block. */
static int validate_cidr(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (ing_cidr_is_valid(s))
        return 0;
    snprintf(err, err_size, "'%.100s' is not an address or CIDR block", s ? s : "");
    return -EINVAL;
}

#define NET_OFF(f) (offsetof(struct ing_config, networks.f) - offsetof(struct ing_config, networks))

static const cfg_field network_fields[] = {
    {.name = "allow",
     .type = CFG_STRING_LIST,
     .offset = NET_OFF(allow),
     .count_offset = NET_OFF(nallow),
     .max = 256,
     .validate_cb = validate_cidr,
     .pattern_help = "an address or CIDR block such as \"169.254.10.0/24\"",
     .help = "Networks cameras and probes may reach, on top of the built-in rules"},
    {.name = "deny",
     .type = CFG_STRING_LIST,
     .offset = NET_OFF(deny),
     .count_offset = NET_OFF(ndeny),
     .max = 256,
     .validate_cb = validate_cidr,
     .pattern_help = "an address or CIDR block such as \"0.0.0.0/0\"",
     .help = "Networks cameras and probes may not reach; the most specific rule wins"},
    {0},
};

/* ingest.tls_ca: a readable file (its certificates are parsed when a stream starts). */
static int validate_tls_ca(const void *value, char *err, size_t err_size)
{
    const char *path = *(char *const *)value;
    if (!path || !path[0])
        return 0;
    if (access(path, R_OK) < 0) {
        snprintf(err, err_size, "cannot read '%.200s': %s", path, strerror(errno));
        return -EINVAL;
    }
    return 0;
}

const cfg_field ing_config_fields[] = {
    {.name = "client",
     .type = CFG_ENUM,
     .offset = offsetof(struct ing_config, client),
     .def = "native",
     .enum_names = client_names,
     .help = "RTSP client for rtsp:// and rtsps:// of cameras that do not set their own: "
             "native (ours, epoll loop threads, TCP or UDP, certificates verified) or libav "
             "(libavformat, one thread per stream)"},
    {.name = "transport",
     .type = CFG_ENUM,
     .offset = offsetof(struct ing_config, transport),
     .def = "auto",
     .enum_names = transport_names,
     .help = "RTP transport of cameras that do not set their own: auto (TCP, and UDP for a "
             "camera that refuses TCP with 461), tcp (RTSP-interleaved, one connection) or udp "
             "(RTP/UDP unicast)"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct ing_config, threads),
     .def = "0",
     .min = 0,
     .max = 64,
     .help = "Loop threads of the native client (ing-rtsp-N); 0 = one per CPU core"},
    {.name = "read_batch",
     .type = CFG_DURATION,
     .offset = offsetof(struct ing_config, read_batch_ms),
     .def = "5ms",
     .min = 0,
     .max = 50,
     .help = "Native client: after a wake a loop thread reads again only after this long, so "
             "packets written one by one are read together; 0 = at every wake"},
    {.name = "connect_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct ing_config, connect_timeout_ms),
     .def = "5s",
     .min = 100,
     .max = 120000,
     .help = "Deadline for each RTSP request while connecting"},
    {.name = "stall_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct ing_config, stall_timeout_ms),
     .def = "10s",
     .min = 500,
     .max = 600000,
     .help = "A stream with no packet for this long is reconnected"},
    {.name = "max_ahead",
     .type = CFG_DURATION,
     .offset = offsetof(struct ing_config, max_ahead_ms),
     .def = "5s",
     .min = 1000,
     .max = 3600000,
     .help = "Media whose timestamps run further ahead of the wall clock than this (a camera "
             "sending faster than real time, or a clock in the future) is dropped until the wall "
             "clock catches up, counted in horus_ingest_rejected_packets_total"},
    {.name = "tls_ca",
     .type = CFG_STRING,
     .offset = offsetof(struct ing_config, tls_ca),
     .validate_cb = validate_tls_ca,
     .pattern_help = "the path of a readable PEM file",
     .help = "PEM file of the certificate authorities rtsps:// cameras' certificates must chain "
             "to (native client); absent = the system store (/etc/ssl/certs). A camera with "
             "tls_verify false skips the check"},
    {.name = "breaker",
     .type = CFG_SECTION,
     .offset = offsetof(struct ing_config, breaker),
     .sub = breaker_fields,
     .help = "Per-camera circuit breaker"},
    {.name = "networks",
     .type = CFG_SECTION,
     .offset = offsetof(struct ing_config, networks),
     .sub = network_fields,
     .help = "Networks camera URLs and probes may reach (docs/design/0017): link-local and "
             "cloud metadata are denied, the rest allowed, unless these lists say otherwise"},
    {0},
};

int ing_config_policy(const struct ing_config *c, struct ing_breaker_policy *out, char *err,
                      size_t err_size, const void **where)
{
    *out = ing_breaker_policy_default;
    out->open_ms = c->breaker.open_ms;
    out->jitter_ms = c->breaker.jitter_ms;
    if (!c->breaker.ntiers)
        return 0;
    if (c->breaker.ntiers > ING_BREAKER_MAX_TIERS) {
        snprintf(err, err_size, "at most %d tiers", ING_BREAKER_MAX_TIERS);
        if (where)
            *where = &c->breaker.tiers[ING_BREAKER_MAX_TIERS].failures;
        return -EINVAL;
    }
    for (size_t i = 0; i < c->breaker.ntiers; i++) {
        const struct ing_breaker_tier_config *t = &c->breaker.tiers[i];
        if (i && t->failures <= c->breaker.tiers[i - 1].failures) {
            snprintf(err, err_size, "%lld must be greater than the previous tier's %lld",
                     (long long)t->failures, (long long)c->breaker.tiers[i - 1].failures);
            if (where)
                *where = &t->failures;
            return -EINVAL;
        }
        out->tiers[i] = (struct ing_breaker_tier){(unsigned)t->failures, t->delay_ms};
    }
    out->ntiers = (unsigned)c->breaker.ntiers;
    return 0;
}

void ing_config_stream_options(const struct ing_config *cfg, struct ing_stream_options *o)
{
    o->client = cfg->client == 1 ? ING_CLIENT_LIBAV : ING_CLIENT_NATIVE;
    o->transport = cfg->transport == 1   ? ING_TRANSPORT_UDP
                   : cfg->transport == 2 ? ING_TRANSPORT_AUTO
                                         : ING_TRANSPORT_TCP;
    o->loop_threads = cfg->threads > 0 ? (unsigned)cfg->threads : 0;
    o->read_batch_us = (int)cfg->read_batch_ms * 1000;
    o->connect_timeout_ms = (int)cfg->connect_timeout_ms;
    o->stall_timeout_ms = (int)cfg->stall_timeout_ms;
    o->max_ahead_ms = (int)cfg->max_ahead_ms;
    o->tls_ca = cfg->tls_ca && cfg->tls_ca[0] ? cfg->tls_ca : NULL;
}
