// Pure geometry of the analytics editor: normalised points (0..1, x right,
// y down) from pointer positions, polygon checks the server also makes (so
// a mistake shows while drawing), the A→B arrow of a tripwire, hit tests,
// the coordinates text of the keyboard fallback, and which shape a server
// error ("zones[1].polygon[3]: ...") names.
import type { Point } from '../../lib/types';

export const round4 = (v: number) => Math.round(v * 10000) / 10000;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

// A pointer position over an element's box → a normalised point.
export function toNorm(clientX: number, clientY: number, rect: { left: number; top: number; width: number; height: number }): Point {
  if (rect.width <= 0 || rect.height <= 0) return [0, 0];
  return [round4(clamp01((clientX - rect.left) / rect.width)), round4(clamp01((clientY - rect.top) / rect.height))];
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function onSegment(p: Point, q: Point, r: Point): boolean {
  return Math.min(p[0], r[0]) <= q[0] && q[0] <= Math.max(p[0], r[0]) && Math.min(p[1], r[1]) <= q[1] && q[1] <= Math.max(p[1], r[1]);
}

// Do segments p1-p2 and p3-p4 touch or cross?
export function segmentsIntersect(p1: Point, p2: Point, p3: Point, p4: Point): boolean {
  const d1 = cross(p3, p4, p1);
  const d2 = cross(p3, p4, p2);
  const d3 = cross(p1, p2, p3);
  const d4 = cross(p1, p2, p4);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  if (d1 === 0 && onSegment(p3, p1, p4)) return true;
  if (d2 === 0 && onSegment(p3, p2, p4)) return true;
  if (d3 === 0 && onSegment(p1, p3, p2)) return true;
  if (d4 === 0 && onSegment(p1, p4, p2)) return true;
  return false;
}

export function polygonArea(pts: Point[]): number {
  let a = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    const q = pts[(i + 1) % pts.length];
    a += p[0] * q[1] - q[0] * p[1];
  }
  return Math.abs(a) / 2;
}

export function selfIntersects(pts: Point[]): boolean {
  const n = pts.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // Neighbouring edges share a vertex; skip them (and the first/last pair).
      if (j === i + 1 || (i === 0 && j === n - 1)) continue;
      if (segmentsIntersect(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n])) return true;
    }
  }
  return false;
}

// Why a polygon would be refused, or null when it is fine.
export function polygonProblem(pts: Point[]): string | null {
  if (pts.length < 3) return 'needs at least 3 points';
  if (pts.length > 32) return 'at most 32 points';
  for (let i = 0; i < pts.length; i++) {
    const [x, y] = pts[i];
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return `point ${i + 1} must be within 0..1`;
    const q = pts[(i + 1) % pts.length];
    if (q[0] === x && q[1] === y) return `point ${i + 1} repeats the next one`;
  }
  if (selfIntersects(pts)) return 'crosses itself';
  if (polygonArea(pts) < 1e-9) return 'has no area';
  return null;
}

export function lineProblem(pts: Point[]): string | null {
  if (pts.length !== 2) return 'needs exactly 2 points';
  for (const [x, y] of pts) if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return 'points must be within 0..1';
  if (pts[0][0] === pts[1][0] && pts[0][1] === pts[1][1]) return 'the two points must differ';
  return null;
}

// The arrow that shows a tripwire's A→B direction, in the drawing's own
// units (w × h, so a non-square picture keeps the right angle): from the
// line's middle towards side B. Side A is on the left of p0→p1 as seen on
// the screen (y down), so B is on the right: direction (-dy, dx).
export function tripwireArrow(p0: Point, p1: Point, w: number, h: number, len: number): { from: Point; to: Point; head: [Point, Point] } | null {
  const ax = p0[0] * w, ay = p0[1] * h, bx = p1[0] * w, by = p1[1] * h;
  const dx = bx - ax, dy = by - ay;
  const d = Math.hypot(dx, dy);
  if (d === 0) return null;
  const nx = -dy / d, ny = dx / d;
  const from: Point = [(ax + bx) / 2, (ay + by) / 2];
  const to: Point = [from[0] + nx * len, from[1] + ny * len];
  const hl = len * 0.35;
  // The head: two short strokes back from the tip at ±35°.
  const back: Point = [-nx, -ny];
  const rot = (v: Point, a: number): Point => [v[0] * Math.cos(a) - v[1] * Math.sin(a), v[0] * Math.sin(a) + v[1] * Math.cos(a)];
  const l = rot(back, 0.6), r = rot(back, -0.6);
  return { from, to, head: [[to[0] + l[0] * hl, to[1] + l[1] * hl], [to[0] + r[0] * hl, to[1] + r[1] * hl]] };
}

// The index of the point nearest p within r (in the drawing's units), or -1.
export function hitPoint(pts: Point[], p: Point, w: number, h: number, r: number): number {
  let best = -1;
  let bestD = r;
  pts.forEach((q, i) => {
    const d = Math.hypot((q[0] - p[0]) * w, (q[1] - p[1]) * h);
    if (d <= bestD) {
      best = i;
      bestD = d;
    }
  });
  return best;
}

// "0.1,0.2 0.3,0.4" ⇄ points.
export function formatPoints(pts: Point[]): string {
  return pts.map(([x, y]) => `${round4(x)},${round4(y)}`).join(' ');
}

export function parsePoints(text: string): Point[] | string {
  const parts = text.trim().replace(/\s*,\s*/g, ',').split(/[\s;]+/).filter(Boolean);
  const out: Point[] = [];
  for (const part of parts) {
    const m = /^\(?\s*(-?[0-9]*\.?[0-9]+)\s*,\s*(-?[0-9]*\.?[0-9]+)\s*\)?$/.exec(part);
    if (!m) return `“${part}” is not x,y`;
    const x = Number(m[1]);
    const y = Number(m[2]);
    if (x < 0 || x > 1 || y < 0 || y > 1) return `“${part}”: x and y must be within 0..1`;
    out.push([x, y]);
  }
  return out;
}

export type ShapeKind = 'zones' | 'tripwires' | 'masks';

// Which shape (or top-level field) a server error's field names.
export function errorTarget(field: string | null): { kind: ShapeKind; index: number } | { field: string } | null {
  if (!field) return null;
  const m = /^(zones|tripwires|motion\.masks)\[(\d+)\]/.exec(field);
  if (m) return { kind: m[1] === 'motion.masks' ? 'masks' : (m[1] as ShapeKind), index: Number(m[2]) };
  return { field };
}

export function parseLabels(text: string): string[] {
  return [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
}

// A name not yet used: "Zone 1", "Zone 2", ...
export function nextName(base: string, used: string[]): string {
  for (let i = 1; ; i++) {
    const n = `${base} ${i}`;
    if (!used.includes(n)) return n;
  }
}
