"""WebRTC out (WHEP, docs/design/0055): Debian's chromium, driven by playwright-core
(tests/e2e/play_whep.mjs), makes an RTCPeerConnection, POSTs its offer to Horus and plays
camsim's H.264 over ICE-lite + DTLS-SRTP on the one UDP port, while this test floods that
port with garbage and forged STUN; the viewer keeps decoding frames of camsim's size, and a
viewer that never starts DTLS is dropped, and the page reads camsim's burnt capture clock back
from each displayed frame (glass-to-glass latency, held to a sanity bound only). Bad offers get
a 4xx that names the problem. With only webrtc.tcp_listen set (UDP blocked), chromium plays
over ICE-TCP (RFC 6544) while connections that never bind (silent, half a frame) are closed
at the deadline and a hundred with garbage framing are closed at once beside it."""
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import free_port, require_tool
from openapi_check import OpenApi

E2E = Path(__file__).resolve().parent.parent / "e2e"

NO_H264_OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\n")


# A viewer that never does DTLS: an H.264 offer whose browser never shows up.
SILENT_OFFER = NO_H264_OFFER.replace("SAVPF 96", "SAVPF 102").replace(
    "a=rtpmap:96 VP8/90000\r\n",
    "a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flood(port, stop, counts):
    """Garbage of every first-byte class, and STUN binding requests with made-up
    ufrags and integrity, as fast as a loop sends them."""
    rnd = random.Random(7)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while not stop.is_set():
        kind = rnd.randrange(3)
        if kind == 0:
            data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        elif kind == 1:  # forged STUN binding request: right shape, wrong credentials
            user = b"nope:xxxx"
            attrs = struct.pack("!HH", 0x0006, len(user)) + user + b"\0" * (-len(user) % 4)
            attrs += struct.pack("!HH", 0x0008, 20) + os.urandom(20)
            data = struct.pack("!HHI", 0x0001, len(attrs), 0x2112A442) + os.urandom(12) + attrs
        else:  # DTLS- and RTCP-looking bytes from an address no session bound
            data = bytes([rnd.choice([22, 0x80, 0x81])]) + os.urandom(rnd.randrange(12, 200))
        s.sendto(data, ("127.0.0.1", port))
        counts[kind] += 1
        time.sleep(0.0005)
    s.close()


def start_player(url, seconds, token, *flags):
    node = require_tool("node")
    require_tool("chromium")
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/e2e/node_modules is missing; run scripts/setup")
    return subprocess.Popen([node, str(E2E / "play_whep.mjs"), url, str(seconds), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HORUS_TOKEN": token})


def player_result(proc, seconds):
    out, err = proc.communicate(timeout=seconds + 60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def playing_session(h, spec, timeout):
    """The session list while the viewer plays: one playing session with packets sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, hdrs, raw = h.request("GET", "/api/v1/webrtc/sessions")
        spec.validate("GET", "/api/v1/webrtc/sessions", st, hdrs["Content-Type"], raw)
        items = json.loads(raw)["items"]
        playing = [i for i in items if i["playing"] and i["packets"] > 0]
        if playing:
            return playing
        time.sleep(0.2)
    raise AssertionError("no playing session listed")


def settled_path(h, want, timeout):
    """The playing session's transport, read until it is want (the list is refreshed about
    once a second; a browser may use one pair before it nominates another)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = [i for i in h.get_json("/api/v1/webrtc/sessions")[1]["items"] if i["playing"]]
        seen.append(items[0]["transport"] if items else "")
        if seen[-1] == want:
            break
        time.sleep(0.2)
    return seen


def test_chromium_plays_whep_through_a_flood_and_bad_offers_are_named(camsim_factory,
                                                                         horus_factory):
    sim = camsim_factory(args=["--size", "640x360", "--gop", "25"], paths=2)
    udp = free_udp_port()
    tcp = free_port()  # ICE-TCP on too: its candidates rank below UDP's, so UDP is chosen
    h = horus_factory(f"webrtc:\n  udp_listen: \"127.0.0.1:{udp}\"\n"
                      f"  tcp_listen: \"127.0.0.1:{tcp}\"\n"
                      "  additional_hosts: [192.0.2.99]\n"
                      f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n"
                      f"    sub_url: \"{sim.url(2)}\"\n")
    whep = "/api/v1/cameras/door/whep"
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])

    def post(path, body, ctype="application/sdp", auth=True):
        st, hdrs, raw = h.request("POST", path, body, {"Content-Type": ctype}, auth=auth)
        spec.validate("POST", "/api/v1/cameras/{id}/whep", st, hdrs.get("Content-Type", ""), raw)
        return st, raw

    # Until the camera streams, an offer is 503 naming why; then a viewer whose DTLS never
    # starts gets its answer (it is dropped after 10 s: checked at the end).
    st, body = post(whep, SILENT_OFFER.encode())
    assert st in (201, 503), body
    deadline = time.monotonic() + 15
    while st == 503 and time.monotonic() < deadline:
        assert b"camera 'door' has no" in body, body
        time.sleep(0.3)
        st, body = post(whep, SILENT_OFFER.encode())
    assert st == 201 and b"a=ice-lite" in body, body
    # Host candidates: the listen address, then each additional host, all on the one port.
    assert f"127.0.0.1 {udp} typ host".encode() in body, body
    assert f"192.0.2.99 {udp} typ host".encode() in body, body
    assert f"127.0.0.1 {tcp} typ host tcptype passive".encode() in body, body
    silent = h.request("POST", whep, SILENT_OFFER.encode(),
                       {"Content-Type": "application/sdp"})[1]["Location"]
    # ?stream=sub serves the sub stream; a stream the camera does not have is named.
    deadline = time.monotonic() + 15
    while (st := post(whep + "?stream=sub", SILENT_OFFER.encode())[0]) == 503 \
            and time.monotonic() < deadline:
        time.sleep(0.3)
    assert st == 201
    st, body = post(whep + "?stream=third", SILENT_OFFER.encode())
    assert st == 503 and b"camera 'door' has no stream 'third' streaming now" in body, body
    # Trickle ICE is accepted and not needed (ICE-lite); only its media type is.
    st, _, _ = h.request("PATCH", silent, b"a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n",
                         {"Content-Type": "application/trickle-ice-sdpfrag"})
    assert st == 204
    st, _, body = h.request("PATCH", silent, b"x", {"Content-Type": "application/sdp"})
    assert st == 415 and b"trickle-ice-sdpfrag" in body, body

    # Bad input: each refusal names its problem (and is what openapi.json documents).
    st, body = post(whep, b"hello")
    assert st == 400 and b"line 1: an SDP offer starts with v=0" in body, body
    st, body = post(whep, NO_H264_OFFER.encode())
    assert st == 400 and b"offer has no H.264 or H.265 video (it has VP8)" in body, body
    st, body = post(whep, b"v=0\r\n", "text/plain")
    assert st == 415 and b"application/sdp" in body, body
    st, body = post("/api/v1/cameras/nosuch/whep", b"v=0\r\n")
    assert st == 404, body
    st, _, _ = h.request("DELETE", whep + "/" + "0" * 32)
    assert st == 404
    st, hdrs, _ = h.request("OPTIONS", whep, auth=False)
    assert st == 204 and hdrs.get("Accept-Post") == "application/sdp"
    st, _ = post(whep, b"v=0\r\n", auth=False)
    assert st == 401
    # A live media token of the camera authorises WHEP like live view (the offer is then
    # judged on its merits); an altered one does not.
    st, _, raw = h.request("POST", "/api/v1/cameras/door/share", {"kind": "live"})
    assert st == 200, raw
    token = json.loads(raw)["url"].rsplit("t=", 1)[1]
    st, body = post(f"{whep}?t={token}", b"hello", auth=False)
    assert st == 400 and b"line 1" in body, body
    st, _ = post(f"{whep}?t={token[:-2]}{'AA' if not token.endswith('AA') else 'BB'}", b"hello",
                 auth=False)
    assert st == 401

    # A real viewer while the port is flooded.
    stop, counts = threading.Event(), [0, 0, 0]
    t = threading.Thread(target=flood, args=(udp, stop, counts))
    t.start()
    try:
        player = start_player(h.url + whep, 8, h.api_key, "--g2g", "640x360")
        # Listed while it plays: after chromium starts and connects (seconds on a loaded
        # machine), for the 8 s it plays.
        listed = playing_session(h, spec, 30)
        paths = settled_path(h, "udp", 5)
        out = player_result(player, 8)
    finally:
        stop.set()
        t.join()
    assert len(listed) == 1 and listed[0]["camera"] == "door", listed
    assert listed[0]["peer"].startswith("127.0.0.1:") and listed[0]["bytes"] > 0, listed
    # ICE-TCP is on too, but UDP's candidates rank higher: the media path settles on UDP.
    assert paths[-1] == "udp", paths
    print("whep:", json.dumps({k: v for k, v in out.items() if k != "samples"}),
          "flood:", counts)
    assert out["status"] == 201, out["errors"]
    assert out["content_type"].startswith("application/sdp")
    assert out["location"].startswith(whep + "/") and out["etag"], out
    assert out["ice_lite"] and not out["errors"], out["errors"]
    assert out["connection_state"] == "connected", out
    assert (out["width"], out["height"]) == (640, 360), out
    # Decoding goes on: frames rise over the window, most of camsim's 25 fps.
    frames = [s["frames"] for s in out["samples"]]
    assert frames[-1] >= 4 * 25, out["samples"][-5:]
    mid = frames[len(frames) // 2]
    assert frames[-1] > mid > 0, frames
    assert out["delete_status"] == 204
    # Glass to glass (tests/e2e/lib/g2g.mjs): the page read camsim's burnt capture clock back
    # from the frames it displayed. Only a sanity bound here: the figures are bench/latency's.
    g2g = out["g2g"]
    print("glass to glass:", json.dumps(g2g))
    assert g2g["samples"] >= 50, g2g
    assert g2g["unreadable"] <= g2g["frames"] // 10 and g2g["backwards"] == 0, g2g
    assert 0 < g2g["latency_ms"]["min"] and g2g["latency_ms"]["max"] < 10000, g2g
    assert out["location"].endswith(listed[0]["session"])
    assert sum(counts) > 1000

    # The server's share of the latency: live units only (the kept GOP is left out, so the
    # mean is not seconds), one observation per unit sent.
    sent = h.metric("horus_webrtc_packet_delay_seconds_count")
    mean = h.metric("horus_webrtc_packet_delay_seconds_sum") / max(sent, 1)
    print(f"server delay: {sent:.0f} units, mean {mean * 1000:.2f} ms")
    assert sent >= 50 and 0 < mean < 0.5, (sent, mean)

    # The flood was counted and dropped; the daemon and recording are fine.
    assert h.metric('horus_webrtc_dropped_datagrams_total{reason="not_authenticated"}') > 0
    assert h.metric('horus_webrtc_dropped_datagrams_total{reason="unknown_peer"}') > 0
    h.wait_for_log(lambda l: "no DTLS handshake in time" in l.get("msg", ""), timeout=8)
    deadline = time.monotonic() + 5
    while h.metric("horus_webrtc_sessions") != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert h.metric("horus_webrtc_sessions") == 0
    h.wait_for_log(lambda l: "webrtc session ended" in l.get("msg", "")
                   and "WHEP DELETE" in l.get("msg", ""), timeout=5)
    assert h.proc.popen.poll() is None
    # Watching over WebRTC is audited as a live view, once per client and camera stream.
    _, page = h.get_json("/api/v1/audit?action=live.started")
    views = sorted(e["details"]["stream"] for e in page["items"]
                   if e["target"]["id"] == "door" and e["details"]["transport"] == "webrtc")
    assert views == ["main", "sub"], page["items"]


def wait_closed(sock, timeout):
    """Seconds until the server closed sock (EOF or reset); fails after timeout."""
    sock.settimeout(timeout)
    t0 = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - t0


def test_chromium_plays_over_ice_tcp_only_beside_silent_and_garbage_connections(
        camsim_factory, horus_factory):
    sim = camsim_factory(args=["--size", "640x360", "--gop", "25"])
    tcp = free_port()
    h = horus_factory(f"webrtc:\n  udp_listen: \"\"\n  tcp_listen: \"127.0.0.1:{tcp}\"\n"
                      f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n")
    whep = "/api/v1/cameras/door/whep"
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    h.wait_for_log(lambda l: "ICE-TCP" in l.get("msg", ""), timeout=5)
    # The answer has one passive TCP host candidate and no UDP one (UDP is off).
    deadline = time.monotonic() + 15
    while True:
        st, hdrs, body = h.request("POST", whep, SILENT_OFFER.encode(),
                                   {"Content-Type": "application/sdp"})
        if st != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert st == 201, body
    assert f"a=candidate:9 1 tcp 2124414975 127.0.0.1 {tcp} typ host tcptype passive".encode() \
        in body, body
    assert b" udp " not in body, body
    assert h.request("DELETE", hdrs["Location"])[0] == 204

    player = start_player(h.url + whep, 8, h.api_key)
    try:
        listed = playing_session(h, spec, 30)
        assert settled_path(h, "tcp", 5)[-1] == "tcp"
        assert h.metric("horus_webrtc_tcp_connections") >= 1
        # Hostile neighbours while it plays: one connection that never sends, one that says
        # 65535 bytes and stops, and a hundred whose first frame is not a checked STUN
        # Binding request (each closed at once).
        silent = socket.create_connection(("127.0.0.1", tcp))
        partial = socket.create_connection(("127.0.0.1", tcp))
        partial.sendall(b"\xff\xff" + b"\0" * 1000)
        closed_after = {}

        def watch(name, sock):
            closed_after[name] = wait_closed(sock, 20)

        watchers = [threading.Thread(target=watch, args=(k, c))
                    for k, c in (("silent", silent), ("partial", partial))]
        for w in watchers:
            w.start()
        rnd = random.Random(11)
        for i in range(100):
            with socket.create_connection(("127.0.0.1", tcp)) as garbage:
                first = bytes([rnd.choice([0x00, 0x16, 0x80, 0x47])])
                first += os.urandom(rnd.randrange(40))
                garbage.sendall(struct.pack("!H", len(first)) + first + os.urandom(64))
                assert wait_closed(garbage, 3) < 3
        out = player_result(player, 8)
    finally:
        if player.poll() is None:
            player.kill()
    # The deadline (5 s from accept, on a 100 ms tick) closed the two that never bound.
    for w in watchers:
        w.join()
    assert all(4.5 < t < 8 for t in closed_after.values()) and len(closed_after) == 2, \
        closed_after
    for c in (silent, partial):
        c.close()

    print("whep over tcp:", json.dumps({k: v for k, v in out.items() if k != "samples"}))
    assert len(listed) == 1 and listed[0]["transport"] == "tcp", listed  # UDP is off
    assert listed[0]["peer"].startswith("127.0.0.1:") and listed[0]["bytes"] > 0, listed
    assert out["status"] == 201 and not out["errors"], out["errors"]
    assert out["connection_state"] == "connected", out
    assert (out["width"], out["height"]) == (640, 360), out
    frames = [s["frames"] for s in out["samples"]]
    assert frames[-1] >= 4 * 25, out["samples"][-5:]
    assert frames[-1] > frames[len(frames) // 2] > 0, frames
    assert out["delete_status"] == 204

    closed = {labels["reason"]: v
              for labels, v in h.metric_samples("horus_webrtc_tcp_closed_total")}
    print("tcp closed:", closed)
    assert closed.get("not_authenticated", 0) >= 100, closed
    assert closed.get("bind_timeout", 0) >= 2, closed
    h.wait_for_log(lambda l: "webrtc tcp connection closed after" in l.get("msg", "")
                   and l.get("session") == listed[0]["session"], timeout=5)
    print("tcp connections:", [(l["msg"], l.get("frames_in"), l.get("frames_out"))
                                for l in h.log_lines()
                                if "tcp connection closed" in l.get("msg", "")])
    deadline = time.monotonic() + 5
    while h.metric("horus_webrtc_tcp_connections") != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert h.metric("horus_webrtc_tcp_connections") == 0
    assert h.metric("horus_webrtc_tcp_dropped_frames_total") == 0
    assert h.proc.popen.poll() is None
