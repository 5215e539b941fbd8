/*
 * DESIGN: operational endpoints: /health (liveness and a summary that must
 * answer in well under a millisecond, so it reads only cached facts),
 * /ready (checks the database live, since orchestrators poll it rarely),
 * /metrics, /api/v1/system, the effective config with secrets masked, and
 * the OpenAPI document. Thread: http-N.
 */
#include "api_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "version.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define LOG_MODULE "api"

/* Seconds since start, rounded to milliseconds. */
static double uptime_s(const struct api *ctx)
{
    int64_t ms = (clock_monotonic_ns(clock_system()) - ctx->started_mono_ns) / 1000000;
    return (double)ms / 1000.0;
}

void api_health_refresh(api *ctx, unsigned cameras_online, unsigned cameras_failed)
{
    atomic_store(&ctx->health.cameras_online, cameras_online);
    atomic_store(&ctx->health.cameras_failed, cameras_failed);
    char why[128];
    int db_ok = sto_ping(ctx->db, why, sizeof(why)) == 0;
    if (!db_ok && atomic_load(&ctx->health.db_ok))
        log_warn("database not reachable: %s", why);
    atomic_store(&ctx->health.db_ok, db_ok);
    struct statvfs vfs;
    int disk_ok = statvfs(ctx->data_dir, &vfs) == 0 && !(vfs.f_flag & ST_RDONLY) &&
                  access(ctx->data_dir, W_OK) == 0;
    if (disk_ok) {
        atomic_store(&ctx->health.disk_free_bytes, (uint64_t)vfs.f_bavail * vfs.f_frsize);
        atomic_store(&ctx->health.disk_total_bytes, (uint64_t)vfs.f_blocks * vfs.f_frsize);
    }
    atomic_store(&ctx->health.disk_ok, disk_ok);
    uint64_t ncams = 0;
    if (db_ok && sto_camera_count(ctx->db, &ncams) == 0)
        atomic_store(&ctx->health.cameras_total, (unsigned)ncams);
}

/*
 * /health is polled by load balancers and monitoring, often by many at
 * once, so its body is formatted with snprintf from cached facts rather
 * than built as a jansson tree per request. The only free-form string, the
 * data directory, is JSON-escaped once (ctx->data_dir_json).
 */
static int health_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    bool db_ok = atomic_load(&ctx->health.db_ok);
    bool disk_ok = atomic_load(&ctx->health.disk_ok);
    uint64_t free_b = atomic_load(&ctx->health.disk_free_bytes);
    uint64_t total_b = atomic_load(&ctx->health.disk_total_bytes);
    /* Integer arithmetic: float formatting is measurable at tens of thousands of calls/s. */
    unsigned long long free_hundredths =
        total_b ? (unsigned long long)((unsigned __int128)free_b * 10000 / total_b) : 0;
    int64_t up_ms = (clock_monotonic_ns(clock_system()) - ctx->started_mono_ns) / 1000000;
    char body[1024 + PATH_MAX];
    int n = snprintf(
        body, sizeof(body),
        "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%lld.%03lld,"
        "\"cameras\":{\"total\":%u,\"online\":%u,\"failed\":%u},"
        "\"storage\":{\"status\":\"%s\",\"path\":%s,\"free_bytes\":%llu,"
        "\"total_bytes\":%llu,\"free_percent\":%llu.%02llu},"
        "\"database\":{\"status\":\"%s\",\"backend\":\"%s\",\"schema_version\":%d},"
        "\"bus\":{\"status\":\"disabled\"}}",
        db_ok && disk_ok ? "ok" : "degraded", horus_version(), (long long)(up_ms / 1000),
        (long long)(up_ms % 1000), atomic_load(&ctx->health.cameras_total),
        atomic_load(&ctx->health.cameras_online), atomic_load(&ctx->health.cameras_failed),
        disk_ok ? "ok" : "unwritable", ctx->data_dir_json, (unsigned long long)free_b,
        (unsigned long long)total_b, free_hundredths / 100, free_hundredths % 100,
        db_ok ? "ok" : "unreachable", sto_backend_name(ctx->db), sto_schema_version(ctx->db));
    if (n < 0 || n >= (int)sizeof(body))
        return http_reply_error(req, -ENAMETOOLONG, "health summary too long");
    return http_reply(req, 200, "application/json", body, (size_t)n);
}

static int ready_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *reasons = json_array();
    char why[128];
    if (atomic_load(&ctx->is_stopping))
        json_array_append_new(reasons, json_string("shutting down"));
    if (sto_ping(ctx->db, why, sizeof(why)) < 0)
        json_array_append_new(reasons, json_string(why));
    if (access(ctx->data_dir, W_OK) < 0) {
        snprintf(why, sizeof(why), "storage path not writable: %s", strerror(errno));
        json_array_append_new(reasons, json_string(why));
    }
    bool is_ready = json_array_size(reasons) == 0;
    json_t *j =
        json_pack("{s:s, s:o}", "status", is_ready ? "ready" : "not_ready", "reasons", reasons);
    return http_reply_json(req, is_ready ? 200 : 503, j);
}

static int metrics_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    size_t len;
    char *text = metrics_render(ctx->metrics, &len);
    return http_reply_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static json_t *system_json(struct api *ctx)
{
    char started[32];
    clock_format_rfc3339_ms(ctx->started_ms, started, sizeof(started));
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:f, s:s, s:s?, s:s, s:s, s:s, s:i}", "version",
                     horus_version(), "build", "git", horus_git_describe(), "compiler", __VERSION__,
                     "date", __DATE__, "node_id", ctx->node_id ? ctx->node_id : "", "uptime_s",
                     uptime_s(ctx), "started_at", started, "config_path", ctx->config_path,
                     "log_level", log_level_name(log_get_level()), "data_dir", ctx->data_dir,
                     "database_backend", sto_backend_name(ctx->db), "schema_version",
                     sto_schema_version(ctx->db));
}

static int system_get(http_request *req, void *arg)
{
    return http_reply_json(req, 200, system_json(arg));
}

/*
 * PATCH /api/v1/system: run-time changes that are not config (the log
 * level). Unknown fields are rejected by name so typos are not ignored.
 */
static int system_patch(http_request *req, void *arg)
{
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return 0; /* already answered 400 */
    const char *key;
    json_t *value;
    enum log_level level = log_get_level();
    bool has_level = false;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "log_level") != 0) {
            rc = http_reply_error(req, -EINVAL, "%s: unknown field (allowed: log_level)", key);
            json_decref(body);
            return rc;
        }
        if (!json_is_string(value) || log_level_parse(json_string_value(value), &level) < 0) {
            json_decref(body);
            return http_reply_error(req, -EINVAL,
                                    "log_level: must be one of error, warn, info, debug, trace");
        }
        has_level = true;
    }
    json_decref(body);
    if (has_level && level != log_get_level()) {
        log_info_kv(
            LOG_KV({"from", log_level_name(log_get_level())}, {"to", log_level_name(level)}),
            "log level changed through the API");
        log_set_level(level);
    }
    return http_reply_json(req, 200, system_json(arg));
}

static int config_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    cfg_snapshot *snap = cfg_holder_get(ctx->config);
    json_t *j = cfg_snapshot_to_json(snap);
    cfg_snapshot_unref(snap);
    return http_reply_json(req, 200, j);
}

static int openapi_get(http_request *req, void *arg)
{
    return http_reply(req, 200, "application/json", horus_openapi_json, horus_openapi_json_len);
}

int api_system_register(http_router *r, struct api *ctx)
{
    json_t *dir = json_string(ctx->data_dir ? ctx->data_dir : "");
    if (!dir) /* not UTF-8 */
        dir = json_string("(path is not valid UTF-8)");
    char *escaped = json_dumps(dir, JSON_ENCODE_ANY);
    snprintf(ctx->data_dir_json, sizeof(ctx->data_dir_json), "%s", escaped ? escaped : "\"\"");
    free(escaped);
    json_decref(dir);
    static const struct {
        const char *method, *tmpl;
        http_handler_cb cb;
    } routes[] = {
        {"GET", "/health", health_get},
        {"GET", "/ready", ready_get},
        {"GET", "/metrics", metrics_get},
        {"GET", "/api/v1/system", system_get},
        {"PATCH", "/api/v1/system", system_patch},
        {"GET", "/api/v1/system/config", config_get},
        {"GET", "/api/v1/openapi.json", openapi_get},
    };
    for (size_t i = 0; i < HORUS_ARRAY_LEN(routes); i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].tmpl, routes[i].cb, ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}
