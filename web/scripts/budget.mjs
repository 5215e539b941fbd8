#!/usr/bin/env node
// The app-shell budget (ctest build.web_budget; docs/design/0026-web-ui.md).
//
//   node budget.mjs <web-dist> [limit-bytes]
//
// The shell is what index.html makes the browser load before the app can
// paint: its module scripts, their static imports (followed through every
// chunk, as the browser does), modulepreload links and stylesheets. Their
// gzip sizes (level 9, as embedded) must add up to at most 80 KB, and none
// of them may contain hls.js: the player is loaded lazily (import()) when
// the first video mounts. Lazy chunks are listed for information only.
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = process.argv[2];
const limit = Number(process.argv[3] || 80 * 1024);
if (!dist) {
  console.error('usage: budget.mjs <web-dist> [limit-bytes]');
  process.exit(2);
}

// Strings only hls.js's code carries (its event names and its own name).
const HLS_MARKERS = ['hlsMediaAttaching', 'hlsManifestParsed', 'HlsJs'];

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const attr = (tag, name) => {
  const m = tag.match(new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i'));
  return m ? m[2] ?? m[3] ?? m[4] : null;
};
const local = (url) => {
  if (!url || /^[a-z]+:|^\/\//i.test(url)) return null; // other origins are not ours to count
  return posix.normalize(url.replace(/^\//, '').split(/[?#]/)[0]);
};

const entries = [];
for (const tag of html.match(/<script\b[^>]*>/gi) || []) {
  if ((attr(tag, 'type') || '').toLowerCase() === 'module' && attr(tag, 'src'))
    entries.push(local(attr(tag, 'src')));
  else if (attr(tag, 'src')) entries.push(local(attr(tag, 'src')));
}
for (const tag of html.match(/<link\b[^>]*>/gi) || []) {
  const rel = (attr(tag, 'rel') || '').toLowerCase().split(/\s+/);
  if (rel.includes('stylesheet') || rel.includes('modulepreload'))
    entries.push(local(attr(tag, 'href')));
}
if (!entries.some((e) => e && e.endsWith('.js'))) {
  console.error(`budget: ${dist}/index.html loads no script; is it a Vite build?`);
  process.exit(1);
}

// Static imports of a built chunk: `import ... from "./x.js"`, `import "./x.js"`,
// `export ... from "./x.js"`. Dynamic import("./x.js") is lazy and not followed.
const STATIC_IMPORT = /(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?["']([^"']+)["']/g;
const shell = new Map(); // file -> {raw, gz, imported}
const queue = entries.filter(Boolean);
while (queue.length) {
  const file = queue.shift();
  if (shell.has(file)) continue;
  let data;
  try {
    data = readFileSync(join(dist, file));
  } catch (e) {
    console.error(`budget: index.html loads ${file}, which is not in ${dist}`);
    process.exit(1);
  }
  shell.set(file, { raw: data.length, gz: gzipSync(data, { level: 9 }).length, data });
  if (file.endsWith('.js')) {
    const text = data.toString('utf8');
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const spec = m[1];
      if (!spec.startsWith('.') && !spec.startsWith('/')) continue;
      const target = spec.startsWith('/')
        ? local(spec)
        : posix.normalize(posix.join(posix.dirname(file), spec));
      queue.push(target);
    }
  }
}

let total = 0;
let failed = false;
console.log('app shell (loaded by index.html before the first paint):');
for (const [file, s] of shell) {
  total += s.gz;
  console.log(`  ${file.padEnd(48)} ${String(s.raw).padStart(8)} B  ${String(s.gz).padStart(7)} B gzip`);
  const text = s.data.toString('utf8');
  const hit = HLS_MARKERS.find((m) => text.includes(m));
  if (hit) {
    console.log(`  FAIL: ${file} contains hls.js ('${hit}'): load it with import() when a video mounts`);
    failed = true;
  }
}
console.log(`  total ${total} B gzip of ${limit} B allowed (${((100 * total) / limit).toFixed(1)}%)`);
if (total > limit) {
  console.log(`  FAIL: the app shell is ${total - limit} B over its budget`);
  failed = true;
}

const lazy = [];
for (const name of readdirSync(join(dist, 'assets')).sort()) {
  const file = `assets/${name}`;
  if (shell.has(file) || !/\.(js|css)$/.test(name)) continue;
  const data = readFileSync(join(dist, file));
  const hls = HLS_MARKERS.some((m) => data.includes(m));
  lazy.push(`  ${file.padEnd(48)} ${String(gzipSync(data, { level: 9 }).length).padStart(7)} B gzip${hls ? '  (hls.js)' : ''}`);
}
if (lazy.length) console.log(`lazy chunks (${lazy.length}, outside the budget):\n${lazy.join('\n')}`);
process.exit(failed ? 1 : 0);
