"""The Exports page in a real browser (tests/e2e/ui_exports.mjs) against a daemon recording a
camsim camera: export jobs created through the API appear with their progress and state, the
finished one downloads through the page as a valid MP4 (ffprobe) with the job's sha256, queued
and running ones are cancelled and show why, a viewer cannot cancel or delete, and the
operator deletes the finished one."""
import hashlib
import json
import subprocess

from conftest import recording_rows, require_tool, synthesize_hours, wait_until
from ui_support import make_user, run_ui, ui_url


def test_exports_appear_progress_download_cancel_and_delete(horus_factory, camsim_factory,
                                                            request, tmp_path):
    sim = camsim_factory(args=["--fps", "10", "--gop", "10"])
    h = horus_factory(f"exports:\n  workers: 1\ncameras:\n  - id: cam\n    name: \"Lobby\"\n"
                      f"    url: \"{sim.url(1)}\"\n    record:\n      segment_seconds: 2\n")
    recs = wait_until(lambda: len(recording_rows(h, camera="cam", stream="main")) >= 3
                      and recording_rows(h, camera="cam", stream="main"), 60, "three segments")
    short = {"start": recs[0]["start_us"] // 1000, "end": recs[2]["end_us"] // 1000}
    # Hours of (repeated) recording a day ago: an export of them runs long enough to be seen.
    long_start, long_end = synthesize_hours(h, 3)
    operator, password = make_user(h, "olga", role="operator")
    viewer, _ = make_user(h, "victor", role="viewer")
    download = tmp_path / "download.mp4"
    out = run_ui("ui_exports.mjs", {
        "base": ui_url(h, request), "key": h.api_key, "operator": operator, "viewer": viewer,
        "password": password, "camera": "cam", "short": short,
        "long": {"start": long_start, "end": long_end}, "download_path": str(download),
    }, timeout=300, allow_problems=("status of 401", "status of 404"))

    ids = out["ids"]
    # The long jobs were seen in progress: one running or queued, the other queued behind it.
    assert out["progress_bars"] >= 1, out
    assert out["states_seen"]["queued"] in ("queued", "running"), out
    assert "Lobby" in out["queued_text"], out
    # Cancelled through the page, with the reason.
    assert "partial file" in out["cancel_dialog"], out
    assert "Cancelled" in out["cancelled_text"], out
    # The finished export: listed with its size, downloaded through the page.
    job = out["done_job"]
    assert job["state"] == "done" and "Download" in out["done_text"], out
    assert out["history_link"] == f"/history/cam?t={short['start']}", out
    data = download.read_bytes()
    assert len(data) == job["size_bytes"] and hashlib.sha256(data).hexdigest() == job["sha256"]
    assert out["download_name"].startswith("cam_") and out["download_name"].endswith(".mp4"), out
    probe = subprocess.run([require_tool("ffprobe"), "-v", "error", "-show_entries",
                            "stream=codec_name,codec_type,width,height:format=format_name,duration",
                            "-of", "json", str(download)], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and probe.stderr.strip() == "", probe.stderr
    info = json.loads(probe.stdout)
    assert "mp4" in info["format"]["format_name"]
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert video["codec_name"] == "h264" and (video["width"], video["height"]) == (640, 360)
    assert float(info["format"]["duration"]) > 2
    # A viewer downloads but cannot cancel or delete.
    assert out["viewer_download"] == 1 and out["viewer_remove"] == 0, out
    assert not out["overflow_390"], "the list is wider than a 390 px phone"
    # Deleted through the page: gone from the API too; the cancelled job stays listed.
    assert out["deleted"] and "not touched" in out["delete_dialog"]
    assert h.request("GET", f"/api/v1/exports/{ids['done']}")[0] == 404
    status, listed = h.get_json("/api/v1/exports")
    states = {e["id"]: e["state"] for e in listed["items"]}
    assert states.get(ids["queued"]) == "cancelled", states
    assert [i for i, _ in out["left"]] == [e["id"] for e in listed["items"]], (out["left"], listed)
    for name, violations in out["axe"].items():
        assert violations == [], (name, violations)
