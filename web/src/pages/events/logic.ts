// Pure logic of the Events page: the filters as they live in the URL query
// and in the API's query, merging live (SSE) changes into the list, and the
// text of times, durations and scores.
import type { HorusEvent } from '../../lib/types';

export interface EventFilters {
  camera: string;
  label: string;
  zone: string;
  /** datetime-local strings (the browser's local time), '' = unbounded */
  after: string;
  before: string;
  /** 0..100 (percent), '' = any */
  min_score: string;
  /** 'true' | 'false' | '' */
  has_snapshot: string;
}

export const FILTER_KEYS: (keyof EventFilters)[] = ['camera', 'label', 'zone', 'after', 'before', 'min_score', 'has_snapshot'];

export function filtersFromQuery(q: URLSearchParams): EventFilters {
  const f = {} as EventFilters;
  for (const k of FILTER_KEYS) f[k] = q.get(k) || '';
  if (!['true', 'false', ''].includes(f.has_snapshot)) f.has_snapshot = '';
  return f;
}

export function filtersToQuery(f: EventFilters): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const k of FILTER_KEYS) out[k] = f[k] || null;
  return out;
}

// A datetime-local value ("2026-12-02T10:30") in the browser's zone → ISO (UTC).
export function localToIso(v: string): string | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

// ISO time → a datetime-local value in the browser's zone.
export function isoToLocal(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The API query of GET /api/v1/events for these filters ('' values dropped by qs()).
export function apiParams(f: EventFilters): Record<string, string | number | undefined> {
  const score = f.min_score === '' ? NaN : Number(f.min_score);
  return {
    camera: f.camera || undefined,
    label: f.label || undefined,
    zone: f.zone || undefined,
    after: localToIso(f.after) || undefined,
    before: localToIso(f.before) || undefined,
    min_score: Number.isFinite(score) ? Math.min(1, Math.max(0, score / 100)) : undefined,
    has_snapshot: f.has_snapshot || undefined,
  };
}

// Would the list with these filters show this event? (for events from the live stream)
export function matches(e: HorusEvent, f: EventFilters): boolean {
  if (f.camera && e.camera !== f.camera) return false;
  if (f.label && e.label !== f.label) return false;
  if (f.zone && !e.zones.includes(f.zone)) return false;
  const start = Date.parse(e.start);
  const after = localToIso(f.after);
  const before = localToIso(f.before);
  if (after && start < Date.parse(after)) return false;
  if (before && start >= Date.parse(before)) return false;
  if (f.min_score !== '' && Number.isFinite(Number(f.min_score)) && e.top_score < Number(f.min_score) / 100 - 1e-9) return false;
  if (f.has_snapshot === 'true' && !e.has_snapshot) return false;
  if (f.has_snapshot === 'false' && e.has_snapshot) return false;
  return true;
}

// Newest first: by start, then id (the id starts with the start in µs, so
// comparing ids alone orders them the way the server does).
export function compareEvents(a: HorusEvent, b: HorusEvent): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

// The list after a live change: an update replaces the event where it is,
// a new one goes where it sorts (normally the top). Events older than the
// oldest loaded one are left to paging, unless the list is complete.
export function upsert(list: HorusEvent[], e: HorusEvent, complete: boolean): HorusEvent[] {
  const i = list.findIndex((x) => x.id === e.id);
  if (i >= 0) {
    const next = list.slice();
    next[i] = e;
    return next;
  }
  const last = list[list.length - 1];
  if (last && !complete && compareEvents(e, last) > 0) return list;
  const next = [...list, e];
  next.sort(compareEvents);
  return next;
}

export function remove(list: HorusEvent[], id: string): HorusEvent[] {
  return list.filter((x) => x.id !== id);
}

// "4.2 s", "3 min 05 s", "1 h 02 min"; "ongoing" while open.
export function formatDuration(start: string, end: string | null): string {
  if (!end) return 'ongoing';
  const s = Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m - h * 60).padStart(2, '0')} min`;
}

export function formatScore(score: number): string {
  return `${Math.round(score * 100)}%`;
}

// The snapshot URL of an event, with or without the box drawn on it.
export function snapshotUrl(e: HorusEvent, box: boolean): string | null {
  if (!e.snapshot_url || !e.has_snapshot) return null;
  return `${e.snapshot_url}${e.snapshot_url.includes('?') ? '&' : '?'}box=${box ? 1 : 0}`;
}

export function eventTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}
