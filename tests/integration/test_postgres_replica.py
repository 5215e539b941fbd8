"""database.read_url against a real streaming hot standby (tests/pg/pg-server replica: a
pg_basebackup of the test's own PostgreSQL 15, streaming from it): browsing reads (the event
search here) are answered by the replica while it is current, by the primary when it falls
further behind than database.read_max_lag or goes away, and go back to it when it returns;
/health and the metrics say which (docs/design/0072)."""
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import SOURCE_DIR, psql, wait_until

PG_SERVER = str(SOURCE_DIR / "tests/pg/pg-server")


@pytest.fixture
def pg_pair():
    """A primary and a hot standby of it: their state directories and server URLs."""
    primary = tempfile.mkdtemp(prefix="horus-pgstate-")
    replica = tempfile.mkdtemp(prefix="horus-pgstate-")
    try:
        subprocess.run([PG_SERVER, "start", primary], check=True, capture_output=True,
                       timeout=120)
        subprocess.run([PG_SERVER, "replica", primary, replica], check=True,
                       capture_output=True, timeout=120)
        yield ((primary, (Path(primary) / "url").read_text().strip()),
               (replica, (Path(replica) / "url").read_text().strip()))
    finally:
        subprocess.run([PG_SERVER, "stop", replica], capture_output=True, timeout=60)
        subprocess.run([PG_SERVER, "stop", primary], capture_output=True, timeout=60)


def database_pair(pg_pair, name):
    """(primary URL, replica URL) of a new database, once the standby has it too."""
    (_, primary), (_, replica) = pg_pair
    psql(primary, f"CREATE DATABASE {name}")
    urls = tuple(u.rsplit("/", 1)[0] + "/" + name for u in (primary, replica))
    wait_until(lambda: psql(replica.rsplit("/", 1)[0] + "/postgres",
                            f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip(),
               30, "the database on the standby")
    return urls


def start(horus_factory, urls, max_lag):
    return horus_factory(f'database:\n  url: "{urls[0]}"\n  read_url: "{urls[1]}"\n'
                         f'  read_max_lag: {max_lag}\n'
                         'cameras:\n  - id: door\n    url: "rtsp://127.0.0.1:1/none"\n'
                         '    enabled: false\n')


def replica_health(h):
    status, body = h.get_json("/health")
    assert status == 200
    return body["database"]["replica"]


def labels(h):
    """The events the search lists now."""
    status, body = h.get_json("/api/v1/events?limit=100")
    assert status == 200, body
    return {e["label"] for e in body["items"]}


def add_event(h, label):
    status, _, raw = h.request("POST", "/api/v1/events",
                               {"camera": "door", "label": label, "duration_s": 1})
    assert status == 201, raw


def served(h):
    return {k["served_by"]: v for k, v in h.metric_samples("horus_db_replica_reads_total")}


def test_searches_read_the_standby_and_see_its_past(pg_pair, horus_factory):
    """With replay paused on the standby, a search does not see an event the primary has:
    the read really went there. It sees it once replay resumes."""
    urls = database_pair(pg_pair, "routed")
    h = start(horus_factory, urls, "1h")
    add_event(h, "before")
    wait_until(lambda: "before" in labels(h), 10, "the first event through the standby")
    assert replica_health(h) == {"state": "serving", "lag_ms": 0}
    psql(urls[1], "SELECT pg_wal_replay_pause()")
    add_event(h, "during")
    time.sleep(1)
    assert labels(h) == {"before"}
    assert psql(urls[0], "SELECT label FROM events ORDER BY label").split() == ["before",
                                                                                "during"]
    counts = served(h)
    assert counts["replica"] >= 2 and counts["primary"] == 0, counts
    psql(urls[1], "SELECT pg_wal_replay_resume()")
    wait_until(lambda: labels(h) == {"before", "during"}, 10, "the event after replay resumed")


def test_a_standby_further_behind_than_read_max_lag_is_left(pg_pair, horus_factory):
    urls = database_pair(pg_pair, "lagged")
    h = start(horus_factory, urls, "1s")
    labels(h)
    wait_until(lambda: replica_health(h)["state"] == "serving", 10, "the standby serving")
    psql(urls[1], "SELECT pg_wal_replay_pause()")
    add_event(h, "fresh")
    # Within about read_max_lag plus a check, searches go to the primary and see it.
    wait_until(lambda: "fresh" in labels(h), 15, "the event from the primary")
    r = replica_health(h)
    assert r["state"] == "behind" and r["lag_ms"] > 1000, r
    assert "behind (read_max_lag 1.0 s)" in r["detail"], r
    assert served(h)["primary"] >= 1
    assert h.wait_for_log(lambda l: "the replica is" in l.get("msg", "")), "no warning logged"
    psql(urls[1], "SELECT pg_wal_replay_resume()")
    wait_until(lambda: labels(h) and replica_health(h)["state"] == "serving", 15,
               "the standby serving again")


def test_reads_go_on_while_the_standby_is_down(pg_pair, horus_factory):
    (_, _), (replica_state, _) = pg_pair
    urls = database_pair(pg_pair, "outage")
    h = start(horus_factory, urls, "5s")
    add_event(h, "kept")
    wait_until(lambda: "kept" in labels(h), 10, "the event through the standby")
    subprocess.run([PG_SERVER, "down", replica_state], check=True, capture_output=True,
                   timeout=60)
    # Every search still answers, from the primary; /health says why.
    for _ in range(5):
        assert labels(h) == {"kept"}
    r = replica_health(h)
    assert r["state"] == "unreachable" and r["lag_ms"] == -1, r
    assert "\n" not in r["detail"] and "password" not in r["detail"], r
    status, body = h.get_json("/health")
    assert body["status"] == "ok", body  # the primary serves: nothing is degraded
    subprocess.run([PG_SERVER, "up", replica_state], check=True, capture_output=True,
                   timeout=60)
    # Tried again 5 s after the failure, at the next search.
    wait_until(lambda: labels(h) and replica_health(h)["state"] == "serving", 20,
               "the standby serving again")
    for words in ("browsing reads go to the primary", "the replica answers again"):
        assert h.wait_for_log(lambda l: words in l.get("msg", "")), words


def test_read_url_beside_sqlite_is_refused_at_start(tmp_path):
    from conftest import HORUS_BIN
    cfg = tmp_path / "horus.yaml"
    cfg.write_text(f'storage:\n  path: "{tmp_path}/data"\n'
                   'database:\n  read_url: "postgres://horus@127.0.0.1:1/x"\n')
    out = subprocess.run([HORUS_BIN, "serve", "-c", str(cfg), "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "database.read_url: must be a postgres:// URL beside a postgres:// database.url" \
        in out.stderr + out.stdout, out.stderr
