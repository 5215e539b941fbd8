"""Signed media URLs end to end (issue 9 item 7, docs/design/0021): playlists served
to a principal carry ?t= in every URI; players without headers (ffmpeg, hls.js in
Chromium) play a signed link; a link stops at its expiry (it never renews itself);
a token opens its camera, stream, kind and range only, and never a non-media route;
share links for live, playback, snapshots and exports; refusals are audited once;
a key rotation does not cut a playing viewer."""
import base64
import json
import re
import subprocess
import time
import urllib.parse

import pytest

from conftest import Horus, Camsim, recording_rows, require_tool, wait_until
from openapi_check import OpenApi
from test_browser import play

TTL_S = 10  # the configured minimum: links expire within the test
SEEN = set()  # every token the tests saw: none may reach the daemon's log


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media")
    (tmp / "sim").mkdir()
    (tmp / "horus").mkdir()
    sim = Camsim(tmp / "sim", args=["--size", "640x360", "--gop", "25"], paths=2)
    config = ("auth:\n  media_tokens:\n    ttl: 10s\n    rotate_interval: 1m\n"
              "cameras:\n"
              f"  - id: cam1\n    url: \"{sim.url(1)}\"\n    record:\n      segment_seconds: 4\n"
              f"  - id: cam2\n    url: \"{sim.url(2)}\"\n    record:\n      segment_seconds: 4\n")
    h = Horus(tmp / "horus", config)
    h.started = time.monotonic()
    h.spec = OpenApi(h.get_json("/api/v1/openapi.json")[1])
    for cam in ("cam1", "cam2"):
        wait_until(lambda: h.request("GET", f"/api/v1/cameras/{cam}/live/index.m3u8")[0] == 200,
                   20, f"{cam} live")
    yield h
    assert h.stop() == 0
    sim.stop()
    out = h.proc.output()
    assert "Sanitizer" not in out
    # Secrets never reach logs: the access log (on) names paths, never ?t=.
    assert "request completed" in out and SEEN
    leaked = [t for t in SEEN if t in out]
    assert not leaked, "media tokens in the log"


def get(h, path, headers=None):
    """GET without credentials unless headers carry them."""
    return h.request("GET", path, headers=headers, auth=bool(headers))


def share(h, path, body=None):
    status, headers, raw = h.request("POST", path, body if body is not None else {})
    tmpl = re.sub(r"/(cameras|exports)/[^/]+/", r"/\1/{id}/", path)
    h.spec.validate("POST", tmpl, status, headers["Content-Type"], raw)
    assert status == 200, raw
    link = json.loads(raw)
    SEEN.add(link["url"].rsplit("t=", 1)[1])
    return link


def tokens_in(text):
    found = set(re.findall(r"[?&]t=([A-Za-z0-9_-]+)", text))
    SEEN.update(found)
    return found


def uris(playlist):
    """Every URI a playlist lists: plain lines and URI="..." attributes."""
    out = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    out += re.findall(r'URI="([^"]+)"', playlist)
    return out


def key_id(token):
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return int.from_bytes(raw[1:5], "big")


def live_base(cam):
    return f"/api/v1/cameras/{cam}/live/"


def assert_401(h, path):
    status, headers, body = get(h, path)
    assert status == 401, (path, status, body[:200])
    assert json.loads(body)["error"]["code"] == "unauthenticated" or status == 401
    assert "t=" not in body.decode(), "a refusal never echoes the token"
    return json.loads(body)


def test_playlists_for_a_principal_sign_every_uri_and_renew(media):
    h = media
    status, _, body = h.request("GET", live_base("cam1") + "index.m3u8")
    assert status == 200
    text = body.decode()
    listed = uris(text)
    assert listed and all("t=" in u for u in listed), text
    (token,) = tokens_in(text)
    # Parts, init and segments open with the token alone.
    for u in listed[-3:] + [u for u in listed if "init" in u][:1]:
        status, _, _ = get(h, live_base("cam1") + u)
        assert status == 200, u
    # The multivariant playlist gives each variant its own token.
    status, _, body = h.request("GET", live_base("cam1") + "master.m3u8")
    assert status == 200 and all("t=" in u for u in uris(body.decode())), body
    # A principal's reload after the window (ttl / 5 = 2 s) gets a newer token.
    time.sleep(2.2)
    status, _, body = h.request("GET", live_base("cam1") + "index.m3u8")
    assert tokens_in(body.decode()) != {token}


def test_a_signed_live_url_plays_in_ffmpeg_without_headers(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live"})
    assert link["url"].startswith("/api/v1/cameras/cam1/live/master.m3u8?t=")
    out = subprocess.run([require_tool("ffprobe"), "-v", "error", "-select_streams", "v",
                          "-show_entries", "stream=codec_name,width,height", "-of", "json",
                          h.url + link["url"]], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["streams"][0]["width"] == 640
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live", "stream": "main"})
    assert "/live/index.m3u8?stream=main&t=" in link["url"]
    out = subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error", "-i",
                          h.url + link["url"], "-t", "3", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=40)
    assert out.returncode == 0 and "401" not in out.stderr, out.stderr


def test_a_signed_live_url_plays_in_hlsjs_without_headers(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live"})
    out = play(h.url + link["url"], 6, "")
    assert out["h264_mse"], "this chromium cannot decode H.264 through MSE"
    assert not out["fatal"], out["errors"]
    assert out["played_s"] >= 3, out
    assert (out["width"], out["height"]) == (640, 360)


def test_a_link_never_renews_itself_and_stops_at_its_expiry(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live", "stream": "main"})
    token = link["url"].rsplit("t=", 1)[1]
    expires = link["expires_at"]
    exp_s = time.mktime(time.strptime(expires[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert 0 < exp_s - time.time() <= TTL_S + 1
    status, _, body = get(h, link["url"])
    assert status == 200 and tokens_in(body.decode()) == {token}
    time.sleep(2.2)  # past a window: a principal would get a new token now
    status, _, body = get(h, link["url"])
    assert status == 200 and tokens_in(body.decode()) == {token}
    part = live_base("cam1") + uris(body.decode())[-1]
    # Past the expiry and its 5 s grace: playlist and media refused, nothing else said.
    time.sleep(max(0.0, exp_s + 6.5 - time.time()))
    err = assert_401(h, link["url"])
    assert set(err) == {"error"}
    assert_401(h, part)


def test_a_token_opens_only_its_camera_stream_and_kind(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live", "stream": "main"})
    token = link["url"].rsplit("t=", 1)[1]
    assert get(h, link["url"])[0] == 200
    # Camera A's token on camera B: refused, on the playlist and on its media.
    assert_401(h, f"{live_base('cam2')}index.m3u8?stream=main&t={token}")
    status, _, body = h.request("GET", live_base("cam2") + "index.m3u8")
    part = uris(body.decode())[-1].split("?")[0]
    assert_401(h, f"{live_base('cam2')}{part}?t={token}")
    # Another stream, another kind, an altered token.
    assert_401(h, f"{live_base('cam1')}index.m3u8?stream=sub&t={token}")
    assert_401(h, f"/api/v1/cameras/cam1/snapshot.jpg?t={token}")
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_401(h, f"{live_base('cam1')}index.m3u8?stream=main&t={altered}")
    assert_401(h, f"{live_base('cam1')}index.m3u8?stream=main&t=%00%ff")
    assert_401(h, f"{live_base('cam1')}index.m3u8?stream=main&t={'A' * 500}")


def test_a_token_never_opens_a_non_media_route(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live"})
    token = link["url"].rsplit("t=", 1)[1]
    for path in ("/api/v1/cameras", "/api/v1/cameras/cam1", "/api/v1/cameras/cam1/recordings",
                 "/api/v1/exports", "/api/v1/system", "/api/v1/auth/me"):
        status, _, body = get(h, f"{path}?t={token}")
        assert status == 401, (path, body)
    status, _, _ = h.request("POST", f"/api/v1/cameras/cam1/share?t={token}",
                             {"kind": "live"}, auth=False)
    assert status == 401
    status, _, _ = h.request("DELETE", f"/api/v1/cameras/cam1?t={token}", auth=False)
    assert status == 401
    assert h.request("GET", "/api/v1/cameras/cam1")[0] == 200


def recorded_range(h, cam="cam1"):
    rows = wait_until(lambda: len(recording_rows(h, cam, "main")) >= 2
                      and recording_rows(h, cam, "main"), 40, "two recorded segments")
    return rows[0]["start_us"] // 1000, rows[1]["end_us"] // 1000


def test_playback_plays_by_token(media):
    h = media
    start_ms, end_ms = recorded_range(h)
    link = share(h, "/api/v1/cameras/cam1/share",
                 {"kind": "playback", "start": start_ms, "end": end_ms})
    status, _, body = get(h, link["url"])
    assert status == 200, body
    text = body.decode()
    token = link["url"].rsplit("t=", 1)[1]
    assert tokens_in(text) == {token} and "#EXT-X-ENDLIST" in text
    out = subprocess.run([require_tool("ffmpeg"), "-nostdin", "-v", "error", "-i",
                          h.url + link["url"], "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    # Outside the signed range, or on another camera: refused.
    q = urllib.parse.urlencode({"stream": "main", "start": start_ms - 60000,
                                "end": end_ms, "t": token})
    assert_401(h, f"/api/v1/cameras/cam1/playback.m3u8?{q}")
    later = [r for r in recording_rows(h, "cam1", "main") if r["start_us"] > end_ms * 1000 + 1]
    if later:
        assert_401(h, f"/api/v1/cameras/cam1/recordings/main/{later[0]['start_us']}.mp4?t={token}")
    first = uris(text)[0].split("?")[0]
    assert_401(h, f"/api/v1/cameras/cam2/{first}?t={token}")
    # A playback token does not open live view.
    assert_401(h, f"{live_base('cam1')}index.m3u8?t={token}")


def test_snapshot_and_export_links_work_and_expire(media):
    h = media
    latest = share(h, "/api/v1/cameras/cam1/share", {"kind": "snapshot"})
    status, headers, body = get(h, latest["url"])
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    start_ms, end_ms = recorded_range(h)
    at = share(h, "/api/v1/cameras/cam1/share", {"kind": "snapshot", "ts": start_ms + 1500})
    status, headers, body = get(h, at["url"])
    assert status == 200 and body[:2] == b"\xff\xd8"
    # The latest frame's link opens no recorded instant, and the reverse.
    t_latest = latest["url"].rsplit("t=", 1)[1]
    assert_401(h, f"/api/v1/cameras/cam1/snapshot.jpg?ts={start_ms + 1500}&t={t_latest}")
    t_at = at["url"].rsplit("t=", 1)[1]
    assert_401(h, f"/api/v1/cameras/cam1/snapshot.jpg?ts={start_ms + 2500}&t={t_at}")
    assert_401(h, f"/api/v1/cameras/cam1/snapshot.jpg?t={t_at}")

    status, _, raw = h.request("POST", "/api/v1/exports",
                               {"camera": "cam1", "start": start_ms, "end": end_ms})
    assert status == 202, raw
    eid = json.loads(raw)["id"]
    wait_until(lambda: h.get_json(f"/api/v1/exports/{eid}")[1]["state"] == "done", 60,
               "the export")
    link = share(h, f"/api/v1/exports/{eid}/share")
    assert link["url"].startswith(f"/api/v1/exports/{eid}/file?t=")
    status, headers, body = get(h, link["url"])
    assert status == 200 and headers["Content-Type"] == "video/mp4" and len(body) > 1000
    status, _, body = get(h, link["url"], headers={"Range": "bytes=0-99"})
    t_export = link["url"].rsplit("t=", 1)[1]
    assert_401(h, f"/api/v1/exports/0123456789abcdef0123/file?t={t_export}")
    assert_401(h, f"/api/v1/exports/{eid}?t={t_export}")
    # Unknown exports and cameras: 404 to the sharer, as for any read.
    status, _, _ = h.request("POST", "/api/v1/exports/0123456789abcdef0123/share", {})
    assert status == 404
    status, _, _ = h.request("POST", "/api/v1/cameras/nope/share", {"kind": "live"})
    assert status == 404
    status, _, body = h.request("POST", "/api/v1/cameras/cam1/share", {"kind": "movie"})
    assert status == 400 and b"kind" in body
    status, _, body = h.request("POST", "/api/v1/cameras/cam1/share", {"kind": "playback"})
    assert status == 400 and b"start" in body
    # All of them stop at their expiry.
    time.sleep(TTL_S + 6.5)
    for url in (latest["url"], at["url"], link["url"]):
        assert_401(h, url)


def audit_entries(h, action):
    status, doc = h.get_json(f"/api/v1/audit?action={action}&limit=200")
    assert status == 200, doc
    return doc["items"]


def test_refused_tokens_are_audited_once_per_viewing(media):
    h = media
    link = share(h, "/api/v1/cameras/cam1/share", {"kind": "live", "stream": "main"})
    token = link["url"].rsplit("t=", 1)[1]
    # A player retrying: 20 refused requests (a camera no other test refused) ...
    for i in range(20):
        path = "index.m3u8?stream=main" if i % 2 else "part/x-1.m4s?stream=main"
        assert get(h, f"{live_base('cam9')}{path}&t={token}")[0] == 401

    def denied():
        return [e for e in audit_entries(h, "permission.denied") if e["target"]["id"] == "cam9"]
    # ... are one entry (audit rows are written asynchronously).
    entries = wait_until(denied, 5, "the audit entry")
    time.sleep(0.5)
    entries = denied()
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["outcome"] == "denied" and e["target"]["kind"] == "camera"
    assert "does not open camera 'cam9'" in json.dumps(e["details"]), e
    assert token not in json.dumps(e)
    shared = audit_entries(h, "media.shared")
    assert shared and shared[0]["target"]["id"] == "cam1"
    assert token not in json.dumps(shared)


def test_key_rotation_does_not_cut_a_playing_viewer(media):
    """A viewer whose player reloads with its credentials while fetching media by
    token keeps playing across a rotation (rotate_interval 1m), and a token signed by
    the previous key still opens media until it expires."""
    h = media
    first = None
    old_part = None
    rotated = False
    deadline = time.monotonic() + 100
    fetched = 0
    while time.monotonic() < deadline and not rotated:
        status, _, body = h.request("GET", live_base("cam1") + "index.m3u8")
        assert status == 200
        text = body.decode()
        (token,) = tokens_in(text)
        part = live_base("cam1") + uris(text)[-1]
        status, _, _ = get(h, part)
        assert status == 200, part
        fetched += 1
        if first is None:
            first = key_id(token)
        if key_id(token) != first:
            rotated = True
            # A part listed with the previous key's token still opens.
            assert old_part and get(h, old_part)[0] == 200
        old_part = part
        time.sleep(1)
    assert rotated, "the key never rotated"
    assert fetched >= 2


def test_a_link_to_a_tenant_camera_opens_it(tmp_path):
    """A signed link stands for its camera's tenant: the gate's tenant check must not hide
    the camera it was made for, and it still opens nothing else."""
    (tmp_path / "sim").mkdir()
    (tmp_path / "horus").mkdir()
    sim = Camsim(tmp_path / "sim")
    h = Horus(tmp_path / "horus")
    try:
        from conftest import HORUS_BIN
        subprocess.run([HORUS_BIN, "tenant", "add", "acme", *h.config_args(), "--data",
                        str(h.data)], check=True, capture_output=True)
        out = subprocess.run([HORUS_BIN, "api-key", "add", "acme-op", "--role", "operator",
                              "--tenant", "acme", *h.config_args(), "--data", str(h.data)],
                             check=True, capture_output=True, text=True).stdout
        acme = {"Authorization": "Bearer " + re.search(r"hk_\S+", out).group(0)}
        status, _, body = h.request("POST", "/api/v1/cameras",
                                    {"id": "acme-door", "url": sim.url(1)}, headers=acme)
        assert status == 201, body
        wait_until(lambda: h.request("GET", "/api/v1/cameras/acme-door/live/index.m3u8",
                                     headers=acme)[0] == 200, 20, "acme live")
        status, _, raw = h.request("POST", "/api/v1/cameras/acme-door/share", {"kind": "live"},
                                   headers=acme)
        assert status == 200, raw
        url = json.loads(raw)["url"]
        status, _, playlist = get(h, url)
        assert status == 200 and b"#EXTM3U" in playlist, playlist
        uris = re.findall(rb'URI="([^"]+)"', playlist) or \
            [ln for ln in playlist.splitlines() if ln and not ln.startswith(b"#")]
        assert uris, playlist
        assert get(h, "/api/v1/cameras/acme-door/live/" + uris[-1].decode())[0] == 200
        token = url.rsplit("t=", 1)[1]
        assert get(h, "/api/v1/cameras?t=" + token)[0] == 401
    finally:
        h.stop()
        sim.stop()
