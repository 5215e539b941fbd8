// A recorded-video player for one camera: hls.js (imported lazily, on the
// first seek) on the playback playlist, started at an exact instant, with
// the instant on screen (hls.js playingDate, from EXT-X-PROGRAM-DATE-TIME)
// reported back so it can drive the timeline's playhead.
import type HlsType from 'hls.js';
import type { ErrorData, LevelLoadedData } from 'hls.js';
import { MINUTE } from './timeline';

type HlsModule = typeof import('hls.js');
let hlsModule: Promise<HlsModule> | null = null;

function loadHls(): Promise<HlsModule> {
  if (!hlsModule) hlsModule = import('hls.js');
  return hlsModule;
}

// How much one playlist covers ahead of the start; playback carries on with
// a new playlist from its end.
export const WINDOW_MS = 30 * MINUTE;

export type PlayerState = 'idle' | 'loading' | 'playing' | 'paused' | 'buffering' | 'ended' | 'no-recording' | 'error';

export interface PlayerEvents {
  state(state: PlayerState, message?: string): void;
  time(t: number): void;
}

export function playlistUrl(camera: string, start: number, now: number): { url: string; end: number | null } {
  const end = start + WINDOW_MS;
  // A window reaching the present asks for "until now": the server answers
  // an EVENT playlist hls.js reloads while the camera records.
  const open = end >= now - 15000;
  const q = new URLSearchParams({ start: String(Math.floor(start)) });
  if (!open) q.set('end', String(Math.floor(end)));
  return { url: `/api/v1/cameras/${encodeURIComponent(camera)}/playback.m3u8?${q}`, end: open ? null : end };
}

export class RecordedPlayer {
  private hls: HlsType | null = null;
  private generation = 0;
  private windowEnd: number | null = null;
  private rate = 1;
  private wantPlay = true;
  private recovered = 0;
  private readonly onTimeUpdate = () => this.report();
  private readonly onPlaying = () => this.events.state('playing');
  private readonly onPause = () => { if (!this.video.ended) this.events.state('paused'); };
  private readonly onWaiting = () => this.events.state('buffering');
  private readonly onEnded = () => this.continueAfterWindow();

  constructor(private readonly video: HTMLVideoElement, private camera: string, private readonly events: PlayerEvents) {
    video.muted = true;
    video.playsInline = true;
    video.addEventListener('timeupdate', this.onTimeUpdate);
    video.addEventListener('playing', this.onPlaying);
    video.addEventListener('pause', this.onPause);
    video.addEventListener('waiting', this.onWaiting);
    video.addEventListener('ended', this.onEnded);
  }

  // The instant on screen, or null before anything plays.
  playingDate(): number | null {
    const d = this.hls?.playingDate;
    return d ? d.getTime() : null;
  }

  isPaused(): boolean {
    return this.video.paused;
  }

  // Plays (or, with play false, shows paused) from instant t.
  async seek(t: number, play = true): Promise<void> {
    const gen = ++this.generation;
    this.wantPlay = play;
    this.recovered = 0;
    this.events.state('loading');
    let mod: HlsModule;
    try {
      mod = await loadHls();
    } catch (e) {
      if (gen === this.generation) this.events.state('error', `The video player could not load: ${(e as Error).message}`);
      return;
    }
    if (gen !== this.generation) return;
    const Hls = mod.default;
    this.stopHls();
    if (!Hls.isSupported()) {
      this.events.state('error', 'This browser cannot play HLS video (Media Source Extensions are missing).');
      return;
    }
    const { url, end } = playlistUrl(this.camera, t, Date.now());
    this.windowEnd = end;
    const hls = new Hls({
      autoStartLoad: false,
      lowLatencyMode: false,
      backBufferLength: 60,
      maxBufferLength: Math.max(20, 10 * this.rate),
      enableWorker: true,
      fragLoadingMaxRetry: 2,
      manifestLoadingMaxRetry: 1,
      levelLoadingMaxRetry: 2,
    });
    this.hls = hls;
    let started = false;
    hls.on(Hls.Events.LEVEL_LOADED, (_e, data: LevelLoadedData) => {
      if (started || gen !== this.generation) return;
      started = true;
      const frags = data.details.fragments;
      if (!frags.length) {
        this.events.state('no-recording', 'Nothing is recorded here yet.');
        return;
      }
      // The position in the playlist's media time of instant t: within the
      // last fragment that starts at or before it.
      let pos = frags[0].start;
      for (const f of frags) {
        if (f.programDateTime === null || f.programDateTime > t) break;
        pos = f.start + Math.min(f.duration, Math.max(0, (t - f.programDateTime) / 1000));
      }
      hls.startLoad(pos);
      this.video.currentTime = pos;
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      if (gen !== this.generation) return;
      this.video.playbackRate = this.rate;
      if (this.wantPlay && this.video.paused) this.video.play().catch(() => undefined);
      else if (!this.wantPlay) this.events.state('paused');
    });
    hls.on(Hls.Events.ERROR, (_e, data: ErrorData) => {
      if (gen !== this.generation || !data.fatal) return;
      const status = data.response?.code;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && status === 404) {
        this.stopHls();
        this.events.state('no-recording', 'Nothing is recorded at this time.');
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && this.recovered < 2) {
        this.recovered++;
        hls.recoverMediaError();
      } else {
        this.stopHls();
        this.events.state('error', status ? `The recording could not be loaded (HTTP ${status}).` : `Playback failed: ${data.details}`);
      }
    });
    hls.attachMedia(this.video);
    hls.loadSource(url);
  }

  play(): void {
    this.wantPlay = true;
    this.video.play().catch(() => undefined);
  }

  pause(): void {
    this.wantPlay = false;
    this.video.pause();
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.video.playbackRate = rate;
    // Fast playback eats the buffer faster: buffer ahead in proportion.
    if (this.hls) this.hls.config.maxBufferLength = Math.max(20, 10 * rate);
  }

  setCamera(camera: string): void {
    this.camera = camera;
  }

  destroy(): void {
    this.generation++;
    this.stopHls();
    this.video.removeEventListener('timeupdate', this.onTimeUpdate);
    this.video.removeEventListener('playing', this.onPlaying);
    this.video.removeEventListener('pause', this.onPause);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('ended', this.onEnded);
  }

  private report(): void {
    const t = this.playingDate();
    if (t !== null) this.events.time(t);
  }

  // The playlist window played out: go on from its end, or stop at the present.
  private continueAfterWindow(): void {
    if (this.windowEnd !== null) void this.seek(this.windowEnd, true);
    else this.events.state('ended');
  }

  private stopHls(): void {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.video.removeAttribute('src');
    try {
      this.video.load();
    } catch {
      /* nothing loaded */
    }
  }
}
