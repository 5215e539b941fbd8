"""Snapshots end to end: JPEGs of the latest frame of a camera recorded from
horus-camsim and of recorded instants (?ts=), decoded with ffprobe; scaling,
caching headers and errors."""
import json
import subprocess
import time

from conftest import require_tool, recording_rows, wait_until
from openapi_check import OpenApi


def rows(h):
    return recording_rows(h, camera="cam")


ROUTE = "/api/v1/cameras/{id}/snapshot.jpg"


def probe_jpeg(tmp_path, data):
    """(width, height) of a JPEG, after checking its markers and decoding it fully."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", data[:64]
    path = tmp_path / "snap.jpg"
    path.write_bytes(data)
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-show_entries",
                          "stream=codec_name,width,height", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    (s,) = json.loads(out.stdout)["streams"]
    assert s["codec_name"] == "mjpeg"
    dec = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "null",
                          "-"], capture_output=True, text=True, timeout=30)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr
    return s["width"], s["height"]


def test_snapshots_of_the_latest_frame_and_of_recorded_instants(camsim_factory, horus_factory,
                                                                tmp_path):
    sim = camsim_factory(args=["--size", "1280x720"])
    h = horus_factory("cameras:\n"
                      f"  - id: cam\n    url: \"{sim.url(1)}\"\n    record:\n"
                      "      segment_seconds: 3\n"
                      "  - id: dark\n    url: \"rtsp://127.0.0.1:9/none\"\n")
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])

    def snap(query, cam="cam"):
        status, headers, body = h.request("GET", f"/api/v1/cameras/{cam}/snapshot.jpg{query}",
                                          timeout=10)
        spec.validate("GET", ROUTE, status, headers["Content-Type"], body)
        return status, headers, body

    wait_until(lambda: snap("")[0] == 200, 15, "the first keyframe")
    status, headers, body = snap("")
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] in ("no-store", "max-age=1")
    assert probe_jpeg(tmp_path, body) == (1280, 720)
    status, _, body = snap("?width=320")
    assert status == 200 and probe_jpeg(tmp_path, body) == (320, 180)
    status, _, body = snap("?width=101&stream=main")  # odd widths round to even sizes
    assert status == 200 and probe_jpeg(tmp_path, body) == (102, 58)
    # The same keyframe is decoded once per width: repeats are served from the cache.
    for _ in range(5):
        assert snap("?width=320")[0] == 200
    _, _, metrics = h.request("GET", "/metrics")
    assert 'horus_snapshot_requests_total{result="cached"}' in metrics.decode()

    recs = wait_until(lambda: len(rows(h)) >= 2 and rows(h), 30, "two segments")
    (s0, e0), (s1, e1) = [(r["start_us"], r["end_us"]) for r in recs[:2]]
    for ts in ((s0 + e0) // 2000, (s1 + 1_000_000) // 1000, e1 // 1000 - 1):
        status, headers, body = snap(f"?ts={ts}&width=640")
        assert status == 200, (ts, body)
        assert probe_jpeg(tmp_path, body) == (640, 360)
    rfc = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s1 / 1e6)) + ".500Z"
    assert snap(f"?ts={rfc}")[0] == 200
    status, _, body = snap(f"?ts={s0 // 1000 - 60_000}")
    assert status == 404 and "no main stream recording at" in json.loads(body)["error"]["message"]

    for query, text in (("?width=8", "width"), ("?width=abc", "width"), ("?width=4000", "width"),
                        ("?stream=third", "stream"), ("?ts=noon", "ts")):
        status, _, body = snap(query)
        assert status == 400 and text in json.loads(body)["error"]["message"], (query, body)
    status, _, body = snap("", cam="nope")
    assert status == 404 and "camera 'nope'" in json.loads(body)["error"]["message"]
    status, headers, body = snap("", cam="dark")  # configured, but no video ever arrives
    assert status == 503 and headers.get("Retry-After"), body
    status, _, body = snap("?stream=sub")  # sub streams are not ingested yet
    assert status == 503
    assert h.stop() == 0
