// The Cameras pages in chromium. An operator adds a camsim camera through the form: a probe
// with a wrong password names the failure, the right one shows codec, size and fps; saved, the
// camera appears and turns streaming. A bad URL shows the server's error next to the field.
// On the camera page a rename keeps the stored password (the camera streams again after a
// disable/enable), a URL edited around the masked password is refused. Delete asks first.
// A viewer sees no add/edit/delete controls. Screenshots of every state, in both themes.
// Args: base, operator, viewer, password, url (camsim with credentials), wrong_url, bad_url.
import { run, shot, axe, until, login, setTheme, signOut } from './lib/ui.mjs';

async function narrow(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, name);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  await page.setViewportSize({ width: 1280, height: 800 });
  return wide;
}

run('cameras', async ({ page, args }) => {
  const out = { axe: {} };
  const { base } = args;
  const card = (id) => page.locator(`li[data-camera="${id}"]`);

  await login(page, base, args.operator, args.password, { next: '/cameras' });
  await card('gate').waitFor({ timeout: 15000 });
  await until(page, () => document.querySelector('li[data-camera="gate"] .camera-head [data-state]')?.dataset.state === 'streaming',
              undefined, { timeout: 30000, what: 'the provisioned camera to stream' });
  out.provisioned_note = await card('gate').getByText('Declared in horus.yaml').isVisible();
  out.provisioned_delete = await card('gate').getByRole('button', { name: /Delete/ }).count();
  // The camera with a wrong password fails, and says why.
  await until(page, () => document.querySelector('li[data-camera="porch"] .last-error') !== null,
              undefined, { timeout: 30000, what: 'the failing camera to show its error' });
  out.porch_card = await card('porch').innerText();

  // Add: probe with a wrong password, then the right one.
  await page.getByRole('button', { name: 'Add camera' }).click();
  await page.getByLabel('Id', { exact: true }).fill('yard');
  await page.getByLabel('Name', { exact: true }).fill('Yard');
  await page.getByLabel('Main stream URL', { exact: true }).fill(args.wrong_url);
  await page.getByRole('button', { name: 'Test connection' }).click();
  const probe = page.getByTestId('probe-result');
  await probe.waitFor({ timeout: 20000 });
  out.probe_wrong = await probe.textContent();
  await page.getByLabel('Main stream URL', { exact: true }).fill(args.url);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await until(page, () => document.querySelector('.probe-ok') !== null, undefined, { timeout: 20000, what: 'a good probe' });
  out.probe_ok = await probe.textContent();
  out.axe.add_form = await axe(page);
  await shot(page, 'cameras-add-probe-light');
  await setTheme(page, 'dark');
  await shot(page, 'cameras-add-probe-dark');
  await setTheme(page, 'light');
  out.overflow_add_390 = await narrow(page, 'cameras-add-probe-390');
  await page.getByLabel('Retention (days)').fill('7');
  await page.getByLabel('Sub stream URL (optional)').fill(args.url);
  await page.getByLabel('Groups').fill('outside, Yard');
  await page.locator('form').getByRole('button', { name: 'Add camera' }).click();
  await page.getByText('Camera Yard added.').waitFor({ timeout: 15000 });
  await card('yard').waitFor();
  await until(page, () => document.querySelector('li[data-camera="yard"] .camera-head [data-state]')?.dataset.state === 'streaming',
              undefined, { timeout: 40000, what: 'the new camera to stream' });
  out.yard_streaming = true;
  await until(page, () => !!document.querySelector('li[data-camera="yard"] .stats [data-state="streaming"]'),
              undefined, { timeout: 40000, what: 'the sub stream to stream' });
  out.yard_sub_streaming = true;
  // The thumbnail arrives from the snapshot route.
  await until(page, () => !!document.querySelector('li[data-camera="yard"] .thumb img')?.complete,
              undefined, { timeout: 30000, what: 'a thumbnail' });
  out.yard_card = await card('yard').innerText();
  out.axe.list = await axe(page);
  await shot(page, 'cameras-list-light');
  await setTheme(page, 'dark');
  await shot(page, 'cameras-list-dark');
  out.axe.list_dark = await axe(page);
  await setTheme(page, 'light');

  // A bad URL: the server's message under the URL field.
  await page.getByRole('button', { name: 'Add camera' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Bad one');
  out.suggested_id = await page.getByLabel('Id', { exact: true }).inputValue();
  await page.getByLabel('Main stream URL', { exact: true }).fill(args.bad_url);
  await page.locator('form').getByRole('button', { name: 'Add camera' }).click();
  const urlErr = page.locator('#cam-url-err');
  await urlErr.waitFor({ timeout: 10000 });
  out.bad_url_error = await urlErr.textContent();
  out.bad_url_invalid = await page.getByLabel('Main stream URL', { exact: true }).getAttribute('aria-invalid');
  await shot(page, 'cameras-add-bad-url');
  await page.getByRole('button', { name: 'Cancel' }).click();

  // The camera page: status, settings; rename keeps the password.
  await card('yard').getByRole('link', { name: 'Yard', exact: true }).click();
  await page.waitForURL(/\/cameras\/yard$/);
  await page.getByRole('heading', { name: 'Status' }).waitFor();
  out.detail_live_link = await page.getByRole('link', { name: 'Live view' }).getAttribute('href');
  // The page's own link, not the top bar's (.last() could pick the top bar's before the page drew).
  out.detail_history_link = await page.locator('#main').getByRole('link', { name: 'History' }).getAttribute('href');
  out.detail_url_value = await page.getByLabel('Main stream URL', { exact: true }).inputValue();
  out.axe.detail = await axe(page);
  await shot(page, 'camera-detail-light');
  await setTheme(page, 'dark');
  await shot(page, 'camera-detail-dark');
  await setTheme(page, 'light');
  out.overflow_detail_390 = await narrow(page, 'camera-detail-390');
  await page.getByLabel('Name', { exact: true }).fill('Back yard');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10000 });
  await page.getByRole('heading', { name: 'Back yard', level: 1 }).waitFor();
  // Editing the host but keeping "***" would store it as the password: refused here.
  const masked = await page.getByLabel('Main stream URL', { exact: true }).inputValue();
  await page.getByLabel('Main stream URL', { exact: true }).fill(masked.replace('127.0.0.1', 'localhost'));
  await page.getByRole('button', { name: 'Save changes' }).click();
  out.masked_edit_error = await page.locator('#cam-url-err').textContent({ timeout: 5000 });
  await page.getByLabel('Main stream URL', { exact: true }).fill(masked);
  // Disable and enable: the camera connects again with its stored password.
  await page.getByRole('button', { name: 'Disable', exact: true }).click();
  await until(page, () => document.querySelector('.camera-page .page-header [data-state]')?.dataset.state === 'disabled',
              undefined, { timeout: 15000, what: 'disabled' });
  await page.getByRole('button', { name: 'Enable', exact: true }).click();
  await until(page, () => document.querySelector('.camera-page .page-header [data-state]')?.dataset.state === 'streaming',
              undefined, { timeout: 40000, what: 'streaming again after enable' });
  out.reenabled_streaming = true;

  // Delete asks first, naming the camera and what happens to its recordings.
  await page.getByRole('link', { name: 'Cameras', exact: true }).first().click();
  await page.waitForURL(/\/cameras$/);
  await card('yard').getByRole('button', { name: 'Delete Back yard' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  out.delete_dialog = await dialog.innerText();
  out.axe.delete_dialog = await axe(page);
  await shot(page, 'cameras-delete-confirm');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  out.still_there_after_cancel = await card('yard').isVisible();
  await card('yard').getByRole('button', { name: 'Delete Back yard' }).click();
  await dialog.getByRole('button', { name: 'Delete camera' }).click();
  await page.getByText('Camera Back yard deleted.').waitFor({ timeout: 10000 });
  await card('yard').waitFor({ state: 'detached', timeout: 10000 });
  out.deleted = true;
  await signOut(page);

  // A viewer: the list and the camera page without controls.
  await login(page, base, args.viewer, args.password, { next: '/cameras' });
  await card('gate').waitFor({ timeout: 15000 });
  out.viewer_add = await page.getByRole('button', { name: 'Add camera' }).count();
  out.viewer_edit = await page.getByRole('link', { name: /^Edit / }).count();
  out.viewer_delete = await page.getByRole('button', { name: /Delete|Disable|Enable/ }).count();
  out.axe.viewer_list = await axe(page);
  await shot(page, 'cameras-viewer');
  out.overflow_390 = await narrow(page, 'cameras-viewer-390');
  await card('gate').getByRole('link', { name: 'Gate', exact: true }).click();
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  out.viewer_form_disabled = await page.getByLabel('Main stream URL', { exact: true }).isDisabled();
  out.viewer_save = await page.getByRole('button', { name: 'Save changes' }).count();
  out.viewer_manage = await page.getByRole('heading', { name: 'Manage' }).count();
  out.viewer_readonly_note = await page.getByText('Declared in horus.yaml: these settings are read-only').isVisible();
  out.axe.viewer_detail = await axe(page);
  await shot(page, 'camera-detail-viewer');
  return out;
}, { allow: ['Failed to load resource: the server responded with a status of (400|401|404|503)'] });
