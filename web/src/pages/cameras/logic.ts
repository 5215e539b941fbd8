// Pure helpers of the Cameras pages: formatting of status numbers, the
// camera form's state and the request body built from it (the PATCH sends
// only what changed, so a masked URL the user did not touch keeps its stored
// password), and the wording of probe failures.
import type { Camera, CameraState } from '../../lib/types';

export type Tone = 'ok' | 'warn' | 'bad' | '';

export const DASH = '—';

export function stateTone(state: CameraState | string | null | undefined): Tone {
  switch (state) {
    case 'streaming': return 'ok';
    case 'connecting': return 'warn';
    case 'failed': case 'no_video': case 'undecodable': return 'bad';
    default: return '';
  }
}

export function stateLabel(state: string | null | undefined): string {
  if (!state) return DASH;
  return state === 'no_video' ? 'no video' : state.replace(/_/g, ' ');
}

export function breakerTone(b: string): Tone {
  return b === 'closed' ? 'ok' : b === 'half_open' ? 'warn' : 'bad';
}

export function formatFps(fps: number | null | undefined): string {
  if (fps === null || fps === undefined || !Number.isFinite(fps)) return DASH;
  return `${fps >= 10 ? Math.round(fps) : Math.round(fps * 10) / 10} fps`;
}

export function formatBitrate(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return DASH;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1)} Mbit/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

// "3 min ago" style for a past instant, relative to now (ms).
export function ago(iso: string | null | undefined, now: number): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return DASH;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// What a probe's reason means to the person adding the camera.
export function probeReasonText(reason: string | undefined): string {
  switch (reason) {
    case 'auth_failed': return 'Authentication failed: check the user name and password in the URL.';
    case 'unreachable': return 'Unreachable: nothing answers at that host and port.';
    case 'timeout': return 'Timed out: the camera did not answer in time.';
    case 'not_rtsp': return 'Not an RTSP server at that address.';
    case 'not_found': return 'Not found: the camera has no stream at that path.';
    case 'unsupported': return 'Unsupported stream: Horus records H.264 and H.265 video.';
    case 'closed': return 'The camera closed the connection.';
    default: return 'The probe failed.';
  }
}

// True when the URL carries the API's masked password ("user:***@host").
export function hasMaskedPassword(url: string): boolean {
  return /^[a-z]+:\/\/[^/@]*:\*\*\*@/i.test(url.trim());
}

// The URL to display: the API already masks the password; this also hides
// any password in a URL the user typed (shown back by a probe, say).
export function maskUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/:@]*):[^/@]*@/i, '$1:***@');
}

export interface CameraForm {
  id: string;
  name: string;
  url: string;
  sub_url: string;
  enabled: boolean;
  record_enabled: boolean;
  segment_seconds: string;
  retention_days: string;
  max_gib: string; // max_bytes in GiB, "" or "0" = no cap
  groups: string;  // comma or space separated
}

export function emptyForm(): CameraForm {
  return { id: '', name: '', url: '', sub_url: '', enabled: true, record_enabled: true,
           segment_seconds: '60', retention_days: '14', max_gib: '', groups: '' };
}

export function formFromCamera(c: Camera): CameraForm {
  return {
    id: c.id, name: c.name, url: c.url, sub_url: c.sub_url, enabled: c.enabled,
    record_enabled: c.record.enabled,
    segment_seconds: String(c.record.segment_seconds),
    retention_days: String(c.record.retention_days),
    max_gib: c.record.max_bytes ? String(Math.round((c.record.max_bytes / 2 ** 30) * 1000) / 1000) : '',
    groups: c.groups.join(', '),
  };
}

// An id suggested from a name: "Front door #2" → "front-door-2".
export function slugify(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').replace(/-{2,}/g, '-').slice(0, 64).replace(/-+$/, '');
}

export function parseGroups(s: string): string[] {
  return [...new Set(s.split(/[\s,]+/).map((g) => g.trim().toLowerCase()).filter(Boolean))].sort();
}

// A problem found before sending: [field, reason] in the API's field names.
export type LocalError = [string, string];

function intField(v: string, field: string, min: number, max: number): number | LocalError {
  const t = v.trim();
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) return [field, `must be an integer ${min}..${max}`];
  return Number(t);
}

export interface CameraBody {
  id?: string;
  name?: string;
  url?: string;
  sub_url?: string;
  enabled?: boolean;
  record?: { enabled?: boolean; segment_seconds?: number; retention_days?: number; max_bytes?: number };
  groups?: string[];
}

// The full body of a new camera, or the first problem with the form.
export function createBody(f: CameraForm): CameraBody | LocalError {
  const r = recordOf(f);
  if (Array.isArray(r)) return r;
  const body: CameraBody = { id: f.id.trim(), name: f.name.trim(), url: f.url.trim(), enabled: f.enabled, record: r,
                             groups: parseGroups(f.groups) };
  if (f.sub_url.trim()) body.sub_url = f.sub_url.trim();
  return body;
}

function recordOf(f: CameraForm): NonNullable<CameraBody['record']> | LocalError {
  const seg = intField(f.segment_seconds, 'record.segment_seconds', 2, 3600);
  if (Array.isArray(seg)) return seg;
  const ret = intField(f.retention_days, 'record.retention_days', 1, 3650);
  if (Array.isArray(ret)) return ret;
  let max = 0;
  const g = f.max_gib.trim();
  if (g) {
    const n = Number(g);
    if (!Number.isFinite(n) || n < 0) return ['record.max_bytes', 'must be a number of GiB, 0 or empty for no cap'];
    max = Math.round(n * 2 ** 30);
  }
  return { enabled: f.record_enabled, segment_seconds: seg, retention_days: ret, max_bytes: max };
}

// The PATCH of an edit: only the fields that differ from the camera as read.
// A URL the user did not touch is not sent (the server keeps its password);
// one edited around a masked password would store "***", so it is refused.
export function patchBody(before: Camera, f: CameraForm): CameraBody | LocalError {
  const orig = formFromCamera(before);
  const body: CameraBody = {};
  if (f.name.trim() !== orig.name) body.name = f.name.trim();
  for (const key of ['url', 'sub_url'] as const) {
    const v = f[key].trim();
    if (v === orig[key]) continue;
    if (hasMaskedPassword(v)) {
      return [key, 'retype the password: "***" only stands for the stored one while the URL is unchanged'];
    }
    body[key] = v;
  }
  if (f.enabled !== orig.enabled) body.enabled = f.enabled;
  const r = recordOf(f);
  if (Array.isArray(r)) return r;
  const rec: NonNullable<CameraBody['record']> = {};
  if (r.enabled !== before.record.enabled) rec.enabled = r.enabled;
  if (r.segment_seconds !== before.record.segment_seconds) rec.segment_seconds = r.segment_seconds;
  if (r.retention_days !== before.record.retention_days) rec.retention_days = r.retention_days;
  if (f.max_gib.trim() !== orig.max_gib && r.max_bytes !== before.record.max_bytes) rec.max_bytes = r.max_bytes;
  if (Object.keys(rec).length) body.record = rec;
  const groups = parseGroups(f.groups);
  if (groups.join(',') !== [...before.groups].sort().join(',')) body.groups = groups;
  return body;
}

export function isLocalError(x: unknown): x is LocalError {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === 'string';
}
