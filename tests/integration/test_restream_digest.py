"""RTSP Digest on the re-stream (docs/restream.md, docs/design/0077): real horus, a real
horus-camsim camera, ffprobe as the client, and a raw socket for the protocol's corners.

One daemon with restream.rtsp.digest on. A user's Digest secret is kept when its password
is set or verified, an API key's when it is made through the API (its Digest name is
hk_<id>); the command line keeps none and drops the old one, so Digest for that user waits
for its next login, with a log line that says so."""
import base64
import hashlib
import json
import re
import sqlite3
import subprocess

import pytest

from conftest import HORUS_BIN, Camsim, Horus, free_port, require_tool, wait_until
from test_restream import Raw, probe, streams

PASSWORD = "dana-password-1"


@pytest.fixture(scope="module")
def rs(tmp_path_factory):
    require_tool("ffprobe")
    tmp = tmp_path_factory.mktemp("digest")
    for d in ("sim", "horus"):
        (tmp / d).mkdir()
    sim = Camsim(tmp / "sim", args=["--gop", "25"])
    port = free_port()
    config = ("restream:\n  rtsp:\n"
              f"    listen: 127.0.0.1:{port}\n    digest: true\n"
              "cameras:\n"
              f"  - id: cam1\n    url: \"{sim.url(1)}\"\n")
    h = Horus(tmp / "horus", config)
    h.rtsp_port = port
    wait_until(lambda: h.get_json("/api/v1/cameras/cam1")[1]["status"]["state"] == "streaming",
               30, "cam1 streaming")
    status, _, body = h.request("POST", "/api/v1/users", {
        "name": "dana", "role": "viewer", "cameras": ["cam1"], "password": PASSWORD})
    assert status == 201, body
    status, _, body = h.request("POST", "/api/v1/api-keys", {"name": "nvr", "role": "viewer"})
    assert status == 201, body
    h.viewer_key = json.loads(body)["key"]
    yield h
    code = h.stop()
    sim.stop()
    out = h.proc.output()
    assert code == 0, f"horus exited with {code}:\n{out[-6000:]}"
    assert "Sanitizer" not in out
    for secret in (PASSWORD, h.viewer_key, "wrong-password"):
        assert secret not in out, "a credential in the daemon's log"


def died(h):
    """'' while the daemon runs, else how it ended and the end of what it wrote."""
    code = h.proc.popen.poll()
    return "" if code is None else f"\nhorus exited with {code}:\n{h.proc.output()[-6000:]}"


def url(h, user, pw, cam="cam1"):
    return f"rtsp://{user}:{pw}@127.0.0.1:{h.rtsp_port}/{cam}"


def key_name(key):
    return "hk_" + key.split("_")[1]


def sent_authorization(rtsp_url):
    """ffprobe's streams and the schemes of the Authorization headers it sent."""
    out = probe(rtsp_url, "-show_streams", "-loglevel", "trace")
    schemes = re.findall(r"^Authorization: (\w+)", out.stderr, re.M)
    return out, schemes


def test_ffprobe_uses_digest_as_a_user_and_as_an_api_key(rs):
    out, schemes = sent_authorization(url(rs, "dana", PASSWORD))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["streams"][0]["codec_name"] == "h264"
    assert schemes and set(schemes) == {"Digest"}, schemes
    # An API key made through the API: its Digest name is hk_<id>, its password the key.
    out, schemes = sent_authorization(url(rs, key_name(rs.viewer_key), rs.viewer_key))
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(schemes) == {"Digest"}, schemes
    # Wrong passwords and strangers are 401; a viewer of cam1 only does not see cam2.
    for u in (url(rs, "dana", "wrong-password"), url(rs, "nobody", "wrong-password"),
              url(rs, key_name(rs.viewer_key), "hk_0000000000000000_wrong-password")):
        refused = probe(u, "-show_streams")
        assert refused.returncode != 0 and "401" in refused.stderr, (u, refused.stderr, died(rs))
    other = probe(url(rs, "dana", PASSWORD, "cam2"), "-show_streams")
    assert other.returncode != 0 and "404" in other.stderr


def test_the_kept_secrets_are_sealed_and_bound_to_their_rows(rs):
    db = sqlite3.connect(rs.data / "horus.db", timeout=10)
    try:
        users = dict(db.execute("SELECT name, rtsp_digest FROM users").fetchall())
        keys = dict(db.execute("SELECT id, rtsp_digest FROM api_keys").fetchall())
    finally:
        db.close()
    ha1 = hashlib.md5(f"dana:horus:{PASSWORD}".encode()).hexdigest()
    assert users["dana"] and users["dana"].startswith("hsb1."), users["dana"]
    assert ha1 not in users["dana"]
    assert keys[rs.viewer_key.split("_")[1]].startswith("hsb1.")
    # The admin key that `horus api-key add` made before the daemon started has none.
    assert sum(1 for v in keys.values() if v) == 1, keys


def digest_header(user, password, nonce, uri, method="DESCRIBE", qop=True, realm="horus",
                  algorithm="MD5"):
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    if qop:
        resp = hashlib.md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()
        extra = ', qop=auth, nc=00000001, cnonce="c0ffee"'
    else:
        resp = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        extra = ""
    return (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm={algorithm}{extra}\r\n')


def challenge(h):
    """(the Digest challenge's nonce, the whole reply) of a DESCRIBE without credentials."""
    c = Raw(h.rtsp_port)
    head = c.request("DESCRIBE", f"rtsp://127.0.0.1:{h.rtsp_port}/cam1")
    c.sock.close()
    assert head.startswith("RTSP/1.0 401"), head
    return re.search(r'WWW-Authenticate: Digest realm="horus", nonce="([0-9a-f]+)"', head)[1], head


def describe(h, header):
    c = Raw(h.rtsp_port)
    head = c.request("DESCRIBE", f"rtsp://127.0.0.1:{h.rtsp_port}/cam1", header)
    c.sock.close()
    return head


def test_the_challenge_and_the_responses_it_takes(rs):
    nonce, head = challenge(rs)
    # Digest first (clients take the strongest offered), then Basic.
    assert head.index("WWW-Authenticate: Digest") < head.index("WWW-Authenticate: Basic"), head
    assert 'qop="auth"' in head and "algorithm=MD5" in head
    uri = f"rtsp://127.0.0.1:{rs.rtsp_port}/cam1"
    assert describe(rs, digest_header("dana", PASSWORD, nonce, uri)).startswith("RTSP/1.0 200")
    # RFC 2069's form, without qop (what some camera clients send).
    assert describe(rs, digest_header("dana", PASSWORD, nonce, uri, qop=False)).startswith(
        "RTSP/1.0 200")
    # Refused: a nonce this server did not make, another URI, realm or algorithm.
    forged = ("%016x" % int("1" + "0" * 9)) + "0" * 32
    for bad in (digest_header("dana", PASSWORD, forged, uri),
                digest_header("dana", PASSWORD, nonce[:-1] + ("0" if nonce[-1] != "0" else "1"),
                              uri),
                digest_header("dana", PASSWORD, nonce, uri + "/other"),
                digest_header("dana", PASSWORD, nonce, uri, realm="other"),
                digest_header("dana", PASSWORD, nonce, uri, algorithm="SHA-256"),
                "Authorization: Digest garbage=\"\r\n"):
        got = describe(rs, bad)
        assert got.startswith("RTSP/1.0 401") and "WWW-Authenticate: Digest" in got, (bad, got)
    # Basic still works beside it, with any name and an API key.
    basic = "Authorization: Basic " + base64.b64encode(
        f"anyone:{rs.viewer_key}".encode()).decode() + "\r\n"
    assert describe(rs, basic).startswith("RTSP/1.0 200")


def test_a_password_set_on_the_command_line_waits_for_the_next_login(rs):
    # The command line keeps no Digest secret, and drops the old password's.
    args = [HORUS_BIN, "user", "passwd", "dana", "--password-stdin", *rs.config_args(),
            "--data", str(rs.data)]
    out = subprocess.run(args, input="dana-password-2\n", capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    refused = probe(url(rs, "dana", "dana-password-2"), "-show_streams")
    assert refused.returncode != 0 and "401" in refused.stderr
    old = probe(url(rs, "dana", PASSWORD), "-show_streams")
    assert old.returncode != 0 and "401" in old.stderr
    wait_until(lambda: "no Digest secret is kept for it yet" in rs.proc.output(), 5,
               "the log line that says why")
    # A login through the API keeps it; Digest works again.
    status, _, body = rs.request("POST", "/api/v1/auth/login",
                                 {"username": "dana", "password": "dana-password-2"}, auth=False)
    assert status == 200, body
    assert streams(url(rs, "dana", "dana-password-2"))[0]["codec_name"] == "h264"
