"""Every file Horus creates is 0600 and every directory 0700 (issue 9 item 0,
docs/design/0017): the SQLite database with its WAL and SHM, journal, recordings,
exports, the lock and the log file."""
import json
import os
import stat

from conftest import recording_rows, wait_until


def modes_under(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        out[dirpath] = stat.S_IMODE(os.lstat(dirpath).st_mode)
        for name in filenames:
            p = os.path.join(dirpath, name)
            out[p] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def test_recording_export_and_logs_are_owner_only(camsim_factory, horus_factory, tmp_path):
    sim = camsim_factory()
    log_path = tmp_path / "horus-file.log"
    h = horus_factory(f"log:\n  file: \"{log_path}\"\n"
                      f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
                      f"    record:\n      segment_seconds: 2\n")
    recs = wait_until(lambda: len(recording_rows(h, camera="cam")) >= 2 and
                      recording_rows(h, camera="cam"), 60, "two segments")
    status, _, raw = h.request("POST", "/api/v1/exports",
                               {"camera": "cam", "start": recs[0]["start_us"] // 1000,
                                "end": recs[1]["end_us"] // 1000})
    assert status == 202, raw
    eid = json.loads(raw)["id"]

    def finished():
        e = json.loads(h.request("GET", f"/api/v1/exports/{eid}")[2])
        return e if e["state"] not in ("queued", "running") else None
    assert wait_until(finished, 60, "the export")["state"] == "done"
    status, _, _ = h.request("GET", "/api/v1/cameras/cam/snapshot.jpg")
    assert status == 200

    modes = modes_under(h.data)
    kinds = {os.path.splitext(p)[1] for p in modes}
    want = {".mp4", ".journal", ".lock"}
    if not h.database_url:  # on PostgreSQL no database file is in the data directory
        want |= {".db", ".db-wal", ".db-shm"}
    assert want <= kinds, sorted(modes)
    assert log_path.exists()
    modes[str(log_path)] = stat.S_IMODE(log_path.stat().st_mode)
    wrong = {p: oct(m) for p, m in modes.items()
             if m != (0o700 if os.path.isdir(p) else 0o600)}
    assert not wrong, wrong
