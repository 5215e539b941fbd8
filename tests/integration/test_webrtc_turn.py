"""WebRTC through a TURN relay (docs/design/0079): a real coturn on loopback with the TURN
REST API's shared secret, Horus configured with its URL and that secret, and Debian's chromium
(tests/e2e/play_whep.mjs --relay) told to use relay candidates only. The player asks the WHEP
endpoint for its ICE servers (OPTIONS, Link headers) before the offer; Horus mints it a
credential from the secret (never the secret itself) and the picture flows through the relay.
A caller without credentials hears of no server; the answer to an offer carries the servers
too, as WHEP has it."""
import base64
import hashlib
import hmac
import os
import random
import re
import socket
import struct
import subprocess
import time
import urllib.request

from conftest import require_tool, wait_until
from openapi_check import OpenApi
from test_webrtc import SILENT_OFFER, free_udp_port, player_result, start_player

SECRET = "turn-shared-secret-" + "".join(random.choice("abcdef0123456789") for _ in range(16))


def start_coturn(tmp, port):
    """coturn (turnserver) on 127.0.0.1:port, UDP, REST API credentials, relaying to
    loopback peers: (its Popen once it answers STUN, the ports it relays from)."""
    turnserver = require_tool("turnserver")
    log = tmp / "turn.log"
    base = random.randrange(45000, 55000, 100)
    proc = subprocess.Popen(
        [turnserver, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
         "--realm=horus", "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli",
         f"--min-port={base}", f"--max-port={base + 99}", f"--pidfile={tmp / 'turn.pid'}",
         f"--userdb={tmp / 'turndb'}", f"--log-file={log}", "--simple-log", "--no-stdout-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: stun_answers(port), 10, "coturn answering STUN")
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc, range(base, base + 100)


def stun_answers(port):
    """Whether a STUN Binding request to 127.0.0.1:port gets a Binding success response."""
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid, ("127.0.0.1", port))
        try:
            data = s.recv(2048)
        except OSError:
            return False
    return len(data) >= 20 and data[:2] == b"\x01\x01" and data[8:20] == tid


def links(h, method, path, body=None, auth=True, ctype=None):
    """(status, every Link header) of a request."""
    headers = dict(h.auth_headers()) if auth else {}
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(h.url + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
        return r.status, r.headers.get_all("Link") or []


def test_chromium_plays_through_turn_with_a_credential_minted_for_it(camsim_factory,
                                                                      horus_factory, tmp_path):
    tport = free_udp_port()
    turn, relay_ports = start_coturn(tmp_path, tport)
    try:
        sim = camsim_factory(args=["--size", "640x360", "--gop", "25"])
        udp = free_udp_port()
        h = horus_factory(
            f"webrtc:\n  udp_listen: \"127.0.0.1:{udp}\"\n"
            f"  ice_servers: [\"stun:127.0.0.1:{tport}\", "
            f"\"turn:127.0.0.1:{tport}?transport=udp\"]\n"
            f"  turn_secret: \"{SECRET}\"\n  turn_ttl: 1h\n"
            f"cameras:\n  - id: door\n    url: \"{sim.url(1)}\"\n")
        wait_until(lambda: h.get_json("/api/v1/cameras/door")[1]["status"]["state"] ==
                   "streaming", 30, "door streaming")
        whep = "/api/v1/cameras/door/whep"
        spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])

        # A stranger hears of no relay; the viewer gets both servers, TURN with a credential.
        st, anon = links(h, "OPTIONS", whep, auth=False)
        assert st == 204 and anon == [], anon
        st, got = links(h, "OPTIONS", whep)
        assert st == 204 and len(got) == 2, got
        assert got[0] == f'<stun:127.0.0.1:{tport}>; rel="ice-server"'
        m = re.fullmatch(rf'<turn:127\.0\.0\.1:{tport}\?transport=udp>; rel="ice-server"; '
                         r'username="(\d+):conftest"; credential="([^"]+)"; '
                         r'credential-type="password"', got[1])
        assert m, got[1]
        assert abs(int(m[1]) - (time.time() + 3600)) < 60  # turn_ttl from now
        user = f"{m[1]}:conftest"
        want = base64.b64encode(hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest())
        assert m[2] == want.decode()
        # The answer to an offer names them too (WHEP's 201).
        st, posted = links(h, "POST", whep, SILENT_OFFER.encode(), ctype="application/sdp")
        assert st == 201 and len(posted) == 2 and "credential=" in posted[1], posted
        options = spec.operation("OPTIONS", "/api/v1/cameras/{id}/whep")["responses"]["204"]
        assert "Link" in options["headers"], options

        # Relay candidates only: every packet crosses coturn, and the picture plays. Horus
        # sees its viewer at one of coturn's relay ports.
        p = start_player(h.url + whep, 6, h.api_key, "--relay")
        peers = set()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and p.poll() is None:
            peers |= {i["peer"] for i in h.get_json("/api/v1/webrtc/sessions")[1]["items"]
                      if i["playing"]}
            time.sleep(0.3)
        r = player_result(p, 6)
        assert r["status"] == 201 and not r["errors"], r
        assert r["ice_servers"] == [f"stun:127.0.0.1:{tport}",
                                    f"turn:127.0.0.1:{tport}?transport=udp"], r
        assert r["local_type"] == "relay", r
        assert r["frames"] >= 50 and r["width"] == 640, r
        assert peers and all(int(x.rsplit(":", 1)[1]) in relay_ports for x in peers), peers
        assert SECRET not in h.proc.output()
    finally:
        turn.terminate()
        turn.wait(timeout=10)
