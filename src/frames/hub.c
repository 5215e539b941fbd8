/*
 * DESIGN: the frame hub (frames.h; docs/design/0050-frame-publishing.md).
 *
 * Cameras are fixed at new (the `frames:` section is applied at start);
 * each has a source (source_int.h) while the supervisor runs it, the
 * frm-N workers' state and one bounded queue of ready messages per bus it
 * publishes on. The hub's lock guards the camera table's shared parts
 * (source pointer, busy flag, queues, window counters, the series the bus
 * threads count into); it is held for queue operations only, never across
 * decoding, encoding, a sink callback or a notify.
 *
 * Workers poll every POLL_MS for cameras with queued packets (a sink
 * callback never signals, so the ingest thread pays a refcount and a few
 * instructions per packet), claim one at a time (is_busy), decode it
 * outside the lock, encode the frames that are due (one every 1/fps of
 * capture time, on a grid so the average rate is the configured one),
 * collect them into a batch or a single-JPEG message, and append the
 * message to the camera's queue of each of its buses: a full queue drops
 * its oldest message, counted. Once a second per camera the adaptive
 * controller (adapt_int.h) sees the window's drops, the queues' fill and
 * the bytes encoded, and may move one step; each move is logged and the
 * step is the horus_frames_quality_step gauge.
 *
 * A message is shared by its buses through a reference count: one
 * reference per queue it sits in, passed to the bus thread that takes it.
 *
 * Lock order: the hub's lock, then a source's lock (frames_src_has_work);
 * never the other way.
 */
#include "frames.h"

#include "adapt_int.h"
#include "frames_batch.h"
#include "source_int.h"

#include "clock.h"
#include "log.h"
#include "media_jpeg.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "frames"

#define MAX_BUSES 3
#define POLL_MS 20
#define WINDOW_MS 1000
#define EARLY_US 10000 /* a frame due this much later is taken now */

struct queue {
    struct frames_msg **ring; /* cap entries */
    size_t head, count;
};

struct cam {
    struct frames_camera_config c; /* id and numbers; buses resolved into wants */
    bool wants[MAX_BUSES];
    bool is_keyframes_only; /* decided by stream_for */
    /* Guarded by the hub's lock. */
    frames_src *src; /* NULL while detached */
    bool is_busy; /* a worker has it */
    struct queue q[MAX_BUSES];
    uint64_t window_dropped;
    metrics_series *m_published[MAX_BUSES], *m_drop_queue, *m_drop_publish;
    /* A worker's, while is_busy. */
    struct frames_adapt adapt;
    int quality, width;
    double fps;
    int64_t next_due_us; /* capture time the next frame is due at; 0: the next one */
    int64_t seq;
    struct frames_batch_item batch[FRAMES_BATCH_MAX];
    size_t nbatch;
    int64_t batch_since_ms; /* monotonic: when the batch's first frame came */
    uint64_t window_bytes;
    int64_t window_start_ms;
    bool is_error_logged;
    metrics_series *m_encoded, *m_bytes, *m_step, *m_skip_queue, *m_skip_decode;
};

struct frames_hub {
    struct frames_config config; /* numbers only; cameras' ids in cams */
    char buses[MAX_BUSES][8];
    size_t nbuses;
    struct cam *cams;
    size_t ncams;
    size_t rr; /* take's round-robin start */
    metrics_family *f_encoded, *f_bytes, *f_step, *f_dropped, *f_published;
    void (*notify)(void *arg);
    void *notify_arg;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a worker released a camera, or stopping */
    bool is_stopping;
    pthread_t *threads;
    size_t nthreads;
};

static int64_t mono_ms(void)
{
    return clock_monotonic_ns(clock_system()) / 1000000;
}

static void msg_release(struct frames_msg *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        free(m->body);
        free(m);
    }
}

static struct cam *cam_find(frames_hub *h, const char *id)
{
    for (size_t i = 0; i < h->ncams; i++)
        if (strcmp(h->cams[i].c.id, id) == 0)
            return &h->cams[i];
    return NULL;
}

static int bus_index(frames_hub *h, const char *bus)
{
    for (size_t i = 0; i < h->nbuses; i++)
        if (strcmp(h->buses[i], bus) == 0)
            return (int)i;
    return -1;
}

frames_hub *frames_hub_new(const struct frames_options *o)
{
    frames_hub *h = horus_calloc(1, sizeof(*h));
    h->config = *o->config;
    h->config.cameras = NULL;
    h->config.ncameras = 0;
    h->notify = o->notify;
    h->notify_arg = o->notify_arg;
    pthread_mutex_init(&h->lock, NULL);
    horus_cond_init_monotonic(&h->cond); /* a wall clock set back must not stall the workers */
    for (size_t i = 0; i < o->nbuses && h->nbuses < MAX_BUSES; i++)
        snprintf(h->buses[h->nbuses++], sizeof(h->buses[0]), "%s", o->buses[i]);
    h->cams = horus_calloc(o->config->ncameras ? o->config->ncameras : 1, sizeof(*h->cams));
    for (size_t i = 0; i < o->config->ncameras; i++) {
        const struct frames_camera_config *cc = &o->config->cameras[i];
        if (!cc->enabled)
            continue;
        struct cam *c = &h->cams[h->ncams];
        bool any = false;
        for (size_t b = 0; b < h->nbuses; b++)
            any |= c->wants[b] = frames_camera_wants_bus(cc, h->buses[b]);
        if (!any) {
            log_warn_kv(LOG_KV({"camera", cc->id}),
                        "frames: none of the camera's buses is configured; no frames published");
            memset(c, 0, sizeof(*c));
            continue;
        }
        c->c = *cc;
        c->c.id = horus_strdup(cc->id);
        c->c.buses = NULL;
        c->c.nbuses = 0;
        for (size_t b = 0; b < h->nbuses; b++)
            c->q[b].ring = horus_calloc((size_t)h->config.queue, sizeof(struct frames_msg *));
        h->ncams++;
    }
    if (o->metrics && h->ncams) {
        metrics_registry *r = o->metrics;
        h->f_encoded = metrics_family_add(
            r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                      .name = "horus_frames_encoded_total",
                                      .help = "JPEG frames encoded for the buses, by camera",
                                      .labels = "camera"});
        h->f_bytes = metrics_family_add(
            r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                      .name = "horus_frames_encoded_bytes_total",
                                      .help = "Bytes of the JPEG frames encoded, by camera",
                                      .labels = "camera"});
        h->f_step = metrics_family_add(
            r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                      .name = "horus_frames_quality_step",
                                      .help = "The adaptive controller's step per camera: 0 as "
                                              "configured, higher is lower quality, size or rate",
                                      .labels = "camera"});
        h->f_dropped = metrics_family_add(
            r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                      .name = "horus_frames_dropped_total",
                                      .help = "Frames or frame messages lost, by camera and "
                                              "reason (packet_queue, decode_error, frame_queue, "
                                              "publish)",
                                      .labels = "camera,reason"});
        h->f_published = metrics_family_add(
            r,
            &(struct metrics_desc){.type = METRICS_COUNTER,
                                   .name = "horus_frames_published_total",
                                   .help = "Frame messages handed to a broker, by camera and bus",
                                   .labels = "camera,bus"});
    }
    return h;
}

bool frames_hub_is_active(const frames_hub *h)
{
    return h && h->ncams > 0;
}

const char *frames_hub_stream_for(frames_hub *h, const char *camera_id, bool has_sub)
{
    struct cam *c = h ? cam_find(h, camera_id) : NULL;
    if (!c)
        return NULL;
    switch (c->c.source) {
    case FRAMES_SOURCE_SUB:
        c->is_keyframes_only = !has_sub;
        if (!has_sub)
            log_warn_kv(LOG_KV({"camera", camera_id}),
                        "frames: source sub, but the camera has no sub_url: keyframes of main");
        return has_sub ? "sub" : "main";
    case FRAMES_SOURCE_MAIN:
        c->is_keyframes_only = false;
        return "main";
    default:
        c->is_keyframes_only = true;
        return "main";
    }
}

media_sink *frames_hub_attach(frames_hub *h, const char *camera_id)
{
    struct cam *c = h ? cam_find(h, camera_id) : NULL;
    if (!c)
        return NULL;
    frames_src *src = frames_src_new(camera_id, c->is_keyframes_only);
    pthread_mutex_lock(&h->lock);
    if (c->src) {
        pthread_mutex_unlock(&h->lock);
        frames_src_free(src);
        HORUS_BUG("frames: camera %s attached twice", camera_id);
    }
    /* The worker fields are free: no worker claims a detached camera. */
    frames_adapt_init(&c->adapt);
    frames_adapt_apply(0, (int)c->c.quality, (int)c->c.max_width, c->c.fps, &c->quality, &c->width,
                       &c->fps);
    c->next_due_us = 0;
    c->nbatch = 0;
    c->window_bytes = 0;
    c->window_start_ms = mono_ms();
    c->window_dropped = 0;
    c->is_error_logged = false;
    if (h->f_encoded) {
        c->m_encoded = metrics_series_get(h->f_encoded, camera_id);
        c->m_bytes = metrics_series_get(h->f_bytes, camera_id);
        c->m_step = metrics_series_get(h->f_step, camera_id);
        c->m_skip_queue = metrics_series_get(h->f_dropped, camera_id, "packet_queue");
        c->m_skip_decode = metrics_series_get(h->f_dropped, camera_id, "decode_error");
        c->m_drop_queue = metrics_series_get(h->f_dropped, camera_id, "frame_queue");
        c->m_drop_publish = metrics_series_get(h->f_dropped, camera_id, "publish");
        for (size_t b = 0; b < h->nbuses; b++)
            c->m_published[b] =
                c->wants[b] ? metrics_series_get(h->f_published, camera_id, h->buses[b]) : NULL;
        metrics_gauge_set(c->m_step, 0);
    }
    c->src = src;
    pthread_mutex_unlock(&h->lock);
    log_info_kv(LOG_KV({"camera", camera_id}),
                "frames: publishing at most %.2f fps, %d px wide, quality %d (%s)", c->fps,
                c->width, c->quality,
                c->c.source == FRAMES_SOURCE_MAIN ? "every frame of main"
                : c->is_keyframes_only            ? "keyframes of main"
                                                  : "every frame of sub");
    return frames_src_sink(src);
}

/* With the hub's lock held: drops every queued message of c. */
static void queues_clear(frames_hub *h, struct cam *c)
{
    for (size_t b = 0; b < h->nbuses; b++) {
        struct queue *q = &c->q[b];
        while (q->count) {
            msg_release(q->ring[q->head]);
            q->head = (q->head + 1) % (size_t)h->config.queue;
            q->count--;
        }
        q->head = 0;
    }
}

static void cam_detach(frames_hub *h, struct cam *c)
{
    pthread_mutex_lock(&h->lock);
    while (c->is_busy)
        pthread_cond_wait(&h->cond, &h->lock);
    frames_src *src = c->src;
    c->src = NULL;
    queues_clear(h, c);
    /* The supervisor may remove the camera's series after this returns. */
    c->m_encoded = c->m_bytes = c->m_step = c->m_skip_queue = c->m_skip_decode = NULL;
    c->m_drop_queue = c->m_drop_publish = NULL;
    memset(c->m_published, 0, sizeof(c->m_published));
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < c->nbatch; i++)
        free((void *)c->batch[i].jpeg);
    c->nbatch = 0;
    frames_src_free(src);
}

void frames_hub_detach(frames_hub *h, const char *camera_id)
{
    struct cam *c = h ? cam_find(h, camera_id) : NULL;
    if (c)
        cam_detach(h, c);
}

/* Hands msg to each bus queue of c (one reference each); a full queue drops its oldest. */
static void enqueue(frames_hub *h, struct cam *c, struct frames_msg *m)
{
    size_t cap = (size_t)h->config.queue;
    int wanted = 0;
    for (size_t b = 0; b < h->nbuses; b++)
        wanted += c->wants[b];
    atomic_store(&m->refs, wanted);
    uint64_t dropped = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t b = 0; b < h->nbuses; b++) {
        if (!c->wants[b])
            continue;
        struct queue *q = &c->q[b];
        if (q->count == cap) {
            msg_release(q->ring[q->head]);
            q->head = (q->head + 1) % cap;
            q->count--;
            dropped++;
        }
        q->ring[(q->head + q->count) % cap] = m;
        q->count++;
    }
    c->window_dropped += dropped;
    if (dropped && c->m_drop_queue)
        metrics_counter_add(c->m_drop_queue, (double)dropped);
    pthread_mutex_unlock(&h->lock);
    if (h->notify)
        h->notify(h->notify_arg);
}

static void header_add(struct frames_msg *m, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void header_add(struct frames_msg *m, const char *name, const char *fmt, ...)
{
    if (m->nheaders == FRAMES_HEADERS_MAX)
        HORUS_BUG("frames: too many headers");
    struct frames_header *hd = &m->headers[m->nheaders++];
    snprintf(hd->name, sizeof(hd->name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hd->value, sizeof(hd->value), fmt, ap);
    va_end(ap);
}

/* Sends the collected batch as one message (a single JPEG when it holds one). */
static void flush(frames_hub *h, struct cam *c)
{
    if (c->nbatch == 0)
        return;
    struct frames_msg *m = horus_calloc(1, sizeof(*m));
    snprintf(m->camera, sizeof(m->camera), "%s", c->c.id);
    const struct frames_frame_info *first = &c->batch[0].info;
    char when[40];
    clock_format_rfc3339_ms(first->capture_us / 1000, when, sizeof(when));
    header_add(m, "horus-camera", "%s", c->c.id);
    header_add(m, "horus-capture-time", "%s", when);
    header_add(m, "horus-capture-us", "%lld", (long long)first->capture_us);
    header_add(m, "horus-sequence", "%lld", (long long)first->seq);
    header_add(m, "horus-quality-step", "%d", c->adapt.step);
    m->nframes = c->nbatch;
    if (c->nbatch == 1 && c->c.batch == 1) {
        m->content_type = "image/jpeg";
        header_add(m, "horus-schema", "%s", FRAMES_SINGLE_SCHEMA);
        header_add(m, "horus-width", "%d", first->width);
        header_add(m, "horus-height", "%d", first->height);
        header_add(m, "horus-keyframe", "%s", first->is_keyframe ? "true" : "false");
        header_add(m, "horus-quality", "%d", first->quality);
        m->body = (uint8_t *)c->batch[0].jpeg;
        m->len = c->batch[0].len;
    } else {
        m->content_type = FRAMES_BATCH_CONTENT_TYPE;
        header_add(m, "horus-schema", "%s", FRAMES_BATCH_SCHEMA);
        header_add(m, "horus-frames", "%zu", c->nbatch);
        if (frames_batch_write(c->c.id, c->batch, c->nbatch, &m->body, &m->len) < 0)
            HORUS_BUG("frames: batch of %zu", c->nbatch);
        for (size_t i = 0; i < c->nbatch; i++)
            free((void *)c->batch[i].jpeg);
    }
    c->nbatch = 0;
    enqueue(h, c, m);
}

static bool is_full_range(const AVFrame *f)
{
    return f->color_range == AVCOL_RANGE_JPEG || f->format == AV_PIX_FMT_YUVJ420P ||
           f->format == AV_PIX_FMT_YUVJ422P || f->format == AV_PIX_FMT_YUVJ444P;
}

struct frame_ctx {
    frames_hub *h;
    struct cam *c;
    char err[160];
};

static void on_frame(void *arg, const AVFrame *f, int64_t capture_us, bool is_keyframe)
{
    struct frame_ctx *x = arg;
    struct cam *c = x->c;
    int64_t interval_us = (int64_t)(1e6 / c->fps);
    /* A little early still counts: keyframes exactly one interval apart, dated with a few
       ms of jitter, must not lose every other one. */
    int64_t early_us = interval_us / 4 < EARLY_US ? interval_us / 4 : EARLY_US;
    if (c->next_due_us && capture_us < c->next_due_us - early_us)
        return;
    /* On a grid, so the rate averages fps; a long pause restarts the grid. */
    c->next_due_us = c->next_due_us && capture_us - c->next_due_us < interval_us
                         ? c->next_due_us + interval_us
                         : capture_us + interval_us;
    int w = f->width < c->width ? f->width : c->width;
    w &= ~1;
    int hgt = (int)((int64_t)f->height * w / (f->width ? f->width : 1)) & ~1;
    if (w < 2 || hgt < 2)
        return;
    struct media_jpeg_src src = {.format = f->format,
                                 .width = f->width,
                                 .height = f->height,
                                 .data = (const uint8_t *const *)f->data,
                                 .linesize = f->linesize,
                                 .is_full_range = is_full_range(f),
                                 .colorspace = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709
                                                                                : SWS_CS_ITU601,
                                 .scale_flags = SWS_BILINEAR};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    if (media_jpeg_encode(&src, w, hgt, frames_quality_to_qscale(c->quality), &jpeg, &len) < 0) {
        snprintf(x->err, sizeof(x->err), "a %dx%d frame could not be encoded", f->width, f->height);
        if (c->m_skip_decode)
            metrics_counter_inc(c->m_skip_decode);
        return;
    }
    if (c->nbatch == 0)
        c->batch_since_ms = mono_ms();
    c->batch[c->nbatch++] = (struct frames_batch_item){.info = {.seq = ++c->seq,
                                                                .capture_us = capture_us,
                                                                .width = w,
                                                                .height = hgt,
                                                                .is_keyframe = is_keyframe,
                                                                .quality = c->quality},
                                                       .jpeg = jpeg,
                                                       .len = len};
    c->window_bytes += len;
    if (c->m_encoded) {
        metrics_counter_inc(c->m_encoded);
        metrics_counter_add(c->m_bytes, (double)len);
    }
    if (c->nbatch >= (size_t)c->c.batch)
        flush(x->h, c);
}

/* Once a window: the controller's input and its step. */
static void adapt_tick(frames_hub *h, struct cam *c, int64_t now)
{
    double secs = (double)(now - c->window_start_ms) / 1000.0;
    struct frames_adapt_input in = {.bytes_per_s = secs > 0 ? (double)c->window_bytes / secs : 0,
                                    .budget = (double)c->c.max_bytes_per_s};
    pthread_mutex_lock(&h->lock);
    in.dropped = c->window_dropped;
    c->window_dropped = 0;
    for (size_t b = 0; b < h->nbuses; b++) {
        double fill = (double)c->q[b].count / (double)h->config.queue;
        if (c->wants[b] && fill > in.fill)
            in.fill = fill;
    }
    pthread_mutex_unlock(&h->lock);
    c->window_bytes = 0;
    c->window_start_ms = now;
    int change = frames_adapt_update(&c->adapt, &in, now);
    if (!change)
        return;
    frames_adapt_apply(c->adapt.step, (int)c->c.quality, (int)c->c.max_width, c->c.fps, &c->quality,
                       &c->width, &c->fps);
    if (c->m_step)
        metrics_gauge_set(c->m_step, c->adapt.step);
    char why[96];
    if (change > 0)
        snprintf(why, sizeof(why), "%llu dropped, queue %.0f%% full, %.0f B/s of %.0f",
                 (unsigned long long)in.dropped, in.fill * 100, in.bytes_per_s, in.budget);
    else
        snprintf(why, sizeof(why), "clear for %d s", FRAMES_ADAPT_CLEAR_S);
    log_info_kv(LOG_KV({"camera", c->c.id}),
                "frames: %s to step %d: quality %d, %d px wide, %.2f fps (%s)",
                change > 0 ? "down" : "up", c->adapt.step, c->quality, c->width, c->fps, why);
}

/* One pass over c (claimed). */
static void work(frames_hub *h, struct cam *c)
{
    uint64_t lost = frames_src_take_dropped(c->src);
    if (lost && c->m_skip_queue)
        metrics_counter_add(c->m_skip_queue, (double)lost);
    struct frame_ctx x = {.h = h, .c = c};
    uint64_t errors = frames_src_decode(c->src, on_frame, &x, x.err, sizeof(x.err));
    if (errors && c->m_skip_decode)
        metrics_counter_add(c->m_skip_decode, (double)errors);
    if (x.err[0] && !c->is_error_logged) {
        log_warn_kv(LOG_KV({"camera", c->c.id}), "frames: %s (logged once per camera)", x.err);
        c->is_error_logged = true;
    }
    int64_t now = mono_ms();
    if (c->nbatch && c->c.batch_ms > 0 && now - c->batch_since_ms >= c->c.batch_ms)
        flush(h, c);
    if (now - c->window_start_ms >= WINDOW_MS)
        adapt_tick(h, c, now);
}

/* With the hub's lock held: whether c wants a worker now. */
static bool is_due(struct cam *c, int64_t now)
{
    if (!c->src || c->is_busy)
        return false;
    return frames_src_has_work(c->src) || now - c->window_start_ms >= WINDOW_MS ||
           (c->nbatch && c->c.batch_ms > 0 && now - c->batch_since_ms >= c->c.batch_ms);
}

static void *worker_main(void *arg)
{
    frames_hub *h = arg;
    size_t next = 0;
    pthread_mutex_lock(&h->lock);
    while (!h->is_stopping) {
        struct cam *pick = NULL;
        int64_t now = mono_ms();
        for (size_t k = 0; k < h->ncams && !pick; k++) {
            struct cam *c = &h->cams[(next + k) % h->ncams];
            if (is_due(c, now)) {
                pick = c;
                next = (next + k + 1) % h->ncams;
            }
        }
        if (!pick) {
            struct timespec dl = horus_deadline_ms(POLL_MS);
            pthread_cond_timedwait(&h->cond, &h->lock, &dl);
            continue;
        }
        pick->is_busy = true;
        pthread_mutex_unlock(&h->lock);
        work(h, pick);
        pthread_mutex_lock(&h->lock);
        pick->is_busy = false;
        pthread_cond_broadcast(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int frames_hub_start(frames_hub *h)
{
    if (!h || h->ncams == 0 || h->threads)
        return 0;
    h->threads = horus_calloc((size_t)h->config.threads, sizeof(*h->threads));
    for (int64_t i = 0; i < h->config.threads; i++) {
        char name[16];
        snprintf(name, sizeof(name), "frm-%d", (int)(i % 1000));
        int rc = horus_thread_start(&h->threads[i], name, worker_main, h);
        if (rc < 0) {
            frames_hub_stop(h);
            return rc;
        }
        h->nthreads++;
    }
    log_info("frames: %zu camera(s) on %zu worker(s)", h->ncams, h->nthreads);
    return 0;
}

void frames_hub_stop(frames_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->is_stopping = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    h->nthreads = 0;
    free(h->threads);
    h->threads = NULL;
}

void frames_hub_free(frames_hub *h)
{
    if (!h)
        return;
    frames_hub_stop(h);
    for (size_t i = 0; i < h->ncams; i++) {
        struct cam *c = &h->cams[i];
        cam_detach(h, c);
        for (size_t b = 0; b < MAX_BUSES; b++)
            free(c->q[b].ring);
        free(c->c.id);
    }
    free(h->cams);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}

size_t frames_hub_take(frames_hub *h, const char *bus, struct frames_msg **out, size_t cap)
{
    int b = h ? bus_index(h, bus) : -1;
    if (b < 0 || h->ncams == 0)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    /* Cameras in turn, one message each a round, so one busy camera cannot starve the rest. */
    for (bool is_more = true; is_more && n < cap;) {
        is_more = false;
        for (size_t k = 0; k < h->ncams && n < cap; k++) {
            struct cam *c = &h->cams[(h->rr + k) % h->ncams];
            struct queue *q = &c->q[b];
            if (!q->count)
                continue;
            out[n++] = q->ring[q->head];
            q->head = (q->head + 1) % (size_t)h->config.queue;
            q->count--;
            is_more = is_more || q->count > 0;
        }
    }
    h->rr = (h->rr + 1) % h->ncams;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void frames_hub_done(frames_hub *h, const char *bus, struct frames_msg **msgs, size_t n,
                     size_t sent)
{
    int b = bus_index(h, bus);
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < n && b >= 0; i++) {
        struct cam *c = cam_find(h, msgs[i]->camera);
        if (!c || !c->src)
            continue;
        if (i < sent && c->m_published[b])
            metrics_counter_inc(c->m_published[b]);
        else if (i >= sent && c->m_drop_publish)
            metrics_counter_inc(c->m_drop_publish);
        if (i >= sent)
            c->window_dropped++;
    }
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < n; i++)
        msg_release(msgs[i]);
}
