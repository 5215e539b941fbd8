"""Issue 16, "the index heals itself": every closed segment ends up in the index
although the database was locked, full, lost its unsynced tail to a power cut
or lost its WAL file under the running daemon; `horus check` reports overlaps
and rows in the future. Faults are real: another process's SQLite lock, a
loop-mounted ext4 filled up or aborted (root only; skipped otherwise)."""
import os
import re
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import HORUS_BIN, recording_rows, wait_until


def cams_yaml(sim, ids, segment=2):
    out = "cameras:\n"
    for i, cam in enumerate(ids, start=1):
        out += (f"  - id: {cam}\n    url: \"{sim.url(i)}\"\n"
                f"    record:\n      segment_seconds: {segment}\n")
    return out


def files_on_disk(data):
    """Closed segment files, relative to the data directory."""
    return {str(p.relative_to(data)) for p in (data / "recordings").rglob("*.mp4")}


def indexed(data):
    db = sqlite3.connect(data / "horus.db", timeout=30)
    try:
        return {r[0] for r in db.execute("SELECT path FROM recordings")}
    finally:
        db.close()


def assert_all_indexed(data):
    files, rows = files_on_disk(data), indexed(data)
    missing = sorted(files - rows)
    assert not missing, f"{len(missing)} of {len(files)} closed segments not indexed: {missing}"
    return files


def kill9(h):
    os.killpg(h.proc.popen.pid, signal.SIGKILL)
    h.proc.popen.wait()


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a loop file system")


@pytest.fixture
def loop_ext4(tmp_path):
    """A fresh ext4 on a loop file (no root reserve), mounted; unmounted at teardown."""
    require_root()
    img, mnt = tmp_path / "disk.img", tmp_path / "mnt"
    mnt.mkdir()

    def make(size_mb):
        with open(img, "wb") as f:
            f.truncate(size_mb << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(img)], check=True)
        mount()
        return mnt

    def mount():
        r = subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a loop file system here: {r.stderr.strip()}")

    make.mount = mount
    make.mnt = mnt
    yield make
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_30_s_write_lock_loses_no_closed_segment(camsim_factory, horus_factory):
    sim = camsim_factory(paths=2)
    h = horus_factory(cams_yaml(sim, ["a", "b"]))
    wait_until(lambda: len(recording_rows(h)) >= 2, 30, "the first rows")
    lock = sqlite3.connect(h.data / "horus.db", timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    try:
        # Camera creation while locked is a 503 with Retry-After (never a 409).
        status, headers, _ = h.request("POST", "/api/v1/cameras",
                                       {"id": "late", "url": sim.url(1)}, timeout=30)
        assert status == 503 and "Retry-After" in headers, (status, headers)
        wait_until(lambda: h.metric("horus_db_write_retries_total") >= 1, 25,
                   "an index row to be retried")
        time.sleep(max(0.0, 30 - (time.monotonic() - locked_at)))
        closed_while_locked = files_on_disk(h.data)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    # Once the lock is gone every segment closed meanwhile reaches the index.
    wait_until(lambda: closed_while_locked <= indexed(h.data), 30,
               "the rows of the segments closed while the database was locked")
    assert h.stop() == 0
    files = assert_all_indexed(h.data)
    print(f"30 s lock: {len(closed_while_locked)} segments closed by its end, "
          f"{len(files)} in all, every one indexed")


def fill(path):
    """Writes zeros to path until the file system is full, then commits its journal: blocks
    that truncations freed become allocatable only once ext4 commits, so fill twice."""
    for n in range(2):
        subprocess.run(["dd", "if=/dev/zero", f"of={path}.{n}", "bs=64k"], capture_output=True)
        os.sync()


def test_a_full_disk_loses_no_closed_segment(camsim_factory, horus_factory, loop_ext4):
    data = loop_ext4(96)
    sim = camsim_factory(paths=2)
    # Segments longer than the test: the ones open when the disk fills hold complete parts
    # and close only at stop. No reconnect while the cameras are paused below.
    yaml = (cams_yaml(sim, ["a", "b"], segment=120) + "storage:\n  min_free_percent: 0\n"
            "ingest:\n  stall_timeout: 120s\n")
    h = horus_factory(yaml, extra_args=["--data", str(data)])
    wait_until(lambda: h.metric("horus_record_part_flush_seconds_count") >= 4, 30,
               "complete parts in both segments")
    # Empty the WAL so that the next commits need new blocks, then fill the disk.
    db = sqlite3.connect(data / "horus.db", timeout=30)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    filler = data / "filler"
    fill(filler)
    wait_until(lambda: h.metric("horus_record_write_errors_total") >= 1, 20, "a full disk")
    # Pause the cameras: no part is written or rolled back any more (each failed part frees
    # what it had taken), then take whatever the roll-backs freed.
    os.kill(sim.proc.popen.pid, signal.SIGSTOP)
    try:
        time.sleep(1)
        fill(data / "filler-late")
        # Stop while the disk is full: the open segments close, their rows cannot commit.
        assert h.stop(timeout=60) == 0
    finally:
        os.kill(sim.proc.popen.pid, signal.SIGCONT)
    out = h.proc.output()
    assert "kept in the index journal" in out, out[-3000:]
    for f in data.glob("filler*"):
        f.unlink()
    # Space is back: the restarted daemon inserts every row the journal kept.
    h2 = horus_factory(yaml, extra_args=["--data", str(data)], name="after")
    h2.wait_for_log(lambda l: "index recovery" in l.get("msg", ""), timeout=20)
    assert h2.metric('horus_record_reconciled_total{result="replayed"}') >= 1
    assert h2.stop() == 0
    assert_all_indexed(data)


def test_a_power_cut_loses_no_closed_segment(camsim_factory, horus_factory, loop_ext4):
    data = loop_ext4(256)
    sim = camsim_factory(paths=2)
    yaml = cams_yaml(sim, ["a", "b"])
    h = horus_factory(yaml, extra_args=["--data", str(data)])
    wait_until(lambda: len(indexed(data)) >= 8, 40, "eight rows")
    # ext4 abort: from now on nothing reaches the disk; what was not fsynced is lost,
    # as in a power cut. Then the process dies.
    subprocess.run(["mount", "-o", "remount,abort", str(data)], check=True)
    time.sleep(0.5)
    kill9(h)
    subprocess.run(["umount", str(data)], check=True)
    loop_ext4.mount()
    before = indexed(data)
    files = files_on_disk(data)
    h2 = horus_factory(yaml, extra_args=["--data", str(data)], name="after")
    wait_until(lambda: files <= indexed(data), 30, "every segment that survived indexed")
    assert h2.stop() == 0
    assert_all_indexed(data)
    print(f"power cut: {len(files)} closed segments survived, {len(before)} rows did; "
          f"after restart all {len(files)} are indexed")


def test_rows_only_in_the_journal_survive_kill_9(camsim_factory, horus_factory):
    sim = camsim_factory(paths=2)
    yaml = cams_yaml(sim, ["a", "b"])
    h = horus_factory(yaml)
    wait_until(lambda: len(recording_rows(h)) >= 2, 30, "the first rows")
    lock = sqlite3.connect(h.data / "horus.db", timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        wait_until(lambda: h.metric("horus_record_index_journal_pending") >= 2, 25,
                   "rows waiting in the journal")
        kill9(h)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    r = run_check(h.data)
    assert "its row waits in the index journal" in r.stdout, r.stdout
    h2 = horus_factory(yaml, extra_args=["--data", str(h.data)], name="after")
    h2.wait_for_log(lambda l: "index recovery" in l.get("msg", ""), timeout=20)
    assert h2.metric('horus_record_reconciled_total{result="replayed"}') >= 2
    assert h2.stop() == 0
    assert_all_indexed(h.data)


def test_start_indexes_files_the_index_lost_and_reports_rows_without_files(
        camsim_factory, horus_factory):
    sim = camsim_factory(paths=2)
    yaml = cams_yaml(sim, ["a", "b"])
    h = horus_factory(yaml)
    wait_until(lambda: len(recording_rows(h)) >= 8, 40, "eight rows")
    assert h.stop() == 0
    recs = recording_rows(h)
    newest = sorted(recs, key=lambda r: r["start_us"])[-3:]
    db = sqlite3.connect(h.data / "horus.db")
    # The newest rows vanish with no journal entry (a database restored from a backup, an
    # index whose unsynced tail was lost), and a bogus row of camera a lies days ahead: it
    # must not hide today's files.
    for r in newest:
        db.execute("DELETE FROM recordings WHERE path = ?", (r["path"],))
    ahead = int(time.time() * 1e6) + 5 * 86400 * 1000000
    db.execute("INSERT INTO recordings(camera_id, stream, start_us, end_us, path, bytes, codec)"
               " VALUES ('a', 'main', ?, ?, 'recordings/a/main/2099-01-01/00-00-00.mp4', 1, '')",
               (ahead, ahead + 2000000))
    db.commit()
    db.close()
    (h.data / "recordings" / "index.journal").unlink()
    gone = sorted(recs, key=lambda r: r["start_us"])[0]
    (h.data / gone["path"]).unlink()
    h2 = horus_factory(yaml, extra_args=["--data", str(h.data)], name="after")
    h2.wait_for_log(lambda l: "index recovery" in l.get("msg", ""), timeout=20)
    assert h2.metric('horus_record_reconciled_total{result="indexed"}') == 3
    assert h2.metric('horus_record_reconciled_total{result="missing_file"}') == 1
    assert h2.stop() == 0
    after = indexed(h.data)
    assert {r["path"] for r in newest} <= after
    assert gone["path"] in after  # reported, never deleted at start
    assert_all_indexed(h.data)


def run_check(data, *args):
    return subprocess.run([HORUS_BIN, "check", "--data", str(data), *args],
                          capture_output=True, text=True, timeout=60)


def test_horus_check_reports_overlaps_and_rows_in_the_future(camsim_factory, horus_factory):
    sim = camsim_factory()
    h = horus_factory(cams_yaml(sim, ["cam"]))
    wait_until(lambda: len(recording_rows(h)) >= 4, 30, "four rows")
    assert h.stop() == 0
    r = run_check(h.data)
    assert r.returncode == 0 and "0 problems" in r.stdout, r.stdout
    recs = recording_rows(h)
    db = sqlite3.connect(h.data / "horus.db")
    # Row 0 now runs 1.5 s into row 1; row 3 moves three days ahead.
    db.execute("UPDATE recordings SET end_us = ? WHERE path = ?",
               (recs[1]["start_us"] + 1500000, recs[0]["path"]))
    future = int(time.time() * 1e6) + 3 * 86400 * 1000000
    db.execute("UPDATE recordings SET start_us = ?, end_us = ? WHERE path = ?",
               (future, future + 2000000, recs[3]["path"]))
    db.commit()
    db.close()
    r = run_check(h.data)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"overlap        {recs[1]['path']} (starts 1.5" in r.stdout, r.stdout
    assert f"future row     {recs[3]['path']} (starts 72.0 h after now)" in r.stdout, r.stdout
    assert "2 problems, 0 repaired" in r.stdout, r.stdout
    # The hours between row 2 and the moved row are a gap: a note, not a problem.
    assert f"gap            {recs[3]['path']} (" in r.stdout, r.stdout
    assert re.search(r"2 problems, 0 repaired, [1-9]\d* gaps$", r.stdout.rstrip()), r.stdout


def test_deleting_the_wal_under_a_running_daemon_is_reported_and_loses_nothing(
        camsim_factory, horus_factory):
    sim = camsim_factory(paths=2)
    # Every write counted below must be an index row: with node.ttl at its maximum the node's
    # heartbeat and camera-lease renewals (every ttl / 3) fall outside the test's window, and
    # the window's requests carry no API key.
    yaml = "node:\n  ttl: 10m\n" + cams_yaml(sim, ["a", "b"])
    h = horus_factory(yaml)
    wait_until(lambda: len(recording_rows(h)) >= 4, 30, "four rows")
    rows_then = len(recording_rows(h))
    (h.data / "horus.db-wal").unlink()
    line = h.wait_for_log(lambda l: l.get("level") == "error" and "WAL" in l.get("msg", ""),
                          timeout=10)
    assert "deleted under the running daemon" in line["msg"], line
    assert h.metric("horus_db_wal_lost") == 1

    def wal_reason():
        status, body = h.get_json("/ready")
        return status == 503 and any(r["reason"] == "wal_lost" for r in body.get("reasons", []))
    wait_until(wal_reason, 5, "/ready 503 naming the lost WAL")

    def health_reason():
        body = h.get_json("/health")[1]
        return body["status"] == "degraded" and any(
            r["component"] == "database" and r["reason"] == "wal_lost" for r in body["reasons"])
    wait_until(health_reason, 5, "/health degraded naming the lost WAL")
    # No SQLite reader of our own from here on: it would make a new WAL beside the daemon's.
    # And no API key: a request with one may note the key's use (a write, once a minute), which
    # would be counted below as an index row. /metrics needs no credentials here.
    def writes_ok():
        status, _, body = h.request("GET", "/metrics", auth=False)
        assert status == 200, body
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                   if line.startswith('horus_db_writes_total{result="ok"}'))
    ok = writes_ok()
    wait_until(lambda: writes_ok() >= ok + 4, 30, "rows committed after the deletion")
    committed = writes_ok() - ok
    kill9(h)
    # The crash does not take the index with it: the rows committed since are still there.
    after = indexed(h.data)
    assert len(after) >= rows_then + committed, (len(after), rows_then, committed)
    h2 = horus_factory(yaml, extra_args=["--data", str(h.data)], name="after")
    wait_until(lambda: len(indexed(h.data)) > len(after), 30, "recording again")
    assert h2.stop() == 0
    assert_all_indexed(h.data)
