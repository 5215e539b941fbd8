/*
 * DESIGN: `horus probe` and POST /cameras/probe. A probe is a real
 * ing_stream whose sink counts: it records each stream announcement, checks
 * that every track's dts strictly increases (and pts >= dts), measures the
 * video frame rate from the first second of timestamps, and notes how late
 * each stall was detected. The caller's thread waits on a condition
 * variable that the sink (on the ingest thread) signals.
 *
 * Locking: probe.mu guards everything in struct probe; it is held only for
 * counter updates, never across ingest calls.
 */
#define LOG_MODULE "ingest"

#include "ingest_int.h"

#include "clock.h"
#include "err.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FPS_FRAMES 20 /* frames measured for the frame rate */

struct probe_track {
    bool is_seen;
    struct ing_probe_stream info;
    int64_t last_dts;
    bool has_dts;
    int64_t fps_pts[FPS_FRAMES]; /* pts of the first video frames */
    unsigned fps_frames;
};

struct probe {
    media_sink sink;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct probe_track video, audio;
    struct ing_probe_result *res;
    int64_t last_packet_ns;
    bool is_ready;
};

static struct probe_track *probe_track_of(struct probe *p, const media_stream *ms)
{
    return ms->kind == MEDIA_KIND_VIDEO ? &p->video : &p->audio;
}

static void probe_stream_cb(media_sink *sink, media_stream *ms)
{
    struct probe *p = (struct probe *)sink;
    pthread_mutex_lock(&p->mu);
    struct probe_track *t = probe_track_of(p, ms);
    double fps = t->info.fps;
    t->is_seen = true;
    t->info = (struct ing_probe_stream){
        .kind = ms->kind,
        .codec = ms->codec,
        .width = ms->width,
        .height = ms->height,
        .fps = fps,
        .sample_rate = ms->sample_rate,
        .channels = ms->channels,
    };
    snprintf(t->info.codec_string, sizeof(t->info.codec_string), "%s", ms->codec_string);
    p->res->epochs++;
    pthread_mutex_unlock(&p->mu);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Frame rate from the median gap between neighbouring presentation times:
 * B-frames make decode order differ from presentation order and the first
 * frames may miss a few neighbours, which only the median shrugs off.
 */
static double probe_fps(int64_t *pts, unsigned n, uint32_t timescale)
{
    qsort(pts, n, sizeof(*pts), cmp_i64);
    int64_t gaps[FPS_FRAMES];
    unsigned ngaps = 0;
    for (unsigned i = 1; i < n; i++)
        if (pts[i] > pts[i - 1])
            gaps[ngaps++] = pts[i] - pts[i - 1];
    if (ngaps == 0)
        return 0;
    qsort(gaps, ngaps, sizeof(*gaps), cmp_i64);
    double fps = (double)timescale / (double)gaps[ngaps / 2];
    return (double)(long)(fps * 100 + 0.5) / 100;
}

static void probe_packet_cb(media_sink *sink, media_packet *pkt)
{
    struct probe *p = (struct probe *)sink;
    pthread_mutex_lock(&p->mu);
    struct probe_track *t = probe_track_of(p, pkt->stream);
    if ((t->has_dts && pkt->dts <= t->last_dts) || pkt->pts < pkt->dts)
        p->res->dts_monotonic = false;
    t->has_dts = true;
    t->last_dts = pkt->dts;
    p->res->packets++;
    p->res->keyframes += pkt->is_keyframe && pkt->stream->kind == MEDIA_KIND_VIDEO;
    p->last_packet_ns = pkt->arrival_ns;
    if (pkt->stream->kind == MEDIA_KIND_VIDEO && t->fps_frames < FPS_FRAMES) {
        t->fps_pts[t->fps_frames++] = pkt->pts;
        if (t->fps_frames == FPS_FRAMES) {
            t->info.fps = probe_fps(t->fps_pts, FPS_FRAMES, pkt->stream->timescale);
            p->is_ready = true;
            pthread_cond_broadcast(&p->cond);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

static void probe_gap_cb(media_sink *sink, const char *reason)
{
    struct probe *p = (struct probe *)sink;
    pthread_mutex_lock(&p->mu);
    p->res->gaps++;
    if (strcmp(reason, "stall") == 0) {
        p->res->stalls++;
        int64_t ms = (clock_monotonic_ns(clock_system()) - p->last_packet_ns) / 1000000;
        if (ms > p->res->max_stall_detect_ms)
            p->res->max_stall_detect_ms = ms;
    }
    pthread_mutex_unlock(&p->mu);
}

static const struct media_sink_ops probe_ops = {
    .stream_cb = probe_stream_cb,
    .packet_cb = probe_packet_cb,
    .gap_cb = probe_gap_cb,
};

int ing_probe_run(const struct ing_probe_options *opt, struct ing_probe_result *out)
{
    memset(out, 0, sizeof(*out));
    out->dts_monotonic = true;
    struct probe p = {.sink = {.ops = &probe_ops}, .res = out};
    pthread_mutex_init(&p.mu, NULL);
    horus_cond_init_monotonic(&p.cond);
    int timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : 5000;
    ing_stream *s = NULL;
    int rc = ing_stream_new(&(struct ing_stream_options){.camera = "probe",
                                                         .url = opt->url,
                                                         .connect_timeout_ms = timeout_ms,
                                                         .stall_timeout_ms = opt->stall_timeout_ms,
                                                         .max_connects = opt->read_s ? 0 : 1,
                                                         .client = opt->client,
                                                         .transport = opt->transport,
                                                         .networks = opt->networks,
                                                         .tls_ca = opt->tls_ca,
                                                         .tls_skip_verify = opt->tls_skip_verify,
                                                         .sink = &p.sink},
                            &s);
    if (rc == 0)
        rc = ing_stream_start(s);
    if (rc < 0) {
        ing_stream_free(s);
        s = NULL;
        out->reason = ING_REASON_OTHER;
        snprintf(out->message, sizeof(out->message), "%s", horus_strerror(rc));
        goto done;
    }
    const horus_clock *clk = clock_system();
    int64_t start = clock_monotonic_ns(clk);
    int64_t limit_ms = opt->read_s ? (int64_t)opt->read_s * 1000 : timeout_ms + 3000;
    struct ing_stream_status st;
    for (;;) {
        int64_t left = limit_ms - (clock_monotonic_ns(clk) - start) / 1000000;
        if (left <= 0)
            break;
        struct timespec ts = horus_deadline_ms(left < 100 ? left : 100);
        pthread_mutex_lock(&p.mu);
        if (!p.is_ready || opt->read_s)
            pthread_cond_timedwait(&p.cond, &p.mu, &ts);
        bool ready = p.is_ready;
        pthread_mutex_unlock(&p.mu);
        ing_stream_status_get(s, &st);
        if (st.is_finished || (ready && !opt->read_s))
            break;
        if (opt->cancel && atomic_load(opt->cancel))
            break; /* the caller is stopping: what was learnt so far is the answer */
    }
    ing_stream_stop(s);
    ing_stream_join(s);
    out->duration_s = (double)((clock_monotonic_ns(clk) - start) / 1000000) / 1000;
    ing_stream_status_get(s, &st);
    out->reconnects = st.reconnects;
    out->client = st.client;
    out->transport = st.transport;
    if (out->packets == 0) {
        out->reason = st.reason != ING_REASON_NONE ? st.reason : ING_REASON_TIMEOUT;
        snprintf(out->message, sizeof(out->message), "%s",
                 st.last_error[0] ? st.last_error : "no media before the deadline");
        rc = out->reason == ING_REASON_TIMEOUT ? -ETIMEDOUT : -EIO;
    }
    ing_stream_free(s);
done:
    if (p.video.is_seen)
        out->streams[out->nstreams++] = p.video.info;
    if (p.audio.is_seen)
        out->streams[out->nstreams++] = p.audio.info;
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.mu);
    return out->reason == ING_REASON_NONE ? 0 : (rc < 0 ? rc : -EIO);
}

int ing_probe(const char *url, int timeout_ms, struct ing_probe_result *out)
{
    return ing_probe_run(&(struct ing_probe_options){.url = url, .timeout_ms = timeout_ms}, out);
}
