"""Live view end to end: horus-camsim cameras recorded by a real daemon and
watched over LL-HLS: ffmpeg decodes 10 s continuously, ffprobe reads the
playlist, playlist syntax (parts INDEPENDENT exactly on keyframes, PDT,
maps), content types, a blocking reload that returns when the next part
exists, requests too far ahead refused, unknown cameras, cameras without
recording, and clients that leave in the middle of a blocking reload."""
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import CAMSIM_BIN, Camsim, Horus, require_tool
from openapi_check import OpenApi

LIVE = "/api/v1/cameras/{id}/live"
M3U8 = "application/vnd.apple.mpegurl"
HLSLOAD = os.environ.get("HORUS_HLSLOAD_BIN",
                         str(Path(CAMSIM_BIN).parents[1] / "hlsload" / "horus-hlsload"))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One simulator and one daemon shared by the module: cam1 records (so it
    is live), cam2 has recording disabled."""
    tmp = tmp_path_factory.mktemp("live")
    (tmp / "sim").mkdir()
    (tmp / "horus").mkdir()
    sim = Camsim(tmp / "sim", args=["--audio"], paths=2)
    config = (f"cameras:\n"
              f"  - id: cam1\n    url: \"{sim.url(1)}\"\n"
              f"  - id: cam2\n    url: \"{sim.url(2)}\"\n    record:\n      enabled: false\n")
    h = Horus(tmp / "horus", config)
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    h.spec = OpenApi(doc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, _, body = h.request("GET", "/api/v1/cameras/cam1/live/index.m3u8")
        if status == 200 and body.count(b"#EXTINF") >= 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no live playlist with two segments:\n" + h.proc.output())
    yield h
    assert h.stop() == 0
    sim.stop()
    # No sanitizer or crash report from the daemon.
    assert "Sanitizer" not in h.proc.output()


def get(h, path, headers=None, timeout=10):
    status, hdrs, body = h.request("GET", path, headers=headers, timeout=timeout)
    return status, {k.lower(): v for k, v in hdrs.items()}, body


def checked(h, template, path, want_status):
    """GET path, check the status, validate the reply against openapi.json."""
    status, hdrs, body = get(h, path)
    assert status == want_status, (path, status, body[:300])
    h.spec.validate("GET", template, status, hdrs["content-type"], body)
    return hdrs, body


class Playlist:
    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines()
        self.media_sequence = int(self.tag("EXT-X-MEDIA-SEQUENCE"))
        self.segments = []  # dicts: msn, parts [(uri, dur, independent)], uri, duration, pdt
        self.hint = None
        cur = {"parts": []}
        for line in self.lines:
            if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                cur["pdt"] = line.split(":", 1)[1]
            elif line.startswith("#EXT-X-PART:"):
                attrs = line.split(":", 1)[1]
                uri = re.search(r'URI="([^"?]+)', attrs).group(1)  # without ?t=
                dur = float(re.search(r"DURATION=([\d.]+)", attrs).group(1))
                cur["parts"].append((uri, dur, "INDEPENDENT=YES" in attrs))
            elif line.startswith("#EXTINF:"):
                cur["duration"] = float(line.split(":", 1)[1].rstrip(","))
            elif line and not line.startswith("#"):
                cur["uri"] = line.split("?", 1)[0]
                self.segments.append(cur)
                cur = {"parts": []}
            elif line.startswith("#EXT-X-PRELOAD-HINT:"):
                self.hint = re.search(r'URI="([^"?]+)', line).group(1)
        if cur["parts"]:
            self.segments.append(cur)  # the open segment: parts, no URI yet
        for i, seg in enumerate(self.segments):
            seg["msn"] = self.media_sequence + i

    def tag(self, name):
        for line in self.lines:
            if line.startswith("#" + name + ":"):
                return line.split(":", 1)[1]
        return None

    @property
    def open_segment(self):
        last = self.segments[-1]
        return last if "uri" not in last else None


def playlist(h, query=""):
    hdrs, body = checked(h, LIVE + "/index.m3u8",
                         "/api/v1/cameras/cam1/live/index.m3u8" + query, 200)
    assert hdrs["content-type"] == M3U8
    assert hdrs["cache-control"] == "no-cache"
    return Playlist(body.decode())


def packets(path):
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-select_streams", "v",
                          "-show_packets", "-show_entries", "packet=pts,flags", "-of", "json",
                          str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["packets"]


def test_ffmpeg_decodes_ten_seconds_of_live_continuously(live):
    url = live.url + "/api/v1/cameras/cam1/live/index.m3u8"
    out = subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error",
                          *live.ffmpeg_headers(), "-i", url,
                          "-map", "0:v", "-t", "10", "-f", "framemd5", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "", out.stderr
    frames = [line.split(",") for line in out.stdout.splitlines()
              if line and not line.startswith("#")]
    assert 245 <= len(frames) <= 252, len(frames)  # 25 fps for 10 s
    pts = [int(f[2]) for f in frames]
    steps = {b - a for a, b in zip(pts, pts[1:])}
    assert len(steps) == 1, f"frames not evenly spaced: {sorted(steps)[:10]}"


def test_ffprobe_reads_the_live_playlist(live):
    url = live.url + "/api/v1/cameras/cam1/live/index.m3u8"
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", *live.ffmpeg_headers(),
                          "-show_entries", "stream=codec_name,width,height", "-of", "json", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    streams = json.loads(out.stdout)["streams"]
    assert {s["codec_name"] for s in streams} == {"h264", "aac"}
    video = next(s for s in streams if s["codec_name"] == "h264")
    assert (video["width"], video["height"]) == (640, 360)


def test_playlist_tags_parts_and_program_date_times(live, tmp_path):
    pl = playlist(live)
    assert pl.lines[0] == "#EXTM3U"
    assert pl.tag("EXT-X-VERSION") == "9"
    target = int(pl.tag("EXT-X-TARGETDURATION"))
    control = pl.tag("EXT-X-SERVER-CONTROL")
    assert "CAN-BLOCK-RELOAD=YES" in control
    hold_back = float(re.search(r"PART-HOLD-BACK=([\d.]+)", control).group(1))
    part_target = float(re.search(r"PART-TARGET=([\d.]+)", pl.tag("EXT-X-PART-INF")).group(1))
    # 200 ms parts; a camera's timestamp jitter may push the largest part a few ms over.
    assert 0.2 <= part_target < 0.25
    assert hold_back >= 3 * part_target - 1e-9
    assert pl.tag("EXT-X-MAP").startswith('URI="init/')
    assert pl.hint and pl.hint.startswith("part/")
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in pl.lines
    complete = [s for s in pl.segments if "uri" in s]
    assert len(complete) >= 2
    for seg in complete:
        assert round(seg["duration"]) <= target
        assert seg["duration"] >= 2.0 - 0.05  # segment_target 2 s, GOP 1 s
    for seg in pl.segments:
        assert "pdt" in seg, seg
        if seg["parts"]:
            assert seg["parts"][0][2], f"segment {seg['msn']} starts on a part that is not independent"
            assert all(d <= part_target + 1e-6 for _, d, _ in seg["parts"])
            if "uri" in seg:
                assert sum(d for _, d, _ in seg["parts"]) == pytest.approx(seg["duration"], abs=1e-3)
    times = [time.mktime(time.strptime(s["pdt"][:19], "%Y-%m-%dT%H:%M:%S"))
             + float(s["pdt"][19:-1] or 0) for s in pl.segments]
    for (a, b), seg in zip(zip(times, times[1:]), pl.segments):
        assert abs((b - a) - seg["duration"]) < 0.5, (a, b, seg["duration"])

    # INDEPENDENT=YES exactly on parts whose first video frame is a keyframe.
    init_hdrs, init = checked(live, LIVE + "/init/{name}",
                              "/api/v1/cameras/cam1/live/" + pl.tag("EXT-X-MAP")[5:-1], 200)
    assert init_hdrs["content-type"] == "video/mp4"
    assert "immutable" in init_hdrs["cache-control"]
    parts = [p for seg in pl.segments for p in seg["parts"]][-12:]
    assert any(p[2] for p in parts) and not all(p[2] for p in parts)
    # Fetched first, checked after: ffprobe is slow on a loaded machine, and the hub keeps only
    # the last few seconds of parts.
    fetched = [(uri, independent,
                checked(live, LIVE + "/part/{name}", "/api/v1/cameras/cam1/live/" + uri, 200))
               for uri, _, independent in parts]
    seg = complete[-1]
    _, whole = checked(live, LIVE + "/segment/{name}", "/api/v1/cameras/cam1/live/" + seg["uri"], 200)
    for uri, independent, (hdrs, body) in fetched:
        assert hdrs["content-type"] == "video/iso.segment"
        f = tmp_path / "part.mp4"
        f.write_bytes(init + body)
        pk = packets(f)
        assert pk, uri
        assert ("K" in pk[0]["flags"]) == independent, (uri, pk[0])
        assert all("K" not in p["flags"] for p in pk[1:]), uri  # one keyframe per part at most

    # A whole segment (fetched with the parts) is its parts back to back, and decodes.
    f = tmp_path / "seg.mp4"
    f.write_bytes(init + whole)
    pk = packets(f)
    assert "K" in pk[0]["flags"]
    assert len(pk) == round(seg["duration"] * 25)

    # The plain playlist: complete segments only.
    plain = playlist(live, "?legacy=1")
    assert plain.tag("EXT-X-VERSION") == "7"
    assert "#EXT-X-PART" not in plain.text and "PRELOAD-HINT" not in plain.text
    assert all("uri" in s for s in plain.segments)

    # The multivariant playlist names the codecs and size.
    hdrs, master = checked(live, LIVE + "/master.m3u8", "/api/v1/cameras/cam1/live/master.m3u8",
                           200)
    assert 'CODECS="avc1.' in master.decode() and ",mp4a.40.2" in master.decode()
    assert "RESOLUTION=640x360" in master.decode()


def first_times(path):
    """{codec_type: pts_time of its first packet} of a file."""
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-show_entries",
                          "stream=index,codec_type:packet=stream_index,pts_time", "-of", "json",
                          str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    kinds = {s["index"]: s["codec_type"] for s in doc["streams"]}
    times = {}
    for p in doc["packets"]:
        times.setdefault(kinds[p["stream_index"]], float(p["pts_time"]))
    return times


def test_a_viewer_from_the_multivariant_playlist_gets_media_time_from_near_zero(live, tmp_path):
    """Live media time counts from the start of the camera's session, and GStreamer's legacy
    hlsdemux holds the first frame until that much time has passed (test_players.py). Each
    viewer that opens the multivariant playlist gets a view: the segment a plain player
    starts at and a media time a quarter second before its first picture, which every
    part and segment URI of that viewer's playlists carries on (design 0075)."""
    deadline = time.monotonic() + 20
    while True:  # until a plain player would not start at the session's first segment
        _, master = checked(live, LIVE + "/master.m3u8",
                            "/api/v1/cameras/cam1/live/master.m3u8", 200)
        variant = next(v for v in master.decode().splitlines() if v.startswith("index.m3u8"))
        m = re.fullmatch(r"index\.m3u8\?(?:t=[\w.~-]+&)?base_msn=(\d+)&base_us=(\d+)", variant)
        assert m, variant
        if int(m[1]) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert int(m[1]) > 0 and int(m[2]) > 0, variant
    view = f"base_msn={m[1]}&base_us={m[2]}"
    hdrs, body = checked(live, LIVE + "/index.m3u8", "/api/v1/cameras/cam1/live/" + variant, 200)
    pl = Playlist(body.decode())
    assert pl.media_sequence == int(m[1]), (variant, pl.text)
    map_uri = re.search(r'#EXT-X-MAP:URI="([^"]+)"', pl.text)[1]
    assert "base_" not in map_uri  # one init for every viewer
    uris = re.findall(r'URI="([^"]+)"', pl.text.split("#EXT-X-MAP", 1)[1].split("\n", 1)[1])
    uris += [v for v in pl.lines if v and not v.startswith("#")]
    assert uris and all(u.endswith(view) for u in uris), pl.text
    q = "?" + uris[-1].split("?", 1)[1]  # the token, if any, and the view
    _, init = checked(live, LIVE + "/init/{name}", "/api/v1/cameras/cam1/live/" + map_uri, 200)

    seg = pl.segments[0]
    path = "/api/v1/cameras/cam1/live/" + seg["uri"]
    _, moved = checked(live, LIVE + "/segment/{name}", path + q, 200)
    _, stored = checked(live, LIVE + "/segment/{name}", path + q.replace("&" + view, ""), 200)
    assert len(moved) == len(stored) and moved != stored  # only decode times differ
    (tmp_path / "moved.mp4").write_bytes(init + moved)
    (tmp_path / "stored.mp4").write_bytes(init + stored)
    viewer, recorded = first_times(tmp_path / "moved.mp4"), first_times(tmp_path / "stored.mp4")
    assert abs(viewer["video"] - 0.25) < 0.002, (viewer, recorded)
    assert recorded["video"] >= int(m[2]) / 1e6, (viewer, recorded)
    # Audio keeps its place against the picture.
    assert viewer["audio"] >= 0
    shift = recorded["video"] - viewer["video"]
    assert abs(recorded["audio"] - shift - viewer["audio"]) < 0.001, (viewer, recorded)
    # A part (of a later segment: parts are listed for the last three) is moved alike.
    later = next(s for s in pl.segments if s["parts"])
    part = "/api/v1/cameras/cam1/live/" + later["parts"][0][0]
    _, body = checked(live, LIVE + "/part/{name}", part + q, 200)
    (tmp_path / "part.mp4").write_bytes(init + body)
    _, body = checked(live, LIVE + "/part/{name}", part + q.replace("&" + view, ""), 200)
    (tmp_path / "part-stored.mp4").write_bytes(init + body)
    moved_v = first_times(tmp_path / "part.mp4")["video"]
    stored_v = first_times(tmp_path / "part-stored.mp4")["video"]
    assert abs(stored_v - moved_v - int(m[2]) / 1e6) < 0.002, (moved_v, stored_v)

    # A view is both numbers or neither, each a count.
    for bad in ("?base_msn=3", "?base_us=5", "?base_msn=-1&base_us=0", "?base_msn=1&base_us=x"):
        _, body = checked(live, LIVE + "/index.m3u8", "/api/v1/cameras/cam1/live/index.m3u8" + bad,
                          400)
        assert "base_" in json.loads(body)["error"]["message"], (bad, body)
        _, body = checked(live, LIVE + "/part/{name}", part.split("?")[0] + bad, 400)
        assert "base_" in json.loads(body)["error"]["message"], (bad, body)


def test_blocking_reload_returns_when_the_next_part_exists(live):
    for _ in range(3):
        pl = playlist(live)
        seg = pl.open_segment or pl.segments[-1]
        msn, nxt = seg["msn"], len(seg["parts"])
        if pl.open_segment is None:
            msn, nxt = msn + 1, 0
        want = pl.hint  # the next part's URI
        seen = {}

        def poll():
            # When does the part show up in an ordinary (non-blocking) reload?
            end = time.monotonic() + 5
            while time.monotonic() < end and "t" not in seen:
                _, _, body = get(live, "/api/v1/cameras/cam1/live/index.m3u8")
                if re.search(rf'^#EXT-X-PART:.*URI="{re.escape(want)}[?"]', body.decode(), re.M):
                    seen["t"] = time.monotonic()
                time.sleep(0.01)

        t = threading.Thread(target=poll)
        t.start()
        t0 = time.monotonic()
        status, _, body = get(live, f"/api/v1/cameras/cam1/live/index.m3u8?_HLS_msn={msn}"
                                    f"&_HLS_part={nxt}")
        t1 = time.monotonic()
        t.join()
        assert status == 200
        text = body.decode()
        # Not before: the reply holds the part it waited for (its hint moved on).
        assert re.search(rf'^#EXT-X-PART:.*URI="{re.escape(want)}[?"]', text, re.M), text
        assert not re.search(rf'PRELOAD-HINT:TYPE=PART,URI="{re.escape(want)}[?"]', text)
        assert "t" in seen
        # As soon as it exists: well under a part duration after a plain reload first saw it.
        assert t1 - seen["t"] < 0.2, (t1 - seen["t"], t1 - t0)

    # The hinted part itself can be requested before it exists.
    pl = playlist(live)
    status, hdrs, body = get(live, "/api/v1/cameras/cam1/live/" + pl.hint)
    assert status == 200 and hdrs["content-type"] == "video/iso.segment" and body


def test_blocking_reload_too_far_ahead_or_malformed_is_400(live):
    pl = playlist(live)
    last = pl.segments[-1]["msn"]
    for query in (f"_HLS_msn={last + 5}", f"_HLS_msn={last + 5}&_HLS_part=0",
                  "_HLS_part=1", "_HLS_msn=-1", "_HLS_msn=abc", "stream=..", "legacy=maybe"):
        _, body = checked(live, LIVE + "/index.m3u8",
                          "/api/v1/cameras/cam1/live/index.m3u8?" + query, 400)
        msg = json.loads(body)["error"]["message"]
        assert re.search(r"_HLS_msn|_HLS_part|stream|legacy", msg), msg


def test_unknown_camera_and_camera_without_media_are_404(live):
    _, body = checked(live, LIVE + "/index.m3u8", "/api/v1/cameras/nope/live/index.m3u8", 404)
    assert json.loads(body)["error"]["message"] == "camera 'nope' does not exist"
    _, body = checked(live, LIVE + "/index.m3u8", "/api/v1/cameras/cam2/live/index.m3u8", 404)
    assert "recording is disabled" in json.loads(body)["error"]["message"]
    _, body = checked(live, LIVE + "/index.m3u8",
                      "/api/v1/cameras/cam1/live/index.m3u8?stream=sub", 404)
    assert "stream 'sub'" in json.loads(body)["error"]["message"]
    _, body = checked(live, LIVE + "/part/{name}", "/api/v1/cameras/cam1/live/part/0-0.m4s", 404)
    assert "earlier run" in json.loads(body)["error"]["message"]
    _, body = checked(live, LIVE + "/segment/{name}",
                      "/api/v1/cameras/cam1/live/segment/junk", 404)
    checked(live, LIVE + "/master.m3u8", "/api/v1/cameras/nope/live/master.m3u8", 404)


def test_clients_leaving_during_blocking_reloads_leave_the_server_healthy(live):
    pl = playlist(live)
    msn = pl.segments[-1]["msn"] + 2  # waits about two segments
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", live.port))
        s.sendall(f"GET /api/v1/cameras/cam1/live/index.m3u8?_HLS_msn={msn} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1\r\nAuthorization: Bearer {live.api_key}\r\n\r\n".encode())
        if i % 2:
            time.sleep(0.02)
        s.close()
    status, health = live.get_json("/health")
    assert status == 200 and health["status"] in ("ok", "degraded")
    # The waiters were dropped as their clients left, not when their deadline passed.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, _, metrics = get(live, "/metrics")
        m = re.search(rb'horus_live_blocking_requests_total\{result="timeout"\} (\d+)', metrics)
        if m:
            break
        time.sleep(0.1)
    assert m and int(m.group(1)) == 0
    # And live playback goes on.
    assert playlist(live).segments[-1]["msn"] >= pl.segments[-1]["msn"]


def test_forty_low_latency_viewers_get_every_part_in_order(live):
    """horus-hlsload (bench/live/viewers' client): 40 viewers of one camera, each on its own
    keep-alive connection, block on the playlist for the next part and fetch it, for 4 s.
    None falls behind far enough to skip a part, none gets an error, and each gets about the
    parts published meanwhile (200 ms parts: 20 in 4 s)."""
    out = subprocess.run([HLSLOAD, "--base", live.url, "--cameras", "cam1",
                          "--playlist", "/api/v1/cameras/{cam}/live/index.m3u8",
                          "--header", f"Authorization: Bearer {live.api_key}",
                          "--viewers", "40", "--seconds", "4", "--warmup", "2"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["connected"] == 40 and r["errors"] == 0 and r["server_errors"] == 0, r
    assert r["skipped"] == 0 and r["reconnects"] == 0, r
    assert r["parts"] >= 40 * 15, r


def test_metrics_report_part_delay_and_viewers(live):
    playlist(live)
    _, _, metrics = get(live, "/metrics")
    text = metrics.decode()
    m = re.search(r'horus_live_part_delay_seconds_count\{camera="cam1",stream="main"\} (\d+)', text)
    assert m and int(m.group(1)) > 20
    deadline = time.monotonic() + 3
    while 'horus_live_viewers{camera="cam1"} 1' not in text and time.monotonic() < deadline:
        time.sleep(0.2)
        text = get(live, "/metrics")[2].decode()
    assert 'horus_live_viewers{camera="cam1"} 1' in text
    r = subprocess.run([require_tool("promtool"), "check", "metrics"], input=metrics,
                       capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
