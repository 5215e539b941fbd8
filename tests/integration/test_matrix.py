"""The role x operation matrix (issue 9 item 12), generated from openapi.json:
every documented operation, media included, called by every kind of caller
(superadmin, admin, the admin of another tenant, operator, viewer, a viewer
without the camera, an operator's browser session with its CSRF token, nobody,
an expired session, a revoked API key),
with real path parameters (a camera a horus-camsim stream records, its
recording files, live parts, an export, users, keys, sessions) and a valid
body. The expected class of the answer is derived from the operation's
x-horus-permission and from whether it names a camera: 401, 403, the 404 of a
missing camera, or "allowed" (anything but those, and never a 5xx). A 404 for
an object the caller may not see is byte-identical to the same request naming
a missing object, and another tenant's lists do not show the objects.

Then path traversal in every path parameter of every operation: encoded
"../", "%2e%2e", encoded NUL, backslashes and an overlong value answer 4xx
and never serve a file from outside the data directory."""
import base64
import hashlib
import hmac
import http.client
import json
import re
import secrets
import socket
import struct
import subprocess
import time

import pytest

from conftest import HORUS_BIN, Camsim, Horus, recording_rows, wait_until

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = json.loads((ROOT / "src" / "api" / "openapi.json").read_text())
METHODS = ("get", "post", "put", "patch", "delete")
# Operations whose 200 is a stream that stays open (read only its start).
STREAMED = {"/api/v1/events/stream"}
RANK = {"viewer": 1, "operator": 2, "admin": 3, "superadmin": 4}
SECRET = "MATRIX-OUTSIDE-THE-DATA-DIR"


def operations():
    for tmpl, item in DOC["paths"].items():
        for m in METHODS:
            if m in item:
                yield m.upper(), tmpl, item[m]["x-horus-permission"]


def is_camera_scoped(tmpl):
    """Routes whose object belongs to a camera: outside the grant they are 404."""
    return (tmpl.startswith("/api/v1/cameras/{id}") or tmpl.startswith("/api/v1/exports/{id}")
            or tmpl.startswith("/api/v1/events/{id}"))


def is_other_tenants(method, tmpl):
    """Routes whose object (the fixture camera, export, users, API keys: all in no tenant)
    another tenant's admin may not see: 404, as if missing. POST /api/v1/exports names the
    fixture camera in its body."""
    return (is_camera_scoped(tmpl) or tmpl.startswith("/api/v1/users/{name}")
            or tmpl.startswith("/api/v1/api-keys/{id}") or tmpl.startswith("/api/v1/webhooks/{id}")
            or (method, tmpl) in (("POST", "/api/v1/exports"), ("POST", "/api/v1/events"),
                                  ("POST", "/api/v1/detections")))


MFA_SELF = ("/api/v1/auth/mfa", "/api/v1/auth/mfa/enroll", "/api/v1/auth/mfa/confirm",
            "/api/v1/auth/mfa/recovery-codes")


# Each caller: (role rank, how it authenticates). None rank = refused credentials.
CALLERS = {
    "superadmin": 4,
    "admin": 3,
    "other-tenant": 3,
    "operator": 2,
    "operator-session": 2,
    "viewer": 1,
    "viewer-without-camera": 1,
    "nobody": None,
    "expired-session": None,
    "revoked-key": None,
}


KEY_CALLERS = ("superadmin", "admin", "other-tenant", "operator", "viewer",
               "viewer-without-camera")


def expected(perm, caller, method, tmpl):
    """'allowed', 401, 403 or 404."""
    if perm in ("public", "metrics"):  # no metrics token configured: public
        return "allowed"
    rank = CALLERS[caller]
    if rank is None:
        return 401
    if perm == "self":
        return "allowed"
    if rank < RANK[perm]:
        return 403
    if caller == "viewer-without-camera" and is_camera_scoped(tmpl):
        return 404
    if caller == "other-tenant" and is_other_tenants(method, tmpl):
        return 404
    return "allowed"


# Allowed cells that do not succeed, by design of the handler, not of the gate: (status,
# words the error message must hold).
ALLOWED_REFUSALS = {
    # The same password twice: 400 "must differ" (so that the cell changes nothing); an API
    # key has no password: 400 too.
    **{("POST", "/api/v1/auth/password", c): (400, "") for c in CALLERS},
    # Another user's session is as absent as a missing one, unless the caller is an admin
    # of its tenant (the other tenant's admin is not: the session's user has no tenant).
    **{("DELETE", "/api/v1/auth/sessions/{id}", c): (404, "")
       for c in CALLERS if c not in ("admin", "superadmin")},
    # A second factor belongs to a user signed in with a password; an API key has none.
    **{(m, t, c): (400, "only a user signed in with a password has a second factor")
       for m, t in (("GET", MFA_SELF[0]), ("DELETE", MFA_SELF[0]), ("POST", MFA_SELF[1]),
                    ("POST", MFA_SELF[2]), ("POST", MFA_SELF[3]))
       for c in KEY_CALLERS},
    # A posted event has no snapshot: the documented 404 that says so.
    **{("GET", "/api/v1/events/{id}/snapshot.jpg", c): (404, "has no snapshot")
       for c in CALLERS},
    # Single sign-on is off in this daemon (no auth.oidc.issuer): the documented 404.
    **{("GET", t, c): (404, "single sign-on is not configured")
       for t in ("/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback") for c in CALLERS},
    # The webhook exists but has no dead letters: the documented 404 that says so.
    **{(m, t, c): (404, "has no dead letter")
       for m, t in (("POST", "/api/v1/webhooks/{id}/dead-letters/{seq}/redeliver"),
                    ("DELETE", "/api/v1/webhooks/{id}/dead-letters/{seq}")) for c in CALLERS},
    # This daemon does not serve detection (vision.serve is false): the documented 404.
    **{("POST", "/v1/vision/detection", c): (404, "vision.serve is false") for c in CALLERS},
}


def totp(secret_b32, at):
    """The 6-digit RFC 6238 code (HMAC-SHA1, 30 s) of secret at time at."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000:06d}"


def missing_like(value):
    """An id of the same shape as value that names nothing."""
    if re.fullmatch(r"[0-9]{17}-[0-9a-f]{8}", value):  # an event
        return value[:17] + "-" + secrets.token_hex(4)
    if re.fullmatch(r"[0-9a-f]+", value):
        return secrets.token_hex(len(value))[:len(value)]
    return "nope-" + secrets.token_hex(4)


# A browser's H.264 offer (WebRTC, docs/webrtc.md) whose browser never does DTLS.
WHEP_OFFER = ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
              "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
              "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
              "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
              "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
              "a=rtpmap:102 H264/90000\r\n"
              "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n")
WHEP_CANDIDATE = b"a=candidate:1 1 udp 1 192.0.2.1 9 typ host\r\n"
WHEP_TYPES = {"POST": "application/sdp", "PATCH": "application/trickle-ice-sdpfrag"}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class World:
    """The daemon, its camera and the objects the matrix needs."""

    def __init__(self, tmp):
        (tmp / "sim").mkdir()
        (tmp / "horus").mkdir()
        self.sim = Camsim(tmp / "sim")
        config = ("auth:\n  session_idle: 2s\n"
                  f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
                  f"cameras:\n  - id: cam-a\n    url: \"{self.sim.url(1)}\"\n"
                  "    record:\n      segment_seconds: 2\n")
        self.h = h = Horus(tmp / "horus", config)
        (h.dir / "secret.txt").write_text(SECRET)
        self.n = 0
        self.keys = {"admin": h.api_key}
        for name, role, cams in (("operator", "operator", "*"), ("viewer", "viewer", "*"),
                                 ("viewer-without-camera", "viewer", ["cam-zzz"]),
                                 ("revoked-key", "admin", "*")):
            k = self.admin_json("POST", "/api/v1/api-keys",
                                {"name": name, "role": role, "cameras": cams}, 201)
            self.keys[name] = k["key"]
            if name == "revoked-key":
                self.admin_json("DELETE", f"/api/v1/api-keys/{k['id']}", None, 204)
        out = subprocess.run([HORUS_BIN, "api-key", "add", "root", "--role", "superadmin",
                              *h.config_args(), "--data", str(h.data)], cwd=h.dir,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        self.keys["superadmin"] = out.stdout.strip()
        self.tenant_json("POST", "/api/v1/tenants", {"id": "other", "name": "Other"}, 201)
        self.keys["other-tenant"] = self.tenant_json(
            "POST", "/api/v1/api-keys",
            {"name": "other-admin", "role": "admin", "tenant": "other"}, 201)["key"]
        self.user("opsy", "operator")
        self.user("evie", "viewer")
        self.expired_cookie = self.login("evie")[0]["Cookie"]
        self.expired_at = time.monotonic() + 2.5
        rows = wait_until(lambda: len(self.rows()) >= 2 and self.rows(), 60, "two recordings")
        self.rec = rows[0]
        wait_until(lambda: self.live_names(), 30, "a live playlist with parts")
        job = self.admin_json("POST", "/api/v1/exports",
                              {"camera": "cam-a", "start": self.rec["start_us"] // 1000,
                               "end": self.rec["end_us"] // 1000}, 202)
        self.export = job["id"]
        wait_until(lambda: self.admin_json("GET", f"/api/v1/exports/{self.export}", None,
                                           200)["state"] == "done", 60, "the export")
        self.event = self.post_event()
        self.webhook = self.make_webhook()
        time.sleep(max(0.0, self.expired_at - time.monotonic()))

    def make_webhook(self):
        """A webhook target in no tenant, disabled (nothing is delivered)."""
        return self.admin_json("POST", "/api/v1/webhooks",
                               {"id": self.fresh("wh"), "url": "http://127.0.0.1:9/hook",
                                "enabled": False}, 201)["id"]

    def post_event(self):
        return self.admin_json("POST", "/api/v1/events",
                               {"camera": "cam-a", "label": "person",
                                "start": self.rec["start_us"] // 1000, "duration_s": 1}, 201)["id"]

    def rows(self):
        return [r for r in recording_rows(self.h, "cam-a", "main")]

    def admin_json(self, method, path, body, want):
        status, _, raw = self.h.request(method, path, body, timeout=15)
        assert status == want, (method, path, status, raw)
        return json.loads(raw) if raw else None

    def tenant_json(self, method, path, body, want):
        status, _, raw = self.h.request(
            method, path, body, timeout=15, auth=False,
            headers={"Authorization": f"Bearer {self.keys['superadmin']}"})
        assert status == want, (method, path, status, raw)
        return json.loads(raw) if raw else None

    def mfa_session(self, enrol):
        """A fresh operator signed in with a password; enrol: its second factor confirmed.
        Returns (name, session headers, secret or None, recovery codes, confirm time)."""
        name = self.fresh("mfa")
        self.user(name, "operator")
        headers = self.login(name)[0]
        if not enrol:
            return name, headers, None, [], None
        status, _, raw = self.h.request("POST", "/api/v1/auth/mfa/enroll", {},
                                        headers=headers, auth=False)
        assert status == 200, raw
        secret = json.loads(raw)["secret"]
        if enrol == "pending":
            return name, headers, secret, [], None
        at = time.time()
        status, _, raw = self.h.request("POST", "/api/v1/auth/mfa/confirm",
                                        {"totp": totp(secret, at)}, headers=headers,
                                        auth=False)
        assert status == 200, raw
        return name, headers, secret, json.loads(raw)["recovery_codes"], at

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}-{self.n}"

    def user(self, name, role):
        self.admin_json("POST", "/api/v1/users",
                        {"name": name, "role": role, "password": f"{name}-password-1"}, 201)

    def login(self, name):
        status, headers, raw = self.h.request(
            "POST", "/api/v1/auth/login",
            {"username": name, "password": f"{name}-password-1"}, auth=False)
        assert status == 200, raw
        token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
        reply = json.loads(raw)
        return ({"Cookie": f"horus_session={token}", "X-CSRF-Token": reply["csrf_token"],
                 "Origin": self.h.url}, reply["session_id"])

    def live_names(self):
        status, _, raw = self.h.request("GET", "/api/v1/cameras/cam-a/live/index.m3u8")
        if status != 200:
            return None
        text = raw.decode()
        init = re.findall(r'#EXT-X-MAP:URI="init/([^"?]+)', text)
        parts = re.findall(r'#EXT-X-PART:[^\n]*URI="part/([^"?]+)', text)
        segs = re.findall(r"^segment/([^?\s]+)", text, re.M)
        if not (init and parts and segs):
            return None
        return {"init": init[-1], "part": parts[-1], "segment": segs[-1]}

    def headers_of(self, caller):
        if caller == "nobody":
            return {}
        if caller == "expired-session":
            return {"Cookie": self.expired_cookie}
        if caller == "operator-session":
            return self.login("opsy")[0]
        return {"Authorization": f"Bearer {self.keys[caller]}"}

    # ---- path parameters and bodies, per operation ----

    def whep_session(self):
        """A WebRTC session on cam-a whose viewer never shows up (dropped after 10 s)."""
        status, headers, raw = self.h.request("POST", "/api/v1/cameras/cam-a/whep",
                                              WHEP_OFFER.encode(),
                                              {"Content-Type": "application/sdp"}, timeout=15)
        assert status == 201, raw
        return headers["Location"].rsplit("/", 1)[1]

    def throwaway_camera(self):
        cid = self.fresh("tmp")
        self.admin_json("POST", "/api/v1/cameras",
                        {"id": cid, "url": "rtsp://127.0.0.1:9/x", "enabled": False}, 201)
        return cid

    def request_for(self, method, tmpl, allowed, caller=None):
        """(path, body, headers, object) for one cell; a changing operation the caller is
        allowed gets its own object, so that the cells do not depend on each other. headers
        replaces the caller's own where the cell needs a caller in a given state (a password
        session with or without a second factor); object is (parameter, value) of the object
        the path names, if any."""
        rec, h = self.rec, self.h
        params = {"stream": "main", "file": f"{rec['start_us']}.mp4"}
        body, headers, obj = None, None, None
        if tmpl.startswith("/api/v1/cameras/{id}"):
            changes = ((method in ("PUT", "PATCH", "DELETE") or tmpl.endswith("adopt_recordings"))
                       and "/whep" not in tmpl)
            params["id"] = self.throwaway_camera() if changes and allowed else "cam-a"
            obj = ("id", params["id"])
        if "/live/" in tmpl and "{name}" in tmpl:
            names = self.live_names() or {}
            kind = tmpl.rsplit("/", 2)[-2]
            params["name"] = names.get(kind, "none")
        if tmpl.startswith("/api/v1/exports/{id}"):
            params["id"] = self.export
            if method == "DELETE" and allowed:
                params["id"] = self.admin_json(
                    "POST", "/api/v1/exports",
                    {"camera": "cam-a", "start": rec["start_us"] // 1000,
                     "end": rec["end_us"] // 1000}, 202)["id"]
            obj = ("id", params["id"])
        if tmpl.startswith("/api/v1/events/{id}"):
            params["id"] = self.post_event() if method == "DELETE" and allowed else self.event
            obj = ("id", params["id"])
        if tmpl.startswith("/api/v1/users/{name}"):
            params["name"] = "evie"
            if tmpl.endswith("/mfa") and (allowed or caller == "other-tenant"):
                # A second factor to reset: the other tenant's admin must not reach it.
                params["name"] = self.mfa_session(True)[0]
            elif method != "GET" and allowed:
                params["name"] = self.fresh("u")
                self.user(params["name"], "viewer")
            obj = ("name", params["name"])
        if tmpl.startswith("/api/v1/api-keys/{id}"):
            k = self.admin_json("POST", "/api/v1/api-keys",
                                {"name": self.fresh("k"), "role": "viewer"}, 201)
            params["id"] = k["id"]
            obj = ("id", params["id"])
        if tmpl.startswith("/api/v1/tenants/{id}"):
            params["id"] = "other"
            if method != "GET" and allowed:
                params["id"] = self.fresh("t")
                self.tenant_json("POST", "/api/v1/tenants",
                                 {"id": params["id"], "name": params["id"]}, 201)
            obj = ("id", params["id"])
        if tmpl.startswith("/api/v1/webhooks/{id}"):
            changes = method in ("PATCH", "DELETE") and tmpl == "/api/v1/webhooks/{id}"
            params["id"] = self.make_webhook() if changes and allowed else self.webhook
            params["seq"] = "1"
            obj = ("id", params["id"])
        if tmpl == "/api/v1/auth/sessions/{id}":
            params["id"] = self.login("evie")[1]
        if tmpl in MFA_SELF and caller == "operator-session" and allowed:
            # A password session of its own, in the state the operation starts from.
            state = {("POST", MFA_SELF[2]): "pending", ("POST", MFA_SELF[3]): True,
                     ("DELETE", MFA_SELF[0]): True}.get((method, tmpl), False)
            _, headers, secret, codes, at = self.mfa_session(state)
            if tmpl == MFA_SELF[2]:
                body = {"totp": totp(secret, time.time())}
            elif tmpl == MFA_SELF[3]:
                body = {"totp": totp(secret, at + 30)}  # the confirming step is spent
            elif method == "DELETE":
                body = {"recovery_code": codes[0]}
        if "/whep" in tmpl:
            # WHEP takes SDP, not JSON: the caller's own credentials with the route's type, a
            # viewer's offer as the body, and a session of its own to change or end.
            if method in ("POST", "PATCH") and caller:
                headers = {**self.headers_of(caller), "Content-Type": WHEP_TYPES[method]}
            body = {"POST": WHEP_OFFER.encode(), "PATCH": WHEP_CANDIDATE}.get(method)
            if "{session}" in tmpl:
                params["session"] = self.whep_session() if allowed else "0" * 16
        path = tmpl
        for k, v in params.items():
            path = path.replace("{" + k + "}", v)
        if tmpl == "/api/v1/cameras/{id}/playback.m3u8":
            path += f"?start={rec['start_us'] // 1000}&end={rec['end_us'] // 1000}"
        bodies = {
            ("PATCH", "/api/v1/system"): {"log_level": "info"},
            ("POST", "/api/v1/cameras"): {"id": self.fresh("new"), "url": "rtsp://127.0.0.1:9/x",
                                          "enabled": False},
            ("PUT", "/api/v1/cameras/{id}"): {"url": "rtsp://127.0.0.1:9/y", "enabled": False},
            ("PATCH", "/api/v1/cameras/{id}"): {"name": "renamed"},
            ("PUT", "/api/v1/cameras/{id}/analytics"): {"fps": 2},
            ("POST", "/api/v1/cameras/probe"): {"url": "rtsp://127.0.0.1:9/x"},
            ("POST", "/api/v1/exports"): {"camera": "cam-a", "start": rec["start_us"] // 1000,
                                          "end": rec["end_us"] // 1000},
            ("POST", "/api/v1/events"): {"camera": "cam-a", "label": "person", "duration_s": 1},
            ("POST", "/api/v1/auth/login"): {"username": "evie", "password": "evie-password-1"},
            # Same password twice: refused with 400 by the handler, changes nothing.
            ("POST", "/api/v1/auth/password"): {"current": "opsy-password-1",
                                                "new": "opsy-password-1"},
            ("POST", "/api/v1/users"): {"name": self.fresh("nu"), "role": "viewer",
                                        "password": "a-long-password-1"},
            ("PATCH", "/api/v1/users/{name}"): {"cameras": "*"},
            ("POST", "/api/v1/api-keys"): {"name": self.fresh("nk"), "role": "viewer"},
            ("POST", "/api/v1/tenants"): {"id": self.fresh("nt"), "name": "New tenant",
                                          "max_cameras": 4},
            ("PATCH", "/api/v1/tenants/{id}"): {"name": "Renamed", "max_storage_bytes": 1 << 30},
            ("POST", "/api/v1/cameras/{id}/share"): {"kind": "live"},
            ("POST", "/api/v1/exports/{id}/share"): {},
            ("POST", MFA_SELF[1]): {},
            ("PUT", "/api/v1/auth/preferences"): {"grid": "2x2"},
            ("POST", "/api/v1/detections"): [{"camera": "cam-a", "time": int(time.time() * 1000),
                                              "label": "person", "score": 0.9,
                                              "box": [0.1, 0.1, 0.2, 0.2]}],
            ("POST", "/api/v1/webhooks"): {"id": self.fresh("nw"),
                                           "url": "http://127.0.0.1:9/hook", "enabled": False},
            ("PATCH", "/api/v1/webhooks/{id}"): {"timeout_ms": 2000},
        }
        if body is None:
            body = bodies.get((method, tmpl))
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        return path, body, headers, obj

    def call(self, caller, method, path, body, headers=None):
        headers = headers or self.headers_of(caller)
        if method == "GET" and path.split("?")[0] in STREAMED:
            return self.call_streamed(path, headers)
        return self.h.request(method, path, body, headers=headers, auth=False, timeout=20)

    def call_streamed(self, path, headers):
        """A reply that never ends (text/event-stream): status, headers and the first
        bytes of a 200; the whole body of anything else."""
        conn = http.client.HTTPConnection("127.0.0.1", self.h.port, timeout=20)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            raw = r.read1(4096) if r.status == 200 else r.read()
            return r.status, dict(r.getheaders()), raw
        finally:
            conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("matrix"))
    yield w
    assert w.h.stop() == 0
    w.sim.stop()


def missing_twin(w, caller, method, tmpl, path, body, obj, headers=None):
    """The same request by the same caller, naming a missing object instead: (status, raw
    with the missing id put back to the real one)."""
    name, value = obj
    gone = missing_like(value)
    prefix = tmpl[:tmpl.index("{" + name + "}")]
    twin = prefix + gone + path[len(prefix) + len(value):]
    status, _, raw = w.call(caller, method, twin, body, headers)
    return status, raw.replace(gone.encode(), value.encode())


def test_every_role_gets_what_its_permission_says_on_every_operation(world):
    w = world
    ops = list(operations())
    assert len(ops) >= 62
    cells, failures, tally, twins = 0, [], {}, 0
    for method, tmpl, perm in ops:
        for caller in CALLERS:
            want = expected(perm, caller, method, tmpl)
            path, body, headers, obj = w.request_for(method, tmpl, want == "allowed", caller)
            status, _, raw = w.call(caller, method, path, body, headers)
            cells += 1
            tally[want] = tally.get(want, 0) + 1
            cell = f"{caller:22} {method:6} {tmpl} -> {status} (want {want}): {raw[:160]!r}"
            if status >= 500:
                failures.append(cell)
            elif want == "allowed":
                # The objects exist and the bodies are valid: a success, but for the
                # replies the handler owes whoever calls (ALLOWED_REFUSALS).
                refusal = ALLOWED_REFUSALS.get((method, tmpl, caller))
                if status >= 300 and not (refusal and status == refusal[0]
                                          and refusal[1] in raw.decode(errors="replace")):
                    failures.append(cell)
            elif status != want:
                failures.append(cell)
            elif want == 404 and obj:
                # Exactly the reply a missing object gets, byte for byte.
                twins += 1
                if missing_twin(w, caller, method, tmpl, path, body, obj, headers) != (status,
                                                                                raw):
                    failures.append(cell + " (not the missing object's reply)")
    print(f"matrix: {len(ops)} operations x {len(CALLERS)} callers = {cells} cells; {tally}; "
          f"{twins} hidden objects compared with missing ones")
    assert cells == len(ops) * len(CALLERS)
    assert not failures, "\n".join(failures)
    assert twins >= 30
    # The cells ran against a camera that is still recording and objects still there.
    assert w.h.request("GET", "/api/v1/cameras/cam-a")[0] == 200
    assert w.h.request("GET", f"/api/v1/exports/{w.export}")[0] == 200
    assert w.h.request("GET", f"/api/v1/events/{w.event}")[0] == 200


def test_another_tenants_lists_do_not_show_the_objects(world):
    """The fixture camera, export, users and keys are in no tenant: the admin without a
    tenant lists them, the other tenant's admin does not (and lists its own)."""
    w = world
    w.admin_json("POST", "/api/v1/cameras", {"id": "cam-o", "url": "rtsp://127.0.0.1:9/o",
                                             "enabled": False, "tenant": "other"}, 403)
    w.tenant_json("POST", "/api/v1/cameras", {"id": "cam-o", "url": "rtsp://127.0.0.1:9/o",
                                              "enabled": False, "tenant": "other"}, 201)
    hidden = ["cam-a", w.export, "evie", "opsy", '"viewer-without-camera"', "conftest"]
    for path in ("/api/v1/cameras", "/api/v1/exports", "/api/v1/users", "/api/v1/api-keys",
                 "/api/v1/recordings/orphaned", "/api/v1/pins"):
        mine = w.call("admin", "GET", path, None)
        theirs = w.call("other-tenant", "GET", path, None)
        assert mine[0] == 200 and theirs[0] == 200, (path, mine[0], theirs[0], theirs[2])
        for word in hidden:
            assert word.encode() not in theirs[2], (path, word, theirs[2][:400])
        if path in ("/api/v1/cameras", "/api/v1/api-keys"):
            assert b"cam-a" in mine[2] or b"conftest" in mine[2], (path, mine[2][:300])
            assert b"cam-o" in theirs[2] or b"other-admin" in theirs[2], (path, theirs[2][:300])
        if path == "/api/v1/cameras":
            assert b"cam-o" not in mine[2]
    # Audit entries are their actor's tenant's: the other tenant sees only its own admin's
    # (what it typed itself, refusals included), the admin without a tenant none of those.
    actors = {e["actor"].get("name") for e in json.loads(
        w.call("other-tenant", "GET", "/api/v1/audit?limit=500", None)[2])["items"]}
    assert actors == {"other-admin"}, actors
    actors = {e["actor"].get("name") for e in json.loads(
        w.call("admin", "GET", "/api/v1/audit?limit=500", None)[2])["items"]}
    assert "conftest" in actors and "other-admin" not in actors, actors


TRAVERSALS = [
    "..%2f..%2fetc%2fpasswd",
    "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fhorus.db",
    "..%2fhorus.db",
    "..%2f..%2fsecret.txt",
    "..%2f..%2f..%2fsecret.txt",
    "..%2f..%2f..%2f..%2fsecret.txt",
    "..%2f..%2f..%2f..%2f..%2fsecret.txt",
    "%2e%2e%5c%2e%2e%5csecret.txt",
    "%252e%252e%252fsecret.txt",
    "a%00b",
    "%00",
    "x" * 3000,
]


def test_path_traversal_in_every_path_parameter_is_refused(world):
    w = world
    tried = 0
    failures = []
    for method, tmpl, perm in operations():
        names = re.findall(r"\{(\w+)\}", tmpl)
        for name in names:
            for evil in TRAVERSALS:
                path, body, _, _ = w.request_for(method, tmpl, False)
                # Put the hostile value where the parameter sat in this request.
                real = tmpl
                for other in names:
                    if other != name:
                        real = real.replace("{" + other + "}", path_value(path, tmpl, other))
                real = real.replace("{" + name + "}", evil)
                if "?" in path:
                    real += path[path.index("?"):]
                status, _, raw = w.call("admin", method, real, body)
                tried += 1
                bad = (status < 400 or status >= 500 or SECRET.encode() in raw
                       or b"root:x:0:0" in raw or b"SQLite format 3" in raw)
                if bad:
                    failures.append(f"{method} {real[:120]} -> {status}: {raw[:120]!r}")
    print(f"traversal: {tried} requests")
    assert tried > 100
    assert not failures, "\n".join(failures)
    assert w.h.request("GET", "/api/v1/cameras/cam-a")[0] == 200


def path_value(path, tmpl, name):
    """The value request_for put in parameter name of path (built from tmpl)."""
    pattern = re.escape(tmpl.split("?")[0])
    for n in re.findall(r"\{(\w+)\}", tmpl):
        pattern = pattern.replace(re.escape("{" + n + "}"), f"(?P<{n}>[^/?]*)")
    return re.match(pattern, path).group(name)
