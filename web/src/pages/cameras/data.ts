// Reading cameras: every page of the list, and a poller that refreshes a
// value every few seconds while the page is visible (keeping the last good
// value and the last error apart, so a failed refresh does not blank the page).
import { createSignal, onCleanup } from 'solid-js';
import { api, qs } from '../../lib/api';
import type { Camera, CameraList, CameraStatus } from '../../lib/types';

// Status fields being added to the API (absent on older servers).
export type FullStatus = CameraStatus & {
  sub_fps?: number | null;
  sub_bitrate_bps?: number | null;
};
export type CameraFull = Camera & { status: FullStatus; tenant?: string };

export async function listAllCameras(signal?: AbortSignal): Promise<CameraFull[]> {
  const out: CameraFull[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 50; i++) {
    const page: CameraList = await api.get<CameraList>(`/api/v1/cameras${qs({ limit: 1000, cursor })}`, { signal });
    out.push(...(page.items as CameraFull[]));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

export interface Poll<T> {
  value: () => T | undefined;
  error: () => unknown;
  loading: () => boolean;
  refresh: () => Promise<void>;
  set: (v: T) => void;
}

// Calls fetcher now and every interval() ms (re-read after each run, so a
// page can poll faster while something is running). Skips runs while the
// tab is hidden and never overlaps two.
export function createPoll<T>(fetcher: (signal: AbortSignal) => Promise<T>, interval: (v: T | undefined) => number): Poll<T> {
  const [value, setValue] = createSignal<T | undefined>(undefined);
  const [error, setError] = createSignal<unknown>(null);
  const [loading, setLoading] = createSignal(true);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let ctrl: AbortController | null = null;
  let disposed = false;

  const schedule = () => {
    if (disposed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (document.hidden) schedule();
      else void refresh();
    }, interval(value()));
  };

  function refresh(): Promise<void> {
    if (running) return running;
    ctrl = new AbortController();
    const c = ctrl;
    running = (async () => {
      try {
        const v = await fetcher(c.signal);
        if (disposed) return;
        setValue(() => v);
        setError(null);
      } catch (e) {
        if (disposed || (e as Error).name === 'AbortError') return;
        setError(e);
      } finally {
        running = null;
        if (!disposed) {
          setLoading(false);
          schedule();
        }
      }
    })();
    return running;
  }

  void refresh();
  onCleanup(() => {
    disposed = true;
    clearTimeout(timer);
    ctrl?.abort();
  });
  return { value, error, loading, refresh, set: (v: T) => setValue(() => v) };
}

// A slowly changing number for cache-busting thumbnails.
export function createTick(ms: number): () => number {
  const [tick, setTick] = createSignal(0);
  const t = setInterval(() => {
    if (!document.hidden) setTick((n) => n + 1);
  }, ms);
  onCleanup(() => clearInterval(t));
  return tick;
}
