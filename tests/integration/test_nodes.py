"""Nodes that share one database (docs/design/0064-node-identity.md), against a real
PostgreSQL 15: each node claims its id at start and renews a heartbeat; a second node
configured with a live node's id is refused with a sentence naming the holder; the same
data directory takes its id back at once after kill -9, another one only once the
heartbeat ran out; GET /api/v1/nodes says which nodes run. Without node.id the id is made
once and kept in <data>/node; a database from before the nodes table keeps its id. The
nodes append to one audit chain, which verifies."""
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
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


def east_then_west(horus_factory, sim, east_url, west_url, segment_seconds, files, settle):
    """east starts first with camera cam and records (files: the glob and how many to wait
    for); west starts with the same camera list and, after settle seconds of its passes,
    records nothing: east holds the lease. Returns (east, west)."""
    cams = (f'cameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
            f"    record:\n      segment_seconds: {segment_seconds}\n")
    east = horus_factory(node_yaml(east_url, "east", cams), name="east")
    pattern, count = files
    wait_until(lambda: len(list(east.data.rglob(pattern))) >= count, 20, "east recording")
    west = horus_factory(node_yaml(west_url, "west", cams), name="west")
    time.sleep(settle)
    assert not list(west.data.rglob("*.mp4*")), "west records a camera east holds"
    return east, west


def test_each_camera_records_on_one_node_and_moves_when_that_node_dies(pg, camsim_factory,  # noqa: F811
                                                                       horus_factory):
    """Camera leases (docs/design/0065): both nodes carry the same camera list; the node
    that holds a camera's lease records it, the other does not; kill -9 the holder and the
    other takes the lease once it expires and records on, never both at once."""
    _, server = pg
    url = new_db(server, "leases")
    east, west = east_then_west(horus_factory, camsim_factory(), url, url, 2, ("*.mp4", 1), 3)
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
    # Each row names the node that holds its file (docs/design/0068), and horus check on
    # west sees only west's rows: east's files are not in west's data directory, and a
    # repair there must not take their rows away.
    for path, node in (r.split("|") for r in psql(url, "SELECT path, node_id FROM recordings"
                                                        " WHERE camera_id = 'cam'").split()):
        holder, name = (east, "east") if (east.data / path).exists() else (west, "west")
        assert (holder.data / path).exists() and node == name, (path, node)
    before = psql(url, "SELECT node_id, COUNT(*) FROM recordings GROUP BY node_id ORDER BY 1")
    p = subprocess.run([HORUS_BIN, "check", "--repair", *west.config_args(), "--data",
                        str(west.data)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert psql(url, "SELECT node_id, COUNT(*) FROM recordings GROUP BY node_id ORDER BY 1") \
        == before, before
    assert before.split()[0].startswith("east|"), before
    # East back on its own data directory: its start-up reconciliation reads its own rows
    # only, so west's rows (whose files are in west's directory) are not "without file".
    again = horus_factory(node_yaml(url, "east"), extra_args=["--data", str(east.data)],
                          name="east-again")  # listening: its recovery ran (warnings at once)
    assert "index row without its segment file" not in again.proc.output()


class Link:
    """A TCP relay between one node and the database server, which the test can cut
    (every connection reset, new ones refused) and heal: a node partitioned from
    PostgreSQL while the other nodes still reach it."""

    def __init__(self, server_url):
        hostport = server_url.split("@", 1)[1].split("/", 1)[0]
        self.target = (hostport.rsplit(":", 1)[0], int(hostport.rsplit(":", 1)[1]))
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.is_cut = False
        self.is_closed = False
        self.lock = threading.Lock()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, server_url, db):
        user = server_url.split("//", 1)[1].split("@", 1)[0]
        return f"postgres://{user}@127.0.0.1:{self.port}/{db}"

    def _accept(self):
        while not self.is_closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.is_cut:
                self._reset(c)
                continue
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._reset(c)
                continue
            s.settimeout(None)
            with self.lock:
                self.socks += [c, s]
            threading.Thread(target=self._pump, args=(c, s), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c), daemon=True).start()

    @staticmethod
    def _reset(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.is_cut = True
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                self._reset(s)
            except OSError:
                pass

    def heal(self):
        self.is_cut = False

    def close(self):
        self.is_closed = True
        self.cut()
        self.lsock.close()


def camera_rows(url):
    """(start_us, end_us, path) of camera cam's main stream, by start."""
    out = psql(url, "SELECT start_us, end_us, path FROM recordings WHERE camera_id = 'cam'"
                    " AND stream = 'main' ORDER BY start_us").split()
    return [(int(s), int(e), p) for s, e, p in (r.split("|") for r in out)]


def assert_one_recorder_at_a_time(rows):
    for (s0, e0, p0), (s1, _, p1) in zip(rows, rows[1:]):
        assert s1 >= e0 - 1000, ("two nodes recorded at once", (s0, e0, p0), (s1, p1))


def test_a_node_cut_off_from_the_database_stops_recording_when_its_leases_run_out(
        pg, camsim_factory, horus_factory):  # noqa: F811
    """Fencing (docs/design/0066): east loses its database link (connections reset, new
    ones refused) while west still reaches it. East cannot renew, so once its leases run
    out by its own clock it stops the camera rather than record on beside west, which
    takes the camera over. When the link heals, the rows east held back (segments that
    ended before west took over) go into the index; no row of the two nodes overlaps."""
    _, server = pg
    url = new_db(server, "partition")
    link = Link(server)
    try:
        # TTL: west sees east alive and holding the camera; east sees west.
        east, west = east_then_west(horus_factory, camsim_factory(),
                                    link.url(server, "partition"), url, 2, ("*.mp4", 2), TTL)

        link.cut()
        cut = time.monotonic()
        east.wait_for_log(lambda l: "camera leases ran out" in l.get("msg", ""), timeout=TTL + 10)
        stopped = time.monotonic() - cut
        wait_until(lambda: not list(east.data.rglob("*.mp4.part")), 5, "east's segment to close")
        east_files = sorted(p.name for p in east.data.rglob("*.mp4"))
        wait_until(lambda: list(west.data.rglob("*.mp4")), TTL + 15, "west taking the camera over")
        took = time.monotonic() - cut
        time.sleep(3)
        assert sorted(p.name for p in east.data.rglob("*.mp4")) == east_files, \
            "east went on recording after its leases ran out"
        assert not list(east.data.rglob("*.mp4.part"))
        print(f"\npartition: east stopped {stopped:.1f} s after the cut, west recorded "
              f"{took:.1f} s after it (node.ttl {TTL} s)")

        link.heal()
        # East's held-back rows commit once it reaches the database again, and are not
        # fenced: each segment ended before west took the lease.
        # Rows by node and path: both nodes name files by their start second, so east's last
        # file and west's first can share a name.
        east_rows = lambda: sorted(p.split("/")[-1] for p in psql(  # noqa: E731
            url, "SELECT path FROM recordings WHERE camera_id = 'cam' AND node_id = 'east'").split())
        try:
            wait_until(lambda: east_rows() == east_files, 30, "east's rows to commit")
        except AssertionError:
            raise AssertionError(f"east's rows {east_rows()} against its files {east_files}; "
                                 f"set aside: {[p.name for p in east.data.rglob('*.fenced')]}")
        assert not list(east.data.rglob("*.fenced"))
        assert not list(west.data.rglob("*.fenced"))
        # East sees west's lease and leaves the camera to it.
        time.sleep(2)
        assert not list(east.data.rglob("*.mp4.part"))
        assert nodes(west)["west"]["cameras"] == ["cam"]
        assert west.stop() == 0
        assert east.stop() == 0
        assert_one_recorder_at_a_time(camera_rows(url))
    finally:
        link.close()


def test_a_frozen_node_that_wakes_after_a_takeover_cannot_index_over_its_successor(
        pg, camsim_factory, horus_factory):  # noqa: F811
    """Fencing (docs/design/0066): east is frozen (SIGSTOP) past its leases' TTL, west
    takes the camera over, then east wakes. Which of east's threads runs first decides how
    east's open segment ends, and every way keeps one recorder at a time: the supervisor's
    pass stops the camera and the segment, which reaches into west's tenure, is refused by
    the index with the lease's token and kept aside as .fenced; or the recorder's own
    deadline cuts the segment where east's leases ran out, and its row is taken; or the pass
    stops the camera before any media after the wake, and the segment, which ended before
    the freeze, is taken. Either way east leaves the camera to west and no two rows
    overlap."""
    _, server = pg
    url = new_db(server, "frozen")
    east, west = east_then_west(horus_factory, camsim_factory(), url, url, 30, ("*.mp4.part", 1), 2)

    os.killpg(east.proc.popen.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: list(west.data.rglob("*.mp4*")), TTL + 20, "west taking the camera over")
        time.sleep(1)
    finally:
        os.killpg(east.proc.popen.pid, signal.SIGCONT)
    refused_msg = "index row refused"
    cut_msg = "camera leases ran out without a renewal: recording stops"
    # A third way: the supervisor's pass runs first and stops the camera before any packet
    # reaches the recorder after the wake; the open segment then ends before the freeze,
    # inside east's tenure, and its row is taken.
    stop_msg = "another node holds this camera's lease now: stopped here"
    line = east.wait_for_log(lambda l: any(m in l.get("msg", "")
                                           for m in (refused_msg, cut_msg, stop_msg)), timeout=15)
    wait_until(lambda: not list(east.data.rglob("*.mp4.part")), 5, "east to leave the camera")
    time.sleep(1)  # a refusal that follows the deadline's cut is logged by now
    fenced = list(east.data.rglob("*.mp4.fenced"))
    is_refused = any(refused_msg in l.get("msg", "") for l in east.log_lines())
    assert len(fenced) == (1 if is_refused else 0), (fenced, line)
    assert west.stop() == 0
    assert east.stop() == 0
    rows = camera_rows(url)
    if is_refused:
        # Both nodes name files by their start second: the refused file's row would be east's.
        refused = str(fenced[0].relative_to(east.data))[:-len(".fenced")]
        assert psql(url, "SELECT COUNT(*) FROM recordings WHERE node_id = 'east' AND"
                         f" path = '{refused}'").strip() == "0"
    is_cut = any(cut_msg in l.get("msg", "") for l in east.log_lines())
    how = ("its segment was refused (.fenced)" if is_refused
           else "the recorder cut its segment at the lease deadline" if is_cut
           else "the pass stopped the camera before any media after the wake")
    print(f"\nfrozen east woke: {how}")
    assert rows and not list(west.data.rglob("*.fenced")), "west's rows at its clean stop refused"
    assert_one_recorder_at_a_time(rows)


def node_cli(h, *args):
    """horus node ARGS on h's database: (exit status, what it printed)."""
    p = subprocess.run([HORUS_BIN, "node", *args, *h.config_args(), "--data", str(h.data)],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_a_drained_node_hands_its_cameras_over_and_takes_none(pg, camsim_factory,  # noqa: F811
                                                              horus_factory):
    """horus node drain (docs/design/0067): asked from any machine that reaches the database,
    the drained node stops its cameras and gives their leases up at its next renewal, the
    other node takes them at its next pass; the gap in the index is the handover's, one
    recorder at a time throughout. Undrain ends it; a node that does not exist is named."""
    _, server = pg
    url = new_db(server, "drain")
    east, west = east_then_west(horus_factory, camsim_factory(), url, url, 2, ("*.mp4", 2), 2)
    rc, out = node_cli(west, "drain", "nobody")
    assert rc == 1 and "no node 'nobody' shares this database" in out, out

    rc, out = node_cli(west, "drain", "east")
    assert rc == 0 and "node 'east' is draining: its cameras move to the other nodes" in out, out
    asked = time.monotonic()
    wait_until(lambda: list(west.data.rglob("*.mp4*")), 15, "west taking the camera over")
    took = time.monotonic() - asked
    wait_until(lambda: not list(east.data.rglob("*.mp4.part")), 5, "east to stop")
    seen = nodes(west)
    assert seen["east"]["cameras"] == [] and seen["east"]["draining_since"], seen
    assert seen["west"]["cameras"] == ["cam"] and seen["west"]["draining_since"] is None, seen
    time.sleep(4)  # west records a few segments
    rc, out = node_cli(west, "undrain", "east")
    assert rc == 0 and "takes cameras again" in out, out
    assert nodes(west)["east"]["draining_since"] is None
    assert west.stop() == 0
    assert east.stop() == 0
    rows = camera_rows(url)
    assert_one_recorder_at_a_time(rows)
    east_names = {p.name for p in east.data.rglob("*.mp4")}
    handover = [(r1[0] - r0[1]) / 1e6 for r0, r1 in zip(rows, rows[1:])
                if r0[2].split("/")[-1] in east_names and r1[2].split("/")[-1] not in east_names]
    assert len(handover) == 1, rows
    print(f"\ndrain: west recorded {took:.1f} s after `horus node drain`; the index's gap at "
          f"the handover is {handover[0]:.2f} s (node.ttl {TTL} s, camsim GOP 1 s)")
    assert handover[0] < TTL, handover
    assert not list(east.data.rglob("*.fenced")) and not list(west.data.rglob("*.fenced"))


def holders(h):
    """The cameras each node holds now, by node id."""
    return {i: n["cameras"] for i, n in nodes(h).items()}


def test_placement_follows_labels_capacity_and_pins_and_a_pin_moves_a_camera(
        pg, camsim_factory, horus_factory):  # noqa: F811
    """Placement (docs/design/0069): east has room for one camera and no gpu, west has a
    gpu. A camera asking for the gpu label goes to west although east is emptier; a free
    camera to the least loaded node; the next, east being full, to west. Pinning a camera
    to west through the API moves it there: east stops it, west records on, one recorder
    at a time in the index. A camera pinned to a node that does not exist runs nowhere,
    and each node says why. The API shows the placement and each node's capacity and
    labels; a bad placement is refused naming the field."""
    _, server = pg
    url = new_db(server, "placement")
    sim = camsim_factory(paths=4)
    east = horus_factory(node_yaml(url, "east", "  capacity: 1\n  labels: [site-a]\n"),
                         name="east")
    west = horus_factory(node_yaml(url, "west", "  labels: [gpu, site-a]\n"), name="west")
    wait_until(lambda: all(n["state"] == "online" for n in nodes(west).values())
               and len(nodes(west)) == 2, 10, "both nodes online")
    seen = nodes(east)
    assert (seen["east"]["capacity"], seen["east"]["labels"]) == (1, ["site-a"]), seen
    assert (seen["west"]["capacity"], seen["west"]["labels"]) == (0, ["gpu", "site-a"]), seen

    def create(cam_id, path, placement=None):
        body = {"id": cam_id, "url": sim.url(path), "record": {"segment_seconds": 2}}
        if placement is not None:
            body["placement"] = placement
        status, _, data = east.request("POST", "/api/v1/cameras", body)
        assert status == 201, data

    create("a-gpu", 1, {"labels": ["gpu"]})
    wait_until(lambda: holders(east)["west"] == ["a-gpu"], 10, "a-gpu on west")
    create("b-free", 2)
    wait_until(lambda: holders(east)["east"] == ["b-free"], 10, "b-free on east")
    create("c-free", 3)
    wait_until(lambda: holders(east)["west"] == ["a-gpu", "c-free"], 10, "c-free on west")
    assert holders(east)["east"] == ["b-free"]
    status, _, data = east.request("GET", "/api/v1/cameras/a-gpu")
    assert status == 200 and __import__("json").loads(data)["placement"] == \
        {"node": None, "labels": ["gpu"]}, data

    # Bad input names the field and changes nothing.
    for bad, field in (({"labels": ["GPU"]}, "placement.labels[0]"),
                       ({"labels": ["gpu", "gpu"]}, "placement.labels[1]"),
                       ({"node": "no such"}, "placement.node"),
                       ({"zone": "x"}, "placement.zone"),
                       ("west", "placement")):
        status, _, data = east.request("PATCH", "/api/v1/cameras/b-free", {"placement": bad})
        assert status == 400 and field.encode() in data, (bad, data)
    assert holders(east)["east"] == ["b-free"]

    # Pinned to west: it moves, and east is free for the next camera.
    wait_until(lambda: list(east.data.rglob("b-free/**/*.mp4")), 15, "b-free recording on east")
    status, _, data = east.request("PATCH", "/api/v1/cameras/b-free",
                                   {"placement": {"node": "west"}})
    assert status == 200, data
    moved = time.monotonic()
    wait_until(lambda: "b-free" in holders(west)["west"], 10, "b-free moving to west")
    wait_until(lambda: list(west.data.rglob("b-free/**/*.mp4")), 15, "b-free recording on west")
    took = time.monotonic() - moved
    # Rebalancing (node.rebalance): west now records three, east none and has room for one:
    # the one camera east may run (c-free: a-gpu needs the gpu, b-free is pinned) moves there.
    wait_until(lambda: holders(west) == {"east": ["c-free"], "west": ["a-gpu", "b-free"]}, 15,
               "c-free rebalanced to east")
    wait_until(lambda: list(east.data.rglob("c-free/**/*.mp4")), 15, "c-free recording on east")

    create("d-nowhere", 4, {"node": "nowhere"})
    wait_until(lambda: all("placement.node is 'nowhere', which no node sharing the database is"
                           in h.proc.output() for h in (east, west)), 10, "both nodes saying why")
    assert all("d-nowhere" not in c for c in holders(west).values())
    time.sleep(2)
    assert west.stop() == 0
    assert east.stop() == 0
    for cam in ("b-free", "c-free"):
        out = psql(url, f"SELECT start_us, end_us, path FROM recordings WHERE camera_id = '{cam}'"
                        " AND stream = 'main' ORDER BY start_us").split()
        rows = [(int(s), int(e), p) for s, e, p in (r.split("|") for r in out)]
        assert len(rows) >= 2, rows
        assert_one_recorder_at_a_time(rows)
    print(f"\nplacement: b-free recorded on west {took:.1f} s after the pin (node.ttl {TTL} s)")
