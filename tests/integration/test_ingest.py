"""`horus probe` against real horus-camsim streams: codecs, sizes and frame
rates as ingest reports them, the timeline across faults (drop, stall), and
the classified reasons of failures (credentials, refused, not RTSP, nothing
listening). Small pictures keep the file well under a minute and a half.
"""
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import HORUS_BIN, INGEST_CLIENT, free_port

SMALL = ["--size", "320x240", "--fps", "15"]


def probe(url, *args, timeout=60):
    """Runs `horus probe`; returns (exit code, parsed JSON of stdout, stderr)."""
    client = ["--client", INGEST_CLIENT] if INGEST_CLIENT else []
    out = subprocess.run([HORUS_BIN, "probe", url, *map(str, args), *client],
                         capture_output=True, text=True, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, out.stdout + out.stderr
    return out.returncode, json.loads(lines[0]), out.stderr


def stream_of(result, kind):
    found = [s for s in result["streams"] if s["kind"] == kind]
    assert len(found) == 1, result
    return found[0]


def test_h264_stream_reports_size_fps_and_monotonic_dts(camsim_factory):
    cam = camsim_factory(["--size", "640x360", "--fps", "25"])
    rc, res, err = probe(cam.url(), "--seconds", 3)
    assert rc == 0, err
    video = stream_of(res, "video")
    assert video["codec"] == "h264"
    assert video["codec_string"].startswith("avc1.")
    assert (video["width"], video["height"]) == (640, 360)
    assert video["fps"] == pytest.approx(25, abs=0.5)
    assert res["dts_monotonic"] is True
    assert res["epochs"] == 1 and res["gaps"] == 0
    # about 3 s of 25 fps, plus the GOP camsim sends at once on connect
    assert 60 <= res["packets"] <= 130
    assert res["keyframes"] >= 2


def test_quick_probe_reports_codecs_without_reading_long(camsim_factory):
    cam = camsim_factory(SMALL)
    rc, res, err = probe(cam.url())
    assert rc == 0, err
    video = stream_of(res, "video")
    assert (video["width"], video["height"], video["fps"]) == (320, 240, 15)
    assert res["duration_s"] < 3


def test_h265_bframes_and_aac_are_described_and_monotonic(camsim_factory):
    cam = camsim_factory([*SMALL, "--codec", "h265", "--bframes", "--audio"])
    rc, res, err = probe(cam.url(), "--seconds", 3)
    assert rc == 0, err
    video = stream_of(res, "video")
    assert video["codec"] == "h265"
    assert video["codec_string"].startswith("hvc1.1.6.L")
    assert (video["width"], video["height"]) == (320, 240)
    assert video["fps"] == pytest.approx(15, abs=0.5)
    audio = stream_of(res, "audio")
    assert (audio["codec"], audio["codec_string"]) == ("aac", "mp4a.40.2")
    assert (audio["sample_rate"], audio["channels"]) == (48000, 1)
    assert res["dts_monotonic"] is True


def test_right_digest_credentials_stream_and_are_masked(camsim_factory):
    cam = camsim_factory([*SMALL, "--auth", "admin:s3cret"])
    url = cam.url().replace("rtsp://", "rtsp://admin:s3cret@")
    rc, res, err = probe(url)
    assert rc == 0, err
    assert res["url"] == cam.url().replace("rtsp://", "rtsp://admin:***@")
    assert "s3cret" not in err


def test_wrong_or_missing_credentials_are_auth_failed(camsim_factory):
    cam = camsim_factory([*SMALL, "--auth", "admin:s3cret"])
    for url in (cam.url().replace("rtsp://", "rtsp://admin:wrong@"), cam.url()):
        rc, res, err = probe(url)
        assert rc == 1
        assert res["error"]["code"] == "auth_failed", res
        assert "authentication failed" in res["error"]["message"]
        assert "wrong" not in json.dumps(res) and "wrong" not in err


def test_refused_connections_are_unreachable(camsim_factory):
    cam = camsim_factory([*SMALL, "--fault", "refuse"])
    rc, res, _ = probe(cam.url())
    assert rc == 1
    assert res["error"]["code"] == "unreachable", res


def test_nothing_listening_is_unreachable():
    rc, res, _ = probe(f"rtsp://127.0.0.1:{free_port()}/cam1")
    assert rc == 1
    assert res["error"]["code"] == "unreachable", res


def test_unknown_path_is_not_found(camsim_factory):
    cam = camsim_factory(SMALL)
    rc, res, _ = probe(cam.url().replace("/cam1", "/nope"))
    assert rc == 1
    assert res["error"]["code"] == "not_found", res


class _Http(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


def test_an_http_server_is_not_rtsp():
    server = HTTPServer(("127.0.0.1", 0), _Http)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rc, res, _ = probe(f"rtsp://127.0.0.1:{server.server_port}/cam1")
    finally:
        server.shutdown()
    assert rc == 1
    assert res["error"]["code"] == "not_rtsp", res


def test_a_silent_server_times_out_within_the_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)  # accepts in the kernel, never answers
        rc, res, _ = probe(f"rtsp://127.0.0.1:{s.getsockname()[1]}/cam1", "--timeout", 1000)
    assert rc == 1
    assert res["error"]["code"] == "timeout", res
    assert res["error"]["message"].startswith("timeout")


def test_stall_is_detected_within_the_stall_timeout(camsim_factory):
    cam = camsim_factory([*SMALL, "--fault", "stall:1"])
    rc, res, err = probe(cam.url(), "--seconds", 4, "--stall-timeout", 1000)
    assert rc == 0, err
    assert res["stalls"] >= 1, res
    # detected after the configured 1 s without packets, with a little slack
    assert 1000 <= res["max_stall_detect_ms"] <= 1600, res
    assert res["reconnects"] >= 1
    assert res["dts_monotonic"] is True


def test_drop_reconnects_with_a_new_epoch_and_a_monotonic_timeline(camsim_factory):
    cam = camsim_factory([*SMALL, "--fault", "drop:2"])
    rc, res, err = probe(cam.url(), "--seconds", 5)
    assert rc == 0, err
    assert res["reconnects"] >= 1, res
    assert res["epochs"] >= 2, res
    assert res["gaps"] >= 1
    assert res["dts_monotonic"] is True


def test_usage_errors_exit_2():
    out = subprocess.run([HORUS_BIN, "probe"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    out = subprocess.run([HORUS_BIN, "probe", "rtsp://x/", "--seconds", "-1"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
