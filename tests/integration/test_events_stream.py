"""GET /api/v1/events/stream through a real daemon (docs/design/0042): the
route's credentials, framing headers, the first bytes (retry + a ping
comment), a reset for a Last-Event-ID the feed does not know, errors that
name the field, the clients gauge, and a daemon stop with a client
connected. Messages published by the events engine are tested once its
POST /api/v1/events lands (see the design record's TODO)."""
import http.client
import socket
import time

from conftest import wait_until

STREAM = "/api/v1/events/stream"


def open_stream(h, path=STREAM, headers=None, auth=True):
    """An HTTP/1.1 connection with the stream request sent; returns (conn, response)."""
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
    hdrs = dict(headers or {})
    if auth:
        hdrs.update(h.auth_headers())
    conn.request("GET", path, headers=hdrs)
    return conn, conn.getresponse()


def read_until(resp, needle, timeout=10):
    """Reads the decoded body until it contains needle; returns what was read."""
    got = b""
    deadline = time.monotonic() + timeout
    while needle not in got:
        assert time.monotonic() < deadline, got
        chunk = resp.read1(4096)
        if not chunk:
            break
        got += chunk
    return got


def test_stream_needs_credentials(horus_factory):
    h = horus_factory()
    status, headers, body = h.request("GET", STREAM, auth=False)
    assert status == 401, body
    assert b"unauthorized" in body or b"error" in body


def test_stream_opens_with_a_ping_and_counts_its_client(horus_factory):
    h = horus_factory()
    assert h.metric("horus_events_stream_clients") == 0
    conn, resp = open_stream(h)
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Cache-Control") == "no-store"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    got = read_until(resp, b": ping\n\n")
    assert got.startswith(b"retry: 3000\n: ping\n\n"), got
    assert wait_until(lambda: h.metric("horus_events_stream_clients") == 1, 5, "one stream client")
    conn.close()
    assert wait_until(lambda: h.metric("horus_events_stream_clients") == 0, 5, "no stream client")
    assert h.metric("horus_events_stream_dropped_total") == 0


def test_unknown_last_event_id_gets_a_reset(horus_factory):
    h = horus_factory()
    # Nothing was published: any id is unknown, the reset carries no id.
    conn, resp = open_stream(h, headers={"Last-Event-ID": "1767225600000000"})
    assert resp.status == 200
    got = read_until(resp, b"event: reset\ndata: {}\n\n")
    assert b"id:" not in got, got
    conn.close()
    # The query form, for EventSource reconnects that cannot set the header.
    conn, resp = open_stream(h, STREAM + "?last_event_id=42&camera=a,b&camera=c")
    assert resp.status == 200
    read_until(resp, b"event: reset\n")
    conn.close()
    # An empty Last-Event-ID is no resume: no reset.
    conn, resp = open_stream(h, headers={"Last-Event-ID": ""})
    got = read_until(resp, b": ping\n\n")
    assert b"reset" not in got
    conn.close()


def test_bad_parameters_name_the_field(horus_factory):
    h = horus_factory()
    status, _, body = h.request("GET", STREAM, headers={"Last-Event-ID": "12x"})
    assert status == 400 and b"Last-Event-ID:" in body, body
    status, _, body = h.request("GET", STREAM + "?last_event_id=-1")
    assert status == 400 and b"last_event_id:" in body, body
    status, _, body = h.request("GET", STREAM + "?camera=a,,b")
    assert status == 400 and b"camera:" in body, body
    many = "&".join(f"camera=c{i}" for i in range(65))
    status, _, body = h.request("GET", STREAM + "?" + many)
    assert status == 400 and b"camera:" in body, body


def test_daemon_stops_promptly_with_a_client_connected(horus_factory):
    h = horus_factory()
    conn, resp = open_stream(h)
    read_until(resp, b": ping\n\n")
    t0 = time.monotonic()
    assert h.stop() == 0
    assert time.monotonic() - t0 < 10
    # The body ended (last chunk or close), without waiting for the client.
    conn.sock.settimeout(5)
    try:
        rest = resp.read()
    except (http.client.IncompleteRead, ConnectionError, socket.timeout) as e:
        rest = getattr(e, "partial", b"")
    assert b"event:" not in rest
    conn.close()


def test_head_answers_at_once_and_leaves_no_client(horus_factory):
    h = horus_factory()
    status, headers, body = h.request("HEAD", STREAM)
    assert status == 200 and body == b""
    assert headers["Content-Type"] == "text/event-stream"
    assert wait_until(lambda: h.metric("horus_events_stream_clients") == 0, 5, "no stream client")
