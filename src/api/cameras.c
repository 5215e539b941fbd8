/*
 * DESIGN: /api/v1/cameras: list (cursor-paginated by id), get, create,
 * replace (PUT), update (PATCH) and delete. Validation errors name the
 * field ("record.retention_days: must be 1..3650"). Cameras provisioned
 * from horus.yaml are read-only here (409): the file is their source.
 * URLs must pass the RTSP client's own check (ing_url_check). A database
 * locked past its busy timeout is 503 with Retry-After, not 409.
 *
 * Credentials: URLs are stored as given and always returned masked
 * ("rtsp://user:***@host/"). A client that sends back the masked URL it
 * read keeps the stored password instead of saving "***".
 *
 * Deleted cameras: their recordings become an orphan group listed by GET
 * /api/v1/recordings/orphaned until storage.deleted_camera_grace ends; a
 * POST with "adopt_recordings": true gives them to the new camera, and
 * POST /api/v1/cameras/{id}/adopt_recordings to an existing one
 * (docs/design/0013-storage-budget.md).
 *
 * transport and client: per camera, "" (null in JSON) = the ingest.* key;
 * status.transport and status.client tell what the main stream uses now
 * (docs/design/0034: transport auto may have fallen back to UDP).
 *
 * Thread: http-N. Reads use the reader pool, writes the writer thread.
 */
#include "api_int.h"

#include "cfg.h"
#include "err.h"
#include "ingest.h"
#include "mask.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#define CAMERAS_PAGE_DEFAULT 100
#define CAMERAS_PAGE_MAX 1000

/* A rate for the status object: frames per second to 0.1, bits per second whole; null if unknown.
 */
static json_t *fps_json(bool has, double fps)
{
    return has ? json_real((double)(int64_t)(fps * 10.0 + 0.5) / 10.0) : json_null();
}

static json_t *bps_json(bool has, double bps)
{
    return has ? json_integer((json_int_t)(bps + 0.5)) : json_null();
}

/* The camera's object detection, or null when it is not analysed (docs/design/0036). */
static json_t *detect_json(const struct sup_camera_status *st)
{
    if (!st->has_detect)
        return json_null();
    const struct det_camera_status *d = &st->detect;
    char last_error[sizeof(d->last_error) + 64];
    horus_mask_text(d->last_error, last_error, sizeof(last_error));
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:s?}", "state", d->state, "stream",
                          d->stream, "fps", fps_json(true, d->fps), "inference_ms",
                          fps_json(d->frames > 0, d->inference_ms), "frames", (json_int_t)d->frames,
                          "skipped_frames", (json_int_t)d->skipped, "last_error",
                          last_error[0] ? last_error : NULL);
    if (o && d->breaker[0])
        json_object_set_new(
            o, "hybrid", json_pack("{s:s, s:s}", "breaker", d->breaker, "served_by", d->served_by));
    return o;
}

static json_t *status_json(struct api *ctx, const struct sto_camera *c)
{
    struct sup_camera_status st;
    if (!ctx->cameras || !sup_camera_status_get(ctx->cameras, c->id, &st)) {
        memset(&st, 0, sizeof(st));
        snprintf(st.state, sizeof(st.state), "%s", c->enabled ? "stopped" : "disabled");
        snprintf(st.breaker, sizeof(st.breaker), "closed");
    }
    json_t *retry = json_null();
    if (st.next_retry_unix_ms > 0) {
        char ts[32];
        clock_format_rfc3339_ms(st.next_retry_unix_ms, ts, sizeof(ts));
        retry = json_string(ts);
    }
    json_t *since = json_null();
    if (st.since_unix_ms > 0) {
        char ts[32];
        clock_format_rfc3339_ms(st.since_unix_ms, ts, sizeof(ts));
        since = json_string(ts);
    }
    char last_error[sizeof(st.last_error) + 64];
    horus_mask_text(st.last_error, last_error, sizeof(last_error));
    json_t *j = json_pack(
        "{s:s, s:o, s:s, s:s?, s:o, s:I, s:b, s:s?, s:o, s:o, s:o, s:o, s:s?}", "state", st.state,
        "since", since, "breaker", st.breaker, "last_error", last_error[0] ? last_error : NULL,
        "next_retry_at", retry, "reconnects", (json_int_t)st.reconnects, "recording",
        st.is_recording, "sub_state", st.sub_state[0] ? st.sub_state : NULL, "fps",
        fps_json(st.has_rate, st.fps), "bitrate_bps", bps_json(st.has_rate, st.bitrate_bps),
        "sub_fps", fps_json(st.has_sub_rate, st.sub_fps), "sub_bitrate_bps",
        bps_json(st.has_sub_rate, st.sub_bitrate_bps), "audio_warning",
        st.audio_note[0] ? st.audio_note : NULL);
    /* What the main stream uses now (null while it does not run). */
    json_object_set_new(j, "transport", st.transport[0] ? json_string(st.transport) : json_null());
    json_object_set_new(j, "client", st.client[0] ? json_string(st.client) : json_null());
    json_object_set_new(j, "detect", detect_json(&st));
    /* Which streams this node can play over WebRTC now (docs/webrtc.md): players pick by it. */
    json_object_set_new(j, "webrtc",
                        json_pack("{s:b, s:b}", "main",
                                  webrtc_server_serves(ctx->webrtc, c->id, "main"), "sub",
                                  webrtc_server_serves(ctx->webrtc, c->id, "sub")));
    /*
     * The camera's clock (docs/design/0047, 0053), null until measured; whole
     * microseconds in ms. source says what dates the media: arrival always
     * (wall times stay server time); "rtcp" when sender reports are also
     * accepted, and camera_offset_ms then says how far the camera's own clock is;
     * av_offset_ms, once both tracks have one, how late recordings play audio.
     */
    json_t *clock = json_null();
    if (st.has_clock) {
        clock = json_pack(
            "{s:f, s:f, s:f, s:s, s:o}", "offset_ms", round(st.clock_offset_ms * 1e3) / 1e3,
            "jitter_ms", round(st.clock_jitter_ms * 1e3) / 1e3, "connect_burst_ms",
            round(st.clock_burst_ms * 1e3) / 1e3, "source",
            st.has_camera_offset ? "rtcp" : "arrival", "camera_offset_ms",
            st.has_camera_offset ? json_real(round(st.camera_offset_ms * 1e3) / 1e3) : json_null());
        json_object_set_new(clock, "av_offset_ms",
                            st.has_av_offset ? json_real(round(st.av_offset_ms * 1e3) / 1e3)
                                             : json_null());
    }
    json_object_set_new(j, "clock", clock);
    return j;
}

static json_t *camera_json(struct api *ctx, const struct sto_camera *c)
{
    char url[1024], sub[1024], created[32], updated[32];
    cfg_mask_url(c->url, url, sizeof(url));
    cfg_mask_url(c->sub_url ? c->sub_url : "", sub, sizeof(sub));
    clock_format_rfc3339_ms(c->created_at_ms, created, sizeof(created));
    clock_format_rfc3339_ms(c->updated_at_ms, updated, sizeof(updated));
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:b, s:I, s:I, s:I}, s:b, s:s, s:s, s:o}", "id",
                  c->id, "name", c->name ? c->name : "", "url", url, "sub_url", sub, "enabled",
                  c->enabled, "record", "enabled", c->record_enabled, "segment_seconds",
                  (json_int_t)c->segment_seconds, "retention_days", (json_int_t)c->retention_days,
                  "max_bytes", (json_int_t)c->max_bytes, "provisioned", c->provisioned,
                  "created_at", created, "updated_at", updated, "status", status_json(ctx, c));
    /* null = the ingest.* key decides; status.transport/client say what is in use */
    json_object_set_new(j, "transport",
                        c->transport && c->transport[0] ? json_string(c->transport) : json_null());
    json_object_set_new(j, "client",
                        c->client && c->client[0] ? json_string(c->client) : json_null());
    json_object_set_new(j, "tls_verify", json_boolean(!c->tls_skip_verify));
    json_object_set_new(j, "placement", api_placement_json(c->placement_node, c->placement_labels));
    if (c->tenant && c->tenant[0]) /* single-tenant installs never see the field */
        json_object_set_new(j, "tenant", json_string(c->tenant));
    return j;
}

static bool is_camera_id(const char *id)
{
    return cfg_is_id(id, strlen(id), CFG_ID_MAX);
}

static int reply_validation(http_request *req, const char *field, const char *reason)
{
    return http_reply_error(req, -EINVAL, "%s: %s", field, reason);
}

/* Replaces *dst (owned) with a copy of src. */
static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = horus_strdup(src);
}

/*
 * Keeps the stored URL when the client sent back its masked form. Returns
 * the URL to store (borrowed from incoming or current).
 */
static const char *unmask_url(const char *incoming, const char *current)
{
    char masked[1024];
    if (current && current[0] &&
        strcmp(incoming, cfg_mask_url(current, masked, sizeof(masked))) == 0)
        return current;
    return incoming;
}

static int apply_int(http_request *req, json_t *v, const char *field, int64_t min, int64_t max,
                     int64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char why[96];
        snprintf(why, sizeof(why), "must be an integer %lld..%lld", (long long)min, (long long)max);
        reply_validation(req, field, why);
        return -EINVAL;
    }
    *out = json_integer_value(v);
    return 0;
}

static int apply_record(http_request *req, json_t *rec, struct sto_camera *c)
{
    if (!json_is_object(rec)) {
        reply_validation(req, "record", "must be an object");
        return -EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(rec, key, v)
    {
        int64_t n;
        if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                reply_validation(req, "record.enabled", "must be true or false");
                return -EINVAL;
            }
            c->record_enabled = json_is_true(v);
        } else if (strcmp(key, "segment_seconds") == 0) {
            if (apply_int(req, v, "record.segment_seconds", 2, 3600, &n) < 0)
                return -EINVAL;
            c->segment_seconds = n;
        } else if (strcmp(key, "retention_days") == 0) {
            if (apply_int(req, v, "record.retention_days", 1, 3650, &n) < 0)
                return -EINVAL;
            c->retention_days = n;
        } else if (strcmp(key, "max_bytes") == 0) {
            if (apply_int(req, v, "record.max_bytes", 0, INT64_MAX, &n) < 0)
                return -EINVAL;
            c->max_bytes = (uint64_t)n;
        } else {
            char field[96];
            snprintf(field, sizeof(field), "record.%.64s", key);
            reply_validation(req, field,
                             "unknown field (allowed: enabled, segment_seconds, retention_days, "
                             "max_bytes)");
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * "transport" (auto, tcp, udp) or "client" (native, libav) of a camera;
 * null or "" store "" = the ingest.* key's value (docs/design/0034).
 */
static int apply_choice(http_request *req, const char *key, json_t *v, struct sto_camera *c)
{
    bool is_transport = strcmp(key, "transport") == 0;
    static const char *const transports[] = {"auto", "tcp", "udp", NULL};
    static const char *const clients[] = {"native", "libav", NULL};
    const char *const *allowed = is_transport ? transports : clients;
    const char *value = json_is_null(v) ? "" : json_is_string(v) ? json_string_value(v) : NULL;
    bool is_ok = value && !value[0];
    for (size_t i = 0; value && !is_ok && allowed[i]; i++)
        is_ok = strcmp(value, allowed[i]) == 0;
    if (!is_ok) {
        reply_validation(req, key,
                         is_transport ? "must be auto, tcp or udp" : "must be native or libav");
        return -EINVAL;
    }
    set_str(is_transport ? &c->transport : &c->client, value);
    return 0;
}

/*
 * Applies the fields of body to c (which holds defaults or the current row).
 * On a validation error replies 400 and returns -EINVAL.
 */
static int apply_body(struct api *ctx, http_request *req, json_t *body, struct sto_camera *c,
                      const char *cur_url, const char *cur_sub_url)
{
    const ing_netpolicy *networks = ctx->cameras ? sup_supervisor_networks(ctx->cameras) : NULL;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "id") == 0) {
            if (!json_is_string(v) || !is_camera_id(json_string_value(v))) {
                reply_validation(req, "id", "must be 1..64 characters of [a-z0-9_-]");
                return -EINVAL;
            }
            if (c->id && strcmp(c->id, json_string_value(v)) != 0) {
                reply_validation(req, "id", "does not match the id in the path");
                return -EINVAL;
            }
            set_str(&c->id, json_string_value(v));
        } else if (strcmp(key, "name") == 0) {
            if (!json_is_string(v) || json_string_length(v) > 200) {
                reply_validation(req, "name", "must be a string of at most 200 characters");
                return -EINVAL;
            }
            set_str(&c->name, json_string_value(v));
        } else if (strcmp(key, "url") == 0 || strcmp(key, "sub_url") == 0) {
            bool is_sub = key[0] == 's';
            if (!json_is_string(v)) { /* ing_url_check bounds the length */
                reply_validation(req, key, "must be a string");
                return -EINVAL;
            }
            const char *url = unmask_url(json_string_value(v), is_sub ? cur_sub_url : cur_url);
            char why[128];
            if ((!is_sub || url[0]) && ing_url_check(url, why, sizeof(why)) < 0) {
                reply_validation(req, key, why);
                return -EINVAL;
            }
            /* Every address of the host must be in an allowed network (docs/design/0017 §4). */
            char denied[200];
            if (url[0] && networks &&
                ing_netpolicy_check_url(networks, url, denied, sizeof(denied)) < 0) {
                reply_validation(req, key, denied);
                return -EINVAL;
            }
            set_str(is_sub ? &c->sub_url : &c->url, url);
        } else if (strcmp(key, "transport") == 0 || strcmp(key, "client") == 0) {
            if (apply_choice(req, key, v, c) < 0)
                return -EINVAL;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                reply_validation(req, "enabled", "must be true or false");
                return -EINVAL;
            }
            c->enabled = json_is_true(v);
        } else if (strcmp(key, "tls_verify") == 0) {
            if (!json_is_boolean(v)) {
                reply_validation(req, "tls_verify", "must be true or false");
                return -EINVAL;
            }
            c->tls_skip_verify = !json_is_true(v);
        } else if (strcmp(key, "record") == 0) {
            if (apply_record(req, v, c) < 0)
                return -EINVAL;
        } else if (strcmp(key, "placement") == 0) {
            if (api_placement_apply(req, v, &c->placement_node, &c->placement_labels) < 0)
                return -EINVAL;
        } else if (strcmp(key, "tenant") == 0) {
            /* Set at creation (cameras_create takes it out first); an echo of it is fine. */
            if (!json_is_string(v) ||
                strcmp(json_string_value(v), c->tenant ? c->tenant : "") != 0) {
                reply_validation(req, "tenant",
                                 "cannot change: a camera stays in the tenant it was created in");
                return -EINVAL;
            }
        } else if (strcmp(key, "provisioned") == 0 || strcmp(key, "created_at") == 0 ||
                   strcmp(key, "updated_at") == 0 || strcmp(key, "status") == 0) {
            continue; /* read-only fields a client may echo back */
        } else {
            char field[80];
            snprintf(field, sizeof(field), "%.64s", key);
            reply_validation(req, field,
                             "unknown field (allowed: id, name, url, sub_url, enabled, "
                             "transport, client, tls_verify, record, placement, groups)");
            return -EINVAL;
        }
    }
    if (!c->id) {
        reply_validation(req, "id", "is required");
        return -EINVAL;
    }
    if (!c->url || !c->url[0]) {
        reply_validation(req, "url", "is required");
        return -EINVAL;
    }
    return 0;
}

static void camera_defaults(struct sto_camera *c)
{
    memset(c, 0, sizeof(*c));
    c->name = horus_strdup("");
    c->sub_url = horus_strdup("");
    c->transport = horus_strdup("");
    c->client = horus_strdup("");
    c->placement_node = horus_strdup("");
    c->placement_labels = horus_strdup("");
    c->enabled = true;
    c->record_enabled = true;
    c->segment_seconds = 60;
    c->retention_days = 14;
}

static int cameras_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    size_t limit = CAMERAS_PAGE_DEFAULT;
    const char *ls = http_request_query(req, "limit");
    if (ls) {
        char *end;
        long v = strtol(ls, &end, 10);
        if (!*ls || *end || v < 1 || v > CAMERAS_PAGE_MAX)
            return http_reply_error(req, -EINVAL, "limit: must be an integer 1..%d",
                                    CAMERAS_PAGE_MAX);
        limit = (size_t)v;
    }
    const char *cursor = http_request_query(req, "cursor");
    if (cursor && !is_camera_id(cursor))
        return http_reply_error(req, -EINVAL, "cursor: not a cursor this server returned");
    char **in_group;
    size_t nin_group;
    if (api_camera_group_filter(ctx, req, &in_group, &nin_group) < 0)
        return 0;
    struct sto_camera *list;
    size_t n;
    bool has_more;
    int rc = sto_camera_list(ctx->db, cursor, limit, &list, &n, &has_more);
    if (rc < 0) {
        api_camera_group_filter_free(in_group, nin_group);
        return http_reply_error(req, rc, "list cameras: %s", horus_strerror(rc));
    }
    json_t *items = json_array();
    json_t **shown = horus_calloc(n ? n : 1, sizeof(*shown));
    size_t nshown = 0;
    for (size_t i = 0; i < n; i++)
        if (api_may_see(req, list[i].id, list[i].tenant) && /* outside grant or tenant */
            api_camera_group_has(in_group, nin_group, list[i].id)) {
            shown[nshown] = camera_json(ctx, &list[i]);
            json_array_append_new(items, shown[nshown++]);
        }
    api_camera_groups_attach(ctx, shown, nshown);
    free(shown);
    api_camera_group_filter_free(in_group, nin_group);
    json_t *next = has_more && n > 0 ? json_string(list[n - 1].id) : json_null();
    sto_camera_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

int api_camera_load(http_request *req, struct api *ctx, const char *id, struct sto_camera *out)
{
    int rc = sto_camera_get(ctx->db, id, out);
    if (rc == -ENOENT)
        http_reply_error(req, rc, "camera '%s' does not exist", id);
    else if (rc < 0)
        http_reply_error(req, rc, "read camera '%s': %s", id, horus_strerror(rc));
    return rc;
}

static int cameras_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_camera c;
    if (api_camera_load(req, ctx, id, &c) < 0)
        return 0;
    json_t *j = camera_json(ctx, &c);
    api_camera_groups_attach(ctx, &j, 1);
    sto_camera_release(&c);
    return http_reply_json(req, 200, j);
}

static int cameras_create(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *body;
    if (http_request_json(req, &body) < 0)
        return 0;
    /* Create only: take back a deleted camera's recordings (docs/design/0013). */
    json_t *adopt = json_object_get(body, "adopt_recordings");
    if (adopt && !json_is_boolean(adopt)) {
        json_decref(body);
        return reply_validation(req, "adopt_recordings", "must be true or false");
    }
    bool wants_adopt = adopt && json_is_true(adopt);
    json_object_del(body, "adopt_recordings");
    /* Create only: the tenant (the caller's; a superadmin may name one; docs/design/0024). */
    char tenant[AUTH_ID_MAX];
    struct sto_tenant quota;
    if (api_tenant_for_new(ctx, req, json_object_get(body, "tenant"), tenant, &quota) < 0) {
        json_decref(body);
        return 0;
    }
    json_object_del(body, "tenant");
    struct api_camera_groups groups;
    if (api_camera_groups_take(req, body, &groups) < 0) {
        json_decref(body);
        return 0;
    }
    struct sto_camera c;
    camera_defaults(&c);
    int rc = apply_body(ctx, req, body, &c, NULL, NULL);
    json_decref(body);
    if (rc == 0) {
        struct sto_camera_input in = sto_camera_input_of(&c);
        in.tenant = tenant;
        in.tenant_max_cameras = quota.max_cameras;
        rc = sto_camera_insert(ctx->db, &in);
        if (rc == -EEXIST)
            http_reply_error(req, rc, "camera '%s' already exists", c.id);
        else if (rc == -EDQUOT)
            http_reply_error(req, rc,
                             "tenant '%s' has reached its camera quota (max_cameras = %llu); "
                             "delete a camera or raise the quota (PATCH /api/v1/tenants/%s)",
                             tenant, (unsigned long long)quota.max_cameras, tenant);
        else if (rc < 0) {
            http_reply_error(req, rc, "create camera '%s': %s", c.id, horus_strerror(rc));
        }
    }
    if (rc == 0 && groups.n > 0 && (rc = api_camera_groups_store(ctx, c.id, &groups)) < 0)
        http_reply_error(req, rc, "camera '%s' was created but storing its groups failed: %s", c.id,
                         horus_strerror(rc));
    api_camera_groups_release(&groups);
    uint64_t adopted = 0;
    if (rc == 0 && wants_adopt) {
        rc = sto_camera_adopt(ctx->db, c.id, &adopted);
        if (rc < 0)
            http_reply_error(req, rc,
                             "camera '%s' was created but adopting its orphaned recordings "
                             "failed: %s",
                             c.id, horus_strerror(rc));
    }
    if (rc == 0) {
        struct sto_camera stored;
        rc = sto_camera_get(ctx->db, c.id, &stored);
        if (rc == 0) {
            api_health_count_cameras(ctx);
            char location[128];
            snprintf(location, sizeof(location), "/api/v1/cameras/%s", c.id);
            http_reply_header(req, "Location", location);
            json_t *j = camera_json(ctx, &stored);
            api_camera_groups_attach(ctx, &j, 1);
            if (wants_adopt)
                json_object_set_new(j, "adopted_recordings", json_integer((json_int_t)adopted));
            http_reply_json(req, 201, j);
            json_t *d = json_pack("{s:s, s:b}", "name", stored.name, "enabled", stored.enabled);
            if (wants_adopt)
                json_object_set_new(d, "adopted_recordings", json_integer((json_int_t)adopted));
            auth_audit_request(ctx->audit, req, AUTH_AUDIT_CAMERA_CREATED, AUTH_AUDIT_OK, "camera",
                               c.id, d);
            json_decref(d);
            sto_camera_release(&stored);
        } else {
            http_reply_error(req, rc, "read back camera '%s': %s", c.id, horus_strerror(rc));
        }
    }
    sto_camera_release(&c);
    sto_tenant_release(&quota);
    return 0;
}

/* PUT replaces from defaults, PATCH updates the current row. */
static int cameras_write(http_request *req, struct api *ctx, bool is_patch)
{
    const char *id = http_request_param(req, "id");
    struct sto_camera cur;
    int rc = api_camera_load(req, ctx, id, &cur);
    if (rc < 0)
        return 0;
    if (cur.provisioned) {
        sto_camera_release(&cur);
        return http_reply_error(req, -EBUSY,
                                "camera '%s' is provisioned from horus.yaml; change it there", id);
    }
    json_t *body;
    if (http_request_json(req, &body) < 0) {
        sto_camera_release(&cur);
        return 0;
    }
    struct sto_camera c;
    if (is_patch) {
        c = cur;
        c.analytics = NULL; /* not this route's: the update keeps the row's */
        c.id = horus_strdup(cur.id);
        c.name = horus_strdup(cur.name);
        c.url = horus_strdup(cur.url);
        c.sub_url = horus_strdup(cur.sub_url);
        c.transport = horus_strdup(cur.transport ? cur.transport : "");
        c.client = horus_strdup(cur.client ? cur.client : "");
        c.placement_node = horus_strdup(cur.placement_node ? cur.placement_node : "");
        c.placement_labels = horus_strdup(cur.placement_labels ? cur.placement_labels : "");
    } else {
        camera_defaults(&c);
        c.id = horus_strdup(id);
    }
    c.tenant = horus_strdup(cur.tenant ? cur.tenant : ""); /* not the row's: c is released */
    /* The audit entry names the fields the request set (never their values: URLs hold secrets). */
    json_t *fields = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        json_array_append_new(fields, json_string(key));
    }
    struct api_camera_groups groups;
    rc = api_camera_groups_take(req, body, &groups);
    if (rc == 0)
        rc = apply_body(ctx, req, body, &c, cur.url, cur.sub_url);
    json_decref(body);
    if (rc == 0) {
        struct sto_camera_input in = sto_camera_input_of(&c);
        rc = sto_camera_update(ctx->db, &in);
        /* PUT replaces: no "groups" means none; PATCH keeps them. */
        if (rc == 0 && (groups.is_present || !is_patch))
            rc = api_camera_groups_store(ctx, id, &groups);
        struct sto_camera stored;
        if (rc == 0)
            rc = sto_camera_get(ctx->db, id, &stored);
        if (rc == 0) {
            json_t *j = camera_json(ctx, &stored);
            api_camera_groups_attach(ctx, &j, 1);
            http_reply_json(req, 200, j);
            sto_camera_release(&stored);
            json_t *d =
                json_pack("{s:s, s:O}", "method", is_patch ? "PATCH" : "PUT", "fields", fields);
            auth_audit_request(ctx->audit, req, AUTH_AUDIT_CAMERA_UPDATED, AUTH_AUDIT_OK, "camera",
                               id, d);
            json_decref(d);
        } else {
            http_reply_error(req, rc, "update camera '%s': %s", id, horus_strerror(rc));
        }
    }
    json_decref(fields);
    api_camera_groups_release(&groups);
    sto_camera_release(&c);
    sto_camera_release(&cur);
    return 0;
}

static int cameras_put(http_request *req, void *arg)
{
    return cameras_write(req, arg, false);
}

static int cameras_patch(http_request *req, void *arg)
{
    return cameras_write(req, arg, true);
}

static int cameras_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_camera cur;
    int rc = api_camera_load(req, ctx, id, &cur);
    if (rc < 0)
        return 0;
    bool is_provisioned = cur.provisioned;
    sto_camera_release(&cur);
    if (is_provisioned)
        return http_reply_error(req, -EBUSY,
                                "camera '%s' is provisioned from horus.yaml; remove it there", id);
    rc = sto_camera_delete(ctx->db, id);
    if (rc < 0) {
        return http_reply_error(req, rc, "delete camera '%s': %s", id, horus_strerror(rc));
    }
    api_health_count_cameras(ctx);
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_CAMERA_DELETED, AUTH_AUDIT_OK, "camera", id,
                       NULL);
    return http_reply(req, 204, NULL, NULL, 0);
}

/*
 * POST /api/v1/cameras/{id}/adopt_recordings: the same adoption for a camera
 * that exists already (a provisioned one re-added to horus.yaml, or an API
 * one created without the flag). Not a change to the camera itself, so
 * provisioned cameras accept it.
 */
static int cameras_adopt(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_camera cur;
    if (api_camera_load(req, ctx, id, &cur) < 0)
        return 0;
    sto_camera_release(&cur);
    uint64_t adopted = 0;
    int rc = sto_camera_adopt(ctx->db, id, &adopted);
    if (rc < 0)
        return http_reply_error(req, rc, "adopt the orphaned recordings of '%s': %s", id,
                                horus_strerror(rc));
    return http_reply_json(req, 200, json_pack("{s:I}", "adopted_recordings", (json_int_t)adopted));
}

/* GET /api/v1/recordings/orphaned: recordings of deleted cameras, per deletion. */
static int orphans_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_orphan *list = NULL;
    size_t n = 0;
    int rc = sto_orphan_list(ctx->db, 1000, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list orphaned recordings: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct sto_orphan *o = &list[i];
        if (!api_may_see(req, NULL, o->tenant)) /* another tenant's past: absent */
            continue;
        char deleted[32], start[32], end[32];
        clock_format_rfc3339_ms(o->deleted_at_ms, deleted, sizeof(deleted));
        clock_format_rfc3339_ms(o->start_us / 1000, start, sizeof(start));
        clock_format_rfc3339_ms(o->end_us / 1000, end, sizeof(end));
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s?, s:s?}", "id", o->orphan_id, "camera",
                             o->camera_id, "deleted_at", deleted, "recordings",
                             (json_int_t)o->count, "bytes", (json_int_t)o->bytes, "start",
                             o->count ? start : NULL, "end", o->count ? end : NULL));
        if (o->tenant && o->tenant[0])
            json_object_set_new(json_array_get(items, json_array_size(items) - 1), "tenant",
                                json_string(o->tenant));
    }
    sto_orphan_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

int api_cameras_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/cameras", cameras_list},
        {"POST", "/api/v1/cameras", cameras_create},
        {"GET", "/api/v1/cameras/{id}", cameras_get},
        {"PUT", "/api/v1/cameras/{id}", cameras_put},
        {"PATCH", "/api/v1/cameras/{id}", cameras_patch},
        {"DELETE", "/api/v1/cameras/{id}", cameras_delete},
        {"POST", "/api/v1/cameras/{id}/adopt_recordings", cameras_adopt},
        {"GET", "/api/v1/recordings/orphaned", orphans_list},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
