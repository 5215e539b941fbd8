"""Camera passwords at rest (secrets.key, <data>/secret.key, `horus secrets
rotate`): the database rows hold no clear password, the camera still records
with the password camsim demands, plain rows from before are sealed at start,
rotation re-encrypts under a new key and the camera records after a restart,
and a wrong or missing key stops the start with an error naming the file."""
import os
import signal
import stat
import subprocess
import time

from conftest import (HORUS_BIN, Horus, index_bytes, index_exec, index_rows, open_sealed_url,
                      wait_until)

SMALL = ["--size", "320x240", "--fps", "15"]
PASSWORD = "s3cret-Pa55"


def camera_rows(h):
    return {r[0]: (r[1], r[2]) for r in index_rows(h, "SELECT id, url, sub_url FROM cameras")}


def streaming(h, cam_id):
    def check():
        status, body = h.get_json(f"/api/v1/cameras/{cam_id}")
        return status == 200 and body["status"]["state"] == "streaming"
    return check


def recording(h):
    return lambda: list(h.data.rglob("*.mp4.part")) or list(h.data.rglob("*.mp4"))


def start_on(horus_factory, data, name, config_text=None, env=None):
    """A daemon on an existing data directory."""
    h = horus_factory(config_text, extra_args=("--data", data), name=name, env=env)
    h.data = data
    return h


def restart(h, horus_factory, name, config_text=None):
    """A new daemon on h's data directory (h stopped first)."""
    assert h.stop() == 0
    return start_on(horus_factory, h.data, name, config_text)


def add_camera(h, sim, cam_id="door"):
    url = sim.url(1).replace("rtsp://", f"rtsp://admin:{PASSWORD}@")
    sub = sim.url(2).replace("rtsp://", f"rtsp://viewer:{PASSWORD}@")
    body = {"id": cam_id, "url": url, "sub_url": sub, "record": {"segment_seconds": 2}}
    status, _, reply = h.request("POST", "/api/v1/cameras", body)
    assert status == 201, reply
    assert PASSWORD.encode() not in reply


def test_camera_passwords_are_sealed_in_the_database_and_the_camera_records(
        camsim_factory, horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    key = h.data / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(key.read_text().strip()) == 64
    add_camera(h, sim)
    url, sub = camera_rows(h)["door"]
    for stored, user in ((url, "admin"), (sub, "viewer")):
        assert PASSWORD not in stored
        assert stored.startswith(f"rtsp://{user}:hsb1.") and f"@127.0.0.1:{sim.port}/" in stored
    # The stored form opens, by the format's description, to the URLs given.
    assert open_sealed_url(h.data, "door", "url", url).startswith(f"rtsp://admin:{PASSWORD}@")
    assert open_sealed_url(h.data, "door", "sub_url", sub).startswith(f"rtsp://viewer:{PASSWORD}@")
    status, body = h.get_json("/api/v1/cameras/door")
    assert status == 200 and PASSWORD not in str(body)
    assert body["url"].startswith("rtsp://admin:***@")
    wait_until(streaming(h, "door"), 15, "the camera to stream with its sealed password")
    wait_until(recording(h), 10, "recording")
    assert PASSWORD not in h.proc.output()
    assert key.read_text().strip() not in h.proc.output()


def test_plain_rows_from_before_are_sealed_at_start(camsim_factory, horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    h.stop()
    # A row as an older Horus wrote it: the password in clear.
    url = sim.url(1).replace("rtsp://", f"rtsp://admin:{PASSWORD}@")
    index_exec(h, "INSERT INTO cameras(id, name, url, sub_url, enabled, record_enabled,"
               " segment_seconds, retention_days, max_bytes, provisioned, created_at_ms,"
               " updated_at_ms) VALUES ('old', '', ?, '', 1, 1, 2, 0, 0, 0, 0, 0)", [(url,)])
    h2 = start_on(horus_factory, h.data, "again")
    stored = camera_rows(h2)["old"][0]
    assert PASSWORD not in stored and stored.startswith("rtsp://admin:hsb1.")
    h2.wait_for_log(lambda ln: "sealed 1 secrets stored in clear" in ln.get("msg", ""))
    wait_until(streaming(h2, "old"), 15, "the migrated camera to stream")
    # Idempotent: a second start seals nothing and changes nothing.
    h3 = restart(h2, horus_factory, "third")
    assert camera_rows(h3)["old"][0] == stored
    assert not any("sealed" in ln.get("msg", "") for ln in h3.log_lines())


def test_rotate_re_encrypts_and_the_camera_records_after_a_restart(camsim_factory,
                                                                   horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    add_camera(h, sim)
    before = camera_rows(h)["door"]
    old_key = (h.data / "secret.key").read_text()
    # Refused while the daemon holds the data directory.
    busy = subprocess.run([HORUS_BIN, "secrets", "rotate", *h.config_args(), "--data", h.data],
                          capture_output=True, text=True, timeout=30)
    assert busy.returncode == 1 and "in use" in busy.stderr
    assert h.stop() == 0
    r = subprocess.run([HORUS_BIN, "secrets", "rotate", *h.config_args(), "--data", h.data],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "2 secrets re-encrypted" in r.stdout
    new_key = (h.data / "secret.key").read_text()
    assert new_key != old_key
    assert not (h.data / "secret.key.new").exists()
    assert stat.S_IMODE((h.data / "secret.key").stat().st_mode) == 0o600
    after = camera_rows(h)["door"]
    for old, new in zip(before, after):
        assert new != old and ":hsb1." in new and PASSWORD not in new
        assert new.split(".")[1] != old.split(".")[1]  # another key id
    assert open_sealed_url(h.data, "door", "url", after[0]).startswith(f"rtsp://admin:{PASSWORD}@")
    h2 = start_on(horus_factory, h.data, "rotated")
    wait_until(streaming(h2, "door"), 15, "the camera to stream after the rotation")


def test_an_interrupted_rotation_is_settled_at_start(camsim_factory, horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    add_camera(h, sim)
    before = camera_rows(h)["door"]
    assert h.stop() == 0
    # A crash after writing the new key file but before the transaction: dropped.
    stray = h.data / "secret.key.new"
    stray.write_text(os.urandom(32).hex() + "\n")
    stray.chmod(0o600)
    h2 = start_on(horus_factory, h.data, "settled")
    h2.wait_for_log(lambda ln: "had not committed" in ln.get("msg", ""))
    assert not stray.exists()
    assert camera_rows(h2)["door"] == before
    wait_until(streaming(h2, "door"), 15, "the camera to stream")
    assert h2.stop() == 0
    # A crash after the transaction but before the rename: rebuild that state from a
    # finished rotation (new key back in .new, the old one in secret.key).
    key = h.data / "secret.key"
    old_key = key.read_text()
    r = subprocess.run([HORUS_BIN, "secrets", "rotate", *h.config_args(), "--data", h.data],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    new_key = key.read_text()
    key.rename(stray)
    key.write_text(old_key)
    key.chmod(0o600)
    h3 = start_on(horus_factory, h.data, "finished")
    h3.wait_for_log(lambda ln: "had committed" in ln.get("msg", ""))
    assert not stray.exists() and key.read_text() == new_key
    wait_until(streaming(h3, "door"), 15, "the camera to stream under the new key")


def test_a_wrong_or_missing_key_stops_the_start_naming_the_file(camsim_factory, horus_factory,
                                                               tmp_path):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    add_camera(h, sim)
    assert h.stop() == 0
    key = h.data / "secret.key"
    good = key.read_text()

    def start_fails(name, config_text=None):
        d = tmp_path / name
        d.mkdir()
        try:
            Horus(d, config_text, ("--data", h.data)).stop()
        except RuntimeError:
            return (d / "horus.log").read_text()
        raise AssertionError("horus started with the wrong key")

    key.write_text(os.urandom(32).hex() + "\n")
    log = start_fails("wrong")
    assert f"'{key}' holds key id" in log and "wrong key?" in log
    key.unlink()
    log = start_fails("missing")
    assert f"read secret key file '{key}'" in log and "restore the key file" in log
    assert not key.exists()  # not replaced by a fresh key while rows need the old one
    key.write_text(good)
    key.chmod(0o644)
    log = start_fails("mode")
    assert f"secret key file '{key}' must be" in log
    key.chmod(0o600)
    # The same key given by the configuration (secrets.key from ${ENV}) works.
    key.unlink()
    env_horus = start_on(horus_factory, h.data, "env", "secrets:\n  key: ${HORUS_TEST_KEY}\n",
                         env={"HORUS_TEST_KEY": good.strip()})
    wait_until(streaming(env_horus, "door"), 15, "the camera to stream with the key from env")
    assert not key.exists()
    assert good.strip() not in env_horus.proc.output()


def test_a_provisioned_camera_is_sealed_and_a_reload_leaves_it_alone(camsim_factory,
                                                                     horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    url = sim.url(1).replace("rtsp://", "rtsp://admin:${CAM_PASS}@")
    h = horus_factory(f"cameras:\n  - id: yard\n    url: \"{url}\"\n", env={"CAM_PASS": PASSWORD})
    stored = camera_rows(h)["yard"][0]
    assert stored.startswith("rtsp://admin:hsb1.") and PASSWORD not in stored
    wait_until(streaming(h, "yard"), 15, "the provisioned camera to stream")
    h.proc.signal(signal.SIGHUP)
    h.wait_for_log(lambda ln: ln.get("msg") == "configuration reloaded")
    assert camera_rows(h)["yard"][0] == stored  # same password: not rewritten


def test_a_password_edited_to_another_host_does_not_start_the_camera(camsim_factory,
                                                                     horus_factory):
    sim = camsim_factory([*SMALL, "--auth", f"admin:{PASSWORD}"], paths=2)
    h = horus_factory()
    add_camera(h, sim)
    wait_until(streaming(h, "door"), 15, "the camera to stream")
    assert h.stop() == 0
    url = camera_rows(h)["door"][0]
    index_exec(h, "UPDATE cameras SET url = ? WHERE id = 'door'",
               [(url.replace("@127.0.0.1:", "@127.0.0.2:"),)])
    h2 = start_on(horus_factory, h.data, "edited")
    line = h2.wait_for_log(lambda ln: "stored password" in ln.get("msg", ""))
    assert line["level"] == "error" and line["camera"] == "door"
    assert "does not open" in line["msg"]
    assert h2.get_json("/api/v1/cameras/door")[1]["status"]["state"] != "streaming"


def test_totp_secrets_are_sealed_and_logins_survive_a_restart_and_a_rotation(horus_factory):
    from test_mfa import Session, add_user, login, totp
    h = horus_factory()
    add_user(h, "mia", "viewer", "mia-password-1")
    secret, _ = Session(h, "mia", "mia-password-1").enrol()
    step = int(time.time() // 30)  # the confirming code's step (or the one before) is used

    def stored():
        return index_rows(h, "SELECT secret FROM user_mfa WHERE user_name = 'mia'")[0][0]
    row = stored()
    assert row.startswith("hsb1.") and secret not in row and secret.lower() not in row
    assert secret.encode() not in index_bytes(h)

    def login_with_next_code(d, offset):
        # A code of step + offset is fresh; the daemon accepts one step ahead of its clock.
        wait_until(lambda: time.time() // 30 >= step + offset - 1, 35, "the code's time step")
        status, _, body = login(d, "mia", "mia-password-1", totp=totp(secret, (step + offset) * 30))
        assert status == 200, body
    h2 = restart(h, horus_factory, "restarted")
    login_with_next_code(h2, 1)
    assert h2.stop() == 0
    r = subprocess.run([HORUS_BIN, "secrets", "rotate", *h.config_args(), "--data", h.data],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "1 secrets re-encrypted" in r.stdout
    rotated = stored()
    assert rotated.startswith("hsb1.") and rotated.split(".")[1] != row.split(".")[1]
    h3 = start_on(horus_factory, h.data, "rotated")
    login_with_next_code(h3, 2)
