"""The web UI's admin pages and account page in a real browser (tests/e2e/ui_admin.mjs):
users (a bad name refused next to its field, a generated one-time password shown once), an
API key whose secret is shown once, the audit log filtered by action, the log level changed
on System; a viewer sees no admin page and the API refuses it; TOTP enrolment on the account
page and signing in with a code; and a policy that obliges a user to enrol landing on the
enrolment (issue 10 item 8)."""
import json

from ui_support import make_user, run_ui, ui_url


def add_camera(h, sim):
    status, _, body = h.request("POST", "/api/v1/cameras", {
        "id": "front", "name": "Front door", "url": sim.url(1), "groups": ["lobby"]})
    assert status == 201, body


def test_admin_pages_and_account(horus_factory, camsim_factory, request):
    sim = camsim_factory(args=["--size", "640x360", "--fps", "10", "--gop", "10"])
    h = horus_factory()
    add_camera(h, sim)
    admin, password = make_user(h, "ada", role="admin")
    out = run_ui("ui_admin.mjs", {
        "base": ui_url(h, request), "admin": admin, "password": password,
        "camera": "Front door", "viewer_password": "viewer's own password",
    }, timeout=240)
    assert all(v == [] for v in out["axe"].values()), out["axe"]
    # At 390 px wide nothing sticks out of the page (wide tables scroll in their own box).
    assert all(o["out"] == [] and o["scroll"] <= o["width"] for o in out["overflow"].values()), \
        out["overflow"]

    # Users: the bad name is refused next to its field; vera exists as created.
    assert "64 characters" in out["bad_name_error"], out["bad_name_error"]
    assert out["one_time_password_shown"]
    vera = out["vera_json"]  # read before the admin deletes her below
    assert vera["role"] == "viewer" and vera["cameras"] == ["front"], vera
    assert vera["mfa"] == "enrolled" and not vera["must_change_password"], vera
    assert "viewer" in out["vera_row"] and "Must change password" in out["vera_row"], out["vera_row"]

    # The key's secret was shown once, works, and is not in the page after a reload.
    assert out["key_secret_ok"] and out["key_works"] == 200, out
    assert not out["secret_after_reload"]
    status, _, body = h.request("GET", "/api/v1/api-keys")
    keys = json.loads(body)["items"]
    assert any(k["name"] == "backup script" and k["role"] == "viewer" for k in keys), keys

    # The audit log filtered by action shows those actions.
    assert any("vera" in row for row in out["audit_user_created"]), out["audit_user_created"]
    assert any("backup script" in row or "apikey" in row for row in out["audit_key_created"]), out
    assert all("apikey.created" in row for row in out["audit_key_created"])
    ids = out["audit_paged_ids"]
    assert len(ids) == 4 and ids == sorted(set(ids), reverse=True), ids

    # The log level changed through the page is the server's.
    assert "debug" in out["log_level_notice"]
    assert out["log_level_api"] == "debug"
    status, _, body = h.request("GET", "/api/v1/system")
    assert json.loads(body)["log_level"] == "debug"
    assert "This session" in out["admin_current_session"]
    # Storage per camera (GET /api/v1/system/storage).
    assert not out["storage_unavailable"] and out["storage_cameras"] == ["front"], out

    # The viewer: no admin link, the page refused, and the API too.
    assert not {"Users", "API keys", "Audit", "System"} & set(out["viewer_nav"]), out["viewer_nav"]
    assert "cannot open" in out["viewer_forbidden"]
    assert out["viewer_users_api"] == 403

    # MFA: enrolled through the page, and the next sign-in needed a code.
    assert out["secret_grouped"] and out["otpauth_link"].startswith("otpauth://totp/"), out
    assert out["wrong_code_error"].strip(), out
    assert out["recovery_codes"] == 10
    assert out["mfa_on"]
    assert out["signed_in_with_code"] == "/live", out
    status, _, body = h.request("GET", "/api/v1/audit?action=mfa.enrolled")
    assert any(e["actor"]["name"] == "vera" for e in json.loads(body)["items"]), body

    # The admin saw her second factor, ended her session, reset, disabled, enabled and
    # deleted her, and revoked the key.
    assert out["vera_mfa_badge"].strip() == "On", out["vera_mfa_badge"]
    assert out["vera_session_ended"]
    assert "Disabled" in out["vera_disabled_row"]
    assert out["vera_deleted"]
    assert h.request("GET", "/api/v1/users/vera")[0] == 404
    assert "Revoked" in out["revoked_row"]
    assert out["key_after_revoke"] == 401
    status, _, body = h.request("GET", "/api/v1/audit?action=mfa.disabled")
    assert any(e["details"].get("proof") == "admin_reset" for e in json.loads(body)["items"]), body


def test_policy_obliges_enrolment_before_the_app(horus_factory, request):
    h = horus_factory("auth:\n  mfa: required\n")
    user, password = make_user(h, "otto", role="operator")
    out = run_ui("ui_admin.mjs", {"base": ui_url(h, request), "admin": user, "password": password,
                                  "mode": "forced"})
    assert out["axe"]["forced"] == [], out["axe"]
    assert out["forced_nav"] == 0
    assert out["recovery_codes"] == 10
    assert out["after_enrol_path"] == "/cameras", out
