"""rtsps:// on the native client (docs/design/0033), end to end: horus-camsim
serves RTSP over TLS (--tls CERT KEY) with certificates made here with the
openssl CLI, and a real daemon records from it only when the certificate
checks out against ingest.tls_ca, the validity dates and the URL host, or
when the camera says tls_verify: false."""
import json
import re
import subprocess

import pytest

from conftest import HORUS_BIN, recording_rows, require_tool, wait_until
from test_record import probe as ffprobe_streams

SMALL = ["--size", "320x240", "--fps", "15", "--gop", "15"]


def openssl(*args, cwd):
    out = subprocess.run([require_tool("openssl"), *map(str, args)], cwd=cwd,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def server_cert(d, name, cn, san, ca=True, start=None, end=None):
    """A key and a certificate for cn/san in d: signed by the test CA (between
    start and end when given, YYYYMMDDHHMMSSZ) or self-signed."""
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    if not ca:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.pem", "-days", "30", "-subj", f"/CN={cn}",
                "-addext", f"subjectAltName={san}", cwd=d)
        return d / f"{name}.pem", d / f"{name}.key"
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    if start:
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                "-in", f"{name}.csr", "-out", f"{name}.pem", "-startdate", start, "-enddate",
                end, "-extfile", f"{name}.ext", "-notext", cwd=d)
    else:
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "30", "-extfile",
                f"{name}.ext", cwd=d)
    return d / f"{name}.pem", d / f"{name}.key"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "30", "-subj", "/CN=Horus Test CA", cwd=d)
    # `openssl ca` (the only way OpenSSL 3.0 sets past dates) wants a small database.
    (d / "newcerts").mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text("1000\n")
    (d / "ca.cnf").write_text(
        f"[ca]\ndefault_ca = test\n[test]\ndir = {d}\ndatabase = $dir/index.txt\n"
        "new_certs_dir = $dir/newcerts\nserial = $dir/serial\ndefault_md = sha256\n"
        "policy = any\nunique_subject = no\n[any]\ncommonName = supplied\n")
    local = "DNS:localhost,IP:127.0.0.1"
    return {
        "ca": d / "ca.pem",
        "good": server_cert(d, "good", "localhost", local),
        "expired": server_cert(d, "expired", "localhost", local, start="20240101000000Z",
                               end="20250101000000Z"),
        "wrong_host": server_cert(d, "wrong", "camera.example", "DNS:camera.example"),
        "self_signed": server_cert(d, "self", "localhost", local, ca=False),
    }


def tls_camsim(camsim_factory, pair):
    sim = camsim_factory([*SMALL, "--tls", str(pair[0]), str(pair[1])])
    return sim, sim.url().replace("rtsp://", "rtsps://")


def status_of(h, cam):
    return h.get_json(f"/api/v1/cameras/{cam}")[1]["status"]


def tls_log_lines(h, cam):
    return [line for line in h.log_lines()
            if line.get("camera") == cam and "TLS: " in line.get("msg", "")]


def test_camsim_serves_rtsps_that_ffprobe_reads(camsim_factory, certs):
    _, url = tls_camsim(camsim_factory, certs["good"])
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-tls_verify", "0",
                          "-show_entries", "stream=codec_name", "-of", "json", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["streams"][0]["codec_name"] == "h264"


def test_verified_camera_records_and_bad_certificates_say_why(camsim_factory, horus_factory,
                                                               certs):
    sims = {k: tls_camsim(camsim_factory, certs[k])
            for k in ("good", "expired", "wrong_host", "self_signed")}
    h = horus_factory(f"ingest:\n  client: native\n  tls_ca: \"{certs['ca']}\"\n")
    for cam, (_, url) in sims.items():
        body = {"id": cam, "url": url, "record": {"segment_seconds": 2}}
        status, _, data = h.request("POST", "/api/v1/cameras", body)
        assert status == 201, data
        assert json.loads(data)["tls_verify"] is True
    wait_until(lambda: len(recording_rows(h, camera="good")) >= 2, 30, "segments of 'good'")
    expect = {
        "expired": "TLS: certificate expired (notAfter 2025-01-01)",
        "wrong_host": "TLS: certificate is for 'camera.example', not '127.0.0.1'",
        "self_signed": "TLS: certificate not trusted (self-signed)",
    }
    for cam, text in expect.items():
        wait_until(lambda: status_of(h, cam).get("last_error") == text, 15,
                   f"{cam}'s last_error: {status_of(h, cam)}")
        assert status_of(h, cam)["state"] in ("failed", "connecting"), status_of(h, cam)
        assert recording_rows(h, camera=cam) == []
        assert h.metric(f'horus_ingest_tls_failures_total{{camera="{cam}",reason="{cam}"}}') >= 1
    # The breaker retries (five at once, then every 10 s): one log line per camera and cause.
    wait_until(lambda: h.metric('horus_ingest_tls_failures_total{camera="expired"') >= 3, 20,
               "retries of 'expired'")
    h.wait_for_log(lambda line: line.get("camera") == "expired" and "TLS: " in line["msg"])
    for cam in expect:
        lines = tls_log_lines(h, cam)
        assert len(lines) == 1, lines
    assert h.stop() == 0
    for r in recording_rows(h, camera="good"):
        streams = ffprobe_streams(h.data / r["path"])  # asserts a clean ffprobe
        assert streams[0]["codec_name"] == "h264" and int(streams[0]["nb_read_packets"]) > 0


def test_tls_verify_false_records_from_a_self_signed_camera(camsim_factory, horus_factory,
                                                             certs):
    _, url = tls_camsim(camsim_factory, certs["self_signed"])
    h = horus_factory(f"ingest:\n  client: native\n  tls_ca: \"{certs['ca']}\"\n")
    status, _, data = h.request("POST", "/api/v1/cameras",
                                {"id": "cam", "url": url, "tls_verify": "no"})
    assert status == 400, data
    assert json.loads(data)["error"]["message"] == "tls_verify: must be true or false"
    body = {"id": "cam", "url": url, "record": {"segment_seconds": 2}}
    assert h.request("POST", "/api/v1/cameras", body)[0] == 201
    wait_until(lambda: status_of(h, "cam").get("last_error") ==
               "TLS: certificate not trusted (self-signed)", 15, "the self-signed refusal")
    status, _, data = h.request("PATCH", "/api/v1/cameras/cam", {"tls_verify": False})
    assert status == 200, data
    assert json.loads(data)["tls_verify"] is False
    assert h.get_json("/api/v1/cameras/cam")[1]["tls_verify"] is False
    wait_until(lambda: len(recording_rows(h, camera="cam")) >= 2, 40, "segments of 'cam'")
    h.wait_for_log(lambda line: line.get("camera") == "cam" and "not verified" in line["msg"]
                   and "'cam'" in line["msg"])
    assert h.stop() == 0
    r = recording_rows(h, camera="cam")[0]
    assert ffprobe_streams(h.data / r["path"])[0]["codec_name"] == "h264"


def test_probe_verifies_against_the_system_store_or_a_ca_file(camsim_factory, certs):
    _, url = tls_camsim(camsim_factory, certs["good"])

    def probe(*args, url=url):
        out = subprocess.run([HORUS_BIN, "probe", url, "--client", "native", *args],
                             capture_output=True, text=True, timeout=60)
        return out.returncode, json.loads(out.stdout.strip().splitlines()[-1])

    rc, res = probe()
    assert rc == 1 and res["error"] == {
        "code": "tls", "message": "TLS: certificate not trusted (unknown CA 'Horus Test CA')"}
    rc, res = probe("--tls-ca", str(certs["ca"]))
    assert rc == 0 and res["client"] == "native" and res["streams"][0]["codec"] == "h264", res
    rc, res = probe("--tls-no-verify")
    assert rc == 0, res
    # By name (SNI sent, the DNS name checked) as well as by address.
    rc, res = probe("--tls-ca", str(certs["ca"]), url=url.replace("127.0.0.1", "localhost"))
    assert rc == 0, res


def test_tls_verify_false_in_horus_yaml_records_from_a_self_signed_camera(
        camsim_factory, horus_factory, certs, tmp_path):
    """The per-camera escape hatch is a horus.yaml key too (cameras[].tls_verify)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras:\n  - id: cam\n    url: \"rtsps://127.0.0.1/x\"\n"
                   "    tls_verify: sometimes\n")
    r = subprocess.run([HORUS_BIN, "check-config", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert re.search(r"bad\.yaml:4:\d+: cameras\[0\]\.tls_verify: ", r.stderr), r.stderr
    _, self_url = tls_camsim(camsim_factory, certs["self_signed"])
    _, good_url = tls_camsim(camsim_factory, certs["good"])
    h = horus_factory(f"ingest:\n  client: native\n  tls_ca: \"{certs['ca']}\"\n"
                      f"cameras:\n  - id: cam\n    url: \"{self_url}\"\n    tls_verify: false\n"
                      "    record:\n      segment_seconds: 2\n"
                      f"  - id: strict\n    url: \"{self_url}\"\n"
                      f"  - id: good\n    url: \"{good_url}\"\n")
    cams = {c["id"]: c for c in h.get_json("/api/v1/cameras")[1]["items"]}
    assert cams["cam"]["tls_verify"] is False and cams["cam"]["provisioned"] is True
    assert cams["strict"]["tls_verify"] is True and cams["good"]["tls_verify"] is True
    wait_until(lambda: len(recording_rows(h, camera="cam")) >= 1, 30, "a segment of 'cam'")
    wait_until(lambda: status_of(h, "strict").get("last_error") ==
               "TLS: certificate not trusted (self-signed)", 15, "the self-signed refusal")
    wait_until(lambda: status_of(h, "good")["state"] == "streaming", 15, "'good' streaming")
