"""The web UI's sign-in in a real browser (tests/e2e/ui_login.mjs): the first start's admin
changes its one-time password, wrong passwords and short new ones are refused in the page,
and an expired (revoked) session returns to the sign-in page and back."""
from ui_support import make_user, run_ui, ui_url


def test_sign_in_first_start_password_change_and_session_expiry(horus_factory, request):
    h = horus_factory()
    one_time = (h.data / "initial-admin-password").read_text().strip()
    user, password = make_user(h, "olivia", role="operator")
    out = run_ui("ui_login.mjs", {
        "base": ui_url(h, request), "admin_password": one_time,
        "new_admin_password": "a much better password", "key": h.api_key,
        "user": user, "password": password,
    })
    assert out["redirected_to_login"]
    assert "Wrong user name or password" in out["wrong_password_message"]
    assert "10" in out["short_password_message"], out["short_password_message"]
    assert out["after_change_path"] == "/cameras"
    assert out["revoked"] >= 1
    assert out["expired_notice"]
    assert out["sent_from"] in ("/exports", "/cameras"), out
    assert out["back_to"] == out["sent_from"], out
    assert out["login_axe"] == [] and out["forced_change_axe"] == [], out
    # The new password is the one that works now; the one-time one does not.
    st, _, _ = h.request("POST", "/api/v1/auth/login",
                         {"username": "admin", "password": one_time}, auth=False)
    assert st == 401
    st, _, _ = h.request("POST", "/api/v1/auth/login",
                         {"username": "admin", "password": "a much better password"}, auth=False)
    assert st == 200
