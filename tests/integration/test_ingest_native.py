"""The native RTSP client (docs/design/0008) end to end, against real
horus-camsim streams and a real daemon: what it records decodes, it
authenticates, it survives the simulator's faults, and one loop thread
carries many cameras. (test_ingest.py and test_record.py run on whichever
client is the default; these pin the native one.)"""
import json
import os
import subprocess

from conftest import HORUS_BIN, require_tool
from test_record import probe as ffprobe_streams
from test_record import rows, wait_until

SMALL = ["--size", "320x240", "--fps", "15"]


def native_yaml(cams, threads=0, segment=2):
    out = f"ingest:\n  client: native\n  threads: {threads}\ncameras:\n"
    for cam_id, url in cams:
        out += (f"  - id: {cam_id}\n    url: \"{url}\"\n"
                f"    record:\n      segment_seconds: {segment}\n")
    return out


def probe(url, *args):
    out = subprocess.run([HORUS_BIN, "probe", url, "--client", "native", *map(str, args)],
                         capture_output=True, text=True, timeout=60)
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def threads_of(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return names


def test_h265_bframes_and_aac_record_and_decode_without_errors(camsim_factory, horus_factory):
    sim = camsim_factory(args=[*SMALL, "--codec", "h265", "--bframes", "--audio"])
    h = horus_factory(native_yaml([("cam", sim.url())]))
    wait_until(lambda: len(rows(h)) >= 2, 20, "two H.265 segments")
    assert h.stop() == 0
    ffmpeg = require_tool("ffmpeg")
    for r in rows(h):
        assert r["codec"].startswith("hvc1.") and "mp4a.40.2" in r["codec"], r
        kinds = {s["codec_type"]: s for s in ffprobe_streams(h.data / r["path"])}
        assert kinds["video"]["codec_name"] == "hevc"
        assert kinds["audio"]["codec_name"] == "aac"
        # Every frame decodes: no missing references, no broken NAL units. (The null
        # muxer's complaints about output timestamps are not decoding errors.)
        out = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(h.data / r["path"]),
                              "-f", "null", "-"], capture_output=True, text=True, timeout=60)
        errors = [line for line in out.stderr.splitlines()
                  if line.strip() and not line.startswith("[null @")
                  and "Last message repeated" not in line]
        assert out.returncode == 0 and not errors, out.stderr


def test_digest_credentials_right_and_wrong(camsim_factory):
    cam = camsim_factory([*SMALL, "--auth", "admin:s3cret"])
    rc, res, err = probe(cam.url().replace("rtsp://", "rtsp://admin:s3cret@"))
    assert rc == 0, err
    assert res["client"] == "native"
    rc, res, err = probe(cam.url().replace("rtsp://", "rtsp://admin:nope@"))
    assert rc == 1 and res["error"]["code"] == "auth_failed", res
    assert "nope" not in err and "nope" not in json.dumps(res)


def test_drop_and_stall_faults_reconnect_with_a_monotonic_timeline(camsim_factory):
    drop = camsim_factory([*SMALL, "--fault", "drop:2"])
    rc, res, err = probe(drop.url(), "--seconds", 5)
    assert rc == 0, err
    assert res["reconnects"] >= 1 and res["gaps"] >= 1 and res["dts_monotonic"], res
    stall = camsim_factory([*SMALL, "--fault", "stall:1"])
    rc, res, err = probe(stall.url(), "--seconds", 4, "--stall-timeout", 1000)
    assert rc == 0, err
    assert res["stalls"] >= 1 and res["reconnects"] >= 1 and res["dts_monotonic"], res
    assert 1000 <= res["max_stall_detect_ms"] <= 1600, res


def test_twenty_cameras_on_one_loop_thread_all_record(camsim_factory, horus_factory):
    sim = camsim_factory(args=[*SMALL, "--loop", "4"], paths=20)
    cams = [(f"c{i:02d}", sim.url(i)) for i in range(1, 21)]
    h = horus_factory(native_yaml(cams, threads=1))
    wait_until(lambda: h.get_json("/health")[1]["cameras"]["online"] == 20, 20, "20 online")
    names = threads_of(h.proc.popen.pid)
    assert names.count("ing-rtsp-0") == 1, names
    assert not [n for n in names if n.startswith("ing-c")], names  # no thread per camera
    wait_until(lambda: {r["camera_id"] for r in rows(h)} == {c for c, _ in cams}, 30,
               "a closed segment from every camera")
    assert h.stop() == 0
    for r in rows(h):
        (video,) = ffprobe_streams(h.data / r["path"])
        seconds = (r["end_us"] - r["start_us"]) / 1e6
        assert abs(int(video["nb_read_packets"]) - seconds * 15) <= 1, r
