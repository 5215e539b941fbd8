// The admin pages and the account page in chromium. As an admin: create a viewer on the Users
// page (a bad name is refused next to its field; the generated password is shown once), create
// an API key (its secret shown once), find both actions in the audit log filtered by action,
// change the log level on System. As the new viewer: the one-time password is changed, no admin
// link is in the navigation, /admin/users says the role cannot open it and the API answers 403
// to the viewer's cookie; MFA enrolment on Account with a TOTP code computed here (RFC 6238),
// then signing in again with a code. mode=forced: a user the policy obliges to enrol lands on
// the enrolment and, once enrolled, in the app.
// Args: base, admin, password, camera, mode, viewer_password (the viewer's own new one).
import crypto from 'node:crypto';
import { run, shot, axe, until, login, signOut, expectSentToSignIn } from './lib/ui.mjs';

// RFC 6238: HMAC-SHA1 over the 30-second counter, dynamic truncation, 6 digits.
function base32(s) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | abc.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
function totp(secret, step = Math.floor(Date.now() / 30000)) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, '0');
}
// The next code of a later 30-second step than `after` (a code is accepted once).
async function freshCode(secret, after) {
  while (Math.floor(Date.now() / 30000) <= after) await new Promise((r) => setTimeout(r, 500));
  const step = Math.floor(Date.now() / 30000);
  return { code: totp(secret, step), step };
}

async function theme(page) {
  return page.evaluate(() => document.documentElement.dataset.theme || 'light');
}
// Screenshots in both themes, and axe in both (contrast differs); leaves the theme as found.
async function shots(page, name, out) {
  const first = await theme(page);
  const v = [];
  for (let i = 0; i < 2; i++) {
    const t = await theme(page);
    await shot(page, `${name}-${t}`);
    v.push(...(await axe(page)).map((x) => `${t}: ${x}`));
    await page.locator('.topbar .icon-button').click();
    await until(page, (was) => (document.documentElement.dataset.theme || 'light') !== was, t, { what: 'theme change' });
  }
  if ((await theme(page)) !== first) throw new Error('theme not restored');
  out.axe[name] = v;
}

// Elements that stick out of a narrow viewport (wide tables scroll inside .table-wrap instead).
async function overflow(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.table-wrap') || el.closest('[hidden]')) continue;
      const r = el.getBoundingClientRect();
      if (r.width && r.right > w + 1) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(r.right)}`);
    }
    return { scroll: document.documentElement.scrollWidth, width: w, out: out.slice(0, 8) };
  });
}

async function enrol(page, out) {
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  const secret = (await page.getByTestId('mfa-secret').textContent()).replace(/\s+/g, '');
  out.secret_grouped = /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/.test((await page.getByTestId('mfa-secret').textContent()).trim());
  out.otpauth_link = await page.getByRole('link', { name: 'open it in the app' }).getAttribute('href');
  // A wrong code first: refused next to the field.
  await page.getByLabel('Code from the app').fill('000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  out.wrong_code_error = await page.locator('.field-error').first().textContent({ timeout: 10000 });
  const step = Math.floor(Date.now() / 30000);
  await page.getByLabel('Code from the app').fill(totp(secret, step));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByTestId('recovery-codes').waitFor({ timeout: 10000 });
  out.recovery_codes = await page.getByTestId('recovery-codes').locator('li').count();
  return { secret, step };
}

run('admin', async ({ page, args }) => {
  const out = { axe: {} };
  const { base } = args;

  if (args.mode === 'forced') {
    await page.goto(`${base}/login?next=%2Fcameras`);
    await page.getByLabel('User name').fill(args.admin);
    await page.getByLabel('Password', { exact: true }).fill(args.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor({ timeout: 15000 });
    out.forced_nav = await page.getByRole('navigation', { name: 'Main' }).count();
    out.axe.forced = await axe(page);
    await shot(page, 'account-mfa-forced');
    await enrol(page, out);
    await shot(page, 'account-mfa-forced-codes');
    await page.getByRole('button', { name: /I have saved them/ }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 15000 });
    out.after_enrol_path = new URL(page.url()).pathname;
    return out;
  }

  // ---- Users, as the admin ----
  await login(page, base, args.admin, args.password, { next: '/admin/users' });
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  await page.locator(`tr[data-user="${args.admin}"]`).waitFor();
  await shots(page, 'admin-users', out);
  await page.getByRole('button', { name: 'New user' }).click();
  await page.getByLabel('User name').fill('bad name!');
  await page.getByRole('button', { name: 'Create user' }).click();
  const nameField = page.locator('.field', { has: page.getByLabel('User name') });
  out.bad_name_error = await nameField.locator('.field-error').textContent({ timeout: 10000 });
  await shots(page, 'admin-users-create-error', out);
  await page.getByLabel('User name').fill('vera');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByLabel('Chosen cameras and groups').check();
  await page.getByRole('group', { name: 'Cameras', exact: true }).getByLabel(args.camera).check();
  await page.getByRole('button', { name: 'Create user' }).click();
  const oneTime = (await page.getByTestId('one-time-password').textContent({ timeout: 10000 })).trim();
  out.one_time_password_shown = oneTime.length >= 10;
  await shots(page, 'admin-users-created', out);
  await page.getByRole('button', { name: 'Done' }).click();
  out.vera_row = await page.locator('tr[data-user="vera"]').textContent();
  await page.locator('tr[data-user="vera"]').getByRole('button', { name: 'vera' }).click();
  await page.getByRole('heading', { name: 'vera', level: 2 }).waitFor();
  await page.getByText('No open sessions').waitFor();
  await shots(page, 'admin-users-panel', out);
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'admin-users-panel-narrow');
  out.axe.users_narrow = await axe(page);
  out.overflow = { users: await overflow(page) };
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- API keys ----
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'New API key' }).click();
  await page.getByLabel('Name', { exact: true }).fill('backup script');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.getByTestId('api-key-secret').textContent({ timeout: 10000 })).trim();
  out.key_secret_ok = /^hk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/.test(secret);
  out.key_works = (await fetch(`${base}/api/v1/system`, { headers: { Authorization: `Bearer ${secret}` } })).status;
  await shots(page, 'admin-keys-created', out);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.reload();
  await page.getByRole('cell', { name: /^backup script/ }).waitFor();
  out.secret_after_reload = (await page.content()).includes(secret);
  await shots(page, 'admin-keys', out);

  // ---- Audit ----
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  await page.locator('tr[data-action]').first().waitFor();
  await shots(page, 'admin-audit', out);
  const filtered = async (action) => {
    await page.getByLabel('Action').fill(action);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await until(page, (a) => new URLSearchParams(location.search).get('action') === a, action, { what: 'filter in URL' });
    await until(page, (a) => {
      const rows = [...document.querySelectorAll('tr[data-action]')];
      return rows.length > 0 && rows.every((r) => r.dataset.action === a);
    }, action, { what: `rows of ${action}` });
    return page.locator('tr[data-action]').allTextContents();
  };
  out.audit_user_created = await filtered('user.created');
  out.audit_key_created = await filtered('apikey.created');
  await shots(page, 'admin-audit-filtered', out);
  // Cursor paging: two entries a page, "Load more" appends the next two, older ones.
  await page.goto(`${base}/admin/audit?limit=2`);
  await until(page, () => document.querySelectorAll('tr[data-audit-id]').length === 2, undefined, { what: 'first page' });
  await page.getByRole('button', { name: 'Load more' }).click();
  await until(page, () => document.querySelectorAll('tr[data-audit-id]').length === 4, undefined, { what: 'second page' });
  out.audit_paged_ids = await page.locator('tr[data-audit-id]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.auditId)));
  await page.getByLabel('Action').fill('apikey.created');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await until(page, () => [...document.querySelectorAll('tr[data-action]')].every((r) => r.dataset.action === 'apikey.created'), undefined, { what: 'filtered again' });
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'admin-audit-narrow');
  out.axe.audit_narrow = await axe(page);
  out.overflow.audit = await overflow(page);
  await page.setViewportSize({ width: 1280, height: 800 });

  // ---- System ----
  await page.getByRole('link', { name: 'System' }).click();
  await page.getByTestId('version').waitFor();
  await page.getByTestId('health-status').waitFor();
  await page.locator('.storage table, [data-testid="storage-unavailable"]').first().waitFor({ timeout: 15000 });
  out.storage_unavailable = await page.getByTestId('storage-unavailable').count() > 0;
  out.storage_cameras = await page.locator('.storage tr[data-camera]').evaluateAll((rows) => rows.map((r) => r.dataset.camera));
  await page.getByLabel('Log level').selectOption('debug');
  await page.getByRole('button', { name: 'Apply' }).click();
  out.log_level_notice = await page.getByText('The log level is now').textContent({ timeout: 10000 });
  out.log_level_api = await page.evaluate(async () => (await (await fetch('/api/v1/system')).json()).log_level);
  await shots(page, 'admin-system', out);

  // ---- Account (admin) ----
  await page.getByRole('link', { name: args.admin, exact: true }).click();
  await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
  await page.locator('tr.current').waitFor();
  out.admin_current_session = await page.locator('tr.current').textContent();
  await shots(page, 'account-admin', out);
  await signOut(page);

  // ---- The viewer ----
  await page.goto(`${base}/login`);
  await page.getByLabel('User name').fill('vera');
  await page.getByLabel('Password', { exact: true }).fill(oneTime);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor({ timeout: 15000 });
  await page.getByLabel('Current password').fill(oneTime);
  await page.getByLabel('New password', { exact: true }).fill(args.viewer_password);
  await page.getByLabel('New password again').fill(args.viewer_password);
  await page.getByRole('button', { name: /Set password/ }).click();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.waitFor({ timeout: 15000 });
  out.viewer_nav = await nav.getByRole('link').allTextContents();
  await page.goto(`${base}/admin/users`);
  await page.getByTestId('forbidden').waitFor({ timeout: 15000 });
  out.viewer_forbidden = await page.getByTestId('forbidden').textContent();
  out.viewer_users_api = await page.evaluate(async () => (await fetch('/api/v1/users')).status);
  await shot(page, 'admin-users-forbidden-viewer');

  // MFA on the account page.
  await page.goto(`${base}/account`);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();
  await shots(page, 'account-viewer', out);
  const { secret: mfaSecret, step } = await enrol(page, out);
  await shots(page, 'account-mfa-codes', out);
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'account-mfa-codes-narrow');
  out.axe.account_narrow = await axe(page);
  out.overflow.account = await overflow(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('button', { name: 'I have saved them' }).click();
  out.mfa_on = await page.getByText('Two-factor authentication is on.').isVisible();
  await shots(page, 'account-mfa-on', out);
  await signOut(page);

  await page.getByLabel('User name').fill('vera');
  await page.getByLabel('Password', { exact: true }).fill(args.viewer_password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Authentication code').waitFor({ timeout: 15000 });
  const { code } = await freshCode(mfaSecret, step);
  await page.getByLabel('Authentication code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15000 });
  out.signed_in_with_code = new URL(page.url()).pathname;

  // ---- The admin, in another browser, manages vera and the key ----
  const admin = await page.context().browser().newContext({ viewport: { width: 1280, height: 800 } });
  const ap = await admin.newPage();
  out.problems = [];
  ap.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) out.problems.push(`admin console: ${m.text()}`); });
  ap.on('pageerror', (e) => out.problems.push(`admin pageerror: ${e}`));
  await login(ap, base, args.admin, args.password, { next: '/admin/users?user=vera' });
  const panel = ap.locator('.user-panel');
  await panel.getByRole('heading', { name: 'vera' }).waitFor();
  out.vera_mfa_badge = await ap.locator('tr[data-user="vera"] td').nth(4).textContent();
  out.vera_json = await ap.evaluate(async () => (await fetch('/api/v1/users/vera')).json());
  // End vera's session: her page returns to the sign-in page.
  await panel.locator('tr[data-session]').first().waitFor();
  await panel.getByRole('button', { name: /^End session/ }).first().click();
  const dialog = ap.getByRole('dialog');
  await dialog.getByRole('button', { name: 'End session' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await panel.getByText('No open sessions').waitFor();
  await expectSentToSignIn(page);
  out.vera_session_ended = true;
  // Reset her second factor, disable her, enable her, delete her.
  await panel.getByRole('button', { name: 'Reset second factor' }).click();
  await shot(ap, 'admin-users-confirm-dialog');
  out.axe.dialog = await axe(ap);
  await dialog.getByRole('button', { name: 'Reset second factor' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await until(ap, () => document.querySelector('tr[data-user="vera"]')?.textContent.includes('Off'), undefined, { what: 'MFA off in the list' });
  await panel.getByRole('button', { name: 'Disable' }).click();
  await dialog.getByRole('button', { name: 'Disable' }).click();
  await dialog.waitFor({ state: 'hidden' });
  out.vera_disabled_row = await ap.locator('tr[data-user="vera"]').textContent();
  await panel.getByRole('button', { name: 'Enable' }).click();
  await until(ap, () => document.querySelector('tr[data-user="vera"]')?.textContent.includes('Active'), undefined, { what: 'enabled' });
  await panel.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete user' }).click();
  await ap.locator('tr[data-user="vera"]').waitFor({ state: 'detached' });
  out.vera_deleted = true;
  // Revoke the key: it stops working.
  await ap.getByRole('link', { name: 'API keys' }).click();
  await ap.getByRole('button', { name: 'Revoke backup script' }).click();
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await ap.getByLabel(/Show revoked keys/).check();
  out.revoked_row = await ap.locator('tr', { hasText: 'backup script' }).textContent();
  out.key_after_revoke = (await fetch(`${base}/api/v1/system`, { headers: { Authorization: `Bearer ${secret}` } })).status;
  await admin.close();
  return out;
}, { allow: ['403', 'Failed to load resource'] });
