// Plays an HLS URL with hls.js in Debian's chromium (driven by playwright-core) and prints one
// JSON object: how far playback got, frames decoded, hls.js errors and the live latency.
// Usage: node play_hls.mjs URL SECONDS [--no-low-latency] [--g2g WxH [--g2g-warmup S]]
// --g2g: also measure glass-to-glass latency from camsim's burnt clock (lib/g2g.mjs; WxH is the
// camera's picture size); the JSON gains "g2g" with p50/p90/p99/max and the sample count.
// HORUS_TOKEN in the environment: sent as 'Authorization: Bearer' on every request hls.js makes.
// The page is opened on the stream's own origin, so no CORS set-up is needed.
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { g2gOptions, g2gStart, g2gStop } from './lib/g2g.mjs';

const [url, secondsArg, ...flags] = process.argv.slice(2);
let g2g;
try {
    g2g = g2gOptions(flags);
} catch (e) {
    console.error(String(e.message));
    process.exit(2);
}
if (!url || !secondsArg) {
    console.error('usage: node play_hls.mjs URL SECONDS [--no-low-latency] '
        + '[--g2g WxH [--g2g-warmup S]]');
    process.exit(2);
}
const seconds = Number(secondsArg);
const lowLatency = !flags.includes('--no-low-latency');
const token = process.env.HORUS_TOKEN || '';
const here = path.dirname(fileURLToPath(import.meta.url));
const hlsPath = path.join(here, 'node_modules', 'hls.js', 'dist', 'hls.min.js');

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
});
let result;
try {
    const page = await browser.newPage();
    const origin = new URL(url).origin;
    await page.goto(origin + '/health');
    await page.setContent('<video id="v" muted playsinline></video>');
    await page.addScriptTag({ path: hlsPath });
    if (g2g) await g2gStart(page, '#v', g2g);
    result = await page.evaluate(async ({ url, seconds, lowLatency, token }) => {
        const video = document.getElementById('v');
        const out = {
            hls_supported: Hls.isSupported(),
            h264_mse: MediaSource.isTypeSupported('video/mp4; codecs="avc1.640028"'),
            errors: [], fatal: false, first_frame_ms: null, samples: [],
        };
        if (!out.hls_supported) return out;
        const hls = new Hls({
            lowLatencyMode: lowLatency,
            enableWorker: true,
            xhrSetup: (xhr) => {
                if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
            },
        });
        hls.on(Hls.Events.ERROR, (_e, d) => {
            out.errors.push(`${d.type}/${d.details}${d.fatal ? ' (fatal)' : ''}`);
            if (d.fatal) out.fatal = true;
        });
        const t0 = performance.now();
        video.addEventListener('playing', () => {
            if (out.first_frame_ms === null) out.first_frame_ms = Math.round(performance.now() - t0);
        });
        hls.loadSource(url);
        hls.attachMedia(video);
        hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => out.errors.push(String(e))));
        const end = performance.now() + seconds * 1000;
        while (performance.now() < end && !out.fatal) {
            await new Promise((r) => setTimeout(r, 500));
            const q = video.getVideoPlaybackQuality();
            out.samples.push({ t: video.currentTime, frames: q.totalVideoFrames, latency: hls.latency });
        }
        const last = out.samples[out.samples.length - 1] || {};
        const firstPlaying = out.samples.find((s) => s.t > 0) || last;
        out.played_s = (last.t || 0) - (firstPlaying.t || 0);
        out.current_time = last.t || 0;
        out.frames = last.frames || 0;
        out.dropped = video.getVideoPlaybackQuality().droppedVideoFrames;
        out.latency_s = hls.latency;
        out.low_latency = hls.lowLatencyMode;
        out.parts_seen = hls.levels.length ? !!(hls.levels[0].details && hls.levels[0].details.partList) : false;
        out.width = video.videoWidth;
        out.height = video.videoHeight;
        hls.destroy();
        return out;
    }, { url, seconds, lowLatency, token });
    if (g2g) result.g2g = await g2gStop(page);
} finally {
    await browser.close();
}
console.log(JSON.stringify(result));
