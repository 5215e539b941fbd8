/*
 * DESIGN: the API object and its entry point. api_new takes typed handles
 * to the services the routes use (no callbacks: api sits above the
 * supervisor and the media modules and includes their public headers),
 * and owns the state its handlers share: the /health cache, the running
 * probes and the media-file cache. api_register sets the router's error
 * mapper and lets each handler file register its routes. Later resources
 * (recordings, events, users) add one register call here. Last, it reads
 * each route's permission from the OpenAPI document and sets the router's
 * gate (gate.c), so no route is served without a declared permission.
 *
 * Thread: main creates, registers and frees; handlers run on http-N.
 */
#include "api_int.h"
#include "detections_int.h"

#include "log.h"
#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "api"

int api_new(const struct api_options *o, api **out)
{
    api *a = horus_calloc(1, sizeof(*a));
    a->web_dir_fd = -1;
    a->db = o->db;
    a->audit = o->audit;
    a->config = o->config;
    a->cameras = o->cameras;
    a->recorder = o->recorder;
    a->exports = o->exports;
    a->snapshots = o->snapshots;
    a->events = o->events;
    a->live = o->live;
    a->webrtc = o->webrtc;
    a->vision = o->vision;
    a->analysis = o->analysis;
    a->det = api_det_new(o->detections, o->metrics, o->events ? evt_engine_inbox(o->events) : NULL);
    a->webhooks = o->webhooks;
    a->restream = o->restream;
    a->feed = o->feed;
    a->bus = o->bus;
    a->media_keys = o->media_keys;
    a->metrics = o->metrics;
    a->clock = o->clock ? o->clock : clock_system();
    a->data_dir = o->data_dir ? horus_strdup(o->data_dir) : NULL;
    a->config_path = o->config_path ? horus_strdup(o->config_path) : NULL;
    a->node_id = o->node_id ? horus_strdup(o->node_id) : NULL;
    a->node_ttl_ms = o->node_ttl_ms;
    a->started_ms = o->started_ms;
    a->started_mono_ns = o->started_mono_ns;
    a->probe_client = o->probe_client;
    a->probe_tls_ca = o->probe_tls_ca && o->probe_tls_ca[0] ? horus_strdup(o->probe_tls_ca) : NULL;
    a->login_limit = o->login_limit;
    pthread_mutex_init(&a->probes.lock, NULL);
    pthread_mutex_init(&a->health.reasons_lock, NULL);
    snprintf(a->health.reasons_json, sizeof(a->health.reasons_json), "[]");
    pthread_cond_init(&a->probes.done, NULL);
    api_media_cache_init(&a->media_cache);
    api_camera_tenants_init(&a->camera_tenants);
    pthread_mutex_init(&a->audit_seen.lock, NULL);
    pthread_mutex_init(&a->audit_denied.lock, NULL);
    a->session_idle_ms = o->auth ? o->auth->session_idle_ms : 30 * 60 * 1000;
    a->session_max_ms = o->auth ? o->auth->session_max_ms : 12 * 3600 * 1000;
    a->metrics_token =
        horus_strdup(o->auth && o->auth->metrics_token ? o->auth->metrics_token : "");
    a->public_url = horus_strdup(o->public_url ? o->public_url : "");
    a->mfa_policy = o->auth ? (enum auth_mfa_policy)o->auth->mfa : AUTH_MFA_REQUIRED_FOR_ADMINS;
    a->oidc = o->oidc;
    a->sso_label = horus_strdup(o->auth && o->auth->oidc.label ? o->auth->oidc.label : "SSO");
    a->cred_cache = auth_cache_new(AUTH_CACHE_CAPACITY, AUTH_CACHE_TTL_MS);
    api_sso_init(a);
    int rc = api_web_open(a, o->web_dir);
    if (rc < 0) {
        api_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/*
 * Which budget each route's requests draw from (docs/design/0020): media
 * that players fetch many times a minute has its own, much larger budget,
 * and health checks are never limited. Every other route is API. `lane`:
 * also served by the media listener (server.media_listen, docs/design/
 * 0059): video and health checks, not the web UI's files (a page loaded
 * from there could call no API).
 */
static const struct {
    const char *tmpl;
    enum http_limit_class cls;
    bool lane;
} limit_classes[] = {
    {"/health", HTTP_LIMIT_EXEMPT, true},
    {"/ready", HTTP_LIMIT_EXEMPT, true},
    {"/api/v1/cameras/{id}/live/index.m3u8", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/live/master.m3u8", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/live/init/{name}", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/live/part/{name}", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/live/segment/{name}", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/playback.m3u8", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/recordings/{stream}/{file}", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/exports/{id}/file", HTTP_LIMIT_MEDIA, true},
    /* A video wall opens one WebRTC session per tile at once (docs/design/0057). */
    {"/api/v1/cameras/{id}/whep", HTTP_LIMIT_MEDIA, true},
    {"/api/v1/cameras/{id}/whep/{session}", HTTP_LIMIT_MEDIA, true},
    /* The web UI: a page load is a burst of small static files. */
    {"/", HTTP_LIMIT_MEDIA, false},
    {"/{path}", HTTP_LIMIT_MEDIA, false},
};

static int set_limit_classes(http_router *r)
{
    for (size_t i = 0; i < sizeof(limit_classes) / sizeof(limit_classes[0]); i++) {
        int rc = http_router_set_limit_class(r, limit_classes[i].tmpl, limit_classes[i].cls);
        if (rc == 0 && limit_classes[i].lane)
            rc = http_router_set_media_lane(r, limit_classes[i].tmpl);
        if (rc < 0) {
            log_error("rate-limit class for '%s': no such route", limit_classes[i].tmpl);
            return rc;
        }
    }
    return 0;
}

/*
 * Routes whose OpenAPI operation documents request bodies other than
 * application/json take those types (docs/design/0017 §3): the document is
 * the one place that says so. Returns 0, or -EINVAL when the embedded
 * document does not parse.
 */
static int register_body_types(http_router *r)
{
    json_t *doc = json_loadb(horus_openapi_json, horus_openapi_json_len, 0, NULL);
    json_t *paths = json_object_get(doc, "paths");
    if (!json_is_object(paths)) {
        json_decref(doc);
        return -EINVAL;
    }
    const char *path, *method;
    json_t *ops, *op;
    json_object_foreach(paths, path, ops)
    {
        json_object_foreach(ops, method, op)
        {
            json_t *content = json_object_get(json_object_get(op, "requestBody"), "content");
            if (!json_is_object(content) ||
                (json_object_size(content) == 1 && json_object_get(content, "application/json")))
                continue;
            char types[256] = "", upper[16];
            const char *type;
            json_t *unused;
            json_object_foreach(content, type, unused)
            {
                size_t used = strlen(types);
                snprintf(types + used, sizeof(types) - used, "%s%s", used ? ", " : "", type);
            }
            snprintf(upper, sizeof(upper), "%s", method);
            for (char *c = upper; *c; c++)
                if (*c >= 'a' && *c <= 'z')
                    *c = (char)(*c - 'a' + 'A');
            http_router_set_body_types(r, upper, path, types); /* -ENOENT: documented only */
        }
    }
    json_decref(doc);
    return 0;
}

int api_register(api *a, http_router *r)
{
    http_router_set_error_mapper(r, api_error_map);
    int rc = api_system_register(r, a);
    if (rc == 0)
        rc = api_cameras_register(r, a);
    if (rc == 0)
        rc = api_camera_analytics_register(r, a);
    if (rc == 0)
        rc = api_probe_register(r, a);
    if (rc == 0)
        rc = api_exports_register(r, a);
    if (rc == 0)
        rc = api_snapshot_register(r, a);
    if (rc == 0)
        rc = api_playback_register(r, a);
    if (rc == 0)
        rc = api_live_register(r, a);
    if (rc == 0)
        rc = api_whep_register(r, a);
    if (rc == 0)
        rc = api_audit_register(r, a);
    if (rc == 0)
        rc = api_events_stream_register(r, a);
    if (rc == 0)
        rc = api_events_register(r, a);
    if (rc == 0)
        rc = api_detections_register(r, a);
    if (rc == 0)
        rc = api_auth_register(r, a);
    if (rc == 0)
        rc = api_sso_register(r, a);
    if (rc == 0)
        rc = api_keys_register(r, a);
    if (rc == 0)
        rc = api_users_register(r, a);
    if (rc == 0)
        rc = api_mfa_register(r, a);
    if (rc == 0)
        rc = api_tenants_register(r, a);
    if (rc == 0)
        rc = api_webhooks_register(r, a);
    if (rc == 0)
        rc = api_restream_register(r, a);
    if (rc == 0)
        rc = api_media_share_register(r, a);
    if (rc == 0)
        rc = api_preferences_register(r, a);
    if (rc == 0)
        rc = api_system_storage_register(r, a);
    if (rc == 0)
        rc = api_nodes_register(r, a);
    if (rc == 0)
        rc = api_vision_register(r, a);
    if (rc == 0)
        rc = api_web_register(r, a);
    if (rc < 0)
        return rc;
    /* Every route declares who may call it; one without is a build-time bug. */
    char why[256];
    free(a->route_perms);
    rc = api_permissions_load(horus_openapi_json, horus_openapi_json_len, r, &a->route_perms,
                              &a->nroute_perms, why, sizeof(why));
    if (rc < 0) {
        log_error("register routes: %s", why);
        return rc;
    }
    http_router_set_gate(r, api_gate, a);
    rc = set_limit_classes(r);
    if (rc == 0)
        rc = register_body_types(r);
    return rc;
}

void api_set_stopping(api *a)
{
    atomic_store(&a->is_stopping, true);
}

void api_free(api *a)
{
    if (!a)
        return;
    api_probes_drain(a); /* their threads use a->probes */
    if (a->feed)
        evt_feed_set_tenant_cb(a->feed, NULL, NULL); /* it points at a */
    api_web_close(a);
    api_media_cache_release(&a->media_cache);
    api_camera_tenants_release(&a->camera_tenants);
    pthread_mutex_destroy(&a->audit_seen.lock);
    pthread_mutex_destroy(&a->audit_denied.lock);
    pthread_cond_destroy(&a->probes.done);
    pthread_mutex_destroy(&a->probes.lock);
    pthread_mutex_destroy(&a->health.reasons_lock);
    free(a->route_perms);
    api_det_unref(a->det); /* writes in flight hold their own references */
    api_sso_release(a);
    auth_cache_free(a->cred_cache);
    if (a->metrics_token)
        memset(a->metrics_token, 0, strlen(a->metrics_token));
    free(a->metrics_token);
    free(a->public_url);
    free(a->sso_label);
    free(a->data_dir);
    free(a->config_path);
    free(a->node_id);
    free(a->probe_tls_ca);
    free(a);
}
