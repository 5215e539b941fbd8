import { describe, expect, it } from 'vitest';
import type { Camera } from '../../lib/types';
import {
  createBody, emptyForm, formatBitrate, formatBytes, formatFps, formFromCamera, hasMaskedPassword,
  isLocalError, maskUrl, parseGroups, patchBody, slugify, stateTone,
} from './logic';

function camera(over: Partial<Camera> = {}): Camera {
  return {
    id: 'door', name: 'Front door', url: 'rtsp://admin:***@10.0.0.5/stream1', sub_url: '',
    enabled: true, record: { enabled: true, segment_seconds: 60, retention_days: 14, max_bytes: 0 },
    provisioned: false, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z',
    status: { state: 'streaming', since: null, breaker: 'closed', last_error: null, next_retry_at: null,
              reconnects: 0, recording: true, sub_state: null },
    groups: ['outside'],
    ...over,
  };
}

describe('formatting', () => {
  it('shows a dash for absent numbers', () => {
    expect(formatFps(undefined)).toBe('—');
    expect(formatFps(null)).toBe('—');
    expect(formatBitrate(undefined)).toBe('—');
    expect(formatBytes(null)).toBe('—');
  });
  it('scales numbers', () => {
    expect(formatFps(25)).toBe('25 fps');
    expect(formatFps(7.46)).toBe('7.5 fps');
    expect(formatBitrate(2_450_000)).toBe('2.5 Mbit/s');
    expect(formatBitrate(640_000)).toBe('640 kbit/s');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 2 ** 20)).toBe('3.0 MiB');
  });
  it('colours states', () => {
    expect(stateTone('streaming')).toBe('ok');
    expect(stateTone('failed')).toBe('bad');
    expect(stateTone('disabled')).toBe('');
  });
});

describe('urls', () => {
  it('recognises and makes masked urls', () => {
    expect(hasMaskedPassword('rtsp://admin:***@host/x')).toBe(true);
    expect(hasMaskedPassword('rtsp://admin:secret@host/x')).toBe(false);
    expect(hasMaskedPassword('rtsp://host/x?a=***@')).toBe(false);
    expect(maskUrl('rtsp://admin:secret@host/x')).toBe('rtsp://admin:***@host/x');
    expect(maskUrl('rtsp://host/x')).toBe('rtsp://host/x');
  });
});

describe('create body', () => {
  it('builds the whole camera', () => {
    const f = { ...emptyForm(), id: 'gate', url: ' rtsp://h/1 ', groups: 'Yard, outside yard', max_gib: '2' };
    expect(createBody(f)).toEqual({
      id: 'gate', name: '', url: 'rtsp://h/1', enabled: true, groups: ['outside', 'yard'],
      record: { enabled: true, segment_seconds: 60, retention_days: 14, max_bytes: 2 * 2 ** 30 },
    });
  });
  it('names the bad field', () => {
    const r = createBody({ ...emptyForm(), id: 'x', url: 'rtsp://h', segment_seconds: '1' });
    expect(isLocalError(r) && r[0]).toBe('record.segment_seconds');
  });
  it('suggests an id from the name', () => {
    expect(slugify('Front door #2')).toBe('front-door-2');
    expect(slugify('  Café Größe ')).toBe('cafe-gro-e');
    expect(slugify('***')).toBe('');
    expect(slugify('x'.repeat(70)).length).toBe(64);
  });
  it('dedups groups', () => {
    expect(parseGroups('a b,a  ')).toEqual(['a', 'b']);
  });
});

describe('patch body', () => {
  it('sends nothing for an untouched form, so the stored password stays', () => {
    const c = camera();
    expect(patchBody(c, formFromCamera(c))).toEqual({});
  });
  it('sends only what changed', () => {
    const c = camera();
    const f = { ...formFromCamera(c), name: 'Door', retention_days: '30', groups: 'outside, porch' };
    expect(patchBody(c, f)).toEqual({ name: 'Door', record: { retention_days: 30 }, groups: ['outside', 'porch'] });
  });
  it('refuses a changed url that still holds the masked password', () => {
    const c = camera();
    const r = patchBody(c, { ...formFromCamera(c), url: 'rtsp://admin:***@10.0.0.6/stream1' });
    expect(isLocalError(r) && r[0]).toBe('url');
  });
  it('sends a retyped url', () => {
    const c = camera();
    expect(patchBody(c, { ...formFromCamera(c), url: 'rtsp://admin:pw@10.0.0.6/s' })).toEqual({ url: 'rtsp://admin:pw@10.0.0.6/s' });
  });
  it('keeps an odd max_bytes the GiB field rounds', () => {
    const c = camera({ record: { enabled: true, segment_seconds: 60, retention_days: 14, max_bytes: 1234567 } });
    expect(patchBody(c, formFromCamera(c))).toEqual({});
  });
});
