"""Webhooks (docs/design/0049-webhooks.md): targets made through /api/v1/webhooks
receive each event change from the persisted outbox as a signed POST, in order,
filtered by camera, label and type; a receiver outage (and a kill -9 of Horus in
the middle of it) loses nothing; a receiver that refuses a message for good puts
it in the dead letters, which can be sent again; the key is write-only, and the
API checks its input and its callers."""
import hashlib
import hmac
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import free_port, wait_until
from openapi_check import OpenApi

CAMS = """cameras:
  - id: door
    url: "rtsp://127.0.0.1:9/a"
    enabled: false
  - id: yard
    url: "rtsp://127.0.0.1:9/b"
    enabled: false
webhooks:
  backoff_min: 100ms
  backoff_max: 500ms
"""

T0_MS = (int(time.time()) // 3600 - 1) * 3_600_000
KEY = "k3y-for-the-receiver-0123456789"


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers `status`
    (None: stop listening, as a receiver that is down)."""

    def __init__(self):
        self.port = free_port()
        self.got = []
        self.status = 200
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def start(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.got.append((dict(self.headers), body))
                    status = outer.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.allow_reuse_address = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        self.server.shutdown()
        self.server.server_close()

    def messages(self):
        """[(headers, parsed body)] of the deliveries (not the tests) so far."""
        with self.lock:
            return [(h, json.loads(b)) for h, b in self.got if h.get("X-Horus-Event") != "test"]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"


def spec_of(h):
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    return OpenApi(doc)


def call(h, spec, method, path, template, body=None, headers=None):
    status, hdrs, raw = h.request(method, path, body, headers=headers)
    out = raw
    if raw and hdrs.get("Content-Type", "").startswith("application/json"):
        spec.validate(method, template, status, hdrs["Content-Type"], raw)
        out = json.loads(raw)
    return status, out


def post_event(h, camera, label, i):
    body = {"camera": camera, "label": label, "start": T0_MS + i * 1000,
            "end": T0_MS + i * 1000 + 500}
    status, _, raw = h.request("POST", "/api/v1/events", body)
    assert status == 201, raw
    return json.loads(raw)["id"]


def signed_ok(headers, body_bytes, key):
    ts = headers["X-Horus-Timestamp"]
    want = hmac.new(key.encode(), f"{ts}.".encode() + body_bytes, hashlib.sha256).hexdigest()
    return headers.get("X-Horus-Signature") == "v1=" + want and abs(time.time() - int(ts)) < 60


def test_events_arrive_signed_in_order_and_filtered(horus_factory):
    rx, other = Receiver(), Receiver()
    h = horus_factory(CAMS)
    spec = spec_of(h)
    status, hook = call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                        {"id": "all", "url": rx.url, "secret": KEY})
    assert status == 201, hook
    assert "secret" not in hook and hook["has_secret"] is True
    status, _ = call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                     {"id": "yard-cars", "url": other.url, "secret": "", "cameras": ["yard"],
                      "labels": ["car"], "types": ["new"]})
    assert status == 201
    ids = [post_event(h, cam, label, i) for i, (cam, label) in
           enumerate([("door", "person"), ("yard", "car"), ("yard", "person"), ("door", "car")])]
    # Each posted event is a "new" and an "end": 8 messages, in the order they were written.
    wait_until(lambda: len(rx.messages()) >= 8, 10, "8 messages")
    msgs = rx.messages()
    assert [(m["type"], m["after"]["id"]) for _, m in msgs] == \
        [(t, i) for i in ids for t in ("new", "end")]
    seqs = [int(hd["X-Horus-Delivery"]) for hd, _ in msgs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 8
    with rx.lock:
        raw = [(hd, b) for hd, b in rx.got]
    assert all(signed_ok(hd, b, KEY) for hd, b in raw), raw[0][0]
    assert all(hd["X-Horus-Event"] == m["type"] for (hd, _), (_, m) in zip(raw, msgs))
    # The filtered target saw only the yard's car, once, unsigned.
    wait_until(lambda: len(other.messages()) >= 1, 10, "the filtered message")
    time.sleep(0.5)
    got = other.messages()
    assert [(m["type"], m["after"]["id"]) for _, m in got] == [("new", ids[1])], got
    assert "X-Horus-Signature" not in got[0][0]
    status, state = call(h, spec, "GET", "/api/v1/webhooks/all", "/api/v1/webhooks/{id}")
    assert status == 200 and state["delivery"]["delivered"] == 8, state
    assert state["delivery"]["state"] == "idle" and state["delivery"]["backlog"] == 0
    assert h.metric('horus_webhook_delivered_total{webhook="all"}') == 8


def test_a_receiver_outage_and_a_crash_lose_nothing(horus_factory):
    rx = Receiver()
    h = horus_factory(CAMS)
    spec = spec_of(h)
    assert call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                {"id": "ops", "url": rx.url, "secret": KEY})[0] == 201
    first = post_event(h, "door", "person", 0)
    wait_until(lambda: len(rx.messages()) >= 2, 10, "the first event")
    rx.status = 503  # the receiver answers but refuses...
    during = [post_event(h, "door", "person", i) for i in range(1, 4)]

    def failing():
        d = call(h, spec, "GET", "/api/v1/webhooks/ops", "/api/v1/webhooks/{id}")[1]["delivery"]
        return d["failures"] >= 5 and d["state"] == "failing"
    wait_until(failing, 15, "the target failing")
    d = call(h, spec, "GET", "/api/v1/webhooks/ops", "/api/v1/webhooks/{id}")[1]["delivery"]
    assert d["last_status"] == 503 and "503" in d["last_error"] and d["backlog"] >= 6, d
    rx.down()  # ...then is gone, and Horus dies with a backlog.
    more = [post_event(h, "yard", "car", i) for i in range(4, 6)]
    h.proc.signal(signal.SIGKILL)
    h.proc.wait(10)
    h2 = horus_factory(CAMS, extra_args=["--data", str(h.data)], name="restarted")
    rx.status = 200
    rx.start()
    want = [(t, i) for i in [first] + during + more for t in ("new", "end")]

    def delivered_in_order():
        seen = []
        for _, m in rx.messages():  # at least once: a repeat keeps the first's place
            key = (m["type"], m["after"]["id"])
            if key not in seen:
                seen.append(key)
        return seen == want
    wait_until(delivered_in_order, 20, "every message in order")
    d = call(h2, spec, "GET", "/api/v1/webhooks/ops", "/api/v1/webhooks/{id}")[1]["delivery"]
    assert d["backlog"] == 0 and d["dead_letters"] == 0, d


def test_permanent_refusals_become_dead_letters_that_can_be_sent_again(horus_factory):
    rx = Receiver()
    rx.status = 422
    h = horus_factory(CAMS)
    spec = spec_of(h)
    assert call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                {"id": "strict", "url": rx.url, "secret": KEY, "types": ["new"],
                 "max_attempts": 2})[0] == 201
    ev = post_event(h, "door", "person", 0)
    path = "/api/v1/webhooks/strict/dead-letters"
    tmpl = "/api/v1/webhooks/{id}/dead-letters"
    wait_until(lambda: len(call(h, spec, "GET", path, tmpl)[1]["items"]) == 1, 10,
               "a dead letter")
    dead = call(h, spec, "GET", path, tmpl)[1]["items"][0]
    assert dead["attempts"] == 2 and "422" in dead["last_error"], dead
    assert dead["payload"]["after"]["id"] == ev and dead["camera"] == "door"
    assert len(rx.messages()) == 2  # max_attempts, then it moved on
    assert h.metric('horus_webhook_dead_letters_total{webhook="strict"}') == 1
    # The next message is not held up by the dead one.
    rx.status = 200
    ev2 = post_event(h, "door", "person", 1)
    wait_until(lambda: any(m["after"]["id"] == ev2 for _, m in rx.messages()), 10,
               "the next event")
    status, res = call(h, spec, "POST", f"{path}/{dead['seq']}/redeliver",
                       "/api/v1/webhooks/{id}/dead-letters/{seq}/redeliver")
    assert status == 200 and res["delivered"] is True and res["status"] == 200, res
    hd, m = rx.messages()[-1]
    assert m["after"]["id"] == ev and hd["X-Horus-Delivery"] == str(dead["seq"])
    assert call(h, spec, "GET", path, tmpl)[1]["items"] == []
    status, _ = call(h, spec, "POST", f"{path}/{dead['seq']}/redeliver",
                     "/api/v1/webhooks/{id}/dead-letters/{seq}/redeliver")
    assert status == 404


def test_the_api_checks_input_hides_the_key_and_admits_admins_only(horus_factory):
    rx = Receiver()
    h = horus_factory(CAMS)
    spec = spec_of(h)
    status, made = call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                        {"id": "gen", "url": rx.url})
    assert status == 201 and len(made["secret"]) == 64, made  # made by the server, shown once
    status, got = call(h, spec, "GET", "/api/v1/webhooks/gen", "/api/v1/webhooks/{id}")
    assert status == 200 and "secret" not in got and got["has_secret"] is True
    status, res = call(h, spec, "POST", "/api/v1/webhooks/gen/test",
                       "/api/v1/webhooks/{id}/test")
    assert status == 200 and res["delivered"] is True, res
    hd, body = rx.got[-1]
    assert hd["X-Horus-Event"] == "test" and signed_ok(hd, body, made["secret"])
    bad = [
        ({"id": "x", "url": "ftp://h/"}, "url: must be an http:// or https:// URL"),
        ({"id": "x", "url": "http:///nohost"}, "url: "),
        ({"id": "Bad Id", "url": rx.url}, "id: must be 1..64 characters"),
        ({"url": rx.url}, "id: is required"),
        ({"id": "x", "url": rx.url, "secret": "short"}, "secret (the HMAC key) needs 16..256 characters"),
        ({"id": "x", "url": rx.url, "cameras": ["door", "nope"]},
         "cameras[1]: camera 'nope' does not exist"),
        ({"id": "x", "url": rx.url, "types": ["open"]}, "types[0]: 'open' is not one of"),
        ({"id": "x", "url": rx.url, "labels": [""]}, "labels[0]: must be a string of 1..63"),
        ({"id": "x", "url": rx.url, "timeout_ms": 5}, "timeout_ms: must be an integer in"),
        ({"id": "x", "url": rx.url, "colour": "red"}, "colour: unknown field"),
    ]
    for body, message in bad:
        status, err = call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks", body)
        assert status == 400 and message in err["error"]["message"], (body, err)
    assert call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                {"id": "gen", "url": rx.url})[0] == 409
    status, patched = call(h, spec, "PATCH", "/api/v1/webhooks/gen", "/api/v1/webhooks/{id}",
                           {"secret": "", "enabled": False})
    assert status == 200 and patched["has_secret"] is False and patched["enabled"] is False
    assert patched["delivery"]["state"] == "disabled"
    for role in ("viewer", "operator"):
        status, _, raw = h.request("POST", "/api/v1/api-keys",
                                   {"name": f"{role}-key", "role": role, "cameras": "*"})
        key = {"Authorization": f"Bearer {json.loads(raw)['key']}"}
        assert h.request("GET", "/api/v1/webhooks", headers=key)[0] == 403
        assert h.request("POST", "/api/v1/webhooks", {"id": "y", "url": rx.url},
                         headers=key)[0] == 403
    # The audit trail names the change, never the key.
    _, _, raw = h.request("GET", "/api/v1/audit?action=webhook.created")
    assert made["secret"] not in raw.decode() and "webhook.created" in raw.decode()
    assert made["secret"] not in h.proc.output()
    assert call(h, spec, "DELETE", "/api/v1/webhooks/gen", "/api/v1/webhooks/{id}")[0] == 204
    assert call(h, spec, "GET", "/api/v1/webhooks/gen", "/api/v1/webhooks/{id}")[0] == 404


def test_posted_detections_reach_a_target_that_asks_for_them(horus_factory):
    rx = Receiver()
    h = horus_factory(CAMS)
    spec = spec_of(h)
    assert call(h, spec, "POST", "/api/v1/webhooks", "/api/v1/webhooks",
                {"id": "ai", "url": rx.url, "secret": KEY, "types": ["detection"],
                 "cameras": ["yard"]})[0] == 201
    now_ms = int(time.time() * 1000)
    batch = [{"camera": cam, "time": now_ms - 1000 + i, "label": "car", "score": 0.9,
              "box": [0.1, 0.2, 0.3, 0.4], "track_id": f"t{i}"}
             for i, cam in enumerate(["yard", "door", "yard"])]
    status, _, raw = h.request("POST", "/api/v1/detections", batch)
    assert status == 200, raw
    post_event(h, "yard", "car", 0)  # an event: not asked for
    wait_until(lambda: len(rx.messages()) >= 2, 10, "two detections")
    time.sleep(0.5)
    got = [m for _, m in rx.messages()]
    assert [(m["type"], m["camera"], m["track_id"]) for m in got] == \
        [("detection", "yard", "t0"), ("detection", "yard", "t2")], got
    assert got[0]["box"] == [0.1, 0.2, 0.3, 0.4] and got[0]["label"] == "car"
