/*
 * DESIGN: horus-camsim entry point. Parses the command line (args.c; bad
 * input exits 2 with a message), builds the one shared source (live
 * pattern encoder, pre-encoded pattern loop, or a demuxed file), learns the
 * parameter sets from its first keyframe, then listens, so a client that
 * can connect can also DESCRIBE. SIGTERM/SIGINT are blocked in every
 * thread and taken by the server's signalfd, which makes shutdown one
 * path: stop the encoder, close clients, exit 0.
 * Threads: main (server loop), cs-enc (live encoding only).
 */
#include "args.h"
#include "camsim.h"
#include "encoder.h"
#include "err.h"
#include "filesrc.h"
#include "server.h"
#include "source.h"

#include <libavutil/log.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Builds the source named by the options; fills info. Returns 0 or a negative code. */
static int source_open(const cs_options *o, cs_media_info *info, cs_encoder **enc, cs_source **src)
{
    cs_store store;
    cs_store_init(&store);
    int rc;
    if (o->source_path) {
        rc = cs_filesrc_load(o->source_path, o->has_audio, info, &store);
        if (rc < 0)
            return rc;
        *src = cs_source_new_replay(&store);
        return 0;
    }
    rc = cs_encoder_open(o, info, enc);
    if (rc < 0)
        return rc;
    const cs_au *first;
    if (o->loop_s) {
        rc = cs_encoder_encode_loop(*enc, o->loop_s, &store);
        if (rc < 0)
            return rc;
        *src = cs_source_new_replay(&store);
        first = cs_source_first_video(*src);
    } else {
        *src = cs_source_new_live();
        rc = cs_encoder_start(*enc, *src);
        if (rc < 0)
            return rc;
        first = cs_source_wait_video(*src, 20000);
    }
    if (!first || !first->is_keyframe) {
        fprintf(stderr, "horus-camsim: the encoder produced no keyframe\n");
        return HORUS_ECODEC;
    }
    return cs_media_info_take_params(info, first);
}

static void print_banner(const cs_options *o, const cs_media_info *info)
{
    const char *mode = o->source_path ? "file" : o->loop_s ? "loop" : "live";
    fprintf(stderr, "horus-camsim: serving rtsp://%s%s%s:%d/cam1..cam%d (%s %dx%d %d fps, %s%s, %s",
            strchr(o->listen_host, ':') ? "[" : "", o->listen_host,
            strchr(o->listen_host, ':') ? "]" : "", o->listen_port, o->paths,
            info->codec == CS_CODEC_H264 ? "h264" : "h265", info->width, info->height, info->fps,
            !info->has_audio                              ? "no audio"
            : info->audio_payload == CS_AUDIO_LATM        ? "aac latm"
            : info->audio_payload == CS_AUDIO_LATM_INBAND ? "aac latm-inband"
            : info->audio_payload == CS_AUDIO_PCMU        ? "g711 pcmu"
            : info->audio_payload == CS_AUDIO_PCMA        ? "g711 pcma"
                                                          : "aac",
            o->auth_user ? ", digest auth" : "", mode);
    if (!o->source_path)
        fprintf(stderr, ", %d kbit/s, gop %d%s", o->bitrate_kbps, o->gop_frames,
                o->has_bframes ? ", B-frames" : "");
    if (o->fault == CS_FAULT_DROP)
        fprintf(stderr, ", fault drop:%d", o->fault_s);
    else if (o->fault == CS_FAULT_STALL)
        fprintf(stderr, ", fault stall:%d", o->fault_s);
    else if (o->fault == CS_FAULT_REFUSE)
        fprintf(stderr, ", fault refuse");
    else if (o->fault == CS_FAULT_FLOOD)
        fprintf(stderr, ", fault flood:%d", o->fault_factor);
    else if (o->fault == CS_FAULT_GARBAGE)
        fprintf(stderr, ", fault garbage");
    else if (o->fault == CS_FAULT_NOTCP)
        fprintf(stderr, ", fault notcp");
    fprintf(stderr, ")\n");
}

int main(int argc, char **argv)
{
    cs_options opt;
    int rc = cs_options_parse(argc, argv, &opt);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    av_log_set_level(AV_LOG_ERROR);
    raise_fd_limit();

    cs_media_info info = {0};
    cs_encoder *enc = NULL;
    cs_source *src = NULL;
    cs_server *srv = NULL;
    rc = source_open(&opt, &info, &enc, &src);
    if (rc < 0) {
        fprintf(stderr, "horus-camsim: cannot start the source: %s\n", horus_strerror(rc));
        goto out;
    }
    info.audio_payload = opt.audio_payload;
    if (opt.fault == CS_FAULT_FLOOD)
        cs_source_set_speed(src, opt.fault_factor);
    if (opt.loop_s) {
        cs_encoder_free(enc); /* the loop is in memory; the encoder is no longer needed */
        enc = NULL;
    }
    if (opt.fault == CS_FAULT_GARBAGE)
        cs_nal_garble_sps(info.codec, info.sps, info.sps_len); /* the SDP's copy */
    rc = cs_server_open(&opt, &info, src, &srv);
    if (rc < 0)
        goto out;
    print_banner(&opt, &info);
    rc = cs_server_run(srv);
out:
    cs_encoder_stop(enc);
    cs_server_free(srv);
    cs_encoder_free(enc);
    cs_source_free(src);
    cs_media_info_release(&info);
    return rc < 0 ? 1 : 0;
}
