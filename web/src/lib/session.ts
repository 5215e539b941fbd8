// Who is signed in: the principal from GET /api/v1/auth/session (or /auth/me), its role checks,
// and sign-out. The session itself is the HttpOnly cookie the server set.
import { createSignal } from 'solid-js';
import { api, ApiError, setCsrfToken } from './api';
import type { Principal, Role } from './types';

const [me, setMe] = createSignal<Principal | null>(null);
// 'unknown' until the first /auth/session (or /auth/me) answers.
const [state, setState] = createSignal<'unknown' | 'signed-in' | 'signed-out' | 'unreachable'>('unknown');
export { me, state as sessionState };

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3, superadmin: 4 };

export function hasRole(role: Role): boolean {
  const p = me();
  return !!p && RANK[p.role] >= RANK[role];
}

export function adopt(p: Principal, csrf?: string): void {
  if (csrf || p.csrf_token) setCsrfToken(csrf || p.csrf_token || '');
  setMe(p);
  setState('signed-in');
}

// GET /api/v1/auth/session: answered 200 signed in or not, so a visitor who has not
// signed in yet costs no failed request (and no console error).
interface SessionAnswer {
  signed_in: boolean;
  principal?: Principal;
  session_cookie?: boolean;
}

export async function loadMe(): Promise<Principal | null> {
  try {
    const s = await api.get<SessionAnswer>('/api/v1/auth/session');
    if (s.signed_in && s.principal) {
      adopt(s.principal);
      return s.principal;
    }
    if (!s.session_cookie) {
      forget();
      return null;
    }
    // A cookie that makes no usable session: /auth/me says why (a password to change
    // answers 200 there; an expired or revoked session, 401).
    const p = await api.get<Principal>('/api/v1/auth/me', { quiet401: true });
    adopt(p);
    return p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) {
      setState('unreachable');
      return null;
    }
    setMe(null);
    setCsrfToken('');
    setState('signed-out');
    return null;
  }
}

export function forget(): void {
  setMe(null);
  setCsrfToken('');
  setState('signed-out');
}

export async function signOut(): Promise<void> {
  try {
    await api.post('/api/v1/auth/logout', {}, { quiet401: true });
  } catch {
    /* the session may be gone already */
  }
  forget();
}
