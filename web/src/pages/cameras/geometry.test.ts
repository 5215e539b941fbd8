import { describe, expect, it } from 'vitest';
import type { Point } from '../../lib/types';
import {
  errorTarget, formatPoints, hitPoint, lineProblem, nextName, parseLabels, parsePoints, polygonArea, polygonProblem,
  segmentsIntersect, selfIntersects, toNorm, tripwireArrow,
} from './geometry';

const sq: Point[] = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]];

describe('geometry', () => {
  it('normalises pointer positions and clamps them to the picture', () => {
    const rect = { left: 100, top: 50, width: 400, height: 200 };
    expect(toNorm(300, 150, rect)).toEqual([0.5, 0.5]);
    expect(toNorm(0, 400, rect)).toEqual([0, 1]);
    expect(toNorm(133.33, 50, rect)).toEqual([0.0833, 0]);
  });
  it('finds crossing segments', () => {
    expect(segmentsIntersect([0, 0], [1, 1], [0, 1], [1, 0])).toBe(true);
    expect(segmentsIntersect([0, 0], [1, 0], [0, 1], [1, 1])).toBe(false);
    expect(segmentsIntersect([0, 0], [1, 0], [0.5, 0], [0.5, 1])).toBe(true);
  });
  it('checks polygons like the server', () => {
    expect(polygonArea(sq)).toBeCloseTo(0.16);
    expect(polygonProblem(sq)).toBeNull();
    expect(polygonProblem(sq.slice(0, 2))).toBe('needs at least 3 points');
    const bow: Point[] = [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]];
    expect(selfIntersects(bow)).toBe(true);
    expect(polygonProblem(bow)).toBe('crosses itself');
    expect(polygonProblem([[0, 0], [0.5, 0.5], [1, 1]])).toBe('has no area');
    expect(polygonProblem([[0, 0], [0, 0], [1, 1]])).toBe('point 1 repeats the next one');
    expect(selfIntersects(sq)).toBe(false);
  });
  it('checks lines', () => {
    expect(lineProblem([[0, 0], [1, 1]])).toBeNull();
    expect(lineProblem([[0.2, 0.2], [0.2, 0.2]])).toBe('the two points must differ');
    expect(lineProblem([[0.2, 0.2]])).toBe('needs exactly 2 points');
  });
  it('points the tripwire arrow to side B (right of p0→p1 on the screen)', () => {
    // Left to right: A is above (left of the direction), B below: the arrow points down.
    const a = tripwireArrow([0.2, 0.5], [0.8, 0.5], 100, 100, 10)!;
    expect(a.from).toEqual([50, 50]);
    expect(a.to[0]).toBeCloseTo(50);
    expect(a.to[1]).toBeCloseTo(60);
    // Top to bottom: B is on the left of the screen.
    const b = tripwireArrow([0.5, 0.1], [0.5, 0.9], 100, 100, 10)!;
    expect(b.to[0]).toBeCloseTo(40);
    expect(tripwireArrow([0.5, 0.5], [0.5, 0.5], 100, 100, 10)).toBeNull();
  });
  it('hits the nearest point within the radius', () => {
    expect(hitPoint(sq, [0.51, 0.49], 100, 100, 3)).toBe(2);
    expect(hitPoint(sq, [0.3, 0.3], 100, 100, 3)).toBe(-1);
  });
  it('parses and formats coordinates', () => {
    expect(formatPoints([[0.1, 0.23456]])).toBe('0.1,0.2346');
    expect(parsePoints('0.1,0.2 0.3,0.4; (0.5, 0.6)')).toEqual([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]);
    expect(parsePoints('0.1,0.2 x')).toMatch(/not x,y/);
    expect(parsePoints('1.5,0.2')).toMatch(/within 0..1/);
    expect(parsePoints(formatPoints(sq))).toEqual(sq);
  });
  it('maps server error fields to shapes', () => {
    expect(errorTarget('zones[1].polygon[3]')).toEqual({ kind: 'zones', index: 1 });
    expect(errorTarget('tripwires[0].line')).toEqual({ kind: 'tripwires', index: 0 });
    expect(errorTarget('motion.masks[2]')).toEqual({ kind: 'masks', index: 2 });
    expect(errorTarget('fps')).toEqual({ field: 'fps' });
    expect(errorTarget(null)).toBeNull();
  });
  it('parses labels and picks free names', () => {
    expect(parseLabels(' person, car ,,person')).toEqual(['person', 'car']);
    expect(nextName('Zone', ['Zone 1', 'Zone 3'])).toBe('Zone 2');
  });
});
