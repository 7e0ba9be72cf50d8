/**
 * The desktop app's first-run screen, shown when no server is set: try the local demo
 * (the app starts it), or enter a server's address. A new server needs a restart (the
 * app's content security policy is fixed at start); the screen says so and offers it.
 */
import { Show, createSignal } from 'solid-js';
import {
  type Connection,
  type Settings,
  describeCommandError,
  restartApp,
  setServer,
  startDemo,
} from './tauri';

export function Connect(props: {
  settings: Settings | null;
  onConnected: (connection: Connection) => void;
}) {
  // The settings at start only: the screen is shown once.
  const initial = props.settings; // eslint-disable-line solid/reactivity
  const [url, setUrl] = createSignal(initial?.serverUrl ?? '');
  const [busy, setBusy] = createSignal<'demo' | 'server' | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const [restartFor, setRestartFor] = createSignal<string | null>(
    initial?.restartRequired ? initial.serverUrl : null,
  );

  async function tryDemo() {
    setBusy('demo');
    setError(null);
    try {
      props.onConnected(await startDemo());
    } catch (e) {
      setError(describeCommandError(e));
      setBusy(null);
    }
  }

  async function connect(e: SubmitEvent) {
    e.preventDefault();
    setBusy('server');
    setError(null);
    try {
      const r = await setServer(url().trim());
      if ('connection' in r) return props.onConnected(r.connection);
      setRestartFor(r.restart.serverUrl);
    } catch (err) {
      setError(describeCommandError(err));
    }
    setBusy(null);
  }

  async function restart() {
    try {
      await restartApp();
    } catch (e) {
      setError(describeCommandError(e));
    }
  }

  return (
    <>
      <header class="header">
        <span class="brand">Rialto</span>
      </header>
      <main>
        <section class="panel auth-card stack" aria-labelledby="connect-title">
          <h1 id="connect-title">Welcome to Rialto</h1>
          <p class="muted">
            Trade on a Rialto server, or try the local demo: a market with a market maker, on this
            computer.
          </p>
          <button type="button" class="primary" disabled={busy() !== null} onClick={tryDemo}>
            {busy() === 'demo' ? 'Starting the local demo…' : 'Try the local demo'}
          </button>
          <form class="stack" onSubmit={connect}>
            <label>
              Server URL
              <input
                type="url"
                name="server"
                placeholder="https://rialto.example.com"
                required
                value={url()}
                onInput={(e) => setUrl(e.currentTarget.value)}
              />
            </label>
            <button type="submit" disabled={busy() !== null}>
              {busy() === 'server' ? 'Connecting…' : 'Connect'}
            </button>
          </form>
          <Show when={restartFor()}>
            {(server) => (
              <p role="status">
                Rialto restarts to connect to <code>{server()}</code>.{' '}
                <button type="button" class="primary" onClick={restart}>
                  Restart now
                </button>
              </p>
            )}
          </Show>
          <Show when={error()}>
            <p role="alert" class="form-error">
              {error()}
            </p>
          </Show>
        </section>
      </main>
    </>
  );
}
