// Hover thumbnails: snapshot.jpg of a recorded instant, 160 px wide, fetched
// once per camera and instant and kept as object URLs (the most recent 80).
import { api, qs } from '../../lib/api';

const MAX = 80;
const cache = new Map<string, Promise<string | null>>();
const urls = new Map<string, string>();

export function thumbnail(camera: string, t: number): Promise<string | null> {
  const key = `${camera}|${Math.round(t)}`;
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const p = (async () => {
    try {
      const blob = await api.blob(`/api/v1/cameras/${encodeURIComponent(camera)}/snapshot.jpg${qs({ ts: Math.round(t), width: 160 })}`);
      const url = URL.createObjectURL(blob);
      urls.set(key, url);
      return url;
    } catch {
      return null;
    }
  })();
  cache.set(key, p);
  while (cache.size > MAX) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
    const u = urls.get(oldest);
    if (u) {
      urls.delete(oldest);
      URL.revokeObjectURL(u);
    }
  }
  return p;
}
