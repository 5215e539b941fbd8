// The Exports page in chromium. Empty first; then export jobs created through the API (with
// the admin key, as the History page would) appear: a short one finishes, a long one runs with
// a progress bar and a second waits queued behind it (exports.workers is 1). The queued and the
// running one are cancelled through the confirmation and show why; the finished one downloads
// through its link; a viewer sees the list without cancel/delete; the operator deletes the
// finished one. Screenshots in both themes and at 390 px.
// Args: base, key, operator, viewer, password, camera, short {start,end}, long {start,end},
// download_path.
import { run, shot, axe, until, login, setTheme, signOut } from './lib/ui.mjs';

run('exports', async ({ page, args }) => {
  const out = { axe: {} };
  const { base } = args;
  const auth = { Authorization: `Bearer ${args.key}`, 'Content-Type': 'application/json' };
  const create = async (range) => {
    const r = await fetch(`${base}/api/v1/exports`, { method: 'POST', headers: auth,
                                                        body: JSON.stringify({ camera: args.camera, ...range }) });
    const body = await r.json();
    if (r.status !== 202) throw new Error(`POST /api/v1/exports: ${r.status} ${JSON.stringify(body)}`);
    return body.id;
  };
  const item = (id) => page.locator(`li[data-export="${id}"]`);
  const stateOf = (id) => item(id).getAttribute('data-state');

  await login(page, base, args.operator, args.password, { next: '/exports' });
  await page.getByText('No exports yet').waitFor({ timeout: 15000 });
  out.axe.empty = await axe(page);
  await shot(page, 'exports-empty');

  const done = await create(args.short);
  const running = await create(args.long);
  const queued = await create(args.long);
  out.ids = { done, running, queued };
  await page.reload();
  await item(done).waitFor({ timeout: 15000 });
  // The long ones show a progress bar while queued or running.
  await until(page, (ids) => ids.some((id) => document.querySelector(`li[data-export="${id}"] progress`)),
              [running, queued], { what: 'a progress bar' });
  out.states_seen = { running: await stateOf(running), queued: await stateOf(queued) };
  out.progress_bars = await page.locator('progress').count();
  out.queued_text = await item(queued).innerText();
  out.axe.progress = await axe(page);
  await shot(page, 'exports-progress-light');
  await setTheme(page, 'dark');
  await shot(page, 'exports-progress-dark');
  out.axe.progress_dark = await axe(page);
  await setTheme(page, 'light');

  // Cancel the queued job, then the running one (if it has not finished meanwhile).
  for (const id of [queued, running]) {
    const btn = item(id).getByRole('button', { name: /^(Cancel|Delete) the export/ });
    const label = await btn.innerText();
    await btn.click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    if (id === queued) {
      out.cancel_dialog = await dialog.innerText();
      await shot(page, 'exports-cancel-confirm');
    }
    await dialog.getByRole('button', { name: label === 'Cancel' ? 'Cancel export' : 'Delete export' }).click();
    await dialog.waitFor({ state: 'hidden' });
  }
  await until(page, (id) => document.querySelector(`li[data-export="${id}"]`)?.dataset.state === 'cancelled',
              queued, { what: 'the queued export cancelled' });
  out.cancelled_text = await item(queued).innerText();

  // The finished one downloads through its link.
  await until(page, (id) => document.querySelector(`li[data-export="${id}"]`)?.dataset.state === 'done',
              done, { timeout: 60000, what: 'the short export done' });
  out.done_text = await item(done).innerText();
  out.history_link = await item(done).getByRole('link', { name: 'Lobby', exact: true }).getAttribute('href');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 30000 }),
    item(done).getByRole('link', { name: /^Download/ }).click(),
  ]);
  await download.saveAs(args.download_path);
  out.download_name = download.suggestedFilename();
  const job = await (await fetch(`${base}/api/v1/exports/${done}`, { headers: auth })).json();
  out.done_job = job;
  out.axe.list = await axe(page);
  await shot(page, 'exports-list-light');
  await setTheme(page, 'dark');
  await shot(page, 'exports-list-dark');
  await setTheme(page, 'light');
  await signOut(page);

  // A viewer: the list and the download, no cancel or delete.
  await login(page, base, args.viewer, args.password, { next: '/exports' });
  await item(done).waitFor({ timeout: 15000 });
  out.viewer_download = await item(done).getByRole('link', { name: /^Download/ }).count();
  out.viewer_remove = await page.getByRole('button', { name: /^(Cancel|Delete) the export/ }).count();
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'exports-viewer-390');
  out.overflow_390 = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  out.axe.viewer = await axe(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await signOut(page);

  // The operator deletes the finished export.
  await login(page, base, args.operator, args.password, { next: '/exports' });
  await item(done).getByRole('button', { name: /^Delete the export/ }).click();
  const dialog = page.getByRole('dialog');
  out.delete_dialog = await dialog.innerText();
  await dialog.getByRole('button', { name: 'Delete export' }).click();
  await item(done).waitFor({ state: 'detached', timeout: 10000 });
  await page.getByText('Export deleted.').waitFor();
  out.deleted = true;
  out.left = await page.locator('li[data-export]').evaluateAll((els) => els.map((e) => [e.dataset.export, e.dataset.state]));
  return out;
}, { allow: ['Failed to load resource: the server responded with a status of (401|404)'] });
