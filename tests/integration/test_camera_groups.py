"""Camera groups in grants (issue 9 item 1, docs/design/0016-identity.md "Camera
groups"): cameras carry groups (API and horus.yaml), grants name them as
"group:NAME", and a principal sees exactly the cameras in its groups at the time
of each request: everywhere else a camera outside them is the 404 of a missing one."""
import json
import subprocess
import time

from conftest import HORUS_BIN, wait_until


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def add_camera(h, cid, groups=None, url="rtsp://127.0.0.1:9/x"):
    body = {"id": cid, "url": url, "enabled": False}
    if groups is not None:
        body["groups"] = groups
    status, _, reply = h.request("POST", "/api/v1/cameras", body)
    assert status == 201, reply
    return json.loads(reply)


def make_key(h, role, cameras, headers=None):
    status, _, body = h.request("POST", "/api/v1/api-keys",
                                {"name": f"{role}-key", "role": role, "cameras": cameras},
                                headers=headers)
    return status, json.loads(body)


def ids(h, headers, query=""):
    status, _, body = h.request("GET", "/api/v1/cameras" + query, headers=headers)
    assert status == 200, body
    return [c["id"] for c in json.loads(body)["items"]]


def same_as_missing(h, headers, path_of):
    """The reply for a hidden camera equals the one for a camera that does not exist."""
    hidden = h.request("GET", path_of("yard"), headers=headers)
    missing = h.request("GET", path_of("nope"), headers=headers)
    assert hidden[0] == 404, hidden
    assert hidden[2].replace(b"yard", b"nope") == missing[2], (hidden, missing)


def test_a_group_grant_sees_exactly_the_cameras_in_the_group_at_each_request(horus):
    made = add_camera(horus, "door", ["lobby"])
    assert made["groups"] == ["lobby"]
    assert add_camera(horus, "hall", ["lobby", "inside", "lobby"])["groups"] == ["inside",
                                                                                 "lobby"]
    assert add_camera(horus, "yard")["groups"] == []
    assert horus.get_json("/api/v1/cameras/hall")[1]["groups"] == ["inside", "lobby"]
    assert ids(horus, None, "?group=lobby") == ["door", "hall"]
    assert ids(horus, None, "?group=nobody") == []
    assert ids(horus, None) == ["door", "hall", "yard"]

    status, key = make_key(horus, "viewer", ["group:lobby"])
    assert status == 201, key
    assert key["cameras"] == ["group:lobby"]
    viewer = bearer(key["key"])
    assert ids(horus, viewer) == ["door", "hall"]
    assert ids(horus, viewer, "?group=lobby") == ["door", "hall"]
    assert horus.request("GET", "/api/v1/cameras/door", headers=viewer)[0] == 200
    for path_of in (lambda c: f"/api/v1/cameras/{c}",
                    lambda c: f"/api/v1/cameras/{c}/live/index.m3u8",
                    lambda c: f"/api/v1/cameras/{c}/recordings?start=0&end=1000",
                    lambda c: f"/api/v1/cameras/{c}/snapshot.jpg"):
        same_as_missing(horus, viewer, path_of)
    # The group name is no camera id of the grant.
    assert horus.request("GET", "/api/v1/cameras/lobby", headers=viewer)[0] == 404
    assert json.loads(horus.request("GET", "/api/v1/auth/me",
                                    headers=viewer)[2])["cameras"] == ["group:lobby"]

    # Moved into the group: visible at the next request; moved out: invisible at once.
    status, _, body = horus.request("PATCH", "/api/v1/cameras/yard", {"groups": ["lobby"]})
    assert status == 200 and json.loads(body)["groups"] == ["lobby"], body
    assert ids(horus, viewer) == ["door", "hall", "yard"]
    assert horus.request("GET", "/api/v1/cameras/yard", headers=viewer)[0] == 200
    status, _, body = horus.request("PATCH", "/api/v1/cameras/door", {"name": "Door"})
    assert json.loads(body)["groups"] == ["lobby"]  # PATCH without groups keeps them
    status, _, body = horus.request("PUT", "/api/v1/cameras/door",
                                    {"url": "rtsp://127.0.0.1:9/x", "enabled": False})
    assert status == 200 and json.loads(body)["groups"] == [], body  # PUT replaces
    assert ids(horus, viewer) == ["hall", "yard"]
    assert horus.request("GET", "/api/v1/cameras/door", headers=viewer)[0] == 404
    # Deleted and created again with the same id, a camera is in no group.
    assert horus.request("DELETE", "/api/v1/cameras/hall")[0] == 204
    add_camera(horus, "hall")
    assert ids(horus, viewer) == ["yard"]


def test_group_names_are_checked_everywhere_they_are_given(horus):
    for bad in (["Lobby"], ["a b"], [""], ["x" * 65], "lobby", [1], ["g"] * 33):
        status, _, body = horus.request("POST", "/api/v1/cameras",
                                        {"id": "c1", "url": "rtsp://127.0.0.1:9/x",
                                         "groups": bad})
        assert status == 400 and b"groups" in body, (bad, body)
    assert horus.request("GET", "/api/v1/cameras/c1")[0] == 404  # nothing half-made
    status, _, body = horus.request("GET", "/api/v1/cameras?group=Bad!")
    assert status == 400 and b"group" in body
    for bad in (["group:"], ["group:Lobby"], ["groups:x"], ["group:a:b"]):
        status, body = make_key(horus, "viewer", bad)
        assert status == 400 and "group:NAME" in body["error"]["message"], (bad, body)
        status, _, reply = horus.request("POST", "/api/v1/users",
                                         {"name": "u1", "role": "viewer", "cameras": bad})
        assert status == 400, (bad, reply)


def test_a_key_made_by_a_group_grant_gets_no_group_its_maker_lacks(horus):
    add_camera(horus, "door", ["lobby"])
    add_camera(horus, "yard", ["outside"])
    status, op = make_key(horus, "admin", ["group:lobby"])
    assert status == 201
    maker = bearer(op["key"])
    status, body = make_key(horus, "viewer", ["group:outside"], headers=maker)
    assert status == 403, body
    # Not even the ids of another group's cameras.
    status, body = make_key(horus, "viewer", ["yard"], headers=maker)
    assert status == 403, body
    status, child = make_key(horus, "viewer", ["group:lobby"], headers=maker)
    assert status == 201, child
    assert ids(horus, bearer(child["key"])) == ["door"]
    # Without "cameras" the key gets its maker's grant, group and all.
    status, _, body = horus.request("POST", "/api/v1/api-keys", {"name": "d", "role": "viewer"},
                                    headers=maker)
    assert status == 201 and json.loads(body)["cameras"] == ["group:lobby"], body


def test_users_with_group_grants_from_the_api_and_the_cli(horus):
    add_camera(horus, "door", ["lobby"])
    add_camera(horus, "yard")
    status, _, body = horus.request("POST", "/api/v1/users",
                                    {"name": "val", "role": "viewer", "password": "val-password-1",
                                     "cameras": ["group:lobby", "yard"]})
    assert status == 201 and json.loads(body)["cameras"] == ["group:lobby", "yard"], body
    out = subprocess.run([HORUS_BIN, "user", "add", "cli", "--role", "viewer", "--cameras",
                          "group:lobby", "--password-stdin", "--data", str(horus.data)],
                         input="cli-password-1\n", capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for user, password, want in (("val", "val-password-1", ["door", "yard"]),
                                 ("cli", "cli-password-1", ["door"])):
        status, headers, body = horus.request("POST", "/api/v1/auth/login",
                                              {"username": user, "password": password},
                                              auth=False)
        assert status == 200, body
        cookie = {"Cookie": headers["Set-Cookie"].split(";")[0]}
        assert ids_with_cookie(horus, cookie) == want, user


def ids_with_cookie(h, cookie):
    status, _, body = h.request("GET", "/api/v1/cameras", headers=cookie, auth=False)
    assert status == 200, body
    return [c["id"] for c in json.loads(body)["items"]]


def test_yaml_groups_are_provisioned_and_grant_live_view(camsim_factory, horus_factory):
    sim = camsim_factory(paths=2)
    config = ("cameras:\n"
              f"  - id: lobby1\n    url: \"{sim.url(1)}\"\n    groups: [lobby, inside]\n"
              f"  - id: yard\n    url: \"{sim.url(2)}\"\n")
    h = horus_factory(config)
    assert h.get_json("/api/v1/cameras/lobby1")[1]["groups"] == ["inside", "lobby"]
    assert h.get_json("/api/v1/cameras/yard")[1]["groups"] == []
    status, key = make_key(h, "viewer", ["group:lobby"])
    viewer = bearer(key["key"])
    assert ids(h, viewer) == ["lobby1"]
    # A provisioned camera's groups change in the file, not through the API.
    status, _, _ = h.request("PATCH", "/api/v1/cameras/yard", {"groups": ["lobby"]})
    assert status == 409
    wait_until(lambda: h.request("GET", "/api/v1/cameras/lobby1/live/index.m3u8",
                                 headers=viewer)[0] == 200, 20, "a live playlist of lobby1")
    hidden = h.request("GET", "/api/v1/cameras/yard/live/index.m3u8", headers=viewer)
    missing = h.request("GET", "/api/v1/cameras/nope/live/index.m3u8", headers=viewer)
    assert hidden[0] == 404 and hidden[2].replace(b"yard", b"nope") == missing[2]
    assert h.request("GET", "/api/v1/cameras/yard/live/index.m3u8")[0] == 200  # admin: all

    # A reload moves yard into lobby: the same key sees it at its next request.
    h.config_path.write_text(config.replace(f"\"{sim.url(2)}\"\n",
                                            f"\"{sim.url(2)}\"\n    groups: [lobby]\n"))
    h.proc.signal(__import__("signal").SIGHUP)
    wait_until(lambda: ids(h, viewer) == ["lobby1", "yard"], 10, "yard in lobby after SIGHUP")


def test_bad_yaml_group_names_are_named_at_load(tmp_path):
    path = tmp_path / "horus.yaml"
    path.write_text("cameras:\n  - id: c1\n    url: \"rtsp://127.0.0.1:9/x\"\n"
                    "    groups: [ok, \"Not OK\"]\n")
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "cameras[0].groups" in r.stderr and "Not OK" in r.stderr, r.stderr
