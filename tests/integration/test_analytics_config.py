"""The per-camera analytics document (docs/design/0039-zones-tripwires.md):
GET/PUT /api/v1/cameras/{id}/analytics round trip, 400s naming the field path,
viewer may read but not write, provisioned cameras are read-only here, and
horus.yaml's cameras[].analytics with errors at FILE:LINE:COL."""
import json
import subprocess

from conftest import HORUS_BIN, SOURCE_DIR
from openapi_check import OpenApi

DOC = OpenApi(json.loads((SOURCE_DIR / "src" / "api" / "openapi.json").read_text()))
TEMPLATE = "/api/v1/cameras/{id}/analytics"

FULL = {
    "enabled": True,
    "fps": 2.5,
    "priority": "high",
    "stream": "sub",
    "decode": "keyframes",
    "objects": {"labels": ["person", "car"], "min_score": 0.6, "min_area": 0.001,
                "max_area": 0.5},
    "motion": {"enabled": True, "events": True,
               "masks": [[[0, 0], [0.2, 0], [0.2, 0.1]]]},
    "zones": [{"name": "door", "polygon": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]],
               "labels": ["person"], "loiter_seconds": 10}],
    "tripwires": [{"name": "walkway", "line": [[0.5, 0.2], [0.5, 0.9]], "labels": []}],
}


def call(h, method, cam, body=None, headers=None):
    status, hdrs, raw = h.request(method, f"/api/v1/cameras/{cam}/analytics", body,
                                  headers=headers)
    out = DOC.validate(method, TEMPLATE, status, hdrs.get("Content-Type", "application/json"),
                       raw)
    return status, out


def add_camera(h, cam):
    status, _, body = h.request("POST", "/api/v1/cameras",
                                {"id": cam, "url": "rtsp://127.0.0.1:1/x", "enabled": False})
    assert status == 201, body


def test_put_then_get_round_trips_and_defaults_fill_in(horus):
    add_camera(horus, "c1")
    status, got = call(horus, "GET", "c1")
    assert status == 200
    assert got["enabled"] is True and got["fps"] == 5 and got["zones"] == []
    assert got["objects"] == {"labels": [], "min_score": 0.5, "min_area": 0, "max_area": 1}

    status, stored = call(horus, "PUT", "c1", FULL)
    assert status == 200, stored
    status, got = call(horus, "GET", "c1")
    assert status == 200
    assert got == stored
    assert got["zones"][0]["polygon"][2] == [0.5, 0.6]
    assert got["objects"]["min_score"] == 0.6
    assert got["tripwires"][0]["name"] == "walkway"
    assert got["decode"] == "keyframes"

    # The camera's own routes keep the document (PATCH and PUT don't name it).
    status, _, body = horus.request("PATCH", "/api/v1/cameras/c1", {"name": "Front"})
    assert status == 200, body
    status, _, body = horus.request("PUT", "/api/v1/cameras/c1",
                                    {"url": "rtsp://127.0.0.1:1/y", "enabled": False})
    assert status == 200, body
    assert call(horus, "GET", "c1")[1] == stored

    # A partial document replaces the whole: absent fields take their defaults.
    status, got = call(horus, "PUT", "c1", {"fps": 1})
    assert status == 200
    assert got["fps"] == 1 and got["zones"] == [] and got["priority"] == "normal"


def test_bad_documents_are_400_naming_the_field(horus):
    add_camera(horus, "c2")
    before = call(horus, "GET", "c2")[1]
    bow = [[0, 0], [1, 1], [1, 0], [0, 1]]
    square = [[0, 0], [1, 0], [1, 1], [0, 1]]
    cases = [
        ({"zones": [{"name": "a", "polygon": square}, {"name": "b", "polygon": bow}]},
         "zones[1].polygon: self-intersecting"),
        ({"tripwires": [{"name": "w", "line": [[0, 0], [1, 1], [0, 1]]}]},
         "tripwires[0].line: needs exactly 2 points"),
        ({"objects": {"min_score": 2}}, "objects.min_score: must be within 0..1"),
        ({"zones": [{"name": "a", "polygon": [[0, 0], [1.5, 0], [1, 1]]}]},
         "zones[0].polygon[1]: must be within 0..1"),
        ({"zones": [{"name": "a/b", "polygon": square}]},
         "zones[0].name: must be 1..32 characters of [A-Za-z0-9 _-]"),
        ({"zones": [{"name": "a", "polygon": square}, {"name": "a", "polygon": square}]},
         "zones[1].name: duplicate zone name 'a'"),
        ({"motion": {"masks": [[[0, 0], [1, 0]]]}}, "motion.masks[0]: needs 3..32 points, has 2"),
        ({"speed": 1}, "speed: unknown field (allowed: enabled, fps, priority, stream, decode, "
                       "objects, motion, zones, tripwires)"),
    ]
    for body, message in cases:
        status, err = call(horus, "PUT", "c2", body)
        assert status == 400, (body, err)
        assert err["error"]["code"] == "invalid"
        assert err["error"]["message"] == message
    # Not an object, not JSON at all.
    status, err = call(horus, "PUT", "c2", [1, 2])
    assert status == 400, err
    status, _, raw = horus.request("PUT", "/api/v1/cameras/c2/analytics", b"{\"fps\": ",
                                   headers={"Content-Type": "application/json"})
    assert status == 400, raw
    # Nothing was stored by the refusals.
    assert call(horus, "GET", "c2")[1] == before
    assert call(horus, "GET", "nope")[0] == 404
    assert call(horus, "PUT", "nope", {})[0] == 404


def test_viewer_reads_but_cannot_write(horus):
    add_camera(horus, "c3")
    status, _, body = horus.request("POST", "/api/v1/api-keys", {"name": "v", "role": "viewer"})
    assert status == 201, body
    viewer = {"Authorization": "Bearer " + json.loads(body)["key"]}
    status, got = call(horus, "GET", "c3", headers=viewer)
    assert status == 200 and got["fps"] == 5
    status, _ = call(horus, "PUT", "c3", {"fps": 1}, headers=viewer)
    assert status == 403
    assert call(horus, "GET", "c3")[1]["fps"] == 5
    status, _, _ = horus.request("GET", "/api/v1/cameras/c3/analytics", auth=False)
    assert status == 401


YAML = """cameras:
  - id: yard
    url: rtsp://127.0.0.1:1/yard
    enabled: false
    analytics:
      fps: 2
      objects:
        labels: [person]
      zones:
        - name: gate
          polygon: [[0.1, 0.1], [0.6, 0.1], [0.6, 0.7]]
          loiter_seconds: 5
      tripwires:
        - name: path
          line: [[0.5, 0], [0.5, 1]]
"""


def test_yaml_provisions_the_document_read_only(horus_factory):
    h = horus_factory(YAML)
    status, got = call(h, "GET", "yard")
    assert status == 200, got
    assert got["fps"] == 2
    assert got["objects"]["labels"] == ["person"]
    assert got["zones"][0]["name"] == "gate" and got["zones"][0]["loiter_seconds"] == 5
    assert got["tripwires"][0]["line"] == [[0.5, 0], [0.5, 1]]
    status, err = call(h, "PUT", "yard", {"fps": 1})
    assert status == 409, err
    assert "horus.yaml" in err["error"]["message"]


def test_labels_the_detector_does_not_know_are_400(horus_factory):
    # With a detector loaded, a label it cannot report is a mistake to name, not a filter.
    from test_detect_pipeline import LABELS, MODEL
    h = horus_factory(f"detect:\n  enabled: true\n  threads: 1\n"
                      f"  detector:\n    model: \"{MODEL}\"\n    labels: \"{LABELS}\"\n")
    add_camera(h, "porch")
    status, err = call(h, "PUT", "porch", {"zones": [
        {"name": "door", "polygon": [[0, 0], [1, 0], [1, 1]], "labels": ["persn"]}]})
    assert status == 400, err
    message = err["error"]["message"]
    assert "zones[0].labels" in message and "'persn'" in message, message
    status, got = call(h, "GET", "porch")
    assert status == 200 and got["zones"] == [], got  # nothing stored
    status, got = call(h, "PUT", "porch", {"objects": {"labels": ["person", "bicycle"]}})
    assert status == 200 and got["objects"]["labels"] == ["person", "bicycle"], got


def check(tmp_path, text):
    path = tmp_path / "horus.yaml"
    path.write_text(text)
    return subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True,
                          text=True, cwd=tmp_path)


def test_yaml_errors_name_file_line_column_and_path(tmp_path):
    bad = YAML.replace("[[0.1, 0.1], [0.6, 0.1], [0.6, 0.7]]",
                       "[[0, 0], [1, 1], [1, 0], [0, 1]]")
    r = check(tmp_path, bad)
    assert r.returncode == 2
    path = tmp_path / "horus.yaml"
    assert f"{path}:11:20: cameras[0].analytics.zones[0].polygon: self-intersecting" in r.stderr, \
        r.stderr
    r = check(tmp_path, YAML.replace("line: [[0.5, 0], [0.5, 1]]", "line: [[0.5, 0]]"))
    assert r.returncode == 2
    assert f"{path}:15:17: cameras[0].analytics.tripwires[0].line: needs exactly 2 points" \
        in r.stderr, r.stderr
    r = check(tmp_path, YAML.replace("      fps: 2\n", "      fps: 2\n      colour: red\n"))
    assert r.returncode == 2
    assert f"{path}:7:15: cameras[0].analytics.colour: unknown field" in r.stderr, r.stderr
    r = check(tmp_path, YAML.replace("    analytics:\n      fps: 2\n", "    analytics: 5\n      fps: 2\n"))
    assert r.returncode == 2
    r = check(tmp_path, YAML)
    assert r.returncode == 0, r.stderr
