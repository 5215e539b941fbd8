"""Exports end to end: a real daemon records horus-camsim, exports a range across
segment boundaries to one MP4, and the file is checked with ffprobe/ffmpeg and
against the job's sha256; cancellation of running and queued jobs, the bounded
queue, bad input, and a restart that keeps finished exports."""
import hashlib
import json
import subprocess
import time

from conftest import require_tool, recording_rows, synthesize_hours, wait_until
from openapi_check import OpenApi


def rows(h):
    return recording_rows(h, camera="cam")


def cams_yaml(camsim, segment, extra=""):
    return (f"{extra}cameras:\n  - id: cam\n    url: \"{camsim.url(1)}\"\n"
            f"    record:\n      segment_seconds: {segment}\n")


def spec_of(h):
    return OpenApi(h.get_json("/api/v1/openapi.json")[1])


def post_export(h, spec, body):
    status, headers, raw = h.request("POST", "/api/v1/exports", body)
    spec.validate("POST", "/api/v1/exports", status, headers["Content-Type"], raw)
    return status, headers, json.loads(raw)


def get_export(h, spec, eid):
    status, headers, raw = h.request("GET", f"/api/v1/exports/{eid}")
    spec.validate("GET", "/api/v1/exports/{id}", status, headers["Content-Type"], raw)
    return json.loads(raw)


def wait_done(h, spec, eid, timeout=60):
    def finished():
        e = get_export(h, spec, eid)
        return e if e["state"] not in ("queued", "running") else None
    return wait_until(finished, timeout, f"export {eid} to finish")


def ffprobe(path):
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-count_packets",
                          "-show_entries", "stream=codec_name,codec_type,width,height,"
                          "nb_read_packets:format=duration,format_name", "-of", "json",
                          str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    return json.loads(out.stdout)


def top_level_boxes(data):
    boxes, off = [], 0
    while off + 8 <= len(data):
        size = int.from_bytes(data[off:off + 4], "big")
        kind = data[off + 4:off + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[off + 8:off + 16], "big")
        boxes.append(kind)
        if size < 8:
            break
        off += size
    return boxes


def test_export_across_segments_is_a_faststart_mp4_of_the_right_length_that_survives_restart(
        camsim_factory, horus_factory, tmp_path):
    sim = camsim_factory(args=["--audio"])
    yaml = cams_yaml(sim, 10)
    h = horus_factory(yaml)
    spec = spec_of(h)
    recs = wait_until(lambda: len(rows(h)) >= 3 and rows(h), 60, "three segments")
    first, last = recs[0], recs[2]
    for a, b in zip(recs, recs[1:3]):
        assert b["start_us"] == a["end_us"], "camsim segments should be contiguous"
    # From 2.5 s into the first segment to 1 s before the end of the third: with a
    # keyframe every second, the file starts at the keyframe 2 s in.
    start_ms = (first["start_us"] + 2_500_000) // 1000
    end_ms = (last["end_us"] - 1_000_000) // 1000
    status, headers, job = post_export(h, spec, {"camera": "cam", "start": start_ms,
                                                 "end": end_ms})
    assert status == 202, job
    assert headers["Location"] == f"/api/v1/exports/{job['id']}"
    assert job["state"] in ("queued", "running", "done") and job["sha256"] is None
    done = wait_done(h, spec, job["id"])
    assert done["state"] == "done", done
    assert done["progress"] == 1 and done["error"] is None
    assert done["file_url"] == f"/api/v1/exports/{job['id']}/file"

    status, headers, data = h.request("GET", done["file_url"], timeout=30)
    assert status == 200
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Content-Disposition"].startswith("attachment; filename=\"cam_")
    assert len(data) == done["size_bytes"]
    assert hashlib.sha256(data).hexdigest() == done["sha256"]
    boxes = top_level_boxes(data)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    path = tmp_path / "export.mp4"
    path.write_bytes(data)
    info = ffprobe(path)
    assert "mp4" in info["format"]["format_name"]
    kinds = {s["codec_type"]: s for s in info["streams"]}
    assert kinds["video"]["codec_name"] == "h264"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (640, 360)
    assert kinds["audio"]["codec_name"] == "aac"
    expected_s = (end_ms - (start_ms - 500)) / 1000  # from the keyframe at or before start
    frame = 1 / 25
    assert abs(float(info["format"]["duration"]) - expected_s) <= 2 * frame, (info, expected_s)
    assert abs(done["duration_s"] - expected_s) <= 2 * frame, done
    assert abs(int(kinds["video"]["nb_read_packets"]) - expected_s * 25) <= 2
    # Every frame decodes: the cut starts on a keyframe and the boundaries are seamless.
    dec = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(path), "-f", "null",
                          "-"], capture_output=True, text=True, timeout=60)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr

    # A Range request gets the right bytes (206), or the whole file until Range lands (200).
    status, headers, part = h.request("GET", done["file_url"], headers={"Range": "bytes=100-199"})
    assert (status, part) in ((206, data[100:200]), (200, data))
    status, headers, body = h.request("HEAD", done["file_url"])
    assert status == 200 and int(headers["Content-Length"]) == len(data) and body == b""

    _, _, metrics = h.request("GET", "/metrics")
    text = metrics.decode()
    assert 'horus_export_jobs_total{state="done"} 1' in text
    assert "horus_export_duration_seconds_count 1" in text
    assert f"horus_export_bytes_total {len(data)}" in text

    # A restart keeps the finished export, listed and downloadable.
    assert h.stop() == 0
    h2 = horus_factory(yaml, extra_args=["--data", str(h.data)], name="restarted")
    status, headers, raw = h2.request("GET", "/api/v1/exports")
    spec.validate("GET", "/api/v1/exports", status, headers["Content-Type"], raw)
    listed = json.loads(raw)
    assert [e["id"] for e in listed["items"]] == [job["id"]]
    assert listed["items"][0]["state"] == "done" and listed["next_cursor"] is None
    status, _, again = h2.request("GET", done["file_url"], timeout=30)
    assert status == 200 and hashlib.sha256(again).hexdigest() == done["sha256"]


def test_bad_export_requests_get_clear_errors(camsim_factory, horus_factory):
    sim = camsim_factory()
    h = horus_factory(cams_yaml(sim, 2))
    spec = spec_of(h)
    now = int(time.time() * 1000)
    cases = [
        ({"camera": "nope", "start": now - 10_000, "end": now}, 404, "camera 'nope'"),
        ({"camera": "cam", "start": now, "end": now - 10_000}, 400, "end: must be after start"),
        ({"camera": "cam", "start": now - 90_000_000, "end": now}, 400, "exports.max_duration"),
        ({"camera": "cam", "start": "yesterday", "end": now}, 400, "start:"),
        ({"camera": "cam", "end": now}, 400, "start: is required"),
        ({"camera": "cam", "start": 0, "end": now, "format": "avi"}, 400, "format: unknown"),
        ({"camera": "cam", "start": 1000, "end": 2000}, 422, "no main stream recordings"),
        ({"camera": "cam", "stream": "third", "start": 1000, "end": 2000}, 400, "stream:"),
    ]
    for body, want, text in cases:
        status, _, err = post_export(h, spec, body)
        assert status == want and text in err["error"]["message"], (body, status, err)
    status, headers, raw = h.request("POST", "/api/v1/exports", b'{"camera": "cam",')
    assert status == 400 and json.loads(raw)["error"]["code"] == "invalid_json"
    for path in ("/api/v1/exports/0123456789abcdef0123", "/api/v1/exports/bogus",
                 "/api/v1/exports/0123456789abcdef0123/file"):
        status, headers, raw = h.request("GET", path)
        assert status == 404, path
        spec.validate("GET", path.replace("0123456789abcdef0123", "{id}").replace(
            "bogus", "{id}"), status, headers["Content-Type"], raw)
    assert h.request("DELETE", "/api/v1/exports/0123456789abcdef0123")[0] == 404
    status, _, raw = h.request("GET", "/api/v1/exports?limit=0")
    assert status == 400 and "limit" in json.loads(raw)["error"]["message"]


def test_delete_cancels_running_and_queued_exports_and_a_full_queue_is_refused(
        camsim_factory, horus_factory):
    sim = camsim_factory()
    h = horus_factory(cams_yaml(sim, 2, "exports:\n  workers: 1\n  max_queued: 1\n"))
    spec = spec_of(h)
    wait_until(lambda: rows(h), 20, "a segment")
    start_ms, end_ms = synthesize_hours(h, 3)
    body = {"camera": "cam", "start": start_ms, "end": end_ms}
    status, _, running = post_export(h, spec, body)
    assert status == 202
    wait_until(lambda: get_export(h, spec, running["id"])["state"] == "running", 10,
               "the first export to run")
    status, _, queued = post_export(h, spec, body)
    assert status == 202 and queued["state"] == "queued"
    # max_queued is 1: a third job is refused while the second waits.
    status, headers, err = post_export(h, spec, body)
    assert status == 503 and "exports.max_queued" in err["error"]["message"], err
    assert headers.get("Retry-After")

    assert h.request("DELETE", f"/api/v1/exports/{queued['id']}")[0] == 204
    e = get_export(h, spec, queued["id"])
    assert e["state"] == "cancelled" and e["error"] and e["finished_at"]

    mid = get_export(h, spec, running["id"])
    assert mid["state"] == "running" and 0 <= mid["progress"] < 1, mid
    t0 = time.monotonic()
    assert h.request("DELETE", f"/api/v1/exports/{running['id']}")[0] == 204
    took = time.monotonic() - t0
    e = get_export(h, spec, running["id"])
    assert e["state"] == "cancelled", (e, took)
    assert not list((h.data / "exports").iterdir()), "a cancelled export left a file"
    status, _, raw = h.request("GET", f"/api/v1/exports/{running['id']}/file")
    assert status == 409 and json.loads(raw)["error"]["code"] == "conflict"
    # A second DELETE removes the cancelled job for good.
    assert h.request("DELETE", f"/api/v1/exports/{running['id']}")[0] == 204
    assert h.request("GET", f"/api/v1/exports/{running['id']}")[0] == 404
    _, _, metrics = h.request("GET", "/metrics")
    assert 'horus_export_jobs_total{state="cancelled"} 2' in metrics.decode()
    assert h.stop() == 0


def test_a_gap_is_kept_as_a_jump_and_a_resolution_change_fails_naming_the_instant(
        horus_factory, tmp_path):
    from conftest import CAMSIM_BIN, Proc, free_port, wait_for_port
    port = free_port()

    def camsim(size, name):
        d = tmp_path / name
        d.mkdir()
        p = Proc([CAMSIM_BIN, "--listen", f"127.0.0.1:{port}", "--size", size], d, "camsim.log")
        wait_for_port(port, timeout=30, proc=p.popen)
        return p
    sim = camsim("640x360", "sim1")
    h = horus_factory(f"cameras:\n  - id: cam\n    url: \"rtsp://127.0.0.1:{port}/cam1\"\n"
                      "    record:\n      segment_seconds: 2\n")
    spec = spec_of(h)
    try:
        wait_until(lambda: len(rows(h)) >= 2, 30, "segments before the outage")
        sim.stop()
        time.sleep(3)
        sim = camsim("640x360", "sim2")
        wait_until(lambda: any(r["start_us"] > rows(h)[0]["start_us"] + 5_000_000 and
                               r["width"] == 640 for r in rows(h)[2:]), 30,
                   "recording to resume after the outage")
        n_before = len(rows(h))
        wait_until(lambda: len(rows(h)) >= n_before + 1, 30, "a second segment after it")
        sim.stop()
        sim = camsim("320x180", "sim3")
        wait_until(lambda: any(r["width"] == 320 for r in rows(h)), 40, "a 320x180 segment")
    finally:
        sim.stop()
    recs = rows(h)
    gap_at = next(i for i in range(1, len(recs)) if recs[i]["start_us"] > recs[i - 1]["end_us"])
    change_at = next(i for i in range(1, len(recs)) if recs[i]["width"] != recs[i - 1]["width"])
    assert gap_at < change_at
    # Across the outage: one file whose clock jumps over the gap (wall time stays true).
    # (A camera that stops right after a keyframe can leave an empty last segment: start
    # in the last one that holds video.)
    before = max(i for i in range(gap_at) if recs[i]["end_us"] - recs[i]["start_us"] >= 1e6)
    start_ms = recs[before]["start_us"] // 1000
    end_ms = recs[gap_at]["end_us"] // 1000
    _, _, job = post_export(h, spec, {"camera": "cam", "start": start_ms, "end": end_ms})
    done = wait_done(h, spec, job["id"])
    assert done["state"] == "done", done
    assert abs(done["duration_s"] - (end_ms - start_ms) / 1000) <= 0.1, done
    status, _, data = h.request("GET", done["file_url"])
    path = tmp_path / "gap.mp4"
    path.write_bytes(data)
    assert abs(float(ffprobe(path)["format"]["duration"]) - done["duration_s"]) <= 0.1
    # Across the resolution change: a failed job that says where and what changed.
    before = max(i for i in range(change_at)
                 if recs[i]["end_us"] - recs[i]["start_us"] >= 1e6)
    start_ms = recs[before]["start_us"] // 1000
    end_ms = recs[change_at]["end_us"] // 1000
    _, _, job = post_export(h, spec, {"camera": "cam", "start": start_ms, "end": end_ms})
    failed = wait_done(h, spec, job["id"])
    assert failed["state"] == "failed", failed
    assert "changes from h264 640x360 to h264 320x180 at" in failed["error"], failed
    assert failed["sha256"] is None and failed["file_url"] is None
    files = sorted(p.name for p in (h.data / "exports").iterdir())
    assert files == [f"{done['id']}.mp4"], files  # the failed job left nothing
    assert h.request("GET", f"/api/v1/exports/{job['id']}/file")[0] == 409
