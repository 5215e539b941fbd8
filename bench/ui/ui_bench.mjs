// The browser half of bench/ui/run: drives Debian's chromium (playwright-core from tests/e2e)
// against a running Horus and, side by side, a bare page that plays the same streams with
// hls.js and nothing else (the peer: what any UI must at least cost).
// Args (HORUS_UI_ARGS JSON): base, user, password, cameras4 (ids), cameras16 (ids),
// cold_runs, cpu_seconds, heap_minutes. Prints one JSON line.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2e = path.resolve(here, '..', '..', 'tests', 'e2e');
const require = createRequire(path.join(e2e, 'package.json'));
const { chromium } = require('playwright-core');
const hlsJs = fs.readFileSync(path.join(e2e, 'node_modules', 'hls.js', 'dist', 'hls.min.js'));

const a = JSON.parse(process.env.HORUS_UI_ARGS || '{}');
const log = (...m) => console.error('bench/ui:', ...m);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio', '--disable-dev-shm-usage'],
});

async function sessionCookie() {
  const r = await fetch(`${a.base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: a.user, password: a.password }),
  });
  if (!r.ok) throw new Error(`login: ${r.status}`);
  const m = /horus_session=([^;]+)/.exec(r.headers.get('set-cookie') || '');
  return { value: m[1], csrf: (await r.json()).csrf_token };
}
const session = await sessionCookie();
const cookie = session.value;

// The live page's layout comes from the user's saved preferences.
async function setLayout(layout) {
  const r = await fetch(`${a.base}/api/v1/auth/preferences`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Cookie: `horus_session=${cookie}`,
               'X-CSRF-Token': session.csrf, Origin: a.base },
    body: JSON.stringify({ live: { layout, order: [], group: '' } }),
  });
  if (!r.ok) throw new Error(`preferences: ${r.status} ${await r.text()}`);
}

// A fresh context: empty cache, signed in by cookie.
async function freshPage() {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const u = new URL(a.base);
  await ctx.addCookies([{ name: 'horus_session', value: cookie, domain: u.hostname, path: '/', httpOnly: true, sameSite: 'Strict' }]);
  const page = await ctx.newPage();
  // The peer page and its hls.js, served at the daemon's origin so media requests carry the cookie.
  await page.route(`${a.base}/__bench/**`, (route) => {
    const p = new URL(route.request().url()).pathname;
    if (p === '/__bench/hls.min.js') return route.fulfill({ body: hlsJs, contentType: 'text/javascript' });
    const ids = new URL(route.request().url()).searchParams.get('cams').split(',');
    const html = `<!doctype html><html><body style="margin:0;display:grid;grid-template-columns:repeat(${Math.ceil(Math.sqrt(ids.length))},1fr);background:#000">
${ids.map((id) => `<video muted playsinline autoplay data-src="/api/v1/cameras/${id}/live/index.m3u8?stream=sub" style="width:100%;aspect-ratio:16/9"></video>`).join('\n')}
<script src="/__bench/hls.min.js"></script>
<script>for (const v of document.querySelectorAll('video')) { const h = new Hls({ lowLatencyMode: true }); h.loadSource(v.dataset.src); h.attachMedia(v); h.on(Hls.Events.MANIFEST_PARSED, () => v.play().catch(() => {})); }</script>
</body></html>`;
    return route.fulfill({ body: html, contentType: 'text/html' });
  });
  return { ctx, page };
}

// Milliseconds from navigation until n <video> elements show a playing frame.
async function timeToFrames(page, url, n, timeoutMs = 30000) {
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction((n) => {
    const vs = [...document.querySelectorAll('video')].filter((v) => v.readyState >= 2 && v.currentTime > 0);
    return vs.length >= n;
  }, n, { timeout: timeoutMs, polling: 50 });
  return Date.now() - t0;
}

const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

// CPU seconds of the browser's whole process tree: every descendant of this
// node process (playwright-core spawns chromium as our child; its Browser object
// has no process()), not counting node itself.
function treeCpuSeconds(rootPid) {
  const tick = 100; // USER_HZ on Linux
  const procs = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / tick });
    } catch { /* gone */ }
  }
  let total = 0;
  const want = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) if (!want.has(pid) && want.has(p.ppid)) { want.add(pid); grew = true; }
  }
  want.delete(rootPid);
  for (const pid of want) total += procs.get(pid)?.cpu || 0;
  return total;
}
const rootPid = process.pid;

async function cpuOf(url, n, seconds) {
  const { ctx, page } = await freshPage();
  await timeToFrames(page, url, n, 60000);
  await page.waitForTimeout(5000);
  const c0 = treeCpuSeconds(rootPid);
  const t0 = Date.now();
  const f0 = await page.evaluate(() => [...document.querySelectorAll('video')].reduce((s, v) => s + v.getVideoPlaybackQuality().totalVideoFrames, 0));
  await page.waitForTimeout(seconds * 1000);
  const f1 = await page.evaluate(() => [...document.querySelectorAll('video')].reduce((s, v) => s + v.getVideoPlaybackQuality().totalVideoFrames, 0));
  const c1 = treeCpuSeconds(rootPid);
  const wall = (Date.now() - t0) / 1000;
  await ctx.close();
  return {
    cpu_percent: Math.round((c1 - c0) / wall * 1000) / 10,
    frames_per_s: Math.round((f1 - f0) / wall),
    cpu_ms_per_frame: Math.round((c1 - c0) * 1000 / Math.max(1, f1 - f0) * 100) / 100,
  };
}

const out = {};
try {
  const ui4 = `${a.base}/live`;
  const bare4 = `${a.base}/__bench/bare?cams=${a.cameras4.join(',')}`;
  const bare16 = `${a.base}/__bench/bare?cams=${a.cameras16.join(',')}`;
  await setLayout('4');
  for (const [name, url] of [['ui', ui4], ['bare_hlsjs', bare4]]) {
    const xs = [];
    for (let i = 0; i < a.cold_runs; i++) {
      const { ctx, page } = await freshPage();
      if (name === 'ui') await page.goto(`${a.base}/health`); // not cached: a different resource
      xs.push(await timeToFrames(page, url, 4));
      await ctx.close();
    }
    out[`cold_first_frames_4_${name}_ms`] = { p50: pct(xs, 0.5), p90: pct(xs, 0.9), runs: xs };
    log(name, 'cold load to 4 playing tiles', xs);
  }
  await setLayout('16');
  out.cpu_16_ui = await cpuOf(`${a.base}/live`, 16, a.cpu_seconds);
  out.cpu_16_bare_hlsjs = await cpuOf(bare16, 16, a.cpu_seconds);
  log('cpu', out.cpu_16_ui, out.cpu_16_bare_hlsjs);
  if (a.heap_minutes > 0) {
    const { ctx, page } = await freshPage();
    const cdp = await ctx.newCDPSession(page);
    await timeToFrames(page, `${a.base}/live`, 16, 60000);
    const samples = [];
    for (let m = 0; m <= a.heap_minutes; m++) {
      if (m > 0) await page.waitForTimeout(60000);
      await cdp.send('HeapProfiler.collectGarbage');
      const h = await cdp.send('Runtime.getHeapUsage');
      const playing = await page.evaluate(() => [...document.querySelectorAll('video')].filter((v) => !v.paused && v.readyState >= 2).length);
      samples.push({ minute: m, used_mb: Math.round(h.usedSize / 1e5) / 10, playing });
      log('heap', samples[samples.length - 1]);
    }
    out.heap_16 = samples;
    await ctx.close();
  }
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
}
await browser.close();
console.log(JSON.stringify(out));
process.exit(out.error ? 1 : 0);
