"""Failover with three nodes on one real PostgreSQL 15 (issue 15, item 4): three cameras
made through one node's API spread one per node; kill -9 one node and its camera records on
a survivor within the target, with one gap in its timeline; no index row is lost or doubled,
and no two nodes ever recorded one camera at once, checked both from the index and from the
camera's side: the simulator's own log of RTSP sessions (docs/design/0065, 0066, 0069)."""
import os
import re
import signal
import time

from conftest import index_rows, psql, wait_until
from test_nodes import TTL as NODES_TTL, node_yaml, nodes_any
from test_postgres import new_db, pg  # noqa: F401 (the fixture)

NODES = ("east", "north", "west")
CAMS = ("c1", "c2", "c3")
SMALL = ["--size", "320x180", "--fps", "10", "--bitrate", "200", "--verbose"]
# Twice test_nodes' TTL: three ASan daemons on a loaded 2-core machine may miss a 1 s lease
# renewal, and a lease that lapses moves a camera the test did not kill.
TTL = 2 * NODES_TTL


def holders(h):
    """The cameras each node holds now, by node id (test_nodes' helper, at this file's TTL)."""
    return {i: n["cameras"] for i, n in nodes_any(h)[0].items()}


def camera_sessions(log):
    """From camsim's --verbose log, in its order: the most RTSP sessions each camera had
    playing at once, and how many it had in all."""
    playing, most, total = {}, {}, {}
    for line in log.splitlines():
        m = re.match(r"horus-camsim: client (\S+) playing cam(\d+)$", line)
        if m:
            playing[m.group(1)] = cam = int(m.group(2))
            total[cam] = total.get(cam, 0) + 1
            now = sum(1 for c in playing.values() if c == cam)
            most[cam] = max(most.get(cam, 0), now)
            continue
        m = re.match(r"horus-camsim: client (\S+) closed ", line)
        if m:
            playing.pop(m.group(1), None)
    return most, total


def test_a_killed_node_s_camera_records_on_a_survivor_and_never_on_two(
        pg, camsim_factory, horus_factory):  # noqa: F811
    _, server = pg
    url = new_db(server, "failover3")
    sim = camsim_factory(SMALL, paths=len(CAMS))
    hs = {n: horus_factory(node_yaml(url, n).replace(f"ttl: {NODES_TTL}s", f"ttl: {TTL}s"), name=n)
          for n in NODES}
    wait_until(lambda: [n["state"] for n in nodes_any(hs["west"])[0].values()] == ["online"] * 3,
               15,
               "three nodes online")
    for i, cam in enumerate(CAMS, 1):
        status, _, data = hs["north"].request(
            "POST", "/api/v1/cameras",
            {"id": cam, "url": sim.url(i), "record": {"segment_seconds": 2}})
        assert status == 201, data
    # Least loaded first, ties to the lowest id: one camera per node.
    wait_until(lambda: sorted(len(c) for c in holders(hs["west"]).values()) == [1, 1, 1], 15,
               "one camera per node")
    placed = holders(hs["west"])
    victim = "north"
    lost = placed[victim][0]
    # Each camera has an indexed row on its first node before the kill (a file alone may be a
    # segment still open, which the killed node never indexes: then there is no gap to see).
    wait_until(lambda: {r[0] for r in index_rows(hs["west"], "SELECT DISTINCT camera_id FROM"
                                                             " recordings")} == set(CAMS), 20,
               "every camera indexed on its first node")
    # Settled: on a loaded machine two nodes may have raced for a camera at first and
    # rebalancing moved one (design 0069); what follows is judged from here on.
    assert holders(hs["west"]) == placed, (placed, holders(hs["west"]))
    settled_log = len(sim.proc.output())
    settled_us = int(time.time() * 1e6)
    # Where each node's log stood: a survivor may have streamed the camera in the race before
    # the cluster settled (rebalancing then moved it); only what follows is judged.
    settled_lines = {n: len(hs[n].log_lines()) for n in NODES}

    os.killpg(hs[victim].proc.popen.pid, signal.SIGKILL)
    hs[victim].proc.popen.wait()
    killed = time.monotonic()
    survivors = [n for n in NODES if n != victim]
    wait_until(lambda: any(list(hs[n].data.rglob(f"{lost}/**/*.mp4")) for n in survivors),
               TTL + 27, f"{lost} recording on a survivor")
    took = time.monotonic() - killed
    after = holders(hs["west"])
    taker = next(n for n in survivors if lost in after[n])
    print(f"\nfailover: {lost} recorded on {taker} {took:.1f} s after {victim} was killed "
          f"(node.ttl {TTL} s, 2 s segments)")
    assert took < 30, took
    assert after[victim] == [] and sorted(sum(after.values(), [])) == list(CAMS), after
    time.sleep(3)
    for n in survivors:
        assert hs[n].stop() == 0

    # The index: per camera no two rows overlap, and only the lost camera has a gap, shorter
    # than the failover took plus the segment its first node had open at the kill (2 s, and a
    # second for a busy machine's late cut).
    for cam in CAMS:
        rows = index_rows(hs["west"], "SELECT start_us, end_us, node_id FROM recordings"
                                      f" WHERE camera_id = '{cam}' AND stream = 'main'"
                                      " ORDER BY start_us")
        assert len(rows) >= 3, (cam, rows)
        gaps = []
        for (s0, e0, n0), (s1, _, n1) in zip(rows, rows[1:]):
            assert s1 >= e0 - 1000, ("two nodes recorded at once", cam, (s0, e0, n0), (s1, n1))
            if s1 - e0 > 1_000_000 and e0 >= settled_us - 3_000_000:
                gaps.append(((s1 - e0) / 1e6, n0, n1))
        if cam == lost:
            assert len(gaps) == 1 and gaps[0][0] < took + 3, (took, gaps, rows)
            assert (gaps[0][1], gaps[0][2]) == (victim, taker), gaps
        else:
            assert gaps == [], (cam, gaps)
    # Nothing twice: every file is indexed once, and every row's file is on its node.
    dup = psql(url, "SELECT path, COUNT(*) FROM recordings GROUP BY path HAVING COUNT(*) > 1")
    assert dup.strip() == "", dup
    for path, node in (r.split("|") for r in psql(url, "SELECT path, node_id FROM"
                                                       " recordings").split()):
        assert (hs[node].data / path).exists(), (path, node)

    # The cameras' side: never two sessions playing one camera, from the start; once
    # settled, the lost camera was opened again, and only its taker streamed it. (A survivor
    # on a loaded machine may reconnect a camera, its own or the one it took: the index above
    # shows no gap for that, and its log says why, printed here.)
    log = sim.proc.output()
    most, total = camera_sessions(log)
    assert most == {1: 1, 2: 1, 3: 1}, (most, total)
    lost_n = CAMS.index(lost) + 1
    _, later = camera_sessions(log[settled_log:])
    streamed = {n: streams_of(hs[n], f"/cam{lost_n}'", settled_lines[n]) for n in survivors}
    why = {n: camera_lines(hs[n]) for n in survivors}
    assert later.get(lost_n, 0) >= 1 and streamed[taker] >= 1, (later, streamed, why)
    # The other survivor may have taken it first and given it to the taker by rebalancing
    # (a node slow to claim within a TTL lets any allowed node claim, design 0069): one after
    # the other is what the camera-side and index checks above allow; at once is not.
    if any(k > 0 for n, k in streamed.items() if n != taker) or any(
            k > 1 for k in later.values()):
        print("the lost camera went through another survivor, or cameras reopened after the "
              "cluster settled:", streamed, later, why)


def streams_of(h, url_tail, since=0):
    """How many times a node's log says a stream of the camera at url_tail began, from its
    since-th line on."""
    return sum(1 for line in h.log_lines()[since:]
               if line.get("msg", "").startswith("streaming from") and url_tail in line["msg"])


def camera_lines(h):
    """A node's log lines about its cameras' pipelines: starts, stops, warnings."""
    return [f'{line["ts"][11:23]} {line.get("camera", "")} {line["msg"]}'
            for line in h.log_lines()
            if line.get("module") in ("ingest", "cameras", "supervisor")
            and (line.get("level") != "info" or "camera" in line)]
