"""Foreign players on Horus's HTTP Live Streaming (issue 14): mpv, GStreamer's playbin
and playbin3, and VLC play the live LL-HLS playlist across recording rotations and a
recorded playback window that does not start at the first recording, headless, and
each one's rendered frames are counted.

Before: VLC stopped live view at every recording rotation ("no moov before mdat": a
new EXT-X-MAP behind a discontinuity per recorded file); mpv played nothing of
recorded files whose media time did not start near zero; GStreamer's default playbin
rendered no frame of a playback window that did not start at the first recording
(its sink waits for the media time, counted from the start of the camera's session,
before the first frame). So the live tests start once the session is MEDIA_TIME_S
old and the playback window starts that long after the first recording: a player
that waits for the media time misses STARTUP_S by far.

How frames are counted: mpv prints a status line per presented frame
(--term-status-msg with time-pos; distinct positions are frames); VLC renders
through its yuv video output into a FIFO this test reads picture by picture;
GStreamer renders into a fakesink with sync=true whose handoffs gst_play.py counts
(it runs under Debian's /usr/bin/python3, which has python3-gi). Every frame is
timestamped as it arrives, so a player that stalls at a rotation shows as a gap.
VLC refuses to run as root; as root it runs as nobody (setpriv).

One camera (horus-camsim, 640x360, 25 fps) recorded in 2 s files by one daemon is
shared by the module; the live tests run first, while the recording grows, and the
playback tests then take a window of three files that ended long enough ago for the
playlist to be VOD."""
import json
import math
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (Camsim, Horus, camsim_skipped_frames, recording_rows, require_tool,
                      sanitizer_reports, wait_until)
from test_playback import FPS, SEGMENT_S, playlist_url, wait_past_the_edge

LIVE_S = 10  # wall seconds each player watches live: >= 4 recording rotations
STARTUP_S = 5  # the longest a player may take to render its first frame
MIN_RATE = 0.7  # of FPS, from the first frame to the end of a live run
MIN_WHOLE = 0.9  # of a window's frames: a real-time player may drop a late one
MAX_GAP_S = 1.5  # the longest pause between two rendered frames (a stall)
# Media time counts from the start of the camera's session: live tests start once it is
# this old, playback windows start this long after the first recording, so a player
# that waits for the media time before its first frame misses STARTUP_S by far.
MEDIA_TIME_S = 4 * STARTUP_S
# GStreamer 1.22's default playbin cannot use hlsdemux2 and falls back to the legacy
# hlsdemux, which passes fMP4 media time through against a timeline starting at 0: its
# sink held the first frame until the media time (counted from the camera session's
# start) had passed in wall time. Playback windows are served from zero (design 0074);
# live viewers who come through the multivariant playlist (share links do) get a view
# that starts their media time near zero (design 0075).
GST_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gi and python3-gst-1.0
GST_PLAY = Path(__file__).with_name("gst_play.py")
HEADLESS = ("DISPLAY", "WAYLAND_DISPLAY", "PULSE_SERVER")


def rows(h):
    return recording_rows(h, camera="cam", stream="main")


def live_segments(h):
    status, _, body = h.request("GET", "/api/v1/cameras/cam/live/index.m3u8")
    return body.count(b"#EXTINF") if status == 200 else 0


@pytest.fixture(scope="module")
def cam(tmp_path_factory):
    """The daemon recording the simulator in 2 s files, once live view has two segments."""
    tmp = tmp_path_factory.mktemp("players")
    (tmp / "sim").mkdir()
    (tmp / "horus").mkdir()
    sim = Camsim(tmp / "sim")
    h = Horus(tmp / "horus", f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
                             f"    record:\n      segment_seconds: {SEGMENT_S}\n")
    h.camsim_logs = (sim.proc.log_path,)
    try:
        wait_until(lambda: live_segments(h) >= 2, 30, "a live playlist with two segments")
        yield h
    finally:
        h.stop()
        sim.stop()
    reports = sanitizer_reports([h, sim])
    assert not reports, reports


@pytest.fixture(scope="module")
def live(cam):
    """The daemon once its camera's session is MEDIA_TIME_S old."""
    h = cam
    first = wait_until(lambda: rows(h), 30, "a recorded file")[0]
    age = time.time() - first["start_us"] / 1e6
    time.sleep(max(0.0, MEDIA_TIME_S - age))
    return h


@pytest.fixture(scope="module")
def window(cam):
    """(start_ms, end_ms, seconds, files) of three recorded files starting at least
    MEDIA_TIME_S after the first recording: the latest ones whose range is already a
    VOD playlist, or the first three that start late enough, once it is."""
    h = cam

    def late_enough():
        recs = rows(h)
        late = [i for i, r in enumerate(recs)
                if r["start_us"] - recs[0]["start_us"] >= MEDIA_TIME_S * 1e6]
        return late and len(recs) >= late[0] + 3 and (recs, late[0])

    recs, first = wait_until(late_enough, MEDIA_TIME_S + 30, "three late recorded files")
    edge_us = (time.time() - SEGMENT_S - 10.5) * 1e6  # what wait_past_the_edge waits for
    past = [i for i, r in enumerate(recs) if r["end_us"] <= edge_us]
    last = max(past[-1] if past else 0, first + 2)
    a, b = recs[last - 2], recs[last]
    wait_past_the_edge(b["end_us"])
    seconds = (b["end_us"] - a["start_us"]) / 1e6
    return math.ceil(a["start_us"] / 1000), b["end_us"] // 1000, seconds, 3


def share(h, body):
    """The absolute URL of a share link (?t=): players without headers open it."""
    status, _, raw = h.request("POST", "/api/v1/cameras/cam/share", body)
    assert status == 200, raw
    return h.url + json.loads(raw)["url"]


def player_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in HEADLESS}
    env.update(extra)
    return env


class Timed:
    """A player process whose output is split into lines (at \\r or \\n) stamped with
    the seconds since it started, as they arrive; also kept in log_path."""

    def __init__(self, args, log_path, env=None):
        self.log_path = Path(log_path)
        self.lines = []
        self.started = time.monotonic()
        self.popen = subprocess.Popen([str(a) for a in args], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      env=env or player_env(), start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        pending = b""
        with open(self.log_path, "wb") as log:
            while True:
                chunk = os.read(self.popen.stdout.fileno(), 65536)
                if not chunk:
                    break
                now = time.monotonic() - self.started
                log.write(chunk)
                *done, pending = re.split(rb"[\r\n]", pending + chunk)
                self.lines += [(now, d.decode(errors="replace")) for d in done if d.strip()]

    def finish(self, seconds):
        """Lets the player run until it exits or seconds after its start, then stops it
        (SIGTERM, SIGKILL 5 s later). Returns the seconds it ran."""
        try:
            self.popen.wait(timeout=max(0.0, self.started + seconds - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        ran = time.monotonic() - self.started
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.reader.join(10)
        self.popen.stdout.close()
        return ran

    def text(self):
        return "\n".join(line for _, line in self.lines)

    def tail(self, n=15):
        return "\n".join(line for _, line in self.lines[-n:])


def stalls(times, end):
    """(seconds to the first frame, longest pause between frames or from the last one to
    end) of frame arrival times; (None, None) without a frame."""
    if not times:
        return None, None
    gaps = [b - a for a, b in zip(times, times[1:])] + [end - times[-1]]
    return times[0], max(gaps)


def check_live_run(who, frames, first, gap, ran, rotations, detail):
    """The live verdict shared by the players: a prompt first frame, enough frames for
    the time that followed it, no stall (up to the end of the run), rotations crossed."""
    assert frames, f"{who} rendered no frame of live in {ran:.1f} s\n{detail}"
    assert first <= STARTUP_S, f"{who}: first frame after {first:.1f} s\n{detail}"
    want = MIN_RATE * FPS * (ran - first)
    assert frames >= want, (f"{who}: {frames} frames in the {ran - first:.1f} s after the "
                            f"first, want >= {want:.0f}\n{detail}")
    assert gap <= MAX_GAP_S, f"{who}: a {gap:.1f} s stall between frames\n{detail}"
    assert rotations >= 2, f"only {rotations} recording rotations while {who} played"


def check_window_frames(who, frames, want_s, files, h, detail):
    """A playback window's frames: all of them (one per file of rounding either way,
    less what the camera skipped), or nearly all for a player that drops late ones."""
    want, skipped = want_s * FPS, camsim_skipped_frames(*h.camsim_logs)
    low = min(want - files, MIN_WHOLE * want) - skipped
    assert low <= frames <= want + files, (f"{who}: {frames} frames of a {want_s:.2f} s "
                                           f"window, want {low:.0f}..{want + files:.0f}\n"
                                           f"{detail}")


# --- mpv ---------------------------------------------------------------------------------

MPV_STATUS = re.compile(r"^(?:\x1b\[K)?FRAME (\S+) (\S+)")


def mpv(h, url, log_path, seconds):
    """Runs mpv headless on url with the admin key. Returns (frames as [(wall s, time-pos)],
    durations mpv reported, seconds it ran, the process)."""
    args = [require_tool("mpv"), "--no-config", "--vo=null", "--ao=null", "--framedrop=no",
            "--input-terminal=no",
            f"--http-header-fields=Authorization: Bearer {h.api_key}",
            "--term-status-msg=FRAME ${=time-pos:none} ${=duration:none}", url]
    p = Timed(args, log_path)
    ran = p.finish(seconds)
    frames, durations, seen = [], set(), set()
    for t, line in p.lines:
        m = MPV_STATUS.match(line)
        if not m or m.group(1) == "none":
            continue
        pos = float(m.group(1))
        if pos not in seen:  # the status line repeats while a frame stays on screen
            seen.add(pos)
            frames.append((t, pos))
        if m.group(2) != "none":
            durations.add(round(float(m.group(2)), 3))
    return frames, durations, ran, p


# --- GStreamer ---------------------------------------------------------------------------

def gst_play(element, url, seconds):
    """gst_play.py's verdict (a dict) on url with this playbin element."""
    if not os.access(GST_PYTHON, os.X_OK):
        pytest.fail(f"{GST_PYTHON} is missing; run scripts/setup")
    args = [GST_PYTHON, GST_PLAY, "--element", element, "--seconds", str(seconds), url]
    # The HLS demuxers' own account of their downloads (status codes, retries), kept for a
    # failure's message: "Couldn't download fragments" alone does not say why.
    env = player_env(GST_DEBUG="downloadhelper:4,adaptivedemux2:3,hlsdemux2:3,hlsdemux:3",
                     GST_DEBUG_NO_COLOR="1")
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30, env=env,
                         stdin=subprocess.DEVNULL)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"gst_play.py printed no result (exit {out.returncode}):\n{out.stderr[-3000:]}"
    result = json.loads(lines[-1])
    if result["errors"]:
        result["gst_log"] = out.stderr[-3000:]
    return result


def gst_detail(r):
    """What gst_play.py saw, led by when the first frame reached the sink and its media
    time: a sink that waits for that time renders nothing until then."""
    return (f"first frame at the sink after {r['arrived_first_s']} s, media time "
            f"{r['arrived_first_pts']} s; {r['arrived']} arrived, {r['frames']} rendered\n"
            f"{json.dumps(r)}")


# --- VLC ---------------------------------------------------------------------------------

# Bytes per pixel of the pictures VLC's yuv output writes, by the chroma its header names.
Y4M_CHROMA = {b"I420": 1.5, b"YV12": 1.5, b"J420": 1.5, b"I422": 2, b"J422": 2, b"I444": 3,
              b"J444": 3, b"GREY": 1}


class Y4mReader(threading.Thread):
    """Reads the YUV4MPEG-like stream VLC's yuv video output writes into a FIFO (VLC 3
    starts its header with the chroma, "I420 W640 H360 F25:1 ...") and stamps each whole
    picture with the seconds since started. VLC opens the file anew with each video
    output it creates: VLC 3 first offers the output VA-API and VDPAU surfaces (whatever
    --avcodec-hw says), which it cannot take, before software pictures; so the FIFO is
    read again after each close."""

    def __init__(self, fifo, started):
        super().__init__(daemon=True)
        self.fifo, self.started = fifo, started
        self.times, self.headers = [], []
        self.done = False

    def run(self):
        while not self.done:
            with open(self.fifo, "rb") as f:  # blocks until a writer opens it
                self.read_pictures(f)

    def read_pictures(self, f):
        header = f.readline()
        if not header:
            return
        self.headers.append(header.strip())
        m = re.match(rb"(?:YUV4MPEG2 )?(\w{4}) W(\d+) H(\d+)", header)
        if not m or m.group(1) not in Y4M_CHROMA:
            return
        size = int(int(m.group(2)) * int(m.group(3)) * Y4M_CHROMA[m.group(1)])
        while f.readline().startswith(b"FRAME"):
            if len(f.read(size)) < size:
                break
            self.times.append(time.monotonic() - self.started)

    def release(self):
        """Stops reading once the writer is gone: a reader waiting in open() for one that
        never comes is let through by opening the FIFO for writing ourselves."""
        self.done = True
        while self.is_alive():
            try:
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
            self.join(0.2)


def vlc(url, tmp_path, seconds):
    """Runs cvlc headless on url, rendering into a FIFO. Returns (the Y4mReader with the
    frames' arrival times, seconds it ran, the Timed process)."""
    cvlc = require_tool("cvlc")
    home = Path(tempfile.mkdtemp(prefix="horus-vlc-"))  # open to nobody, unlike tmp_path
    try:
        prefix = []
        if os.geteuid() == 0:  # "VLC is not supposed to be run as root. Sorry."
            nobody = pwd.getpwnam("nobody")
            os.chown(home, nobody.pw_uid, nobody.pw_gid)
            prefix = [require_tool("setpriv"), f"--reuid={nobody.pw_uid}",
                      f"--regid={nobody.pw_gid}", "--clear-groups"]
        fifo = home / "video.y4m"
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)
        args = [*prefix, cvlc, "--vout=yuv", f"--yuv-file={fifo}",
                "--aout=dummy", "--no-video-title-show", "--play-and-exit", "-vv", url]
        p = Timed(args, tmp_path / "vlc.log", env=player_env(HOME=str(home)))
        reader = Y4mReader(fifo, p.started)
        reader.start()
        ran = p.finish(seconds)
        reader.release()
        return reader, ran, p
    finally:
        shutil.rmtree(home, ignore_errors=True)


def vlc_errors(p):
    """VLC's error lines, less those of the interfaces a headless run cannot load."""
    return [line for _, line in p.lines if " error: " in line and "interface" not in line]


# --- Live: each player watches for LIVE_S seconds, across recording rotations ------------

def test_mpv_plays_live_at_frame_rate_across_recording_rotations(live, tmp_path):
    h = live
    before = len(rows(h))
    frames, _, ran, p = mpv(h, h.url + "/api/v1/cameras/cam/live/index.m3u8",
                            tmp_path / "mpv.log", LIVE_S)
    rotations = len(rows(h)) - before
    detail = f"mpv said:\n{p.tail()}"
    check_live_run("mpv", len(frames), *stalls([t for t, _ in frames], ran), ran, rotations,
                   detail)
    # Media time moves with the wall clock: no jump back or stop at a rotation.
    positions = [pos for _, pos in frames]
    assert positions == sorted(positions), detail
    span = positions[-1] - positions[0]
    assert span >= 2 * SEGMENT_S + 1, f"mpv played {span:.2f} s of media\n{detail}"


@pytest.mark.parametrize("element", ["playbin", "playbin3"])
def test_gstreamer_renders_live_at_frame_rate_across_recording_rotations(live, element):
    h = live
    url = share(h, {"kind": "live"})
    before = len(rows(h))
    r = gst_play(element, url, LIVE_S)
    rotations = len(rows(h)) - before
    assert not r["errors"], r
    gap = r["frames"] and max(r["max_gap_s"], r["wall_s"] - r["last_frame_s"])
    check_live_run(element, r["frames"], r["first_frame_s"], gap, r["wall_s"], rotations,
                   gst_detail(r))
    span = r["last_pts"] - r["first_pts"]
    assert span >= 2 * SEGMENT_S + 1, f"{element} played {span:.2f} s of media: {r}"
    # The share link opens the multivariant playlist, whose variant starts this viewer's
    # media time a quarter second before the segment a plain player starts at.
    assert r["first_pts"] < MEDIA_TIME_S / 2, f"{element} started at {r['first_pts']} s: {r}"


def test_vlc_plays_live_at_frame_rate_across_recording_rotations(live, tmp_path):
    h = live
    url = share(h, {"kind": "live"})
    before = len(rows(h))
    reader, ran, p = vlc(url, tmp_path, LIVE_S)
    rotations = len(rows(h)) - before
    times, errors = reader.times, vlc_errors(p)
    detail = (f"picture headers {reader.headers}; errors: {errors[-10:]}\n"
              f"last lines:\n{p.tail()}")
    assert "no moov before mdat" not in p.text(), detail
    check_live_run("VLC", len(times), *stalls(times, ran), ran, rotations, detail)
    assert len(times) / FPS >= 2 * SEGMENT_S + 1, detail


# --- Playback: a window of three recorded files, not starting at the first ---------------

def test_mpv_plays_a_later_playback_window_from_zero_with_its_duration(cam, window, tmp_path):
    h = cam
    start_ms, end_ms, want_s, files = window
    frames, durations, ran, p = mpv(h, h.url + playlist_url(h, start_ms, end_ms),
                                    tmp_path / "mpv.log", want_s + 20)
    detail = f"mpv ran {ran:.1f} s, exit {p.popen.returncode}, said:\n{p.tail()}"
    assert p.popen.returncode == 0 and "End of file" in p.text(), detail
    check_window_frames("mpv", len(frames), want_s, files, h, detail)
    # Media time starts near zero and ends at the window's length; mpv's duration is it.
    first, last = frames[0][1], frames[-1][1]
    assert first <= 0.1 and abs(last + 1 / FPS - want_s) <= files / FPS, (first, last, want_s)
    assert durations and all(abs(d - want_s) <= files / FPS for d in durations), \
        (durations, want_s)


@pytest.mark.parametrize("element", ["playbin", "playbin3"])
def test_gstreamer_renders_a_later_playback_window_promptly_and_completely(cam, window, element):
    h = cam
    start_ms, end_ms, want_s, files = window
    url = share(h, {"kind": "playback", "start": start_ms, "end": end_ms})
    r = gst_play(element, url, want_s + STARTUP_S + 3)
    # What the daemon said meanwhile, should a download fail (status, rate limit, token):
    # its warnings and the media requests it answered with an error or aborted.
    said = [l for l in h.log_lines() if l.get("level") in ("warn", "error") or (
        l.get("module") == "access" and "/recordings/" in l.get("path", "") and (
            int(l.get("status", "0")) >= 400 or "error" in l))][-10:]
    assert not r["errors"], f"{gst_detail(r)}\ndaemon: {said}"
    assert r["frames"] > 0, (f"{element} rendered no frame of a {want_s:.2f} s window in "
                             f"{r['wall_s']:.1f} s; {gst_detail(r)}")
    assert r["first_frame_s"] <= STARTUP_S, (
        f"{element} took {r['first_frame_s']:.1f} s to its first frame; {gst_detail(r)}")
    assert r["eos"], f"{element} did not reach the end of the window: {r}"
    check_window_frames(element, r["frames"], want_s, files, h, gst_detail(r))
    assert r["max_gap_s"] <= MAX_GAP_S, r
    assert r["duration"] is not None and abs(r["duration"] - want_s) <= files / FPS, \
        (r["duration"], want_s)


def test_vlc_plays_a_later_playback_window_completely(cam, window, tmp_path):
    h = cam
    start_ms, end_ms, want_s, files = window
    url = share(h, {"kind": "playback", "start": start_ms, "end": end_ms})
    reader, ran, p = vlc(url, tmp_path, want_s + 20)
    times = reader.times
    detail = (f"VLC ran {ran:.1f} s, picture headers {reader.headers}; errors: "
              f"{vlc_errors(p)[-10:]}\nlast lines:\n{p.tail()}")
    first, gap = stalls(times, times[-1] if times else ran)
    assert first is not None and first <= STARTUP_S, (first, detail)
    check_window_frames("VLC", len(times), want_s, files, h, detail)
    assert gap <= MAX_GAP_S, (gap, detail)
    # --play-and-exit: VLC leaves by itself at the end of the window.
    assert p.popen.returncode == 0 and ran < want_s + 15, detail
