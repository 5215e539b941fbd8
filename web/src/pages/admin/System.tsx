// System (admin): health and its reasons, version and build, the run-time log
// level, and the storage volume with each camera's use and retention
// forecast (GET /api/v1/system/storage; "not available" where the server
// lacks it).
import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, ApiError, errorText } from '../../lib/api';
import { ErrorBox, fieldError, PageHeader, Spinner } from '../../components/ui';
import { SelectField, TableWrap } from './common';
import { formatBytes, formatDays, formatDuration, formatTime, percent, relativeTime } from './format';
import type { Health, LogLevel, Storage, SystemInfo } from './types';

const LEVELS: LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

function statusClass(s: string | undefined): string {
  return s === 'ok' ? 'ok' : s === 'disabled' ? '' : 'bad';
}

const LIMITS: Record<string, string> = {
  retention_days: 'Retention days',
  max_bytes: 'Size cap',
  disk: 'Disk space',
};

function HealthCard() {
  const [health, { refetch }] = createResource(() => api.get<Health>('/health'));
  const timer = window.setInterval(() => void refetch(), 10000);
  onCleanup(() => window.clearInterval(timer));
  return (
    <section class="card stack" aria-labelledby="health-title">
      <div class="row between">
        <h2 id="health-title">Health</h2>
        <button type="button" class="small" onClick={() => void refetch()}>Refresh</button>
      </div>
      <Show when={!health.error} fallback={<ErrorBox error={health.error} onRetry={refetch} />}>
        <Show when={health()} fallback={<Spinner />}>
          {(h) => (
            <>
              <p class="health-status">
                <span class={`badge big ${statusClass(h().status)}`} data-testid="health-status">{h().status === 'ok' ? 'Healthy' : 'Degraded'}</span>
              </p>
              <Show when={(h().reasons || []).length > 0}>
                <ul class="reasons">
                  <For each={h().reasons}>
                    {(r) => <li><strong>{r.component}</strong>: <span class="mono">{r.reason}</span> — {r.detail}</li>}
                  </For>
                </ul>
              </Show>
              <dl class="facts">
                <Show when={h().cameras}>
                  {(c) => (<><dt>Cameras</dt><dd>{c().online} of {c().total} online{c().failed ? `, ${c().failed} failed` : ''}</dd></>)}
                </Show>
                <Show when={h().database}>
                  {(d) => (<><dt>Database</dt><dd><span class={`badge ${statusClass(d().status)}`}>{d().status}</span> {d().backend}</dd></>)}
                </Show>
                <Show when={h().storage}>
                  {(s) => (<><dt>Storage</dt><dd><span class={`badge ${statusClass(s().status)}`}>{s().status}</span> {s().free_percent.toFixed(1)} % free</dd></>)}
                </Show>
                <Show when={h().bus}>
                  {(b) => (<><dt>Event bus</dt><dd><span class={`badge ${statusClass(b().status)}`}>{b().status}</span></dd></>)}
                </Show>
              </dl>
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

function AboutCard() {
  const [sys, { refetch, mutate }] = createResource(() => api.get<SystemInfo>('/api/v1/system'));
  const [level, setLevel] = createSignal<LogLevel | ''>('');
  const [err, setErr] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal('');
  const [busy, setBusy] = createSignal(false);
  const current = () => (level() || sys()?.log_level || 'info') as LogLevel;
  async function apply(e: Event) {
    e.preventDefault();
    setErr(null);
    setNotice('');
    setBusy(true);
    try {
      const s = await api.patch<SystemInfo>('/api/v1/system', { log_level: current() });
      mutate(s);
      setLevel('');
      setNotice(`The log level is now ${s.log_level}.`);
    } catch (x) {
      setErr(x);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section class="card stack" aria-labelledby="about-title">
      <h2 id="about-title">Server</h2>
      <Show when={!sys.error} fallback={<ErrorBox error={sys.error} onRetry={refetch} />}>
        <Show when={sys()} fallback={<Spinner />}>
          {(s) => (
            <>
              <dl class="facts">
                <dt>Version</dt><dd data-testid="version">{s().version}</dd>
                <dt>Build</dt><dd><span class="mono">{s().build.git}</span> · {s().build.date} · {s().build.compiler}</dd>
                <dt>Node</dt><dd class="mono">{s().node_id}</dd>
                <dt>Up for</dt><dd title={formatTime(s().started_at)}>{formatDuration(s().uptime_s)} (since {formatTime(s().started_at)})</dd>
                <dt>Database</dt><dd>{s().database_backend}, schema {s().schema_version}</dd>
                <dt>Data</dt><dd class="mono">{s().data_dir}</dd>
                <dt>Configuration</dt><dd class="mono">{s().config_path || 'built-in defaults'}</dd>
              </dl>
              <form class="row log-level" onSubmit={apply}>
                <SelectField label="Log level" name="log_level" value={current()} onChange={(v) => { setLevel(v as LogLevel); setNotice(''); }}
                             error={fieldError(err(), 'log_level')} hint={`Now: ${s().log_level}. Takes effect at once, until the next restart.`}
                             options={LEVELS.map((l) => ({ value: l, label: l }))} />
                <button type="submit" class="primary" disabled={busy() || current() === s().log_level}>Apply</button>
              </form>
              <Show when={notice()}><p class="notice" role="status">{notice()}</p></Show>
              <Show when={err() && !fieldError(err(), 'log_level')}><p class="form-error" role="alert">{errorText(err())}</p></Show>
            </>
          )}
        </Show>
      </Show>
    </section>
  );
}

function StorageCard() {
  const [storage, { refetch }] = createResource(async () => {
    try {
      return await api.get<Storage>('/api/v1/system/storage');
    } catch (x) {
      if (x instanceof ApiError && x.status === 404) return null; // an older server
      throw x;
    }
  });
  return (
    <section class="card stack storage" aria-labelledby="storage-title">
      <div class="row between">
        <h2 id="storage-title">Storage</h2>
        <button type="button" class="small" onClick={() => void refetch()}>Refresh</button>
      </div>
      <Show when={!storage.error} fallback={<ErrorBox error={storage.error} onRetry={refetch} />}>
        <Show when={storage() !== undefined} fallback={<Spinner />}>
          <Show when={storage()} fallback={<p class="muted" data-testid="storage-unavailable">Storage details are not available on this server.</p>}>
            {(st) => {
              const v = () => st().volume;
              const other = () => Math.max(0, v().total_bytes - v().free_bytes - v().recordings_bytes - v().exports_bytes);
              return (
                <>
                  <div class="volume">
                    <div class="row between small">
                      <span class="mono">{v().path}</span>
                      <span>{formatBytes(v().free_bytes)} free of {formatBytes(v().total_bytes)}</span>
                    </div>
                    <div class="bar" role="img"
                         aria-label={`Recordings ${formatBytes(v().recordings_bytes)}, exports ${formatBytes(v().exports_bytes)}, other files ${formatBytes(other())}, free ${formatBytes(v().free_bytes)} of ${formatBytes(v().total_bytes)}`}>
                      <span class="bar-rec" style={{ width: `${percent(v().recordings_bytes, v().total_bytes)}%` }} />
                      <span class="bar-exp" style={{ width: `${percent(v().exports_bytes, v().total_bytes)}%` }} />
                      <span class="bar-other" style={{ width: `${percent(other(), v().total_bytes)}%` }} />
                      <Show when={v().watermark_bytes > 0}>
                        <span class="bar-mark" title="Retention keeps this much free"
                              style={{ left: `${100 - percent(v().watermark_bytes, v().total_bytes)}%` }} />
                      </Show>
                    </div>
                    <div class="legend small">
                      <span><i class="swatch rec" aria-hidden="true" />Recordings {formatBytes(v().recordings_bytes)}</span>
                      <span><i class="swatch exp" aria-hidden="true" />Exports {formatBytes(v().exports_bytes)}</span>
                      <span><i class="swatch other" aria-hidden="true" />Other {formatBytes(other())}</span>
                      <span><i class="swatch free" aria-hidden="true" />Free {formatBytes(v().free_bytes)}</span>
                    </div>
                    <p class="muted small">
                      <Show when={v().min_free_percent > 0} fallback="No free-space watermark: only retention days and size caps delete footage.">
                        Retention deletes the oldest footage to keep {v().min_free_percent} % ({formatBytes(v().watermark_bytes)}) free;
                        {' '}{formatBytes(v().free_above_watermark_bytes)} are left for recordings.
                      </Show>
                      {' '}Measured {relativeTime(st().measured_at)}.
                    </p>
                  </div>
                  <Show when={st().cameras.length > 0} fallback={<p class="muted">No recordings yet.</p>}>
                    <TableWrap label="Storage per camera">
                      <table class="list">
                        <thead>
                          <tr>
                            <th scope="col">Camera</th>
                            <th scope="col">Size</th>
                            <th scope="col" class="bar-col">Share</th>
                            <th scope="col">Oldest</th>
                            <th scope="col">Per day</th>
                            <th scope="col">Forecast</th>
                            <th scope="col">Limited by</th>
                          </tr>
                        </thead>
                        <tbody>
                          <For each={st().cameras}>
                            {(c) => (
                              <tr data-camera={c.camera}>
                                <td>{c.name || c.camera}<div class="muted small">{c.name && c.name !== c.camera ? `${c.camera} · ` : ''}{c.segments} segment{c.segments === 1 ? '' : 's'}</div></td>
                                <td>{formatBytes(c.bytes)}</td>
                                <td class="bar-col">
                                  <div class="bar thin" role="img" aria-label={`${percent(c.bytes, v().recordings_bytes).toFixed(0)} % of the recordings`}>
                                    <span class="bar-rec" style={{ width: `${percent(c.bytes, v().recordings_bytes)}%` }} />
                                  </div>
                                </td>
                                <td title={formatTime(c.oldest)}>{c.oldest ? relativeTime(c.oldest) : '—'}</td>
                                <td>{c.bytes_per_day === null ? '—' : formatBytes(c.bytes_per_day)}</td>
                                <td classList={{ short: c.forecast_days < c.retention_days }}>{formatDays(c.forecast_days)}</td>
                                <td>
                                  {c.limited_by ? LIMITS[c.limited_by] || c.limited_by : '—'}
                                  <div class="muted small">
                                    {`keeps ${c.retention_days} d`}
                                    {c.max_bytes ? ` · cap ${formatBytes(c.max_bytes)}` : ''}
                                  </div>
                                </td>
                              </tr>
                            )}
                          </For>
                        </tbody>
                      </table>
                    </TableWrap>
                  </Show>
                </>
              );
            }}
          </Show>
        </Show>
      </Show>
    </section>
  );
}

export default function System() {
  return (
    <div class="admin-page">
      <PageHeader title="System" />
      <div class="system-grid">
        <HealthCard />
        <AboutCard />
      </div>
      <StorageCard />
    </div>
  );
}
