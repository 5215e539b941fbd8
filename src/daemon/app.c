/*
 * DESIGN: the `serve` lifecycle. The daemon only composes: each module
 * (log, data directory, metrics, storage, recorder, live view, detect, cameras,
 * playback, API, HTTP) has a start and a stop function in one ordered
 * table. Modules start in table order; a failed start is logged as
 * "start <name>: <reason>" and the modules already started stop. Then the
 * main thread waits for signals with a one-second tick for housekeeping,
 * and on SIGTERM/SIGINT stops the started modules in reverse order.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread and taken
 * synchronously here with sigtimedwait, so no work happens in a signal
 * handler. SIGHUP reloads: the new file is validated in full and swapped in,
 * or the old snapshot stays and each error is logged. SIGTERM/SIGINT start a
 * graceful stop; a watchdog thread forces exit when the stop outlives
 * server.shutdown_timeout or a second signal arrives.
 *
 * Thread: main.
 */
#include "app_int.h"

#include "auth_digest.h"
#include "auth_user.h"
#include "oidc.h"

#include "clock.h"
#include "crash.h"
#include "events.h"
#include "err.h"
#include "feed.h"
#include "fs.h"
#include "http.h"
#include "http_limit.h"
#include "log.h"
#include "mem.h"
#include "recorder.h"
#include "retention.h"
#include "supervisor.h"
#include "thread.h"
#include "version.h"
#include "webhook.h"

#include <errno.h>
#include <sys/file.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "main"

static const struct horus_config *snap_config(cfg_snapshot *s)
{
    return cfg_snapshot_data(s);
}

int app_data_lock(const char *data_dir, int *fd_out, char *why, size_t size)
{
    int rc = fs_mkdirs(data_dir, NULL);
    if (rc < 0) {
        snprintf(why, size, "create data directory '%s': %s", data_dir, horus_strerror(rc));
        return rc;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/horus.lock", data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, size, "open '%s': %s", path, strerror(errno));
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        char pid[24] = "?";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        if (n > 0)
            pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(why, size, "data directory '%s' is in use by another horus (pid %s)", data_dir,
                 pid);
        close(fd);
        return rc;
    }
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("write pid to '%s': %s", path, strerror(errno));
    *fd_out = fd;
    return 0;
}

/* Applies the reloadable log settings of a snapshot and registers its secrets for masking. */
static int apply_log(cfg_snapshot *snap)
{
    unsigned n;
    const char *const *secrets = cfg_snapshot_secrets(snap, &n);
    log_secrets_set(secrets, n);
    struct log_options o;
    log_config_options(&snap_config(snap)->log, &o);
    return log_open(&o);
}

/* Makes the groups of the provisioned cameras those of the snapshot (one transaction). */
static int provision_camera_groups(struct app *a, const struct horus_config *c)
{
    struct sto_camera_groups_input *in = horus_calloc(c->ncameras + 1, sizeof(*in));
    for (size_t i = 0; i < c->ncameras; i++)
        in[i] =
            (struct sto_camera_groups_input){.id = c->cameras[i].id,
                                             .groups = (const char *const *)c->cameras[i].groups,
                                             .ngroups = c->cameras[i].ngroups};
    int rc = sto_camera_groups_set(a->db, in, c->ncameras);
    free(in);
    return rc;
}

/*
 * Makes the provisioned cameras in the database match the snapshot. Runs
 * at start and after every successful reload; a failure is logged and the
 * database keeps its previous cameras.
 */
static void provision_cameras(struct app *a, cfg_snapshot *snap)
{
    const struct horus_config *c = snap_config(snap);
    struct sto_camera_input *cams = horus_calloc(c->ncameras ? c->ncameras : 1, sizeof(*cams));
    char **labels = horus_calloc(c->ncameras ? c->ncameras : 1, sizeof(*labels));
    for (size_t i = 0; i < c->ncameras; i++) {
        const struct app_camera_config *y = &c->cameras[i];
        labels[i] = app_labels_join(y->placement.labels, y->placement.nlabels);
        cams[i] = (struct sto_camera_input){
            .id = y->id,
            .name = y->name,
            .url = y->url,
            .sub_url = y->sub_url,
            .enabled = y->enabled,
            .record_enabled = y->record.enabled,
            .segment_seconds = y->record.segment_seconds,
            .retention_days = y->record.retention_days,
            .max_bytes = y->record.max_bytes,
            .transport = y->transport,
            .client = y->client,
            .tls_skip_verify = !y->tls_verify,
            .analytics = y->analytics,
            .placement_node = y->placement.node,
            .placement_labels = labels[i],
        };
    }
    size_t added = 0, changed = 0, removed = 0;
    int rc = sto_cameras_provision(a->db, cams, c->ncameras, &added, &changed, &removed);
    for (size_t i = 0; i < c->ncameras; i++)
        free(labels[i]);
    free(labels);
    free(cams);
    if (rc < 0) {
        log_error("provision cameras from the config: %s", horus_strerror(rc));
        return;
    }
    rc = provision_camera_groups(a, c);
    if (rc < 0)
        log_error("provision camera groups from the config: %s", horus_strerror(rc));
    if (added || changed || removed) {
        char sa[24], sc[24], sr[24];
        snprintf(sa, sizeof(sa), "%zu", added);
        snprintf(sc, sizeof(sc), "%zu", changed);
        snprintf(sr, sizeof(sr), "%zu", removed);
        log_info_kv(LOG_KV({"added", sa}, {"changed", sc}, {"removed", sr}),
                    "cameras provisioned from the config");
    }
}

/* The audit entry of a SIGHUP reload: the actor is the daemon (whoever sent the signal). */
static void audit_reload(struct app *a, enum auth_audit_outcome outcome, const char *count_name,
                         size_t count)
{
    json_t *d = json_pack("{s:I}", count_name, (json_int_t)count);
    auth_audit(a->audit, &(struct auth_audit_actor){.kind = "system", .name = "SIGHUP"},
               AUTH_AUDIT_CONFIG_RELOADED, outcome, "config", a->config_path, d);
    json_decref(d);
}

static void reload(struct app *a)
{
    if (!a->config_path) {
        log_warn("SIGHUP ignored: running on embedded defaults, no file to reload");
        return;
    }
    log_info_kv(LOG_KV({"file", a->config_path}), "reloading configuration");
    cfg_snapshot *fresh = NULL;
    cfg_errors errs;
    cfg_errors_init(&errs, a->config_path);
    int rc = cfg_load_file(&horus_config_schema, a->config_path, &fresh, &errs);
    if (rc < 0) {
        for (size_t i = 0; i < errs.count; i++)
            log_error_kv(LOG_KV({"file", a->config_path}), "%s", errs.items[i]);
        log_error_kv(LOG_KV({"file", a->config_path}),
                     "reload failed (%zu errors); keeping the previous configuration", errs.count);
        size_t nerrors = errs.count;
        cfg_errors_release(&errs);
        metrics_counter_inc(a->m_reload_failed);
        audit_reload(a, AUTH_AUDIT_FAILED, "errors", nerrors);
        return;
    }
    cfg_errors_release(&errs);
    cfg_snapshot *old = cfg_holder_get(a->config);
    cfg_errors restart;
    cfg_errors_init(&restart, a->config_path);
    cfg_diff_restart_needed(old, fresh, &restart);
    for (size_t i = 0; i < restart.count; i++)
        log_warn("%s (the running value stays until restart)", restart.items[i]);
    size_t restart_needed = restart.count;
    cfg_errors_release(&restart);
    cfg_snapshot_unref(old);
    rc = apply_log(fresh);
    if (rc < 0)
        log_error("reload: open log file: %s; logging stays where it was", horus_strerror(rc));
    provision_cameras(a, fresh);
    rec_retention_set_min_free(a->retention, snap_config(fresh)->storage.min_free_percent);
    api_health_set_min_free(a->api, snap_config(fresh)->storage.min_free_percent);
    rec_retention_set_deleted_camera_grace(a->retention,
                                           snap_config(fresh)->storage.deleted_camera_grace_ms);
    pb_exporter_configure(a->exports, &snap_config(fresh)->exports); /* reloadable limits */
    evt_engine_configure(a->events, &snap_config(fresh)->events);
    api_detections_configure(a->api, &snap_config(fresh)->detections);
    rec_retention_kick(a->retention); /* caps and watermark may have changed */
    auth_audit_log_set_interval(a->audit, snap_config(fresh)->audit.head_log_interval_ms);
    cfg_holder_swap(a->config, fresh);
    metrics_counter_inc(a->m_reload_ok);
    audit_reload(a, AUTH_AUDIT_OK, "restart_needed", restart_needed);
    log_info_kv(LOG_KV({"file", a->config_path}), "configuration reloaded");
}

struct watchdog {
    int64_t timeout_ms;
    atomic_bool is_done; /* set by main once the stop completed */
};

/*
 * Forces the exit when stopping takes too long or a second signal arrives.
 * sigtimedwait may return early with EINTR (a debugger, LeakSanitizer
 * stopping threads at exit), so it waits again until the deadline.
 */
static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int64_t deadline = clock_monotonic_ns(clock_system()) + w->timeout_ms * 1000000;
    int sig = -1;
    for (;;) {
        int64_t left = deadline - clock_monotonic_ns(clock_system());
        if (left <= 0)
            break;
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig > 0 || (sig < 0 && errno != EINTR))
            break;
    }
    if (atomic_load(&w->is_done))
        return NULL;
    if (sig > 0)
        log_error("second %s during shutdown: forcing exit", sig == SIGINT ? "SIGINT" : "SIGTERM");
    else
        log_error("shutdown took longer than %lld ms: forcing exit", (long long)w->timeout_ms);
    _exit(1);
}

/* ---- the modules, in start order ---- */

static const struct horus_config *current(struct app *a)
{
    return app_current(a);
}

static int log_start(struct app *a)
{
    cfg_snapshot *snap = cfg_holder_get(a->config);
    int rc = apply_log(snap);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "open log file '%s': %s", snap_config(snap)->log.file,
                 horus_strerror(rc));
    cfg_snapshot_unref(snap);
    return rc;
}

static int data_start(struct app *a)
{
    const char *path = a->ov->data_dir ? a->ov->data_dir : current(a)->storage.path;
    a->data_dir = horus_strdup(path);
    return app_data_lock(a->data_dir, &a->lock_fd, a->why, sizeof(a->why));
}

static void data_stop(struct app *a)
{
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    a->lock_fd = -1;
}

static int metrics_start(struct app *a)
{
    a->started_ms = clock_realtime_ms(clock_system());
    a->started_mono_ns = clock_monotonic_ns(clock_system());
    a->metrics = metrics_registry_new();
    app_metrics_register(a->metrics, a->started_ms);
    metrics_family *reloads = metrics_family_add(
        a->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                           .name = "horus_config_reloads_total",
                                           .help = "Configuration reloads by result",
                                           .labels = "result"});
    a->m_reload_ok = metrics_series_get(reloads, "ok");
    a->m_reload_failed = metrics_series_get(reloads, "failed");
    return 0;
}

static void metrics_stop(struct app *a)
{
    metrics_registry_free(a->metrics);
    a->metrics = NULL;
}

static int storage_start(struct app *a)
{
    char *errmsg = NULL;
    struct sto_open_options so = {
        .db = &current(a)->database, .data_dir = a->data_dir, .metrics = a->metrics};
    int rc = sto_open(&so, &a->db, &errmsg);
    if (rc == 0 && (rc = sto_start(a->db)) < 0)
        errmsg = horus_asprintf("start writer thread: %s", horus_strerror(rc));
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "open database: %s", errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        return rc;
    }
    rc = app_secrets_open(a->db, a->data_dir, current(a)->secrets.key, &a->secrets, a->why,
                          sizeof(a->why));
    if (rc < 0)
        return rc;
    /* RTSP Digest secrets are kept only while the re-stream offers Digest (design 0077). */
    const struct restream_rtsp_config *rs = &current(a)->restream.rtsp;
    bool is_digest = rs->digest && rs->listen && rs->listen[0];
    auth_digest_keep(is_digest);
    if (!is_digest && (rc = sto_rtsp_digests_clear(a->db)) < 0) {
        snprintf(a->why, sizeof(a->why), "drop the RTSP Digest secrets: %s", horus_strerror(rc));
        return rc;
    }
    cfg_snapshot *snap = cfg_holder_get(a->config);
    provision_cameras(a, snap);
    cfg_snapshot_unref(snap);
    /* Secure by default: no user yet means an admin with a one-time password file. */
    bool created = false;
    rc = auth_first_start(a->db, a->data_dir, &created);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "create the initial admin: %s", horus_strerror(rc));
        return rc;
    }
    if (created)
        log_warn_kv(LOG_KV({"user", "admin"}),
                    "created the initial admin; its one-time password is in '%s/%s' (sign in "
                    "and change it, then delete the file)",
                    a->data_dir, AUTH_INITIAL_PASSWORD_FILE);
    return 0;
}

static void storage_stop(struct app *a)
{
    sto_stop(a->db); /* drains the index rows queued by the modules stopped before */
    sto_close(a->db);
    a->db = NULL;
    sto_secret_box_free(a->secrets);
    a->secrets = NULL;
}

/*
 * The audit log over the database: its head goes to the log now, every
 * audit.head_log_interval and at stop, after every module that records
 * actions has stopped and their entries are written.
 */
static int audit_start(struct app *a)
{
    struct auth_audit_options o = {.db = a->db,
                                   .metrics = a->metrics,
                                   .head_log_interval_ms = current(a)->audit.head_log_interval_ms};
    int rc = auth_audit_log_new(&o, &a->audit);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "open the audit log: %s", horus_strerror(rc));
        return rc;
    }
    auth_audit_log_head(a->audit, "start");
    json_t *d = json_pack("{s:s}", "version", horus_version());
    auth_audit(a->audit, &(struct auth_audit_actor){.kind = "system"}, AUTH_AUDIT_DAEMON_STARTED,
               AUTH_AUDIT_OK, "node", a->node_id, d);
    json_decref(d);
    return 0;
}

static void audit_stop(struct app *a)
{
    if (!a->audit)
        return;
    auth_audit_log_sync(a->audit);
    auth_audit_log_head(a->audit, "stop");
    auth_audit_log_free(a->audit);
    a->audit = NULL;
}

/*
 * The live hub for the `live:` settings. It cannot start: logged, and live
 * playlists answer 503; the daemon runs on. It starts before the recorder
 * so that it stops after it: the recorder's open segments publish parts
 * into the hub until the recorder is freed.
 */
/* The live events feed: messages kept for clients resuming with Last-Event-ID. */
#define FEED_RING 1024

static int feed_start(struct app *a)
{
    a->feed = evt_feed_new(FEED_RING);
    return 0;
}

static void feed_stop(struct app *a)
{
    evt_feed_free(a->feed); /* after HTTP (its subscribers) and its publishers */
    a->feed = NULL;
}

static int live_start(struct app *a)
{
    const struct live_config *c = &current(a)->live;
    struct live_hub_options o = {
        .part_target_ms = (uint32_t)c->part_duration_ms,
        .segment_target_ms = (uint32_t)c->segment_target_ms,
        .segments_kept = (uint32_t)c->segments_kept,
        .max_stream_bytes = (size_t)c->max_stream_bytes,
        .metrics = a->metrics,
    };
    int rc = live_hub_new(&o, &a->live);
    if (rc == 0)
        rc = live_hub_start(a->live);
    if (rc < 0) {
        log_error("start live view: %s; live playlists answer 503", horus_strerror(rc));
        live_hub_free(a->live);
        a->live = NULL;
    }
    return 0;
}

static void live_stop(struct app *a)
{
    live_hub_stop(a->live);
    live_hub_free(a->live); /* after HTTP and the recorder, its only users */
    a->live = NULL;
}

static int recorder_start(struct app *a)
{
    const struct horus_config *c = current(a);
    a->retention = rec_retention_new(&(struct rec_retention_options){
        .db = a->db,
        .data_dir = a->data_dir,
        .min_free_percent = c->storage.min_free_percent,
        .deleted_camera_grace_ms = c->storage.deleted_camera_grace_ms,
        .metrics = a->metrics,
    });
    a->recorder = rec_recorder_new(&(struct rec_recorder_options){
        .db = a->db,
        .data_dir = a->data_dir,
        .retention = a->retention,
        .part_duration_ms = (uint32_t)c->live.part_duration_ms, /* live: parts are LL-HLS parts */
        .threads = (unsigned)c->record.threads,
        .camera_queue_max = (size_t)c->record.camera_queue,
        .metrics = a->metrics,
    });
    rec_recorder_recover(a->recorder);
    int rc = rec_recorder_start(a->recorder);
    if (rc == 0)
        rc = rec_retention_start(a->retention);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start recorder threads: %s", horus_strerror(rc));
    return rc;
}

static void recorder_stop(struct app *a)
{
    rec_recorder_stop(a->recorder); /* closes and indexes every open segment */
    rec_recorder_free(a->recorder);
    a->recorder = NULL;
    rec_retention_stop(a->retention);
    rec_retention_free(a->retention);
    a->retention = NULL;
}

/*
 * The analysis pool (docs/design/0036). A detector that cannot load is
 * logged and shown in each analysed camera's status; the daemon runs on
 * and records. It starts before the cameras, which attach their samplers,
 * and stops after them.
 */
static int detect_start(struct app *a)
{
    a->analysis = det_analysis_new(
        &(struct det_analysis_options){.config = &current(a)->detect, .metrics = a->metrics});
    det_analysis_observe(a->analysis, evt_engine_observer(a->events)); /* events started first */
    int rc = det_analysis_start(a->analysis);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start analysis threads: %s", horus_strerror(rc));
    return rc;
}

static void detect_stop(struct app *a)
{
    det_analysis_stop(a->analysis);
    det_analysis_free(a->analysis);
    a->analysis = NULL;
}

/*
 * The packet relay: every camera stream's packets fanned out from memory
 * to re-stream and WebRTC readers (docs/design/0054). Made before the
 * cameras, whose pipelines attach to it, and freed after they stopped.
 * Only when a server reads it: each feed keeps its stream's GOP in memory
 * (about 1 MiB for a 4 Mbit/s camera with a 2 s GOP), which a recording-only
 * node should not pay. Both servers are [restart] keys, like this choice.
 */
static int relay_start(struct app *a)
{
    const struct horus_config *c = current(a);
    bool is_read = (c->restream.rtsp.listen && c->restream.rtsp.listen[0]) ||
                   (c->restream.srt.listen && c->restream.srt.listen[0]) ||
                   (c->webrtc.udp_listen && c->webrtc.udp_listen[0]) ||
                   (c->webrtc.tcp_listen && c->webrtc.tcp_listen[0]);
    if (!is_read)
        return 0;
    return relay_hub_new(&(struct relay_hub_options){.metrics = a->metrics}, &a->relay);
}

static void relay_stop(struct app *a)
{
    relay_hub_free(a->relay);
    a->relay = NULL;
}

static int cameras_start(struct app *a)
{
    const struct horus_config *c = current(a);
    a->cameras = sup_supervisor_new(&(struct sup_options){.db = a->db,
                                                          .recorder = a->recorder,
                                                          .live = a->live,
                                                          .metrics = a->metrics,
                                                          .analysis = a->analysis,
                                                          .frames = a->frames,
                                                          .relay = a->relay,
                                                          .node_id = a->node_id,
                                                          .lease_ttl_ms = a->node_ttl_ms});
    sup_supervisor_configure(a->cameras, &c->ingest); /* [restart] keys */
    sup_supervisor_sync(a->cameras);
    unsigned online, failed;
    sup_supervisor_refresh_status(a->cameras, &online, &failed);
    return 0;
}

/* Ingest stops before the recorder closes and indexes the open segments. */
static void cameras_stop(struct app *a)
{
    sup_supervisor_free(a->cameras);
    a->cameras = NULL;
}

/* Snapshots and exports (queued jobs re-queued, jobs a crash interrupted marked failed). */
static int playback_start(struct app *a)
{
    a->snapshots = pb_snapshots_new(
        &(struct pb_snapshot_options){.db = a->db, .data_dir = a->data_dir, .metrics = a->metrics});
    int rc = pb_exporter_new(&(struct pb_exporter_options){.db = a->db,
                                                           .data_dir = a->data_dir,
                                                           .config = &current(a)->exports,
                                                           .metrics = a->metrics,
                                                           .clock = clock_system()},
                             &a->exports);
    if (rc == 0)
        rc = pb_exporter_start(a->exports);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start exports: %s", horus_strerror(rc));
    return rc;
}

/*
 * Before the database closes: exports write their state. Running ones are
 * cancelled (partial files removed); queued ones stay queued for the next start.
 */
static void playback_stop(struct app *a)
{
    pb_exporter_stop(a->exports);
    pb_exporter_free(a->exports);
    a->exports = NULL;
    pb_snapshots_free(a->snapshots);
    a->snapshots = NULL;
}

/* The client `ingest.client` names; probes from the API use it like the cameras do. */
static enum ing_client probe_client(struct app *a)
{
    struct ing_stream_options o = {0};
    ing_config_stream_options(&current(a)->ingest, &o);
    return o.client;
}

/* The failed-login delays (server.rate_limit.login_*) the API's login handler consults. */
static int login_limit_start(struct app *a)
{
    const struct api_rate_limit_config *rl = &current(a)->server.rate_limit;
    int rc = auth_login_limit_new(
        &(struct auth_login_limit_options){.max_failures = (unsigned)rl->login_failures,
                                           .window_ms = rl->login_window_ms,
                                           .max_delay_ms = rl->login_max_delay_ms,
                                           .metrics = a->metrics},
        &a->login_limit);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "login limits: %s", horus_strerror(rc));
    return rc;
}

/*
 * Single sign-on: the relying party of auth.oidc, or nothing when no
 * issuer is configured. A discovery failure (the IdP is down) does not
 * stop the daemon: logins answer 503 and the next one retries.
 */
static int sso_start(struct app *a)
{
    struct auth_oidc_opts o = {.config = &current(a)->auth.oidc,
                               .public_url = current(a)->server.public_url};
    char err[256] = "";
    int rc = auth_oidc_new(&o, &a->oidc, err, sizeof(err));
    if (rc == -ENOENT)
        return 0;
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "auth.oidc: %s", err);
        return rc;
    }
    rc = auth_oidc_discover(a->oidc, err, sizeof(err));
    if (rc < 0)
        log_warn_kv(LOG_KV({"issuer", current(a)->auth.oidc.issuer}),
                    "single sign-on: discovery failed, retried at the next login: %s", err);
    else
        log_info_kv(LOG_KV({"issuer", current(a)->auth.oidc.issuer}), "single sign-on ready");
    return 0;
}

static void sso_stop(struct app *a)
{
    auth_oidc_free(a->oidc);
    a->oidc = NULL;
}

/*
 * The signing keys of ?t= media URLs (docs/design/0021). Alone on SQLite:
 * random, in memory only (a restart invalidates outstanding links). On
 * PostgreSQL, where other nodes may serve the same cameras: derived from
 * the secrets key every node shares, so that a link one node signed opens
 * on the node it redirects to (docs/design/0070). Made before the API and
 * freed after the HTTP server stopped, whose threads check tokens.
 */
static int media_keys_start(struct app *a)
{
    const struct auth_media_token_config *mt = &current(a)->auth.media_tokens;
    struct auth_media_keys_options o = {.ttl_s = mt->ttl_ms / 1000,
                                        .rotate_s = mt->rotate_interval_ms / 1000};
    unsigned char root[STO_SECRET_KEY_BYTES];
    bool is_shared = app_shared_node_id(a) != NULL;
    int rc = is_shared ? sto_secret_box_derive(a->secrets, "horus media tokens", root) : 0;
    if (rc == 0) {
        o.root_key = is_shared ? root : NULL;
        rc = auth_media_keys_new(&o, &a->media_keys);
    }
    explicit_bzero(root, sizeof(root));
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "make the media token keys: %s", horus_strerror(rc));
    return rc;
}

static void media_keys_stop(struct app *a)
{
    auth_media_keys_free(a->media_keys);
    a->media_keys = NULL;
}

/* The development UI directory: HORUS_WEB_DIR over server.web_dir; NULL = the embedded build. */
static const char *web_dir(struct app *a)
{
    const char *env = getenv("HORUS_WEB_DIR");
    if (env && *env)
        return env;
    const char *cfg = current(a)->server.web_dir;
    return cfg && *cfg ? cfg : NULL;
}

/* vision.serve: the detectors of POST /v1/vision/detection (freed after the HTTP server). */
static int vision_start(struct app *a)
{
    const struct api_vision_config *c = &current(a)->vision;
    if (!c->serve)
        return 0;
    char *err = NULL;
    int rc = api_vision_new(c, &a->vision, &err);
    if (rc < 0) {
        snprintf(a->why, sizeof(a->why), "%s", err ? err : horus_strerror(rc));
        free(err);
        return rc;
    }
    log_info_kv(LOG_KV({"model", c->model}),
                "serving object detection on /v1/vision/detection "
                "with %lld detectors",
                (long long)c->threads);
    return 0;
}

static void vision_stop(struct app *a)
{
    api_vision_free(a->vision);
    a->vision = NULL;
}

static void login_limit_stop(struct app *a)
{
    auth_login_limit_free(a->login_limit);
    a->login_limit = NULL;
}

static int api_start(struct app *a)
{
    int rc = api_new(&(struct api_options){.db = a->db,
                                           .audit = a->audit,
                                           .config = a->config,
                                           .cameras = a->cameras,
                                           .recorder = a->recorder,
                                           .exports = a->exports,
                                           .snapshots = a->snapshots,
                                           .events = a->events,
                                           .bus = a->bus,
                                           .live = a->live,
                                           .feed = a->feed,
                                           .metrics = a->metrics,
                                           .clock = clock_system(),
                                           .data_dir = a->data_dir,
                                           .config_path = a->config_path,
                                           .node_id = a->node_id,
                                           .node_ttl_ms = a->node_ttl_ms,
                                           .started_ms = a->started_ms,
                                           .started_mono_ns = a->started_mono_ns,
                                           .probe_client = probe_client(a),
                                           .probe_tls_ca = current(a)->ingest.tls_ca,
                                           .auth = &current(a)->auth,
                                           .public_url = current(a)->server.public_url,
                                           .login_limit = a->login_limit,
                                           .oidc = a->oidc,
                                           .media_keys = a->media_keys,
                                           .web_dir = web_dir(a),
                                           .vision = a->vision,
                                           .analysis = a->analysis,
                                           .detections = &current(a)->detections,
                                           .webhooks = a->webhooks,
                                           .restream = a->restream,
                                           .webrtc = a->webrtc},
                     &a->api);
    if (rc == 0) {
        api_health_set_min_free(a->api, current(a)->storage.min_free_percent);
        api_health_refresh(a->api, 0, 0);
    }
    return rc;
}

static void api_stop(struct app *a)
{
    api_free(a->api);
    a->api = NULL;
}

/* What a health check asks: still served when every connection is taken. */
/*
 * Start in this order, stop in reverse (ARCHITECTURE.md "Start and stop").
 * A module's start sets a->why when it fails; its stop then undoes the
 * part that was made, so every stop must accept a half-started module. A
 * NULL stop has nothing to undo.
 */
static const struct module {
    const char *name;
    int (*start)(struct app *);
    void (*stop)(struct app *);
} modules[] = {
    {"log", log_start, NULL},
    {"data", data_start, data_stop},
    {"metrics", metrics_start, metrics_stop},
    {"storage", storage_start, storage_stop},
    {"node", app_node_start, app_node_stop},
    {"audit", audit_start, audit_stop},
    {"feed", feed_start, feed_stop},
    {"live", live_start, live_stop},
    {"recorder", recorder_start, recorder_stop},
    {"frames", app_frames_start, app_frames_stop},
    {"bus", app_bus_start, app_bus_stop},
    {"webhooks", app_webhooks_start, app_webhooks_stop},
    {"events", app_events_start, app_events_stop},
    {"detect", detect_start, detect_stop},
    {"relay", relay_start, relay_stop},
    {"cameras", cameras_start, cameras_stop},
    {"playback", playback_start, playback_stop},
    {"sso", sso_start, sso_stop},
    {"media_keys", media_keys_start, media_keys_stop},
    {"login_limit", login_limit_start, login_limit_stop},
    {"restream", app_restream_start, app_restream_stop},
    {"webrtc", app_webrtc_start, app_webrtc_stop},
    {"vision", vision_start, vision_stop},
    {"api", api_start, api_stop},
    {"http", app_http_start, app_http_stop},
};

/* Stops the first n modules, last first. */
static void modules_stop(struct app *a, size_t n)
{
    while (n-- > 0)
        if (modules[n].stop)
            modules[n].stop(a);
}

/*
 * Starts every module. On a failure the failed module's own stop undoes
 * what its start made before failing (every stop accepts a half-started
 * module), then the ones started before it stop in reverse. Returns 0 or
 * the failure's code.
 */
static int modules_start(struct app *a, size_t *started)
{
    *started = 0;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(modules); i++) {
        a->why[0] = '\0';
        int rc = modules[i].start(a);
        if (rc < 0) {
            log_error("start %s: %s", modules[i].name, a->why[0] ? a->why : horus_strerror(rc));
            if (modules[i].stop)
                modules[i].stop(a);
            modules_stop(a, *started);
            *started = 0;
            return rc;
        }
        *started = i + 1;
    }
    return 0;
}

int app_serve(const struct app_overrides *ov)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /*
     * A parent may have left these ignored (a shell's background jobs ignore
     * SIGINT); restore the defaults so sigtimedwait always sees them.
     */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    horus_thread_set_name("main");
    crash_handler_install();

    struct app a = {.ov = ov, .lock_fd = -1};
    static struct watchdog wd;
    if (ov->config_path)
        a.config_path = realpath(ov->config_path, NULL);
    if (ov->config_path && !a.config_path) {
        fprintf(stderr, "horus: config file '%s': %s\n", ov->config_path, strerror(errno));
        return 2;
    }
    cfg_snapshot *snap = NULL;
    if (app_config_load(a.config_path, &snap) < 0) {
        free(a.config_path);
        return 2;
    }
    a.config = cfg_holder_new(snap);
    int exit_code = 0;
    size_t started;
    if (modules_start(&a, &started) < 0) {
        exit_code = 1;
        goto done;
    }
    for (;;) {
        struct timespec tick = {.tv_sec = 1};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGHUP) {
            reload(&a);
            /* The certificate files are re-read whatever the config's fate. */
            if (http_server_is_tls(a.http)) {
                http_server_tls_reload(a.http); /* logs a bad new pair, keeps the old */
                if (a.media_http)
                    http_server_tls_reload(a.media_http);
            }
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
        sup_supervisor_sync(a.cameras);
        unsigned online, failed;
        sup_supervisor_refresh_status(a.cameras, &online, &failed);
        api_health_refresh(a.api, online, failed);
        api_detections_tick(a.api);
        app_node_tick(&a);
        app_webhooks_tick(&a);
        auth_audit_log_tick(a.audit);
        log_flush();
    }
    api_set_stopping(a.api);
    cfg_snapshot *cur = cfg_holder_get(a.config);
    wd.timeout_ms = snap_config(cur)->server.shutdown_timeout_ms;
    cfg_snapshot_unref(cur);
    log_info("stopping (forced after %lld ms)", (long long)wd.timeout_ms);
    pthread_t wt;
    if (horus_thread_start(&wt, "stop-watchdog", watchdog_main, &wd) == 0)
        pthread_detach(wt);
    modules_stop(&a, started);
done:
    cfg_holder_free(a.config);
    free(a.data_dir);
    free(a.config_path);
    atomic_store(&wd.is_done, true);
    if (exit_code == 0)
        log_info("stopped");
    log_close();
    return exit_code;
}
