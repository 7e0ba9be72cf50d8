/** Log in. Shows why the last session ended, if it ended by itself. */
import { A, useNavigate, useSearchParams } from '@solidjs/router';
import { Show, createResource, createSignal, lazy } from 'solid-js';
import DemoLogins, { fetchDemoLogins } from '../components/DemoLogins';
import { safeNext } from '../lib/nav';
import { useStores } from '../stores';

/** The desktop app's server line and demo logins (loaded in the desktop app only). */
const DesktopLogin = lazy(() => import('../platform/DesktopLogin'));

export default function Login() {
  const { auth, desktop } = useStores();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);
  // In the browser, a demo server (`rialto serve --demo`) lists its logins; the desktop app
  // reads them from the server it connected to (DesktopLogin).
  const [demoLogins] = createResource(
    () => !desktop,
    () => fetchDemoLogins(),
  );

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    setBusy(true);
    setError(await auth.login(email().trim(), password()));
    setBusy(false);
    if (!error()) navigate(safeNext(params.next), { replace: true });
  }

  return (
    <section class="panel auth-card">
      <h1>Log in</h1>
      <Show when={auth.endedMessage()}>
        <p role="alert" class="form-error">
          {auth.endedMessage()}
        </p>
      </Show>
      <form class="stack" onSubmit={submit}>
        <label>
          Email
          <input
            type="email"
            name="email"
            autocomplete="username"
            required
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password()}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <Show when={error()}>
          <p role="alert" class="form-error">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>
          {busy() ? 'Logging in…' : 'Log in'}
        </button>
        <p class="muted">
          New here? <A href="/signup">Create an account</A>
        </p>
      </form>
      <DemoLogins
        logins={demoLogins() ?? []}
        onPick={(login) => {
          setEmail(login.email);
          setPassword(login.password);
        }}
      />
      <Show when={desktop}>
        {(d) => (
          <DesktopLogin
            desktop={d()}
            onPick={(login) => {
              setEmail(login.email);
              setPassword(login.password);
            }}
          />
        )}
      </Show>
    </section>
  );
}
