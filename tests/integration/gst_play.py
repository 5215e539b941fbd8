"""Plays one URL with GStreamer's playbin or playbin3 into fake sinks and prints one
JSON line about the video that reached the sink. A helper of test_players.py, run
with the system Python (/usr/bin/python3, which has python3-gi and python3-gst-1.0).

    gst_play.py [--element playbin|playbin3] [--seconds S] [--frames N] URL

The video sink is a fakesink with sync=true (frames are let through at their
presentation time, as a real display would) whose handoff signal counts every
buffer; audio goes to another fakesink. Playback stops at end of stream, at the
first error, after N frames, or S seconds of wall time after the pipeline was
started, whichever comes first. The line printed:

    {"element", "frames", "first_pts", "last_pts", "first_frame_s", "last_frame_s",
     "max_gap_s", "arrived", "arrived_first_pts", "arrived_first_s", "wall_s",
     "duration", "eos", "errors", "warnings", "timeout"}

frames are the buffers the sink rendered (handoff, after it waited for their time);
arrived those that reached its pad (a probe, before the wait): a sink holding a
frame whose running time lies far ahead shows as arrived > 0 with frames == 0.
pts in seconds (null without a frame); first_frame_s and last_frame_s are wall
seconds since the start, max_gap_s the longest wall time between two frames;
duration is what the pipeline reports once it plays (null when unknown, as for
live); errors and warnings are the bus messages' texts. The line is printed before
the pipeline is torn down, so a crash on the way out (hlsdemux2 in 1.22 sometimes
aborts in g_mutex_clear) does not lose it: the caller reads the line and judges
the numbers, not the exit status.
"""
import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def seconds(t):
    return None if t == Gst.CLOCK_TIME_NONE else t / Gst.SECOND


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--element", default="playbin", choices=("playbin", "playbin3"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--frames", type=int, default=0, help="stop after this many (0: no limit)")
    args = ap.parse_args()

    out = {"element": args.element, "frames": 0, "first_pts": None, "last_pts": None,
           "first_frame_s": None, "last_frame_s": None, "max_gap_s": 0.0, "arrived": 0,
           "arrived_first_pts": None, "arrived_first_s": None, "wall_s": None,
           "duration": None, "eos": False, "errors": [], "warnings": [], "timeout": False}
    Gst.init(None)
    player = Gst.ElementFactory.make(args.element, "player")
    vsink = Gst.ElementFactory.make("fakesink", "video")
    asink = Gst.ElementFactory.make("fakesink", "audio")
    if not player or not vsink or not asink:
        out["errors"].append(f"cannot make {args.element} or fakesink")
        print(json.dumps(out), flush=True)
        return 0
    vsink.set_property("sync", True)
    vsink.set_property("signal-handoffs", True)
    asink.set_property("sync", True)
    player.set_property("uri", args.url)
    player.set_property("video-sink", vsink)
    player.set_property("audio-sink", asink)

    loop = GLib.MainLoop()
    started = time.monotonic()

    def on_handoff(_sink, buf, _pad):  # streaming thread: only plain assignments here
        now = time.monotonic() - started
        pts = seconds(buf.pts)
        if out["frames"] == 0:
            out["first_pts"], out["first_frame_s"] = pts, now
        else:
            out["max_gap_s"] = max(out["max_gap_s"], now - out["last_frame_s"])
        out["frames"] += 1
        out["last_pts"], out["last_frame_s"] = pts, now
        if args.frames and out["frames"] >= args.frames:
            GLib.idle_add(loop.quit)

    def on_arrival(_pad, info):  # streaming thread, before the sink waits for the clock
        buf = info.get_buffer()
        if buf is not None:
            if out["arrived"] == 0:
                out["arrived_first_pts"] = seconds(buf.pts)
                out["arrived_first_s"] = time.monotonic() - started
            out["arrived"] += 1
        return Gst.PadProbeReturn.OK

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            out["eos"] = True
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            out["errors"].append(f"{msg.src.get_name()}: {err.message} ({debug})")
            loop.quit()
        elif msg.type == Gst.MessageType.WARNING:
            err, debug = msg.parse_warning()
            out["warnings"].append(f"{msg.src.get_name()}: {err.message} ({debug})")
        elif msg.type == Gst.MessageType.STATE_CHANGED and msg.src is player:
            _, new, _ = msg.parse_state_changed()
            if new == Gst.State.PLAYING and out["duration"] is None:
                ok, dur = player.query_duration(Gst.Format.TIME)
                out["duration"] = dur / Gst.SECOND if ok and dur > 0 else None

    def on_timeout():
        out["timeout"] = True
        loop.quit()
        return False

    vsink.connect("handoff", on_handoff)
    vsink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_arrival)
    bus = player.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(args.seconds * 1000), on_timeout)
    if player.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        out["errors"].append("the pipeline refused to start")
    else:
        loop.run()
    out["wall_s"] = time.monotonic() - started
    print(json.dumps(out), flush=True)
    player.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
