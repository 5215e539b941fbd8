import { describe, expect, it } from 'vitest';
import {
  centredOn, clampSpan, dateKey, dayLabel, dayStart, DAY, fromWall, HOUR, MAX_SPAN, mergeSpans, MIN_SPAN,
  MINUTE, nextDay, nextSpanStart, offsetParam, pixelRuns, playableFrom, prevSpanStart, SECOND, spanAt,
  startOfDay, tickStep, ticks, timeToX, tzOffset, xToTime, zoomAround,
} from './timeline';

const utc = (s: string) => Date.parse(s);

describe('pixel <-> time', () => {
  const view = { start: utc('2026-03-04T10:00:00Z'), span: HOUR };
  it('maps the edges and the middle', () => {
    expect(timeToX(view, 1200, view.start)).toBe(0);
    expect(timeToX(view, 1200, view.start + HOUR)).toBe(1200);
    expect(timeToX(view, 1200, view.start + 30 * MINUTE)).toBe(600);
    expect(xToTime(view, 1200, 600)).toBe(view.start + 30 * MINUTE);
  });
  it('round-trips', () => {
    for (const x of [0, 1, 333.5, 1199]) expect(timeToX(view, 1200, xToTime(view, 1200, x))).toBeCloseTo(x, 6);
  });
});

describe('zoom', () => {
  const view = { start: utc('2026-03-04T10:00:00Z'), span: HOUR };
  it('keeps the instant under the pointer in place', () => {
    const anchor = xToTime(view, 1000, 250);
    const z = zoomAround(view, 1000, 250, 0.5);
    expect(z.span).toBe(30 * MINUTE);
    expect(xToTime(z, 1000, 250)).toBeCloseTo(anchor, 3);
  });
  it('clamps to 5 minutes and 7 days, still around the pointer', () => {
    const zin = zoomAround(view, 1000, 800, 0.001);
    expect(zin.span).toBe(MIN_SPAN);
    expect(xToTime(zin, 1000, 800)).toBeCloseTo(xToTime(view, 1000, 800), 3);
    const zout = zoomAround(view, 1000, 100, 1e6);
    expect(zout.span).toBe(MAX_SPAN);
    expect(xToTime(zout, 1000, 100)).toBeCloseTo(xToTime(view, 1000, 100), 3);
    expect(clampSpan(NaN)).toBe(MAX_SPAN);
    expect(centredOn(0, 1).span).toBe(MIN_SPAN);
  });
});

describe('tick steps', () => {
  it('grow with the span so labels keep apart', () => {
    expect(tickStep(5 * MINUTE, 1200)).toBe(30 * SECOND);
    expect(tickStep(HOUR, 1200)).toBe(5 * MINUTE);
    expect(tickStep(DAY, 1200)).toBe(2 * HOUR);
    expect(tickStep(7 * DAY, 1200)).toBe(12 * HOUR);
    expect(tickStep(7 * DAY, 500)).toBe(DAY);
    expect(tickStep(7 * DAY, 390)).toBe(2 * DAY);
    expect(tickStep(5 * MINUTE, 390)).toBe(MINUTE);
  });
  it('never closer than the minimum, at every zoom', () => {
    for (let span = MIN_SPAN; span <= MAX_SPAN; span *= 1.7) {
      const s = tickStep(span, 800);
      expect((s / span) * 800).toBeGreaterThanOrEqual(70);
    }
  });
});

describe('time zones', () => {
  it('offsets across the New York DST change', () => {
    expect(tzOffset(utc('2026-03-08T06:00:00Z'), 'America/New_York')).toBe(-5 * HOUR);
    expect(tzOffset(utc('2026-03-08T08:00:00Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(tzOffset(utc('2026-03-08T08:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
    expect(tzOffset(utc('2026-03-08T08:00:00Z'), 'UTC')).toBe(0);
    expect(offsetParam(utc('2026-03-08T08:00:00Z'), 'America/New_York')).toBe('-04:00');
    expect(offsetParam(utc('2026-03-08T08:00:00Z'), 'Asia/Kolkata')).toBe('+05:30');
    expect(offsetParam(utc('2026-03-08T08:00:00Z'), 'UTC')).toBe('Z');
  });
  it('day boundaries: 23 and 25 hour days in New York', () => {
    const tz = 'America/New_York';
    const spring = startOfDay(utc('2026-03-08T12:00:00Z'), tz);
    expect(spring).toBe(utc('2026-03-08T05:00:00Z'));
    expect(nextDay(spring, tz) - spring).toBe(23 * HOUR);
    const fall = dayStart('2026-11-01', tz);
    expect(fall).toBe(utc('2026-11-01T04:00:00Z'));
    expect(nextDay(fall, tz) - fall).toBe(25 * HOUR);
    expect(dateKey(utc('2026-03-09T03:59:00Z'), tz)).toBe('2026-03-08');
    expect(dateKey(utc('2026-03-09T04:00:00Z'), tz)).toBe('2026-03-09');
  });
  it('day boundaries in Kolkata and UTC', () => {
    expect(startOfDay(utc('2026-03-04T20:00:00Z'), 'Asia/Kolkata')).toBe(utc('2026-03-04T18:30:00Z'));
    expect(dateKey(utc('2026-03-04T18:29:59Z'), 'Asia/Kolkata')).toBe('2026-03-04');
    expect(dateKey(utc('2026-03-04T18:30:00Z'), 'Asia/Kolkata')).toBe('2026-03-05');
    expect(startOfDay(utc('2026-03-04T23:59:59Z'), 'UTC')).toBe(utc('2026-03-04T00:00:00Z'));
    expect(dayLabel(utc('2026-03-04T18:30:00Z'), 'Asia/Kolkata')).toBe('Thu 5 Mar');
    expect(dayLabel(utc('2026-03-04T18:30:00Z'), 'UTC')).toBe('Wed 4 Mar');
  });
  it('wall times that are skipped or repeated', () => {
    const tz = 'America/New_York';
    // 02:30 does not exist on 8 March: it moves forward by the jump.
    expect(fromWall({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, tz)).toBe(utc('2026-03-08T07:30:00Z'));
    // 01:30 happens twice on 1 November: the first pass (EDT).
    expect(fromWall({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, tz)).toBe(utc('2026-11-01T05:30:00Z'));
  });
});

describe('ticks', () => {
  it('stay on the hour across the spring-forward change', () => {
    const tz = 'America/New_York';
    const day = startOfDay(utc('2026-03-08T12:00:00Z'), tz);
    const ts = ticks({ start: day, span: 23 * HOUR - 1 }, 1200, tz);
    const labels = ts.map((t) => t.label);
    expect(labels[0]).toBe('Sun 8 Mar');
    expect(ts[0].major).toBe(true);
    expect(labels).toContain('04:00');
    expect(labels).not.toContain('02:00'); // skipped
    for (const t of ts.slice(1)) expect(t.label).toMatch(/^\d\d:00$/);
  });
  it('label a day boundary in Kolkata with its date', () => {
    const tz = 'Asia/Kolkata';
    const ts = ticks({ start: utc('2026-03-04T17:00:00Z'), span: 4 * HOUR }, 1200, tz);
    const major = ts.filter((t) => t.major);
    expect(major).toHaveLength(1);
    expect(major[0].t).toBe(utc('2026-03-04T18:30:00Z'));
    expect(major[0].label).toBe('Thu 5 Mar');
    expect(ts.find((t) => !t.major)!.label).toMatch(/^\d\d:\d\d$/);
  });
  it('show seconds at the closest zoom and dates at the widest', () => {
    const t0 = utc('2026-03-04T10:00:00Z');
    const close = ticks({ start: t0, span: 5 * MINUTE }, 1200, 'UTC');
    expect(close[0].label).toBe('10:00:00');
    expect(close[1].label).toBe('10:00:30');
    const wide = ticks({ start: t0, span: 7 * DAY }, 500, 'UTC');
    expect(wide.map((t) => t.label)).toEqual(['Thu 5 Mar', 'Fri 6 Mar', 'Sat 7 Mar', 'Sun 8 Mar', 'Mon 9 Mar', 'Tue 10 Mar', 'Wed 11 Mar']);
  });
  it('are few at any zoom', () => {
    for (let span = MIN_SPAN; span <= MAX_SPAN; span *= 2) {
      const ts = ticks({ start: utc('2026-03-01T00:00:00Z'), span }, 1000, 'America/New_York');
      expect(ts.length).toBeLessThanOrEqual(16);
      expect(ts.length).toBeGreaterThan(0);
    }
  });
});

describe('spans and gaps', () => {
  const spans = [
    { start: 1000, end: 5000 },
    { start: 9000, end: 12000 },
    { start: 20000, end: 30000 },
  ];
  it('merges overlapping and touching spans, in order', () => {
    expect(mergeSpans([{ start: 9, end: 12 }, { start: 1, end: 5 }, { start: 4, end: 8 }, { start: 12, end: 13 }]))
      .toEqual([{ start: 1, end: 8 }, { start: 9, end: 13 }]);
    expect(mergeSpans([{ start: 0, end: 10 }, { start: 50, end: 60 }], 100)).toEqual([{ start: 0, end: 60 }]);
    expect(mergeSpans([{ start: 5, end: 5 }])).toEqual([]);
  });
  it('finds the span at an instant', () => {
    expect(spanAt(spans, 1000)).toEqual(spans[0]);
    expect(spanAt(spans, 5000)).toBeNull();
    expect(spanAt(spans, 25000)).toEqual(spans[2]);
    expect(spanAt([], 1)).toBeNull();
  });
  it('jumps over gaps both ways', () => {
    expect(nextSpanStart(spans, 2000)).toBe(9000);
    expect(nextSpanStart(spans, 6000)).toBe(9000);
    expect(nextSpanStart(spans, 25000)).toBeNull();
    expect(prevSpanStart(spans, 25000)).toBe(20000);
    expect(prevSpanStart(spans, 20500)).toBe(9000); // within the slack: keep going back
    expect(prevSpanStart(spans, 1500)).toBeNull();
  });
  it('plays a gap from the next recording', () => {
    expect(playableFrom(spans, 3000)).toBe(3000);
    expect(playableFrom(spans, 6000)).toBe(9000);
    expect(playableFrom(spans, 31000)).toBeNull();
  });
  it('draws a week of 4 s segments in at most one run per pixel', () => {
    const many = [];
    for (let t = 0; t < 7 * DAY; t += 4 * SECOND) many.push({ start: t, end: t + 3 * SECOND });
    const runs = pixelRuns(many, { start: 0, span: 7 * DAY }, 800);
    expect(runs.length).toBe(1);
    const zoomed = pixelRuns(many, { start: 0, span: 5 * MINUTE }, 800);
    expect(zoomed.length).toBe(76); // 75 inside, and the one starting at the right edge
  });
});
