// Pure helpers of the admin and account pages: sizes, durations, times,
// camera grants and secrets put into words people read.
export type Grant = string[] | '*';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// 1536 → "1.5 KiB"; one decimal below 10 of a unit, none above.
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n < 0) return '—';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v).toString()} ${UNITS[i]}`;
}

// A forecast in days: "3.5 days" below ten, "12 days" above.
export function formatDays(days: number | null | undefined): string {
  if (days === null || days === undefined || !Number.isFinite(days) || days < 0) return '—';
  if (days === 1) return '1 day';
  return days < 10 ? `${days.toFixed(1)} days` : `${Math.round(days)} days`;
}

// 93784 → "1 d 2 h"; the two largest units that matter.
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return sec > 0 ? `${m} min ${sec} s` : `${m} min`;
  return `${sec} s`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

// An RFC 3339 time as "2026-12-02 16:04:05" in the browser's time zone.
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// "3 min ago", "in 2 d", "just now".
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const diff = Math.round((t - now) / 1000);
  const abs = Math.abs(diff);
  if (abs < 45) return 'just now';
  let text: string;
  if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

// A camera grant in a few words: "All cameras", "door, lobby", "3 cameras, 1 group".
export function grantLabel(g: Grant | null | undefined): string {
  if (g === '*') return 'All cameras';
  if (!g || g.length === 0) return 'No cameras';
  if (g.length <= 3) return g.map((x) => (x.startsWith('group:') ? `${x.slice(6)} (group)` : x)).join(', ');
  const groups = g.filter((x) => x.startsWith('group:')).length;
  const cams = g.length - groups;
  const parts: string[] = [];
  if (cams) parts.push(`${cams} camera${cams === 1 ? '' : 's'}`);
  if (groups) parts.push(`${groups} group${groups === 1 ? '' : 's'}`);
  return parts.join(', ');
}

// Adds or removes one entry of a chosen grant, keeping it sorted and unique.
export function toggleGrant(g: string[], entry: string, on: boolean): string[] {
  const s = new Set(g);
  if (on) s.add(entry);
  else s.delete(entry);
  return [...s].sort();
}

// The groups the cameras carry, sorted and unique.
export function groupsOf(cameras: { groups?: string[] }[]): string[] {
  const s = new Set<string>();
  for (const c of cameras) for (const g of c.groups || []) s.add(g);
  return [...s].sort();
}

// A base32 secret in groups of four for typing it by hand: "ABCD EFGH IJ".
export function groupSecret(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) || []).join(' ');
}

// The value of an <input type="datetime-local"> ("2026-12-02T16:04") as an
// RFC 3339 UTC time, or null when empty; undefined when it is not a time.
export function localInputToIso(v: string): string | null | undefined {
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return undefined;
  return d.toISOString();
}

// The secret of an otpauth:// URI, or null.
export function otpauthSecret(uri: string): string | null {
  const q = uri.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(uri.slice(q + 1)).get('secret');
}

// An audit entry's details in one line: "role=viewer, cameras=*".
export function detailsText(d: unknown): string {
  if (d === null || d === undefined) return '';
  if (typeof d === 'string') return d;
  if (typeof d !== 'object') return String(d);
  return Object.entries(d as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

// Share of total as a percentage clamped to 0..100 (0 when total is unknown).
export function percent(part: number | null | undefined, total: number | null | undefined): number {
  if (!part || !total || total <= 0) return 0;
  return Math.max(0, Math.min(100, (part / total) * 100));
}

// A user agent in two words: "Chrome on Linux"; the raw string when unknown.
export function agentLabel(ua: string | null | undefined): string {
  if (!ua) return 'Unknown';
  const browser = /Edg\//.test(ua) ? 'Edge'
    : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari'
    : /curl\//.test(ua) ? 'curl'
    : /python/i.test(ua) ? 'Python'
    : null;
  const os = /Android/.test(ua) ? 'Android'
    : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux/.test(ua) ? 'Linux'
    : null;
  if (!browser) return ua.length > 40 ? `${ua.slice(0, 40)}…` : ua;
  return os ? `${browser} on ${os}` : browser;
}
