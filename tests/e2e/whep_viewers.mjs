// Opens N WebRTC (WHEP) viewers of one URL in one chromium page (no video elements: the
// browser still receives and decodes) and prints one JSON object after SECONDS: per viewer
// the connection state, frames decoded and bytes received. Used by bench/webrtc/run.
// Usage: node whep_viewers.mjs WHEP_URL N SECONDS   (HORUS_TOKEN: the bearer key)
import { chromium } from 'playwright-core';

const [url, nArg, secondsArg] = process.argv.slice(2);
const n = Number(nArg);
const seconds = Number(secondsArg);
const token = process.env.HORUS_TOKEN || '';
const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--mute-audio', '--allow-loopback-in-peer-connection'],
});
let result;
try {
    const page = await browser.newPage();
    await page.goto(new URL(url).origin + '/health');
    result = await page.evaluate(async ({ url, n, seconds, token }) => {
        const auth = token ? { Authorization: `Bearer ${token}` } : {};
        const open = async () => {
            const pc = new RTCPeerConnection();
            pc.addTransceiver('video', { direction: 'recvonly' });
            await pc.setLocalDescription(await pc.createOffer());
            const r = await fetch(url, {
                method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth },
                body: pc.localDescription.sdp,
            });
            if (r.status !== 201) throw new Error(`POST ${r.status}: ${await r.text()}`);
            const location = r.headers.get('Location');
            await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
            return { pc, location };
        };
        const viewers = [];
        for (let i = 0; i < n; i++) viewers.push(await open());
        const t0 = Date.now();
        await new Promise((res) => setTimeout(res, seconds * 1000));
        const out = { seconds: (Date.now() - t0) / 1000, viewers: [] };
        for (const v of viewers) {
            let frames = 0, bytes = 0, lost = 0, nacks = 0;
            (await v.pc.getStats()).forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'video') {
                    frames = s.framesDecoded || 0; bytes = s.bytesReceived || 0;
                    lost = s.packetsLost || 0; nacks = s.nackCount || 0;
                }
            });
            out.viewers.push({ state: v.pc.connectionState, frames, bytes, lost, nacks });
            await fetch(new URL(v.location, url), { method: 'DELETE', headers: auth });
            v.pc.close();
        }
        return out;
    }, { url, n, seconds, token });
} finally {
    await browser.close();
}
console.log(JSON.stringify(result));
