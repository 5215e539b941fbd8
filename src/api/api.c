/*
 * DESIGN: the API object and its entry point. api_new takes typed handles
 * to the services the routes use (no callbacks: api sits above the
 * supervisor and the media modules and includes their public headers),
 * and owns the state its handlers share: the /health cache, the running
 * probes and the media-file cache. api_register sets the router's error
 * mapper and lets each handler file register its routes. Later resources
 * (recordings, events, users) add one register call here.
 *
 * Thread: main creates, registers and frees; handlers run on http-N.
 */
#include "api_int.h"

#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_new(const struct api_options *o, api **out)
{
    api *a = horus_calloc(1, sizeof(*a));
    a->db = o->db;
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
    *out = a;
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
    api_media_cache_release(&a->media_cache);
    pthread_cond_destroy(&a->probes.done);
    pthread_mutex_destroy(&a->probes.lock);
    pthread_mutex_destroy(&a->health.reasons_lock);
    free(a->data_dir);
    free(a->config_path);
    free(a->node_id);
    free(a);
}
