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

#define LOG_MODULE "api"

#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_new(const struct api_options *o, api **out)
{
    api *a = horus_calloc(1, sizeof(*a));
    a->db = o->db;
    a->audit = o->audit;
    a->config = o->config;
    a->cameras = o->cameras;
    a->recorder = o->recorder;
    a->exports = o->exports;
    a->snapshots = o->snapshots;
    a->live = o->live;
    a->metrics = o->metrics;
    a->clock = o->clock ? o->clock : clock_system();
    a->data_dir = o->data_dir ? horus_strdup(o->data_dir) : NULL;
    a->config_path = o->config_path ? horus_strdup(o->config_path) : NULL;
    a->node_id = o->node_id ? horus_strdup(o->node_id) : NULL;
    a->started_ms = o->started_ms;
    a->started_mono_ns = o->started_mono_ns;
    a->probe_client = o->probe_client;
    pthread_mutex_init(&a->probes.lock, NULL);
    pthread_mutex_init(&a->health.reasons_lock, NULL);
    snprintf(a->health.reasons_json, sizeof(a->health.reasons_json), "[]");
    pthread_cond_init(&a->probes.done, NULL);
    api_media_cache_init(&a->media_cache);
    pthread_mutex_init(&a->audit_seen.lock, NULL);
    pthread_mutex_init(&a->audit_denied.lock, NULL);
    a->session_idle_ms = o->auth ? o->auth->session_idle_ms : 30 * 60 * 1000;
    a->session_max_ms = o->auth ? o->auth->session_max_ms : 12 * 3600 * 1000;
    a->metrics_token =
        horus_strdup(o->auth && o->auth->metrics_token ? o->auth->metrics_token : "");
    a->public_url = horus_strdup(o->public_url ? o->public_url : "");
    *out = a;
    return 0;
}

int api_register(api *a, http_router *r)
{
    http_router_set_error_mapper(r, api_error_map);
    int rc = api_system_register(r, a);
    if (rc == 0)
        rc = api_cameras_register(r, a);
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
        rc = api_audit_register(r, a);
    if (rc == 0)
        rc = api_auth_register(r, a);
    if (rc == 0)
        rc = api_keys_register(r, a);
    if (rc == 0)
        rc = api_users_register(r, a);
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
    return 0;
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
    api_media_cache_release(&a->media_cache);
    pthread_mutex_destroy(&a->audit_seen.lock);
    pthread_mutex_destroy(&a->audit_denied.lock);
    pthread_cond_destroy(&a->probes.done);
    pthread_mutex_destroy(&a->probes.lock);
    pthread_mutex_destroy(&a->health.reasons_lock);
    free(a->route_perms);
    if (a->metrics_token)
        memset(a->metrics_token, 0, strlen(a->metrics_token));
    free(a->metrics_token);
    free(a->public_url);
    free(a->data_dir);
    free(a->config_path);
    free(a->node_id);
    free(a);
}
