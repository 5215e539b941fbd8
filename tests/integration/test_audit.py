"""The audit chain against a real daemon: actions through the API and a
SIGHUP land in /api/v1/audit (filters, paging, order, checked against the
OpenAPI document); `horus audit verify` passes beside the running daemon,
and names the entry after the SQLite file is edited with sqlite3 (an
edited, a deleted and two swapped rows), and a tail cut off after the
daemon logged its head."""
import json
import signal
import subprocess
import time

from conftest import HORUS_BIN, index_exec, recording_rows, wait_until
from openapi_check import OpenApi

CONFIG = "log:\n  level: info\n"
CAM = {"id": "front", "name": "Front", "url": "rtsp://admin:hunter22@192.0.2.10/s1"}


def verify(h, *extra):
    p = subprocess.run([HORUS_BIN, "audit", "verify", *h.config_args(), "--data", str(h.data),
                        *extra],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def sql(h, statements):
    """Edits the index from outside, as a tamperer would; ';' separates statements."""
    for statement in statements.split(";"):
        if statement.strip():
            index_exec(h, statement)


def audit_page(h, spec, query=""):
    status, headers, body = h.request("GET", "/api/v1/audit" + query)
    if status == 200:
        return status, spec.validate("GET", "/api/v1/audit", status, headers["Content-Type"],
                                     body)
    return status, json.loads(body)


def make_entries(h):
    """daemon.started, 3 camera actions and a reload: 5 entries."""
    assert h.request("POST", "/api/v1/cameras", CAM)[0] == 201
    assert h.request("PATCH", "/api/v1/cameras/front", {"name": "Front door"})[0] == 200
    assert h.request("DELETE", "/api/v1/cameras/front")[0] == 204
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda l: l.get("msg") == "configuration reloaded")


def test_actions_are_listed_filtered_and_paged(horus_factory):
    h = horus_factory(CONFIG)
    _, doc = h.get_json("/api/v1/openapi.json")
    spec = OpenApi(doc)
    assert spec.operation("GET", "/api/v1/audit")["x-horus-permission"] == "admin"
    make_entries(h)
    wait_until(lambda: len(audit_page(h, spec)[1]["items"]) >= 5, 5, "five audit entries")
    _, page = audit_page(h, spec)
    items = page["items"]
    assert [e["action"] for e in items] == ["config.reloaded", "camera.deleted", "camera.updated",
                                          "camera.created", "daemon.started"]
    assert [e["id"] for e in items] == [5, 4, 3, 2, 1]
    assert items[-1]["prev_hash"] == "0" * 64
    for newer, older in zip(items, items[1:]):
        assert newer["prev_hash"] == older["hash"]
    created = items[3]
    assert created["target"] == {"kind": "camera", "id": "front"}
    assert created["client"] == "127.0.0.1"
    assert created["outcome"] == "ok"
    assert created["details"] == {"name": "Front", "enabled": True}
    assert items[2]["details"] == {"method": "PATCH", "fields": ["name"]}
    assert items[0]["actor"]["kind"] == "system"
    assert items[0]["target"]["kind"] == "config"
    assert "hunter22" not in json.dumps(page)

    _, page = audit_page(h, spec, "?action=camera.*&order=asc&limit=2")
    assert [e["action"] for e in page["items"]] == ["camera.created", "camera.updated"]
    assert page["next_cursor"] == "3"
    _, page = audit_page(h, spec, "?action=camera.*&order=asc&limit=2&cursor=3")
    assert [e["action"] for e in page["items"]] == ["camera.deleted"]
    assert page["next_cursor"] is None
    _, page = audit_page(h, spec, "?camera=front&outcome=ok&from=2000-01-01T00:00:00Z")
    assert len(page["items"]) == 3
    _, page = audit_page(h, spec, "?to=2000-01-01T00:00:00Z")
    assert page["items"] == []

    for query, field in [("?from=yesterday", "from"), ("?outcome=maybe", "outcome"),
                         ("?cursor=abc", "cursor"), ("?limit=0", "limit"),
                         ("?order=up", "order"), ("?action=" + "a" * 200, "action"),
                         ("?camera=a&target_kind=export", "camera")]:
        status, body = audit_page(h, spec, query)
        assert status == 400, query
        assert body["error"]["message"].startswith(field), (query, body)

    # Beside the running daemon: no lock taken, nothing written.
    rc, out = verify(h)
    assert rc == 0, out
    assert "audit chain intact: 5 entries" in out
    assert h.request("GET", "/health")[0] == 200


def test_verify_names_the_edited_deleted_and_swapped_entry(horus_factory):
    h = horus_factory(CONFIG)
    make_entries(h)
    h.stop()
    rc, out = verify(h)
    assert rc == 0, out

    sql(h, "UPDATE audit SET outcome = 'denied' WHERE id = 3")
    rc, out = verify(h)
    assert rc == 1, out
    assert "audit chain broken at entry 3: entry 3 was modified" in out
    sql(h, "UPDATE audit SET outcome = 'ok' WHERE id = 3")
    assert verify(h)[0] == 0

    sql(h, "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3;"
           " UPDATE audit SET id = 3 WHERE id = -2")
    rc, out = verify(h)
    assert rc == 1, out
    assert "entry 2 was reordered" in out

    sql(h, "DELETE FROM audit WHERE id = 4")
    rc, out = verify(h)
    assert rc == 1, out
    assert "entry 2 was reordered" in out  # the first problem wins
    sql(h, "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3;"
           " UPDATE audit SET id = 3 WHERE id = -2")
    rc, out = verify(h)
    assert rc == 1, out
    assert "audit chain broken at entry 4: entry 4 was removed: ids jump from 3 to 5" in out


def test_a_cut_tail_is_caught_by_the_heads_in_the_log(horus_factory):
    h = horus_factory(CONFIG)
    make_entries(h)
    h.stop()
    log = str(h.dir / "horus.log")
    heads = [json.loads(l) for l in open(log) if '"audit_head_id"' in l]
    assert [(x["audit_head_why"], x["audit_head_id"]) for x in heads] == [("start", "0"),
                                                                          ("stop", "5")]
    rc, out = verify(h, "--log", log)
    assert rc == 0, out
    assert "2 logged heads match" in out

    sql(h, "DELETE FROM audit WHERE id >= 4")
    rc, out = verify(h)
    assert rc == 0, out  # the chain alone cannot tell
    rc, out = verify(h, "--log", log)
    assert rc == 1, out
    assert "entry 5" in out and "truncated after entry 3" in out


def test_the_head_is_logged_every_interval_and_the_restart_continues_the_chain(horus_factory):
    h = horus_factory("log:\n  level: warn\naudit:\n  head_log_interval: 1s\n")
    assert h.request("POST", "/api/v1/cameras", CAM)[0] == 201
    line = h.wait_for_log(lambda l: l.get("audit_head_why") == "interval"
                          and l.get("audit_head_id") == "2", timeout=10)
    assert line["module"] == "audit" and len(line["audit_head_hash"]) == 64
    h.stop()
    h2 = horus_factory(extra_args=("--data", str(h.data)))  # the last --data wins
    assert h2.request("DELETE", "/api/v1/cameras/front")[0] == 204
    h2.stop()
    rc, out = verify(h, "--log", str(h.dir / "horus.log"))
    assert rc == 0, out
    assert "audit chain intact: 4 entries" in out


def test_verify_refuses_bad_arguments_and_a_missing_database(tmp_path):
    def run(*args):
        return subprocess.run([HORUS_BIN, "audit", *args], capture_output=True, text=True,
                              timeout=30)
    p = run("verify", "--data", str(tmp_path / "none"))
    assert p.returncode == 3 and "no database at" in p.stderr
    assert not (tmp_path / "none").exists()
    assert run("verify", "--bogus").returncode == 2
    assert run("verify", "--log").returncode == 2
    assert run("fix").returncode == 2
    (tmp_path / "horus.db").touch()
    p = run("verify", "--data", str(tmp_path), "--log", str(tmp_path / "missing.log"))
    assert p.returncode == 3 and "open log" in p.stderr


def test_media_views_are_recorded_once_per_viewing(horus_factory, camsim_factory):
    sim = camsim_factory()
    h = horus_factory(f"cameras:\n  - id: cam\n    url: \"{sim.url(1)}\"\n"
                      f"    record:\n      segment_seconds: 2\n")
    live = "/api/v1/cameras/cam/live/index.m3u8"
    wait_until(lambda: h.request("GET", live)[0] == 200, 30, "a live playlist")
    for _ in range(3):  # reloads without _HLS_msn (a legacy player) continue the viewing
        assert h.request("GET", live)[0] == 200
    assert h.request("GET", live + "?_HLS_msn=0")[0] in (200, 400)
    for _ in range(2):
        wait_until(lambda: h.request("GET", "/api/v1/cameras/cam/snapshot.jpg")[0] == 200, 20,
                   "a snapshot")
    rows = wait_until(lambda: recording_rows(h, camera="cam", stream="main"), 30, "a recording")
    start_ms = rows[0]["start_us"] // 1000
    end_ms = rows[0]["end_us"] // 1000
    for _ in range(2):
        assert h.request("GET", f"/api/v1/cameras/cam/playback.m3u8?start={start_ms}"
                                f"&end={end_ms}")[0] == 200
    status, _, body = h.request("POST", "/api/v1/exports",
                                {"camera": "cam", "start": start_ms, "end": end_ms})
    assert status == 202, body
    export_id = json.loads(body)["id"]
    wait_until(lambda: h.get_json(f"/api/v1/exports/{export_id}")[1]["state"] == "done", 30,
               "the export")
    for _ in range(2):
        assert h.request("GET", f"/api/v1/exports/{export_id}/file")[0] == 200

    def actions():
        _, page = h.get_json("/api/v1/audit?order=asc&limit=1000")
        return [(e["action"], e["target"]["kind"], e["target"]["id"]) for e in page["items"]]
    got = wait_until(lambda: len(actions()) >= 6 and actions(), 5, "six entries")
    assert got.count(("live.started", "camera", "cam")) == 1, got
    assert got.count(("snapshot", "camera", "cam")) == 1, got
    assert got.count(("playback.requested", "camera", "cam")) == 1, got
    assert got.count(("export.created", "export", export_id)) == 1, got
    assert got.count(("export.downloaded", "export", export_id)) == 1, got
    _, page = h.get_json("/api/v1/audit?action=export.created")
    assert page["items"][0]["details"]["camera"] == "cam"
    h.stop()
    rc, out = verify(h)
    assert rc == 0, out
