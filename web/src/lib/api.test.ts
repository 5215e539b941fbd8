import { describe, expect, it } from 'vitest';
import { ApiError, qs } from './api';

describe('ApiError', () => {
  it('takes the field the server names first', () => {
    const e = new ApiError(400, 'invalid', 'url: must start with rtsp:// or rtsps://');
    expect(e.field).toBe('url');
    expect(e.message).toBe('url: must start with rtsp:// or rtsps://');
  });
  it('takes nested field paths', () => {
    expect(new ApiError(400, 'invalid', 'record.retention_days: must be 1..3650').field).toBe('record.retention_days');
  });
  it('has no field for a sentence', () => {
    expect(new ApiError(404, 'not_found', "camera 'x' does not exist").field).toBeNull();
    expect(new ApiError(500, 'internal', 'list cameras: disk I/O error').field).toBeNull();
  });
});

describe('qs', () => {
  it('drops empty values and encodes the rest', () => {
    expect(qs({ a: 1, b: '', c: undefined, d: null, e: 'x y&z' })).toBe('?a=1&e=x+y%26z');
    expect(qs({})).toBe('');
  });
});
