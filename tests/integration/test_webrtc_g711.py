"""A camera that sends G.711 (design 0080): horus-camsim with --audio-payload pcmu or pcma
(RFC 3551 payload types 0 / 8, 8 kHz), as many cameras send. Horus takes the track, passes it
as it came to WebRTC viewers (Debian's chromium: every browser offers PCMU and PCMA) and to the
RTSP re-stream (ffprobe, ffmpeg), and records the picture alone, saying once why: fMP4 has no
G.711 that browsers and players take."""
import json
import subprocess

from conftest import free_port, recording_rows, require_tool, wait_until
from test_webrtc import free_udp_port, player_result, start_player


def test_g711_sound_goes_to_webrtc_and_rtsp_as_it_came(camsim_factory, horus_factory, tmp_path):
    require_tool("ffprobe")
    mu = camsim_factory(args=["--size", "320x240", "--gop", "25", "--audio",
                              "--audio-payload", "pcmu"], name="mu")
    a = camsim_factory(args=["--size", "320x240", "--gop", "25", "--audio",
                             "--audio-payload", "pcma"], name="a")
    rtsp = free_port()
    h = horus_factory(f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
                      f"restream:\n  rtsp:\n    listen: 127.0.0.1:{rtsp}\n"
                      "cameras:\n"
                      f"  - id: mu\n    url: \"{mu.url(1)}\"\n"
                      "    record:\n      segment_seconds: 2\n"
                      f"  - id: a\n    url: \"{a.url(1)}\"\n")
    for cam in ("mu", "a"):
        wait_until(lambda: h.get_json(f"/api/v1/cameras/{cam}")[1]["status"]["state"] ==
                   "streaming", 30, f"{cam} streaming")

    # WebRTC: the browser gets the camera's own law, passed through (an Opus transcoder would
    # have answered opus), and hears the beep.
    for cam, codec in (("mu", "audio/PCMU"), ("a", "audio/PCMA")):
        r = player_result(start_player(h.url + f"/api/v1/cameras/{cam}/whep", 4, h.api_key), 4)
        assert r["status"] == 201 and not r["errors"], r
        assert r["frames"] >= 40, r
        au = r.get("audio") or {}
        assert au.get("codec") == codec, r
        assert au["packets"] >= 100 and au["samples"] >= 8000 and au["energy"] > 0, r

    # The RTSP re-stream: the same G.711, 8 kHz, that ffmpeg decodes to the camera's beep.
    url = f"rtsp://x:{h.api_key}@127.0.0.1:{rtsp}/mu"
    out = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams",
                          "-of", "json", url], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    audio = [s for s in json.loads(out.stdout)["streams"] if s["codec_type"] == "audio"]
    assert audio and audio[0]["codec_name"] == "pcm_mulaw" and audio[0]["sample_rate"] == "8000"
    raw = tmp_path / "mu.s16"
    out = subprocess.run(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-t", "2",
                          "-vn", "-f", "s16le", "-y", str(raw)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    pcm = raw.read_bytes()
    peak = max(abs(int.from_bytes(pcm[i:i + 2], "little", signed=True))
               for i in range(0, len(pcm) - 1, 2))
    assert len(pcm) >= 2 * 8000 and peak > 1000, (len(pcm), peak)

    # Recorded: the picture, without the G.711 it cannot hold; said once.
    rows = wait_until(lambda: recording_rows(h, camera="mu", stream="main"), 30, "a recording")
    st, _, body = h.request("GET", f"/api/v1/cameras/mu/recordings/main/{rows[0]['start_us']}.mp4")
    assert st == 200
    f = tmp_path / "rec.mp4"
    f.write_bytes(body)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(f)],
                         capture_output=True, text=True, timeout=30)
    kinds = [s["codec_type"] for s in json.loads(out.stdout)["streams"]]
    assert kinds == ["video"], kinds
    said = [l for l in h.log_lines() if "G.711 (PCMU): it is not recorded" in l.get("msg", "")]
    assert len(said) == 1, said
