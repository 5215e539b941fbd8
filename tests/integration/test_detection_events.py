"""Posted detections feed the events engine (docs/design/0051-external-detections-
events.md): a person walking across frames, posted with a worker's track id and
without one (the tracker's path), opens an event of source "external", updates it
when it enters a zone and crosses a tripwire of the camera's analytics document,
and ends it once no detection came for the lost time; the same changes arrive on
the live stream. Late detections are stored and not fed (counted); a camera whose
analytics document is disabled and detections.events: false feed nothing."""
import http.client
import json
import signal
import time

from conftest import wait_until
from openapi_check import OpenApi

CAMS = """cameras:
  - id: cam-a
    url: "rtsp://127.0.0.1:9/a"
    enabled: false
    analytics:
      zones:
        - name: left
          polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
        - name: right
          polygon: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]
      tripwires:
        - name: mid
          line: [[0.5, 0], [0.5, 1]]
  - id: cam-b
    url: "rtsp://127.0.0.1:9/b"
    enabled: false
  - id: cam-off
    url: "rtsp://127.0.0.1:9/c"
    enabled: false
    analytics:
      enabled: false
"""

PATH = "/api/v1/detections"


def iso(ms):
    """RFC 3339 with milliseconds, as the API writes times."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def walk(camera, t0_ms, frames, x0, step, track_id=None, score=0.9):
    """A person box walking right, one detection per frame 200 ms apart."""
    out = []
    for i in range(frames):
        x = x0 + step * i
        d = {"camera": camera, "time": t0_ms + 200 * i, "label": "person", "score": score,
             "box": [round(x, 3), 0.3, round(x + 0.1, 3), 0.8]}
        if track_id is not None:
            d["track_id"] = track_id
        out.append(d)
    return out


class Stream:
    """The live events stream, read on one connection."""

    def __init__(self, h):
        self.conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
        self.conn.request("GET", "/api/v1/events/stream", headers=h.auth_headers())
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        self.buf = b""

    def messages_until(self, pred, timeout=15):
        """(type, event) messages read until pred(messages) holds."""
        got = []
        deadline = time.monotonic() + timeout
        while not pred(got):
            assert time.monotonic() < deadline, got
            chunk = self.resp.read1(65536)
            assert chunk, got
            self.buf += chunk
            while b"\n\n" in self.buf:
                block, self.buf = self.buf.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().splitlines()
                              if ": " in line and not line.startswith(":"))
                if fields.get("event") in ("new", "update", "end"):
                    got.append((fields["event"], json.loads(fields["data"])))
        return got

    def close(self):
        self.conn.close()


def events_of(h, spec, camera):
    status, hdrs, raw = h.request("GET", f"/api/v1/events?camera={camera}")
    assert status == 200, raw
    spec.validate("GET", "/api/v1/events", status, hdrs["Content-Type"], raw)
    return json.loads(raw)["items"]


def ended(messages, camera):
    return any(t == "end" and e["camera"] == camera for t, e in messages)


def test_walking_person_opens_updates_and_ends_external_events(horus_factory):
    h = horus_factory(CAMS)
    status, doc = h.get_json("/api/v1/openapi.json")
    spec = OpenApi(doc)
    stream = Stream(h)
    t0 = int(time.time() * 1000) - 5000
    # cam-a: a worker's track "w-7" walks from the left zone across the tripwire into the right.
    assert h.request("POST", PATH, walk("cam-a", t0, 12, 0.1, 0.06, track_id="w-7"))[0] == 200
    # cam-b: no track ids, in two batches (the tracker keeps one track across them).
    frames = walk("cam-b", t0, 10, 0.2, 0.01)
    assert h.request("POST", PATH, frames[:5])[0] == 200
    assert h.request("POST", PATH, frames[5:])[0] == 200
    # cam-off: its analytics document is disabled.
    assert h.request("POST", PATH, walk("cam-off", t0, 10, 0.2, 0.01, track_id=1))[0] == 200

    msgs = stream.messages_until(lambda m: ended(m, "cam-a") and ended(m, "cam-b"))
    stream.close()
    a = [(t, e) for t, e in msgs if e["camera"] == "cam-a"]
    kinds = [t for t, _ in a]
    assert kinds[0] == "new" and kinds[-1] == "end" and "update" in kinds, kinds
    assert a[0][1]["zones"] == ["left"] and a[0][1]["source"] == "external"
    assert a[0][1]["end"] is None and a[0][1]["has_snapshot"] is False
    assert [t for t, e in msgs if e["camera"] == "cam-b"] == ["new", "end"]
    assert not [e for _, e in msgs if e["camera"] == "cam-off"]

    [ev_a] = events_of(h, spec, "cam-a")
    assert ev_a["source"] == "external" and ev_a["label"] == "person"
    assert ev_a["zones"] == ["left", "right"]
    # Walking right across the downward line "mid" goes from its side B to side A (zones.h).
    assert [(c["tripwire"], c["direction"]) for c in ev_a["details"]["crossings"]] == \
        [("mid", "b_to_a")]
    assert ev_a["box"] == [0.1, 0.3, 0.2, 0.8]  # the first view: none beat it by 15%
    # The tripwire counters count external crossings too.
    status, counters = h.get_json("/api/v1/cameras/cam-a/counters")
    assert status == 200 and counters["tripwires"] == [
        {"tripwire": "mid", "label": "person", "a_to_b": 0, "b_to_a": 1}], counters
    # The event spans the walk: from the first detection to the last (frame times).
    assert ev_a["start"] == iso(t0) and ev_a["end"] == iso(t0 + 11 * 200)
    assert ev_a["snapshot_url"] is None
    [ev_b] = events_of(h, spec, "cam-b")
    assert ev_b["source"] == "external" and ev_b["zones"] == [] and ev_b["end"] is not None
    assert events_of(h, spec, "cam-off") == []

    # A detection 10 s older than cam-b's newest is stored, not fed.
    fed = h.metric("horus_detections_fed_total")
    assert fed == 12 + 10
    late = walk("cam-b", t0 - 10_000, 1, 0.2, 0)
    assert h.request("POST", PATH, late)[0] == 200
    wait_until(lambda: h.metric('horus_detections_dropped_total{reason="out_of_order"}') == 1,
               5, "the late detection counted")
    assert h.metric("horus_detections_fed_total") == fed

    # detections.events: false (reloaded) feeds nothing more.
    h.config_path.write_text(h.config_path.read_text() + "detections:\n  events: false\n")
    h.proc.signal(signal.SIGHUP)
    wait_until(lambda: h.metric('horus_config_reloads_total{result="ok"}') == 1, 10, "reload")
    t1 = int(time.time() * 1000)
    assert h.request("POST", PATH, walk("cam-b", t1, 5, 0.2, 0.01))[0] == 200
    time.sleep(0.5)
    assert h.metric("horus_detections_fed_total") == fed
    assert len(events_of(h, spec, "cam-b")) == 1
