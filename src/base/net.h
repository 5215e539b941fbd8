/*
 * Listening sockets for the servers that are not libmicrohttpd's: the
 * RTSP re-stream server and horus-camsim. libc only.
 */
#ifndef HORUS_NET_H
#define HORUS_NET_H

#include <stdint.h>

/*
 * Binds a non-blocking, close-on-exec TCP socket to host (a numeric or
 * resolvable name; NULL or "" = every address) and port (0 = a free one),
 * with SO_REUSEADDR, and listens with backlog. The first address that
 * binds wins. Returns 0 with the socket in *fd and the bound port in
 * *bound_port (may be NULL); -EINVAL when host does not resolve, or the
 * -errno of the last failed socket, bind or listen. Thread: any.
 */
int horus_tcp_listen(const char *host, int port, int backlog, int *fd, uint16_t *bound_port);

#endif
