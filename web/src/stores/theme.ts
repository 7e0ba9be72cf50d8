/** Dark by default, light on request; the choice is remembered. */
import { createEffect, createSignal } from 'solid-js';
import { preference } from '../platform/web';

export type Theme = 'dark' | 'light';

export function createThemeStore() {
  const pref = preference('theme');
  const [theme, setTheme] = createSignal<Theme>(pref.get() === 'light' ? 'light' : 'dark');
  createEffect(() => {
    document.documentElement.dataset.theme = theme();
    pref.set(theme());
  });
  return {
    theme,
    toggle: () => setTheme((t) => (t === 'dark' ? 'light' : 'dark')),
  };
}

export type ThemeStore = ReturnType<typeof createThemeStore>;
