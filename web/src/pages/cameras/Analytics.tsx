// The camera page's analytics: the detection status (state, fps, inference
// time, skipped frames, last error), the analytics document (enable, fps,
// object labels and score) and its shapes — zones, tripwires and motion
// masks drawn on the camera's snapshot with the mouse or touch (click points,
// two for a tripwire, drag to move, a coordinates field per shape for the
// keyboard) — saved with PUT, and the tripwire counters.
import { batch, createEffect, createMemo, createResource, createSignal, For, Index, onCleanup, Show } from 'solid-js';
import { createStore, produce, reconcile, unwrap } from 'solid-js/store';
import { api, ApiError, errorText } from '../../lib/api';
import type { CameraAnalytics, DetectStatus, Point, TripwireCounters } from '../../lib/types';
import { ErrorBox, Spinner } from '../../components/ui';
import {
  errorTarget, formatPoints, hitPoint, lineProblem, nextName, parseLabels, parsePoints, polygonProblem, ShapeKind,
  toNorm, tripwireArrow,
} from './geometry';
import './analytics.css';

const KIND_LABEL: Record<ShapeKind, string> = { zones: 'Zone', tripwires: 'Tripwire', masks: 'Motion mask' };
const W = 1000; // the drawing's width in SVG units; its height follows the picture

interface Sel { kind: ShapeKind; index: number }

export function DetectStatusCard(props: { detect: DetectStatus | null | undefined }) {
  return (
    <div class="card detect-status" aria-labelledby="detect-title">
      <h2 id="detect-title">Detection</h2>
      <Show when={props.detect} fallback={<p class="muted">This camera is not analysed (detection is off on this node, or for this camera).</p>}>
        {(d) => (
          <>
            <dl class="stats">
              <div><dt>State</dt><dd><span class={`badge ${d().state === 'running' ? 'ok' : d().state === 'error' ? 'bad' : 'warn'}`} data-detect-state={d().state}>{d().state}</span></dd></div>
              <div><dt>Stream</dt><dd>{d().stream}</dd></div>
              <div><dt>Analysed</dt><dd>{d().fps.toFixed(1)} fps</dd></div>
              <div><dt>Inference</dt><dd>{d().inference_ms === null ? '—' : `${d().inference_ms!.toFixed(1)} ms`}</dd></div>
              <div><dt>Frames</dt><dd>{d().frames}</dd></div>
              <div><dt>Skipped</dt><dd>{d().skipped_frames}</dd></div>
            </dl>
            <Show when={d().last_error}><p class="last-error"><strong>Last error: </strong>{d().last_error}</p></Show>
          </>
        )}
      </Show>
    </div>
  );
}

function Counters(props: { camera: string; tick: number }) {
  const [counters] = createResource(() => [props.camera, props.tick] as const, async ([cam]) => {
    try {
      return await api.get<TripwireCounters>(`/api/v1/cameras/${encodeURIComponent(cam)}/counters`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  });
  const latest = () => (counters.state === 'errored' ? undefined : counters.latest);
  return (
    <div class="counters">
      <h3>Tripwire counters</h3>
      <Show when={counters.state !== 'errored'} fallback={<p class="form-error">Counters unavailable: {errorText(counters.error)}</p>}>
        <Show when={latest()?.tripwires.length} fallback={<p class="muted small">{latest() === undefined ? 'Loading…' : 'No crossings counted yet.'}</p>}>
          <table class="counter-table">
            <caption class="muted small">Since {new Date(latest()!.since).toLocaleString()}</caption>
            <thead><tr><th scope="col">Tripwire</th><th scope="col">Label</th><th scope="col">A → B</th><th scope="col">B → A</th></tr></thead>
            <tbody>
              <For each={latest()!.tripwires}>
                {(t) => <tr><td>{t.tripwire}</td><td>{t.label}</td><td>{t.a_to_b}</td><td>{t.b_to_a}</td></tr>}
              </For>
            </tbody>
          </table>
        </Show>
      </Show>
    </div>
  );
}

export function AnalyticsEditor(props: { camera: string; streaming: boolean; canEdit: boolean; provisioned?: boolean }) {
  // Cameras declared in horus.yaml take their analytics from there (the PUT answers 409).
  const canEdit = () => props.canEdit && !props.provisioned;
  const url = () => `/api/v1/cameras/${encodeURIComponent(props.camera)}/analytics`;
  const [doc] = createResource(() => props.camera, async () => {
    try {
      return await api.get<CameraAnalytics>(url());
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  });
  const [draft, setDraft] = createStore<CameraAnalytics>({});
  const [loaded, setLoaded] = createSignal(false);
  const [dirty, setDirty] = createSignal(false);
  const [sel, setSel] = createSignal<Sel | null>(null);
  const [drawing, setDrawing] = createSignal(false);
  const [saving, setSaving] = createSignal(false);
  const [saveErr, setSaveErr] = createSignal<unknown>(null);
  const [saved, setSaved] = createSignal(false);
  const [coordErr, setCoordErr] = createSignal<Record<string, string>>({});
  const [aspect, setAspect] = createSignal(9 / 16);
  const [snapFailed, setSnapFailed] = createSignal(false);
  const [tick, setTick] = createSignal(0);
  const timer = setInterval(() => setTick((t) => t + 1), 5000);
  onCleanup(() => clearInterval(timer));
  const H = () => W * aspect();
  const snapUrl = `/api/v1/cameras/${encodeURIComponent(props.camera)}/snapshot.jpg?width=960&_=${Date.now()}`;

  const [base, setBase] = createSignal<CameraAnalytics>({});
  function adopt(d: CameraAnalytics) {
    setBase(d);
    const copy = JSON.parse(JSON.stringify(d)) as CameraAnalytics;
    copy.zones ||= [];
    copy.tripwires ||= [];
    copy.motion ||= {};
    copy.motion.masks ||= [];
    copy.objects ||= {};
    batch(() => {
      setDraft(reconcile(copy));
      setLoaded(true);
      setDirty(false);
    });
  }
  // The first load replaces the draft (then each save's reply does).
  createEffect(() => {
    const d = doc();
    if (d && !loaded()) adopt(d);
  });

  const edit = (fn: (d: CameraAnalytics) => void) => {
    setDraft(produce(fn));
    setDirty(true);
    setSaved(false);
  };

  const points = (s: Sel): Point[] => {
    if (s.kind === 'zones') return draft.zones?.[s.index]?.polygon || [];
    if (s.kind === 'tripwires') return (draft.tripwires?.[s.index]?.line || []) as Point[];
    return draft.motion?.masks?.[s.index] || [];
  };
  const setPoints = (s: Sel, pts: Point[]) => edit((d) => {
    if (s.kind === 'zones') d.zones![s.index].polygon = pts;
    else if (s.kind === 'tripwires') d.tripwires![s.index].line = pts as [Point, Point];
    else d.motion!.masks![s.index] = pts;
  });
  const shapeName = (s: Sel) => (s.kind === 'zones' ? draft.zones![s.index].name : s.kind === 'tripwires' ? draft.tripwires![s.index].name : `Mask ${s.index + 1}`);
  const problem = (s: Sel) => {
    const p = points(s);
    return s.kind === 'tripwires' ? lineProblem(p) : polygonProblem(p);
  };
  const key = (s: Sel) => `${s.kind}[${s.index}]`;
  const isSel = (s: Sel) => sel()?.kind === s.kind && sel()?.index === s.index;

  // The server's error, next to the shape (or field) it names.
  const target = () => (saveErr() instanceof ApiError ? errorTarget((saveErr() as ApiError).field) : null);
  const shapeError = (s: Sel) => {
    const t = target();
    return t && 'kind' in t && t.kind === s.kind && t.index === s.index ? (saveErr() as ApiError).message : null;
  };
  const fieldErr = (f: string) => {
    const t = target();
    return t && 'field' in t && (t.field === f || t.field.startsWith(`${f}[`)) ? (saveErr() as ApiError).message : null;
  };
  const generalErr = () => {
    const e = saveErr();
    if (!e) return null;
    const t = target();
    if (t && 'kind' in t) return null;
    if (t && 'field' in t && ['enabled', 'fps', 'objects.labels', 'objects.min_score'].some((f) => t.field === f || t.field.startsWith(`${f}[`))) return null;
    return errorText(e);
  };

  function add(kind: ShapeKind) {
    let index = 0;
    edit((d) => {
      if (kind === 'zones') {
        d.zones!.push({ name: nextName('Zone', d.zones!.map((z) => z.name)), polygon: [] });
        index = d.zones!.length - 1;
      } else if (kind === 'tripwires') {
        d.tripwires!.push({ name: nextName('Line', d.tripwires!.map((t) => t.name)), line: [] as unknown as [Point, Point] });
        index = d.tripwires!.length - 1;
      } else {
        d.motion!.masks!.push([]);
        index = d.motion!.masks!.length - 1;
      }
    });
    setSel({ kind, index });
    setDrawing(true);
  }

  function removeShape(s: Sel) {
    edit((d) => {
      if (s.kind === 'zones') d.zones!.splice(s.index, 1);
      else if (s.kind === 'tripwires') d.tripwires!.splice(s.index, 1);
      else d.motion!.masks!.splice(s.index, 1);
    });
    setSel(null);
    setDrawing(false);
    setSaveErr(null);
  }

  function finish() {
    setDrawing(false);
  }

  // --- pointer handling on the drawing ---------------------------------------------
  let svg!: SVGSVGElement;
  let drag: { s: Sel; i: number; id: number } | null = null;
  const norm = (e: PointerEvent) => toNorm(e.clientX, e.clientY, svg.getBoundingClientRect());

  function onDown(e: PointerEvent) {
    if (!canEdit() || e.button !== 0) return;
    const p = norm(e);
    const s = sel();
    if (drawing() && s) {
      e.preventDefault();
      const pts = points(s);
      // A click on the first point closes a polygon.
      if (s.kind !== 'tripwires' && pts.length >= 3 && hitPoint([pts[0]], p, W, H(), 14) === 0) {
        finish();
        return;
      }
      setPoints(s, [...pts, p]);
      if (s.kind === 'tripwires' && pts.length + 1 >= 2) finish();
      return;
    }
    if (s) {
      const i = hitPoint(points(s), p, W, H(), 16);
      if (i >= 0) {
        e.preventDefault();
        drag = { s, i, id: e.pointerId };
        svg.setPointerCapture(e.pointerId);
      }
    }
  }
  function onMove(e: PointerEvent) {
    if (!drag || e.pointerId !== drag.id) return;
    const pts = points(drag.s).slice();
    pts[drag.i] = norm(e);
    setPoints(drag.s, pts);
  }
  function onUp(e: PointerEvent) {
    if (drag && e.pointerId === drag.id) {
      drag = null;
      if (svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId);
    }
  }
  function onKey(e: KeyboardEvent) {
    if (!drawing()) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      finish();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      const s = sel();
      if (s && points(s).length === 0) removeShape(s);
      else finish();
    } else if (e.key === 'Backspace' && sel()) {
      e.preventDefault();
      setPoints(sel()!, points(sel()!).slice(0, -1));
    }
  }

  async function save() {
    setSaving(true);
    setSaveErr(null);
    setSaved(false);
    setDrawing(false);
    try {
      const body = unwrap(draft);
      const stored = await api.put<CameraAnalytics>(url(), body);
      adopt(stored);
      setSaved(true);
      setCoordErr({});
    } catch (e) {
      setSaveErr(e);
    } finally {
      setSaving(false);
    }
  }

  // Keyed by "kind:index" strings, so the rows stay put while points move.
  const keys = createMemo(() => [
    ...(draft.zones || []).map((_, i) => `zones:${i}`),
    ...(draft.tripwires || []).map((_, i) => `tripwires:${i}`),
    ...(draft.motion?.masks || []).map((_, i) => `masks:${i}`),
  ], undefined, { equals: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]) });
  const toSel = (k: string): Sel => {
    const [kind, i] = k.split(':');
    return { kind: kind as ShapeKind, index: Number(i) };
  };
  const all = (): Sel[] => keys().map(toSel);
  const svgPts = (pts: Point[]) => pts.map(([x, y]) => `${x * W},${y * H()}`).join(' ');

  return (
    <div class="card analytics" aria-labelledby="analytics-title">
      <h2 id="analytics-title">Analytics</h2>
      <Show when={doc.state !== 'pending' || loaded()} fallback={<Spinner label="Loading analytics…" />}>
        <Show when={!doc.error} fallback={<ErrorBox error={doc.error} />}>
          <Show when={doc() !== null || loaded()} fallback={<p class="muted">This server has no analytics settings.</p>}>
            <Show when={props.provisioned}>
              <p class="notice readonly-reason">Declared in horus.yaml: change this camera's analytics in the configuration file.</p>
            </Show>
            <Show when={!props.canEdit && !props.provisioned}>
              <p class="notice readonly-reason">Your role can view the analytics; an operator can change them.</p>
            </Show>
            <form class="analytics-form" onSubmit={(e) => { e.preventDefault(); void save(); }}>
              <fieldset class="analytics-general" disabled={!canEdit()}>
                <legend>Detection</legend>
                <label class="check"><input type="checkbox" checked={draft.enabled !== false}
                                            onChange={(e) => edit((d) => { d.enabled = e.currentTarget.checked; })} /> Analyse this camera</label>
                <div class="field" classList={{ invalid: !!fieldErr('fps') }}>
                  <label for="an-fps">Frames per second</label>
                  <input id="an-fps" type="number" min="0.1" max="30" step="0.1" value={draft.fps ?? 5}
                         aria-invalid={fieldErr('fps') ? 'true' : undefined}
                         onChange={(e) => edit((d) => { d.fps = Number(e.currentTarget.value); })} />
                  <Show when={fieldErr('fps')}><span class="field-error" role="alert">{fieldErr('fps')}</span></Show>
                </div>
                <div class="field" classList={{ invalid: !!fieldErr('objects.labels') }}>
                  <label for="an-labels">Object labels</label>
                  <input id="an-labels" value={(draft.objects?.labels || []).join(', ')} placeholder="every label"
                         aria-invalid={fieldErr('objects.labels') ? 'true' : undefined}
                         onChange={(e) => edit((d) => { d.objects!.labels = parseLabels(e.currentTarget.value); })} />
                  <Show when={fieldErr('objects.labels')} fallback={<span class="field-hint">Comma-separated, e.g. person, car</span>}>
                    <span class="field-error" role="alert">{fieldErr('objects.labels')}</span>
                  </Show>
                </div>
                <div class="field" classList={{ invalid: !!fieldErr('objects.min_score') }}>
                  <label for="an-score">Minimum score (%)</label>
                  <input id="an-score" type="number" min="0" max="100" step="5" value={Math.round((draft.objects?.min_score ?? 0.5) * 100)}
                         onChange={(e) => edit((d) => { d.objects!.min_score = Math.min(1, Math.max(0, Number(e.currentTarget.value) / 100)); })} />
                  <Show when={fieldErr('objects.min_score')}><span class="field-error" role="alert">{fieldErr('objects.min_score')}</span></Show>
                </div>
              </fieldset>

              <div class="analytics-draw">
                <Show when={canEdit()}>
                  <div class="row draw-tools" role="toolbar" aria-label="Shapes">
                    <Show when={!drawing()} fallback={
                      <>
                        <span class="draw-hint" role="status">
                          {sel()?.kind === 'tripwires' ? 'Click two points: A is on the left of the line from the first to the second.' : 'Click points on the picture; click the first point or press Finish to close.'}
                        </span>
                        <button type="button" class="primary" onClick={finish}>Finish</button>
                        <button type="button" onClick={() => { const s = sel(); if (s) setPoints(s, points(s).slice(0, -1)); }}
                                disabled={!sel() || points(sel()!).length === 0}>Undo point</button>
                      </>
                    }>
                      <button type="button" onClick={() => add('zones')}>Add zone</button>
                      <button type="button" onClick={() => add('tripwires')}>Add tripwire</button>
                      <button type="button" onClick={() => add('masks')}>Add motion mask</button>
                    </Show>
                  </div>
                </Show>
                <div class="draw-area" classList={{ drawing: drawing() }}>
                  <Show when={props.streaming && !snapFailed()} fallback={<div class="draw-placeholder" aria-hidden="true">No picture: the camera is not streaming</div>}>
                    <img src={snapUrl} alt={`The current picture of ${props.camera}`} onError={() => setSnapFailed(true)}
                         onLoad={(e) => { const i = e.currentTarget; if (i.naturalWidth) setAspect(i.naturalHeight / i.naturalWidth); }} />
                  </Show>
                  <svg ref={svg} class="draw-svg" viewBox={`0 0 ${W} ${H()}`} preserveAspectRatio="none"
                       role="img" aria-label={`Drawing of the zones, tripwires and masks: ${all().map(shapeName).join(', ') || 'none'}`}
                       tabindex={canEdit() ? 0 : undefined}
                       onPointerDown={onDown} onPointerMove={onMove} onPointerUp={onUp} onPointerCancel={onUp} onKeyDown={onKey}
                       data-testid="analytics-canvas">
                    <defs>
                      <marker id="an-arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
                      </marker>
                    </defs>
                    <For each={keys()}>
                      {(k) => { const s = toSel(k); return (
                        <g class={`shape ${s.kind}`} classList={{ selected: isSel(s), bad: !!shapeError(s) }}
                           onPointerDown={(e) => { if (!drawing() && !isSel(s)) { e.stopPropagation(); setSel(s); } }}>
                          <Show when={s.kind === 'tripwires'} fallback={
                            <Show when={points(s).length >= 3} fallback={<polyline points={svgPts(points(s))} />}>
                              <polygon points={svgPts(points(s))} />
                            </Show>
                          }>
                            <Show when={points(s).length === 2}>
                              {(() => {
                                const [p0, p1] = points(s) as [Point, Point];
                                const a = tripwireArrow(p0, p1, W, H(), 60);
                                return (
                                  <>
                                    <line x1={p0[0] * W} y1={p0[1] * H()} x2={p1[0] * W} y2={p1[1] * H()} />
                                    <Show when={a}>
                                      <line class="dir" x1={a!.from[0]} y1={a!.from[1]} x2={a!.to[0]} y2={a!.to[1]} marker-end="url(#an-arrow)" />
                                      <text x={p0[0] * W} y={p0[1] * H()} dy="-12" class="end-label">A→B</text>
                                    </Show>
                                  </>
                                );
                              })()}
                            </Show>
                          </Show>
                          <Show when={points(s).length}>
                            <text x={points(s)[0][0] * W} y={points(s)[0][1] * H()} dx="10" dy="24" class="shape-label">{shapeName(s)}</text>
                          </Show>
                          <Show when={isSel(s)}>
                            <Index each={points(s)}>
                              {(p, i) => <circle class="handle" classList={{ first: i === 0 }} cx={p()[0] * W} cy={p()[1] * H()} r="9" />}
                            </Index>
                          </Show>
                        </g>
                      ); }}
                    </For>
                  </svg>
                </div>
              </div>

              <ul class="shape-list" aria-label="Shapes">
                <For each={keys()} fallback={<li class="muted small">No zones, tripwires or masks.</li>}>
                  {(k) => {
                    const s = toSel(k);
                    const id = `shape-${s.kind}-${s.index}`;
                    return (
                      <li class="shape-item" classList={{ selected: isSel(s), invalid: !!shapeError(s) }} data-shape={key(s)}>
                        <fieldset disabled={!canEdit()}>
                          <legend>
                            <button type="button" class="link" onClick={() => setSel(isSel(s) ? null : s)} aria-pressed={isSel(s)}>
                              {KIND_LABEL[s.kind]}: {shapeName(s)}
                            </button>
                          </legend>
                          <Show when={s.kind !== 'masks'}>
                            <div class="field">
                              <label for={`${id}-name`}>Name</label>
                              <input id={`${id}-name`} value={shapeName(s)} maxLength={32}
                                     onChange={(e) => edit((d) => { const v = e.currentTarget.value.trim(); if (s.kind === 'zones') d.zones![s.index].name = v; else d.tripwires![s.index].name = v; })} />
                            </div>
                          </Show>
                          <div class="field" classList={{ invalid: !!coordErr()[key(s)] }}>
                            <label for={`${id}-pts`}>{s.kind === 'tripwires' ? 'Line (x,y of A-side start, then end; 0..1)' : 'Points (x,y pairs, 0..1)'}</label>
                            <input id={`${id}-pts`} class="mono" value={formatPoints(points(s))} aria-invalid={coordErr()[key(s)] ? 'true' : undefined}
                                   onChange={(e) => {
                                     const r = parsePoints(e.currentTarget.value);
                                     if (typeof r === 'string') setCoordErr({ ...coordErr(), [key(s)]: r });
                                     else {
                                       setCoordErr({ ...coordErr(), [key(s)]: '' });
                                       setPoints(s, r);
                                     }
                                   }} />
                            <Show when={coordErr()[key(s)]}><span class="field-error" role="alert">{coordErr()[key(s)]}</span></Show>
                          </div>
                          <Show when={s.kind !== 'masks'}>
                            <div class="field">
                              <label for={`${id}-labels`}>Labels</label>
                              <input id={`${id}-labels`} placeholder="every label"
                                     value={((s.kind === 'zones' ? draft.zones![s.index].labels : draft.tripwires![s.index].labels) || []).join(', ')}
                                     onChange={(e) => edit((d) => { const l = parseLabels(e.currentTarget.value); if (s.kind === 'zones') d.zones![s.index].labels = l; else d.tripwires![s.index].labels = l; })} />
                            </div>
                          </Show>
                          <Show when={s.kind === 'zones'}>
                            <div class="field">
                              <label for={`${id}-loiter`}>Loitering after (s, 0 = off)</label>
                              <input id={`${id}-loiter`} type="number" min="0" max="86400" value={draft.zones![s.index].loiter_seconds ?? 0}
                                     onChange={(e) => edit((d) => { d.zones![s.index].loiter_seconds = Number(e.currentTarget.value); })} />
                            </div>
                          </Show>
                          <Show when={shapeError(s)}>
                            <p class="field-error shape-error" role="alert">{shapeError(s)}</p>
                          </Show>
                          <Show when={!shapeError(s) && problem(s) && !(drawing() && isSel(s))}>
                            <p class="field-hint shape-warning">This {KIND_LABEL[s.kind].toLowerCase()} {problem(s)}.</p>
                          </Show>
                          <Show when={canEdit()}>
                            <button type="button" class="danger" onClick={() => removeShape(s)}>Delete {KIND_LABEL[s.kind].toLowerCase()}</button>
                          </Show>
                        </fieldset>
                      </li>
                    );
                  }}
                </For>
              </ul>

              <Show when={canEdit()}>
                <div class="row analytics-save">
                  <Show when={generalErr()}><p class="form-error" role="alert">{generalErr()}</p></Show>
                  <Show when={saved()}><p class="notice" role="status">Analytics saved.</p></Show>
                  <button type="submit" class="primary" disabled={saving() || !dirty()}>{saving() ? 'Saving…' : 'Save analytics'}</button>
                  <button type="button" disabled={saving() || !dirty()} onClick={() => { setSaveErr(null); adopt(base()); setSel(null); setDrawing(false); }}>Discard changes</button>
                </div>
              </Show>
            </form>
            <Counters camera={props.camera} tick={tick()} />
          </Show>
        </Show>
      </Show>
    </div>
  );
}
