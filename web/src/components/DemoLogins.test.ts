// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { fetchDemoLogins } from './DemoLogins';

const answer = (status: number, body: unknown) =>
  (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;

describe('the demo logins of the login page', () => {
  it('lists what a demo server publishes', async () => {
    const logins = await fetchDemoLogins(
      '/demo.json',
      answer(200, { accounts: [{ email: 'alice@demo.rialto.dev', password: 'p' }] }),
    );
    expect(logins).toEqual([{ email: 'alice@demo.rialto.dev', password: 'p' }]);
  });

  it('shows none for a server without a demo, or a malformed list', async () => {
    expect(await fetchDemoLogins('/demo.json', answer(404, {}))).toEqual([]);
    expect(await fetchDemoLogins('/demo.json', answer(200, { accounts: [{ email: 1 }] }))).toEqual(
      [],
    );
    const offline = (async () => {
      throw new TypeError('network down');
    }) as unknown as typeof fetch;
    expect(await fetchDemoLogins('/demo.json', offline)).toEqual([]);
  });
});
