// Plays a camera over WebRTC (WHEP) in Debian's chromium, driven by playwright-core, and prints
// one JSON object: the WHEP reply, frames decoded over time, the frame size, the sound received
// ("audio": its codec, packets, samples and total energy), and the DELETE's status.
// Usage: node play_whep.mjs WHEP_URL SECONDS [--g2g WxH [--g2g-warmup S]]
// --g2g: also measure glass-to-glass latency from camsim's burnt clock (lib/g2g.mjs; WxH is the
// camera's picture size); the JSON gains "g2g" with p50/p90/p99/max and the sample count.
// HORUS_TOKEN in the environment: sent as 'Authorization: Bearer' on the WHEP requests.
// --relay: ask the endpoint's ICE servers first (OPTIONS, its Link headers) and use TURN relay
// candidates only; the JSON gains "ice_servers" (their URLs) and "local_type", the candidate
// type of the pair the media took ("relay").
// The page is opened on the server's own origin, so no CORS set-up is needed.
import { chromium } from 'playwright-core';
import { g2gOptions, g2gStart, g2gStop } from './lib/g2g.mjs';

const [url, secondsArg, ...allFlags] = process.argv.slice(2);
const relay = allFlags.includes('--relay');
const flags = allFlags.filter((f) => f !== '--relay');
let g2g;
try {
    g2g = g2gOptions(flags);
} catch (e) {
    console.error(String(e.message));
    process.exit(2);
}
if (!url || !secondsArg) {
    console.error('usage: node play_whep.mjs WHEP_URL SECONDS [--relay] [--g2g WxH [--g2g-warmup S]]');
    process.exit(2);
}
const seconds = Number(secondsArg);
const token = process.env.HORUS_TOKEN || '';

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // The server's candidate is on loopback in the test.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
        '--allow-loopback-in-peer-connection'],
});
let result;
try {
    const page = await browser.newPage();
    const origin = new URL(url).origin;
    await page.goto(origin + '/health');
    await page.setContent('<video id="v" muted playsinline autoplay></video>');
    if (g2g) await g2gStart(page, '#v', g2g);
    result = await page.evaluate(async ({ url, seconds, token, relay }) => {
        const out = { samples: [], errors: [] };
        const auth = token ? { Authorization: `Bearer ${token}` } : {};
        const config = {};
        if (relay) {
            // The endpoint's Link headers: <url>; rel="ice-server"; username="..."; credential="..."
            const o = await fetch(url, { method: 'OPTIONS', headers: auth });
            const link = o.headers.get('Link') || '';
            const servers = link.split(/,\s*(?=<)/).filter((l) => /rel="ice-server"/.test(l)).map((l) => {
                const s = { urls: /^\s*<([^>]+)>/.exec(l)[1] };
                const u = /username="([^"]*)"/.exec(l), c = /credential="([^"]*)"/.exec(l);
                if (u && c) Object.assign(s, { username: u[1], credential: c[1] });
                return s;
            });
            out.ice_servers = servers.map((s) => s.urls);
            Object.assign(config, { iceServers: servers, iceTransportPolicy: 'relay' });
        }
        const pc = new RTCPeerConnection(config);
        // An audio transceiver too: the server must answer (reject) every m-line.
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
        const video = document.getElementById('v');
        pc.ontrack = (e) => {
            if (e.track.kind === 'video') {
                video.srcObject = new MediaStream([e.track]);
                video.play().catch((err) => out.errors.push(String(err)));
            } else {
                // Played (the browser runs with --mute-audio), so that its samples are decoded.
                const sound = new Audio();
                sound.srcObject = new MediaStream([e.track]);
                sound.play().catch((err) => out.errors.push(String(err)));
            }
        };
        await pc.setLocalDescription(await pc.createOffer());
        const r = await fetch(url, {
            method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth },
            body: pc.localDescription.sdp,
        });
        out.status = r.status;
        out.location = r.headers.get('Location');
        out.etag = r.headers.get('ETag');
        out.content_type = r.headers.get('Content-Type');
        const answer = await r.text();
        if (r.status !== 201) {
            out.errors.push(answer);
            return out;
        }
        out.ice_lite = answer.includes('a=ice-lite');
        try {
            await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        } catch (e) {
            out.errors.push('setRemoteDescription: ' + e);
            return out;
        }
        const t0 = performance.now();
        const end = t0 + seconds * 1000;
        while (performance.now() < end) {
            await new Promise((res) => setTimeout(res, 250));
            const stats = await pc.getStats();
            stats.forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'audio') {
                    const codec = s.codecId && stats.get(s.codecId);
                    out.audio = {
                        codec: codec ? codec.mimeType : '', packets: s.packetsReceived || 0,
                        energy: s.totalAudioEnergy || 0, samples: s.totalSamplesReceived || 0,
                    };
                }
                if (s.type === 'inbound-rtp' && s.kind === 'video') {
                    out.samples.push({
                        t: Math.round(performance.now() - t0), frames: s.framesDecoded || 0,
                        width: s.frameWidth || 0, height: s.frameHeight || 0,
                        keyframes: s.keyFramesDecoded || 0, plis: s.pliCount || 0,
                    });
                    if (out.first_frame_ms === undefined && s.framesDecoded > 0)
                        out.first_frame_ms = Math.round(performance.now() - t0);
                }
            });
        }
        out.ice_state = pc.iceConnectionState;
        const report = await pc.getStats();
        report.forEach((s) => {
            if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
                const local = report.get(s.localCandidateId);
                out.local_type = local ? local.candidateType : undefined;
            }
        });
        out.connection_state = pc.connectionState;
        const last = out.samples[out.samples.length - 1] || {};
        out.frames = last.frames || 0;
        out.width = last.width || 0;
        out.height = last.height || 0;
        out.video_width = video.videoWidth;
        out.video_height = video.videoHeight;
        const d = await fetch(new URL(out.location, url), { method: 'DELETE', headers: auth });
        out.delete_status = d.status;
        pc.close();
        return out;
    }, { url, seconds, token, relay });
    if (g2g) result.g2g = await g2gStop(page);
} finally {
    await browser.close();
}
console.log(JSON.stringify(result));
