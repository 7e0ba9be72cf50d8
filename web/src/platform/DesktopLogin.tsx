/**
 * The desktop app's part of the login page: which server this is (with a way back to the
 * first-run screen), whether the sign-in is remembered, and, on the local demo, its demo
 * logins (`/demo.json`) to fill the form with.
 */
import { Show, createResource } from 'solid-js';
import DemoLogins from '../components/DemoLogins';
import type { DemoLogin, Desktop } from './platform';

export default function DesktopLogin(props: {
  desktop: Desktop;
  onPick: (login: DemoLogin) => void;
}) {
  const [logins] = createResource(
    () => props.desktop,
    (d) => d.demoLogins(),
  );
  return (
    <div class="stack" data-testid="desktop-server">
      <DemoLogins logins={logins() ?? []} onPick={(login) => props.onPick(login)} />
      <p class="muted">
        {props.desktop.demo ? 'On the local demo' : 'Server'} <code>{props.desktop.server}</code> ·{' '}
        <button type="button" onClick={() => void props.desktop.disconnect()}>
          {props.desktop.demo ? 'Leave the demo' : 'Change server'}
        </button>
      </p>
      <Show when={!props.desktop.remembersSignIn()}>
        <p class="muted">No keychain here: you will sign in again when Rialto restarts.</p>
      </Show>
    </div>
  );
}
