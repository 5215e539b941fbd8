/*
 * DESIGN: see net.h. getaddrinfo with AI_PASSIVE, every address tried in
 * order, the first that binds and listens kept. Thread: any.
 */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int horus_tcp_listen(const char *host, int port, int backlog, int *fd, uint16_t *bound_port)
{
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host && host[0] ? host : NULL, service, &hints, &res) != 0 || !res)
        return -EINVAL;
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, backlog) < 0) {
            rc = -errno;
            close(s);
            continue;
        }
        if (bound_port) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            getsockname(s, (struct sockaddr *)&ss, &sl);
            *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
        }
        *fd = s;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    return rc;
}
