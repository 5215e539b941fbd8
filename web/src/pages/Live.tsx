// The live page: a grid of cameras (1, 4, 9, 16 tiles or automatic), filtered by
// group, ordered by drag and drop or the tile menu, paged when there are more
// cameras than tiles. Tiles play the sub stream; an enlarged tile (click/Enter,
// Esc back) plays the main stream. Layout, order and group are saved per user.
import { createEffect, createMemo, createSignal, For, on, onCleanup, onMount, Show } from 'solid-js';
import { api, ApiError, errorText, requestBlob } from '../lib/api';
import { Link, query, setQuery } from '../lib/router';
import { hasRole } from '../lib/session';
import type { Camera, CameraList } from '../lib/types';
import { Empty, ErrorBox, PageHeader, Spinner } from '../components/ui';
import { LivePlayer } from '../components/LivePlayer';
import { pickTransport } from '../components/live/transport';
import {
  cameraBadges, canPlay, DEFAULT_PREFS, ORDER_MAX, gridFor, groupsOf, idleReason, LAYOUTS, moveBy, moveTo,
  orderCameras, pageCount, snapshotName, streamFor, streamInfo,
} from './live/grid';
import type { Layout, LivePrefs } from './live/grid';
import { loadPrefs, savePrefs } from './live/prefs';
import './live.css';

const POLL_MS = 2000;
const LAYOUT_LABEL: Record<Layout, string> = { auto: 'Auto', 1: '1', 4: '2×2', 9: '3×3', 16: '4×4' };
const LAYOUT_NAME: Record<Layout, string> = {
  auto: 'Automatic layout', 1: 'One tile', 4: 'Four tiles', 9: 'Nine tiles', 16: 'Sixteen tiles',
};

export default function Live() {
  const [cams, setCams] = createSignal<Camera[] | null>(null);
  const [loadError, setLoadError] = createSignal<unknown>(null);
  const [pollError, setPollError] = createSignal<unknown>(null);
  const [prefs, setPrefs] = createSignal<LivePrefs | null>(null);
  const [page, setPage] = createSignal(0);
  const [now, setNow] = createSignal(Date.now());
  const [box, setBox] = createSignal({ w: 1280, h: 720 });
  const [dragId, setDragId] = createSignal<string | null>(null);
  const [dropId, setDropId] = createSignal<string | null>(null);
  let wrap!: HTMLDivElement;

  // ---- data ----
  let polling = false;
  // When each streaming camera was first seen not recording (see NOT_RECORDING_GRACE_MS).
  let notRecording = new Map<string, number>();
  async function refresh() {
    if (polling) return;
    polling = true;
    try {
      const list = await api.get<CameraList>('/api/v1/cameras?limit=1000');
      const t = Date.now();
      const seen = new Map<string, number>();
      for (const c of list.items) {
        if (c.status.state === 'streaming' && !c.status.recording) seen.set(c.id, notRecording.get(c.id) ?? t);
      }
      notRecording = seen;
      setCams(list.items);
      setLoadError(null);
      setPollError(null);
    } catch (e) {
      if (cams() === null) setLoadError(e);
      else setPollError(e);
    } finally {
      polling = false;
    }
  }

  onMount(() => {
    // Fetch the player's code while the camera list loads, not after.
    pickTransport().catch(() => undefined);
    void loadPrefs().then(setPrefs);
    void refresh();
    const poll = window.setInterval(() => {
      if (document.visibilityState !== 'hidden') void refresh();
    }, POLL_MS);
    const clock = window.setInterval(() => setNow(Date.now()), 1000);
    onCleanup(() => {
      window.clearInterval(poll);
      window.clearInterval(clock);
    });
  });

  let saveTimer: number | undefined;
  function update(change: Partial<LivePrefs>) {
    const next = { ...(prefs() || DEFAULT_PREFS), ...change };
    setPrefs(next);
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(() => void savePrefs(next), 400);
  }
  onCleanup(() => {
    // Leaving the page within the debounce still saves.
    if (saveTimer !== undefined && prefs()) {
      window.clearTimeout(saveTimer);
      void savePrefs(prefs()!);
    }
  });

  const byId = createMemo(() => new Map((cams() || []).map((c) => [c.id, c])));
  const groups = createMemo(() => groupsOf(cams() || []));
  const group = () => {
    const g = prefs()?.group || '';
    return groups().includes(g) ? g : '';
  };
  const ordered = createMemo(() => orderCameras(cams() || [], prefs()?.order || []).map((c) => c.id));
  const shown = createMemo(() => ordered().filter((id) => !group() || byId().get(id)?.groups.includes(group())));
  const layout = () => prefs()?.layout || 'auto';
  const grid = createMemo(() => gridFor(layout(), shown().length, box().w, box().h));
  const pages = () => pageCount(shown().length, grid().perPage);
  const curPage = () => Math.min(page(), pages() - 1);
  const pageIds = createMemo(() => shown().slice(curPage() * grid().perPage, (curPage() + 1) * grid().perPage), undefined, {
    equals: (a, b) => a.length === b.length && a.every((x, i) => x === b[i]),
  });

  // ---- enlarged tile (?camera=ID, so reload and links keep it) ----
  const enlarged = () => {
    const id = query().get('camera');
    return id && byId().has(id) ? id : null;
  };
  let returnFocusTo: string | null = null;
  function enlarge(id: string) {
    returnFocusTo = id;
    setQuery({ camera: id });
  }
  function shrink() {
    const id = enlarged() || returnFocusTo;
    setQuery({ camera: null });
    if (id) {
      const p = Math.floor(shown().indexOf(id) / grid().perPage);
      if (p >= 0) setPage(p);
      requestAnimationFrame(() => document.querySelector<HTMLElement>(`.live-tile[data-camera="${CSS.escape(id)}"]`)?.focus());
    }
  }
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && enlarged() && !document.fullscreenElement) {
      const open = document.querySelector('.tile-menu[open]');
      if (open) return;
      e.preventDefault();
      shrink();
    }
  };
  onMount(() => document.addEventListener('keydown', onKey));
  onCleanup(() => document.removeEventListener('keydown', onKey));
  // A camera named in the URL that no longer exists: back to the grid.
  createEffect(() => {
    const id = query().get('camera');
    if (id && cams() && !byId().has(id)) setQuery({ camera: null });
  });

  // ---- size: the grid fits the window below its toolbar ----
  onMount(() => {
    const measure = () => {
      const r = wrap.getBoundingClientRect();
      setBox({ w: Math.max(1, r.width), h: Math.max(1, window.innerHeight - r.top - 16) });
    };
    const ro = new ResizeObserver(measure);
    ro.observe(wrap);
    window.addEventListener('resize', measure);
    measure();
    onCleanup(() => {
      ro.disconnect();
      window.removeEventListener('resize', measure);
    });
  });
  const gridStyle = () => {
    const cols = enlarged() ? 1 : grid().cols;
    const rows = enlarged() ? 1 : Math.min(grid().rows, Math.ceil(pageIds().length / grid().cols) || 1);
    const { w, h } = box();
    const tileW = h >= 200 ? Math.min(w / cols, ((h - (rows - 1) * 6) / rows) * (16 / 9)) : w / cols;
    return { '--cols': String(cols), '--grid-max': `${Math.floor(tileW * cols + (cols - 1) * 6)}px` };
  };

  // A layout or group change starts at the first page.
  createEffect(on([layout, group], () => setPage(0), { defer: true }));

  // ---- reorder ----
  // After a keyboard move the focus stays on the button pressed (or the menu, at an end).
  function reorder(ids: string[], focusId: string, delta = 0) {
    update({ order: ids.slice(0, ORDER_MAX) });
    const p = Math.floor(shown().indexOf(focusId) / grid().perPage);
    if (p >= 0 && p !== curPage()) setPage(p);
    if (!delta) return;
    requestAnimationFrame(() => {
      const t = `.live-tile[data-camera="${CSS.escape(focusId)}"]`;
      const btn = document.querySelector<HTMLButtonElement>(`${t} button[data-move="${delta}"]`);
      if (btn && !btn.disabled) btn.focus();
      else document.querySelector<HTMLElement>(`${t} .tile-menu summary`)?.focus();
    });
  }

  const toolbar = () => (
    <>
      <Show when={groups().length > 0}>
        <label class="live-group">
          <span>Group</span>
          <select value={group()} onChange={(e) => update({ group: e.currentTarget.value })}>
            <option value="">All cameras</option>
            <For each={groups()}>{(g) => <option value={g}>{g}</option>}</For>
          </select>
        </label>
      </Show>
      <div class="live-layouts" role="group" aria-label="Layout">
        <For each={LAYOUTS}>
          {(l) => (
            <button type="button" aria-pressed={layout() === l} data-layout={l}
                    aria-label={`${LAYOUT_LABEL[l]}: ${LAYOUT_NAME[l]}`} title={LAYOUT_NAME[l]}
                    onClick={() => update({ layout: l })}>{LAYOUT_LABEL[l]}</button>
          )}
        </For>
      </div>
      <Show when={pages() > 1 && !enlarged()}>
        <nav class="live-pager" aria-label="Pages of cameras">
          <button type="button" aria-label="Previous page" disabled={curPage() === 0} onClick={() => setPage(curPage() - 1)}>‹</button>
          <span aria-live="polite">Page {curPage() + 1} of {pages()}</span>
          <button type="button" aria-label="Next page" disabled={curPage() >= pages() - 1} onClick={() => setPage(curPage() + 1)}>›</button>
        </nav>
      </Show>
    </>
  );

  return (
    <div class="live-page">
      <PageHeader title="Live">{toolbar()}</PageHeader>
      <Show when={pollError()}>
        <p class="notice live-stale" role="status">Status updates paused: {errorText(pollError())}</p>
      </Show>
      <div ref={wrap} class="live-wrap">
        <Show when={!loadError()} fallback={<ErrorBox error={loadError()} onRetry={() => { setLoadError(null); void refresh(); }} />}>
          <Show when={cams() && prefs()} fallback={<Spinner label="Loading cameras…" />}>
            <Show when={cams()!.length > 0} fallback={
              <Empty title="No cameras yet">
                <Show when={hasRole('operator')} fallback={<span>Ask an operator to add cameras, or to grant you some.</span>}>
                  <Link href="/cameras">Add a camera</Link>
                </Show>
              </Empty>
            }>
              <Show when={shown().length > 0} fallback={
                <Empty title={`No cameras in group “${group()}”`}>
                  <button type="button" class="link" onClick={() => update({ group: '' })}>Show all cameras</button>
                </Empty>
              }>
                <div class="live-grid" classList={{ enlarged: !!enlarged() }} style={gridStyle()}>
                  <Show when={enlarged()} fallback={
                    <For each={pageIds()}>
                      {(id) => (
                        <Tile id={id} cam={byId().get(id)} now={now()} enlarged={false} notRecordingSince={notRecording.get(id) ?? null}
                              onEnlarge={() => enlarge(id)}
                              onMove={(d) => reorder(moveBy(ordered(), id, d), id, d)}
                              first={ordered()[0] === id} last={ordered()[ordered().length - 1] === id}
                              dragging={dragId() === id} dropTarget={dropId() === id && dragId() !== id}
                              onDragStart={() => setDragId(id)}
                              onDragEnd={() => { setDragId(null); setDropId(null); }}
                              onDragOver={() => setDropId(id)}
                              onDrop={() => {
                                const from = dragId();
                                setDragId(null);
                                setDropId(null);
                                if (from && from !== id) reorder(moveTo(ordered(), from, id), from);
                              }} />
                      )}
                    </For>
                  }>
                    {(id) => (
                      <Tile id={id()} cam={byId().get(id())} now={now()} enlarged onEnlarge={shrink}
                            notRecordingSince={notRecording.get(id()) ?? null} />
                    )}
                  </Show>
                </div>
              </Show>
            </Show>
          </Show>
        </Show>
      </div>
    </div>
  );
}

interface TileProps {
  id: string;
  cam: Camera | undefined;
  now: number;
  notRecordingSince: number | null;
  enlarged: boolean;
  onEnlarge: () => void;
  onMove?: (delta: number) => void;
  first?: boolean;
  last?: boolean;
  dragging?: boolean;
  dropTarget?: boolean;
  onDragStart?: () => void;
  onDragEnd?: () => void;
  onDragOver?: () => void;
  onDrop?: () => void;
}

function Tile(props: TileProps) {
  let el!: HTMLElement;
  let menu!: HTMLDetailsElement;
  const [note, setNote] = createSignal('');
  const [isFull, setFull] = createSignal(false);
  const name = () => props.cam?.name || props.id;
  const badges = () => (props.cam ? cameraBadges(props.cam, props.now, props.notRecordingSince) : []);
  const playable = () => !!props.cam && canPlay(props.cam);
  // Enlarged or fullscreen: the main stream, for the detail.
  const stream = () => (props.cam ? streamFor(props.cam, props.enlarged || isFull()) : 'main');
  let noteTimer: number | undefined;
  const say = (text: string) => {
    setNote(text);
    window.clearTimeout(noteTimer);
    noteTimer = window.setTimeout(() => setNote(''), 4000);
  };
  onCleanup(() => window.clearTimeout(noteTimer));

  const onFs = () => setFull(document.fullscreenElement === el);
  document.addEventListener('fullscreenchange', onFs);
  onCleanup(() => document.removeEventListener('fullscreenchange', onFs));

  async function snapshot() {
    try {
      const blob = await requestBlob(`/api/v1/cameras/${encodeURIComponent(props.id)}/snapshot.jpg`);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = snapshotName(props.id, new Date());
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10000);
      say('Snapshot saved');
    } catch (e) {
      say(e instanceof ApiError && e.status === 503 ? 'No picture yet: the camera sends no video' : `Snapshot failed: ${errorText(e)}`);
    }
  }

  async function fullscreen() {
    try {
      if (document.fullscreenElement === el) await document.exitFullscreen();
      else await el.requestFullscreen();
    } catch {
      say('Fullscreen is not available here');
    }
  }

  const closeMenu = () => menu && (menu.open = false);
  // A click anywhere else closes the tile's menu.
  const onDocClick = (e: MouseEvent) => {
    if (menu?.open && !menu.contains(e.target as Node)) closeMenu();
  };
  document.addEventListener('click', onDocClick);
  onCleanup(() => document.removeEventListener('click', onDocClick));

  return (
    <article ref={el} class="live-tile" tabindex="0" data-camera={props.id}
             classList={{ dragging: !!props.dragging, 'drop-target': !!props.dropTarget, enlarged: props.enlarged }}
             aria-label={`${name()}${props.enlarged ? ' (enlarged)' : ''}`}
             aria-roledescription="camera tile"
             draggable={!props.enlarged}
             onKeyDown={(e) => {
               if (e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ')) {
                 e.preventDefault();
                 props.onEnlarge();
               }
             }}
             onDragStart={(e) => {
               if (props.enlarged) return;
               e.dataTransfer?.setData('text/plain', props.id);
               if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
               props.onDragStart?.();
             }}
             onDragEnd={() => props.onDragEnd?.()}
             onDragOver={(e) => {
               if (props.enlarged) return;
               e.preventDefault();
               if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
               props.onDragOver?.();
             }}
             onDrop={(e) => {
               e.preventDefault();
               props.onDrop?.();
             }}>
      <div class="tile-video" onClick={() => { if (!props.enlarged) props.onEnlarge(); }}>
        <LivePlayer camera={props.id} stream={stream()} label={`${name()}, live`}
                    canPlay={playable()} idleText={props.cam ? idleReason(props.cam) : 'Camera offline'}
                    retryKey={props.cam?.status.since}
                    webrtc={props.cam?.status.webrtc ? props.cam.status.webrtc[stream()] : undefined} />
      </div>
      <div class="tile-head">
        <span class="tile-name" title={props.id}>{name()}</span>
        <span class="tile-badges">
          <For each={badges()}>
            {(b) => <span class={`tile-badge ${b.kind}`} title={b.title}>{b.text}</span>}
          </For>
          <Show when={props.cam && props.enlarged && streamInfo(props.cam, stream())}>
            {(info) => <span class="tile-badge info" title="Frame rate and bit rate the server receives">{info()}</span>}
          </Show>
          <Show when={stream() === 'sub'}>
            <span class="tile-badge info" title="Playing the sub stream; enlarge for the main stream">SUB</span>
          </Show>
        </span>
      </div>
      <div class="tile-actions">
        <button type="button" class="tile-btn" onClick={() => props.onEnlarge()}
                aria-label={props.enlarged ? `Back to the grid from ${name()}` : `Enlarge ${name()}`}
                title={props.enlarged ? 'Back to the grid (Esc)' : 'Enlarge (Enter)'}>{props.enlarged ? '⊟' : '⊞'}</button>
        <button type="button" class="tile-btn" onClick={() => void snapshot()} aria-label={`Snapshot of ${name()}`} title="Snapshot">
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M9 4 7.2 6H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-3.2L15 4H9zm3 5a4 4 0 1 1 0 8 4 4 0 0 1 0-8z" /></svg>
        </button>
        <button type="button" class="tile-btn" onClick={() => void fullscreen()}
                aria-label={isFull() ? `Exit fullscreen` : `Fullscreen ${name()}`} title="Fullscreen">
          <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M4 4h6v2H6v4H4V4zm10 0h6v6h-2V6h-4V4zM4 14h2v4h4v2H4v-6zm14 0h2v6h-6v-2h4v-4z" /></svg>
        </button>
        <details ref={menu} class="tile-menu" onKeyDown={(e) => {
          if (e.key === 'Escape' && menu.open) {
            e.stopPropagation();
            closeMenu();
            (menu.querySelector('summary') as HTMLElement | null)?.focus();
          }
        }}>
          <summary class="tile-btn" aria-label={`More for ${name()}`} title="More">⋯</summary>
          <div class="tile-menu-list">
            <Show when={!props.enlarged && props.onMove}>
              <button type="button" data-move="-1" disabled={props.first} onClick={() => props.onMove!(-1)}>Move earlier</button>
              <button type="button" data-move="1" disabled={props.last} onClick={() => props.onMove!(1)}>Move later</button>
            </Show>
            <Link href={`/history/${encodeURIComponent(props.id)}`}>Recordings (History)</Link>
            <Link href={`/cameras/${encodeURIComponent(props.id)}`}>Camera settings</Link>
          </div>
        </details>
      </div>
      <Show when={note()}>
        <span class="tile-note" role="status">{note()}</span>
      </Show>
    </article>
  );
}
