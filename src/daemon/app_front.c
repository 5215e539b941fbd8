/*
 * DESIGN: the daemon's network front, in app.c's start order: the
 * re-stream servers (RTSP and SRT), WebRTC out, and last the HTTP
 * listeners (the API listener and the media lane), so that nothing answers
 * before everything it serves has started. app.c keeps the table and the
 * order.
 *
 * Thread: main.
 */
#include "app_int.h"

#include "err.h"
#include "http.h"
#include "http_limit.h"
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

#define LOG_MODULE "main"

/*
 * The re-stream servers (docs/design/0054, 0060), when restream.rtsp.listen
 * or restream.srt.listen is set: after the relay, the cameras, the login
 * limiter and the media keys they borrow; stopped before them.
 */
int app_restream_start(struct app *a)
{
    const struct restream_rtsp_config *c = &app_current(a)->restream.rtsp;
    const struct restream_srt_config *srt = &app_current(a)->restream.srt;
    bool has_srt = srt->listen && srt->listen[0];
    if ((!c->listen || !c->listen[0]) && !has_srt)
        return 0;
    char why[sizeof(a->why)] = "";
    int rc = restream_server_new(
        &(struct restream_options){.listen = c->listen,
                                   .session_timeout_ms = c->session_timeout_ms,
                                   .max_clients = (unsigned)c->max_clients,
                                   .max_buffer_bytes = (size_t)c->max_buffer_bytes,
                                   .stall_timeout_ms = c->stall_timeout_ms,
                                   .digest = c->digest,
                                   .relay = a->relay,
                                   .db = a->db,
                                   .login_limit = a->login_limit,
                                   .media_keys = a->media_keys,
                                   .audit = a->audit,
                                   .metrics = a->metrics,
                                   .srt_listen = has_srt ? srt->listen : NULL,
                                   .srt_passphrase = srt->passphrase,
                                   .srt_latency_ms = srt->latency_ms,
                                   .srt_max_clients = (unsigned)srt->max_clients,
                                   .err = why,
                                   .errsize = sizeof(why)},
        &a->restream);
    if (rc == 0)
        rc = restream_server_start(a->restream);
    if (rc < 0) {
        if (why[0])
            snprintf(a->why, sizeof(a->why), "%s", why);
        else
            snprintf(a->why, sizeof(a->why), "restream: %s", horus_strerror(rc));
        restream_server_free(a->restream);
        a->restream = NULL;
    }
    return rc;
}

void app_restream_stop(struct app *a)
{
    restream_server_free(a->restream);
    a->restream = NULL;
}

/*
 * WebRTC out (docs/design/0055), when webrtc.udp_listen or webrtc.tcp_listen
 * (ICE-TCP, docs/design/0076) is set: after the
 * relay and the cameras it reads; stopped before them.
 */
int app_webrtc_start(struct app *a)
{
    const struct webrtc_config *c = &app_current(a)->webrtc;
    if ((!c->udp_listen || !c->udp_listen[0]) && (!c->tcp_listen || !c->tcp_listen[0]))
        return 0;
    struct webrtc_options o = {.udp_listen = c->udp_listen,
                               .tcp_listen = c->tcp_listen,
                               .max_sessions = (unsigned)c->max_sessions,
                               .relay = a->relay,
                               .metrics = a->metrics};
    for (size_t i = 0; i < c->nadditional_hosts && i < WEBRTC_MAX_HOSTS; i++)
        o.additional_hosts[o.n_additional_hosts++] = c->additional_hosts[i];
    for (size_t i = 0; i < c->nice_servers && i < WEBRTC_MAX_ICE_SERVERS; i++)
        o.ice_servers[o.n_ice_servers++] = c->ice_servers[i];
    o.turn_secret = c->turn_secret;
    o.turn_ttl_ms = c->turn_ttl_ms;
    char err[256] = "";
    int rc = webrtc_server_new(&o, &a->webrtc, err, sizeof(err));
    if (rc == 0)
        rc = webrtc_server_start(a->webrtc);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "%s", err[0] ? err : horus_strerror(rc));
        webrtc_server_free(a->webrtc);
        a->webrtc = NULL;
    }
    return rc;
}

void app_webrtc_stop(struct app *a)
{
    webrtc_server_free(a->webrtc);
    a->webrtc = NULL;
}

static const char *const headroom_paths[] = {"/health", "/ready", NULL};

int app_http_start(struct app *a)
{
    const struct horus_config *c = app_current(a);
    const char *listen = a->ov->listen ? a->ov->listen : c->server.listen;
    const struct api_rate_limit_config *rl = &c->server.rate_limit;
    struct http_limiter_options lo = {
        .per_address =
            {
                [HTTP_LIMIT_API] = {(unsigned)rl->api_per_minute, (unsigned)rl->api_burst},
                [HTTP_LIMIT_MEDIA] = {(unsigned)rl->media_per_minute, (unsigned)rl->media_burst},
            },
        .per_principal = {(unsigned)rl->principal_per_minute, (unsigned)rl->principal_burst},
        .max_entries = (unsigned)rl->max_clients,
        .exempt = (const char *const *)rl->exempt,
        .nexempt = rl->nexempt,
        .metrics = a->metrics,
    };
    int rc = http_limiter_new(&lo, &a->limiter);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "server.rate_limit: %s", horus_strerror(rc));
        return rc;
    }
    struct http_server_options ho = {
        .listen = listen,
        .threads = (unsigned)c->server.threads,
        .max_body_bytes = c->server.max_body_bytes,
        .idle_timeout_s = (unsigned)(c->server.idle_timeout_ms / 1000),
        .header_timeout_s = (unsigned)(c->server.header_timeout_ms / 1000),
        .max_connections = (unsigned)c->server.max_connections,
        .max_connections_per_ip = (unsigned)c->server.max_connections_per_ip,
        .headroom_paths = headroom_paths,
        .access_log = c->server.access_log,
        .metrics = a->metrics,
        .cors_origins = (const char *const *)c->server.cors_origins,
        .ncors_origins = c->server.ncors_origins,
        .trusted_proxies = (const char *const *)c->server.trusted_proxies,
        .ntrusted_proxies = c->server.ntrusted_proxies,
        .limiter = a->limiter,
        .tls_cert_file = c->server.tls.cert,
        .tls_key_file = c->server.tls.key,
        .hostnames = (const char *const *)c->server.hostnames,
        .nhostnames = c->server.nhostnames,
        .public_url = c->server.public_url,
    };
    rc = http_server_new(&ho, &a->http);
    if (rc == 0)
        rc = api_register(a->api, http_server_router(a->http));
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "listen on '%s': %s", listen, horus_strerror(rc));
        return rc;
    }
    if (c->server.media_listen && c->server.media_listen[0]) {
        /* The media lane (docs/design/0059): the same routes, gate and limits,
         * its own threads and connections; only video and health checks. It
         * starts first, so that the API listener answering means both do. */
        struct http_server_options mo = ho;
        mo.listen = c->server.media_listen;
        mo.threads = (unsigned)c->server.media_threads;
        mo.max_connections = (unsigned)c->server.media_max_connections;
        mo.media_only = true;
        mo.router = http_server_router(a->http);
        rc = http_server_new(&mo, &a->media_http);
        if (rc == 0)
            rc = http_server_start(a->media_http);
        if (rc < 0) {
            snprintf(a->why, sizeof(a->why), "server.media_listen '%s': %s", c->server.media_listen,
                     horus_strerror(rc));
            return rc;
        }
        log_info_kv(LOG_KV({"media_listen", c->server.media_listen}),
                    "media listener on port %u: live, playback and WHEP only",
                    http_server_port(a->media_http));
    }
    rc = http_server_start(a->http);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "listen on '%s': %s", listen, horus_strerror(rc));
        return rc;
    }
    /* The port may have been 0 ("pick one"): report the bound one. */
    char url[300];
    const char *colon = strrchr(listen, ':');
    snprintf(url, sizeof(url), "%s://%.*s:%u/", http_server_is_tls(a->http) ? "https" : "http",
             colon ? (int)(colon - listen) : 0, listen, http_server_port(a->http));
    log_info_kv(LOG_KV({"listen", listen}, {"url", url}, {"data", a->data_dir},
                       {"config", a->config_path ? a->config_path : "(defaults)"},
                       {"database", sto_backend_name(a->db)}),
                "horus %s serving on %s", horus_version(), url);
    return 0;
}

void app_http_stop(struct app *a)
{
    http_server_stop(a->media_http); /* it shares the API listener's router: first */
    http_server_free(a->media_http);
    a->media_http = NULL;
    http_server_stop(a->http);
    api_probes_drain(a->api); /* bounded by each probe's timeout */
    http_server_free(a->http);
    a->http = NULL;
    http_limiter_free(a->limiter);
    a->limiter = NULL;
}
