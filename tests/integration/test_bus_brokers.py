"""NATS JetStream and AMQP through the daemon (docs/design/0045): with bus.nats and
bus.amqp set, each event change leaves the outbox on both, in order, as
horus.events.<camera> (a NATS subject captured by the stream Horus made, and
the AMQP routing key on the durable topic exchange), and /health shows both
connected. Real nats-server (JetStream on) and rabbitmq-server on free ports
in temporary directories; the subscribers are a NATS client written here
(the text protocol) and amqp-consume from Debian's amqp-tools. The adapters'
own broker tests (tests/unit/bus) cover outages, TLS and refused logins."""
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import (Proc, free_port, kill_group, require_tool, start_rabbitmq, wait_for_port,
                      wait_until)

T0_MS = (int(time.time()) // 3600 - 1) * 3_600_000


class NatsSub:
    """A core NATS subscriber on subject (the text protocol: CONNECT, SUB, MSG)."""

    def __init__(self, port, subject):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.got = []
        self.lock = threading.Lock()
        self.buf = b""
        self.sock.sendall(b'CONNECT {"verbose":false,"headers":false}\r\nSUB '
                          + subject.encode() + b" 1\r\nPING\r\n")
        threading.Thread(target=self.read, daemon=True).start()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        self.sock.settimeout(None)
        try:
            while True:
                line = self.line()
                if line.startswith(b"PING"):
                    self.sock.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG "):
                    parts = line.split()
                    size = int(parts[-1])
                    while len(self.buf) < size + 2:
                        self.buf += self.sock.recv(65536)
                    body, self.buf = self.buf[:size], self.buf[size + 2:]
                    with self.lock:
                        self.got.append((parts[1].decode(), json.loads(body)))
        except (EOFError, OSError):
            pass

    def messages(self):
        with self.lock:
            return list(self.got)


@pytest.fixture
def brokers(tmp_path):
    require_tool("nats-server")
    nats_port = free_port()
    nats = Proc(["nats-server", "-js", "-a", "127.0.0.1", "-p", nats_port,
                 "-sd", tmp_path / "js"], tmp_path, "nats.log")
    try:
        rabbit, amqp_port = start_rabbitmq(tmp_path / "rabbit", "horus-it")
    except BaseException:
        kill_group(nats)
        raise
    try:
        wait_for_port(nats_port, timeout=10, proc=nats.popen)
        yield {"nats": nats_port, "amqp": f"amqp://horus:rabbit-pw-123@127.0.0.1:{amqp_port}"}
    finally:
        for p in (rabbit, nats):
            kill_group(p)


def health(h):
    status, _, body = h.request("GET", "/health")
    assert status == 200
    return json.loads(body)["bus"]


def test_events_reach_nats_jetstream_and_amqp_in_order(brokers, horus_factory, tmp_path):
    require_tool("amqp-consume")
    h = horus_factory(f"""cameras:
  - id: door
    url: "rtsp://127.0.0.1:9/a"
    enabled: false
  - id: yard
    url: "rtsp://127.0.0.1:9/b"
    enabled: false
bus:
  nats:
    url: "nats://127.0.0.1:{brokers['nats']}"
  amqp:
    url: "{brokers['amqp']}"
""")
    wait_until(lambda: health(h).get("nats", {}).get("state") == "connected" and
               health(h).get("amqp", {}).get("state") == "connected", 60,
               "both buses connected")
    assert "rabbit-pw-123" not in json.dumps(health(h)) + h.proc.output()
    sub = NatsSub(brokers["nats"], "horus.events.>")
    out = open(tmp_path / "amqp.out", "wb")
    consumer = subprocess.Popen(
        ["amqp-consume", "-u", brokers["amqp"], "-e", "horus", "-r", "horus.events.#", "-x",
         "-c", "6", "--", "sh", "-c", "cat; echo"], stdout=out,
        stderr=open(tmp_path / "amqp.err", "wb"),
        start_new_session=True)
    try:
        time.sleep(2)  # the consumer's queue is bound
        ids = []
        for i, cam in enumerate(["door", "yard", "door"]):
            status, _, raw = h.request("POST", "/api/v1/events", {
                "camera": cam, "label": "person", "start": T0_MS + i * 1000,
                "end": T0_MS + i * 1000 + 500})
            assert status == 201, raw
            ids.append((cam, json.loads(raw)["id"]))
        want = [(cam, t, i) for cam, i in ids for t in ("new", "end")]
        wait_until(lambda: len(sub.messages()) >= 6, 20, "6 NATS messages")
        got = [(s.split(".")[-1], m["type"], m["after"]["id"]) for s, m in sub.messages()]
        assert got == want
        assert all(s.startswith("horus.events.") for s, _ in sub.messages())
        consumer.wait(timeout=30)
        out.close()
        bodies = [json.loads(line) for line in
                  (tmp_path / "amqp.out").read_text().splitlines() if line.strip()]
        assert [(b["after"]["camera"], b["type"], b["after"]["id"]) for b in bodies] == want
    finally:
        if consumer.poll() is None:
            os.killpg(consumer.pid, 9)
    bus = health(h)
    assert bus["nats"]["published"] >= 6 and bus["amqp"]["published"] >= 6, bus
    assert h.metric('horus_bus_published_total{bus="nats"}') >= 6
    assert h.metric('horus_bus_connected{bus="amqp"}') == 1
