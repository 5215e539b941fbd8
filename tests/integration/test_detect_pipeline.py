"""Issue 11 item 1, the analysis pipeline (docs/design/0036): real video
(vtest.avi, pedestrians, transcoded once to H.264) looped by horus-camsim
into Horus with object detection on.

(a) people are detected (horus_detect_detections_total{label="person"}
    grows) and the camera status's detect block is filled; the sub stream
    is analysed when the camera has one;
(b) overload: more cameras than one worker can analyse at detect.fps: frames
    are skipped and counted with their reasons, every camera is still
    analysed, and recording loses nothing (drop counters stay 0, segments
    follow each other without a gap): recording never waits for analysis;
(c) a model that is not there: the daemon runs and records, and the status
    names the detector and the file.
"""
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, recording_rows, require_tool, wait_until
from openapi_check import OpenApi

DEPS = Path(os.environ.get("HORUS_DEPS_DIR", SOURCE_DIR / "build" / "deps"))
MODEL = DEPS / "models" / "nanodet-320.onnx"
LABELS = SOURCE_DIR / "tools" / "modelconv" / "coco.labels"
VTEST = DEPS / "data" / "vtest.avi"


@pytest.fixture(scope="module")
def vtest_h264(tmp_path_factory):
    """vtest.avi as H.264 (GOP 25 at its 10 fps), made once for the module."""
    for f in (MODEL, VTEST):
        if not f.exists():
            pytest.fail(f"{f} is missing; run scripts/deps-detect")
    ffmpeg = require_tool("ffmpeg")
    out = tmp_path_factory.mktemp("vtest") / "vtest.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(VTEST), "-t", "40",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-an", str(out)],
                   check=True, timeout=120)
    return out


def detect_config(cameras, fps=5, model=MODEL, threads=1, extra=""):
    out = (f"detect:\n  enabled: true\n  threads: {threads}\n  fps: {fps}\n"
           f"  detector:\n    model: \"{model}\"\n    labels: \"{LABELS}\"\n{extra}"
           "cameras:\n")
    for cam_id, url, sub_url in cameras:
        out += f"  - id: {cam_id}\n    url: \"{url}\"\n"
        if sub_url:
            out += f"    sub_url: \"{sub_url}\"\n"
        out += "    record:\n      segment_seconds: 4\n"
    return out


def counters(h, family):
    """{labels as a tuple of (name, value): value} of a family's samples."""
    out = {}
    for labels, value in h.metric_samples(family):
        key = tuple(sorted(labels.items()))
        out[key] = out.get(key, 0) + value
    return out


def detect_status(h, cam):
    """The camera's status.detect, the whole reply checked against openapi.json."""
    status, headers, data = h.request("GET", f"/api/v1/cameras/{cam}")
    assert status == 200, data
    _, doc = h.get_json("/api/v1/openapi.json")
    body = OpenApi(doc).validate("GET", "/api/v1/cameras/{id}", status, headers["Content-Type"],
                                 data)
    return body["status"]["detect"]


def test_people_are_detected_and_the_status_shows_the_analysis(vtest_h264, camsim_factory,
                                                                horus_factory):
    cam = camsim_factory(args=["--source", str(vtest_h264)], paths=2)
    h = horus_factory(detect_config([("door", cam.url(1), None),
                                     ("hall", cam.url(1), cam.url(2)),
                                     ("yard", cam.url(2), None)],
                                    extra="  cameras: [door, hall]\n"))
    wait_until(lambda: h.metric('horus_detect_detections_total{camera="door",label="person"}')
               >= 20, 40, "20 people detected on door")
    first = h.metric('horus_detect_detections_total{camera="door",label="person"}')
    time.sleep(3)
    assert h.metric('horus_detect_detections_total{camera="door",label="person"}') > first
    assert h.metric('horus_detect_frames_total{camera="door"}') > 0
    assert h.metric("horus_detect_inference_seconds_count") > 0

    d = wait_until(lambda: (lambda s: s if s and s["state"] == "running" else None)(
        detect_status(h, "door")), 10, "door's detect state running")
    assert d["stream"] == "main"  # no sub stream: main
    assert 0 < d["fps"] <= 6, d  # detect.fps 5 (the source has 10)
    assert d["inference_ms"] is not None and d["inference_ms"] > 0, d
    assert d["frames"] > 0 and d["last_error"] is None, d
    hall = wait_until(lambda: (lambda s: s if s and s["frames"] > 0 else None)(
        detect_status(h, "hall")), 20, "hall analysed")
    assert hall["stream"] == "sub", hall  # the sub stream is preferred
    # A camera not in detect.cameras is not analysed: null, and no series.
    wait_until(lambda: h.get_json("/api/v1/cameras/yard")[1]["status"]["recording"], 20,
               "yard recording")
    assert detect_status(h, "yard") is None
    assert h.metric('horus_detect_frames_total{camera="yard"}') == 0
    assert h.get_json("/api/v1/cameras/door")[1]["status"]["recording"] is True
    assert h.stop() == 0


def test_overload_skips_frames_and_recording_loses_nothing(vtest_h264, camsim_factory,
                                                          horus_factory):
    n = 6
    cam = camsim_factory(args=["--source", str(vtest_h264)], paths=n)
    ids = [f"c{i}" for i in range(1, n + 1)]
    # 6 cameras x 10 fps wanted from one worker at ~30 ms a frame: overloaded.
    h = horus_factory(detect_config([(c, cam.url(i), None) for i, c in enumerate(ids, 1)],
                                    fps=30))
    wait_until(lambda: h.get_json("/health")[1]["cameras"]["online"] == n, 30, "all online")
    time.sleep(25)
    skipped = counters(h, "horus_detect_skipped_frames_total")
    frames = counters(h, "horus_detect_frames_total")
    drops = counters(h, "horus_record_dropped_packets_total")
    rejected = counters(h, "horus_ingest_rejected_packets_total")
    statuses = {c: detect_status(h, c) for c in ids}
    assert h.stop() == 0

    total_skipped = sum(skipped.values())
    assert total_skipped > 0, skipped
    reasons = {dict(k)["reason"] for k, v in skipped.items() if v > 0}
    assert reasons <= {"busy", "queue_full", "decode_error", "keyframe_wait"}, reasons
    assert "busy" in reasons, skipped
    assert skipped.get((("camera", "c1"), ("reason", "decode_error")), 0) == 0, skipped
    for c in ids:
        assert frames.get((("camera", c),), 0) > 0, (c, frames)  # nobody starved
        assert statuses[c]["skipped_frames"] > 0, statuses[c]
    # Recording never waited: nothing dropped, segments back to back.
    assert sum(drops.values()) == 0, drops
    assert sum(rejected.values()) == 0, rejected
    for c in ids:
        rows = recording_rows(h, c, "main")
        assert rows, c
        for prev, cur in zip(rows, rows[1:]):
            assert cur["start_us"] == prev["end_us"], (c, prev, cur)
        covered = (rows[-1]["end_us"] - rows[0]["start_us"]) / 1e6
        assert covered >= 20, (c, covered)


def test_a_missing_model_leaves_recording_running_and_says_why(vtest_h264, camsim_factory,
                                                               horus_factory, tmp_path):
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    missing = tmp_path / "no-such-model.onnx"
    h = horus_factory(detect_config([("door", cam.url(1), None)], model=missing))
    wait_until(lambda: h.get_json("/api/v1/cameras/door")[1]["status"]["recording"], 20,
               "door recording")
    d = detect_status(h, "door")
    assert d["state"] == "error", d
    assert "detector 'onnx'" in d["last_error"] and str(missing) in d["last_error"], d
    line = h.wait_for_log(lambda l: l.get("level") == "error" and l.get("module") == "detect")
    assert str(missing) in line["msg"], line
    assert h.metric("horus_detect_frames_total") == 0
    assert h.stop() == 0
    assert recording_rows(h, "door", "main")


def test_keyframes_only_analyses_one_frame_a_gop(vtest_h264, camsim_factory, horus_factory):
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(detect_config([("door", cam.url(1), None)],
                                    extra="  decode: keyframes\n"))
    wait_until(lambda: h.metric('horus_detect_frames_total{camera="door"}') >= 1, 30,
               "a keyframe analysed")
    t0, f0 = time.monotonic(), h.metric('horus_detect_frames_total{camera="door"}')
    time.sleep(10)
    rate = (h.metric('horus_detect_frames_total{camera="door"}') - f0) / (time.monotonic() - t0)
    # GOP 25 at 10 fps: a keyframe every 2.5 s, each analysed (0.4/s), nothing else.
    assert 0.2 <= rate <= 0.6, rate
    assert h.metric('horus_detect_detections_total{camera="door",label="person"}') > 0
    assert h.metric('horus_detect_skipped_frames_total{camera="door"') == 0
    assert h.stop() == 0
