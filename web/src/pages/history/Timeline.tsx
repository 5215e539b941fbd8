// The timeline: recorded spans of each camera drawn on a HiDPI canvas under
// wall-clock ticks, with the playhead, "now", and a selected range. Wheel
// and pinch zoom around the pointer, drag pans, a click or a dragged
// playhead seeks, shift+drag (or range mode) selects. Hovering a recorded
// instant shows a thumbnail of it.
import { createEffect, createSignal, onCleanup, onMount, Show } from 'solid-js';
import { theme } from '../../lib/theme';
import {
  clampSpan, clockLabel, dayLabel, Interval, orderedRange, pixelRuns, spanAt, ticks, timeToX, View, xToTime,
  zoomAround,
} from './timeline';
import { thumbnail } from './thumbs';

export interface Lane {
  camera: string;
  name: string;
  spans: Interval[];
  recording: boolean;
  state: 'loading' | 'ready' | 'error' | 'gone';
}

export interface TimelineProps {
  view: View;
  onView: (v: View) => void;
  lanes: Lane[];
  now: number;
  playhead: number | null;
  onSeek: (t: number) => void;
  selection: Interval | null;
  onSelect: (r: Interval | null) => void;
  rangeMode: boolean;
  tz: string;
  onKeyDown: (e: KeyboardEvent) => void;
  valueText: string;
}

const AXIS_H = 30;
const LANE_H = 22;
const LANE_GAP = 6;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function Timeline(props: TimelineProps) {
  let wrap!: HTMLDivElement;
  let canvas!: HTMLCanvasElement;
  const [width, setWidth] = createSignal(800);
  const [hover, setHover] = createSignal<{ x: number; t: number } | null>(null);
  const [scrub, setScrub] = createSignal<number | null>(null);
  const [thumb, setThumb] = createSignal<{ url: string | null; t: number; loading: boolean } | null>(null);
  let frame = 0;

  const height = () => AXIS_H + Math.max(1, props.lanes.length) * (LANE_H + LANE_GAP) + 4;

  function draw() {
    frame = 0;
    const w = width();
    const h = height();
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const c = {
      bg: cssVar('--bg-2'), line: cssVar('--line'), fg: cssVar('--fg'), fg2: cssVar('--fg-2'),
      accent: cssVar('--accent'), ok: cssVar('--ok'), info: cssVar('--info'), bad: cssVar('--bad'), bg3: cssVar('--bg-3'),
    };
    const v = props.view;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, 0, w, h);

    // The future is shaded: nothing can be recorded there yet.
    const nowX = timeToX(v, w, props.now);
    if (nowX < w) {
      ctx.fillStyle = c.bg3;
      ctx.fillRect(Math.max(0, nowX), 0, w - Math.max(0, nowX), h);
    }

    // Ticks and labels.
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    for (const tk of ticks(v, w, props.tz)) {
      const x = Math.round(timeToX(v, w, tk.t)) + 0.5;
      ctx.strokeStyle = c.line;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, tk.major ? 0 : AXIS_H - 10);
      ctx.lineTo(x, h);
      ctx.stroke();
      ctx.fillStyle = tk.major ? c.fg : c.fg2;
      ctx.font = tk.major ? '600 12px system-ui, sans-serif' : '12px system-ui, sans-serif';
      // A label that would run off the right edge is left out (its tick stays).
      if (x + 4 + ctx.measureText(tk.label).width <= w - 2) ctx.fillText(tk.label, x + 4, 6);
    }

    // One lane per camera.
    props.lanes.forEach((lane, i) => {
      const y = AXIS_H + i * (LANE_H + LANE_GAP);
      ctx.fillStyle = c.bg3;
      ctx.fillRect(0, y, w, LANE_H);
      ctx.fillStyle = lane.state === 'error' || lane.state === 'gone' ? c.bad : c.ok;
      for (const [x0, x1] of pixelRuns(lane.spans, v, w)) ctx.fillRect(x0, y + 3, x1 - x0, LANE_H - 6);
      if (props.lanes.length > 1) {
        ctx.fillStyle = c.fg;
        ctx.font = '11px system-ui, sans-serif';
        ctx.textBaseline = 'middle';
        ctx.fillText(lane.name, 4, y + LANE_H / 2);
        ctx.textBaseline = 'top';
      }
    });

    // The selected range.
    const sel = props.selection;
    if (sel) {
      const x0 = timeToX(v, w, sel.start);
      const x1 = timeToX(v, w, sel.end);
      ctx.fillStyle = c.info;
      ctx.globalAlpha = 0.25;
      ctx.fillRect(x0, AXIS_H - 4, x1 - x0, h - AXIS_H + 4);
      ctx.globalAlpha = 1;
      ctx.strokeStyle = c.info;
      ctx.lineWidth = 2;
      ctx.strokeRect(x0, AXIS_H - 4, x1 - x0, h - AXIS_H + 2);
    }

    // Now.
    if (nowX >= 0 && nowX <= w) {
      ctx.strokeStyle = c.fg2;
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(nowX, AXIS_H - 6);
      ctx.lineTo(nowX, h);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    // Hover line.
    const hv = hover();
    if (hv) {
      ctx.strokeStyle = c.fg2;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(hv.x + 0.5, AXIS_H - 6);
      ctx.lineTo(hv.x + 0.5, h);
      ctx.stroke();
    }

    // The playhead, with a handle on the axis to grab.
    const ph = scrub() ?? props.playhead;
    if (ph !== null) {
      const x = timeToX(v, w, ph);
      if (x >= -8 && x <= w + 8) {
        ctx.strokeStyle = c.accent;
        ctx.fillStyle = c.accent;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, AXIS_H - 8);
        ctx.lineTo(x, h);
        ctx.stroke();
        ctx.beginPath();
        ctx.moveTo(x - 6, AXIS_H - 14);
        ctx.lineTo(x + 6, AXIS_H - 14);
        ctx.lineTo(x, AXIS_H - 6);
        ctx.closePath();
        ctx.fill();
      }
    }
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  // Redraw whenever anything drawn changes (the theme too: colours are CSS variables).
  createEffect(() => {
    void [props.view, props.lanes, props.now, props.playhead, props.selection, hover(), scrub(), width(), theme()];
    props.lanes.forEach((l) => void [l.spans, l.state]);
    schedule();
  });

  // --- pointer input ---------------------------------------------------------
  const pointers = new Map<number, number>();
  type Gesture =
    | { kind: 'pending' | 'pan'; x0: number; view0: View }
    | { kind: 'scrub' }
    | { kind: 'select'; t0: number }
    | { kind: 'pinch'; d0: number; anchor: number; span0: number };
  let gesture: Gesture | null = null;

  const localX = (e: PointerEvent | WheelEvent) => e.clientX - canvas.getBoundingClientRect().left;
  const timeAt = (x: number) => xToTime(props.view, width(), x);

  function pinchState(): { d: number; c: number } {
    const xs = [...pointers.values()];
    return { d: Math.max(1, Math.abs(xs[0] - xs[1])), c: (xs[0] + xs[1]) / 2 };
  }

  function onPointerDown(e: PointerEvent) {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, localX(e));
    wrap.focus({ preventScroll: true });
    if (pointers.size === 2) {
      const { d, c } = pinchState();
      gesture = { kind: 'pinch', d0: d, anchor: timeAt(c), span0: props.view.span };
      return;
    }
    if (pointers.size > 2) return;
    const x = localX(e);
    const ph = props.playhead;
    if (e.shiftKey || props.rangeMode) {
      const t0 = timeAt(x);
      gesture = { kind: 'select', t0 };
      props.onSelect({ start: t0, end: t0 });
    } else if (ph !== null && Math.abs(timeToX(props.view, width(), ph) - x) <= 8) {
      gesture = { kind: 'scrub' };
      setScrub(timeAt(x));
    } else {
      gesture = { kind: 'pending', x0: x, view0: props.view };
    }
  }

  function onPointerMove(e: PointerEvent) {
    const x = localX(e);
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, x);
    if (!gesture) {
      if (e.pointerType === 'mouse') hoverAt(x);
      return;
    }
    const w = width();
    switch (gesture.kind) {
      case 'pinch': {
        if (pointers.size < 2) return;
        const { d, c } = pinchState();
        const span = clampSpan(gesture.span0 * (gesture.d0 / d));
        props.onView({ start: gesture.anchor - (c / w) * span, span });
        break;
      }
      case 'pending':
      case 'pan':
        if (gesture.kind === 'pending' && Math.abs(x - gesture.x0) < 4) return;
        gesture.kind = 'pan';
        props.onView({ start: gesture.view0.start - ((x - gesture.x0) / w) * gesture.view0.span, span: gesture.view0.span });
        break;
      case 'scrub':
        setScrub(timeAt(x));
        hoverAt(x);
        break;
      case 'select':
        props.onSelect(orderedRange(gesture.t0, timeAt(x)));
        break;
    }
  }

  function onPointerUp(e: PointerEvent) {
    const x = localX(e);
    pointers.delete(e.pointerId);
    const g = gesture;
    if (pointers.size > 0) {
      // One finger of a pinch lifted: the other one pans from here.
      if (g?.kind === 'pinch') {
        const [rest] = [...pointers.values()];
        gesture = { kind: 'pan', x0: rest, view0: props.view };
      }
      return;
    }
    gesture = null;
    if (!g || e.type === 'pointercancel') {
      setScrub(null);
      return;
    }
    if (g.kind === 'pending') props.onSeek(timeAt(x));
    else if (g.kind === 'scrub') {
      setScrub(null);
      props.onSeek(timeAt(x));
    } else if (g.kind === 'select') {
      const r = orderedRange(g.t0, timeAt(x));
      props.onSelect(r.end - r.start >= 1000 ? r : null);
    }
  }

  function onWheel(e: WheelEvent) {
    e.preventDefault();
    const scale = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const dy = e.deltaY * scale;
    const dx = e.deltaX * scale;
    if (Math.abs(dx) > Math.abs(dy)) {
      const v = props.view;
      props.onView({ start: v.start + (dx / width()) * v.span, span: v.span });
      return;
    }
    props.onView(zoomAround(props.view, width(), localX(e), Math.exp(dy * 0.0015)));
  }

  // --- hover thumbnail ---------------------------------------------------------
  let hoverTimer = 0;
  function hoverAt(x: number) {
    const t = timeAt(x);
    setHover({ x, t });
    clearTimeout(hoverTimer);
    const lane = props.lanes[0];
    if (!lane || !spanAt(lane.spans, t) || t > props.now - 1000) {
      setThumb(null);
      return;
    }
    // The cache key is the instant rounded to a screen pixel (at least a second).
    const quantum = Math.max(1000, props.view.span / width());
    const q = Math.round(t / quantum) * quantum;
    setThumb((cur) => ({ url: cur?.url ?? null, t: q, loading: true }));
    hoverTimer = window.setTimeout(async () => {
      const url = await thumbnail(lane.camera, q);
      if (hover() && Math.abs((thumb()?.t ?? 0) - q) < 1) setThumb({ url, t: q, loading: false });
    }, 150);
  }

  function onLeave() {
    if (!gesture) {
      setHover(null);
      setThumb(null);
      clearTimeout(hoverTimer);
    }
  }

  onMount(() => {
    const ro = new ResizeObserver(() => setWidth(Math.max(100, wrap.clientWidth)));
    ro.observe(wrap);
    setWidth(Math.max(100, wrap.clientWidth));
    canvas.addEventListener('wheel', onWheel, { passive: false });
    onCleanup(() => {
      ro.disconnect();
      canvas.removeEventListener('wheel', onWheel);
      cancelAnimationFrame(frame);
      clearTimeout(hoverTimer);
    });
  });

  const tipLeft = () => {
    const hv = hover();
    if (!hv) return 0;
    return Math.min(Math.max(0, hv.x - 88), width() - 176);
  };

  return (
    <div class="tl-wrap" ref={wrap} tabindex="0" role="slider" aria-label="Timeline"
         aria-valuemin={Math.floor(props.view.start)} aria-valuemax={Math.floor(props.view.start + props.view.span)}
         aria-valuenow={props.playhead === null ? undefined : Math.floor(props.playhead)}
         aria-valuetext={props.valueText} aria-describedby="tl-help-hint"
         data-view-start={Math.floor(props.view.start)} data-view-span={Math.floor(props.view.span)}
         onKeyDown={(e) => props.onKeyDown(e)}>
      <canvas ref={canvas} class="tl-canvas" classList={{ 'range-mode': props.rangeMode }}
              style={{ height: `${height()}px` }} aria-hidden="true"
              onPointerDown={onPointerDown} onPointerMove={onPointerMove}
              onPointerUp={onPointerUp} onPointerCancel={onPointerUp} onPointerLeave={onLeave} />
      <Show when={hover()}>
        {(hv) => (
          <div class="tl-tip" style={{ left: `${tipLeft()}px` }} aria-hidden="true">
            <Show when={thumb()}>
              {(th) => (
                <div class="tl-thumb" classList={{ loading: th().loading }}>
                  <Show when={th().url} fallback={<span class="muted">…</span>}>
                    <img src={th().url!} alt="" width="160" height="90" data-testid="hover-thumb" />
                  </Show>
                </div>
              )}
            </Show>
            <span class="tl-tip-time">{dayLabel(hv().t, props.tz)} {clockLabel(hv().t, props.tz, true)}</span>
          </div>
        )}
      </Show>
      <Show when={props.lanes.some((l) => l.state === 'loading')}>
        <span class="tl-loading" aria-hidden="true" />
      </Show>
    </div>
  );
}
