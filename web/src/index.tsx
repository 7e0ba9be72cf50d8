/** Entry point: create the stores once, then render the app. */
import { createRoot } from 'solid-js';
import { render } from 'solid-js/web';
import { App } from './App';
import { createStores } from './stores';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('no #root element');
if ('__TAURI_INTERNALS__' in window) {
  // Inside the desktop app (desktop/README.md): its platform, loaded only there.
  void import('./platform/desktop').then((m) => m.startDesktop(root));
} else {
  // The stores live as long as the page: created in their own root, outside rendering.
  const stores = createRoot(() => createStores());
  render(() => <App stores={stores} />, root);
}
