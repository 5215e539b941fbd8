"""Single sign-on against a real OpenID Provider: npm's oidc-provider started by
tests/oidc/idp.mjs. Python plays the browser (follows the IdP's redirects and
fills its sign-in and consent forms); `horus auth oidc-login` runs Horus's side
of the flow (auth/oidc.c: discovery, PKCE, state, nonce, token exchange,
ID-token validation against the JWKS, claim mapping) and `horus auth
verify-token` checks the IdP's JWT access tokens (JWKS cache and rotation)."""
import base64
import hashlib
import hmac
import http.cookies
import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import HORUS_BIN, Proc, free_port, wait_for_port, wait_until

REDIRECT = "http://127.0.0.1:{}/api/v1/auth/oidc/callback"


def write_config(tmp_path, idp, client_id="horus", secret=None, extra=""):
    path = tmp_path / "horus.yaml"
    path.write_text(f"""
server:
  public_url: {idp.redirect_uri.split('/api/')[0]}
auth:
  oidc:
    issuer: {idp.issuer}
    client_id: {client_id}
    client_secret: ${{HORUS_TEST_OIDC_SECRET}}
    client_auth: {"client_secret_post" if client_id == "horus-post" else "client_secret_basic"}
    scopes: [profile, email, groups]
    roles:
      admin: [horus-admins]
      operator: [horus-operators]
      viewer: [horus-viewers]
    cameras_claim: cameras
    jwks_min_refresh: 1m
{extra}""")
    return path, {"HORUS_TEST_OIDC_SECRET": secret or idp.secret}


class AuthCli:
    """`horus auth SUB -c FILE` with line-by-line stdin/stdout."""

    def __init__(self, sub, config, env):
        import os
        full = dict(os.environ)
        full.update(env)
        self.p = subprocess.Popen([HORUS_BIN, "auth", sub, "-c", str(config)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=full)
        self.seen = []

    def read(self):
        line = self.p.stdout.readline()
        assert line, f"horus auth ended: {self.p.stderr.read()}"
        self.seen.append(line)
        return json.loads(line)

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        return self.read()

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=20)
        err = self.p.stderr.read()
        return rc, err


@pytest.fixture
def idp(oidc_idp_factory):
    return oidc_idp_factory(REDIRECT.format(free_port()), groups=("horus-viewers", "staff"),
                            cameras=("front", "yard"))


def test_code_flow_logs_in_and_maps_claims(tmp_path, idp):
    config, env = write_config(tmp_path, idp)
    cli = AuthCli("oidc-login", config, env)
    first = cli.read()
    assert first["ok"], first
    url = urllib.parse.urlparse(first["authorize"])
    q = urllib.parse.parse_qs(url.query)
    assert first["authorize"].startswith(idp.issuer + "/auth?")
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert q["redirect_uri"] == [idp.redirect_uri] and q["client_id"] == ["horus"]
    assert set(q["scope"][0].split()) == {"openid", "profile", "email", "groups"}
    assert q["state"][0] != q["nonce"][0]

    callback = idp.login(first["authorize"])
    assert callback.startswith(idp.redirect_uri + "?")
    got = cli.send(callback)
    assert got["ok"], got
    assert got["subject"] == "sub-alice" and got["username"] == "alice"
    assert got["email"] == "alice@example.test"
    assert got["role"] == "viewer"
    assert got["all_cameras"] is False and got["cameras"] == ["front", "yard"]
    assert got["return_to"] == "/"
    assert got["logout_url"].startswith(idp.issuer + "/session/end?client_id=horus")

    # The same callback again: the state was used once and is gone.
    again = cli.send(callback)
    assert not again["ok"] and "already used" in again["error"], again
    rc, err = cli.close()
    assert rc == 1  # one refusal
    out = "".join(cli.seen)
    assert idp.secret not in out and "eyJ" not in out  # no secret, no token printed


def test_id_token_with_another_logins_nonce_is_refused(tmp_path, idp):
    config, env = write_config(tmp_path, idp)
    cli = AuthCli("oidc-login", config, env)
    a = cli.read()
    b = cli.send("begin /cameras/front")
    assert a["ok"] and b["ok"]
    qa = urllib.parse.parse_qs(urllib.parse.urlparse(a["authorize"]).query)
    # Login B's request (its state and PKCE challenge) carrying login A's nonce: the IdP
    # signs an ID token with nonce A, which login B must refuse.
    parts = urllib.parse.urlparse(b["authorize"])
    qb = urllib.parse.parse_qs(parts.query)
    qb["nonce"] = qa["nonce"]
    forged = parts._replace(query=urllib.parse.urlencode(qb, doseq=True)).geturl()
    got = cli.send(idp.login(forged))
    assert not got["ok"] and "nonce" in got["error"], got
    # Login A still works on its own.
    ok = cli.send(idp.login(a["authorize"]))
    assert ok["ok"], ok
    cli.close()


def test_return_to_must_be_a_same_origin_path(tmp_path, idp):
    config, env = write_config(tmp_path, idp)
    cli = AuthCli("oidc-login", config, env)
    cli.read()
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil",
                 "/\\\\evil", "javascript:alert(1)"]:
        got = cli.send("begin " + evil)
        assert not got["ok"] and "same-origin" in got["error"], (evil, got)
    ok = cli.send("begin /cameras/front?tab=live")
    assert ok["ok"]
    got = cli.send(idp.login(ok["authorize"]))
    assert got["ok"] and got["return_to"] == "/cameras/front?tab=live", got
    cli.close()


def test_client_secret_post_with_es256_id_tokens(tmp_path, idp):
    config, env = write_config(tmp_path, idp, client_id="horus-post")
    cli = AuthCli("oidc-login", config, env)
    first = cli.read()
    callback = idp.login(first["authorize"])
    got = cli.send(callback)
    assert got["ok"], got
    cli.close()


def test_idp_refusals_are_refused(tmp_path, idp):
    config, env = write_config(tmp_path, idp, secret="not-the-secret")
    cli = AuthCli("oidc-login", config, env)
    first = cli.read()
    got = cli.send(idp.login(first["authorize"]))
    assert not got["ok"] and "invalid_client" in got["error"], got
    # An error redirect from the IdP (user pressed cancel).
    b = cli.send("begin")
    state = urllib.parse.parse_qs(urllib.parse.urlparse(b["authorize"]).query)["state"][0]
    got = cli.send(f"{idp.redirect_uri}?error=access_denied&state={state}")
    assert not got["ok"] and "access_denied" in got["error"], got
    # A made-up state.
    got = cli.send(f"{idp.redirect_uri}?code=abc&state=made-up")
    assert not got["ok"] and "unknown" in got["error"], got
    cli.close()


def test_user_without_a_mapped_role_is_refused(tmp_path, oidc_idp_factory):
    idp = oidc_idp_factory(REDIRECT.format(free_port()), groups=("contractors",))
    config, env = write_config(tmp_path, idp)
    cli = AuthCli("oidc-login", config, env)
    got = cli.send(idp.login(cli.read()["authorize"]))
    assert not got["ok"] and "no role" in got["error"], got
    cli.close()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_access_tokens_verify_and_follow_key_rotation(tmp_path, idp):
    config, env = write_config(tmp_path, idp, extra="    audience: horus-api\n")
    cli = AuthCli("verify-token", config, env)
    t1 = idp.client_credentials()
    got = cli.send(t1)
    assert got["ok"], got
    assert got["subject"] == "horus" and got["role"] == "operator"
    fetches = got["jwks_fetches"]

    # Tampered claims: the signature no longer matches.
    h, c, s = t1.split(".")
    claims = json.loads(base64.urlsafe_b64decode(c + "=="))
    claims["groups"] = ["horus-admins"]
    evil = ".".join([h, b64url(json.dumps(claims).encode()), s])
    got = cli.send(evil)
    assert not got["ok"] and got["reason"] == "bad_signature", got

    # alg confusion: HS256 keyed with the IdP's RSA public key bytes.
    with urllib.request.urlopen(idp.issuer + "/jwks") as r:
        rsa = next(k for k in json.load(r)["keys"] if k["kty"] == "RSA")
    hdr = b64url(json.dumps({"alg": "HS256", "kid": rsa["kid"]}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(base64.urlsafe_b64decode(rsa["n"] + "=="), f"{hdr}.{body}".encode(),
                   hashlib.sha256).digest()
    got = cli.send(f"{hdr}.{body}.{b64url(sig)}")
    assert not got["ok"] and got["reason"] == "alg_refused", got

    # The IdP rotates its keys: a token with the new kid triggers one refresh.
    idp.rotate()
    t2 = idp.client_credentials()
    assert json.loads(base64.urlsafe_b64decode(t2.split(".")[0] + "=="))["kid"] != \
        json.loads(base64.urlsafe_b64decode(h + "=="))["kid"]
    got = cli.send(t2)
    assert got["ok"], got
    assert got["jwks_fetches"] == fetches + 1

    # A flood of made-up kids costs the IdP nothing more within jwks_min_refresh.
    for i in range(5):
        hdr = b64url(json.dumps({"alg": "ES256", "kid": f"random-{i}"}).encode())
        got = cli.send(f"{hdr}.{body}.{b64url(b'x' * 64)}")
        assert not got["ok"] and got["reason"] == "unknown_kid", got
    assert got["jwks_fetches"] == fetches + 1
    # The old key is gone from the IdP, so the old token no longer verifies.
    got = cli.send(t1)
    assert not got["ok"] and got["reason"] == "unknown_kid", got
    cli.close()


def test_access_token_for_another_audience_is_refused(tmp_path, idp):
    config, env = write_config(tmp_path, idp)  # audience defaults to client_id "horus"
    cli = AuthCli("verify-token", config, env)
    got = cli.send(idp.client_credentials())
    assert not got["ok"] and got["reason"] == "wrong_audience", got
    cli.close()


def test_incomplete_configuration_is_named(tmp_path, idp):
    config, env = write_config(tmp_path, idp, client_id='""')
    p = subprocess.run([HORUS_BIN, "auth", "oidc-login", "-c", str(config)], env=env,
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and "client_id is required" in p.stderr, p.stderr
    path = tmp_path / "bad.yaml"
    path.write_text("auth:\n  oidc:\n    issuer: http://idp.example.com/\n"
                    "    algorithms: [HS256]\n")
    p = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                       timeout=20)
    assert p.returncode == 2
    assert "auth.oidc.issuer" in p.stderr and "auth.oidc.algorithms" in p.stderr, p.stderr


# --- Single sign-on through Horus's own routes, and IdP access tokens as bearer tokens ---------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def raw_get(url, headers=None):
    """GET without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def sso_config(idp, port, extra=""):
    return f"""
server:
  public_url: http://127.0.0.1:{port}
auth:
  oidc:
    issuer: {idp.issuer}
    client_id: horus
    client_secret: ${{HORUS_TEST_OIDC_SECRET}}
    scopes: [profile, email, groups]
    audience: horus-api
    roles:
      admin: [horus-admins]
      operator: [horus-operators]
      viewer: [horus-viewers]
    cameras_claim: cameras
    create_users: true
    post_logout_redirect_uri: http://127.0.0.1:{port}/
{extra}"""


@pytest.fixture
def sso(horus_factory, oidc_idp_factory):
    """A Horus with SSO on and its IdP (alice: viewer of cameras front and yard)."""
    def start(extra="", **idp_kw):
        port = free_port()
        idp_kw.setdefault("groups", ("horus-viewers", "staff"))
        idp_kw.setdefault("cameras", ("front", "yard"))
        idp = oidc_idp_factory(REDIRECT.format(port), **idp_kw)
        h = horus_factory(sso_config(idp, port, extra), env={"HORUS_TEST_OIDC_SECRET": idp.secret},
                          port=port)
        for cid in ("front", "yard", "back"):
            status, _, body = h.request("POST", "/api/v1/cameras",
                                        {"id": cid, "url": "rtsp://127.0.0.1:9/x",
                                         "enabled": False})
            assert status == 201, body
        return h, idp
    return start


def begin(h, return_to=None):
    q = "" if return_to is None else "?" + urllib.parse.urlencode({"return_to": return_to})
    return raw_get(h.url + "/api/v1/auth/oidc/login" + q)


def session_cookie(headers):
    jar = http.cookies.SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return jar["horus_session"] if "horus_session" in jar else None


def sign_in(h, idp, return_to=None):
    """The browser flow through Horus's routes: (cookie morsel, landing page, callback)."""
    status, headers, _ = begin(h, return_to)
    assert status == 302, status
    callback = idp.login(headers["Location"])
    assert callback.startswith(h.url + "/api/v1/auth/oidc/callback?"), callback
    status, headers, body = raw_get(callback)
    assert status == 200, body
    cookie = session_cookie(headers)
    assert cookie is not None and cookie.value, headers
    return cookie, body.decode(), callback


def me(h, cookie):
    return h.request("GET", "/api/v1/auth/me", headers={"Cookie": f"horus_session={cookie}"},
                     auth=False)


def audit_entries(h, action):
    _, page = h.get_json("/api/v1/audit?limit=100")
    return [e for e in page["items"] if e["action"] == action]


def test_browser_signs_in_through_horus_with_the_mapped_role(sso):
    h, idp = sso()
    status, headers, _ = begin(h, "/cameras/front?tab=live")
    assert status == 302 and headers["Location"].startswith(idp.issuer + "/auth?")
    assert headers["Cache-Control"] == "no-store"

    cookie, page, callback = sign_in(h, idp, "/cameras/front?tab=live")
    assert "HttpOnly" in str(cookie) or cookie["httponly"]
    assert cookie["samesite"] == "Strict" and cookie["path"] == "/"
    # A page (not a 302) moves the browser on, so the Strict cookie goes with the next request.
    landing = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', page).group(1)
    assert landing == "/cameras/front?tab=live"
    assert idp.secret not in page and "eyJ" not in page

    status, _, body = me(h, cookie.value)
    assert status == 200, body
    who = json.loads(body)
    assert who["kind"] == "session" and who["name"] == "alice" and who["role"] == "viewer"
    assert who["cameras"] == ["front", "yard"] and who["csrf_token"]

    # The user was made just in time with the mapped role and grant.
    _, users = h.get_json("/api/v1/users")
    alice = next(u for u in users["items"] if u["name"] == "alice")
    assert alice["role"] == "viewer" and alice["cameras"] == ["front", "yard"]

    # The state is single use: the same callback again is refused, its reason audited only.
    status, _, body = raw_get(callback)
    assert status == 401 and b"already used" not in body, body

    # A viewer signed in by SSO cannot create cameras (same CSRF rules as any cookie session).
    hdr = {"Cookie": f"horus_session={cookie.value}", "X-CSRF-Token": who["csrf_token"],
           "Origin": h.url}
    status, _, body = h.request("POST", "/api/v1/cameras",
                                {"id": "new", "url": "rtsp://127.0.0.1:9/x"}, headers=hdr,
                                auth=False)
    assert status == 403, body
    # ... and sees only its cameras.
    status, _, body = h.request("GET", "/api/v1/cameras", headers=hdr, auth=False)
    assert [c["id"] for c in json.loads(body)["items"]] == ["front", "yard"]
    assert h.request("GET", "/api/v1/cameras/back", headers=hdr, auth=False)[0] == 404

    wait_until(lambda: audit_entries(h, "login.ok") and audit_entries(h, "login.failed"), 5,
               "login audit entries")
    ok = audit_entries(h, "login.ok")[0]
    assert ok["actor"]["kind"] == "oidc" and ok["actor"]["name"] == "alice"
    assert ok["details"]["kind"] == "oidc" and ok["target"]["kind"] == "session"
    failed = audit_entries(h, "login.failed")[0]
    assert "already used" in failed["details"]["reason"]

    # Logout ends the session and hands back the IdP's logout URL with the ID token hint.
    status, _, body = h.request("POST", "/api/v1/auth/logout", headers=hdr, auth=False)
    assert status == 200, body
    url = json.loads(body)["logout_url"]
    assert url.startswith(idp.issuer + "/session/end?client_id=horus")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert q["id_token_hint"][0].count(".") == 2
    assert q["post_logout_redirect_uri"] == [h.url + "/"]
    assert me(h, cookie.value)[0] == 401
    # The IdP accepts it (its logout confirmation page, not an error).
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200


def test_tampered_state_and_open_redirects_are_refused(sso):
    h, idp = sso()
    for evil in ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil",
                 "javascript:alert(1)", "/%0d%0aSet-Cookie:x=y"]:
        status, headers, body = begin(h, evil)
        assert status in (302, 400), (evil, status)
        if status == 302:  # only an acceptable same-origin path may pass
            assert evil.startswith("/") and not evil.startswith("//"), evil
        else:
            assert "same-origin" in json.loads(body)["error"]["message"], body
    assert begin(h, "//evil.example/")[0] == 400

    status, headers, _ = begin(h)
    callback = idp.login(headers["Location"])
    parts = urllib.parse.urlparse(callback)
    q = urllib.parse.parse_qs(parts.query)
    state = q["state"][0]
    q["state"] = [state[:-1] + ("A" if state[-1] != "A" else "B")]
    tampered = parts._replace(query=urllib.parse.urlencode(q, doseq=True)).geturl()
    status, headers, _ = raw_get(tampered)
    assert status == 401 and session_cookie(headers) is None
    assert raw_get(h.url + "/api/v1/auth/oidc/callback?code=abc")[0] == 400
    # The real state still works once.
    status, headers, _ = raw_get(callback)
    assert status == 200 and session_cookie(headers) is not None


def test_a_disabled_user_cannot_sign_in_by_sso(sso):
    h, idp = sso()
    sign_in(h, idp)
    assert h.request("PATCH", "/api/v1/users/alice", {"disabled": True})[0] == 200
    status, headers, _ = begin(h)
    status, headers, _ = raw_get(idp.login(headers["Location"]))
    assert status == 401 and session_cookie(headers) is None
    wait_until(lambda: any("disabled" in e["details"].get("reason", "")
                           for e in audit_entries(h, "login.failed")), 5, "audited refusal")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_idp_access_tokens_are_bearer_tokens_with_the_mapped_role(sso):
    h, idp = sso()
    t1 = idp.client_credentials()
    status, _, body = h.request("GET", "/api/v1/cameras", headers=bearer(t1))
    assert status == 200, body
    assert [c["id"] for c in json.loads(body)["items"]] == ["front", "yard"]
    assert h.request("GET", "/api/v1/cameras/back", headers=bearer(t1))[0] == 404
    status, _, body = h.request("GET", "/api/v1/auth/me", headers=bearer(t1))
    who = json.loads(body)
    assert who["kind"] == "jwt" and who["role"] == "operator" and "csrf_token" not in who
    # operator: may manage cameras, not users
    assert h.request("GET", "/api/v1/users", headers=bearer(t1))[0] == 403
    # The token is cached: the next requests agree.
    for _ in range(3):
        assert h.request("GET", "/api/v1/cameras", headers=bearer(t1))[0] == 200

    # Tampered claims, alg confusion, alg none, garbage: 401.
    hd, c, s = t1.split(".")
    claims = json.loads(base64.urlsafe_b64decode(c + "=="))
    claims["groups"] = ["horus-admins"]
    body64 = b64url(json.dumps(claims).encode())
    with urllib.request.urlopen(idp.issuer + "/jwks") as r:
        keys = json.load(r)["keys"]
    rsa = next(k for k in keys if k["kty"] == "RSA")
    hs = b64url(json.dumps({"alg": "HS256", "kid": rsa["kid"]}).encode())
    mac = hmac.new(base64.urlsafe_b64decode(rsa["n"] + "=="), f"{hs}.{body64}".encode(),
                   hashlib.sha256).digest()
    none = b64url(json.dumps({"alg": "none", "kid": rsa["kid"]}).encode())
    for bad in [f"{hd}.{body64}.{s}", f"{hs}.{body64}.{b64url(mac)}", f"{none}.{body64}.",
                f"{none}.{body64}.x", "a.b.c"]:
        status, headers, _ = h.request("GET", "/api/v1/cameras", headers=bearer(bad))
        assert status == 401, bad
        assert headers["WWW-Authenticate"].startswith("Bearer")

    # Key rotation at the IdP: a token signed by the new key is accepted.
    idp.rotate()
    t2 = idp.client_credentials()
    assert t2.split(".")[0] != hd
    status, _, body = h.request("GET", "/api/v1/cameras", headers=bearer(t2))
    assert status == 200, body


def test_an_expired_access_token_is_refused_also_once_cached(sso):
    h, idp = sso(extra="    leeway: 0s\n", access_token_ttl=2)
    t = idp.client_credentials()
    exp = json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "=="))["exp"]
    assert h.request("GET", "/api/v1/cameras", headers=bearer(t))[0] == 200
    time.sleep(max(0.0, exp - time.time()) + 1.2)
    status, _, body = h.request("GET", "/api/v1/cameras", headers=bearer(t))
    assert status == 401, body


def test_a_camera_claim_that_is_no_camera_id_refuses_login_and_token(sso):
    h, idp = sso(cameras=("front", "Front Door!"))
    status, headers, _ = begin(h)
    status, headers, body = raw_get(idp.login(headers["Location"]))
    assert status == 401 and session_cookie(headers) is None, body
    wait_until(lambda: any("camera claim" in e["details"].get("reason", "")
                           for e in audit_entries(h, "login.failed")), 5, "audited refusal")
    assert h.request("GET", "/api/v1/cameras", headers=bearer(idp.client_credentials()))[0] == 401


def test_an_unreachable_idp_does_not_stop_horus_and_logins_answer_503(horus_factory):
    port = free_port()

    class Down:
        issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    h = horus_factory(sso_config(Down, port, "    http_timeout: 1s\n"),
                      env={"HORUS_TEST_OIDC_SECRET": "x"}, port=port)
    h.wait_for_log(lambda l: "discovery failed" in l.get("msg", ""))
    status, _, body = begin(h)
    assert status == 503, body
    assert h.request("GET", "/api/v1/cameras", headers=bearer("a.b.c"))[0] == 401
    assert h.request("GET", "/health", auth=False)[0] == 200


def test_auth_mfa_required_spares_sso_sessions_also_after_a_restart(sso):
    """auth.mfa obliges password logins; an SSO login's second factor is the IdP's
    (docs/design/0023). The session row records how it was opened, so a restart
    does not turn an SSO session into one restricted to enrolment."""
    h, idp = sso("  mfa: required\n", groups=("horus-admins",))
    cookie, _, _ = sign_in(h, idp)
    status, _, body = me(h, cookie.value)
    assert status == 200, body
    who = json.loads(body)
    assert who["role"] == "admin" and who["must_enroll_mfa"] is False, who
    sso_hdr = {"Cookie": f"horus_session={cookie.value}"}
    assert h.request("GET", "/api/v1/users", headers=sso_hdr, auth=False)[0] == 200

    # A password admin under the same configuration may only enrol.
    status, _, body = h.request("POST", "/api/v1/users", {"name": "pat", "role": "admin",
                                                          "password": "pat-password-1"})
    assert status == 201, body
    status, headers, body = h.request("POST", "/api/v1/auth/login",
                                      {"username": "pat", "password": "pat-password-1"},
                                      auth=False)
    assert status == 200, body
    assert json.loads(body)["principal"]["must_enroll_mfa"] is True
    token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
    pw_hdr = {"Cookie": f"horus_session={token}"}
    status, _, body = h.request("GET", "/api/v1/users", headers=pw_hdr, auth=False)
    assert status == 403 and json.loads(body)["error"]["code"] == "mfa_enrollment_required"

    status, _, body = h.request("GET", "/api/v1/auth/sessions?user=*")
    assert status == 200, body
    methods = {s["user"]: s["method"] for s in json.loads(body)["items"]}
    assert methods == {"alice": "sso", "pat": "password"}, methods

    # After a restart both sessions keep what they were.
    h.stop()
    h.proc = Proc(h.proc.args, h.dir, "horus-2.log",
                  env={"HORUS_TEST_OIDC_SECRET": idp.secret})
    wait_for_port(h.port, proc=h.proc.popen)
    status, _, body = me(h, cookie.value)
    assert status == 200 and json.loads(body)["must_enroll_mfa"] is False, body
    assert h.request("GET", "/api/v1/users", headers=sso_hdr, auth=False)[0] == 200
    status, _, body = h.request("GET", "/api/v1/users", headers=pw_hdr, auth=False)
    assert status == 403 and json.loads(body)["error"]["code"] == "mfa_enrollment_required"


def test_a_camera_claim_may_name_camera_groups(sso):
    """cameras_claim values "group:NAME" grant the group's cameras as they are at each
    request, the access token cache included (docs/design/0016, "Camera groups")."""
    h, idp = sso(cameras=("group:lobby", "front"))
    assert h.request("PATCH", "/api/v1/cameras/back", {"groups": ["lobby"]})[0] == 200
    t = idp.client_credentials()
    ids = lambda: [c["id"] for c in json.loads(h.request("GET", "/api/v1/cameras",
                                                         headers=bearer(t))[2])["items"]]
    assert ids() == ["back", "front"]
    status, _, body = h.request("GET", "/api/v1/auth/me", headers=bearer(t))
    assert json.loads(body)["cameras"] == ["front", "group:lobby"], body
    # Cached token, changed membership: the next request sees it.
    assert h.request("PATCH", "/api/v1/cameras/yard", {"groups": ["lobby"]})[0] == 200
    assert h.request("PATCH", "/api/v1/cameras/back", {"groups": []})[0] == 200
    assert ids() == ["front", "yard"]
    assert h.request("GET", "/api/v1/cameras/back", headers=bearer(t))[0] == 404


def test_sign_in_methods_offer_sso_with_its_label_and_nothing_else(sso):
    """GET /api/v1/auth/methods (public): the sign-in page's SSO button and its label
    (auth.oidc.label), never the issuer or a secret (docs/design/0027)."""
    h, idp = sso(extra="    label: Acme account")
    status, _, body = h.request("GET", "/api/v1/auth/methods", auth=False)
    assert status == 200, body
    assert json.loads(body) == {"password": True,
                                "sso": {"enabled": True, "label": "Acme account"}}
    assert idp.issuer.encode() not in body and idp.secret.encode() not in body
