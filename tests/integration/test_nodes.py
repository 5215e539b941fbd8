"""Nodes that share one database (docs/design/0064-node-identity.md), against a real
PostgreSQL 15: each node claims its id at start and renews a heartbeat; a second node
configured with a live node's id is refused with a sentence naming the holder; the same
data directory takes its id back at once after kill -9, another one only once the
heartbeat ran out; GET /api/v1/nodes says which nodes run. Without node.id the id is made
once and kept in <data>/node; a database from before the nodes table keeps its id. The
nodes append to one audit chain, which verifies."""
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import HORUS_BIN, free_port, index_rows, psql, wait_until
from openapi_check import OpenApi
from test_postgres import new_db, pg  # noqa: F401 (the fixture)

TTL = 3  # seconds: short, so that a killed node's id frees within the test


def node_yaml(url, node_id, extra=""):
    return (f'database:\n  url: "{url}"\n'
            f'node:\n  id: "{node_id}"\n  url: "http://{node_id}.example:8080"\n  ttl: {TTL}s\n'
            + extra)


def serve_once(tmp_path, config_text, data, timeout=60):
    """horus serve that is expected to exit: (exit status, what it printed)."""
    cfg = tmp_path / f"once-{time.monotonic_ns()}.yaml"
    cfg.write_text(config_text)
    p = subprocess.run([HORUS_BIN, "serve", "-c", str(cfg), "--data", str(data),
                        "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def nodes_any(h):
    """GET /api/v1/nodes, checked against the OpenAPI document: the nodes by id."""
    status, headers, data = h.request("GET", "/api/v1/nodes")
    assert status == 200, data
    doc = h.get_json("/api/v1/openapi.json")[1]
    body = OpenApi(doc).validate("GET", "/api/v1/nodes", status, headers["Content-Type"], data)
    return {n["id"]: n for n in body["nodes"]}, body["ttl_ms"]


def nodes(h):
    seen, ttl_ms = nodes_any(h)
    assert ttl_ms == TTL * 1000
    return seen


def test_a_live_id_is_refused_and_a_killed_node_is_replaced(pg, horus_factory, tmp_path):  # noqa: F811
    _, server = pg
    url = new_db(server, "shared")
    east = horus_factory(node_yaml(url, "east"), name="east")
    west = horus_factory(node_yaml(url, "west"), name="west")
    seen = nodes(west)
    assert set(seen) == {"east", "west"}, seen
    assert seen["west"]["self"] and not seen["east"]["self"]
    assert all(n["state"] == "online" and n["stopped_at"] is None for n in seen.values()), seen
    assert seen["east"]["url"] == "http://east.example:8080"
    assert east.get_json("/api/v1/system")[1]["node_id"] == "east"

    # A third process configured as "east" on its own data directory: refused, holder named.
    rc, out = serve_once(tmp_path, node_yaml(url, "east"), tmp_path / "imposter")
    assert rc != 0, out
    assert "node id 'east' is held by a running node on host" in out, out
    assert "at http://east.example:8080" in out and "give each its own node.id" in out, out
    assert "postgres:" not in out.split("node id", 1)[1], out  # no URL, no password
    # ... and east runs on, untouched.
    assert nodes(west)["east"]["state"] == "online"

    # kill -9 east: the same data directory takes the id back at once, no TTL to wait.
    started = nodes(west)["east"]["started_at"]
    os.killpg(east.proc.popen.pid, signal.SIGKILL)
    east.proc.popen.wait()
    east2 = horus_factory(node_yaml(url, "east"), extra_args=["--data", str(east.data)],
                          name="east-again")
    again = nodes(west)["east"]
    assert again["state"] == "online" and again["started_at"] > started, (started, again)

    # kill -9 again: once the heartbeat is older than node.ttl, west reports east offline, and
    # another data directory may then take the id (a node moved to new hardware).
    os.killpg(east2.proc.popen.pid, signal.SIGKILL)
    east2.proc.popen.wait()
    wait_until(lambda: nodes(west)["east"]["state"] == "offline", TTL + 5, "east offline")
    moved = horus_factory(node_yaml(url, "east"), name="east-moved")
    assert nodes(moved)["east"]["state"] == "online" and nodes(moved)["east"]["self"]

    # A clean stop says so at once.
    assert west.stop() == 0
    seen = nodes(moved)
    assert seen["west"]["state"] == "stopped" and seen["west"]["stopped_at"], seen
    rows = psql(url, "SELECT id, stopped_ms > 0 FROM nodes ORDER BY id").split()
    assert rows == ["east|f", "west|t"], rows

    # Every node appended to one audit chain: each start is there, and the chain verifies.
    started = psql(url, "SELECT target_id FROM audit WHERE action = 'daemon.started'"
                        " ORDER BY id").split()
    assert started == ["east", "west", "east", "east"], started
    p = subprocess.run([HORUS_BIN, "audit", "verify", *moved.config_args(), "--data",
                        str(moved.data)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_node_id_is_made_once_and_kept_with_the_data_directory(horus_factory, tmp_path):
    h = horus_factory()
    made = h.get_json("/api/v1/system")[1]["node_id"]
    assert len(made) == 32, made
    text = (h.data / "node").read_text()
    assert f"id={made}\n" in text and "home=" in text, text
    assert h.stop() == 0
    h2 = horus_factory(extra_args=["--data", str(h.data)], name="again")
    assert h2.get_json("/api/v1/system")[1]["node_id"] == made
    seen, ttl_ms = nodes_any(h2)
    assert ttl_ms == 15000 and list(seen) == [made] and seen[made]["state"] == "online", seen
    assert h2.stop() == 0

    # A broken identity file stops the start with file:line, and so does a bad node.id.
    (h.data / "node").write_text(text + "owner=me\n")
    rc, out = serve_once(tmp_path, "log:\n  level: info\n", h.data)
    lines = len(text.splitlines()) + 1
    assert rc != 0 and f"{h.data}/node:{lines}: expected id=NODE_ID or home=TOKEN" in out, out
    bad = tmp_path / "bad.yaml"
    bad.write_text('node:\n  id: "east/1"\n')
    r = subprocess.run([HORUS_BIN, "check-config", str(bad)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0 and "bad.yaml:2:" in r.stderr and "node.id" in r.stderr, r.stderr
    assert "'/' at offset 4" in r.stderr, r.stderr


def test_a_database_from_before_the_nodes_table_keeps_its_node_id(horus_factory):
    """Versions before migration 0021 kept the id in the settings table: an upgraded
    node keeps it (its audit entries and logs go on naming it), and only once."""
    h = horus_factory()
    if h.database_url:
        pytest.skip("writes the old settings row with sqlite3; the first test runs on PostgreSQL")
    assert h.stop() == 0
    db = sqlite3.connect(h.data / "horus.db")
    db.execute("DELETE FROM nodes")
    db.execute("INSERT INTO settings(key, value, updated_at_ms) VALUES ('node_id', 'legacy-7', 1)"
               " ON CONFLICT(key) DO UPDATE SET value = excluded.value")
    db.commit()
    db.close()
    (h.data / "node").unlink()
    h2 = horus_factory(extra_args=["--data", str(h.data)], name="upgraded")
    assert h2.get_json("/api/v1/system")[1]["node_id"] == "legacy-7"
    assert "id=legacy-7\n" in (h.data / "node").read_text()


def test_each_camera_records_on_one_node_and_moves_when_that_node_dies(pg, camsim_factory,  # noqa: F811
                                                                       horus_factory):
    """Camera leases (docs/design/0065): both nodes carry the same camera list; the node
    that holds a camera's lease records it, the other does not; kill -9 the holder and the
    other takes the lease once it expires and records on, never both at once."""
    _, server = pg
    url = new_db(server, "leases")
    sim = camsim_factory()
    cams = (f'cameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
            "    record:\n      segment_seconds: 2\n")
    east = horus_factory(node_yaml(url, "east", cams), name="east")
    wait_until(lambda: list(east.data.rglob("*.mp4")), 20, "east recording")
    west = horus_factory(node_yaml(url, "west", cams), name="west")
    time.sleep(3)  # several sync passes of west's supervisor
    seen = nodes(west)
    assert seen["east"]["cameras"] == ["cam"] and seen["west"]["cameras"] == [], seen
    assert not list(west.data.rglob("*.mp4")), "west records a camera east holds"

    os.killpg(east.proc.popen.pid, signal.SIGKILL)
    east.proc.popen.wait()
    killed = time.monotonic()
    wait_until(lambda: list(west.data.rglob("*.mp4")), TTL + 15, "west taking the camera over")
    took = time.monotonic() - killed
    print(f"\nfailover: west recorded the camera {took:.1f} s after east was killed "
          f"(node.ttl {TTL} s)")
    assert nodes(west)["west"]["cameras"] == ["cam"]
    time.sleep(3)
    assert west.stop() == 0
    rows = index_rows(west, "SELECT start_us, end_us FROM recordings WHERE camera_id = 'cam'"
                            " AND stream = 'main' ORDER BY start_us")
    assert len(rows) >= 3, rows
    # One recorder at a time: no two rows of the camera overlap; one gap, at the failover.
    gaps = []
    for (s0, e0), (s1, _) in zip(rows, rows[1:]):
        assert s1 >= e0 - 1000, ("two nodes recorded at once", (s0, e0), s1)
        if s1 - e0 > 1_000_000:
            gaps.append((s1 - e0) / 1e6)
    assert len(gaps) <= 1 and all(g < TTL + 15 for g in gaps), gaps
