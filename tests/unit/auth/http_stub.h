/*
 * A small real HTTP/1.1 server on 127.0.0.1 for the auth unit tests that
 * fetch (JWKS, discovery, token exchange): one thread, one request per
 * connection, routes matched by exact path with a status and a body the
 * test sets (and changes) under a lock, hits counted, the last request body
 * kept. The integration tests use a real IdP; this keeps unit tests fast
 * and able to serve what no sane IdP would (500s, huge or broken bodies).
 */
#ifndef HORUS_TEST_HTTP_STUB_H
#define HORUS_TEST_HTTP_STUB_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STUB_ROUTES 8

struct stub_route {
    char path[64];
    int status;
    char *body; /* owned */
    int hits;
};

struct http_stub {
    int fd, port;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    struct stub_route routes[STUB_ROUTES];
    char last_body[8192];
    char last_auth[512];
};

static inline void stub_set(struct http_stub *s, const char *path, int status, const char *body)
{
    pthread_mutex_lock(&s->mu);
    struct stub_route *r = NULL;
    for (int i = 0; i < STUB_ROUTES && !r; i++)
        if (strcmp(s->routes[i].path, path) == 0 || !s->routes[i].path[0])
            r = &s->routes[i];
    if (!r)
        abort(); /* more than STUB_ROUTES paths */
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->status = status;
    free(r->body);
    r->body = strdup(body);
    pthread_mutex_unlock(&s->mu);
}

static inline int stub_hits(struct http_stub *s, const char *path)
{
    pthread_mutex_lock(&s->mu);
    int n = 0;
    for (int i = 0; i < STUB_ROUTES; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            n = s->routes[i].hits;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static inline void stub_serve_one(struct http_stub *s, int c)
{
    char req[16384];
    size_t n = 0;
    char *end = NULL;
    while (n < sizeof(req) - 1) {
        ssize_t k = read(c, req + n, sizeof(req) - 1 - n);
        if (k <= 0)
            return;
        n += (size_t)k;
        req[n] = '\0';
        if ((end = strstr(req, "\r\n\r\n"))) {
            const char *cl = strcasestr(req, "content-length:");
            size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
            if (n >= (size_t)(end + 4 - req) + want)
                break;
        }
    }
    if (!end)
        return;
    char method[8], path[256];
    if (sscanf(req, "%7s %255s", method, path) != 2)
        return;
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    pthread_mutex_lock(&s->mu);
    snprintf(s->last_body, sizeof(s->last_body), "%s", end + 4);
    const char *auth = strcasestr(req, "authorization:");
    s->last_auth[0] = '\0';
    if (auth && auth < end)
        snprintf(s->last_auth, sizeof(s->last_auth), "%.*s", (int)strcspn(auth + 15, "\r"),
                 auth + 15);
    int status = 404;
    char *body = strdup("{}");
    for (int i = 0; i < STUB_ROUTES; i++) {
        if (strcmp(s->routes[i].path, path) == 0) {
            s->routes[i].hits++;
            status = s->routes[i].status;
            free(body);
            body = strdup(s->routes[i].body);
        }
    }
    pthread_mutex_unlock(&s->mu);
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, strlen(body));
    if (write(c, head, (size_t)hl) < 0 || write(c, body, strlen(body)) < 0) {
        /* the client went away; nothing to do */
    }
    free(body);
}

static inline void *stub_main(void *arg)
{
    struct http_stub *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        stub_serve_one(s, c);
        close(c);
    }
    return NULL;
}

static inline struct http_stub *stub_start(void)
{
    struct http_stub *s = calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 16) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) < 0)
        abort();
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, stub_main, s);
    return s;
}

static inline void stub_stop(struct http_stub *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < STUB_ROUTES; i++)
        free(s->routes[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

#endif
