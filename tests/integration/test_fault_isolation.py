"""Issue 16, "one camera starves the others": a camera that sends media
faster than real time (horus-camsim --fault flood:F) beside three normal
cameras for 45 s. The flood must cost only its own data: the normal cameras
lose no packet (recorder and ingest drop counters stay at 0, their
recordings have no gap), the flood is refused at ingest and counted, and no
recording of the flooding camera is dated further ahead than
ingest.max_ahead.

Before the fix, on the 2-core CI machine, the single recorder thread still
kept up with the normal cameras, but the flooding camera wrote 2302 files
dated up to 1 h 16 min in the future (23042 files, 12.8 h ahead, at
flood:1000). The shared-queue starvation itself is shown deterministically
by test_recorder.c (a flooding camera fills and drops only its own queue).
ISO_FLOOD=F changes the factor."""
import os
import time

from conftest import recording_rows, wait_until

FLOOD = int(os.environ.get("ISO_FLOOD", "100"))  # media seconds per real second
RUN_S = 45
SMALL = ["--loop", "4", "--size", "160x120", "--bitrate", "100"]
NORMAL = ["a", "b", "c"]
MAX_AHEAD_S = 5  # ingest.max_ahead


def config(normal, flood):
    out = "cameras:\n"
    for i, cam in enumerate(NORMAL, start=1):
        out += (f"  - id: {cam}\n    url: \"{normal.url(i)}\"\n"
                f"    record:\n      segment_seconds: 4\n")
    out += (f"  - id: flood\n    url: \"{flood.url(1)}\"\n"
            f"    record:\n      segment_seconds: 2\n")
    return out


def counters(h, family):
    """{(camera, reason): value} of a counter family with camera and optional reason labels."""
    out = {}
    for labels, value in h.metric_samples(family):
        key = (labels.get("camera"), labels.get("reason", ""))
        out[key] = out.get(key, 0) + value
    return out


def dropped(h, camera):
    total = 0
    for family in ("horus_record_dropped_packets_total", "horus_ingest_rejected_packets_total"):
        total += sum(v for (cam, _), v in counters(h, family).items() if cam == camera)
    return total


def test_flooding_camera_loses_only_its_own_data(camsim_factory, horus_factory):
    normal = camsim_factory(args=SMALL, paths=3, name="normal")
    flood = camsim_factory(args=SMALL + ["--fault", f"flood:{FLOOD}"], name="flood")
    h = horus_factory(config(normal, flood))
    wait_until(lambda: h.get_json("/health")[1]["cameras"]["online"] == 4, 20, "4 online")
    t0 = time.time()
    time.sleep(RUN_S)
    drops = {cam: dropped(h, cam) for cam in NORMAL + ["flood"]}
    rejected = counters(h, "horus_ingest_rejected_packets_total")
    assert h.stop() == 0
    now_us = int(time.time() * 1e6)

    # The normal cameras lost nothing, anywhere on the way.
    for cam in NORMAL:
        assert drops[cam] == 0, (cam, drops)
    for cam in NORMAL:
        mine = recording_rows(h, cam, "main")
        assert mine, cam
        for prev, cur in zip(mine, mine[1:]):
            assert cur["start_us"] == prev["end_us"], (cam, prev, cur)
        covered = (mine[-1]["end_us"] - mine[0]["start_us"]) / 1e6
        assert covered >= RUN_S - 5, (cam, covered)

    # The flood was refused at ingest, counted with its reason, and logged.
    assert rejected.get(("flood", "ahead_of_wall_clock"), 0) > 0, rejected
    warned = [line for line in h.log_lines()
              if line.get("camera") == "flood" and "ahead of the wall clock" in line["msg"]]
    assert 1 <= len(warned) <= 2, warned  # once, then at most a summary a minute

    # Nothing the flooding camera recorded is dated in the future beyond the bound: media
    # at most max_ahead ahead of the wall clock when it arrived (the last burst may still be).
    floods = recording_rows(h, "flood", "main")
    assert floods, "the flooding camera recorded nothing at all"
    for r in floods:
        assert r["start_us"] <= now_us + MAX_AHEAD_S * 1e6, r
        # A row ends where its last sample ends: that sample starts within the bound and
        # lasts one frame interval (up to a second at the simulator's slowest settings).
        assert r["end_us"] <= now_us + (MAX_AHEAD_S + 1) * 1e6, r
        assert r["start_us"] >= t0 * 1e6 - 30e6, r
    # Its files were not multiplied by the flood: about one per max_ahead at most.
    assert len(floods) <= 2 * RUN_S, len(floods)
    on_disk = list((h.data / "recordings" / "flood").rglob("*.mp4"))
    assert len(on_disk) == len(floods)
