"""The web UI served by the horus binary (issue 10 item 1, docs/design/0026-web-ui.md):
the build embedded at compile time (build/<preset>/web-dist, beside the binary's build
tree) with its compressed variants, ETags and cache lifetimes, the SPA fallback, the
security headers, the guards that still apply, and HORUS_WEB_DIR serving a directory."""
import gzip
import http.client
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import HORUS_BIN

WEB_DIST = Path(HORUS_BIN).resolve().parents[1] / "web-dist"
NODE = shutil.which("node")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

needs_build = pytest.mark.skipif(not (WEB_DIST / "index.html").exists(),
                                 reason=f"{WEB_DIST} missing: this build has no UI (HORUS_WEB=OFF)")


def get(h, path, headers=None, method="GET", body=None):
    """One request with exactly these headers (no credentials); (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", h.port, timeout=10)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        hdrs = {"Host": f"127.0.0.1:{h.port}", **(headers or {})}
        for k, v in hdrs.items():
            c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def brotli_decompress(data):
    """Decompressed with node's zlib (Python has no brotli module in Debian's stdlib)."""
    out = subprocess.run([NODE, "-e", "process.stdout.write(require('zlib')"
                          ".brotliDecompressSync(require('fs').readFileSync(0)))"],
                         input=data, capture_output=True, check=True, timeout=30)
    return out.stdout


def assert_ui_headers(hdrs):
    assert hdrs["content-security-policy"] == CSP
    assert hdrs["x-content-type-options"] == "nosniff"
    assert hdrs["referrer-policy"] == "same-origin"
    assert hdrs["x-frame-options"] == "DENY"
    assert hdrs["cross-origin-opener-policy"] == "same-origin"


def entry_assets():
    """The script and stylesheet index.html loads, as /assets/... paths."""
    html = (WEB_DIST / "index.html").read_text()
    found = re.findall(r'(?:src|href)="(/assets/[^"]+\.(?:js|css))"', html)
    assert any(p.endswith(".js") for p in found), html
    return found


@needs_build
def test_index_and_spa_fallback_are_the_embedded_index(horus):
    want = (WEB_DIST / "index.html").read_bytes()
    for path in ("/", "/live", "/cameras/front_door/edit", "/users/", "/index.html"):
        status, hdrs, body = get(horus, path)
        assert status == 200, (path, status, body[:200])
        assert body == want, path
        assert hdrs["content-type"] == "text/html; charset=utf-8"
        assert hdrs["cache-control"] == "no-cache"
        assert_ui_headers(hdrs)
    for path in ("/icon.svg", "/manifest.webmanifest"):
        status, hdrs, body = get(horus, path)
        assert status == 200, path
        assert body == (WEB_DIST / path[1:]).read_bytes()
        assert hdrs["cache-control"] == "no-cache"
    assert get(horus, "/icon.svg")[1]["content-type"] == "image/svg+xml"
    assert get(horus, "/manifest.webmanifest")[1]["content-type"] == "application/manifest+json"
    # HEAD: the same headers, no body.
    status, hdrs, body = get(horus, "/live", method="HEAD")
    assert status == 200 and body == b""
    assert hdrs["content-length"] == str(len(want))


@needs_build
@pytest.mark.parametrize("accept,encoding", [
    ("br, gzip", "br"), ("gzip, deflate, br", "br"), ("gzip", "gzip"),
    ("br;q=0, gzip", "gzip"), ("*;q=0.5, br;q=0", "gzip"), (None, None), ("identity", None),
    ("br;q=0, gzip;q=0", None),
])
def test_assets_are_negotiated_and_decompress_to_the_built_file(horus, accept, encoding):
    for path in entry_assets():
        want = (WEB_DIST / path[1:]).read_bytes()
        status, hdrs, body = get(horus, path, {"Accept-Encoding": accept} if accept else {})
        assert status == 200, path
        assert hdrs.get("content-encoding") == encoding, (path, accept, hdrs)
        assert "Accept-Encoding" in hdrs["vary"]
        if encoding == "br":
            body = brotli_decompress(body)
        elif encoding == "gzip":
            body = gzip.decompress(body)
        assert body == want, path
        assert hdrs["cache-control"] == "public, max-age=31536000, immutable"
        ctype = "text/javascript" if path.endswith(".js") else "text/css"
        assert hdrs["content-type"] == f"{ctype}; charset=utf-8"
        assert_ui_headers(hdrs)


@needs_build
def test_etags_differ_by_encoding_and_answer_304(horus):
    path = entry_assets()[0]
    tags = {}
    for accept in ("br", "gzip", "identity"):
        status, hdrs, _ = get(horus, path, {"Accept-Encoding": accept})
        assert status == 200
        tags[accept] = hdrs["etag"]
        assert re.fullmatch(r'"[A-Za-z0-9_-]+"', tags[accept]), tags[accept]
    assert len(set(tags.values())) == 3, tags
    for accept, tag in tags.items():
        status, hdrs, body = get(horus, path, {"Accept-Encoding": accept, "If-None-Match": tag})
        assert status == 304 and body == b"", accept
        assert hdrs["etag"] == tag
        assert hdrs["cache-control"] == "public, max-age=31536000, immutable"
    # Another encoding's tag is not this representation's.
    status, _, _ = get(horus, path, {"Accept-Encoding": "gzip", "If-None-Match": tags["br"]})
    assert status == 200
    status, hdrs, _ = get(horus, "/live", {"If-None-Match": get(horus, "/")[1]["etag"]})
    assert status == 304
    assert hdrs["cache-control"] == "no-cache"


@needs_build
def test_missing_files_other_methods_and_reserved_paths(horus):
    status, hdrs, body = get(horus, "/assets/does-not-exist-123.js")
    assert status == 404
    assert b"no such file" in body
    assert_ui_headers(hdrs)
    assert get(horus, "/nope.png")[0] == 404
    for method in ("POST", "PUT", "DELETE"):
        status, hdrs, _ = get(horus, "/live", {"Content-Type": "application/json"},
                              method=method, body=b"{}")
        assert status == 405, method
        assert hdrs["allow"] == "GET, HEAD"
    assert get(horus, "/", {"Content-Type": "application/json"}, "POST", b"{}")[0] == 405
    # The API's paths are never the UI: an unknown one stays the API's JSON 404.
    for path in ("/api/v1/no-such-thing", "/api", "/health/x", "/metrics/x"):
        status, hdrs, body = get(horus, path)
        assert status in (401, 404), (path, status)
        assert hdrs["content-type"] == "application/json", path
        assert "content-security-policy" not in hdrs
    assert get(horus, "/health")[0] == 200
    # API replies carry nosniff too.
    assert get(horus, "/api/v1/system")[1]["x-content-type-options"] == "nosniff"


@needs_build
def test_traversal_is_refused(horus):
    for path in ("/..%2f..%2fetc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2F..%2Fx",
                 "/a%00b", "/assets/%5c..%5c..%5cetc", "/../../etc/passwd"):
        status, _, body = get(horus, path)
        assert status == 400, (path, status, body[:100])
        assert b"root:" not in body


@needs_build
def test_the_host_guard_and_the_access_log_still_apply(horus):
    status, _, _ = get(horus, "/", {"Host": "evil.example"})
    assert status == 421
    get(horus, "/live/view-42")
    line = horus.wait_for_log(lambda l: l.get("module") == "access" and
                              l.get("path") == "/live/view-42")
    assert str(line["status"]) == "200" and line["method"] == "GET", line


def test_web_dir_serves_a_directory_and_stays_inside_it(horus_factory, tmp_path):
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>dev</title>")
    (site / "assets" / "app-1.js").write_text("console.log('dev');\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, site / "assets" / "out.js")  # a link out of the directory
    os.symlink("app-1.js", site / "assets" / "in.js")  # a link that stays inside
    h = horus_factory(env={"HORUS_WEB_DIR": str(site)})
    status, hdrs, body = get(h, "/")
    assert status == 200 and body == b"<!doctype html><title>dev</title>"
    assert hdrs["cache-control"] == "no-cache"
    assert_ui_headers(hdrs)
    assert get(h, "/cameras/x")[2] == body  # SPA fallback
    status, hdrs, js = get(h, "/assets/app-1.js", {"Accept-Encoding": "gzip, br"})
    assert status == 200 and js == b"console.log('dev');\n"
    assert "content-encoding" not in hdrs
    assert hdrs["content-type"] == "text/javascript; charset=utf-8"
    assert hdrs["cache-control"] == "public, max-age=31536000, immutable"
    assert get(h, "/assets/app-1.js", {"If-None-Match": hdrs["etag"]})[0] == 304
    # Edited: a new ETag (size and mtime).
    (site / "assets" / "app-1.js").write_text("console.log('edited');\n")
    status, hdrs2, js = get(h, "/assets/app-1.js")
    assert js == b"console.log('edited');\n" and hdrs2["etag"] != hdrs["etag"]
    assert get(h, "/assets/in.js")[0] == 200
    status, _, body = get(h, "/assets/out.js")
    assert status == 404 and b"top secret" not in body
    assert get(h, "/assets/missing.js")[0] == 404
    for path in ("/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt", "/%2e%2e/secret.txt"):
        status, _, body = get(h, path)
        assert status == 400 and b"top secret" not in body, path


def test_a_missing_web_dir_fails_the_start_with_its_name(tmp_path):
    out = subprocess.run([HORUS_BIN, "serve", "--data", str(tmp_path / "d"), "--listen",
                          "127.0.0.1:0"], env={**os.environ, "HORUS_WEB_DIR": "/nonexistent-ui"},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "/nonexistent-ui" in out.stdout + out.stderr


@pytest.mark.skipif((WEB_DIST / "index.html").exists(),
                    reason="this build embeds the UI (the page below is for builds without it)")
def test_a_binary_without_the_ui_says_how_to_build_it(horus):
    status, hdrs, body = get(horus, "/live")
    assert status == 200
    assert b"not built into this binary" in body and b"HORUS_WEB_DIR" in body
    assert_ui_headers(hdrs)
    assert get(horus, "/assets/index.js")[0] == 404


@needs_build
def test_ui_requests_draw_on_the_media_budget_not_the_apis(horus_factory):
    """A page load is a burst of small files: the UI has the media budget (rate limits still
    apply to it), so reloading the app never spends the API budget the app itself needs."""
    h = horus_factory("server:\n  rate_limit:\n    api_per_minute: 60\n    api_burst: 3\n"
                      "    media_per_minute: 60\n    media_burst: 8\n")
    statuses = [get(h, "/live")[0] for _ in range(12)]
    assert statuses[:8] == [200] * 8, statuses
    assert 429 in statuses[8:], statuses
    status, hdrs, _ = get(h, "/live")
    assert status == 429 and int(hdrs["retry-after"]) >= 1
    # The API's budget is untouched by those: its burst of 3 is still there.
    assert [get(h, "/api/v1/system")[0] for _ in range(3)] == [401] * 3
