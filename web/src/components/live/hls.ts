// The LL-HLS transport: hls.js in low-latency mode on the server's live playlists.
// This module (and hls.js with it) is loaded only when the first live video starts.
import Hls from 'hls.js';
import type { Failure, FailureKind, LiveSource, Transport, TransportCallbacks, TransportSession } from './transport';
import { codecFailure, codecOf, hlsUrl } from './transport';

function statusOf(data: { response?: { code?: number }; networkDetails?: unknown }): number | undefined {
  const code = data.response?.code;
  if (typeof code === 'number' && code > 0) return code;
  const nd = data.networkDetails as { status?: number } | undefined;
  return nd && typeof nd.status === 'number' && nd.status > 0 ? nd.status : undefined;
}

function kindOf(status: number | undefined, networkError: boolean): FailureKind {
  if (status === 404) return 'not_found';
  if (status === 403) return 'forbidden';
  if (status === 401) return 'unauthorized';
  return networkError ? 'network' : 'media';
}

function startNative(video: HTMLVideoElement, url: string, cb: TransportCallbacks): TransportSession {
  // Safari without MSE plays HLS itself (its own LL-HLS support, no date read-out).
  const onPlaying = () => cb.onPlaying();
  const onError = () => cb.onFatal({ kind: 'media', detail: video.error?.message || 'playback error' });
  video.addEventListener('playing', onPlaying);
  video.addEventListener('error', onError);
  video.src = url;
  video.play().catch(() => undefined);
  return {
    destroy() {
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('error', onError);
      video.removeAttribute('src');
      video.load();
    },
    playingDate: () => null,
    hasAudio: () => false,
  };
}

export const hlsTransport: Transport = {
  name: 'll-hls',
  start(video: HTMLVideoElement, src: LiveSource, cb: TransportCallbacks): TransportSession {
    const url = hlsUrl(src);
    if (!Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) return startNative(video, url, cb);
      cb.onFatal({ kind: 'unsupported', detail: 'This browser cannot play live video (no Media Source Extensions).' });
      return { destroy() {}, playingDate: () => null, hasAudio: () => false };
    }
    const hls = new Hls({
      lowLatencyMode: true,
      // fMP4 needs no transmuxing, so no worker per tile (a blob: worker also made
      // Lighthouse's trace of the page time out on its script body).
      enableWorker: false,
      backBufferLength: 4,
      maxBufferLength: 6,
      liveDurationInfinity: true,
      // Catch up rather than drift behind when the tab was busy.
      maxLiveSyncPlaybackRate: 1.5,
      // Each stall raises the target latency by this much (at most one target duration).
      liveSyncOnStallIncrease: 0.5,
      // The player restarts with its own backoff; keep hls.js's own retries short.
      manifestLoadPolicy: {
        default: {
          maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
          timeoutRetry: { maxNumRetry: 1, retryDelayMs: 0, maxRetryDelayMs: 0 },
          errorRetry: { maxNumRetry: 0, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
        },
      },
    });
    let mediaRecoveries = 0;
    let destroyed = false;
    const onPlaying = () => {
      mediaRecoveries = 0;
      cb.onPlaying();
    };
    video.addEventListener('playing', onPlaying);
    hls.on(Hls.Events.ERROR, (_ev, data) => {
      if (!data.fatal || destroyed) return;
      // A codec the browser lacks (H.265 in most): recovering would fail again; say which.
      // (a media playlist names no CODECS: the refused SourceBuffer's type does)
      const mime = (data as { mimeType?: string }).mimeType;
      const unsupported = codecFailure(data.details, hls.levels[0]?.videoCodec || codecOf(mime));
      if (unsupported) {
        cb.onFatal(unsupported);
        return;
      }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
        mediaRecoveries++;
        hls.recoverMediaError();
        return;
      }
      const status = statusOf(data as never);
      const f: Failure = {
        kind: kindOf(status, data.type === Hls.ErrorTypes.NETWORK_ERROR),
        status,
        detail: data.details,
      };
      cb.onFatal(f);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      video.play().catch(() => undefined); // muted autoplay; a refusal leaves the poster
    });
    hls.attachMedia(video);
    hls.loadSource(url);
    return {
      destroy() {
        destroyed = true;
        video.removeEventListener('playing', onPlaying);
        hls.destroy(); // stops loading and detaches the MediaSource
        video.removeAttribute('src');
        video.load();
      },
      playingDate: () => hls.playingDate,
      // The playlist's CODECS name the camera's AAC when it has sound.
      hasAudio: () => hls.levels.some((l) => !!l.audioCodec) || hls.audioTracks.length > 0,
    };
  },
};
