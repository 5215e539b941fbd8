// Shared pieces of the UI's browser tests: Debian's chromium through playwright-core, sign-in,
// screenshots, axe-core, and console errors collected as failures.
//
// A test script reads its arguments from HORUS_UI_ARGS (JSON: base, user, password, ...),
// drives the page, and prints one JSON line with what it saw (the pytest file asserts on it).
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

export function args() {
  return JSON.parse(process.env.HORUS_UI_ARGS || '{}');
}

// Opens chromium. Every console error, page error and failed same-origin request is kept in
// `problems`; tests report them and pytest fails on any (a few expected ones can be allowed
// with `allow`, a list of regular expressions).
export async function launch({ viewport = { width: 1280, height: 800 }, allow = [] } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
           '--disable-dev-shm-usage',
           // The test server's WebRTC candidate is on loopback.
           '--allow-loopback-in-peer-connection'],
  });
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const allowed = (text) => allow.some((re) => new RegExp(re).test(text));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    if (!allowed(String(e))) problems.push(`pageerror: ${e}`);
  });
  return { browser, context, page, problems };
}

export async function login(page, base, user, password, { next = '/live' } = {}) {
  await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15000 });
}

// A full-page PNG under $HORUS_UI_SHOTS (default build/ui-shots); returns its path.
export async function shot(page, name) {
  const dir = process.env.HORUS_UI_SHOTS || path.resolve(here, '..', '..', '..', 'build', 'ui-shots');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// axe-core in the page: the serious and critical violations, as "id: help (n nodes)".
// Video elements are excluded from colour-contrast checks (their pixels are camera images).
// The daemon's strict CSP (script-src 'self') refuses an injected <script>, so axe goes in
// through the DevTools protocol (page.evaluate), which the page's CSP does not govern.
export async function axe(page, { exclude = [] } = {}) {
  const axeSource = fs.readFileSync(path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource}\n;void 0`);
  const res = await page.evaluate(async (exclude) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run({ exclude: exclude.map((s) => [s]) }, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
  }, exclude);
  return res;
}

// Switches the UI to a theme ('light' or 'dark') with the top bar's button.
export async function setTheme(page, want) {
  const now = await page.evaluate(() => document.documentElement.dataset.theme || 'light');
  if (now !== want) await page.getByRole('button', { name: /Switch to (dark|light) theme/ }).click();
  await until(page, (t) => document.documentElement.dataset.theme === t, want, { what: `${want} theme` });
}

export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
}

// After a session is ended elsewhere, the page's next request gets 401 and the
// app goes to /login?expired=1. A page that polls may get there by itself before
// any click, so the click on a nav link is only a nudge: the assertion is the URL.
export async function expectSentToSignIn(page, link = 'Cameras') {
  const sent = /\/login\?expired=1/;
  if (!sent.test(page.url())) {
    await page.getByRole('link', { name: link, exact: true }).click({ timeout: 5000 }).catch(() => {});
  }
  await page.waitForURL(sent, { timeout: 15000 });
}

// Waits until fn() in the page is truthy; returns its value or throws naming what.
export async function until(page, fn, arg, { timeout = 15000, what = 'condition' } = {}) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout, polling: 200 });
    return await h.jsonValue();
  } catch (e) {
    throw new Error(`timed out waiting for ${what}: ${e.message.split('\n')[0]}`);
  }
}

// Runs main(ctx) and prints its result as one JSON line; an exception prints
// {"error": ...} and exits 1 (after a screenshot of where it stopped).
export async function run(name, main, opts = {}) {
  const ctx = await launch(opts);
  let out;
  let code = 0;
  try {
    out = await main({ ...ctx, args: args() });
    out.problems = [...(out.problems || []), ...ctx.problems];
  } catch (e) {
    code = 1;
    out = { error: String(e && e.stack ? e.stack : e), problems: ctx.problems };
    try {
      out.failure_shot = await shot(ctx.page, `${name}-failure`);
    } catch { /* the page may be gone */ }
  } finally {
    await ctx.browser.close();
  }
  console.log(JSON.stringify(out));
  process.exit(code);
}
