"""horus-camsim against real clients: ffprobe/ffmpeg for streams and
decoding, a small raw RTSP client for what ffmpeg cannot show (faults,
transports, channels). Pictures are small so the file runs in about a
minute on two cores.
"""
import hashlib
import json
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import CAMSIM_BIN, require_tool, wait_until

SMALL = ["--size", "320x240", "--fps", "15"]


def ffprobe_streams(url, timeout=20):
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                          "-show_streams", "-of", "json", url],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["streams"]


def ffprobe_pict_types(url, frames=30):
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                          "-select_streams", "v", "-show_frames", "-read_intervals",
                          f"%+#{frames}", "-show_entries", "frame=pict_type", "-of", "csv=p=0",
                          url], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [line.strip().strip(",") for line in out.stdout.splitlines() if line.strip()]


def ffmpeg_decode(url, seconds=3, extra=()):
    """Decodes seconds of url; returns (returncode, stderr, frames decoded)."""
    out = subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error", "-rtsp_transport",
                          "tcp", *extra, "-i", url, "-t", str(seconds), "-f", "null", "-",
                          "-progress", "pipe:1"],
                         capture_output=True, text=True, timeout=seconds + 30)
    frames = [int(m) for m in re.findall(r"^frame=(\d+)", out.stdout, re.M)]
    return out.returncode, out.stderr, (frames[-1] if frames else 0)


class RtspClient:
    """Just enough RTSP over TCP to drive the server by hand."""

    def __init__(self, port, path="/cam1", timeout=5.0, rcvbuf=None):
        self.base = f"rtsp://127.0.0.1:{port}{path}"
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.cseq = 0
        self.buf = b""
        self.session = None

    def request(self, method, url=None, headers=None):
        self.cseq += 1
        lines = [f"{method} {url or self.base} RTSP/1.0", f"CSeq: {self.cseq}"]
        if self.session:
            lines.append(f"Session: {self.session}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return self.read_reply()

    def read_reply(self):
        """Returns (status, headers, body), skipping interleaved media before it."""
        while True:
            while self.buf.startswith(b"$"):
                if len(self.buf) < 4:
                    break
                n = 4 + int.from_bytes(self.buf[2:4], "big")
                if len(self.buf) < n:
                    break
                self.buf = self.buf[n:]
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0 and not self.buf.startswith(b"$"):
                head = self.buf[:end].decode()
                lines = head.split("\r\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", 0))
                if len(self.buf) >= end + 4 + n:
                    body = self.buf[end + 4:end + 4 + n].decode()
                    self.buf = self.buf[end + 4 + n:]
                    status = int(lines[0].split()[1])
                    if "session" in headers:
                        self.session = headers["session"].split(";")[0]
                    return status, headers, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def play(self, interleaved=(0, 1)):
        status, _, _ = self.request("DESCRIBE", headers={"Accept": "application/sdp"})
        assert status == 200
        status, headers, _ = self.request(
            "SETUP", f"{self.base}/trackID=0",
            {"Transport": f"RTP/AVP/TCP;unicast;interleaved={interleaved[0]}-{interleaved[1]}"})
        assert status == 200, status
        status, headers, _ = self.request("PLAY", f"{self.base}/")
        assert status == 200
        return headers

    def read_packets(self, seconds):
        """Reads interleaved packets for up to seconds; returns [(channel, payload)]."""
        packets = []
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            while len(self.buf) >= 4 and self.buf[0:1] == b"$":
                n = 4 + int.from_bytes(self.buf[2:4], "big")
                if len(self.buf) < n:
                    break
                packets.append((self.buf[1], self.buf[4:n]))
                self.buf = self.buf[n:]
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        return packets

    def close(self):
        self.sock.close()


def test_help_documents_every_option_and_fault():
    out = subprocess.run([CAMSIM_BIN, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    for word in ["--listen", "--source", "--pattern", "--paths", "--fps", "--size", "--bitrate",
                 "--gop", "--codec", "--bframes", "--audio", "--auth", "--loop",
                 "drop:N", "stall:N", "refuse", "flood:F", "SIGTERM", "--write", "--pacing",
                 "--jitter"]:
        assert word in out.stdout, word


@pytest.mark.parametrize("args, word", [
    (["--bogus"], "--bogus"),
    (["--fps", "0"], "--fps"),
    (["--fps"], "--fps"),
    (["--size", "321x240"], "--size"),
    (["--codec", "vp8"], "--codec"),
    (["--fault", "drop:soon"], "--fault"),
    (["--fault", "explode"], "--fault"),
    (["--fault", "flood:1"], "--fault flood"),
    (["--fault", "flood:10"], "--fault flood"),  # a live encoder cannot run fast
    (["--auth", "nocolon"], "--auth"),
    (["--listen", "127.0.0.1"], "--listen"),
    (["--source", "x.mp4", "--size", "320x240"], "--size"),
    (["--write", "datagram"], "--write"),
    (["--pacing", "spread"], "--write packet"),
    (["--write", "packet", "--jitter", "5000"], "--jitter"),
])
def test_bad_flags_exit_2_with_a_message(args, word):
    out = subprocess.run([CAMSIM_BIN, *args], capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert word in out.stderr


def test_every_path_serves_h264_with_size_and_fps(camsim_factory):
    cam = camsim_factory(args=SMALL, paths=4)
    for n in range(1, 5):
        streams = ffprobe_streams(cam.url(n))
        assert len(streams) == 1
        v = streams[0]
        assert (v["codec_name"], v["width"], v["height"]) == ("h264", 320, 240)
        assert v["r_frame_rate"] == "15/1"
    bad = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                          cam.url(5)], capture_output=True, text=True, timeout=20)
    assert bad.returncode != 0 and "404" in bad.stderr


def test_frames_decode_without_errors_and_in_real_time(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--audio"])
    rc, err, frames = ffmpeg_decode(cam.url(), seconds=3)
    assert rc == 0 and err.strip() == "", err
    assert frames >= 40  # 3 s at 15 fps, less the first keyframe's wait


def test_picture_moves(camsim_factory):
    cam = camsim_factory(args=SMALL)
    out = subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error", "-rtsp_transport",
                          "tcp", "-i", cam.url(), "-vf", r"select=not(mod(n\,10))",
                          "-fps_mode", "passthrough", "-frames:v", "2", "-f", "rawvideo",
                          "-pix_fmt", "gray", "-"], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    size = 320 * 240
    assert len(out.stdout) == 2 * size
    a, b = out.stdout[:size], out.stdout[size:]
    changed = sum(1 for i in range(0, size, 7) if abs(a[i] - b[i]) > 30)
    assert changed > 100  # the ball and the clock moved


def test_bframes_are_off_by_default_and_on_with_the_flag(camsim_factory):
    plain = camsim_factory(args=SMALL)
    assert "B" not in ffprobe_pict_types(plain.url())
    with_b = camsim_factory(args=SMALL + ["--bframes"])
    assert ffprobe_streams(with_b.url())[0]["has_b_frames"] > 0
    assert "B" in ffprobe_pict_types(with_b.url())


def test_h265_with_bframes_decodes(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--codec", "h265", "--bframes"])
    v = ffprobe_streams(cam.url())[0]
    assert (v["codec_name"], v["width"], v["height"]) == ("hevc", 320, 240)
    assert "B" in ffprobe_pict_types(cam.url())
    rc, err, frames = ffmpeg_decode(cam.url(), seconds=2)
    assert rc == 0 and err.strip() == "", err
    assert frames >= 20


def test_audio_adds_an_aac_stream(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--audio"])
    streams = ffprobe_streams(cam.url())
    kinds = {s["codec_type"]: s for s in streams}
    assert kinds["video"]["codec_name"] == "h264"
    assert kinds["audio"]["codec_name"] == "aac"
    assert int(kinds["audio"]["sample_rate"]) == 48000


def test_loop_mode_serves_and_keeps_time_across_loops(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--loop", "1", "--bframes"])
    rc, err, frames = ffmpeg_decode(cam.url(), seconds=3)
    assert rc == 0 and err.strip() == "", err
    assert frames >= 40


def test_source_file_is_looped_without_errors(camsim_factory, tmp_path):
    clip = tmp_path / "clip.mp4"
    subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=s=320x240:r=25", "-f", "lavfi", "-i", "sine=f=440:r=48000",
                    "-t", "1.2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
                    "-bf", "2", "-c:a", "aac", "-shortest", str(clip)], check=True, timeout=60)
    cam = camsim_factory(args=["--source", str(clip), "--audio"])
    streams = {s["codec_type"]: s for s in ffprobe_streams(cam.url())}
    assert streams["video"]["width"] == 320 and streams["audio"]["codec_name"] == "aac"
    rc, err, frames = ffmpeg_decode(cam.url(), seconds=3)
    assert rc == 0 and err.strip() == "", err
    assert frames >= 60  # three loops of a 1.2 s clip at 25 fps, no stop at the end


def test_digest_auth_accepts_right_and_rejects_wrong_credentials(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--auth", "alice:s3cret"])
    good = cam.url().replace("rtsp://", "rtsp://alice:s3cret@")
    assert ffprobe_streams(good)[0]["codec_name"] == "h264"
    for url in [cam.url(), cam.url().replace("rtsp://", "rtsp://alice:wrong@")]:
        out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                              url], capture_output=True, text=True, timeout=20)
        assert out.returncode != 0 and "401" in out.stderr
    client = RtspClient(cam.port)
    status, headers, _ = client.request("DESCRIBE")
    assert status == 401
    assert headers["www-authenticate"].startswith('Digest realm="horus-camsim", nonce="')
    client.close()


def digest_response(user, password, realm, nonce, method, uri):
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    return hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()


def test_digest_auth_by_hand_with_qop(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--auth", "bob:pw"])
    client = RtspClient(cam.port)
    _, headers, _ = client.request("DESCRIBE")
    nonce = re.search(r'nonce="([^"]+)"', headers["www-authenticate"]).group(1)
    uri = client.base
    ha1 = hashlib.md5("bob:horus-camsim:pw".encode()).hexdigest()
    ha2 = hashlib.md5(f"DESCRIBE:{uri}".encode()).hexdigest()
    resp = hashlib.md5(f"{ha1}:{nonce}:00000001:abcd:auth:{ha2}".encode()).hexdigest()
    auth = (f'Digest username="bob", realm="horus-camsim", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}", qop=auth, nc=00000001, cnonce="abcd"')
    status, _, body = client.request("DESCRIBE", headers={"Authorization": auth})
    assert status == 200 and "sprop-parameter-sets=" in body
    bad = auth.replace(resp, digest_response("bob", "nope", "horus-camsim", nonce, "DESCRIBE",
                                             uri))
    status, _, _ = client.request("DESCRIBE", headers={"Authorization": bad})
    assert status == 401
    client.close()


def test_sdp_and_rtp_info_describe_the_stream(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--audio"])
    client = RtspClient(cam.port)
    status, headers, sdp = client.request("DESCRIBE")
    assert status == 200 and headers["content-base"] == client.base + "/"
    assert "sprop-parameter-sets=" in sdp and "packetization-mode=1" in sdp
    assert "MPEG4-GENERIC/48000/1" in sdp and "config=" in sdp
    play = client.play()
    m = re.search(r"trackID=0;seq=(\d+);rtptime=(\d+)", play["rtp-info"])
    assert m, play
    packets = client.read_packets(1.0)
    rtp = [p for ch, p in packets if ch == 0]
    assert rtp, "no RTP on channel 0"
    first = rtp[0]
    assert int.from_bytes(first[2:4], "big") == int(m.group(1))
    assert int.from_bytes(first[4:8], "big") == int(m.group(2))
    nal_type = first[12] & 0x1F
    assert nal_type in (7, 28)  # the GOP starts with its SPS (or a fragment of a big NAL)
    client.close()


class UdpReceiver:
    """An RTP/RTCP client port pair, as a UDP RTSP client binds it."""

    def __init__(self):
        for _ in range(50):
            self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.rtp.bind(("127.0.0.1", 0))
            port = self.rtp.getsockname()[1]
            self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self.rtcp.bind(("127.0.0.1", port + 1))
                self.port = port
                return
            except OSError:
                self.rtp.close()
                self.rtcp.close()
        raise RuntimeError("no free UDP port pair")

    def read(self, sock, seconds):
        """Returns [(source port, datagram)] received on sock within seconds."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, addr = sock.recvfrom(65536)
            except socket.timeout:
                break
            out.append((addr[1], data))
        return out

    def close(self):
        self.rtp.close()
        self.rtcp.close()


def setup_udp(client, rx, track=0):
    status, headers, _ = client.request(
        "SETUP", f"{client.base}/trackID={track}",
        {"Transport": f"RTP/AVP;unicast;client_port={rx.port}-{rx.port + 1}"})
    return status, headers


def test_udp_setup_gets_a_server_port_pair_and_rtp_datagrams(camsim_factory):
    cam = camsim_factory(args=SMALL)
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    status, headers = setup_udp(client, rx)
    assert status == 200
    transport = headers["transport"]
    assert transport.startswith("RTP/AVP;unicast;")
    assert f"client_port={rx.port}-{rx.port + 1}" in transport
    m = re.search(r"server_port=(\d+)-(\d+)", transport)
    assert m and int(m.group(2)) == int(m.group(1)) + 1 and int(m.group(1)) % 2 == 0, transport
    server_rtp = int(m.group(1))
    status, _, _ = client.request("PLAY", f"{client.base}/")
    assert status == 200
    packets = rx.read(rx.rtp, 3.0)
    assert len(packets) > 20
    assert {port for port, _ in packets} == {server_rtp}  # sent from the announced port
    # Datagrams are bare RTP (no interleaved header), numbered without holes, and the client
    # joins at a keyframe: the first packet carries the SPS (or a fragment of a big NAL).
    assert all(d[0] >> 6 == 2 and d[1] & 0x7F == 96 for _, d in packets)
    seqs = [int.from_bytes(d[2:4], "big") for _, d in packets]
    assert all(b == (a + 1) & 0xFFFF for a, b in zip(seqs, seqs[1:]))
    assert packets[0][1][12] & 0x1F in (7, 28)
    # Nothing goes over the TCP connection but the replies.
    assert client.read_packets(0.5) == []
    # TEARDOWN stops the flow (and closes the connection).
    status, _, _ = client.request("TEARDOWN", f"{client.base}/")
    assert status == 200
    rx.read(rx.rtp, 0.3)
    assert rx.read(rx.rtp, 1.0) == []
    client.close()
    rx.close()


def test_udp_clients_get_sender_reports_on_the_rtcp_port(camsim_factory):
    cam = camsim_factory(args=SMALL)
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    status, headers = setup_udp(client, rx)
    assert status == 200
    server_rtcp = int(re.search(r"server_port=\d+-(\d+)", headers["transport"]).group(1))
    client.request("PLAY", f"{client.base}/")
    rtcp = rx.read(rx.rtcp, 6.5)  # one report every 5 s
    assert rtcp, "no sender report"
    port, sr = rtcp[0]
    assert port == server_rtcp and sr[1] == 200  # RTCP SR
    client.close()
    rx.close()


def test_closing_the_connection_stops_udp_media(camsim_factory):
    cam = camsim_factory(args=SMALL)
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    assert setup_udp(client, rx)[0] == 200
    client.request("PLAY", f"{client.base}/")
    assert len(rx.read(rx.rtp, 2.5)) > 5
    client.close()
    rx.read(rx.rtp, 0.3)
    assert rx.read(rx.rtp, 1.0) == []
    rx.close()


def test_multicast_only_setup_is_answered_461(camsim_factory):
    cam = camsim_factory(args=SMALL)
    client = RtspClient(cam.port)
    client.request("DESCRIBE")
    status, _, _ = client.request("SETUP", f"{client.base}/trackID=0",
                                  {"Transport": "RTP/AVP;multicast;port=5000-5001"})
    assert status == 461
    client.close()


def test_first_offered_transport_wins(camsim_factory):
    cam = camsim_factory(args=SMALL)
    rx = UdpReceiver()
    for offer, want in ((f"RTP/AVP;unicast;client_port={rx.port}-{rx.port + 1},"
                         "RTP/AVP/TCP;unicast;interleaved=0-1", "RTP/AVP;"),
                        (f"RTP/AVP/TCP;unicast;interleaved=0-1,"
                         f"RTP/AVP;unicast;client_port={rx.port}-{rx.port + 1}", "RTP/AVP/TCP;")):
        client = RtspClient(cam.port)
        client.request("DESCRIBE")
        status, headers, _ = client.request("SETUP", f"{client.base}/trackID=0",
                                            {"Transport": offer})
        assert status == 200 and headers["transport"].startswith(want), headers
        client.close()
    rx.close()


def test_ffprobe_and_ffmpeg_read_h264_and_aac_over_udp(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--audio"])
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "udp",
                          "-show_streams", "-of", "json", cam.url()],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    streams = {s["codec_type"]: s for s in json.loads(out.stdout)["streams"]}
    video = streams["video"]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 240)
    assert video["avg_frame_rate"] == "15/1"
    assert streams["audio"]["codec_name"] == "aac"
    # Video only: ffmpeg re-bases audio on the first sender report, over TCP as well, and
    # warns about the dts step that makes in its null muxer.
    rc, err, frames = ffmpeg_decode(cam.url(), seconds=3,
                                    extra=("-rtsp_transport", "udp", "-allowed_media_types",
                                           "video"))
    assert rc == 0 and err.strip() == "", err
    assert frames >= 40  # 3 s of 15 fps, joining at the next keyframe
    time.sleep(0.3)
    assert re.search(r"UDP \d+ packets sent, 0 dropped", cam.proc.output())


def test_stall_fault_stops_udp_media(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--fault", "stall:3"])
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    assert setup_udp(client, rx)[0] == 200
    client.request("PLAY", f"{client.base}/")
    assert len(rx.read(rx.rtp, 2.5)) > 5  # from the next keyframe, up to a second away
    rx.read(rx.rtp, 1.0)  # the stall starts at 3 s
    assert rx.read(rx.rtp, 2.0) == []
    status, _, _ = client.request("GET_PARAMETER", f"{client.base}/")
    assert status == 200
    client.close()
    rx.close()


def test_drop_fault_ends_udp_sessions_too(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--fault", "drop:4"])
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    assert setup_udp(client, rx)[0] == 200
    client.request("PLAY", f"{client.base}/")
    assert len(rx.read(rx.rtp, 2.5)) > 5  # from the next keyframe, up to a second away
    with pytest.raises(ConnectionError):
        client.read_packets(6)
    rx.read(rx.rtp, 0.3)
    assert rx.read(rx.rtp, 1.0) == []
    client.close()
    rx.close()


def test_custom_interleaved_channels_are_honoured(camsim_factory):
    cam = camsim_factory(args=SMALL)
    client = RtspClient(cam.port)
    client.play(interleaved=(6, 7))
    channels = {ch for ch, _ in client.read_packets(1.0)}
    assert 6 in channels and channels <= {6, 7}
    client.close()


def test_slow_client_is_dropped_to_the_next_keyframe(camsim_factory):
    # 5 MB/s of CBR filler; a client that stops reading overflows its bounded queue.
    cam = camsim_factory(args=["--size", "320x240", "--fps", "15", "--bitrate", "40000",
                               "--gop", "5"])
    client = RtspClient(cam.port, rcvbuf=65536)
    client.play()
    time.sleep(6)
    packets = [p for ch, p in client.read_packets(3.0) if ch == 0]
    seqs = [int.from_bytes(p[2:4], "big") for p in packets]
    gaps = [i for i in range(1, len(seqs)) if seqs[i] != (seqs[i - 1] + 1) & 0xFFFF]
    assert gaps, "the server never dropped for the slow client"
    for i in gaps:
        assert packets[i][12] & 0x1F == 7  # resumes with the SPS of a keyframe
    client.close()
    time.sleep(0.3)
    dropped = re.findall(r"dropped (\d+) frames", cam.proc.output())
    assert any(int(n) > 0 for n in dropped)


def test_drop_fault_closes_connections_after_n_seconds(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--fault", "drop:2"])
    client = RtspClient(cam.port)
    start = time.monotonic()
    client.play()
    with pytest.raises(ConnectionError):
        client.read_packets(8)
    assert 1.5 < time.monotonic() - start < 3.5
    client.close()
    # ffmpeg sees the end of the stream too, and a new connection is served.
    t0 = time.monotonic()
    subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "quiet", "-rtsp_transport", "tcp",
                    "-i", cam.url(), "-f", "null", "-"], timeout=20)
    assert time.monotonic() - t0 < 6


def test_stall_fault_stops_media_but_keeps_the_socket(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--fault", "stall:2"])
    client = RtspClient(cam.port)
    client.play()
    assert len(client.read_packets(1.5)) > 10
    client.read_packets(1.0)  # the stall starts at 2 s; drain what was queued
    assert client.read_packets(2.0) == []
    status, _, _ = client.request("GET_PARAMETER", f"{client.base}/")
    assert status == 200
    client.close()


def test_refuse_fault_resets_connections(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--fault", "refuse"])
    # The reset may land before connect() returns (it is non-blocking with a timeout), or on
    # the first read: either way no RTSP reply ever arrives.
    try:
        with socket.create_connection(("127.0.0.1", cam.port), timeout=5) as s:
            s.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            data = s.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        data = b""
    assert data == b""
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-rtsp_transport", "tcp",
                          cam.url()], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0


def test_bad_request_gets_400_and_close(camsim_factory):
    cam = camsim_factory(args=SMALL)
    with socket.create_connection(("127.0.0.1", cam.port), timeout=5) as s:
        s.sendall(b"HELLO\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"RTSP/1.0 400 ")


def test_sigterm_exits_0_quickly_with_clients_playing(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--audio"])
    client = RtspClient(cam.port)
    client.play()
    client.read_packets(0.5)
    cam.proc.signal(signal.SIGTERM)
    t0 = time.monotonic()
    assert cam.proc.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 2
    client.close()


def test_flood_fault_sends_media_faster_than_real_time(camsim_factory):
    cam = camsim_factory(args=SMALL + ["--loop", "2", "--fault", "flood:10"])
    client = RtspClient(cam.port)
    client.play()
    client.read_packets(0.5)  # past the first GOP, sent at once
    start = time.monotonic()
    packets = client.read_packets(2.0)
    elapsed = time.monotonic() - start
    stamps = [int.from_bytes(p[4:8], "big") for ch, p in packets if ch == 0]
    client.close()
    media_s = ((stamps[-1] - stamps[0]) % 2**32) / 90000
    # Ten seconds of media a second, less what a loaded machine lets through.
    assert media_s > 6 * elapsed, (media_s, elapsed)


# --write packet (issue 14, item 5): one send call per RTP packet, as cameras
# do, optionally spread over the frame interval with per-frame jitter.
PACKETED = ["--size", "320x240", "--fps", "15", "--bitrate", "2000", "--loop", "2"]


def send_summary(cam):
    """(calls, packets) from the line camsim prints when it exits on SIGTERM."""
    assert cam.stop() == 0
    m = re.search(r"sends: (\d+) calls, (\d+) RTP packets", cam.proc.output())
    assert m, cam.proc.output()[-2000:]
    return int(m.group(1)), int(m.group(2))


def frame_spans_ms(client, seconds):
    """Arrival spread (first to last packet, ms) of each multi-packet video frame,
    each packet timed when the recv that completed it returned."""
    arrivals = {}
    deadline = time.monotonic() + seconds
    client.sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = client.sock.recv(65536)
        except socket.timeout:
            continue
        assert chunk, "server closed the connection"
        now = time.monotonic()
        client.buf += chunk
        while len(client.buf) >= 4 and client.buf[0:1] == b"$":
            n = 4 + int.from_bytes(client.buf[2:4], "big")
            if len(client.buf) < n:
                break
            if client.buf[1] == 0 and n >= 16:
                arrivals.setdefault(client.buf[8:12], []).append(now)
            client.buf = client.buf[n:]
    return sorted((t[-1] - t[0]) * 1000 for t in arrivals.values() if len(t) >= 4)


def test_write_packet_makes_one_send_per_packet_and_spreads_them(camsim_factory):
    calls = {}
    for mode in (["frame"], ["packet", "--pacing", "spread", "--jitter", "20"]):
        cam = camsim_factory(args=PACKETED + ["--write", *mode])
        client = RtspClient(cam.port)
        client.play()
        spans = frame_spans_ms(client, 2.0)
        client.close()
        calls[mode[0]] = send_summary(cam)
        if mode[0] == "packet":
            # Half of the 66.7 ms frame interval, less one packet's slot; the
            # connect-time GOP burst is not paced, so look at the median.
            assert spans and spans[len(spans) // 2] > 10, spans
    frame_calls, frame_packets = calls["frame"]
    packet_calls, packet_packets = calls["packet"]
    assert frame_packets > 100 and packet_packets > 100, calls
    # Frame mode writes many packets per call; packet mode one each, plus the replies and,
    # on a loaded machine, the rest of a packet that the socket took only in part.
    assert frame_calls * 4 < frame_packets, calls
    assert packet_packets <= packet_calls <= packet_packets + 10 + packet_packets // 20, calls


def assert_contiguous_with_every_frame(h, done):
    """The files follow each other within a frame and each closed one holds every picture
    of its indexed span (15 fps), decoding without a message."""
    for a, b in zip(done, done[1:]):
        assert abs(b["start_us"] - a["end_us"]) <= 70_000, (a, b)  # contiguous within a frame
    for r in done[:-1]:
        out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-count_frames",
                              "-select_streams", "v", "-show_entries", "stream=nb_read_frames",
                              "-of", "csv=p=0", str(h.data / r["path"])],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and out.stderr == "", out.stderr
        expected = 15 * (r["end_us"] - r["start_us"]) / 1e6
        assert abs(int(out.stdout.strip().strip(",")) - expected) <= 2, (r, out.stdout)


def test_paced_udp_spreads_each_frame_s_datagrams(camsim_factory):
    """--pacing spread holds over UDP too: a frame's datagrams leave over the interval, one
    send each, instead of in one sendmmsg the moment the frame is encoded."""
    cam = camsim_factory(args=PACKETED + ["--write", "packet", "--pacing", "spread"])
    client = RtspClient(cam.port)
    rx = UdpReceiver()
    client.request("DESCRIBE")
    assert setup_udp(client, rx)[0] == 200
    assert client.request("PLAY", f"{client.base}/")[0] == 200
    arrivals = {}
    deadline = time.monotonic() + 2.5
    rx.rtp.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            data = rx.rtp.recv(65536)
        except socket.timeout:
            continue
        arrivals.setdefault(data[4:8], []).append(time.monotonic())
    client.close()
    rx.close()
    spans = sorted((t[-1] - t[0]) * 1000 for t in arrivals.values() if len(t) >= 4)
    # Half of the 66.7 ms frame interval, less one packet's slot (the median: a loaded
    # machine may send a late frame's packets together).
    assert len(spans) > 10 and spans[len(spans) // 2] > 10, spans
    calls, packets = send_summary(cam)
    assert packets > 100 and packets <= calls <= packets + 10, (calls, packets)


def test_horus_records_a_paced_jittery_packet_source_over_udp(camsim_factory, horus_factory):
    from test_record import rows
    sim = camsim_factory(args=PACKETED[:-2] + ["--write", "packet", "--pacing", "spread",
                                               "--jitter", "20"])
    h = horus_factory("cameras:\n"
                      f"  - id: cam\n    url: \"{sim.url()}\"\n    transport: udp\n"
                      "    record:\n      segment_seconds: 2\n")
    wait_until(lambda: len(rows(h)) >= 3, 30, "three files over UDP")
    _, doc = h.get_json("/api/v1/cameras/cam")
    assert (doc["status"]["transport"], doc["status"]["client"]) == ("udp", "native"), doc
    assert h.stop() == 0
    done = rows(h)
    assert_contiguous_with_every_frame(h, done)
    # The native client's receiver reports reached the camera's RTCP port.
    wait_until(lambda: re.search(r"RTCP receiver reports [1-9]\d* video", sim.proc.output()), 5,
               "camsim's count of our receiver reports")


def test_horus_records_a_paced_jittery_packet_source(camsim_factory, horus_factory):
    from test_record import rows
    sim = camsim_factory(args=PACKETED[:-2] + ["--write", "packet", "--pacing", "spread",
                                               "--jitter", "20"])
    assert [s["codec_name"] for s in ffprobe_streams(sim.url())] == ["h264"]
    h = horus_factory("cameras:\n"
                      f"  - id: cam\n    url: \"{sim.url()}\"\n"
                      "    record:\n      segment_seconds: 2\n")
    deadline = time.monotonic() + 30
    while len(rows(h)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert h.stop() == 0
    done = rows(h)
    assert len(done) >= 3, done
    assert_contiguous_with_every_frame(h, done)
