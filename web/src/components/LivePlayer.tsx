// A live video player for one camera stream, for any page that shows live video.
// It plays only while it is on screen (IntersectionObserver) and the tab is visible
// (visibilitychange): otherwise its transport is destroyed, freeing the decoder and
// the MediaSource, and it starts again when it comes back. Failures restart it with
// a backoff; a camera that is gone (404) or forbidden (403) says so and stops.
// It starts on WebRTC (WHEP) and falls back to LL-HLS when WebRTC cannot serve the
// camera; the tile says which. The latency read-out is now − the wall-clock time of
// the frame on screen (LL-HLS: its program date time; WebRTC: the sender reports').
// A camera with sound gets a speaker button; tiles start muted (browsers allow
// muted autoplay only) and the viewer's choice holds across restarts.
import { createEffect, createMemo, createSignal, JSX, on, onCleanup, onMount, Show } from 'solid-js';
import { api, ApiError } from '../lib/api';
import type { Camera } from '../lib/types';
import { backoffMs, formatLatency, pickTransport } from './live/transport';
import type { Failure, StreamName, TransportName, TransportSession } from './live/transport';
import { Spinner } from './ui';
import './live/player.css';

export type PlayerState = 'idle' | 'waiting' | 'connecting' | 'playing' | 'offline' | 'gone' | 'forbidden' | 'error';

export interface LivePlayerProps {
  camera: string;
  stream: StreamName;
  // Accessible name of the video ("Front door, live").
  label: string;
  // False while the camera cannot be expected to have live media (offline, disabled):
  // the player waits, showing idleText, instead of asking the server in vain.
  canPlay?: boolean;
  idleText?: string;
  // A change restarts a failed player at once (e.g. the camera's status.since).
  retryKey?: unknown;
  showLatency?: boolean;
  // Whether the server can play this stream over WebRTC now (the camera's
  // status.webrtc); false: LL-HLS. Undefined: try WebRTC, falling back.
  webrtc?: boolean;
  onState?: (s: PlayerState) => void;
  children?: JSX.Element;
}

const FIRST_FRAME_MARK = 'horus-live-first-frame';
const TRANSPORT_LABEL: Record<TransportName, string> = { webrtc: 'WebRTC', 'll-hls': 'LL-HLS' };

const [tabVisible, setTabVisible] = createSignal(typeof document === 'undefined' || document.visibilityState !== 'hidden');
if (typeof document !== 'undefined') {
  document.addEventListener('visibilitychange', () => setTabVisible(document.visibilityState !== 'hidden'));
}

export function LivePlayer(props: LivePlayerProps) {
  let box!: HTMLDivElement;
  let video!: HTMLVideoElement;
  const [onScreen, setOnScreen] = createSignal(false);
  const [state, setStateSignal] = createSignal<PlayerState>('idle');
  const [message, setMessage] = createSignal('');
  const [latency, setLatency] = createSignal<number | null>(null);
  const [transportName, setTransportName] = createSignal<TransportName | null>(null);
  const [hasSound, setHasSound] = createSignal(false);
  const [soundOn, setSoundOn] = createSignal(false);
  let session: TransportSession | null = null;
  let gen = 0; // bumps on every stop, so late callbacks of an old session are ignored
  let attempt = 0;
  let retryTimer: number | undefined;
  let lastTime = -1;
  let stalledFor = 0;
  let behindFor = 0;

  const setState = (s: PlayerState, msg = '') => {
    setStateSignal(s);
    setMessage(msg);
    props.onState?.(s);
  };

  // Memos, so that a parent re-rendering with equal values does not restart anything.
  const wanted = createMemo(() => onScreen() && tabVisible() && props.canPlay !== false);
  const camera = createMemo(() => props.camera);
  const stream = createMemo(() => props.stream);
  const retryKey = createMemo(() => props.retryKey);
  const idleText = createMemo(() => props.idleText);
  const webrtcOk = createMemo(() => props.webrtc);

  function stop() {
    gen++;
    window.clearTimeout(retryTimer);
    retryTimer = undefined;
    if (session) {
      session.destroy();
      session = null;
    }
    setLatency(null);
    setHasSound(false);
  }

  function toggleSound(e: MouseEvent) {
    e.stopPropagation(); // the tile's own click enlarges it
    const on = !soundOn();
    setSoundOn(on);
    video.muted = !on;
    if (on && video.paused) video.play().catch(() => undefined);
  }

  function scheduleRetry(msg: string) {
    const g = gen;
    const delay = backoffMs(attempt++);
    setState('offline', `${msg} Retrying in ${Math.round(delay / 1000)} s.`);
    retryTimer = window.setTimeout(() => {
      if (g === gen && wanted()) start();
    }, delay);
  }

  async function failed(g: number, f: Failure) {
    if (g !== gen) return;
    stop();
    const g2 = gen;
    switch (f.kind) {
      case 'unauthorized':
        // The session ended: any API call now takes the app to sign-in.
        api.get('/api/v1/auth/me').catch(() => undefined);
        setState('error', 'Signed out.');
        return;
      case 'forbidden':
        setState('forbidden', 'You have no permission to view this camera.');
        return;
      case 'unsupported':
        setState('error', f.detail);
        return;
      case 'fallback':
        // WebRTC cannot serve this camera here: LL-HLS at once, no backoff.
        void start(true);
        return;
      case 'not_found': {
        // Deleted, hidden from us, or just no live media yet: ask the camera itself.
        try {
          const cam = await api.get<Camera>(`/api/v1/cameras/${encodeURIComponent(props.camera)}`);
          if (g2 !== gen) return;
          const why = !cam.enabled ? 'The camera is disabled.'
            : !cam.record.enabled ? 'No live view: recording is off for this camera.'
            : 'No live video yet.';
          scheduleRetry(why);
        } catch (e) {
          if (g2 !== gen) return;
          if (e instanceof ApiError && e.status === 404) setState('gone', 'This camera no longer exists.');
          else if (e instanceof ApiError && e.status === 403) setState('forbidden', 'You have no permission to view this camera.');
          else scheduleRetry('The server cannot be reached.');
        }
        return;
      }
      default:
        scheduleRetry(f.kind === 'network' ? 'Connection lost.' : 'The video could not be decoded.');
    }
  }

  async function start(noWebrtc = false) {
    stop();
    const g = gen;
    setState('connecting');
    lastTime = -1;
    stalledFor = 0;
    let transport;
    try {
      transport = await pickTransport({ noWebrtc: noWebrtc || props.webrtc === false });
    } catch {
      if (g === gen) scheduleRetry('The player could not be loaded.');
      return;
    }
    if (g !== gen) return;
    setTransportName(transport.name);
    session = transport.start(video, { camera: camera(), stream: stream() }, {
      onPlaying: () => {
        if (g !== gen) return;
        attempt = 0;
        if (performance.getEntriesByName(FIRST_FRAME_MARK).length === 0) performance.mark(FIRST_FRAME_MARK);
        setState('playing');
      },
      onFatal: (f) => void failed(g, f),
    });
  }

  // (Re)start on what the player shows and whether it should play.
  createEffect(on([camera, stream, wanted], ([, , want]) => {
    if (want) {
      attempt = 0;
      void start();
    } else {
      stop();
      setState(props.canPlay === false ? 'waiting' : 'idle', props.canPlay === false ? props.idleText || 'Camera offline' : '');
    }
  }));

  // The page says something changed (the camera came back): retry a failed player now.
  createEffect(on(retryKey, () => {
    if (wanted() && (state() === 'offline' || state() === 'error')) {
      attempt = 0;
      void start();
    }
  }, { defer: true }));

  // The server can now play this stream over WebRTC (the camera came back with
  // H.264, the node turned it on): move a tile on LL-HLS over to it.
  createEffect(on(webrtcOk, (ok, prev) => {
    if (ok && prev === false && wanted() && transportName() === 'll-hls') {
      attempt = 0;
      void start();
    }
  }, { defer: true }));

  createEffect(on(idleText, (t) => {
    if (state() === 'waiting') setMessage(t || 'Camera offline');
  }, { defer: true }));

  // Once a second: the latency read-out, and watchdogs for a picture that froze
  // without an error (restart after 12 s without progress) or fell far behind live
  // (a starved tab: restart at the live edge after 5 s more than 15 s behind).
  const tick = window.setInterval(() => {
    if (!session || state() !== 'playing') return;
    setHasSound(session.hasAudio());
    const d = session.playingDate();
    const lat = d ? Date.now() - d.getTime() : null;
    setLatency(lat);
    behindFor = lat !== null && lat > 15000 ? behindFor + 1 : 0;
    if (behindFor >= 5) {
      behindFor = 0;
      void start();
      return;
    }
    if (video.paused && video.readyState >= 2) video.play().catch(() => undefined);
    if (video.currentTime === lastTime) {
      if (++stalledFor >= 12) void failed(gen, { kind: 'network', detail: 'stalled' });
    } else {
      stalledFor = 0;
      lastTime = video.currentTime;
    }
  }, 1000);

  onMount(() => {
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) setOnScreen(e.isIntersecting);
    }, { threshold: 0.01 });
    io.observe(box);
    onCleanup(() => io.disconnect());
  });

  onCleanup(() => {
    window.clearInterval(tick);
    stop();
  });

  return (
    <div ref={box} class="live-player" data-state={state()} data-stream={props.stream} data-camera={props.camera}
         data-transport={transportName() ?? ''}>
      <video ref={video} muted playsinline autoplay disablepictureinpicture aria-label={props.label} />
      <Show when={state() !== 'playing'}>
        <div class="live-player-overlay" classList={{ bad: state() === 'gone' || state() === 'forbidden' || state() === 'error' }}>
          <Show when={state() === 'connecting'} fallback={<span role="status">{message()}</span>}>
            <Spinner label="Connecting…" />
          </Show>
        </div>
      </Show>
      <Show when={props.showLatency !== false && state() === 'playing'}>
        <span class="live-latency"
              title={`Live latency over ${TRANSPORT_LABEL[transportName() ?? 'll-hls']}: now minus the time of the frame on screen`}
              data-latency-ms={latency() === null ? '' : String(Math.round(latency()!))}>
          {formatLatency(latency())} <small>{TRANSPORT_LABEL[transportName() ?? 'll-hls']}</small>
        </span>
      </Show>
      <Show when={state() === 'playing' && hasSound()}>
        <button type="button" class="live-sound" aria-pressed={soundOn()} onClick={toggleSound}
                aria-label={soundOn() ? 'Mute sound' : 'Play sound'} title={soundOn() ? 'Mute sound' : 'Play sound'}>
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path fill="currentColor" d="M4 9h4l5-4v14l-5-4H4z" />
            <Show when={soundOn()} fallback={<path stroke="currentColor" stroke-width="2" d="M16 9l5 6m0-6l-5 6" />}>
              <path fill="none" stroke="currentColor" stroke-width="2" d="M16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12" />
            </Show>
          </svg>
        </button>
      </Show>
      {props.children}
    </div>
  );
}
