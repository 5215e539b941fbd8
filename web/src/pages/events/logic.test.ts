import { describe, expect, it } from 'vitest';
import type { HorusEvent } from '../../lib/types';
import { apiParams, filtersFromQuery, filtersToQuery, formatDuration, isoToLocal, localToIso, matches, remove, snapshotUrl, upsert } from './logic';

function ev(id: string, extra: Partial<HorusEvent> = {}): HorusEvent {
  const start = new Date(Number(id.slice(0, 17)) / 1000).toISOString();
  return {
    id, camera: 'door', label: 'person', sub_label: null, score: 0.8, top_score: 0.9,
    start, end: null, updated: start, zones: [], box: null,
    details: {}, has_snapshot: false, source: 'api', created_at: '', snapshot_url: null,
    clip: { playback_url: '', clip_url: '', start: '', end: '', export: { method: 'POST', url: '/api/v1/exports', body: { camera: 'door', start: 0, end: 1 } } },
    retain_until: null, ...extra,
  };
}
const f0 = filtersFromQuery(new URLSearchParams(''));

describe('filters', () => {
  it('round-trips through the query and drops empty values', () => {
    const f = filtersFromQuery(new URLSearchParams('camera=door&min_score=60&has_snapshot=maybe'));
    expect(f.camera).toBe('door');
    expect(f.has_snapshot).toBe('');
    const q = filtersToQuery(f);
    expect(q.camera).toBe('door');
    expect(q.label).toBeNull();
    expect(q.min_score).toBe('60');
  });
  it('maps to API parameters (score as a fraction, times as ISO)', () => {
    const f = { ...f0, min_score: '75', after: '2026-01-02T03:04', has_snapshot: 'true' };
    const p = apiParams(f);
    expect(p.min_score).toBe(0.75);
    expect(p.after).toBe(new Date('2026-01-02T03:04').toISOString());
    expect(p.before).toBeUndefined();
    expect(p.has_snapshot).toBe('true');
  });
  it('converts local times both ways', () => {
    expect(localToIso('')).toBeNull();
    expect(localToIso('nonsense')).toBeNull();
    const iso = localToIso('2026-05-06T07:08')!;
    expect(isoToLocal(iso)).toBe('2026-05-06T07:08');
  });
  it('matches live events against the filters', () => {
    const e = ev('17000000000000000-aaaaaaaa', { zones: ['porch'], top_score: 0.5 });
    expect(matches(e, f0)).toBe(true);
    expect(matches(e, { ...f0, camera: 'yard' })).toBe(false);
    expect(matches(e, { ...f0, zone: 'porch' })).toBe(true);
    expect(matches(e, { ...f0, zone: 'gate' })).toBe(false);
    expect(matches(e, { ...f0, min_score: '50' })).toBe(true);
    expect(matches(e, { ...f0, min_score: '51' })).toBe(false);
    expect(matches(e, { ...f0, has_snapshot: 'true' })).toBe(false);
    expect(matches(e, { ...f0, has_snapshot: 'false' })).toBe(true);
  });
});

describe('upsert', () => {
  const a = ev('17000000000000003-aaaaaaaa');
  const b = ev('17000000000000002-bbbbbbbb');
  const c = ev('17000000000000001-cccccccc');
  it('puts a new event at the top and keeps newest first', () => {
    const n = ev('17000000000000009-dddddddd');
    expect(upsert([a, b], n, false).map((x) => x.id)).toEqual([n.id, a.id, b.id]);
  });
  it('replaces an updated event in place', () => {
    const a2 = { ...a, end: new Date().toISOString() };
    const out = upsert([a, b, c], a2, false);
    expect(out[0]).toBe(a2);
    expect(out.length).toBe(3);
  });
  it('leaves events older than the loaded page to paging unless complete', () => {
    expect(upsert([a, b], c, false).length).toBe(2);
    expect(upsert([a, b], c, true).map((x) => x.id)).toEqual([a.id, b.id, c.id]);
    expect(upsert([], c, false).length).toBe(1);
  });
  it('removes', () => {
    expect(remove([a, b], a.id)).toEqual([b]);
  });
});

describe('text', () => {
  it('formats durations', () => {
    const s = '2026-01-01T00:00:00Z';
    expect(formatDuration(s, null)).toBe('ongoing');
    expect(formatDuration(s, '2026-01-01T00:00:04.25Z')).toBe('4.3 s');
    expect(formatDuration(s, '2026-01-01T00:00:42Z')).toBe('42 s');
    expect(formatDuration(s, '2026-01-01T00:03:05Z')).toBe('3 min 05 s');
    expect(formatDuration(s, '2026-01-01T01:02:00Z')).toBe('1 h 02 min');
  });
  it('builds snapshot URLs only for events with one', () => {
    expect(snapshotUrl(ev('17000000000000001-cccccccc'), true)).toBeNull();
    const e = ev('17000000000000001-cccccccc', { has_snapshot: true, snapshot_url: '/api/v1/events/x/snapshot.jpg' });
    expect(snapshotUrl(e, true)).toBe('/api/v1/events/x/snapshot.jpg?box=1');
    expect(snapshotUrl(e, false)).toBe('/api/v1/events/x/snapshot.jpg?box=0');
  });
});
