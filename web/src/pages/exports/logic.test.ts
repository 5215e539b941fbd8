import { describe, expect, it } from 'vitest';
import { ExportJob, formatDuration, mergePages, percent, pollInterval, rangeSeconds } from './logic';

function job(id: string, state: ExportJob['state']): ExportJob {
  return { id, camera: 'cam', stream: 'main', start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:01:30Z', state,
           progress: 0.5, size_bytes: 0, duration_s: 0, sha256: null, error: null, created_at: '2026-01-01T10:02:00Z',
           started_at: null, finished_at: null, file_url: null };
}

describe('exports', () => {
  it('polls fast only while a job is active', () => {
    expect(pollInterval([job('a', 'done'), job('b', 'running')])).toBe(1000);
    expect(pollInterval([job('a', 'done'), job('b', 'failed')])).toBe(10000);
    expect(pollInterval(undefined)).toBe(10000);
  });
  it('formats', () => {
    expect(formatDuration(3723)).toBe('1 h 2 min 3 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(2.5)).toBe('2.5 s');
    expect(formatDuration(0)).toBe('0 s');
    expect(percent(0.456)).toBe(46);
    expect(percent(2)).toBe(100);
    expect(rangeSeconds('2026-01-01T10:00:00Z', '2026-01-01T10:01:30Z')).toBe(90);
  });
  it('merges older pages under the first', () => {
    const m = mergePages([job('c', 'done'), job('b', 'done')], [job('b', 'done'), job('a', 'done')]);
    expect(m.map((e) => e.id)).toEqual(['c', 'b', 'a']);
  });
});
