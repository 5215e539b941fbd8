// A small history-API router: the current path as a signal, navigate(),
// <Link> for same-origin links, and route matching with :params.
import { createSignal, JSX, splitProps } from 'solid-js';
export { matchPath } from './path';

const [location, setLocation] = createSignal({ path: window.location.pathname, search: window.location.search });
export { location };

window.addEventListener('popstate', () =>
  setLocation({ path: window.location.pathname, search: window.location.search }));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const u = new URL(to, window.location.origin);
  if (u.pathname + u.search === window.location.pathname + window.location.search) return;
  if (opts.replace) window.history.replaceState(null, '', u.pathname + u.search);
  else window.history.pushState(null, '', u.pathname + u.search);
  setLocation({ path: u.pathname, search: u.search });
  window.scrollTo(0, 0);
}

export function query(): URLSearchParams {
  return new URLSearchParams(location().search);
}

// Replaces the query string without a history entry (page state such as a
// timeline position that should survive a reload).
export function setQuery(params: Record<string, string | null | undefined>): void {
  const q = new URLSearchParams(location().search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location().path + (s ? `?${s}` : ''), { replace: true });
}

export function Link(props: JSX.AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const [local, rest] = splitProps(props, ['href', 'onClick']);
  return (
    <a
      href={local.href}
      onClick={(e) => {
        if (typeof local.onClick === 'function') (local.onClick as (ev: MouseEvent) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(local.href);
      }}
      {...rest}
    />
  );
}
