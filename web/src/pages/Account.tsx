/**
 * The signed-in user's account: profile (with the user id an admin needs to credit it),
 * balances, API keys (the secret is shown once, with a copy button) and password change.
 */
import { For, Show, createResource, createSignal } from 'solid-js';
import { Balances } from '../components/Balances';
import type { ApiKeyFieldsFragment, ApiScope } from '../graphql/gql/graphql';
import { mutate, query } from '../graphql/live';
import {
  ApiKeysQuery,
  ChangePasswordMutation,
  CreateApiKeyMutation,
  RevokeApiKeyMutation,
} from '../graphql/operations';
import { copyText } from '../platform/web';
import { useStores } from '../stores';

export default function Account() {
  const { auth, balances } = useStores();
  return (
    <Show
      when={auth.user()}
      fallback={
        <p>
          Please <a href="/login?next=/account">log in</a>.
        </p>
      }
    >
      {(user) => (
        <div class="stack" style={{ 'max-width': '900px', margin: '0 auto' }}>
          <section class="panel">
            <h1 style={{ 'margin-top': 0, 'font-size': '18px' }}>{user().displayName}</h1>
            <p>
              {user().email} · {user().role === 'ADMIN' ? 'Administrator' : 'Trader'}
            </p>
            <p class="muted">
              Your user id (an administrator needs it to credit your account):{' '}
              <code data-testid="user-id">{user().id}</code>{' '}
              <CopyButton text={user().id} label="Copy user id" />
            </p>
          </section>
          <section class="panel" aria-labelledby="acct-balances">
            <h2 id="acct-balances">Balances</h2>
            <Balances balances={balances.list()} />
          </section>
          <ApiKeys />
          <ChangePassword />
        </div>
      )}
    </Show>
  );
}

function CopyButton(props: { text: string; label: string }) {
  const [done, setDone] = createSignal(false);
  return (
    <button
      type="button"
      aria-label={props.label}
      onClick={async () => {
        setDone(await copyText(props.text));
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done() ? 'Copied' : 'Copy'}
    </button>
  );
}

function ApiKeys() {
  const { auth } = useStores();
  const [keys, { refetch }] = createResource(async () => {
    const r = await query(auth.api.client, ApiKeysQuery, {});
    return r.data?.apiKeys ?? [];
  });
  const [name, setName] = createSignal('');
  const [scopes, setScopes] = createSignal<ApiScope[]>(['READ']);
  const [secret, setSecret] = createSignal<string | null>(null);
  const [error, setError] = createSignal<string | null>(null);

  const toggle = (s: ApiScope, on: boolean) =>
    setScopes((list) => (on ? [...new Set([...list, s])] : list.filter((x) => x !== s)));

  async function create(e: SubmitEvent) {
    e.preventDefault();
    setError(null);
    if (!name().trim()) return setError('Give the key a name');
    if (scopes().length === 0) return setError('Choose at least one scope');
    const r = await mutate(auth.api.client, CreateApiKeyMutation, {
      name: name().trim(),
      scopes: scopes(),
    });
    if (r.error !== null) return setError(r.error);
    setSecret(r.data.createApiKey.secret);
    setName('');
    void refetch();
  }
  async function revoke(k: ApiKeyFieldsFragment) {
    if (!confirm(`Revoke the key “${k.name}”? Requests using it fail at once.`)) return;
    const r = await mutate(auth.api.client, RevokeApiKeyMutation, { id: k.id });
    if (r.error !== null) setError(r.error);
    void refetch();
  }

  return (
    <section class="panel stack" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <form class="row" onSubmit={create}>
        <label>
          Name
          <input name="keyName" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset class="row" style={{ border: 'none', padding: 0, margin: 0 }}>
          <legend class="visually-hidden">Scopes</legend>
          <label class="inline">
            <input
              type="checkbox"
              checked={scopes().includes('READ')}
              onChange={(e) => toggle('READ', e.currentTarget.checked)}
            />
            Read
          </label>
          <label class="inline">
            <input
              type="checkbox"
              checked={scopes().includes('TRADE')}
              onChange={(e) => toggle('TRADE', e.currentTarget.checked)}
            />
            Trade
          </label>
        </fieldset>
        <button type="submit" class="primary">
          Create key
        </button>
      </form>
      <Show when={error()}>
        <p class="form-error" role="alert">
          {error()}
        </p>
      </Show>
      <Show when={secret()}>
        {(s) => (
          <div role="status">
            <p>
              <strong>Copy this secret now: it is not shown again.</strong>
            </p>
            <p class="secret" data-testid="api-secret">
              {s()}
            </p>
            <div class="row">
              <CopyButton text={s()} label="Copy the secret" />
              <button type="button" onClick={() => setSecret(null)}>
                I have stored it
              </button>
            </div>
          </div>
        )}
      </Show>
      <Show when={(keys() ?? []).length > 0} fallback={<p class="muted">No API keys.</p>}>
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={keys()}>
                {(k) => (
                  <tr>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}</code>
                    </td>
                    <td>{k.scopes.join(', ')}</td>
                    <td>{new Date(k.createdAt).toLocaleString()}</td>
                    <td>{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : '—'}</td>
                    <td>
                      <Show when={!k.revokedAt} fallback={<span class="muted">Revoked</span>}>
                        <button
                          type="button"
                          aria-label={`Revoke ${k.name}`}
                          onClick={() => void revoke(k)}
                        >
                          Revoke
                        </button>
                      </Show>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
    </section>
  );
}

function ChangePassword() {
  const { auth } = useStores();
  const [current, setCurrent] = createSignal('');
  const [next, setNext] = createSignal('');
  const [repeat, setRepeat] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    setError(null);
    if (next() !== repeat()) return setError('The new passwords differ');
    const r = await mutate(auth.api.client, ChangePasswordMutation, {
      currentPassword: current(),
      newPassword: next(),
    });
    if (r.error !== null) return setError(r.error);
    // The server signs out every session, this one included.
    auth.endSession('Your password was changed. Please log in with the new one.');
  }

  return (
    <section class="panel" aria-labelledby="pw-title">
      <h2 id="pw-title">Change password</h2>
      <form class="stack" style={{ 'max-width': '360px' }} onSubmit={submit}>
        <label>
          Current password
          <input
            type="password"
            autocomplete="current-password"
            value={current()}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <label>
          New password
          <input
            type="password"
            autocomplete="new-password"
            value={next()}
            onInput={(e) => setNext(e.currentTarget.value)}
          />
        </label>
        <label>
          New password again
          <input
            type="password"
            autocomplete="new-password"
            value={repeat()}
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </label>
        <Show when={error()}>
          <p class="form-error" role="alert">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary">
          Change password
        </button>
      </form>
    </section>
  );
}
