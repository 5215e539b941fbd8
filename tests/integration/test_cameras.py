"""/api/v1/cameras against a real daemon: CRUD, validation that names the
field, masked credentials, paging, and cameras provisioned from horus.yaml
(read-only through the API, updated by SIGHUP). Every response is checked
against the OpenAPI document."""
import json
import signal
import sqlite3
import time

import pytest

from conftest import index_rows, open_sealed_url
from openapi_check import OpenApi

CAM = {"id": "front_door", "name": "Front door", "url": "rtsp://admin:hunter22@192.0.2.10/s1",
       "record": {"retention_days": 30}}


@pytest.fixture
def api(horus):
    status, doc = horus.get_json("/api/v1/openapi.json")
    assert status == 200
    spec = OpenApi(doc)

    def call(method, path, template, body=None, want=None):
        status, headers, data = horus.request(method, path, body)
        if want is not None:
            assert status == want, (method, path, status, data)
        if data:
            obj = spec.validate(method, template, status, headers["Content-Type"], data)
        else:
            spec.operation(method, template)  # 204: documented without a body
            obj = None
        return status, headers, obj
    call.horus = horus
    return call


def stored_url(horus, cam_id):
    url = index_rows(horus, "SELECT url FROM cameras WHERE id = ?", (cam_id,))[0][0]
    return open_sealed_url(horus.data, cam_id, "url", url)


def test_create_get_list_update_delete(api):
    _, headers, cam = api("POST", "/api/v1/cameras", "/api/v1/cameras", CAM, 201)
    assert headers["Location"] == "/api/v1/cameras/front_door"
    assert cam["url"] == "rtsp://admin:***@192.0.2.10/s1"
    assert cam["record"] == {"enabled": True, "segment_seconds": 60, "retention_days": 30,
                             "max_bytes": 0}
    assert cam["provisioned"] is False
    _, _, got = api("GET", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", want=200)
    assert got == cam
    _, _, patched = api("PATCH", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}",
                        {"enabled": False, "record": {"max_bytes": 10 ** 12}}, 200)
    assert patched["enabled"] is False and patched["record"]["max_bytes"] == 10 ** 12
    assert patched["record"]["retention_days"] == 30  # PATCH keeps the rest
    _, _, replaced = api("PUT", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}",
                         {"url": "rtsp://192.0.2.10/s2"}, 200)
    assert replaced["record"]["retention_days"] == 14  # PUT starts from defaults
    assert replaced["name"] == ""
    api("DELETE", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", want=204)
    _, _, err = api("GET", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", want=404)
    assert err["error"]["message"] == "camera 'front_door' does not exist"


def test_sending_back_the_masked_url_keeps_the_password(api):
    _, _, cam = api("POST", "/api/v1/cameras", "/api/v1/cameras", CAM, 201)
    api("PUT", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", cam, 200)
    assert stored_url(api.horus, "front_door") == CAM["url"]
    # The password never leaves the server.
    _, _, body = api.horus.request("GET", "/api/v1/cameras")
    assert b"hunter22" not in body


def test_query_credentials_and_token_user_names_never_leave_the_server(api):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW0ifQ.c2lnbmF0dXJl"
    body = {"id": "q", "url": "rtsp://192.0.2.10/live?user=admin&password=hunter23&Token=tk4",
            "sub_url": f"rtsp://{jwt}@192.0.2.10/sub"}
    _, _, cam = api("POST", "/api/v1/cameras", "/api/v1/cameras", body, 201)
    assert cam["url"] == "rtsp://192.0.2.10/live?user=admin&password=***&Token=***"
    assert cam["sub_url"] == "rtsp://***@192.0.2.10/sub"
    # Sending the masked form back keeps what is stored.
    api("PUT", "/api/v1/cameras/q", "/api/v1/cameras/{id}", cam, 200)
    assert stored_url(api.horus, "q") == body["url"]
    for path in ("/api/v1/cameras", "/api/v1/cameras/q", "/api/v1/system/config"):
        _, _, raw = api.horus.request("GET", path)
        assert b"hunter23" not in raw and b"tk4" not in raw and jwt.encode() not in raw, path
    assert api.horus.stop() == 0
    out = api.horus.proc.output()
    assert "hunter23" not in out and "tk4" not in out and jwt not in out


@pytest.mark.parametrize("body,field", [
    ({"url": "rtsp://h/"}, "id: is required"),
    ({"id": "Bad Id", "url": "rtsp://h/"}, "id: must be"),
    ({"id": "a"}, "url: is required"),
    ({"id": "a", "url": "http://h/"}, "url: must start with rtsp://"),
    ({"id": "a", "url": "rtsp://h/", "sub_url": "ftp://x"}, "sub_url: must start with rtsp://"),
    ({"id": "a", "url": "rtsp://h/", "record": {"retention_days": 0}},
     "record.retention_days: must be an integer 1..3650"),
    ({"id": "a", "url": "rtsp://h/", "record": {"retension_days": 3}},
     "record.retension_days: unknown field"),
    ({"id": "a", "url": "rtsp://h/", "enabled": "yes"}, "enabled: must be true or false"),
    ({"id": "a", "url": "rtsp://h/", "colour": "red"}, "colour: unknown field"),
])
def test_validation_errors_name_the_field(api, body, field):
    _, _, err = api("POST", "/api/v1/cameras", "/api/v1/cameras", body, 400)
    assert err["error"]["code"] == "invalid"
    assert err["error"]["message"].startswith(field), err


BAD_URLS = [
    ("rtsp://", "has no host"),
    ("rtsp:///stream", "has no host"),
    ("rtsp://admin:pw@/stream", "has no host"),
    ("rtsp://192.0.2.10:0/s", "port must be a number 1..65535"),
    ("rtsp://192.0.2.10:70000/s", "port must be a number 1..65535"),
    ("rtsp://192.0.2.10:ab/s", "port must be a number 1..65535"),
    ("rtsp://192.0.2.10/a b", "must not contain spaces or control characters"),
    ("rtsp://192.0.2.10/s\r\nX-Injected: 1", "must not contain spaces or control characters"),
    ("rtsp://[2001:db8::1/s", "has an IPv6 host without its closing ']'"),
    ("rtsp://u%zz:pw@192.0.2.10/s", "cannot be parsed"),
    ("rtsp://192.0.2.10/" + "a" * 990, "is longer than 1000 characters"),
]


def camera_ids(horus):
    return [r[0] for r in index_rows(horus, "SELECT id FROM cameras ORDER BY id")]


@pytest.mark.parametrize("url,reason", BAD_URLS)
def test_unparsable_urls_are_refused_naming_the_field(api, url, reason):
    for field in ("url", "sub_url"):
        body = {"id": "bad", "url": "rtsp://192.0.2.10/s1", field: url}
        _, _, err = api("POST", "/api/v1/cameras", "/api/v1/cameras", body, 400)
        assert err["error"]["code"] == "invalid"
        assert err["error"]["message"].startswith(f"{field}: {reason}"), err
        assert "pw" not in err["error"]["message"]
    assert camera_ids(api.horus) == []


def test_a_bad_url_in_put_or_patch_leaves_the_camera_unchanged(api):
    api("POST", "/api/v1/cameras", "/api/v1/cameras", CAM, 201)
    _, _, before = api("GET", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", want=200)
    for method, body, field in [("PATCH", {"url": "rtsp://192.0.2.10:99999/"}, "url"),
                                ("PATCH", {"sub_url": "rtsp:///x"}, "sub_url"),
                                ("PUT", {"url": "rtsp://h/a b"}, "url")]:
        _, _, err = api(method, "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", body, 400)
        assert err["error"]["message"].startswith(f"{field}: "), err
    _, _, after = api("GET", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}", want=200)
    assert after == before
    assert stored_url(api.horus, "front_door") == CAM["url"]


def test_urls_with_host_names_ports_and_ipv6_are_accepted(api):
    for i, url in enumerate(["rtsp://h/", "rtsp://cam-1.local:8554/live/ch1?x=1",
                             "rtsps://cam.example/s", "rtsp://[2001:db8::1]:554/s",
                             "rtsp://ad%40min:p@ss@192.0.2.10/s"]):
        api("POST", "/api/v1/cameras", "/api/v1/cameras", {"id": f"ok{i}", "url": url}, 201)


def test_duplicates_and_unknown_ids(api):
    api("POST", "/api/v1/cameras", "/api/v1/cameras", CAM, 201)
    _, _, err = api("POST", "/api/v1/cameras", "/api/v1/cameras", CAM, 409)
    assert "already exists" in err["error"]["message"]
    api("PATCH", "/api/v1/cameras/nope", "/api/v1/cameras/{id}", {"enabled": False}, 404)
    api("DELETE", "/api/v1/cameras/nope", "/api/v1/cameras/{id}", want=404)
    _, _, err = api("PUT", "/api/v1/cameras/front_door", "/api/v1/cameras/{id}",
                    {"id": "other", "url": "rtsp://h/"}, 400)
    assert err["error"]["message"].startswith("id: does not match")


def test_list_is_paged_by_cursor(api):
    for i in range(5):
        api("POST", "/api/v1/cameras", "/api/v1/cameras",
            {"id": f"cam{i}", "url": f"rtsp://192.0.2.{i}/"}, 201)
    seen, cursor = [], None
    while True:
        path = "/api/v1/cameras?limit=2" + (f"&cursor={cursor}" if cursor else "")
        _, _, page = api("GET", path, "/api/v1/cameras", want=200)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"cam{i}" for i in range(5)]
    api("GET", "/api/v1/cameras?limit=0", "/api/v1/cameras", want=400)
    api("GET", "/api/v1/cameras?cursor=%2F..", "/api/v1/cameras", want=400)


YAML = """\
cameras:
  - id: gate
    url: "rtsp://viewer:${GATE_PASS}@192.0.2.20/live"
  - id: yard
    url: "rtsp://192.0.2.21/live"
"""


def test_cameras_from_yaml_are_provisioned_read_only_and_follow_reloads(horus_factory):
    h = horus_factory(YAML, env={"GATE_PASS": "s3cretpw"})
    status, page = h.get_json("/api/v1/cameras")
    assert [c["id"] for c in page["items"]] == ["gate", "yard"]
    assert all(c["provisioned"] for c in page["items"])
    assert page["items"][0]["url"] == "rtsp://viewer:***@192.0.2.20/live"
    for method, body in [("PATCH", {"enabled": False}), ("PUT", {"url": "rtsp://x/"}),
                         ("DELETE", None)]:
        status, _, data = h.request(method, "/api/v1/cameras/gate", body)
        assert status == 409, (method, data)
        assert "horus.yaml" in json.loads(data)["error"]["message"]
    # An API camera survives reloads; yard leaves the file, lane joins it.
    assert h.request("POST", "/api/v1/cameras", {"id": "manual", "url": "rtsp://h/"})[0] == 201
    h.config_path.write_text(YAML.replace("yard", "lane"))
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda l: l.get("msg") == "configuration reloaded")
    _, page = h.get_json("/api/v1/cameras")
    assert [c["id"] for c in page["items"]] == ["gate", "lane", "manual"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if h.get_json("/health")[1]["cameras"]["total"] == 3:
            break
        time.sleep(0.1)
    assert h.get_json("/health")[1]["cameras"]["total"] == 3


def test_a_locked_database_is_503_with_retry_after_not_409(horus_factory):
    """Another process holding the SQLite write lock makes writes wait the busy
    timeout and then fail with 503 + Retry-After (try again), never 409 (which
    says the request itself is wrong); a real duplicate id stays 409."""
    # SQLite's write lock on purpose: the database section keeps this daemon on SQLite
    # also in a PostgreSQL run.
    h = horus_factory("database:\n  busy_timeout: 300ms\n")
    assert h.database_url is None
    body = {"id": "locked", "url": "rtsp://192.0.2.10/s1"}
    db = sqlite3.connect(h.data / "horus.db", timeout=5, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        status, headers, data = h.request("POST", "/api/v1/cameras", body, timeout=15)
        assert status == 503, (status, data)
        assert headers.get("Retry-After") == "1", headers
        err = json.loads(data)["error"]
        assert err["code"] == "unavailable", err
        assert "database busy" in err["message"], err
    finally:
        db.execute("ROLLBACK")
        db.close()
    status, _, data = h.request("POST", "/api/v1/cameras", body)
    assert status == 201, data
    status, _, data = h.request("POST", "/api/v1/cameras", body)
    assert status == 409, data
    assert json.loads(data)["error"]["code"] == "conflict"
