"""A real browser plays Horus streams: Debian's chromium, driven by playwright-core,
plays the LL-HLS live playlist and a recorded range's playback playlist with hls.js
(tests/e2e/play_hls.mjs), reading camsim's burnt capture clock back from the live
frames (glass-to-glass latency, held to a sanity bound). Both npm packages come from
tests/e2e/package-lock.json, installed by scripts/setup."""
import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import require_tool

E2E = Path(__file__).resolve().parent.parent / "e2e"


def play(url, seconds, token, low_latency=True, flags=()):
    node = require_tool("node")
    require_tool("chromium")
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/e2e/node_modules is missing; run scripts/setup")
    args = [node, str(E2E / "play_hls.mjs"), url, str(seconds)]
    if not low_latency:
        args.append("--no-low-latency")
    args += flags
    r = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60,
                       env={**os.environ, "HORUS_TOKEN": token})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def wait_ok(h, path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if h.request("GET", path)[0] == 200:
            return
        time.sleep(0.3)
    raise AssertionError(f"{path} never answered 200")


def test_hlsjs_plays_the_live_stream_with_low_latency(camsim_factory, horus_factory):
    sim = camsim_factory(args=["--size", "640x360", "--gop", "25"])
    h = horus_factory(f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n")
    live = "/api/v1/cameras/door/live/index.m3u8"
    wait_ok(h, live, 15)
    out = play(h.url + live, 10, h.api_key, flags=["--g2g", "640x360"])
    print("hls.js live:", json.dumps({k: v for k, v in out.items() if k != "samples"}))
    assert out["h264_mse"], "this chromium cannot decode H.264 through MSE"
    assert not out["fatal"], out["errors"]
    assert out["low_latency"] and out["parts_seen"], out
    assert (out["width"], out["height"]) == (640, 360)
    # Playing: time and decoded frames advance for most of the window.
    assert out["played_s"] >= 5, out
    assert out["frames"] >= 5 * 25 * 0.8, out
    # Glass to glass over LL-HLS (tests/e2e/lib/g2g.mjs): camsim's burnt capture clock read
    # back from the displayed frames; a sanity bound only (the figures are bench/latency's).
    g2g = out["g2g"]
    assert g2g["samples"] >= 50 and g2g["backwards"] == 0, g2g
    assert g2g["unreadable"] <= g2g["frames"] // 10, g2g
    assert 0 < g2g["latency_ms"]["min"] and g2g["latency_ms"]["max"] < 10000, g2g


def test_hlsjs_plays_a_recorded_range(camsim_factory, horus_factory):
    sim = camsim_factory(args=["--size", "640x360", "--gop", "25"])
    h = horus_factory(f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n"
                      "    record:\n      segment_seconds: 4\n")
    wait_ok(h, "/api/v1/cameras/door/live/index.m3u8", 15)
    start = int(time.time() * 1000)
    time.sleep(14)
    end = start + 10000
    q = urllib.parse.urlencode({"start": start, "end": end})
    url = f"{h.url}/api/v1/cameras/door/playback.m3u8?{q}"
    out = play(url, 8, h.api_key, low_latency=False)
    print("hls.js playback:", json.dumps({k: v for k, v in out.items() if k != "samples"}))
    assert not out["fatal"], out["errors"]
    assert out["played_s"] >= 5, out
    assert (out["width"], out["height"]) == (640, 360)
