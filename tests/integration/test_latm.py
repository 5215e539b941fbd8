"""MP4A-LATM audio (RFC 6416, docs/design/0031): the native client records
it as an ordinary AAC track, and audio it cannot record (LATM with the
configuration in band) is named in the camera's status, logged once and
counted while video records on. camsim serves LATM as GStreamer's
rtpmp4apay does (--audio-payload latm)."""
import json
import subprocess

import pytest

from conftest import require_tool
from test_ingest_native import native_yaml
from test_record import rows, wait_until

SMALL = ["--size", "320x240", "--fps", "15"]


def audio_stream(path):
    ffprobe = require_tool("ffprobe")
    out = subprocess.run([ffprobe, "-v", "error", "-count_packets", "-select_streams", "a",
                          "-show_entries", "stream=codec_name,sample_rate,channels,"
                          "nb_read_packets", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    streams = json.loads(out.stdout)["streams"]
    return streams[0] if streams else None


@pytest.mark.parametrize("client", ["native", "libav"])
def test_latm_audio_is_recorded_as_aac(camsim_factory, horus_factory, client):
    # libavformat has its own LATM depacketiser; its extradata is the rest of the
    # StreamMuxConfig from the ASC on (trailing bits included), which decoders accept.
    sim = camsim_factory(args=[*SMALL, "--audio", "--audio-payload", "latm"])
    h = horus_factory(native_yaml([("cam", sim.url())]).replace("client: native",
                                                                 f"client: {client}"))
    wait_until(lambda: len(rows(h)) >= 4, 25, "four segments")
    status = h.get_json("/api/v1/cameras/cam")[1]["status"]
    assert status["audio_warning"] is None, status
    assert h.stop() == 0
    ffmpeg = require_tool("ffmpeg")
    for r in rows(h)[1:-1]:  # whole segments: the first and the one cut at stop are partial
        assert "mp4a.40.2" in r["codec"], r
        a = audio_stream(h.data / r["path"])
        duration = (r["end_us"] - r["start_us"]) / 1e6  # the index's; see issue 14
        assert a is not None, f"no audio track in {r['path']}"
        assert a["codec_name"] == "aac" and a["sample_rate"] == "48000" and a["channels"] == 1, a
        # 48000 / 1024 frames a second, every one of them there.
        want = duration * 48000 / 1024
        assert abs(int(a["nb_read_packets"]) - want) <= 3, (a, duration)
        out = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(h.data / r["path"]),
                              "-map", "0:a", "-f", "null", "-"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def test_latm_in_band_config_is_named_and_video_records(camsim_factory, horus_factory):
    sim = camsim_factory(args=[*SMALL, "--audio", "--audio-payload", "latm-inband"])
    h = horus_factory(native_yaml([("cam", sim.url())]))
    wait_until(lambda: len(rows(h)) >= 2, 20, "two video segments")

    def warning():
        return h.get_json("/api/v1/cameras/cam")[1]["status"]["audio_warning"]

    text = wait_until(warning, 10, "the audio warning")
    assert "MP4A-LATM/48000/1" in text and "cpresent=1" in text, text
    line = h.wait_for_log(lambda l: "audio not recorded" in l.get("msg", ""))
    assert line.get("camera") == "cam" and "cpresent=1" in line["msg"], line
    assert h.metric('horus_ingest_unsupported_media_total{camera="cam"') >= 1
    # Recording: a segment is open (waited for: a rotation leaves an instant with none).
    status = wait_until(lambda: (lambda st: st if st["state"] == "streaming" and st["recording"]
                                 else None)(h.get_json("/api/v1/cameras/cam")[1]["status"]),
                        10, "the camera streaming and recording")
    # A new session counts again but does not log again: once per camera.
    sim.stop()
    camsim_factory(args=[*SMALL, "--audio", "--audio-payload", "latm-inband"], port=sim.port,
                   name="camsim-again")
    wait_until(lambda: h.metric('horus_ingest_unsupported_media_total{camera="cam"') >= 2, 30,
               "a second session")
    for r in rows(h):
        assert "mp4a" not in r["codec"], r
    logged = [l for l in h.log_lines() if "audio not recorded" in l.get("msg", "")]
    assert len(logged) == 1, logged
