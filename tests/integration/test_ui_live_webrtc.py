"""The web UI's live page over WebRTC (tests/e2e/ui_live_webrtc.mjs), in a real chromium:
with webrtc.udp_listen set, four H.264 tiles play over WHEP and move soon after the page
opens, an H.265 camera's tile plays LL-HLS without a doomed offer (the camera's
status.webrtc says so), the read-out shows a sub-second latency named WebRTC, the enlarged
tile plays the main stream over WHEP, and leaving the page ends every session. When the
server refuses offers past webrtc.max_sessions, the refused tiles play LL-HLS at once."""
import json
import time

import pytest

from conftest import wait_until
from test_webrtc import free_udp_port
from ui_support import make_user, run_ui, ui_url

CAMS = ["cam1", "cam2", "cam3", "cam4"]


@pytest.fixture
def live_site(horus_factory, camsim_factory, request):
    """Starts the daemon (webrtc: max_sessions, when given) and returns (h, args)."""
    def start(max_sessions=None):
        return _live_site(horus_factory, camsim_factory, request, max_sessions)
    return start


def _live_site(horus_factory, camsim_factory, request, max_sessions):
    sim = camsim_factory(args=["--size", "640x360", "--fps", "10", "--gop", "10"], paths=4)
    hevc = camsim_factory(args=["--size", "640x360", "--fps", "10", "--gop", "10",
                                "--codec", "h265"], name="hevc")
    cams = "".join(
        f"  - id: cam{n}\n    name: \"Camera {n}\"\n    url: \"{sim.url(n)}\"\n"
        f"    sub_url: \"{sim.url(n)}\"\n    record:\n      segment_seconds: 2\n"
        for n in (1, 2, 3, 4))
    cams += f"  - id: hevc\n    name: \"Yard HEVC\"\n    url: \"{hevc.url(1)}\"\n"
    limit = f"  max_sessions: {max_sessions}\n" if max_sessions else ""
    h = horus_factory(f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n{limit}"
                      "cameras:\n" + cams)

    def ready():
        items = {c["id"]: c["status"] for c in h.get_json("/api/v1/cameras")[1]["items"]}
        return (all(items[c]["webrtc"] == {"main": True, "sub": True} for c in CAMS)
                and items["hevc"]["state"] == "streaming")
    wait_until(ready, 30, "four H.264 cameras playable over WebRTC and the H.265 one streaming")
    st = h.get_json("/api/v1/cameras/hevc")[1]["status"]
    assert st["webrtc"] == {"main": False, "sub": False}, st  # H.265: LL-HLS only
    # The H.265 camera's live playlist exists before the browser asks.
    wait_until(lambda: h.request("GET", "/api/v1/cameras/hevc/live/index.m3u8")[0] == 200, 30,
               "the H.265 camera's live playlist")
    user, password = make_user(h, "vera", role="operator")
    return h, {"base": ui_url(h, request), "user": user, "password": password,
               "cams": CAMS, "hevc": "hevc"}


def test_live_tiles_play_over_webrtc_and_hevc_stays_on_ll_hls(live_site):
    h, args = live_site()
    out = run_ui("ui_live_webrtc.mjs", args, timeout=240)
    moving = out["moving_ms"]
    print(f"\nlive over WebRTC: ms from navigation to each tile moving: {moving}; "
          f"latency read-out (ms): {out['latency_ms']}; label {out['latency_label']!r}")
    assert out["transports"] == {**{c: "webrtc" for c in CAMS}, "hevc": "ll-hls"}, out["transports"]
    for c in CAMS:
        a, b = out["before"][c], out["after"][c]
        assert b["frames"] > a["frames"] + 10, (c, a, b)
        # Sub-second over WebRTC on loopback, with the frame's wall clock from the
        # server's sender reports (a missing or wrong mapping reads null or seconds).
        assert out["latency_ms"][c] is not None and 0 <= out["latency_ms"][c] < 1000, out["latency_ms"]
        assert out["hls_requests"][c] == 0, out["hls_requests"]  # no LL-HLS for a WebRTC tile
    assert "WebRTC" in out["latency_label"], out["latency_label"]
    # The H.265 camera: no offer at all (status.webrtc said no); LL-HLS is asked, and
    # Debian's chromium cannot decode H.265, so the tile says so, naming the codec.
    assert out["whep_posts"]["hevc"] == 0, out["whep_posts"]
    assert out["hls_requests"]["hevc"] > 0
    assert "cannot decode H.265 (HEVC) video" in out["hevc_message"], out["hevc_message"]
    # Enlarged: the main stream over WHEP; the tile's sub session ended on the way.
    assert out["enlarged"] == "webrtc"
    assert out["enlarged_posts"] == ["POST /api/v1/cameras/cam1/whep"], out["enlarged_posts"]
    assert out["deletes_on_enlarge"] >= 1, out
    assert out["deletes_on_leave"] >= 1, out
    # Nothing is left on the server once the page is gone.
    wait_until(lambda: h.metric("horus_webrtc_sessions") == 0, 15, "no WebRTC session left")
    audit = h.get_json("/api/v1/audit?action=live.started&limit=100")[1]["items"]
    assert any(e["details"].get("transport") == "webrtc" and e["target"]["id"] == "cam1"
               for e in audit), json.dumps(audit)[:2000]


def test_offers_past_the_session_limit_fall_back_to_ll_hls_at_once(live_site):
    h, args = live_site(max_sessions=2)
    # The refused offers are 503s in the console; the page shows no error for them.
    out = run_ui("ui_live_webrtc.mjs", {**args, "grid_only": True}, timeout=240,
                 allow_problems=("status of 503",))
    print(f"\nlive with webrtc.max_sessions 2: transports {out['transports']}; "
          f"ms to each tile moving: {out['moving_ms']}")
    on_rtc = [c for c in CAMS if out["transports"][c] == "webrtc"]
    on_hls = [c for c in CAMS if out["transports"][c] == "ll-hls"]
    assert len(on_rtc) == 2 and len(on_hls) == 2, out["transports"]
    for c in CAMS:
        assert out["whep_posts"][c] >= 1, out["whep_posts"]  # WebRTC was tried first
        a, b = out["before"][c], out["after"][c]
        assert b["t"] > a["t"] + 1, (c, a, b)
    for c in on_hls:
        assert out["hls_requests"][c] > 0, out["hls_requests"]
    for c in on_rtc:
        assert out["hls_requests"][c] == 0, out["hls_requests"]
