// Cameras: every camera with its pipeline status (state, frame rate,
// bitrate, breaker, last error, reconnects, recording, sub stream) and a
// thumbnail, refreshed every few seconds. Operators add cameras (with a
// connection test first), switch them on and off and delete them; cameras
// declared in horus.yaml are read-only here. Viewers see the list only.
import { createEffect, createMemo, createSignal, For, Show } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import { Link } from '../lib/router';
import { hasRole } from '../lib/session';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { errorText } from '../lib/api';
import { CameraForm } from './cameras/CameraForm';
import { CameraFull, createPoll, createTick, listAllCameras } from './cameras/data';
import { DASH, formatBitrate, formatFps } from './cameras/logic';
import { BreakerBadge, DeleteCameraDialog, setEnabled, StateBadge, Thumbnail } from './cameras/widgets';
import './cameras/cameras.css';

export default function Cameras() {
  const canEdit = () => hasRole('operator');
  const cams = createPoll(listAllCameras, () => 3000);
  const tick = createTick(10000);
  // One object per camera across refreshes, so the cards (and the focus in
  // them) stay while their numbers change.
  const [store, setStore] = createStore<{ list: CameraFull[] }>({ list: [] });
  createEffect(() => {
    const v = cams.value();
    if (v) setStore('list', reconcile(v, { key: 'id' }));
  });
  const [adding, setAdding] = createSignal(false);
  const [filter, setFilter] = createSignal('');
  const [notice, setNotice] = createSignal<string | null>(null);
  const [actionErr, setActionErr] = createSignal<string | null>(null);
  const [deleting, setDeleting] = createSignal<CameraFull | null>(null);
  const [toggling, setToggling] = createSignal<string | null>(null);

  const shown = createMemo(() => {
    const q = filter().trim().toLowerCase();
    const all = store.list;
    if (!q) return all;
    return all.filter((c) => c.id.includes(q) || c.name.toLowerCase().includes(q) || c.groups.some((g) => g.includes(q)) ||
                             c.status.state.includes(q));
  });
  const counts = createMemo(() => {
    const all = store.list;
    return { total: all.length, streaming: all.filter((c) => c.status.state === 'streaming').length };
  });

  async function toggle(c: CameraFull) {
    setToggling(c.id);
    setActionErr(null);
    try {
      await setEnabled(c, !c.enabled);
      setNotice(`${c.name || c.id} ${c.enabled ? 'disabled' : 'enabled'}.`);
      await cams.refresh();
    } catch (e) {
      setActionErr(`${c.name || c.id}: ${errorText(e)}`);
    } finally {
      setToggling(null);
    }
  }

  return (
    <section class="cameras-page" aria-labelledby="cameras-title">
      <PageHeader title="Cameras">
        <Show when={(cams.value() || []).length > 0}>
          <span class="muted" aria-live="polite">{counts().streaming} of {counts().total} streaming</span>
          <input type="search" class="filter" placeholder="Filter" aria-label="Filter cameras" value={filter()}
                 onInput={(e) => setFilter(e.currentTarget.value)} />
        </Show>
        <Show when={canEdit() && !adding()}>
          <button type="button" class="primary" onClick={() => { setAdding(true); setNotice(null); }}>Add camera</button>
        </Show>
      </PageHeader>
      <span id="cameras-title" class="sr-only">Cameras</span>

      <Show when={adding()}>
        <div class="card add-camera">
          <h2>Add a camera</h2>
          <CameraForm onCancel={() => setAdding(false)}
                      onSaved={(c) => {
                        setAdding(false);
                        const n = (c as CameraFull & { adopted_recordings?: number }).adopted_recordings;
                        setNotice(`Camera ${c.name || c.id} added${n ? `, with ${n} recordings taken over` : ''}.`);
                        void cams.refresh();
                      }} />
        </div>
      </Show>
      <Show when={notice()}>
        <p class="notice" role="status">{notice()}</p>
      </Show>
      <Show when={actionErr()}>
        <p class="form-error" role="alert">{actionErr()}</p>
      </Show>

      <Show when={!cams.loading()} fallback={<Spinner label="Loading cameras…" />}>
        <Show when={cams.value()} fallback={<ErrorBox error={cams.error()} onRetry={() => void cams.refresh()} />}>
          <Show when={cams.error()}>
            <p class="form-error stale" role="alert">Could not refresh: {errorText(cams.error())}. Showing the last known status.</p>
          </Show>
          <Show when={(cams.value() || []).length > 0} fallback={
            <Empty title="No cameras yet">
              {canEdit() ? 'Add one with “Add camera”: you need its RTSP URL.' : 'An operator can add cameras.'}
            </Empty>
          }>
            <Show when={shown().length > 0} fallback={<Empty title="No camera matches the filter" />}>
              <ul class="camera-grid" aria-label="Cameras">
                <For each={shown()}>
                  {(c) => (
                    <li class="card camera-card" data-camera={c.id}>
                      <Link href={`/cameras/${encodeURIComponent(c.id)}`} class="thumb-link" aria-label={`Open ${c.name || c.id}`} tabindex="-1">
                        <Thumbnail camera={c} width={320} tick={tick()} />
                      </Link>
                      <div class="camera-head">
                        <h2><Link href={`/cameras/${encodeURIComponent(c.id)}`}>{c.name || c.id}</Link></h2>
                        <StateBadge state={c.status.state} />
                      </div>
                      <div class="camera-sub muted">
                        <code>{c.id}</code>
                        <Show when={c.provisioned}><span class="badge" title="Declared in horus.yaml">horus.yaml</span></Show>
                        <For each={c.groups}>{(g) => <span class="badge">{g}</span>}</For>
                      </div>
                      <dl class="stats">
                        <div><dt>Frame rate</dt><dd>{formatFps(c.status.fps)}</dd></div>
                        <div><dt>Bitrate</dt><dd>{formatBitrate(c.status.bitrate_bps)}</dd></div>
                        <div><dt>Recording</dt><dd>{c.status.recording ? <span class="rec">● recording</span> : c.record.enabled ? 'not now' : 'off'}</dd></div>
                        <div><dt>Sub stream</dt><dd>{c.status.sub_state ? <><StateBadge state={c.status.sub_state} /><Show when={c.status.sub_fps != null}> {formatFps(c.status.sub_fps)}</Show></> : DASH}</dd></div>
                        <div><dt>Breaker</dt><dd><BreakerBadge breaker={c.status.breaker} /></dd></div>
                        <div><dt>Reconnects</dt><dd>{c.status.reconnects}</dd></div>
                      </dl>
                      <Show when={c.status.last_error}>
                        <p class="last-error" title="Last error"><span class="sr-only">Last error: </span>{c.status.last_error}</p>
                      </Show>
                      <div class="camera-actions">
                        <Link class="button" href={`/live?camera=${encodeURIComponent(c.id)}`}>Live</Link>
                        <Link class="button" href={`/history/${encodeURIComponent(c.id)}`}>History</Link>
                        <Show when={canEdit() && !c.provisioned}>
                          <Link class="button" href={`/cameras/${encodeURIComponent(c.id)}`} aria-label={`Edit ${c.name || c.id}`}>Edit</Link>
                          <button type="button" onClick={() => void toggle(c)} disabled={toggling() === c.id}
                                  aria-label={`${c.enabled ? 'Disable' : 'Enable'} ${c.name || c.id}`}>
                            {c.enabled ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" class="danger" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name || c.id}`}>Delete</button>
                        </Show>
                        <Show when={canEdit() && c.provisioned}>
                          <span class="muted small">Declared in horus.yaml: change it there.</span>
                        </Show>
                      </div>
                    </li>
                  )}
                </For>
              </ul>
            </Show>
          </Show>
        </Show>
      </Show>

      <Show when={deleting()}>
        {(c) => (
          <DeleteCameraDialog camera={c()} onClose={() => setDeleting(null)}
                              onDone={() => { setNotice(`Camera ${c().name || c().id} deleted.`); void cams.refresh(); }} />
        )}
      </Show>
    </section>
  );
}
