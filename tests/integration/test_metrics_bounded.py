"""Bounded /metrics: the series of a deleted camera (ingest, record, live, breaker)
leave /metrics, so create/delete cycles do not grow it (issue 16: 4,000 cycles
grew it from 4.2 to 12.9 MB); a camera that stays keeps its series, and an id
made again gets fresh ones."""
import re
import subprocess

from conftest import require_tool, wait_until

ROUNDS, PER_ROUND = 5, 10  # 50 cameras created and deleted


def metrics(h):
    status, _, body = h.request("GET", "/metrics")
    assert status == 200
    return body.decode()


def churn_ids(text):
    return set(re.findall(r'camera="(churn\d+)"', text))


def state(h, cam):
    return h.get_json(f"/api/v1/cameras/{cam}")[1]["status"]["state"]


def run_round(h, sim, n):
    ids = [f"churn{n * PER_ROUND + i}" for i in range(PER_ROUND)]
    for i, cam in enumerate(ids):
        body = {"id": cam, "url": sim.url(1), "record": {"segment_seconds": 2}}
        if i % 2:
            body["sub_url"] = sim.url(2)
        status, _, data = h.request("POST", "/api/v1/cameras", body)
        assert status == 201, data
    wait_until(lambda: all(state(h, cam) == "streaming" for cam in ids), 20,
               "every camera of the round to stream")
    text = metrics(h)
    for cam in ids:  # each family the pipeline registers has the camera's series
        for family in ("horus_camera_up", "horus_ingest_frames_total",
                       "horus_camera_breaker_state", "horus_record_", "horus_live_viewers"):
            assert re.search(rf'^{family}\w*{{[^}}]*camera="{cam}"', text, re.M), (family, cam)
    for cam in ids:
        assert h.request("DELETE", f"/api/v1/cameras/{cam}")[0] == 204
    wait_until(lambda: not churn_ids(metrics(h)), 10, "the deleted cameras' series to go")


def test_deleted_cameras_leave_no_series_and_metrics_stay_bounded(camsim_factory,
                                                                  horus_factory):
    promtool = require_tool("promtool")
    sim = camsim_factory(paths=2)
    h = horus_factory()
    keep = {"id": "keeper", "url": sim.url(1), "record": {"segment_seconds": 2}}
    assert h.request("POST", "/api/v1/cameras", keep)[0] == 201
    wait_until(lambda: state(h, "keeper") == "streaming", 15, "the kept camera to stream")
    run_round(h, sim, 0)  # the first round adds the API routes' series: measure after it
    baseline = len(metrics(h))
    for n in range(1, ROUNDS):
        run_round(h, sim, n)
    text = metrics(h)
    assert churn_ids(text) == set()
    assert len(text) <= baseline * 1.05 + 4096, (baseline, len(text))
    assert re.search(r'^horus_camera_up\{camera="keeper"\} 1$', text, re.M), text
    assert re.search(r'^horus_record_\w+\{camera="keeper"', text, re.M)
    r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()

    # The same id made again reports again, live viewers included.
    body = {"id": "churn0", "url": sim.url(1), "record": {"segment_seconds": 2}}
    assert h.request("POST", "/api/v1/cameras", body)[0] == 201
    wait_until(lambda: state(h, "churn0") == "streaming", 15, "churn0 to stream again")
    wait_until(lambda: re.search(r'^horus_camera_up\{camera="churn0"\} 1$', metrics(h), re.M),
               5, "churn0's series")
    assert re.search(r'^horus_live_viewers\{camera="churn0"\}', metrics(h), re.M)
    assert h.stop() == 0
