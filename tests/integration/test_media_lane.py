"""The media lane (docs/design/0059): with server.media_listen, a second listener serves live and
recorded video, WHEP and health checks, with the same credentials as the API listener, and
nothing else (API routes and the web UI's files get 404 naming the lane). Its connections have
their own limit: a crowd of idle connections that fills it is turned away there, counted in
horus_http_media_connections_dropped_total, while the API listener answers as before. A
media_listen that cannot be bound stops the start with the key named."""
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import CAMSIM_BIN, HORUS_BIN, free_port, wait_until
from test_webrtc import free_udp_port

WHEPLOAD = os.environ.get("HORUS_WHEPLOAD_BIN",
                          str(Path(CAMSIM_BIN).parents[1] / "whepload" / "horus-whepload"))


def get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def sample(h, name):
    """One unlabelled /metrics sample, or the sum of a labelled family's samples."""
    _, _, body = h.request("GET", "/metrics")
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in body.decode().splitlines()
               if ln.startswith(name + " ") or ln.startswith(name + "{"))


def test_the_media_listener_serves_video_only_with_its_own_limits(horus_factory, camsim_factory):
    sim = camsim_factory()
    mport = free_port()
    h = horus_factory(
        f"server:\n  media_listen: \"127.0.0.1:{mport}\"\n  media_threads: 2\n"
        "  media_max_connections: 16\n  header_timeout: 30s\n"
        f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
        f"cameras:\n  - id: cam1\n    url: \"{sim.url(1)}\"\n")
    media = f"http://127.0.0.1:{mport}"
    auth = h.auth_headers()
    wait_until(lambda: get(f"{media}/api/v1/cameras/cam1/live/index.m3u8", auth)[0] == 200, 30,
               "the live playlist on the media listener")

    # Video and health checks are there, with the API listener's credentials and gate.
    assert get(f"{media}/health")[0] == 200
    status, body = get(f"{media}/api/v1/cameras/cam1/live/index.m3u8", auth)
    assert status == 200 and b"#EXT-X-PART:" in body
    assert get(f"{media}/api/v1/cameras/cam1/live/index.m3u8")[0] == 401
    # The API and the web UI are not: 404 naming the lane, on both.
    for path in ("/api/v1/cameras", "/api/v1/system", "/", "/live"):
        status, body = get(media + path, auth)
        assert status == 404, (path, status)
        msg = json.loads(body)["error"]["message"]
        assert "media listener (server.media_listen)" in msg, msg
    # The API listener still serves everything, video included.
    assert h.request("GET", "/api/v1/cameras")[0] == 200
    assert h.request("GET", "/api/v1/cameras/cam1/live/index.m3u8")[0] == 200

    # WHEP on the media listener: real viewers get the picture.
    r = subprocess.run([WHEPLOAD, "--url", f"{media}/api/v1/cameras/cam1/whep", "--viewers", "3",
                        "--seconds", "3"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "HORUS_TOKEN": h.api_key})
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["connected"] == 3 and res["min_packets"] > 20, res

    # Fill the media listener with connections that never send a request: past its limit
    # the oldest idle ones are closed there, and the API listener does not notice.
    socks = []
    try:
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", mport), timeout=5)
            socks.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        assert h.request("GET", "/api/v1/cameras")[0] == 200
        assert time.monotonic() - t0 < 2
        wait_until(lambda: sample(h, "horus_http_media_connections_dropped_total") > 0, 10,
                   "media connections dropped at the media listener's limit")
        assert sample(h, "horus_http_connections_dropped_total") == 0
        assert sample(h, "horus_http_media_connections") <= 16 + 16  # the limit, plus headroom
    finally:
        for s in socks:
            s.close()


def test_a_media_listen_that_cannot_be_bound_stops_the_start(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    cfg = tmp_path / "horus.yaml"
    cfg.write_text(f"server:\n  media_listen: \"127.0.0.1:{port}\"\n")
    try:
        r = subprocess.run([HORUS_BIN, "serve", "-c", str(cfg), "--data", str(tmp_path / "d"),
                            "--listen", f"127.0.0.1:{free_port()}"],
                           capture_output=True, text=True, timeout=30)
    finally:
        taken.close()
    assert r.returncode != 0
    assert f"server.media_listen '127.0.0.1:{port}'" in r.stderr + r.stdout, r.stderr[-2000:]
