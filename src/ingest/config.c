/*
 * DESIGN: the `ingest:` section of horus.yaml (CONVENTIONS.md §7): which
 * RTSP client runs camera streams by default, and how many loop threads the
 * native client uses. Both are read at start (changing them needs a
 * restart): a stream keeps the client it started with.
 */
#include "rtsp_int.h"
#include "stream_int.h"

#include "cfg.h"

#include <stddef.h>

static const char *const client_names[] = {"native", "libav", NULL};

const cfg_field ing_config_fields[] = {
    {.name = "client",
     .type = CFG_ENUM,
     .offset = offsetof(struct ing_config, client),
     .def = "native",
     .enum_names = client_names,
     .help = "RTSP client for rtsp:// over TCP: native (ours, epoll loop threads) or libav "
             "(libavformat, one thread per stream); UDP and rtsps:// always use libav"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct ing_config, threads),
     .def = "0",
     .min = 0,
     .max = 64,
     .help = "Loop threads of the native client (ing-rtsp-N); 0 = one per CPU core"},
    {0},
};

void ing_config_apply(const struct ing_config *cfg)
{
    ing_config_client_set(cfg->client == 1 ? ING_CLIENT_LIBAV : ING_CLIENT_NATIVE);
    ing_loop_threads_set(cfg->threads > 0 ? (unsigned)cfg->threads : 0);
}
