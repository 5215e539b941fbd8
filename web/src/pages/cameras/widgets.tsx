// Pieces the camera list and the camera page share: the state badge, the
// thumbnail, and the dialogs that delete a camera or switch it on and off.
import { createEffect, createSignal, on, Show } from 'solid-js';
import { api } from '../../lib/api';
import { Confirm } from './Confirm';
import type { CameraFull } from './data';
import { breakerTone, stateLabel, stateTone } from './logic';

export function StateBadge(props: { state: string | null | undefined; label?: string }) {
  return (
    <span class={`badge ${stateTone(props.state)}`} data-state={props.state || ''}>
      {props.label ? `${props.label}: ` : ''}{stateLabel(props.state)}
    </span>
  );
}

export function BreakerBadge(props: { breaker: string }) {
  return <span class={`badge ${breakerTone(props.breaker)}`}>{props.breaker.replace('_', '-')}</span>;
}

// The latest frame, reloaded when tick changes; only asked for while the
// camera streams (otherwise the server has no frame and answers 503).
export function Thumbnail(props: { camera: CameraFull; width: number; tick: number }) {
  const [failed, setFailed] = createSignal(false);
  const [shown, setShown] = createSignal<string | null>(null);
  const streaming = () => props.camera.status.state === 'streaming';
  const src = () => `/api/v1/cameras/${encodeURIComponent(props.camera.id)}/snapshot.jpg?width=${props.width}&_=${props.tick}`;
  // Load the next frame off-screen and swap it in when it arrived, so the
  // thumbnail never flashes empty between refreshes.
  createEffect(on([src, streaming], ([url, live]) => {
    if (!live) {
      setShown(null);
      return;
    }
    const img = new Image();
    img.onload = () => {
      setShown(url);
      setFailed(false);
    };
    img.onerror = () => setFailed(true);
    img.src = url;
  }));
  return (
    <div class="thumb" classList={{ 'thumb-empty': !shown() }}>
      <Show when={shown()} fallback={
        <span class="thumb-note">{streaming() ? (failed() ? 'No picture yet' : 'Loading…') : stateLabel(props.camera.status.state)}</span>
      }>
        <img src={shown()!} alt={`Latest frame of ${props.camera.name || props.camera.id}`} width="320" height="180" decoding="async" />
      </Show>
    </div>
  );
}

export function DeleteCameraDialog(props: { camera: CameraFull; onDone: () => void; onClose: () => void }) {
  const label = () => (props.camera.name ? `“${props.camera.name}” (${props.camera.id})` : `“${props.camera.id}”`);
  return (
    <Confirm title={`Delete camera ${props.camera.name || props.camera.id}?`} confirmLabel="Delete camera" danger
             onClose={props.onClose}
             onConfirm={async () => {
               await api.del(`/api/v1/cameras/${encodeURIComponent(props.camera.id)}`);
               props.onDone();
             }}>
      <p>Horus stops connecting to and recording camera {label()}.</p>
      <p>
        Its recordings are not deleted now: they are kept as orphaned recordings and removed when the
        deleted-camera grace period (<code>storage.deleted_camera_grace</code>) ends, unless a new camera
        with the id <code>{props.camera.id}</code> takes them over.
      </p>
    </Confirm>
  );
}

export async function setEnabled(camera: CameraFull, enabled: boolean): Promise<CameraFull> {
  return api.patch<CameraFull>(`/api/v1/cameras/${encodeURIComponent(camera.id)}`, { enabled });
}
