"""The Cameras pages in a real browser (tests/e2e/ui_cameras.mjs) against a daemon with a
provisioned camsim camera: an operator probes and adds a second camsim camera through the form
(a wrong password is named, the right one shows codec, size and fps), it streams; a bad URL is
refused next to its field; a rename on the camera page keeps the stored password; delete asks
first; a viewer gets no controls, and the API refuses a viewer's change anyway.

camsim asks for a password, so the camera streaming again after the rename and a
disable/enable shows the PATCH kept the stored password (the form shows it masked)."""
import json

from ui_support import make_user, run_ui, ui_url


def test_operator_adds_probes_edits_and_deletes_a_camera_and_a_viewer_only_looks(
        horus_factory, camsim_factory, request):
    sim = camsim_factory(args=["--fps", "10", "--gop", "10", "--auth", "op:s3cret"], paths=2)
    cam1 = sim.url(1).replace("rtsp://", "rtsp://op:s3cret@")
    wrong = sim.url(1).replace("rtsp://", "rtsp://op:wrong@")
    h = horus_factory(f"cameras:\n  - id: gate\n    name: \"Gate\"\n    url: \"{cam1}\"\n"
                      f"    record:\n      segment_seconds: 4\n"
                      f"  - id: porch\n    name: \"Porch\"\n    url: \"{wrong}\"\n")
    operator, password = make_user(h, "olga", role="operator")
    viewer, _ = make_user(h, "victor", role="viewer")
    good = sim.url(2).replace("rtsp://", "rtsp://op:s3cret@")
    out = run_ui("ui_cameras.mjs", {
        "base": ui_url(h, request), "operator": operator, "viewer": viewer, "password": password,
        "url": good, "wrong_url": sim.url(2).replace("rtsp://", "rtsp://op:wrong@"),
        "bad_url": "http://127.0.0.1/cam2",
    }, timeout=300, allow_problems=("status of 400", "status of 401", "status of 404", "status of 503"))

    # The provisioned camera is read-only, with the reason.
    assert out["provisioned_note"] and out["provisioned_delete"] == 0, out
    # A camera that cannot connect shows why.
    assert "failed" in out["porch_card"] and "auth" in out["porch_card"].lower(), out
    assert "wrong" not in out["porch_card"], out
    # The probe names a wrong password, then shows what the camera sends.
    assert "auth_failed" in out["probe_wrong"] and "Authentication failed" in out["probe_wrong"], out
    assert "H.264" in out["probe_ok"] and "640×360" in out["probe_ok"] and "10 fps" in out["probe_ok"], out
    assert "s3cret" not in out["probe_ok"]
    assert out["yard_streaming"] and out["yard_sub_streaming"]
    assert out["suggested_id"] == "bad-one", out
    assert "Yard" in out["yard_card"] and "outside" in out["yard_card"], out
    # A bad URL: the server's reason under the field.
    assert "rtsp://" in out["bad_url_error"] and out["bad_url_invalid"] == "true", out
    # The camera page shows the URL masked, links to live and history, and refuses a URL
    # edited around the masked password.
    assert out["detail_url_value"] == sim.url(2).replace("rtsp://", "rtsp://op:***@"), out
    assert out["detail_live_link"] == "/live?camera=yard"
    assert out["detail_history_link"] == "/history/yard"
    assert "retype the password" in out["masked_edit_error"], out
    assert out["reenabled_streaming"]
    # Delete asked first, naming the camera and what happens to its recordings.
    assert "Back yard" in out["delete_dialog"] and "orphaned" in out["delete_dialog"], out
    assert out["still_there_after_cancel"] and out["deleted"]
    # A viewer sees no controls.
    assert out["viewer_add"] == 0 and out["viewer_edit"] == 0 and out["viewer_delete"] == 0, out
    assert out["viewer_form_disabled"] and out["viewer_save"] == 0 and out["viewer_manage"] == 0
    assert out["viewer_readonly_note"]
    assert not out["overflow_390"], "the list is wider than a 390 px phone"
    assert not out["overflow_add_390"] and not out["overflow_detail_390"], out
    for name, violations in out["axe"].items():
        assert violations == [], (name, violations)

    status, cams = h.get_json("/api/v1/cameras")
    assert status == 200 and [c["id"] for c in cams["items"]] == ["gate", "porch"], cams
    status, _ = h.get_json("/api/v1/cameras/yard")
    assert status == 404

    # The API refuses a viewer's change whatever the page shows.
    status, headers, body = h.request("POST", "/api/v1/auth/login",
                                      {"username": viewer, "password": password}, auth=False)
    assert status == 200, body
    token = headers["Set-Cookie"].split(";")[0]
    csrf = json.loads(body)["csrf_token"]
    status, _, body = h.request("POST", "/api/v1/cameras", {"id": "sneaky", "url": good},
                                headers={"Cookie": token, "X-CSRF-Token": csrf, "Origin": h.url},
                                auth=False)
    assert status == 403, body
    status, _, body = h.request("DELETE", "/api/v1/cameras/gate",
                                headers={"Cookie": token, "X-CSRF-Token": csrf, "Origin": h.url},
                                auth=False)
    assert status == 403, body

