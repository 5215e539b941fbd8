"""Sound over WebRTC in a real chromium (tests/e2e/ui_live_sound.mjs): camsim's AAC camera
(a 1 kHz beep each second) plays on the live page over WHEP with an Opus track; the tile
offers a speaker button (a camera without sound has none), a click unmutes it without
enlarging the tile, and chromium decodes Opus with energy in it. A second tab on the same
camera hears it too, and the server transcodes once for both: one transcoder, two sessions
with sound."""
import threading

from conftest import wait_until
from test_webrtc import free_udp_port
from ui_support import make_user, run_ui, ui_url


def test_a_camera_with_sound_plays_it_over_webrtc(horus_factory, camsim_factory, request):
    loud = camsim_factory(args=["--size", "640x360", "--fps", "15", "--gop", "15", "--audio"],
                          name="loud")
    quiet = camsim_factory(args=["--size", "640x360", "--fps", "15", "--gop", "15"],
                           name="quiet")
    h = horus_factory(
        f"webrtc:\n  udp_listen: \"127.0.0.1:{free_udp_port()}\"\n"
        "cameras:\n"
        f"  - id: door\n    name: \"Door\"\n    url: \"{loud.url(1)}\"\n"
        f"  - id: yard\n    name: \"Yard\"\n    url: \"{quiet.url(1)}\"\n")
    wait_until(lambda: all(c["status"]["webrtc"]["main"]
                           for c in h.get_json("/api/v1/cameras")[1]["items"]), 30,
               "both cameras playable over WebRTC")
    user, password = make_user(h, "olga", role="operator")

    # While the browser runs: how many sessions hear sound, and how many transcoders run.
    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            items = h.get_json("/api/v1/webrtc/sessions")[1]["items"]
            hearing = [s for s in items if s["camera"] == "door" and s["audio"]
                       and s["audio_packets"] > 0]
            seen.append((len(hearing), h.metric("horus_webrtc_audio_transcoders")))
            done.wait(0.5)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        out = run_ui("ui_live_sound.mjs",
                     {"base": ui_url(h, request), "user": user, "password": password,
                      "cam": "door", "quiet": "yard", "hold_ms": 3000},
                     timeout=180, )
    finally:
        done.set()
        t.join(5)
    a, b = out["a"], out["b"]
    print(f"\nsound over WebRTC: {a} -> {b}; second tab {out['second']}; "
          f"(sessions hearing, transcoders) seen: {sorted(set(seen))}")
    assert not out["quiet_has_button"]  # no sound, no speaker
    assert out["muted_before"] is True and out["label_before"] == "Play sound"
    assert out["pressed"] == "true" and out["label_after"] == "Mute sound"
    assert out["muted_after"] is False
    assert out["tiles_after_click"] == 2  # the click did not enlarge the tile
    assert a and b and a["codec"].lower() == "audio/opus", out
    # 20 ms frames: about 150 packets in 3 s; decoded at 48 kHz. Chromium counts the
    # energy of what it plays out: the beep (100 ms of a loud 1 kHz tone a second)
    # once unmuted; a silent or garbled track would add (next to) none.
    assert b["packets"] - a["packets"] > 100, (a, b)
    assert b["samples"] - a["samples"] > 48000 * 2, (a, b)
    assert b["energy"] - a["energy"] > 0.01, (a, b)
    # Concealment (lost or late packets) is a small part of what played.
    assert (b["concealed"] - a["concealed"]) < 0.2 * (b["samples"] - a["samples"]), (a, b)
    assert out["second"] and out["second"]["packets"] > 50, out["second"]
    # Two listeners of one camera, one transcoder; none once the pages are gone.
    assert any(n == 2 and x == 1 for n, x in seen), sorted(set(seen))
    assert all(x <= 1 for _, x in seen), sorted(set(seen))
    wait_until(lambda: h.metric("horus_webrtc_audio_transcoders") == 0, 15,
               "the transcoder freed with its last listener")
