import { describe, expect, it } from 'vitest';
import { backoffMs, formatLatency, hlsUrl } from './transport';

describe('live transport helpers', () => {
  it('chooses the stream by query', () => {
    expect(hlsUrl({ camera: 'door', stream: 'main' })).toBe('/api/v1/cameras/door/live/index.m3u8');
    expect(hlsUrl({ camera: 'door', stream: 'sub' })).toBe('/api/v1/cameras/door/live/index.m3u8?stream=sub');
  });
  it('backs off 1, 2, 4, 8 then 15 s', () => {
    expect([0, 1, 2, 3, 4, 9, 99].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
  it('formats the latency', () => {
    expect(formatLatency(null)).toBe('–');
    expect(formatLatency(830)).toBe('0.8 s');
    expect(formatLatency(12400)).toBe('12 s');
    expect(formatLatency(-50)).toBe('0.0 s');
  });
});
