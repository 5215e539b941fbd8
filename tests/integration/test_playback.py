"""Playback end to end: a real daemon records horus-camsim in 2 s segments
through a camera outage (the simulator is stopped and restarted on the same
port); then ffmpeg and ffprobe play the HLS playlists, the timeline shows
the outage as a gap, media ranges are compared with the files on disk, and
bad input gets clear errors. JSON replies are checked against the OpenAPI
document.

One recording session is shared by the module's tests (recording it takes
about half a minute); tests only read from it."""
import datetime
import json
import math
import re
import socket
import subprocess
import time

import pytest

from conftest import (CAMSIM_BIN, Camsim, Horus, Proc, camsim_skipped_frames, recording_rows,
                      require_tool, wait_for_port, wait_until)
from openapi_check import OpenApi


def rows(h):
    return recording_rows(h, camera="cam", stream="main")


FPS = 25
SEGMENT_S = 2
ORIGIN = "http://ui.example"


def split_at_gap(recs):
    """(rows before the largest hole, rows after it, the hole in us)."""
    holes = [(b["start_us"] - a["end_us"], i) for i, (a, b) in enumerate(zip(recs, recs[1:]))]
    hole, i = max(holes)
    return recs[:i + 1], recs[i + 1:], hole


def rfc3339_ms(us):
    ms = us // 1000
    t = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A recording with an outage in the middle. Yields (horus, rows)."""
    tmp = tmp_path_factory.mktemp("playback")
    (tmp / "camsim").mkdir()
    (tmp / "horus").mkdir()
    sim = Camsim(tmp / "camsim")
    port = sim.port
    restarted = None
    h = Horus(tmp / "horus",
              f"server:\n  cors_origins: [\"{ORIGIN}\"]\n"
              f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
              f"    record:\n      segment_seconds: {SEGMENT_S}\n")
    try:
        wait_until(lambda: len(rows(h)) >= 4, 30, "four segments before the outage")
        sim.stop()
        time.sleep(3)
        restarted = Proc([CAMSIM_BIN, "--listen", f"127.0.0.1:{port}", "--paths", "1"],
                         tmp / "camsim", "camsim-restarted.log")
        wait_for_port(port, timeout=30, proc=restarted.popen)
        before = len(rows(h))
        wait_until(lambda: len(rows(h)) >= before + 4, 60, "four segments after the outage")
        h.camsim_logs = (sim.proc.log_path, restarted.log_path)
        yield h, rows(h)
    finally:
        h.stop()
        sim.stop()
        if restarted:
            restarted.stop()


@pytest.fixture(scope="module")
def spec(session):
    h, _ = session
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    return OpenApi(doc)


def get(h, path, headers=None):
    return h.request("GET", path, headers=headers)


def check_json(spec, template, status, headers, body):
    return spec.validate("GET", template, status, headers["Content-Type"], body)


def wait_past_the_edge(end_us):
    """Sleeps until a range ending at end_us is a VOD playlist (its segments are all closed)."""
    edge_us = (SEGMENT_S + 10) * 1_000_000 + 500_000
    delay = (end_us + edge_us) / 1e6 - time.time()
    if delay > 0:
        time.sleep(delay)


def playlist_url(h, start_ms, end_ms=None):
    url = f"/api/v1/cameras/cam/playback.m3u8?start={start_ms}"
    return url + (f"&end={end_ms}" if end_ms is not None else "")


def probe_frames(url, h):
    ffprobe = require_tool("ffprobe")
    out = subprocess.run([ffprobe, "-v", "error", *h.ffmpeg_headers(), "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames:format=duration", "-of", "json",
                          url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    return int(j["streams"][0]["nb_read_frames"]), float(j["format"]["duration"])


def decode(url, h):
    ffmpeg = require_tool("ffmpeg")
    out = subprocess.run([ffmpeg, "-v", "error", *h.ffmpeg_headers(), "-i", url, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_a_past_range_plays_completely_with_the_indexed_duration_and_dates(session):
    h, recs = session
    first, _, _ = split_at_gap(recs)
    assert len(first) >= 4, first
    a, b = first[1], first[3]
    # Start just inside a's first part (its keyframe); end just before b's end.
    start_ms, end_ms = math.ceil(a["start_us"] / 1000), b["end_us"] // 1000
    wait_past_the_edge(b["end_us"])
    status, headers, body = get(h, playlist_url(h, start_ms, end_ms))
    assert status == 200, body
    assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert headers["Cache-Control"] == "max-age=60"
    text = body.decode()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("#EXT-X-ENDLIST\n"), text
    assert "#EXT-X-DISCONTINUITY" not in text
    # One init section and one date per file, equal to the index.
    # Every URI carries the media token issued for this range (docs/design/0021).
    # Each file names where its first picture belongs in the window's media time (design
    # 0074): its start less the window's first picture, a's first keyframe.
    maps = re.findall(r'#EXT-X-MAP:URI="recordings/main/(\d+)\.mp4\?m=(-?\d+)&t=[A-Za-z0-9_-]{62}",'
                      r'BYTERANGE="(\d+)@0"\n'
                      r"#EXT-X-PROGRAM-DATE-TIME:(\S+)\n", text)
    assert [int(m[0]) for m in maps] == [r["start_us"] for r in first[1:4]], text
    assert [m[3] for m in maps] == [rfc3339_ms(r["start_us"]) for r in first[1:4]]
    assert [int(m[1]) for m in maps] == [r["start_us"] - a["start_us"] for r in first[1:4]], text
    extinf = [float(x) for x in re.findall(r"#EXTINF:([0-9.]+),", text)]
    want_s = (b["end_us"] - a["start_us"]) / 1e6
    assert abs(sum(extinf) - want_s) < 0.002, (extinf, want_s)
    url = h.url + playlist_url(h, start_ms, end_ms)
    assert decode(url, h) == ""
    frames, duration = probe_frames(url, h)
    # Media time starts at zero, not at the camera session's age (design 0074).
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", *h.ffmpeg_headers(),
                          "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries",
                          "packet=dts_time", "-of", "csv=p=0", url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and abs(float(out.stdout.split()[0])) < 0.01, out
    slack = len(extinf)  # one frame per segment
    skipped = camsim_skipped_frames(*h.camsim_logs)  # the camera's own gaps, if it fell behind
    assert -slack - skipped <= frames - want_s * FPS <= slack, (frames, want_s, skipped)
    assert abs(duration - want_s) <= slack / FPS, (duration, want_s)


def test_a_range_across_the_outage_has_a_discontinuity_and_still_decodes(session):
    h, recs = session
    first, second, hole = split_at_gap(recs)
    assert hole > 1_000_000, f"the outage left a hole of only {hole} us"
    a, b = first[-2], second[1]
    start_ms, end_ms = math.ceil(a["start_us"] / 1000), b["end_us"] // 1000
    wait_past_the_edge(b["end_us"])
    status, _, body = get(h, playlist_url(h, start_ms, end_ms))
    assert status == 200, body
    text = body.decode()
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1, text
    after = text.split("#EXT-X-DISCONTINUITY\n", 1)[1]
    # The segment after the hole is placed on the wall clock by its own date.
    offset = second[0]["start_us"] - a["start_us"]  # the hole included: media time = wall time
    assert after.startswith(
        f'#EXT-X-MAP:URI="recordings/main/{second[0]["start_us"]}.mp4?m={offset}&t='), after
    assert f"#EXT-X-PROGRAM-DATE-TIME:{rfc3339_ms(second[0]['start_us'])}\n" in after
    url = h.url + playlist_url(h, start_ms, end_ms)
    decode(url, h)
    frames, _ = probe_frames(url, h)
    recorded_s = sum(r["end_us"] - r["start_us"] for r in (a, first[-1], second[0], b)) / 1e6
    slack, skipped = text.count("#EXTINF"), camsim_skipped_frames(*h.camsim_logs)
    assert -slack - skipped <= frames - recorded_s * FPS <= slack, (frames, recorded_s, skipped)


def test_the_timeline_shows_the_outage_as_a_gap(session, spec):
    h, recs = session
    first, second, _ = split_at_gap(recs)
    start, end = recs[0]["start_us"] // 1000, recs[-1]["end_us"] // 1000 + 1
    path = f"/api/v1/cameras/cam/recordings?start={start}&end={end}&tz=%2B02:00"
    status, headers, body = get(h, path)
    assert status == 200, body
    t = check_json(spec, "/api/v1/cameras/{id}/recordings", status, headers, body)
    assert t["camera"] == "cam" and t["stream"] == "main"
    assert len(t["spans"]) == 2, t
    assert t["gaps"] == [{"start": rfc3339_ms(first[-1]["end_us"]),
                          "end": rfc3339_ms(second[0]["start_us"]),
                          "duration_s": t["gaps"][0]["duration_s"]}]
    recorded = sum(s["duration_s"] for s in t["spans"])
    assert abs(sum(d["recorded_s"] for d in t["days"]) - recorded) < 0.01
    # Defaults: the last 24 h of the main stream.
    status, headers, body = get(h, "/api/v1/cameras/cam/recordings")
    assert status == 200
    t = check_json(spec, "/api/v1/cameras/{id}/recordings", status, headers, body)
    assert len(t["spans"]) == 2 and len(t["days"]) in (1, 2)
    assert t["recording"] is True, t


def test_the_timeline_runs_to_now_while_the_first_segment_is_still_open(camsim_factory,
                                                                        horus_factory):
    # 60 s segments: nothing is indexed for a minute, yet a scrub bar must show recording.
    sim = camsim_factory()
    h = horus_factory()
    assert h.request("POST", "/api/v1/cameras", {"id": "cam", "url": sim.url(1)})[0] == 201
    wait_until(lambda: list(h.data.rglob("*.mp4.part")), 15, "an open segment")
    time.sleep(4)
    status, _, body = get(h, "/api/v1/cameras/cam/recordings")
    assert status == 200, body
    t = json.loads(body)
    assert rows(h) == [] and t["recording"] is True, t
    assert len(t["spans"]) == 1 and t["gaps"] == [], t
    end = datetime.datetime.fromisoformat(t["spans"][0]["end"].replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - end).total_seconds()) < 1.5, t
    assert t["spans"][0]["duration_s"] >= 3.5, t
    # A camera that is not recording has no open span.
    assert h.request("PATCH", "/api/v1/cameras/cam", {"record": {"enabled": False}})[0] == 200
    wait_until(lambda: json.loads(get(h, "/api/v1/cameras/cam/recordings")[2])["recording"]
               is False, 10, "recording to stop")


def test_media_ranges_are_the_bytes_on_disk(session):
    h, recs = session
    r = recs[2]
    disk = (h.data / r["path"]).read_bytes()
    url = f"/api/v1/cameras/cam/recordings/main/{r['start_us']}.mp4"
    status, headers, body = get(h, url)
    assert status == 200 and body == disk
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"] == f'"{r["sha256"]}"'
    assert "immutable" in headers["Cache-Control"]
    status, headers, body = get(h, url, {"Range": "bytes=100-1099"})
    assert status == 206 and body == disk[100:1100]
    assert headers["Content-Range"] == f"bytes 100-1099/{len(disk)}"
    status, _, body = get(h, url, {"Range": "bytes=-500"})
    assert status == 206 and body == disk[-500:]
    status, headers, body = get(h, url, {"Range": f"bytes={len(disk)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(disk)}"
    assert json.loads(body)["error"]["code"] == "range_not_satisfiable"
    status, _, body = get(h, url, {"Range": "bytes=oops"})
    assert status == 416 and b"Range: malformed" in body
    status, _, body = get(h, url, {"If-None-Match": f'"{r["sha256"]}"'})
    assert status == 304 and body == b""
    status, headers, body = h.request("HEAD", url)
    assert status == 200 and body == b"" and headers["Content-Length"] == str(len(disk))
    # Every byte range a playlist names is a whole number of boxes of that file.
    wait_past_the_edge(recs[3]["end_us"])
    _, _, pl = get(h, playlist_url(h, recs[1]["start_us"] // 1000 + 1, recs[3]["end_us"] // 1000))
    for length, offset, uri in re.findall(r"#EXT-X-BYTERANGE:(\d+)@(\d+)\n(\S+)\n", pl.decode()):
        status, _, body = get(h, f"/api/v1/cameras/cam/{uri}",
                              {"Range": f"bytes={offset}-{int(offset) + int(length) - 1}"})
        assert status == 206 and len(body) == int(length)
        assert body[4:8] == b"moof", (uri, offset)


def test_bad_input_gets_clear_errors(session, spec):
    h, recs = session
    pl = "/api/v1/cameras/{id}/playback.m3u8"
    tl = "/api/v1/cameras/{id}/recordings"
    media = "/api/v1/cameras/{id}/recordings/{stream}/{file}"
    old = recs[0]["start_us"] // 1000
    cases = [
        (playlist_url(h, old + 10_000, old), pl, 400, "end: must be after start"),
        ("/api/v1/cameras/nope/playback.m3u8?start=0", pl, 404, "camera 'nope' does not exist"),
        (playlist_url(h, old - 3_600_000, old - 60_000), pl, 404, "has no recordings"),
        (playlist_url(h, int(time.time() * 1000) + 3_600_000), pl, 400, "start: is in the future"),
        ("/api/v1/cameras/cam/playback.m3u8?start=yesterday", pl, 400, "start: 'yesterday'"),
        ("/api/v1/cameras/cam/playback.m3u8", pl, 400, "start: required"),
        (playlist_url(h, old, old + 25 * 3_600_000), pl, 400, "24 h limit"),
        (playlist_url(h, old) + "&stream=third", pl, 400, "stream: must be main or sub"),
        (f"/api/v1/cameras/cam/recordings?start={old}&end={old - 1}", tl, 400, "end: must be"),
        ("/api/v1/cameras/nope/recordings", tl, 404, "camera 'nope' does not exist"),
        ("/api/v1/cameras/cam/recordings?tz=CET", tl, 400, "tz: expected"),
        ("/api/v1/cameras/cam/recordings?start=0&end=9999999999999", tl, 400, "92-day limit"),
        ("/api/v1/cameras/cam/recordings/main/123.mp4", media, 404, "no recording"),
        ("/api/v1/cameras/cam/recordings/main/..%2F..%2Fhorus.db", media, 400, "file: expected"),
        ("/api/v1/cameras/cam/recordings/third/1.mp4", media, 400, "stream: must be"),
        (f"/api/v1/cameras/cam/recordings/main/{recs[0]['start_us']}.mp4?m=soon", media, 400,
         "m: expected the media time offset"),
        (f"/api/v1/cameras/cam/recordings/main/{recs[0]['start_us']}.mp4?m=999999999999", media,
         400, "within 48 h"),
    ]
    for path, template, want, words in cases:
        status, headers, body = get(h, path)
        assert status == want, (path, status, body)
        err = check_json(spec, template, status, headers, body)
        assert words in err["error"]["message"], (path, err)


def test_a_range_reaching_the_live_edge_is_an_event_playlist(session):
    h, _ = session
    start_ms = int(time.time() * 1000) - 8_000
    status, headers, body = get(h, playlist_url(h, start_ms))
    assert status == 200, body
    text = body.decode()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text
    assert headers["Cache-Control"] == "no-store"


def test_cors_and_a_viewer_leaving_mid_response(session):
    h, recs = session
    url = f"/api/v1/cameras/cam/recordings/main/{recs[1]['start_us']}.mp4"
    status, headers, _ = get(h, url, {"Origin": ORIGIN, "Range": "bytes=0-9"})
    assert status == 206
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Range" in headers["Access-Control-Expose-Headers"]
    status, headers, _ = h.request("OPTIONS", url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range"})
    assert status == 204 and headers["Access-Control-Allow-Headers"] == "range"
    status, headers, _ = get(h, url, {"Origin": "http://elsewhere.example"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", h.port)) as s:
            s.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {h.api_key}\r\n\r\n".encode())
            assert s.recv(100)
    started = time.monotonic()
    assert h.get_json("/health")[0] == 200
    assert time.monotonic() - started < 5


def test_playback_metrics_are_exported(session):
    h, _ = session
    _, _, body = h.request("GET", "/metrics")
    text = body.decode()
    for family in ('horus_playback_playlist_requests_total{type="vod"}',
                   "horus_playback_media_bytes_total", "horus_playback_media_requests_total",
                   "horus_playback_playlist_render_seconds_count",
                   "horus_playback_timeline_requests_total"):
        assert re.search(re.escape(family) + r" [1-9]", text), family
    r = subprocess.run([require_tool("promtool"), "check", "metrics"], input=body,
                       capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


def test_a_file_deleted_after_it_was_served_is_reported_gone(session):
    # Runs last: it deletes the first recording's file. The server remembers which file
    # holds a recording (rows never change), so this checks that a cached entry whose file
    # retention removed answers 404 rather than an error or stale bytes.
    h, recs = session
    r = recs[0]
    url = f"/api/v1/cameras/cam/recordings/main/{r['start_us']}.mp4"
    assert get(h, url, {"Range": "bytes=0-99"})[0] == 206
    (h.data / r["path"]).unlink()
    status, _, body = get(h, url, {"Range": "bytes=0-99"})
    assert status == 404 and b"is gone" in body, body
