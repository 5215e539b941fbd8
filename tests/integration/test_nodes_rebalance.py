"""Rebalancing (node.rebalance, docs/design/0069) on a real PostgreSQL 15: east records four
cameras alone; west joins and takes two of them, one per pass, so that each node records two.
Each moved camera changes node once, with a gap of about a GOP or less, never two recorders at
once; nothing else interrupts a camera."""
import time

from conftest import index_rows, wait_until
from test_nodes import TTL, holders, node_yaml, nodes
from test_postgres import new_db, pg  # noqa: F401 (the fixture)

CAMS = ("c1", "c2", "c3", "c4")
SMALL = ["--size", "320x180", "--fps", "10", "--bitrate", "200"]


def test_a_node_that_joins_takes_cameras_until_the_nodes_are_even(pg, camsim_factory,  # noqa: F811
                                                                  horus_factory):
    _, server = pg
    url = new_db(server, "rebalance")
    sim = camsim_factory(SMALL, paths=len(CAMS))
    cams = "cameras:\n" + "".join(f'  - id: {c}\n    url: "{sim.url(i)}"\n'
                                  f"    record:\n      segment_seconds: 2\n"
                                  for i, c in enumerate(CAMS, 1))
    east = horus_factory(node_yaml(url, "east", cams), name="east")
    wait_until(lambda: len({p.parts[-4] for p in east.data.rglob("*.mp4")}) == 4, 30,
               "east recording all four")
    joined = time.monotonic()
    west = horus_factory(node_yaml(url, "west", cams), name="west")
    wait_until(lambda: sorted(len(c) for c in holders(west).values()) == [2, 2], 30,
               "two cameras each")
    took = time.monotonic() - joined
    moved = holders(west)["west"]
    assert moved == ["c1", "c2"], moved  # the first by id, one per pass
    wait_until(lambda: all(list(west.data.rglob(f"{c}/**/*.mp4")) for c in moved), 15,
               "west recording what it took")
    assert nodes(west)["east"]["rebalance"] is True
    time.sleep(2 * TTL)  # nothing moves back
    assert holders(west) == {"east": ["c3", "c4"], "west": ["c1", "c2"]}, holders(west)
    assert west.stop() == 0
    assert east.stop() == 0
    handovers = []
    for cam in CAMS:
        rows = index_rows(west, "SELECT start_us, end_us, node_id FROM recordings WHERE"
                                f" camera_id = '{cam}' AND stream = 'main' ORDER BY start_us")
        gaps, switches = [], []
        for (s0, e0, n0), (s1, _, n1) in zip(rows, rows[1:]):
            assert s1 >= e0 - 1000, ("two nodes recorded at once", cam, (s0, e0, n0), (s1, n1))
            if n0 != n1:
                switches.append(((s1 - e0) / 1e6, n0, n1))
            elif s1 - e0 > 500_000:
                gaps.append((s1 - e0) / 1e6)
        assert gaps == [], (cam, gaps)  # nothing but the handover interrupts a camera
        if cam in moved:
            # Once from east to west, the gap between the two nodes' rows about a GOP or less.
            assert len(switches) == 1 and switches[0][1:] == ("east", "west"), switches
            assert switches[0][0] < TTL, switches
            handovers.append(switches[0][0])
        else:
            assert switches == [] and {r[2] for r in rows} == {"east"}, (cam, switches)
    print(f"\nrebalance: west joined and recorded two of east's four cameras within {took:.1f} s;"
          f" the index's gaps at the handovers: {', '.join(f'{g:.2f} s' for g in handovers)}")
