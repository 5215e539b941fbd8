"""Single sign-on against a real OpenID Provider: npm's oidc-provider started by
tests/oidc/idp.mjs. Python plays the browser (follows the IdP's redirects and
fills its sign-in and consent forms); `horus auth oidc-login` runs Horus's side
of the flow (auth/oidc.c: discovery, PKCE, state, nonce, token exchange,
ID-token validation against the JWKS, claim mapping) and `horus auth
verify-token` checks the IdP's JWT access tokens (JWKS cache and rotation)."""
import base64
import hashlib
import hmac
import json
import subprocess
import urllib.parse

import pytest

from conftest import HORUS_BIN, free_port

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
