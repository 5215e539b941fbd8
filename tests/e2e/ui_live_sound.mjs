// Sound on the live page over WebRTC, in chromium: a camera with AAC plays its
// tile over WHEP with an Opus track, the tile shows a speaker button, and after a
// click the element is unmuted and the browser decodes sound with energy in it (the
// camera's beep). A second tab on the same camera hears it too.
// Args: base, user, password, cam (a camera with sound), quiet (one without).
// Prints one JSON line (see tests/integration/test_ui_live_sound.py).
import { run, login, shot, until } from './lib/ui.mjs';

// Keeps every RTCPeerConnection the page makes, so that its stats can be read.
function keepPeers() {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...a) {
    const pc = new Orig(...a);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
}

// The newest connection's inbound audio: packets, samples, energy, concealment.
async function audioStats(page) {
  return page.evaluate(async () => {
    const pcs = window.__pcs.filter((p) => p.connectionState === 'connected');
    for (const pc of pcs.reverse()) {
      const stats = await pc.getStats();
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          const codec = s.codecId ? stats.get(s.codecId) : null;
          return {
            packets: s.packetsReceived || 0,
            samples: s.totalSamplesReceived || 0,
            energy: s.totalAudioEnergy || 0,
            concealed: s.concealedSamples || 0,
            codec: codec ? codec.mimeType : '',
          };
        }
      }
    }
    return null;
  });
}

run('live-sound', async ({ page, context, args }) => {
  const out = {};
  const { base, cam, quiet } = args;
  await context.addInitScript(keepPeers);
  await login(page, base, args.user, args.password, { next: '/account' });
  await page.goto(`${base}/live`);
  const tile = (id) => `.live-tile[data-camera="${id}"]`;
  await until(page, (ids) => ids.every((id) => {
    const p = document.querySelector(`.live-tile[data-camera="${id}"] .live-player`);
    return p && p.dataset.state === 'playing' && p.dataset.transport === 'webrtc';
  }), [cam, quiet], { what: 'both tiles playing over WebRTC', timeout: 45000 });
  // The speaker button shows on the camera with sound only.
  await page.waitForSelector(`${tile(cam)} .live-sound`, { timeout: 10000 });
  await page.waitForTimeout(1500); // the tiles' once-a-second check has run for both
  out.quiet_has_button = await page.locator(`${tile(quiet)} .live-sound`).count() > 0;
  out.muted_before = await page.evaluate((s) => document.querySelector(s).muted, `${tile(cam)} video`);
  const button = page.locator(`${tile(cam)} .live-sound`);
  out.label_before = await button.getAttribute('aria-label');
  await button.click();
  out.pressed = await button.getAttribute('aria-pressed');
  out.label_after = await button.getAttribute('aria-label');
  out.muted_after = await page.evaluate((s) => document.querySelector(s).muted, `${tile(cam)} video`);
  out.tiles_after_click = await page.locator('.live-tile').count(); // the click did not enlarge

  // Sound decoded over three seconds: packets, samples and energy all rise.
  out.a = await audioStats(page);
  await page.waitForTimeout(3000);
  out.b = await audioStats(page);
  await shot(page, 'live-sound');

  // A second tab on the same camera: one more listener, the same transcoder.
  const page2 = await context.newPage();
  await page2.goto(`${base}/live`);
  await until(page2, (id) => {
    const p = document.querySelector(`.live-tile[data-camera="${id}"] .live-player`);
    return p && p.dataset.state === 'playing' && p.dataset.transport === 'webrtc';
  }, cam, { what: 'the second tab playing', timeout: 45000 });
  await page2.waitForTimeout(2000);
  out.second = await audioStats(page2);
  out.second_tab_open = true;
  if (args.hold_ms) await page2.waitForTimeout(args.hold_ms);
  // Leaving the live page ends both sessions (the player's DELETE).
  await page2.goto(`${base}/account`);
  await page.goto(`${base}/account`);
  await page.waitForTimeout(1000);
  return out;
});
