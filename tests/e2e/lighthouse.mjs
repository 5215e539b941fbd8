// Lighthouse (npm, pinned) against Debian's chromium: scores of the given pages of a running
// Horus for performance, accessibility and best practices (desktop preset), and the audits
// that lost points. Signs in first (POST /api/v1/auth/login) and sends the session cookie.
// Args (HORUS_UI_ARGS JSON): base, user, password, pages (paths), runs (per page; the median
// performance score is kept). Prints one JSON line.
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import * as chromeLauncher from 'chrome-launcher';

const args = JSON.parse(process.env.HORUS_UI_ARGS || '{}');
const { base, user, password } = args;
const pages = args.pages || ['/login', '/live'];
const runs = args.runs || 1;

async function sessionCookie() {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
  const set = r.headers.get('set-cookie') || '';
  const m = /horus_session=[^;]+/.exec(set);
  if (!m) throw new Error('login: no horus_session cookie');
  return m[0];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const out = { pages: {} };
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM || '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--mute-audio',
                '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection'],
});
try {
  const cookie = await sessionCookie();
  for (const path of pages) {
    const scores = { performance: [], accessibility: [], 'best-practices': [] };
    let lost = [];
    let metrics = {};
    for (let i = 0; i < runs; i++) {
      const res = await lighthouse(`${base}${path}`, {
        port: chrome.port, output: 'json', logLevel: 'error',
        onlyCategories: ['performance', 'accessibility', 'best-practices'],
        // The sign-in page is measured signed out, every other page signed in.
        extraHeaders: path === '/login' ? {} : { Cookie: cookie },
      }, desktopConfig);
      const lhr = res.lhr;
      for (const k of Object.keys(scores)) scores[k].push(Math.round((lhr.categories[k].score || 0) * 100));
      lost = Object.values(lhr.categories).flatMap((c) => c.auditRefs
        .filter((a) => a.weight > 0 && lhr.audits[a.id].score !== null && lhr.audits[a.id].score < 0.9)
        .map((a) => `${c.id}/${a.id}: ${lhr.audits[a.id].displayValue || lhr.audits[a.id].score}`));
      metrics = Object.fromEntries(['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time',
        'cumulative-layout-shift', 'speed-index'].map((id) => [id, lhr.audits[id]?.displayValue]));
      if (lhr.runtimeError) throw new Error(`${path}: ${lhr.runtimeError.message}`);
    }
    out.pages[path] = {
      performance: median(scores.performance),
      accessibility: median(scores.accessibility),
      'best-practices': median(scores['best-practices']),
      runs: scores, lost, metrics,
    };
  }
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await chrome.kill();
}
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
