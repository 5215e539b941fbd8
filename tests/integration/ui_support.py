"""Support for the web UI's browser tests (test_ui_*.py): users with known passwords, the URL
the UI is served at, and running a tests/e2e/ui_*.mjs script in Debian's chromium.

Each script prints one JSON line; `run_ui` returns it as a dict, after failing the test on an
error, a console error or an uncaught exception in the page (the script's `problems`).
Screenshots land in build/ui-shots (HORUS_UI_SHOTS)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import HORUS_BIN, free_port, require_tool, wait_for_port

ROOT = Path(__file__).resolve().parent.parent.parent
E2E = ROOT / "tests" / "e2e"
WEB = ROOT / "web"
SHOTS = Path(os.environ.get("HORUS_UI_SHOTS", ROOT / "build" / "ui-shots"))
PASSWORD = "correct horse battery"


def cli_target(h):
    """The -c/--data arguments that point a CLI command at h's data directory."""
    args = ["--data", str(h.data)]
    if h.config_path:
        args = ["-c", str(h.config_path)] + args
    return args


def make_user(h, name, role="admin", password=PASSWORD, cameras=None):
    """Adds a user with a known password through the CLI (works while the daemon runs;
    the daemon sees it within a second). Returns (name, password)."""
    args = [HORUS_BIN, "user", "add", name, "--role", role, "--password-stdin"]
    if cameras:
        args += ["--cameras", ",".join(cameras)]
    r = subprocess.run(args + cli_target(h), input=password + "\n", capture_output=True,
                       text=True, timeout=30, cwd=h.dir)
    assert r.returncode == 0, r.stderr
    return name, password


def ui_url(h, request=None):
    """Where the browser opens the UI of daemon h: the daemon itself, which serves the
    embedded UI. With HORUS_UI_DEV=1, a Vite dev server on web/ proxying h's API instead
    (for working on the UI without rebuilding the daemon)."""
    if os.environ.get("HORUS_UI_DEV") != "1":
        return h.url
    port = free_port()
    env = {**os.environ, "HORUS_URL": h.url}
    p = subprocess.Popen([require_tool("node"), str(WEB / "node_modules" / "vite" / "bin" / "vite.js"),
                          "--port", str(port), "--strictPort", "--host", "127.0.0.1"],
                         cwd=WEB, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, timeout=30, proc=p)
    if request is not None:
        request.addfinalizer(p.terminate)
    return f"http://127.0.0.1:{port}"


def run_ui(script, args, timeout=120, allow_problems=()):
    """Runs tests/e2e/<script> with args (a dict, as HORUS_UI_ARGS) and returns its JSON."""
    node = require_tool("node")
    require_tool("chromium")
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/e2e/node_modules is missing; run scripts/setup")
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HORUS_UI_ARGS": json.dumps(args), "HORUS_UI_SHOTS": str(SHOTS)}
    r = subprocess.run([node, str(E2E / script)], capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=E2E)
    lines = [ln for ln in r.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        pytest.fail(f"{script} printed no result (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    out = json.loads(lines[-1])
    if r.returncode != 0 or "error" in out:
        pytest.fail(f"{script} failed: {out.get('error')}\nproblems: {out.get('problems')}\n"
                    f"screenshot: {out.get('failure_shot')}\nstderr: {r.stderr[-2000:]}")
    problems = [p for p in out.get("problems", [])
                if not any(a in p for a in allow_problems)]
    assert not problems, f"{script}: errors in the page: {problems}"
    return out
