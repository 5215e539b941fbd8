// The timeline's arithmetic, free of the DOM so Vitest can check it: the
// visible window and pixel <-> time mapping, zoom around a pointer with its
// limits, tick steps that follow the zoom, wall-clock ticks and day
// boundaries in an IANA time zone, span merging and gap search.
//
// Times are Unix milliseconds throughout.

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

// The zoom limits: the visible window spans 5 minutes to 7 days.
export const MIN_SPAN = 5 * MINUTE;
export const MAX_SPAN = 7 * DAY;

export interface View {
  start: number; // ms at the left edge
  span: number; // ms across the width
}

export interface Interval {
  start: number;
  end: number;
}

export function clampSpan(span: number): number {
  if (!Number.isFinite(span)) return MAX_SPAN;
  return Math.min(MAX_SPAN, Math.max(MIN_SPAN, span));
}

export function timeToX(view: View, width: number, t: number): number {
  return ((t - view.start) / view.span) * width;
}

export function xToTime(view: View, width: number, x: number): number {
  return view.start + (x / width) * view.span;
}

// Zooms by factor (< 1 zooms in) keeping the instant under pixel x where it
// is. At a limit the span stops changing, and the anchor still holds.
export function zoomAround(view: View, width: number, x: number, factor: number): View {
  const anchor = xToTime(view, width, x);
  const span = clampSpan(view.span * factor);
  const frac = width > 0 ? x / width : 0.5;
  return { start: anchor - frac * span, span };
}

// A window of span centred on t.
export function centredOn(t: number, span: number): View {
  const s = clampSpan(span);
  return { start: t - s / 2, span: s };
}

// Tick steps from a second to a week; the step chosen is the smallest that
// leaves at least minPx pixels between ticks.
export const STEPS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY,
];

export function tickStep(span: number, width: number, minPx = 70): number {
  for (const s of STEPS) {
    if ((s / span) * width >= minPx) return s;
  }
  return STEPS[STEPS.length - 1];
}

// --- time zones -------------------------------------------------------------

const partsCache = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsCache.set(tz, f);
  }
  return f;
}

export interface WallTime {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
}

// The wall clock in tz at instant t (whole seconds).
export function wallTime(t: number, tz: string): WallTime {
  const p: Record<string, number> = {};
  for (const part of partsFormatter(tz).formatToParts(new Date(t))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

// The zone's offset from UTC at instant t, in ms (e.g. -5 h in New York in winter).
export function tzOffset(t: number, tz: string): number {
  const w = wallTime(t, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const whole = Math.floor(t / SECOND) * SECOND;
  return asUtc - whole;
}

// The instant a wall-clock time in tz happens. A repeated time (clocks set
// back) maps to its first pass; a skipped one (clocks set forward) moves
// forward by the jump, as Temporal's "compatible" does: 02:30 on a New York
// spring-forward day is 03:30 EDT.
export function fromWall(w: { year: number; month: number; day: number; hour?: number; minute?: number; second?: number },
                         tz: string): number {
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour || 0, w.minute || 0, w.second || 0);
  const before = local - tzOffset(local - DAY, tz);
  const after = local - tzOffset(local + DAY, tz);
  const valid = [before, after].filter((c) => c + tzOffset(c, tz) === local);
  if (valid.length) return Math.min(...valid);
  return before;
}

// Midnight (start of the calendar day) in tz of the day holding t.
export function startOfDay(t: number, tz: string): number {
  const w = wallTime(t, tz);
  return fromWall({ year: w.year, month: w.month, day: w.day }, tz);
}

// Midnight of the following day (a day is 23, 24 or 25 hours long).
export function nextDay(t: number, tz: string): number {
  const w = wallTime(t, tz);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
  return fromWall({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }, tz);
}

// "2026-03-08" in tz.
export function dateKey(t: number, tz: string): string {
  const w = wallTime(t, tz);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

// The instant a "YYYY-MM-DD" day starts in tz.
export function dayStart(key: string, tz: string): number {
  const [y, m, d] = key.split('-').map(Number);
  return fromWall({ year: y, month: m, day: d }, tz);
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

// "+05:30" / "-04:00" / "Z": the offset the recordings endpoint takes as tz.
export function offsetParam(t: number, tz: string): string {
  const o = Math.round(tzOffset(t, tz) / MINUTE);
  if (o === 0) return 'Z';
  const a = Math.abs(o);
  return `${o < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

export interface Tick {
  t: number;
  label: string;
  major: boolean; // a day boundary
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function dayLabel(t: number, tz: string): string {
  const w = wallTime(t, tz);
  const wd = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
  return `${WEEKDAYS[wd]} ${w.day} ${MONTHS[w.month - 1]}`;
}

export function clockLabel(t: number, tz: string, seconds: boolean): string {
  const w = wallTime(t, tz);
  return seconds ? `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` : `${pad(w.hour)}:${pad(w.minute)}`;
}

// The ticks inside [view.start, view.start + view.span], on wall-clock
// multiples of step in tz (hours stay on the hour across DST changes); day
// boundaries are major and labelled with the date.
export function ticks(view: View, width: number, tz: string, minPx = 70): Tick[] {
  const step = tickStep(view.span, width, minPx);
  const end = view.start + view.span;
  const out: Tick[] = [];
  if (step >= DAY) {
    const days = Math.round(step / DAY);
    let t = startOfDay(view.start, tz);
    let i = 0;
    for (let guard = 0; t <= end && guard < 500; guard++) {
      if (t >= view.start && i % days === 0) out.push({ t, label: dayLabel(t, tz), major: true });
      t = nextDay(t, tz);
      i++;
    }
    return out;
  }
  // Walk day by day, and inside each day by wall-clock step from its midnight.
  let day = startOfDay(view.start, tz);
  for (let guard = 0; day <= end && guard < 100; guard++) {
    const next = nextDay(day, tz);
    const w = wallTime(day, tz);
    const seen = new Set<number>();
    for (let k = 0; k * step < DAY + HOUR; k++) {
      const ms = k * step;
      let t: number;
      if (step < HOUR) {
        // Sub-hour steps: every real interval of step from the day's start
        // (a DST jump moves the wall clock by whole hours, so they stay aligned).
        t = day + ms;
      } else {
        t = fromWall({ year: w.year, month: w.month, day: w.day, hour: ms / HOUR }, tz);
      }
      if (t >= next) break;
      if (seen.has(t) || t < view.start) continue;
      if (t > end) break;
      seen.add(t);
      const major = t === day;
      out.push({ t, major, label: major ? dayLabel(t, tz) : clockLabel(t, tz, step < MINUTE) });
    }
    day = next;
  }
  return out;
}

// --- spans and gaps ---------------------------------------------------------

// Sorted, with intervals that overlap or lie within tolerance ms of each other joined.
export function mergeSpans(spans: Interval[], tolerance = 0): Interval[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end + tolerance) last.end = Math.max(last.end, s.end);
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

// The spans as pixel runs for drawing: spans closer than one pixel join, so a
// week of short segments draws in about `width` rectangles at most.
export function pixelRuns(spans: Interval[], view: View, width: number): Array<[number, number]> {
  const end = view.start + view.span;
  const runs: Array<[number, number]> = [];
  for (const s of spans) {
    if (s.end < view.start || s.start > end) continue;
    const x0 = Math.max(0, timeToX(view, width, s.start));
    const x1 = Math.min(width, timeToX(view, width, s.end));
    const last = runs[runs.length - 1];
    if (last && x0 - last[1] <= 1) last[1] = Math.max(last[1], x1);
    else runs.push([x0, Math.max(x1, x0 + 2)]); // at least 2 px: a short recording stays visible
  }
  return runs;
}

// Whether t lies in a recorded span.
export function spanAt(spans: Interval[], t: number): Interval | null {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid].end <= t) lo = mid + 1;
    else if (spans[mid].start > t) hi = mid - 1;
    else return spans[mid];
  }
  return null;
}

// Navigation over gaps: where recording resumes after the next gap (the
// first span starting after t), and after the previous one (the last span
// starting before t, less a slack so that pressing it twice keeps going
// back). null when there is none.
export function nextSpanStart(spans: Interval[], t: number): number | null {
  for (const s of spans) {
    if (s.start > t) return s.start;
  }
  return null;
}

export function prevSpanStart(spans: Interval[], t: number, slack = 2 * SECOND): number | null {
  for (let i = spans.length - 1; i >= 0; i--) {
    if (spans[i].start < t - slack) return spans[i].start;
  }
  return null;
}

// Where playback of t should start: t itself when recorded, else the start of
// the next recording; null when nothing is recorded at or after t.
export function playableFrom(spans: Interval[], t: number): number | null {
  if (spanAt(spans, t)) return t;
  return nextSpanStart(spans, t);
}

// A range selection from two instants, in order, at least minLen long.
export function orderedRange(a: number, b: number): Interval {
  return a <= b ? { start: a, end: b } : { start: b, end: a };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / SECOND);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h} h ${pad(m)} min`;
  if (m) return `${m} min ${pad(sec)} s`;
  return `${sec} s`;
}

// The zoom as words for the query string and the screen reader: "5m", "2h", "1d".
export function spanLabel(span: number): string {
  if (span >= DAY && span % DAY === 0) return `${span / DAY} d`;
  if (span >= HOUR && span % HOUR === 0) return `${span / HOUR} h`;
  if (span >= MINUTE) return `${Math.round(span / MINUTE)} min`;
  return `${Math.round(span / SECOND)} s`;
}
