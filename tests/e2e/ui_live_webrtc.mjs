// The live page over WebRTC (WHEP) in chromium: how soon four tiles move, which
// transport each tile uses (an H.265 camera stays on LL-HLS), the latency read-out,
// the enlarged main stream, and the sessions ended when the page is left.
// Args: base, user, password, cams (the H.264 camera ids), hevc (the H.265 one),
// grid_only (stop after the grid's figures). Prints one JSON line (see
// tests/integration/test_ui_live_webrtc.py).
import { run, login, shot, until } from './lib/ui.mjs';

run('live-webrtc', async ({ page, args }) => {
  const out = {};
  const { base, cams, hevc } = args;
  const all = hevc ? [...cams, hevc] : cams;
  const reqs = [];
  page.on('request', (r) => reqs.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
  await login(page, base, args.user, args.password, { next: '/account' });

  // A full navigation to /live; every tile's first moving frame is timed from the
  // navigation's start (performance.now() in the new document).
  await page.goto(`${base}/live`);
  out.moving_ms = await until(page, (ids) => {
    const w = window;
    w.__moving = w.__moving || {};
    for (const id of ids) {
      const v = document.querySelector(`.live-tile[data-camera="${id}"] video`);
      if (v && !w.__moving[id] && v.currentTime > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 1) {
        w.__moving[id] = Math.round(performance.now());
      }
    }
    return ids.every((id) => w.__moving[id]) ? w.__moving : false;
  }, cams, { what: 'every H.264 tile moving', timeout: 45000 });
  out.transports = await page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id,
    document.querySelector(`.live-tile[data-camera="${id}"] .live-player`).dataset.transport])), all);

  // Frames advance, and the read-out (lowest of four readings a second apart).
  const sample = () => page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
    const v = document.querySelector(`.live-tile[data-camera="${id}"] video`);
    return [id, { t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames }];
  })), all);
  out.before = await sample();
  const samples = [];
  for (let i = 0; i < 4; i++) {
    await page.waitForTimeout(1000);
    samples.push(await page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
      const el = document.querySelector(`.live-tile[data-camera="${id}"] .live-latency`);
      return [id, el && el.dataset.latencyMs ? Number(el.dataset.latencyMs) : null];
    })), all));
  }
  out.after = await sample();
  out.latency_ms = Object.fromEntries(all.map((id) => {
    const vals = samples.map((s) => s[id]).filter((v) => v !== null);
    return [id, vals.length ? Math.min(...vals) : null];
  }));
  out.latency_label = await page.locator(`.live-tile[data-camera="${cams[0]}"] .live-latency`).textContent();
  out.whep_posts = Object.fromEntries(all.map((id) => [id,
    reqs.filter((r) => r.startsWith(`POST /api/v1/cameras/${id}/whep`)).length]));
  out.hls_requests = Object.fromEntries(all.map((id) => [id,
    reqs.filter((r) => r.startsWith(`GET /api/v1/cameras/${id}/live/`)).length]));
  if (hevc) {
    // Debian's chromium cannot decode H.265: the tile says so, naming the codec.
    out.hevc_message = await until(page, (id) => {
      const p = document.querySelector(`.live-tile[data-camera="${id}"] .live-player`);
      return p && p.dataset.state === 'error' ? p.querySelector('.live-player-overlay').textContent : false;
    }, hevc, { what: 'the H.265 tile\'s message', timeout: 30000 });
  }
  await shot(page, args.grid_only ? 'live-webrtc-limit' : 'live-webrtc');
  if (args.grid_only) return out;

  // Enlarge the first camera: its main stream, over WebRTC too.
  const mark = reqs.length;
  await page.focus(`.live-tile[data-camera="${cams[0]}"]`);
  await page.keyboard.press('Enter');
  await until(page, () => document.querySelectorAll('.live-tile').length === 1, undefined, { what: 'one large tile' });
  await until(page, () => {
    const p = document.querySelector('.live-tile .live-player');
    return p && p.dataset.stream === 'main' && p.dataset.state === 'playing'
      && document.querySelector('.live-tile video').currentTime > 0.5;
  }, undefined, { what: 'the enlarged tile playing', timeout: 30000 });
  out.enlarged = await page.evaluate(() => document.querySelector('.live-tile .live-player').dataset.transport);
  out.enlarged_posts = reqs.slice(mark).filter((r) => r.startsWith(`POST /api/v1/cameras/${cams[0]}/whep`));
  out.deletes_on_enlarge = reqs.slice(mark).filter((r) => r.startsWith('DELETE ') && r.includes('/whep/')).length;

  // Leaving the page ends the sessions (DELETE of each Location).
  const leave = reqs.length;
  await page.getByRole('link', { name: 'Cameras', exact: true }).click();
  await page.waitForURL(/\/cameras/);
  await page.waitForTimeout(1000);
  out.deletes_on_leave = reqs.slice(leave).filter((r) => r.startsWith('DELETE ') && r.includes('/whep/')).length;
  return out;
});
