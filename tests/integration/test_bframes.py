"""B-frame streams are recorded in the camera's presentation order from the
first frame of every session (issue 14, item 2; docs/design/0029). camsim
--bframes encodes two B-frames between references and --fault drop:6 cuts
every connection after 6 s, so a run has several sessions, each starting
with camsim's connect-time burst of its cached GOP. Every recorded file is
read back with ffprobe: each GOP presents its frames at whole frame steps
with no hole and no duplicate (a misordered first GOP had pts 0, 3, 3 frames
+ 1 tick, + 2 ticks), no sample lasts 1 tick, dts only grows, and the frame
count matches the duration."""
import json
import subprocess

import pytest

from conftest import require_tool
from test_record import rows, wait_until

FPS = 25
TICKS = 90000 // FPS  # one frame at 90 kHz


def sim_args(codec):
    return ["--size", "320x240", "--fps", str(FPS), "--gop", str(FPS), "--codec", codec,
            "--bframes", "--fault", "drop:6"]


def packets(path):
    ffprobe = require_tool("ffprobe")
    out = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts,dts,duration,flags:stream=time_base",
                          "-of", "json", str(path)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    num, den = (int(x) for x in doc["streams"][0]["time_base"].split("/"))
    assert num == 1 and den % FPS == 0, doc["streams"]
    frame = den // FPS
    return doc["packets"], frame


def gops(pkts):
    out = []
    for p in pkts:
        if "K" in p["flags"] or not out:
            out.append([])
        out[-1].append(p)
    return out


def check_file(path):
    pkts, frame = packets(path)
    assert "K" in pkts[0]["flags"], (path, pkts[0])
    dts = [int(p["dts"]) for p in pkts]
    assert all(b > a for a, b in zip(dts, dts[1:])), (path, dts[:12])
    short = [p for p in pkts if int(p.get("duration", frame)) < frame // 2]
    assert not short, (path, "short samples", short[:4])
    reordered = 0
    whole = gops(pkts)
    # The last GOP of a file may be cut by the rotation; the others are complete.
    for n, gop in enumerate(whole):
        pts = [int(p["pts"]) for p in gop]
        rel = [p - pts[0] for p in pts]
        assert all(p >= d for p, d in zip(pts, (int(p["dts"]) for p in gop))), (path, n, gop[:4])
        assert all(r % frame == 0 for r in rel), (path, n, "pts not at frame steps", rel[:12])
        if n == len(whole) - 1:
            continue
        steps = sorted(r // frame for r in rel)
        assert steps == list(range(len(gop))), (path, n, "pts order", [r // frame for r in rel])
        reordered += sum(1 for a, b in zip(rel, rel[1:]) if b < a)
    # The frame count matches the duration (measured from the first sample: where a
    # file's media time starts is item 2's other half).
    span = dts[-1] - dts[0] + int(pkts[-1].get("duration", frame))
    assert span == len(pkts) * frame, (path, span, len(pkts))
    return reordered, [int(p["pts"]) // frame - int(pkts[0]["pts"]) // frame for p in whole[0]]


@pytest.mark.parametrize("codec,client", [("h264", "native"), ("h265", "native"),
                                          ("h264", "libav")])
def test_bframes_ordered_from_the_first_gop_of_every_session(codec, client, camsim_factory,
                                                             horus_factory):
    sim = camsim_factory(sim_args(codec))
    h = horus_factory(f"ingest:\n  client: {client}\ncameras:\n"
                      f"  - id: cam\n    url: \"{sim.url()}\"\n"
                      "    record:\n      segment_seconds: 2\n")
    # Three sessions: camsim drops each connection after 6 s.
    wait_until(lambda: h.get_json("/api/v1/cameras/cam")[1]["status"]["reconnects"] >= 2
               and len(rows(h)) >= 6, 40, "three sessions recorded")
    # Nothing needed repairing: the order was known before each session's first frame.
    assert h.metric("horus_ingest_timestamps_repaired_total") == 0
    assert h.stop() == 0
    checked = [check_file(h.data / r["path"]) for r in rows(h)]
    assert sum(n for n, _ in checked) > 0, "no B-frames seen"
    # Presentation order of each file's first GOP, in frames from its keyframe.
    print(codec, client, [first[:7] for _, first in checked])
