"""The gate's credential cache (docs/design/0016-identity.md, "The credential cache"):
a change made through the daemon is seen by the very next request, however warm the cache;
a change made by another process (the command line) within the cache's second."""
import json
import re
import subprocess
import time

from conftest import HORUS_BIN, wait_until

WARM = 5  # requests that put a credential in the cache before it changes


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def login(h, user, password):
    status, headers, body = h.request("POST", "/api/v1/auth/login",
                                      {"username": user, "password": password}, auth=False)
    assert status == 200, body
    token = re.match(r"horus_session=([^;]*)", headers["Set-Cookie"]).group(1)
    reply = json.loads(body)
    jar = {"Cookie": f"horus_session={token}"}
    change = {**jar, "X-CSRF-Token": reply["csrf_token"], "Origin": h.url}
    return jar, change, reply["session_id"]


def me(h, headers):
    status, _, body = h.request("GET", "/api/v1/auth/me", headers=headers, auth=False)
    return status, json.loads(body) if status == 200 else None


def warm(h, headers):
    for _ in range(WARM):
        assert me(h, headers)[0] == 200


def add_user(h, name, role="operator"):
    status, _, body = h.request("POST", "/api/v1/users",
                                {"name": name, "role": role, "password": f"{name}-password-1"})
    assert status == 201, body


def test_a_revoked_key_is_refused_on_the_very_next_request(horus):
    status, _, body = horus.request("POST", "/api/v1/api-keys", {"name": "hot", "role": "viewer"})
    assert status == 201, body
    made = json.loads(body)
    warm(horus, bearer(made["key"]))
    assert horus.request("DELETE", f"/api/v1/api-keys/{made['id']}")[0] == 204
    assert me(horus, bearer(made["key"]))[0] == 401
    assert horus.request("GET", "/api/v1/cameras", headers=bearer(made["key"]))[0] == 401


def test_user_changes_reach_warm_sessions_on_the_very_next_request(horus):
    add_user(horus, "eve")
    jar, _, _ = login(horus, "eve", "eve-password-1")
    warm(horus, jar)
    # A role change: the next request has the new role.
    assert horus.request("PATCH", "/api/v1/users/eve", {"role": "viewer"})[0] == 200
    assert me(horus, jar)[1]["role"] == "viewer"
    warm(horus, jar)
    # A grant change.
    assert horus.request("PATCH", "/api/v1/users/eve", {"cameras": ["cam-a"]})[0] == 200
    assert me(horus, jar)[1]["cameras"] == ["cam-a"]
    warm(horus, jar)
    assert horus.request("PATCH", "/api/v1/users/eve", {"role": "admin"})[0] == 200
    assert me(horus, jar)[1]["role"] == "admin"
    warm(horus, jar)
    # Disabling.
    assert horus.request("PATCH", "/api/v1/users/eve", {"disabled": True})[0] == 200
    assert me(horus, jar)[0] == 401


def test_logout_and_session_revocation_reach_the_very_next_request(horus):
    add_user(horus, "fay")
    jar, change, _ = login(horus, "fay", "fay-password-1")
    warm(horus, jar)
    status, _, body = horus.request("POST", "/api/v1/auth/logout", headers=change, auth=False)
    assert status in (200, 204), body
    assert me(horus, jar)[0] == 401
    jar, _, sid = login(horus, "fay", "fay-password-1")
    other, change, _ = login(horus, "fay", "fay-password-1")
    warm(horus, jar)
    warm(horus, other)
    status, _, body = horus.request("DELETE", f"/api/v1/auth/sessions/{sid}", headers=change,
                                    auth=False)
    assert status == 204, body
    assert me(horus, jar)[0] == 401
    assert me(horus, other)[0] == 200  # only the revoked one
    # Deleting the user ends the rest.
    assert horus.request("DELETE", "/api/v1/users/fay")[0] == 204
    assert me(horus, other)[0] == 401


def test_a_change_by_the_command_line_takes_effect_within_the_cache_ttl(horus):
    run = lambda *a, **kw: subprocess.run([HORUS_BIN, *a, "--data", str(horus.data)],
                                          capture_output=True, text=True, timeout=30, **kw)
    out = run("user", "add", "gus", "--role", "viewer", "--password-stdin",
              input="gus-password-1\n")
    assert out.returncode == 0, out.stderr
    jar, _, _ = login(horus, "gus", "gus-password-1")
    warm(horus, jar)
    assert run("user", "disable", "gus").returncode == 0
    t0 = time.monotonic()
    wait_until(lambda: me(horus, jar)[0] == 401, 5, "the CLI's disable to reach the daemon",
               interval=0.05)
    # The cache keeps an entry at most 1 s; the rest is this busy machine.
    assert time.monotonic() - t0 < 2.5


def test_a_camera_moved_to_another_tenant_is_seen_there_on_the_very_next_request(horus):
    """The gate's camera -> tenant cache (src/api/camera_tenants.c) drops at a camera write."""
    out = subprocess.run([HORUS_BIN, "api-key", "add", "root", "--role", "superadmin",
                          "--data", str(horus.data)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    sa = bearer(out.stdout.strip())
    admins = {}
    for tid in ("acme", "globex"):
        status, _, body = horus.request("POST", "/api/v1/tenants",
                                        {"id": tid, "name": tid.title()}, headers=sa)
        assert status == 201, body
        status, _, body = horus.request("POST", "/api/v1/api-keys",
                                        {"name": f"{tid}-admin", "role": "admin",
                                         "tenant": tid}, headers=sa)
        assert status == 201, body
        admins[tid] = bearer(json.loads(body)["key"])
    camera = {"id": "cam-x", "url": "rtsp://127.0.0.1:9/x", "enabled": False}
    status, _, body = horus.request("POST", "/api/v1/cameras", {**camera, "tenant": "acme"},
                                    headers=sa)
    assert status == 201, body
    for _ in range(WARM):
        assert horus.request("GET", "/api/v1/cameras/cam-x", headers=admins["acme"])[0] == 200
        assert horus.request("GET", "/api/v1/cameras/cam-x", headers=admins["globex"])[0] == 404
    assert horus.request("DELETE", "/api/v1/cameras/cam-x", headers=sa)[0] == 204
    status, _, body = horus.request("POST", "/api/v1/cameras", {**camera, "tenant": "globex"},
                                    headers=sa)
    assert status == 201, body
    assert horus.request("GET", "/api/v1/cameras/cam-x", headers=admins["globex"])[0] == 200
    assert horus.request("GET", "/api/v1/cameras/cam-x", headers=admins["acme"])[0] == 404
