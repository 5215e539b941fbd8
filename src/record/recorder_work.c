/*
 * DESIGN: the recorder's workers and the queues they serve
 * (docs/design/0011-recorder-isolation.md).
 *
 * Every camera stream has its own bounded queue (its quota of packets):
 * the sink, on the ingest thread, appends under the recorder's lock and
 * never waits; a full queue refuses the packet, which costs only that
 * camera (it is counted with its reason, and the next packet queued
 * carries is_resync so that the segment closes where the hole is). A
 * flooding camera therefore fills and drops its own queue, never
 * another's.
 *
 * Work is shared by a pool of "rec-<volume>-<n>" threads. A camera with
 * queued work sits once on a FIFO ready list; a worker takes the camera at
 * the head, marks it busy, handles at most BATCH of its packets without
 * the lock, and puts it back at the tail if more arrived. So a camera is
 * handled by one worker at a time, in order (its segment needs no lock),
 * cameras take turns (round robin, whatever their packet rate), and a
 * camera whose writes are slow holds one worker, not the pool.
 *
 * Every HASH_INTERVAL_NS one worker runs a hash round: it takes every
 * camera with an open segment that no worker holds (marking them busy,
 * listed ones too: ready_pop skips a held camera and release() lists it
 * again) and advances their SHA-256 together in vector lanes
 * (sha256_mb.c).
 *
 * Stop refuses new packets, lets the workers drain every queue (a queued
 * removal included), and joins them.
 *
 * Lock order: cameras_lock, then lock (recorder_int.h).
 */
#include "recorder_int.h"

#include "err.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Packets a worker takes from a camera before the next camera's turn. */
#define BATCH 32

/*
 * How often the open segments' hashes advance: long enough that most
 * cameras have bytes pending at once (they share the vector lanes), short
 * enough that the packets held for hashing stay small (~0.5 MB per
 * 4 Mbit/s camera per second).
 */
#define HASH_INTERVAL_NS (500 * 1000 * 1000LL)

/* Under lock. */
static void ready_push(rec_recorder *r, rec_camera *c)
{
    c->is_ready = true;
    c->ready_next = NULL;
    if (r->ready_tail)
        r->ready_tail->ready_next = c;
    else
        r->ready_head = c;
    r->ready_tail = c;
    pthread_cond_signal(&r->work_cond);
}

/*
 * Under lock: the first listed camera nobody holds. A camera a hash round
 * holds is taken off the list here; release() lists it again.
 */
static rec_camera *ready_pop(rec_recorder *r)
{
    rec_camera *c;
    while ((c = r->ready_head) != NULL) {
        r->ready_head = c->ready_next;
        if (!r->ready_head)
            r->ready_tail = NULL;
        c->is_ready = false;
        c->ready_next = NULL;
        if (!c->is_busy)
            return c;
    }
    return NULL;
}

/* Under lock: c has work and nobody holds it or lists it: list it. */
static void maybe_ready(rec_recorder *r, rec_camera *c)
{
    if (!c->is_busy && !c->is_ready && (c->q_len || c->is_removing))
        ready_push(r, c);
}

/* Under lock: grows c's ring (up to the quota) for one more item. */
static void queue_grow(rec_recorder *r, rec_camera *c)
{
    size_t cap = c->q_cap ? c->q_cap * 2 : 64;
    if (cap > r->camera_queue_max)
        cap = r->camera_queue_max;
    struct rec_item *q = horus_malloc(cap * sizeof(*q));
    for (size_t i = 0; i < c->q_len; i++)
        q[i] = c->q[(c->q_head + i) % c->q_cap];
    free(c->q);
    c->q = q;
    c->q_cap = cap;
    c->q_head = 0;
}

int rec_work_push(rec_recorder *r, rec_camera *c, media_packet *pkt, enum rec_drop_reason *why)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    if (r->is_closing) {
        *why = REC_DROP_STOPPING;
        rc = -ESHUTDOWN;
    } else if (c->q_len >= r->camera_queue_max) {
        *why = REC_DROP_QUEUE_FULL;
        rc = -ENOBUFS;
    }
    if (rc < 0) {
        c->is_resync_pending = true;
        goto out;
    }
    if (c->q_len == c->q_cap)
        queue_grow(r, c);
    c->q[(c->q_head + c->q_len) % c->q_cap] = (struct rec_item){
        .pkt = media_packet_ref(pkt),
        .is_resync = c->is_resync_pending,
    };
    c->q_len++;
    c->is_resync_pending = false;
    maybe_ready(r, c);
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void rec_work_mark_resync(rec_recorder *r, rec_camera *c)
{
    pthread_mutex_lock(&r->lock);
    c->is_resync_pending = true;
    pthread_mutex_unlock(&r->lock);
}

void rec_work_remove(rec_recorder *r, rec_camera *c)
{
    pthread_mutex_lock(&r->lock);
    c->is_removing = true;
    maybe_ready(r, c);
    pthread_mutex_unlock(&r->lock);
}

/* Under lock: takes up to n of c's queued items into out. */
static size_t queue_take(rec_camera *c, struct rec_item *out, size_t n)
{
    size_t k = 0;
    while (k < n && c->q_len) {
        out[k++] = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_len--;
    }
    return k;
}

/* Under lock: a worker let go of c (not removed). */
static void release(rec_recorder *r, rec_camera *c)
{
    c->is_busy = false;
    r->nbusy--;
    maybe_ready(r, c);
    if (!r->nbusy && !r->ready_head)
        pthread_cond_broadcast(&r->idle_cond);
}

/*
 * Advances the SHA-256 of the unheld cameras' open segments together. Called
 * and returns with lock held; drops it while hashing. The cameras are held
 * (busy) meanwhile, so their segments stay put and a removal waits.
 */
static void hash_round(rec_recorder *r)
{
    r->is_hashing = true;
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_lock(&r->cameras_lock);
    size_t ncams = 0;
    for (rec_camera *c = r->cameras; c; c = c->next)
        ncams++;
    rec_camera **held = horus_malloc((ncams ? ncams : 1) * sizeof(*held));
    rec_segment **segs = horus_malloc((ncams ? ncams : 1) * sizeof(*segs));
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    for (rec_camera *c = r->cameras; c; c = c->next) {
        if (c->is_busy || !c->seg)
            continue;
        c->is_busy = true;
        r->nbusy++;
        held[n] = c;
        segs[n++] = c->seg;
    }
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_unlock(&r->cameras_lock);
    for (size_t i = 0; i < n; i += 256)
        rec_segments_hash(segs + i, n - i < 256 ? n - i : 256);
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < n; i++)
        release(r, held[i]);
    free(held);
    free(segs);
    r->hashed_ns = clock_monotonic_ns(r->opt.clock);
    r->is_hashing = false;
}

/* Handles one turn of c: a batch of its packets, or its removal. Called and returns with lock. */
static void serve(rec_recorder *r, rec_camera *c)
{
    struct rec_item items[BATCH];
    c->is_busy = true;
    r->nbusy++;
    size_t n = queue_take(c, items, BATCH);
    bool is_removed = c->is_removing && !c->q_len;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        rec_segment_handle(r, c, items[i].pkt, items[i].is_resync);
        media_packet_unref(items[i].pkt);
    }
    if (is_removed)
        rec_camera_remove_now(r, c); /* c is gone */
    pthread_mutex_lock(&r->lock);
    if (!is_removed) {
        release(r, c);
    } else {
        r->nbusy--;
        if (!r->nbusy && !r->ready_head)
            pthread_cond_broadcast(&r->idle_cond);
    }
}

/* Waits on work_cond for at most ms (real time; the recorder's clock may be fake). */
static void wait_ms(rec_recorder *r, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + ms * 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&r->work_cond, &r->lock, &ts);
}

static void *worker_main(void *arg)
{
    rec_recorder *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        int64_t now = clock_monotonic_ns(r->opt.clock);
        if (!r->is_hashing && now - r->hashed_ns >= HASH_INTERVAL_NS) {
            hash_round(r);
            continue;
        }
        rec_camera *c = ready_pop(r);
        if (c) {
            serve(r, c);
            continue;
        }
        if (r->is_closing)
            break; /* nothing listed: the queues are drained (a busy camera's worker goes on) */
        wait_ms(r, HASH_INTERVAL_NS / 1000000);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int rec_work_start(rec_recorder *r)
{
    int rc = 0;
    r->threads = horus_calloc(r->nthreads, sizeof(*r->threads));
    r->hashed_ns = clock_monotonic_ns(r->opt.clock);
    for (unsigned i = 0; i < r->nthreads && rc == 0; i++) {
        char name[32]; /* the thread keeps the first 15 bytes */
        snprintf(name, sizeof(name), "rec-%.6s-%u", r->volume, i);
        rc = horus_thread_start(&r->threads[i], name, worker_main, r);
        if (rc == 0)
            r->nstarted++;
    }
    if (rc < 0)
        rec_work_stop(r);
    return rc;
}

void rec_work_stop(rec_recorder *r)
{
    pthread_mutex_lock(&r->lock);
    r->is_closing = true;
    pthread_cond_broadcast(&r->work_cond);
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < r->nstarted; i++)
        pthread_join(r->threads[i], NULL);
    r->nstarted = 0;
}

void rec_work_sync(rec_recorder *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->nbusy || r->ready_head)
        pthread_cond_wait(&r->idle_cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}
