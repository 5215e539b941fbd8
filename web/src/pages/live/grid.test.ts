import { describe, expect, it } from 'vitest';
import {
  autoGrid, cameraBadges, canPlay, gridFor, groupsOf, idleReason, moveBy, moveTo, normalizePrefs, orderCameras,
  pageCount, pageSlice, snapshotName, streamFor, streamInfo,
} from './grid';
import type { Camera, CameraStatus } from '../../lib/types';

function cam(id: string, status: Partial<CameraStatus> = {}, extra: Partial<Camera> = {}): Camera {
  return {
    id, name: id, url: 'rtsp://x', sub_url: '', enabled: true,
    record: { enabled: true, segment_seconds: 4, retention_days: 7, max_bytes: 0 },
    provisioned: false, created_at: '', updated_at: '', groups: [],
    status: {
      state: 'streaming', since: null, breaker: 'closed', last_error: null, next_retry_at: null,
      reconnects: 0, recording: true, sub_state: null, ...status,
    },
    ...extra,
  };
}

describe('prefs', () => {
  it('keeps valid values and drops the rest', () => {
    expect(normalizePrefs({ layout: '9', order: ['b', 'a', 'b', 'Bad!', 3], group: 'lobby' }))
      .toEqual({ layout: '9', order: ['b', 'a'], group: 'lobby' });
    expect(normalizePrefs(null)).toEqual({ layout: 'auto', order: [], group: '' });
    expect(normalizePrefs({ layout: '7', group: 'x y' })).toEqual({ layout: 'auto', order: [], group: '' });
  });
});

describe('order', () => {
  it('puts named cameras first in their order, the rest by id', () => {
    const out = orderCameras([cam('a'), cam('b'), cam('c'), cam('d')], ['c', 'gone', 'a']);
    expect(out.map((c) => c.id)).toEqual(['c', 'a', 'b', 'd']);
  });
  it('moves to a target and by steps, clamped', () => {
    expect(moveTo(['a', 'b', 'c', 'd'], 'a', 'c')).toEqual(['b', 'c', 'a', 'd']);
    expect(moveTo(['a', 'b', 'c', 'd'], 'd', 'b')).toEqual(['a', 'd', 'b', 'c']);
    expect(moveTo(['a', 'b'], 'a', 'x')).toEqual(['a', 'b']);
    expect(moveBy(['a', 'b', 'c'], 'b', -1)).toEqual(['b', 'a', 'c']);
    expect(moveBy(['a', 'b', 'c'], 'b', 1)).toEqual(['a', 'c', 'b']);
    expect(moveBy(['a', 'b', 'c'], 'c', 1)).toEqual(['a', 'b', 'c']);
  });
});

describe('grid', () => {
  it('fixed layouts are squares', () => {
    expect(gridFor('4', 10, 1000, 600)).toEqual({ cols: 2, rows: 2, perPage: 4 });
    expect(gridFor('16', 3, 1000, 600)).toEqual({ cols: 4, rows: 4, perPage: 16 });
    expect(gridFor('1', 3, 1000, 600)).toEqual({ cols: 1, rows: 1, perPage: 1 });
  });
  it('auto fits the cameras to the box', () => {
    expect(autoGrid(1, 1600, 900)).toEqual({ cols: 1, rows: 1 });
    expect(autoGrid(4, 1600, 900)).toEqual({ cols: 2, rows: 2 });
    expect(autoGrid(5, 1600, 900)).toEqual({ cols: 3, rows: 2 });
    expect(autoGrid(3, 1600, 300)).toEqual({ cols: 3, rows: 1 }); // wide and short
    expect(autoGrid(3, 400, 1200)).toEqual({ cols: 1, rows: 3 }); // tall and narrow
    expect(gridFor('auto', 40, 1600, 900).perPage).toBe(25);
    expect(gridFor('auto', 0, 1600, 900).perPage).toBe(1);
  });
  it('pages', () => {
    expect(pageCount(0, 4)).toBe(1);
    expect(pageCount(5, 4)).toBe(2);
    expect(pageSlice([1, 2, 3, 4, 5], 4, 1)).toEqual([5]);
    expect(pageSlice([1, 2, 3, 4, 5], 4, 9)).toEqual([5]);
  });
  it('groups are the union, sorted', () => {
    expect(groupsOf([cam('a', {}, { groups: ['yard', 'all'] }), cam('b', {}, { groups: ['all'] })])).toEqual(['all', 'yard']);
  });
});

describe('badges', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const texts = (c: Camera) => cameraBadges(c, now).map((b) => b.text);
  const texts2 = (c: Camera, since: number) => cameraBadges(c, now, since).map((b) => b.text);
  it('recording', () => expect(texts(cam('a'))).toEqual(['REC']));
  it('offline with breaker and retry', () => {
    const c = cam('a', { state: 'failed', breaker: 'open', next_retry_at: '2026-01-01T00:00:04.200Z', last_error: 'refused' });
    expect(texts(c)).toEqual(['Offline', 'Breaker open · retry in 5 s']);
    expect(cameraBadges(c, now)[0].title).toBe('refused');
  });
  it('reconnecting', () => {
    expect(texts(cam('a', { state: 'connecting', reconnects: 2, next_retry_at: '2025-12-31T23:59:59Z' })))
      .toEqual(['Reconnecting', 'Retrying']);
  });
  it('not recording', () => {
    expect(texts(cam('a', { recording: false }))).toEqual(['Not recording']);
    // Briefly false at a segment rollover: no badge until it lasts.
    expect(texts2(cam('a', { recording: false }), now - 1000)).toEqual(['REC']);
    expect(texts2(cam('a', { recording: false }), now - 6000)).toEqual(['Not recording']);
    expect(texts(cam('a', {}, { record: { enabled: false, segment_seconds: 4, retention_days: 7, max_bytes: 0 } })))
      .toEqual(['Not recording']);
  });
  it('no video, undecodable, disabled', () => {
    expect(texts(cam('a', { state: 'no_video' }))).toEqual(['No video']);
    expect(texts(cam('a', { state: 'undecodable' }))).toEqual(['Undecodable']);
    expect(texts(cam('a', {}, { enabled: false }))).toEqual(['Disabled']);
  });
  it('says why a tile waits', () => {
    expect(idleReason(cam('a', { state: 'failed' }))).toBe('Camera offline');
    expect(idleReason(cam('a', { state: 'connecting' }))).toBe('Connecting to the camera…');
    expect(idleReason(cam('a', {}, { enabled: false }))).toBe('Camera disabled');
    expect(idleReason(cam('a', {}, { record: { enabled: false, segment_seconds: 4, retention_days: 7, max_bytes: 0 } })))
      .toBe('No live view: recording is off for this camera');
  });
  it('playability', () => {
    expect(canPlay(cam('a'))).toBe(true);
    expect(canPlay(cam('a', { state: 'failed' }))).toBe(false);
    expect(canPlay(cam('a', {}, { record: { enabled: false, segment_seconds: 4, retention_days: 7, max_bytes: 0 } }))).toBe(false);
  });
});

describe('streams and names', () => {
  it('sub in tiles when there is a working one, main when enlarged', () => {
    expect(streamFor(cam('a'), false)).toBe('main');
    expect(streamFor(cam('a', { sub_state: 'streaming' }, { sub_url: 'rtsp://s' }), false)).toBe('sub');
    expect(streamFor(cam('a', { sub_state: 'streaming' }, { sub_url: 'rtsp://s' }), true)).toBe('main');
    expect(streamFor(cam('a', { sub_state: 'failed' }, { sub_url: 'rtsp://s' }), false)).toBe('main');
  });
  it('snapshot file names carry the camera and the local time', () => {
    expect(snapshotName('door', new Date(2026, 0, 2, 3, 4, 5))).toBe('door-2026-01-02_03-04-05.jpg');
  });
});

describe('stream info', () => {
  it('formats the rate of the stream shown', () => {
    const c = cam('a', { fps: 25, bitrate_bps: 2_400_000, sub_fps: 7.5, sub_bitrate_bps: 380_000 });
    expect(streamInfo(c, 'main')).toBe('25 fps · 2.4 Mb/s');
    expect(streamInfo(c, 'sub')).toBe('7.5 fps · 380 kb/s');
    expect(streamInfo(cam('a'), 'main')).toBeNull();
    expect(streamInfo(cam('a', { fps: null, bitrate_bps: 90_000 }), 'main')).toBe('90 kb/s');
  });
});
