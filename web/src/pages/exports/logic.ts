// Pure helpers of the Exports page: the job type, how often to poll, and
// how a job's range, length and progress read.
export type ExportState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface ExportJob {
  id: string;
  camera: string;
  stream: 'main' | 'sub';
  start: string;
  end: string;
  state: ExportState;
  progress: number;
  size_bytes: number;
  duration_s: number;
  sha256: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  file_url: string | null;
  tenant?: string;
}

export interface ExportList {
  items: ExportJob[];
  next_cursor: string | null;
}

export function isActive(e: ExportJob): boolean {
  return e.state === 'queued' || e.state === 'running';
}

// Fast while a job is queued or running, slowly otherwise (new jobs come
// from the History page or other users).
export function pollInterval(items: ExportJob[] | undefined): number {
  return items && items.some(isActive) ? 1000 : 10000;
}

export function stateTone(s: ExportState): 'ok' | 'warn' | 'bad' | '' {
  return s === 'done' ? 'ok' : s === 'failed' ? 'bad' : s === 'cancelled' ? '' : 'warn';
}

export function percent(p: number): number {
  if (!Number.isFinite(p)) return 0;
  return Math.max(0, Math.min(100, Math.round(p * 100)));
}

// "1 h 2 min 3 s", "45 s", "2.5 s".
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 10 && s % 1) return `${s.toFixed(1)} s`;
  let r = Math.round(s);
  const h = Math.floor(r / 3600);
  r -= h * 3600;
  const m = Math.floor(r / 60);
  r -= m * 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (r || !parts.length) parts.push(`${r} s`);
  return parts.join(' ');
}

// The requested range as "Mar 3, 14:02:10 – 14:05:00" (the end's date only
// when it differs), and its length.
export function formatRange(start: string, end: string, locale?: string): string {
  const a = new Date(start);
  const b = new Date(end);
  if (Number.isNaN(a.getTime()) || Number.isNaN(b.getTime())) return `${start} – ${end}`;
  const day: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric' };
  const time: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  const sameDay = a.toDateString() === b.toDateString();
  const left = a.toLocaleString(locale, { ...day, ...time });
  const right = sameDay ? b.toLocaleTimeString(locale, time) : b.toLocaleString(locale, { ...day, ...time });
  return `${left} – ${right}`;
}

export function rangeSeconds(start: string, end: string): number {
  return (Date.parse(end) - Date.parse(start)) / 1000;
}

// Older pages the user loaded stay below the polled first page.
export function mergePages(first: ExportJob[], older: ExportJob[]): ExportJob[] {
  const seen = new Set(first.map((e) => e.id));
  return [...first, ...older.filter((e) => !seen.has(e.id))];
}
