"""The Events page and the analytics editor in a real browser (tests/e2e/ui_events.mjs) against
a daemon with two horus-camsim cameras: events posted through the API list newest first, the
camera/score/label filters narrow them and survive a reload, an event posted while the page is
open appears at the top through the SSE stream, its detail opens (play clip, export, delete);
on the camera page a zone and a tripwire drawn with mouse clicks are saved and the API returns
them, a self-intersecting zone shows the server's error next to it; axe finds nothing serious."""
import time

from conftest import wait_until
from test_analytics_e2e import config
from test_detect_pipeline import vtest_h264  # noqa: F401 (the fixture)
from ui_support import make_user, run_ui, ui_url


def test_events_page_and_analytics_editor(horus_factory, camsim_factory, request):
    sim = camsim_factory(args=("--size", "640x360", "--fps", "10", "--gop", "10"), paths=2)
    h = horus_factory()
    # Added through the API: the analytics of cameras declared in horus.yaml are read-only.
    for n, (cid, name) in enumerate([("door", "Front door"), ("yard", "Yard")], start=1):
        status, _, body = h.request("POST", "/api/v1/cameras", {"id": cid, "name": name, "url": sim.url(n)})
        assert status == 201, body
    user, password = make_user(h, "olivia", role="operator")
    base = ui_url(h, request)
    wait_until(lambda: h.get_json("/api/v1/cameras/door")[1]["status"]["state"] == "streaming",
               30, "door streaming")
    now_ms = int(time.time() * 1000)
    for i, (cam, label, score, zones) in enumerate([("door", "car", 0.4, []),
                                                     ("yard", "person", 0.7, []),
                                                     ("door", "person", 0.9, ["porch"])]):
        status, _, body = h.request("POST", "/api/v1/events", {
            "camera": cam, "label": label, "score": score, "zones": zones,
            "start": now_ms - 60_000 + i * 10_000, "duration_s": 3})
        assert status == 201, body

    out = run_ui("ui_events.mjs", {"base": base, "user": user, "password": password,
                                   "api_key": h.api_key, "camera": "door", "camera2": "yard"},
                 timeout=180, allow_problems=("status of 401", "status of 400", "status of 409"))

    # Newest first, filters narrow and live in the URL.
    assert out["initial"] == ["person", "person", "car"], out
    assert out["camera_filter"] == ["person"] and out["camera_query"] == "yard", out
    assert out["score_filter"] == ["person", "person"] and out["score_query"] == "50", out
    assert out["label_filter"] == ["car"] and out["label_after_reload"] == "car", out
    # A live event at the top, without a reload.
    assert out["live_post_status"] == 201, out
    assert out["after_live"] == ["dog", "person", "person", "car"], out
    # The detail.
    assert out["detail_query"], out
    assert "lawn" in out["detail_text"] and "66%" in out["detail_text"], out
    assert out["play_href"].startswith("/history/door?t="), out
    assert out["export_text"], out
    assert out["after_delete"] == ["person", "person", "car"] and out["deleted_status"] == 404, out
    # Cursor paging.
    assert out["first_page"] == 50 and out["after_more"] == 55 and out["paged_sorted"], out
    assert "end of the list" in out["end_text"], out
    # The analytics editor: what was drawn was stored.
    assert out["arrow"] == 1, out
    zones = out["saved"]["zones"]
    assert [z["name"] for z in zones] == ["Zone 1"], out
    poly = zones[0]["polygon"]
    assert len(poly) == 4, out
    assert abs(poly[0][0] - 0.1) < 0.02 and abs(poly[0][1] - 0.1) < 0.02, out
    assert abs(poly[2][0] - 0.55) < 0.02 and abs(poly[2][1] - 0.65) < 0.02, out  # dragged
    wires = out["saved"]["tripwires"]
    assert [w["name"] for w in wires] == ["Line 1"], out
    (a, b) = wires[0]["line"]
    assert abs(a[0] - 0.6) < 0.02 and abs(b[0] - 0.9) < 0.02 and abs(a[1] - 0.5) < 0.02, out
    # The invalid zone: the server's error next to it, nothing stored.
    assert "zones[1]" in out["shape_error"] and "self-intersecting" in out["shape_error"], out
    assert len(out["after_error"]["zones"]) == 1, out
    for name, violations in out["axe"].items():
        assert violations == [], (name, violations)
    for name, wide in out["overflow"].items():
        assert not wide, f"{name} is wider than 390 px"


def test_events_page_shows_real_detections(horus_factory, camsim_factory, vtest_h264, request):  # noqa: F811
    """vtest.avi (people walking) through the detector: a viewer sees the person events with
    their snapshots, the crossings of the tripwire in the detail, and on the camera page the
    detect status, the counters and the zones and tripwires (read-only)."""
    sim = camsim_factory(args=["--source", str(vtest_h264)], paths=1)
    h = horus_factory(config(sim.url(1), sim.url(1)).split("  - id: masked")[0])
    user, password = make_user(h, "vera", role="viewer")

    def crossed():
        status, c = h.get_json("/api/v1/cameras/walk/counters")
        return status == 200 and any(t["a_to_b"] or t["b_to_a"] for t in c["tripwires"])
    wait_until(crossed, 120, "a tripwire crossing")
    wait_until(lambda: h.get_json("/api/v1/events?has_snapshot=true")[1]["items"], 60, "an event with a snapshot")

    out = run_ui("ui_events_detect.mjs", {"base": ui_url(h, request), "user": user, "password": password,
                                          "camera": "walk"},
                 timeout=150, )
    assert out["cards"] >= 1 and "box=1" in out["thumb_src"], out
    assert "box=1" in out["big_src_box"] and "box=0" in out["big_src_nobox"], out
    assert "person" in out["detail_text"], out
    assert out["export_buttons"] == 0, out  # a viewer
    assert "middle" in out["counters_text"], out
    assert out["add_zone_buttons"] == 0, out
    assert out["shapes"] == ["zones[0]", "tripwires[0]"], out
    for name, violations in out["axe"].items():
        assert violations == [], (name, violations)
