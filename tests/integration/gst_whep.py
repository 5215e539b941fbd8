"""A WHEP viewer made of GStreamer's webrtcbin (libnice's ICE, gstreamer1.0-nice): a real
peer other than a browser. A helper of test_webrtc_gst.py, run with the system Python
(/usr/bin/python3, which has python3-gi and the GstWebRTC typelib).

    gst_whep.py [--codec h264|h265] [--audio] [--seconds S] [--frames N] [--wait W]
                [--local-ip ADDR]... URL

libnice gathers no loopback candidates unless told to: --local-ip 127.0.0.1 does, for a
Horus that listens on 127.0.0.1. It adds a recvonly video transceiver offering only the codec asked for (and with --audio
a recvonly Opus one), creates the offer, waits for ICE gathering, POSTs the offer to URL
(the camera's /whep) with "Authorization: Bearer $HORUS_TOKEN" when that is set, sets the
answer, and decodes what arrives (rtph264depay ! avdec_h264, or rtph265depay !
avdec_h265) into a fakesink whose handoffs count the frames. It stops after N decoded
frames, at the first error, or S seconds after the POST (W more while the POST is
answered 503: the camera is not streaming yet), then prints one JSON line:

    {"codec", "status", "answer_codec", "frames", "first_frame_s", "width", "height",
     "audio_buffers", "errors", "timeout"}

status is the POST's HTTP status; answer_codec the rtpmap encoding the answer's video
line names; first_frame_s wall seconds from the POST to the first decoded frame;
width/height of the decoded caps; errors the bus's error texts, or the refusal's body.
"""
import argparse
import ctypes
import json
import os
import sys
import time
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

CODECS = {
    "h264": ("H264", "rtph264depay ! h264parse ! avdec_h264",
             "packetization-mode=(string)1,profile-level-id=(string)42e01f"),
    "h265": ("H265", "rtph265depay ! h265parse ! avdec_h265", None),
}


def ice_agent(webrtc):
    """webrtcbin's GstWebRTCICE. With Debian 12's GStreamer and PyGObject, reading the
    ice-agent property leaves the Python wrapper holding webrtcbin's only reference
    (__grefcount__ is 1): when the wrapper goes, webrtcbin's ICE object is freed under it.
    One more reference, taken here, is webrtcbin's again."""
    ice = webrtc.get_property("ice-agent")
    if ice.__grefcount__ < 2:
        capsule = ctypes.pythonapi.PyCapsule_GetPointer
        capsule.restype, capsule.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        gobject = ctypes.CDLL("libgobject-2.0.so.0")
        gobject.g_object_ref.restype, gobject.g_object_ref.argtypes = ctypes.c_void_p, [
            ctypes.c_void_p]
        gobject.g_object_ref(capsule(ice.__gpointer__, None))
    return ice


def post_offer(url, sdp, timeout=10):
    headers = {"Content-Type": "application/sdp"}
    token = os.environ.get("HORUS_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=sdp.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def answer_codec(sdp):
    """The encoding of the answer's video line's first payload type."""
    pt = None
    for line in sdp.splitlines():
        if line.startswith("m=video ") and pt is None:
            fields = line.split()
            pt = fields[3] if len(fields) > 3 and fields[1] != "0" else ""
        elif pt and line.startswith(f"a=rtpmap:{pt} "):
            return line.split()[1].split("/")[0]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--codec", default="h264", choices=sorted(CODECS))
    ap.add_argument("--audio", action="store_true", help="offer recvonly Opus too")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--frames", type=int, default=0, help="stop after this many (0: no limit)")
    ap.add_argument("--local-ip", action="append", default=[],
                    help="gather candidates on this address too (libnice skips loopback)")
    ap.add_argument("--wait", type=float, default=0.0,
                    help="POST again for this many seconds while the answer is 503")
    args = ap.parse_args()
    wait_until = time.monotonic() + args.wait
    enc, decode, fmtp = CODECS[args.codec]
    out = {"codec": args.codec, "status": None, "answer_codec": None, "frames": 0,
           "first_frame_s": None, "width": None, "height": None, "audio_buffers": 0,
           "errors": [], "timeout": False}

    Gst.init(None)
    pipe = Gst.Pipeline.new("viewer")
    webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
    if not webrtc:
        out["errors"].append("no webrtcbin (gstreamer1.0-plugins-bad)")
        print(json.dumps(out), flush=True)
        return 0
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    pipe.add(webrtc)
    if args.local_ip:
        ice = ice_agent(webrtc)
        for ip in args.local_ip:
            ice.emit("add-local-ip-address", ip)
    caps = (f"application/x-rtp,media=video,encoding-name={enc},clock-rate=90000,"
            "payload=102")
    if fmtp:
        caps += "," + fmtp
    webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                Gst.Caps.from_string(caps))
    if args.audio:
        webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                    Gst.Caps.from_string("application/x-rtp,media=audio,encoding-name=OPUS,"
                                         "clock-rate=48000,payload=111"))

    loop = GLib.MainLoop()
    posted = [None]
    sent = [False]

    def stop(why=None):
        if why:
            out["errors"].append(why)
        GLib.idle_add(loop.quit)

    def on_video(_sink, buf, pad):  # streaming thread
        if out["frames"] == 0:
            out["first_frame_s"] = time.monotonic() - posted[0]
            s = pad.get_current_caps().get_structure(0)
            out["width"], out["height"] = s.get_value("width"), s.get_value("height")
        out["frames"] += 1
        if args.frames and out["frames"] >= args.frames:
            stop()

    def on_audio(_sink, _buf, _pad):
        out["audio_buffers"] += 1

    def on_pad(_el, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        media = pad.get_current_caps().get_structure(0).get_string("media")
        desc = (decode + " ! videoconvert ! fakesink name=sink signal-handoffs=true sync=false"
                if media == "video" else "fakesink name=sink signal-handoffs=true sync=false")
        bin_ = Gst.parse_bin_from_description(desc, True)
        bin_.get_by_name("sink").connect("handoff", on_video if media == "video" else on_audio)
        pipe.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))

    def send_offer():
        offer = webrtc.get_property("local-description")
        status, body = post_offer(args.url, offer.sdp.as_text())
        while status == 503 and time.monotonic() < wait_until:  # the camera is not up yet
            time.sleep(0.3)
            status, body = post_offer(args.url, offer.sdp.as_text())
        posted[0] = time.monotonic()
        print(f"offer:\n{offer.sdp.as_text()}\nanswer {status}:\n{body}", file=sys.stderr)
        out["status"] = status
        if status != 201:
            stop(body.strip())
            return False
        out["answer_codec"] = answer_codec(body)
        res, msg = GstSdp.SDPMessage.new_from_text(body)
        if res != GstSdp.SDPResult.OK:
            stop("the answer does not parse as SDP")
            return False
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        return False

    def on_gathering(el, _pspec):
        if el.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE \
                and not sent[0]:
            sent[0] = True
            GLib.idle_add(send_offer)

    def on_offer(promise, _data):
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation(el):
        el.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    webrtc.connect("on-negotiation-needed", on_negotiation)
    webrtc.connect("notify::ice-gathering-state", on_gathering)
    webrtc.connect("pad-added", on_pad)

    def on_bus(_bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            stop(f"{msg.src.get_name()}: {err.message}")
        return True

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_bus)

    def on_timeout():
        out["timeout"] = True
        loop.quit()
        return False

    GLib.timeout_add(int((args.seconds + args.wait) * 1000), on_timeout)
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    print(json.dumps(out), flush=True)
    pipe.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
