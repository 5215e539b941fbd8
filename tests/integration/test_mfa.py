"""TOTP multi-factor sign-in end to end (issue 9 item 5, docs/design/0023-mfa.md):
enrolment and confirmation, the login's second step, replayed codes refused (also
after a restart), recovery codes that work once, the auth.mfa policy forcing
enrolment, self-removal with a code and an admin's reset, and the audit entries.
Codes are computed here from the secret with RFC 6238 (hmac, hashlib, base64),
independently of the daemon's implementation."""
import base64
import hashlib
import hmac
import json
import re
import struct
import subprocess
import time
import urllib.parse
from pathlib import Path

from conftest import HORUS_BIN, Horus, wait_until


def totp(secret_b32, at=None, step_offset=0):
    """The 6-digit RFC 6238 code (HMAC-SHA1, 30 s) of secret at time at."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


def error_code(body):
    return json.loads(body)["error"]["code"]


def add_user(h, name, role, password):
    status, _, body = h.request("POST", "/api/v1/users",
                                {"name": name, "role": role, "password": password})
    assert status == 201, body


def login(h, user, password, **extra):
    return h.request("POST", "/api/v1/auth/login",
                     {"username": user, "password": password, **extra}, auth=False)


class Session:
    """A signed-in browser: the cookie, and the CSRF token and Origin on changes."""

    def __init__(self, h, user, password, **extra):
        self.h = h
        status, headers, body = login(h, user, password, **extra)
        assert status == 200, body
        self.reply = json.loads(body)
        token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
        self.headers = {"Cookie": f"horus_session={token}"}
        self.change = {**self.headers, "X-CSRF-Token": self.reply["csrf_token"],
                       "Origin": h.url}

    def get(self, path):
        return self.h.request("GET", path, headers=self.headers, auth=False)

    def send(self, method, path, body=None):
        return self.h.request(method, path, body if body is not None else {},
                              headers=self.change, auth=False)

    def enrol(self):
        """Enrols and confirms; returns (secret, recovery codes)."""
        status, _, body = self.send("POST", "/api/v1/auth/mfa/enroll")
        assert status == 200, body
        secret = json.loads(body)["secret"]
        status, _, body = self.send("POST", "/api/v1/auth/mfa/confirm", {"totp": totp(secret)})
        assert status == 200, body
        return secret, json.loads(body)["recovery_codes"]


def audit_actions(h, action):
    status, _, body = h.request("GET", "/api/v1/audit?action=" + urllib.parse.quote(action))
    assert status == 200, body
    return json.loads(body)["items"]


def test_enrol_confirm_then_login_needs_a_fresh_code_even_after_a_restart(horus):
    add_user(horus, "mia", "viewer", "mia-password-1")
    s = Session(horus, "mia", "mia-password-1")
    assert s.reply["principal"]["must_enroll_mfa"] is False
    status, _, body = s.get("/api/v1/auth/mfa")
    assert status == 200 and json.loads(body)["enrolled"] is False
    assert json.loads(body)["policy"] == "required_for_admins"

    status, _, body = s.send("POST", "/api/v1/auth/mfa/enroll")
    assert status == 200, body
    e = json.loads(body)
    secret = e["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = urllib.parse.urlparse(e["otpauth_uri"])
    q = urllib.parse.parse_qs(uri.query)
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Horus:mia")
    assert q["secret"] == [secret] and q["issuer"] == ["Horus"]
    assert q["algorithm"] == ["SHA1"] and q["digits"] == ["6"] and q["period"] == ["30"]
    # Pending: the login does not ask for a code yet.
    assert login(horus, "mia", "mia-password-1")[0] == 200
    # A wrong code does not confirm; the right one does, and gives 10 recovery codes once.
    wrong = totp(secret, step_offset=5)  # outside the +-1 step window
    status, _, body = s.send("POST", "/api/v1/auth/mfa/confirm", {"totp": wrong})
    assert status == 400 and "does not match" in json.loads(body)["error"]["message"]
    assert s.send("POST", "/api/v1/auth/mfa/confirm", {"totp": "12a456"})[0] == 400
    assert s.send("POST", "/api/v1/auth/mfa/confirm", {})[0] == 400
    now = time.time()
    status, _, body = s.send("POST", "/api/v1/auth/mfa/confirm", {"totp": totp(secret, now)})
    assert status == 200, body
    codes = json.loads(body)["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", c) for c in codes)
    assert s.send("POST", "/api/v1/auth/mfa/confirm", {"totp": totp(secret)})[0] == 409
    assert s.send("POST", "/api/v1/auth/mfa/enroll")[0] == 409
    status, _, body = s.get("/api/v1/auth/mfa")
    state = json.loads(body)
    assert state["enrolled"] and not state["pending"] and state["recovery_codes_left"] == 10

    # The password alone no longer signs in; a wrong password still says nothing more.
    status, _, body = login(horus, "mia", "mia-password-1")
    assert status == 401 and error_code(body) == "mfa_required"
    status, _, body = login(horus, "mia", "wrong-password-1", totp=totp(secret))
    assert status == 401 and error_code(body) == "unauthenticated"
    status, _, body = login(horus, "nobody", "wrong-password-1")
    assert status == 401 and error_code(body) == "unauthenticated"
    status, _, body = login(horus, "mia", "mia-password-1", totp=wrong)
    assert status == 401 and error_code(body) == "mfa_invalid"
    # The code that confirmed is used; the next step's code works once.
    status, _, body = login(horus, "mia", "mia-password-1", totp=totp(secret, now))
    assert status == 401 and error_code(body) == "mfa_invalid"
    nxt = totp(secret, now, step_offset=1)
    status, _, body = login(horus, "mia", "mia-password-1", totp=nxt[:3] + " " + nxt[3:])
    assert status == 200, body
    status, _, body = login(horus, "mia", "mia-password-1", totp=nxt)
    assert status == 401 and "already used" in json.loads(body)["error"]["message"]

    # Nothing secret in the log; the recovery codes are stored hashed.
    out = horus.proc.output()
    assert secret not in out and all(c not in out for c in codes)
    db = (horus.data / "horus.db").read_bytes()
    assert all(c.encode() not in db for c in codes)

    # The used step is in the database: a restart does not make the code usable again.
    horus.stop()
    h2 = Horus(horus.dir, None)
    try:
        status, _, body = login(h2, "mia", "mia-password-1", totp=nxt)
        assert status == 401 and error_code(body) == "mfa_invalid"
        failed = [e for e in audit_actions(h2, "login.failed")
                  if e["details"].get("reason", "").startswith("mfa")]
        assert {e["details"]["reason"] for e in failed} == {"mfa_required", "mfa_invalid",
                                                            "mfa_replayed"}
        assert all(e["target"] == {"kind": "user", "id": "mia"} for e in failed)
        enrolled = audit_actions(h2, "mfa.enrolled")
        assert [e["actor"]["name"] for e in enrolled] == ["mia"]
    finally:
        h2.stop()


def test_recovery_codes_work_once_and_can_be_replaced(horus):
    add_user(horus, "rex", "operator", "rex-password-1")
    secret, codes = Session(horus, "rex", "rex-password-1").enrol()
    status, _, body = login(horus, "rex", "rex-password-1", recovery_code=codes[0].lower())
    assert status == 200, body
    status, _, body = login(horus, "rex", "rex-password-1", recovery_code=codes[0])
    assert status == 401 and error_code(body) == "mfa_invalid"
    # Accepted in "totp" as well, dashes or not.
    s = Session(horus, "rex", "rex-password-1", totp=codes[1].replace("-", ""))
    status, _, body = s.get("/api/v1/auth/mfa")
    assert json.loads(body)["recovery_codes_left"] == 8
    wait_until(lambda: len(audit_actions(horus, "mfa.recovery_used")) == 2, 5,
               "two mfa.recovery_used entries")
    assert audit_actions(horus, "mfa.recovery_used")[0]["details"] == {"recovery_codes_left": 8}
    # Regenerating needs a code and retires every old recovery code.
    assert s.send("POST", "/api/v1/auth/mfa/recovery-codes", {})[0] == 400
    far = totp(secret, step_offset=5)
    assert s.send("POST", "/api/v1/auth/mfa/recovery-codes", {"totp": far})[0] == 403
    # The confirming code's step is used: the next step's code is fresh.
    status, _, body = s.send("POST", "/api/v1/auth/mfa/recovery-codes",
                             {"totp": totp(secret, step_offset=1)})
    assert status == 200, body
    fresh = json.loads(body)["recovery_codes"]
    assert not set(fresh) & set(codes)
    assert login(horus, "rex", "rex-password-1", recovery_code=codes[2])[0] == 401
    assert login(horus, "rex", "rex-password-1", recovery_code=fresh[0])[0] == 200


def test_removing_needs_a_code_and_an_admin_can_reset(horus):
    add_user(horus, "sue", "viewer", "sue-password-1")
    s = Session(horus, "sue", "sue-password-1")
    secret, codes = s.enrol()
    assert s.send("DELETE", "/api/v1/auth/mfa", {})[0] == 400
    assert s.send("DELETE", "/api/v1/auth/mfa", {"recovery_code": "AAAA-AAAA-AAAA-AAAA"})[0] == 403
    assert s.send("DELETE", "/api/v1/auth/mfa", {"recovery_code": codes[0]})[0] == 204
    assert s.send("DELETE", "/api/v1/auth/mfa", {"totp": totp(secret)})[0] == 404
    assert login(horus, "sue", "sue-password-1")[0] == 200

    s.enrol()
    assert login(horus, "sue", "sue-password-1")[0] == 401
    # An API key has no second factor of its own to manage.
    assert horus.request("POST", "/api/v1/auth/mfa/enroll", {})[0] == 400
    # The admin resets it (lost phone): the password alone signs in again.
    assert horus.request("DELETE", "/api/v1/users/nope/mfa")[0] == 404
    assert horus.request("DELETE", "/api/v1/users/sue/mfa")[0] == 204
    assert horus.request("DELETE", "/api/v1/users/sue/mfa")[0] == 404
    assert login(horus, "sue", "sue-password-1")[0] == 200
    # A viewer may not reset anyone.
    viewer = Session(horus, "sue", "sue-password-1")
    assert viewer.send("DELETE", "/api/v1/users/sue/mfa")[0] == 403
    disabled = audit_actions(horus, "mfa.disabled")
    assert [e["details"]["proof"] for e in disabled] == ["admin_reset", "recovery_code"]


def test_the_user_list_says_who_has_a_second_factor(horus):
    """GET /api/v1/users(/NAME) carry mfa: none, pending or enrolled (the admin's Users page),
    as the OpenAPI document says."""
    from openapi_check import OpenApi
    spec = OpenApi(json.loads((Path(__file__).resolve().parent.parent.parent / "src" / "api"
                               / "openapi.json").read_text()))

    def mfa_of(name):
        status, hdrs, body = horus.request("GET", "/api/v1/users/" + name)
        assert status == 200, body
        spec.validate("GET", "/api/v1/users/{name}", status, hdrs["Content-Type"], body)
        status, hdrs, listing = horus.request("GET", "/api/v1/users")
        spec.validate("GET", "/api/v1/users", status, hdrs["Content-Type"], listing)
        listed = {u["name"]: u["mfa"] for u in json.loads(listing)["items"]}
        assert listed[name] == json.loads(body)["mfa"]
        return listed[name]

    add_user(horus, "mia", "viewer", "mia-password-1")
    assert mfa_of("mia") == "none"
    s = Session(horus, "mia", "mia-password-1")
    assert s.send("POST", "/api/v1/auth/mfa/enroll")[0] == 200
    assert mfa_of("mia") == "pending"
    assert s.send("DELETE", "/api/v1/auth/mfa", {})[0] == 204
    s.enrol()
    assert mfa_of("mia") == "enrolled"
    assert horus.request("DELETE", "/api/v1/users/mia/mfa")[0] == 204
    assert mfa_of("mia") == "none"


def test_required_for_admins_forces_enrolment_once_an_admin_has_one(horus):
    add_user(horus, "ada", "admin", "ada-password-1")
    add_user(horus, "bob", "admin", "bob-password-1")
    add_user(horus, "vic", "viewer", "vic-password-1")
    bob = Session(horus, "bob", "bob-password-1")
    # No admin enrolled yet: the policy is not in force.
    assert bob.get("/api/v1/cameras")[0] == 200
    Session(horus, "ada", "ada-password-1").enrol()
    # Now bob's session may only enrol (first login enrols), and so may a new one.
    status, _, body = bob.get("/api/v1/cameras")
    assert status == 403 and error_code(body) == "mfa_enrollment_required"
    bob = Session(horus, "bob", "bob-password-1")
    assert bob.reply["principal"]["must_enroll_mfa"] is True
    status, _, body = bob.send("PATCH", "/api/v1/system", {"log_level": "info"})
    assert status == 403 and error_code(body) == "mfa_enrollment_required"
    status, _, body = bob.get("/api/v1/auth/mfa")
    assert json.loads(body)["enrollment_required"] is True
    assert bob.get("/api/v1/auth/me")[0] == 200
    bob.enrol()
    assert bob.get("/api/v1/cameras")[0] == 200
    assert json.loads(bob.get("/api/v1/auth/me")[2])["must_enroll_mfa"] is False
    # Viewers are not concerned; API keys (programs) neither.
    vic = Session(horus, "vic", "vic-password-1")
    assert vic.reply["principal"]["must_enroll_mfa"] is False
    assert vic.get("/api/v1/cameras")[0] == 200
    assert horus.request("GET", "/api/v1/cameras")[0] == 200


def test_policy_required_and_off(horus_factory):
    h = horus_factory("auth:\n  mfa: required\n")
    add_user(h, "una", "viewer", "una-password-1")
    s = Session(h, "una", "una-password-1")
    assert s.reply["principal"]["must_enroll_mfa"] is True
    assert error_code(s.get("/api/v1/cameras")[2]) == "mfa_enrollment_required"
    # A pending enrolment is not enough, a confirmed one is.
    assert s.send("POST", "/api/v1/auth/mfa/enroll")[0] == 200
    assert s.get("/api/v1/cameras")[0] == 403
    s.enrol()
    assert s.get("/api/v1/cameras")[0] == 200

    off = horus_factory("auth:\n  mfa: off\n")
    add_user(off, "oli", "admin", "oli-password-1")
    s = Session(off, "oli", "oli-password-1")
    status, _, body = s.send("POST", "/api/v1/auth/mfa/enroll")
    assert status == 403 and "auth.mfa" in json.loads(body)["error"]["message"]
    assert s.get("/api/v1/cameras")[0] == 200


def test_the_policy_value_is_checked(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("auth:\n  mfa: sometimes\n")
    out = subprocess.run([HORUS_BIN, "check-config", str(cfg)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    assert "auth.mfa" in out.stdout + out.stderr


def test_mfa_replies_match_the_openapi_document(horus):
    from openapi_check import OpenApi
    spec = OpenApi(json.loads((Path(__file__).resolve().parent.parent.parent / "src" / "api"
                               / "openapi.json").read_text()))
    add_user(horus, "oa", "admin", "oa-password-1")
    s = Session(horus, "oa", "oa-password-1")

    def call(method, tmpl, path=None, body=None):
        if method == "GET":
            status, hdrs, reply = s.get(path or tmpl)
        else:
            status, hdrs, reply = s.send(method, path or tmpl, body)
        assert str(status) in spec.operation(method, tmpl)["responses"], (method, tmpl, status)
        if reply:
            spec.validate(method, tmpl, status, hdrs["Content-Type"], reply)
        return status, reply

    assert call("GET", "/api/v1/auth/mfa")[0] == 200
    assert call("DELETE", "/api/v1/auth/mfa", body={})[0] == 404
    assert call("POST", "/api/v1/auth/mfa/confirm", body={"totp": "123456"})[0] == 409
    assert call("POST", "/api/v1/auth/mfa/recovery-codes", body={"totp": "123456"})[0] == 404
    status, body = call("POST", "/api/v1/auth/mfa/enroll")
    secret = json.loads(body)["secret"]
    assert call("POST", "/api/v1/auth/mfa/confirm", body={"totp": "1"})[0] == 400
    assert call("POST", "/api/v1/auth/mfa/confirm", body={"totp": totp(secret)})[0] == 200
    assert call("POST", "/api/v1/auth/mfa/enroll")[0] == 409
    assert call("POST", "/api/v1/auth/mfa/recovery-codes",
                body={"totp": totp(secret, step_offset=1)})[0] == 200
    assert call("POST", "/api/v1/auth/mfa/recovery-codes", body={"totp": 5})[0] == 400
    assert call("DELETE", "/api/v1/auth/mfa", body={"totp": totp(secret, step_offset=5)})[0] == 403
    assert call("DELETE", "/api/v1/users/{name}/mfa", "/api/v1/users/nope/mfa")[0] == 404
    assert call("DELETE", "/api/v1/users/{name}/mfa", "/api/v1/users/oa/mfa")[0] == 204
    status, _, body = login(horus, "oa", "oa-password-1")
    spec.validate("POST", "/api/v1/auth/login", status, "application/json", body)
    add_user(horus, "ob", "viewer", "ob-password-1")
    Session(horus, "ob", "ob-password-1").enrol()
    status, hdrs, body = login(horus, "ob", "ob-password-1")
    assert status == 401
    spec.validate("POST", "/api/v1/auth/login", status, hdrs["Content-Type"], body)


def test_the_cli_resets_a_second_factor_while_the_daemon_runs(horus):
    add_user(horus, "ivy", "admin", "ivy-password-1")
    Session(horus, "ivy", "ivy-password-1").enrol()
    assert login(horus, "ivy", "ivy-password-1")[0] == 401

    def reset(name):
        return subprocess.run([HORUS_BIN, "user", "mfa-reset", name, "--data", str(horus.data)],
                              capture_output=True, text=True, timeout=30)

    out = reset("ivy")
    assert out.returncode == 0, out.stderr
    assert login(horus, "ivy", "ivy-password-1")[0] == 200
    out = reset("ivy")
    assert out.returncode == 1 and "has no second factor" in out.stderr
