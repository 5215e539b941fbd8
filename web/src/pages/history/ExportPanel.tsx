// The selected range and its export: one job per camera in view (POST
// /api/v1/exports), their progress polled until done, then a download link.
import { createSignal, For, onCleanup, Show } from 'solid-js';
import { api, errorText } from '../../lib/api';
import { Link } from '../../lib/router';
import { clockLabel, dayLabel, formatDuration, Interval } from './timeline';

interface ExportJob {
  id: string;
  camera: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: number;
  size_bytes: number;
  duration_s: number;
  error: string | null;
  file_url: string | null;
}

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

export function ExportPanel(props: {
  selection: Interval | null;
  cameras: string[];
  tz: string;
  canExport: boolean;
  onClear: () => void;
}) {
  const [jobs, setJobs] = createSignal<ExportJob[]>([]);
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);

  const poll = setInterval(async () => {
    const open = jobs().filter((j) => j.state === 'queued' || j.state === 'running');
    for (const j of open) {
      try {
        const fresh = await api.get<ExportJob>(`/api/v1/exports/${j.id}`);
        setJobs((all) => all.map((x) => (x.id === fresh.id ? fresh : x)));
      } catch (e) {
        setJobs((all) => all.map((x) => (x.id === j.id ? { ...x, state: 'failed', error: errorText(e) } : x)));
      }
    }
  }, 1000);
  onCleanup(() => clearInterval(poll));

  async function start() {
    const sel = props.selection;
    if (!sel) return;
    setBusy(true);
    setError(null);
    try {
      for (const camera of props.cameras) {
        const job = await api.post<ExportJob>('/api/v1/exports', { camera, start: Math.round(sel.start), end: Math.round(sel.end) });
        setJobs((all) => [job, ...all]);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const label = (t: number) => `${dayLabel(t, props.tz)} ${clockLabel(t, props.tz, true)}`;

  return (
    <Show when={props.selection || jobs().length}>
      <section class="card export-panel" aria-label="Export">
        <Show when={props.selection}>
          {(sel) => (
            <div class="row">
              <span data-testid="selection">
                Selected <strong>{label(sel().start)}</strong> – <strong>{clockLabel(sel().end, props.tz, true)}</strong>{' '}
                ({formatDuration(sel().end - sel().start)})
              </span>
              <Show when={props.canExport} fallback={<span class="muted">Exporting needs the operator role.</span>}>
                <button type="button" class="primary" disabled={busy()} onClick={() => void start()}>
                  {busy() ? 'Exporting…' : props.cameras.length > 1 ? `Export ${props.cameras.length} cameras` : 'Export'}
                </button>
              </Show>
              <button type="button" onClick={() => props.onClear()}>Clear selection</button>
            </div>
          )}
        </Show>
        <Show when={error()}><p class="form-error" role="alert">{errorText(error())}</p></Show>
        <Show when={jobs().length}>
          <ul class="export-jobs" aria-live="polite">
            <For each={jobs()}>
              {(j) => (
                <li data-export={j.id} data-state={j.state}>
                  <span class="mono">{j.camera}</span>
                  <Show when={j.state === 'queued' || j.state === 'running'}>
                    <progress max="1" value={j.progress} aria-label={`Export of ${j.camera}`} />
                    <span>{j.state === 'queued' ? 'Queued' : `${Math.round(j.progress * 100)} %`}</span>
                  </Show>
                  <Show when={j.state === 'done' && j.file_url}>
                    <span class="badge ok">Done</span>
                    <span class="muted">{formatDuration(j.duration_s * 1000)}, {size(j.size_bytes)}</span>
                    <a class="button" href={j.file_url!} download="">Download</a>
                  </Show>
                  <Show when={j.state === 'failed' || j.state === 'cancelled'}>
                    <span class="badge bad">{j.state === 'failed' ? 'Failed' : 'Cancelled'}</span>
                    <span class="field-error">{j.error}</span>
                  </Show>
                </li>
              )}
            </For>
          </ul>
          <Link href="/exports">All exports</Link>
        </Show>
      </section>
    </Show>
  );
}
