/*
 * The RTSP server of horus-camsim: one epoll thread serving every path and
 * every client from one shared source.
 */
#ifndef HORUS_CAMSIM_SERVER_H
#define HORUS_CAMSIM_SERVER_H

#include "camsim.h"
#include "source.h"

typedef struct cs_server cs_server;

/*
 * Binds and listens on opt->listen_host:listen_port. opt, info and src are
 * borrowed and must outlive the server. SIGTERM and SIGINT must already be
 * blocked in every thread; the server takes them through a signalfd.
 * Returns 0 and a new server in *out, or -errno.
 */
int cs_server_open(const cs_options *opt, const cs_media_info *info, cs_source *src,
                   cs_server **out);

/* Serves until SIGTERM or SIGINT. Returns 0, or -errno when epoll fails. Thread: server. */
int cs_server_run(cs_server *srv);

/* Closes every connection and frees. NULL is a no-op. */
void cs_server_free(cs_server *srv);

#endif
