// Exports: the MP4 export jobs, newest first, with their state, camera,
// range and size; a progress bar while one runs (the list is polled every
// second then, slowly otherwise), the download of finished ones, the reason
// of failed ones, and cancel/delete with a confirmation. Jobs are created
// from the History page.
import { createEffect, createMemo, createSignal, For, Show } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import { api, errorText, qs } from '../lib/api';
import { Link } from '../lib/router';
import { hasRole } from '../lib/session';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { Confirm } from './cameras/Confirm';
import { createPoll, listAllCameras } from './cameras/data';
import { ago, formatBytes, formatTime } from './cameras/logic';
import {
  ExportJob, ExportList, formatDuration, formatRange, isActive, mergePages, percent, pollInterval, rangeSeconds, stateTone,
} from './exports/logic';
import './exports/exports.css';

const PAGE = 50;

export default function Exports() {
  const canEdit = () => hasRole('operator');
  const first = createPoll((signal) => api.get<ExportList>(`/api/v1/exports${qs({ limit: PAGE })}`, { signal }),
                           (v) => pollInterval(v?.items));
  const [older, setOlder] = createSignal<ExportJob[]>([]);
  const [olderCursor, setOlderCursor] = createSignal<string | null | undefined>(undefined);
  const [loadingOlder, setLoadingOlder] = createSignal(false);
  const [olderErr, setOlderErr] = createSignal<unknown>(null);
  const [removing, setRemoving] = createSignal<ExportJob | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const [now, setNow] = createSignal(Date.now());
  const [names, setNames] = createSignal<Record<string, string>>({});

  // Camera names for the ids the jobs carry (the ids alone when the list cannot be read).
  listAllCameras()
    .then((cams) => setNames(Object.fromEntries(cams.map((c) => [c.id, c.name]))))
    .catch(() => undefined);

  const [store, setStore] = createStore<{ list: ExportJob[] }>({ list: [] });
  createEffect(() => {
    const v = first.value();
    if (!v) return;
    setNow(Date.now());
    setStore('list', reconcile(mergePages(v.items, older()), { key: 'id' }));
  });
  const cursor = createMemo(() => (olderCursor() === undefined ? first.value()?.next_cursor ?? null : olderCursor()));
  const active = createMemo(() => store.list.filter(isActive).length);

  async function loadOlder() {
    const c = cursor();
    if (!c) return;
    setLoadingOlder(true);
    setOlderErr(null);
    try {
      const page = await api.get<ExportList>(`/api/v1/exports${qs({ limit: PAGE, cursor: c })}`);
      setOlder([...older(), ...page.items]);
      setOlderCursor(page.next_cursor);
    } catch (e) {
      setOlderErr(e);
    } finally {
      setLoadingOlder(false);
    }
  }

  const cameraLabel = (id: string) => names()[id] || id;

  return (
    <section class="exports-page" aria-label="Exports">
      <PageHeader title="Exports">
        <Show when={active() > 0}>
          <span class="badge warn" aria-live="polite">{active()} in progress</span>
        </Show>
        <Link class="button" href="/history">New export from History</Link>
      </PageHeader>
      <Show when={notice()}>
        <p class="notice" role="status">{notice()}</p>
      </Show>

      <Show when={!first.loading()} fallback={<Spinner label="Loading exports…" />}>
        <Show when={first.value()} fallback={<ErrorBox error={first.error()} onRetry={() => void first.refresh()} />}>
          <Show when={first.error()}>
            <p class="form-error" role="alert">Could not refresh: {errorText(first.error())}. Showing the last known list.</p>
          </Show>
          <Show when={store.list.length > 0} fallback={
            <Empty title="No exports yet">
              Choose a camera and a time range in <Link href="/history">History</Link> and export it to an MP4 file.
            </Empty>
          }>
            <ul class="export-list" aria-label="Export jobs">
              <For each={store.list}>
                {(e) => (
                  <li class="card export-item" data-export={e.id} data-state={e.state}>
                    <div class="export-main">
                      <div class="export-title">
                        <Link href={`/history/${encodeURIComponent(e.camera)}${qs({ t: Date.parse(e.start) || undefined })}`} class="export-camera"
                              title="Open this range in History">{cameraLabel(e.camera)}</Link>
                        <Show when={cameraLabel(e.camera) !== e.camera}><code class="muted">{e.camera}</code></Show>
                        <Show when={e.stream === 'sub'}><span class="badge">sub stream</span></Show>
                        <span class={`badge ${stateTone(e.state)}`} data-testid="export-state">{e.state}</span>
                      </div>
                      <div class="export-range">
                        <span>{formatRange(e.start, e.end)}</span>
                        <span class="muted"> · {formatDuration(rangeSeconds(e.start, e.end))}</span>
                      </div>
                      <Show when={isActive(e)}>
                        <div class="export-progress">
                          <progress max="100" value={percent(e.progress)}
                                    aria-label={`Progress of the export of ${cameraLabel(e.camera)}`} />
                          <span class="muted">{e.state === 'queued' ? 'Waiting…' : `${percent(e.progress)} %`}</span>
                        </div>
                      </Show>
                      <Show when={e.state === 'done'}>
                        <div class="export-meta muted">
                          <span>{formatBytes(e.size_bytes)}</span>
                          <span>{formatDuration(e.duration_s)} of video</span>
                          <span title={formatTime(e.finished_at)}>finished {ago(e.finished_at, now())}</span>
                          <Show when={e.sha256}>
                            <span class="sha" title={`SHA-256 ${e.sha256}`}>SHA-256 <code>{e.sha256!.slice(0, 12)}…</code></span>
                          </Show>
                        </div>
                      </Show>
                      <Show when={e.error}>
                        <p class="export-error"><strong>{e.state === 'cancelled' ? 'Cancelled: ' : 'Failed: '}</strong>{e.error}</p>
                      </Show>
                      <div class="muted small">Created {formatTime(e.created_at)}</div>
                    </div>
                    <div class="export-actions">
                      <Show when={e.state === 'done' && e.file_url}>
                        <a class="button primary" href={e.file_url!} download=""
                           aria-label={`Download the export of ${cameraLabel(e.camera)}, ${formatRange(e.start, e.end)}`}>Download</a>
                      </Show>
                      <Show when={canEdit()}>
                        <button type="button" class="danger" onClick={() => setRemoving(e)}
                                aria-label={`${isActive(e) ? 'Cancel' : 'Delete'} the export of ${cameraLabel(e.camera)}, ${formatRange(e.start, e.end)}`}>
                          {isActive(e) ? 'Cancel' : 'Delete'}
                        </button>
                      </Show>
                    </div>
                  </li>
                )}
              </For>
            </ul>
            <Show when={olderErr()}>
              <p class="form-error" role="alert">{errorText(olderErr())}</p>
            </Show>
            <Show when={cursor()}>
              <div class="row more">
                <button type="button" onClick={() => void loadOlder()} disabled={loadingOlder()}>
                  {loadingOlder() ? 'Loading…' : 'Show older exports'}
                </button>
              </div>
            </Show>
          </Show>
        </Show>
      </Show>

      <Show when={removing()}>
        {(e) => {
          const cancel = isActive(e());
          return (
            <Confirm title={cancel ? 'Cancel this export?' : 'Delete this export?'} confirmLabel={cancel ? 'Cancel export' : 'Delete export'}
                     danger onClose={() => setRemoving(null)}
                     onConfirm={async () => {
                       await api.del(`/api/v1/exports/${encodeURIComponent(e().id)}`);
                       if (!cancel) setOlder(older().filter((x) => x.id !== e().id));
                       setNotice(cancel ? 'Export cancelled.' : 'Export deleted.');
                       await first.refresh();
                     }}>
              <p>
                {cancel ? 'The export' : 'The MP4 file'} of <strong>{cameraLabel(e().camera)}</strong>, {formatRange(e().start, e().end)}
                {cancel ? ' stops and its partial file is removed; the job stays listed as cancelled.' : ' is deleted from the server.'}
              </p>
              <p>The recordings themselves are not touched.</p>
            </Confirm>
          );
        }}
      </Show>
    </section>
  );
}
