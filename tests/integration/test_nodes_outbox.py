"""The outbox across nodes (docs/design/0071-outbox-across-nodes.md), on a real PostgreSQL 15
with two nodes, a real mosquitto and a webhook receiver: both nodes configure the same MQTT
bus and see the same webhook target, and each message still goes out once, from the one node
that holds the consumer; kill -9 that node and the other delivers what follows, from where
the cursor was, within node.ttl and a renewal."""
import collections
import os
import signal
import time

from conftest import wait_until
from test_bus_mqtt import (Broker, Sub, commands, delivered, ha_dump, mqtt_pub, post,  # noqa: F401
                           retained, subs)
from test_nodes import TTL, node_yaml
from test_postgres import new_db, pg  # noqa: F401 (the fixture)
from test_webhooks import Receiver

CAMS = "".join(f'  - id: cam-{c}\n    url: "rtsp://127.0.0.1:9/{c}"\n    enabled: false\n'
               for c in "ab")


def counts(sub, rx):
    """How many times each (event id, type) reached MQTT, and the webhook."""
    m = collections.Counter((e["after"]["id"], e["type"]) for e in sub.events())
    w = collections.Counter((b["after"]["id"], b["type"]) for _, b in rx.messages())
    return m, w


def holder_of(nodes, consumer):
    """The node whose log says it delivers consumer now (the last such line wins)."""
    said = {}
    for name, h in nodes.items():
        out = h.proc.output()
        took = out.rfind(f"this node delivers {consumer}'s messages")
        left = out.rfind(f"another node delivers {consumer}'s messages")
        said[name] = took > left
    held = [n for n, yes in said.items() if yes]
    assert len(held) == 1, said
    return held[0]


def test_each_message_goes_out_once_and_the_survivor_delivers_after_a_kill(
        pg, tmp_path, horus_factory, subs):  # noqa: F811
    _, server = pg
    url = new_db(server, "outbox")
    broker = Broker(tmp_path / "broker")
    sub = Sub(broker)
    subs.append(sub)
    rx = Receiver()

    def start(name):
        extra = (f'secrets:\n  key: "{"6b" * 32}"\n'  # one key for both, as required
                 f"bus:\n  backoff_min: 100ms\n  backoff_max: 1s\n  mqtt:\n"
                 f"    url: mqtt://127.0.0.1:{broker.port}\n    topic_prefix: hz\n"
                 f"    client_id: horus-{name}\n"
                 f"webhooks:\n  backoff_min: 100ms\n  backoff_max: 500ms\ncameras:\n{CAMS}")
        return horus_factory(node_yaml(url, name, extra), name=name)

    nodes = {"east": start("east"), "west": start("west")}
    east, west = nodes["east"], nodes["west"]
    status, _, body = east.request("POST", "/api/v1/webhooks", {"id": "ops", "url": rx.url})
    assert status == 201, body
    time.sleep(1.5)  # both nodes' webhook engines pick the target up
    ids = [post(nodes["east" if i % 2 else "west"], "cam-a", i) for i in range(6)]
    wait_until(lambda: delivered(sub, ids) and all(v for v in counts(sub, rx)[1].values())
               and len(counts(sub, rx)[1]) >= 12, 20, "every message on MQTT and the webhook")
    time.sleep(2 * TTL)  # a second deliverer would have sent its copies by now
    m, w = counts(sub, rx)
    assert set(m) == set(w) == {(i, t) for i in ids for t in ("new", "end")}, (m, w)
    assert max(m.values()) == 1 and max(w.values()) == 1, ("delivered twice", m, w)

    mqtt_at, hook_at = holder_of(nodes, "mqtt"), holder_of(nodes, "webhook:ops")
    victim = nodes[mqtt_at]
    survivor = nodes["west" if mqtt_at == "east" else "east"]
    os.killpg(victim.proc.popen.pid, signal.SIGKILL)
    victim.proc.popen.wait()
    killed = time.monotonic()
    later = [post(survivor, "cam-b", 10 + i) for i in range(3)]
    wait_until(lambda: delivered(sub, later), TTL + 15, "MQTT from the survivor")
    took = time.monotonic() - killed
    wait_until(lambda: all(counts(sub, rx)[1][(i, t)] for i in later for t in ("new", "end")),
               TTL + 15, "the webhook from the survivor")
    time.sleep(2)
    m, w = counts(sub, rx)
    assert all(m[(i, t)] == 1 and w[(i, t)] == 1 for i in later for t in ("new", "end")), (m, w)
    assert holder_of({"s": survivor}, "mqtt") == "s"
    print(f"\noutbox: mqtt was on {mqtt_at}, the webhook on {hook_at}; after kill -9 of "
          f"{mqtt_at} the survivor delivered on MQTT {took:.1f} s later (node.ttl {TTL} s)")


def test_one_node_is_the_mqtt_service_and_the_others_stand_by(pg, tmp_path, horus_factory,  # noqa: F811
                                                              subs):  # noqa: F811
    """Home Assistant sees one Horus, whichever node delivers: only that node's last will is
    <prefix>/available, so a standby that dies leaves it online and the deliverer's death
    turns it offline until a survivor takes over and says online; a command is applied once,
    by the deliverer; discovery names one device id for all nodes (the topic prefix)."""
    _, server = pg
    url = new_db(server, "mqtt_roles")
    broker = Broker(tmp_path / "broker")
    sub = Sub(broker)
    subs.append(sub)

    def start(name):
        extra = (f'secrets:\n  key: "{"6b" * 32}"\n'
                 f"bus:\n  backoff_min: 100ms\n  backoff_max: 1s\n  mqtt:\n"
                 f"    url: mqtt://127.0.0.1:{broker.port}\n    topic_prefix: hz\n"
                 "    commands: true\n    discovery: true\n")  # client_id left at the default
        return horus_factory(node_yaml(url, name, extra), name=name)

    nodes = {n: start(n) for n in ("east", "north", "west")}
    status, _, body = nodes["east"].request(
        "POST", "/api/v1/cameras", {"id": "door", "url": "rtsp://127.0.0.1:9/x",
                                    "enabled": False})
    assert status == 201, body
    def said_deliverer():
        try:
            who = holder_of(nodes, "mqtt")
        except AssertionError:  # not said yet (info lines are written a second late)
            return None
        return who if retained(broker, "hz/available") == "online" else None

    deliverer = wait_until(said_deliverer, 15, "a deliverer")
    # The default client id got each node's id, so the broker keeps all three connected.
    for n, h in nodes.items():
        assert h.wait_for_log(lambda l: l.get("client_id") == f"horus-{n}"), n
    wait_until(lambda: any("/door_" in t for t in ha_dump(broker)), 10, "door announced")
    assert all(t.split("/")[2] == "hz" for t in ha_dump(broker)), sorted(ha_dump(broker))

    def applied():
        return {n: commands(h, "recordings", "applied") for n, h in nodes.items()}

    mqtt_pub(broker, "hz/door/recordings/set", "OFF")
    wait_until(lambda: retained(broker, "hz/door/recordings/state") == "OFF", 10, "OFF")
    time.sleep(1)
    assert applied() == {n: (1 if n == deliverer else 0) for n in nodes}, applied()
    assert nodes[deliverer].get_json("/api/v1/cameras/door")[1]["record"]["enabled"] is False

    # A standby dies: no will of its own, so the service stays online.
    standby = next(n for n in nodes if n != deliverer)
    os.killpg(nodes[standby].proc.popen.pid, signal.SIGKILL)
    nodes[standby].proc.popen.wait()
    time.sleep(1.5)
    assert retained(broker, "hz/available") == "online"
    assert "offline" not in sub.messages("hz/available"), sub.messages("hz/available")

    # The deliverer dies: its will says offline, then the last node takes over and says online.
    os.killpg(nodes[deliverer].proc.popen.pid, signal.SIGKILL)
    nodes[deliverer].proc.popen.wait()
    killed = time.monotonic()
    wait_until(lambda: "offline" in sub.messages("hz/available"), 10, "the deliverer's will")
    last = next(n for n in nodes if n not in (standby, deliverer))
    wait_until(lambda: sub.messages("hz/available")[-1:] == ["online"], TTL + 15,
               "the survivor online")
    took = time.monotonic() - killed
    mqtt_pub(broker, "hz/door/recordings/set", "ON")
    wait_until(lambda: retained(broker, "hz/door/recordings/state") == "ON", 10, "ON")
    assert commands(nodes[last], "recordings", "applied") == 1
    assert all(t.split("/")[2] == "hz" for t in ha_dump(broker)), sorted(ha_dump(broker))
    print(f"\nmqtt: {deliverer} delivered; after its kill -9, {last} said online {took:.1f} s "
          f"later (node.ttl {TTL} s)")
