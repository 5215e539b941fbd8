"""Health tells the truth and stops are clean (issue 16, deliverables 5 and 7).

Each test reproduces a case that used to pass unnoticed: /health "ok" and /ready
200 on a full disk or a locked database, a camera that cannot be decoded shown as
"connecting" with no error, a stalled one as "streaming", an export reported
"done" over a corrupt or vanished source file, and a SIGTERM that left a running
export to run again later instead of cancelling it."""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from conftest import recording_rows, synthesize_hours, wait_until
from openapi_check import OpenApi

SMALL = ["--size", "320x180", "--fps", "10", "--bitrate", "200"]


def cams_yaml(urls, segment=2, extra=""):
    out = extra + "cameras:\n"
    for cam, url in urls.items():
        out += (f"  - id: {cam}\n    url: \"{url}\"\n"
                f"    record:\n      segment_seconds: {segment}\n")
    return out


def health(h):
    status, body = h.get_json("/health")
    assert status == 200
    return body


def ready(h):
    return h.get_json("/ready")


def reasons_of(doc):
    return {(r["component"], r["reason"]) for r in doc["reasons"]}


def validate(h, method, path, route=None):
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    status, headers, raw = h.request(method, path)
    spec.validate(method, route or path, status, headers["Content-Type"], raw)
    return status, json.loads(raw)


STORAGE_GAUGES = ("horus_storage_free_bytes", "horus_storage_size_bytes",
                  "horus_storage_min_free_bytes", "horus_storage_writable")


def storage_gauges(h):
    """The data directory's file-system gauges in /metrics, by name."""
    status, _, body = h.request("GET", "/metrics", timeout=10)
    assert status == 200
    found = {}
    for line in body.decode().splitlines():
        name, _, value = line.partition(" ")
        if name in STORAGE_GAUGES:
            found[name] = float(value)
    assert set(found) == set(STORAGE_GAUGES), found
    return found


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts a small loop filesystem to fill it")
    for tool in ("mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.fixture
def small_fs(tmp_path):
    """A 48 MiB ext4 filesystem (no reserved blocks) mounted at tmp_path/fs."""
    require_root()
    image, mnt = tmp_path / "fs.img", tmp_path / "fs"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(48 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-m", "0", "-F", str(image)], check=True,
                   capture_output=True)
    r = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a loop filesystem here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path):
    """Appends zeros to path until the filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_full_disk_degrades_health_and_ready_then_both_recover(
        small_fs, camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL)
    data = small_fs / "data"
    h = horus_factory(cams_yaml({"cam": sim.url(1)}), extra_args=["--data", str(data)])
    h.data = data  # the later --data wins
    wait_until(lambda: recording_rows(h, camera="cam"), 20, "a first segment")
    assert health(h)["status"] == "ok" and ready(h)[0] == 200
    # Prometheus sees the file system /health describes (48 MiB, minus ext4's own blocks).
    g = storage_gauges(h)
    assert g["horus_storage_writable"] == 1, g
    assert 32 << 20 <= g["horus_storage_size_bytes"] <= 48 << 20, g
    assert g["horus_storage_min_free_bytes"] / 2 < g["horus_storage_free_bytes"], g
    assert g["horus_storage_free_bytes"] < g["horus_storage_size_bytes"], g

    # Before: /health said "ok" and /ready 200 while every part write failed with ENOSPC.
    filler = small_fs / "filler"
    fill(filler)

    def degraded():
        fill(filler)  # again: retention frees what it can on ENOSPC
        doc = health(h)
        return doc if doc["status"] == "degraded" and {
            ("recorder", "write_failed"), ("storage", "disk_full")} <= reasons_of(doc) else None
    doc = wait_until(degraded, 30, "/health degraded by failing segment writes and no space")
    recorder = [r for r in doc["reasons"] if r["component"] == "recorder"][0]
    assert "No space left on device" in recorder["detail"], doc
    assert doc["storage"]["status"] == "full", doc

    def gauges_full():  # what the HorusDiskFull alert compares
        fill(filler)
        g = storage_gauges(h)
        return g if g["horus_storage_free_bytes"] < g["horus_storage_min_free_bytes"] / 2 else None
    g = wait_until(gauges_full, 10, "horus_storage_free_bytes under half the watermark")
    assert g["horus_storage_min_free_bytes"] > 0 and g["horus_storage_writable"] == 1, g
    fill(filler)
    status, body = ready(h)
    assert status == 503 and body["status"] == "not_ready", body
    assert ("storage", "disk_full") in reasons_of(body), body
    validate(h, "GET", "/health")
    validate(h, "GET", "/ready")

    # Space comes back: both recover on their own, and recording goes on.
    filler.unlink()
    wait_until(lambda: health(h)["status"] == "ok", 45, "/health ok again")
    wait_until(lambda: ready(h)[0] == 200, 10, "/ready 200 again")
    before = len(recording_rows(h, camera="cam"))
    wait_until(lambda: len(recording_rows(h, camera="cam")) > before, 20,
               "a new segment after the disk recovered")
    assert h.stop() == 0


def test_read_only_recordings_degrade_health_and_the_camera_then_recover(
        camsim_factory, horus_factory, tmp_path):
    require_root()
    sim = camsim_factory(args=SMALL)
    h = horus_factory(cams_yaml({"cam": sim.url(1)}))
    wait_until(lambda: recording_rows(h, camera="cam"), 20, "a first segment")
    # A read-only bind mount over the stream's folder: the open segment keeps writing
    # through its descriptor, the next one cannot be created (EROFS).
    stream_dir = h.data / "recordings" / "cam" / "main"
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run(["mount", "--bind", str(empty), str(stream_dir)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot bind mount here: {r.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(stream_dir)], check=True,
                       capture_output=True)

        def degraded():
            doc = health(h)
            return doc if ("recorder", "write_failed") in reasons_of(doc) else None
        doc = wait_until(degraded, 20, "/health degraded by a read-only recordings folder")
        recorder = [r for r in doc["reasons"] if r["component"] == "recorder"][0]
        assert "Read-only file system" in recorder["detail"], doc
        status, body = ready(h)
        assert status == 503 and ("recorder", "write_failed") in reasons_of(body), body

        def camera():
            st = h.get_json("/api/v1/cameras/cam")[1]["status"]
            return st if "Read-only file system" in (st["last_error"] or "") else None
        st = wait_until(camera, 20, "the camera's last_error to name the write error")
        assert st["state"] == "streaming", st
    finally:
        subprocess.run(["umount", str(stream_dir)], capture_output=True)
    wait_until(lambda: health(h)["status"] == "ok", 45, "/health ok again")
    assert ready(h)[0] == 200
    assert h.get_json("/api/v1/cameras/cam")[1]["status"]["last_error"] is None
    assert h.stop() == 0


def test_locked_database_degrades_health_and_ready_then_both_recover(horus):
    assert health(horus)["status"] == "ok" and ready(horus)[0] == 200
    db = sqlite3.connect(horus.data / "horus.db", isolation_level=None, timeout=10)
    db.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        # Before: "ok" and 200 however long another process held the write lock.
        def degraded():
            doc = health(horus)
            return doc if ("database", "busy") in reasons_of(doc) else None
        doc = wait_until(degraded, 20, "/health degraded by the locked database")
        assert doc["status"] == "degraded" and doc["database"]["status"] in ("busy", "unreachable")
        status, body = ready(horus)
        assert status == 503 and ("database", "busy") in reasons_of(body), body
    finally:
        db.execute("COMMIT")
        db.close()
    wait_until(lambda: health(horus)["status"] == "ok", 15, "/health ok after the lock")
    wait_until(lambda: ready(horus)[0] == 200, 10, "/ready 200 after the lock")
    assert health(horus)["database"]["status"] == "ok"
    assert horus.stop() == 0


def test_undecodable_and_no_video_cameras_say_so_with_last_error(camsim_factory, horus_factory):
    garbage = camsim_factory(args=SMALL + ["--fault", "garbage"], name="garbage")
    mute = camsim_factory(args=SMALL + ["--fault", "stall:2"], name="mute")
    good = camsim_factory(args=SMALL, name="good")
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    silent_url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/x"
    # A long stall timeout: the stalled session stays connected without video.
    h = horus_factory(cams_yaml({"bad": garbage.url(1), "mute": mute.url(1),
                                 "good": good.url(1), "silent": silent_url},
                                extra="ingest:\n  stall_timeout: 60s\n  connect_timeout: 1s\n"))

    def status(cam):
        return validate(h, "GET", f"/api/v1/cameras/{cam}", "/api/v1/cameras/{id}")[1]["status"]

    # Before: "connecting" forever with no error, nothing recorded.
    st = wait_until(lambda: status("bad")["state"] == "undecodable" and status("bad"), 20,
                    "the garbage camera to show undecodable")
    assert "cannot be decoded" in st["last_error"] and st["since"], st
    # Before: "streaming" with no error while no frame arrived.
    st = wait_until(lambda: status("mute")["state"] == "no_video" and status("mute"), 20,
                    "the stalled camera to show no_video")
    assert "no video" in st["last_error"] and st["since"], st
    st = status("good")
    assert st["state"] == "streaming" and st["last_error"] is None and st["since"], st
    # A camera that never answers says since when it has been trying, and why it failed.
    st = wait_until(lambda: status("silent")["last_error"] and status("silent"), 10,
                    "the silent camera's last_error")
    assert st["state"] in ("connecting", "failed") and st["since"], st
    assert not recording_rows(h, camera="bad")
    doc = health(h)
    assert doc["cameras"]["online"] == 1 and doc["cameras"]["failed"] >= 2, doc
    assert h.stop() == 0
    silent.close()


def export_and_wait(h, body, timeout=60):
    status, headers, raw = h.request("POST", "/api/v1/exports", body)
    assert status == 202, raw
    eid = json.loads(raw)["id"]

    def finished():
        status, doc = validate(h, "GET", f"/api/v1/exports/{eid}", "/api/v1/exports/{id}")
        return doc if doc["state"] not in ("queued", "running") else None
    return wait_until(finished, timeout, f"export {eid} to finish")


def test_export_fails_naming_corrupt_and_missing_sources(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL)
    h = horus_factory(cams_yaml({"cam": sim.url(1)}, segment=2))
    segs = wait_until(lambda: (r := recording_rows(h, camera="cam")) and len(r) >= 5 and r,
                      30, "five segments")
    whole = {"camera": "cam", "start": segs[0]["start_us"] // 1000,
             "end": segs[4]["end_us"] // 1000}
    assert export_and_wait(h, whole)["state"] == "done"

    # One bit flipped in the middle of a segment: the recorded sha256 no longer matches.
    corrupt = h.data / segs[1]["path"]
    raw = bytearray(corrupt.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    corrupt.write_bytes(bytes(raw))
    # Before: "done", with the altered frames in the export.
    e = export_and_wait(h, whole)
    assert e["state"] == "failed" and "corrupt" in e["error"], e
    assert segs[1]["path"] in e["error"], e

    # A deleted segment. Before: "done", its seconds silently missing.
    (h.data / segs[3]["path"]).unlink()
    e = export_and_wait(h, {"camera": "cam", "start": segs[2]["start_us"] // 1000,
                            "end": segs[4]["end_us"] // 1000})
    assert e["state"] == "failed" and "missing" in e["error"], e
    assert segs[3]["path"] in e["error"], e
    assert not list((h.data / "exports").glob("*.part"))
    # Untouched sources still export.
    e = export_and_wait(h, {"camera": "cam", "start": segs[2]["start_us"] // 1000,
                            "end": segs[2]["end_us"] // 1000})
    assert e["state"] == "done", e
    assert h.stop() == 0


def test_sigterm_cancels_a_long_export_indexes_every_segment_and_exits_zero(
        camsim_factory, horus_factory):
    sim = camsim_factory()
    h = horus_factory(cams_yaml({"cam": sim.url(1)}, segment=2))
    wait_until(lambda: recording_rows(h, camera="cam"), 20, "a segment")
    start_ms, end_ms = synthesize_hours(h, 3)
    status, _, raw = h.request("POST", "/api/v1/exports",
                               {"camera": "cam", "start": start_ms, "end": end_ms})
    assert status == 202
    eid = json.loads(raw)["id"]
    wait_until(lambda: h.get_json(f"/api/v1/exports/{eid}")[1]["progress"] > 0, 30,
               "the export to be writing")
    assert list((h.data / "exports").glob("*.part")), "no partial export file to clean up"

    t0 = time.monotonic()
    h.proc.signal(signal.SIGTERM)
    assert h.proc.wait(15) == 0
    took = time.monotonic() - t0
    assert took < 10, f"stop took {took:.1f} s"
    out = h.proc.output()
    assert "forcing exit" not in out
    # No partial files: neither the export's nor an open segment's.
    assert not list((h.data / "exports").iterdir()), list((h.data / "exports").iterdir())
    assert not list(h.data.rglob("*.part"))
    # Every segment file on disk is in the index.
    indexed = {r["path"] for r in recording_rows(h, camera="cam")}
    on_disk = {str(p.relative_to(h.data)) for p in (h.data / "recordings").rglob("*.mp4")}
    assert on_disk and on_disk <= indexed, on_disk - indexed
    # Before: written back as "queued" to run again at the next start.
    db = sqlite3.connect(h.data / "horus.db")
    try:
        state, error = db.execute("SELECT state, error FROM exports WHERE id = ?",
                                  (eid,)).fetchone()
    finally:
        db.close()
    assert state == "cancelled" and "horus stopped" in error, (state, error)
