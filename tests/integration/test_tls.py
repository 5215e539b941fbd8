"""HTTPS (server.tls): certificates made by `openssl req` in the test (a CA and
a server certificate signed by it), checked with curl and Python's ssl module:
TLS 1.2 minimum, plain HTTP refused on the TLS port, HSTS on replies, and a
SIGHUP that swaps the certificate for new connections while an open
keep-alive connection goes on and a bad new pair keeps the old one."""
import http.client
import json
import re
import signal
import socket
import ssl
import subprocess

import pytest

from conftest import (HORUS_BIN, Proc, free_port, recording_rows, require_tool, wait_for_port,
                      wait_until)


def openssl(*args, cwd):
    subprocess.run([require_tool("openssl"), *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Horus test CA",
            cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    return d / "ca.pem"


def make_server_cert(d, serial, name):
    """A key and a certificate for 127.0.0.1 with the given serial, signed by d's CA."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", hex(serial), "-days", "2", "-extfile", "ext.cnf",
            "-out", f"{name}.pem", cwd=d)
    return d / f"{name}.pem", d / f"{name}.key"


@pytest.fixture
def tls_horus(horus_factory, tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = make_ca(d)
    cert, key = make_server_cert(d, 0x1001, "srv")
    live_cert, live_key = d / "live.pem", d / "live.key"
    live_cert.write_bytes(cert.read_bytes())
    live_key.write_bytes(key.read_bytes())
    h = horus_factory(f"server:\n  tls:\n    cert: {live_cert}\n    key: {live_key}\n")
    return h, d, ca, live_cert, live_key


def context(ca):
    ctx = ssl.create_default_context(cafile=str(ca))
    return ctx


def peer_serial(conn):
    return int(conn.sock.getpeercert()["serialNumber"], 16)


def get_health(conn):
    conn.request("GET", "/health")
    r = conn.getresponse()
    body = r.read()
    return r.status, r.getheader("Strict-Transport-Security"), body


def test_curl_with_the_ca_reaches_health_over_tls(tls_horus):
    h, _, ca, _, _ = tls_horus
    out = subprocess.run([require_tool("curl"), "-sS", "--cacert", str(ca), "-D", "-",
                          f"https://127.0.0.1:{h.port}/health"], capture_output=True, text=True,
                         timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/1.1 200")
    assert "strict-transport-security: max-age=31536000" in out.stdout.lower()
    assert '"status"' in out.stdout
    line = h.wait_for_log(lambda ln: "serving on" in ln.get("msg", ""))
    assert line["url"].startswith("https://")
    assert not any("WITHOUT TLS" in ln.get("msg", "") for ln in h.log_lines())


def test_plain_http_and_old_tls_versions_are_refused(tls_horus):
    h, _, ca, _, _ = tls_horus
    curl = require_tool("curl")
    plain = subprocess.run([curl, "-sS", "-m", "5", f"http://127.0.0.1:{h.port}/health"],
                           capture_output=True, text=True, timeout=20)
    assert plain.returncode != 0
    assert '"status"' not in plain.stdout
    old = subprocess.run([curl, "-sS", "-m", "5", "--cacert", str(ca), "--tls-max", "1.1",
                          f"https://127.0.0.1:{h.port}/health"], capture_output=True, text=True,
                         timeout=20)
    assert old.returncode != 0
    assert '"status"' not in old.stdout
    for version, tls_max in (("TLSv1.2", "1.2"), ("TLSv1.3", "1.3")):
        ok = subprocess.run([curl, "-sS", "-m", "5", "--cacert", str(ca), "--tls-max", tls_max,
                             "-o", "/dev/null", "-w", "%{http_code}",
                             f"https://127.0.0.1:{h.port}/health"], capture_output=True,
                            text=True, timeout=20)
        assert ok.stdout == "200", (version, ok.stderr)
    # Without a tls-max the client gets the preferred version, 1.3.
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as raw:
        with context(ca).wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() == "TLSv1.3"


def test_sighup_swaps_the_certificate_without_dropping_open_connections(tls_horus):
    h, d, ca, live_cert, live_key = tls_horus
    ctx = context(ca)
    kept = http.client.HTTPSConnection("127.0.0.1", h.port, context=ctx, timeout=5)
    assert get_health(kept)[0] == 200
    sock_before = kept.sock
    assert peer_serial(kept) == 0x1001

    cert2, key2 = make_server_cert(d, 0x2002, "srv2")
    live_cert.write_bytes(cert2.read_bytes())
    live_key.write_bytes(key2.read_bytes())
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda ln: ln.get("msg", "").startswith("TLS certificate reloaded")
                   and ln.get("serial") == "2002")

    fresh = http.client.HTTPSConnection("127.0.0.1", h.port, context=ctx, timeout=5)
    assert get_health(fresh)[0] == 200
    assert peer_serial(fresh) == 0x2002
    fresh.close()

    # The kept-alive connection still answers, on the same socket and old certificate.
    status, hsts, _ = get_health(kept)
    assert status == 200 and hsts
    assert kept.sock is sock_before
    assert peer_serial(kept) == 0x1001
    kept.close()


@pytest.mark.parametrize("breakage", ["garbage", "mismatched_key", "missing_key"])
def test_a_bad_new_certificate_keeps_the_old_one(tls_horus, breakage):
    h, d, ca, live_cert, live_key = tls_horus
    other_cert, other_key = make_server_cert(d, 0x3003, "other")
    if breakage == "garbage":
        live_cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                             "-----END CERTIFICATE-----\n")
    elif breakage == "mismatched_key":
        live_cert.write_bytes(other_cert.read_bytes())  # the key stays the old one
    else:
        live_key.unlink()
    h.proc.signal(signal.SIGHUP)
    line = h.wait_for_log(lambda ln: "reload failed" in ln.get("msg", "")
                          and ln.get("module") == "http")
    assert line["level"] == "error"
    if breakage == "missing_key":
        assert str(live_key) in line["msg"]
    else:
        assert str(live_cert) in line["msg"]
    assert "PRIVATE KEY" not in h.proc.output()
    conn = http.client.HTTPSConnection("127.0.0.1", h.port, context=context(ca), timeout=5)
    assert get_health(conn)[0] == 200
    assert peer_serial(conn) == 0x1001
    conn.close()


def test_a_bad_certificate_at_start_fails_naming_the_file(horus_factory, tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    make_ca(d)
    cert, _ = make_server_cert(d, 0x1001, "srv")
    with pytest.raises(RuntimeError):
        horus_factory(f"server:\n  tls:\n    cert: {cert}\n    key: {d / 'absent.key'}\n",
                      name="bad")
    log = (tmp_path / "bad" / "horus.log").read_text()
    assert f"open '{d / 'absent.key'}'" in log
    assert "start http" in log


def test_listening_beyond_loopback_without_tls_warns(horus, tmp_path):
    assert not any("WITHOUT TLS" in ln.get("msg", "") for ln in horus.log_lines())
    port = free_port()
    d = tmp_path / "wide"
    d.mkdir()
    p = Proc([HORUS_BIN, "serve", "--data", d / "data", "--listen", f"0.0.0.0:{port}"], d,
             "horus.log")
    try:
        wait_for_port(port, proc=p.popen)
        wait_until(lambda: "WITHOUT TLS" in p.output(), 5, "the no-TLS warning")
        line = next(ln for ln in p.output().splitlines() if "WITHOUT TLS" in ln)
        assert '"level":"warn"' in line
    finally:
        p.stop()


def test_recordings_and_live_view_are_served_over_tls(tls_horus, camsim_factory):
    """Files go out by sendfile on plain HTTP; over TLS libmicrohttpd must read them instead:
    the bytes and ranges must be the same, and a parked LL-HLS reload must resume over TLS."""
    h, _, ca, _, _ = tls_horus
    sim = camsim_factory(["--size", "320x240", "--fps", "15"])
    conn = http.client.HTTPSConnection("127.0.0.1", h.port, context=context(ca), timeout=10)

    def call(method, path, body=None, headers=None):
        hdrs = {**h.auth_headers(), **(headers or {})}
        if body is not None:
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r, r.read()

    status, _, _ = call("POST", "/api/v1/cameras",
                        {"id": "cam", "url": sim.url(1), "record": {"segment_seconds": 2}})
    assert status == 201
    wait_until(lambda: recording_rows(h), 20, "a closed segment")
    row = recording_rows(h)[0]
    disk = (h.data / row["path"]).read_bytes()
    url = f"/api/v1/cameras/cam/recordings/main/{row['start_us']}.mp4"
    status, r, body = call("GET", url)
    assert status == 200 and body == disk
    assert r.getheader("Strict-Transport-Security")
    status, r, body = call("GET", url, headers={"Range": "bytes=100-1099"})
    assert status == 206 and body == disk[100:1100]
    # Live view: a blocking playlist reload parks the request, then answers over TLS.
    status, _, pl = call("GET", "/api/v1/cameras/cam/live/index.m3u8")
    assert status == 200, pl
    m = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", pl.decode())
    msn = int(m.group(1)) + pl.decode().count("#EXTINF")
    status, _, pl = call("GET", f"/api/v1/cameras/cam/live/index.m3u8?_HLS_msn={msn}&_HLS_part=0")
    assert status == 200 and pl.startswith(b"#EXTM3U"), pl
    conn.close()


def test_a_session_cookie_over_tls_is_secure(tls_horus):
    """Logins over HTTPS set the Secure attribute, so the cookie never travels in clear."""
    h, _, ca, _, _ = tls_horus
    subprocess.run([HORUS_BIN, "user", "add", "ann", "--role", "viewer", "--password-stdin",
                    *h.config_args(), "--data", str(h.data)], input=b"correct horse battery\n",
                   check=True, capture_output=True)
    conn = http.client.HTTPSConnection("127.0.0.1", h.port, context=context(ca), timeout=10)
    conn.request("POST", "/api/v1/auth/login",
                 body=json.dumps({"username": "ann", "password": "correct horse battery"}),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    cookie = r.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "; Secure" in cookie
