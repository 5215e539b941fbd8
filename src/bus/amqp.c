/*
 * DESIGN: the AMQP 0-9-1 adapter (bus_client.h) on librabbitmq. One
 * connection with one channel (1), made by connect(): TCP or TLS, login
 * (PLAIN), channel.open, exchange.declare (topic, durable) and
 * confirm.select. librabbitmq has no thread of its own: everything here
 * runs on the bus thread, and heartbeats are answered whenever the adapter
 * reads (publish waiting for confirms, idle).
 *
 * Confirms. After confirm.select the broker numbers every publish on the
 * channel from 1 (delivery tags) and answers each with basic.ack or
 * basic.nack, "multiple" meaning every tag up to this one. The adapter
 * keeps the next tag; message i of a batch has tag first_tag + i. Reliable
 * messages go persistent (delivery mode 2) and mandatory, so a message no
 * queue takes comes back as basic.return (before its ack) instead of
 * vanishing; best-effort ones (frames) go transient, not mandatory, and
 * are done once written. publish() answers the longest prefix of done
 * messages. A nack fails its message. A return carries no delivery tag,
 * so the adapter fails the first pending reliable message with the
 * returned routing key and body: routing depends on the key alone, so
 * when several match, the first is unroutable too (or, were the bindings
 * changed meanwhile, failing it only shortens the prefix: safe). While it writes a large batch the
 * adapter reads what has arrived every PUBLISH_DRAIN messages, so that the broker's confirms never
 * fill the socket while the adapter only writes.
 *
 * Errors name "amqp host:port" and the cause (the broker's reply text,
 * librabbitmq's status); the password never appears. Refused login or
 * access (403, 530) and TLS failures are -EACCES.
 */
#include "bus_amqp.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <log.h>
#include <mem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define LOG_MODULE "bus"

#define AMQP_CHANNEL 1
#define AMQP_FRAME_MAX 131072
#define PUBLISH_DRAIN 256 /* messages written between two reads of the confirms */

enum msg_state { MSG_PENDING = 0, MSG_DONE, MSG_FAILED };

struct amqp_bus {
    char *url; /* owned; parsed into info (which points into it) */
    struct amqp_connection_info info;
    char *exchange; /* owned */
    char *tls_ca; /* owned; "" none */
    bool tls_verify;
    int heartbeat_s;
    char where[300]; /* "amqp host:port" */

    amqp_connection_state_t conn; /* owned; NULL when closed */
    bool is_broken; /* the socket failed: no goodbye on close */
    uint64_t next_tag; /* the delivery tag of the next publish */

    /* The batch in flight (bus thread only). */
    unsigned char *state; /* enum msg_state per message */
    size_t cap;
    size_t low; /* no message before this one is pending */
    amqp_table_entry_t *entries; /* one message's header table, reused */
    size_t entries_cap;
    size_t n; /* messages published so far in this batch */
    uint64_t first_tag;
    size_t undecided; /* reliable messages without ack or nack */
    char fail[512]; /* the first refusal of the batch */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_ms(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void bytes_text(amqp_bytes_t b, char *out, size_t cap)
{
    int len = b.len < cap ? (int)b.len : (int)cap - 1;
    snprintf(out, cap, "%.*s", len, (const char *)b.bytes);
}

/* Whether a library status means the TLS layer refused. */
static bool is_tls_status(int status)
{
    return status == AMQP_STATUS_SSL_ERROR || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED ||
           status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
           status == AMQP_STATUS_SSL_CONNECTION_FAILED;
}

/*
 * Turns an RPC reply into a code and a reason; what names the step
 * ("login", "exchange.declare 'horus'"). 0 for a normal reply.
 */
static int reply_error(struct amqp_bus *b, amqp_rpc_reply_t r, const char *what, char *why,
                       size_t cap)
{
    char text[220];
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        snprintf(why, cap, "%s: %s: no reply", b->where, what);
        b->is_broken = true;
        return -EPROTO;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        b->is_broken = true;
        snprintf(why, cap, "%s: %s: %s", b->where, what, amqp_error_string2(r.library_error));
        if (is_tls_status(r.library_error))
            return -EACCES;
        return r.library_error == AMQP_STATUS_TIMEOUT ? -ETIMEDOUT : -ECONNRESET;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        break;
    }
    uint16_t code = 0;
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *m = r.reply.decoded;
        code = m->reply_code;
        bytes_text(m->reply_text, text, sizeof text);
        amqp_connection_close_ok_t ok = {0};
        amqp_send_method(b->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        code = m->reply_code;
        bytes_text(m->reply_text, text, sizeof text);
        amqp_channel_close_ok_t ok = {0};
        amqp_send_method(b->conn, AMQP_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    } else {
        snprintf(text, sizeof text, "unexpected method 0x%08x", (unsigned)r.reply.id);
    }
    b->is_broken = true; /* the channel or the connection is gone either way */
    snprintf(why, cap, "%s: %s: %s", b->where, what, text);
    return code == AMQP_ACCESS_REFUSED || code == AMQP_NOT_ALLOWED ? -EACCES : -EPROTO;
}

static void amqp_bus_close(void *self)
{
    struct amqp_bus *b = self;
    if (!b->conn)
        return;
    if (!b->is_broken) {
        amqp_set_rpc_timeout(b->conn, &(struct timeval){.tv_sec = 1});
        amqp_channel_close(b->conn, AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(b->conn);
    b->conn = NULL;
    b->is_broken = false;
}

static int amqp_bus_connect(void *self, int timeout_ms, char *why, size_t cap)
{
    struct amqp_bus *b = self;
    amqp_bus_close(b);
    b->conn = amqp_new_connection();
    b->is_broken = true; /* until the login is through */
    amqp_socket_t *sock = b->info.ssl ? amqp_ssl_socket_new(b->conn) : amqp_tcp_socket_new(b->conn);
    if (!sock) {
        snprintf(why, cap, "%s: cannot make a socket", b->where);
        amqp_bus_close(b);
        return -ENOMEM;
    }
    if (b->info.ssl) {
        amqp_ssl_socket_set_verify_peer(sock, b->tls_verify);
        amqp_ssl_socket_set_verify_hostname(sock, b->tls_verify);
        if (*b->tls_ca) {
            int s = amqp_ssl_socket_set_cacert(sock, b->tls_ca);
            if (s != AMQP_STATUS_OK) {
                snprintf(why, cap, "%s: tls_ca '%s': %s", b->where, b->tls_ca,
                         amqp_error_string2(s));
                amqp_bus_close(b);
                return -EACCES;
            }
        }
    }
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    struct timeval tv = tv_ms(deadline - now_ms());
    int s = amqp_socket_open_noblock(sock, b->info.host, b->info.port, &tv);
    if (s != AMQP_STATUS_OK) {
        if (is_tls_status(s)) {
            snprintf(why, cap, "%s: TLS failed: %s", b->where, amqp_error_string2(s));
        } else if (s == AMQP_STATUS_TIMEOUT) {
            snprintf(why, cap, "%s: connect timed out", b->where);
        } else {
            snprintf(why, cap, "%s: connect: %s", b->where,
                     s == AMQP_STATUS_SOCKET_ERROR ? "connection refused or unreachable"
                                                   : amqp_error_string2(s));
        }
        amqp_bus_close(b);
        return is_tls_status(s) ? -EACCES : s == AMQP_STATUS_TIMEOUT ? -ETIMEDOUT : -ECONNREFUSED;
    }
    tv = tv_ms(deadline - now_ms());
    amqp_set_handshake_timeout(b->conn, &tv);
    amqp_set_rpc_timeout(b->conn, &tv);
    amqp_rpc_reply_t r = amqp_login(b->conn, b->info.vhost, 0, AMQP_FRAME_MAX, b->heartbeat_s,
                                    AMQP_SASL_METHOD_PLAIN, b->info.user, b->info.password);
    int rc = reply_error(b, r, "login", why, cap);
    if (rc == 0) {
        b->is_broken = false;
        amqp_channel_open(b->conn, AMQP_CHANNEL);
        rc = reply_error(b, amqp_get_rpc_reply(b->conn), "channel.open", why, cap);
    }
    if (rc == 0) {
        amqp_exchange_declare(b->conn, AMQP_CHANNEL, amqp_cstring_bytes(b->exchange),
                              amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
        char what[180];
        snprintf(what, sizeof what, "exchange.declare '%s'", b->exchange);
        rc = reply_error(b, amqp_get_rpc_reply(b->conn), what, why, cap);
    }
    if (rc == 0) {
        amqp_confirm_select(b->conn, AMQP_CHANNEL);
        rc = reply_error(b, amqp_get_rpc_reply(b->conn), "confirm.select", why, cap);
    }
    if (rc < 0) {
        amqp_bus_close(b);
        return rc;
    }
    b->next_tag = 1;
    return 0;
}

/* The batch index of tag, or SIZE_MAX when it belongs to no message of this batch. */
static size_t tag_index(const struct amqp_bus *b, uint64_t tag)
{
    if (tag < b->first_tag || tag - b->first_tag >= b->n)
        return SIZE_MAX;
    return (size_t)(tag - b->first_tag);
}

/* Marks tag (and, with multiple, every tag before it) acked or nacked. */
static void confirm(struct amqp_bus *b, uint64_t tag, bool multiple, bool is_ack,
                    const struct bus_msg *msgs)
{
    size_t hi = tag_index(b, tag);
    if (hi == SIZE_MAX) {
        if (!multiple || tag < b->first_tag)
            return; /* an earlier batch's best-effort message */
        hi = b->n - 1;
    }
    size_t lo = multiple ? b->low : hi;
    for (size_t i = lo; i <= hi; i++) {
        if (b->state[i] != MSG_PENDING)
            continue;
        b->state[i] = is_ack ? MSG_DONE : MSG_FAILED;
        if (msgs[i].is_reliable)
            b->undecided--;
        if (!is_ack && !b->fail[0])
            snprintf(b->fail, sizeof b->fail, "broker refused (nack) the message to '%s'",
                     msgs[i].subject);
    }
    while (b->low < b->n && b->state[b->low] != MSG_PENDING)
        b->low++;
}

/* Fails the first pending reliable message with this routing key and body (see DESIGN). */
static void return_match(struct amqp_bus *b, const struct bus_msg *msgs, amqp_bytes_t key,
                         amqp_bytes_t body)
{
    size_t first = SIZE_MAX, hit = SIZE_MAX;
    for (size_t i = b->low; i < b->n && hit == SIZE_MAX; i++) {
        const struct bus_msg *m = &msgs[i];
        if (b->state[i] != MSG_PENDING || !m->is_reliable)
            continue;
        if (first == SIZE_MAX)
            first = i;
        if (strlen(m->subject) == key.len && memcmp(m->subject, key.bytes, key.len) == 0 &&
            m->len == body.len && (m->len == 0 || memcmp(m->body, body.bytes, m->len) == 0))
            hit = i;
    }
    /* No match (the broker changed the message?): the first pending one, to stay safe. */
    if (hit == SIZE_MAX)
        hit = first;
    if (hit != SIZE_MAX) {
        b->state[hit] = MSG_FAILED;
        b->undecided--;
    }
    while (b->low < b->n && b->state[b->low] != MSG_PENDING)
        b->low++;
}

static size_t done_prefix(const struct amqp_bus *b)
{
    size_t k = 0;
    while (k < b->n && b->state[k] == MSG_DONE)
        k++;
    return k;
}

/*
 * Reads one frame within wait_ms and handles it: confirms, returns, a
 * closing channel or connection. Returns 1 when it handled a frame, 0
 * when none came, or a negative code with why written: the connection is
 * then lost.
 */
static int read_one(struct amqp_bus *b, const struct bus_msg *msgs, int64_t wait_ms, char *why,
                    size_t cap)
{
    amqp_frame_t f;
    struct timeval tv = tv_ms(wait_ms);
    int s = amqp_simple_wait_frame_noblock(b->conn, &f, &tv);
    if (s == AMQP_STATUS_TIMEOUT)
        return 0;
    if (s != AMQP_STATUS_OK) {
        b->is_broken = true;
        snprintf(why, cap, "%s: connection lost: %s", b->where, amqp_error_string2(s));
        return s == AMQP_STATUS_HEARTBEAT_TIMEOUT ? -ETIMEDOUT : -ECONNRESET;
    }
    if (f.frame_type != AMQP_FRAME_METHOD)
        return 1;
    amqp_method_t *m = &f.payload.method;
    int rc = 1;
    if (m->id == AMQP_BASIC_ACK_METHOD) {
        amqp_basic_ack_t *a = m->decoded;
        if (msgs)
            confirm(b, a->delivery_tag, a->multiple, true, msgs);
    } else if (m->id == AMQP_BASIC_NACK_METHOD) {
        amqp_basic_nack_t *a = m->decoded;
        if (msgs)
            confirm(b, a->delivery_tag, a->multiple, false, msgs);
    } else if (m->id == AMQP_BASIC_RETURN_METHOD) {
        amqp_basic_return_t *ret = m->decoded;
        char key[128], text[128];
        bytes_text(ret->routing_key, key, sizeof key);
        bytes_text(ret->reply_text, text, sizeof text);
        unsigned code = ret->reply_code;
        amqp_message_t body;
        amqp_rpc_reply_t r = amqp_read_message(b->conn, f.channel, &body, 0);
        if (msgs && r.reply_type == AMQP_RESPONSE_NORMAL)
            return_match(b, msgs, ret->routing_key, body.body);
        if (r.reply_type == AMQP_RESPONSE_NORMAL)
            amqp_destroy_message(&body);
        if (msgs) {
            if (!b->fail[0])
                snprintf(b->fail, sizeof b->fail,
                         "message to '%s' returned by exchange '%s': %u %s", key, b->exchange, code,
                         text);
        }
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            rc = reply_error(b, r, "basic.return", why, cap);
    } else if (m->id == AMQP_CHANNEL_CLOSE_METHOD || m->id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION, .reply = *m};
        rc = reply_error(b, r, "broker closed", why, cap);
        if (rc == -EPROTO)
            rc = -ECONNRESET;
    }
    amqp_maybe_release_buffers(b->conn);
    return rc;
}

static int publish_one(struct amqp_bus *b, const struct bus_msg *m)
{
    if (m->nheaders > b->entries_cap) {
        b->entries = horus_realloc(b->entries, m->nheaders * sizeof *b->entries);
        b->entries_cap = m->nheaders;
    }
    amqp_table_entry_t *entries = b->entries;
    for (size_t h = 0; h < m->nheaders; h++) {
        entries[h].key = amqp_cstring_bytes(m->headers[h].name);
        entries[h].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[h].value.value.bytes = amqp_cstring_bytes(m->headers[h].value);
    }
    amqp_basic_properties_t p = {
        ._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
        .delivery_mode = m->is_reliable ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT,
    };
    if (m->nheaders) {
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers = (amqp_table_t){.num_entries = (int)m->nheaders, .entries = entries};
    }
    if (m->content_type) {
        p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
        p.content_type = amqp_cstring_bytes(m->content_type);
    }
    amqp_bytes_t body = {.len = m->len, .bytes = (void *)m->body};
    return amqp_basic_publish(b->conn, AMQP_CHANNEL, amqp_cstring_bytes(b->exchange),
                              amqp_cstring_bytes(m->subject), m->is_reliable, 0, &p, body);
}

static int amqp_bus_publish(void *self, const struct bus_msg *msgs, size_t n, int timeout_ms,
                            size_t *acked, char *why, size_t cap)
{
    struct amqp_bus *b = self;
    *acked = 0;
    if (!b->conn || b->is_broken) {
        snprintf(why, cap, "%s: not connected", b->where);
        return -ENOTCONN;
    }
    if (n == 0)
        return 0;
    int64_t deadline = now_ms() + timeout_ms;
    /*
     * librabbitmq waits without a deadline when the socket will not take
     * more (a broker that stopped reading: paused, or blocked by a memory
     * alarm). TCP_USER_TIMEOUT makes the kernel drop a connection whose
     * data (or zero-window probes) the peer leaves unacknowledged this
     * long, and that wait then fails, so publish returns near its deadline
     * instead of holding the bus thread.
     */
    unsigned int user_timeout_ms = (unsigned int)(timeout_ms > 0 ? timeout_ms : 1);
    setsockopt(amqp_socket_get_sockfd(amqp_get_socket(b->conn)), IPPROTO_TCP, TCP_USER_TIMEOUT,
               &user_timeout_ms, sizeof user_timeout_ms);
    if (n > b->cap) {
        b->state = horus_realloc(b->state, n);
        b->cap = n;
    }
    memset(b->state, MSG_PENDING, n);
    b->n = 0;
    b->low = 0;
    b->first_tag = b->next_tag;
    b->undecided = 0;
    b->fail[0] = '\0';

    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (msgs[i].nheaders > 1024) {
            snprintf(why, cap, "%s: message to '%s' has %zu headers", b->where, msgs[i].subject,
                     msgs[i].nheaders);
            rc = -EINVAL;
            break;
        }
        int s = publish_one(b, &msgs[i]);
        if (s != AMQP_STATUS_OK) {
            b->is_broken = true;
            snprintf(why, cap, "%s: publish to '%s': %s", b->where, msgs[i].subject,
                     amqp_error_string2(s));
            rc = -ECONNRESET;
            break;
        }
        b->next_tag++;
        b->n++;
        if (msgs[i].is_reliable)
            b->undecided++;
        else
            b->state[i] = MSG_DONE;
        /* Take in what the broker said so far, without waiting. */
        if (b->n % PUBLISH_DRAIN == 0) {
            while ((rc = read_one(b, msgs, 0, why, cap)) == 1)
                ;
        }
    }
    bool is_timeout = false;
    while (rc == 0 && b->undecided > 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            is_timeout = true;
            break;
        }
        rc = read_one(b, msgs, left, why, cap);
        if (rc == 1)
            rc = 0;
    }
    size_t k = done_prefix(b);
    *acked = k;
    b->n = 0;
    if (k == n)
        return 0;
    if (b->fail[0] && rc == 0) {
        snprintf(why, cap, "%s: %s", b->where, b->fail);
        return -EIO;
    }
    if (rc < 0)
        return rc;
    if (is_timeout) {
        snprintf(why, cap, "%s: no confirm within %d ms (%zu of %zu confirmed)", b->where,
                 timeout_ms, k, n);
        return -ETIMEDOUT;
    }
    snprintf(why, cap, "%s: %zu of %zu messages not confirmed", b->where, n - k, n);
    return -EIO;
}

static int amqp_bus_idle(void *self, int timeout_ms, char *why, size_t cap)
{
    struct amqp_bus *b = self;
    if (!b->conn || b->is_broken) {
        snprintf(why, cap, "%s: not connected", b->where);
        return -ENOTCONN;
    }
    int64_t deadline = now_ms() + timeout_ms;
    int rc = 0;
    do {
        rc = read_one(b, NULL, deadline - now_ms(), why, cap);
    } while (rc >= 0 && now_ms() < deadline);
    return rc < 0 ? rc : 0;
}

static void amqp_bus_free(void *self)
{
    struct amqp_bus *b = self;
    if (!b)
        return;
    amqp_bus_close(b);
    free(b->url);
    free(b->exchange);
    free(b->tls_ca);
    free(b->state);
    free(b->entries);
    free(b);
}

static const struct bus_client_ops amqp_ops = {
    .name = "amqp",
    .connect = amqp_bus_connect,
    .publish = amqp_bus_publish,
    .idle = amqp_bus_idle,
    .close = amqp_bus_close,
    .free = amqp_bus_free,
};

int bus_amqp_new(const struct bus_amqp_config *c, void **self_out,
                 const struct bus_client_ops **ops_out)
{
    if (!c || !c->url || !c->exchange || !*c->exchange)
        return -EINVAL;
    struct amqp_bus *b = horus_calloc(1, sizeof *b);
    b->url = horus_strdup(c->url);
    amqp_default_connection_info(&b->info);
    if (amqp_parse_url(b->url, &b->info) != AMQP_STATUS_OK || !b->info.host || !*b->info.host) {
        amqp_bus_free(b);
        return -EINVAL;
    }
    b->exchange = horus_strdup(c->exchange);
    b->tls_ca = horus_strdup(c->tls_ca ? c->tls_ca : "");
    b->tls_verify = c->tls_verify;
    b->heartbeat_s = (int)((c->heartbeat_ms + 999) / 1000);
    snprintf(b->where, sizeof b->where, "amqp %s:%d", b->info.host, b->info.port);
    *self_out = b;
    *ops_out = &amqp_ops;
    return 0;
}
