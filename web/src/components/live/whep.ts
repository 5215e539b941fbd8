// The WebRTC transport: WHEP (RFC 9725) against the server's ICE-lite endpoint,
// the delay of a video call instead of LL-HLS's second. It needs no library, but
// is still loaded with import() so that the app shell stays small.
//
// When the server cannot serve this camera over WebRTC (the node has it off, the
// camera's codec is not H.264, the session limit is reached, or no ICE path forms
// in time), the session fails with kind 'fallback' and the player starts LL-HLS.
// Sound: the server sends the camera's AAC as Opus (shared by every viewer) in
// the same media stream as the picture, so the browser keeps them in sync; the
// video element stays muted until the viewer turns the sound on.
// Behind a NAT or firewall with no direct path, the server's TURN servers (ice.ts)
// give the browser relay candidates.
// The live latency read-out: the server stamps each frame with its wall clock as
// ingest saw it (the abs-capture-time RTP header extension; the program date time
// LL-HLS carries is the same clock), so both transports measure the same thing.
import { csrfHeaders } from '../../lib/api';
import { fetchIceServers } from './ice';
import type { Failure, LiveSource, Transport, TransportCallbacks, TransportSession } from './transport';
import { markWebrtcOff, NO_PATH_RETRY_MS, whepUrl } from './transport';

// Seconds from the answer until a picture must play, or LL-HLS takes over.
const FIRST_FRAME_TIMEOUT_MS = 8000;
// Milliseconds between 1900 (NTP) and 1970 (Unix).
const NTP_UNIX_OFFSET_MS = 2208988800000;

const ABS_CAPTURE_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';

// Offers the abs-capture-time header extension (off by default in Chromium): the
// server then stamps each frame with its wall clock, and the receiver's
// synchronisation source reports the capture time of the frame played out.
function askCaptureTimes(tr: RTCRtpTransceiver) {
  const t = tr as RTCRtpTransceiver & {
    getHeaderExtensionsToNegotiate?: () => { uri: string; direction: string }[];
    setHeaderExtensionsToNegotiate?: (e: { uri: string; direction: string }[]) => void;
  };
  if (!t.getHeaderExtensionsToNegotiate || !t.setHeaderExtensionsToNegotiate) return;
  try {
    t.setHeaderExtensionsToNegotiate(t.getHeaderExtensionsToNegotiate().map((e) =>
      e.uri === ABS_CAPTURE_TIME && e.direction === 'stopped' ? { ...e, direction: 'recvonly' } : e));
  } catch {
    // Only the latency read-out is lost.
  }
}

async function errorCode(res: Response): Promise<{ code: string; message: string }> {
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } };
    return { code: j.error?.code || '', message: j.error?.message || `${res.status}` };
  } catch {
    return { code: '', message: `${res.status} ${res.statusText}` };
  }
}

// What the player should do about a refused offer.
export function offerFailure(status: number, code: string, message: string): Failure {
  if (status === 401) return { kind: 'unauthorized', status, detail: message };
  if (status === 403) return { kind: 'forbidden', status, detail: message };
  if (status === 404) return { kind: 'not_found', status, detail: message };
  // 400 (not H.264), 503 (off here, not streaming yet, session limit), 415, 5xx:
  // LL-HLS may still serve it, and says so itself when it cannot.
  return { kind: 'fallback', status, detail: code === 'disabled' ? 'WebRTC is off on this server' : message };
}

export const whepTransport: Transport = {
  name: 'webrtc',
  start(video: HTMLVideoElement, src: LiveSource, cb: TransportCallbacks): TransportSession {
    if (typeof RTCPeerConnection === 'undefined') {
      cb.onFatal({ kind: 'fallback', detail: 'This browser has no WebRTC' });
      return { destroy() {}, playingDate: () => null, hasAudio: () => false };
    }
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const abort = new AbortController();
    let destroyed = false;
    let played = false;
    let location: string | null = null;
    let firstFrameTimer: number | undefined;

    const fail = (f: Failure) => {
      if (destroyed) return;
      cb.onFatal(f);
    };
    const noPath = (detail: string) => {
      if (destroyed) return;
      markWebrtcOff(NO_PATH_RETRY_MS);
      cb.onFatal({ kind: 'fallback', detail });
    };
    const onPlaying = () => {
      if (destroyed) return;
      window.clearTimeout(firstFrameTimer);
      played = true;
      cb.onPlaying();
    };
    video.addEventListener('playing', onPlaying);
    // A page unloading runs no cleanup: end the server's session all the same.
    const onPageHide = () => release();
    window.addEventListener('pagehide', onPageHide);

    const tr = pc.addTransceiver('video', { direction: 'recvonly' });
    askCaptureTimes(tr);
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const media = new MediaStream();
    pc.ontrack = (e) => {
      if (destroyed) return;
      media.addTrack(e.track);
      if (e.track.kind !== 'video') return;
      video.srcObject = media;
      video.play().catch(() => undefined); // muted autoplay
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState !== 'failed' && pc.connectionState !== 'closed') return;
      // Never played: no path to the server's UDP port (a firewall); LL-HLS over
      // HTTP still works. Played, then lost: restart, WebRTC first again.
      if (played) {
        fail({ kind: 'network', detail: 'WebRTC connection lost' });
      } else {
        noPath('No WebRTC path to the server');
      }
    };

    void (async () => {
      try {
        // The server's STUN/TURN servers, before the offer gathers its candidates.
        const iceServers = await fetchIceServers(whepUrl(src), csrfHeaders(), abort.signal);
        if (destroyed) return;
        if (iceServers.length) pc.setConfiguration({ bundlePolicy: 'max-bundle', iceServers });
        await pc.setLocalDescription(await pc.createOffer());
        const res = await fetch(whepUrl(src), {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp', ...csrfHeaders() },
          body: pc.localDescription!.sdp,
          credentials: 'same-origin',
          signal: abort.signal,
        });
        if (res.status !== 201) {
          const e = await errorCode(res);
          if (e.code === 'disabled') markWebrtcOff();
          fail(offerFailure(res.status, e.code, e.message));
          return;
        }
        location = res.headers.get('Location');
        const answer = await res.text();
        if (destroyed) {
          release();
          return;
        }
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        firstFrameTimer = window.setTimeout(() => {
          if (!played) noPath('No WebRTC picture in time');
        }, FIRST_FRAME_TIMEOUT_MS);
      } catch (e) {
        if ((e as Error).name === 'AbortError' || destroyed) return;
        // The fetch itself failed (server unreachable) or the answer was refused.
        fail(e instanceof TypeError ? { kind: 'network', detail: String(e) }
          : { kind: 'fallback', detail: `WebRTC: ${String(e)}` });
      }
    })();

    // Ends the server's session; keepalive lets it go out while the page unloads.
    function release(): Promise<unknown> {
      if (!location) return Promise.resolve();
      const at = location;
      location = null;
      return fetch(at, { method: 'DELETE', headers: csrfHeaders(), credentials: 'same-origin', keepalive: true })
        .catch(() => undefined);
    }

    return {
      destroy() {
        destroyed = true;
        abort.abort();
        window.clearTimeout(firstFrameTimer);
        video.removeEventListener('playing', onPlaying);
        window.removeEventListener('pagehide', onPageHide);
        pc.ontrack = null;
        pc.onconnectionstatechange = null;
        video.srcObject = null;
        // The DELETE first: closing sends the server a DTLS close, which would end
        // the session before the DELETE names it (a 404 in the console).
        void release().finally(() => pc.close());
      },
      playingDate: () => {
        // The frame played out last: its wall clock (abs-capture-time, NTP ms) and
        // when it was played (ms since 1970). The date "now" is the wall clock it
        // had plus the time since: now − date is then how late it was played.
        const src = tr.receiver.getSynchronizationSources()
          .find((x) => (x as { captureTimestamp?: number }).captureTimestamp);
        const cap = (src as { captureTimestamp?: number } | undefined)?.captureTimestamp;
        if (!src || !cap) return null;
        return new Date(cap - NTP_UNIX_OFFSET_MS + (Date.now() - src.timestamp));
      },
      hasAudio: () => media.getAudioTracks().length > 0,
    };
  },
};
