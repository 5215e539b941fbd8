/*
 * DESIGN: the life of a TCP connection on the server: the struct http_conn
 * made when libmicrohttpd accepts it and freed when it closes (both
 * notifications run on the connection's pool thread, http-N), the client
 * address for logs, and the gauge of open connections.
 */
#include "http.h"
#include "http_int.h"

#include "mem.h"
#include "thread.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static _Thread_local bool is_thread_named;

static void conn_free(struct http_conn *c)
{
    if (!c)
        return;
    http_request_reset(&c->req);
    free(c->req.body);
    free(c);
}

const char *http_conn_remote(struct http_conn *c)
{
    if (c->remote[0])
        return c->remote;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *ok = NULL;
    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                       c->remote, sizeof(c->remote));
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                       c->remote, sizeof(c->remote));
    if (!ok)
        snprintf(c->remote, sizeof(c->remote), "unknown");
    return c->remote;
}

static void name_thread(http_server *s)
{
    if (is_thread_named)
        return;
    char name[16];
    snprintf(name, sizeof(name), "http-%u", atomic_fetch_add(&s->next_thread_id, 1));
    horus_thread_set_name(name);
    is_thread_named = true;
}

void http_conn_notify(void *cls, struct MHD_Connection *mhd, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        name_thread(s);
        struct http_conn *c = horus_calloc(1, sizeof(*c));
        c->srv = s;
        c->mhd = mhd;
        c->req.conn = c;
        *socket_context = c;
        if (s->s_connections)
            metrics_gauge_add(s->s_connections, 1);
        return;
    }
    conn_free(*socket_context);
    *socket_context = NULL;
    if (s->s_connections)
        metrics_gauge_add(s->s_connections, -1);
}

struct http_conn *http_conn_of(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}
