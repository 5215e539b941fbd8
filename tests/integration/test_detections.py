"""Detections ingest end to end (docs/design/0046-detections-ingest.md): batches
posted as a JSON array and as NDJSON, read back with every filter and cursor
paging; bad batches refused whole with the item and field named; who may
post for which camera; acknowledged detections surviving kill -9; and the
Idempotency-Key: a retry (also concurrent, also after kill -9) stores once."""
import http.client
import json
import os
import signal
import threading
import time

from conftest import index_exec, index_rows
from openapi_check import OpenApi

CAMS = """cameras:
  - id: cam-a
    url: "rtsp://127.0.0.1:9/a"
    enabled: false
  - id: cam-b
    url: "rtsp://127.0.0.1:9/b"
    enabled: false
detections:
  max_items: 50
"""

PATH = "/api/v1/detections"
NOW_MS = int(time.time() * 1000)


def det(camera="cam-a", t=None, label="person", score=0.9, box=(0.1, 0.2, 0.3, 0.4), **kw):
    return {"camera": camera, "time": NOW_MS - 60_000 if t is None else t, "label": label,
            "score": score, "box": list(box), **kw}


def spec_of(h):
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    return OpenApi(doc)


def call(h, spec, method, path, body=None, headers=None):
    status, hdrs, raw = h.request(method, path, body, headers=headers)
    if raw and hdrs.get("Content-Type", "").startswith("application/json"):
        spec.validate(method, PATH, status, hdrs["Content-Type"], raw)
        return status, json.loads(raw)
    return status, raw


def ndjson(items):
    return ("\n".join(json.dumps(i) for i in items) + "\n").encode()


def stored(h):
    return index_rows(h, "SELECT COUNT(*) FROM detections")[0][0]


def make_key(h, role, cameras="*"):
    status, _, body = h.request("POST", "/api/v1/api-keys",
                                {"name": f"{role}-key", "role": role, "cameras": cameras})
    assert status == 201, body
    return {"Authorization": f"Bearer {json.loads(body)['key']}"}


def test_batches_as_array_and_ndjson_read_back_with_filters_and_paging(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    array = [det("cam-a" if i % 2 == 0 else "cam-b", NOW_MS - 60_000 + i * 1000,
                 "person" if i < 6 else "car", 0.5 + i * 0.04, track_id=i,
                 attributes={"n": i}) for i in range(10)]
    status, body = call(h, spec, "POST", PATH, array)
    assert status == 200 and body == {"stored": 10}
    lines = [det("cam-a", NOW_MS - 30_000 + i, "dog", track_id=f"t-{i}") for i in range(3)]
    iso_time = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(NOW_MS // 1000 - 10))
    lines.append(det("cam-b", iso_time, "dog"))
    status, body = call(h, spec, "POST", PATH, ndjson(lines),
                        headers={"Content-Type": "application/x-ndjson"})
    assert status == 200 and body == {"stored": 4}
    assert stored(h) == 14

    status, page = call(h, spec, "GET", PATH + "?camera=cam-a&label=person")
    assert status == 200
    assert [d["attributes"]["n"] for d in page["items"]] == [4, 2, 0]  # newest first
    first = page["items"][-1]
    assert first["track_id"] == "0" and first["box"] == [0.1, 0.2, 0.3, 0.4]
    assert first["source"].startswith("key:") and first["score"] == 0.5
    # after/before bound the time; together with label they combine.
    q = f"?label=person&after={NOW_MS - 58_000}&before={NOW_MS - 55_000}"
    assert [d["attributes"]["n"] for d in call(h, spec, "GET", PATH + q)[1]["items"]] == [4, 3, 2]
    # The NDJSON batch: three dogs on cam-a, one on cam-b with an RFC 3339 time.
    dogs = call(h, spec, "GET", PATH + "?label=dog")[1]["items"]
    assert [d["camera"] for d in dogs] == ["cam-b", "cam-a", "cam-a", "cam-a"]
    assert dogs[0]["time_us"] == (NOW_MS // 1000 - 10) * 1_000_000
    # Paging by cursor visits every row once, newest first.
    seen, cursor = [], ""
    while True:
        page = call(h, spec, "GET", PATH + f"?limit=4{cursor}")[1]
        seen += [(d["time_us"], d["id"]) for d in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == 14 and len(set(seen)) == 14 and seen == sorted(seen, reverse=True)
    for bad in ("?limit=0", "?cursor=nope", f"?after={NOW_MS}&before={NOW_MS - 1}"):
        assert call(h, spec, "GET", PATH + bad)[0] == 400
    assert h.metric("horus_detections_ingested_total") == 14


def test_bad_batches_name_item_and_field_and_store_nothing(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    good = det()
    future = NOW_MS + 3600_000
    cases = [
        (b'[{"camera": "cam-a",', None, 400, "body: not JSON"),
        (b'{"camera": "cam-a"}', None, 400, "body: must be a JSON array"),
        ([good, det("cam-zz")], None, 404, "items[1].camera: camera 'cam-zz' does not exist"),
        ([good, good, det(box=(0.5, 0.2, 0.4, 0.4))], None, 400, "items[2].box: x1 must be > x0"),
        ([det(box=(0.1, 0.2, 0.3, 1.5))], None, 400, "items[0].box: y1 must be a number 0..1"),
        ([good, det(t=future)], None, 400, "items[1].time: more than 5 minutes in the future"),
        ([det(t=NOW_MS - 90 * 86400_000)], None, 400, "items[0].time: more than 30 days"),
        ([det(score=1.5), {"camera": "cam-a"}], None, 400,
         "items[0].score: must be a number 0..1; items[1].time: is required"),
        ([det(track_id="x" * 65)], None, 400, "items[0].track_id"),
        ([det(attributes=[1])], None, 400, "items[0].attributes: must be a JSON object"),
        ([det(colour="red")], None, 400, "items[0].colour: unknown field"),
        ([], None, 400, "items: the batch is empty"),
        (ndjson([good]) + b"{oops\n", "application/x-ndjson", 400, "items[1]: not JSON (line 2"),
        ([good] * 51, None, 413, "at most 50 detections (detections.max_items)"),
    ]
    for body, ctype, want, message in cases:
        headers = {"Content-Type": ctype} if ctype else None
        status, reply = call(h, spec, "POST", PATH, body, headers=headers)
        assert status == want, (message, reply)
        assert message in reply["error"]["message"], reply
        assert "nothing was stored" in reply["error"]["message"]
    # A body over detections.max_body is refused from its Content-Length, before it is sent.
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=5)
    conn.putrequest("POST", PATH)
    for k, v in {**h.auth_headers(), "Content-Type": "application/json",
                 "Content-Length": str(9 << 20)}.items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413, r.read()
    conn.close()
    assert h.request("POST", PATH, b"x", headers={"Content-Type": "text/plain"})[0] == 415
    assert stored(h) == 0
    rejected = {s[0]["reason"]: s[1] for s in h.metric_samples("horus_detections_rejected_total")}
    assert rejected["invalid"] == 12 and rejected["camera"] == 1 and rejected["too_large"] == 1


def test_viewers_cannot_post_and_grants_limit_cameras(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    viewer = make_key(h, "viewer", ["cam-a"])
    assert call(h, spec, "POST", PATH, [det()], headers=viewer)[0] == 403
    assert call(h, spec, "POST", PATH, [det()], headers={"Authorization": "Bearer nope"})[0] == 401
    op = make_key(h, "operator", ["cam-a"])
    assert call(h, spec, "POST", PATH, [det("cam-a")], headers=op) == (200, {"stored": 1})
    status, reply = call(h, spec, "POST", PATH, [det("cam-a"), det("cam-b")], headers=op)
    assert status == 404 and "items[1].camera" in reply["error"]["message"]
    assert call(h, spec, "POST", PATH, [det("cam-b")])[0] == 200  # the admin key: every camera
    assert stored(h) == 2
    # The viewer of cam-a reads cam-a's row only.
    items = call(h, spec, "GET", PATH, headers=viewer)[1]["items"]
    assert [d["camera"] for d in items] == ["cam-a"]
    assert call(h, spec, "GET", PATH + "?camera=cam-b", headers=viewer)[1]["items"] == []


def poster(h, n, acked, stop):
    """Posts batches of 20 on one keep-alive connection; records the track ids of each 200."""
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
    headers = {**h.auth_headers(), "Content-Type": "application/x-ndjson"}
    seq = 0
    while not stop.is_set():
        ids = [f"w{n}-{seq}-{i}" for i in range(20)]
        seq += 1
        body = ndjson([det("cam-a" if n % 2 else "cam-b", track_id=t) for t in ids])
        try:
            conn.request("POST", PATH, body, headers)
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            return  # the daemon is gone
        if r.status == 200:
            acked.extend(ids)


def test_acknowledged_detections_survive_kill_9(horus_factory):
    h = horus_factory(CAMS)
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=poster, args=(h, n, acked, stop)) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(acked) < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(h.proc.popen.pid, signal.SIGKILL)  # mid-run: requests are in flight
    h.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(15)
    assert len(acked) >= 2000, len(acked)
    h2 = horus_factory(CAMS, extra_args=["--data", str(h.data)], name="restarted")
    have = {row[0] for row in index_rows(h, "SELECT track_id FROM detections")}
    lost = [t for t in acked if t not in have]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged detections lost: {lost[:5]}"
    # The restarted daemon takes more on top (ids continue after the largest).
    assert h2.request("POST", PATH, [det()])[0] == 200


def test_retention_deletes_rows_older_than_retention_days(horus_factory):
    h = horus_factory(CAMS)
    assert h.request("POST", PATH, [det(track_id="fresh")])[0] == 200
    assert h.stop() == 0
    # Rows 3 days old (older than the API takes from a worker today, but a daemon may hold them).
    old_us = (NOW_MS - 3 * 86400_000) * 1000
    index_exec(h, "INSERT INTO detections(id, camera_id, time_us, label, score, x0, y0, x1, y1,"
               " track_id, received_us, source) VALUES (?, 'cam-a', ?, 'person', 0.5,"
               " 0, 0, 1, 1, 'old', ?, 'test')",
               [(100 + i, old_us + i, old_us) for i in range(5)])
    h2 = horus_factory(CAMS + "  retention_days: 2\n", extra_args=["--data", str(h.data)],
                       name="restarted")
    deadline = time.monotonic() + 10
    while h2.metric("horus_detections_pruned_total") < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert h2.metric("horus_detections_pruned_total") == 5
    items = h2.get_json(PATH)[1]["items"]
    assert [d["track_id"] for d in items] == ["fresh"]


def keyed(h, spec, key, items, headers=None):
    status, hdrs, raw = h.request("POST", PATH, items, headers={**(headers or {}),
                                                              "Idempotency-Key": key})
    spec.validate("POST", PATH, status, hdrs["Content-Type"], raw)
    return status, hdrs.get("Idempotent-Replayed"), json.loads(raw)


def test_a_retry_with_the_same_key_stores_once_and_replays_the_count(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    batch = [det(track_id="r1"), det(track_id="r2"), det("cam-b", track_id="r3")]
    assert keyed(h, spec, "batch-1", batch) == (200, None, {"stored": 3})
    assert keyed(h, spec, "batch-1", batch) == (200, "true", {"stored": 3})
    assert stored(h) == 3
    # The same key with another body: refused, naming the key; nothing stored.
    status, _, body = keyed(h, spec, "batch-1", batch[:1])
    assert status == 422 and body["error"]["code"] == "idempotency_key_reused", body
    assert "'batch-1'" in body["error"]["message"]
    # A bad key is a 400 naming the header, before anything else.
    for bad in ("k" * 129, "caf\u00e9"):
        status, _, body = keyed(h, spec, bad, batch)
        assert status == 400 and "Idempotency-Key" in body["error"]["message"], body
    assert stored(h) == 3
    # Keys are per caller: another worker's "batch-1" is its own batch.
    assert keyed(h, spec, "batch-1", batch, make_key(h, "operator")) == (200, None, {"stored": 3})
    assert stored(h) == 6
    # Eight concurrent posts of one new key and body: one stores, seven replay its count.
    results = []
    threads = [threading.Thread(target=lambda: results.append(keyed(h, spec, "burst", batch)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert sorted(r[1] or "" for r in results) == [""] + ["true"] * 7, results
    assert all(r[0] == 200 and r[2] == {"stored": 3} for r in results), results
    assert stored(h) == 9


def test_a_key_is_durable_with_its_batch_across_kill_9(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    worker = make_key(h, "operator")  # the same caller before and after the restart
    batch = [det(track_id=f"k{i}") for i in range(5)]
    assert keyed(h, spec, "after-crash", batch, worker) == (200, None, {"stored": 5})
    os.killpg(h.proc.popen.pid, signal.SIGKILL)  # the reply was the last thing it did
    h.proc.wait(10)
    h2 = horus_factory(CAMS, extra_args=["--data", str(h.data)], name="restarted")
    assert keyed(h2, spec, "after-crash", batch, worker) == (200, "true", {"stored": 5})
    assert stored(h) == 5  # h2 runs on h.data
