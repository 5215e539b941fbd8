"""Fifty WebRTC viewers on one camera (issue 13): horus-whepload, a viewer of real parts
(libcurl offer, STUN checks, OpenSSL DTLS, libsrtp2), holds 50 sessions on one camsim
camera for a few seconds. Every viewer is set up, receives the stream with its keyframes
and authenticates every packet; the camera keeps one connection and keeps recording;
leaving deletes every session."""
import json
import os
import subprocess
import time
from pathlib import Path

from conftest import CAMSIM_BIN, wait_until
from test_webrtc import free_udp_port

WHEPLOAD = os.environ.get("HORUS_WHEPLOAD_BIN",
                          str(Path(CAMSIM_BIN).parents[1] / "whepload" / "horus-whepload"))
VIEWERS = 50


def test_fifty_viewers_play_one_camera_and_leave_cleanly(camsim_factory, horus_factory):
    sim = camsim_factory(args=["--size", "640x360", "--fps", "25", "--gop", "25"])
    h = horus_factory(f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
                      f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n")
    def status():
        return h.get_json("/api/v1/cameras/door")[1]["status"]
    wait_until(lambda: status()["webrtc"]["main"] and status()["recording"], 30,
               "the camera recording and playable over WebRTC")
    key = h.auth_headers()["Authorization"].split(" ", 1)[1]
    proc = subprocess.Popen([WHEPLOAD, "--url", f"{h.url}/api/v1/cameras/door/whep",
                             "--viewers", str(VIEWERS), "--seconds", "8", "--decrypt"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HORUS_TOKEN": key})
    # All fifty held at once, on one camera connection.
    wait_until(lambda: h.metric("horus_webrtc_sessions") == VIEWERS, 60, "fifty sessions")
    assert status()["recording"], status()  # fifty viewers do not stop the recorder
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err + out
    r = json.loads(out.strip().splitlines()[-1])
    sent = h.metric("horus_webrtc_packet_delay_seconds_count")
    mean_ms = h.metric("horus_webrtc_packet_delay_seconds_sum") / max(sent, 1) * 1000
    print(f"\n{VIEWERS} viewers: setup p50 {r['setup_ms_p50']} ms, max {r['setup_ms_max']} ms; "
          f"packets {r['packets']} ({r['min_packets']}..{r['max_packets']} per viewer), "
          f"lost {r['lost']}, keyframes {r['keyframes']}; server delay mean {mean_ms:.2f} ms")
    assert r["connected"] == VIEWERS and r["failed"] == 0, r
    assert r["bad_auth"] == 0, r  # every packet opened with the viewer's own SRTP keys
    # Each viewer got the stream (about 8 s of 25 fps), and its keyframes (one a second).
    assert r["min_packets"] >= 100 and r["min_packets"] >= r["max_packets"] // 2, r
    assert r["keyframes"] >= VIEWERS * 4, r
    assert r["lost"] <= r["packets"] // 100, r  # loopback: under 1 %
    # Leaving ends every session (DELETE), and the camera kept its one connection.
    wait_until(lambda: h.metric("horus_webrtc_sessions") == 0, 15, "no session left")
    st = status()
    assert st["state"] == "streaming" and st["reconnects"] == 0, st
