/**
 * A demo server's shared logins (`/demo.json`), each with a button that fills the login
 * form, so a new user is trading within a minute. Renders nothing when there are none.
 */
import { For, Show } from 'solid-js';
import type { DemoLogin } from '../platform/platform';

export default function DemoLogins(props: {
  logins: DemoLogin[];
  onPick: (login: DemoLogin) => void;
}) {
  return (
    <Show when={props.logins.length > 0}>
      <div data-testid="demo-logins">
        <p class="muted">Demo accounts (funded, shared by everyone on this demo):</p>
        <ul class="stack" style={{ 'list-style': 'none', padding: 0, margin: 0 }}>
          <For each={props.logins}>
            {(login) => (
              <li class="row" style={{ 'justify-content': 'space-between' }}>
                <span>{login.email}</span>
                <button
                  type="button"
                  aria-label={`Use ${login.email}`}
                  onClick={() => props.onPick(login)}
                >
                  Use
                </button>
              </li>
            )}
          </For>
        </ul>
      </div>
    </Show>
  );
}

/** The logins a same-origin demo server lists; empty for any other server. */
export async function fetchDemoLogins(
  url = '/demo.json',
  fetchImpl: typeof fetch = fetch,
): Promise<DemoLogin[]> {
  try {
    const r = await fetchImpl(url);
    if (!r.ok) return [];
    const body = (await r.json()) as { accounts?: unknown };
    return Array.isArray(body.accounts)
      ? body.accounts.filter(
          (a): a is DemoLogin =>
            typeof a === 'object' &&
            a !== null &&
            typeof (a as DemoLogin).email === 'string' &&
            typeof (a as DemoLogin).password === 'string',
        )
      : [];
  } catch {
    return [];
  }
}
