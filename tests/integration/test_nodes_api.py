"""One API over many nodes (docs/design/0070-one-api.md), on a real PostgreSQL 15 with two
nodes that share the secrets key: any node answers the API; a live, WHEP or snapshot request
for a camera another node holds, and a recorded file another node wrote, are redirected (307)
to that node's node.url with the same path and query and a ?t= token, which the other node
accepts without the caller's key (a browser does not carry a header or cookie to another
origin). ffprobe plays the live stream through the redirect. Once the holder is offline, the
refusal names it."""
import http.client
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse

from conftest import free_port, psql, wait_until
from test_nodes import node_yaml, nodes
from test_postgres import new_db, pg  # noqa: F401 (the fixture)
from test_webrtc import free_udp_port
from test_webrtc_viewers import WHEPLOAD

KEY = "5a" * 32  # secrets.key: one for both nodes, as the multi-node set-up requires


def raw(url, method="GET", headers=None, body=None):
    """One request, redirects not followed: (status, headers, body)."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                  headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_media_requests_go_to_the_node_that_has_the_media(pg, camsim_factory,  # noqa: F811
                                                          horus_factory):
    _, server = pg
    url = new_db(server, "one_api")
    sim = camsim_factory()
    ports = {"east": free_port(), "west": free_port()}
    cams = (f'secrets:\n  key: "{KEY}"\nwebrtc:\n  udp_listen: "127.0.0.1:{{udp}}"\ncameras:\n  - id: cam\n    url: "{sim.url(1)}"\n'
            f"    record:\n      segment_seconds: 2\n    placement:\n      node: east\n")

    def start(name):
        text = node_yaml(url, name, cams.format(udp=free_udp_port())).replace(
            f"http://{name}.example:8080", f"http://127.0.0.1:{ports[name]}")
        return horus_factory(text, name=name, port=ports[name])

    east, west = start("east"), start("west")
    wait_until(lambda: nodes(west)["east"]["cameras"] == ["cam"], 15, "east holding cam")
    wait_until(lambda: len(list(east.data.rglob("*.mp4"))) >= 2, 20, "east recording")
    key = west.auth_headers()

    # Live: west has no media for cam; it redirects to east with a token, which east takes
    # without any key.
    path = "/api/v1/cameras/cam/live/index.m3u8?stream=main&legacy=1"
    status, h, body = raw(west.url + path, headers=key)
    assert status == 307, body
    loc = h["location"]
    assert loc.startswith(east.url + "/api/v1/cameras/cam/live/index.m3u8?stream=main&legacy=1&t=")
    assert json.loads(body)["node"] == "east"
    status, _, body = raw(loc)
    assert status == 200 and body.startswith(b"#EXTM3U"), body
    # A caller without credentials gets nothing from either node.
    assert raw(west.url + path)[0] == 401
    # A real player follows the redirect and plays east's parts.
    p = subprocess.run(["ffprobe", "-v", "error", *west.ffmpeg_headers(), "-show_entries",
                        "stream=codec_name", "-of", "csv=p=0", west.url + path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "h264" in p.stdout, p.stdout + p.stderr

    # The latest frame: the same.
    status, h, _ = raw(west.url + "/api/v1/cameras/cam/snapshot.jpg", headers=key)
    assert status == 307
    status, h2, body = raw(h["location"])
    assert status == 200 and h2["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8"

    # WHEP: the offer goes to east (307 keeps the method and body); a real viewer that
    # follows it gets east's media (west has none), with west's key sent to west only.
    wait_until(lambda: east.get_json("/api/v1/cameras/cam")[1]["status"]["webrtc"]["main"], 20,
               "east playable over WebRTC")
    p = subprocess.run([WHEPLOAD, "--url", f"{west.url}/api/v1/cameras/cam/whep", "--viewers",
                        "1", "--seconds", "3", "--decrypt"], capture_output=True, text=True,
                       timeout=60, env={**os.environ,
                                        "HORUS_TOKEN": key["Authorization"].split(" ", 1)[1]})
    assert p.returncode == 0, p.stderr + p.stdout
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["connected"] == 1 and r["packets"] > 0 and r["keyframes"] > 0 and not r["bad_auth"], r
    wait_until(lambda: east.metric("horus_webrtc_sessions") == 0, 10, "the session deleted")

    # Playback: west lists east's recordings from the shared index; each file redirects. (A
    # window wholly in the indexed past: one reaching the segment east writes goes to east.)
    status, _, body = raw(west.url + "/api/v1/cameras/cam/recordings", headers=key)
    spans = json.loads(body)["spans"] if status == 200 else None
    assert spans, body
    first = sorted(tuple(map(int, r.split("|"))) for r in psql(
        url, "SELECT start_us, end_us FROM recordings WHERE camera_id = 'cam'").split())[0]
    start_s, end_s = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000))
                      + f".{us // 1000 % 1000:03d}Z" for us in first)
    q = urllib.parse.urlencode({"start": start_s, "end": end_s})
    status, _, body = raw(west.url + f"/api/v1/cameras/cam/playback.m3u8?{q}", headers=key)
    assert status == 200, body
    uri = next(line for line in body.decode().splitlines()
               if line and not line.startswith("#") and ".mp4" in line)
    target = urllib.parse.urljoin(west.url + "/api/v1/cameras/cam/playback.m3u8", uri)
    status, h, _ = raw(target)  # the playlist's own ?t=: no key
    assert status == 307 and h["location"].startswith(east.url), h
    status, h2, body = raw(h["location"])
    assert status == 200 and h2["content-type"] == "video/mp4" and b"ftyp" in body[:32]

    # The recent past: the segment east is writing is indexed only when it closes, so west
    # sends a window that reaches it to east, which lists it (and serves its files).
    newest_end = max(int(r) for r in psql(url, "SELECT end_us FROM recordings WHERE"
                                               " camera_id = 'cam'").split())
    ago = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 6)) + ".000Z"
    recent = f"/api/v1/cameras/cam/playback.m3u8?start={urllib.parse.quote(ago)}"

    def listed_past_the_index():
        status, h, body = raw(west.url + recent, headers=key)
        assert status == 307 and h["location"].startswith(east.url + recent + "&t="), body
        status, _, body = raw(h["location"])
        assert status == 200 and b"#EXT-X-PLAYLIST-TYPE:EVENT" in body, body
        starts = [int(line.rsplit("/", 1)[1].split(".mp4")[0])
                  for line in body.decode().splitlines()
                  if line and not line.startswith("#") and ".mp4" in line]
        # The open file's first complete playback segment (keyframe to keyframe) is listed.
        return any(s >= newest_end - 1000 for s in starts)
    wait_until(listed_past_the_index, 10, "east listing the segment it writes")
    # A window wholly in the indexed past stays on west.
    assert raw(west.url + f"/api/v1/cameras/cam/playback.m3u8?{q}", headers=key)[0] == 200

    # A recorded frame: its file is on east, so the snapshot at that time redirects there.
    row_start = int(uri.rsplit("/", 1)[1].split(".mp4")[0])
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(row_start // 1_000_000 + 1)) + ".000Z"
    snap = f"/api/v1/cameras/cam/snapshot.jpg?ts={urllib.parse.quote(at)}"
    status, h, body = raw(west.url + snap, headers=key)
    assert status == 307 and h["location"].startswith(east.url + snap + "&t="), (status, h, body)
    status, h2, body = raw(h["location"])
    assert status == 200 and h2["content-type"] == "image/jpeg" and body[:2] == b"\xff\xd8", body

    # East gone (pinned there, cam moves nowhere): west names it instead of redirecting.
    os.killpg(east.proc.popen.pid, signal.SIGKILL)
    east.proc.popen.wait()
    wait_until(lambda: nodes(west)["east"]["state"] == "offline", 15, "east offline")
    status, _, body = raw(target)
    assert status == 503 and b"node 'east' has it, and that node is offline" in body, body
    assert re.search(rb"the file of recording|is not on this node", body)
    status, _, body = raw(west.url + snap, headers=key)
    assert status == 503 and b"not on this node: node 'east' has it, and that node is offline" \
        in body, body
