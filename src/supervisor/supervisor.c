/*
 * DESIGN: the camera supervisor. The database is the source of truth for
 * cameras (API and YAML provisioning both write there); once a second the
 * main thread compares it with what runs and starts, restarts or stops
 * each camera's pipeline, so an API change applies within about a second
 * and never disturbs the other cameras.
 *
 * A camera's pipeline is one ingest per stream: "main" always, "sub" when
 * the camera has a sub_url. Each feeds the recorder's sink for that camera
 * stream, so both are recorded (the sub stream is small, and the same
 * writer produces the parts live view serves). A camera restarts when
 * anything its pipeline was built from changes: URLs, enabled, recording,
 * segment length.
 *
 * Live view: each recorded stream's rec_camera publishes its parts into
 * the live hub's sink for (camera, stream); the recorder and live never
 * include each other, media crosses as media_parts (media/media_part.h).
 * A camera with recording off has no live view (its ingest feeds a null
 * sink); the playlist's 404 says so. When a stream stops, the hub drops
 * its media and answers waiting viewers.
 *
 * Analysis (docs/design/0036): the stream the detect: settings choose
 * (sub when the camera has one, else main) feeds a tee: the recorder's sink
 * first, then the analysis sampler, whose callbacks only queue a reference
 * or drop, so recording never waits for analysis. The sampler is detached
 * after the ingest thread is joined. Frames (docs/design/0050) join the
 * same tee, last, on the stream the `frames:` entry chooses, with the same
 * rule: the hub's sink queues a reference or drops.
 *
 * Stopping: every ingest to stop is asked first and joined after, so N
 * removals cost one interruption delay, not N; then the recorder closes
 * and indexes the camera's open segment. A camera deleted from the
 * database also loses its metric series (every family labelled
 * "camera"), so /metrics does not grow with create/delete cycles; a
 * restart for a changed camera keeps them.
 *
 * Thread: main, except sup_camera_status_get (any: it copies from a
 * snapshot under status_lock, which is never held across other calls).
 */
#include "supervisor.h"
#include "sup_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "cameras"

enum { STREAM_MAIN, STREAM_SUB, STREAM_COUNT };
static const char *const stream_names[STREAM_COUNT] = {"main", "sub"};

/*
 * Feeds the recorder (or the null sink) first, then the relay, then the
 * analysis sampler, then the frames.
 */
#define TEE_MAX 4
struct tee {
    media_sink sink; /* first: the callbacks find the tee from it */
    media_sink *sinks[TEE_MAX];
    int n;
};

struct pipeline {
    ing_stream *ingest; /* NULL when the stream is absent or could not start */
    bool is_analysed; /* its sink is the tee: detach from the analysis at stop */
    bool is_framed; /* the frame hub is in the tee: detach from it at stop */
    bool is_relayed; /* the relay is in the tee: detach from it at stop */
    struct tee tee;
    rec_camera *rec; /* NULL when recording is off */
    struct sup_rate rate; /* refresh_status's samples of ingest's counters (main thread) */
};

/* What refresh_status remembers of the main stream between passes (main thread). */
struct watch {
    char state[16]; /* as last reported */
    int64_t since_unix_ms; /* when it became that */
    int64_t up_since_ns; /* monotonic: when ingest last came up; 0 while down */
    uint64_t dropped; /* ingest's dropped_frames at the last pass */
    int64_t dropping_since_ns; /* first pass of a run of passes that saw drops while down */
    int64_t dropped_at_ns; /* last pass that saw the count grow */
};

struct running {
    struct running *next;
    char *id;
    char *fingerprint; /* what the pipeline was built from */
    struct pipeline streams[STREAM_COUNT];
    struct watch watch;
    bool is_enabled;
    int64_t lease_token; /* the lease it records under (0 without leases) */
    int64_t not_before_ms; /* its first segment starts no earlier (0 = no bound) */
    bool is_seen; /* still wanted in this pass */
    bool is_listed; /* in the database in this pass (false: deleted) */
};

struct status_entry {
    char *id; /* owned */
    struct sup_camera_status st;
};

struct sup_supervisor {
    sto_db *db; /* borrowed */
    struct ing_stream_options ingest; /* the `ingest:` section's part of every stream's options */
    char *tls_ca; /* owned copy of ingest.tls_ca, which ingest.tls_ca points at ("" = system) */
    struct ing_breaker_policy policy;
    ing_netpolicy *networks; /* owned; streams and the API borrow it until free */
    rec_recorder *recorder; /* borrowed */
    live_hub *live; /* borrowed, may be NULL */
    metrics_registry *metrics; /* borrowed */
    det_analysis *analysis; /* borrowed, may be NULL */
    frames_hub *frames; /* borrowed, may be NULL */
    relay_hub *relay; /* borrowed, may be NULL */
    struct running *list; /* main thread only */
    uint64_t read_failures; /* main thread only: camera reads failed in a row */
    struct sup_leases leases; /* main thread only */
    /* What HTTP threads read: rebuilt by sup_supervisor_refresh_status. */
    pthread_mutex_t status_lock;
    struct status_entry *status;
    size_t nstatus;
};

sup_supervisor *sup_supervisor_new(const struct sup_options *o)
{
    sup_supervisor *s = horus_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->status_lock, NULL);
    s->db = o->db;
    s->recorder = o->recorder;
    s->live = o->live;
    s->metrics = o->metrics;
    s->analysis = o->analysis;
    s->frames = o->frames;
    s->relay = o->relay;
    if (o->node_id) {
        s->leases.node = horus_strdup(o->node_id);
        s->leases.ttl_ms = o->lease_ttl_ms;
    }
    s->policy = ing_breaker_policy_default;
    char why[160];
    if (ing_netpolicy_new(NULL, &s->networks, why, sizeof(why)) < 0)
        HORUS_BUG("built-in network rules: %s", why);
    return s;
}

void sup_supervisor_configure(sup_supervisor *s, const struct ing_config *c)
{
    char why[160];
    if (ing_config_policy(c, &s->policy, why, sizeof(why), NULL) < 0)
        HORUS_BUG("unvalidated ingest config: %s", why);
    ing_config_stream_options(c, &s->ingest);
    /* The snapshot may go with a reload: keep our own copy of the one string. */
    free(s->tls_ca);
    s->tls_ca = horus_strdup(s->ingest.tls_ca ? s->ingest.tls_ca : "");
    s->ingest.tls_ca = s->tls_ca;
    /* Streams and API threads borrow the rules: replaced only while nothing runs ([restart]). */
    ing_netpolicy *networks;
    if (!s->list && ing_netpolicy_new(c, &networks, why, sizeof(why)) == 0) {
        ing_netpolicy_free(s->networks);
        s->networks = networks;
    }
}

const ing_netpolicy *sup_supervisor_networks(const sup_supervisor *s)
{
    return s->networks;
}

char *sup_camera_fingerprint(const struct sto_camera *c)
{
    return horus_asprintf("%s|%s|%d|%d|%lld|%s|%s|%d", c->url, c->sub_url ? c->sub_url : "",
                          c->enabled, c->record_enabled, (long long)c->segment_seconds,
                          c->transport ? c->transport : "", c->client ? c->client : "",
                          c->tls_skip_verify);
}

/* A sink that drops everything: ingest with recording off still reports health. */
static void null_stream(media_sink *s, media_stream *st)
{
}
static void null_packet(media_sink *s, media_packet *p)
{
}
static void null_gap(media_sink *s, const char *reason)
{
}
static const struct media_sink_ops null_ops = {null_stream, null_packet, null_gap};
static media_sink null_sink = {&null_ops};

static void tee_stream(media_sink *s, media_stream *st)
{
    struct tee *t = (struct tee *)s;
    for (int i = 0; i < t->n; i++)
        t->sinks[i]->ops->stream_cb(t->sinks[i], st);
}
static void tee_packet(media_sink *s, media_packet *p)
{
    struct tee *t = (struct tee *)s;
    /* The recorder first: it never waits for analysis or frames, which only queue or drop. */
    for (int i = 0; i < t->n; i++)
        t->sinks[i]->ops->packet_cb(t->sinks[i], p);
}
static void tee_gap(media_sink *s, const char *reason)
{
    struct tee *t = (struct tee *)s;
    for (int i = 0; i < t->n; i++)
        t->sinks[i]->ops->gap_cb(t->sinks[i], reason);
}
static const struct media_sink_ops tee_ops = {tee_stream, tee_packet, tee_gap};

/* Publishes rec's parts into the hub as (camera, stream). No hub or no recording: nothing. */
static void live_attach(sup_supervisor *s, rec_camera *rec, const char *camera, const char *stream)
{
    if (s->live && rec)
        rec_camera_set_part_sink(rec, live_hub_attach(s->live, camera, stream));
}

/* The stream stopped: its live media is dropped and waiting viewers answered. */
static void live_detach(sup_supervisor *s, const char *camera, const char *stream)
{
    if (s->live)
        live_hub_detach(s->live, camera, stream);
}

static void start_stream(sup_supervisor *s, struct running *run, const struct sto_camera *c,
                         int which, const char *url, const char *analysed, const char *framed)
{
    struct pipeline *p = &run->streams[which];
    if (c->record_enabled) {
        p->rec = rec_recorder_add(s->recorder, c->id, stream_names[which], c->segment_seconds);
        if (run->lease_token) /* before the first packet: its rows are fenced by it */
            rec_camera_set_lease(p->rec, s->leases.node, run->lease_token, run->not_before_ms);
    }
    live_attach(s, p->rec, c->id, stream_names[which]); /* recorder parts -> hub */
    struct ing_stream_options o = s->ingest;
    o.camera = c->id;
    o.stream = stream_names[which];
    o.url = url;
    o.tls_skip_verify = c->tls_skip_verify;
    o.policy = &s->policy;
    o.networks = s->networks;
    o.metrics = s->metrics;
    o.sink = p->rec ? rec_camera_sink(p->rec) : &null_sink;
    media_sink *sampler = analysed && strcmp(analysed, stream_names[which]) == 0
                              ? det_analysis_attach(s->analysis, c->id, stream_names[which])
                              : NULL;
    p->is_analysed = analysed && strcmp(analysed, stream_names[which]) == 0;
    media_sink *frames = framed && strcmp(framed, stream_names[which]) == 0
                             ? frames_hub_attach(s->frames, c->id)
                             : NULL;
    p->is_framed = frames != NULL;
    media_sink *relay = s->relay ? relay_hub_attach(s->relay, c->id, stream_names[which]) : NULL;
    p->is_relayed = relay != NULL;
    if (relay || sampler || frames) {
        p->tee = (struct tee){.sink = {&tee_ops}, .sinks = {o.sink}, .n = 1};
        if (relay)
            p->tee.sinks[p->tee.n++] = relay;
        if (sampler)
            p->tee.sinks[p->tee.n++] = sampler;
        if (frames)
            p->tee.sinks[p->tee.n++] = frames;
        o.sink = &p->tee.sink;
    }
    /* The camera's own transport and client, when set, win over ingest.* (docs/design/0034). */
    if (c->transport && strcmp(c->transport, "auto") == 0)
        o.transport = ING_TRANSPORT_AUTO;
    else if (c->transport && strcmp(c->transport, "tcp") == 0)
        o.transport = ING_TRANSPORT_TCP;
    else if (c->transport && strcmp(c->transport, "udp") == 0)
        o.transport = ING_TRANSPORT_UDP;
    if (c->client && strcmp(c->client, "native") == 0)
        o.client = ING_CLIENT_NATIVE;
    else if (c->client && strcmp(c->client, "libav") == 0)
        o.client = ING_CLIENT_LIBAV;
    p->ingest = NULL;
    int rc = ing_stream_new(&o, &p->ingest);
    if (rc == 0)
        rc = ing_stream_start(p->ingest);
    if (rc < 0) {
        log_error_kv(LOG_KV({"camera", c->id}, {"stream", stream_names[which]}), "start ingest: %s",
                     horus_strerror(rc));
        ing_stream_free(p->ingest);
        p->ingest = NULL;
    }
}

static void start_camera(sup_supervisor *s, const struct sto_camera *c, int64_t lease_token,
                         int64_t not_before_ms)
{
    struct running *run = horus_calloc(1, sizeof(*run));
    run->lease_token = lease_token;
    run->not_before_ms = not_before_ms;
    run->id = horus_strdup(c->id);
    run->fingerprint = sup_camera_fingerprint(c);
    run->is_seen = true;
    run->is_listed = true;
    run->is_enabled = c->enabled;
    run->next = s->list;
    s->list = run;
    if (!c->enabled) {
        log_info_kv(LOG_KV({"camera", c->id}), "camera disabled");
        return;
    }
    /* Passwords are stored sealed (docs/design/0019): opened here only, for the ingest. */
    char *url = NULL, *sub_url = NULL;
    int rc = sto_camera_urls_open(s->db, c, &url, &sub_url);
    if (rc < 0) {
        log_error_kv(LOG_KV({"camera", c->id}),
                     "open the camera's stored password: %s; not started until it changes",
                     rc == -ENOKEY    ? "sealed under a key this Horus does not have"
                     : rc == -EBADMSG ? "it does not open (edited in the database?)"
                                      : horus_strerror(rc));
        return;
    }
    const char *analysed =
        s->analysis ? det_analysis_stream_for(s->analysis, c->id, sub_url[0] != '\0') : NULL;
    const char *framed =
        s->frames ? frames_hub_stream_for(s->frames, c->id, sub_url[0] != '\0') : NULL;
    start_stream(s, run, c, STREAM_MAIN, url, analysed, framed);
    if (sub_url[0])
        start_stream(s, run, c, STREAM_SUB, sub_url, analysed, framed);
    explicit_bzero(url, strlen(url));
    explicit_bzero(sub_url, strlen(sub_url));
    free(url);
    free(sub_url);
}

/*
 * Stops and frees every pipeline for which pred(run) is true; with
 * is_forgetting, the series of cameras no longer in the database go too.
 */
static void stop_where(sup_supervisor *s, bool (*pred)(const struct running *), bool is_forgetting)
{
    for (struct running *r = s->list; r; r = r->next)
        for (int i = 0; i < STREAM_COUNT && pred(r); i++)
            if (r->streams[i].ingest)
                ing_stream_stop(r->streams[i].ingest);
    struct running **p = &s->list;
    while (*p) {
        struct running *r = *p;
        if (!pred(r)) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        for (int i = 0; i < STREAM_COUNT; i++) {
            struct pipeline *pl = &r->streams[i];
            ing_stream_free(pl->ingest); /* joins: the sink is no longer called after this */
            if (pl->is_analysed)
                det_analysis_detach(s->analysis, r->id);
            if (pl->is_framed)
                frames_hub_detach(s->frames, r->id);
            if (pl->is_relayed)
                relay_hub_detach(s->relay, r->id, stream_names[i]); /* readers told the end */
            if (pl->rec) {
                live_detach(s, r->id, stream_names[i]); /* drop parts, answer viewers */
                rec_recorder_remove(s->recorder, pl->rec);
            }
        }
        log_info_kv(LOG_KV({"camera", r->id}), "camera stopped");
        if (is_forgetting && !r->is_listed && s->metrics) {
            /* Every thread that cached these series has been joined or detached above. */
            size_t n = metrics_registry_remove_label(s->metrics, "camera", r->id);
            log_debug_kv(LOG_KV({"camera", r->id}), "camera deleted: %zu metric series removed", n);
        }
        free(r->id);
        free(r->fingerprint);
        free(r);
    }
}

static bool is_unseen(const struct running *r)
{
    return !r->is_seen;
}

static bool is_any(const struct running *r)
{
    return true;
}

/* A camera a pass (re)starts, with the lease it will record under. */
struct to_start {
    struct sto_camera cam;
    int64_t token, not_before_ms;
};

static void to_start_free(struct to_start *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sto_camera_release(&v[i].cam);
    free(v);
}

/* Every camera of the database, by id, into a new array (read 500 at a time). */
static int read_cameras(sto_db *db, struct sto_camera **out, size_t *nout)
{
    struct sto_camera *all = NULL;
    size_t n = 0;
    char *after = NULL;
    bool has_more = true;
    int rc = 0;
    while (has_more && rc == 0) {
        struct sto_camera *page = NULL;
        size_t k = 0;
        rc = sto_camera_list(db, after, 500, &page, &k, &has_more);
        if (rc < 0)
            break;
        free(after);
        after = k ? horus_strdup(page[k - 1].id) : NULL;
        all = horus_realloc(all, (n + k + 1) * sizeof(*all));
        if (k) /* page is NULL when the list is empty */
            memcpy(all + n, page, k * sizeof(*page));
        n += k;
        free(page); /* its strings moved into all */
        has_more = has_more && after;
    }
    free(after);
    if (rc < 0) {
        sto_camera_list_free(all, n);
        return rc;
    }
    *out = all;
    *nout = n;
    return 0;
}

void sup_supervisor_sync(sup_supervisor *s)
{
    for (struct running *r = s->list; r; r = r->next)
        r->is_seen = r->is_listed = false;
    struct to_start *to_start = NULL;
    size_t nstart = 0, cap = 0;
    int rc = sup_leases_begin(&s->leases, s->db);
    if (rc == 0 && s->leases.node && s->recorder) /* the recorder's own stop, in time */
        rec_recorder_set_lease_deadline(s->recorder,
                                        s->leases.has_peers ? s->leases.valid_until_ms : 0);
    struct sto_camera *cams = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = read_cameras(s->db, &cams, &n);
    if (rc < 0) {
        /* Keep everything running as it is rather than stop on a read error. Said once
         * per outage (a read a second would say it every second), and its end. */
        if (s->read_failures++ == 0)
            log_warn("read cameras: %s; keeping the running set until the database answers",
                     horus_strerror(rc));
        for (struct running *r = s->list; r; r = r->next)
            r->is_seen = r->is_listed = true;
        sup_leases_end(&s->leases);
        /* ... unless the leases ran out and another node may record these cameras now. */
        if (sup_leases_lapsed(&s->leases))
            stop_where(s, is_any, false);
        return;
    }
    if (s->read_failures) {
        log_info("read cameras again after %llu failed reads",
                 (unsigned long long)s->read_failures);
        s->read_failures = 0;
    }
    sup_leases_plan(&s->leases, cams, n);
    for (size_t i = 0; i < n; i++) {
        struct running *run = NULL;
        for (struct running *r = s->list; r && !run; r = r->next)
            if (strcmp(r->id, cams[i].id) == 0)
                run = r;
        if (run)
            run->is_listed = true;
        int64_t token, not_before_ms;
        enum sup_hold hold = sup_leases_hold(&s->leases, s->db, i, &token, &not_before_ms);
        if (hold != SUP_HOLD_YES) {
            const char *to = sup_leases_chosen(&s->leases, i);
            if (run && hold == SUP_HOLD_GIVE_UP) /* not seen: stopped below */
                log_info_kv(LOG_KV({"camera", run->id}, {"to", to ? to : ""}),
                            s->leases.is_draining
                                ? "node draining: camera stopped here for another node to take"
                                : "placement moves this camera to another node: stopped here");
            else if (run)
                log_warn_kv(LOG_KV({"camera", run->id}),
                            "another node holds this camera's lease now: stopped here");
            continue;
        }
        /* The analytics document applies at once; whether (or which stream) the
           camera is analysed needs its pipeline restarted. */
        bool is_analysis_changed = s->analysis && det_analysis_camera_analytics(
                                                      s->analysis, cams[i].id, cams[i].analytics);
        char *fp = sup_camera_fingerprint(&cams[i]);
        /* A new token: the lease changed hands since the pipeline started (this node
           was frozen past the TTL); its open segment must close under the old one. */
        bool is_same = run && !is_analysis_changed && strcmp(run->fingerprint, fp) == 0 &&
                       run->lease_token == token;
        free(fp);
        if (is_same) {
            run->is_seen = true;
            continue;
        }
        /* New or changed: (re)start after stopping the old pipeline. */
        if (nstart == cap) {
            cap = cap ? cap * 2 : 16;
            to_start = horus_realloc(to_start, cap * sizeof(*to_start));
        }
        to_start[nstart++] =
            (struct to_start){.cam = cams[i], .token = token, .not_before_ms = not_before_ms};
        memset(&cams[i], 0, sizeof(cams[i]));
    }
    sup_leases_end(&s->leases);
    sto_camera_list_free(cams, n);
    stop_where(s, is_unseen, true);
    if (s->leases.n_giving_up) { /* the rows of the segments just closed go first */
        if (s->recorder)
            rec_recorder_sync(s->recorder);
        sup_leases_give_up(&s->leases, s->db);
    }
    for (size_t i = 0; i < nstart; i++)
        start_camera(s, &to_start[i].cam, to_start[i].token, to_start[i].not_before_ms);
    to_start_free(to_start, nstart);
}

static void status_free(struct status_entry *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].id);
    free(list);
}

static const char *state_of(const struct ing_stream_status *is)
{
    if (is->is_up)
        return "streaming";
    return is->reason != ING_REASON_NONE ? "failed" : "connecting";
}

void sup_rate_reset(struct sup_rate *r)
{
    memset(r, 0, sizeof(*r));
}

void sup_rate_add(struct sup_rate *r, int64_t now_ns, uint64_t frames, uint64_t bytes)
{
    if (r->n > 0) {
        unsigned last = (r->next + SUP_RATE_SAMPLES - 1) % SUP_RATE_SAMPLES;
        if (frames < r->frames[last] || bytes < r->bytes[last] || now_ns <= r->t_ns[last])
            sup_rate_reset(r);
    }
    r->t_ns[r->next] = now_ns;
    r->frames[r->next] = frames;
    r->bytes[r->next] = bytes;
    r->next = (r->next + 1) % SUP_RATE_SAMPLES;
    if (r->n < SUP_RATE_SAMPLES)
        r->n++;
}

bool sup_rate_get(const struct sup_rate *r, double *fps, double *bits_per_s)
{
    if (r->n < 2)
        return false;
    unsigned newest = (r->next + SUP_RATE_SAMPLES - 1) % SUP_RATE_SAMPLES;
    unsigned oldest = (r->next + SUP_RATE_SAMPLES - r->n) % SUP_RATE_SAMPLES;
    int64_t span_ns = r->t_ns[newest] - r->t_ns[oldest];
    if (span_ns < 500000000)
        return false;
    double span_s = (double)span_ns / 1e9;
    *fps = (double)(r->frames[newest] - r->frames[oldest]) / span_s;
    *bits_per_s = (double)(r->bytes[newest] - r->bytes[oldest]) * 8.0 / span_s;
    return true;
}

/* Samples p's counters into its window; *has is whether rates are known (written then). */
static void rate_sample(struct pipeline *p, const struct ing_stream_status *is, int64_t now_ns,
                        bool *has, double *fps, double *bps)
{
    if (!is->is_up) {
        sup_rate_reset(&p->rate);
        *has = false;
        return;
    }
    sup_rate_add(&p->rate, now_ns, is->video_frames, is->bytes);
    *has = sup_rate_get(&p->rate, fps, bps);
}

/*
 * The main stream's state, told from what ingest and the recorder see:
 * ingest's own state, unless frames have not been recorded for more than
 * SUP_NOT_RECORDING_MS. Then a stream that is up without video frames is
 * "no_video"; one whose frames arrive but cannot be recorded is
 * "undecodable" (up, with no segment opened: no keyframe or parameters the
 * writer refuses; or down, with ingest dropping every frame for want of
 * usable parameter sets); one whose writes fail stays "streaming" with the
 * write error. last_error then says why nothing is recorded.
 */
static const char *judge_main(struct running *r, const struct ing_stream_status *is,
                              struct sup_camera_status *st)
{
    struct watch *w = &r->watch;
    int64_t now = clock_monotonic_ns(clock_system());
    const char *state = state_of(is);
    if (!is->is_up) {
        w->up_since_ns = 0;
        if (is->dropped_frames != w->dropped) {
            if (!w->dropping_since_ns || now - w->dropped_at_ns > 3 * INT64_C(1000000000))
                w->dropping_since_ns = now;
            w->dropped_at_ns = now;
        } else if (w->dropping_since_ns && now - w->dropped_at_ns > 3 * INT64_C(1000000000)) {
            w->dropping_since_ns = 0;
        }
        w->dropped = is->dropped_frames;
        if (w->dropping_since_ns &&
            now - w->dropping_since_ns > SUP_NOT_RECORDING_MS * INT64_C(1000000)) {
            snprintf(st->last_error, sizeof(st->last_error),
                     "frames arrive but cannot be decoded (%llu dropped: no usable parameter "
                     "sets); nothing is recorded",
                     (unsigned long long)is->dropped_frames);
            return "undecodable";
        }
        return state;
    }
    w->dropping_since_ns = 0;
    w->dropped = is->dropped_frames;
    if (!w->up_since_ns)
        w->up_since_ns = now;
    rec_camera *rec = r->streams[STREAM_MAIN].rec;
    if (!rec)
        return state; /* recording off: nothing to judge by */
    struct rec_camera_health h;
    rec_camera_health(rec, &h);
    int64_t up_ms = (now - w->up_since_ns) / 1000000;
    int64_t idle_ms = h.written_age_ms < 0 || h.written_age_ms > up_ms ? up_ms : h.written_age_ms;
    if (idle_ms <= SUP_NOT_RECORDING_MS)
        return state;
    if (h.write_error) {
        snprintf(st->last_error, sizeof(st->last_error),
                 "frames are not recorded for %lld s: write failed: %s",
                 (long long)(idle_ms / 1000), horus_strerror(h.write_error));
        return state;
    }
    if (h.video_age_ms < 0 || h.video_age_ms > SUP_NOT_RECORDING_MS) {
        snprintf(
            st->last_error, sizeof(st->last_error),
            "connected, but no video frames for %lld s; nothing is recorded",
            (long long)((h.video_age_ms < 0 || h.video_age_ms > up_ms ? up_ms : h.video_age_ms) /
                        1000));
        return "no_video";
    }
    snprintf(st->last_error, sizeof(st->last_error),
             "video frames arrive but none is recorded for %lld s (no keyframe, or parameters "
             "that cannot be recorded)",
             (long long)(idle_ms / 1000));
    return "undecodable";
}

/* Sets st's state and since, keeping since while the state stays the same. */
static void state_set(struct running *r, struct sup_camera_status *st, const char *state)
{
    struct watch *w = &r->watch;
    if (strcmp(w->state, state) != 0 || !w->since_unix_ms) {
        snprintf(w->state, sizeof(w->state), "%s", state);
        w->since_unix_ms = clock_realtime_ms(clock_system());
    }
    snprintf(st->state, sizeof(st->state), "%s", state);
    st->since_unix_ms = w->since_unix_ms;
}

void sup_supervisor_refresh_status(sup_supervisor *s, unsigned *online, unsigned *failed)
{
    *online = *failed = 0;
    size_t n = 0;
    for (struct running *r = s->list; r; r = r->next)
        n++;
    struct status_entry *fresh = horus_calloc(n ? n : 1, sizeof(*fresh));
    size_t i = 0;
    for (struct running *r = s->list; r; r = r->next, i++) {
        struct sup_camera_status *st = &fresh[i].st;
        fresh[i].id = horus_strdup(r->id);
        if (!r->is_enabled) {
            state_set(r, st, "disabled");
            snprintf(st->breaker, sizeof(st->breaker), "closed");
            continue;
        }
        int64_t now_ns = clock_monotonic_ns(clock_system());
        if (r->streams[STREAM_SUB].ingest) {
            struct ing_stream_status sub;
            ing_stream_status_get(r->streams[STREAM_SUB].ingest, &sub);
            snprintf(st->sub_state, sizeof(st->sub_state), "%s", state_of(&sub));
            rate_sample(&r->streams[STREAM_SUB], &sub, now_ns, &st->has_sub_rate, &st->sub_fps,
                        &st->sub_bitrate_bps);
        }
        if (!r->streams[STREAM_MAIN].ingest) {
            /* The thread could not start (logged); retried when the camera changes. */
            state_set(r, st, "failed");
            snprintf(st->breaker, sizeof(st->breaker), "closed");
            snprintf(st->last_error, sizeof(st->last_error), "ingest could not start");
            (*failed)++;
            continue;
        }
        struct ing_stream_status is;
        ing_stream_status_get(r->streams[STREAM_MAIN].ingest, &is);
        snprintf(st->breaker, sizeof(st->breaker), "%s", ing_breaker_state_name(is.breaker));
        snprintf(st->last_error, sizeof(st->last_error), "%s", is.last_error);
        snprintf(st->audio_note, sizeof(st->audio_note), "%s", is.audio_note);
        st->has_clock = is.has_clock;
        st->clock_offset_ms = (double)is.clock_offset_us / 1e3;
        st->clock_jitter_ms = (double)is.clock_jitter_us / 1e3;
        st->clock_burst_ms = (double)is.clock_burst_us / 1e3;
        st->has_camera_offset = is.has_camera_offset;
        st->camera_offset_ms = (double)is.camera_offset_us / 1e3;
        st->has_av_offset = is.has_av_offset;
        st->av_offset_ms = (double)is.av_offset_us / 1e3;
        st->next_retry_unix_ms = is.is_up ? 0 : is.next_retry_unix_ms;
        st->reconnects = is.reconnects;
        snprintf(st->transport, sizeof(st->transport), "%s", ing_transport_name(is.transport));
        snprintf(st->client, sizeof(st->client), "%s", ing_client_name(is.client));
        rate_sample(&r->streams[STREAM_MAIN], &is, now_ns, &st->has_rate, &st->fps,
                    &st->bitrate_bps);
        const char *state = judge_main(r, &is, st);
        /* Recording means a segment is being written now, not just that recording is on. */
        int64_t since_us;
        st->is_recording = r->streams[STREAM_MAIN].rec && strcmp(state, "streaming") == 0 &&
                           rec_recorder_recording_since(s->recorder, r->id,
                                                        stream_names[STREAM_MAIN], &since_us) == 0;
        if (strcmp(state, "streaming") == 0)
            (*online)++;
        else if (strcmp(state, "connecting") != 0)
            (*failed)++;
        state_set(r, st, state);
        if (s->analysis)
            st->has_detect = det_analysis_camera_status(s->analysis, r->id, &st->detect);
    }
    pthread_mutex_lock(&s->status_lock);
    struct status_entry *old = s->status;
    size_t nold = s->nstatus;
    s->status = fresh;
    s->nstatus = n;
    pthread_mutex_unlock(&s->status_lock);
    status_free(old, nold);
}

bool sup_camera_status_get(sup_supervisor *s, const char *id, struct sup_camera_status *out)
{
    bool is_found = false;
    pthread_mutex_lock(&s->status_lock);
    for (size_t i = 0; i < s->nstatus && !is_found; i++) {
        if (strcmp(s->status[i].id, id) == 0) {
            *out = s->status[i].st;
            is_found = true;
        }
    }
    pthread_mutex_unlock(&s->status_lock);
    return is_found;
}

/*
 * Stops every pipeline, then gives this node's leases up, so that another
 * node may take the cameras over at once. The recorder first hands the
 * rows of the segments it closed to the writer: they are fenced by the
 * leases (docs/design/0066), so they must be queued before the release is.
 */
static void stop_all(sup_supervisor *s)
{
    stop_where(s, is_any, false);
    if (s->leases.node && s->recorder)
        rec_recorder_sync(s->recorder);
    sup_leases_release(&s->leases, s->db);
}

void sup_supervisor_stop(sup_supervisor *s)
{
    stop_all(s);
}

void sup_supervisor_free(sup_supervisor *s)
{
    if (!s)
        return;
    stop_all(s);
    status_free(s->status, s->nstatus);
    pthread_mutex_destroy(&s->status_lock);
    ing_netpolicy_free(s->networks);
    free(s->tls_ca);
    free(s);
}
