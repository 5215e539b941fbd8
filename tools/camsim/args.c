/*
 * DESIGN: the horus-camsim command line (docs/contract.md §4). Every option is
 * checked here, before anything starts: a bad flag or value prints what is
 * wrong plus the usage and makes main() exit 2. Options that describe an
 * encoding are rejected with --source rather than silently ignored.
 * Thread: main, at start.
 */
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: horus-camsim [--listen HOST:PORT] [--source FILE | --pattern] [--paths N]\n"
    "                    [--fps N] [--size WxH] [--bitrate KBPS] [--gop N]\n"
    "                    [--codec h264|h265] [--bframes] [--audio] [--auth USER:PASS]\n"
    "                    [--audio-payload hbr|latm|latm-inband|pcmu|pcma]\n"
    "                    [--fault drop:SECONDS | stall:SECONDS | refuse | flood:FACTOR |\n"
    "                             garbage | notcp | sr-skew:SECONDS | rtcp-garbage |\n"
    "                             reorder:N | duplicate:N]\n"
    "                    [--loop SECONDS] [--tls CERT KEY] [--write frame|packet]\n"
    "                    [--pacing burst|spread] [--jitter MS]\n"
    "                    [--verbose]\n";

static const char help_text[] =
    "\n"
    "An RTSP camera simulator: serves rtsp://HOST:PORT/cam1 .. camN, every path the same\n"
    "stream, encoded once and shared by all clients. Media goes over RTSP-interleaved TCP\n"
    "(RTP/AVP/TCP) or RTP/UDP unicast (RTP/AVP with client_port; the server port pair is\n"
    "picked from 20000-59999), whichever SETUP's Transport offers first; UDP clients join\n"
    "at the next keyframe and packets a full socket refuses are dropped. Multicast-only\n"
    "SETUPs are answered 461 Unsupported Transport.\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8554; [::1]:PORT for IPv6)\n"
    "  --pattern           generated picture (default): colour bars, a bouncing ball, and the\n"
    "                      UTC wall clock burnt in as YYYY-MM-DD HH:MM:SS.mmm\n"
    "  --source FILE       loop FILE's H.264/H.265 video (and its AAC audio with --audio)\n"
    "                      without re-encoding; timestamps keep growing across loops.\n"
    "                      --size, --fps, --bitrate, --gop, --codec, --bframes and --loop\n"
    "                      do not apply and are rejected\n"
    "  --paths N           number of paths cam1..camN (default 1, at most 10000)\n"
    "  --fps N             frames per second, 1..120 (default 25)\n"
    "  --size WxH          picture size, even numbers, 16x16..4096x2304 (default 640x360)\n"
    "  --bitrate KBPS      video bit rate in kbit/s, CBR (default 4000 scaled to the picture\n"
    "                      area: 4000 at 1920x1080, 444 at 640x360); H.264 pads with filler\n"
    "                      NAL units to hold it, H.265 treats it as a maximum\n"
    "  --gop N             keyframe interval in frames (default: --fps, one per second)\n"
    "  --codec h264|h265   video codec (default h264), libx264/libx265 ultrafast\n"
    "  --bframes           encode 2 B-frames between references (default: none)\n"
    "  --audio             add an AAC-LC track (48 kHz mono, a 1 kHz beep during the first\n"
    "                      100 ms of each wall clock second)\n"
    "  --audio-payload P   how AAC travels in RTP: hbr (RFC 3640 MPEG4-GENERIC AAC-hbr, the\n"
    "                      default), latm (RFC 6416 MP4A-LATM, cpresent=0 with the\n"
    "                      StreamMuxConfig in the SDP's config=, as GStreamer's rtpmp4apay)\n"
    "                      or latm-inband (MP4A-LATM, cpresent=1: the StreamMuxConfig in\n"
    "                      every AudioMuxElement, no config=); or pcmu / pcma: G.711\n"
    "                      (RFC 3551 payload types 0 / 8, 8 kHz mono, 20 ms a packet)\n"
    "                      instead of AAC, as many cameras send. Needs --audio\n"
    "  --auth USER:PASS    require RTSP Digest authentication (RFC 2617, realm\n"
    "                      \"horus-camsim\") for every method but OPTIONS; a missing or wrong\n"
    "                      Authorization gets 401 with a WWW-Authenticate challenge\n"
    "  --loop SECONDS      encode SECONDS (1..600) of pattern at start and replay them from\n"
    "                      memory; the cheapest mode for load tests, but the burnt-in clock\n"
    "                      repeats every SECONDS. Without it the pattern is encoded live and\n"
    "                      the clock is true (default)\n"
    "  --tls CERT KEY      serve RTSP over TLS (rtsps://HOST:PORT/camN) with the PEM\n"
    "                      certificate chain CERT and private key KEY (GnuTLS, TLS 1.2 or\n"
    "                      1.3); media goes interleaved on the TLS connection, and a SETUP\n"
    "                      asking for UDP gets 461 Unsupported Transport\n"
    "  --write frame|packet  how media leaves: frame (default) writes all of a frame's RTP\n"
    "                      packets (and any backlog) with one sendmsg/sendmmsg; packet\n"
    "                      writes each RTP packet (an interleaved TCP frame or a UDP\n"
    "                      datagram) with a send call of its own, as camera firmware and\n"
    "                      gst-rtsp-server do. The send calls and RTP packets are counted\n"
    "                      in a line printed at exit (SIGTERM/SIGINT)\n"
    "  --pacing burst|spread  with --write packet: burst (default) writes a frame's packets\n"
    "                      back to back; spread spaces them evenly over half the video frame\n"
    "                      interval, like an encoder's output through a NIC shaper\n"
    "                      (interleaved TCP and UDP alike)\n"
    "  --jitter MS         with --write packet: each frame starts a random 0..MS ms\n"
    "                      (0..1000, default 0) late, never before the frame ahead of it\n"
    "  --fault drop:N      close each client connection N seconds after it was accepted\n"
    "                      (TCP FIN; its UDP media stops with it); new connections are\n"
    "                      served normally, so a client that reconnects is dropped again\n"
    "                      every N seconds\n"
    "  --fault stall:N     N seconds after a client's PLAY, stop sending it media (TCP or\n"
    "                      UDP); the socket stays open and RTSP requests (GET_PARAMETER\n"
    "                      keep-alives, TEARDOWN) are still answered\n"
    "  --fault refuse      keep listening, but accept each connection and reset it at once\n"
    "                      (RST): clients see \"connection reset by peer\" / EOF\n"
    "  --fault flood:F     send media F times (2..1000) faster than real time: timestamps\n"
    "                      advance F seconds per wall-clock second (a camera whose clock\n"
    "                      races, or a server that bursts). Needs --loop or --source\n"
    "  --fault garbage     serve every SPS (in the SDP and in the stream) as garbage: media\n"
    "                      flows, but no client can decode or record it\n"
    "  --fault notcp       answer a SETUP that offers no UDP transport 461 Unsupported\n"
    "                      Transport (a server that refuses RTP over TCP)\n"
    "  --fault sr-skew:S   RTCP sender reports state a wall clock S seconds off (a camera\n"
    "                      whose NTP is wrong; S may be negative, up to 2000000000 either\n"
    "                      way: decades off); the media itself is on time\n"
    "  --fault reorder:N   UDP clients: every Nth RTP datagram is sent after the one that\n"
    "                      follows it (N >= 2; unpaced sends only)\n"
    "  --fault duplicate:N UDP clients: every Nth RTP datagram is sent twice\n"
    "  --fault rtcp-garbage  send a garbage RTCP packet (not version 2) on each track's RTCP\n"
    "                      channel or port before each sender report\n"
    "  --verbose, -v       log every request and connection\n"
    "  --help, -h          show this help\n"
    "\n"
    "Slow clients: each client's queue is bounded (4 MiB plus twice the current GOP); on\n"
    "overflow its queued media is dropped and it resumes at the next keyframe.\n"
    "SIGTERM or SIGINT closes every connection and exits 0. Exit status 2: bad arguments;\n"
    "1: could not start (port in use, unreadable file, encoder missing).\n";

/* Prints a usage error. Returns -EINVAL so callers can return it. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "horus-camsim: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%sTry 'horus-camsim --help'.\n", usage_text);
    return -EINVAL;
}

/* Parses a decimal integer in [lo, hi] into *out. */
static int parse_int(const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return usage_error("%s: '%s' is not a number in %d..%d", opt, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_listen(cs_options *o, const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return usage_error("--listen: '%s' is not HOST:PORT", s);
    const char *host = s;
    size_t host_len = (size_t)(colon - s);
    if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= sizeof(o->listen_host))
        return usage_error("--listen: bad host in '%s'", s);
    memcpy(o->listen_host, host, host_len);
    o->listen_host[host_len] = '\0';
    return parse_int("--listen", colon + 1, 1, 65535, &o->listen_port);
}

static int parse_size(cs_options *o, const char *s)
{
    int w, h;
    char tail;
    if (sscanf(s, "%dx%d%c", &w, &h, &tail) != 2 || w < 16 || h < 16 || w > 4096 || h > 2304 ||
        w % 2 || h % 2)
        return usage_error("--size: '%s' is not WxH with even W in 16..4096 and H in 16..2304", s);
    o->width = w;
    o->height = h;
    return 0;
}

static int parse_fault(cs_options *o, const char *s)
{
    if (strcmp(s, "refuse") == 0) {
        o->fault = CS_FAULT_REFUSE;
        return 0;
    }
    if (strncmp(s, "drop:", 5) == 0) {
        o->fault = CS_FAULT_DROP;
        return parse_int("--fault drop", s + 5, 1, 86400, &o->fault_s);
    }
    if (strncmp(s, "stall:", 6) == 0) {
        o->fault = CS_FAULT_STALL;
        return parse_int("--fault stall", s + 6, 1, 86400, &o->fault_s);
    }
    if (strncmp(s, "flood:", 6) == 0) {
        o->fault = CS_FAULT_FLOOD;
        return parse_int("--fault flood", s + 6, 2, 1000, &o->fault_factor);
    }
    if (strcmp(s, "garbage") == 0) {
        o->fault = CS_FAULT_GARBAGE;
        return 0;
    }
    if (strcmp(s, "notcp") == 0) {
        o->fault = CS_FAULT_NOTCP;
        return 0;
    }
    if (strncmp(s, "sr-skew:", 8) == 0) {
        o->fault = CS_FAULT_SR_SKEW;
        return parse_int("--fault sr-skew", s + 8, -2000000000, 2000000000, &o->fault_s);
    }
    if (strcmp(s, "rtcp-garbage") == 0) {
        o->fault = CS_FAULT_RTCP_GARBAGE;
        return 0;
    }
    if (strncmp(s, "reorder:", 8) == 0) {
        o->fault = CS_FAULT_REORDER;
        return parse_int("--fault reorder", s + 8, 2, 1000000, &o->fault_s);
    }
    if (strncmp(s, "duplicate:", 10) == 0) {
        o->fault = CS_FAULT_DUPLICATE;
        return parse_int("--fault duplicate", s + 10, 1, 1000000, &o->fault_s);
    }
    return usage_error("--fault: '%s' is not drop:SECONDS, stall:SECONDS, refuse, flood:FACTOR, "
                       "garbage, notcp, sr-skew:SECONDS, rtcp-garbage, reorder:N or "
                       "duplicate:N",
                       s);
}

static int parse_auth(cs_options *o, const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || strlen(colon + 1) > 256)
        return usage_error("--auth: '%s' is not USER:PASS", s);
    size_t n = (size_t)(colon - s);
    if (n >= sizeof(o->auth_user_buf))
        return usage_error("--auth: user name too long in '%s'", s);
    memcpy(o->auth_user_buf, s, n);
    o->auth_user_buf[n] = '\0';
    o->auth_user = o->auth_user_buf;
    o->auth_pass = colon + 1;
    return 0;
}

/* Options that describe an encoding, rejected with --source. */
enum {
    SET_PATTERN = 1 << 0,
    SET_SIZE = 1 << 1,
    SET_FPS = 1 << 2,
    SET_BITRATE = 1 << 3,
    SET_GOP = 1 << 4,
    SET_CODEC = 1 << 5,
    SET_BFRAMES = 1 << 6,
    SET_LOOP = 1 << 7,
};

static const char *const encoding_option_names[] = {
    "--pattern", "--size", "--fps", "--bitrate", "--gop", "--codec", "--bframes", "--loop",
};

static int parse_codec(cs_options *o, const char *val)
{
    if (strcmp(val, "h264") == 0)
        o->codec = CS_CODEC_H264;
    else if (strcmp(val, "h265") == 0)
        o->codec = CS_CODEC_H265;
    else
        return usage_error("--codec: '%s' is not h264 or h265", val);
    return 0;
}

static int parse_audio_payload(cs_options *o, const char *val)
{
    if (strcmp(val, "hbr") == 0)
        o->audio_payload = CS_AUDIO_HBR;
    else if (strcmp(val, "latm") == 0)
        o->audio_payload = CS_AUDIO_LATM;
    else if (strcmp(val, "latm-inband") == 0)
        o->audio_payload = CS_AUDIO_LATM_INBAND;
    else if (strcmp(val, "pcmu") == 0)
        o->audio_payload = CS_AUDIO_PCMU;
    else if (strcmp(val, "pcma") == 0)
        o->audio_payload = CS_AUDIO_PCMA;
    else
        return usage_error("--audio-payload: '%s' is not hbr, latm, latm-inband, pcmu or pcma",
                           val);
    o->has_audio_payload = true;
    return 0;
}

static int apply_option(cs_options *o, const char *name, const char *val, unsigned *set)
{
    if (strcmp(name, "--listen") == 0)
        return parse_listen(o, val);
    if (strcmp(name, "--source") == 0) {
        if (!val[0])
            return usage_error("--source: empty file name");
        o->source_path = val;
        return 0;
    }
    if (strcmp(name, "--paths") == 0)
        return parse_int(name, val, 1, 10000, &o->paths);
    if (strcmp(name, "--auth") == 0)
        return parse_auth(o, val);
    if (strcmp(name, "--fault") == 0)
        return parse_fault(o, val);
    if (strcmp(name, "--audio-payload") == 0)
        return parse_audio_payload(o, val);
    if (strcmp(name, "--write") == 0) {
        if (strcmp(val, "frame") != 0 && strcmp(val, "packet") != 0)
            return usage_error("--write: '%s' is not frame or packet", val);
        o->is_write_packet = strcmp(val, "packet") == 0;
        return 0;
    }
    if (strcmp(name, "--pacing") == 0) {
        if (strcmp(val, "burst") != 0 && strcmp(val, "spread") != 0)
            return usage_error("--pacing: '%s' is not burst or spread", val);
        o->is_pacing_spread = strcmp(val, "spread") == 0;
        return 0;
    }
    if (strcmp(name, "--jitter") == 0)
        return parse_int(name, val, 0, 1000, &o->jitter_ms);
    if (strcmp(name, "--fps") == 0) {
        *set |= SET_FPS;
        return parse_int(name, val, 1, 120, &o->fps);
    }
    if (strcmp(name, "--size") == 0) {
        *set |= SET_SIZE;
        return parse_size(o, val);
    }
    if (strcmp(name, "--bitrate") == 0) {
        *set |= SET_BITRATE;
        return parse_int(name, val, 50, 100000, &o->bitrate_kbps);
    }
    if (strcmp(name, "--gop") == 0) {
        *set |= SET_GOP;
        return parse_int(name, val, 1, 1000, &o->gop_frames);
    }
    if (strcmp(name, "--codec") == 0) {
        *set |= SET_CODEC;
        return parse_codec(o, val);
    }
    if (strcmp(name, "--loop") == 0) {
        *set |= SET_LOOP;
        return parse_int(name, val, 1, 600, &o->loop_s);
    }
    return usage_error("unknown option '%s'", name);
}

static bool takes_value(const char *name)
{
    static const char *const with_value[] = {"--listen", "--source",  "--paths", "--fps",
                                             "--size",   "--bitrate", "--gop",   "--codec",
                                             "--auth",   "--fault",   "--loop",  "--audio-payload",
                                             "--write",  "--pacing",  "--jitter"};
    for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++) {
        if (strcmp(name, with_value[i]) == 0)
            return true;
    }
    return false;
}

/* Handles a flag without value. Returns 1 when it was one, 0 when not, 2 for --help. */
static int apply_flag(cs_options *o, const char *name, unsigned *set)
{
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return 2;
    if (strcmp(name, "--pattern") == 0) {
        *set |= SET_PATTERN;
    } else if (strcmp(name, "--bframes") == 0) {
        o->has_bframes = true;
        *set |= SET_BFRAMES;
    } else if (strcmp(name, "--audio") == 0) {
        o->has_audio = true;
    } else if (strcmp(name, "--verbose") == 0 || strcmp(name, "-v") == 0) {
        o->is_verbose = true;
    } else {
        return 0;
    }
    return 1;
}

static void set_defaults(cs_options *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->listen_host, sizeof(o->listen_host), "127.0.0.1");
    o->listen_port = 8554;
    o->paths = 1;
    o->fps = 25;
    o->width = 640;
    o->height = 360;
}

int cs_options_parse(int argc, char **argv, cs_options *o)
{
    set_defaults(o);
    unsigned set = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char name[32];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq && (size_t)(eq - arg) < sizeof(name)) {
            memcpy(name, arg, (size_t)(eq - arg));
            name[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(name, sizeof(name), "%s", arg);
        }
        if (strcmp(name, "--tls") == 0) {
            /* Two values: --tls CERT KEY. */
            if (val || i + 2 >= argc)
                return usage_error("--tls needs two values: CERT KEY");
            o->tls_cert = argv[++i];
            o->tls_key = argv[++i];
            if (!o->tls_cert[0] || !o->tls_key[0])
                return usage_error("--tls: empty file name");
            continue;
        }
        int flag = val ? 0 : apply_flag(o, name, &set);
        if (flag == 2) {
            fputs(usage_text, stdout);
            fputs(help_text, stdout);
            return 1;
        }
        if (flag == 1)
            continue;
        if (!takes_value(name))
            return usage_error("unknown option '%s'", arg);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", name);
            val = argv[++i];
        }
        int rc = apply_option(o, name, val, &set);
        if (rc < 0)
            return rc;
    }
    if (o->source_path) {
        for (size_t b = 0; b < sizeof(encoding_option_names) / sizeof(encoding_option_names[0]);
             b++) {
            if (set & (1u << b))
                return usage_error("%s does not apply with --source", encoding_option_names[b]);
        }
    }
    if ((o->is_pacing_spread || o->jitter_ms) && !o->is_write_packet)
        return usage_error("--pacing spread and --jitter need --write packet");
    if (o->has_audio_payload && !o->has_audio)
        return usage_error("--audio-payload needs --audio");
    if ((o->audio_payload == CS_AUDIO_PCMU || o->audio_payload == CS_AUDIO_PCMA) && o->source_path)
        return usage_error(
            "--audio-payload pcmu and pcma need the generated picture (not --source)");
    if (o->fault == CS_FAULT_FLOOD && !o->source_path && !o->loop_s)
        return usage_error("--fault flood needs --loop or --source (a replay can run fast)");
    if (!o->gop_frames)
        o->gop_frames = o->fps;
    if (!o->bitrate_kbps) {
        int64_t kbps = (int64_t)4000 * o->width * o->height / (1920 * 1080);
        o->bitrate_kbps = kbps < 100 ? 100 : (int)kbps;
    }
    return 0;
}
