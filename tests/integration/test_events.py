"""Events API end to end (docs/design/0040-events.md): posted events through the
same path as the analysis' own (rows, pins), every list filter and cursor
paging, get, snapshot 404, clip redirect, delete, camera grants, validation
errors naming the field, crash-left open events, and pins keeping
recordings past retention."""
import http.client
import json
import signal
import time

from conftest import index_exec, recording_rows, wait_until
from openapi_check import OpenApi

CAMS = """cameras:
  - id: cam-a
    url: "rtsp://127.0.0.1:9/a"
    enabled: false
  - id: cam-b
    url: "rtsp://127.0.0.1:9/b"
    enabled: false
"""

# An hour boundary in the last two hours: events are kept events.retention_days after
# their start, so test events must be recent.
T0_MS = (int(time.time()) // 3600 - 1) * 3_600_000


def iso(ms):
    """RFC 3339 with milliseconds, as the API writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def spec_of(h):
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    return OpenApi(doc)


def call(h, spec, method, path, template, body=None, headers=None):
    status, hdrs, raw = h.request(method, path, body, headers=headers)
    if raw and hdrs.get("Content-Type", "").startswith("application/json"):
        spec.validate(method, template, status, hdrs["Content-Type"], raw)
        return status, hdrs, json.loads(raw)
    return status, hdrs, raw


def post(h, spec, **body):
    return call(h, spec, "POST", "/api/v1/events", "/api/v1/events", body)


def listing(h, spec, query="", headers=None):
    status, _, page = call(h, spec, "GET", "/api/v1/events" + query, "/api/v1/events",
                           headers=headers)
    assert status == 200, page
    return page


def make_key(h, role, cameras="*"):
    status, _, body = h.request("POST", "/api/v1/api-keys",
                                {"name": f"{role}-key", "role": role, "cameras": cameras})
    assert status == 201, body
    return {"Authorization": f"Bearer {json.loads(body)['key']}"}


def test_posted_events_list_filter_page_get_and_delete(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    made = []
    for i in range(7):
        status, hdrs, ev = post(h, spec, camera="cam-a" if i % 2 == 0 else "cam-b",
                                label="person" if i < 4 else "car", score=0.5 + i * 0.05,
                                start=T0_MS + i * 60_000, duration_s=3,
                                zones=["door"] if i == 2 else [],
                                box=[0.1, 0.2, 0.3, 0.4])
        assert status == 201, ev
        assert hdrs["Location"] == f"/api/v1/events/{ev['id']}"
        assert ev["source"] == "api" and ev["end"] is not None
        assert ev["has_snapshot"] is False and ev["snapshot_url"] is None
        made.append(ev)
    ev = made[2]
    assert ev["zones"] == ["door"]
    assert ev["box"] == [0.1, 0.2, 0.3, 0.4]
    assert ev["start"] == iso(T0_MS + 120_000) and ev["end"] == iso(T0_MS + 123_000)
    # The clip covers the pre and post roll (5 s each by default) and says how to export it.
    assert ev["clip"]["start"] == iso(T0_MS + 115_000)
    assert ev["clip"]["end"] == iso(T0_MS + 128_000)
    assert ev["clip"]["export"]["body"] == {"camera": "cam-a", "stream": "main",
                                            "start": iso(T0_MS + 115_000),
                                            "end": iso(T0_MS + 128_000)}

    ids = [e["id"] for e in listing(h, spec)["items"]]
    assert ids == [e["id"] for e in reversed(made)]  # newest first
    assert {e["camera"] for e in listing(h, spec, "?camera=cam-a")["items"]} == {"cam-a"}
    assert len(listing(h, spec, "?camera=cam-a")["items"]) == 4
    assert len(listing(h, spec, "?label=car")["items"]) == 3
    assert [e["id"] for e in listing(h, spec, "?zone=door")["items"]] == [ev["id"]]
    assert listing(h, spec, "?zone=doo")["items"] == []
    after = listing(h, spec, f"?after={iso(T0_MS + 180_000)}&before={T0_MS + 300_000}")
    assert [e["id"] for e in after["items"]] == [made[4]["id"], made[3]["id"]]
    assert len(listing(h, spec, "?min_score=0.74")["items"]) == 2  # 0.75 and 0.8
    assert listing(h, spec, "?has_snapshot=true")["items"] == []
    assert len(listing(h, spec, "?has_snapshot=false")["items"]) == 7

    # Cursor paging: pages of 3 cover everything once, in order.
    seen, cursor = [], None
    while True:
        page = listing(h, spec, "?limit=3" + (f"&cursor={cursor}" if cursor else ""))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids

    status, _, got = call(h, spec, "GET", f"/api/v1/events/{ev['id']}", "/api/v1/events/{id}")
    assert status == 200 and got == ev
    status, _, err = call(h, spec, "GET", f"/api/v1/events/{ev['id']}/snapshot.jpg",
                          "/api/v1/events/{id}/snapshot.jpg")
    assert status == 404 and "no snapshot" in err["error"]["message"]
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=5)
    conn.request("GET", f"/api/v1/events/{ev['id']}/clip.m3u8", headers=h.auth_headers())
    r = conn.getresponse()
    assert r.status == 302
    assert r.getheader("Location") == ev["clip"]["playback_url"]
    assert r.getheader("Location").startswith("/api/v1/cameras/cam-a/playback.m3u8?")
    conn.close()

    # Pins keep the clip's recordings of both streams until the event's retention.
    _, pins = h.get_json("/api/v1/pins")
    mine = {p["id"]: p for p in pins["items"] if p["id"].startswith(f"event:{ev['id']}:")}
    assert set(mine) == {f"event:{ev['id']}:main", f"event:{ev['id']}:sub"}
    assert mine[f"event:{ev['id']}:main"]["start"] == iso(T0_MS + 115_000)
    assert mine[f"event:{ev['id']}:main"]["until"] == ev["retain_until"]

    status, _, _ = call(h, spec, "DELETE", f"/api/v1/events/{ev['id']}", "/api/v1/events/{id}")
    assert status == 204
    assert h.request("GET", f"/api/v1/events/{ev['id']}")[0] == 404
    assert h.request("DELETE", f"/api/v1/events/{ev['id']}")[0] == 404
    _, pins = h.get_json("/api/v1/pins")
    assert not [p for p in pins["items"] if p["id"].startswith(f"event:{ev['id']}:")]
    assert len(listing(h, spec)["items"]) == 6


def test_validation_errors_name_the_field(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    ok = {"camera": "cam-a", "label": "person", "start": T0_MS, "end": T0_MS + 1000}
    cases = [
        ({"label": "person", "start": T0_MS, "end": T0_MS + 1}, "camera: is required"),
        ({"camera": "cam-a", "start": T0_MS, "end": T0_MS + 1}, "label: is required"),
        ({**ok, "score": 1.5}, "score: "),
        ({**ok, "score": "high"}, "score: "),
        ({**ok, "end": T0_MS - 1}, "end: must be after start"),
        ({**ok, "start": "yesterday"}, "start: "),
        ({"camera": "cam-a", "label": "x", "start": T0_MS}, "end: is required"),
        ({**ok, "duration_s": -1}, "duration_s: "),
        ({**ok, "duration_s": 3}, "duration_s: "),
        ({**ok, "box": [0.5, 0.5, 0.1, 0.9]}, "box: "),
        ({**ok, "box": [0, 0, 1]}, "box: "),
        ({**ok, "zones": [""]}, "zones[0]: "),
        ({**ok, "label": ""}, "label: "),
        ({**ok, "colour": "red"}, "colour: unknown field"),
    ]
    for body, msg in cases:
        status, _, err = post(h, spec, **body)
        assert status == 400, (body, err)
        assert err["error"]["message"].startswith(msg), (body, err)
    status, _, err = post(h, spec, **{**ok, "camera": "nope"})
    assert status == 404 and err["error"]["message"].startswith("camera: ")
    for query, field in [("?limit=0", "limit"), ("?cursor=abc", "cursor"),
                         ("?min_score=2", "min_score"), ("?after=soon", "after"),
                         ("?has_snapshot=maybe", "has_snapshot"),
                         (f"?after={T0_MS}&before={T0_MS - 1}", "before")]:
        status, _, err = call(h, spec, "GET", "/api/v1/events" + query, "/api/v1/events")
        assert status == 400 and err["error"]["message"].startswith(field + ":"), (query, err)
    status, _, _ = h.request("GET", "/api/v1/events/00000000000000000-00000000/snapshot.jpg?box=2")
    assert status == 400


def test_grants_limit_what_viewers_see_and_operators_post(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    ids = {}
    for cam in ("cam-a", "cam-b"):
        for i in range(3):
            status, _, ev = post(h, spec, camera=cam, label="person",
                                 start=T0_MS + i * 1000 + (cam == "cam-b") * 500, duration_s=1)
            assert status == 201
            ids.setdefault(cam, []).append(ev["id"])
    viewer = make_key(h, "viewer", ["cam-a"])
    page = listing(h, spec, "?limit=2", headers=viewer)
    seen = [e["id"] for e in page["items"]]
    while page["next_cursor"]:
        page = listing(h, spec, f"?limit=2&cursor={page['next_cursor']}", headers=viewer)
        seen += [e["id"] for e in page["items"]]
    assert sorted(seen) == sorted(ids["cam-a"])
    assert listing(h, spec, "?camera=cam-b", headers=viewer)["items"] == []
    assert h.request("GET", f"/api/v1/events/{ids['cam-b'][0]}", headers=viewer)[0] == 404
    assert h.request("GET", f"/api/v1/events/{ids['cam-a'][0]}", headers=viewer)[0] == 200
    # Viewers cannot post or delete; an operator of cam-a cannot post for cam-b.
    body = {"camera": "cam-a", "label": "x", "duration_s": 1}
    assert h.request("POST", "/api/v1/events", body, headers=viewer)[0] == 403
    assert h.request("DELETE", f"/api/v1/events/{ids['cam-a'][0]}", headers=viewer)[0] == 403
    op = make_key(h, "operator", ["cam-a"])
    assert h.request("POST", "/api/v1/events", body, headers=op)[0] == 201
    assert h.request("POST", "/api/v1/events", {**body, "camera": "cam-b"}, headers=op)[0] == 404
    assert h.request("DELETE", f"/api/v1/events/{ids['cam-b'][0]}", headers=op)[0] == 404
    assert h.request("GET", "/api/v1/events", auth=False)[0] == 401


def test_open_events_left_by_a_crash_are_ended_at_start(horus_factory):
    h = horus_factory(CAMS)
    spec = spec_of(h)
    status, _, ev = post(h, spec, camera="cam-a", label="person", start=T0_MS, duration_s=2)
    assert status == 201
    assert h.stop() == 0
    # What a crash leaves: an open row whose last update was 1.5 s after its start.
    index_exec(h, "UPDATE events SET end_us = NULL, updated_us = start_us + 1500000 WHERE id = ?",
               [(ev["id"],)])
    h2 = horus_factory(CAMS, extra_args=["--data", str(h.data)], name="restarted")
    h2.wait_for_log(lambda l: "left open" in l.get("msg", ""))
    status, got = h2.get_json(f"/api/v1/events/{ev['id']}")
    assert status == 200 and got["end"] == iso(T0_MS + 1500)


def test_event_pins_keep_recordings_past_the_cap(camsim_factory, horus_factory):
    sim = camsim_factory()
    h = horus_factory(f"""cameras:
  - id: cam
    url: "{sim.url(1)}"
    record:
      segment_seconds: 2
      max_bytes: 300kB
events:
  pre_roll_seconds: 0
  post_roll_seconds: 0
""")
    wait_until(lambda: len(recording_rows(h, "cam", "main")) >= 3, 30, "three segments")
    first = recording_rows(h, "cam", "main")[0]
    spec = spec_of(h)
    status, _, ev = post(h, spec, camera="cam", label="person",
                         start=first["start_us"] // 1000 + 100, duration_s=0.5)
    assert status == 201, ev
    over_cap_then_reload(h)

    def trimmed():
        recs = recording_rows(h, "cam", "main")
        unpinned = [r for r in recs if r["start_us"] != first["start_us"]]
        return recs and unpinned and unpinned[0]["start_us"] > recs[0]["start_us"] + 4_000_000 \
            and recs
    recs = wait_until(trimmed, 75, "retention to delete unpinned segments after the pinned one")
    assert recs[0]["start_us"] == first["start_us"]  # the event's segment stayed
    assert (h.data / first["path"]).exists()
    # Deleting the event drops its pins: the next pass deletes the segment too.
    assert h.request("DELETE", f"/api/v1/events/{ev['id']}")[0] == 204
    over_cap_then_reload(h)
    wait_until(lambda: recording_rows(h, "cam", "main")[0]["start_us"] != first["start_us"], 75,
               "the unpinned segment to go")


def over_cap_then_reload(h, cap=300_000):
    """Waits until the camera's recordings pass its cap, then reloads: a reload runs a
    retention pass at once (full passes otherwise come once a minute)."""
    wait_until(lambda: sum(r["bytes"] for r in recording_rows(h, "cam", "main")) > cap + 50_000,
               60, "the recordings to pass the cap")
    h.proc.signal(signal.SIGHUP)
