/*
 * DESIGN: streamed replies on suspended libmicrohttpd connections
 * (docs/design/0042).
 *
 * A handler calls http_reply_stream: the reply is a chunked body read by
 * MHD through on_read, a content-reader callback, from the stream's
 * bounded byte ring. Any thread appends with http_stream_write. When the
 * ring is empty on_read suspends the connection (on its own thread, as MHD
 * requires) and returns 0; the next write, close, cut-off or stop resumes
 * it, and MHD calls on_read again. No thread waits for a client.
 *
 * A write that does not fit cuts the client off (HTTP_STREAM_OVERFLOW):
 * the ring is dropped and on_read ends the body with an error, so MHD
 * closes the connection. Memory per client is bounded by buffer_bytes.
 *
 * The registry's watcher thread ("http-stream", an http_watch shared in
 * shape with http_defer.c) does what MHD cannot for suspended sockets: it
 * watches them for hang-ups and writes the keep-alive bytes into streams
 * idle for keepalive_ms. Hang-ups carry the stream's id, looked up in the
 * list.
 *
 * Stop (before MHD_stop_daemon, which must not find a suspended
 * connection): new streams are refused, every open one ends
 * (HTTP_STREAM_SERVER_STOP) and is resumed so that its body ends cleanly,
 * then the stop waits up to STOP_DRAIN_MS for them to complete.
 *
 * Lifetime: refcounted by the owner's handle and the MHD response; the
 * response's free callback (request over: completed, aborted, or daemon
 * stop) unlists the stream and calls end_cb once with the reason of the
 * first end. Lock order: reg->lock, then st->lock; end_cb runs with none.
 */
#include "http_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "http"

#define DEFAULT_BUFFER_BYTES (64 * 1024)
#define BLOCK_BYTES 16384
#define STOP_DRAIN_MS 2000
#define MAX_SLEEP_MS 1000

enum stream_state {
    S_OPEN,
    S_ENDED, /* why says how; on_read ends the body */
};

struct http_stream {
    _Atomic int refs;
    pthread_mutex_t lock;
    struct http_stream_reg *reg; /* borrowed: outlives every stream */
    struct MHD_Connection *mhd; /* borrowed; resumed from any thread while suspended */
    int fd;
    uint64_t id;
    http_stream_end_cb end_cb;
    void *end_arg;
    struct http_stream *prev, *next; /* in reg->head, under reg->lock */
    bool is_listed; /* under reg->lock */
    unsigned keepalive_ms;
    char *keepalive; /* owned; NULL = none */
    size_t keepalive_len;
    /* under lock: */
    enum stream_state state;
    enum http_stream_end why;
    bool is_suspended;
    int64_t last_write_ns;
    char *buf; /* owned: a ring of cap bytes */
    size_t cap, head, len;
};

struct http_stream_reg {
    pthread_mutex_t lock;
    pthread_cond_t drained;
    struct http_stream *head;
    uint64_t next_id;
    size_t n;
    bool is_stopping;
    struct http_watch watch;
};

static int64_t mono_ns(void)
{
    return clock_monotonic_ns(clock_system());
}

static void stream_unref(http_stream *st)
{
    if (!st || atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(st->buf);
    free(st->keepalive);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Resumes the connection if suspended. st->lock held. */
static void resume_locked(http_stream *st)
{
    if (!st->is_suspended)
        return;
    st->is_suspended = false;
    http_watch_resume(&st->reg->watch, st->mhd, st->fd);
}

/* The first end wins; the connection is resumed so that on_read finishes the body. */
static void end_locked(http_stream *st, enum http_stream_end why)
{
    if (st->state != S_OPEN)
        return;
    st->state = S_ENDED;
    st->why = why;
    if (why != HTTP_STREAM_CLOSED && why != HTTP_STREAM_SERVER_STOP)
        st->len = 0; /* cut off: nothing more goes out */
    resume_locked(st);
}

static int write_locked(http_stream *st, const void *data, size_t len)
{
    if (st->state != S_OPEN)
        return -EPIPE;
    if (len > st->cap - st->len) {
        end_locked(st, HTTP_STREAM_OVERFLOW);
        return -ENOBUFS;
    }
    size_t tail = (st->head + st->len) % st->cap;
    size_t first = st->cap - tail < len ? st->cap - tail : len;
    memcpy(st->buf + tail, data, first);
    memcpy(st->buf, (const char *)data + first, len - first);
    st->len += len;
    st->last_write_ns = mono_ns();
    if (len)
        resume_locked(st);
    return 0;
}

/* ---- MHD callbacks (Thread: the connection's) ---- */

static ssize_t on_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    if (st->len > 0) {
        size_t n = st->len < max ? st->len : max;
        size_t first = st->cap - st->head < n ? st->cap - st->head : n;
        memcpy(out, st->buf + st->head, first);
        memcpy(out + first, st->buf, n - first);
        st->head = (st->head + n) % st->cap;
        st->len -= n;
        pthread_mutex_unlock(&st->lock);
        return (ssize_t)n;
    }
    if (st->state != S_OPEN) {
        bool is_clean = st->why == HTTP_STREAM_CLOSED || st->why == HTTP_STREAM_SERVER_STOP;
        pthread_mutex_unlock(&st->lock);
        return is_clean ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    /* Nothing to send: park the connection until a write, an end or a hang-up. */
    http_watch_suspend(&st->reg->watch, st->mhd, st->fd, st->id);
    st->is_suspended = true;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

/* The response is gone: the request is over, whatever ended it. */
static void on_free(void *cls)
{
    http_stream *st = cls;
    struct http_stream_reg *reg = st->reg;
    pthread_mutex_lock(&reg->lock);
    if (st->is_listed) {
        if (st->prev)
            st->prev->next = st->next;
        else
            reg->head = st->next;
        if (st->next)
            st->next->prev = st->prev;
        st->prev = st->next = NULL;
        st->is_listed = false;
        reg->n--;
        if (!reg->head)
            pthread_cond_broadcast(&reg->drained);
    }
    pthread_mutex_lock(&st->lock);
    if (st->state == S_OPEN) {
        st->state = S_ENDED;
        st->why = HTTP_STREAM_CLIENT_GONE;
    }
    if (st->is_suspended) { /* cannot happen: MHD frees no suspended response */
        st->is_suspended = false;
        http_watch_unwatch(&reg->watch, st->fd);
    }
    enum http_stream_end why = st->why;
    st->mhd = NULL;
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_unlock(&reg->lock);
    if (st->end_cb)
        st->end_cb(st, why, st->end_arg);
    stream_unref(st);
}

/* ---- the owner's side ---- */

int http_reply_stream(http_request *req, unsigned status, const char *content_type,
                      const struct http_stream_options *o, http_stream **out)
{
    *out = NULL;
    struct http_stream_reg *reg = http_request_stream_reg(req);
    if (http_request_is_replied(req))
        return -EALREADY;
    if (!reg)
        return -ESHUTDOWN;
    http_stream *st = horus_calloc(1, sizeof(*st));
    atomic_init(&st->refs, 2); /* the owner's handle and the response */
    pthread_mutex_init(&st->lock, NULL);
    st->reg = reg;
    st->mhd = http_request_mhd(req);
    st->fd = http_watch_conn_fd(st->mhd);
    st->cap = o && o->buffer_bytes ? o->buffer_bytes : DEFAULT_BUFFER_BYTES;
    st->buf = horus_malloc(st->cap);
    if (o && o->keepalive_ms && o->keepalive && o->keepalive[0]) {
        st->keepalive_ms = o->keepalive_ms;
        st->keepalive = horus_strdup(o->keepalive);
        st->keepalive_len = strlen(o->keepalive);
    }
    st->state = S_OPEN;
    st->last_write_ns = mono_ns();
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_BYTES, on_read, st, on_free);
    if (!resp) {
        atomic_store(&st->refs, 1);
        stream_unref(st);
        return -ENOMEM;
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass it on at once */
    pthread_mutex_lock(&reg->lock);
    if (reg->is_stopping) {
        pthread_mutex_unlock(&reg->lock);
        MHD_destroy_response(resp); /* on_free: unlisted, no end_cb yet */
        stream_unref(st);
        return -ESHUTDOWN;
    }
    st->id = ++reg->next_id;
    st->is_listed = true;
    st->next = reg->head;
    if (reg->head)
        reg->head->prev = st;
    reg->head = st;
    reg->n++;
    pthread_mutex_unlock(&reg->lock);
    /*
     * The response is freed on this connection's thread once the handler
     * has returned (or by MHD_stop_daemon after it), never before
     * http_reply_mhd returns: setting end_cb after a failed queue is moot.
     */
    int rc = http_reply_mhd(req, status, content_type, resp, 0);
    if (rc < 0) {
        stream_unref(st); /* on_free already ran without end_cb */
        return rc;
    }
    st->end_cb = o ? o->end_cb : NULL;
    st->end_arg = o ? o->arg : NULL;
    if (st->keepalive_ms)
        http_watch_wake(&reg->watch); /* the watcher may sleep longer than this keep-alive */
    *out = st;
    return 0;
}

int http_stream_write(http_stream *st, const void *data, size_t len)
{
    pthread_mutex_lock(&st->lock);
    int rc = write_locked(st, data, len);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

void http_stream_close(http_stream *st)
{
    pthread_mutex_lock(&st->lock);
    end_locked(st, HTTP_STREAM_CLOSED);
    pthread_mutex_unlock(&st->lock);
}

void http_stream_release(http_stream *st)
{
    if (!st)
        return;
    http_stream_close(st);
    stream_unref(st);
}

/* ---- the watcher ---- */

static void on_hangup(void *arg, uint64_t id)
{
    struct http_stream_reg *reg = arg;
    pthread_mutex_lock(&reg->lock);
    http_stream *st = reg->head;
    while (st && st->id != id)
        st = st->next;
    if (st) {
        pthread_mutex_lock(&st->lock);
        if (st->is_suspended)
            end_locked(st, HTTP_STREAM_CLIENT_GONE);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&reg->lock);
}

/* Writes keep-alives into idle streams; returns ms until the next one is due. */
static int keepalive_due(struct http_stream_reg *reg, int64_t now)
{
    int64_t next = now + (int64_t)MAX_SLEEP_MS * 1000000;
    pthread_mutex_lock(&reg->lock);
    for (http_stream *st = reg->head; st; st = st->next) {
        if (!st->keepalive_ms)
            continue;
        pthread_mutex_lock(&st->lock);
        int64_t due = st->last_write_ns + (int64_t)st->keepalive_ms * 1000000;
        if (st->state == S_OPEN && due <= now) {
            write_locked(st, st->keepalive, st->keepalive_len);
            due = now + (int64_t)st->keepalive_ms * 1000000;
        }
        pthread_mutex_unlock(&st->lock);
        if (due < next)
            next = due;
    }
    pthread_mutex_unlock(&reg->lock);
    int64_t ms = (next - now + 999999) / 1000000;
    return ms < 1 ? 1 : (int)ms;
}

static int watch_tick(void *arg)
{
    return keepalive_due(arg, mono_ns());
}

int http_stream_reg_new(struct http_stream_reg **out)
{
    struct http_stream_reg *reg = horus_calloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    horus_cond_init_monotonic(&reg->drained);
    int rc = http_watch_start(&reg->watch, "http-stream", watch_tick, on_hangup, reg);
    if (rc < 0) {
        http_stream_reg_free(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

void http_stream_reg_stop(struct http_stream_reg *reg)
{
    if (!reg)
        return;
    pthread_mutex_lock(&reg->lock);
    reg->is_stopping = true;
    for (http_stream *st = reg->head; st; st = st->next) {
        pthread_mutex_lock(&st->lock);
        end_locked(st, HTTP_STREAM_SERVER_STOP);
        pthread_mutex_unlock(&st->lock);
    }
    struct timespec until = horus_deadline_ms(STOP_DRAIN_MS);
    while (reg->head && pthread_cond_timedwait(&reg->drained, &reg->lock, &until) == 0)
        ;
    bool is_drained = !reg->head;
    pthread_mutex_unlock(&reg->lock);
    if (!is_drained)
        log_warn("streams still sending after %d ms; closing them", STOP_DRAIN_MS);
}

void http_stream_reg_free(struct http_stream_reg *reg)
{
    if (!reg)
        return;
    http_watch_stop(&reg->watch);
    if (reg->head)
        log_error("%s", "streams left after the server stopped");
    pthread_cond_destroy(&reg->drained);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}
