"""Horus serving object detection on POST /v1/vision/detection (the DeepStack /
CodeProject.AI API), and the `remote` and `hybrid` detectors (src/detect/object)
against it through tools/detect/horus-detect: real vtest.avi frames, a real
serving Horus killed and restarted under a running hybrid, and providers that
hang, answer 500 or answer garbage (docs/design/0041)."""
import http.client
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import HORUS_BIN, SOURCE_DIR, Horus

DEPS = Path(os.environ.get("HORUS_DEPS_DIR", SOURCE_DIR / "build/deps"))
MODEL = DEPS / "models/nanodet-320.onnx"
VIDEO = DEPS / "data/vtest.avi"
LABELS = SOURCE_DIR / "tools/modelconv/coco.labels"
DETECT_BIN = Path(os.environ.get(
    "HORUS_DETECT_BIN", Path(HORUS_BIN).resolve().parents[1] / "tools/detect/horus-detect"))

pytestmark = pytest.mark.skipif(
    not (MODEL.exists() and VIDEO.exists() and DETECT_BIN.exists()),
    reason="needs scripts/deps-detect (model, vtest.avi) and horus-detect (ONNX Runtime)")

VISION = f"""vision:
  serve: true
  model: {MODEL}
  labels: {LABELS}
  threads: 2
"""


def frame_jpeg(tmp_path, n):
    out = tmp_path / f"frame{n}.jpg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(VIDEO), "-vf",
                    f"select=eq(n\\,{n})", "-frames:v", "1", str(out)], check=True, timeout=60)
    return out.read_bytes()


def multipart(fields):
    """fields: [(name, filename or None, bytes)] -> (content_type, body)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disp}\r\n".encode()
        if filename:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def detect(h, fields, auth=True, headers=None):
    ctype, body = multipart(fields)
    status, _, raw = h.request("POST", "/v1/vision/detection", body,
                               headers={"Content-Type": ctype, **(headers or {})},
                               auth=auth, timeout=30)
    return status, json.loads(raw) if raw else None


def horus_detect(*args, timeout=120):
    return subprocess.run([str(DETECT_BIN), "--labels", str(LABELS), *map(str, args),
                           str(VIDEO)], capture_output=True, text=True, timeout=timeout)


def test_serves_deepstack_detection_of_real_frames(tmp_path, horus_factory):
    h = horus_factory(VISION)
    jpeg = frame_jpeg(tmp_path, 40)
    status, r = detect(h, [("image", "f40.jpg", jpeg)])
    assert status == 200, r
    assert r["success"] is True and isinstance(r["duration"], int)
    persons = [p for p in r["predictions"] if p["label"] == "person"]
    assert len(persons) >= 3, r
    for p in r["predictions"]:
        assert 0 <= p["x_min"] < p["x_max"] <= 768 and 0 <= p["y_min"] < p["y_max"] <= 576
        assert 0.4 <= p["confidence"] <= 1  # vision.min_confidence default

    # min_confidence as a form field narrows the answer
    status, strict = detect(h, [("image", "f40.jpg", jpeg), ("min_confidence", None, b"0.7")])
    assert status == 200 and all(p["confidence"] >= 0.7 for p in strict["predictions"])
    assert len(strict["predictions"]) < len(r["predictions"])

    # a PNG works too
    png = tmp_path / "f40.png"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(tmp_path / "frame40.jpg"),
                    str(png)], check=True, timeout=60)
    status, rp = detect(h, [("image", "f40.png", png.read_bytes())])
    assert status == 200 and any(p["label"] == "person" for p in rp["predictions"])

    # bad input: 400 with a DeepStack error naming the field
    status, bad = detect(h, [("image", "x.jpg", b"this is not an image at all")])
    assert status == 400 and bad["success"] is False and bad["code"] == 400
    assert "image: not a JPEG or PNG" in bad["error"]
    status, bad = detect(h, [("image", "x.jpg", jpeg[:200])])  # a truncated JPEG
    assert status == 400 and "image:" in bad["error"], bad
    status, bad = detect(h, [("picture", "x.jpg", jpeg)])
    assert status == 400 and "image: missing" in bad["error"]
    status, bad = detect(h, [("image", "x.jpg", jpeg), ("min_confidence", None, b"lots")])
    assert status == 400 and "min_confidence" in bad["error"]
    status, _, raw = h.request("POST", "/v1/vision/detection", b"--x\r\n",
                               headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 400 and b"body:" in raw

    # no credentials: 401; the route is the API's, not the web UI's
    status, _ = detect(h, [("image", "f40.jpg", jpeg)], auth=False)
    assert status == 401
    status, _, raw = h.request("GET", "/v1/vision/other")
    assert status == 404 and b"no route" in raw


def test_vision_off_answers_404_and_body_limit(tmp_path, horus_factory):
    h = horus_factory("log:\n  level: info\n")
    status, r = detect(h, [("image", "x.jpg", b"\xff\xd8\xff")])
    assert status == 404 and "vision.serve is false" in r["error"]
    # the route's own limit (vision.max_body, 10 MiB) is above the server's 1 MiB
    h1 = horus_factory(VISION)
    status, r = detect(h1, [("image", "big.bin", b"x" * (3 << 20))])
    assert status == 400 and "not a JPEG or PNG" in r["error"]
    h2 = horus_factory(VISION + "  max_body: 64KiB\n")
    # a declared length over the route's limit is refused before any body is sent
    conn = http.client.HTTPConnection("127.0.0.1", h2.port, timeout=10)
    conn.putrequest("POST", "/v1/vision/detection")
    conn.putheader("Authorization", f"Bearer {h2.api_key}")
    conn.putheader("Content-Type", "multipart/form-data; boundary=b")
    conn.putheader("Content-Length", "70000")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413 and b"65536" in resp.read()
    conn.close()


def test_a_model_that_does_not_load_fails_the_start_naming_it(tmp_path):
    cfg = tmp_path / "horus.yaml"
    cfg.write_text(VISION.replace(str(MODEL), str(tmp_path / "missing.onnx")))
    r = subprocess.run([HORUS_BIN, "serve", "-c", str(cfg), "--data", str(tmp_path / "d"),
                        "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "missing.onnx" in r.stdout + r.stderr and "vision" in r.stdout + r.stderr


def test_remote_and_hybrid_detectors_against_a_real_horus(tmp_path, horus_factory):
    d = tmp_path / "server"
    d.mkdir()
    h = Horus(d, VISION)
    try:
        # remote: persons found in real frames
        out = horus_detect("--detector", "remote", "--url", h.url, "--api-key", h.api_key,
                           "--frames", "0,40,80")
        assert out.returncode == 0, out.stderr + out.stdout
        assert out.stdout.count(" person ") >= 6, out.stdout
        assert "detector remote" in out.stdout

        # a wrong key: a clear error naming the provider
        out = horus_detect("--detector", "remote", "--url", h.url, "--api-key", "nope",
                           "--count", "1")
        assert out.returncode == 1
        assert f"remote '{h.url}': HTTP 401" in out.stdout, out.stdout

        # hybrid: primary remote, fallback local; kill the server mid-run
        proc = subprocess.Popen(
            [str(DETECT_BIN), "--detector", "hybrid", "--model", str(MODEL), "--labels",
             str(LABELS), "--url", h.url, "--api-key", h.api_key, "--timeout-ms", "1500",
             "--failures", "2", "--cooldown-ms", "500", "--interval-ms", "60", "--count", "700",
             str(VIDEO)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
        reader.start()

        def wait_for(pred, timeout=60):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if any(pred(line) for line in list(lines)):
                    return
                if proc.poll() is not None and not reader.is_alive():
                    break
                time.sleep(0.05)
            raise AssertionError("not seen in:\n" + "".join(lines[-40:]))

        wait_for(lambda l: "served primary, breaker closed" in l)
        h.stop()
        wait_for(lambda l: "served fallback, breaker open" in l)
        mark = len(lines)
        time.sleep(1.5)  # the probes fail while the server is down: still open, fallback serves
        assert not any("served primary" in l for l in lines[mark:]), "".join(lines[mark:])
        h = Horus(d, VISION, port=h.port)  # same data directory: the key still works
        wait_for(lambda l: lines.index(l) > mark and "served primary, breaker closed" in l)
        proc.kill()
        proc.wait()
        reader.join()
        served = [l for l in lines if "served" in l]
        assert any("fallback" in l for l in served)
        # every frame was served by one of them: none failed
        assert not any(": error:" in l for l in lines), "".join(lines)
    finally:
        h.stop()


class Provider(http.server.BaseHTTPRequestHandler):
    status, body = 500, b'{"success":false,"error":"model not loaded"}'

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def serve_provider(status, body):
    handler = type("P", (Provider,), {"status": status, "body": body})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_remote_provider_failures_are_clear(tmp_path):
    # a provider that accepts and never answers
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    url = f"http://user:s3cret@127.0.0.1:{hang.getsockname()[1]}"
    try:
        t0 = time.monotonic()
        out = horus_detect("--detector", "remote", "--url", url, "--timeout-ms", "700",
                           "--count", "1")
        assert time.monotonic() - t0 < 10
        assert out.returncode == 1
        port = hang.getsockname()[1]
        assert f"remote 'http://user:***@127.0.0.1:{port}': timed out after 700 ms" in out.stdout
        assert "s3cret" not in out.stdout + out.stderr
    finally:
        hang.close()

    bad_replies = (
        (500, b'{"success":false,"error":"model not loaded"}',
         "remote '{u}': HTTP 500: model not loaded"),
        (200, b"<html>surprise</html>", "remote '{u}': reply is not JSON"),
        (200, b'{"success":true,"predictions":[{"label":"person",'
              b'"confidence":0.9,"x_min":10,"y_min":10,"x_max":5000,"y_max":50}]}',
         "predictions[0].x_max: outside the image (5000, image 768x576)"),
    )
    for status, reply, want in bad_replies:
        srv = serve_provider(status, reply)
        try:
            u = f"http://127.0.0.1:{srv.server_address[1]}"
            out = horus_detect("--detector", "remote", "--url", u, "--count", "1")
            assert want.replace("{u}", u) in out.stdout, out.stdout
        finally:
            srv.shutdown()
