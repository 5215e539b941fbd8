"""Fault tests for live view (issue 14): the live playlist across recording
rotations, PART-TARGET against the parts it lists, and a camera that refuses
RTP over TCP.

Before: every recorded file brought an init that differed from the last only
in its hrst start time, and the live playlist gave each one a new EXT-X-MAP
behind an EXT-X-DISCONTINUITY (VLC 3 stopped there: "no moov before mdat");
PART-TARGET was the longest part the stream ever made, so one long part left
every later 0.2 s part under 85% of it; a 461 Unsupported Transport was
reported as "unsupported codec".
"""
import re
import subprocess
import time

from conftest import recording_rows, require_tool, wait_until

SMALL = ["--size", "320x180", "--bitrate", "200"]


def get_playlist(h):
    status, _, body = h.request("GET", "/api/v1/cameras/cam/live/index.m3u8")
    return body.decode() if status == 200 else None


def check_parts(text):
    """Every part but the last of its segment is >= 85% of PART-TARGET, none over it
    by more than rounding. Returns the PART-TARGET."""
    target = float(re.search(r"PART-TARGET=([\d.]+)", text).group(1))
    segments, cur = [], []
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            cur.append(float(re.search(r"DURATION=([\d.]+)", line).group(1)))
        elif line.startswith("#EXTINF:"):
            segments.append(cur)
            cur = []
    segments.append(cur)  # the open segment: its last part may still be followed
    for parts in segments:
        for d in parts[:-1]:
            assert d >= 0.85 * target - 1e-6, (d, target, text)
        for d in parts:
            assert d <= target + 1e-6, (d, target, text)
    return target


def test_live_playlist_keeps_one_map_across_recording_rotations(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL)
    h = horus_factory(f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
                      f"    record:\n      segment_seconds: 2\n")
    text = wait_until(lambda: (t := get_playlist(h)) and t.count("#EXTINF") >= 2 and t, 20,
                      "a live playlist with two segments")
    rows0 = len(recording_rows(h, "cam"))
    maps, discontinuities, targets = set(), 0, set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = get_playlist(h)
        assert text, "the live playlist went away"
        # The init's path, without the signed-URL token (it renews every ttl/5).
        maps.update(re.findall(r'#EXT-X-MAP:URI="([^"?]+)', text))
        discontinuities += text.count("#EXT-X-DISCONTINUITY\n")
        assert text.count("#EXT-X-DISCONTINUITY-SEQUENCE:0\n") == 1, text
        targets.add(check_parts(text))
        time.sleep(0.25)
    rotations = len(recording_rows(h, "cam")) - rows0
    assert rotations >= 3, f"only {rotations} recorded files closed in 10 s"
    # Before: one more MAP and one more discontinuity per recorded file.
    assert discontinuities == 0, text
    assert len(maps) == 1, maps
    assert targets == {0.2}, targets

    # A player reads on across a rotation (the live window holds at least one).
    url = h.url + "/api/v1/cameras/cam/live/index.m3u8"
    out = subprocess.run([require_tool("ffmpeg"), "-v", "error", *h.ffmpeg_headers(), "-i", url,
                          "-t", "6",
                          "-c", "copy", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=40)
    assert out.returncode == 0, out.stderr
    assert "moov" not in out.stderr and "Discontinuity" not in out.stderr, out.stderr


def test_a_camera_refusing_rtp_over_tcp_is_named_so(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL + ["--fault", "notcp"])
    # The native client: it speaks RTP over TCP only.
    h = horus_factory(f"ingest:\n  client: native\n  transport: tcp\n"
                      f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n")

    def last_error():
        status, doc = h.get_json("/api/v1/cameras/cam")
        assert status == 200
        return doc["status"]["last_error"]

    err = wait_until(last_error, 20, "the camera's last_error")
    # Before: "unsupported codec: SETUP replied 461".
    assert "refuses RTP over TCP" in err and "codec" not in err, err
