/**
 * Starts the web app inside the desktop app (Tauri): find or ask where to connect, create
 * the stores with the desktop's session storage and hooks, sign in again with the
 * keychain's refresh token, then render. index.tsx imports this only inside the app.
 */
import { createRoot } from 'solid-js';
import { render } from 'solid-js/web';
import { App } from '../App';
import { createStores } from '../stores';
import { Connect } from './Connect';
import {
  type Connection,
  type Settings,
  desktopHooks,
  initialConnection,
  keychainStorage,
  resumeSession,
} from './tauri';

export async function startDesktop(root: HTMLElement): Promise<void> {
  let settings: Settings | null = null;
  let connection: Connection | null = null;
  try {
    ({ connection, settings } = await initialConnection());
  } catch (e) {
    console.warn('settings_get', e);
  }
  connection ??= await new Promise<Connection>((resolve) => {
    const dispose = render(
      () => (
        <Connect
          settings={settings}
          onConnected={(c) => {
            dispose();
            resolve(c);
          }}
        />
      ),
      root,
    );
  });

  const storage = keychainStorage(connection.server);
  const platform = desktopHooks(connection, storage);
  const stores = createRoot(() =>
    createStores({ storage, api: { http: connection.http, ws: connection.ws }, platform }),
  );
  await resumeSession(storage, (token) => stores.auth.resume(token));
  render(() => <App stores={stores} />, root);
}
