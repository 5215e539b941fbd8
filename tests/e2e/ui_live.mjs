// The live page in chromium: the grid plays, streams switch, offline cameras say so,
// layouts/order/group persist, players stop in a hidden tab, phone layout.
// Args: base, user, password. Prints one JSON line (see tests/integration/test_ui_live.py).
import { run, login, shot, axe, until } from './lib/ui.mjs';

const HLS_CHUNK = /hls[^/]*\.(m?js|ts)(\?|$)/i; // dev: hls__js.js, components/live/hls.ts; built: hls-*.js
const LIVE_CHUNK = /\/Live[-.][^/]*$/;

run('live', async ({ page, args }) => {
  const out = {};
  const { base } = args;
  const reqs = [];
  page.on('request', (r) => reqs.push(new URL(r.url()).pathname + new URL(r.url()).search));

  await login(page, base, args.user, args.password, { next: '/account' });
  out.hls_before_live = reqs.filter((u) => HLS_CHUNK.test(u.split('?')[0]));

  // A full navigation to /live: the first playing frame is marked by the player.
  const mark = reqs.length;
  await page.goto(`${base}/live`);
  const tile = (id) => `.live-tile[data-camera="${id}"]`;
  await until(page, () => document.querySelectorAll('.live-tile').length === 5, undefined, { what: '5 tiles' });
  const firstFrame = await until(page, () => {
    const m = performance.getEntriesByName('horus-live-first-frame')[0];
    return m ? Math.round(m.startTime) : false;
  }, undefined, { what: 'the first playing frame', timeout: 30000 });
  out.first_frame_ms = firstFrame;
  const after = reqs.slice(mark).map((u) => u.split('?')[0]);
  const liveAt = after.findIndex((u) => LIVE_CHUNK.test(u));
  const hlsAt = after.findIndex((u) => HLS_CHUNK.test(u));
  out.hls_after_live = liveAt >= 0 && hlsAt > liveAt ? after.filter((u) => HLS_CHUNK.test(u)) : [];

  const cams = ['cam1', 'cam2', 'cam3', 'cam4'];
  const sample = () => page.evaluate((cams) => Object.fromEntries(cams.map((c) => {
    const v = document.querySelector(`.live-tile[data-camera="${c}"] video`);
    return [c, { t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames }];
  })), cams);
  await until(page, (cams) => cams.every((c) => document.querySelector(`.live-tile[data-camera="${c}"] video`).currentTime > 0),
    cams, { what: 'all four tiles playing', timeout: 30000 });
  out.before = await sample();
  // The read-out, once a second over four seconds: the lowest per tile (a loaded
  // machine makes single readings jumpy).
  const readLatency = () => page.evaluate((cams) => Object.fromEntries(cams.map((c) => {
    const el = document.querySelector(`.live-tile[data-camera="${c}"] .live-latency`);
    const v = el ? el.dataset.latencyMs : '';
    return [c, v ? Number(v) : null];
  })), cams);
  out.latency_samples = [];
  for (let i = 0; i < 4; i++) {
    await page.waitForTimeout(1000);
    out.latency_samples.push(await readLatency());
  }
  out.after = await sample();
  out.latency_ms = Object.fromEntries(cams.map((c) => {
    const vals = out.latency_samples.map((s) => s[c]).filter((v) => v !== null);
    return [c, vals.length ? Math.min(...vals) : null];
  }));
  out.cam4_tile_stream = await page.getAttribute(`${tile('cam4')} .live-player`, 'data-stream');
  out.sub_requests = reqs.filter((u) => u.startsWith('/api/v1/cameras/cam4/live/') && u.includes('stream=sub')).length;

  // The camera on a closed port: badge and overlay, and no playlist asked for it.
  await until(page, (sel) => /Offline|Reconnecting|Connecting/.test(document.querySelector(sel)?.textContent || ''),
    `${tile('gate')} .tile-badges`, { what: 'the offline badge of gate' });
  out.gate_badges = await page.locator(`${tile('gate')} .tile-badge`).allTextContents();
  out.gate_overlay = await page.locator(`${tile('gate')} .live-player-overlay`).textContent();
  out.gate_requests = reqs.filter((u) => u.startsWith('/api/v1/cameras/gate/live/')).length;

  out.axe_grid = await axe(page);
  await shot(page, 'live-grid-light');
  await page.getByRole('button', { name: /Switch to dark theme/ }).click();
  await page.waitForTimeout(300);
  out.axe_dark = await axe(page);
  await shot(page, 'live-grid-dark');

  // Snapshot download.
  await page.hover(tile('cam1'));
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    page.getByRole('button', { name: 'Snapshot of Camera 1' }).click(),
  ]);
  out.snapshot_name = download.suggestedFilename();
  const fs = await import('node:fs');
  out.snapshot_bytes = fs.statSync(await download.path()).size;

  // Enlarge cam4 with the keyboard: the main stream plays; Esc returns to the grid.
  await page.focus(tile('cam4'));
  const enlargeMark = reqs.length;
  await page.keyboard.press('Enter');
  await page.waitForURL(/camera=cam4/);
  out.enlarged_url = new URL(page.url()).pathname + new URL(page.url()).search;
  await until(page, () => document.querySelectorAll('.live-tile').length === 1, undefined, { what: 'one large tile' });
  out.enlarged_stream = await page.getAttribute('.live-tile .live-player', 'data-stream');
  await until(page, () => document.querySelector('.live-tile video').currentTime > 0.5, undefined,
    { what: 'the enlarged tile playing', timeout: 30000 });
  out.enlarged_played = await page.evaluate(() => document.querySelector('.live-tile video').currentTime);
  out.main_requests_after_enlarge = reqs.slice(enlargeMark)
    .filter((u) => u.startsWith('/api/v1/cameras/cam4/live/') && !u.includes('stream=sub')).length;
  out.axe_enlarged = await axe(page);
  await shot(page, 'live-enlarged');
  await page.keyboard.press('Escape');
  await until(page, () => document.querySelectorAll('.live-tile').length === 5, undefined, { what: 'the grid again' });
  out.after_escape_tiles = await page.locator('.live-tile').count();
  out.focus_after_escape = await page.evaluate(() => document.activeElement?.dataset?.camera || null);

  // Layout of four: two pages.
  await page.getByRole('button', { name: 'Four tiles' }).click();
  await until(page, () => document.querySelectorAll('.live-tile').length === 4, undefined, { what: 'four tiles' });
  out.pager = (await page.locator('.live-pager span').textContent()).trim();
  const order = () => page.$$eval('.live-tile', (els) => els.map((e) => e.dataset.camera));
  // Keyboard reorder: cam1's menu (Enter), Tab past the disabled "Move earlier" to
  // "Move later", Enter. Focus stays on that button, in cam1's tile.
  await page.focus(`${tile('cam1')} summary`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  out.menu_focus = await page.evaluate(() => document.activeElement?.textContent);
  await page.keyboard.press('Enter');
  await until(page, () => document.querySelector('.live-tile')?.dataset.camera === 'cam2', undefined, { what: 'cam2 first' });
  out.order_after_keyboard = await order();
  await page.waitForTimeout(300);
  out.focus_after_move = await page.evaluate(() => {
    const a = document.activeElement;
    return a ? `${a.closest('.live-tile')?.dataset.camera}:${a.textContent}` : null;
  });
  await page.keyboard.press('Escape');
  // Drag cam3 onto the first tile (cam2).
  await page.dragAndDrop(tile('cam3'), tile('cam2'));
  await until(page, () => document.querySelector('.live-tile')?.dataset.camera === 'cam3', undefined, { what: 'cam3 first after drag' });
  out.order_after_drag = await order();
  await shot(page, 'live-four');

  // Group filter, then a reload keeps layout, group and order (saved per user).
  await page.getByLabel('Group').selectOption('yard');
  await until(page, () => document.querySelectorAll('.live-tile').length === 1, undefined, { what: 'the yard group' });
  out.yard_tiles = await order();
  await page.waitForTimeout(1200); // the save is debounced
  await page.reload();
  await until(page, () => document.querySelectorAll('.live-tile').length >= 1, undefined, { what: 'tiles after reload' });
  out.after_reload = {
    layout: await page.locator('.live-layouts [aria-pressed="true"]').getAttribute('data-layout'),
    group: await page.getByLabel('Group').inputValue(),
    tiles: await order(),
  };
  // Where they were kept: the server (auth/preferences) or, while it has no such route,
  // this browser.
  out.saved = await page.evaluate(async () => {
    const r = await fetch('/api/v1/auth/preferences', { credentials: 'same-origin' });
    return { status: r.status, server: r.ok ? await r.json() : null,
             local: JSON.parse(localStorage.getItem('horus.live') || 'null') };
  });
  await page.getByLabel('Group').selectOption('');
  await page.getByRole('button', { name: 'Automatic layout' }).click();
  await until(page, (cams) => cams.every((c) => document.querySelector(`.live-tile[data-camera="${c}"] .live-player`)?.dataset.state === 'playing'),
    cams, { what: 'playing again after reload', timeout: 30000 });

  // A hidden tab stops every player and frees its media; visible again, they play.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForTimeout(500);
  const hidden = await page.$$eval('.live-player', (els) => els.map((e) => ({ s: e.dataset.state, src: e.querySelector('video').getAttribute('src') || '' })));
  out.hidden_states = hidden.map((h) => h.s);
  out.hidden_srcs = hidden.map((h) => h.src);
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await until(page, () => [...document.querySelectorAll('.live-player')].filter((e) => e.dataset.state === 'playing').length >= 4,
    undefined, { what: 'playing after the tab is visible', timeout: 30000 });
  out.visible_again_playing = await page.$$eval('.live-player', (els) => els.filter((e) => e.dataset.state === 'playing').length);

  // Phone width: one column.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  out.phone_columns = await page.$eval('.live-grid', (g) => getComputedStyle(g).gridTemplateColumns.split(' ').length);
  await shot(page, 'live-phone');
  return out;
}, { allow: ['status of 404', 'status of 401'] });
