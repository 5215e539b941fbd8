// Audit log (admin): the newest entries first, filtered by action, actor,
// camera, outcome and time (GET /api/v1/audit's parameters, kept in the URL
// so a filtered view can be shared), with "Load more" following the cursor.
import { batch, createEffect, createResource, createSignal, For, on, Show } from 'solid-js';
import { api, qs } from '../../lib/api';
import { location, query, setQuery } from '../../lib/router';
import { Empty, ErrorBox, Field, fieldError, formError, PageHeader, Spinner } from '../../components/ui';
import { loadAllCameras, SelectField, TableWrap } from './common';
import { detailsText, formatTime, localInputToIso, relativeTime } from './format';
import type { AuditEntry, AuditList } from './types';

const ACTIONS = [
  'login.*', 'login.ok', 'login.failed', 'logout', 'mfa.*', 'user.*', 'user.created', 'user.updated', 'user.deleted',
  'apikey.*', 'apikey.created', 'apikey.revoked', 'camera.*', 'config.*', 'system.*', 'live.started',
  'playback.requested', 'snapshot', 'export.*', 'permission.denied', 'session.*',
];
const FILTERS = ['action', 'actor', 'camera', 'outcome', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number];
// Entries per page: ?limit= (1..1000), else 50.
function pageSize(): number {
  const n = Number(query().get('limit'));
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : 50;
}

function outcomeClass(o: string): string {
  return o === 'ok' ? 'ok' : o === 'denied' ? 'bad' : 'warn';
}

// datetime-local value ("2026-12-02T16:04") of an RFC 3339 time, in local time.
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export default function Audit() {
  // The form's values; the applied filter is the URL's query.
  const form: Record<Filter, ReturnType<typeof createSignal<string>>> = {
    action: createSignal(''), actor: createSignal(''), camera: createSignal(''),
    outcome: createSignal(''), from: createSignal(''), to: createSignal(''),
  };
  const [items, setItems] = createSignal<AuditEntry[]>([]);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(false);
  const [err, setErr] = createSignal<unknown>(null);
  const [loaded, setLoaded] = createSignal(false);
  // Suggestions for the camera filter; the filter works without them.
  const [cameras] = createResource(() => loadAllCameras().catch(() => []));
  let generation = 0;

  function applied(): Record<Filter, string> {
    const q = query();
    return Object.fromEntries(FILTERS.map((f) => [f, q.get(f) || ''])) as Record<Filter, string>;
  }

  async function load(more: boolean) {
    const gen = ++generation;
    setLoading(true);
    setErr(null);
    try {
      const f = applied();
      const page = await api.get<AuditList>(`/api/v1/audit${qs({ ...f, limit: pageSize(), cursor: more ? cursor() : undefined })}`);
      if (gen !== generation) return;
      batch(() => {
        setItems(more ? [...items(), ...page.items] : page.items);
        setCursor(page.next_cursor);
        setLoaded(true);
      });
    } catch (x) {
      if (gen !== generation) return;
      setErr(x);
      if (!more) {
        setItems([]);
        setCursor(null);
      }
    } finally {
      if (gen === generation) setLoading(false);
    }
  }

  // The URL's filter fills the form and loads the first page.
  createEffect(on(() => location().search, () => {
    if (location().path !== '/admin/audit') return;
    const f = applied();
    for (const k of FILTERS) form[k][1](k === 'from' || k === 'to' ? toLocalInput(f[k]) : f[k]);
    void load(false);
  }));

  function submit(e: Event) {
    e.preventDefault();
    const v: Record<string, string | null> = {};
    for (const k of FILTERS) {
      const raw = form[k][0]().trim();
      v[k] = k === 'from' || k === 'to' ? (localInputToIso(raw) || null) : raw || null;
    }
    const before = location().search;
    setQuery(v);
    if (location().search === before) void load(false); // same filter: reload
  }
  function clear() {
    setQuery(Object.fromEntries(FILTERS.map((k) => [k, null])));
  }
  const active = () => FILTERS.filter((k) => applied()[k]).length;
  const ferr = (k: string) => fieldError(err(), k);

  return (
    <div class="admin-page">
      <PageHeader title="Audit log">
        <button type="button" onClick={() => void load(false)} disabled={loading()}>Refresh</button>
      </PageHeader>
      <form class="card filters" onSubmit={submit} aria-label="Audit filters">
        <div class="field">
          <label for="audit-action">Action</label>
          <input id="audit-action" name="action" list="audit-actions" placeholder="e.g. login.*"
                 value={form.action[0]()} onInput={(e) => form.action[1](e.currentTarget.value)}
                 aria-invalid={ferr('action') ? 'true' : undefined} aria-describedby={ferr('action') ? 'audit-action-err' : undefined} />
          <datalist id="audit-actions"><For each={ACTIONS}>{(a) => <option value={a} />}</For></datalist>
          <Show when={ferr('action')}><span class="field-error" id="audit-action-err" role="alert">{ferr('action')}</span></Show>
        </div>
        <Field label="Actor" name="actor" placeholder="User or key" value={form.actor[0]()}
               onInput={(e) => form.actor[1](e.currentTarget.value)} error={ferr('actor')} />
        <Field label="Camera" name="camera" placeholder="Camera id" list="audit-cameras" value={form.camera[0]()}
               onInput={(e) => form.camera[1](e.currentTarget.value)} error={ferr('camera')} />
        <datalist id="audit-cameras"><For each={cameras() || []}>{(c) => <option value={c.id}>{c.name}</option>}</For></datalist>
        <SelectField label="Outcome" name="outcome" value={form.outcome[0]()} onChange={(v) => form.outcome[1](v)} error={ferr('outcome')}
                     options={[{ value: '', label: 'Any' }, { value: 'ok', label: 'ok' }, { value: 'denied', label: 'denied' }, { value: 'failed', label: 'failed' }]} />
        <Field label="From" name="from" type="datetime-local" value={form.from[0]()}
               onInput={(e) => form.from[1](e.currentTarget.value)} error={ferr('from')} />
        <Field label="To" name="to" type="datetime-local" value={form.to[0]()}
               onInput={(e) => form.to[1](e.currentTarget.value)} error={ferr('to')} />
        <div class="row filter-actions">
          <button type="submit" class="primary">Apply filters</button>
          <Show when={active() > 0}><button type="button" onClick={clear}>Clear ({active()})</button></Show>
        </div>
      </form>
      <Show when={err() && formError(err(), [...FILTERS])}>
        <ErrorBox error={err()} onRetry={() => void load(false)} />
      </Show>
      <Show when={loaded() || !loading()} fallback={<Spinner label="Loading audit entries…" />}>
        <Show when={items().length > 0} fallback={<Show when={!err()}><Empty title={active() ? 'No entries match these filters' : 'No audit entries yet'} /></Show>}>
          <TableWrap label="Audit entries">
            <table class="list audit">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col" class="hide-narrow">Client</th>
                  <th scope="col" class="hide-narrow">Details</th>
                </tr>
              </thead>
              <tbody>
                <For each={items()}>
                  {(a) => (
                    <tr data-audit-id={a.id} data-action={a.action}>
                      <td class="nowrap" title={`#${a.id} · ${relativeTime(a.time)}`}>{formatTime(a.time)}</td>
                      <td class="mono">{a.action}</td>
                      <td><span class={`badge ${outcomeClass(a.outcome)}`}>{a.outcome}</span></td>
                      <td>{a.actor.name || a.actor.id || '—'}<Show when={a.actor.kind}><div class="muted small">{a.actor.kind}</div></Show></td>
                      <td>
                        <Show when={a.target.kind || a.target.id} fallback="—">
                          <span class="muted small">{a.target.kind}</span> {a.target.id}
                        </Show>
                      </td>
                      <td class="hide-narrow mono">{a.client || '—'}</td>
                      <td class="hide-narrow details">{detailsText(a.details)}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </TableWrap>
          <div class="row load-more">
            <span class="muted small">{items().length} {items().length === 1 ? 'entry' : 'entries'} shown</span>
            <Show when={cursor()}>
              <button type="button" onClick={() => void load(true)} disabled={loading()}>{loading() ? 'Loading…' : 'Load more'}</button>
            </Show>
            <Show when={!cursor()}><span class="muted small">End of the log.</span></Show>
          </div>
        </Show>
      </Show>
    </div>
  );
}
