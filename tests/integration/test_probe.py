"""POST /api/v1/cameras/probe against real horus-camsim cameras: codecs, size
and frame rate, or a clear reason; the request waits on a worker, so slow
probes never hold the HTTP threads. Responses are checked against the
OpenAPI document."""
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import HORUS_BIN, require_tool
from openapi_check import OpenApi

T = "/api/v1/cameras/probe"


@pytest.fixture
def probe(horus_factory):
    h = horus_factory("server:\n  threads: 2\n")
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])

    def call(body, want=200, timeout=15):
        status, headers, data = h.request("POST", T, body, timeout=timeout)
        assert status == want, (status, data)
        return spec.validate("POST", T, status, headers["Content-Type"], data)
    call.horus = h
    return call


def test_a_camera_reports_codecs_size_and_frame_rate(probe, camsim_factory):
    sim = camsim_factory(args=["--size", "640x360", "--fps", "25", "--audio"])
    out = probe({"url": sim.url(1)})
    assert out["ok"] is True, out
    video = [s for s in out["streams"] if s["kind"] == "video"][0]
    assert (video["codec"], video["width"], video["height"]) == ("h264", 640, 360), video
    assert video["codec_string"].startswith("avc1.")
    assert 24 <= video["fps"] <= 26, video
    audio = [s for s in out["streams"] if s["kind"] == "audio"][0]
    assert audio["codec"] == "aac" and audio["sample_rate"] > 0, audio


def test_a_probe_runs_on_the_configured_client(horus_factory, camsim_factory):
    sim = camsim_factory()
    for client in ("native", "libav"):
        h = horus_factory(f"ingest:\n  client: {client}\n")
        spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
        status, headers, data = h.request("POST", T, {"url": sim.url(1)}, timeout=15)
        out = spec.validate("POST", T, status, headers["Content-Type"], data)
        assert out["ok"] is True and out["client"] == client, out
        h.stop()


def test_a_name_whose_first_address_refuses_is_reached_at_the_next(camsim_factory, tmp_path):
    """A camera's name may resolve to an address nothing listens on before the one that
    answers: a fresh Debian's /etc/hosts gives localhost ::1, then 127.0.0.1, and camsim
    listens on 127.0.0.1 only. The native client moves to the next address when a connect
    fails. The name comes from an /etc/hosts of the probe's own (a mount namespace)."""
    sim = camsim_factory(["--size", "320x180"])
    hosts = tmp_path / "hosts"
    hosts.write_text("::1 twoaddrs\n127.0.0.1 twoaddrs\n")
    url = sim.url(1).replace("127.0.0.1", "twoaddrs")
    script = 'mount --bind "$1" /etc/hosts && exec "$2" probe "$3" --client native'
    out = subprocess.run([require_tool("unshare"), "-m", "sh", "-c", script, "sh", str(hosts),
                          HORUS_BIN, url], capture_output=True, text=True, timeout=60)
    if "cannot change root filesystem propagation" in out.stderr:
        # In a chroot "/" is no mount point, so the namespace's mounts cannot be made
        # private, and a bind mount there could reach the host's view of /etc/hosts.
        pytest.skip("a private mount namespace needs / to be a mount point (not a chroot)")
    lines = out.stdout.strip().splitlines()
    res = json.loads(lines[-1]) if lines else {}
    assert out.returncode == 0 and res["streams"][0]["codec"] == "h264", (res, out.stderr[-2000:])


def test_a_url_the_client_cannot_parse_is_refused_by_field(probe):
    for url, reason in [("rtsp://:554/x", "url: "), ("rtsp://host:99999/x", "url: "),
                        ("rtsp://ho st/x", "url: ")]:
        status, _, data = probe.horus.request("POST", T, {"url": url})
        assert status == 400, (url, status, data)
        assert json.loads(data)["error"]["message"].startswith(reason), data


def test_wrong_credentials_say_authentication_failed_and_stay_masked(probe, camsim_factory):
    sim = camsim_factory(args=["--auth", "admin:right"])
    out = probe({"url": sim.url(1).replace("rtsp://", "rtsp://admin:wrong@")})
    assert out["ok"] is False and out["reason"] == "auth_failed", out
    assert "authentication failed" in out["message"]
    assert "wrong" not in str(out) and "admin:***@" in out["url"], out


def test_unreachable_and_not_rtsp_are_told_apart(probe):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    out = probe({"url": f"rtsp://127.0.0.1:{port}/x"})
    assert out["reason"] == "unreachable", out
    # An HTTP server is not a camera.
    out = probe({"url": f"rtsp://127.0.0.1:{probe.horus.port}/x"})
    assert out["reason"] == "not_rtsp", out


def test_bad_bodies_name_the_field(probe):
    for body, field in (({}, "url"), ({"url": "http://x/"}, "url"), ({"url": 5}, "url"),
                        ({"url": "rtsp://x/", "timeout_ms": 5}, "timeout_ms"),
                        ({"url": "rtsp://x/", "colour": "red"}, "colour")):
        out = probe(body, want=400)
        assert out["error"]["message"].startswith(field + ":"), (body, out)


@pytest.fixture
def mute_url():
    """A listener that accepts (the kernel's backlog) and never answers."""
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(16)
    yield f"rtsp://127.0.0.1:{mute.getsockname()[1]}/x"
    mute.close()


def test_slow_probes_hold_no_thread_and_a_fifth_is_refused(probe, mute_url):
    # Each probe of the mute camera waits for its 2 s deadline on a worker while the 2
    # HTTP threads stay free.
    results = []

    def one():
        results.append(probe({"url": mute_url, "timeout_ms": 2000}))
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert probe.horus.get_json("/health")[0] == 200
    assert time.monotonic() - t0 < 1.0
    busy = probe({"url": mute_url}, want=503)
    assert "probes are already running" in busy["error"]["message"]
    for t in threads:
        t.join(20)
    assert [r["reason"] for r in results] == ["timeout"] * 4, results


def stop_mid_probe(probe, url, timeout_ms):
    """Stops the daemon 0.5 s into a probe of url: (exit code, stop seconds, statuses)."""
    got = []
    t = threading.Thread(target=lambda: got.append(probe.horus.request(
        "POST", T, {"url": url, "timeout_ms": timeout_ms}, timeout=timeout_ms / 1000 + 10)[0]))
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    rc = probe.horus.stop(timeout=30)
    stop_s = time.monotonic() - t0
    t.join(15)
    return rc, stop_s, got


def test_stopping_cancels_a_long_probe_of_a_mute_camera(probe, mute_url):
    """A probe may wait 30 s on a camera that never answers; a stop must not."""
    rc, stop_s, got = stop_mid_probe(probe, mute_url, 30000)
    assert rc == 0  # 1 would mean the stop was forced
    assert stop_s < 5
    assert got == [503], got


def test_stopping_mid_probe_exits_cleanly(probe, mute_url):
    rc, _, got = stop_mid_probe(probe, mute_url, 2000)
    assert rc == 0
    assert got == [503], got
