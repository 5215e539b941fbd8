"""The ingest clock against camsim's own (issue 14 item 1, docs/design/0047): camsim
sends the GOP it cached since its last keyframe at once when a client connects, and
states its clock in RTCP sender reports. Horus must date the recording by when the
frames were sent, not by when the burst arrived: a session anchored at the burst's
arrival (the code before rule 8 of src/ingest/timeline.c) was late by however far
into the GOP it connected, here about half of a 4 s GOP.
"""
import struct
import time

from conftest import recording_rows, wait_until
from openapi_check import OpenApi
from test_camsim import RtspClient

FPS = 25
GOP = 100  # frames: a keyframe every 4 s
GOP_US = GOP * 1_000_000 // FPS
TOLERANCE_US = 100_000  # camsim's encoding and a loaded CI machine; the fault is ~2 s


def camsim_clock(port):
    """(wall_us, rtp) of one keyframe, from RTP-Info and a sender report of camsim's."""
    c = RtspClient(port, timeout=8.0)
    try:
        headers = c.play()
        info = headers["rtp-info"]
        keyframe_rtp = int(info.split("rtptime=")[1].split(",")[0].split(";")[0])
        for channel, payload in c.read_packets(6.0):
            # RTCP on the odd channel: SR (PT 200): NTP seconds, fraction, RTP time.
            if channel == 1 and len(payload) >= 20 and payload[1] == 200:
                ntp_s, ntp_frac, sr_rtp = struct.unpack(">III", payload[8:20])
                sr_us = (ntp_s - 2208988800) * 1_000_000 + (ntp_frac * 1_000_000 >> 32)
                delta = (keyframe_rtp - sr_rtp + 2**31) % 2**32 - 2**31
                return sr_us + delta * 1_000_000 // 90000
        raise AssertionError("no sender report from camsim within 6 s")
    finally:
        c.close()


def phase_us(t_us, keyframe_us):
    """Distance of t_us from the nearest keyframe time of camsim's GOP lattice."""
    d = (t_us - keyframe_us) % GOP_US
    return min(d, GOP_US - d)


def test_a_camera_joined_mid_gop_is_dated_by_its_clock_not_the_burst(camsim_factory,
                                                                     horus_factory):
    sim = camsim_factory(args=["--size", "320x240", "--fps", str(FPS), "--gop", str(GOP)])
    h = horus_factory()
    keyframe_us = camsim_clock(sim.port)
    # Add the camera half a GOP after a keyframe: its connect burst is ~2 s of frames.
    now_us = time.time() * 1e6
    wait_s = ((keyframe_us + GOP_US // 2 - now_us) % GOP_US) / 1e6
    time.sleep(wait_s)
    added_us = time.time() * 1e6
    status, _, body = h.request("POST", "/api/v1/cameras",
                                {"id": "cam", "url": sim.url(1),
                                 "record": {"segment_seconds": 2}})
    assert status == 201, body
    rows = wait_until(lambda: len(recording_rows(h, "cam", "main")) >= 2
                      and recording_rows(h, "cam", "main"), 25, "two recorded segments")
    first, second = rows[0], rows[1]
    # The first segment starts at the burst's keyframe, sent about 2 s before Horus connected.
    assert first["start_us"] < added_us - 1_000_000, (first, added_us)
    assert phase_us(first["start_us"], keyframe_us) < TOLERANCE_US, (
        f"the first segment starts {(first['start_us'] - keyframe_us) % GOP_US / 1e3:.0f} ms "
        f"into camsim's {GOP_US / 1e6:.0f} s GOP, not at its keyframe")
    assert second["start_us"] == first["end_us"]
    assert phase_us(second["start_us"], keyframe_us) < TOLERANCE_US, second
    # status.clock, as the OpenAPI document describes it
    code, headers, body = h.request("GET", "/api/v1/cameras/cam")
    spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    clock = spec.validate("GET", "/api/v1/cameras/{id}", code, headers["Content-Type"],
                          body)["status"]["clock"]
    print(f"first segment {phase_us(first['start_us'], keyframe_us) / 1e3:.1f} ms from "
          f"camsim's keyframe; status clock {clock}")
    assert 1000 <= clock["connect_burst_ms"] <= GOP_US / 1e3, clock
    assert abs(clock["offset_ms"]) < TOLERANCE_US / 1e3, clock
    assert 0 <= clock["jitter_ms"] < 20, clock
    # The same two numbers as gauges, in seconds.
    samples = dict((s[0]["stream"], s[1]) for s in
                   h.metric_samples("horus_ingest_clock_jitter_seconds") if s[0]["camera"] == "cam")
    assert 0 <= samples["main"] < 0.02, samples
