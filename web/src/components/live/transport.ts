// How a live player gets video into its <video>: a transport. There are two, each
// imported lazily so the app shell stays small: WebRTC through WHEP (./whep.ts),
// tried first for its sub-second delay, and LL-HLS through hls.js (./hls.ts), which
// a player falls back to when WebRTC cannot serve the camera (failure 'fallback').
export type StreamName = 'main' | 'sub';

export interface LiveSource {
  camera: string;
  stream: StreamName;
}

// 'fallback': this transport cannot serve the camera here; start the next one now.
export type FailureKind = 'not_found' | 'forbidden' | 'unauthorized' | 'network' | 'media' | 'unsupported'
  | 'fallback';

export interface Failure {
  kind: FailureKind;
  status?: number;
  detail: string;
}

export interface TransportCallbacks {
  // The first frame plays (and again after a stall).
  onPlaying(): void;
  // Playback cannot continue without a restart.
  onFatal(f: Failure): void;
}

export interface TransportSession {
  // Stops all requests and frees the media source (MSE) of the video element.
  destroy(): void;
  // Program date time of the frame on screen, when the transport knows it.
  playingDate(): Date | null;
  // Whether the stream carries sound the video element can play.
  hasAudio(): boolean;
}

export type TransportName = 'webrtc' | 'll-hls';

export interface Transport {
  readonly name: TransportName;
  start(video: HTMLVideoElement, src: LiveSource, cb: TransportCallbacks): TransportSession;
}

// The LL-HLS media playlist of a camera stream (the server chooses the stream by
// ?stream=; the main stream is the default).
export function hlsUrl(src: LiveSource): string {
  const base = `/api/v1/cameras/${encodeURIComponent(src.camera)}/live/index.m3u8`;
  return src.stream === 'main' ? base : `${base}?stream=${encodeURIComponent(src.stream)}`;
}

// The WHEP endpoint of a camera stream.
export function whepUrl(src: LiveSource): string {
  const base = `/api/v1/cameras/${encodeURIComponent(src.camera)}/whep`;
  return src.stream === 'main' ? base : `${base}?stream=${encodeURIComponent(src.stream)}`;
}

// Until when every player of this page load goes straight to LL-HLS: for good
// once the server said WebRTC is off (503 "disabled"), for a while after a
// session found no path to the server's UDP port (a firewall), so that later
// tiles do not each wait for the same failure.
let webrtcOffUntil = 0;
export const NO_PATH_RETRY_MS = 5 * 60 * 1000;
export function markWebrtcOff(forMs = Infinity): void {
  webrtcOffUntil = Math.max(webrtcOffUntil, Date.now() + forMs);
}

const loaded: Partial<Record<TransportName, Promise<Transport>>> = {};

function load(name: TransportName): Promise<Transport> {
  let p = loaded[name];
  if (!p) {
    p = (name === 'webrtc' ? import('./whep').then((m) => m.whepTransport)
      : import('./hls').then((m) => m.hlsTransport)).catch((e) => {
      delete loaded[name]; // let a later start try again (a deploy replaced the chunk)
      throw e;
    });
    loaded[name] = p;
  }
  return p;
}

// The transport a player should start with: WebRTC unless the server has it off,
// the browser lacks it, or this player just fell back from it. Loads its code on
// first use.
export function pickTransport(opts: { noWebrtc?: boolean } = {}): Promise<Transport> {
  const rtc = !opts.noWebrtc && Date.now() >= webrtcOffUntil && typeof RTCPeerConnection !== 'undefined';
  return load(rtc ? 'webrtc' : 'll-hls');
}

// Delay before restart number `attempt` (0-based): 1, 2, 4, 8, then 15 s.
export function backoffMs(attempt: number): number {
  return Math.min(15000, 1000 * 2 ** Math.max(0, Math.min(attempt, 10)));
}

// "40 ms", "0.8 s", "12 s"; null → "–".
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 100) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

// hls.js's error details that mean the browser cannot decode the stream's codec.
const CODEC_ERRORS = new Set(['manifestIncompatibleCodecsError', 'bufferIncompatibleCodecsError', 'bufferAddCodecError']);

// A person's name for an RFC 6381 codec string ("hvc1.1.6.L93.B0" is H.265).
export function codecName(codec: string | undefined): string {
  const c = (codec || '').toLowerCase();
  if (c.startsWith('hvc1') || c.startsWith('hev1')) return 'H.265 (HEVC)';
  if (c.startsWith('avc1') || c.startsWith('avc3')) return 'H.264';
  return codec || 'this camera\'s';
}

// The first codec of a MIME type ('video/mp4;codecs="hvc1.1.6.L93.B0"'), if any.
export function codecOf(mime: string | undefined): string | undefined {
  const m = /codecs\s*=\s*"?([^",;]+)/i.exec(mime || '');
  return m ? m[1].trim() : undefined;
}

// The failure a tile shows when the browser cannot decode the camera's video, naming
// the codec and what to do; null for any other error.
export function codecFailure(details: string, codec: string | undefined): Failure | null {
  if (!CODEC_ERRORS.has(details)) return null;
  const name = codecName(codec);
  const advice = name.startsWith('H.265')
    ? ' Use a browser that decodes it (Safari, or Chrome or Edge with hardware decoding), or give the camera an H.264 sub stream.'
    : '';
  return { kind: 'unsupported', detail: `This browser cannot decode ${name} video.${advice}` };
}
