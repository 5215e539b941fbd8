/*
 * DESIGN: the segments HTTP threads may play before their index row is
 * readable (docs/design/0032-open-segment-playback.md).
 *
 * Each rec_camera publishes two rec_views: the segment being written
 * (open_view) and the last one closed (closed_view, whose row travels
 * through the journal and the writer thread and may lag the rename by a
 * batch). A view names the file (relative to the data directory), the
 * codec string, size and the part index of the parts that pwritev wrote in
 * full, so a playlist, a timeline or a snapshot can use the bytes that are
 * on disk now instead of waiting up to segment_seconds for the row.
 *
 * The recorder never waits for readers:
 * - A part is appended without a lock: the worker writes parts[n], then
 *   stores n + 1 (release); a reader loads n (acquire) and copies
 *   parts[0..n), entries that never change again.
 * - view_lock guards only the two pointers: readers hold it to take a
 *   reference, the worker to swap a pointer (at open, at close, and when a
 *   full view is replaced by a larger copy), a few instructions each.
 *   Views are freed by their last reference, outside the lock.
 * - Allocation happens per segment (and per doubling), never per packet.
 *
 * Lock order: cameras_lock, then view_lock (innermost, like kf_lock).
 */
#include "recorder_int.h"

#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "record"

/* Parts a new view has room for beyond the segment's nominal count. */
#define VIEW_SLACK_PARTS 64

static struct rec_view *view_new(size_t cap)
{
    struct rec_view *v = horus_calloc(1, sizeof(*v) + cap * sizeof(v->parts[0]));
    atomic_init(&v->refs, 1);
    atomic_init(&v->n, 0);
    v->cap = cap;
    return v;
}

static struct rec_view *view_ref(struct rec_view *v)
{
    if (v)
        atomic_fetch_add(&v->refs, 1);
    return v;
}

static void view_unref(struct rec_view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    free(v->path);
    free(v);
}

/* path relative to data_dir when it lies under it, else as given. */
static char *relative_path(const rec_recorder *r, const char *path)
{
    size_t dlen = strlen(r->data_dir);
    if (strncmp(path, r->data_dir, dlen) == 0 && path[dlen] == '/')
        path += dlen + 1;
    return horus_strdup(path);
}

/* Swaps *slot for v under c's view lock; returns the old view (unref it outside). */
static struct rec_view *view_swap(rec_camera *c, struct rec_view **slot, struct rec_view *v)
{
    pthread_mutex_lock(&c->view_lock);
    struct rec_view *old = *slot;
    *slot = v;
    pthread_mutex_unlock(&c->view_lock);
    return old;
}

void rec_view_open(rec_recorder *r, rec_camera *c)
{
    uint32_t part_ms =
        r->opt.part_duration_ms ? r->opt.part_duration_ms : REC_PART_DURATION_MS_DEFAULT;
    size_t nominal = (size_t)(c->segment_90k / 90 / part_ms);
    struct rec_view *v = view_new(nominal + nominal / 2 + VIEW_SLACK_PARTS);
    v->start_us = atomic_load(&c->open_since_us);
    v->is_open = true;
    v->path = relative_path(r, rec_segment_path(c->seg));
    const media_stream *vs = c->seg_video, *as = c->seg_audio;
    snprintf(v->codec, sizeof(v->codec), "%s%s%s", vs ? vs->codec_string : "", vs && as ? "," : "",
             as ? as->codec_string : "");
    v->width = vs ? vs->width : 0;
    v->height = vs ? vs->height : 0;
    view_unref(view_swap(c, &c->open_view, v));
}

void rec_view_update(rec_camera *c)
{
    struct rec_view *v = c->open_view; /* only this worker changes the pointer */
    if (!v || !c->seg)
        return;
    size_t total;
    const struct sto_part *parts = rec_segment_parts(c->seg, &total);
    size_t n = atomic_load_explicit(&v->n, memory_order_relaxed);
    if (total <= n)
        return;
    if (total > v->cap) {
        /* Full: publish a larger copy; readers of the old one keep a valid prefix. */
        struct rec_view *big = view_new(total * 2);
        big->start_us = v->start_us;
        big->is_open = true;
        big->path = horus_strdup(v->path);
        memcpy(big->codec, v->codec, sizeof(big->codec));
        big->width = v->width;
        big->height = v->height;
        memcpy(big->parts, v->parts, n * sizeof(v->parts[0]));
        atomic_store_explicit(&big->n, n, memory_order_relaxed);
        view_unref(view_swap(c, &c->open_view, big));
        v = big;
    }
    for (size_t i = n; i < total; i++)
        v->parts[i] = parts[i];
    atomic_store_explicit(&v->n, total, memory_order_release);
}

void rec_view_close(rec_recorder *r, rec_camera *c, const struct rec_segment_info *info)
{
    struct rec_view *closed = NULL;
    if (info->path && info->index) {
        struct sto_part *parts = NULL;
        size_t n = 0;
        if (sto_index_decode(info->index, info->index_size, &parts, &n) == 0 && n > 0) {
            closed = view_new(n);
            closed->start_us = info->start_wall_us;
            closed->path = relative_path(r, info->path);
            snprintf(closed->codec, sizeof(closed->codec), "%s%s%s", info->video_codec,
                     info->video_codec[0] && info->audio_codec[0] ? "," : "", info->audio_codec);
            closed->width = info->width;
            closed->height = info->height;
            memcpy(closed->parts, parts, n * sizeof(parts[0]));
            atomic_store_explicit(&closed->n, n, memory_order_relaxed);
        }
        free(parts);
    }
    pthread_mutex_lock(&c->view_lock);
    struct rec_view *old_open = c->open_view, *old_closed = NULL;
    c->open_view = NULL;
    if (closed) {
        old_closed = c->closed_view;
        c->closed_view = closed;
    }
    pthread_mutex_unlock(&c->view_lock);
    view_unref(old_open);
    view_unref(old_closed);
}

void rec_view_release(rec_camera *c)
{
    view_unref(c->open_view);
    view_unref(c->closed_view);
    c->open_view = c->closed_view = NULL;
}

void rec_pending_segment_release(struct rec_pending_segment *p)
{
    free(p->path);
    free(p->parts);
    memset(p, 0, sizeof(*p));
}

/* Copies v (a reference the caller holds) into *out; false when it has no part yet. */
static bool copy_view(struct rec_view *v, struct rec_pending_segment *out)
{
    size_t n = atomic_load_explicit(&v->n, memory_order_acquire);
    if (n == 0)
        return false;
    const struct sto_part *last = &v->parts[n - 1];
    *out = (struct rec_pending_segment){
        .start_us = v->start_us,
        .end_us = v->start_us + (last->start_90k + last->duration_90k) * 100 / 9,
        .is_open = v->is_open,
        .path = horus_strdup(v->path),
        .width = v->width,
        .height = v->height,
        .parts = horus_malloc(n * sizeof(v->parts[0])),
        .nparts = n,
    };
    memcpy(out->codec, v->codec, sizeof(out->codec));
    memcpy(out->parts, v->parts, n * sizeof(v->parts[0]));
    return true;
}

int rec_recorder_pending(rec_recorder *r, const char *camera, const char *stream,
                         struct rec_pending_segment out[REC_PENDING_MAX], size_t *n)
{
    *n = 0;
    struct rec_view *views[REC_PENDING_MAX] = {NULL, NULL};
    bool is_found = false;
    pthread_mutex_lock(&r->cameras_lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        if (strcmp(c->camera, camera) != 0 || strcmp(c->stream, stream) != 0)
            continue;
        pthread_mutex_lock(&c->view_lock);
        views[0] = view_ref(c->closed_view);
        views[1] = view_ref(c->open_view);
        pthread_mutex_unlock(&c->view_lock);
        is_found = true;
        break;
    }
    pthread_mutex_unlock(&r->cameras_lock);
    for (size_t i = 0; i < REC_PENDING_MAX; i++) {
        if (views[i] && copy_view(views[i], &out[*n]))
            (*n)++;
        view_unref(views[i]);
    }
    return is_found ? 0 : -ENOENT;
}
