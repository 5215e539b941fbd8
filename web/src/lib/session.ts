// Who is signed in: the principal from GET /api/v1/auth/me, its role checks,
// and sign-out. The session itself is the HttpOnly cookie the server set.
import { createSignal } from 'solid-js';
import { api, ApiError, setCsrfToken } from './api';
import type { Principal, Role } from './types';

const [me, setMe] = createSignal<Principal | null>(null);
// 'unknown' until the first /auth/me answers.
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

export async function loadMe(): Promise<Principal | null> {
  try {
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
