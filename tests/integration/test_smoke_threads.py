"""Threaded smoke test, written for the ThreadSanitizer build (scripts/test
runs it against build/tsan) and harmless on any other: every kind of daemon
thread at work at once. Several horus-camsim cameras record with short
segments (ingest, recorder, storage writer, live hub), live viewers fetch
LL-HLS playlists, blocking reloads and parts from their own threads (HTTP
workers, deferred replies), an export runs, a SIGHUP reload adds a camera,
removes one and restarts a watched one (new URL), and SIGTERM stops it all. Any
sanitizer report in the daemon's or the simulator's output fails the test
(the conftest harness checks every process it started).

Camera URLs are IP literals on purpose: a host name goes through glibc's
getaddrinfo_a, whose helper thread glibc starts without going through the
pthread_create that ThreadSanitizer intercepts, and the daemon then crashes
inside TSan's allocator (a tool limitation, not a Horus race). That is also
why the whole integration suite does not run under TSan: test_cameras.py
uses host names."""
import re
import signal
import threading
import time

from conftest import recording_rows, wait_until

CAMERAS = (("cam1", 1), ("cam2", 2), ("cam3", 3))
# After the reload: cam3 leaves, cam4 joins, cam2 restarts on another path.
RELOADED = (("cam1", 1), ("cam2", 3), ("cam4", 4))


def config(sim, cams):
    """cams: (camera id, simulator path number) pairs."""
    out = "cameras:\n"
    for cid, path in cams:
        out += (f"  - id: {cid}\n    url: \"{sim.url(path)}\"\n"
                f"    record:\n      segment_seconds: 2\n")
    return out


def live_path(cid, rest="index.m3u8"):
    return f"/api/v1/cameras/{cid}/live/{rest}"


class Viewer(threading.Thread):
    """Watches one camera until told to stop: plain playlist reloads, the
    newest part, and blocking reloads for the hinted next part. Errors are
    counted, not raised: pytest asserts on the main thread after join."""

    def __init__(self, h, cid, blocking):
        super().__init__(name=f"viewer-{cid}-{'blocking' if blocking else 'plain'}")
        self.h, self.cid, self.blocking = h, cid, blocking
        self.stop_event = threading.Event()
        self.parts = 0
        self.errors = []
        # Set while the camera restarts: its live view may be briefly gone (404,
        # 503) and blocking reloads for the old sequence numbers refused (400).
        self.is_restarting = False

    def get(self, path):
        status, _, body = self.h.request("GET", path, timeout=30)
        if status != 200:
            if not (self.is_restarting and status in (400, 404, 503)):
                self.errors.append((path, status, body[:200]))
            return None
        return body

    def run(self):
        while not self.stop_event.is_set():
            try:
                body = self.get(live_path(self.cid))
                if body is None:
                    time.sleep(0.2)
                    continue
                text = body.decode()
                parts = re.findall(r'^#EXT-X-PART:.*URI="([^"]+)"', text, re.M)
                if parts and self.get(live_path(self.cid, parts[-1])) is not None:
                    self.parts += 1
                seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
                nseg = len(re.findall(r"^#EXTINF:", text, re.M))
                # Parts after the last complete segment belong to the open one.
                tail = text.rsplit("#EXTINF:", 1)[-1] if nseg else text
                open_parts = len(re.findall(r"^#EXT-X-PART:", tail, re.M))
                hint = re.search(r'#EXT-X-PRELOAD-HINT:.*URI="([^"]+)"', text)
                if self.blocking and open_parts:
                    # Wait for the next part of the open segment, as a player would.
                    self.get(live_path(self.cid) +
                             f"?_HLS_msn={seq + nseg}&_HLS_part={open_parts}")
                elif self.blocking and hint:
                    # The hinted part: the reply waits until it exists.
                    self.get(live_path(self.cid, hint.group(1)))
                else:
                    time.sleep(0.05)
            except Exception as e:  # noqa: BLE001 - collected for the main thread
                self.errors.append(repr(e))
                time.sleep(0.2)


def live_ready(h, cid):
    status, _, body = h.request("GET", live_path(cid), timeout=30)
    return status == 200 and b"#EXT-X-PART" in body


def test_cameras_viewers_export_reload_and_stop_under_threads(camsim_factory, horus_factory):
    sim = camsim_factory(args=["--audio", "--size", "320x180"], paths=4)
    h = horus_factory(config(sim, CAMERAS))
    for cid, _ in CAMERAS:
        wait_until(lambda: live_ready(h, cid), 90, f"{cid}'s live playlist")

    viewers = [Viewer(h, cid, blocking) for cid in ("cam1", "cam2") for blocking in (False, True)]
    for v in viewers:
        v.start()
    try:
        # An export of the first complete segments of cam1, while everything runs.
        recs = wait_until(lambda: len(recording_rows(h, "cam1")) >= 2 and
                          recording_rows(h, "cam1"), 90, "two cam1 segments")
        body = {"camera": "cam1", "start": recs[0]["start_us"] // 1000,
                "end": recs[1]["end_us"] // 1000}
        status, _, raw = h.request("POST", "/api/v1/exports", body, timeout=30)
        assert status == 202, raw
        eid = re.search(rb'"id":\s*"([^"]+)"', raw).group(1).decode()

        def export_state():
            _, doc = h.get_json(f"/api/v1/exports/{eid}")
            return doc["state"] if doc["state"] not in ("queued", "running") else None
        assert wait_until(export_state, 120, f"export {eid}") == "done"

        # Reload while everyone watches: cam3 leaves, cam4 joins, cam2 restarts.
        for v in viewers:
            v.is_restarting = v.cid == "cam2"
        h.config_path.write_text(config(sim, RELOADED))
        h.proc.signal(signal.SIGHUP)
        h.wait_for_log(lambda line: line.get("msg") == "configuration reloaded", timeout=30)
        for cid in ("cam4", "cam2"):
            wait_until(lambda: live_ready(h, cid), 90, f"{cid}'s live playlist after the reload")
        counts = [v.parts for v in viewers]
        wait_until(lambda: all(v.parts >= n + 5 for v, n in zip(viewers, counts)), 60,
                   "every viewer to get parts after the reload")
    finally:
        for v in viewers:
            v.stop_event.set()
        for v in viewers:
            v.join(timeout=60)
    assert not any(v.is_alive() for v in viewers)
    for v in viewers:
        assert v.parts >= 10, (v.name, v.parts, v.errors[:5])
        assert not v.errors, (v.name, v.errors[:5])
    status, hdrs, _ = h.request("GET", "/health")
    assert status == 200
    assert h.stop(timeout=60) == 0, h.proc.output()[-4000:]
    assert sim.stop() == 0 or True  # camsim's exit code on SIGTERM is not this test's subject
