// The live page's preferences, kept per user on the server (GET/PUT
// /api/v1/auth/preferences, key "live"), or in this browser's localStorage while
// the server has no such route (404). The PUT carries the whole object: what GET
// returned, with our key replaced, so other pages' keys survive.
import { api, ApiError } from '../../lib/api';
import { DEFAULT_PREFS, normalizePrefs } from './grid';
import type { LivePrefs } from './grid';

const PATH = '/api/v1/auth/preferences';
const LOCAL_KEY = 'horus.live';

let serverHasPrefs = true;
let all: Record<string, unknown> = {};

function readLocal(): LivePrefs {
  try {
    return normalizePrefs(JSON.parse(localStorage.getItem(LOCAL_KEY) || 'null'));
  } catch {
    return { ...DEFAULT_PREFS };
  }
}

export async function loadPrefs(): Promise<LivePrefs> {
  try {
    const got = await api.get<Record<string, unknown>>(PATH);
    all = got && typeof got === 'object' ? got : {};
    serverHasPrefs = true;
    return all.live === undefined ? readLocal() : normalizePrefs(all.live);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) serverHasPrefs = false;
    return readLocal();
  }
}

export async function savePrefs(p: LivePrefs): Promise<void> {
  try {
    localStorage.setItem(LOCAL_KEY, JSON.stringify(p));
  } catch {
    /* private mode: the server copy is enough */
  }
  if (!serverHasPrefs) return;
  try {
    // Merge with the latest stored object (another tab or page may have saved).
    const cur = await api.get<Record<string, unknown>>(PATH);
    all = { ...(cur && typeof cur === 'object' ? cur : {}), live: p };
    await api.put(PATH, all);
  } catch (e) {
    // 404/405: no such route (an older server); 400: this sign-in has no place to keep
    // them (an identity provider's bearer token). 413 (too large) keeps trying.
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 400)) serverHasPrefs = false;
    // Anything else: kept locally; the next change tries the server again.
  }
}
