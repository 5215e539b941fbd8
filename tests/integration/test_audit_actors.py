"""Who did it, in the audit chain (issue 9 item 10): entries written for a
request name the principal the gate attached (user, API key), logins and
their failures (the same entry whoever they name), logout, session
revocation, password changes, users and API keys; the gate's refusals are
recorded as permission.denied, and a flood of them from one client makes
one entry a minute with a count, not one per request."""
import json
import re

from conftest import wait_until

CONFIG = "log:\n  level: info\n"


def entries(h, query=""):
    status, _, body = h.request("GET", "/api/v1/audit?limit=500&order=asc" + query)
    assert status == 200, body
    return json.loads(body)["items"]


def by_action(h, action):
    return [e for e in entries(h) if e["action"] == action]


def login(h, user, password):
    return h.request("POST", "/api/v1/auth/login", {"username": user, "password": password},
                     auth=False)


def session(h, user, password):
    status, headers, body = login(h, user, password)
    assert status == 200, body
    token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
    return {"Cookie": f"horus_session={token}", "X-CSRF-Token": json.loads(body)["csrf_token"],
            "Origin": h.url}, json.loads(body)["session_id"]


def test_identity_actions_name_their_actor(horus_factory):
    h = horus_factory(CONFIG)
    assert h.request("POST", "/api/v1/users", {"name": "ann", "role": "operator",
                                               "password": "ann-password-1"})[0] == 201
    assert h.request("POST", "/api/v1/users", {"name": "bob", "role": "viewer",
                                               "password": "bob-password-1"})[0] == 201
    assert login(h, "ann", "wrong-password")[0] == 401
    assert login(h, "nobody", "wrong-password")[0] == 401
    jar, sid = session(h, "ann", "ann-password-1")
    assert h.request("POST", "/api/v1/auth/password",
                     {"current": "nope-nope-1", "new": "ann-password-2"}, headers=jar,
                     auth=False)[0] == 403
    assert h.request("POST", "/api/v1/auth/password",
                     {"current": "ann-password-1", "new": "ann-password-2"}, headers=jar,
                     auth=False)[0] == 204
    assert h.request("PATCH", "/api/v1/users/bob", {"disabled": True})[0] == 200
    assert h.request("PATCH", "/api/v1/users/bob", {"role": "operator"})[0] == 200
    assert h.request("DELETE", "/api/v1/users/bob")[0] == 204
    status, _, body = h.request("POST", "/api/v1/api-keys", {"name": "ci", "role": "viewer"})
    assert status == 201
    key = json.loads(body)
    assert h.request("DELETE", f"/api/v1/api-keys/{key['id']}")[0] == 204
    jar2, sid2 = session(h, "ann", "ann-password-2")
    assert h.request("DELETE", f"/api/v1/auth/sessions/{sid2}", headers=jar,
                     auth=False)[0] == 204
    assert h.request("POST", "/api/v1/auth/logout", b"", headers=jar, auth=False)[0] == 204

    wait_until(lambda: by_action(h, "logout"), 5, "the logout entry")
    log = entries(h)
    text = json.dumps(log)
    for secret in ("ann-password-1", "ann-password-2", "bob-password-1", key["key"]):
        assert secret not in text

    created = [e for e in log if e["action"] == "user.created"]
    assert [e["target"]["id"] for e in created] == ["ann", "bob"]
    admin_key = h.api_key.split("_")[1]  # hk_<id>_<secret>
    assert created[0]["actor"] == {"kind": "apikey", "id": admin_key, "name": "conftest"}
    assert created[0]["tenant"] == ""
    assert created[0]["details"] == {"role": "operator", "cameras": "*"}

    failed = [e for e in log if e["action"] == "login.failed"]
    assert [e["target"]["id"] for e in failed] == ["ann", "nobody"]
    # Nothing tells an existing user from a missing one.
    assert failed[0]["details"] == failed[1]["details"] == {"reason":
                                                            "invalid username or password"}
    assert {e["outcome"] for e in failed} == {"failed"}
    assert all(e["client"] == "127.0.0.1" and e["actor"]["kind"] == "" for e in failed)

    ok = [e for e in log if e["action"] == "login.ok"]
    assert [e["details"]["session_id"] for e in ok] == [sid, sid2]
    assert ok[0]["actor"]["kind"] == "user" and ok[0]["actor"]["id"] == "ann"

    pw = [e for e in log if e["action"] == "password.changed"]
    assert [e["outcome"] for e in pw] == ["failed", "ok"]
    assert all(e["actor"]["kind"] == "user" and e["actor"]["name"] == "ann" for e in pw)

    assert [e["details"]["fields"] for e in log if e["action"] == "user.disabled"] == [
        ["disabled"]]
    updated = [e for e in log if e["action"] == "user.updated"]
    assert updated[-1]["details"]["fields"] == ["role"]
    assert updated[-1]["details"]["role"] == "operator"
    assert [e["target"]["id"] for e in log if e["action"] == "user.deleted"] == ["bob"]

    kc = [e for e in log if e["action"] == "apikey.created"]
    assert kc[-1]["target"] == {"kind": "apikey", "id": key["id"]}
    assert kc[-1]["details"]["role"] == "viewer"
    assert [e["target"]["id"] for e in log if e["action"] == "apikey.revoked"] == [key["id"]]

    revoked = [e for e in log if e["action"] == "session.revoked"]
    assert revoked[0]["target"] == {"kind": "session", "id": sid2}
    assert revoked[0]["details"] == {"user": "ann"}
    out = [e for e in log if e["action"] == "logout"]
    assert out[0]["target"]["id"] == sid and out[0]["actor"]["name"] == "ann"


def test_refusals_are_recorded_and_a_flood_is_summed_up(horus_factory):
    h = horus_factory(CONFIG)
    status, _, body = h.request("POST", "/api/v1/api-keys", {"name": "v", "role": "viewer"})
    viewer = {"Authorization": "Bearer " + json.loads(body)["key"]}
    assert h.request("POST", "/api/v1/cameras", {"id": "cam-a", "url": "rtsp://127.0.0.1:9/x",
                                                 "enabled": False})[0] == 201

    # No credential at all: background noise, not recorded.
    assert h.request("GET", "/api/v1/cameras", auth=False)[0] == 401
    # A refused credential, then 403s: the first is recorded, the rest counted.
    assert h.request("GET", "/api/v1/cameras",
                     headers={"Authorization": "Bearer hk_nope_nope"})[0] == 401
    for _ in range(50):
        assert h.request("DELETE", "/api/v1/cameras/cam-a", headers=viewer)[0] == 403
    wait_until(lambda: by_action(h, "permission.denied"), 5, "a permission.denied entry")
    denied = by_action(h, "permission.denied")
    assert len(denied) == 1, denied
    first = denied[0]
    assert first["outcome"] == "denied"
    assert first["details"]["status"] == 401
    assert first["details"]["route"] == "/api/v1/cameras"
    assert first["client"] == "127.0.0.1"
    assert h.request("GET", "/api/v1/cameras/cam-a")[0] == 200  # the camera is still there
    assert "hk_nope_nope" not in json.dumps(entries(h))
