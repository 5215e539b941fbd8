"""Integration harness: starts real `horus` and `horus-camsim` processes on
free loopback ports in temporary directories, and always stops them, even
when a test fails.

Binaries come from the environment that CTest sets (HORUS_BIN,
HORUS_CAMSIM_BIN), falling back to build/debug for a developer running
pytest by hand.
"""
import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("HORUS_SOURCE_DIR", Path(__file__).resolve().parents[2]))
HORUS_BIN = os.environ.get("HORUS_BIN", str(SOURCE_DIR / "build/debug/src/horus"))
CAMSIM_BIN = os.environ.get("HORUS_CAMSIM_BIN",
                            str(SOURCE_DIR / "build/debug/tools/camsim/horus-camsim"))
# The RTSP client the daemons and probes of a run use ("native" or "libav"); empty = the
# default. `HORUS_TEST_INGEST_CLIENT=libav pytest ...` runs the suite on the fallback.
INGEST_CLIENT = os.environ.get("HORUS_TEST_INGEST_CLIENT", "")
# The index database of every daemon a run starts: "" = SQLite in its data directory (the
# default), "postgres" = a new database per daemon on one throw-away PostgreSQL server that
# tests/pg/pg-server starts for the run (`HORUS_TEST_DATABASE=postgres pytest ...`).
DATABASE = os.environ.get("HORUS_TEST_DATABASE", "")


class PgServer:
    """The run's PostgreSQL server (tests/pg/pg-server), started on first use, stopped at exit."""
    state = None
    url = None
    count = 0

    @classmethod
    def server_url(cls):
        if cls.url is None:
            import tempfile
            cls.state = tempfile.mkdtemp(prefix="horus-pgstate-")
            subprocess.run([str(SOURCE_DIR / "tests/pg/pg-server"), "start", cls.state],
                           check=True, capture_output=True, timeout=120)
            cls.url = (Path(cls.state) / "url").read_text().strip()
            atexit.register(cls.stop)
        return cls.url

    @classmethod
    def stop(cls):
        if cls.state:
            subprocess.run([str(SOURCE_DIR / "tests/pg/pg-server"), "stop", cls.state],
                           capture_output=True, timeout=60)
            cls.state = None

    by_data_dir = {}

    @classmethod
    def database_for(cls, data_dir):
        """The database of a data directory: a new one the first time, the same one for a
        daemon started again on that directory (a restart after kill -9, an upgrade)."""
        key = str(Path(data_dir).resolve())
        if key not in cls.by_data_dir:
            cls.by_data_dir[key] = cls.new_database()
        return cls.by_data_dir[key]

    @classmethod
    def new_database(cls):
        """The URL of a new, empty database on the run's server."""
        server = cls.server_url()
        cls.count += 1
        name = f"h{os.getpid()}_{cls.count}"
        psql(server, f"CREATE DATABASE {name}")
        return server.rsplit("/", 1)[0] + "/" + name


def psql(url, sql):
    """Runs sql with psql on the database at url; returns what it printed (unaligned, no
    headers). Raises on an error."""
    out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url], input=sql,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})
    if out.returncode != 0:
        raise AssertionError(f"psql: {out.stderr.strip()}")
    return out.stdout


def with_database(config_text, data_dir):
    """config_text with the run's database (DATABASE) for data_dir, unless it names one."""
    if DATABASE != "postgres" or "database:" in (config_text or ""):
        return config_text
    return f'database:\n  url: "{PgServer.database_for(data_dir)}"\n' + (config_text or "")


# A report of AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer or
# ThreadSanitizer in a process's output. The sanitizer builds (scripts/test runs
# the integration tests against asan and a threaded smoke test against tsan)
# fail any test whose daemon or simulator printed one.
SANITIZER_REPORT = re.compile(r"^.*(?:ERROR|WARNING): \w*Sanitizer.*$|^.*runtime error:.*$", re.M)


def sanitizer_reports(procs):
    """The first sanitizer report line of each process that printed one."""
    out = []
    for p in procs:
        m = SANITIZER_REPORT.search(p.proc.output())
        if m:
            out.append(f"{p.proc.log_path}: {m.group(0).strip()}")
    return out


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


PORT_RANGE = (10000, min(_ephemeral_low(), 32768))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now. Picked at random below
    the kernel's ephemeral range: an outgoing connection (of a daemon under test, or of a
    test file running beside this one) cannot take it before its server binds it."""
    for _ in range(500):
        port = random.randrange(*PORT_RANGE)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


# Every Proc not stopped yet. A child runs in its own session (a kill of the test's process
# group does not reach it), so whatever a test left running (a broker it never stopped, a
# daemon of a test that failed half-way) is stopped when pytest exits, not left behind.
_RUNNING = set()


@atexit.register
def _stop_leftovers():
    for p in list(_RUNNING):
        p.stop(5)


class Proc:
    """A child process with its output in a file; stop() is always safe."""

    def __init__(self, args, cwd, log_name, env=None):
        self.args = [str(a) for a in args]
        self.log_path = Path(cwd) / log_name
        self._log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.popen = subprocess.Popen(self.args, cwd=cwd, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=full_env,
                                      start_new_session=True)
        _RUNNING.add(self)

    def output(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, sig):
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout):
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout=15):
        _RUNNING.discard(self)
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


# Tests poll the daemon from loopback far faster than the default 100 API
# requests a minute per address (and 600 per principal: the fixture's one
# admin key makes most requests), so the harness exempts loopback and lifts
# the per-principal budget unless a test configures server.rate_limit itself
# (test_rate_limit.py does).
LOOPBACK_EXEMPT = ('  rate_limit:\n    exempt: ["127.0.0.0/8", "::1"]\n'
                   '    principal_per_minute: 0\n')


def exempt_loopback_from_rate_limits(config_text):
    text = config_text or ""
    if "rate_limit:" in text:
        return config_text
    m = re.search(r"^server:[ \t]*\n", text, re.M)
    if m:
        return text[:m.end()] + LOOPBACK_EXEMPT + text[m.end():]
    return "server:\n" + LOOPBACK_EXEMPT + text


class Horus:
    """A running `horus serve` with its own data directory and port."""

    def __init__(self, tmp, config_text=None, extra_args=(), env=None, port=None):
        self.dir = Path(tmp)
        self.port = port or free_port()
        self.data = self.dir / "data"
        args = [HORUS_BIN, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}"]
        if INGEST_CLIENT and "ingest:" not in (config_text or ""):
            config_text = f"ingest:\n  client: {INGEST_CLIENT}\n" + (config_text or "")
        config_text = exempt_loopback_from_rate_limits(config_text)
        data_dir = self.data
        for i, a in enumerate(extra_args):
            if a == "--data" and i + 1 < len(extra_args):
                data_dir = Path(extra_args[i + 1])
        config_text = with_database(config_text, data_dir)
        self.database_url = None
        m = re.search(r'^database:\s*\n\s+url:\s*"?(postgres(?:ql)?://[^"\s]+)', config_text or "",
                      re.M)
        if m:
            self.database_url = m.group(1)
        self.config_path = None
        if config_text is not None:
            self.config_path = self.dir / "horus.yaml"
            self.config_path.write_text(config_text)
            args += ["-c", self.config_path]
        args += list(extra_args)
        self.api_key = self.provision_api_key(args, env)
        self.proc = Proc(args, self.dir, "horus.log", env=env)
        wait_for_port(self.port, proc=self.proc.popen)
        self.url = f"http://127.0.0.1:{self.port}"

    def provision_api_key(self, serve_args, env=None):
        """An admin API key made with `horus api-key add` on the data directory the
        daemon will use (same -c and --data), before it starts. None when the
        command fails (tests of configurations that cannot start)."""
        args = [HORUS_BIN, "api-key", "add", "conftest", "--role", "admin"]
        for i, a in enumerate(serve_args):
            if a in ("-c", "--config", "--data") and i + 1 < len(serve_args):
                args += [a, serve_args[i + 1]]
        out = subprocess.run(args, cwd=self.dir, capture_output=True, text=True, timeout=30,
                             env={**os.environ, **(env or {})})
        return out.stdout.strip() if out.returncode == 0 else None

    def config_args(self):
        """["-c", its config file] for a CLI command on this daemon's data (its database may
        be named there: HORUS_TEST_DATABASE=postgres), or [] when it runs without one."""
        return ["-c", str(self.config_path)] if self.config_path else []

    def auth_headers(self):
        """The header that authenticates as the fixture's admin key."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def ffmpeg_headers(self):
        """ffmpeg/ffprobe arguments that send the admin key with every HTTP request."""
        return ["-headers", f"Authorization: Bearer {self.api_key}\r\n"] if self.api_key else []

    def request(self, method, path, body=None, headers=None, timeout=5, auth=True):
        """Returns (status, headers, bytes) without raising on HTTP errors.

        auth=True sends the fixture's admin API key unless headers carry their
        own Authorization; auth=False sends no credentials."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        headers = dict(headers or {})
        if auth and "Authorization" not in headers:
            headers.update(self.auth_headers())
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers)
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            req.add_header("Content-Type", "application/json")  # what the API takes (0017)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get_json(self, path):
        status, _, body = self.request("GET", path)
        return status, json.loads(body) if body else None

    def metric(self, name):
        """The sum of /metrics samples whose line starts with name (a family, or with labels)."""
        _, _, body = self.request("GET", "/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
                   if line.startswith(name))

    def metric_samples(self, family):
        """[(labels as a dict, value)] of each /metrics sample of a family that has labels."""
        _, _, body = self.request("GET", "/metrics", timeout=10)
        out = []
        for line in body.decode().splitlines():
            if line.startswith(family + "{"):
                labels = dict(re.findall(r'(\w+)="([^"]*)"', line[:line.index("}")]))
                out.append((labels, float(line.rsplit(" ", 1)[1])))
        return out

    def log_lines(self):
        """The JSON log lines the daemon wrote (other lines are skipped)."""
        out = []
        for line in self.proc.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_for_log(self, pred, timeout=5):
        """The first JSON log line for which pred(line) is true. Info lines are
        written in batches (log.buffered), at the latest a second later."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_lines():
                if pred(line):
                    return line
            time.sleep(0.05)
        raise AssertionError("log line not found in:\n" + self.proc.output())

    def stop(self, timeout=15):
        return self.proc.stop(timeout)


class Camsim:
    """A running `horus-camsim` on a free port."""

    def __init__(self, tmp, args=(), paths=1, port=None):
        self.dir = Path(tmp)
        self.port = port or free_port()
        self.proc = Proc([CAMSIM_BIN, "--listen", f"127.0.0.1:{self.port}",
                          "--paths", str(paths), *args], self.dir, "camsim.log")
        wait_for_port(self.port, timeout=30, proc=self.proc.popen)

    def url(self, n=1):
        return f"rtsp://127.0.0.1:{self.port}/cam{n}"

    def stop(self, timeout=15):
        return self.proc.stop(timeout)


@pytest.fixture
def horus_factory(tmp_path):
    """Starts Horus instances; every one is stopped at teardown."""
    started = []

    def start(config_text=None, extra_args=(), env=None, name=None, port=None):
        d = tmp_path / (name or f"horus{len(started)}")
        d.mkdir()
        h = Horus(d, config_text, extra_args, env, port)
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()
    reports = sanitizer_reports(started)
    if reports:
        pytest.fail("sanitizer report from horus:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def horus(horus_factory):
    return horus_factory()


@pytest.fixture
def camsim_factory(tmp_path):
    started = []

    def start(args=(), paths=1, name=None, port=None):
        d = tmp_path / (name or f"camsim{len(started)}")
        d.mkdir()
        c = Camsim(d, args, paths, port)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()
    reports = sanitizer_reports(started)
    if reports:
        pytest.fail("sanitizer report from horus-camsim:\n" + "\n".join(reports),
                    pytrace=False)


def require_tool(name):
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed; run scripts/setup")
    return shutil.which(name)


RABBIT = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def start_rabbitmq(rdir, name):
    """A rabbitmq-server of its own in rdir (created), on a free loopback port, user horus with
    password rabbit-pw-123, no plugins: (its Proc, its AMQP port) once it listens. The caller
    stops it with kill_group. Skips the test when RabbitMQ is not installed."""
    if not os.path.exists(RABBIT):
        pytest.skip(f"{RABBIT} is not installed (scripts/setup installs rabbitmq-server)")
    port, dist = free_port(), free_port()
    rdir.mkdir()
    (rdir / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = 127.0.0.1:{port}\ndefault_user = horus\n"
        "default_pass = rabbit-pw-123\nloopback_users = none\ndisk_free_limit.absolute = 1MB\n")
    (rdir / "enabled_plugins").write_text("[].\n")
    env = {"HOME": str(rdir), "RABBITMQ_NODENAME": f"{name}-{port}@localhost",
           "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist),
           "RABBITMQ_MNESIA_BASE": str(rdir / "mnesia"), "RABBITMQ_LOG_BASE": str(rdir / "log"),
           "RABBITMQ_CONFIG_FILE": str(rdir / "rabbitmq.conf"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(rdir / "enabled_plugins")}
    proc = Proc([RABBIT], rdir, "rabbit.log", env=env)
    try:
        wait_for_port(port, timeout=60, proc=proc.popen)
    except BaseException:
        kill_group(proc)
        raise
    return proc, port


def kill_group(proc):
    """SIGKILL to proc's whole process group (a broker and its helpers), then reaps it."""
    try:
        os.killpg(proc.popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.stop(5)


def camsim_skipped_frames(*log_paths):
    """Frames the simulators behind these logs skipped because their encoder fell a second
    behind (a loaded machine, an ASan build): a gap of the camera's, not of the recorder's."""
    total = 0
    for p in log_paths:
        text = Path(p).read_text(errors="replace") if Path(p).exists() else ""
        total += sum(int(n) for n in re.findall(r"late, skipping (\d+) frames", text))
    return total


def wait_until(pred, timeout, what, interval=0.1):
    """pred()'s first truthy value within timeout seconds, or an AssertionError naming what."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def recording_rows(h, camera=None, stream=None):
    """The daemon's index rows as dicts (all columns, plus index_bytes), by camera and start."""
    if h.database_url:
        where = []
        for col, val in (("camera_id", camera), ("stream", stream)):
            if val:
                where.append(f"{col} = '{val}'")  # test-chosen ids: no quotes in them
        rows = psql(h.database_url,
                    "SELECT row_to_json(r) FROM (SELECT *, length(fragments) AS index_bytes"
                    " FROM recordings" + (" WHERE " + " AND ".join(where) if where else "")
                    + " ORDER BY camera_id, stream, start_us) r")
        out = []
        for line in rows.splitlines():
            r = json.loads(line)
            r["fragments"] = bytes.fromhex(r["fragments"][2:]) if r.get("fragments") else b""
            out.append(r)
        return out
    db = sqlite3.connect(h.data / "horus.db")
    try:
        db.row_factory = sqlite3.Row
        where, args = [], []
        if camera:
            where.append("camera_id = ?")
            args.append(camera)
        if stream:
            where.append("stream = ?")
            args.append(stream)
        sql = ("SELECT *, length(fragments) AS index_bytes FROM recordings"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY camera_id, stream, start_us")
        return [dict(r) for r in db.execute(sql, args)]
    finally:
        db.close()


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (bytes, bytearray)):
        return "'\\x" + bytes(v).hex() + "'"
    return "'" + str(v).replace("'", "''") + "'"


def _pg_sql(sql, args):
    """sql with each ? replaced by the literal of the next arg (test-written statements only:
    no ? inside their string literals)."""
    parts = sql.split("?")
    assert len(parts) == len(args) + 1, (sql, args)
    return parts[0] + "".join(_sql_literal(a) + p for a, p in zip(args, parts[1:]))


def index_rows(h, sql, args=()):
    """The rows (tuples) of a query on a daemon's index database, as another process reads
    it: SQLite's file in its data directory, or its PostgreSQL database. ? marks args."""
    if h.database_url:
        out = psql(h.database_url, f"SELECT row_to_json(q) FROM ({_pg_sql(sql, args)}) q")
        return [tuple(json.loads(line).values()) for line in out.splitlines()]
    db = sqlite3.connect(h.data / "horus.db", timeout=10)
    try:
        return [tuple(r) for r in db.execute(sql, args)]
    finally:
        db.close()


def index_exec(h, sql, many=((),)):
    """Runs a write statement on a daemon's index database from outside the daemon (as an
    operator, a crash or a tamperer would), once per args tuple in many; ? marks args."""
    if h.database_url:
        psql(h.database_url, "".join(_pg_sql(sql, args) + ";\n" for args in many))
        return
    db = sqlite3.connect(h.data / "horus.db", timeout=10)
    try:
        db.executemany(sql, many)
        db.commit()
    finally:
        db.close()


def index_bytes(h):
    """Everything a daemon's index database holds, as bytes: SQLite's file (and its WAL),
    or a dump of its PostgreSQL database. For checks that a secret is never stored."""
    if h.database_url:
        return subprocess.run(["pg_dump", "--data-only", h.database_url], check=True,
                              capture_output=True, timeout=60).stdout
    out = b""
    for name in ("horus.db", "horus.db-wal"):
        f = h.data / name
        if f.exists():
            out += f.read_bytes()
    return out


def synthesize_hours(h, hours):
    """Indexes copies of one recorded segment back to back, ending a day ago, so an
    export has hours of (repeated) video to read. Returns (start_ms, end_ms)."""
    seg = recording_rows(h, camera="cam")[0]
    dur = seg["end_us"] - seg["start_us"]
    count = int(hours * 3600e6 // dur)
    t0 = seg["start_us"] - 86_400_000_000 - count * dur
    if h.database_url:
        psql(h.database_url,
             "INSERT INTO recordings(camera_id, stream, start_us, end_us, path, bytes, codec,"
             " width, height, sha256, fragments, pinned_until_us) SELECT camera_id, stream,"
             f" {t0} + i * {dur}, {t0} + (i + 1) * {dur}, path, bytes, codec, width, height,"
             f" sha256, fragments, 0 FROM recordings, generate_series(CAST(0 AS BIGINT), {count - 1}) AS i"
             f" WHERE camera_id = '{seg['camera_id']}' AND stream = '{seg['stream']}'"
             f" AND start_us = {seg['start_us']}")
        return t0 // 1000, (t0 + count * dur) // 1000
    db = sqlite3.connect(h.data / "horus.db", timeout=10)
    try:
        db.executemany(
            "INSERT INTO recordings(camera_id, stream, start_us, end_us, path, bytes, codec,"
            " width, height, sha256, fragments, pinned_until_us) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [(seg["camera_id"], seg["stream"], t0 + i * dur, t0 + (i + 1) * dur, seg["path"],
              seg["bytes"], seg["codec"], seg["width"], seg["height"], seg["sha256"],
              seg["fragments"]) for i in range(count)])
        db.commit()
    finally:
        db.close()
    return t0 // 1000, (t0 + count * dur) // 1000


# --- The test OpenID Provider (tests/oidc/idp.mjs, npm's oidc-provider) ----------------------

OIDC_DIR = SOURCE_DIR / "tests" / "oidc"


class TestIdp:
    """A running tests/oidc/idp.mjs on 127.0.0.1: user alice, clients horus and horus-post."""

    __test__ = False  # not a pytest test class
    user = "alice"
    password = "alice-password"
    secret = "horus-secret"

    def __init__(self, tmp, redirect_uri, groups=("horus-viewers",), cameras=(),
                 access_token_ttl=300):
        node = require_tool("node")
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail("tests/oidc/node_modules is missing; run scripts/setup")
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = redirect_uri
        self.proc = Proc([node, OIDC_DIR / "idp.mjs", "--port", self.port, "--redirect-uri",
                          redirect_uri, "--user", self.user, "--password", self.password,
                          "--groups", ",".join(groups), "--cameras", ",".join(cameras),
                          "--access-token-ttl", str(access_token_ttl)],
                         tmp, "idp.log")
        wait_for_port(self.port, timeout=20, proc=self.proc.popen)

    def rotate(self):
        """Switches the IdP to a fresh key set (new kids); the old keys are unpublished."""
        req = urllib.request.Request(self.issuer + "/admin/rotate", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def client_credentials(self, client_id="horus"):
        """A JWT access token for the resource urn:horus:api (audience horus-api), with
        groups [horus-operators] and the --cameras given to the IdP."""
        import base64
        basic = base64.b64encode(f"{client_id}:{self.secret}".encode()).decode()
        body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "resource": "urn:horus:api", "scope": "api"}).encode()
        req = urllib.request.Request(self.issuer + "/token", data=body,
                                     headers={"Authorization": "Basic " + basic})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["access_token"]

    def login(self, authorize_url, password=None):
        """Acts as the browser: follows the IdP's redirects and fills its sign-in and
        consent forms. Returns the URL the IdP finally redirects to (the callback with
        code and state), or raises when the IdP answers something else."""
        import http.cookiejar
        import urllib.parse

        class Stop(urllib.request.HTTPRedirectHandler):
            def redirect_request(inner, req, fp, code, msg, headers, newurl):
                # issuer + "/": port 4123 must not pass for a Horus on port 41234
                if not newurl.startswith(self.issuer + "/"):
                    raise _Landed(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), Stop())
        try:
            with opener.open(authorize_url, timeout=10) as r:
                page = r.read().decode()
            for _ in range(4):
                action = re.search(r'<form method="post" action="([^"]+)"', page)
                if not action:
                    raise AssertionError(f"IdP page without a form: {page[:300]}")
                fields = {}
                if "/login" in action.group(1):
                    fields = {"login": self.user, "password": password or self.password}
                with opener.open(urllib.parse.urljoin(self.issuer, action.group(1)),
                                 data=urllib.parse.urlencode(fields).encode(), timeout=10) as r:
                    page = r.read().decode()
        except _Landed as landed:
            return landed.url
        raise AssertionError(f"IdP never redirected back: {page[:300]}")

    def stop(self):
        self.proc.stop()


class _Landed(Exception):
    def __init__(self, url):
        super().__init__(url)
        self.url = url


@pytest.fixture
def oidc_idp_factory(tmp_path):
    started = []

    def start(redirect_uri, **kw):
        idp = TestIdp(tmp_path, redirect_uri, **kw)
        started.append(idp)
        return idp

    yield start
    for idp in started:
        idp.stop()


def open_sealed_url(data_dir, cam_id, field, url):
    """A camera URL as stored in the database with its sealed password opened, by a reading of
    the format of docs/design/0019 independent of Horus's: AES-256-GCM under
    <data>/secret.key, bound to "camera <id> <field> <URL without the password>"."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    start = url.index("://") + 3
    end = start + next((i for i, ch in enumerate(url[start:]) if ch in "/?#"), len(url) - start)
    at = url.rfind("@", start, end)
    colon = url.find(":", start, at) if at >= 0 else -1
    if colon < 0 or not url[colon + 1:at].startswith("hsb1."):
        return url
    _, _, nonce, ct, tag = url[colon + 1:at].split(".")
    key = bytes.fromhex((Path(data_dir) / "secret.key").read_text().strip())
    aad = f"camera {cam_id} {field} {url[:colon + 1]}{url[at:]}".encode()
    plain = AESGCM(key).decrypt(bytes.fromhex(nonce), bytes.fromhex(ct + tag), aad)
    return url[:colon + 1] + plain.decode() + url[at:]
