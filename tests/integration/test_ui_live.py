"""The web UI's live page in a real browser (tests/e2e/ui_live.mjs): a grid of four
camsim cameras plays LL-HLS through hls.js (frames advance, a latency read-out in
seconds), the sub stream in tiles and the main stream in an enlarged tile, hls.js
loaded only once the page mounts, a camera on a closed port shows its offline badge,
reordering, layouts, group filter and their persistence, the phone layout, and the
players stop while the tab is hidden."""
import time

from conftest import free_port
from ui_support import make_user, run_ui, ui_url


def test_live_grid_plays_switches_streams_and_shows_offline_cameras(horus_factory, camsim_factory,
                                                                      request):
    sim = camsim_factory(args=["--size", "640x360", "--fps", "10", "--gop", "10"], paths=4)
    dead = f"rtsp://127.0.0.1:{free_port()}/nothing"  # nothing listens there
    cams = "".join(
        f"  - id: cam{n}\n    name: \"Camera {n}\"\n    url: \"{sim.url(n)}\"\n"
        f"    groups: [lobby]\n    record:\n      segment_seconds: 2\n"
        for n in (1, 2, 3))
    cams += (f"  - id: cam4\n    name: \"Camera 4\"\n    url: \"{sim.url(4)}\"\n"
             f"    sub_url: \"{sim.url(1)}\"\n    groups: [lobby]\n"
             f"    record:\n      segment_seconds: 2\n")
    cams += f"  - id: gate\n    name: \"Gate\"\n    url: \"{dead}\"\n    groups: [yard]\n"
    h = horus_factory(config_text="cameras:\n" + cams)
    # Every camera's live playlist exists before the browser asks (the sub one too).
    deadline = time.monotonic() + 30
    want = [f"cam{n}" for n in (1, 2, 3, 4)]
    while want and time.monotonic() < deadline:
        want = [c for c in want
                if h.request("GET", f"/api/v1/cameras/{c}/live/index.m3u8")[0] != 200]
        time.sleep(0.3)
    assert not want, f"no live playlist for {want}"
    user, password = make_user(h, "vera", role="operator")

    out = run_ui("ui_live.mjs", {"base": ui_url(h, request), "user": user, "password": password},
                 timeout=240, allow_problems=("status of 404", "status of 401"))
    print(f"\nlive: time from navigation to first playing frame: {out['first_frame_ms']} ms; "
          f"latency per tile (ms): {out['latency_ms']}; preferences kept "
          f"{'on the server' if out['saved']['status'] == 200 else 'in the browser'}")

    # hls.js is fetched only after the live page's own code, never by the shell.
    assert out["hls_before_live"] == [], out["hls_before_live"]
    assert out["hls_after_live"], "hls.js was never requested"
    assert out["first_frame_ms"] is not None and out["first_frame_ms"] < 15000, out["first_frame_ms"]
    # The grid of four plays: time and decoded frames advance in every tile.
    for cam in ("cam1", "cam2", "cam3", "cam4"):
        a, b = out["before"][cam], out["after"][cam]
        assert b["t"] > a["t"] + 1, (cam, a, b)
        assert b["frames"] > a["frames"] + 5, (cam, a, b)
        lat = out["latency_ms"][cam]
        assert lat is not None and 0 <= lat < 5000, (cam, lat)
    # Sub stream in the tile, main when enlarged (by keyboard), back with Esc.
    assert out["cam4_tile_stream"] == "sub"
    assert out["sub_requests"] > 0
    assert out["enlarged_url"].endswith("?camera=cam4"), out["enlarged_url"]
    assert out["enlarged_stream"] == "main"
    assert out["main_requests_after_enlarge"] > 0
    assert out["enlarged_played"] > 0
    assert out["after_escape_tiles"] == 5
    assert out["focus_after_escape"] == "cam4"  # focus returns to the tile that was enlarged
    # The camera on a closed port says it is offline / reconnecting.
    assert any(b in out["gate_badges"] for b in ("Offline", "Reconnecting", "Connecting")), out["gate_badges"]
    assert "offline" in out["gate_overlay"] or "Connecting" in out["gate_overlay"], out["gate_overlay"]
    assert out["gate_requests"] == 0, "the offline camera's playlist was asked for in vain"
    # Snapshot download named after the camera and the time.
    assert out["snapshot_name"].startswith("cam1-") and out["snapshot_name"].endswith(".jpg")
    assert out["snapshot_bytes"] > 1000
    # Layout 4: two pages; keyboard and drag reordering; group filter; all kept on reload.
    assert out["pager"] == "Page 1 of 2"
    assert out["menu_focus"] == "Move later"
    assert out["order_after_keyboard"][:2] == ["cam2", "cam1"], out["order_after_keyboard"]
    assert out["focus_after_move"] == "cam1:Move later", out["focus_after_move"]
    assert out["order_after_drag"][:3] == ["cam3", "cam2", "cam1"], out["order_after_drag"]
    assert out["yard_tiles"] == ["gate"]
    assert out["after_reload"] == {"layout": "4", "group": "yard", "tiles": ["gate"]}, out["after_reload"]
    saved = out["saved"]
    kept = saved["server"]["live"] if saved["status"] == 200 else saved["local"]
    assert saved["status"] in (200, 404), saved
    assert kept["layout"] == "4" and kept["group"] == "yard", saved
    assert kept["order"][:3] == ["cam3", "cam2", "cam1"], saved
    # Hidden tab: every player stops and frees its media; visible again: they play.
    assert out["hidden_states"] and all(s != "playing" for s in out["hidden_states"]), out["hidden_states"]
    assert out["hidden_srcs"] == [""] * len(out["hidden_srcs"]), out["hidden_srcs"]
    assert out["visible_again_playing"] >= 4
    # Phone: one column.
    assert out["phone_columns"] == 1
    assert out["axe_grid"] == [] and out["axe_enlarged"] == [] and out["axe_dark"] == [], out
