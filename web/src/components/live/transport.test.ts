import { describe, expect, it } from 'vitest';
import { backoffMs, codecFailure, codecName, codecOf, formatLatency, hlsUrl, whepUrl } from './transport';
import { offerFailure } from './whep';

describe('live transport helpers', () => {
  it('chooses the stream by query', () => {
    expect(hlsUrl({ camera: 'door', stream: 'main' })).toBe('/api/v1/cameras/door/live/index.m3u8');
    expect(hlsUrl({ camera: 'door', stream: 'sub' })).toBe('/api/v1/cameras/door/live/index.m3u8?stream=sub');
    expect(whepUrl({ camera: 'front door', stream: 'main' })).toBe('/api/v1/cameras/front%20door/whep');
    expect(whepUrl({ camera: 'door', stream: 'sub' })).toBe('/api/v1/cameras/door/whep?stream=sub');
  });
  it('backs off 1, 2, 4, 8 then 15 s', () => {
    expect([0, 1, 2, 3, 4, 9, 99].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });
  it('formats the latency', () => {
    expect(formatLatency(null)).toBe('–');
    expect(formatLatency(830)).toBe('0.8 s');
    expect(formatLatency(12400)).toBe('12 s');
    expect(formatLatency(-50)).toBe('0 ms');
    expect(formatLatency(42.4)).toBe('42 ms'); // WebRTC on a LAN
  });
});

describe('a refused WHEP offer', () => {
  it('keeps what LL-HLS would answer the same way', () => {
    expect(offerFailure(401, 'unauthenticated', 'x').kind).toBe('unauthorized');
    expect(offerFailure(403, 'forbidden', 'x').kind).toBe('forbidden');
    expect(offerFailure(404, 'not_found', 'x').kind).toBe('not_found');
  });
  it('falls back to LL-HLS for what only WebRTC lacks', () => {
    expect(offerFailure(503, 'disabled', 'WebRTC is off on this node')).toEqual(
      { kind: 'fallback', status: 503, detail: 'WebRTC is off on this server' });
    // Not H.264, the session limit, a camera not streaming yet, a server error.
    for (const [st, code] of [[400, 'invalid'], [503, 'unavailable'], [415, 'unsupported_media_type'],
      [500, 'internal']] as const) {
      expect(offerFailure(st, code, 'why').kind).toBe('fallback');
    }
  });
});

describe('a codec the browser cannot decode', () => {
  it('is named in the failure, with what to do for H.265', () => {
    expect(codecName('hvc1.1.6.L93.B0')).toBe('H.265 (HEVC)');
    expect(codecName('hev1.1.6.L93.B0')).toBe('H.265 (HEVC)');
    expect(codecName('avc1.64001f')).toBe('H.264');
    const f = codecFailure('manifestIncompatibleCodecsError', 'hvc1.1.6.L93.B0');
    expect(f?.kind).toBe('unsupported');
    expect(f?.detail).toContain('cannot decode H.265 (HEVC) video');
    expect(f?.detail).toContain('H.264 sub stream');
    expect(codecFailure('bufferAddCodecError', undefined)?.detail).toBe("This browser cannot decode this camera's video.");
  });
  it('reads the codec of a refused SourceBuffer type', () => {
    expect(codecOf('video/mp4;codecs=hvc1.1.6.L93.B0')).toBe('hvc1.1.6.L93.B0');
    expect(codecOf('video/mp4; codecs="avc1.64001f,mp4a.40.2"')).toBe('avc1.64001f');
    expect(codecOf('video/mp4')).toBeUndefined();
    expect(codecOf(undefined)).toBeUndefined();
  });
  it('leaves other errors to the player', () => {
    expect(codecFailure('fragLoadError', 'hvc1.1.6.L93.B0')).toBeNull();
    expect(codecFailure('bufferStalledError', 'avc1.64001f')).toBeNull();
  });
});
