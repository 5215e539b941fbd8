/*
 * DESIGN: POST /api/v1/cameras/probe {"url": ..., "timeout_ms": ...}.
 *
 * A probe connects to a camera and waits for its codecs, size and frame
 * rate, which takes up to a few seconds: far too long to hold an HTTP pool
 * thread. The handler validates the body, defers the request (its
 * connection is suspended) and hands the work to a short-lived "api-probe"
 * thread that runs ing_probe and replies. At most PROBE_MAX run at once;
 * more get 503 at once rather than queueing behind slow cameras.
 *
 * The answer is 200 whenever the probe ran: {"ok": true, streams...} or
 * {"ok": false, "reason": "auth_failed", "message": "authentication
 * failed: ..."}; what the camera did is data, not an API error. The URL is
 * echoed masked; credentials never reach a log line or the reply.
 *
 * Stopping: api_probes_drain cancels running probes (each gives up within
 * ~100 ms, however long its timeout) and waits for them; a reply after the
 * server stopped is dropped by http_deferred.
 * The count of running probes belongs to the api object (struct
 * api_probes), so each API drains only its own.
 */
#include "api_int.h"

#include "err.h"
#include "ingest.h"
#include "log.h"
#include "mask.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "api"

#define PROBE_MAX 4
#define PROBE_TIMEOUT_DEFAULT_MS 5000
#define PROBE_TIMEOUT_MAX_MS 30000
/* Connect deadline plus the time ing_probe may read to learn the frame rate (~3 s). */
#define PROBE_READ_MARGIN_MS 4000

struct probe_job {
    struct api_probes *probes; /* borrowed from the api, which drains before it is freed */
    http_deferred *reply; /* owned handle: given back by the worker's reply */
    char *url; /* owned; has credentials */
    const ing_netpolicy *networks; /* borrowed from the supervisor, which outlives the api */
    char *masked; /* owned */
    int timeout_ms;
    enum ing_client client; /* the configured ingest.client */
    const char *tls_ca; /* ingest.tls_ca, borrowed from the api (outlives every probe) */
    bool tls_skip_verify; /* the body's tls_verify false */
};

static const char *kind_name(enum media_kind k)
{
    return k == MEDIA_KIND_VIDEO ? "video" : "audio";
}

static const char *codec_name(enum media_codec c)
{
    switch (c) {
    case MEDIA_CODEC_H264:
        return "h264";
    case MEDIA_CODEC_H265:
        return "h265";
    case MEDIA_CODEC_AAC:
        return "aac";
    case MEDIA_CODEC_PCMU:
        return "pcmu";
    case MEDIA_CODEC_PCMA:
        return "pcma";
    case MEDIA_CODEC_NONE:
        break;
    }
    return "unknown";
}

static json_t *result_json(const struct probe_job *job, int rc, const struct ing_probe_result *res,
                           int64_t elapsed_ms)
{
    json_t *out =
        json_pack("{s:s, s:b, s:I}", "url", job->masked, "ok",
                  rc == 0 && res->reason == ING_REASON_NONE, "duration_ms", (json_int_t)elapsed_ms);
    json_object_set_new(out, "client", json_string(ing_client_name(res->client)));
    if (rc < 0 || res->reason != ING_REASON_NONE) {
        enum ing_reason reason = res->reason != ING_REASON_NONE ? res->reason : ING_REASON_OTHER;
        json_object_set_new(out, "reason", json_string(ing_reason_code(reason)));
        char masked[sizeof(res->message) + 64];
        horus_mask_text(res->message[0] ? res->message : ing_reason_text(reason), masked,
                        sizeof(masked));
        json_object_set_new(out, "message", json_string(masked));
        return out;
    }
    json_t *streams = json_array();
    for (unsigned i = 0; i < res->nstreams; i++) {
        const struct ing_probe_stream *s = &res->streams[i];
        json_t *js = json_pack("{s:s, s:s, s:s}", "kind", kind_name(s->kind), "codec",
                               codec_name(s->codec), "codec_string", s->codec_string);
        if (s->kind == MEDIA_KIND_VIDEO) {
            json_object_set_new(js, "width", json_integer(s->width));
            json_object_set_new(js, "height", json_integer(s->height));
            json_object_set_new(js, "fps", s->fps > 0 ? json_real(s->fps) : json_null());
        } else {
            json_object_set_new(js, "sample_rate", json_integer(s->sample_rate));
            json_object_set_new(js, "channels", json_integer(s->channels));
        }
        json_array_append_new(streams, js);
    }
    json_object_set_new(out, "streams", streams);
    return out;
}

static void job_free(struct probe_job *job)
{
    free(job->url);
    free(job->masked);
    free(job);
}

/* One probe ended; the last one wakes api_probes_drain. */
static void probe_done(struct api_probes *p)
{
    pthread_mutex_lock(&p->lock);
    if (--p->running == 0)
        pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->lock);
}

static void *probe_main(void *arg)
{
    struct probe_job *job = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ing_probe_result res;
    int rc = ing_probe_run(&(struct ing_probe_options){.url = job->url,
                                                       .timeout_ms = job->timeout_ms,
                                                       .client = job->client,
                                                       .networks = job->networks,
                                                       .tls_ca = job->tls_ca,
                                                       .tls_skip_verify = job->tls_skip_verify,
                                                       .cancel = &job->probes->is_cancelled},
                           &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    log_info_kv(LOG_KV({"url", job->masked}), "probe: %s",
                rc == 0 && res.reason == ING_REASON_NONE ? "ok" : ing_reason_code(res.reason));
    json_t *out = result_json(job, rc, &res, ms);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    /* -ECANCELED: the client left or the server stopped; nothing to send. */
    (void)http_deferred_reply_borrowed(job->reply, 200, "application/json", text, strlen(text),
                                       free, text);
    struct api_probes *probes = job->probes;
    job_free(job);
    probe_done(probes);
    return NULL;
}

static int reply_field(http_request *req, const char *field, const char *reason)
{
    return http_reply_error(req, -EINVAL, "%s: %s", field, reason);
}

static int probe_post(http_request *req, void *arg)
{
    struct api *a = arg;
    struct api_probes *probes = &a->probes;
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    const char *key;
    json_t *v;
    const char *url = NULL;
    json_int_t timeout = PROBE_TIMEOUT_DEFAULT_MS;
    bool tls_verify = true;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "url") == 0) {
            if (!json_is_string(v)) {
                json_decref(body);
                return reply_field(req, "url", "must be a string");
            }
            url = json_string_value(v);
        } else if (strcmp(key, "timeout_ms") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 100 ||
                json_integer_value(v) > PROBE_TIMEOUT_MAX_MS) {
                json_decref(body);
                return reply_field(req, "timeout_ms", "must be an integer from 100 to 30000");
            }
            timeout = json_integer_value(v);
        } else if (strcmp(key, "tls_verify") == 0) {
            if (!json_is_boolean(v)) {
                json_decref(body);
                return reply_field(req, "tls_verify", "must be true or false");
            }
            tls_verify = json_is_true(v);
        } else {
            rc = reply_field(req, key, "unknown field (allowed: url, timeout_ms, tls_verify)");
            json_decref(body);
            return rc;
        }
    }
    if (!url || (strncmp(url, "rtsp://", 7) != 0 && strncmp(url, "rtsps://", 8) != 0) ||
        strlen(url) > 2048) {
        json_decref(body);
        return reply_field(req, "url",
                           url ? "must be an rtsp:// or rtsps:// URL of at most 2048 bytes"
                               : "is required");
    }
    char why[160];
    if (ing_url_check(url, why, sizeof(why)) < 0) {
        rc = reply_field(req, "url", why); /* the reason never quotes the URL: no password */
        json_decref(body);
        return rc;
    }
    /* Probes are no scanner of link-local or metadata networks (docs/design/0017 §4). */
    const ing_netpolicy *networks = a->cameras ? sup_supervisor_networks(a->cameras) : NULL;
    char denied[200];
    if (networks && ing_netpolicy_check_url(networks, url, denied, sizeof(denied)) < 0) {
        json_decref(body);
        return reply_field(req, "url", denied);
    }
    pthread_mutex_lock(&probes->lock);
    bool is_full = probes->running >= PROBE_MAX;
    if (!is_full)
        probes->running++;
    pthread_mutex_unlock(&probes->lock);
    if (is_full) {
        json_decref(body);
        return http_reply_error(req, -EAGAIN, "%d probes are already running; try again shortly",
                                PROBE_MAX);
    }
    struct probe_job *job = horus_calloc(1, sizeof(*job));
    job->probes = probes;
    job->url = horus_strdup(url);
    char masked[2100];
    cfg_mask_url(url, masked, sizeof(masked));
    job->masked = horus_strdup(masked);
    job->timeout_ms = (int)timeout;
    job->client = a->probe_client;
    job->tls_ca = a->probe_tls_ca;
    job->tls_skip_verify = !tls_verify;
    job->networks = networks;
    json_decref(body);
    job->reply =
        http_request_defer(req, (unsigned)(timeout + PROBE_READ_MARGIN_MS + 1000), NULL, NULL);
    pthread_t t;
    rc = job->reply ? horus_thread_start(&t, "api-probe", probe_main, job) : -ESHUTDOWN;
    if (rc == 0) {
        pthread_detach(t);
        return 0;
    }
    if (job->reply)
        http_deferred_release(job->reply); /* our negative return becomes the reply */
    job_free(job);
    probe_done(probes);
    return rc == -ESHUTDOWN ? HORUS_ESTOPPED : rc;
}

void api_probes_drain(api *a)
{
    struct api_probes *p = &a->probes;
    /* A probe of an unresponsive camera may have 30 s left: stopping must not wait for it. */
    atomic_store(&p->is_cancelled, true);
    pthread_mutex_lock(&p->lock);
    while (p->running)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

int api_probe_register(http_router *r, struct api *ctx)
{
    return http_router_add(r, "POST", "/api/v1/cameras/probe", probe_post, ctx);
}
