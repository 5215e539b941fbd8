// The Events page and the camera page's analytics editor in chromium. Events posted through
// the API show newest first; the camera, label and score filters narrow the list and live in
// the URL; an event posted while the page is open appears at the top (SSE); its detail opens
// with a play-clip link and an export. On the camera page a zone (four clicks) and a tripwire
// (two clicks) are drawn on the picture and saved; a self-intersecting zone typed into its
// coordinates field is refused with the server's error next to it. Screenshots in both themes,
// desktop and 390 px; axe on each state.
// Args: base, user, password, api_key, camera.
import { run, shot, axe, until, login, setTheme } from './lib/ui.mjs';

async function narrow(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  await shot(page, name);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await page.setViewportSize({ width: 1280, height: 800 });
  return wide;
}

async function bothThemes(page, name, out) {
  await shot(page, `${name}-light`);
  await setTheme(page, 'dark');
  await shot(page, `${name}-dark`);
  out.axe[`${name}_dark`] = await axe(page);
  out.overflow[name] = await narrow(page, `${name}-390-dark`);
  await setTheme(page, 'light');
}

run('events', async ({ page, args }) => {
  const out = { axe: {}, overflow: {} };
  const { base } = args;
  const api = async (method, path, body) => {
    const r = await fetch(`${base}${path}`, {
      method, headers: { Authorization: `Bearer ${args.api_key}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  };
  const cards = page.locator('li.event-card');
  const labels = () => page.$$eval('li.event-card', (els) => els.map((e) => e.dataset.label));

  await login(page, base, args.user, args.password, { next: '/events' });
  await cards.first().waitFor({ timeout: 15000 });
  out.initial = await labels();
  await until(page, () => document.querySelector('[data-live]')?.dataset.live === 'live', undefined, { what: 'the live feed' });
  out.axe.list = await axe(page);
  await bothThemes(page, 'events-list', out);

  // Filters: camera, then score, then label; each in the URL.
  await page.getByLabel('Camera').selectOption(args.camera2);
  await until(page, () => document.querySelectorAll('li.event-card').length === 1, undefined, { what: 'the camera filter' });
  out.camera_filter = await labels();
  out.camera_query = new URL(page.url()).searchParams.get('camera');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByLabel('Min score (%)').fill('50');
  await page.getByLabel('Min score (%)').press('Enter');
  await page.getByLabel('Min score (%)').blur();
  await until(page, () => document.querySelectorAll('li.event-card').length === 2, undefined, { what: 'the score filter' });
  out.score_filter = await labels();
  out.score_query = new URL(page.url()).searchParams.get('min_score');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByLabel('Label').fill('car');
  await page.getByLabel('Label').blur();
  await until(page, () => document.querySelectorAll('li.event-card').length === 1, undefined, { what: 'the label filter' });
  out.label_filter = await labels();
  // A reload keeps the filter.
  await page.reload();
  await until(page, () => document.querySelectorAll('li.event-card').length === 1, undefined, { what: 'the filter after a reload' });
  out.label_after_reload = await page.getByLabel('Label').inputValue();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await until(page, () => document.querySelectorAll('li.event-card').length === 3, undefined, { what: 'all events again' });
  await until(page, () => document.querySelector('[data-live]')?.dataset.live === 'live', undefined, { what: 'the live feed again' });

  // Live: an event posted now appears at the top without a reload.
  const posted = await api('POST', '/api/v1/events', { camera: args.camera, label: 'dog', score: 0.66, duration_s: 2, zones: ['lawn'] });
  out.live_post_status = posted.status;
  await until(page, () => document.querySelector('li.event-card')?.dataset.label === 'dog', undefined, { timeout: 10000, what: 'the live event' });
  out.after_live = await labels();
  await shot(page, 'events-live-light');

  // Detail of the live event.
  await cards.first().locator('button.event-open').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.locator('.event-facts').waitFor();
  out.detail_text = await dialog.innerText();
  out.detail_query = new URL(page.url()).searchParams.get('event');
  out.play_href = await dialog.getByRole('link', { name: 'Play clip' }).getAttribute('href');
  out.axe.detail = await axe(page);
  await shot(page, 'events-detail-light');
  // The theme button is behind the modal: close, switch, open again.
  const reopen = async () => {
    await page.keyboard.press('Escape');
    await until(page, () => !document.querySelector('dialog[open]'), undefined, { what: 'the dialog to close' });
    await setTheme(page, (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark' ? 'light' : 'dark');
    await cards.first().locator('button.event-open').click();
    await dialog.locator('.event-facts').waitFor();
  };
  await reopen();
  await shot(page, 'events-detail-dark');
  out.axe.detail_dark = await axe(page);
  out.overflow.detail = await narrow(page, 'events-detail-390-dark');
  await reopen();
  await dialog.getByRole('button', { name: 'Export clip' }).click();
  await dialog.getByText(/Export started|Nothing recorded|no recording/i).first().waitFor({ timeout: 10000 }).catch(() => {});
  out.export_text = await dialog.locator('.notice, .form-error').first().innerText().catch(() => '');
  await dialog.getByRole('button', { name: 'Delete…' }).click();
  await dialog.getByRole('button', { name: 'Yes, delete' }).click();
  await until(page, () => !document.querySelector('dialog[open]'), undefined, { what: 'the dialog to close after delete' });
  out.after_delete = await labels();
  out.deleted_status = (await api('GET', `/api/v1/events/${posted.body.id}`)).status;

  // Paging: 55 events of one label, 50 on the first page, the rest after "Load more".
  for (let i = 0; i < 55; i++) {
    await api('POST', '/api/v1/events', { camera: args.camera2, label: 'bulk', start: Date.now() - 3600_000 + i * 1000, duration_s: 1 });
  }
  await page.goto(`${base}/events?label=bulk`);
  await until(page, () => document.querySelectorAll('li.event-card').length === 50, undefined, { what: 'the first page' });
  out.first_page = await cards.count();
  await page.getByRole('button', { name: 'Load more' }).click();
  await until(page, () => document.querySelectorAll('li.event-card').length === 55, undefined, { what: 'the second page' });
  out.after_more = await cards.count();
  out.end_text = await page.locator('.load-more').innerText();
  const ids = await page.$$eval('li.event-card', (els) => els.map((e) => e.dataset.event));
  out.paged_sorted = ids.every((id, i) => i === 0 || ids[i - 1] > id);

  // Analytics editor on the camera page.
  await page.goto(`${base}/cameras/${args.camera}`);
  const canvas = page.getByTestId('analytics-canvas');
  await page.getByRole('button', { name: 'Add zone' }).waitFor({ timeout: 15000 });
  await until(page, () => { const i = document.querySelector('.draw-area img'); return !i || i.complete; }, undefined, { what: 'the snapshot' });
  await canvas.scrollIntoViewIfNeeded();
  const click = async (x, y) => {
    const b = await canvas.boundingBox();
    await page.mouse.click(b.x + b.width * x, b.y + b.height * y);
  };
  await page.getByRole('button', { name: 'Add zone' }).click();
  for (const [x, y] of [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]]) await click(x, y);
  await page.getByRole('button', { name: 'Finish' }).click();
  await page.getByRole('button', { name: 'Add tripwire' }).click();
  await click(0.6, 0.5);
  await click(0.9, 0.5);
  out.arrow = await page.locator('.shape.tripwires line.dir').count();
  // Drag the zone's third point a little.
  await page.locator('li[data-shape="zones[0]"] legend button').click();
  {
    const b = await canvas.boundingBox();
    await page.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.6);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.55, b.y + b.height * 0.65, { steps: 4 });
    await page.mouse.up();
  }
  out.axe.editor = await axe(page);
  await bothThemes(page, 'analytics-editor', out);
  await page.getByRole('button', { name: 'Save analytics' }).click();
  await page.getByText('Analytics saved.').waitFor({ timeout: 10000 });
  out.saved = (await api('GET', `/api/v1/cameras/${args.camera}/analytics`)).body;

  // A self-intersecting zone typed in the coordinates field: the server's error next to it.
  await page.getByRole('button', { name: 'Add zone' }).click();
  await page.getByRole('button', { name: 'Finish' }).click();
  const pts = page.locator('li[data-shape="zones[1]"]').getByLabel('Points (x,y pairs, 0..1)');
  await pts.fill('0.1,0.1 0.4,0.4 0.4,0.1 0.1,0.4');
  await pts.press('Tab');
  await page.getByRole('button', { name: 'Save analytics' }).click();
  const err = page.locator('li[data-shape="zones[1]"] .shape-error');
  await err.waitFor({ timeout: 10000 });
  out.shape_error = await err.innerText();
  out.axe.editor_error = await axe(page);
  await bothThemes(page, 'analytics-error', out);
  out.after_error = (await api('GET', `/api/v1/cameras/${args.camera}/analytics`)).body;
  return out;
});
