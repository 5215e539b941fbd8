"""The History page in a real browser (tests/e2e/ui_history.mjs) against a daemon recording two
horus-camsim cameras in 4 s segments for about 2.5 minutes: a click on the timeline 2 minutes
before now plays from that instant (the program date time hls.js reports for the frame on
screen is within 1 s of it), wheel zoom stops at 5 minutes and 7 days around the pointer, a
hover shows a thumbnail, the keyboard steps back 10 s, a second camera plays in sync, a
shift+drag selection of 20 s is exported and downloaded through the page and ffprobe finds
that long a file, a reload opens the same instant, and axe finds nothing serious in either
theme."""
import datetime
import json
import subprocess
import time

from conftest import require_tool, wait_until
from ui_support import make_user, run_ui, ui_url

SEGMENT_S = 4
RECORDED_S = 150


def parse(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def recorded_for(h, camera):
    """Seconds since the camera's first recording started (0 before any is indexed)."""
    status, tl = h.get_json(f"/api/v1/cameras/{camera}/recordings")
    if status != 200 or not tl["spans"]:
        return 0
    return time.time() - parse(tl["spans"][0]["start"])


def test_history_plays_the_clicked_instant_and_exports_a_selection(horus_factory, camsim_factory,
                                                                     request, tmp_path):
    ffprobe = require_tool("ffprobe")
    sim = camsim_factory(args=("--size", "640x360", "--fps", "10", "--gop", "5"), paths=2)
    h = horus_factory(
        "cameras:\n"
        f"  - id: door\n    name: Front door\n    url: \"{sim.url(1)}\"\n"
        f"    record:\n      segment_seconds: {SEGMENT_S}\n"
        f"  - id: yard\n    name: Yard\n    url: \"{sim.url(2)}\"\n"
        f"    record:\n      segment_seconds: {SEGMENT_S}\n")
    user, password = make_user(h, "olivia", role="operator")
    base = ui_url(h, request)
    wait_until(lambda: recorded_for(h, "door") >= RECORDED_S and recorded_for(h, "yard") >= RECORDED_S - 5,
               RECORDED_S + 60, f"{RECORDED_S} s recorded")

    out = run_ui("ui_history.mjs", {
        "base": base, "user": user, "password": password, "camera": "door", "second": "yard",
        "download_dir": str(tmp_path),
    }, timeout=240, allow_problems=("status of 404",))

    # Playback starts at the clicked instant and runs in real time.
    assert out["empty_notice"] == 0, out
    assert abs(out["start_offset_ms"]) <= 1000, out
    assert 1500 <= out["advanced_ms"] <= 4500, out
    assert out["query_t"], out
    assert out["fast_advanced_ms"] >= 5000 and out["speed_query"] == "4", out
    # ← steps back 10 s.
    assert 8000 <= out["key_back_ms"] <= 11500, out
    assert out["help_visible"] and out["thumb"], out
    # The zoom stops at its limits, around the pointer; a drag pans by what it moved.
    assert out["zoom_out_span"] == 7 * 86400 * 1000, out
    assert out["zoom_in_span"] == 5 * 60 * 1000, out
    assert out["anchor_drift_ms"] < 1000, out
    assert abs(out["pan_ms"] - out["pan_expected_ms"]) < 0.05 * abs(out["pan_expected_ms"]) + 1000, out

    # The selection is exported, and the downloaded file is that long.
    assert abs(out["selected_ms"] - 20000) < 600, out
    assert "(20 s)" in out["selection_text"], out
    assert out["export_state"] == "done", out
    status, jobs = h.get_json("/api/v1/exports")
    assert status == 200
    job = jobs["items"][0]
    assert job["camera"] == "door" and job["state"] == "done", job
    wanted = parse(job["end"]) - parse(job["start"])
    assert abs(wanted * 1000 - out["selected_ms"]) < 5, (job, out["selected_ms"])
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json",
                            out["download"]], capture_output=True, text=True, timeout=30)
    assert probe.returncode == 0, probe.stderr
    duration = float(json.loads(probe.stdout)["format"]["duration"])
    assert abs(duration - wanted) <= 1.0, (duration, wanted)
    assert out["exports_link"] == "/exports"

    # A second camera plays at the same instant.
    assert out["with_query"] == "yard", out
    assert out["sync_ms"] < 1000, out
    # The calendar marks today as recorded; a reload opens the same instant.
    assert "recorded" in out["today_label"] and "nothing" not in out["today_label"], out
    assert abs(out["reload_offset_ms"]) <= 1000, out
    assert out["phone_overflow"] <= 0, out
    assert "No recordings of Front door" in out["empty_text"], out
    assert "Nothing is recorded" in out["no_recording"], out
    # ... and "Next gap" from there jumps to where the recording began, minutes ago.
    assert 0 < out["next_gap_ago_ms"] < 15 * 60 * 1000, out
    assert out["gone_text"], out
    assert out["axe_light"] == [] and out["axe_dark"] == [], out
