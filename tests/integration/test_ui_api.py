"""What the web UI needs of the API (issue 10, docs/design/0027-ui-api.md): the sign-in
methods, per-principal UI preferences, camera frame and bit rates, the storage page, and an
admin's view of another user's sessions. Every reply is checked against openapi.json."""
import json
import os
import re
import sqlite3

import pytest

from conftest import HORUS_BIN, Proc, recording_rows, wait_for_port, wait_until
from openapi_check import OpenApi

import subprocess


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def checked(h, spec, method, path, tmpl, body=None, headers=None, auth=True):
    status, hdrs, raw = h.request(method, path, body, headers=headers, auth=auth)
    if raw:
        spec.validate(method, tmpl, status, hdrs["Content-Type"], raw)
    return status, json.loads(raw) if raw else None


def spec_of(h):
    return OpenApi(h.get_json("/api/v1/openapi.json")[1])


def add_user(h, name, role="viewer", tenant=None):
    body = {"name": name, "role": role, "password": f"{name}-password-1"}
    if tenant:
        body["tenant"] = tenant
    status, _, raw = h.request("POST", "/api/v1/users", body)
    assert status == 201, raw


def login(h, name):
    """Session headers (cookie, CSRF token, Origin) and the session id of name."""
    status, headers, raw = h.request("POST", "/api/v1/auth/login",
                                     {"username": name, "password": f"{name}-password-1"},
                                     auth=False)
    assert status == 200, raw
    token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
    reply = json.loads(raw)
    return ({"Cookie": f"horus_session={token}", "X-CSRF-Token": reply["csrf_token"],
             "Origin": h.url}, reply["session_id"])


def restart(h, n):
    h.stop()
    h.proc = Proc(h.proc.args, h.dir, f"horus-{n}.log")
    wait_for_port(h.port, proc=h.proc.popen)


def preference_rows(h):
    db = sqlite3.connect(h.data / "horus.db", timeout=10)
    try:
        return {(k, i): json.loads(b) for k, i, b in
                db.execute("SELECT owner_kind, owner_id, body FROM preferences")}
    finally:
        db.close()


# ---- sign-in methods ----

def test_sign_in_methods_need_no_credentials_and_say_sso_is_off(horus):
    spec = spec_of(horus)
    status, body = checked(horus, spec, "GET", "/api/v1/auth/methods", "/api/v1/auth/methods",
                           auth=False)
    assert status == 200
    assert body == {"password": True, "sso": {"enabled": False, "label": "SSO"}}


def test_the_session_question_is_answered_200_signed_in_or_not(horus):
    """GET /auth/session: the web UI's first question, with no failed request before sign-in."""
    spec = spec_of(horus)
    tmpl = "/api/v1/auth/session"
    status, body = checked(horus, spec, "GET", tmpl, tmpl, auth=False)
    assert status == 200 and body == {"signed_in": False, "session_cookie": False}, body
    add_user(horus, "ann")
    ann, sid = login(horus, "ann")
    status, body = checked(horus, spec, "GET", tmpl, tmpl, headers=ann, auth=False)
    assert status == 200 and body["signed_in"] is True, body
    assert body["principal"]["name"] == "ann" and body["principal"]["csrf_token"] == ann["X-CSRF-Token"]
    assert "session_cookie" not in body
    # An API key is an answer too; a wrong one is no error here, only "not signed in".
    status, body = checked(horus, spec, "GET", tmpl, tmpl)
    assert status == 200 and body["signed_in"] is True and body["principal"]["kind"] == "api_key", body
    status, body = checked(horus, spec, "GET", tmpl, tmpl, headers=bearer("hk_wrong"), auth=False)
    assert status == 200 and body == {"signed_in": False, "session_cookie": False}, body
    # A revoked session's cookie: not signed in, and the cookie is named so the page asks /auth/me.
    assert horus.request("DELETE", f"/api/v1/auth/sessions/{sid}")[0] == 204
    status, body = checked(horus, spec, "GET", tmpl, tmpl, headers=ann, auth=False)
    assert status == 200 and body == {"signed_in": False, "session_cookie": True}, body
    assert horus.request("GET", "/api/v1/auth/me", headers=ann, auth=False)[0] == 401


def test_the_sso_label_is_checked_at_load(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("auth:\n  oidc:\n    label: \"\"\n")
    out = subprocess.run([HORUS_BIN, "check-config", str(config)], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0
    assert "auth.oidc.label: must be 1..64 bytes" in out.stdout + out.stderr


# ---- preferences ----

def test_preferences_are_each_principals_own_and_survive_a_restart(horus):
    h = horus
    spec = spec_of(h)
    tmpl = "/api/v1/auth/preferences"
    add_user(h, "ann")
    add_user(h, "bob", "operator")
    ann, _ = login(h, "ann")
    bob, _ = login(h, "bob")
    ann2, _ = login(h, "ann")  # a second session of the same user
    # Nothing saved yet: {} for everyone, the API key too.
    for headers in (ann, bob, None):
        status, body = checked(h, spec, "GET", tmpl, tmpl, headers=headers,
                               auth=headers is None)
        assert (status, body) == (200, {})
    prefs_ann = {"grid": "3x3", "order": ["cam-b", "cam-a"], "group": "lobby",
                 "nested": {"x": [1, 2.5, None, True]}}
    status, body = checked(h, spec, "PUT", tmpl, tmpl, prefs_ann, headers=ann, auth=False)
    assert (status, body) == (200, prefs_ann)
    status, body = checked(h, spec, "PUT", tmpl, tmpl, {"grid": "1x1"}, headers=bob,
                           auth=False)
    assert status == 200
    status, body = checked(h, spec, "PUT", tmpl, tmpl, {"theme": "dark"})
    assert status == 200
    # Each sees its own; both sessions of ann see ann's.
    assert checked(h, spec, "GET", tmpl, tmpl, headers=ann, auth=False)[1] == prefs_ann
    assert checked(h, spec, "GET", tmpl, tmpl, headers=ann2, auth=False)[1] == prefs_ann
    assert checked(h, spec, "GET", tmpl, tmpl, headers=bob, auth=False)[1] == {"grid": "1x1"}
    assert checked(h, spec, "GET", tmpl, tmpl)[1] == {"theme": "dark"}
    # A PUT replaces the whole object.
    assert checked(h, spec, "PUT", tmpl, tmpl, {"grid": "2x2"}, headers=bob, auth=False)[0] == 200
    assert checked(h, spec, "GET", tmpl, tmpl, headers=bob, auth=False)[1] == {"grid": "2x2"}

    restart(h, 2)
    ann, _ = login(h, "ann")
    assert checked(h, spec, "GET", tmpl, tmpl, headers=ann, auth=False)[1] == prefs_ann
    assert checked(h, spec, "GET", tmpl, tmpl)[1] == {"theme": "dark"}


def test_preferences_refuse_what_is_not_an_object_or_too_large(horus):
    h = horus
    spec = spec_of(h)
    tmpl = "/api/v1/auth/preferences"
    for body, why in (([1, 2], "must be a JSON object"), (b"\"text\"", "must be a JSON object"),
                      (b"null", "must be a JSON object"), (b"{\"a\": ", "invalid JSON"),
                      (b"{\"a\": 1, \"a\": 2}", "invalid JSON"), (b"", "must be a JSON object")):
        status, err = checked(h, spec, "PUT", tmpl, tmpl, body)
        assert status == 400, (body, err)
        assert err["error"]["code"] == "invalid"
        assert err["error"]["message"].startswith("preferences: ") and why in \
            err["error"]["message"], err
    # 16 KiB once compacted is the limit: exactly at it passes, one byte over does not.
    overhead = len(json.dumps({"a": ""}, separators=(",", ":")))
    at_limit = {"a": "x" * (16384 - overhead)}
    status, body = checked(h, spec, "PUT", tmpl, tmpl, at_limit)
    assert status == 200 and body == at_limit
    over = {"a": "x" * (16384 - overhead + 1)}
    status, err = checked(h, spec, "PUT", tmpl, tmpl, over)
    assert status == 413 and err["error"]["code"] == "too_large", err
    assert err["error"]["message"].startswith("preferences: ")
    # Whitespace does not count, a much larger body is refused before it is parsed.
    spaced = b"{\"a\":" + b" " * 20000 + b"1}"
    assert checked(h, spec, "PUT", tmpl, tmpl, spaced)[0] == 200
    assert checked(h, spec, "PUT", tmpl, tmpl, b" " * 70000 + b"{}")[0] == 413
    # The refused ones changed nothing.
    assert checked(h, spec, "GET", tmpl, tmpl)[1] == {"a": 1}


def test_preferences_leave_with_their_user_and_their_key(horus):
    h = horus
    tmpl = "/api/v1/auth/preferences"
    add_user(h, "cy", "admin")
    cy, _ = login(h, "cy")
    assert h.request("PUT", tmpl, {"grid": "2x2"}, headers=cy, auth=False)[0] == 200
    # cy makes a key of its own, which saves preferences too.
    status, _, raw = h.request("POST", "/api/v1/api-keys", {"name": "cy-key", "role": "viewer"},
                               headers=cy, auth=False)
    assert status == 201, raw
    key = json.loads(raw)
    assert h.request("PUT", tmpl, {"k": 1}, headers=bearer(key["key"]), auth=False)[0] == 200
    status, _, raw = h.request("POST", "/api/v1/api-keys", {"name": "other", "role": "viewer"})
    other = json.loads(raw)
    assert h.request("PUT", tmpl, {"o": 1}, headers=bearer(other["key"]), auth=False)[0] == 200
    assert set(preference_rows(h)) == {("user", "cy"), ("api_key", key["id"]),
                                       ("api_key", other["id"])}
    # Revoking a key deletes its row.
    assert h.request("DELETE", f"/api/v1/api-keys/{other['id']}")[0] == 204
    assert set(preference_rows(h)) == {("user", "cy"), ("api_key", key["id"])}
    # Deleting the user deletes its row and its keys' rows.
    assert h.request("DELETE", "/api/v1/users/cy")[0] == 204
    assert preference_rows(h) == {}
    # A user of the same name made later starts with nothing.
    add_user(h, "cy")
    cy, _ = login(h, "cy")
    status, _, raw = h.request("GET", tmpl, headers=cy, auth=False)
    assert (status, json.loads(raw)) == (200, {})


# ---- camera rates ----

def test_camera_status_reports_frame_and_bit_rates(horus_factory, camsim_factory):
    sim = camsim_factory(["--size", "640x360", "--fps", "10", "--gop", "10"], paths=2)
    h = horus_factory()
    spec = spec_of(h)
    for cid, sub in (("solo", ""), ("pair", sim.url(2))):
        status, _, raw = h.request("POST", "/api/v1/cameras",
                                   {"id": cid, "url": sim.url(1), "sub_url": sub})
        assert status == 201, raw

    def settled():
        status, body = checked(h, spec, "GET", "/api/v1/cameras", "/api/v1/cameras")
        cams = {c["id"]: c["status"] for c in body["items"]}
        # The window holds ~5 s: wait until it is full enough to be near the true rate.
        if all(s["state"] == "streaming" and s["fps"] is not None for s in cams.values()) \
                and cams["pair"]["sub_fps"] is not None:
            since = max(s["since"] for s in cams.values())
            return cams, since
        return None

    wait_until(settled, 30, "rates of both cameras")
    import time
    time.sleep(6)  # a full window after the streams came up
    cams, _ = settled()
    for cid in ("solo", "pair"):
        st = cams[cid]
        assert 8.5 <= st["fps"] <= 11.5, st
        assert st["bitrate_bps"] > 10_000, st
    assert cams["solo"]["sub_fps"] is None and cams["solo"]["sub_bitrate_bps"] is None
    assert 8.5 <= cams["pair"]["sub_fps"] <= 11.5, cams["pair"]
    assert cams["pair"]["sub_bitrate_bps"] > 10_000
    # The single camera's object says the same.
    status, one = checked(h, spec, "GET", "/api/v1/cameras/solo", "/api/v1/cameras/{id}")
    assert status == 200 and 8.5 <= one["status"]["fps"] <= 11.5
    # Not streaming: null.
    assert h.request("PATCH", "/api/v1/cameras/solo", {"enabled": False})[0] == 200

    def disabled():
        st = checked(h, spec, "GET", "/api/v1/cameras/solo", "/api/v1/cameras/{id}")[1]["status"]
        return st if st["state"] == "disabled" else None
    st = wait_until(disabled, 10, "solo disabled")
    assert st["fps"] is None and st["bitrate_bps"] is None
    assert st["sub_fps"] is None and st["sub_bitrate_bps"] is None


# ---- storage page ----

def test_storage_page_shows_the_volume_and_visible_cameras(horus_factory, camsim_factory):
    sim = camsim_factory(["--size", "640x360", "--fps", "10", "--gop", "10"], paths=2)
    h = horus_factory("storage:\n  min_free_percent: 1\n")
    spec = spec_of(h)
    tmpl = "/api/v1/system/storage"
    out = subprocess.run([HORUS_BIN, "api-key", "add", "root", "--role", "superadmin",
                          "--data", str(h.data)], cwd=h.dir, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    root = out.stdout.strip()
    status, _, raw = h.request("POST", "/api/v1/tenants", {"id": "acme", "name": "Acme"},
                               headers=bearer(root))
    assert status == 201, raw
    for cid, tenant, rec in (("a", None, {"segment_seconds": 2, "retention_days": 9}),
                             ("b", None, {"segment_seconds": 2, "max_bytes": 1000}),
                             ("t", "acme", {"segment_seconds": 2})):
        body = {"id": cid, "url": sim.url(1 if cid != "b" else 2), "record": rec}
        if tenant:
            body["tenant"] = tenant
        status, _, raw = h.request("POST", "/api/v1/cameras", body, headers=bearer(root))
        assert status == 201, raw
    status, _, raw = h.request("POST", "/api/v1/cameras",
                               {"id": "idle", "url": "rtsp://127.0.0.1:9/x", "enabled": False})
    assert status == 201, raw
    for cid in ("a", "b", "t"):
        wait_until(lambda: len(recording_rows(h, camera=cid)) >= 3, 60, f"segments of {cid}")

    status, body = checked(h, spec, "GET", tmpl, tmpl)
    assert status == 200, body
    vol = body["volume"]
    assert os.path.realpath(vol["path"]) == os.path.realpath(h.data)
    assert 0 < vol["free_bytes"] <= vol["total_bytes"]
    assert vol["min_free_percent"] == 1
    assert vol["watermark_bytes"] == vol["total_bytes"] // 100
    assert vol["free_above_watermark_bytes"] == max(0, vol["free_bytes"] - vol["watermark_bytes"])
    # The tenant-less admin sees its three cameras, not acme's.
    cams = {c["camera"]: c for c in body["cameras"]}
    assert list(cams) == ["a", "b", "idle"], list(cams)
    rows = recording_rows(h)
    assert vol["recordings_bytes"] >= sum(r["bytes"] for r in rows if r["camera_id"] != "t")
    for cid in ("a", "b"):
        c = cams[cid]
        mine = [r for r in recording_rows(h, camera=cid)]
        # Rows may have been added since the reply: what it counted is a prefix of them.
        assert 3 <= c["segments"] <= len(mine)
        assert 0 < c["bytes"] <= sum(r["bytes"] for r in mine)
        assert c["oldest"] is not None and c["newest"] is not None and c["oldest"] < c["newest"]
        assert c["bytes_per_day"] > 0
        # A 640x360 stream of a few tens of kbit/s: between 100 MB and 100 GB a day.
        assert 1e8 < c["bytes_per_day"] < 1e11, c
    assert cams["a"]["retention_days"] == 9
    # a: plenty of disk, no cap: retention_days decides (unless the test disk is tiny).
    if vol["free_above_watermark_bytes"] > 9 * 2 * cams["a"]["bytes_per_day"]:
        assert (cams["a"]["forecast_days"], cams["a"]["limited_by"]) == (9, "retention_days")
    # b: a cap of 1000 bytes holds a tiny fraction of a day.
    assert cams["b"]["limited_by"] == "max_bytes" and cams["b"]["forecast_days"] < 0.1
    assert cams["b"]["max_bytes"] == 1000
    # idle never recorded.
    assert cams["idle"]["bytes"] == 0 and cams["idle"]["segments"] == 0
    assert cams["idle"]["oldest"] is None and cams["idle"]["bytes_per_day"] is None
    assert (cams["idle"]["forecast_days"], cams["idle"]["limited_by"]) == (14, "retention_days")

    # The superadmin sees every tenant's; acme's admin only acme's; a grant narrows it.
    status, body = checked(h, spec, "GET", tmpl, tmpl, headers=bearer(root), auth=False)
    assert [c["camera"] for c in body["cameras"]] == ["a", "b", "idle", "t"]
    # a's forecast: the smaller of its retention and its rate's share of the free space
    # above the watermark (shared by every camera's rate, acme's too) plus what it holds.
    every = {c["camera"]: c for c in body["cameras"]}
    total = sum(c["bytes_per_day"] or 0 for c in every.values())
    a = every["a"]
    share = body["volume"]["free_above_watermark_bytes"] * a["bytes_per_day"] / total
    want = min(9, (share + a["bytes"]) / a["bytes_per_day"])
    assert abs(a["forecast_days"] - want) <= 0.11, (a, want)
    assert a["limited_by"] == ("retention_days" if want == 9 else "disk")
    status, _, raw = h.request("POST", "/api/v1/api-keys",
                               {"name": "acme-admin", "role": "admin", "tenant": "acme"},
                               headers=bearer(root))
    acme = json.loads(raw)["key"]
    status, body = checked(h, spec, "GET", tmpl, tmpl, headers=bearer(acme), auth=False)
    assert [c["camera"] for c in body["cameras"]] == ["t"]
    status, _, raw = h.request("POST", "/api/v1/api-keys",
                               {"name": "narrow", "role": "admin", "cameras": ["b"]})
    narrow = json.loads(raw)["key"]
    status, body = checked(h, spec, "GET", tmpl, tmpl, headers=bearer(narrow), auth=False)
    assert [c["camera"] for c in body["cameras"]] == ["b"]
    # Below admin: 403.
    status, _, raw = h.request("POST", "/api/v1/api-keys", {"name": "op", "role": "operator"})
    op = json.loads(raw)["key"]
    status, err = checked(h, spec, "GET", tmpl, tmpl, headers=bearer(op), auth=False)
    assert status == 403, err


# ---- an admin and another user's sessions ----

def test_an_admin_lists_and_revokes_another_users_sessions_in_its_tenant(horus_factory):
    h = horus_factory()
    spec = spec_of(h)
    out = subprocess.run([HORUS_BIN, "api-key", "add", "root", "--role", "superadmin",
                          "--data", str(h.data)], cwd=h.dir, capture_output=True, text=True,
                         timeout=30)
    root = out.stdout.strip()
    assert h.request("POST", "/api/v1/tenants", {"id": "acme", "name": "Acme"},
                     headers=bearer(root))[0] == 201
    acme = json.loads(h.request("POST", "/api/v1/api-keys",
                                {"name": "acme-admin", "role": "admin", "tenant": "acme"},
                                headers=bearer(root))[2])["key"]
    add_user(h, "dee")
    dee, sid = login(h, "dee")
    login(h, "dee")
    tmpl = "/api/v1/auth/sessions"
    status, body = checked(h, spec, "GET", f"{tmpl}?user=dee", tmpl)
    assert status == 200 and len(body["items"]) == 2
    assert {s["user"] for s in body["items"]} == {"dee"} and sid in {s["id"] for s in body["items"]}
    # Another tenant's admin sees none of them and cannot revoke them.
    status, body = checked(h, spec, "GET", f"{tmpl}?user=dee", tmpl, headers=bearer(acme),
                           auth=False)
    assert status == 200 and body["items"] == []
    assert h.request("DELETE", f"{tmpl}/{sid}", headers=bearer(acme), auth=False)[0] == 404
    assert h.request("GET", "/api/v1/auth/me", headers=dee, auth=False)[0] == 200
    # A viewer may not list another user's.
    add_user(h, "eve")
    eve, _ = login(h, "eve")
    assert h.request("GET", f"{tmpl}?user=dee", headers=eve, auth=False)[0] == 403
    # The admin revokes one: that session ends at once.
    assert h.request("DELETE", f"{tmpl}/{sid}")[0] == 204
    assert h.request("GET", "/api/v1/auth/me", headers=dee, auth=False)[0] == 401
    status, body = checked(h, spec, "GET", f"{tmpl}?user=dee", tmpl)
    assert len(body["items"]) == 1 and body["items"][0]["id"] != sid
