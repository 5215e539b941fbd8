"""Exports over many file joins (issue 14, item 2): an export that crosses recording
rotations and a reconnect gap carries exactly the recorded samples of each track, none
shortened to a tick, and keeps audio and video as far apart at its end as at its start.

camsim (H.264 or H.265, with AAC) is recorded in 4 s segments, restarted once on the
same port (a reconnect gap), and the whole recording is exported; ffprobe then compares
the export packet by packet with the segment files it was made from."""
import json
import subprocess
import time
from fractions import Fraction

import pytest

from conftest import free_port, recording_rows, require_tool, wait_until

FPS = 25
AAC_FRAME = Fraction(1024, 48000)


def packets(path):
    """{codec_type: (time_base, [(dts, pts, duration), ...])} of a file, in decode order."""
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-show_entries",
                          "stream=index,codec_type,time_base:packet=stream_index,pts,dts,duration",
                          "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    info = json.loads(out.stdout)
    tracks = {}
    for s in info["streams"]:
        num, den = s["time_base"].split("/")
        pk = [(int(p["dts"]), int(p["pts"]), int(p.get("duration", 0)))
              for p in info["packets"] if p["stream_index"] == s["index"]]
        tracks[s["codec_type"]] = (Fraction(int(num), int(den)), pk)
    return tracks


def start_gap(tracks):
    """First audio time minus first video time, seconds (decode order = presentation order
    for audio; video by its earliest pts)."""
    vtb, vp = tracks["video"]
    atb, ap = tracks["audio"]
    return ap[0][0] * atb - min(p[1] for p in vp[:8]) * vtb


def end_gap(tracks, upto):
    """Audio end minus video end (seconds) of the export's samples before index upto."""
    vtb, vp = tracks["video"]
    atb, ap = tracks["audio"]
    a = ap[upto["audio"] - 1]
    v_end = max(p[1] + p[2] for p in vp[max(0, upto["video"] - 8):upto["video"]])
    return (a[0] + a[2]) * atb - v_end * vtb


def export(h, start_ms, end_ms):
    status, _, raw = h.request("POST", "/api/v1/exports",
                               {"camera": "cam", "start": start_ms, "end": end_ms})
    job = json.loads(raw)
    assert status == 202, job

    def finished():
        e = h.get_json(f"/api/v1/exports/{job['id']}")[1]
        return e if e["state"] not in ("queued", "running") else None
    done = wait_until(finished, 90, "the export")
    assert done["state"] == "done", done
    status, _, data = h.request("GET", done["file_url"], timeout=30)
    assert status == 200
    return data


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_an_export_over_many_joins_keeps_every_sample_and_av_sync(
        codec, camsim_factory, horus_factory, tmp_path):
    require_tool("ffprobe")
    args = ["--audio", "--fps", str(FPS)] + (["--codec", "h265"] if codec == "h265" else [])
    port = free_port()
    sim = camsim_factory(args=args, port=port, name="sim1")
    h = horus_factory(f"cameras:\n  - id: cam\n    url: \"rtsp://127.0.0.1:{port}/cam1\"\n"
                      "    record:\n      segment_seconds: 4\n")
    rows = lambda: recording_rows(h, camera="cam")  # noqa: E731
    wait_until(lambda: len(rows()) >= 4, 60, "four segments")
    # A reconnect gap: the camera goes away and comes back on the same address.
    sim.stop()
    time.sleep(2)
    n_before = len(rows())
    sim = camsim_factory(args=args, port=port, name="sim2")
    wait_until(lambda: len(rows()) >= n_before + 4, 90, "four more segments")
    recs = rows()
    assert any(b["start_us"] > a["end_us"] for a, b in zip(recs, recs[1:])), "no gap"

    # Every indexed row, whole: the export ends where the last row ends.
    data = export(h, recs[0]["start_us"] // 1000, recs[-1]["end_us"] // 1000)
    path = tmp_path / "export.mp4"
    path.write_bytes(data)
    out = packets(path)
    sources = [packets(h.data / r["path"]) for r in recs]
    # Samples in range: the last row's samples that start before its end (its audio may
    # run on a little past the last video frame).
    last = sources[-1]
    span = Fraction(recs[-1]["end_us"] - recs[-1]["start_us"], 1_000_000)
    for kind in last:
        tb, pk = last[kind]
        last[kind] = (tb, [p for p in pk if (p[0] - pk[0][0]) * tb < span])

    for kind, nominal in (("video", Fraction(1, FPS)), ("audio", AAC_FRAME)):
        tb, pk = out[kind]
        # Every recorded sample, once: nothing inserted, nothing dropped or repeated.
        counts = [len(s.get(kind, (0, []))[1]) for s in sources]
        assert len(pk) == sum(counts), (kind, len(pk), counts)
        # No sample shortened at a join (the bug: a 1-tick last sample per file).
        short = [(i, p) for i, p in enumerate(pk) if p[2] * tb < nominal / 2]
        assert not short, (kind, short[:5], counts)

    # A/V sync. Each track's clock in the files is its own (the ingest starts every track
    # of a session at 0), so the truth at a join is the file's own offset between its first
    # audio and first video sample: within a session, the export must keep it, give or
    # take one video frame, at every file (before the fix audio lost 21 ms per join). After
    # a reconnect gap both tracks resume together: the offset at the new file's start stays
    # within one frame of the offset at the previous file's end.
    first = {k: 0 for k in ("video", "audio")}
    drift, session_base, report = [], None, []
    for i, src in enumerate(sources):
        if not all(src.get(k, (0, []))[1] for k in first):
            for k in first:  # a file too short to hold both tracks: no offset of its own
                first[k] += len(src.get(k, (0, []))[1])
            continue
        view = {k: (out[k][0], out[k][1][first[k]:]) for k in first}
        d = start_gap(view) - start_gap(src)
        if i > 0 and recs[i]["start_us"] > recs[i - 1]["end_us"]:
            prev_end = end_gap(out, first)
            assert abs(start_gap(view) - prev_end) <= Fraction(1, FPS), (
                i, float(start_gap(view)), float(prev_end))
            session_base = None
        if session_base is None:
            session_base = d
        drift.append(d - session_base)
        report.append(round(float(d - session_base) * 1000, 1))
        for k in first:
            first[k] += len(src[k][1])
    assert all(abs(d) <= Fraction(1, FPS) for d in drift), f"A/V drift per file, ms: {report}"

    # A range that starts and ends inside files: the cut at the keyframe before the start
    # and the end inside the last file give no short sample either (the last samples end
    # where the next ones, past the end, begin).
    mid = export(h, (recs[1]["start_us"] + 1_500_000) // 1000,
                 (recs[-2]["end_us"] - 1_300_000) // 1000)
    path = tmp_path / "mid.mp4"
    path.write_bytes(mid)
    out = packets(path)
    for kind, nominal in (("video", Fraction(1, FPS)), ("audio", AAC_FRAME)):
        tb, pk = out[kind]
        short = [(i, p) for i, p in enumerate(pk) if p[2] * tb < nominal / 2]
        assert not short, (kind, short[:5], len(pk))
