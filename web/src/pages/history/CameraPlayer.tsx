// One camera's recorded video in the History page. The primary camera's
// playing instant drives the shared playhead; the others follow it, and
// start again from it when they drift more than 1.5 s.
import { Accessor, createEffect, on, onCleanup, onMount, Show, untrack } from 'solid-js';
import { Link } from '../../lib/router';
import { PlayerState, RecordedPlayer } from './player';

export interface CameraPlayerProps {
  camera: string;
  name: string;
  primary: boolean;
  seekSeq: number;
  playhead: Accessor<number | null>;
  playing: boolean;
  speed: number;
  state?: { state: PlayerState; message?: string };
  removable: boolean;
  onRemove: () => void;
  onTime: (t: number) => void;
  onState: (s: PlayerState, message?: string) => void;
}

export function CameraPlayer(props: CameraPlayerProps) {
  let video!: HTMLVideoElement;
  let box!: HTMLDivElement;
  let player: RecordedPlayer | null = null;
  let lastResync = 0;

  onMount(() => {
    player = new RecordedPlayer(video, props.camera, {
      state: (s, m) => props.onState(s, m),
      time: (t) => {
        // For tests and tools: the instant on screen, and the first one after a seek.
        if (!box.dataset.startDate) box.dataset.startDate = String(t);
        box.dataset.playingDate = String(t);
        props.onTime(t);
      },
    });
    player.setRate(props.speed);
    const ph = untrack(props.playhead);
    if (props.seekSeq > 0 && ph !== null) void player.seek(ph, props.playing);

    // Followers: back in step when they drift.
    const follow = setInterval(() => {
      const ph2 = props.playhead();
      if (props.primary || !player || ph2 === null || !props.playing) return;
      const mine = player.playingDate();
      if (mine !== null && Math.abs(mine - ph2) <= 1500) return;
      if (Date.now() - lastResync < 5000) return;
      lastResync = Date.now();
      void player.seek(ph2, true);
    }, 1000);
    onCleanup(() => {
      clearInterval(follow);
      player?.destroy();
      player = null;
    });
  });

  createEffect(on(() => props.seekSeq, (n, prev) => {
    if (prev === undefined || !player) return;
    const ph = untrack(props.playhead);
    if (n > 0 && ph !== null) {
      lastResync = Date.now();
      delete box.dataset.playingDate;
      delete box.dataset.startDate;
      void player.seek(ph, untrack(() => props.playing));
    }
  }));
  createEffect(on(() => props.playing, (p, prev) => {
    if (prev === undefined || !player) return;
    if (p) player.play();
    else player.pause();
  }));
  createEffect(() => player?.setRate(props.speed));

  const overlay = () => {
    const s = props.state?.state;
    if (s === 'loading' || s === 'buffering') return 'Loading…';
    if (s === 'no-recording' || s === 'error') return props.state?.message || 'No video';
    if (s === 'ended') return 'End of the recording';
    return null;
  };

  return (
    <figure class="hist-player" ref={box} data-camera={props.camera} data-primary={props.primary ? 'true' : 'false'}
            data-state={props.state?.state || 'idle'}>
      <div class="hist-video">
        <video ref={video} muted playsinline aria-label={`Recorded video of ${props.name}`} />
        <Show when={props.seekSeq === 0 && props.primary}>
          <div class="hist-overlay">Click the timeline to play from that instant</div>
        </Show>
        <Show when={props.seekSeq > 0 && overlay()}>
          <div class="hist-overlay" classList={{ bad: props.state?.state === 'error' }} role="status">{overlay()}</div>
        </Show>
      </div>
      <figcaption>
        <span class="hist-cam-name">{props.name}</span>
        <Link href={`/cameras/${encodeURIComponent(props.camera)}`} class="muted">Settings</Link>
        <Show when={props.removable}>
          <button type="button" class="link" onClick={() => props.onRemove()} aria-label={`Remove ${props.name} from the view`}>Remove</button>
        </Show>
      </figcaption>
    </figure>
  );
}
