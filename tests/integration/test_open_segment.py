"""The segment being written is playable (issue 14 item 4, docs/design/0032).

A daemon records horus-camsim in 60 s segments. About 15 s in, before any
segment has closed (the index has no row), the last 10 s play: the playback
playlist is an EVENT playlist whose media ffmpeg decodes and which only
grows on reload, the media route serves the open file's byte ranges, the
timeline reaches to within a few seconds of now, a snapshot at now - 5 s is
a JPEG, and an export into the open segment is refused with a sentence
saying it is still being recorded. Once the segment closes, the same
window is a VOD playlist with ENDLIST that ffmpeg plays to the end."""
import datetime
import json
import re
import subprocess
import time

from conftest import recording_rows, require_tool, wait_until
from openapi_check import OpenApi

FPS = 25


def rfc3339_ms(us):
    ms = us // 1000
    t = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_time(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1e6)


def playlist(h, query):
    status, headers, body = h.request("GET", f"/api/v1/cameras/cam/playback.m3u8?{query}")
    assert status == 200, body
    return headers, body.decode()


def segment_lines(text):
    """The playlist's media segment entries (EXTINF, BYTERANGE, URI without the media
    token, which each response issues afresh), in order."""
    lines = [re.sub(r"[?&]t=[A-Za-z0-9._~-]+$", "", line) for line in text.splitlines()]
    return [tuple(lines[i:i + 3]) for i, line in enumerate(lines) if line.startswith("#EXTINF:")]


def fetch_media(h, text):
    """Init section + every listed byte range, concatenated as a player would feed a decoder."""
    out = bytearray()
    last_map = None
    for line in text.splitlines():
        m = re.match(r'#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@(\d+)"', line)
        if m and m.group(1) != last_map:
            last_map = m.group(1)
            out += get_range(h, m.group(1), int(m.group(3)), int(m.group(2)))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-BYTERANGE:"):
            n, off = map(int, line.split(":", 1)[1].split("@"))
            out += get_range(h, lines[i + 1], off, n)
    return bytes(out)


def get_range(h, uri, off, n):
    status, headers, body = h.request("GET", f"/api/v1/cameras/cam/{uri}",
                                      headers={"Range": f"bytes={off}-{off + n - 1}"})
    assert status == 206, (uri, status, body[:200])
    assert len(body) == n
    return body


def decoded_frames(path):
    """Frames ffmpeg decodes from path; fails on any decode error."""
    out = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(path), "-map", "0:v",
                          "-f", "framemd5", "-"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    return sum(1 for line in out.stdout.splitlines() if line and not line.startswith("#"))


def test_the_segment_being_written_plays(camsim_factory, horus_factory, tmp_path):
    sim = camsim_factory(["--size", "640x360", "--fps", str(FPS), "--gop", str(FPS)])
    h = horus_factory(f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
                      f"    record:\n      segment_seconds: 60\n")
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    # About 15 s of recording; the first segment is at least 30 s long, so none closed yet.
    wait_until(lambda: h.metric("horus_record_lag_seconds") > 0, 20, "recording to start")
    time.sleep(15)
    assert recording_rows(h, camera="cam") == [], "a segment closed already: the test proves nothing"

    now = int(time.time() * 1e6)
    start, end = now - 10_000_000, now
    q_live = f"start={rfc3339_ms(start)}"
    q_window = f"start={rfc3339_ms(start)}&end={rfc3339_ms(end)}"

    # The last 10 s: an EVENT playlist (no ENDLIST) over the open file.
    headers, text = playlist(h, q_live)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text, text
    assert headers["Cache-Control"] == "no-store"
    first = segment_lines(text)
    assert first, text
    media = fetch_media(h, text)
    (tmp_path / "event1.mp4").write_bytes(media)
    listed = sum(float(s[0][8:].rstrip(",")) for s in first)
    frames = decoded_frames(tmp_path / "event1.mp4")
    assert abs(frames - listed * FPS) <= 2, (frames, listed)
    # The window starts 10 s back (snapped to a keyframe at or before it).
    pdt = re.search(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", text).group(1)
    assert start - 1_100_000 <= parse_time(pdt) <= start, pdt

    # The media route serves the open file (not indexed) and does not let it be cached.
    uri = first[0][2]
    status, mh, _ = h.request("GET", f"/api/v1/cameras/cam/{uri}", headers={"Range": "bytes=0-99"})
    assert status == 206 and mh["Cache-Control"] == "no-cache"
    # ... also to a player that has only the media token the playlist put in the URI.
    tokened = re.search(r"^(recordings/main/\d+\.mp4\?m=-?\d+&t=\S+)$", text, re.M).group(1)
    status, _, _ = h.request("GET", f"/api/v1/cameras/cam/{tokened}", auth=False,
                             headers={"Range": "bytes=0-99"})
    assert status == 206

    # A player (ffmpeg's HLS demuxer) plays it from the start of the window.
    out = subprocess.run([require_tool("ffmpeg"), "-v", "error", *h.ffmpeg_headers(),
                          "-live_start_index", "0", "-i", h.url + "/api/v1/cameras/cam/playback.m3u8?"
                          + q_live, "-t", "3", "-map", "0:v", "-f", "framemd5", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    assert sum(1 for line in out.stdout.splitlines() if line and not line[0] == "#") >= 3 * FPS - 2

    # The timeline reaches to within a few seconds of now, and says it is still recording.
    status, tl = h.get_json(f"/api/v1/cameras/cam/recordings?start={rfc3339_ms(now - 60_000_000)}")
    assert status == 200 and tl["recording"] is True, tl
    assert tl["spans"], tl
    assert now - parse_time(tl["spans"][-1]["end"]) < 3_000_000, tl

    # A snapshot 5 s ago is a JPEG decoded from the open file.
    status, sh, jpeg = h.request("GET", f"/api/v1/cameras/cam/snapshot.jpg?ts={(now - 5_000_000) // 1000}")
    assert status == 200 and sh["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8", jpeg[:200]

    # An export into the open segment says clearly that the range is still being recorded.
    status, eh, raw = h.request("POST", "/api/v1/exports", {
        "camera": "cam", "stream": "main", "start": rfc3339_ms(start), "end": rfc3339_ms(end)})
    spec.validate("POST", "/api/v1/exports", status, eh["Content-Type"], raw)
    assert status == 409 and "still being recorded" in json.loads(raw)["error"]["message"], raw
    assert int(eh["Retry-After"]) >= 1

    # Reloaded, the EVENT playlist only grows: what it listed stays, in order.
    time.sleep(6)
    _, text2 = playlist(h, q_live)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in text2 and "#EXT-X-ENDLIST" not in text2
    second = segment_lines(text2)
    assert len(second) > len(first) and second[:len(first)] == first, (text, text2)

    # Once the segment closed, the same window is VOD with ENDLIST, and plays to its end.
    wait_until(lambda: recording_rows(h, camera="cam"), 75, "the first segment to close")
    headers, vod = playlist(h, q_window)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.rstrip().endswith("#EXT-X-ENDLIST"), vod
    assert headers["Cache-Control"] == "max-age=60"
    out = subprocess.run([require_tool("ffmpeg"), "-v", "error", *h.ffmpeg_headers(), "-i",
                          h.url + "/api/v1/cameras/cam/playback.m3u8?" + q_window,
                          "-map", "0:v", "-f", "framemd5", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    frames = sum(1 for line in out.stdout.splitlines() if line and not line[0] == "#")
    assert frames >= 10 * FPS - 2, frames
