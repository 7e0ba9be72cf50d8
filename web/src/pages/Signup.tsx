/** Create an account (signs in at once). */
import { A, useNavigate } from '@solidjs/router';
import { Show, createSignal } from 'solid-js';
import { useStores } from '../stores';

export default function Signup() {
  const { auth } = useStores();
  const navigate = useNavigate();
  const [email, setEmail] = createSignal('');
  const [name, setName] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [busy, setBusy] = createSignal(false);

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    setBusy(true);
    setError(await auth.register(email().trim(), password(), name().trim()));
    setBusy(false);
    if (!error()) navigate('/markets', { replace: true });
  }

  return (
    <section class="panel auth-card">
      <h1>Sign up</h1>
      <form class="stack" onSubmit={submit}>
        <label>
          Email
          <input
            type="email"
            name="email"
            autocomplete="email"
            required
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </label>
        <label>
          Display name
          <input
            name="displayName"
            autocomplete="nickname"
            required
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete="new-password"
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
          {busy() ? 'Creating…' : 'Create account'}
        </button>
        <p class="muted">
          Have an account? <A href="/login">Log in</A>
        </p>
      </form>
    </section>
  );
}
