"""Tenants end to end (issue 9 item 9, docs/design/0024-tenants.md): two tenants with
cameras recording real horus-camsim streams and principals of each. Every list, every
camera-scoped route of openapi.json (live, playback, recordings files, snapshots),
exports, users, API keys and audit entries answer another tenant's objects exactly like
missing ones; quotas are refused with an error naming them; a superadmin manages
tenants and creates objects in any of them."""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import HORUS_BIN, recording_rows, wait_until
from openapi_check import OpenApi

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = json.loads((ROOT / "src" / "api" / "openapi.json").read_text())
METHODS = ("get", "post", "put", "patch", "delete")


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def cli(h, *args, stdin=None):
    out = subprocess.run([HORUS_BIN, *args, *h.config_args(), "--data", str(h.data)], cwd=h.dir,
                         input=stdin, capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout, out.stderr


def call(h, key, method, path, body=None, ctype=None):
    headers = {**bearer(key), **({"Content-Type": ctype} if ctype else {})}
    status, headers, raw = h.request(method, path, body, headers=headers)
    return status, headers, raw


def request_body(method, tmpl):
    """(body, Content-Type or None) of an empty request of the type the operation takes: JSON,
    or the one type a route takes (SDP for WHEP) so that the content-type check lets it pass."""
    if method not in ("POST", "PUT", "PATCH"):
        return None, None
    content = DOC["paths"][tmpl][method.lower()].get("requestBody", {}).get("content", {})
    if content and "application/json" not in content:
        return b"v=0\r\n", next(iter(content))
    return {}, None


def as_json(h, key, method, path, body=None, spec=None, tmpl=None):
    status, headers, raw = call(h, key, method, path, body)
    if spec and tmpl and raw:
        spec.validate(method, tmpl, status, headers["Content-Type"], raw)
    return status, json.loads(raw) if raw else None


def camera_routes():
    """(method, template) of every operation under /api/v1/cameras/{id}."""
    for tmpl, item in DOC["paths"].items():
        if tmpl.startswith("/api/v1/cameras/{id}"):
            for m in METHODS:
                if m in item:
                    yield m.upper(), tmpl


def concrete(tmpl, camera):
    path = tmpl.replace("{stream}", "main").replace("{file}", "1000000.mp4")
    path = path.replace("{name}", "0.m4s")
    return path.replace("{id}", camera)


@pytest.fixture
def world(camsim_factory, horus_factory):
    """Two tenants, each with a recording camera, an admin key and a viewer user."""
    cam = camsim_factory(paths=2)
    h = horus_factory()
    code, out, err = cli(h, "api-key", "add", "root", "--role", "superadmin")
    assert code == 0, err
    sa = out.strip()
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    w = {"h": h, "sa": sa, "spec": spec, "camsim": cam}
    for n, (tid, max_cameras) in enumerate((("acme", 1), ("globex", 0)), start=1):
        status, t = as_json(h, sa, "POST", "/api/v1/tenants",
                            {"id": tid, "name": tid.title(), "max_cameras": max_cameras},
                            spec, "/api/v1/tenants")
        assert status == 201, t
        cid = f"cam-{tid[0]}"
        status, c = as_json(h, sa, "POST", "/api/v1/cameras",
                            {"id": cid, "url": cam.url(n), "tenant": tid,
                             "record": {"segment_seconds": 2}}, spec, "/api/v1/cameras")
        assert status == 201 and c["tenant"] == tid, c
        status, k = as_json(h, sa, "POST", "/api/v1/api-keys",
                            {"name": f"{tid}-admin", "role": "admin", "tenant": tid},
                            spec, "/api/v1/api-keys")
        assert status == 201 and k["tenant"] == tid, k
        w[tid] = {"camera": cid, "admin": k["key"], "key_id": k["id"]}
        # A tenant admin's objects land in its tenant without naming it.
        status, u = as_json(h, k["key"], "POST", "/api/v1/users",
                            {"name": f"{tid}-viewer", "role": "viewer",
                             "password": "correct horse battery"}, spec, "/api/v1/users")
        assert status == 201 and u["tenant"] == tid, u
    for tid in ("acme", "globex"):
        cid = w[tid]["camera"]
        wait_until(lambda: recording_rows(h, camera=cid), 60, f"a segment of {cid}")
    return w


def test_lists_show_only_the_callers_tenant(world):
    h, sa, spec = world["h"], world["sa"], world["spec"]
    for tid, other in (("acme", "globex"), ("globex", "acme")):
        key = world[tid]["admin"]
        status, cams = as_json(h, key, "GET", "/api/v1/cameras", None, spec, "/api/v1/cameras")
        assert status == 200
        assert [c["id"] for c in cams["items"]] == [world[tid]["camera"]]
        status, users = as_json(h, key, "GET", "/api/v1/users", None, spec, "/api/v1/users")
        assert [u["name"] for u in users["items"]] == [f"{tid}-viewer"]
        status, keys = as_json(h, key, "GET", "/api/v1/api-keys", None, spec, "/api/v1/api-keys")
        assert {k["tenant"] for k in keys["items"]} == {tid}
        # Single objects of the other tenant: the 404 of a missing one.
        for path, missing in ((f"/api/v1/users/{other}-viewer", "/api/v1/users/nobody-here"),
                              (f"/api/v1/api-keys/{world[other]['key_id']}",
                               "/api/v1/api-keys/ffffffffffffffff")):
            s1, _, b1 = call(h, key, "GET", path)
            s2, _, b2 = call(h, key, "GET", missing)
            assert s1 == s2 == 404
            assert json.loads(b1)["error"]["code"] == json.loads(b2)["error"]["code"]
        for method, path in (("PATCH", f"/api/v1/users/{other}-viewer"),
                             ("DELETE", f"/api/v1/users/{other}-viewer"),
                             ("DELETE", f"/api/v1/api-keys/{world[other]['key_id']}")):
            status, _, body = call(h, key, method, path, {"disabled": True}
                                   if method == "PATCH" else None)
            assert status == 404, (method, path, body)
        status, me = as_json(h, key, "GET", "/api/v1/auth/me")
        assert me["tenant"] == tid
    # The superadmin sees both; a tenant-less admin sees neither tenant's objects.
    status, cams = as_json(h, sa, "GET", "/api/v1/cameras")
    assert {c["id"] for c in cams["items"]} >= {"cam-a", "cam-g"}
    status, cams = h.get_json("/api/v1/cameras")
    assert not {c["id"] for c in cams["items"]} & {"cam-a", "cam-g"}
    # Other tenants' objects keep existing after the refused changes.
    status, users = as_json(h, sa, "GET", "/api/v1/users")
    assert {"acme-viewer", "globex-viewer"} <= {u["name"] for u in users["items"]}
    assert all(not u["disabled"] for u in users["items"])


def test_every_camera_route_is_404_across_tenants_like_a_missing_camera(world):
    h = world["h"]
    key = world["acme"]["admin"]
    routes = list(camera_routes())
    assert len(routes) >= 12  # live, playback, recordings files, snapshots, CRUD
    for method, tmpl in routes:
        body, ctype = request_body(method, tmpl)
        s_other, _, b_other = call(h, key, method, concrete(tmpl, "cam-g"), body, ctype)
        s_missing, _, b_missing = call(h, key, method, concrete(tmpl, "no-such-cam"), body, ctype)
        assert s_other == s_missing == 404, (method, tmpl, s_other, b_other)
        assert b_other.replace(b"cam-g", b"X") == b_missing.replace(b"no-such-cam", b"X"), \
            (method, tmpl, b_other, b_missing)
    # The other tenant's camera is untouched, and its own tenant still reaches it.
    gkey = world["globex"]["admin"]
    for method, tmpl in routes:
        if method != "GET":
            continue
        status, _, raw = call(h, gkey, method, concrete(tmpl, "cam-g"))
        # A route may 404 for its own reason (no such file or part name); never for the camera.
        assert status != 404 or b"camera 'cam-g' does not exist" not in raw, (tmpl, raw)
    # Live and playback really serve the own tenant's camera.
    start_ms = recording_rows(h, camera="cam-g")[0]["start_us"] // 1000
    for path in ("/api/v1/cameras/cam-g/live/index.m3u8",
                 f"/api/v1/cameras/cam-g/playback.m3u8?start={start_ms}",
                 "/api/v1/cameras/cam-g/snapshot.jpg"):
        status, _, raw = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(
            call(h, gkey, "GET", path)), 30, path)
        assert status == 200 and raw


def test_media_files_and_exports_are_invisible_across_tenants(world):
    h, sa, spec = world["h"], world["sa"], world["spec"]
    rows = recording_rows(h, camera="cam-g")
    r = rows[0]
    file_path = f"/api/v1/cameras/cam-g/recordings/main/{r['start_us']}.mp4"
    status, _, raw = call(h, world["globex"]["admin"], "GET", file_path)
    assert status == 200 and raw[4:8] == b"ftyp"
    status, _, raw = call(h, world["acme"]["admin"], "GET", file_path)
    assert status == 404
    rng = {"camera": "cam-g", "start": r["start_us"] // 1000, "end": r["end_us"] // 1000}
    status, e = as_json(h, world["globex"]["admin"], "POST", "/api/v1/exports", rng, spec,
                        "/api/v1/exports")
    assert status == 202 and e["tenant"] == "globex", e
    akey = world["acme"]["admin"]
    for method, path in (("GET", f"/api/v1/exports/{e['id']}"),
                         ("GET", f"/api/v1/exports/{e['id']}/file"),
                         ("DELETE", f"/api/v1/exports/{e['id']}")):
        status, _, raw = call(h, akey, method, path)
        assert status == 404, (method, path, raw)
    status, lst = as_json(h, akey, "GET", "/api/v1/exports")
    assert e["id"] not in [x["id"] for x in lst["items"]]
    status, lst = as_json(h, world["globex"]["admin"], "GET", "/api/v1/exports")
    assert e["id"] in [x["id"] for x in lst["items"]]
    # The export's pin belongs to the same tenant.
    status, pins = as_json(h, world["globex"]["admin"], "GET", "/api/v1/pins", None, spec,
                           "/api/v1/pins")
    assert f"export:{e['id']}" in [p["id"] for p in pins["items"]]
    status, pins = as_json(h, akey, "GET", "/api/v1/pins")
    assert status == 200 and not [p for p in pins["items"] if p["camera"] == "cam-g"]
    # Exporting another tenant's camera: the very error of a missing camera.
    s1, _, b1 = call(h, akey, "POST", "/api/v1/exports", rng)
    s2, _, b2 = call(h, akey, "POST", "/api/v1/exports", {**rng, "camera": "no-such-cam"})
    assert s1 == s2 == 404
    assert b1.replace(b"cam-g", b"X") == b2.replace(b"no-such-cam", b"X")


def test_audit_entries_are_the_tenants_own(world):
    h, sa = world["h"], world["sa"]
    key = world["acme"]["admin"]
    status, _, _ = call(h, key, "PATCH", "/api/v1/cameras/cam-a", {"name": "Front door"})
    assert status == 200
    # Entries are appended by the writer thread: wait for the update's.
    page = wait_until(lambda: (lambda p: p if "camera.updated" in {e["action"] for e in p["items"]}
                               else None)(as_json(h, key, "GET", "/api/v1/audit?limit=500", None,
                                                  world["spec"], "/api/v1/audit")[1]),
                      5, "the camera.updated entry")
    assert {e["tenant"] for e in page["items"]} == {"acme"}
    status, page = as_json(h, sa, "GET", "/api/v1/audit?limit=500")
    tenants = {e["tenant"] for e in page["items"]}
    assert {"", "acme"} <= tenants
    created = [e for e in page["items"] if e["action"] == "tenant.created"]
    assert {e["target"]["id"] for e in created} == {"acme", "globex"}


def test_quotas_are_refused_naming_the_quota(world):
    h, sa, spec = world["h"], world["sa"], world["spec"]
    akey = world["acme"]["admin"]
    status, err = as_json(h, akey, "POST", "/api/v1/cameras",
                          {"id": "cam-a2", "url": world["camsim"].url(1)}, spec,
                          "/api/v1/cameras")
    assert status == 409 and err["error"]["code"] == "quota_exceeded", err
    assert "max_cameras = 1" in err["error"]["message"]
    status, _ = h.get_json("/api/v1/cameras/cam-a2")
    assert status == 404
    # Usage is reported; a storage quota under it refuses exports, naming it.
    status, t = as_json(h, sa, "GET", "/api/v1/tenants/globex", None, spec,
                        "/api/v1/tenants/{id}")
    assert t["usage"]["cameras"] == 1 and t["usage"]["users"] == 1
    assert t["usage"]["recording_bytes"] > 0
    assert t["usage"]["storage_bytes"] == t["usage"]["recording_bytes"] + \
        t["usage"]["export_bytes"]
    status, t = as_json(h, sa, "PATCH", "/api/v1/tenants/globex", {"max_storage_bytes": 1000},
                        spec, "/api/v1/tenants/{id}")
    assert status == 200 and t["max_storage_bytes"] == 1000
    r = recording_rows(h, camera="cam-g")[0]
    status, err = as_json(h, world["globex"]["admin"], "POST", "/api/v1/exports",
                          {"camera": "cam-g", "start": r["start_us"] // 1000,
                           "end": r["end_us"] // 1000}, spec, "/api/v1/exports")
    assert status == 409 and err["error"]["code"] == "quota_exceeded", err
    assert "max_storage_bytes = 1000" in err["error"]["message"]
    # Raising the camera quota lets the tenant grow again.
    status, _ = as_json(h, sa, "PATCH", "/api/v1/tenants/acme", {"max_cameras": 2})
    status, c = as_json(h, akey, "POST", "/api/v1/cameras",
                        {"id": "cam-a2", "url": world["camsim"].url(1), "enabled": False})
    assert status == 201 and c["tenant"] == "acme"


def test_only_a_superadmin_manages_tenants_and_crosses_them(world):
    h, sa, spec = world["h"], world["sa"], world["spec"]
    akey = world["acme"]["admin"]
    for method, path in (("GET", "/api/v1/tenants"), ("POST", "/api/v1/tenants"),
                         ("GET", "/api/v1/tenants/acme"), ("PATCH", "/api/v1/tenants/acme"),
                         ("DELETE", "/api/v1/tenants/acme")):
        status, _, _ = call(h, akey, method, path, {} if method in ("POST", "PATCH") else None)
        assert status == 403, (method, path)
    status, err = as_json(h, akey, "POST", "/api/v1/cameras",
                          {"id": "sneaky", "url": "rtsp://127.0.0.1:9/x", "tenant": "globex"})
    assert status == 403 and "superadmin" in err["error"]["message"]
    status, err = as_json(h, sa, "POST", "/api/v1/users",
                          {"name": "x", "role": "viewer", "tenant": "nope"})
    assert status == 400 and "tenant: 'nope' does not exist" in err["error"]["message"]
    status, err = as_json(h, sa, "PATCH", "/api/v1/cameras/cam-a", {"tenant": "globex"})
    assert status == 400 and err["error"]["message"].startswith("tenant: cannot change")
    status, err = as_json(h, sa, "POST", "/api/v1/tenants", {"id": "Bad Id"})
    assert status == 400 and err["error"]["message"].startswith("id:")
    status, err = as_json(h, sa, "POST", "/api/v1/tenants", {"id": "acme"})
    assert status == 409
    status, err = as_json(h, sa, "DELETE", "/api/v1/tenants/acme")
    assert status == 409 and "1 cameras, 1 users and 1 API keys" in err["error"]["message"]
    status, lst = as_json(h, sa, "GET", "/api/v1/tenants", None, spec, "/api/v1/tenants")
    assert [t["id"] for t in lst["items"]] == ["acme", "globex"]
    status, _ = as_json(h, sa, "POST", "/api/v1/tenants", {"id": "empty"})
    status, _, _ = call(h, sa, "DELETE", "/api/v1/tenants/empty")
    assert status == 204
    page = wait_until(lambda: as_json(h, sa, "GET", "/api/v1/audit?action=tenant.deleted")[1]
                      ["items"], 5, "the tenant.deleted entry")
    assert [e["target"]["id"] for e in page] == ["empty"]


def test_cli_tenants_users_and_keys(world):
    h = world["h"]
    code, out, err = cli(h, "tenant", "add", "initech", "--name", "Initech", "--max-cameras",
                         "3", "--max-storage", "1000000")
    assert code == 0, err
    code, out, err = cli(h, "tenant", "add", "initech")
    assert code == 1 and "already exists" in err
    code, out, err = cli(h, "tenant", "add", "x", "--max-cameras", "-1")
    assert code == 2 and "--max-cameras" in err
    code, out, err = cli(h, "tenant", "list")
    assert code == 0 and "initech" in out and "cameras=0/3" in out and "cameras=1/1" in out
    code, out, err = cli(h, "user", "add", "bob", "--role", "operator", "--tenant", "nope")
    assert code == 2 and "tenant 'nope' does not exist" in err
    code, out, err = cli(h, "user", "add", "bob", "--role", "operator", "--tenant", "initech",
                         "--password-stdin", stdin="correct horse battery\n")
    assert code == 0, err
    code, out, err = cli(h, "api-key", "add", "init", "--role", "operator", "--tenant", "initech")
    assert code == 0, err
    ikey = out.strip()
    status, me = as_json(h, ikey, "GET", "/api/v1/auth/me")
    assert me["tenant"] == "initech"
    status, cams = as_json(h, ikey, "GET", "/api/v1/cameras")
    assert cams["items"] == []
    status, _, raw = h.request("POST", "/api/v1/auth/login",
                               {"username": "bob", "password": "correct horse battery"},
                               auth=False)
    assert status == 200 and json.loads(raw)["principal"]["tenant"] == "initech", raw
