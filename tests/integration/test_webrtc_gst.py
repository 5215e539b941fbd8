"""WebRTC out (WHEP) to a peer that is not a browser: GStreamer's webrtcbin (libnice ICE,
DTLS-SRTP, its own jitter buffer and depayloaders) driven by gst_whep.py under Debian's
/usr/bin/python3. It offers one codec, POSTs the offer with the API key, and decodes what
Horus sends: camsim's H.264 (RFC 6184) and camsim's H.265 (RFC 7798; Debian 12's chromium
cannot decode H.265 over WebRTC, so this is the real client for it). An H.265 offer to an
H.264 camera gets a 4xx naming both sides."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from test_webrtc import free_udp_port

GST_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi and the GstWebRTC typelib
GST_WHEP = Path(__file__).with_name("gst_whep.py")
FRAMES = 50  # two seconds of camsim at 25 fps: past the second keyframe (--gop 25)
SECONDS = 12
WAIT = 20  # for the camera to stream: the POST is 503 until then
WHEP = "/api/v1/cameras/cam/whep"


def gst_whep(url, token, codec, *flags):
    """gst_whep.py's verdict (a dict) on url, with the tail of its stderr."""
    if not os.access(GST_PYTHON, os.X_OK):
        pytest.fail(f"{GST_PYTHON} is missing; run scripts/setup")
    args = [GST_PYTHON, GST_WHEP, "--codec", codec, "--seconds", str(SECONDS), "--frames",
            str(FRAMES), "--wait", str(WAIT), "--local-ip", "127.0.0.1", *flags, url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=SECONDS + WAIT + 30,
                         env={**os.environ, "HORUS_TOKEN": token}, stdin=subprocess.DEVNULL)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"gst_whep.py printed no result (exit {out.returncode}):\n{out.stderr[-3000:]}"
    r = json.loads(lines[-1])
    r["stderr"] = out.stderr[-3000:]  # the offer and answer, and GStreamer's complaints
    return r


def camera(camsim_factory, horus_factory, codec, *flags):
    sim = camsim_factory(args=["--size", "320x240", "--gop", "25", "--codec", codec, *flags])
    h = horus_factory(f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
                      f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n")
    return h


def test_gstreamer_decodes_h264_over_whep(camsim_factory, horus_factory):
    h = camera(camsim_factory, horus_factory, "h264", "--audio")
    r = gst_whep(h.url + WHEP, h.api_key, "h264", "--audio")
    assert r["status"] == 201 and r["answer_codec"] == "H264", r
    assert r["frames"] >= FRAMES and not r["errors"], r
    assert r["audio_buffers"] > 0, r  # camsim's AAC as Opus (design 0058), in the same bundle
    assert (r["width"], r["height"]) == (320, 240), r
    print(f"gst h264: {r['frames']} frames, first after {r['first_frame_s']:.2f} s, "
          f"{r['audio_buffers']} Opus buffers")


def test_gstreamer_decodes_h265_over_whep(camsim_factory, horus_factory):
    h = camera(camsim_factory, horus_factory, "h265")
    r = gst_whep(h.url + WHEP, h.api_key, "h265")
    assert r["status"] == 201 and r["answer_codec"] == "H265", r
    assert r["frames"] >= FRAMES and not r["errors"], r
    assert (r["width"], r["height"]) == (320, 240), r
    print(f"gst h265: {r['frames']} frames, first after {r['first_frame_s']:.2f} s")
    # An H.264-only offer to this camera is refused, naming what each side has.
    r = gst_whep(h.url + WHEP, h.api_key, "h264")
    assert r["status"] == 400 and r["frames"] == 0, r
    assert "sends H.265; the offer has no usable H.265 (it has H264)" in r["errors"][0], r
