// Dark and light themes: the system's preference until the user picks one,
// which is kept in localStorage.
import { createSignal } from 'solid-js';

export type Theme = 'dark' | 'light';
const KEY = 'horus.theme';

function initial(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'dark' || saved === 'light') return saved;
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

const [theme, setThemeSignal] = createSignal<Theme>(initial());
export { theme };

export function applyTheme(): void {
  document.documentElement.dataset.theme = theme();
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', theme() === 'dark' ? '#10151c' : '#f4f6f8');
}

export function toggleTheme(): void {
  setThemeSignal(theme() === 'dark' ? 'light' : 'dark');
  localStorage.setItem(KEY, theme());
  applyTheme();
}
