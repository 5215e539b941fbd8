// History: recorded video of one or more cameras in sync on one timeline.
// The instant (t), the zoom (z, seconds across the timeline), the speed and
// the extra cameras (with) live in the query string, so a reload or a
// shared link opens the same instant.
import { batch, createEffect, createMemo, createResource, createSignal, For, on, onCleanup, Show, untrack } from 'solid-js';
import { api, ApiError, errorText, qs } from '../lib/api';
import { Link, navigate, query, setQuery } from '../lib/router';
import { hasRole } from '../lib/session';
import type { Camera, CameraList } from '../lib/types';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { Timeline, type Lane } from './history/Timeline';
import { Calendar } from './history/Calendar';
import { ExportPanel } from './history/ExportPanel';
import { CameraPlayer } from './history/CameraPlayer';
import type { PlayerState } from './history/player';
import {
  centredOn, clockLabel, DAY, dayLabel, HOUR, Interval, MINUTE, nextSpanStart, playableFrom,
  prevSpanStart, SECOND, spanAt, spanLabel, View, zoomAround,
} from './history/timeline';
import './history.css';

export const SPEEDS = [0.5, 1, 2, 4, 8, 16];
const MAX_CAMERAS = 4;

interface RecordingTimeline {
  camera: string;
  spans: { start: string; end: string; duration_s: number }[];
  recording: boolean;
}

interface LaneData {
  spans: Interval[];
  recording: boolean;
  loaded: Interval | null; // the range fetched
  at: number; // when
  state: 'loading' | 'ready' | 'error' | 'gone';
  error: unknown;
}

function parseTime(v: string | null): number | null {
  if (!v) return null;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export default function History(props: { params: Record<string, string> }) {
  const tz = localZone;
  const [cameras] = createResource(async () => (await api.get<CameraList>('/api/v1/cameras?limit=1000')).items);
  const [now, setNow] = createSignal(Date.now());
  const clock = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(clock));

  // --- state from the query string ---------------------------------------------
  const q0 = query();
  const t0 = parseTime(q0.get('t'));
  const z0 = Number(q0.get('z')) * SECOND || HOUR;
  const [view, setViewRaw] = createSignal<View>(centredOn(t0 ?? Date.now() - z0 / 2 + 2 * MINUTE, z0));
  const [playhead, setPlayhead] = createSignal<number | null>(t0);
  const [playing, setPlaying] = createSignal(false);
  const [speed, setSpeed] = createSignal(SPEEDS.includes(Number(q0.get('speed'))) ? Number(q0.get('speed')) : 1);
  const [selection, setSelection] = createSignal<Interval | null>(null);
  const [rangeMode, setRangeMode] = createSignal(false);
  const [showHelp, setShowHelp] = createSignal(false);
  const [showCalendar, setShowCalendar] = createSignal(false);
  const [notice, setNotice] = createSignal<string | null>(null);
  // Bumped on every seek: the players start again from the playhead.
  const [seekSeq, setSeekSeq] = createSignal(t0 !== null ? 1 : 0);
  const [lanes, setLanes] = createSignal<Record<string, LaneData>>({});

  const setView = (v: View) => setViewRaw({ start: v.start, span: v.span });

  const selected = createMemo<string[]>(() => {
    const first = props.params.camera;
    const extra = (query().get('with') || '').split(',').filter(Boolean);
    const all = first ? [first, ...extra] : [];
    return [...new Set(all)].slice(0, MAX_CAMERAS);
  });
  const primary = () => selected()[0];

  // No camera in the path: open the first one.
  createEffect(() => {
    const list = cameras();
    if (!props.params.camera && list && list.length) navigate(`/history/${encodeURIComponent(list[0].id)}${window.location.search}`, { replace: true });
  });

  const cameraName = (id: string) => cameras()?.find((c) => c.id === id)?.name || id;

  // Keep the query string in step, at most every 400 ms (playing moves the
  // playhead several times a second, dragging the view even more often).
  let qTimer = 0;
  createEffect(() => {
    void [playhead(), view(), speed()];
    if (qTimer) return;
    qTimer = window.setTimeout(() => {
      qTimer = 0;
      const ph = untrack(playhead);
      const sp = untrack(speed);
      setQuery({
        t: ph === null ? null : String(Math.round(ph)),
        z: String(Math.round(untrack(view).span / SECOND)),
        speed: sp === 1 ? null : String(sp),
      });
    }, 400);
  });
  onCleanup(() => clearTimeout(qTimer));

  // --- recordings of the visible range (plus a margin), debounced ------------------
  const controllers = new Map<string, AbortController>();
  async function loadLane(camera: string, range: Interval) {
    controllers.get(camera)?.abort();
    const ac = new AbortController();
    controllers.set(camera, ac);
    setLanes((l) => ({ ...l, [camera]: { ...(l[camera] || { spans: [], recording: false, loaded: null, at: 0, error: null }), state: l[camera]?.loaded ? l[camera].state : 'loading' } }));
    try {
      const r = await api.get<RecordingTimeline>(`/api/v1/cameras/${encodeURIComponent(camera)}/recordings${qs({
        start: Math.floor(range.start), end: Math.floor(range.end),
      })}`, { signal: ac.signal });
      const spans = r.spans.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) }));
      // A segment being written runs to the present.
      if (r.recording && spans.length) spans[spans.length - 1].end = Math.max(spans[spans.length - 1].end, range.end);
      setLanes((l) => ({ ...l, [camera]: { spans, recording: r.recording, loaded: range, at: Date.now(), state: 'ready', error: null } }));
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      const gone = e instanceof ApiError && e.status === 404;
      setLanes((l) => ({ ...l, [camera]: { spans: [], recording: false, loaded: range, at: Date.now(), state: gone ? 'gone' : 'error', error: e } }));
    }
  }

  let loadTimer = 0;
  createEffect(() => {
    const v = view();
    const cams = selected();
    const n = now();
    const current = untrack(lanes);
    clearTimeout(loadTimer);
    loadTimer = window.setTimeout(() => {
      for (const cam of cams) {
        const want = { start: v.start - v.span / 2, end: Math.min(n, v.start + v.span * 1.5) };
        const have = current[cam];
        if (want.end <= want.start) continue;
        // Covered: the fetched range holds the view, up to 5 s before now
        // (a view reaching the present so refreshes every 5 s, as the
        // recording grows). A failed fetch is retried every 10 s at most.
        const covered = have?.loaded && have.state !== 'error' && have.loaded.start <= v.start &&
          have.loaded.end >= Math.min(n - 5000, v.start + v.span);
        if (covered || have?.state === 'gone') continue;
        if (have?.state === 'error' && n - have.at < 10000) continue;
        const margin = { start: v.start - v.span, end: Math.min(n, v.start + 2 * v.span) };
        void loadLane(cam, margin);
      }
    }, 200);
  });
  onCleanup(() => {
    clearTimeout(loadTimer);
    for (const c of controllers.values()) c.abort();
  });

  const laneList = createMemo<Lane[]>(() => selected().map((cam) => {
    const d = lanes()[cam];
    return { camera: cam, name: cameraName(cam), spans: d?.spans || [], recording: !!d?.recording, state: d?.state || 'loading' };
  }));
  const primarySpans = () => lanes()[primary()]?.spans || [];
  const primaryLane = () => lanes()[primary()];

  // --- seeking, playing ---------------------------------------------------------
  // The latest instant playback can start from: the segment being written
  // joins the playlist when it closes, so stay a segment (and a little) back.
  function playableEdge(): number {
    const seg = cameras()?.find((c) => c.id === primary())?.record.segment_seconds || 60;
    return Date.now() - (seg + 2) * SECOND;
  }

  function seek(t: number, opts: { snap?: boolean } = {}) {
    let target = Math.min(t, playableEdge());
    if (opts.snap !== false) {
      const spans = primarySpans();
      if (spans.length && !spanAt(spans, target)) {
        const next = playableFrom(spans, target);
        if (next === null) {
          setNotice('Nothing is recorded after this instant.');
          return;
        }
        setNotice('No recording at that instant: playing from where the recording resumes.');
        target = next;
      } else {
        setNotice(null);
      }
    }
    batch(() => {
      setPlayhead(target);
      setPlaying(true);
      setSeekSeq((n) => n + 1);
    });
    // Keep the playhead in view.
    const v = view();
    if (target < v.start || target > v.start + v.span) setView(centredOn(target, v.span));
  }

  function togglePlay() {
    if (playhead() === null) {
      const spans = primarySpans();
      const last = spans[spans.length - 1];
      if (last) seek(Math.max(last.start, Math.min(last.end, playableEdge()) - MINUTE));
      return;
    }
    setPlaying(!playing());
  }

  function step(ms: number) {
    const ph = playhead();
    if (ph !== null) seek(ph + ms, { snap: false });
  }

  function zoom(factor: number) {
    const v = view();
    const ph = playhead();
    const w = 1000;
    const x = ph !== null && ph >= v.start && ph <= v.start + v.span ? ((ph - v.start) / v.span) * w : w / 2;
    setView(zoomAround(v, w, x, factor));
  }

  // Previous/next gap: in the loaded spans first, else asking the server
  // (at most 92 days either way) so a jump also works from an empty stretch.
  async function gap(dir: 1 | -1) {
    const ph = playhead() ?? view().start + view().span / 2;
    let t = dir > 0 ? nextSpanStart(primarySpans(), ph) : prevSpanStart(primarySpans(), ph);
    if (t === null) {
      const cam = primary();
      const range = dir > 0 ? { start: ph, end: Math.min(Date.now(), ph + 92 * DAY - MINUTE) } : { start: ph - 92 * DAY + MINUTE, end: ph };
      if (range.end > range.start) {
        try {
          const r = await api.get<RecordingTimeline>(`/api/v1/cameras/${encodeURIComponent(cam)}/recordings${qs({
            start: Math.floor(range.start), end: Math.floor(range.end),
          })}`);
          const spans = r.spans.map((x) => ({ start: Date.parse(x.start), end: Date.parse(x.end) }));
          t = dir > 0 ? nextSpanStart(spans, ph) : prevSpanStart(spans, ph);
        } catch (e) {
          setNotice(`The recordings could not be searched: ${errorText(e)}`);
          return;
        }
      }
    }
    if (t === null) setNotice(dir > 0 ? 'No later recording.' : 'No earlier recording.');
    else seek(t, { snap: false });
  }

  // Events do not exist on the server yet: the buttons stay hidden until a
  // source of event instants is wired here (same shape as the gap search).
  const eventTimes = (): number[] | null => null;

  function home() {
    const spans = primarySpans();
    if (spans.length) seek(spans[0].start, { snap: false });
  }
  function end() {
    const spans = primarySpans();
    const last = spans[spans.length - 1];
    if (last) seek(Math.max(last.start, Math.min(last.end, playableEdge())), { snap: false });
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const k = e.key;
    if (k === ' ' || k === 'k') togglePlay();
    else if (k === 'ArrowLeft') step(-10 * SECOND);
    else if (k === 'ArrowRight') step(10 * SECOND);
    else if (k === '+' || k === '=') zoom(0.5);
    else if (k === '-' || k === '_') zoom(2);
    else if (k === 'Home') home();
    else if (k === 'End') end();
    else if (k === '?') setShowHelp(!showHelp());
    else if (k === 'Escape') { setSelection(null); setRangeMode(false); }
    else return;
    e.preventDefault();
  }

  // The primary player's instant drives the playhead; the others follow it.
  const [states, setStates] = createSignal<Record<string, { state: PlayerState; message?: string }>>({});
  function onPlayerTime(cam: string, t: number) {
    if (cam !== primary()) return;
    setPlayhead(t);
    // Follow the playhead when it runs off the right edge.
    const v = view();
    if (t > v.start + v.span * 0.97 && t < v.start + v.span * 1.2) setView({ start: t - v.span * 0.2, span: v.span });
  }
  function onPlayerState(cam: string, state: PlayerState, message?: string) {
    setStates((s) => ({ ...s, [cam]: { state, message } }));
    if (cam === primary() && state === 'ended') setPlaying(false);
  }

  function addCamera(id: string) {
    if (!id) return;
    const extra = [...selected().slice(1), id];
    setQuery({ with: [...new Set(extra)].join(',') });
  }
  function removeCamera(id: string) {
    const rest = selected().filter((c) => c !== id);
    if (!rest.length) return;
    if (id === primary()) {
      navigate(`/history/${encodeURIComponent(rest[0])}${qs({ ...Object.fromEntries(query()), with: rest.slice(1).join(',') || null })}`, { replace: true });
    } else {
      setQuery({ with: rest.slice(1).join(',') || null });
    }
  }
  function pickPrimary(id: string) {
    navigate(`/history/${encodeURIComponent(id)}${qs({ ...Object.fromEntries(query()), with: selected().slice(1).filter((c) => c !== id).join(',') || null })}`, { replace: true });
  }

  // A new primary camera: its own recordings, same instant.
  createEffect(on(primary, (p, prev) => {
    if (prev !== undefined && p !== prev && playhead() !== null) setSeekSeq((n) => n + 1);
  }));

  const valueText = () => {
    const ph = playhead();
    return ph === null ? 'No instant chosen' : `${dayLabel(ph, tz)} ${clockLabel(ph, tz, true)}`;
  };

  const available = () => (cameras() || []).filter((c: Camera) => !selected().includes(c.id));
  const primaryGone = () => primaryLane()?.state === 'gone' || (cameras() && primary() && !cameras()!.some((c) => c.id === primary()));
  const emptyInView = () => {
    const l = primaryLane();
    const v = view();
    return l?.state === 'ready' && !l.spans.some((s) => s.end > v.start && s.start < v.start + v.span);
  };

  return (
    <div class="history">
      <PageHeader title="History">
        <Show when={cameras() && cameras()!.length}>
          <label class="sr-only" for="hist-camera">Camera</label>
          <select id="hist-camera" value={primary() || ''} onChange={(e) => pickPrimary(e.currentTarget.value)}>
            <Show when={primary() && !cameras()!.some((c) => c.id === primary())}>
              <option value={primary()}>{primary()} (deleted)</option>
            </Show>
            <For each={cameras()}>{(c) => <option value={c.id}>{c.name || c.id}</option>}</For>
          </select>
          <Show when={selected().length < MAX_CAMERAS && available().length}>
            <label class="sr-only" for="hist-add">Add a camera in sync</label>
            <select id="hist-add" value="" onChange={(e) => { addCamera(e.currentTarget.value); e.currentTarget.value = ''; }}>
              <option value="">Add camera…</option>
              <For each={available()}>{(c) => <option value={c.id}>{c.name || c.id}</option>}</For>
            </select>
          </Show>
        </Show>
        <Link class="button" href="/live">Back to live</Link>
      </PageHeader>

      <Show when={!cameras.error} fallback={<ErrorBox error={cameras.error} onRetry={() => window.location.reload()} />}>
        <Show when={cameras()} fallback={<Spinner label="Loading cameras…" />}>
          <Show when={cameras()!.length || props.params.camera} fallback={
            <Empty title="No cameras">Add a camera on the <Link href="/cameras">Cameras</Link> page to record it.</Empty>
          }>
            <Show when={!primaryGone()} fallback={
              <Empty title="This camera no longer exists">
                <span>It was deleted, or you may not view it. </span>
                <Show when={cameras()!.length}>
                  <button type="button" class="link" onClick={() => pickPrimary(cameras()![0].id)}>Open {cameras()![0].name || cameras()![0].id}</button>
                </Show>
              </Empty>
            }>
              <section class="hist-players" classList={{ multi: selected().length > 1 }} aria-label="Recorded video">
                <For each={selected()}>
                  {(cam) => (
                    <CameraPlayer camera={cam} name={cameraName(cam)} primary={cam === primary()}
                                  seekSeq={seekSeq()} playhead={playhead} playing={playing()} speed={speed()}
                                  state={states()[cam]} removable={selected().length > 1}
                                  onRemove={() => removeCamera(cam)}
                                  onTime={(t) => onPlayerTime(cam, t)}
                                  onState={(s, m) => onPlayerState(cam, s, m)} />
                  )}
                </For>
              </section>

              <section class="hist-controls" aria-label="Playback controls">
                <div class="row">
                  <button type="button" onClick={() => void gap(-1)} title="Jump to where the recording resumes after the previous gap">⇤ Previous gap</button>
                  <button type="button" onClick={() => step(-10 * SECOND)} aria-label="Back 10 seconds" title="Back 10 s (←)">−10 s</button>
                  <button type="button" class="primary play" onClick={togglePlay} aria-label={playing() ? 'Pause' : 'Play'} title="Play / pause (space)">
                    {playing() ? '❚❚ Pause' : '▶ Play'}
                  </button>
                  <button type="button" onClick={() => step(10 * SECOND)} aria-label="Forward 10 seconds" title="Forward 10 s (→)">+10 s</button>
                  <button type="button" onClick={() => void gap(1)} title="Jump to where the recording resumes after the next gap">Next gap ⇥</button>
                  <Show when={eventTimes()}>
                    <button type="button">Previous event</button>
                    <button type="button">Next event</button>
                  </Show>
                  <div class="speeds" role="group" aria-label="Speed">
                    <For each={SPEEDS}>
                      {(s) => (
                        <button type="button" aria-pressed={speed() === s} onClick={() => setSpeed(s)}>{s}×</button>
                      )}
                    </For>
                  </div>
                </div>
                <div class="row hist-instant">
                  <output class="mono" data-testid="playhead-time" aria-live="off">
                    {playhead() === null ? 'Click the timeline to play from that instant' : valueText()}
                  </output>
                  <span class="muted">Zoom: {spanLabel(Math.round(view().span / MINUTE) * MINUTE)}</span>
                  <div class="row tl-buttons">
                    <button type="button" onClick={() => zoom(0.5)} aria-label="Zoom in" title="Zoom in (+)">+</button>
                    <button type="button" onClick={() => zoom(2)} aria-label="Zoom out" title="Zoom out (−)">−</button>
                    <button type="button" aria-pressed={rangeMode()} onClick={() => setRangeMode(!rangeMode())}
                            title="Drag on the timeline to select a range (or shift+drag)">Select range</button>
                    <button type="button" aria-expanded={showCalendar()} aria-controls="hist-calendar"
                            onClick={() => setShowCalendar(!showCalendar())}>Calendar</button>
                    <button type="button" class="icon-button" aria-expanded={showHelp()} aria-controls="tl-help"
                            onClick={() => setShowHelp(!showHelp())} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">?</button>
                  </div>
                </div>
              </section>

              <Show when={showCalendar()}>
                <Calendar id="hist-calendar" camera={primary()} tz={tz} now={now()}
                          selectedDay={playhead() ?? view().start + view().span / 2}
                          onPick={(range, first) => {
                            setShowCalendar(false);
                            setView({ start: range.start, span: range.end - range.start });
                            if (first !== null) seek(first, { snap: false });
                            else setNotice('Nothing recorded that day.');
                          }} />
              </Show>

              <Timeline view={view()} onView={setView} lanes={laneList()} now={now()} playhead={playhead()}
                        onSeek={(t) => seek(t)} selection={selection()} onSelect={setSelection}
                        rangeMode={rangeMode()} tz={tz} onKeyDown={onKeyDown} valueText={valueText()} />
              <p id="tl-help-hint" class="sr-only">Space plays or pauses, arrows step 10 seconds, plus and minus zoom, Home and End go to the first and latest recording, question mark lists the shortcuts.</p>

              <Show when={notice()}>
                <p class="notice" role="status">{notice()}</p>
              </Show>
              <For each={laneList().filter((l) => l.state === 'error')}>
                {(l) => <ErrorBox error={lanes()[l.camera]?.error} onRetry={() => loadLane(l.camera, { start: view().start - view().span, end: Math.min(Date.now(), view().start + 2 * view().span) })} />}
              </For>
              <Show when={emptyInView()}>
                <p class="notice hist-empty" role="status">No recordings of {cameraName(primary())} in this range. Zoom out, or pick a day in the calendar.</p>
              </Show>

              <Show when={showHelp()}>
                <section id="tl-help" class="card tl-help" aria-label="Keyboard shortcuts">
                  <h2>Keyboard shortcuts (on the timeline)</h2>
                  <dl>
                    <dt><kbd>Space</kbd></dt><dd>Play / pause</dd>
                    <dt><kbd>←</kbd> <kbd>→</kbd></dt><dd>Back / forward 10 seconds</dd>
                    <dt><kbd>+</kbd> <kbd>−</kbd></dt><dd>Zoom in / out</dd>
                    <dt><kbd>Home</kbd> <kbd>End</kbd></dt><dd>First / latest recording in range</dd>
                    <dt><kbd>Shift</kbd> + drag</dt><dd>Select a range to export</dd>
                    <dt><kbd>Esc</kbd></dt><dd>Clear the selection</dd>
                    <dt><kbd>?</kbd></dt><dd>Show / hide this list</dd>
                  </dl>
                  <p class="muted">Mouse: wheel zooms around the pointer, drag pans, click or drag the playhead to seek. Touch: pinch zooms.</p>
                </section>
              </Show>

              <ExportPanel selection={selection()} cameras={selected()} tz={tz} canExport={hasRole('operator')}
                           onClear={() => { setSelection(null); setRangeMode(false); }} />
            </Show>
          </Show>
        </Show>
      </Show>
    </div>
  );
}
