// Route patterns: pure, so Vitest can test them without a DOM.

// "/cameras/:id" against "/cameras/door" gives { id: "door" }; null when no match.
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const optional = p[i].endsWith('?');
    const name = optional ? p[i].slice(0, -1) : p[i];
    if (i >= s.length) {
      if (optional) continue;
      return null;
    }
    if (name.startsWith(':')) params[name.slice(1)] = decodeURIComponent(s[i]);
    else if (name !== s[i]) return null;
  }
  return s.length <= p.length ? params : null;
}
