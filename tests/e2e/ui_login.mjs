// Sign-in flows in chromium: the first start's admin with its one-time password is made to
// choose its own; a wrong password is refused in the page; a revoked session returns to the
// sign-in page and, after signing in again, to the page the user was on.
// Args: base, admin_password (the one-time one), key (an admin API key), user, password.
import { run, shot, axe, until, expectSentToSignIn } from './lib/ui.mjs';

run('login', async ({ page, args }) => {
  const out = {};
  const { base } = args;

  // Anything but the sign-in page sends a signed-out visitor there, remembering the page.
  await page.goto(`${base}/cameras`);
  await page.waitForURL(/\/login\?next=%2Fcameras/);
  out.redirected_to_login = true;
  out.login_axe = await axe(page);
  await shot(page, 'login');

  // Wrong password: a message in the page, still on the sign-in page.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  out.wrong_password_message = await page.getByRole('alert').first().textContent({ timeout: 10000 });

  // The one-time password works, and the first thing asked is a new password.
  await page.getByLabel('Password', { exact: true }).fill(args.admin_password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor({ timeout: 15000 });
  out.forced_change_axe = await axe(page);
  await shot(page, 'login-forced-password-change');
  await page.getByLabel('Current password').fill(args.admin_password);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await page.getByRole('button', { name: /Set password/ }).click();
  out.short_password_message = await page.locator('.field-error, .form-error').first().textContent({ timeout: 10000 });
  await page.getByLabel('New password', { exact: true }).fill(args.new_admin_password);
  await page.getByLabel('New password again').fill(args.new_admin_password);
  await page.getByRole('button', { name: /Set password/ }).click();
  await page.waitForURL(/\/cameras$/, { timeout: 15000 });
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  out.after_change_path = new URL(page.url()).pathname;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);

  // A user's session revoked behind its back: the next request of the page gets 401, the
  // app goes to the sign-in page saying the session ended, and returns after signing in.
  await page.goto(`${base}/login?next=${encodeURIComponent('/exports')}`);
  await page.getByLabel('User name').fill(args.user);
  await page.getByLabel('Password', { exact: true }).fill(args.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/exports$/, { timeout: 15000 });
  const auth = { Authorization: `Bearer ${args.key}` };
  const sessions = await (await fetch(`${base}/api/v1/auth/sessions?user=${args.user}`, { headers: auth })).json();
  out.revoked = 0;
  for (const s of sessions.items || sessions) {
    const r = await fetch(`${base}/api/v1/auth/sessions/${s.id}`, { method: 'DELETE', headers: auth });
    if (r.ok) out.revoked++;
  }
  await expectSentToSignIn(page);
  // The page the app remembers: /exports when its own poll got the 401 first, /cameras when
  // the nudge's click did; either way sign-in must return there.
  out.sent_from = new URL(page.url()).searchParams.get('next');
  out.expired_notice = await page.getByText('Your session ended').isVisible();
  await shot(page, 'login-session-expired');
  await page.getByLabel('User name').fill(args.user);
  await page.getByLabel('Password', { exact: true }).fill(args.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await until(page, () => window.location.pathname !== '/login', undefined, { what: 'return after sign-in' });
  out.back_to = new URL(page.url()).pathname;
  return out;
}, { allow: ['401', 'Failed to load resource'] });
