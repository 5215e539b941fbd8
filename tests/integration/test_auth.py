"""Identity end to end (issue 9, docs/design/0016-identity.md): every route declares
who may call it, credentials are checked by the router, cameras outside a grant are
invisible, browser sessions with CSRF rules, API keys, the first-start admin."""
import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import HORUS_BIN, index_bytes, wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = json.loads((ROOT / "src" / "api" / "openapi.json").read_text())
METHODS = ("get", "post", "put", "patch", "delete")


def operations():
    """(method, template, permission) of every documented operation."""
    for tmpl, item in DOC["paths"].items():
        for m in METHODS:
            if m in item:
                yield m.upper(), tmpl, item[m]["x-horus-permission"]


def request_body(method, tmpl):
    """(body, headers) of an empty request of the media type the operation takes: JSON,
    multipart/form-data (the vision route) or the one type a route takes (SDP for WHEP), so
    the content-type check lets it reach the gate."""
    if method not in ("POST", "PUT", "PATCH"):
        return None, {}
    content = DOC["paths"][tmpl][method.lower()].get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        return b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}
    if content and "application/json" not in content:  # WHEP: SDP offers, trickle ICE
        return b"v=0\r\n", {"Content-Type": next(iter(content))}
    return {}, {}


def concrete(tmpl, camera="cam-a"):
    """A request path for tmpl: {id} of a camera route is the camera, others dummies."""
    path = tmpl.replace("{stream}", "main").replace("{file}", "1.mp4")
    path = path.replace("{name}", "x-1")
    if tmpl.startswith("/api/v1/cameras/{id}"):
        return path.replace("{id}", camera)
    return path.replace("{id}", "0123456789abcdef")


def error_code(body):
    return json.loads(body)["error"]["code"]


def make_key(h, role, cameras="*"):
    status, _, body = h.request("POST", "/api/v1/api-keys",
                                {"name": f"{role}-key", "role": role, "cameras": cameras})
    assert status == 201, body
    return json.loads(body)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def add_camera(h, cid):
    status, _, body = h.request("POST", "/api/v1/cameras",
                                {"id": cid, "url": "rtsp://127.0.0.1:9/x", "enabled": False})
    assert status == 201, body


def login(h, user, password):
    return h.request("POST", "/api/v1/auth/login", {"username": user, "password": password},
                     auth=False)


def session_of(headers):
    cookie = headers["Set-Cookie"]
    return cookie, re.match(r"horus_session=([^;]*)", cookie).group(1)


def test_every_operation_declares_a_known_permission():
    ops = list(operations())
    assert len(ops) >= 40
    allowed = {"public", "metrics", "self", "viewer", "operator", "admin", "superadmin"}
    for method, tmpl, perm in ops:
        assert perm in allowed, (method, tmpl, perm)
    public = {(m, t) for m, t, p in ops if p == "public"}
    assert public == {("GET", "/health"), ("GET", "/ready"), ("POST", "/api/v1/auth/login"),
                      ("GET", "/api/v1/auth/methods"),
                      # "Am I signed in?", 200 either way (a page's first question).
                      ("GET", "/api/v1/auth/session"),
                      ("GET", "/api/v1/auth/oidc/login"), ("GET", "/api/v1/auth/oidc/callback"),
                      # The web UI's files: the shell holds no data (docs/design/0026).
                      ("GET", "/"), ("GET", "/{path}")}


def test_every_non_public_route_answers_401_without_credentials(horus):
    n = 0
    for method, tmpl, perm in operations():
        if perm in ("public", "metrics"):
            continue
        body, ctype = request_body(method, tmpl)
        status, headers, reply = horus.request(method, concrete(tmpl), body, headers=ctype,
                                               auth=False)
        assert status == 401, (method, tmpl, status, reply[:200])
        assert headers["WWW-Authenticate"].startswith("Bearer"), (method, tmpl)
        assert error_code(reply) == "unauthenticated"
        # A wrong key, a malformed one and another scheme fare no better.
        for value in ("Bearer hk_0123456789abcdef_" + "A" * 43, "Bearer x y", "Basic YTpi"):
            status, _, _ = horus.request(method, concrete(tmpl), body,
                                         headers={"Authorization": value, **ctype})
            assert status == 401, (method, tmpl, value)
        n += 1
    assert n >= 35
    for path in ("/health", "/ready", "/metrics"):
        assert horus.request("GET", path, auth=False)[0] in (200, 503), path


def test_metrics_needs_the_token_when_one_is_configured(horus_factory):
    h = horus_factory("auth:\n  metrics_token: \"m3trics-token\"\n")
    assert h.request("GET", "/metrics", auth=False)[0] == 401
    assert h.request("GET", "/metrics", headers=bearer("wrong"))[0] == 401
    status, _, body = h.request("GET", "/metrics", headers=bearer("m3trics-token"))
    assert status == 200 and b"horus_" in body
    # The token is a secret: masked where the configuration is shown.
    _, _, cfg = h.request("GET", "/api/v1/system/config")
    assert b"m3trics-token" not in cfg


def test_a_viewer_cannot_change_anything(horus):
    viewer = make_key(horus, "viewer")["key"]
    add_camera(horus, "cam-a")
    n = 0
    for method, tmpl, perm in operations():
        if perm in ("public", "metrics", "self", "viewer"):
            continue
        body, ctype = request_body(method, tmpl)
        status, _, reply = horus.request(method, concrete(tmpl), body,
                                         headers={**bearer(viewer), **ctype})
        assert status == 403, (method, tmpl, status, reply[:200])
        assert error_code(reply) == "forbidden"
        n += 1
    assert n >= 20
    # What it may do, it does.
    assert horus.request("GET", "/api/v1/cameras/cam-a", headers=bearer(viewer))[0] == 200
    # It cannot mint itself a stronger key either.
    status, _, _ = horus.request("POST", "/api/v1/api-keys", {"name": "x", "role": "admin"},
                                 headers=bearer(viewer))
    assert status == 403


def test_a_camera_not_granted_is_404_everywhere_like_a_missing_one(horus):
    add_camera(horus, "cam-a")
    add_camera(horus, "cam-b")
    op = make_key(horus, "operator", ["cam-a"])
    key = bearer(op["key"])
    assert op["cameras"] == ["cam-a"]
    _, page = json.loads("[0]"), json.loads(horus.request("GET", "/api/v1/cameras",
                                                          headers=key)[2])
    assert [c["id"] for c in page["items"]] == ["cam-a"]
    n = 0
    for method, tmpl, perm in operations():
        if not tmpl.startswith("/api/v1/cameras/{id}") or method != "GET":
            continue
        hidden = horus.request("GET", concrete(tmpl, "cam-b") + "?start=0&end=1000", headers=key)
        missing = horus.request("GET", concrete(tmpl, "cam-z") + "?start=0&end=1000",
                                headers=key)
        assert hidden[0] == 404, (tmpl, hidden)
        assert missing[0] == 404, (tmpl, missing)
        assert hidden[2].replace(b"cam-b", b"cam-z") == missing[2], (tmpl, hidden, missing)
        n += 1
    assert n >= 10  # live playlists, parts, init, playback, files, snapshot, timeline
    for method in ("PUT", "PATCH", "DELETE"):
        status, _, body = horus.request(method, "/api/v1/cameras/cam-b", {}, headers=key)
        assert status == 404 and b"does not exist" in body, (method, body)
    # An export of it is as impossible as one of a camera that does not exist.
    ex = {"start": 0, "end": 60000}
    hidden = horus.request("POST", "/api/v1/exports", {"camera": "cam-b", **ex}, headers=key)
    missing = horus.request("POST", "/api/v1/exports", {"camera": "cam-z", **ex}, headers=key)
    assert (hidden[0], hidden[2].replace(b"cam-b", b"cam-z")) == (missing[0], missing[2])
    # The admin still sees both.
    _, page = horus.get_json("/api/v1/cameras")
    assert [c["id"] for c in page["items"]] == ["cam-a", "cam-b"]


def test_api_key_is_shown_once_stored_hashed_and_revoked_at_once(horus):
    made = make_key(horus, "viewer")
    assert re.fullmatch(r"hk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", made["key"])
    assert made["id"] in made["key"] and made["revoked_at"] is None
    status, _, body = horus.request("GET", "/api/v1/api-keys")
    assert status == 200 and made["key"].encode() not in body
    assert made["key"].split("_", 2)[2].encode() not in body
    listed = {k["id"]: k for k in json.loads(body)["items"]}
    assert "key" not in listed[made["id"]]
    db = index_bytes(horus)
    assert made["key"].split("_", 2)[2].encode() not in db
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(made["key"]))[0] == 200
    # last use is recorded (through the writer: the request does not wait for it)
    wait_until(lambda: json.loads(horus.request("GET", f"/api/v1/api-keys/{made['id']}")[2])
               ["last_used_at"] is not None, 5, "the key's last use")
    assert horus.request("DELETE", f"/api/v1/api-keys/{made['id']}")[0] == 204
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(made["key"]))[0] == 401
    assert horus.request("DELETE", "/api/v1/api-keys/0000000000000000")[0] == 404


def test_an_expired_api_key_is_refused(horus):
    soon = int(time.time() * 1000) + 1500
    status, _, body = horus.request("POST", "/api/v1/api-keys",
                                    {"name": "short", "role": "viewer", "expires_at": soon})
    assert status == 201, body
    key = json.loads(body)["key"]
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(key))[0] == 200
    time.sleep(1.8)
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(key))[0] == 401


def test_login_sets_a_strict_cookie_and_cookie_requests_need_csrf_and_same_origin(horus):
    status, _, body = horus.request("POST", "/api/v1/users",
                                    {"name": "ann", "role": "admin", "password": "correct horse 1"})
    assert status == 201, body
    status, headers, body = login(horus, "ann", "correct horse 1")
    assert status == 200, body
    reply = json.loads(body)
    cookie, token = session_of(headers)
    flags = [f.strip() for f in cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
    assert "Secure" not in flags  # plain http, no https public_url
    assert reply["principal"]["name"] == "ann" and reply["principal"]["role"] == "admin"
    csrf = reply["csrf_token"]
    jar = {"Cookie": f"horus_session={token}"}
    status, _, body = horus.request("GET", "/api/v1/auth/me", headers=jar, auth=False)
    assert status == 200 and json.loads(body)["kind"] == "session"
    # Reads need no CSRF token; changes need the token AND a same-origin Origin/Referer.
    patch = {"log_level": "info"}
    origin = {"Origin": horus.url}
    cases = [
        ({}, "missing token"),
        ({"X-CSRF-Token": "wrong", **origin}, "wrong token"),
        ({"X-CSRF-Token": csrf}, "no origin"),
        ({"X-CSRF-Token": csrf, "Origin": "http://evil.example"}, "foreign origin"),
        ({"X-CSRF-Token": csrf, "Referer": "http://evil.example/x"}, "foreign referer"),
    ]
    for extra, why in cases:
        status, _, body = horus.request("PATCH", "/api/v1/system", patch,
                                        headers={**jar, **extra}, auth=False)
        # A foreign Origin is refused earlier, by the HTTP layer's guard (design 0017).
        expected = ("csrf_failed", "forbidden") if why == "foreign origin" else ("csrf_failed",)
        assert status == 403 and error_code(body) in expected, why
    status, _, body = horus.request("PATCH", "/api/v1/system", patch,
                                    headers={**jar, "X-CSRF-Token": csrf, **origin}, auth=False)
    assert status == 200, body
    status, _, _ = horus.request("PATCH", "/api/v1/system", patch,
                                 headers={**jar, "X-CSRF-Token": csrf,
                                          "Referer": horus.url + "/ui/"}, auth=False)
    assert status == 200
    # The token in the database is hashed.
    assert token.encode() not in index_bytes(horus)
    # Own sessions are listed; logout ends this one.
    status, _, body = horus.request("GET", "/api/v1/auth/sessions", headers=jar, auth=False)
    assert [s["current"] for s in json.loads(body)["items"]] == [True]
    status, headers, _ = horus.request("POST", "/api/v1/auth/logout", b"",
                                       headers={**jar, "X-CSRF-Token": csrf, **origin},
                                       auth=False)
    assert status == 204 and "Max-Age=0" in headers["Set-Cookie"]
    assert horus.request("GET", "/api/v1/auth/me", headers=jar, auth=False)[0] == 401


def test_failed_logins_look_the_same_whoever_they_name(horus):
    horus.request("POST", "/api/v1/users", {"name": "bo", "role": "viewer",
                                            "password": "bo-password-1"})
    replies = []
    for user, pw in (("bo", "wrong-password"), ("nobody", "wrong-password"), ("bo", "")):
        t0 = time.monotonic()
        status, headers, body = login(horus, user, pw)
        replies.append((status, body, time.monotonic() - t0))
        assert "Set-Cookie" not in headers
    assert {r[0] for r in replies} == {401}
    assert len({r[1] for r in replies}) == 1
    assert max(r[2] for r in replies) < 1.0
    for bad in ({"username": 5, "password": "x"}, {"username": "bo"}, []):
        status, _, _ = horus.request("POST", "/api/v1/auth/login", bad, auth=False)
        assert status == 400, bad


def test_sessions_end_after_the_idle_timeout(horus_factory):
    h = horus_factory("auth:\n  session_idle: 2s\n")
    h.request("POST", "/api/v1/users", {"name": "ida", "role": "viewer",
                                        "password": "ida-password-1"})
    _, headers, _ = login(h, "ida", "ida-password-1")
    jar = {"Cookie": "horus_session=" + session_of(headers)[1]}
    for _ in range(4):  # activity keeps it alive past the idle timeout
        time.sleep(0.8)
        assert h.request("GET", "/api/v1/auth/me", headers=jar, auth=False)[0] == 200
    time.sleep(2.5)
    assert h.request("GET", "/api/v1/auth/me", headers=jar, auth=False)[0] == 401


def test_disabling_a_user_ends_its_sessions_and_the_last_admin_stays(horus):
    horus.request("POST", "/api/v1/users", {"name": "dee", "role": "operator",
                                            "password": "dee-password-1"})
    _, headers, _ = login(horus, "dee", "dee-password-1")
    jar = {"Cookie": "horus_session=" + session_of(headers)[1]}
    assert horus.request("GET", "/api/v1/cameras", headers=jar, auth=False)[0] == 200
    status, _, body = horus.request("PATCH", "/api/v1/users/dee", {"disabled": True})
    assert status == 200 and json.loads(body)["disabled"] is True
    assert horus.request("GET", "/api/v1/cameras", headers=jar, auth=False)[0] == 401
    assert login(horus, "dee", "dee-password-1")[0] == 401
    # admin (made at first start) is the only admin: it cannot go.
    status, _, body = horus.request("DELETE", "/api/v1/users/admin")
    assert status == 409, body
    status, _, body = horus.request("PATCH", "/api/v1/users/admin", {"role": "viewer"})
    assert status == 409, body


def test_first_start_makes_an_admin_whose_password_must_change(horus):
    path = horus.data / "initial-admin-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 16
    assert password not in horus.proc.output()  # the log says where, never what
    assert "initial-admin-password" in horus.proc.output()
    status, headers, body = login(horus, "admin", password)
    assert status == 200 and json.loads(body)["principal"]["must_change_password"] is True
    csrf = json.loads(body)["csrf_token"]
    jar = {"Cookie": "horus_session=" + session_of(headers)[1], "X-CSRF-Token": csrf,
           "Origin": horus.url}
    status, _, body = horus.request("GET", "/api/v1/cameras", headers=jar, auth=False)
    assert status == 403 and error_code(body) == "password_change_required"
    status, _, body = horus.request("POST", "/api/v1/auth/password",
                                    {"current": password, "new": "short"}, headers=jar,
                                    auth=False)
    assert status == 400 and b"new: must be at least 10" in body
    status, _, body = horus.request("POST", "/api/v1/auth/password",
                                    {"current": "wrong", "new": "a much better one"},
                                    headers=jar, auth=False)
    assert status == 403
    status, _, body = horus.request("POST", "/api/v1/auth/password",
                                    {"current": password, "new": "a much better one"},
                                    headers=jar, auth=False)
    assert status == 204, body
    assert horus.request("GET", "/api/v1/cameras", headers=jar, auth=False)[0] == 200
    assert login(horus, "admin", password)[0] == 401
    assert login(horus, "admin", "a much better one")[0] == 200


def test_the_cli_manages_users_while_the_daemon_runs(horus):
    run = lambda *a, **kw: subprocess.run([HORUS_BIN, *a, *horus.config_args(), "--data",
                                           str(horus.data)],
                                          capture_output=True, text=True, timeout=30, **kw)
    out = run("user", "add", "cli-user", "--role", "viewer", "--cameras", "cam-a",
              "--password-stdin", input="cli-password-1\n")
    assert out.returncode == 0, out.stderr
    status, headers, body = login(horus, "cli-user", "cli-password-1")
    assert status == 200
    assert json.loads(body)["principal"]["cameras"] == ["cam-a"]
    out = run("user", "list")
    assert re.search(r"cli-user\s+viewer\s+cameras=cam-a", out.stdout), out.stdout
    out = run("user", "passwd", "cli-user", "--password-stdin", input="cli-password-2\n")
    assert out.returncode == 0, out.stderr
    jar = {"Cookie": "horus_session=" + session_of(headers)[1]}
    assert horus.request("GET", "/api/v1/auth/me", headers=jar, auth=False)[0] == 401
    assert login(horus, "cli-user", "cli-password-2")[0] == 200
    assert run("user", "disable", "cli-user").returncode == 0
    assert login(horus, "cli-user", "cli-password-2")[0] == 401
    out = run("api-key", "add", "ops", "--role", "operator", "--expires", "1d")
    assert out.returncode == 0 and out.stdout.startswith("hk_"), out.stderr
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(out.stdout.strip()))[0] == 200
    bad = run("user", "add", "x y", "--role", "viewer")
    assert bad.returncode == 2 and "name" in bad.stderr
    # The last enabled admin is not disabled by accident: nobody could manage users then.
    refused = run("user", "disable", "admin")
    assert refused.returncode == 1 and "'admin' is the last admin" in refused.stderr
    assert not re.search(r"^admin\s.*disabled", run("user", "list").stdout, re.M)
    assert run("user", "add", "boss", "--role", "admin").returncode == 0
    assert run("user", "disable", "admin").returncode == 0
    assert run("user", "disable", "boss").returncode == 1
    assert run("user", "disable", "boss", "--force").returncode == 0
    assert re.search(r"^boss\s.*disabled", run("user", "list").stdout, re.M)
    bad = run("user", "add", "z", "--role", "king")
    assert bad.returncode == 2


def test_identity_replies_match_the_openapi_document(horus):
    from openapi_check import OpenApi
    spec = OpenApi(DOC)

    def call(method, tmpl, path=None, body=None, headers=None, auth=True):
        status, hdrs, reply = horus.request(method, path or tmpl, body, headers=headers,
                                            auth=auth)
        if reply:
            spec.validate(method, tmpl, status, hdrs["Content-Type"], reply)
        else:
            assert str(status) in spec.operation(method, tmpl)["responses"], (method, tmpl)
        return status, hdrs, reply

    assert call("POST", "/api/v1/users", body={"name": "val", "role": "viewer"})[0] == 201
    assert call("POST", "/api/v1/users", body={"name": "val", "role": "viewer"})[0] == 409
    assert call("POST", "/api/v1/users", body={"name": "v w", "role": "viewer"})[0] == 400
    assert call("GET", "/api/v1/users")[0] == 200
    assert call("GET", "/api/v1/users/{name}", "/api/v1/users/val")[0] == 200
    assert call("GET", "/api/v1/users/{name}", "/api/v1/users/nope")[0] == 404
    assert call("PATCH", "/api/v1/users/{name}", "/api/v1/users/val",
                {"cameras": ["a", "b"]})[0] == 200
    status, _, body = call("POST", "/api/v1/api-keys", body={"name": "k", "role": "viewer"})
    assert status == 201
    kid = json.loads(body)["id"]
    assert call("GET", "/api/v1/api-keys")[0] == 200
    assert call("GET", "/api/v1/api-keys/{id}", f"/api/v1/api-keys/{kid}")[0] == 200
    assert call("DELETE", "/api/v1/api-keys/{id}", f"/api/v1/api-keys/{kid}")[0] == 204
    assert call("GET", "/api/v1/auth/me")[0] == 200
    assert call("GET", "/api/v1/auth/sessions", auth=False)[0] == 401
    horus.request("POST", "/api/v1/users", {"name": "sam", "role": "viewer",
                                            "password": "sam-password-1"})
    status, headers, _ = call("POST", "/api/v1/auth/login",
                              body={"username": "sam", "password": "sam-password-1"}, auth=False)
    assert status == 200
    jar = {"Cookie": "horus_session=" + session_of(headers)[1]}
    status, _, body = call("GET", "/api/v1/auth/sessions", headers=jar, auth=False)
    sid = json.loads(body)["items"][0]["id"]
    assert call("GET", "/api/v1/auth/sessions", "/api/v1/auth/sessions?user=*")[0] == 200
    assert call("DELETE", "/api/v1/auth/sessions/{id}", "/api/v1/auth/sessions/nope")[0] == 404
    assert call("DELETE", "/api/v1/auth/sessions/{id}", f"/api/v1/auth/sessions/{sid}")[0] == 204
    assert call("POST", "/api/v1/auth/logout", body=b"")[0] == 204  # an API key: nothing to end
    assert call("DELETE", "/api/v1/users/{name}", "/api/v1/users/val")[0] == 204


def test_health_tells_anonymous_callers_the_status_only(horus):
    status, _, body = horus.request("GET", "/health", auth=False)
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, _, body = horus.request("GET", "/health", headers=bearer("hk_bad"))
    assert status == 200 and json.loads(body) == {"status": "ok"}  # bad credentials: ignored
    viewer = make_key(horus, "viewer")["key"]
    status, _, body = horus.request("GET", "/health", headers=bearer(viewer))
    full = json.loads(body)
    assert {"version", "storage", "database", "cameras"} <= set(full), full
    assert str(horus.data) not in json.dumps(horus.request("GET", "/health", auth=False)[2].decode())
