"""The SRT re-stream (docs/design/0060) with real callers: ffprobe and ffmpeg (libsrt) and
srt-live-transmit read MPEG-TS of camsim's H.264 and AAC over SRT with the node's AES
passphrase, naming the camera and an API key or a live token in the stream id; three callers
at once cost the camera one connection and show in the sessions list; a wrong passphrase, no
credential, a wrong key or a camera that is not the caller's are refused at the handshake,
counted and logged without the secret; and a stream id that does not parse is refused too."""
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import Camsim, Horus, require_tool, wait_until
from test_webrtc import free_udp_port

PASS = "correct-horse-battery-42"
FPS = 25


@pytest.fixture(scope="module")
def srt(tmp_path_factory):
    require_tool("ffmpeg")
    tmp = tmp_path_factory.mktemp("srt")
    for d in ("sim", "horus"):
        (tmp / d).mkdir()
    sim = Camsim(tmp / "sim", args=["--audio", "--gop", "25", "--verbose"])
    port = free_udp_port()
    h = Horus(tmp / "horus",
              f"restream:\n  srt:\n    listen: 127.0.0.1:{port}\n    passphrase: \"{PASS}\"\n"
              "    latency: 60ms\n"
              "cameras:\n"
              f"  - id: cam1\n    url: \"{sim.url(1)}\"\n"
              f"  - id: cam2\n    url: \"{sim.url(1)}\"\n")
    h.srt_port = port
    h.sim = sim
    wait_until(lambda: h.get_json("/api/v1/cameras/cam1")[1]["status"]["state"] == "streaming",
               30, "cam1 streaming")
    time.sleep(1.5)  # a keyframe kept in the relay
    yield h
    assert h.stop() == 0
    sim.stop()
    out = h.proc.output()
    assert "Sanitizer" not in out
    for secret in [h.api_key, PASS] + getattr(h, "tokens", []):
        assert secret not in out, "a secret in the daemon's log"


def url(h, streamid, passphrase=PASS, latency="60000"):
    """An SRT caller's URL; latency in ffmpeg's unit, microseconds (srt-live-transmit: ms)."""
    q = {"streamid": streamid, "mode": "caller", "latency": latency}
    if passphrase:
        q["passphrase"] = passphrase
    return f"srt://127.0.0.1:{h.srt_port}?" + urllib.parse.urlencode(q)


def sid(cam, cred):
    return f"#!::r={cam},s={cred},m=request"


def ffprobe(u, timeout=20):
    return subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", u],
                          capture_output=True, text=True, timeout=timeout)


def record(u, path, seconds=3, timeout=40):
    return subprocess.run(["ffmpeg", "-v", "error", "-i", u, "-t", str(seconds), "-c", "copy",
                           "-y", str(path)], capture_output=True, text=True, timeout=timeout)


def packets(path, kind="v"):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", kind, "-show_entries",
                          "packet=pts_time,flags", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["packets"]


def sessions(h):
    status, body = h.get_json("/api/v1/restream/sessions")
    assert status == 200
    return body["items"]


def test_ffprobe_sees_h264_and_aac_in_mpeg_ts(srt):
    r = ffprobe(url(srt, sid("cam1", srt.api_key)))
    assert r.returncode == 0, r.stderr
    codecs = sorted(s["codec_name"] for s in json.loads(r.stdout)["streams"])
    assert codecs == ["aac", "h264"], codecs


def test_three_callers_cost_the_camera_one_connection(srt, tmp_path):
    connected = srt.sim.proc.output().count(" connected")
    results = [None] * 3

    def run(i):
        results[i] = record(url(srt, sid("cam1", srt.api_key)), tmp_path / f"{i}.ts", seconds=6)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    seen = wait_until(lambda: [s for s in sessions(srt) if s["transport"] == "srt"
                               and s["bytes"] > 0] or None, 20, "SRT sessions with bytes")
    wait_until(lambda: srt.metric("horus_restream_srt_sessions") == 3, 20, "three SRT sessions")
    assert all(s["camera"] == "cam1" and s["stream"] == "main" and s["user"] == "conftest"
               for s in seen), seen
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert r.returncode == 0, r.stderr
        v = packets(tmp_path / f"{i}.ts")
        assert len(v) >= 4 * FPS, len(v)
        assert "K" in v[0]["flags"]  # it starts on a keyframe
        assert len(packets(tmp_path / f"{i}.ts", "a")) > 100  # AAC: ~47 frames a second
    assert srt.sim.proc.output().count(" connected") == connected
    wait_until(lambda: srt.metric("horus_restream_srt_sessions") == 0, 15, "sessions ended")


def test_srt_live_transmit_reads_it(srt, tmp_path):
    tool = shutil.which("srt-live-transmit")
    if not tool:
        pytest.fail("srt-live-transmit is missing: scripts/setup installs srt-tools")
    out = tmp_path / "slt.ts"
    with open(out, "wb") as f:  # file://con: the TS on its standard output
        p = subprocess.Popen([tool, "-q", url(srt, sid("cam1", srt.api_key), latency="60"),
                              "file://con"],
                             stdout=f, stderr=subprocess.PIPE)
        time.sleep(4)
        p.terminate()
        p.wait(10)
    assert out.stat().st_size > 100_000, p.stderr.read()[-2000:]
    assert len(packets(out)) >= 2 * FPS


def refused(h, u):
    r = ffprobe(u, timeout=20)
    return r.returncode != 0


def test_wrong_passphrase_no_credential_and_strangers_are_refused(srt):
    before = srt.metric("horus_restream_srt_refused_total")
    assert refused(srt, url(srt, sid("cam1", srt.api_key), passphrase="not-the-passphrase"))
    assert refused(srt, url(srt, sid("cam1", srt.api_key), passphrase=None))
    assert refused(srt, url(srt, "cam1"))  # no credential
    assert refused(srt, url(srt, sid("cam1", "hk_" + "0" * 40)))  # no such key
    assert refused(srt, url(srt, sid("nope", srt.api_key)))  # no such camera
    assert refused(srt, url(srt, "#!::r=cam1,m=publish"))  # Horus takes nothing
    samples = dict((lb["reason"], v) for lb, v in srt.metric_samples(
        "horus_restream_srt_refused_total"))
    assert samples.get("unauthorized", 0) >= 2, samples
    assert samples.get("not_found", 0) >= 1, samples
    assert samples.get("bad_streamid", 0) >= 1, samples
    assert srt.metric("horus_restream_srt_refused_total") >= before + 4
    wait_until(lambda: "srt caller refused: no valid API key or live token" in srt.proc.output(),
               5, "the refusal in the log")
    assert not [s for s in sessions(srt) if s["transport"] == "srt"]


def test_a_live_token_opens_its_camera_only(srt):
    status, _, raw = srt.request("POST", "/api/v1/cameras/cam1/share",
                                 {"kind": "live", "stream": "main"})
    assert status == 200, raw
    tok = urllib.parse.unquote(re.search(r"[?&]t=([^&]+)", json.loads(raw)["url"]).group(1))
    srt.tokens = getattr(srt, "tokens", []) + [tok]
    assert ffprobe(url(srt, sid("cam1", tok))).returncode == 0
    assert refused(srt, url(srt, sid("cam2", tok)))
