"""RTP over UDP end to end: `horus probe --transport udp` and a camera
recorded with `ingest.transport: udp`, both against horus-camsim's UDP
unicast, with both RTSP clients (the native one since design 0073)."""
import json
import subprocess
import time

import pytest

from conftest import HORUS_BIN, recording_rows, require_tool, wait_until

SMALL = ["--size", "320x240", "--fps", "15"]


def probe(url, *args, timeout=60):
    out = subprocess.run([HORUS_BIN, "probe", url, "--transport", "udp", *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, out.stdout + out.stderr
    return out.returncode, json.loads(lines[0]), out.stderr


@pytest.mark.parametrize("client", ["native", "libav"])
def test_probe_over_udp_reports_h264_size_fps_and_a_monotonic_timeline(camsim_factory, client):
    cam = camsim_factory(["--size", "640x360", "--fps", "25"])
    rc, res, err = probe(cam.url(), "--seconds", 3, "--client", client)
    assert rc == 0, err
    assert (res["client"], res["transport"]) == (client, "udp")
    (video,) = res["streams"]
    assert (video["codec"], video["width"], video["height"]) == ("h264", 640, 360)
    assert video["codec_string"].startswith("avc1.")
    assert video["fps"] == pytest.approx(25, abs=0.5)
    assert res["dts_monotonic"] is True
    assert res["epochs"] == 1 and res["gaps"] == 0 and res["reconnects"] == 0
    # about 3 s of 25 fps; a UDP client joins at the next keyframe (one per second)
    assert 45 <= res["packets"] <= 80, res
    assert res["keyframes"] >= 2
    time.sleep(0.3)
    assert "UDP" in cam.proc.output()  # camsim really sent it over UDP


def test_probe_over_udp_with_h265_and_aac(camsim_factory):
    cam = camsim_factory([*SMALL, "--codec", "h265", "--audio"])
    rc, res, err = probe(cam.url(), "--seconds", 2)
    assert rc == 0, err
    kinds = {s["kind"]: s for s in res["streams"]}
    assert kinds["video"]["codec"] == "h265"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (320, 240)
    assert (kinds["audio"]["codec"], kinds["audio"]["sample_rate"]) == ("aac", 48000)
    assert res["dts_monotonic"] is True


def test_probe_transport_flag_is_checked():
    out = subprocess.run([HORUS_BIN, "probe", "rtsp://127.0.0.1:1/x", "--transport", "sctp"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "--transport" in out.stderr and "sctp" in out.stderr


def test_probe_tcp_is_still_the_default(camsim_factory):
    cam = camsim_factory(SMALL)
    out = subprocess.run([HORUS_BIN, "probe", cam.url()], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["transport"] == "tcp"
    time.sleep(0.3)
    assert "UDP" not in cam.proc.output()


def test_camera_over_udp_records_segments_that_decode(camsim_factory, horus_factory):
    sim = camsim_factory(args=SMALL)
    h = horus_factory("ingest:\n  transport: udp\n"
                      f"cameras:\n  - id: u\n    url: \"{sim.url()}\"\n"
                      "    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(recording_rows(h)) >= 2, 20, "two segments over UDP")
    assert h.stop() == 0
    time.sleep(0.3)
    assert "UDP" in sim.proc.output()
    recs = recording_rows(h)
    for prev, cur in zip(recs, recs[1:]):
        assert cur["start_us"] == prev["end_us"], (prev, cur)
    for r in recs:
        assert r["codec"].startswith("avc1.") and (r["width"], r["height"]) == (320, 240)
        out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-count_frames",
                              "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
                              str(h.data / r["path"])],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
        (video,) = json.loads(out.stdout)["streams"]
        assert video["codec_name"] == "h264"
        seconds = (r["end_us"] - r["start_us"]) / 1e6
        assert abs(int(video["nb_read_frames"]) - seconds * 15) <= 1, (r, video)


@pytest.mark.parametrize("fault,kind", [("reorder:5", "reordered"), ("duplicate:7", "late")])
def test_reordered_or_duplicated_datagrams_lose_no_frame(camsim_factory, horus_factory, fault,
                                                         kind):
    """Every 5th RTP datagram swapped with the next, or every 7th sent twice: the native
    client puts them back in order (or drops the copy), so no access unit is lost, the files
    hold every frame, and the anomaly is counted by kind (design 0073)."""
    sim = camsim_factory(args=SMALL + ["--fault", fault])
    h = horus_factory("ingest:\n  transport: udp\n"
                      f"cameras:\n  - id: u\n    url: \"{sim.url()}\"\n"
                      "    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(recording_rows(h)) >= 3, 30, "three segments over UDP")
    anomalies = {labels["kind"]: v for labels, v in h.metric_samples(
        "horus_ingest_udp_anomalies_total") if labels["camera"] == "u"}
    lost = h.metric('horus_ingest_lost_packets_total{camera="u"')
    assert h.stop() == 0
    assert anomalies.get(kind, 0) > 10, anomalies
    assert lost == 0, lost  # the depacketiser saw no gap
    recs = recording_rows(h)
    for r in recs:
        out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-count_frames",
                              "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0",
                              str(h.data / r["path"])],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
        seconds = (r["end_us"] - r["start_us"]) / 1e6
        assert abs(int(out.stdout.strip().strip(",")) - seconds * 15) <= 1, (r, out.stdout)
