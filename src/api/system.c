/*
 * DESIGN: operational endpoints: /health (liveness and a summary that must
 * answer in well under a millisecond, so it reads only cached facts),
 * /ready (checks the database live, since orchestrators poll it rarely),
 * /metrics, /api/v1/system, the effective config with secrets masked, and
 * the OpenAPI document. Thread: http-N.
 *
 * Health tells the truth: /health says "degraded" and /ready 503, each
 * with machine-readable reasons ({component, reason, detail}), while
 * recordings cannot be written (the recorder's last write failed within
 * REC_HEALTH_WINDOW_MS), the index cannot be written (sto_db_health: a
 * failed or a long-waiting transaction), the data directory is not
 * writable, or its free space is below the hard watermark. Every fact comes
 * from a getter that never waits, so both recover on their own once writes
 * work again; the main thread's refresh logs each change of the reasons.
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

static void reason_add(json_t *reasons, const char *component, const char *reason,
                       const char *detail)
{
    json_array_append_new(reasons, json_pack("{s:s, s:s, s:s}", "component", component, "reason",
                                             reason, "detail", detail));
}

/*
 * Appends why the node cannot record or index right now to reasons. The
 * database's reachability and the directory's writability come from the
 * caller (/ready checks them live, /health from the refresh).
 */
static void health_reasons(struct api *ctx, json_t *reasons, bool is_db_reachable,
                           const char *db_why)
{
    char detail[256];
    if (!is_db_reachable)
        reason_add(reasons, "database", "unreachable", db_why);
    struct sto_db_health dbh;
    sto_db_health(ctx->db, &dbh);
    if (!dbh.is_ok)
        reason_add(reasons, "database", dbh.reason, dbh.detail);
    struct statvfs vfs = {0};
    if (statvfs(ctx->data_dir, &vfs) < 0 || (vfs.f_flag & ST_RDONLY) ||
        access(ctx->data_dir, W_OK) < 0) {
        snprintf(detail, sizeof(detail), "storage path not writable: %s",
                 (vfs.f_flag & ST_RDONLY) ? strerror(EROFS) : strerror(errno));
        reason_add(reasons, "storage", "unwritable", detail);
    } else {
        uint64_t hard = atomic_load(&ctx->health.hard_free_hundredths);
        uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
        uint64_t free_b = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        uint64_t pct = total ? (uint64_t)((unsigned __int128)free_b * 10000 / total) : 0;
        if (hard && total && pct < hard) {
            snprintf(detail, sizeof(detail),
                     "%llu.%02llu%% free, below the hard watermark of %llu.%02llu%% (half of "
                     "storage.min_free_percent): retention is not keeping up",
                     (unsigned long long)(pct / 100), (unsigned long long)(pct % 100),
                     (unsigned long long)(hard / 100), (unsigned long long)(hard % 100));
            reason_add(reasons, "storage", "disk_full", detail);
        }
    }
    struct rec_recorder_health rh = {.is_ok = true};
    if (ctx->recorder)
        rec_recorder_health(ctx->recorder, &rh);
    if (!rh.is_ok) {
        snprintf(detail, sizeof(detail),
                 "recordings cannot be written: %s (%u camera streams; last failure %lld ms ago)",
                 horus_strerror(rh.write_error), rh.failing_streams, (long long)rh.failed_age_ms);
        reason_add(reasons, "recorder", "write_failed", detail);
    }
}

void api_health_set_min_free(api *ctx, double min_free_percent)
{
    double hard = min_free_percent > 0 ? min_free_percent * 50 : 0; /* half, in 1/100 % */
    atomic_store(&ctx->health.hard_free_hundredths, (uint64_t)hard);
    atomic_store(&ctx->health.min_free_hundredths,
                 (uint64_t)(min_free_percent > 0 ? min_free_percent * 100 + 0.5 : 0));
}

/* Caches the reasons for /health and logs when they change. */
static void health_reasons_refresh(api *ctx, bool db_ok, const char *db_why)
{
    json_t *reasons = json_array();
    health_reasons(ctx, reasons, db_ok, db_why);
    /* The components and reasons, without the details (their counts and ages change). */
    char key[256] = "", old_key[256] = "";
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r)
    {
        size_t len = strlen(key);
        snprintf(key + len, sizeof(key) - len, "%s%s/%s", i ? ", " : "",
                 json_string_value(json_object_get(r, "component")),
                 json_string_value(json_object_get(r, "reason")));
    }
    char *text = json_dumps(reasons, JSON_COMPACT);
    pthread_mutex_lock(&ctx->health.reasons_lock);
    snprintf(old_key, sizeof(old_key), "%s", ctx->health.reasons_key);
    snprintf(ctx->health.reasons_key, sizeof(ctx->health.reasons_key), "%s", key);
    if (text && strlen(text) < sizeof(ctx->health.reasons_json))
        memcpy(ctx->health.reasons_json, text, strlen(text) + 1);
    else /* cannot happen with today's few short reasons; stay truthful anyway */
        snprintf(ctx->health.reasons_json, sizeof(ctx->health.reasons_json),
                 "[{\"component\":\"api\",\"reason\":\"too_many_reasons\",\"detail\":\"\"}]");
    pthread_mutex_unlock(&ctx->health.reasons_lock);
    if (strcmp(key, old_key) != 0) {
        if (key[0])
            log_warn_kv(LOG_KV({"reasons", key}), "health degraded: %s", text ? text : key);
        else
            log_info("health ok again");
    }
    free(text);
    json_decref(reasons);
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
    if (ctx->health.m_writable) {
        metrics_gauge_set(ctx->health.m_writable, disk_ok);
        if (disk_ok) {
            metrics_gauge_set(ctx->health.m_free, (double)vfs.f_bavail * (double)vfs.f_frsize);
            double size = (double)vfs.f_blocks * (double)vfs.f_frsize;
            metrics_gauge_set(ctx->health.m_size, size);
            metrics_gauge_set(ctx->health.m_watermark,
                              size * (double)atomic_load(&ctx->health.min_free_hundredths) / 1e4);
        }
    }
    if (db_ok)
        api_health_count_cameras(ctx);
    health_reasons_refresh(ctx, db_ok, why);
}

/*
 * Called by the tick and by the camera routes after a create or delete, so
 * that /health read right after a 201 or 204 already counts the change.
 */
void api_health_count_cameras(api *ctx)
{
    uint64_t ncams = 0;
    if (sto_camera_count(ctx->db, &ncams) == 0)
        atomic_store(&ctx->health.cameras_total, (unsigned)ncams);
}

/* ",\"replica\":{...}" for /health when database.read_url is set, else "". */
static void replica_text(sto_db *db, char *buf, size_t size)
{
    struct sto_replica_health r;
    sto_db_replica_health(db, &r);
    if (!r.is_configured)
        return;
    json_t *j = json_pack("{s:s, s:I}", "state", r.state, "lag_ms", (json_int_t)r.lag_ms);
    if (!r.is_serving && r.detail[0])
        json_object_set_new(j, "detail", json_string(r.detail));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text && strlen(text) + 12 < size)
        snprintf(buf, size, ",\"replica\":%s", text);
    free(text);
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
    uint64_t hard = atomic_load(&ctx->health.hard_free_hundredths);
    const char *disk_status = !disk_ok                                    ? "unwritable"
                              : hard && total_b && free_hundredths < hard ? "full"
                                                                          : "ok";
    struct sto_db_health dbh;
    sto_db_health(ctx->db, &dbh);
    const char *db_status = !db_ok ? "unreachable" : dbh.reason;
    char reasons[sizeof(ctx->health.reasons_json)];
    pthread_mutex_lock(&ctx->health.reasons_lock);
    memcpy(reasons, ctx->health.reasons_json, sizeof(reasons));
    pthread_mutex_unlock(&ctx->health.reasons_lock);
    bool is_ok = db_ok && disk_ok && strcmp(reasons, "[]") == 0;
    if (!api_principal(req)) /* anonymous callers (load balancers, probes) get the verdict only */
        return http_reply(req, 200, "application/json",
                          is_ok ? "{\"status\":\"ok\"}" : "{\"status\":\"degraded\"}",
                          is_ok ? 15 : 21);
    char bus_text[2048];
    bus_health_text(ctx->bus, bus_text, sizeof(bus_text));
    char replica[320] = "";
    replica_text(ctx->db, replica, sizeof(replica));
    char body[1024 + PATH_MAX + sizeof(reasons) + sizeof(bus_text) + sizeof(replica)];
    int n = snprintf(
        body, sizeof(body),
        "{\"status\":\"%s\",\"reasons\":%s,\"version\":\"%s\",\"uptime_s\":%lld.%03lld,"
        "\"cameras\":{\"total\":%u,\"online\":%u,\"failed\":%u},"
        "\"storage\":{\"status\":\"%s\",\"path\":%s,\"free_bytes\":%llu,"
        "\"total_bytes\":%llu,\"free_percent\":%llu.%02llu},"
        "\"database\":{\"status\":\"%s\",\"backend\":\"%s\",\"schema_version\":%d%s},"
        "\"bus\":%s}",
        is_ok ? "ok" : "degraded", reasons, horus_version(), (long long)(up_ms / 1000),
        (long long)(up_ms % 1000), atomic_load(&ctx->health.cameras_total),
        atomic_load(&ctx->health.cameras_online), atomic_load(&ctx->health.cameras_failed),
        disk_status, ctx->data_dir_json, (unsigned long long)free_b, (unsigned long long)total_b,
        free_hundredths / 100, free_hundredths % 100, db_status, sto_backend_name(ctx->db),
        sto_schema_version(ctx->db), replica, bus_text);
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
        reason_add(reasons, "daemon", "shutting_down", "horus is stopping");
    bool is_db_reachable = sto_ping(ctx->db, why, sizeof(why)) == 0;
    health_reasons(ctx, reasons, is_db_reachable, why);
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

/*
 * The data directory's file system, as /health reports it, for Prometheus:
 * set by api_health_refresh (once a second), never at scrape time, so a
 * hung network file system cannot stall /metrics.
 */
static void storage_metrics_add(struct api *ctx)
{
    if (!ctx->metrics)
        return;
    ctx->health.m_free = metrics_series_get(metrics_family_add(
        ctx->metrics,
        &(struct metrics_desc){.type = METRICS_GAUGE,
                               .name = "horus_storage_free_bytes",
                               .help = "Free space of the data directory's file system that Horus "
                                       "may use (statvfs f_bavail)"}));
    ctx->health.m_size = metrics_series_get(metrics_family_add(
        ctx->metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                             .name = "horus_storage_size_bytes",
                                             .help = "Size of the data directory's file system"}));
    ctx->health.m_watermark = metrics_series_get(metrics_family_add(
        ctx->metrics, &(struct metrics_desc){
                          .type = METRICS_GAUGE,
                          .name = "horus_storage_min_free_bytes",
                          .help = "Free space retention keeps (storage.min_free_percent of the "
                                  "file system); 0 when unset"}));
    ctx->health.m_writable = metrics_series_get(metrics_family_add(
        ctx->metrics,
        &(struct metrics_desc){.type = METRICS_GAUGE,
                               .name = "horus_storage_writable",
                               .help = "1 when the data directory can be written, 0 when it is "
                                       "missing, read-only or not writable by Horus"}));
}

int api_system_register(http_router *r, struct api *ctx)
{
    storage_metrics_add(ctx);
    json_t *dir = json_string(ctx->data_dir ? ctx->data_dir : "");
    if (!dir) /* not UTF-8 */
        dir = json_string("(path is not valid UTF-8)");
    char *escaped = json_dumps(dir, JSON_ENCODE_ANY);
    snprintf(ctx->data_dir_json, sizeof(ctx->data_dir_json), "%s", escaped ? escaped : "\"\"");
    free(escaped);
    json_decref(dir);
    static const struct api_route routes[] = {
        {"GET", "/health", health_get},
        {"GET", "/ready", ready_get},
        {"GET", "/metrics", metrics_get},
        {"GET", "/api/v1/system", system_get},
        {"PATCH", "/api/v1/system", system_patch},
        {"GET", "/api/v1/system/config", config_get},
        {"GET", "/api/v1/openapi.json", openapi_get},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
