"""Configuration as a user meets it: check-config, errors with positions,
secret references and masking, and SIGHUP reload that keeps the old
configuration when the new one is invalid."""
import json
import os
import re
import signal
import subprocess
import time

from conftest import HORUS_BIN, SOURCE_DIR

GOOD = """\
server:
  listen: "127.0.0.1:8080"
storage:
  path: "./data"
  min_free_percent: 5
log:
  level: info
  format: json
cameras:
  - id: front_door
    name: "Front door"
    url: "rtsp://admin:${CAM_PASS}@192.0.2.10:554/stream1"
    record:
      retention_days: 14
      max_bytes: 500GiB
"""


def check(tmp_path, text, *extra, env=None):
    path = tmp_path / "horus.yaml"
    path.write_text(text)
    full_env = dict(os.environ, CAM_PASS="hunter2secret")
    full_env.update(env or {})
    return subprocess.run([HORUS_BIN, "check-config", *extra, str(path)], capture_output=True,
                          text=True, env=full_env, cwd=tmp_path)


def test_the_sample_config_in_the_repository_is_valid(tmp_path):
    r = subprocess.run([HORUS_BIN, "check-config", str(SOURCE_DIR / "horus.yaml")],
                       capture_output=True, text=True,
                       env=dict(os.environ, FRONT_PASS="x", GARAGE_PASS="y"))
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout


def test_a_valid_file_exits_zero(tmp_path):
    r = check(tmp_path, GOOD)
    assert r.returncode == 0, r.stderr


def test_a_typo_exits_two_naming_file_line_column_and_key(tmp_path):
    r = check(tmp_path, GOOD.replace("retention_days", "retension_days"))
    assert r.returncode == 2
    assert re.search(r"horus\.yaml:14:7: cameras\[0\]\.record\.retension_days: unknown key",
                     r.stderr), r.stderr
    assert "retention_days" in r.stderr  # the suggestion


def test_a_yaml_syntax_error_cites_its_position(tmp_path):
    r = check(tmp_path, "server:\n  listen: [unclosed\nlog:\n  level: info\n")
    assert r.returncode == 2
    assert re.search(r"horus\.yaml:\d+:\d+: ", r.stderr), r.stderr


def test_wrong_types_and_bounds_name_the_key(tmp_path):
    bad = GOOD.replace("min_free_percent: 5", "min_free_percent: lots").replace(
        "level: info", "level: loud")
    r = check(tmp_path, bad)
    assert r.returncode == 2
    assert re.search(r"horus\.yaml:5:21: storage\.min_free_percent: ", r.stderr), r.stderr
    assert re.search(r"horus\.yaml:7:10: log\.level: .*error.*trace", r.stderr), r.stderr


def test_invalid_camera_values_are_reported_per_camera(tmp_path):
    bad = GOOD + """\
  - id: "Bad Id"
    url: "http://example.invalid/"
  - id: front_door
    url: "rtsp://192.0.2.11/"
"""
    r = check(tmp_path, bad)
    assert r.returncode == 2
    assert "cameras[1].id" in r.stderr
    assert "cameras[1].url: must start with rtsp://" in r.stderr


def test_an_unparsable_camera_url_is_refused_with_its_position(tmp_path):
    for url, reason in [("rtsp:///stream1", "has no host"),
                        ("rtsp://192.0.2.10:70000/s", "port must be a number 1..65535"),
                        ("rtsp://192.0.2.10/a b", "must not contain spaces")]:
        r = check(tmp_path, GOOD.replace("rtsp://admin:${CAM_PASS}@192.0.2.10:554/stream1", url))
        assert r.returncode == 2, r.stderr
        assert re.search(r"horus\.yaml:12:\d+: cameras\[0\]\.url: " + re.escape(reason),
                         r.stderr), r.stderr
    # The password never shows in the reason.
    r = check(tmp_path, GOOD.replace("192.0.2.10:554", "192.0.2.10:0"))
    assert r.returncode == 2
    assert re.search(r"horus\.yaml:12:\d+: cameras\[0\]\.url: port must be", r.stderr), r.stderr
    assert "hunter2secret" not in r.stderr
    r = check(tmp_path, GOOD + """\
  - id: side
    url: "rtsp://192.0.2.11/"
    sub_url: "rtsp://:554/sub"
""")
    assert r.returncode == 2
    assert re.search(r"horus\.yaml:\d+:\d+: cameras\[1\]\.sub_url: has no host", r.stderr), \
        r.stderr


def test_duplicate_camera_ids_are_refused(tmp_path):
    r = check(tmp_path, GOOD + """\
  - id: front_door
    url: "rtsp://192.0.2.11/"
""")
    assert r.returncode == 2
    assert "duplicate camera id 'front_door'" in r.stderr


def test_a_missing_environment_variable_is_named(tmp_path):
    r = check(tmp_path, GOOD, env={"CAM_PASS": ""})
    env = dict(os.environ)
    env.pop("CAM_PASS", None)
    path = tmp_path / "horus.yaml"
    r = subprocess.run([HORUS_BIN, "check-config", str(path)], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 2
    assert "CAM_PASS" in r.stderr
    assert re.search(r"horus\.yaml:12:\d+: cameras\[0\]\.url", r.stderr), r.stderr


def test_print_masks_secrets(tmp_path):
    r = check(tmp_path, GOOD, "--print")
    assert r.returncode == 0, r.stderr
    assert "hunter2secret" not in r.stdout
    cfg = json.loads(r.stdout)
    assert cfg["cameras"][0]["url"] == "rtsp://admin:***@192.0.2.10:554/stream1"
    assert cfg["cameras"][0]["record"]["max_bytes"] == 500 * 1024 ** 3


def test_secrets_never_reach_the_api_or_the_log(horus_factory):
    h = horus_factory(GOOD.replace('listen: "127.0.0.1:8080"', 'listen: "127.0.0.1:1"')
                      .replace("level: info", "level: debug"),
                      env={"CAM_PASS": "hunter2secret"})
    status, cfg = h.get_json("/api/v1/system/config")
    assert status == 200
    assert "hunter2secret" not in json.dumps(cfg)
    assert cfg["cameras"][0]["url"].startswith("rtsp://admin:***@")
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda l: l.get("msg") == "configuration reloaded")
    assert h.stop() == 0  # flushes every buffered line
    assert "hunter2secret" not in h.proc.output()


def test_sighup_applies_a_valid_change(horus_factory):
    h = horus_factory(GOOD, env={"CAM_PASS": "pw"})
    assert h.get_json("/api/v1/system")[1]["log_level"] == "info"
    h.config_path.write_text(GOOD.replace("level: info", "level: debug"))
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda l: l.get("msg") == "configuration reloaded")
    assert h.get_json("/api/v1/system")[1]["log_level"] == "debug"


def test_sighup_with_a_broken_file_keeps_the_old_config_and_logs_why(horus_factory):
    h = horus_factory(GOOD, env={"CAM_PASS": "pw"})
    h.config_path.write_text(GOOD.replace("level: info", "level: verbose")
                             .replace("retention_days", "retension_days"))
    h.proc.signal(signal.SIGHUP)
    line = h.wait_for_log(lambda l: "keeping the previous configuration" in l.get("msg", ""))
    assert line["level"] == "error"
    msgs = " ".join(l.get("msg", "") for l in h.log_lines())
    assert "log.level" in msgs and "retension_days" in msgs
    _, cfg = h.get_json("/api/v1/system/config")
    assert cfg["log"]["level"] == "info"
    assert h.get_json("/health")[0] == 200
    _, _, metrics = h.request("GET", "/metrics")
    assert 'horus_config_reloads_total{result="failed"} 1' in metrics.decode()


def test_sighup_warns_when_a_change_needs_a_restart(horus_factory):
    h = horus_factory(GOOD, env={"CAM_PASS": "pw"})
    h.config_path.write_text(GOOD.replace("127.0.0.1:8080", "127.0.0.1:9999"))
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda l: "server.listen" in l.get("msg", "") and l.get("level") == "warn")
    assert h.get_json("/health")[0] == 200


def test_printed_config_masks_query_credentials_and_token_user_names(tmp_path):
    text = GOOD.replace("rtsp://admin:${CAM_PASS}@192.0.2.10:554/stream1",
                        "rtsp://192.0.2.10:554/stream1?password=hunter2query&token=tk5")
    text += ("  - id: back\n"
             "    url: \"rtsp://0123456789abcdef0123456789abcdef01234567@192.0.2.11/s\"\n")
    r = check(tmp_path, text, "--print")
    assert r.returncode == 0, r.stderr
    assert "password=***&token=***" in r.stdout
    assert "rtsp://***@192.0.2.11/s" in r.stdout
    for secret in ("hunter2query", "tk5", "0123456789abcdef"):
        assert secret not in r.stdout + r.stderr


def test_config_errors_never_quote_a_password(tmp_path):
    text = GOOD.replace('listen: "127.0.0.1:8080"', 'listen: "127.0.0.1:8080"\n  threads: '
                        '"rtsp://admin:hunter2hunter2hunter2hunter2@h/"')
    r = check(tmp_path, text)
    assert r.returncode == 2
    assert "server.threads" in r.stderr and "rtsp://admin:***@h/" in r.stderr, r.stderr
    assert "hunter2" not in r.stderr
