"""The HTTP layer's defences (issue 9 item 0, docs/design/0017): request
smuggling through ambiguous body framing, the Host check against DNS
rebinding, media types and Origin on state-changing requests."""
import json
import socket
import time

import pytest

def hidden(h):
    """The smuggled request: an admin's, so only the framing refusal can stop it."""
    return (b"PATCH /api/v1/system HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + h.api_key.encode() + b"\r\n"
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
    out, closed = exchange(horus.port, first + hidden(horus))
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
    smuggled = hidden(horus).replace(b"Host: 127.0.0.1", b"Host: 127.0.0.1:%d" % horus.port)
    out, _ = exchange(horus.port, first + smuggled + b"GET /health HTTP/1.1\r\n" + host +
                      b"Connection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 3, out
    assert log_level(horus) == "debug"


def raw_request(h, method, path, headers, body=b""):
    """One request with exactly these headers (plus the fixture's admin key unless they
    carry an Authorization); returns (status, parsed JSON or None)."""
    headers = {**h.auth_headers(), **headers}
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    out, _ = exchange(h.port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(rest) if rest.startswith(b"{") else None


def test_a_foreign_host_gets_421_before_anything_runs(horus):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused, reads included."""
    for host in ("evil.example", f"evil.example:{horus.port}", "localhost.evil.example",
                 "127.0.0.1.nip.io", "0.0.0.0", "[::2]"):
        status, err = raw_request(horus, "GET", "/api/v1/system", {"Host": host})
        assert status == 421, (host, status)
        assert err["error"]["code"] == "misdirected"
        assert "server.hostnames" in err["error"]["message"]
    status, err = raw_request(horus, "PATCH", "/api/v1/system",
                              {"Host": "rebind.example", "Content-Type": "application/json"},
                              b'{"log_level": "debug"}')
    assert status == 421
    assert log_level(horus) == "info"
    for host in (f"127.0.0.1:{horus.port}", "127.0.0.1", "localhost", f"LOCALHOST.:{horus.port}",
                 "app.localhost", "[::1]", "127.9.9.9"):
        status, _ = raw_request(horus, "GET", "/health", {"Host": host})
        assert status == 200, host


def local_address():
    """A non-loopback address of this machine, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") else addr


def test_configured_names_public_url_and_interface_addresses_are_served(horus_factory):
    h = horus_factory("server:\n  hostnames: [\"nvr.home.arpa\", \"*.cams.example\"]\n"
                      "  public_url: \"https://nvr.example.com/horus\"\n")
    for host in ("nvr.home.arpa", "NVR.home.arpa:8080", "a.cams.example", "nvr.example.com",
                 socket.gethostname()):
        status, _ = raw_request(h, "GET", "/health", {"Host": host})
        assert status == 200, host
    for host in ("cams.example", "home.arpa", "example.com"):
        assert raw_request(h, "GET", "/health", {"Host": host})[0] == 421, host
    addr = local_address()
    if addr:
        assert raw_request(h, "GET", "/health", {"Host": f"{addr}:{h.port}"})[0] == 200


def test_bad_hostnames_and_public_url_are_config_errors(tmp_path):
    import subprocess
    from conftest import HORUS_BIN
    path = tmp_path / "horus.yaml"
    path.write_text("server:\n  hostnames: [\"bad name\"]\n  public_url: \"ftp://x\"\n")
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "server.hostnames" in r.stderr and "server.public_url" in r.stderr, r.stderr


def test_state_changing_requests_need_json(horus):
    host = {"Host": f"127.0.0.1:{horus.port}"}
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                  None):
        headers = dict(host)
        if ctype:
            headers["Content-Type"] = ctype
        status, err = raw_request(horus, "PATCH", "/api/v1/system", headers,
                                  b'{"log_level": "debug"}')
        assert status == 415, ctype
        assert err["error"]["code"] == "unsupported_media_type"
        assert "application/json" in err["error"]["message"]
        status, _ = raw_request(horus, "POST", "/api/v1/cameras", headers,
                                b'{"id": "x", "url": "rtsp://127.0.0.1/"}')
        assert status == 415
    assert log_level(horus) == "info"
    assert horus.get_json("/api/v1/cameras")[1]["items"] == []
    status, _ = raw_request(horus, "PATCH", "/api/v1/system",
                            dict(host, **{"Content-Type": "Application/JSON; charset=utf-8"}),
                            b'{"log_level": "debug"}')
    assert status == 200
    # No body, no media type needed.
    assert raw_request(horus, "DELETE", "/api/v1/cameras/none", host)[0] == 404


def test_a_foreign_origin_cannot_change_anything(horus_factory):
    h = horus_factory("server:\n  cors_origins: [\"https://ui.example.com\", \"*\"]\n"
                      "  public_url: \"https://nvr.example.com:8443/\"\n")
    host = f"127.0.0.1:{h.port}"
    body = b'{"log_level": "debug"}'
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{h.port + 1}",
                   f"http://localhost:{h.port}", "https://nvr.example.com", "garbage",
                   f"http://127.0.0.1:{h.port}/path"):
        status, err = raw_request(h, "PATCH", "/api/v1/system",
                                  {"Host": host, "Origin": origin,
                                   "Content-Type": "application/json"}, body)
        assert status == 403, origin
        assert err["error"]["code"] == "forbidden"
        assert "server.cors_origins" in err["error"]["message"]
    assert log_level(h) == "info"
    # Reading stays open to any origin (CORS decides what a page may read).
    assert raw_request(h, "GET", "/api/v1/system",
                       {"Host": host, "Origin": "https://evil.example"})[0] == 200
    for origin in (f"http://{host}", f"HTTP://127.0.0.1:{h.port}", "https://ui.example.com",
                   "https://nvr.example.com:8443"):
        status, _ = raw_request(h, "PATCH", "/api/v1/system",
                                {"Host": host, "Origin": origin,
                                 "Content-Type": "application/json"}, body)
        assert status == 200, origin
