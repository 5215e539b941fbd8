// How a live player gets video into its <video>: a transport. Today there is one,
// LL-HLS through hls.js (./hls.ts, imported lazily so hls.js stays out of the app
// shell). A WebRTC/WHEP transport can be added beside it later: implement
// Transport, and have pickTransport() prefer it when the server offers WHEP.
export type StreamName = 'main' | 'sub';

export interface LiveSource {
  camera: string;
  stream: StreamName;
}

export type FailureKind = 'not_found' | 'forbidden' | 'unauthorized' | 'network' | 'media' | 'unsupported';

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
}

export interface Transport {
  readonly name: string;
  start(video: HTMLVideoElement, src: LiveSource, cb: TransportCallbacks): TransportSession;
}

// The LL-HLS media playlist of a camera stream (the server chooses the stream by
// ?stream=; the main stream is the default).
export function hlsUrl(src: LiveSource): string {
  const base = `/api/v1/cameras/${encodeURIComponent(src.camera)}/live/index.m3u8`;
  return src.stream === 'main' ? base : `${base}?stream=${encodeURIComponent(src.stream)}`;
}

let hlsTransport: Promise<Transport> | null = null;

// The transport to use; loads its code on first use.
export function pickTransport(): Promise<Transport> {
  if (!hlsTransport) {
    hlsTransport = import('./hls').then((m) => m.hlsTransport).catch((e) => {
      hlsTransport = null; // let a later start try again (a deploy replaced the chunk)
      throw e;
    });
  }
  return hlsTransport;
}

// Delay before restart number `attempt` (0-based): 1, 2, 4, 8, then 15 s.
export function backoffMs(attempt: number): number {
  return Math.min(15000, 1000 * 2 ** Math.max(0, Math.min(attempt, 10)));
}

// "0.8 s", "12 s"; null → "–".
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}
