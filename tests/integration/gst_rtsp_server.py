#!/usr/bin/python3
"""A foreign RTSP server for the interop tests (issue 14: fidelity with real
cameras): GStreamer's gst-rtsp-server, driven through python3-gi, serving
streams made the way camera firmware and GStreamer make them rather than the
way horus-camsim does. Run it with Debian's /usr/bin/python3 (python3-gi).

    /usr/bin/python3 gst_rtsp_server.py --port 8554 [--mounts h264,h265]
                     [--auth user:password] [--resize-after 6] [--size 320x180]
                     [--keep-playing]

Mounts (all live test sources at 25 fps, shared between clients: one encoder
per mount whatever the number of clients; RTP over TCP and UDP both offered):

  /h264     H.264 (x264 zerolatency) + AAC as MPEG4-GENERIC AAC-hbr (rtpmp4gpay)
  /h264b    H.264 with three B-frames and a B-pyramid, video only
  /h265     H.265 (x265 zerolatency; VPS/SPS/PPS before every IDR picture)
  /latm     H.264 + AAC as MP4A-LATM (rtpmp4apay, configuration in the SDP)
  /sdponly  H.264 whose SPS/PPS are only in the SDP's sprop-parameter-sets
  /slices   H.264 with four slices per picture
  /slicesps the same with SPS/PPS before every IDR slice (rtph264pay config-interval=-1)
  /resize   H.264 at 640x360 that turns 320x180 --resize-after seconds after
            the pipeline starts (x264 starts again with a new SPS)
  /auth     H.264 behind Digest authentication (--auth user:password); the
            other mounts are open to anyone

Prints `ready <port>` on stdout once it listens (with --keep-playing, once
every mount but /resize and /auth is playing: see keep_playing) and runs until
SIGTERM/SIGINT. Each encoder runs on one thread so that the server stays cheap
on a small machine (all mounts at 320x180 take about a third of a core).
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

FPS = 25
KEYINT = 2 * FPS


def video_src(width, height, name="size"):
    return (f"videotestsrc is-live=true pattern=ball ! capsfilter name={name} "
            f"caps=video/x-raw,format=I420,width={width},height={height},framerate={FPS}/1")


def x264(extra="tune=zerolatency", keyint=KEYINT):
    # No access unit delimiters: cameras seldom send them, and without them a
    # receiver must find where a picture ends from the RTP marker and timestamp.
    return (f"x264enc speed-preset=ultrafast key-int-max={keyint} threads=1 aud=false "
            f"bitrate=600 {extra}")


# x264 repeats SPS/PPS in band before every IDR picture, as most cameras do (besides
# the SDP). The payloader adds none of its own (but on /slicesps).
H264_PAY = "rtph264pay name=pay0 pt=96"
AAC_SRC = ("audiotestsrc is-live=true wave=sine freq=440 samplesperbuffer=1024 ! "
           "audio/x-raw,rate=48000,channels=1 ! voaacenc bitrate=64000")


def launch_lines(size):
    w, h = size
    return {
        "h264": f"{video_src(w, h)} ! {x264()} ! {H264_PAY} "
                f"{AAC_SRC} ! rtpmp4gpay name=pay1 pt=97",
        # Not zerolatency, which turns B-frames off. One keyframe a second, so that a
        # 2 s recording holds a whole GOP before its last.
        "h264b": f"{video_src(w, h)} ! "
                 f"{x264('bframes=3 b-pyramid=true b-adapt=false', keyint=FPS)} ! "
                 f"video/x-h264,profile=main ! {H264_PAY}",
        "h265": f"{video_src(w, h)} ! x265enc tune=zerolatency speed-preset=ultrafast "
                f"key-int-max={KEYINT} bitrate=600 "
                "option-string=pools=1:frame-threads=1:lookahead-threads=0 ! "
                "rtph265pay name=pay0 pt=96 config-interval=-1",
        "latm": f"{video_src(w, h)} ! {x264()} ! {H264_PAY} "
                f"{AAC_SRC} ! rtpmp4apay name=pay1 pt=97",
        # x264 without repeat-headers writes the parameter sets only into the avc
        # codec_data, which the payloader (config-interval 0) copies into the
        # SDP's sprop-parameter-sets and nowhere else.
        "sdponly": f"{video_src(w, h)} ! "
                   f"{x264('tune=zerolatency option-string=repeat-headers=0')} ! "
                   "video/x-h264,stream-format=avc ! rtph264pay name=pay0 pt=96 config-interval=0",
        "slices": f"{video_src(w, h)} ! {x264('tune=zerolatency option-string=slices=4')} ! "
                  f"{H264_PAY}",
        # The same with the payloader's own parameter sets (config-interval=-1, common in
        # GStreamer-based senders): SPS and PPS go before every IDR *slice*, between the
        # slices of one picture (the RTP timestamp and marker still delimit it).
        "slicesps": f"{video_src(w, h)} ! {x264('tune=zerolatency option-string=slices=4')} ! "
                    f"{H264_PAY} config-interval=-1",
        "resize": f"{video_src(640, 360)} ! {x264()} ! {H264_PAY}",
        "auth": f"{video_src(w, h)} ! {x264()} ! {H264_PAY}",
    }


RESIZED = (320, 180)  # what /resize turns into
KEPT = []  # the pipelines of keep_playing, alive until the process exits


def parse_size(text):
    w, _, h = text.partition("x")
    return int(w), int(h)


def role_token(role):
    token = GstRtspServer.RTSPToken()  # gst_rtsp_token_new_empty
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, role)
    return token


def permissions(anonymous):
    """Everyone may see a mount (an anonymous client that may not construct its
    media is answered 401 with the Digest challenge; one that may not access it
    would get 404); only "user" may play /auth."""
    perms = GstRtspServer.RTSPPermissions()
    for role, play in (("user", True), ("anonymous", anonymous)):
        perms.add_permission_for_role(role, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role(role, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      play)
    return perms


def schedule_resize(media, seconds, size):
    """Changes the /resize pipeline's picture size `seconds` after it starts."""
    capsfilter = media.get_element().get_by_name("size")
    w, h = size

    def change():
        capsfilter.set_property("caps", Gst.Caps.from_string(
            f"video/x-raw,format=I420,width={w},height={h},framerate={FPS}/1"))
        print(f"resized to {w}x{h}", flush=True)
        return False
    GLib.timeout_add(int(seconds * 1000), change)


def keep_playing(port, mounts, on_flowing):
    """Plays each mount from inside the server (rtspsrc over TCP into fakesinks), so that its
    shared media runs from now on and a later client joins somewhere in a GOP, as it does a
    camera that has been streaming for a while. (Otherwise the first client starts the
    encoder and gets an IDR picture at once, which no camera promises.) Calls on_flowing in
    the main loop once every mount has delivered media: clients that came earlier could
    race this one preparing the shared media (gst-rtsp-server then answers 503)."""
    waiting = set(mounts)

    def flowing(name):
        if name in waiting:
            waiting.discard(name)
            if not waiting:
                on_flowing()
        return False

    def first_buffer(_pad, _info, name):
        GLib.idle_add(flowing, name)
        return Gst.PadProbeReturn.REMOVE

    for name in mounts:
        pipe = Gst.Pipeline.new(f"keep-{name}")
        src = Gst.ElementFactory.make("rtspsrc")
        src.set_property("location", f"rtsp://127.0.0.1:{port}/{name}")
        src.set_property("protocols", GstRtsp.RTSPLowerTrans.TCP)
        src.set_property("latency", 0)
        pipe.add(src)

        def link(_src, pad, pipe=pipe, name=name):
            sink = Gst.ElementFactory.make("fakesink")
            sink.set_property("sync", False)
            pipe.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))
            pad.add_probe(Gst.PadProbeType.BUFFER, first_buffer, name)
        src.connect("pad-added", link)
        pipe.set_state(Gst.State.PLAYING)
        KEPT.append(pipe)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mounts",
                    default="h264,h264b,h265,latm,sdponly,slices,slicesps,resize,auth",
                    help="comma-separated mount names (default: all)")
    ap.add_argument("--auth", default="user:secret", help="user:password of /auth (Digest)")
    ap.add_argument("--resize-after", type=float, default=6.0)
    ap.add_argument("--size", type=parse_size, default=(320, 180))
    ap.add_argument("--keep-playing", action="store_true",
                    help="play every open mount but /resize from the start (see keep_playing)")
    args = ap.parse_args()

    Gst.init(None)
    lines = launch_lines(args.size)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)  # no Basic
    auth.set_default_token(role_token("anonymous"))
    user, _, password = args.auth.partition(":")
    auth.add_digest(user, password, role_token("user"))
    server.set_auth(auth)

    mounts = server.get_mount_points()
    for name in args.mounts.split(","):
        if name not in lines:
            sys.exit(f"unknown mount {name!r}; known: {', '.join(lines)}")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( {lines[name]} )")
        factory.set_shared(True)
        # A client's PLAY (Range: npt=0-) would seek the shared pipeline: a flushing
        # seek that restarts the mount's encoders at an IDR picture for every client.
        # Cameras do neither: a client joins a running stream somewhere in a GOP and the
        # other clients see nothing of it. Publishing the clock and offset makes the
        # media unseekable (gst-rtsp-server's check_seekable), so PLAY does not seek.
        factory.set_publish_clock_mode(GstRtspServer.RTSPPublishClockMode.CLOCK_AND_OFFSET)
        factory.set_permissions(permissions(anonymous=name != "auth"))
        if name == "resize":
            factory.connect("media-configure",
                            lambda _f, media: schedule_resize(media, args.resize_after,
                                                              RESIZED))
        mounts.add_factory(f"/{name}", factory)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.port}")

    def ready():
        print(f"ready {args.port}", flush=True)

    if args.keep_playing:
        names = [m for m in args.mounts.split(",") if m not in ("resize", "auth")]
        keep_playing(args.port, names, ready)
    else:
        ready()
    loop.run()


if __name__ == "__main__":
    main()
