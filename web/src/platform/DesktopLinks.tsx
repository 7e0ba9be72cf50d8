/**
 * Client-side navigation for the app's own links inside the desktop app. The router
 * handles clicks on http(s) links only, and the page's origin there is `tauri://localhost`
 * (Linux, macOS): without this, every link would load the page again, and with it drop
 * the session when there is no keychain. Same rules as the router's: a plain left click on
 * a same-origin link without a target or download.
 */
import { useNavigate } from '@solidjs/router';
import { onCleanup } from 'solid-js';

export default function DesktopLinks() {
  const navigate = useNavigate();
  function onClick(e: MouseEvent) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.altKey || e.ctrlKey || e.shiftKey) {
      return;
    }
    const a = e.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement);
    if (!a || !a.href || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href);
    if (url.protocol === 'http:' || url.protocol === 'https:') return; // the router's
    if (url.protocol !== location.protocol || url.host !== location.host) return;
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  }
  document.addEventListener('click', onClick);
  onCleanup(() => document.removeEventListener('click', onClick));
  return null;
}
