"""Per-camera `transport` and `client`, and `transport: auto`
(docs/design/0034): a camera that refuses RTP over TCP (camsim `--fault
notcp` answers SETUP 461 Unsupported Transport) falls back to UDP at once
and records; with `transport: tcp` it is reported as refusing TCP and
records nothing; the status says what is in use; bad values are 400."""
import json
import subprocess
import time

import pytest

from conftest import recording_rows, require_tool, wait_until

SMALL = ["--size", "320x240", "--fps", "15"]


def status_of(h, cam):
    status, doc = h.get_json(f"/api/v1/cameras/{cam}")
    assert status == 200, doc
    return doc


def post_camera(h, body):
    status, _, data = h.request("POST", "/api/v1/cameras", body)
    assert status == 201, data
    return json.loads(data)


def probe_clean(h, row, fps):
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-count_frames",
                          "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                          str(h.data / row["path"])],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    (video,) = json.loads(out.stdout)["streams"]
    assert video["codec_name"] == "h264"
    seconds = (row["end_us"] - row["start_us"]) / 1e6
    assert abs(int(video["nb_read_frames"]) - seconds * fps) <= 2, (row, video)


@pytest.mark.parametrize("client", ["native", "libav"])
def test_auto_falls_back_to_udp_when_the_camera_refuses_tcp(camsim_factory, horus_factory,
                                                            client):
    sim = camsim_factory(args=SMALL + ["--fault", "notcp"])
    # The global keys are the defaults (transport auto, client native); the camera sets its own.
    h = horus_factory()
    cam = post_camera(h, {"id": "c", "url": sim.url(), "transport": "auto", "client": client,
                          "record": {"segment_seconds": 2}})
    assert (cam["transport"], cam["client"]) == ("auto", client)

    wait_until(lambda: len(recording_rows(h, "c")) >= 2, 30, "two segments over UDP")
    doc = status_of(h, "c")
    assert doc["status"]["state"] == "streaming", doc["status"]
    # Each client speaks UDP itself (the native one since design 0073).
    assert (doc["status"]["transport"], doc["status"]["client"]) == ("udp", client), doc
    assert doc["status"]["recording"] is True
    assert (doc["transport"], doc["client"]) == ("auto", client)  # the setting, unchanged
    assert h.metric('horus_ingest_transport_fallbacks_total{camera="c"') == 1

    line = h.wait_for_log(lambda l: "refuses RTP over TCP" in l.get("msg", ""))
    assert line["msg"].startswith("camera c refuses RTP over TCP") and "using UDP" in line["msg"]
    assert h.stop() == 0
    time.sleep(0.3)
    assert "UDP" in sim.proc.output()
    fallbacks = [l for l in h.log_lines() if "refuses RTP over TCP" in l.get("msg", "")]
    assert len(fallbacks) == 1, fallbacks  # logged once, reconnects stay on UDP
    recs = recording_rows(h, "c")
    for prev, cur in zip(recs, recs[1:]):
        assert cur["start_us"] >= prev["end_us"], (prev, cur)
    for r in recs:
        probe_clean(h, r, 15)


@pytest.mark.parametrize("client", ["native", "libav"])
def test_tcp_on_a_camera_that_refuses_it_says_so_and_records_nothing(camsim_factory,
                                                                    horus_factory, client):
    sim = camsim_factory(args=SMALL + ["--fault", "notcp"])
    h = horus_factory()
    post_camera(h, {"id": "t", "url": sim.url(), "transport": "tcp", "client": client,
                    "record": {"segment_seconds": 2}})

    def last_error():
        st = status_of(h, "t")["status"]
        return st["last_error"]

    err = wait_until(last_error, 20, "the camera's last_error")
    assert "the camera refuses RTP over TCP" in err and "codec" not in err, err
    st = status_of(h, "t")["status"]
    assert (st["transport"], st["client"]) == ("tcp", client), st
    assert st["state"] != "streaming" and st["recording"] is False, st
    time.sleep(2)
    assert recording_rows(h, "t") == []
    assert h.metric("horus_ingest_transport_fallbacks_total") == 0
    assert "UDP" not in sim.proc.output()


def test_switching_the_camera_to_auto_restarts_it_over_udp(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL + ["--fault", "notcp"])
    h = horus_factory("ingest:\n  transport: tcp\n")
    post_camera(h, {"id": "s", "url": sim.url(), "record": {"segment_seconds": 2}})
    wait_until(lambda: status_of(h, "s")["status"]["last_error"], 20, "the TCP refusal")
    assert status_of(h, "s")["transport"] is None  # the global key decides
    status, _, data = h.request("PATCH", "/api/v1/cameras/s", {"transport": "auto"})
    assert status == 200, data
    wait_until(lambda: len(recording_rows(h, "s")) >= 1, 30, "a segment over UDP")
    assert status_of(h, "s")["status"]["transport"] == "udp"


def test_a_camera_may_use_libav_while_the_global_client_is_native(camsim_factory,
                                                                   horus_factory):
    sim = camsim_factory(args=SMALL, paths=2)
    h = horus_factory("ingest:\n  client: native\n  transport: auto\n")
    post_camera(h, {"id": "lib", "url": sim.url(1), "client": "libav",
                    "record": {"segment_seconds": 2}})
    post_camera(h, {"id": "nat", "url": sim.url(2), "record": {"segment_seconds": 2}})
    wait_until(lambda: len(recording_rows(h, "lib")) >= 2 and len(recording_rows(h, "nat")) >= 2,
               30, "two segments of each camera")
    lib, nat = status_of(h, "lib"), status_of(h, "nat")
    assert (lib["client"], lib["status"]["client"], lib["status"]["transport"]) == (
        "libav", "libav", "tcp"), lib
    assert (nat["client"], nat["status"]["client"], nat["status"]["transport"]) == (
        None, "native", "tcp"), nat
    assert h.stop() == 0
    for r in recording_rows(h, "lib"):
        probe_clean(h, r, 15)


@pytest.mark.parametrize("body, message", [
    ({"transport": "sctp"}, "transport: must be auto, tcp or udp"),
    ({"transport": "TCP"}, "transport: must be auto, tcp or udp"),
    ({"transport": 1}, "transport: must be auto, tcp or udp"),
    ({"client": "ffmpeg"}, "client: must be native or libav"),
    ({"client": True}, "client: must be native or libav"),
])
def test_bad_values_are_refused_naming_the_field(horus, body, message):
    status, _, data = horus.request("POST", "/api/v1/cameras",
                                    {"id": "b", "url": "rtsp://192.0.2.1/s", **body})
    assert status == 400, data
    err = json.loads(data)["error"]
    assert (err["code"], err["message"]) == ("invalid", message), err
    status, _, data = horus.request("POST", "/api/v1/cameras",
                                    {"id": "b", "url": "rtsp://192.0.2.1/s"})
    assert status == 201, data
    status, _, data = horus.request("PATCH", "/api/v1/cameras/b", body)
    assert status == 400 and json.loads(data)["error"]["message"] == message, data
    # null and "" go back to the global keys
    status, _, data = horus.request("PATCH", "/api/v1/cameras/b",
                                    {"transport": "udp", "client": "libav"})
    assert status == 200 and (json.loads(data)["transport"], json.loads(data)["client"]) == (
        "udp", "libav"), data
    status, _, data = horus.request("PATCH", "/api/v1/cameras/b", {"transport": None, "client": ""})
    assert status == 200, data
    doc = json.loads(data)
    assert (doc["transport"], doc["client"]) == (None, None), doc


def test_yaml_cameras_take_transport_and_client(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL + ["--fault", "notcp"])
    h = horus_factory(f"cameras:\n  - id: y\n    url: \"{sim.url()}\"\n    transport: auto\n"
                      "    client: libav\n    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(recording_rows(h, "y")) >= 1, 30, "a segment over UDP")
    doc = status_of(h, "y")
    assert (doc["transport"], doc["client"], doc["status"]["transport"]) == (
        "auto", "libav", "udp"), doc
