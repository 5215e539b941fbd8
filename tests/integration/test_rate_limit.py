"""Rate limits end to end (docs/design/0020): the API budget per client
address answers 429 with Retry-After once spent and refills, while media
requests (live playlists and parts) and /health keep being served; the
limiter is on by default; loopback exemption; X-Forwarded-For believed only
from a trusted proxy, and the access log names the client it found; networks
that do not parse are configuration errors."""
import json
import re
import subprocess
import time

from conftest import HORUS_BIN, Camsim, Horus

CAMERAS = "/api/v1/cameras"


def spend(h, n, path=CAMERAS, headers=None):
    """Makes n requests; returns their statuses."""
    return [h.request("GET", path, headers=headers)[0] for _ in range(n)]


def test_api_budget_refuses_with_429_then_refills_while_media_and_health_pass(tmp_path):
    (tmp_path / "sim").mkdir()
    (tmp_path / "horus").mkdir()
    sim = Camsim(tmp_path / "sim")
    # One token a second, five at once: fast enough to see the refill in a test.
    h = Horus(tmp_path / "horus",
              "server:\n  rate_limit:\n    api_per_minute: 60\n    api_burst: 5\n"
              f"cameras:\n  - id: cam1\n    url: \"{sim.url(1)}\"\n")
    try:
        # Wait for live media with media requests only: they do not touch the API budget.
        deadline = time.monotonic() + 20
        playlist = b""
        while time.monotonic() < deadline:
            status, _, playlist = h.request("GET", f"{CAMERAS}/cam1/live/index.m3u8")
            if status == 200 and b"#EXT-X-PART:" in playlist:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no live playlist:\n" + h.proc.output())

        assert spend(h, 5) == [200] * 5
        status, headers, body = h.request("GET", CAMERAS)
        assert status == 429
        retry = int(headers["Retry-After"])
        assert retry == 1  # one token a second
        err = json.loads(body)["error"]
        assert err["code"] == "rate_limited" and "127.0.0.1" in err["message"]
        # Unknown paths draw from the same budget: scanning is no way around it.
        assert h.request("GET", "/api/v1/nope")[0] == 429

        # Media and health checks are still served while the API budget is empty.
        assert h.request("GET", "/health")[0] == 200
        assert h.request("GET", "/ready")[0] == 200
        status, _, playlist = h.request("GET", f"{CAMERAS}/cam1/live/index.m3u8")
        assert status == 200
        part = re.findall(rb'#EXT-X-PART:[^\n]*URI="([^"]+)"', playlist)[-1].decode()
        init = re.search(rb'#EXT-X-MAP:URI="([^"]+)"', playlist).group(1).decode()
        for uri in (part, init):
            status, headers, body = h.request("GET", f"{CAMERAS}/cam1/live/{uri}")
            assert status == 200 and len(body) > 0, (uri, status)
        # So are WHEP offers (a video wall opens one per tile): refused here only because
        # this node has WebRTC off, not for the spent budget.
        for _ in range(8):
            status, _, body = h.request("POST", f"{CAMERAS}/cam1/whep", b"v=0\r\n",
                                        {"Content-Type": "application/sdp"})
            assert status == 503 and json.loads(body)["error"]["code"] == "disabled", body
        assert h.request("GET", CAMERAS)[0] == 429

        # After the announced wait a request passes again, and only one token came back.
        time.sleep(retry + 0.1)
        assert h.request("GET", CAMERAS)[0] == 200
        assert h.request("GET", CAMERAS)[0] == 429
        time.sleep(1.1)
        _, _, metrics = h.request("GET", "/metrics")
        text = metrics.decode()
        refused = float(re.search(r'^horus_http_rate_limited_total\{class="api"\} (\S+)$', text,
                                  re.M).group(1))
        assert refused == 4
        assert re.search(r'^horus_http_rate_limited_total\{class="media"\} 0$', text, re.M)
        # No per-address series: the label set stays bounded.
        assert "127.0.0.1" not in "".join(l for l in text.splitlines()
                                           if l.startswith("horus_http_rate_limited"))
    finally:
        assert h.stop() == 0
        sim.stop()


def test_the_limiter_is_on_by_default_and_exempt_networks_skip_it(horus_factory):
    # Only the harness's loopback exemption removed: the defaults apply (burst 50).
    h = horus_factory("server:\n  rate_limit:\n    exempt: []\n")
    statuses = spend(h, 60)
    assert statuses[:50] == [200] * 50
    assert statuses[-1] == 429
    exempt = horus_factory("server:\n  rate_limit:\n    api_burst: 1\n"
                           "    exempt: [\"127.0.0.0/8\"]\n")
    assert spend(exempt, 20) == [200] * 20


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(horus_factory):
    limits = "  rate_limit:\n    api_per_minute: 1\n    api_burst: 2\n"
    proxied = horus_factory("server:\n  trusted_proxies: [\"127.0.0.1/32\", \"10.0.0.0/8\"]\n"
                            + limits)
    a = {"X-Forwarded-For": "203.0.113.5"}
    assert spend(proxied, 3, headers=a) == [200, 200, 429]
    # Another client behind the same proxy has its own budget.
    assert spend(proxied, 2, headers={"X-Forwarded-For": "203.0.113.6:4711"}) == [200, 200]
    # What the client wrote itself (left of the trusted hops) is ignored; so is garbage past them.
    spoof = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5, 10.1.2.3"}
    assert proxied.request("GET", CAMERAS, headers=spoof)[0] == 429
    # An unparsable hop stops at the trusted proxy that passed it on: the proxy's own budget.
    junk = {"X-Forwarded-For": "not-an-address"}
    assert spend(proxied, 3, headers=junk) == [200, 200, 429]
    line = proxied.wait_for_log(lambda l: l.get("module") == "access"
                                and l.get("remote") == "203.0.113.6")
    assert line["peer"] == "127.0.0.1"

    direct = horus_factory("server:\n" + limits)
    statuses = [direct.request("GET", CAMERAS,
                               headers={"X-Forwarded-For": f"203.0.113.{i}"})[0]
                for i in range(3)]
    assert statuses == [200, 200, 429]
    line = direct.wait_for_log(lambda l: l.get("module") == "access"
                               and l.get("status") == "429")
    assert line["remote"] == "127.0.0.1" and "peer" not in line


def test_networks_that_do_not_parse_are_configuration_errors(tmp_path):
    path = tmp_path / "horus.yaml"
    path.write_text("server:\n  trusted_proxies: [\"10.0.0.0/33\"]\n"
                    "  rate_limit:\n    exempt: [\"example.com\"]\n    api_burst: 0\n")
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert ("horus.yaml:2:21: server.trusted_proxies[0]: '10.0.0.0/33' is not an IP address "
            "or network") in r.stderr
    assert "server.rate_limit.exempt[0]: 'example.com' is not an IP address" in r.stderr
    assert "server.rate_limit.api_burst" in r.stderr


def test_failed_logins_wait_longer_each_time_and_a_good_password_waits_too(horus_factory):
    """Five wrong passwords for a name, then every attempt must wait (429 + Retry-After),
    the right password included: a guesser cannot tell a hit from a miss by timing."""
    h = horus_factory("server:\n  rate_limit:\n    login_failures: 3\n    login_window: 15m\n"
                      "    api_per_minute: 6000\n    api_burst: 1000\n")
    subprocess.run([HORUS_BIN, "user", "add", "ann", "--role", "viewer", "--password-stdin",
                    *h.config_args(), "--data", str(h.data)], input=b"correct horse battery\n",
                   check=True, capture_output=True)
    login = lambda pw: h.request("POST", "/api/v1/auth/login",
                                 {"username": "ann", "password": pw}, auth=False)
    assert [login("wrong")[0] for _ in range(3)] == [401] * 3
    status, headers, body = login("correct horse battery")
    assert status == 429 and int(headers["Retry-After"]) >= 1, body
    assert json.loads(body)["error"]["code"] == "rate_limited"
    # An unknown name is limited the same way (nothing tells whether a user exists).
    assert [h.request("POST", "/api/v1/auth/login", {"username": "nobody", "password": "x"},
                      auth=False)[0] for _ in range(4)][-1] == 429
    time.sleep(int(headers["Retry-After"]) + 0.2)
    assert login("correct horse battery")[0] == 200
    assert h.metric("horus_auth_login_throttled_total") >= 2


def test_each_principal_has_its_own_budget(horus_factory):
    """A key that spends its own budget gets 429; another key from the same address does not."""
    h = horus_factory("server:\n  rate_limit:\n    api_per_minute: 6000\n    api_burst: 1000\n"
                      "    principal_per_minute: 60\n    principal_burst: 5\n")
    made = []
    for name in ("one", "two"):
        out = subprocess.run([HORUS_BIN, "api-key", "add", name, "--role", "viewer",
                              *h.config_args(), "--data", str(h.data)], check=True,
                             capture_output=True, text=True).stdout
        made.append({"Authorization": "Bearer " + re.search(r"hk_\S+", out).group(0)})
    statuses = spend(h, 7, headers=made[0])
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429
    assert spend(h, 3, headers=made[1]) == [200] * 3
    assert h.metric('horus_http_rate_limited_total{class="principal"}') >= 1
