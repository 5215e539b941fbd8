"""RTCP against camsim (issue 14 item 1, docs/design/0053): Horus reads the camera's clock
from its sender reports without letting it move the recordings, ignores RTCP it cannot
trust (counted, logged once, recording unaffected), and sends receiver reports that the
camera gets.

camsim states its wall clock in a sender report per track every 5 s; `--fault sr-skew:90`
makes that clock 90 s fast (a camera with bad NTP), `--fault rtcp-garbage` sends a packet
that is not RTCP before each report, and `--fault sr-skew:-1600000000` a clock decades
behind (1970). camsim logs the first receiver report it gets on each track of a client.
"""
import json
import re
import time

from conftest import recording_rows, wait_until
from openapi_check import OpenApi

SKEW_S = 90
ARGS = ["--size", "320x240", "--fps", "25", "--gop", "25"]


def add_camera(h, cam_id, url):
    status, _, body = h.request("POST", "/api/v1/cameras",
                                {"id": cam_id, "url": url, "record": {"segment_seconds": 2}})
    assert status == 201, body


def clock_of(h, cam_id, spec=None):
    code, headers, body = h.request("GET", f"/api/v1/cameras/{cam_id}")
    if spec:
        return spec.validate("GET", "/api/v1/cameras/{id}", code, headers["Content-Type"],
                             body)["status"]["clock"]
    return json.loads(body)["status"]["clock"]


def rejected(h, cam_id, reason):
    return sum(v for labels, v in h.metric_samples("horus_ingest_rtcp_rejected_total")
               if labels["camera"] == cam_id and labels["reason"] == reason)


def test_sender_reports_date_the_camera_not_the_recordings(camsim_factory, horus_factory):
    skewed = camsim_factory(args=ARGS + ["--audio", "--fault", f"sr-skew:{SKEW_S}"])
    garbage = camsim_factory(args=ARGS + ["--loop", "4", "--fault", "rtcp-garbage"])
    unset = camsim_factory(args=ARGS + ["--loop", "4", "--fault", "sr-skew:-1600000000"])
    h = horus_factory()
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    added_us = time.time() * 1e6
    add_camera(h, "skewed", skewed.url(1))
    add_camera(h, "garbage", garbage.url(1))
    add_camera(h, "unset", unset.url(1))

    # The skewed camera: its clock is 90 s ahead, and status.clock says so once a report came.
    clock = wait_until(lambda: (c := clock_of(h, "skewed")) and c["source"] == "rtcp" and c,
                       20, "a sender report accepted for 'skewed'")
    clock = clock_of(h, "skewed", spec)
    print(f"skewed: status clock {clock}")
    assert clock["source"] == "rtcp", clock
    assert abs(clock["camera_offset_ms"] - SKEW_S * 1000) < 500, clock
    assert abs(clock["offset_ms"]) < 500, clock  # arrival still dates the media
    # Audio and video through their reports onto camsim's one clock: in sync (camsim's GOP
    # cache starts at the keyframe, audio with it), whatever that clock's error.
    clock = wait_until(lambda: (c := clock_of(h, "skewed", spec))["av_offset_ms"] is not None
                       and c, 10, "both tracks' reports accepted")
    assert abs(clock["av_offset_ms"]) < 100, clock
    wait_until(lambda: any(abs(v - SKEW_S) < 0.5 for labels, v in
                           h.metric_samples("horus_ingest_camera_clock_offset_seconds")
                           if labels["camera"] == "skewed"), 5, "the camera offset gauge")
    # ... and its recordings stay in server time, not 90 s ahead.
    rows = wait_until(lambda: len(recording_rows(h, "skewed", "main")) >= 2
                      and recording_rows(h, "skewed", "main"), 20, "two segments of 'skewed'")
    now_us = time.time() * 1e6
    for row in rows:
        assert added_us - 5e6 < row["start_us"] < now_us, (row, added_us, now_us)
        assert row["end_us"] <= now_us + 1e6, (row, now_us)

    # Receiver reports reach the camera on both tracks, about its own stream.
    for track in ("video", "audio"):
        line = wait_until(lambda: re.search(
            rf"RTCP receiver report on {track}: from ssrc \w+, blocks 1, source \w+ \((\w+ ?\w*)\),"
            rf" fraction lost (\d+), lost (-?\d+), highest seq (\d+)", skewed.proc.output()),
            15, f"a receiver report on {track} at camsim")
        print(line.group(0))
        assert line.group(1) == "ours", line.group(0)
        assert line.group(2) == "0" and line.group(3) == "0", line.group(0)  # loopback TCP

    # Garbage RTCP: counted, logged once, and the valid reports and recording go on.
    wait_until(lambda: rejected(h, "garbage", "malformed") >= 2, 20, "garbage RTCP counted")
    wait_until(lambda: (c := clock_of(h, "garbage")) and c["source"] == "rtcp", 10,
               "'garbage''s valid sender reports still accepted")
    rows = wait_until(lambda: len(recording_rows(h, "garbage", "main")) >= 2
                      and recording_rows(h, "garbage", "main"), 20, "two segments of 'garbage'")
    lines = [line for line in h.log_lines() if line.get("camera") == "garbage"
             and "RTCP ignored" in line.get("msg", "")]
    assert len(lines) == 1, lines
    assert "malformed RTCP packet" in lines[0]["msg"], lines[0]

    # A clock decades behind is no clock: refused, the status stays with arrival.
    wait_until(lambda: rejected(h, "unset", "ntp_range") >= 2, 20, "1970 reports refused")
    clock = clock_of(h, "unset", spec)
    assert clock["source"] == "arrival" and clock["camera_offset_ms"] is None, clock
    assert clock["av_offset_ms"] is None, clock
    assert len(recording_rows(h, "unset", "main")) >= 1
    assert rejected(h, "skewed", "ntp_range") == 0
    assert rejected(h, "skewed", "outlier") == 0
