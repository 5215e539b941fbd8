"""The horus daemon end to end: start-up, endpoints against the OpenAPI
document, Prometheus exposition checked by promtool, config errors, reload,
secrets, signals and malformed requests."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import HORUS_BIN, Proc, free_port, require_tool, wait_for_port
from openapi_check import OpenApi


def openapi(h):
    status, doc = h.get_json("/api/v1/openapi.json")
    assert status == 200
    return OpenApi(doc)


def test_serve_without_config_uses_defaults_and_starts_within_a_second(tmp_path):
    port = free_port()
    # An admin key in the default data directory, made before the daemon starts.
    key = subprocess.run([HORUS_BIN, "api-key", "add", "t", "--role", "admin"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.strip()
    t0 = time.monotonic()
    # No -c: embedded defaults. Only --listen is given so the test never races for 8080.
    p = Proc([HORUS_BIN, "serve", "--listen", f"127.0.0.1:{port}"], tmp_path, "horus.log")
    try:
        wait_for_port(port, proc=p.popen)
        elapsed = time.monotonic() - t0
        assert elapsed < 1.0, f"listening after {elapsed:.3f}s"
        assert (tmp_path / "horus-data" / "horus.db").exists()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/v1/system", headers={"Authorization": f"Bearer {key}"})
        system = json.loads(conn.getresponse().read())
        assert system["config_path"] is None
        assert system["data_dir"] == "./horus-data"
        assert system["database_backend"] == "sqlite"
    finally:
        assert p.stop() == 0


def test_health_matches_the_design_and_the_openapi_document(horus):
    status, headers, body = horus.request("GET", "/health")
    assert status == 200
    health = openapi(horus).validate("GET", "/health", status, headers["Content-Type"], body)
    assert health["status"] == "ok"
    assert health["cameras"] == {"total": 0, "online": 0, "failed": 0}
    assert health["database"]["status"] == "ok"
    assert health["storage"]["total_bytes"] > 0
    assert headers.get("Cache-Control") == "no-store"


def test_every_endpoint_response_matches_the_openapi_document(horus):
    api = openapi(horus)
    for method, path, body, want in [
        ("GET", "/ready", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/api/v1/system", None, 200),
        ("GET", "/api/v1/system/config", None, 200),
        ("PATCH", "/api/v1/system", {"log_level": "debug"}, 200),
        ("PATCH", "/api/v1/system", {"log_levl": "debug"}, 400),
        ("GET", "/api/v1/openapi.json", None, 200),
    ]:
        status, headers, data = horus.request(method, path, body)
        assert status == want, (method, path, data)
        api.validate(method, path, status, headers["Content-Type"], data)


def test_system_reports_version_uptime_and_rfc3339_start(horus):
    status, system = horus.get_json("/api/v1/system")
    assert status == 200
    out = subprocess.run([HORUS_BIN, "version"], capture_output=True, text=True, check=True)
    assert system["version"] in out.stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", system["started_at"])
    assert re.fullmatch(r"[0-9a-f]{32}", system["node_id"])
    assert system["log_level"] == "info"


def test_node_id_survives_a_restart(horus_factory, tmp_path):
    h = horus_factory()
    _, first = h.get_json("/api/v1/system")
    assert h.stop() == 0
    # Same data dir, new process.
    p = Proc([HORUS_BIN, "serve", "--data", h.data, "--listen", f"127.0.0.1:{h.port}"],
             tmp_path, "again.log")
    try:
        wait_for_port(h.port, proc=p.popen)
        conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=5)
        conn.request("GET", "/api/v1/system", headers=h.auth_headers())
        assert json.loads(conn.getresponse().read())["node_id"] == first["node_id"]
    finally:
        assert p.stop() == 0


def test_metrics_pass_promtool_and_carry_required_families(horus):
    promtool = require_tool("promtool")
    horus.request("GET", "/health")
    # A request is observed when the server is told it completed, which may be just after
    # the client has the reply: give the /health series a moment to appear.
    deadline = time.monotonic() + 3
    while True:
        status, headers, body = horus.request("GET", "/metrics")
        if b'route="/health"' in body or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    text = body.decode()
    assert re.search(r'^horus_build_info\{version="[^"]+",git="[^"]+"\} 1$', text, re.M)
    assert re.search(r'^horus_http_request_duration_seconds_bucket\{route="/health"', text, re.M)
    assert "horus_process_cpu_seconds_total" in text
    assert "horus_db_writes_total" in text


def test_unknown_route_and_wrong_method_get_json_errors(horus):
    status, headers, body = horus.request("GET", "/api/v1/nope")
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
    status, headers, body = horus.request("DELETE", "/health")
    assert status == 405
    assert "GET" in headers["Allow"]
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


def test_bad_json_and_unknown_fields_name_the_problem(horus):
    status, _, body = horus.request("PATCH", "/api/v1/system", b'{"log_level": ',
                                    {"Content-Type": "application/json"})
    assert status == 400
    msg = json.loads(body)["error"]["message"]
    assert re.search(r"line \d+ column \d+", msg), msg
    status, _, body = horus.request("PATCH", "/api/v1/system", {"log_level": "loud"})
    assert status == 400
    assert "log_level" in json.loads(body)["error"]["message"]


def test_log_level_changes_at_run_time(horus):
    status, system = horus.get_json("/api/v1/system")
    assert system["log_level"] == "info"
    status, _, body = horus.request("PATCH", "/api/v1/system", {"log_level": "debug"})
    assert status == 200 and json.loads(body)["log_level"] == "debug"
    horus.wait_for_log(lambda l: l.get("msg") == "log level changed through the API"
                       and l.get("to") == "debug")


def test_keep_alive_serves_many_requests_on_one_connection(horus):
    conn = http.client.HTTPConnection("127.0.0.1", horus.port, timeout=5)
    conn.connect()
    local = conn.sock.getsockname()
    for _ in range(20):
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        assert (r.getheader("Connection") or "").lower() != "close"
        assert conn.sock is not None and conn.sock.getsockname() == local
    conn.close()


def test_access_log_has_method_path_status_and_no_query(horus):
    horus.request("GET", "/health?token=s3cr3t")
    line = horus.wait_for_log(lambda l: l.get("module") == "access")
    assert line["method"] == "GET" and line["path"] == "/health" and line["status"] == "200"
    assert horus.stop() == 0
    assert "s3cr3t" not in horus.proc.output()


def test_malformed_requests_never_crash_the_server(horus):
    garbage = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"BREW /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
        b"POST /api/v1/system HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999999\r\n\r\n{",
        b"PATCH /api/v1/system HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /%00%ff/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /api/v1/system HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nab",
    ]
    for g in garbage:
        with socket.create_connection(("127.0.0.1", horus.port), timeout=3) as s:
            try:
                s.sendall(g)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except OSError:
                pass
    status, _, _ = horus.request("GET", "/health")
    assert status == 200
    assert horus.proc.popen.poll() is None


def test_sigterm_stops_gracefully_with_exit_zero(horus):
    t0 = time.monotonic()
    horus.proc.signal(signal.SIGTERM)
    assert horus.proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 10
    msgs = [l.get("msg", "") for l in horus.log_lines()]
    assert any(m.startswith("stopping") for m in msgs)
    assert "stopped" in msgs


def test_sigint_also_stops_with_exit_zero(horus):
    horus.proc.signal(signal.SIGINT)
    assert horus.proc.wait(timeout=10) == 0


def test_a_crash_logs_a_backtrace(horus):
    horus.proc.signal(signal.SIGSEGV)
    rc = horus.proc.wait(timeout=10)
    assert rc == -signal.SIGSEGV
    out = horus.proc.output()
    assert "crash: signal 11" in out
    assert "backtrace" in out and "horus" in out


def test_bad_command_line_flags_exit_two_with_a_message(tmp_path):
    for args, needle in [
        (["serve", "--bogus"], "unknown option '--bogus'"),
        (["serve", "--listen"], "needs a value"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["check-config"], "missing FILE"),
        ([], "usage"),
    ]:
        r = subprocess.run([HORUS_BIN, *args], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr, (args, r.stderr)


def test_port_in_use_fails_with_a_clear_error(horus, tmp_path):
    p = Proc([HORUS_BIN, "serve", "--data", tmp_path / "d2", "--listen",
              f"127.0.0.1:{horus.port}"], tmp_path, "second.log")
    rc = p.wait(timeout=10)
    assert rc == 1
    assert "Address already in use" in p.output()
