"""Issue 11 item 3 (docs/design/0043): every detector backend built by the
factory from the `detect.detector` table, in a running daemon on real video
(vtest.avi looped by horus-camsim):

(a) type opencv: the NanoDet model through OpenCV DNN detects people;
(b) type remote: a second Horus serving /v1/vision/detection (vision.serve)
    detects for the first, the API key a ${ENV} secret that never shows in
    the log;
(c) type hybrid: the remote primary serves, then is killed: the breaker
    opens (status detect.hybrid, horus_detect_breaker_state) and the local
    fallback keeps detecting people.
"""
import time

import pytest

from conftest import wait_until
from test_detect_pipeline import LABELS, MODEL, counters, detect_status, vtest_h264  # noqa: F401

KEY_ENV = "HORUS_TEST_PROVIDER_KEY"

VISION = f"""vision:
  serve: true
  model: "{MODEL}"
  labels: "{LABELS}"
  threads: 1
"""


def config(cam_url, detector):
    return (f"detect:\n  enabled: true\n  fps: 5\n  detector:\n{detector}"
            f"cameras:\n  - id: door\n    url: \"{cam_url}\"\n"
            "    record:\n      segment_seconds: 4\n")


def people(h):
    return h.metric('horus_detect_detections_total{camera="door",label="person"}')


def wait_people(h, at_least, timeout=40):
    try:
        wait_until(lambda: people(h) >= at_least, timeout, f"{at_least} people detected on door")
    except AssertionError as e:
        raise AssertionError(f"{e}; status {detect_status(h, 'door')}") from None


def test_opencv_backend_detects_people(vtest_h264, camsim_factory, horus_factory):  # noqa: F811
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(config(cam.url(1), f"    type: opencv\n    model: \"{MODEL}\"\n"
                                         f"    labels: \"{LABELS}\"\n    threads: 2\n"))
    time.sleep(1)
    d = detect_status(h, "door")
    if d and d["last_error"] and "no OpenCV DNN" in d["last_error"]:
        pytest.skip("this build has no OpenCV DNN (libopencv-dnn-dev)")
    wait_people(h, 20)
    d = wait_until(lambda: (lambda s: s if s and s["state"] == "running" else None)(
        detect_status(h, "door")), 10, "door's detect state running")
    assert d["last_error"] is None and d["inference_ms"] > 0, d
    assert "hybrid" not in d
    assert "opencv" in h.proc.output()
    assert h.stop() == 0


def test_remote_backend_detects_people_through_a_second_horus(vtest_h264, camsim_factory,
                                                              horus_factory):  # noqa: F811
    provider = horus_factory(VISION, name="provider")
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    env = {KEY_ENV: provider.api_key}
    h = horus_factory(config(cam.url(1), f"    type: remote\n    url: \"{provider.url}\"\n"
                                         f"    api_key: \"${{{KEY_ENV}}}\"\n"
                                         f"    labels: \"{LABELS}\"\n    timeout_ms: 4000\n"),
                      env=env)
    wait_people(h, 20)
    d = detect_status(h, "door")
    assert d["last_error"] is None, d
    assert provider.api_key not in h.proc.output()
    assert h.stop() == 0
    assert provider.stop() == 0


def test_remote_with_a_wrong_key_names_the_provider(vtest_h264, camsim_factory,
                                                    horus_factory):  # noqa: F811
    provider = horus_factory(VISION, name="provider")
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(config(cam.url(1), f"    type: remote\n    url: \"{provider.url}\"\n"
                                         "    api_key: \"not-the-key\"\n"
                                         f"    labels: \"{LABELS}\"\n"))
    d = wait_until(lambda: (lambda s: s if s and s["last_error"] else None)(
        detect_status(h, "door")), 30, "door's detect error")
    assert provider.url.split("//")[1] in d["last_error"], d
    assert "not-the-key" not in h.proc.output()
    assert people(h) == 0


def test_hybrid_falls_back_when_the_remote_primary_dies(vtest_h264, camsim_factory,
                                                        horus_factory):  # noqa: F811
    provider = horus_factory(VISION, name="provider")
    cam = camsim_factory(args=["--source", str(vtest_h264)])
    h = horus_factory(config(cam.url(1), f"    type: hybrid\n    url: \"{provider.url}\"\n"
                                         f"    api_key: \"${{{KEY_ENV}}}\"\n"
                                         f"    labels: \"{LABELS}\"\n    timeout_ms: 2000\n"
                                         "    failures_to_open: 2\n    cooldown_ms: 30000\n"
                                         f"    fallback:\n      type: onnx\n"
                                         f"      model: \"{MODEL}\"\n"
                                         f"      labels: \"{LABELS}\"\n"),
                      env={KEY_ENV: provider.api_key})
    wait_people(h, 20)
    d = detect_status(h, "door")
    assert d["hybrid"] == {"breaker": "closed", "served_by": "primary"}, d
    assert counters(h, "horus_detect_breaker_state") == {(("worker", "det-0"),): 0}

    assert provider.stop() == 0  # the remote primary is gone
    d = wait_until(lambda: (lambda s: s if s["hybrid"]["breaker"] == "open" else None)(
        detect_status(h, "door")), 30, "the breaker open")
    assert counters(h, "horus_detect_breaker_state") == {(("worker", "det-0"),): 2}
    before = people(h)
    wait_people(h, before + 20)  # the local fallback keeps detecting
    d = detect_status(h, "door")
    assert d["hybrid"] == {"breaker": "open", "served_by": "fallback"}, d
    assert d["last_error"] is None, d
    assert provider.api_key not in h.proc.output()
    assert h.stop() == 0
