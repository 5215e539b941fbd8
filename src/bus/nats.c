/*
 * DESIGN: the NATS JetStream adapter (bus_client.h). One libnats
 * connection, made by connect() and thrown away by close(): libnats's own
 * reconnection is off, because the bus core owns retries, backoff and the
 * breaker, and a connection that reconnected by itself would hide lost
 * acknowledgements from it.
 *
 * connect() makes sure the JetStream stream exists: it creates it when
 * missing (subjects <prefix>.events.>, <prefix>.detections.>,
 * <prefix>.frames.>, file storage, the configured age/size limits and
 * replicas) and refuses an existing one that does not cover those
 * subjects, since a publish there would never be acknowledged.
 *
 * publish() sends the batch in order: reliable messages through JetStream
 * asynchronous publish, best-effort ones (frames) as core NATS messages
 * (the stream still stores them when it covers their subject, but nobody
 * waits). libnats calls on_ack on its own thread for every PubAck or
 * failure, handing the message back (on_ack frees it, so an address is
 * only reused after its answer); the adapter matches it by address against the
 * batch in flight (the table sent[]), under mu, and publish() waits on cv
 * until every reliable message of the batch is decided, the connection
 * closes or the deadline passes. The answer is the longest prefix of
 * decided-good messages, so a reordered acknowledgement never moves the
 * core's cursor past a message the server did not keep.
 *
 * Threads: the bus thread calls every function; libnats's threads call
 * on_ack and on_closed, which touch only the fields under mu.
 */
#include "nats.h"
#include "nats_int.h"

#include <errno.h>
#include <log.h>
#include <mask.h>
#include <mem.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "bus"

/* Pending JetStream publishes libnats keeps before publish calls stall. */
#define NATS_MAX_PENDING 16384

enum msg_state { MSG_PENDING = 0, MSG_DONE, MSG_FAILED };

struct nats_bus {
    struct bus_nats_config c; /* every string owned */
    char where[192]; /* "nats nats://host:port", userinfo masked */
    natsConnection *nc; /* owned; NULL when closed */
    jsCtx *js; /* owned */

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    natsMsg **sent; /* the batch in flight: addresses only, never dereferenced */
    unsigned char *state; /* enum msg_state per message of the batch */
    size_t batch_n; /* 0: no batch in flight */
    size_t batch_cap;
    size_t hint; /* where on_ack looks first: PubAcks come in order */
    size_t undecided; /* reliable messages of the batch without an answer */
    bool is_lost; /* libnats closed nc (its closed callback ran) */
    char fail[160]; /* the first refusal of the batch */
};

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* libnats's last error text for s, without its stack. */
static const char *nats_cause(natsStatus s)
{
    natsStatus last = NATS_OK;
    const char *text = nats_GetLastError(&last);
    if (last == s && text && *text) {
        /* libnats starts with where it failed: "(pub.c:92): Connection Closed". */
        if (text[0] == '(') {
            const char *end = strstr(text, "): ");
            if (end && end[3])
                return end + 3;
        }
        return text;
    }
    return natsStatus_GetText(s);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pa;
    struct nats_bus *b = closure;
    pthread_mutex_lock(&b->mu);
    size_t i = b->batch_n;
    for (size_t k = b->hint; k < b->batch_n; k++) {
        if (b->sent[k] == msg) {
            i = k;
            break;
        }
    }
    for (size_t k = 0; i == b->batch_n && k < b->hint && k < b->batch_n; k++) {
        if (b->sent[k] == msg)
            i = k;
    }
    if (i < b->batch_n && b->state[i] == MSG_PENDING) {
        if (pae) {
            b->state[i] = MSG_FAILED;
            if (!b->fail[0])
                snprintf(b->fail, sizeof b->fail, "publish to '%s' refused: %s (%d)",
                         natsMsg_GetSubject(msg),
                         pae->ErrText && *pae->ErrText ? pae->ErrText
                                                       : natsStatus_GetText(pae->Err),
                         (int)pae->ErrCode);
        } else {
            b->state[i] = MSG_DONE;
        }
        b->sent[i] = NULL;
        b->hint = i + 1;
        b->undecided--;
        if (b->undecided == 0)
            pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
    /* With an AckHandler the message is ours again (libnats's documented contract). */
    natsMsg_Destroy(msg);
}

/* Runs once per connection, on a libnats thread, after the connection closed for any reason. */
static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    struct nats_bus *b = closure;
    pthread_mutex_lock(&b->mu);
    b->is_lost = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/*
 * Closes the connection and waits (a few seconds at most) for its closed
 * callback: libnats calls it on a thread of its own after the close
 * returns, and it must not find b freed or a newer connection in place.
 */
static void nats_close(void *self)
{
    struct nats_bus *b = self;
    if (b->nc) {
        natsConnection_Close(b->nc);
        struct timespec deadline;
        deadline_after(&deadline, 5000);
        pthread_mutex_lock(&b->mu);
        while (!b->is_lost) {
            if (pthread_cond_timedwait(&b->cv, &b->mu, &deadline) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&b->mu);
    }
    if (b->js)
        jsCtx_Destroy(b->js);
    b->js = NULL;
    if (b->nc)
        natsConnection_Destroy(b->nc);
    b->nc = NULL;
    pthread_mutex_lock(&b->mu);
    b->batch_n = 0;
    b->undecided = 0;
    pthread_mutex_unlock(&b->mu);
}

/* Creates the stream, or checks that the existing one covers our subjects. */
static int stream_ensure(struct nats_bus *b, char *why, size_t cap)
{
    char subj[3][160];
    const char *subjects[3];
    static const char *const kinds[3] = {"events", "detections", "frames"};
    for (int i = 0; i < 3; i++) {
        snprintf(subj[i], sizeof subj[i], "%s.%s.>", b->c.subject_prefix, kinds[i]);
        subjects[i] = subj[i];
    }
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, b->c.stream, NULL, &jerr);
    if (s == NATS_OK) {
        int rc = 0;
        for (int i = 0; i < 3 && rc == 0; i++) {
            bool covered = false;
            for (int k = 0; k < si->Config->SubjectsLen && !covered; k++)
                covered = bus_nats_subject_covers(si->Config->Subjects[k], subjects[i]);
            if (!covered) {
                snprintf(why, cap, "%s: stream '%s' exists but does not cover subject '%s'",
                         b->where, b->c.stream, subjects[i]);
                rc = -EINVAL;
            }
        }
        jsStreamInfo_Destroy(si);
        return rc;
    }
    if (s == NATS_NO_RESPONDERS || s == NATS_NO_SERVER_SUPPORT) {
        snprintf(why, cap, "%s: JetStream is not enabled on the server", b->where);
        return -EPROTO;
    }
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
        snprintf(why, cap, "%s: stream '%s': %s", b->where, b->c.stream, nats_cause(s));
        return s == NATS_TIMEOUT ? -ETIMEDOUT : -EIO;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = b->c.stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 3;
    sc.Storage = js_FileStorage;
    sc.MaxAge = b->c.max_age_ms * 1000000; /* nanoseconds */
    sc.MaxBytes = b->c.max_bytes ? (int64_t)b->c.max_bytes : -1;
    sc.Replicas = b->c.replicas;
    jerr = 0;
    s = js_AddStream(&si, b->js, &sc, NULL, &jerr);
    if (s != NATS_OK) {
        snprintf(why, cap, "%s: create stream '%s': %s (%d)", b->where, b->c.stream, nats_cause(s),
                 (int)jerr);
        return s == NATS_NOT_PERMITTED ? -EACCES : -EIO;
    }
    jsStreamInfo_Destroy(si);
    log_info("nats stream '%s' created for %s.>", b->c.stream, b->c.subject_prefix);
    return 0;
}

static int nats_connect(void *self, int timeout_ms, char *why, size_t cap)
{
    struct nats_bus *b = self;
    nats_close(b);
    pthread_mutex_lock(&b->mu);
    b->is_lost = false;
    pthread_mutex_unlock(&b->mu);

    bool is_tls = strncmp(b->c.url, "tls://", 6) == 0 || (b->c.tls_ca && *b->c.tls_ca);
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, b->c.url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, timeout_ms > 0 ? timeout_ms : 1);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(o, false);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, 10000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, 3);
    /* A server that stops reading fails the publish instead of holding the bus thread. */
    if (s == NATS_OK)
        s = natsOptions_SetWriteDeadline(o, timeout_ms > 1000 ? timeout_ms : 1000);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(o, on_closed, b);
    if (s == NATS_OK && b->c.username && *b->c.username)
        s = natsOptions_SetUserInfo(o, b->c.username, b->c.password ? b->c.password : "");
    if (s == NATS_OK && b->c.token && *b->c.token)
        s = natsOptions_SetToken(o, b->c.token);
    if (s == NATS_OK && is_tls)
        s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && is_tls && b->c.tls_ca && *b->c.tls_ca) {
        s = natsOptions_LoadCATrustedCertificates(o, b->c.tls_ca);
        if (s != NATS_OK) {
            snprintf(why, cap, "%s: tls_ca '%s': %s", b->where, b->c.tls_ca, nats_cause(s));
            natsOptions_Destroy(o);
            return -EACCES;
        }
    }
    if (s == NATS_OK && is_tls && !b->c.tls_verify)
        s = natsOptions_SkipServerVerification(o, true);
    if (s != NATS_OK) {
        snprintf(why, cap, "%s: options: %s", b->where, nats_cause(s));
        natsOptions_Destroy(o);
        return -EINVAL;
    }
    s = natsConnection_Connect(&b->nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        b->nc = NULL;
        int rc = -EIO;
        if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED) {
            snprintf(why, cap, "%s: authorization refused (%s)", b->where, nats_cause(s));
            rc = -EACCES;
        } else if (s == NATS_SSL_ERROR) {
            snprintf(why, cap, "%s: TLS failed: %s", b->where, nats_cause(s));
            rc = -EACCES;
        } else if (s == NATS_NO_SERVER) {
            snprintf(why, cap, "%s: connection refused or unreachable", b->where);
            rc = -ECONNREFUSED;
        } else {
            snprintf(why, cap, "%s: %s", b->where, nats_cause(s));
            rc = s == NATS_TIMEOUT ? -ETIMEDOUT : -EIO;
        }
        return rc;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = timeout_ms > 0 ? timeout_ms : 1;
    jo.PublishAsync.MaxPending = NATS_MAX_PENDING;
    /* A batch beyond MaxPending waits for acknowledgements this long, not libnats's 200 ms. */
    jo.PublishAsync.StallWait = timeout_ms > 0 ? timeout_ms : 1;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = b;
    s = natsConnection_JetStream(&b->js, b->nc, &jo);
    if (s != NATS_OK) {
        b->js = NULL;
        snprintf(why, cap, "%s: JetStream context: %s", b->where, nats_cause(s));
        nats_close(b);
        return -EIO;
    }
    int rc = stream_ensure(b, why, cap);
    if (rc < 0)
        nats_close(b);
    return rc;
}

/* Makes the library's message for m: subject, body, headers, content type. */
static natsStatus msg_make(const struct bus_msg *m, natsMsg **out)
{
    natsMsg *nm = NULL;
    natsStatus s = natsMsg_Create(&nm, m->subject, NULL, m->body, (int)m->len);
    for (size_t h = 0; s == NATS_OK && h < m->nheaders; h++)
        s = natsMsgHeader_Add(nm, m->headers[h].name, m->headers[h].value);
    if (s == NATS_OK && m->content_type)
        s = natsMsgHeader_Set(nm, "Content-Type", m->content_type);
    if (s != NATS_OK) {
        natsMsg_Destroy(nm);
        nm = NULL;
    }
    *out = nm;
    return s;
}

/* Opens the batch table for n messages; every one pending. */
static void batch_open(struct nats_bus *b, size_t n)
{
    pthread_mutex_lock(&b->mu);
    if (n > b->batch_cap) {
        b->sent = horus_realloc(b->sent, n * sizeof *b->sent);
        b->state = horus_realloc(b->state, n);
        b->batch_cap = n;
    }
    memset(b->sent, 0, n * sizeof *b->sent);
    memset(b->state, MSG_PENDING, n);
    b->batch_n = n;
    b->hint = 0;
    b->undecided = 0;
    b->fail[0] = '\0';
    pthread_mutex_unlock(&b->mu);
}

static int nats_publish(void *self, const struct bus_msg *msgs, size_t n, int timeout_ms,
                        size_t *acked, char *why, size_t cap)
{
    struct nats_bus *b = self;
    *acked = 0;
    if (!b->nc) {
        snprintf(why, cap, "%s: not connected", b->where);
        return -ENOTCONN;
    }
    if (n == 0)
        return 0;
    struct timespec deadline;
    deadline_after(&deadline, timeout_ms);
    batch_open(b, n);

    size_t sent = 0;
    int rc = 0;
    char cause[160] = "";
    for (; sent < n; sent++) {
        const struct bus_msg *m = &msgs[sent];
        natsMsg *nm = NULL;
        natsStatus s = msg_make(m, &nm);
        if (s != NATS_OK) {
            snprintf(cause, sizeof cause, "message to '%s': %s", m->subject, nats_cause(s));
            rc = -EINVAL;
            break;
        }
        if (!m->is_reliable) {
            s = natsConnection_PublishMsg(b->nc, nm);
            natsMsg_Destroy(nm);
            pthread_mutex_lock(&b->mu);
            if (s == NATS_OK)
                b->state[sent] = MSG_DONE;
            pthread_mutex_unlock(&b->mu);
        } else {
            /* Known to on_ack before the library may answer. */
            pthread_mutex_lock(&b->mu);
            b->sent[sent] = nm;
            b->undecided++;
            pthread_mutex_unlock(&b->mu);
            natsMsg *keep = nm;
            s = js_PublishMsgAsync(b->js, &nm, NULL);
            if (s != NATS_OK) {
                pthread_mutex_lock(&b->mu);
                b->sent[sent] = NULL;
                b->undecided--;
                pthread_mutex_unlock(&b->mu);
                if (nm == keep)
                    natsMsg_Destroy(nm);
            }
        }
        if (s != NATS_OK) {
            snprintf(cause, sizeof cause, "publish to '%s': %s", m->subject, nats_cause(s));
            rc = s == NATS_CONNECTION_CLOSED ? -ENOTCONN : -EIO;
            break;
        }
    }

    bool is_timeout = false, is_lost = false;
    pthread_mutex_lock(&b->mu);
    while (b->undecided > 0 && !b->is_lost) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &deadline) == ETIMEDOUT) {
            is_timeout = b->undecided > 0;
            break;
        }
    }
    is_lost = b->is_lost;
    size_t k = 0;
    while (k < sent && b->state[k] == MSG_DONE)
        k++;
    char fail[sizeof b->fail];
    memcpy(fail, b->fail, sizeof fail);
    b->batch_n = 0;
    b->undecided = 0;
    pthread_mutex_unlock(&b->mu);

    *acked = k;
    if (k == n)
        return 0;
    if (fail[0]) {
        snprintf(why, cap, "%s: %s", b->where, fail);
        rc = -EIO;
    } else if (cause[0]) {
        snprintf(why, cap, "%s: %s", b->where, cause);
    } else if (is_lost) {
        snprintf(why, cap, "%s: connection lost with %zu of %zu messages acknowledged", b->where, k,
                 n);
        rc = -ENOTCONN;
    } else if (is_timeout) {
        snprintf(why, cap, "%s: no acknowledgement within %d ms (%zu of %zu acknowledged)",
                 b->where, timeout_ms, k, n);
        rc = -ETIMEDOUT;
    } else {
        snprintf(why, cap, "%s: %zu of %zu messages not sent", b->where, n - k, n);
        rc = -EIO;
    }
    return rc ? rc : -EIO;
}

static int nats_idle(void *self, int timeout_ms, char *why, size_t cap)
{
    struct nats_bus *b = self;
    if (!b->nc) {
        snprintf(why, cap, "%s: not connected", b->where);
        return -ENOTCONN;
    }
    struct timespec deadline;
    deadline_after(&deadline, timeout_ms);
    pthread_mutex_lock(&b->mu);
    while (!b->is_lost) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool is_lost = b->is_lost;
    pthread_mutex_unlock(&b->mu);
    if (is_lost) {
        snprintf(why, cap, "%s: connection lost", b->where);
        return -ENOTCONN;
    }
    return 0;
}

static void config_release(struct bus_nats_config *c)
{
    free(c->url);
    free(c->username);
    free(c->password);
    free(c->token);
    free(c->tls_ca);
    free(c->subject_prefix);
    free(c->stream);
}

static void nats_free(void *self)
{
    struct nats_bus *b = self;
    if (!b)
        return;
    nats_close(b);
    config_release(&b->c);
    free(b->sent);
    free(b->state);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* <prefix>.<kind>s.<camera>: horus.events.door, horus.detections.door, horus.frames.door. */
static void nats_subject(void *self, const char *kind, const char *camera_id, char *out, size_t cap)
{
    struct nats_bus *b = self;
    snprintf(out, cap, "%s.%ss.%s", b->c.subject_prefix, kind, camera_id);
}

static const struct bus_client_ops nats_ops = {
    .name = "nats",
    .connect = nats_connect,
    .publish = nats_publish,
    .idle = nats_idle,
    .close = nats_close,
    .free = nats_free,
    .subject = nats_subject,
};

static char *dup_or_empty(const char *s)
{
    return horus_strdup(s ? s : "");
}

int bus_nats_new(const struct bus_nats_config *c, void **self_out,
                 const struct bus_client_ops **ops_out)
{
    if (!c || !c->url || !*c->url || !c->subject_prefix || !*c->subject_prefix || !c->stream ||
        !*c->stream)
        return -EINVAL;
    struct nats_bus *b = horus_calloc(1, sizeof *b);
    b->c = *c;
    b->c.url = horus_strdup(c->url);
    b->c.username = dup_or_empty(c->username);
    b->c.password = dup_or_empty(c->password);
    b->c.token = dup_or_empty(c->token);
    b->c.tls_ca = dup_or_empty(c->tls_ca);
    b->c.subject_prefix = horus_strdup(c->subject_prefix);
    b->c.stream = horus_strdup(c->stream);
    if (b->c.replicas < 1)
        b->c.replicas = 1;
    char masked[160];
    snprintf(b->where, sizeof b->where, "nats %s", horus_mask_url(c->url, masked, sizeof masked));
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    *self_out = b;
    *ops_out = &nats_ops;
    return 0;
}
