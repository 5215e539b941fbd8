// The History page in chromium: the timeline of a recording camera, a click 2 minutes before
// now plays from that instant (the program date time of the frame on screen, from hls.js), the
// wheel zooms between the 5 minute and 7 day limits, hovering shows a thumbnail, keyboard
// shortcuts move the playhead, a second camera plays in sync, a shift+drag selection is
// exported and downloaded through the page, the calendar shows today as recorded, and axe
// finds nothing serious in either theme.
// Args: base, user, password, camera, second (another recording camera), download_dir.
import path from 'node:path';
import { run, login, shot, axe, until } from './lib/ui.mjs';

const MIN = 60000;

// The timeline's visible window and the canvas's box, to turn instants into pixels.
async function geometry(page) {
  return page.evaluate(() => {
    const wrap = document.querySelector('.tl-wrap');
    const canvas = wrap.querySelector('canvas');
    const r = canvas.getBoundingClientRect();
    return { start: Number(wrap.dataset.viewStart), span: Number(wrap.dataset.viewSpan),
             left: r.left, top: r.top, width: r.width, height: r.height, now: Date.now() };
  });
}

function xOf(g, t) {
  return g.left + ((t - g.start) / g.span) * g.width;
}

function tOf(g, x) {
  return g.start + ((x - g.left) / g.width) * g.span;
}

// A point in the primary camera's lane (the lanes start 30 px below the canvas top).
const laneY = (g) => g.top + 30 + 11;

async function primaryDates(page) {
  return page.evaluate(() => {
    const el = document.querySelector('.hist-player[data-primary="true"]');
    return { start: Number(el.dataset.startDate || 0), playing: Number(el.dataset.playingDate || 0), state: el.dataset.state };
  });
}

run('history', async ({ page, args }) => {
  const out = {};
  const { base, camera, second } = args;
  await login(page, base, args.user, args.password, { next: `/history/${camera}` });
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await page.getByRole('slider', { name: 'Timeline' }).waitFor();
  // Wait for the lane to have recordings (the canvas is drawn from them).
  await until(page, () => !document.querySelector('.tl-loading'), undefined, { what: 'timeline loaded' });
  await page.waitForTimeout(300);
  out.empty_notice = await page.locator('.hist-empty').count();

  // Click 2 minutes before now: playback starts at that instant.
  let g = await geometry(page);
  const clickX = Math.round(xOf(g, Date.now() - 2 * MIN));
  const clicked = tOf(g, clickX);
  await page.mouse.click(clickX, laneY(g));
  await until(page, () => {
    const el = document.querySelector('.hist-player[data-primary="true"]');
    return el && el.dataset.state === 'playing' && el.dataset.startDate;
  }, undefined, { timeout: 30000, what: 'playback from the clicked instant' });
  const d0 = await primaryDates(page);
  out.clicked = clicked;
  out.start_date = d0.start;
  out.start_offset_ms = d0.start - clicked;
  // It plays on: the program date time advances.
  await page.waitForTimeout(2500);
  const d1 = await primaryDates(page);
  out.advanced_ms = d1.playing - d0.playing;
  out.playhead_text = await page.getByTestId('playhead-time').textContent();
  out.query_t = await until(page, () => new URLSearchParams(window.location.search).get('t'), undefined, { what: 't in the query' });
  await shot(page, 'history-playing');

  // 4x plays four seconds of recording a second.
  await page.getByRole('button', { name: '4×' }).click();
  const s0 = (await primaryDates(page)).playing;
  await page.waitForTimeout(2000);
  out.fast_advanced_ms = (await primaryDates(page)).playing - s0;
  out.speed_query = new URL(page.url()).searchParams.get('speed');
  await page.getByRole('button', { name: '1×' }).click();
  await page.getByRole('slider', { name: 'Timeline' }).focus();

  // Keyboard: the timeline has focus after the click; ← steps back 10 s.
  const beforeKey = (await primaryDates(page)).playing;
  await page.keyboard.press('ArrowLeft');
  await until(page, (b) => {
    const el = document.querySelector('.hist-player[data-primary="true"]');
    return el.dataset.startDate && Number(el.dataset.startDate) < b - 5000;
  }, beforeKey, { timeout: 20000, what: 'the playhead 10 s back' });
  out.key_back_ms = beforeKey - (await primaryDates(page)).start;
  await page.keyboard.press('?');
  out.help_visible = await page.getByRole('region', { name: 'Keyboard shortcuts' }).isVisible();
  await shot(page, 'history-shortcuts');
  await page.keyboard.press('?');

  // Hover a recorded instant: a thumbnail of it.
  g = await geometry(page);
  await page.mouse.move(Math.round(xOf(g, Date.now() - 90 * 1000)), laneY(g));
  await until(page, () => {
    const img = document.querySelector('.tl-thumb:not(.loading) [data-testid="hover-thumb"]');
    return img && img.complete && img.naturalWidth === 160;
  }, undefined, { what: 'hover thumbnail' });
  out.thumb = true;
  await shot(page, 'history-hover-thumbnail');

  // Wheel zoom around the pointer: out to the 7 day limit, in to 5 minutes.
  const px = Math.round(xOf(g, Date.now() - 2 * MIN));
  const anchor = tOf(g, px);
  await page.mouse.move(px, laneY(g));
  for (let i = 0; i < 12; i++) await page.mouse.wheel(0, 400);
  await page.waitForTimeout(400);
  g = await geometry(page);
  out.zoom_out_span = g.span;
  await until(page, () => !document.querySelector('.tl-loading'), undefined, { what: 'timeline loaded (zoomed out)' });
  await shot(page, 'history-zoomed-out');
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, -400);
  await page.waitForTimeout(400);
  g = await geometry(page);
  out.zoom_in_span = g.span;
  // The instant under the pointer stayed there.
  out.anchor_drift_ms = Math.abs(tOf(g, px) - anchor);
  await until(page, () => !document.querySelector('.tl-loading'), undefined, { what: 'timeline loaded (zoomed in)' });
  await shot(page, 'history-zoomed-in');

  // Drag pans: bring the 20 s after the clicked instant to the middle.
  const selStart = out.clicked + 2000;
  let x1 = xOf(g, selStart + 20 * 1000);
  const panFrom = g.left + g.width / 2;
  const panBy = Math.round(x1 - (g.left + g.width * 0.6));
  await page.mouse.move(panFrom, laneY(g));
  await page.mouse.down();
  await page.mouse.move(panFrom - panBy / 2, laneY(g), { steps: 3 });
  await page.mouse.move(panFrom - panBy, laneY(g), { steps: 3 });
  await page.mouse.up();
  const g2 = await geometry(page);
  out.pan_ms = g.start - g2.start;
  out.pan_expected_ms = (-panBy / g.width) * g.span;
  g = g2;

  // Shift+drag selects 20 s, and the selection is exported and downloaded.
  const x0 = Math.round(xOf(g, selStart));
  x1 = Math.round(xOf(g, selStart + 20 * 1000));
  if (x0 < g.left || x1 > g.left + g.width) throw new Error(`selection off screen: ${x0}..${x1} in ${g.left}+${g.width}`);
  await page.keyboard.down('Shift');
  await page.mouse.move(x0, laneY(g));
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, laneY(g), { steps: 4 });
  await page.mouse.move(x1, laneY(g), { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  out.selected_ms = tOf(g, x1) - tOf(g, x0);
  out.selection_text = await page.getByTestId('selection').textContent();
  await shot(page, 'history-selection');
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  const link = page.getByRole('link', { name: 'Download' });
  await link.waitFor({ timeout: 60000 });
  out.export_state = await page.locator('.export-jobs li').first().getAttribute('data-state');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = path.join(args.download_dir, 'history-export.mp4');
  await download.saveAs(file);
  out.download = file;
  out.exports_link = await page.getByRole('link', { name: 'All exports' }).getAttribute('href');
  await shot(page, 'history-exported');

  // A second camera in sync with the first.
  await page.getByLabel('Add a camera in sync').selectOption(second);
  await until(page, () => document.querySelectorAll('.hist-player').length === 2, undefined, { what: 'second player' });
  // Seek both to a minute ago (a click on the zoomed-out timeline is coarse: use the keyboard).
  await page.getByRole('slider', { name: 'Timeline' }).focus();
  await page.keyboard.press('ArrowRight');
  await until(page, () => {
    const els = [...document.querySelectorAll('.hist-player')];
    return els.length === 2 && els.every((e) => e.dataset.state === 'playing' && e.dataset.playingDate);
  }, undefined, { timeout: 30000, what: 'both cameras playing' });
  await page.waitForTimeout(2000);
  out.sync_ms = await page.evaluate(() => {
    const [a, b] = [...document.querySelectorAll('.hist-player')].map((e) => Number(e.dataset.playingDate));
    return Math.abs(a - b);
  });
  out.with_query = new URL(page.url()).searchParams.get('with');
  await shot(page, 'history-two-cameras');

  // The calendar: today is recorded.
  await page.getByRole('button', { name: 'Calendar' }).click();
  const today = page.locator('.calendar-day.today');
  await until(page, () => {
    const b = document.querySelector('.calendar-day.today');
    return b && !b.disabled;
  }, undefined, { what: 'today recorded in the calendar' });
  out.today_label = await today.getAttribute('aria-label');
  await shot(page, 'history-calendar');
  out.axe_light = await axe(page);

  // Dark theme.
  await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  await page.waitForTimeout(300);
  await shot(page, 'history-dark');
  out.axe_dark = await axe(page);

  // A reload opens the same instant.
  const t = new URL(page.url()).searchParams.get('t');
  await page.reload();
  await until(page, () => document.querySelector('.hist-player[data-primary="true"]')?.dataset.startDate, undefined,
              { timeout: 30000, what: 'the instant after a reload' });
  out.reload_offset_ms = (await primaryDates(page)).start - Number(t);

  // A phone-sized window.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(500);
  out.phone_overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot(page, 'history-phone');

  // Two days back nothing is recorded: the page and the player say so.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}/history/${camera}?t=${Date.now() - 2 * 86400 * 1000}&z=300`);
  out.empty_text = await page.locator('.hist-empty').textContent({ timeout: 15000 });
  out.no_recording = await until(page, () => {
    const el = document.querySelector('.hist-player[data-primary="true"]');
    return el && el.dataset.state === 'no-recording' && el.querySelector('.hist-overlay')?.textContent;
  }, undefined, { what: 'the player saying nothing is recorded' });
  await shot(page, 'history-empty');
  // "Next gap" finds the recording days later (the server is asked: it is not in the view).
  await page.getByRole('button', { name: /Next gap/ }).click();
  const nextStart = await until(page, () => {
    const el = document.querySelector('.hist-player[data-primary="true"]');
    return el && el.dataset.state === 'playing' && el.dataset.startDate;
  }, undefined, { timeout: 30000, what: 'playback after Next gap' });
  out.next_gap_ago_ms = Date.now() - Number(nextStart);

  // A camera that does not exist.
  await page.goto(`${base}/history/no-such-camera`);
  out.gone_text = await page.getByText('This camera no longer exists').textContent({ timeout: 15000 });
  return out;
}, { allow: ['Failed to load resource: the server responded with a status of 40[14]'] });
