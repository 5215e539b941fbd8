// Pure logic of the live grid: layouts, pages, tile order, saved preferences
// and the badges a camera's status earns. No DOM here (Vitest covers it).
import type { Camera } from '../../lib/types';

export type Layout = 'auto' | '1' | '4' | '9' | '16';
export const LAYOUTS: Layout[] = ['auto', '1', '4', '9', '16'];
// The most tiles the automatic layout puts on one page.
export const AUTO_MAX = 25;
// The most camera ids the saved order keeps (the server keeps 16 KiB of preferences).
export const ORDER_MAX = 200;

export interface LivePrefs {
  layout: Layout;
  order: string[]; // camera ids, first tile first; cameras not named follow by id
  group: string; // '' = all cameras
}

export const DEFAULT_PREFS: LivePrefs = { layout: 'auto', order: [], group: '' };

// Whatever was stored (another version, hand-edited) back to a valid LivePrefs.
export function normalizePrefs(v: unknown): LivePrefs {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const layout = LAYOUTS.includes(o.layout as Layout) ? (o.layout as Layout) : DEFAULT_PREFS.layout;
  const order = Array.isArray(o.order)
    ? [...new Set(o.order.filter((x): x is string => typeof x === 'string' && /^[a-z0-9_-]{1,64}$/.test(x)))].slice(0, ORDER_MAX)
    : [];
  const group = typeof o.group === 'string' && /^[a-z0-9_-]{0,64}$/.test(o.group) ? o.group : '';
  return { layout, order, group };
}

// Cameras in the saved order; those it does not name keep their id order after.
export function orderCameras<T extends { id: string }>(cams: T[], order: string[]): T[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  return [...cams].sort((a, b) => {
    const ra = rank.get(a.id);
    const rb = rank.get(b.id);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return -1;
    if (rb !== undefined) return 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

// The full order after moving `id` to where `target` is (drag and drop), or by
// `delta` places (keyboard). `ids` is the order shown now (every camera).
export function moveTo(ids: string[], id: string, target: string): string[] {
  const from = ids.indexOf(id);
  const to = ids.indexOf(target);
  if (from < 0 || to < 0 || from === to) return ids;
  const out = ids.slice();
  out.splice(from, 1);
  out.splice(to, 0, id);
  return out;
}

export function moveBy(ids: string[], id: string, delta: number): string[] {
  const from = ids.indexOf(id);
  if (from < 0) return ids;
  const to = Math.max(0, Math.min(ids.length - 1, from + delta));
  return to === from ? ids : moveTo(ids, id, ids[to]);
}

export interface Grid {
  cols: number;
  rows: number;
  perPage: number;
}

// Columns and rows that give n 16:9 tiles the largest size in a box of w×h.
export function autoGrid(n: number, w: number, h: number): { cols: number; rows: number } {
  if (n <= 1) return { cols: 1, rows: 1 };
  let best = { cols: 1, rows: n, size: -1 };
  // From the most columns down, so that among equal sizes the wider grid wins.
  for (let cols = n; cols >= 1; cols--) {
    const rows = Math.ceil(n / cols);
    if (cols > 1 && Math.ceil(n / (cols - 1)) === rows) continue; // same rows, fewer empty cells below
    const tileW = Math.min(w / cols, (h / rows) * (16 / 9));
    if (tileW > best.size + 0.5) best = { cols, rows, size: tileW };
  }
  return { cols: best.cols, rows: best.rows };
}

export function gridFor(layout: Layout, n: number, w: number, h: number): Grid {
  if (layout === 'auto') {
    const shown = Math.max(1, Math.min(n, AUTO_MAX));
    const g = autoGrid(shown, w > 0 ? w : 1280, h > 0 ? h : 720);
    return { ...g, perPage: shown };
  }
  const per = Number(layout);
  const side = Math.round(Math.sqrt(per));
  return { cols: side, rows: side, perPage: per };
}

export function pageCount(n: number, perPage: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, perPage)));
}

export function pageSlice<T>(items: T[], perPage: number, page: number): T[] {
  const p = Math.max(0, Math.min(page, pageCount(items.length, perPage) - 1));
  return items.slice(p * perPage, (p + 1) * perPage);
}

// Every group the cameras name, sorted.
export function groupsOf(cams: Pick<Camera, 'groups'>[]): string[] {
  return [...new Set(cams.flatMap((c) => c.groups || []))].sort();
}

export type BadgeKind = 'ok' | 'warn' | 'bad' | 'info';
export interface Badge {
  kind: BadgeKind;
  text: string;
  title?: string;
}

function inSeconds(iso: string | null, now: number): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, Math.ceil((t - now) / 1000)) : null;
}

// A streaming camera whose status says "not recording" for less than this is
// between two segments (the status flips briefly at a rollover): no badge yet.
export const NOT_RECORDING_GRACE_MS = 5000;

// The badges of a tile from the camera's status (now: Date.now()); notRecordingSince:
// when the page first saw status.recording false in this streaming run (null: not seen).
export function cameraBadges(cam: Pick<Camera, 'enabled' | 'record' | 'status'>, now: number,
                             notRecordingSince: number | null = null): Badge[] {
  const s = cam.status;
  const out: Badge[] = [];
  const why = s.last_error || undefined;
  if (!cam.enabled || s.state === 'disabled') return [{ kind: 'info', text: 'Disabled', title: 'The camera is disabled' }];
  switch (s.state) {
    case 'failed':
    case 'stopped':
      out.push({ kind: 'bad', text: 'Offline', title: why });
      break;
    case 'connecting':
      out.push({ kind: 'warn', text: s.reconnects > 0 ? 'Reconnecting' : 'Connecting', title: why });
      break;
    case 'no_video':
      out.push({ kind: 'bad', text: 'No video', title: why });
      break;
    case 'undecodable':
      out.push({ kind: 'bad', text: 'Undecodable', title: why });
      break;
    case 'streaming':
      if (!cam.record.enabled) out.push({ kind: 'warn', text: 'Not recording', title: 'Recording is off for this camera' });
      else if (!s.recording && (notRecordingSince === null || now - notRecordingSince >= NOT_RECORDING_GRACE_MS))
        out.push({ kind: 'warn', text: 'Not recording', title: why || 'No segment is being written' });
      else out.push({ kind: 'ok', text: 'REC', title: 'Recording' });
      break;
  }
  if (s.state !== 'streaming') {
    const retry = inSeconds(s.next_retry_at, now);
    const breaker = s.breaker === 'open' ? 'breaker open' : s.breaker === 'half_open' ? 'breaker half-open' : '';
    if (retry !== null || breaker) {
      const parts = [breaker, retry !== null ? (retry > 0 ? `retry in ${retry} s` : 'retrying') : ''].filter(Boolean);
      const text = parts.join(' · ');
      out.push({ kind: 'warn', text: text[0].toUpperCase() + text.slice(1), title: why });
    }
  }
  if (s.sub_state === 'failed') out.push({ kind: 'warn', text: 'Sub stream failed', title: 'The tile plays the main stream' });
  return out;
}

// Whether the camera's live media can be expected now (else the tile waits).
export function canPlay(cam: Pick<Camera, 'enabled' | 'record' | 'status'>): boolean {
  const st = cam.status.state;
  return cam.enabled && cam.record.enabled && (st === 'streaming' || st === 'no_video' || st === 'undecodable');
}

// Why a camera cannot play now, for the tile's overlay.
export function idleReason(cam: Pick<Camera, 'enabled' | 'record' | 'status'>): string {
  if (!cam.enabled || cam.status.state === 'disabled') return 'Camera disabled';
  if (!cam.record.enabled) return 'No live view: recording is off for this camera';
  switch (cam.status.state) {
    case 'connecting':
      return 'Connecting to the camera…';
    default:
      return 'Camera offline';
  }
}

// The stream a tile plays: the sub stream when the camera has a working one
// and the tile is small, the main stream when enlarged.
export function streamFor(cam: Pick<Camera, 'sub_url' | 'status'>, enlarged: boolean): 'main' | 'sub' {
  if (enlarged || !cam.sub_url) return 'main';
  return cam.status.sub_state === 'failed' ? 'main' : 'sub';
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

// "door-2026-12-02_16-30-05.jpg" (local time).
export function snapshotName(camera: string, at: Date): string {
  return `${camera}-${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}_` +
    `${pad(at.getHours())}-${pad(at.getMinutes())}-${pad(at.getSeconds())}.jpg`;
}

// "10 fps · 1.2 Mb/s" of the stream a tile plays, from the status (null when the
// server does not report them).
export function streamInfo(cam: Pick<Camera, 'status'>, stream: 'main' | 'sub'): string | null {
  const s = cam.status;
  const fps = stream === 'sub' ? s.sub_fps : s.fps;
  const bps = stream === 'sub' ? s.sub_bitrate_bps : s.bitrate_bps;
  const parts: string[] = [];
  if (typeof fps === 'number' && Number.isFinite(fps)) parts.push(`${fps >= 10 ? Math.round(fps) : fps.toFixed(1)} fps`);
  if (typeof bps === 'number' && Number.isFinite(bps)) {
    parts.push(bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`);
  }
  return parts.length ? parts.join(' · ') : null;
}
