// Real detections in the UI: a viewer sees the person events the detector made (with their
// snapshots, box drawn or not), the detail lists the tripwire crossings, and the camera page
// shows the detect status (running), the tripwire counters and the analytics read-only (the
// camera is declared in horus.yaml; a viewer cannot edit anyway). Screenshots in both themes.
// Args: base, user, password, camera.
import { run, shot, axe, until, login, setTheme } from './lib/ui.mjs';

run('events-detect', async ({ page, args }) => {
  const out = { axe: {} };
  const { base } = args;
  await login(page, base, args.user, args.password, { next: '/events?has_snapshot=true' });
  await page.locator('li.event-card').first().waitFor({ timeout: 15000 });
  await until(page, () => [...document.querySelectorAll('li.event-card img')].some((i) => i.complete && i.naturalWidth > 0),
              undefined, { what: 'a snapshot thumbnail' });
  out.cards = await page.locator('li.event-card').count();
  out.thumb_src = await page.locator('li.event-card img').first().getAttribute('src');
  out.axe.list = await axe(page);
  await shot(page, 'events-detect-list-light');
  await setTheme(page, 'dark');
  await shot(page, 'events-detect-list-dark');
  out.axe.list_dark = await axe(page);
  await setTheme(page, 'light');

  // The detail of an event that crossed the tripwire, if one did; else the newest.
  const crossed = await page.evaluate(async () => {
    const r = await fetch('/api/v1/events?has_snapshot=true&limit=100');
    const j = await r.json();
    return (j.items.find((e) => e.details?.crossings?.length) || j.items[0]).id;
  });
  await page.locator(`li.event-card[data-event="${crossed}"] button.event-open`).click().catch(async () => {
    await page.goto(`${base}/events?has_snapshot=true&event=${crossed}`);
  });
  const dialog = page.getByRole('dialog');
  await dialog.locator('.event-facts').waitFor({ timeout: 15000 });
  const big = dialog.locator('figure img');
  await until(page, () => { const i = document.querySelector('dialog figure img'); return i && i.complete && i.naturalWidth > 0; },
              undefined, { what: 'the large snapshot' });
  out.big_src_box = await big.getAttribute('src');
  await dialog.getByLabel('Show the box').uncheck();
  out.big_src_nobox = await big.getAttribute('src');
  await dialog.getByLabel('Show the box').check();
  out.detail_text = await dialog.innerText();
  out.export_buttons = await dialog.getByRole('button', { name: 'Export clip' }).count();
  out.axe.detail = await axe(page);
  await shot(page, 'events-detect-detail-light');
  await page.keyboard.press('Escape');

  await page.goto(`${base}/cameras/${args.camera}`);
  await until(page, () => document.querySelector('[data-detect-state]')?.dataset.detectState === 'running',
              undefined, { timeout: 20000, what: 'detection running' });
  await page.locator('.counter-table').waitFor({ timeout: 15000 });
  out.counters_text = await page.locator('.counter-table').innerText();
  out.add_zone_buttons = await page.getByRole('button', { name: 'Add zone' }).count();
  out.shapes = await page.$$eval('.shape-list li[data-shape]', (els) => els.map((e) => e.dataset.shape));
  out.axe.camera = await axe(page);
  await shot(page, 'analytics-detect-light');
  await setTheme(page, 'dark');
  await shot(page, 'analytics-detect-dark');
  out.axe.camera_dark = await axe(page);
  return out;
});
