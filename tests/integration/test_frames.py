"""Frames on RabbitMQ (issue 12 item 2, docs/design/0050): with a `frames:` entry
for two camsim cameras, a real rabbitmq-server on a free port receives, on the
`horus` topic exchange, `horus.frames.<camera>` messages that decode as JPEG
(ffmpeg), 640 pixels wide out of camsim's 1280x720, whose capture-time header is
within 1 s of the UTC clock camsim burnt into the picture (read back here from
the seven-segment digits), single JPEGs for one camera and the versioned batch
container for the other. Then the broker is killed: the frames queue up to
`frames.queue`, the oldest are dropped and counted, the adaptive controller steps
down, and recording goes on (new index rows). The consumer is pika
(python3-pika), the Debian package of RabbitMQ's Python client. Bad `frames:`
entries fail check-config with file:line:col and the key."""
import json
import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest

from conftest import (HORUS_BIN, kill_group, recording_rows, require_tool, start_rabbitmq,
                      wait_until)

try:
    import pika
except ImportError:  # the test says so and fails, as require_tool does
    pika = None

SRC_W, SRC_H = 1280, 720
BATCH_SCHEMA = "horus.frames.batch/1"


@pytest.fixture
def rabbit(tmp_path):
    proc, port = start_rabbitmq(tmp_path / "rabbit", "horus-fr")
    try:
        yield {"port": port, "proc": proc}
    finally:
        kill_group(proc)


class Consumer:
    """pika on its own thread: an exclusive queue bound to horus.frames.# on the exchange."""

    def __init__(self, port):
        params = pika.ConnectionParameters(
            host="127.0.0.1", port=port,
            credentials=pika.PlainCredentials("horus", "rabbit-pw-123"))
        self.conn = pika.BlockingConnection(params)
        self.ch = self.conn.channel()
        q = self.ch.queue_declare(queue="", exclusive=True).method.queue
        self.ch.queue_bind(queue=q, exchange="horus", routing_key="horus.frames.#")
        self.got = []
        self.lock = threading.Lock()
        self.ch.basic_consume(queue=q, on_message_callback=self.on_message, auto_ack=True)
        threading.Thread(target=self.run, daemon=True).start()

    def on_message(self, ch, method, props, body):
        with self.lock:
            self.got.append((method.routing_key, props.content_type, dict(props.headers or {}),
                             body))

    def run(self):
        try:
            self.ch.start_consuming()
        except Exception:  # the broker is killed on purpose
            pass

    def messages(self, key):
        with self.lock:
            return [m for m in self.got if m[0] == key]


def gray(jpeg):
    """The JPEG decoded by ffmpeg: (width, height, luma bytes)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name,width,height", "-of", "json", "-i", "-"],
                           input=jpeg, capture_output=True, timeout=20, check=True)
    st = json.loads(probe.stdout)["streams"][0]
    assert st["codec_name"] == "mjpeg", st
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "rawvideo", "-pix_fmt",
                          "gray", "-"], input=jpeg, capture_output=True, timeout=20, check=True)
    w, h = st["width"], st["height"]
    assert len(raw.stdout) == w * h
    return w, h, raw.stdout


# tools/camsim/pattern.c's seven segments: bit 0 = a (top) clockwise to f, bit 6 = g.
DIGITS = {0x3f: "0", 0x06: "1", 0x5b: "2", 0x4f: "3", 0x66: "4", 0x6d: "5", 0x7d: "6",
          0x07: "7", 0x7f: "8", 0x6f: "9"}


def burnt_clock_us(w, h, pix):
    """The UTC time camsim drew into the top-left corner, read the way pattern.c's
    draw_clock lays it out (at the source size, scaled to this picture)."""
    dh = min(SRC_H // 14, SRC_W // 17)
    dw, t = dh // 2, max(dh // 8, 1)
    gap, pad = t + 1, 2 * t
    s = w / SRC_W

    def lit(x, y):
        return pix[int(y * s) * w + int(x * s)] > 128

    text, x, y = "", 2 * pad, 2 * pad
    layout = "dddd-dd-dd dd:dd:dd.ddd"
    for ch in layout:
        if ch == "d":
            half = dh // 2
            points = [(x + dw / 2, y + t / 2), (x + dw - t / 2, y + dh / 4),
                      (x + dw - t / 2, y + 3 * dh / 4), (x + dw / 2, y + dh - t / 2),
                      (x + t / 2, y + 3 * dh / 4), (x + t / 2, y + dh / 4), (x + dw / 2, y + half)]
            bits = sum(1 << i for i, (px, py) in enumerate(points) if lit(px, py))
            assert bits in DIGITS, f"unreadable digit at x={x} (segments {bits:#04x}) in {text!r}"
            text += DIGITS[bits]
        else:
            text += ch
        x += t + gap if ch in ":." else dw + gap
    when = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1_000_000)


def frames_of(key, content_type, headers, body):
    """[(info dict, jpeg bytes)] of a message: a single JPEG or a batch container."""
    if content_type == "image/jpeg":
        assert headers["horus-schema"] == "horus.frame/1"
        info = {"seq": int(headers["horus-sequence"]),
                "capture_us": int(headers["horus-capture-us"]),
                "width": int(headers["horus-width"]), "height": int(headers["horus-height"]),
                "keyframe": headers["horus-keyframe"] == "true"}
        when = datetime.strptime(headers["horus-capture-time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert abs(when.replace(tzinfo=timezone.utc).timestamp() * 1e6 - info["capture_us"]) < 1e3
        return [(info, body)]
    assert content_type == "application/vnd.horus.frames-batch.v1", content_type
    assert headers["horus-schema"] == BATCH_SCHEMA
    index, data = body.split(b"\n", 1)
    doc = json.loads(index)
    assert doc["schema"] == BATCH_SCHEMA and doc["camera"] == key.split(".")[-1]
    assert int(headers["horus-frames"]) == len(doc["frames"])
    assert sum(f["length"] for f in doc["frames"]) == len(data)
    return [(f, data[f["offset"]:f["offset"] + f["length"]]) for f in doc["frames"]]


def test_frames_reach_rabbitmq_dated_by_the_burnt_clock_and_drop_when_it_stops(
        rabbit, camsim_factory, horus_factory):
    require_tool("ffmpeg")
    if pika is None:
        pytest.fail("python3-pika is not installed; run scripts/setup")
    cam = camsim_factory(["--size", f"{SRC_W}x{SRC_H}", "--fps", "25", "--gop", "12"], paths=2)
    h = horus_factory(f"""cameras:
  - id: door
    url: "{cam.url(1)}"
    record: {{segment_seconds: 2}}
  - id: yard
    url: "{cam.url(2)}"
    record: {{segment_seconds: 2}}
bus:
  amqp:
    url: "amqp://horus:rabbit-pw-123@127.0.0.1:{rabbit['port']}"
frames:
  queue: 3
  cameras:
    - id: door
      fps: 2
      quality: 80
    - id: yard
      fps: 2
      quality: 80
      batch: 2
""")

    def bus_state():
        _, _, body = h.request("GET", "/health")
        return json.loads(body)["bus"].get("amqp", {}).get("state")

    wait_until(lambda: bus_state() == "connected", 60, "the AMQP bus connected")
    consumer = Consumer(rabbit["port"])
    wait_until(lambda: len(consumer.messages("horus.frames.door")) >= 4
               and len(consumer.messages("horus.frames.yard")) >= 2, 30,
               "frames of both cameras on RabbitMQ")

    for key in ("horus.frames.door", "horus.frames.yard"):
        seqs = []
        for _, ctype, headers, body in consumer.messages(key)[:4]:
            assert headers["horus-camera"] == key.split(".")[-1]
            for info, jpeg in frames_of(key, ctype, headers, body):
                w, hh, pix = gray(jpeg)
                assert (w, hh) == (640, 360) == (info["width"], info["height"])
                assert info["keyframe"] is True  # source keyframes: nothing else is decoded
                burnt = burnt_clock_us(w, hh, pix)
                skew_ms = (info["capture_us"] - burnt) / 1e3
                print(f"{key} seq {info['seq']}: capture header - burnt clock = {skew_ms:.1f} ms")
                assert abs(skew_ms) < 1000, (key, info, burnt)
                seqs.append(info["seq"])
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    yard = consumer.messages("horus.frames.yard")[0]
    assert yard[1] == "application/vnd.horus.frames-batch.v1" and len(frames_of(*yard)) == 2
    assert h.metric('horus_frames_published_total{camera="door",bus="amqp"}') >= 4
    assert h.metric('horus_frames_quality_step{camera="door"}') == 0

    # The broker dies: frames pile up to frames.queue and the oldest go, counted; the
    # controller steps down; recording never waits for any of it.
    rows_before = len(recording_rows(h, "door", "main"))
    os.killpg(rabbit["proc"].popen.pid, signal.SIGKILL)
    wait_until(lambda: h.metric('horus_frames_dropped_total{camera="door",reason="frame_queue"}')
               >= 3, 30, "frames dropped from the queue while the broker is down")
    wait_until(lambda: h.metric('horus_frames_quality_step{camera="door"}') >= 2, 20,
               "the adaptive controller stepping down")
    wait_until(lambda: len(recording_rows(h, "door", "main")) >= rows_before + 2, 20,
               "recording rows while the broker is down")
    assert "frames: down to step 1" in h.proc.output()
    assert "rabbit-pw-123" not in h.proc.output()


def test_frames_config_names_a_duplicate_camera_and_an_unconfigured_bus(tmp_path):
    path = tmp_path / "horus.yaml"
    path.write_text("""bus:
  nats:
    url: "nats://127.0.0.1:4222"
frames:
  cameras:
    - id: door
      buses: [nats, amqp]
    - id: door
      quality: 101
""")
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "horus.yaml:9:16: frames.cameras[1].quality:" in r.stderr, r.stderr
    # Cross-field checks run once every field is valid.
    path.write_text(path.read_text().replace("      quality: 101\n", ""))
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert ("horus.yaml:7:21: frames.cameras[0].buses[1]: bus 'amqp' is not configured "
            "(bus.amqp.url is empty)") in r.stderr, r.stderr
    assert "horus.yaml:8:11: frames.cameras[1].id: duplicate camera id 'door'" in r.stderr
