"""The PostgreSQL backend against a real PostgreSQL 15 (tests/pg/pg-server, a throw-away
server on a free port): recording goes on through a database outage and every segment's
index row commits once the server is back, in order, none lost and none twice; a wrong URL
or a database that cannot keep byte order is refused at start with a sentence that names the
server and the fix, never the password."""
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HORUS_BIN, SOURCE_DIR, free_port, psql, recording_rows, wait_until

PG_SERVER = str(SOURCE_DIR / "tests/pg/pg-server")


@pytest.fixture
def pg():
    """A server of this test's own (the outage test stops it): its state directory and URL."""
    state = tempfile.mkdtemp(prefix="horus-pgstate-")
    subprocess.run([PG_SERVER, "start", state], check=True, capture_output=True, timeout=120)
    url = (Path(state) / "url").read_text().strip()
    yield state, url
    subprocess.run([PG_SERVER, "stop", state], capture_output=True, timeout=60)


def new_db(server_url, name, extra=""):
    psql(server_url, f"CREATE DATABASE {name} {extra}")
    return server_url.rsplit("/", 1)[0] + "/" + name


def rows_of_every_file_once(h):
    """The stopped daemon's index rows, checked: every finished segment has exactly one."""
    rows = recording_rows(h)
    files = sorted(str(p.relative_to(h.data)) for p in h.data.rglob("*.mp4"))
    assert sorted(r["path"] for r in rows) == files, (len(rows), len(files))
    starts = [r["start_us"] for r in rows]
    assert len(set(starts)) == len(starts)
    return rows


def test_recording_goes_on_through_a_database_outage_and_no_row_is_lost(pg, camsim_factory,
                                                                        horus_factory):
    state, server = pg
    url = new_db(server, "outage")
    sim = camsim_factory()
    h = horus_factory(f'database:\n  url: "{url}"\n'
                      f'cameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
                      "    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(recording_rows(h)) >= 2, 30, "two index rows")
    subprocess.run([PG_SERVER, "down", state], check=True, capture_output=True, timeout=60)
    down_at = time.monotonic()
    # The index cannot be written: the writer keeps the rows to retry, health says so (the
    # reasons are for callers the database can authenticate: only the status here), and the
    # daemon goes on recording files.
    h.wait_for_log(lambda l: "index rows wait and are retried" in l.get("msg", ""), timeout=20)
    wait_until(lambda: h.get_json("/health")[1]["status"] == "degraded", 20, "health degraded")
    files_before = len(list(h.data.rglob("*.mp4")))
    time.sleep(max(0.0, 6 - (time.monotonic() - down_at)))
    wait_until(lambda: len(list(h.data.rglob("*.mp4"))) >= files_before + 2, 20,
               "segments recorded while the database is down")
    subprocess.run([PG_SERVER, "up", state], check=True, capture_output=True, timeout=60)
    wait_until(lambda: h.get_json("/health")[1]["status"] == "ok", 30, "health to recover")
    time.sleep(2)
    assert h.stop() == 0
    rows = rows_of_every_file_once(h)
    # And the rows follow each other in time.
    for a, b in zip(rows, rows[1:]):
        assert b["start_us"] >= a["end_us"] - 1000, (a, b)
        assert b["start_us"] - a["end_us"] < 2_000_000, ("a gap in the index", a, b)
    assert len(rows) >= 5


def server_pids(state):
    """The PostgreSQL server's processes: the postmaster and its children."""
    cluster = Path((Path(state) / "cluster").read_text().strip())
    main = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
    kids = subprocess.run(["pgrep", "-P", str(main)], capture_output=True, text=True).stdout
    return [main, *map(int, kids.split())]


def timed(h, path):
    """(status, seconds) of one GET, however it ends."""
    t0 = time.monotonic()
    status, _, _ = h.request("GET", path, timeout=60)
    return status, time.monotonic() - t0


def test_a_frozen_server_fails_statements_in_time_and_nothing_is_lost(pg, camsim_factory,
                                                                       horus_factory):
    """A server that stops answering but keeps its sockets open (SIGSTOP: its kernel still
    acknowledges TCP, so keepalives never fire) holds no API request or write past
    database.answer_timeout: the request fails with 503, the writer keeps its rows to retry,
    and once the server runs again every segment gets its row, once."""
    state, server = pg
    url = new_db(server, "frozen")
    sim = camsim_factory()
    h = horus_factory(f'database:\n  url: "{url}"\n  answer_timeout: 2s\n'
                      f'cameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
                      "    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(recording_rows(h)) >= 2, 30, "two index rows")
    assert timed(h, "/api/v1/events")[0] == 200
    pids = server_pids(state)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Each reader answers within the timeout (plus the reconnect's own bound is not
        # reached: the first statement fails, and so do the next ones, promptly).
        for _ in range(3):
            status, took = timed(h, "/api/v1/events")
            assert status == 503 and took < 2 + 1.5, (status, took)
        # The writer says why, in its log and in /health; segments are still recorded. The
        # server runs again before node.ttl (15 s): past it this node would stop its cameras
        # (its leases would have run out: docs/design/0066).
        h.wait_for_log(lambda l: "database writes failing" in l.get("msg", "")
                       and "no answer from PostgreSQL" in l["msg"]
                       and "database.answer_timeout" in l["msg"], timeout=10)
        wait_until(lambda: h.get_json("/health")[1]["status"] == "degraded", 10,
                   "health degraded")
        status, _, raw = h.request("GET", "/ready", timeout=10)
        assert status == 503 and b"no answer" in raw and b"database.answer_timeout" in raw, raw
        files_before = len(list(h.data.rglob("*.mp4")))
        wait_until(lambda: len(list(h.data.rglob("*.mp4"))) >= files_before + 1, 10,
                   "a segment recorded while the server is frozen")
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    wait_until(lambda: timed(h, "/api/v1/events")[0] == 200, 30, "reads again")
    wait_until(lambda: h.get_json("/health")[1]["status"] == "ok", 30, "health to recover")
    time.sleep(2)
    assert h.stop() == 0
    rows_of_every_file_once(h)


def serve_fails(tmp_path, url):
    """Starts horus serve on url; returns (exit status, what it printed) once it exits."""
    cfg = tmp_path / "horus.yaml"
    cfg.write_text(f'database:\n  url: "{url}"\n')
    p = subprocess.run([HORUS_BIN, "serve", "-c", str(cfg), "--data", str(tmp_path / "d"),
                        "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_an_unreachable_server_or_a_missing_database_is_refused_without_the_password(pg,
                                                                                     tmp_path):
    _, server = pg
    port = free_port()
    rc, out = serve_fails(tmp_path, f"postgres://horus:pw-not-to-print@127.0.0.1:{port}/x")
    assert rc != 0
    assert f"connect to PostgreSQL 127.0.0.1:{port}/x as horus" in out, out
    assert "pw-not-to-print" not in out
    rc, out = serve_fails(tmp_path, server.rsplit("/", 1)[0] + "/nosuchdb")
    assert rc != 0
    assert 'database \\"nosuchdb\\" does not exist' in out, out  # quotes JSON-escaped


def test_a_database_without_byte_order_is_refused_with_the_fix(pg, tmp_path):
    _, server = pg
    url = new_db(server, "french", "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8'"
                 " LC_CTYPE 'C.UTF-8'")
    rc, out = serve_fails(tmp_path, url)
    assert rc != 0
    assert "has collation 'C.UTF-8'" in out, out
    assert "LC_COLLATE 'C' LC_CTYPE 'C'" in out, out


def test_the_api_and_migrations_run_on_postgres(pg, horus_factory):
    _, server = pg
    url = new_db(server, "api")
    h = horus_factory(f'database:\n  url: "{url}"\n')
    status, body = h.get_json("/api/v1/system")
    assert status == 200
    assert json.dumps(body).count("postgres") >= 1, body
    # A camera made through the API lands in PostgreSQL, its password sealed.
    status, _, _ = h.request("POST", "/api/v1/cameras",
                             {"id": "c1", "url": "rtsp://user:cam-pass@127.0.0.1:1/x"})
    assert status == 201
    stored = psql(url, "SELECT url FROM cameras WHERE id = 'c1'").strip()
    assert stored and "cam-pass" not in stored
    versions = psql(url, "SELECT COUNT(*) FROM schema_migrations").strip()
    assert int(versions) >= 19


def test_migrate_moves_an_install_from_sqlite_to_postgres(pg, camsim_factory, horus_factory):
    _, server = pg
    sim = camsim_factory()
    cams = (f'cameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
            "    record:\n      segment_seconds: 2\n")
    h = horus_factory(cams)  # SQLite in its data directory
    wait_until(lambda: len(recording_rows(h)) >= 2, 30, "two index rows")
    status, _, body = h.request("POST", "/api/v1/users",
                                {"name": "eve", "role": "viewer", "password": "a long password 1"})
    assert status == 201, body
    assert h.stop() == 0
    before = recording_rows(h)
    url = new_db(server, "moved")

    def migrate(*extra):
        return subprocess.run([HORUS_BIN, "migrate", "--data", str(h.data), "--to", url, *extra],
                              capture_output=True, text=True, timeout=120)
    p = migrate()
    assert p.returncode == 0, p.stderr
    assert "  recordings " in p.stdout and "copied" in p.stdout, p.stdout
    # Once is enough: a second run finds rows there and writes nothing.
    p = migrate()
    assert p.returncode == 2 and "the destination is not empty" in p.stderr, p.stderr
    # The same data directory on PostgreSQL: every row, the admin key, the user, the audit chain.
    h2 = horus_factory(f'database:\n  url: "{url}"\n' + cams,
                       extra_args=["--data", str(h.data)], name="on-postgres")
    h2.api_key = h.api_key
    moved = recording_rows(h2)
    assert [(r["path"], r["start_us"], r["fragments"]) for r in moved[:len(before)]] == \
        [(r["path"], r["start_us"], r["fragments"]) for r in before]
    status, users = h2.get_json("/api/v1/users")
    assert status == 200 and "eve" in [u["name"] for u in users["items"]], users
    wait_until(lambda: len(recording_rows(h2)) > len(before), 30, "recording on PostgreSQL")
    verify = subprocess.run([HORUS_BIN, "audit", "verify", *h2.config_args(), "--data",
                             str(h.data)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_migrate_refuses_a_running_daemon_and_a_bad_destination(pg, horus_factory, tmp_path):
    _, server = pg
    h = horus_factory()
    url = new_db(server, "busy")
    p = subprocess.run([HORUS_BIN, "migrate", "--data", str(h.data), "--to", url],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "stop the daemon first" in p.stderr, p.stderr
    p = subprocess.run([HORUS_BIN, "migrate", "--data", str(h.data), "--to", "sqlite:/tmp/x.db"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--to postgres://" in p.stderr, p.stderr
    p = subprocess.run([HORUS_BIN, "migrate", "--data", str(tmp_path / "none"), "--to", url],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no database at" in p.stderr, p.stderr
    assert psql(url, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").strip() == "0"
