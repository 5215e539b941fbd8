"""The MQTT bus end to end (docs/design/0045-bus-and-outbox.md) against a real
mosquitto on a free loopback port, with mosquitto_sub as the subscriber: posted
events arrive on <prefix>/events shaped like Frigate's with the open-event counts
on <prefix>/<camera>/<label> and .../all, <prefix>/available follows
the daemon (retained "online", the will "offline" after kill -9), nothing is lost
while the broker is killed during a burst (at least once, in order per camera, the
outage visible in /health and /metrics), a backlog survives a daemon restart,
refused credentials are named in /health while events are still stored, mqtts://
verifies the broker's certificate, and messages older than bus.outbox_retention are
dropped and counted while the rest still flows. With bus.mqtt.commands on, Frigate's
<prefix>/<camera>/{recordings,detect,motion}/set switch a camsim camera through the same
storage path as the API, are acknowledged retained on .../state, appear as Home
Assistant switches, and whatever is refused (unknown camera or command, bad payload,
a camera provisioned from horus.yaml) is counted and changes nothing; with commands
off (the default) a set message changes nothing. Every retained message under homeassistant/
on the broker (a discovery dump) follows the schema written from Home Assistant's
documentation and is exactly the expected set: per camera a camera entity on
<prefix>/<camera>/snapshot, open events, occupancy, motion, and a count and an occupancy per
label its analytics names; a camera deleted through the API, or while the daemon was stopped,
and a label taken out of the analytics are cleared with their retained state topics."""
import getpass
import json
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from conftest import Horus, Proc, free_port, sanitizer_reports, wait_for_port, wait_until
from openapi_check import OpenApi

MOSQUITTO = "/usr/sbin/mosquitto"
CAMS = "".join(f"""  - id: cam-{c}
    url: "rtsp://127.0.0.1:9/{c}"
    enabled: false
""" for c in "abc")

pytestmark = pytest.mark.skipif(
    not shutil.which(MOSQUITTO) and not shutil.which("mosquitto"),
    reason="mosquitto is not installed (scripts/setup)")


class Broker:
    """mosquitto on 127.0.0.1:port in dir; sessions saved each second, so a
    persistent subscriber keeps its queue across a kill -9."""

    def __init__(self, tmp, port=None, user=None, tls=None):
        self.dir = tmp
        self.dir.mkdir(exist_ok=True)
        self.port = port or free_port()
        # user: mosquitto started by root otherwise drops to "mosquitto", which may not
        # write its state into the test's private directory.
        conf = [f"listener {self.port} 127.0.0.1", f"user {getpass.getuser()}",
                "persistence true",
                f"persistence_location {self.dir}/", "autosave_interval 1"]
        if tls:  # (ca, certificate, key): this listener speaks only TLS
            conf += [f"cafile {tls[0]}", f"certfile {tls[1]}", f"keyfile {tls[2]}"]
        if user:
            pw = self.dir / "passwd"
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), *user], check=True,
                           capture_output=True)
            conf += ["allow_anonymous false", f"password_file {pw}"]
        else:
            conf += ["allow_anonymous true"]
        (self.dir / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        self.proc = None
        self.start()

    def start(self):
        self.proc = Proc([MOSQUITTO, "-c", self.dir / "mosquitto.conf"], self.dir,
                         f"mosquitto-{time.monotonic_ns()}.log")
        wait_for_port(self.port, proc=self.proc.popen)

    def wait_saved(self, after):
        """Waits for an autosave of the broker's state later than after (time.time())."""
        db = self.dir / "mosquitto.db"
        wait_until(lambda: db.exists() and db.stat().st_mtime > after + 0.1, 10,
                   "the broker's autosave")

    def kill(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stop()


class Sub:
    """mosquitto_sub -v on prefix/# at QoS 1 with a persistent session; every
    (topic, payload) line it prints, in order."""

    def __init__(self, broker, prefix="hz", client_id="tester"):
        self.popen = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-v", "-q", "1",
             "-c", "-i", client_id, "-t", f"{prefix}/#"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            topic, _, payload = line.rstrip("\n").partition(" ")
            with self.lock:
                self.lines.append((topic, payload))

    def messages(self, topic):
        with self.lock:
            return [p for t, p in self.lines if t == topic]

    def events(self):
        return [json.loads(p) for p in self.messages("hz/events")]

    def stop(self):
        self.popen.terminate()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            # SIGTERM makes mosquitto_sub send DISCONNECT first; with the broker already
            # stopped (or too loaded to answer) that can outlast the wait.
            self.popen.kill()
            self.popen.wait(5)


@pytest.fixture
def subs():
    made = []
    yield made
    for s in made:
        s.stop()


def config(broker, extra=""):
    return f"""bus:
  backoff_min: 100ms
  backoff_max: 1s
  mqtt:
    url: mqtt://127.0.0.1:{broker.port}
    topic_prefix: hz
    client_id: horus-test
{extra}cameras:
{CAMS}"""


T0_MS = (int(time.time()) - 3600) * 1000


def post(h, cam, n, label="person"):
    status, _, body = h.request("POST", "/api/v1/events",
                                {"camera": cam, "label": label, "score": 0.8,
                                 "start": T0_MS + n * 1000, "duration_s": 2})
    assert status == 201, body
    return json.loads(body)["id"]


def bus_health(h):
    """The mqtt member of /health's bus component, checked against the OpenAPI document."""
    if not getattr(h, "spec", None):
        h.spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    status, headers, body = h.request("GET", "/health")
    assert status == 200
    doc = h.spec.validate("GET", "/health", status, headers["Content-Type"], body)
    doc = doc if isinstance(doc, dict) else json.loads(body)
    assert doc["bus"]["status"] == ("ok" if doc["bus"]["mqtt"]["state"] == "connected"
                                    else "degraded")
    return doc["bus"]["mqtt"]


def delivered(sub, ids):
    """Whether every id has its "new" and its "end" on hz/events."""
    seen = {(e["after"]["id"], e["type"]) for e in sub.events()}
    return all((i, t) in seen for i in ids for t in ("new", "end"))


HA_SCHEMA = json.loads((Path(__file__).parent / "ha_discovery.schema.json").read_text())


SWITCHES = ("recordings", "detect", "motion")


def ha_dump(broker):
    """Every retained message under homeassistant/ on the broker, {topic: payload}: what
    a Home Assistant starting now would read."""
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-v",
                          "-t", "homeassistant/#", "--retained-only", "-W", "1"],
                         capture_output=True, text=True, timeout=10)
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def ha_topics(labels, switches=False):
    """The discovery config topics of each camera of labels ({camera: [label, ...]})."""
    entities = [("camera", "snapshot"), ("sensor", "objects"), ("binary_sensor", "occupancy"),
                ("binary_sensor", "motion_detected")]
    entities += [("switch", w) for w in SWITCHES] if switches else []
    return {f"homeassistant/{comp}/horus-test/{cam}_{obj}/config"
            for cam, names in labels.items()
            for comp, obj in entities + [e for n in names for e in
                                         (("sensor", f"{n}_count"),
                                          ("binary_sensor", f"{n}_occupancy"))]}


def check_discovery(broker, labels=None, switches=False):
    """The broker's retained discovery messages are exactly those of each camera of labels
    ({camera: [label, ...]}; default cam-a..c with Frigate's "person") and each payload
    follows the schema written from Home Assistant's documentation: a camera showing
    <prefix>/<camera>/snapshot, the open events and their occupancy, motion, a count and an
    occupancy per label, and with commands on a switch per command."""
    labels = labels or {f"cam-{c}": ["person"] for c in "abc"}
    want = ha_topics(labels, switches)
    try:
        dump = wait_until(lambda: (lambda d: d if set(d) == want else None)(ha_dump(broker)), 10,
                          "the discovery messages")
    except AssertionError:
        got = set(ha_dump(broker))
        raise AssertionError(f"missing {sorted(want - got)}, not wanted {sorted(got - want)}")
    unique = set()
    for topic, text in dump.items():
        component = topic.split("/")[1]
        doc = json.loads(text)
        jsonschema.Draft202012Validator({**HA_SCHEMA, "$ref": f"#/$defs/{component}"}).validate(doc)
        cam, _, obj = topic.split("/")[3].partition("_")
        if component == "switch":
            assert doc["command_topic"] == f"hz/{cam}/{obj}/set"
            assert doc["state_topic"] == f"hz/{cam}/{obj}/state"
            assert (doc["payload_on"], doc["payload_off"]) == ("ON", "OFF")
        elif component == "camera":
            assert doc["topic"] == f"hz/{cam}/snapshot" and "image_encoding" not in doc
        elif obj == "motion_detected":
            assert doc["state_topic"] == f"hz/{cam}/motion" and doc["device_class"] == "motion"
        elif obj in ("objects", "occupancy"):
            assert doc["state_topic"] == f"hz/{cam}/all"
        else:  # a label's count or occupancy
            label = obj.rpartition("_")[0]
            assert doc["state_topic"] == f"hz/{cam}/{label}", topic
            assert doc["name"].lower() == f"{label} {obj.rpartition('_')[2]}"
        assert doc["availability_topic"] == "hz/available"
        assert doc["device"]["identifiers"] == [f"horus-test_{cam}"]
        unique.add(doc["unique_id"])
    assert len(unique) == len(want)
    return dump


def test_events_arrive_frigate_shaped_and_availability_follows_the_daemon(
        tmp_path, horus_factory, subs):
    broker = Broker(tmp_path / "broker")
    try:
        sub = Sub(broker)
        subs.append(sub)
        h = horus_factory(config(broker))
        wait_until(lambda: sub.messages("hz/available")[-1:] == ["online"], 10, "online")
        check_discovery(broker)
        # <prefix>/stats, published once connected (then every stats_interval).
        stats = json.loads(wait_until(lambda: sub.messages("hz/stats"), 10, "stats")[0])
        assert stats["service"]["version"] and stats["service"]["uptime"] >= 0
        assert stats["cameras"] == {f"cam-{c}": {"open_events": 0} for c in "abc"}
        ids = [post(h, "cam-a", 0), post(h, "cam-b", 1)]
        wait_until(lambda: delivered(sub, ids), 10, "both events on hz/events")
        for i, cam in zip(ids, ("cam-a", "cam-b")):
            mine = [e for e in sub.events() if e["after"]["id"] == i]
            assert [e["type"] for e in mine] == ["new", "end"]
            for e in mine:
                after = e["after"]
                assert after["camera"] == cam and after["label"] == "person"
                assert after["score"] == 0.8 and after["has_clip"] is True
                assert after["start_time"] == pytest.approx(T0_MS / 1000 + ids.index(i), abs=1e-3)
                assert after["end_time"] == pytest.approx(after["start_time"] + 2, abs=1e-3)
                assert e["before"]["id"] == i
        # Frigate's counts of open events: each posted event opens and ends at once (the
        # first 0, at connect, is what Home Assistant's sensors show before any event).
        wait_until(lambda: sub.messages("hz/cam-a/person") == ["0", "1", "0"] and
                   sub.messages("hz/cam-b/all") == ["0", "1", "0"], 10, "the object counts")
        # A motion event is Frigate's <camera>/motion ON, then OFF (OFF from the connect).
        post(h, "cam-c", 2, label="motion")
        wait_until(lambda: sub.messages("hz/cam-c/motion") == ["OFF", "ON", "OFF"], 10,
                   "motion")
        # The subscriber may see a message before the PUBACK reaches Horus.
        wait_until(lambda: h.metric('horus_bus_published_total{bus="mqtt"}') == 6, 5,
                   "6 acknowledged")
        assert h.metric('horus_bus_connected{bus="mqtt"}') == 1
        health = bus_health(h)
        assert health["state"] == "connected" and health["connected_since"]
        # Retained: a subscriber arriving later still learns that Horus is online.
        late = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                               "-t", "hz/available", "-C", "1", "-W", "5"],
                              capture_output=True, text=True, timeout=10)
        assert late.stdout.strip() == "online"
        # kill -9 leaves no goodbye: the broker publishes the will.
        h.proc.signal(signal.SIGKILL)
        wait_until(lambda: sub.messages("hz/available")[-1:] == ["offline"], 10,
                   "the will 'offline'")
    finally:
        broker.kill()


def test_home_assistant_entities_follow_the_cameras_and_deleted_ones_are_cleared(
        tmp_path, subs):
    broker = Broker(tmp_path / "broker")
    hdir = tmp_path / "h"
    hdir.mkdir()
    cam_c = '  - id: cam-c\n    url: "rtsp://127.0.0.1:9/c"\n    enabled: false\n'
    assert cam_c in CAMS
    # cam-a's analytics names its labels: they, not Frigate's default "person", get entities.
    labelled = config(broker).replace('url: "rtsp://127.0.0.1:9/a"\n    enabled: false\n',
                                      'url: "rtsp://127.0.0.1:9/a"\n    enabled: false\n'
                                      '    analytics:\n      objects:\n'
                                      '        labels: [car, dog]\n')
    h = Horus(hdir, labelled)
    try:
        sub = Sub(broker)
        subs.append(sub)
        cams = {"cam-a": ["car", "dog"], "cam-b": ["person"], "cam-c": ["person"]}
        check_discovery(broker, cams)
        # Home Assistant (re)started: the counts, not retained, are said again.
        seen = len(sub.messages("hz/cam-a/dog"))
        mqtt_pub(broker, "homeassistant/status", "online")
        wait_until(lambda: sub.messages("hz/cam-a/dog")[seen:] == ["0"], 5, "the counts again")
        # A camera added through the API appears, its motion state retained...
        assert h.request("POST", "/api/v1/cameras", {"id": "yard", "url": "rtsp://127.0.0.1:9/y",
                                                    "enabled": False})[0] == 201
        check_discovery(broker, {**cams, "yard": ["person"]})
        wait_until(lambda: retained(broker, "hz/yard/motion") == "OFF", 5, "yard's motion")
        # ...and deleted, its configs and its retained states are cleared.
        assert h.request("DELETE", "/api/v1/cameras/yard")[0] == 204
        check_discovery(broker, cams)
        wait_until(lambda: retained(broker, "hz/yard/motion", 1) == "", 5, "yard's motion cleared")
        assert h.stop() == 0
        assert not sanitizer_reports([h])  # its log is replaced by the next start's
        # Gone while Horus was stopped (cam-c out of horus.yaml, "dog" out of cam-a's
        # analytics): cleared at the next connect, from the topics saved in the database.
        h = Horus(hdir, labelled.replace(cam_c, "").replace("[car, dog]", "[car]"), port=h.port)
        check_discovery(broker, {"cam-a": ["car"], "cam-b": ["person"]})
        assert retained(broker, "hz/cam-c/motion", 1) == ""
        assert retained(broker, "hz/cam-b/motion") == "OFF"
    finally:
        h.stop()
        broker.kill()
    reports = sanitizer_reports([h])
    assert not reports, reports


def test_a_broker_killed_during_a_burst_loses_nothing_and_keeps_camera_order(
        tmp_path, horus_factory, subs):
    broker = Broker(tmp_path / "broker")
    try:
        sub = Sub(broker)
        subs.append(sub)
        h = horus_factory(config(broker))
        first = post(h, "cam-a", 0)
        wait_until(lambda: delivered(sub, [first]), 10, "the first event")
        broker.wait_saved(time.time())  # the subscriber's session survives the kill
        broker.kill()
        killed_at = time.monotonic()
        posted = {c: [] for c in ("cam-a", "cam-b", "cam-c")}
        for n in range(30):
            cam = ("cam-a", "cam-b", "cam-c")[n % 3]
            posted[cam].append(post(h, cam, n + 1))
        # The outage shows: disconnected, the cause named, the backlog counted.
        wait_until(lambda: bus_health(h)["state"] != "connected" and
                   bus_health(h)["backlog"] >= 60, 10, "the outage in /health")
        health = bus_health(h)
        assert "refused" in health["error"].lower() or "lost" in health["error"].lower(), health
        assert h.metric('horus_bus_connected{bus="mqtt"}') == 0
        assert h.metric('horus_bus_queue_depth{bus="mqtt"}') >= 60
        time.sleep(max(0.0, 10 - (time.monotonic() - killed_at)))
        broker.start()
        every = [i for ids in posted.values() for i in ids]
        try:
            wait_until(lambda: delivered(sub, every), 20, "every event of the burst")
        except AssertionError:
            raise AssertionError(f"health {bus_health(h)}, {len(sub.events())} received, "
                                 f"subscriber exit {sub.popen.poll()}")
        # At least once; in order per camera (first arrival of each "new").
        for cam, ids in posted.items():
            order = []
            for e in sub.events():
                if e["type"] == "new" and e["after"]["camera"] == cam and \
                        e["after"]["id"] not in order and e["after"]["id"] != first:
                    order.append(e["after"]["id"])
            assert order == ids, cam
        wait_until(lambda: bus_health(h)["state"] == "connected" and
                   bus_health(h)["backlog"] == 0, 10, "caught up")
        assert h.metric('horus_bus_published_total{bus="mqtt"}') >= 62
        assert h.metric('horus_bus_dropped_total{bus="mqtt"') == 0
    finally:
        broker.kill()


def test_a_backlog_left_at_a_restart_is_delivered_by_the_next_start(tmp_path, subs):
    broker = Broker(tmp_path / "broker")
    hdir = tmp_path / "h"
    hdir.mkdir()
    h = Horus(hdir, config(broker))
    try:
        wait_until(lambda: bus_health(h)["state"] == "connected", 10, "connected")
        broker.kill()
        ids = [post(h, "cam-b", n) for n in range(5)]
        assert h.stop() == 0
        assert not sanitizer_reports([h])  # its log is replaced by the next start's
        broker.start()
        sub = Sub(broker, client_id="late")  # subscribes before the daemon is back
        subs.append(sub)
        wait_until(lambda: " as late " in broker.proc.output(), 10, "the subscriber")
        h = Horus(hdir, config(broker), port=h.port)
        wait_until(lambda: delivered(sub, ids), 15, "the backlog after the restart")
        assert [e["after"]["id"] for e in sub.events() if e["type"] == "new"][:5] == ids
    finally:
        h.stop()
        broker.kill()
    reports = sanitizer_reports([h])
    assert not reports, reports


def test_refused_credentials_are_named_in_health_and_events_are_still_stored(
        tmp_path, horus_factory):
    broker = Broker(tmp_path / "broker", user=("horus", "right-pass"))
    try:
        h = horus_factory(config(broker).replace(
            "    client_id: horus-test\n",
            "    client_id: horus-test\n    username: horus\n    password: wrong-pass-xyz\n"))
        wait_until(lambda: bus_health(h)["state"] == "failed", 10, "state failed")
        health = bus_health(h)
        assert "not authorised" in health["error"], health
        assert f"127.0.0.1:{broker.port}" in health["error"]
        i = post(h, "cam-c", 0)
        status, ev = h.get_json(f"/api/v1/events/{i}")
        assert status == 200 and ev["camera"] == "cam-c"
        wait_until(lambda: bus_health(h)["backlog"] >= 2, 10, "the event waiting in the outbox")
        assert h.proc.popen.poll() is None
        assert h.metric('horus_bus_connected{bus="mqtt"}') == 0
        _, _, page = h.request("GET", "/api/v1/system/config")
        assert b"wrong-pass-xyz" not in page
        assert "wrong-pass-xyz" not in h.proc.output()
    finally:
        broker.kill()


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr


def test_mqtts_needs_a_certificate_it_can_verify(tmp_path, horus_factory):
    d = tmp_path / "certs"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "30", "-subj", "/CN=Horus Test CA", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "b.key", "-out", "b.csr",
            "-subj", "/CN=localhost", cwd=d)
    (d / "b.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "b.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "b.pem", "-days", "30", "-extfile", "b.ext", cwd=d)
    broker = Broker(tmp_path / "broker", tls=(d / "ca.pem", d / "b.pem", d / "b.key"))
    try:
        tls = config(broker).replace("mqtt://", "mqtts://")
        # Verification is on by default: the system's CAs do not know the test CA.
        refused = horus_factory(tls)
        wait_until(lambda: bus_health(refused)["state"] == "failed", 10, "TLS refused")
        assert "certificate verify failed" in bus_health(refused)["error"]
        # With the CA that signed the broker's certificate it connects and delivers.
        h = horus_factory(tls.replace("    client_id: horus-test\n",
                                      f"    client_id: horus-tls\n    tls_ca: {d / 'ca.pem'}\n"))
        wait_until(lambda: bus_health(h)["state"] == "connected", 10, "connected over TLS")
        post(h, "cam-a", 0)
        wait_until(lambda: bus_health(h)["published"] == 2, 10, "new and end acknowledged")
    finally:
        broker.kill()


def test_messages_past_the_retention_are_dropped_counted_and_the_rest_flows(
        tmp_path, horus_factory, subs):
    broker = Broker(tmp_path / "broker")
    try:
        h = horus_factory(config(broker, "  outbox_retention: 1s\n"))
        wait_until(lambda: bus_health(h)["state"] == "connected", 10, "connected")
        broker.kill()
        old = [post(h, "cam-a", n) for n in range(3)]
        # The outbox does not keep what no bus delivered for longer than the retention.
        wait_until(lambda: bus_health(h)["state"] != "connected" and
                   bus_health(h)["backlog"] == 0, 10, "the expired messages trimmed")
        broker.start()
        sub = Sub(broker)
        subs.append(sub)
        wait_until(lambda: " as tester " in broker.proc.output(), 10, "the subscriber")
        wait_until(lambda: bus_health(h)["state"] == "connected", 10, "connected again")
        new = post(h, "cam-a", 10)
        wait_until(lambda: delivered(sub, [new]), 10, "the event after the outage")
        assert not {e["after"]["id"] for e in sub.events()} & set(old)
        wait_until(lambda: h.metric('horus_bus_dropped_total{bus="mqtt",reason="expired"}') == 6,
                   5, "6 messages counted as dropped")
        h.wait_for_log(lambda line: line.get("module") == "bus" and
                       "dropped by bus.outbox_retention" in line.get("msg", ""))
    finally:
        broker.kill()


@pytest.fixture
def vtest_short(tmp_path):
    """12 s of vtest.avi (pedestrians) as H.264 for camsim."""
    from test_detect_pipeline import MODEL, VTEST
    for f in (MODEL, VTEST):
        if not f.exists():
            pytest.fail(f"{f} is missing; run scripts/deps-detect")
    out = tmp_path / "vtest.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(VTEST), "-t", "12",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-an", str(out)],
                   check=True, timeout=120)
    return out


def test_a_detected_person_brings_updates_counts_and_a_snapshot(
        tmp_path, vtest_short, camsim_factory, horus_factory, subs):
    from test_detect_pipeline import LABELS, MODEL
    broker = Broker(tmp_path / "broker")
    try:
        sub = Sub(broker)
        subs.append(sub)
        cam = camsim_factory(args=["--source", str(vtest_short)])
        h = horus_factory(
            f"detect:\n  enabled: true\n  fps: 5\n"
            f"  detector:\n    model: \"{MODEL}\"\n    labels: \"{LABELS}\"\n"
            "events:\n  min_frames: 2\n" + config(broker).replace(
                CAMS, f"  - id: walk\n    url: \"{cam.url(1)}\"\n"))
        # The analysis' own events: a person opens, its count rises, its best view is
        # published as a JPEG, retained.
        wait_until(lambda: any(t == "hz/walk/person/snapshot" for t, _ in sub.lines), 60,
                   "a snapshot")
        # The same JPEG on <camera>/snapshot, which Home Assistant's camera entity shows.
        for topic in ("hz/walk/person/snapshot", "hz/walk/snapshot"):
            snap = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                                   "-t", topic, "-C", "1", "-W", "10", "-N"],
                                  capture_output=True, timeout=20)
            assert snap.stdout[:2] == b"\xff\xd8" and snap.stdout[-2:] == b"\xff\xd9", topic
        wait_until(lambda: "1" in sub.messages("hz/walk/person"), 10, "a person counted")
        first = next(e for e in sub.events() if e["type"] == "new")
        assert first["after"]["camera"] == "walk" and first["after"]["source"] == "detector"
    finally:
        broker.kill()


def mqtt_pub(broker, topic, payload, retain=False):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                    "-t", topic, "-m", payload, *(["-r"] if retain else [])],
                   check=True, timeout=10)


def retained(broker, topic, wait_s=2):
    """What a subscriber arriving now receives on topic (its retained message), or ""."""
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                          "-t", topic, "-C", "1", "-W", str(wait_s)],
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def commands(h, command, result):
    return h.metric(f'horus_bus_commands_total{{bus="mqtt",command="{command}",'
                    f'result="{result}"}}')


def test_commands_switch_a_camera_and_what_is_refused_changes_nothing(
        tmp_path, camsim_factory, subs):
    broker = Broker(tmp_path / "broker")
    cam = camsim_factory()
    hdir = tmp_path / "h"
    hdir.mkdir()
    on = config(broker).replace("    client_id: horus-test\n",
                                "    client_id: horus-test\n    commands: true\n"
                                "    stats_interval: 1s\n").replace(
        CAMS, '  - id: fixed\n    url: "rtsp://127.0.0.1:9/x"\n    enabled: false\n')
    h = Horus(hdir, on)
    try:
        sub = Sub(broker)
        subs.append(sub)
        # Subscribed once the states are out (they follow the SUBSCRIBE on the connection).
        for w in SWITCHES:
            wait_until(lambda: retained(broker, f"hz/fixed/{w}/state") == "ON", 10, w)
        check_discovery(broker, {"fixed": ["person"]}, switches=True)
        assert h.request("POST", "/api/v1/cameras", {"id": "live", "url": cam.url(1)})[0] == 201
        wait_until(lambda: h.get_json("/api/v1/cameras/live")[1]["status"]["recording"], 20,
                   "recording")
        # recordings/set OFF: stored like the API's record.enabled, the pipeline follows,
        # acknowledged retained.
        mqtt_pub(broker, "hz/live/recordings/set", "OFF")
        wait_until(lambda: sub.messages("hz/live/recordings/state")[-1:] == ["OFF"], 10, "OFF")
        assert retained(broker, "hz/live/recordings/state") == "OFF"
        assert h.get_json("/api/v1/cameras/live")[1]["record"]["enabled"] is False
        wait_until(lambda: not h.get_json("/api/v1/cameras/live")[1]["status"]["recording"],
                   10, "recording stopped")
        mqtt_pub(broker, "hz/live/recordings/set", "ON")
        wait_until(lambda: h.get_json("/api/v1/cameras/live")[1]["status"]["recording"], 20,
                   "recording again")
        assert retained(broker, "hz/live/recordings/state") == "ON"
        # detect and motion: the analytics document's switches.
        mqtt_pub(broker, "hz/live/detect/set", "OFF")
        mqtt_pub(broker, "hz/live/motion/set", "OFF")
        wait_until(lambda: sub.messages("hz/live/motion/state")[-1:] == ["OFF"], 10, "motion")
        assert sub.messages("hz/live/detect/state")[-1:] == ["OFF"]
        doc = h.get_json("/api/v1/cameras/live/analytics")[1]
        assert doc["enabled"] is False and doc["motion"]["enabled"] is False
        assert commands(h, "recordings", "applied") == 2
        assert commands(h, "detect", "applied") == 1 and commands(h, "motion", "applied") == 1
        # Audited like the API's updates, by the system actor "mqtt".
        _, page = h.get_json("/api/v1/audit?action=camera.updated&order=asc&limit=100")
        assert [(e["actor"]["kind"], e["actor"]["name"], e["target"]["id"], e["details"])
                for e in page["items"]] == \
            [("system", "mqtt", "live", {"method": "MQTT", "fields": [f]})
             for f in ("record", "record", "analytics", "analytics")]
        # A change made through the API reaches the state topic with the next stats.
        assert h.request("PATCH", "/api/v1/cameras/live", {"record": {"enabled": False}})[0] == 200
        wait_until(lambda: sub.messages("hz/live/recordings/state")[-1:] == ["OFF"], 5,
                   "the API's change on the state topic")
        assert h.request("PATCH", "/api/v1/cameras/live", {"record": {"enabled": True}})[0] == 200
        wait_until(lambda: sub.messages("hz/live/recordings/state")[-1:] == ["ON"], 5, "ON")
        # Refused, counted, nothing changes: an unknown camera, a bad payload, an unknown
        # command, a camera provisioned from horus.yaml (its state said again, unchanged).
        before = {c: h.get_json(f"/api/v1/cameras/{c}")[1]["updated_at"] for c in
                  ("live", "fixed")}
        mqtt_pub(broker, "hz/nope/recordings/set", "OFF")
        mqtt_pub(broker, "hz/live/recordings/set", "off")
        mqtt_pub(broker, "hz/live/snapshots/set", "OFF")
        mqtt_pub(broker, "hz/fixed/recordings/set", "OFF")
        wait_until(lambda: commands(h, "recordings", "refused") == 3 and
                   commands(h, "unknown", "refused") == 1, 10, "the refusals counted")
        assert sub.messages("hz/fixed/recordings/state")[-1:] == ["ON"]
        assert not sub.messages("hz/nope/recordings/state")
        for c, t in before.items():
            cur = h.get_json(f"/api/v1/cameras/{c}")[1]
            assert cur["updated_at"] == t and cur["record"]["enabled"] is True, c
        assert commands(h, "recordings", "applied") == 2
        h.wait_for_log(lambda line: "provisioned from horus.yaml" in line.get("msg", "") and
                       line.get("topic") == "hz/fixed/recordings/set")
        h.wait_for_log(lambda line: "payload must be ON or OFF" in line.get("msg", ""))
        assert h.stop() == 0
        assert not sanitizer_reports([h])  # its log is replaced by the next start's
        # A command the broker retained is replayed at each subscription: refused, or it
        # would undo later changes at every reconnect.
        mqtt_pub(broker, "hz/live/recordings/set", "OFF", retain=True)
        h = Horus(hdir, on, port=h.port)
        wait_until(lambda: commands(h, "recordings", "refused") == 1, 10, "the replay refused")
        assert h.get_json("/api/v1/cameras/live")[1]["record"]["enabled"] is True
        mqtt_pub(broker, "hz/live/recordings/set", "", retain=True)  # clears it
        assert h.stop() == 0
        assert not sanitizer_reports([h])
        # Commands off (the default; same client id and session): a set message changes
        # nothing.
        h = Horus(hdir, on.replace("    commands: true\n", ""), port=h.port)
        wait_until(lambda: bus_health(h)["state"] == "connected", 10, "connected")
        mqtt_pub(broker, "hz/live/recordings/set", "OFF")
        ev = post(h, "fixed", 0)  # published after the command reached the broker
        wait_until(lambda: delivered(sub, [ev]), 10, "an event after the command")
        time.sleep(1)
        assert h.get_json("/api/v1/cameras/live")[1]["record"]["enabled"] is True
        assert commands(h, "recordings", "applied") + commands(h, "recordings", "refused") == 0
    finally:
        h.stop()
        broker.kill()
    reports = sanitizer_reports([h])
    assert not reports, reports


def v5_messages(broker, topic, count, wait_s=30):
    """(user properties, content type, payload length) of count messages on topic, read
    with an MQTT 5 mosquitto_sub."""
    out = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                          "-V", "mqttv5", "-t", topic, "-C", str(count), "-W", str(wait_s),
                          "-F", "%P|%C|%l"],
                         capture_output=True, text=True, errors="replace", timeout=wait_s + 10)
    rows = []
    for line in out.stdout.splitlines():
        props, ctype, length = line.rsplit("|", 2)
        rows.append((dict(p.split(":", 1) for p in props.split() if ":" in p), ctype,
                     int(length)))
    return rows


def test_mqtt_5_carries_frame_headers_as_user_properties(tmp_path, camsim_factory,
                                                         horus_factory):
    broker = Broker(tmp_path / "broker")
    try:
        cam = camsim_factory()
        h = horus_factory(config(broker).replace(
            "    client_id: horus-test\n",
            "    client_id: horus-test\n    protocol: 5\n").replace(
            CAMS, f"  - id: door\n    url: \"{cam.url(1)}\"\n") + """frames:
  cameras:
    - id: door
      fps: 2
      buses: [mqtt]
""")
        wait_until(lambda: bus_health(h)["state"] == "connected", 30, "the MQTT 5 bus connected")
        frames = v5_messages(broker, "hz/door/frames", 2)
        assert len(frames) == 2, frames
        for props, ctype, length in frames:
            assert ctype == "image/jpeg" and length > 1000, (ctype, length)
            assert props["horus-camera"] == "door", props
            assert abs(int(props["horus-capture-us"]) / 1e6 - time.time()) < 10, props
        assert int(frames[1][0]["horus-sequence"]) > int(frames[0][0]["horus-sequence"])
        # Events keep their JSON content type; the subscription is there before the post.
        got = []
        reader = threading.Thread(target=lambda: got.extend(v5_messages(broker, "hz/events", 1)))
        reader.start()
        time.sleep(1)
        post(h, "door", 1)
        reader.join(40)
        assert got and got[0][1] == "application/json", got
    finally:
        broker.kill()
