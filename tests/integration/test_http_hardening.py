"""The HTTP layer's defences (issue 9 item 0, docs/design/0017): request
smuggling through ambiguous body framing, the Host check against DNS
rebinding, media types and Origin on state-changing requests."""
import json
import socket
import time

import pytest

HIDDEN = (b"PATCH /api/v1/system HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Content-Type: application/json\r\nContent-Length: 22\r\n\r\n"
          b'{"log_level": "debug"}')


def exchange(port, raw, timeout=5):
    """Sends raw on one connection and reads until the server closes it."""
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return out, True
            out += chunk
    return out, False


def log_level(h):
    status, system = h.get_json("/api/v1/system")
    assert status == 200
    return system["log_level"]


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 0\r\nContent-Length: 5\r\n",
    b"Content-Length: 0\r\nContent-Length: 0\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
])
def test_ambiguous_framing_gets_400_and_the_smuggled_request_never_runs(horus, framing):
    assert log_level(horus) == "info"
    host = f"Host: 127.0.0.1:{horus.port}\r\n".encode()
    first = b"POST /api/v1/cameras/probe HTTP/1.1\r\n" + host + framing + b"\r\n0\r\n\r\n"
    out, closed = exchange(horus.port, first + HIDDEN)
    assert out.startswith(b"HTTP/1.1 400"), out[:200]
    assert out.count(b"HTTP/1.1 ") == 1, out
    assert closed, "the connection must be closed after the refusal"
    body = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "invalid"
    assert "Content-Length" in body["error"]["message"] or \
        "Transfer-Encoding" in body["error"]["message"]
    time.sleep(0.2)
    assert log_level(horus) == "info"


def test_a_clean_pipelined_pair_is_still_served(horus):
    """The same pair with one framing header: both requests are answered (control)."""
    host = f"Host: 127.0.0.1:{horus.port}\r\n".encode()
    first = b"GET /health HTTP/1.1\r\n" + host + b"\r\n"
    hidden = HIDDEN.replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1:%d" % horus.port)
    out, _ = exchange(horus.port, first + hidden + b"GET /health HTTP/1.1\r\n" + host +
                      b"Connection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 3, out
    assert log_level(horus) == "debug"
