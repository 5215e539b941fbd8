// Events: what the detectors (and API clients) reported, newest first, with
// the snapshot, label, score, camera, zones, time and duration. The filters
// live in the query string; more pages load on demand; the live stream
// (Server-Sent Events) adds new events at the top and updates cards in
// place. ?event=ID opens an event's detail.
import { batch, createEffect, createResource, createSignal, For, on, onCleanup, Show, untrack } from 'solid-js';
import { api, qs } from '../lib/api';
import { query, setQuery } from '../lib/router';
import type { CameraList, EventList, HorusEvent } from '../lib/types';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { EventDetail } from './events/EventDetail';
import {
  apiParams, EventFilters, eventTime, FILTER_KEYS, filtersFromQuery, formatDuration, formatScore,
  matches, snapshotUrl, upsert,
} from './events/logic';
import './events/events.css';

const PAGE = 50;

export default function Events() {
  const [cameras] = createResource(async () => {
    try {
      return (await api.get<CameraList>('/api/v1/cameras?limit=1000')).items;
    } catch {
      return [];
    }
  });
  const cameraName = (id: string) => cameras()?.find((c) => c.id === id)?.name || id;

  const filters = (): EventFilters => filtersFromQuery(query());
  const filterKey = () => JSON.stringify(filters());

  const [items, setItems] = createSignal<HorusEvent[]>([]);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [loading, setLoading] = createSignal(true);
  const [loadingMore, setLoadingMore] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  const [moreError, setMoreError] = createSignal<unknown>(null);
  const [live, setLive] = createSignal<'connecting' | 'live' | 'offline'>('connecting');
  const [fresh, setFresh] = createSignal<Set<string>>(new Set());

  let ac: AbortController | null = null;
  async function reload() {
    ac?.abort();
    const mine = new AbortController();
    ac = mine;
    setLoading(true);
    setError(null);
    try {
      const r = await api.get<EventList>(`/api/v1/events${qs({ ...apiParams(untrack(filters)), limit: PAGE })}`, { signal: mine.signal });
      batch(() => {
        setItems(r.items);
        setCursor(r.next_cursor);
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      setError(e);
    } finally {
      if (ac === mine) setLoading(false);
    }
  }

  async function loadMore() {
    const c = cursor();
    if (!c) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const r = await api.get<EventList>(`/api/v1/events${qs({ ...apiParams(filters()), limit: PAGE, cursor: c })}`);
      batch(() => {
        const have = new Set(items().map((e) => e.id));
        setItems([...items(), ...r.items.filter((e) => !have.has(e.id))]);
        setCursor(r.next_cursor);
      });
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  }

  createEffect(on(filterKey, () => void reload()));
  onCleanup(() => ac?.abort());

  // --- the live stream ---------------------------------------------------------
  let es: EventSource | null = null;
  let retry = 0;
  function connect() {
    es?.close();
    setLive('connecting');
    const src = new EventSource('/api/v1/events/stream');
    es = src;
    src.onopen = () => setLive('live');
    src.onerror = () => {
      // EventSource reconnects by itself (retry: 3000) unless the server
      // refused it outright (closed): then try again later, which also
      // lets a lost session send the app to sign-in via the next request.
      setLive(src.readyState === EventSource.OPEN ? 'live' : 'offline');
      if (src.readyState === EventSource.CLOSED) {
        clearTimeout(retry);
        retry = window.setTimeout(() => {
          api.get('/api/v1/auth/me').then(connect, () => undefined);
        }, 5000);
      }
    };
    const change = (kind: string) => (m: MessageEvent) => {
      let e: HorusEvent;
      try {
        e = JSON.parse(m.data) as HorusEvent;
      } catch {
        return;
      }
      if (!e || typeof e.id !== 'string') return;
      const list = items();
      const known = list.some((x) => x.id === e.id);
      if (!known && !matches(e, filters())) return;
      setItems(upsert(list, e, cursor() === null));
      if (kind === 'new' && !known) {
        setFresh((s) => new Set(s).add(e.id));
        window.setTimeout(() => setFresh((s) => {
          const n = new Set(s);
          n.delete(e.id);
          return n;
        }), 4000);
      }
    };
    src.addEventListener('new', change('new'));
    src.addEventListener('update', change('update'));
    src.addEventListener('end', change('end'));
    src.addEventListener('reset', () => void reload());
  }
  connect();
  onCleanup(() => {
    clearTimeout(retry);
    es?.close();
  });

  // --- filters -------------------------------------------------------------------
  function setFilter(k: keyof EventFilters, v: string) {
    setQuery({ [k]: v || null });
  }
  function clearFilters() {
    const q: Record<string, null> = {};
    for (const k of FILTER_KEYS) q[k] = null;
    setQuery(q);
  }
  const anyFilter = () => FILTER_KEYS.some((k) => filters()[k]);
  const labels = () => [...new Set(['person', 'car', 'motion', ...items().map((e) => e.label)])].sort();
  const zones = () => [...new Set(items().flatMap((e) => e.zones))].sort();

  const openId = () => query().get('event');
  const open = (id: string | null) => setQuery({ event: id });

  return (
    <section class="events-page" aria-label="Events">
      <PageHeader title="Events">
        <span class={`live-dot ${live()}`} role="status" data-live={live()}
              title={live() === 'live' ? 'New events appear as they happen' : live() === 'connecting' ? 'Connecting to the live feed' : 'The live feed is reconnecting'}>
          <span aria-hidden="true" class="dot" />{live() === 'live' ? 'Live' : live() === 'connecting' ? 'Connecting…' : 'Offline'}
        </span>
        <button type="button" onClick={() => void reload()} disabled={loading()}>Refresh</button>
      </PageHeader>

      <form class="card event-filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="ef-camera">Camera</label>
          <select id="ef-camera" value={filters().camera} onChange={(e) => setFilter('camera', e.currentTarget.value)}>
            <option value="">All cameras</option>
            <For each={cameras() || []}>{(c) => <option value={c.id}>{c.name || c.id}</option>}</For>
            <Show when={filters().camera && !cameras()?.some((c) => c.id === filters().camera)}>
              <option value={filters().camera}>{filters().camera}</option>
            </Show>
          </select>
        </div>
        <div class="field">
          <label for="ef-label">Label</label>
          <input id="ef-label" list="ef-labels" value={filters().label} placeholder="any"
                 onChange={(e) => setFilter('label', e.currentTarget.value.trim())} />
          <datalist id="ef-labels"><For each={labels()}>{(l) => <option value={l} />}</For></datalist>
        </div>
        <div class="field">
          <label for="ef-zone">Zone</label>
          <input id="ef-zone" list="ef-zones" value={filters().zone} placeholder="any"
                 onChange={(e) => setFilter('zone', e.currentTarget.value.trim())} />
          <datalist id="ef-zones"><For each={zones()}>{(z) => <option value={z} />}</For></datalist>
        </div>
        <div class="field">
          <label for="ef-after">From</label>
          <input id="ef-after" type="datetime-local" value={filters().after}
                 onChange={(e) => setFilter('after', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="ef-before">Until</label>
          <input id="ef-before" type="datetime-local" value={filters().before}
                 onChange={(e) => setFilter('before', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="ef-score">Min score (%)</label>
          <input id="ef-score" type="number" min="0" max="100" step="5" value={filters().min_score} placeholder="0"
                 onChange={(e) => setFilter('min_score', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="ef-snap">Snapshot</label>
          <select id="ef-snap" value={filters().has_snapshot} onChange={(e) => setFilter('has_snapshot', e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="true">With snapshot</option>
            <option value="false">Without snapshot</option>
          </select>
        </div>
        <div class="field filter-actions">
          <button type="button" onClick={clearFilters} disabled={!anyFilter()}>Clear filters</button>
        </div>
      </form>

      <Show when={!loading() || items().length} fallback={<Spinner label="Loading events…" />}>
        <Show when={!error()} fallback={<ErrorBox error={error()} onRetry={() => void reload()} />}>
          <Show when={items().length} fallback={
            <Empty title={anyFilter() ? 'No events match these filters' : 'No events yet'}>
              {anyFilter() ? 'Change or clear the filters.' : 'Events appear here as the cameras detect objects; this page updates live.'}
            </Empty>
          }>
            <ul class="event-grid" aria-label="Events" aria-busy={loading()}>
              <For each={items()}>
                {(e) => (
                  <li class="card event-card" classList={{ fresh: fresh().has(e.id), open: !e.end }} data-event={e.id}
                      data-label={e.label} data-camera={e.camera}>
                    <button type="button" class="event-open" onClick={() => open(e.id)}
                            aria-label={`${e.label} on ${cameraName(e.camera)} at ${eventTime(e.start)}, score ${formatScore(e.top_score)}`}>
                      <Show when={snapshotUrl(e, true)} fallback={<span class="event-thumb none" aria-hidden="true">No snapshot</span>}>
                        {(u) => <img class="event-thumb" src={u()} alt="" loading="lazy" width="320" height="180" />}
                      </Show>
                    </button>
                    <div class="event-meta">
                      <div class="row event-title">
                        <strong class="event-label">{e.label}{e.sub_label ? ` · ${e.sub_label}` : ''}</strong>
                        <span class="badge" title="Top score">{formatScore(e.top_score)}</span>
                        <Show when={!e.end}><span class="badge warn">ongoing</span></Show>
                      </div>
                      <div class="muted small">{cameraName(e.camera)}</div>
                      <div class="small"><time datetime={e.start}>{eventTime(e.start)}</time> · <span class="event-duration">{formatDuration(e.start, e.end)}</span></div>
                      <Show when={e.zones.length}>
                        <div class="zones small"><For each={e.zones}>{(z) => <span class="chip">{z}</span>}</For></div>
                      </Show>
                    </div>
                  </li>
                )}
              </For>
            </ul>
            <div class="load-more">
              <Show when={moreError()}><ErrorBox error={moreError()} onRetry={() => void loadMore()} /></Show>
              <Show when={cursor()} fallback={<p class="muted small">{items().length} events · the end of the list</p>}>
                <button type="button" onClick={() => void loadMore()} disabled={loadingMore()}>
                  {loadingMore() ? 'Loading…' : 'Load more'}
                </button>
              </Show>
            </div>
          </Show>
        </Show>
      </Show>

      <Show when={openId()}>
        {(id) => (
          <EventDetail id={id()} initial={items().find((x) => x.id === id())} cameraName={cameraName}
                       onClose={() => open(null)}
                       onDeleted={(gone) => { setItems(items().filter((x) => x.id !== gone)); open(null); }} />
        )}
      </Show>
    </section>
  );
}
