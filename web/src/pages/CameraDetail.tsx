// One camera: its status in full (refreshed every few seconds), a larger
// thumbnail, links to live and history, the settings form (operators, and
// not for cameras declared in horus.yaml), enable/disable, taking over the
// recordings of a deleted camera with the same id, and delete.
import { createSignal, onCleanup, Show } from 'solid-js';
import { api, ApiError, errorText } from '../lib/api';
import { Link, navigate } from '../lib/router';
import { hasRole } from '../lib/session';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { AnalyticsEditor, DetectStatusCard } from './cameras/Analytics';
import { CameraForm } from './cameras/CameraForm';
import { Confirm } from './cameras/Confirm';
import { CameraFull, createPoll, createTick } from './cameras/data';
import { ago, DASH, formatBitrate, formatBytes, formatFps, formatTime, maskUrl } from './cameras/logic';
import { BreakerBadge, DeleteCameraDialog, setEnabled, StateBadge, Thumbnail } from './cameras/widgets';
import './cameras/cameras.css';

export default function CameraDetail(props: { params: Record<string, string> }) {
  const id = () => props.params.id;
  const cam = createPoll((signal) => api.get<CameraFull>(`/api/v1/cameras/${encodeURIComponent(id())}`, { signal }), () => 3000);
  const tick = createTick(5000);
  const [now, setNow] = createSignal(Date.now());
  const nowTimer = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(nowTimer));
  const canEdit = () => hasRole('operator');
  const [deleting, setDeleting] = createSignal(false);
  const [adopting, setAdopting] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const [msg, setMsg] = createSignal<string | null>(null);
  const [actionErr, setActionErr] = createSignal<string | null>(null);
  const notFound = () => cam.error() instanceof ApiError && (cam.error() as ApiError).status === 404;

  async function toggle(c: CameraFull) {
    setBusy(true);
    setActionErr(null);
    try {
      cam.set(await setEnabled(c, !c.enabled));
      setMsg(c.enabled ? 'Camera disabled.' : 'Camera enabled.');
    } catch (e) {
      setActionErr(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Show when={!cam.loading()} fallback={<Spinner label="Loading camera…" />}>
      <Show when={cam.value()} fallback={
        <Show when={notFound()} fallback={<ErrorBox error={cam.error()} onRetry={() => void cam.refresh()} />}>
          <Empty title={`No camera “${id()}”`}><Link href="/cameras">Back to cameras</Link></Empty>
        </Show>
      }>
        {(c) => (
          <section class="camera-page" aria-label={`Camera ${c().name || c().id}`}>
            <nav class="crumbs" aria-label="Breadcrumb"><Link href="/cameras">Cameras</Link> / <span>{c().id}</span></nav>
            <PageHeader title={c().name || c().id}>
              <StateBadge state={c().status.state} />
              <Link class="button" href={`/live?camera=${encodeURIComponent(c().id)}`}>Live view</Link>
              <Link class="button" href={`/history/${encodeURIComponent(c().id)}`}>History</Link>
            </PageHeader>
            <Show when={notFound()}>
              <p class="form-error" role="alert">This camera was deleted.</p>
            </Show>
            <Show when={cam.error() && !notFound()}>
              <p class="form-error" role="alert">Could not refresh: {errorText(cam.error())}. Showing the last known status.</p>
            </Show>

            <div class="camera-top">
              <div class="card">
                <Thumbnail camera={c()} width={640} tick={tick()} />
              </div>
              <div class="card" aria-labelledby="status-title">
                <h2 id="status-title">Status</h2>
                <dl class="stats">
                  <div><dt>State</dt><dd><StateBadge state={c().status.state} /></dd></div>
                  <div><dt>Since</dt><dd title={formatTime(c().status.since)}>{ago(c().status.since, now())}</dd></div>
                  <div><dt>Frame rate</dt><dd>{formatFps(c().status.fps)}</dd></div>
                  <div><dt>Bitrate</dt><dd>{formatBitrate(c().status.bitrate_bps)}</dd></div>
                  <div><dt>Recording</dt><dd>{c().status.recording ? <span class="rec">● recording</span> : c().record.enabled ? 'not now' : 'off'}</dd></div>
                  <div><dt>Breaker</dt><dd><BreakerBadge breaker={c().status.breaker} /></dd></div>
                  <div><dt>Reconnects</dt><dd>{c().status.reconnects}</dd></div>
                  <div><dt>Next retry</dt><dd>{c().status.next_retry_at ? formatTime(c().status.next_retry_at) : DASH}</dd></div>
                  <Show when={c().status.transport}>
                    <div><dt>Transport</dt><dd>{c().status.transport?.toUpperCase()} · {c().status.client}{c().transport ? '' : ' (default)'}</dd></div>
                  </Show>
                  <div><dt>Sub stream</dt><dd>{c().status.sub_state ? <StateBadge state={c().status.sub_state} /> : 'none'}</dd></div>
                  <Show when={c().status.sub_state}>
                    <div><dt>Sub frame rate</dt><dd>{formatFps(c().status.sub_fps)}</dd></div>
                    <div><dt>Sub bitrate</dt><dd>{formatBitrate(c().status.sub_bitrate_bps)}</dd></div>
                  </Show>
                  <div><dt>Enabled</dt><dd>{c().enabled ? 'yes' : 'no'}</dd></div>
                  <div><dt>Segments</dt><dd>{c().record.segment_seconds} s</dd></div>
                  <div><dt>Retention</dt><dd>{c().record.retention_days} days</dd></div>
                  <div><dt>Storage cap</dt><dd>{c().record.max_bytes ? formatBytes(c().record.max_bytes) : 'none'}</dd></div>
                  <Show when={c().tenant}><div><dt>Tenant</dt><dd>{c().tenant}</dd></div></Show>
                  <div><dt>Added</dt><dd>{formatTime(c().created_at)}</dd></div>
                  <div><dt>Changed</dt><dd>{formatTime(c().updated_at)}</dd></div>
                </dl>
                <Show when={c().status.audio_warning}>
                  <p class="last-error"><strong>Audio: </strong>{c().status.audio_warning}</p>
                </Show>
                <Show when={c().status.last_error}>
                  <p class="last-error"><strong>Last error: </strong>{c().status.last_error}</p>
                </Show>
                <p class="muted small mono">{maskUrl(c().url)}</p>
              </div>
            </div>

            <DetectStatusCard detect={c().status.detect} />
            <AnalyticsEditor camera={c().id} streaming={c().status.state === 'streaming'} canEdit={canEdit()} provisioned={c().provisioned} />

            <div class="card" aria-labelledby="settings-title">
              <h2 id="settings-title">Settings</h2>
              <Show when={c().provisioned}>
                <p class="notice readonly-reason">Declared in horus.yaml: these settings are read-only here. Change them in the configuration file.</p>
              </Show>
              <Show when={!canEdit() && !c().provisioned}>
                <p class="notice readonly-reason">Your role can view these settings; an operator can change them.</p>
              </Show>
              <CameraForm camera={c()} readOnly={!canEdit() || c().provisioned}
                          onSaved={(saved) => { cam.set(saved as CameraFull); setMsg(null); }} />
            </div>

            <Show when={canEdit()}>
              <div class="card stack danger-zone" aria-labelledby="manage-title">
                <h2 id="manage-title">Manage</h2>
                <Show when={msg()}><p class="notice" role="status">{msg()}</p></Show>
                <Show when={actionErr()}><p class="form-error" role="alert">{actionErr()}</p></Show>
                <div class="row">
                  <p>Take over the recordings of a deleted camera that had the id <code>{c().id}</code>.</p>
                  <button type="button" onClick={() => setAdopting(true)}>Adopt recordings</button>
                </div>
                <Show when={!c().provisioned}>
                  <div class="row">
                    <p>{c().enabled ? 'Stop connecting to and recording this camera.' : 'Connect to and record this camera again.'}</p>
                    <button type="button" onClick={() => void toggle(c())} disabled={busy()}>{c().enabled ? 'Disable' : 'Enable'}</button>
                  </div>
                  <div class="row">
                    <p>Remove this camera. Its recordings stay until the deleted-camera grace period ends.</p>
                    <button type="button" class="danger" onClick={() => setDeleting(true)}>Delete camera</button>
                  </div>
                </Show>
              </div>
            </Show>

            <Show when={deleting()}>
              <DeleteCameraDialog camera={c()} onClose={() => setDeleting(false)} onDone={() => navigate('/cameras')} />
            </Show>
            <Show when={adopting()}>
              <Confirm title="Adopt recordings?" confirmLabel="Adopt recordings" onClose={() => setAdopting(false)}
                       onConfirm={async () => {
                         const r = await api.post<{ adopted_recordings: number }>(`/api/v1/cameras/${encodeURIComponent(c().id)}/adopt_recordings`, {});
                         setMsg(r.adopted_recordings ? `${r.adopted_recordings} recordings joined this camera's timeline.` : 'There were no orphaned recordings with this id.');
                       }}>
                <p>Recordings left by deleted cameras with the id <code>{c().id}</code> join this camera's timeline and its retention, instead of being removed when their grace period ends.</p>
              </Confirm>
            </Show>
          </section>
        )}
      </Show>
    </Show>
  );
}
