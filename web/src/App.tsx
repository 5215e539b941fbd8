// The shell: who is signed in, the navigation (only what the role may use;
// the server refuses the rest anyway), and the page for the current path.
// Pages are loaded lazily so the first paint needs the shell only.
import { Component, createEffect, createMemo, ErrorBoundary, For, lazy, Match, on, onMount, Show, Suspense, Switch } from 'solid-js';
import { Dynamic } from 'solid-js/web';
import { api, setUnauthenticatedHandler } from './lib/api';
import { Link, location, matchPath, navigate } from './lib/router';
import { forget, hasRole, loadMe, me, sessionState, signOut } from './lib/session';
import { theme, toggleTheme } from './lib/theme';
import type { Role } from './lib/types';
import { ErrorBox, Spinner } from './components/ui';
import Login, { ForcedPasswordChange } from './pages/Login';

const ForcedMfaEnrolment = lazy(() => import('./pages/Account').then((m) => ({ default: m.ForcedMfaEnrolment })));

interface Route {
  path: string;
  title: string;
  component: Component<{ params: Record<string, string> }>;
  role?: Role;
  nav?: string; // label in the navigation bar
}

const routes: Route[] = [
  { path: '/live', title: 'Live', nav: 'Live', component: lazy(() => import('./pages/Live')) },
  { path: '/history/:camera?', title: 'History', nav: 'History', component: lazy(() => import('./pages/History')) },
  { path: '/events', title: 'Events', nav: 'Events', component: lazy(() => import('./pages/Events')) },
  { path: '/exports', title: 'Exports', nav: 'Exports', component: lazy(() => import('./pages/Exports')) },
  { path: '/cameras', title: 'Cameras', nav: 'Cameras', component: lazy(() => import('./pages/Cameras')) },
  { path: '/cameras/:id', title: 'Camera', component: lazy(() => import('./pages/CameraDetail')) },
  { path: '/admin/users', title: 'Users', nav: 'Users', role: 'admin', component: lazy(() => import('./pages/admin/Users')) },
  { path: '/admin/keys', title: 'API keys', nav: 'API keys', role: 'admin', component: lazy(() => import('./pages/admin/ApiKeys')) },
  { path: '/admin/audit', title: 'Audit log', nav: 'Audit', role: 'admin', component: lazy(() => import('./pages/admin/Audit')) },
  { path: '/admin/system', title: 'System', nav: 'System', role: 'admin', component: lazy(() => import('./pages/admin/System')) },
  { path: '/account', title: 'Account', component: lazy(() => import('./pages/Account')) },
];

function NotFound() {
  return (
    <div class="empty">
      <strong>Page not found</strong>
      <div><Link href="/live">Go to live view</Link></div>
    </div>
  );
}

function Forbidden() {
  return (
    <div class="empty" data-testid="forbidden">
      <strong>Your role cannot open this page</strong>
      <div><Link href="/live">Go to live view</Link></div>
    </div>
  );
}

function here(): string {
  return location().path + location().search;
}

export default function App() {
  setUnauthenticatedHandler(() => {
    if (location().path !== '/login') navigate(`/login?expired=1&next=${encodeURIComponent(here())}`, { replace: true });
    forget();
  });
  onMount(() => void loadMe());

  // Signed out anywhere but the login page: go there, and come back after.
  createEffect(() => {
    const s = sessionState();
    const path = location().path;
    if (s === 'signed-out' && path !== '/login') navigate(`/login?next=${encodeURIComponent(here())}`, { replace: true });
    if (s === 'signed-in' && (path === '/' || path === '/index.html')) navigate('/live', { replace: true });
  });

  // Each page change confirms the session is still alive, so a session that
  // expired or was revoked returns to sign-in even on a page that asks nothing.
  createEffect(on(() => location().path, () => {
    if (sessionState() === 'signed-in') api.get('/api/v1/auth/me').catch(() => undefined);
  }, { defer: true }));

  const current = createMemo(() => {
    const path = location().path;
    for (const r of routes) {
      const params = matchPath(r.path, path);
      if (params) return { route: r, params };
    }
    return null;
  });

  createEffect(() => {
    const c = current();
    document.title = c ? `${c.route.title} · Horus` : location().path === '/login' ? 'Sign in · Horus' : 'Horus';
  });

  return (
    <Switch fallback={<div class="boot"><Spinner /></div>}>
      <Match when={location().path === '/login'}>
        <Login />
      </Match>
      <Match when={sessionState() === 'unreachable'}>
        <main class="boot">
          <ErrorBox error={new Error('The Horus server cannot be reached.')} onRetry={() => void loadMe()} />
        </main>
      </Match>
      <Match when={sessionState() === 'signed-in' && me()?.must_change_password}>
        <ForcedPasswordChange />
      </Match>
      <Match when={sessionState() === 'signed-in' && me()?.must_enroll_mfa}>
        <Suspense fallback={<div class="boot"><Spinner /></div>}>
          <ForcedMfaEnrolment />
        </Suspense>
      </Match>
      <Match when={sessionState() === 'signed-in'}>
        <div class="shell">
          <a class="skip" href="#main">Skip to content</a>
          <header class="topbar">
            <Link class="brand" href="/live" aria-label="Horus home">
              <img src="/icon.svg" alt="" width="24" height="24" />
              <span>Horus</span>
            </Link>
            <nav aria-label="Main">
              <ul>
                <For each={routes.filter((r) => r.nav && (!r.role || hasRole(r.role)))}>
                  {(r) => (
                    <li>
                      <Link href={r.path.replace(/\/:[a-z]+\?$/, '')}
                            aria-current={current()?.route === r ? 'page' : undefined}>{r.nav}</Link>
                    </li>
                  )}
                </For>
              </ul>
            </nav>
            <div class="topbar-end">
              <button type="button" class="icon-button" onClick={toggleTheme}
                      aria-label={theme() === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
                      title="Theme">{theme() === 'dark' ? '☀' : '☾'}</button>
              <Link class="user" href="/account" title="Account">{me()?.name}</Link>
              <button type="button" onClick={async () => { await signOut(); navigate('/login', { replace: true }); }}>Sign out</button>
            </div>
          </header>
          <main id="main" tabindex="-1">
            <ErrorBoundary fallback={(err, reset) => <ErrorBox error={err} onRetry={reset} />}>
              <Suspense fallback={<Spinner />}>
                <Show when={current()} fallback={<NotFound />}>
                  {(c) => (
                    <Show when={!c().route.role || hasRole(c().route.role!)} fallback={<Forbidden />}>
                      <Dynamic component={c().route.component} params={c().params} />
                    </Show>
                  )}
                </Show>
              </Suspense>
            </ErrorBoundary>
          </main>
        </div>
      </Match>
    </Switch>
  );
}
