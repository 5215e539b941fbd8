/*
 * DESIGN: deferred replies on suspended libmicrohttpd connections.
 *
 * A handler calls http_request_defer and returns; http.c then suspends the
 * connection (MHD_suspend_connection, which must run on the connection's
 * thread, inside the access handler). Any thread later stores a reply in
 * the http_deferred and resumes the connection; MHD calls the access
 * handler again on the connection's thread, which queues the stored reply.
 * So MHD_queue_response always runs where MHD expects it, and the request
 * keeps its state machine, access log and metrics.
 *
 * States (under d->lock): WAITING -> REPLIED (owner's reply, a deadline's
 * 503, or the stop's 503 stored) or WAITING -> ENDED (client gone). The
 * first transition wins; a later reply returns -ECANCELED. Whoever makes
 * the transition resumes the connection if it is suspended (is_suspended,
 * set by the connection thread right after it suspends). A reply that
 * arrives before the handler even returned is queued at once without
 * suspending: MHD_resume_connection is never called on a connection that
 * is not suspended (undefined behaviour in MHD).
 *
 * Hang-ups: MHD does not watch suspended sockets. The watcher thread
 * ("http-defer", an http_watch from http_watch.c) holds an epoll set with each suspended socket
 * registered for EPOLLRDHUP (not EPOLLIN: a pipelined next request is not a hang-up), and sleeps
 * until the nearest deadline. A hang-up or a deadline ends the request and resumes the connection,
 * then tells the owner (end_cb) with no lock held. epoll events carry the request's id, not its
 * pointer: the watcher looks the id up in the registry, so a request that completed in the meantime
 * is simply not found. A client that half-closes its sending side (shutdown(SHUT_WR)) while waiting
 * is taken as gone.
 *
 * Stop: http_defer_reg_stop answers every waiting request with 503 and
 * refuses new deferrals before MHD_stop_daemon, which must not find a
 * suspended connection. Handlers still running at that moment find their
 * reply stored and queue it without suspending. MHD_stop_daemon closes
 * connections without sending what is queued, so the stop waits (at most
 * STOP_DRAIN_MS) until every deferred request has completed.
 *
 * Lifetime: d is refcounted: the owner's handle, the connection's hold
 * (dropped when the request completes), and short holds by the watcher
 * and the stop while they call out. Lock order: reg->lock, then d->lock;
 * end_cb and MHD calls other than MHD_resume_connection run with no lock.
 */
#include "http_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "http"

#define DEFER_MAX_HEADERS 16
#define DEFER_MESSAGE_MAX 1024
#define STOP_DRAIN_MS 2000

enum defer_state {
    D_WAITING,
    D_REPLIED, /* a reply is stored (owner, deadline or stop) */
    D_ENDED, /* the client is gone: nothing to send */
};

struct defer_header {
    char *name; /* owned */
    char *value; /* owned */
};

struct http_deferred {
    _Atomic int refs;
    pthread_mutex_t lock;
    struct http_defer_reg *reg; /* borrowed: outlives every request */
    http_request *req; /* borrowed; touched only on the connection's thread */
    struct MHD_Connection *mhd; /* borrowed from MHD; resumed from any thread */
    int fd; /* the connection's socket, watched while suspended */
    uint64_t id;
    int64_t deadline_ns; /* 0 = none */
    http_defer_end_cb end_cb;
    void *end_arg;
    struct http_deferred *prev, *next; /* in reg->head, under reg->lock */
    /* under lock: */
    enum defer_state state;
    bool is_suspended;
    bool is_given_back; /* the owner's handle was consumed */
    /* the stored reply, taken by the connection thread */
    unsigned status;
    char *content_type; /* owned */
    const void *body;
    size_t len;
    void (*free_cb)(void *);
    void *free_arg;
    bool is_error;
    int error_rc;
    char *error_msg; /* owned */
    unsigned nheaders;
    struct defer_header headers[DEFER_MAX_HEADERS];
};

struct http_defer_reg {
    pthread_mutex_t lock;
    pthread_cond_t drained; /* signalled when the list empties while stopping */
    struct http_deferred *head; /* every deferred request not yet completed */
    uint64_t next_id;
    bool is_stopping;
    struct http_watch watch; /* its epoll id 0 is the wake-up; requests count from 1 */
    _Atomic int64_t wake_at_ns; /* when the watcher plans to wake; INT64_MAX = no deadline */
};

static int64_t mono_ns(void)
{
    return clock_monotonic_ns(clock_system());
}

static void defer_unref(http_deferred *d)
{
    if (!d || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (d->free_cb)
        d->free_cb(d->free_arg);
    free(d->content_type);
    free(d->error_msg);
    for (unsigned i = 0; i < d->nheaders; i++) {
        free(d->headers[i].name);
        free(d->headers[i].value);
    }
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Resumes the connection if it is suspended. Called with d->lock held. */
static void resume_locked(http_deferred *d)
{
    if (!d->is_suspended)
        return;
    d->is_suspended = false;
    http_watch_resume(&d->reg->watch, d->mhd, d->fd);
}

/* Stores an error reply (the deadline's or the stop's) for a waiting request. Lock held. */
static void store_error_locked(http_deferred *d, int rc, const char *msg)
{
    d->state = D_REPLIED;
    d->is_error = true;
    d->error_rc = rc;
    free(d->error_msg);
    d->error_msg = horus_strdup(msg);
    resume_locked(d);
}

/* ---- the owner's side ---- */

http_deferred *http_request_defer(http_request *req, unsigned timeout_ms, http_defer_end_cb end_cb,
                                  void *arg)
{
    struct http_deferred **slot = http_request_deferred_slot(req);
    struct http_defer_reg *reg = http_request_defer_reg(req);
    if (*slot || http_request_is_replied(req) || !reg)
        return NULL;
    http_deferred *d = horus_calloc(1, sizeof(*d));
    atomic_init(&d->refs, 2); /* the owner's handle and the connection's hold */
    pthread_mutex_init(&d->lock, NULL);
    d->reg = reg;
    d->req = req;
    d->mhd = http_request_mhd(req);
    d->fd = http_watch_conn_fd(d->mhd);
    d->end_cb = end_cb;
    d->end_arg = arg;
    d->state = D_WAITING;
    d->deadline_ns = timeout_ms ? mono_ns() + (int64_t)timeout_ms * 1000000 : 0;
    pthread_mutex_lock(&reg->lock);
    if (reg->is_stopping) {
        pthread_mutex_unlock(&reg->lock);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    d->id = ++reg->next_id;
    d->next = reg->head;
    if (reg->head)
        reg->head->prev = d;
    reg->head = d;
    pthread_mutex_unlock(&reg->lock);
    *slot = d;
    if (d->deadline_ns && d->deadline_ns < atomic_load(&reg->wake_at_ns))
        http_watch_wake(&reg->watch);
    return d;
}

/*
 * Stores a reply with fill (under d->lock, only while WAITING), resumes the
 * connection and consumes the owner's handle. Returns 0, or -ECANCELED when
 * the request had already ended (fill is not called).
 */
struct reply_fill {
    unsigned status;
    const char *content_type;
    const void *body;
    size_t len;
    void (*free_cb)(void *);
    void *free_arg;
    bool is_error;
    int error_rc;
    const char *error_msg;
};

static int give_back(http_deferred *d, const struct reply_fill *f)
{
    pthread_mutex_lock(&d->lock);
    if (d->is_given_back)
        HORUS_BUG("deferred request given back twice");
    d->is_given_back = true;
    int rc = -ECANCELED;
    if (d->state == D_WAITING && f) {
        d->state = D_REPLIED;
        d->status = f->status;
        d->content_type = f->content_type ? horus_strdup(f->content_type) : NULL;
        d->body = f->body;
        d->len = f->len;
        d->free_cb = f->free_cb;
        d->free_arg = f->free_arg;
        d->is_error = f->is_error;
        d->error_rc = f->error_rc;
        d->error_msg = f->error_msg ? horus_strdup(f->error_msg) : NULL;
        resume_locked(d);
        rc = 0;
    } else if (d->state == D_WAITING) {
        store_error_locked(d, -EIO, "the request was released without a reply");
    }
    pthread_mutex_unlock(&d->lock);
    if (rc < 0 && f && f->free_cb)
        f->free_cb(f->free_arg);
    defer_unref(d);
    return rc;
}

int http_deferred_reply_borrowed(http_deferred *d, unsigned status, const char *content_type,
                                 const void *body, size_t len, void (*free_cb)(void *),
                                 void *free_arg)
{
    return give_back(d, &(struct reply_fill){.status = status,
                                             .content_type = content_type,
                                             .body = body,
                                             .len = len,
                                             .free_cb = free_cb,
                                             .free_arg = free_arg});
}

int http_deferred_reply(http_deferred *d, unsigned status, const char *content_type,
                        const void *body, size_t len)
{
    void *copy = horus_malloc(len ? len : 1);
    if (len)
        memcpy(copy, body, len);
    return http_deferred_reply_borrowed(d, status, content_type, copy, len, free, copy);
}

int http_deferred_reply_error(http_deferred *d, int rc, const char *fmt, ...)
{
    char msg[DEFER_MESSAGE_MAX];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    } else {
        snprintf(msg, sizeof(msg), "%s", horus_strerror(rc));
    }
    return give_back(d, &(struct reply_fill){.is_error = true, .error_rc = rc, .error_msg = msg});
}

void http_deferred_release(http_deferred *d)
{
    if (d)
        give_back(d, NULL);
}

void http_deferred_header(http_deferred *d, const char *name, const char *value)
{
    if (!name || !value)
        return;
    pthread_mutex_lock(&d->lock);
    if (d->state == D_WAITING && d->nheaders < DEFER_MAX_HEADERS) {
        d->headers[d->nheaders].name = horus_strdup(name);
        d->headers[d->nheaders].value = horus_strdup(value);
        d->nheaders++;
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- the connection's side (Thread: the connection's) ---- */

/* Queues the stored reply on req. Returns false when there is none (client gone). */
static bool apply_reply(http_request *req, http_deferred *d)
{
    pthread_mutex_lock(&d->lock);
    enum defer_state state = d->state;
    unsigned nheaders = d->nheaders;
    struct defer_header headers[DEFER_MAX_HEADERS];
    memcpy(headers, d->headers, sizeof(headers));
    d->nheaders = 0;
    const void *body = d->body;
    void (*free_cb)(void *) = d->free_cb;
    void *free_arg = d->free_arg;
    d->free_cb = NULL;
    char *ctype = d->content_type, *msg = d->error_msg;
    d->content_type = d->error_msg = NULL;
    pthread_mutex_unlock(&d->lock);
    bool is_sent = state == D_REPLIED;
    for (unsigned i = 0; i < nheaders; i++) {
        if (is_sent)
            http_reply_header(req, headers[i].name, headers[i].value);
        free(headers[i].name);
        free(headers[i].value);
    }
    if (is_sent && d->is_error) {
        if (msg)
            http_reply_error(req, d->error_rc, "%s", msg);
        else
            http_reply_error(req, d->error_rc, NULL);
    } else if (is_sent) {
        http_reply_borrowed(req, d->status, ctype, body, d->len, free_cb, free_arg);
        free_cb = NULL; /* the reply frees it */
    }
    if (free_cb)
        free_cb(free_arg);
    free(ctype);
    free(msg);
    return is_sent;
}

bool http_defer_after_handler(http_request *req, int rc)
{
    http_deferred *d = *http_request_deferred_slot(req);
    pthread_mutex_lock(&d->lock);
    if (rc < 0 && d->state != D_ENDED) {
        /* The handler deferred, then failed: its error is the answer, whatever was stored. */
        d->state = D_REPLIED;
        d->is_error = true;
        d->error_rc = rc;
        free(d->error_msg);
        d->error_msg = NULL;
        if (d->free_cb)
            d->free_cb(d->free_arg);
        d->free_cb = NULL;
    }
    if (d->state != D_WAITING) {
        pthread_mutex_unlock(&d->lock);
        apply_reply(req, d);
        return false;
    }
    http_watch_suspend(&d->reg->watch, d->mhd, d->fd, d->id);
    d->is_suspended = true;
    pthread_mutex_unlock(&d->lock);
    return true;
}

bool http_defer_resumed(http_request *req)
{
    return apply_reply(req, *http_request_deferred_slot(req));
}

void http_defer_completed(http_request *req)
{
    struct http_deferred **slot = http_request_deferred_slot(req);
    http_deferred *d = *slot;
    if (!d)
        return;
    *slot = NULL;
    struct http_defer_reg *reg = d->reg;
    pthread_mutex_lock(&reg->lock);
    if (d->prev)
        d->prev->next = d->next;
    else
        reg->head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    if (reg->is_stopping && !reg->head)
        pthread_cond_broadcast(&reg->drained);
    pthread_mutex_unlock(&reg->lock);
    /* Normally REPLIED or ENDED by now; a request MHD aborted while waiting ends here. */
    pthread_mutex_lock(&d->lock);
    bool is_told = d->state == D_WAITING;
    if (is_told)
        d->state = D_ENDED;
    d->req = NULL;
    pthread_mutex_unlock(&d->lock);
    if (is_told && d->end_cb)
        d->end_cb(d, HTTP_DEFER_CLIENT_GONE, d->end_arg);
    defer_unref(d);
}

/* ---- the watcher ---- */

/* Takes a hold on the registered request with this id, or returns NULL. */
static http_deferred *find_ref(struct http_defer_reg *reg, uint64_t id)
{
    pthread_mutex_lock(&reg->lock);
    http_deferred *d = reg->head;
    while (d && d->id != id)
        d = d->next;
    if (d)
        atomic_fetch_add(&d->refs, 1);
    pthread_mutex_unlock(&reg->lock);
    return d;
}

static void on_hangup(void *arg, uint64_t id)
{
    struct http_defer_reg *reg = arg;
    http_deferred *d = find_ref(reg, id);
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    bool is_told = d->state == D_WAITING && d->is_suspended;
    if (is_told) {
        d->state = D_ENDED;
        resume_locked(d); /* MHD then finds the socket closed and completes the request */
    }
    pthread_mutex_unlock(&d->lock);
    if (is_told && d->end_cb)
        d->end_cb(d, HTTP_DEFER_CLIENT_GONE, d->end_arg);
    defer_unref(d);
}

/*
 * Ends every waiting request whose deadline passed (or every one, when
 * is_stop) with a stored 503, then tells the owners. Returns the nearest
 * deadline still pending, or INT64_MAX.
 */
static int64_t end_due(struct http_defer_reg *reg, int64_t now, bool is_stop)
{
    size_t n = 0, cap = 0;
    http_deferred **due = NULL;
    int64_t next = INT64_MAX;
    pthread_mutex_lock(&reg->lock);
    for (http_deferred *d = reg->head; d; d = d->next) {
        pthread_mutex_lock(&d->lock);
        bool is_due =
            d->state == D_WAITING && (is_stop || (d->deadline_ns && d->deadline_ns <= now));
        if (is_due) {
            if (is_stop)
                store_error_locked(d, HORUS_EUNAVAIL, "the server is stopping");
            else
                store_error_locked(d, HORUS_EUNAVAIL, "no answer before the request's deadline");
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                due = horus_realloc(due, cap * sizeof(*due));
            }
            atomic_fetch_add(&d->refs, 1);
            due[n++] = d;
        } else if (d->state == D_WAITING && d->deadline_ns && d->deadline_ns < next) {
            next = d->deadline_ns;
        }
        pthread_mutex_unlock(&d->lock);
    }
    pthread_mutex_unlock(&reg->lock);
    for (size_t i = 0; i < n; i++) {
        if (due[i]->end_cb)
            due[i]->end_cb(due[i], is_stop ? HTTP_DEFER_SERVER_STOP : HTTP_DEFER_TIMEOUT,
                           due[i]->end_arg);
        defer_unref(due[i]);
    }
    free(due);
    return next;
}

/* Ends the requests past their deadline; sleeps until the next one (or a wake-up). */
static int watch_tick(void *arg)
{
    struct http_defer_reg *reg = arg;
    int64_t next = end_due(reg, mono_ns(), false);
    atomic_store(&reg->wake_at_ns, next);
    if (next == INT64_MAX)
        return -1;
    int64_t left = (next - mono_ns() + 999999) / 1000000;
    return left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

int http_defer_reg_new(struct http_defer_reg **out)
{
    struct http_defer_reg *reg = horus_calloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    horus_cond_init_monotonic(&reg->drained);
    atomic_init(&reg->wake_at_ns, INT64_MAX);
    int rc = http_watch_start(&reg->watch, "http-defer", watch_tick, on_hangup, reg);
    if (rc < 0) {
        http_defer_reg_free(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

void http_defer_reg_stop(struct http_defer_reg *reg)
{
    if (!reg)
        return;
    pthread_mutex_lock(&reg->lock);
    reg->is_stopping = true;
    pthread_mutex_unlock(&reg->lock);
    end_due(reg, mono_ns(), true);
    /* Let the 503s go out: MHD_stop_daemon would close the connections with them queued. */
    struct timespec until = horus_deadline_ms(STOP_DRAIN_MS);
    pthread_mutex_lock(&reg->lock);
    while (reg->head && pthread_cond_timedwait(&reg->drained, &reg->lock, &until) == 0)
        ;
    bool is_drained = !reg->head;
    pthread_mutex_unlock(&reg->lock);
    if (!is_drained)
        log_warn("deferred requests still sending after %d ms; closing them", STOP_DRAIN_MS);
}

void http_defer_reg_free(struct http_defer_reg *reg)
{
    if (!reg)
        return;
    http_watch_stop(&reg->watch);
    if (reg->head)
        log_error("%s", "deferred requests left after the server stopped");
    pthread_cond_destroy(&reg->drained);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}
