"""Issue 11 end to end, as a new user would try it: horus-camsim loops
vtest.avi (pedestrians, transcoded once to H.264) into Horus with object
detection on, and the whole chain runs: sampler -> motion -> detector on the
motion crops -> tracker -> zones and tripwires -> events (rows, snapshots,
pins) -> the SSE stream.

- person events appear on GET /api/v1/events/stream and in the list, with a
  snapshot (a real JPEG);
- the tripwire across the walkway counts people walking both ways
  (GET /api/v1/cameras/{id}/counters and horus_tripwire_crossings_total);
- a zone's loitering time is reported on the events of people who stay;
- a motion mask over the whole picture keeps the detector at rest: no
  detections and no events on that camera, while it is still sampled;
- the stream resumes from Last-Event-ID with exactly the later messages.
"""
import http.client
import json
import subprocess
import time

from conftest import require_tool, wait_until
from test_detect_pipeline import LABELS, MODEL, vtest_h264  # noqa: F401 (the fixture)

STREAM = "/api/v1/events/stream"

# The walkway crosses the picture from left to right around y 0.35..0.6; a
# vertical tripwire in its middle, and a zone over the road.
WALK_ANALYTICS = """    analytics:
      objects:
        labels: [person]
      tripwires:
        - name: middle
          line: [[0.55, 0.2], [0.55, 0.9]]
          labels: [person]
      zones:
        - name: road
          polygon: [[0.2, 0.3], [0.98, 0.3], [0.98, 0.8], [0.2, 0.8]]
          labels: [person]
          loiter_seconds: 3
"""
MASKED_ANALYTICS = """    analytics:
      motion:
        masks:
          - [[0, 0], [1, 0], [1, 1], [0, 1]]
"""


def config(walk_url, masked_url):
    return (f"detect:\n  enabled: true\n  fps: 5\n"
            f"  detector:\n    model: \"{MODEL}\"\n    labels: \"{LABELS}\"\n"
            "events:\n  min_frames: 2\n"
            "cameras:\n"
            f"  - id: walk\n    url: \"{walk_url}\"\n{WALK_ANALYTICS}"
            f"  - id: masked\n    url: \"{masked_url}\"\n{MASKED_ANALYTICS}")


class Stream:
    """A GET /api/v1/events/stream reader: parsed SSE messages."""

    def __init__(self, h, last_event_id=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=30)
        headers = h.auth_headers()
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", STREAM, headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.read()
        self.buf = b""

    def next(self, timeout):
        """The next message as a dict (id, event, data parsed), or None at the deadline."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            if time.monotonic() > deadline:
                return None
            chunk = self.resp.read1(65536)
            if not chunk:
                return None
            self.buf += chunk
        block, self.buf = self.buf.split(b"\n\n", 1)
        msg = {}
        for line in block.decode().split("\n"):
            if line.startswith(":") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            msg[k] = v[1:] if v.startswith(" ") else v
        if "data" in msg:
            msg["data"] = json.loads(msg["data"])
        return msg if "event" in msg else self.next(max(0.0, deadline - time.monotonic()))

    def close(self):
        self.conn.close()


def counts(h, cam):
    status, body = h.get_json(f"/api/v1/cameras/{cam}/counters")
    assert status == 200, body
    out = {"a_to_b": 0, "b_to_a": 0}
    for row in body["tripwires"]:
        assert row["tripwire"] == "middle" and row["label"] == "person", row
        out["a_to_b"] += row["a_to_b"]
        out["b_to_a"] += row["b_to_a"]
    return out


def test_people_make_events_counts_and_a_resumable_stream(vtest_h264, camsim_factory,  # noqa: F811
                                                         horus_factory):
    cam = camsim_factory(args=["--source", str(vtest_h264)], paths=2)
    h = horus_factory(config(cam.url(1), cam.url(2)))
    stream = Stream(h)

    # A person event reaches the stream.
    first = None
    deadline = time.monotonic() + 90
    while first is None and time.monotonic() < deadline:
        m = stream.next(deadline - time.monotonic())
        assert m is not None, "no message on the events stream"
        if m["event"] == "new" and m["data"].get("label") == "person":
            first = m
    assert first is not None, "no person event"
    assert first["data"]["camera"] == "walk", first
    later = stream.next(30)
    assert later is not None and int(later["id"]) > int(first["id"]), later
    stream.close()

    # Resuming from the first message's id gets exactly what followed it.
    again = Stream(h, last_event_id=first["id"])
    resumed = again.next(10)
    assert resumed is not None and resumed["event"] != "reset", resumed
    assert resumed["id"] == later["id"], (resumed, later)
    again.close()

    # The tripwire counts people walking both ways.
    both = wait_until(lambda: (lambda c: c if c["a_to_b"] and c["b_to_a"] else None)(
        counts(h, "walk")), 120, "crossings both ways")
    assert h.metric('horus_tripwire_crossings_total{camera="walk",tripwire="middle",'
                    'label="person",direction="a_to_b"}') >= both["a_to_b"]

    # Events in the list: people, with snapshots that are JPEG pictures.
    status, listing = h.get_json("/api/v1/events?camera=walk&label=person&limit=100")
    assert status == 200, listing
    events = listing["items"]
    assert len(events) >= 3, events
    with_snap = [e for e in events if e["has_snapshot"]]
    assert with_snap, events
    status, headers, jpeg = h.request("GET", f"/api/v1/events/{with_snap[0]['id']}/snapshot.jpg")
    assert status == 200 and jpeg[:2] == b"\xff\xd8", (status, jpeg[:16])
    ffprobe = require_tool("ffprobe")
    probe = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=width,height",
                            "-of", "json", "-"], input=jpeg, capture_output=True, check=True)
    dims = json.loads(probe.stdout)["streams"][0]
    assert dims["width"] >= 320 and dims["height"] >= 240, dims
    # People who stay on the road longer than 3 s loiter there.
    assert any("road" in e.get("zones", []) for e in events), events
    wait_until(lambda: any(e.get("details", {}).get("loiters") for e in h.get_json(
        "/api/v1/events?camera=walk&limit=200")[1]["items"]), 60, "a loitering report")

    # The masked camera is sampled but its detector rests: nothing detected, no events.
    assert h.metric('horus_detect_frames_total{camera="masked"}') > 0
    assert h.metric('horus_detect_detections_total{camera="masked",label="person"}') == 0
    status, masked = h.get_json("/api/v1/events?camera=masked")
    assert status == 200 and masked["items"] == [], masked
    assert h.stop() == 0
