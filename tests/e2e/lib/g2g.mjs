// Glass-to-glass latency in the browser, shared by play_whep.mjs and play_hls.mjs.
//
// horus-camsim burns the UTC wall clock of each picture's capture into its top-left corner as
// seven-segment digits, "YYYY-MM-DD HH:MM:SS.mmm" (tools/camsim/pattern.c, draw_clock; the
// Python reader is burnt_clock_us in tests/integration/test_frames.py). On every
// requestVideoFrameCallback the page copies the presented frame to a canvas, samples the
// centre of each segment of each digit, and records
//     latency = performance.timeOrigin + display - burnt time   (ms),
//     display = max(metadata.expectedDisplayTime, performance.now() as the callback starts).
// Headless Chromium gives as expectedDisplayTime (and as the callback's `now`) the begin-frame
// time of the rendering step that presents the frame, sometimes one vsync (16.7 ms) earlier,
// which can be before the frame even arrived (metadata.receiveTime) and made latencies
// negative. A frame is not on glass before the callback that presents it runs, so the later of
// the two is taken. What follows (the compositor's next vsync and the scan-out, up to ~17 ms at
// 60 Hz on a real screen) is not in the figure.
// The frame is taken as a VideoFrame and read only if its timestamp is the metadata's
// mediaTime. Browser and camsim run on the same machine and read the same clock (the browser's
// mapping of it, performance.timeOrigin, is good to a millisecond or two). A frame whose digits
// do not decode is counted as unreadable, never guessed.
//
// Use: await g2gStart(page, video selector, {srcWidth, srcHeight, warmupMs}) once the page has
// its video element, then g2gStop(page) returns the summary (see summarise()).

// Runs inside the page (serialised by playwright: it must not use anything from this module).
function pageInstall({ selector, srcWidth, srcHeight, warmupMs }) {
    const DIGITS = { 0x3f: 0, 0x06: 1, 0x5b: 2, 0x4f: 3, 0x66: 4, 0x6d: 5, 0x7d: 6,
        0x07: 7, 0x7f: 8, 0x6f: 9 };
    const LAYOUT = 'dddd-dd-dd dd:dd:dd.ddd';
    // Glyph metrics as draw_clock computes them from the source picture size.
    let dh = Math.min(Math.floor(srcHeight / 14), Math.floor(srcWidth / 17));
    if (dh < 7) dh = 7;
    const dw = Math.floor(dh / 2);
    const t = Math.max(Math.floor(dh / 8), 1);
    const gap = t + 1;
    const pad = 2 * t;
    const half = Math.floor(dh / 2);
    let clockWidth = 0;
    for (const ch of LAYOUT) clockWidth += ch === ':' || ch === '.' ? t + gap : dw + gap;
    const clockRight = 2 * pad + clockWidth;
    const clockBottom = 2 * pad + dh;

    const video = document.querySelector(selector);
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    // backwards: frames whose clock reads earlier than the frame before (a misread digit
    // would show up here: camsim's clock only moves forward).
    // otherFrame: callbacks where the element already held a newer frame than the metadata's
    // (it advances off the main thread); left out, since its clock is not that frame's.
    const st = { latencies: [], receive: [], unreadable: 0, warmup: 0, frames: 0, backwards: 0,
        otherFrame: 0,
        unreadableAt: [], lastBurnt: null, firstDisplay: null, stopped: false, lastError: null };

    // The burnt time in ms since the epoch, or null when a digit does not decode.
    function readClock(width, height) {
        const s = width / srcWidth;
        const rw = Math.min(width, Math.ceil(clockRight * s) + 1);
        const rh = Math.min(height, Math.ceil(clockBottom * s) + 1);
        const img = ctx.getImageData(0, 0, rw, rh).data;
        const lit = (x, y) => {
            const px = Math.floor(x * s);
            const py = Math.floor(y * s);
            if (px >= rw || py >= rh) return false;
            const i = (py * rw + px) * 4;
            return img[i] + img[i + 1] + img[i + 2] > 3 * 128;
        };
        const digits = [];
        let x = 2 * pad;
        const y = 2 * pad;
        for (const ch of LAYOUT) {
            if (ch === 'd') {
                const points = [[x + dw / 2, y + t / 2], [x + dw - t / 2, y + dh / 4],
                    [x + dw - t / 2, y + 3 * dh / 4], [x + dw / 2, y + dh - t / 2],
                    [x + t / 2, y + 3 * dh / 4], [x + t / 2, y + dh / 4], [x + dw / 2, y + half]];
                let bits = 0;
                points.forEach(([px, py], i) => { if (lit(px, py)) bits |= 1 << i; });
                if (!(bits in DIGITS)) return null;
                digits.push(DIGITS[bits]);
            }
            x += ch === ':' || ch === '.' ? t + gap : dw + gap;
        }
        const n = (from, count) => digits.slice(from, from + count).reduce((a, d) => a * 10 + d, 0);
        const [year, month, day, hour, min, sec, ms] =
            [n(0, 4), n(4, 2), n(6, 2), n(8, 2), n(10, 2), n(12, 2), n(14, 3)];
        if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
            return null;
        return Date.UTC(year, month - 1, day, hour, min, sec, ms);
    }

    function onFrame(_now, meta) {
        const entered = performance.now();
        if (st.stopped) return;
        st.frames++;
        try {
            const w = meta.width || video.videoWidth;
            const h = meta.height || video.videoHeight;
            if (canvas.width !== w || canvas.height !== h) {
                canvas.width = w;
                canvas.height = h;
            }
            // The element may already show a newer frame than the one described by meta (it
            // advances off the main thread): take the frame with its timestamp and check it.
            const vf = new VideoFrame(video);
            const other = Math.abs(vf.timestamp / 1e6 - meta.mediaTime) > 0.0005;
            if (!other) ctx.drawImage(vf, 0, 0, w, h);
            vf.close();
            if (other) {
                st.otherFrame++;
                video.requestVideoFrameCallback(onFrame);
                return;
            }
            const burnt = readClock(w, h);
            const display = performance.timeOrigin + Math.max(meta.expectedDisplayTime, entered);
            if (st.firstDisplay === null) st.firstDisplay = display;
            if (burnt !== null) {
                if (st.lastBurnt !== null && burnt < st.lastBurnt) st.backwards++;
                st.lastBurnt = burnt;
            }
            if (burnt === null) {
                st.unreadable++;
                if (st.unreadableAt.length < 10) st.unreadableAt.push(st.frames);
            } else if (display - st.firstDisplay < warmupMs) {
                st.warmup++;
            } else {
                st.latencies.push(display - burnt);
                // WebRTC frames also carry their arrival time: the share before the browser.
                if (meta.receiveTime !== undefined)
                    st.receive.push(performance.timeOrigin + meta.receiveTime - burnt);
            }
        } catch (e) {
            st.lastError = String(e);
            st.unreadable++;
            if (st.unreadableAt.length < 10) st.unreadableAt.push(st.frames);
        }
        video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
    window.__g2g = st;
}

// p50/p90/p99/max (nearest rank) of a list of ms, rounded to 0.1 ms.
function percentiles(values) {
    if (!values.length) return null;
    const v = [...values].sort((a, b) => a - b);
    const at = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
    const r = (x) => Math.round(x * 10) / 10;
    return { p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(v[v.length - 1]),
        min: r(v[0]) };
}

export function summarise(st) {
    const out = {
        samples: st.latencies.length, unreadable: st.unreadable, warmup_frames: st.warmup,
        frames: st.frames, backwards: st.backwards, other_frame: st.otherFrame,
        latency_ms: percentiles(st.latencies),
    };
    if (st.receive.length) out.receive_ms = percentiles(st.receive);
    if (st.unreadableAt.length) out.unreadable_at = st.unreadableAt; // 1-based frame numbers
    if (st.lastError) out.error = st.lastError;
    return out;
}

export async function g2gStart(page, selector, { srcWidth, srcHeight, warmupMs = 0 }) {
    await page.evaluate(pageInstall, { selector, srcWidth, srcHeight, warmupMs });
}

export async function g2gStop(page) {
    const st = await page.evaluate(() => {
        window.__g2g.stopped = true;
        return window.__g2g;
    });
    return summarise(st);
}

// "--g2g WxH" and "--g2g-warmup S" from a player's arguments: null when not asked.
export function g2gOptions(argv) {
    const i = argv.indexOf('--g2g');
    if (i < 0) return null;
    const m = /^(\d+)x(\d+)$/.exec(argv[i + 1] || '');
    if (!m) throw new Error('--g2g wants the source size WIDTHxHEIGHT, e.g. --g2g 1280x720');
    const w = argv.indexOf('--g2g-warmup');
    const warmupS = w < 0 ? 0 : Number(argv[w + 1]);
    if (!(warmupS >= 0)) throw new Error('--g2g-warmup wants seconds >= 0');
    return { srcWidth: Number(m[1]), srcHeight: Number(m[2]), warmupMs: warmupS * 1000 };
}
