/**
 * @vitest-environment jsdom
 *
 * The desktop platform against a fake app: `mockIPC` stands in for the IPC bridge (the
 * one boundary mocked), so these run the real `invoke`/`listen` of @tauri-apps/api.
 */
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RefreshRejected, type Session } from '../graphql/auth';
import type { Order } from '../stores/orders';
import {
  type Settings,
  commandError,
  demoLogins,
  desktopHooks,
  fillOf,
  initialConnection,
  keychainStorage,
  listenActions,
  notifyFill,
  parseAction,
  resumeSession,
  setServer,
  startDemo,
} from './tauri';

type Call = [string, Record<string, unknown> | undefined];

/** A fake app: `handlers[cmd](args)` answers, a missing one throws INTERNAL; records calls. */
function fakeApp(
  handlers: Record<string, (args: Record<string, unknown>) => unknown>,
  options?: { shouldMockEvents?: boolean },
) {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown> | undefined;
    calls.push([cmd, a]);
    const h = handlers[cmd];
    if (!h) throw { code: 'INTERNAL', message: `no ${cmd}` };
    return h(a ?? {});
  }, options);
  return calls;
}

const NO_SERVER: Settings = {
  serverUrl: null,
  graphqlUrl: null,
  graphqlWsUrl: null,
  trayMarket: null,
  restartRequired: false,
};
const SERVER: Settings = {
  ...NO_SERVER,
  serverUrl: 'https://rialto.example.com',
  graphqlUrl: 'https://rialto.example.com/graphql',
  graphqlWsUrl: 'wss://rialto.example.com/graphql',
};
const DEMO = {
  serverUrl: 'http://127.0.0.1:40123',
  graphqlUrl: 'http://127.0.0.1:40123/graphql',
  graphqlWsUrl: 'ws://127.0.0.1:40123/graphql',
};

function session(refreshToken: string): Session {
  return {
    accessToken: 'a',
    refreshToken,
    accessTokenExpiresAt: '2030-01-01T00:00:00Z',
    expiresAtLocal: 0,
    user: { id: 'u1', email: 'a@b.c', displayName: 'A', role: 'TRADER' },
  };
}

function order(over: Partial<Order>): Order {
  return {
    id: 'o1',
    clientOrderId: null,
    market: { symbol: 'ACME-USD' },
    side: 'BUY',
    type: 'LIMIT',
    timeInForce: 'GTC',
    postOnly: false,
    price: '25.10',
    quantity: '5',
    filledQuantity: '0',
    averagePrice: null,
    status: 'OPEN',
    reason: null,
    createdAt: '2030-01-01T00:00:00Z',
    updatedAt: '2030-01-01T00:00:00Z',
    ...over,
  } as Order;
}

afterEach(() => clearMocks());

describe('where to connect', () => {
  it('uses the server in the settings, with its absolute URLs', async () => {
    const calls = fakeApp({ settings_get: () => SERVER });
    const { connection } = await initialConnection();
    expect(connection).toEqual({
      server: 'https://rialto.example.com',
      http: 'https://rialto.example.com/graphql',
      ws: 'wss://rialto.example.com/graphql',
      demo: false,
    });
    expect(calls.map((c) => c[0])).toEqual(['settings_get']);
  });

  it('without a server, a demo that already runs; else asks', async () => {
    fakeApp({ settings_get: () => NO_SERVER, demo_status: () => DEMO });
    expect((await initialConnection()).connection).toMatchObject({
      demo: true,
      ws: DEMO.graphqlWsUrl,
    });
    fakeApp({ settings_get: () => NO_SERVER, demo_status: () => null });
    expect((await initialConnection()).connection).toBeNull();
  });

  it('a server waiting for a restart is not used yet', async () => {
    fakeApp({
      settings_get: () => ({ ...SERVER, restartRequired: true }),
      demo_status: () => null,
    });
    const r = await initialConnection();
    expect(r.connection).toBeNull();
    expect(r.settings?.restartRequired).toBe(true);
  });

  it('starts the demo on request', async () => {
    fakeApp({ demo_start: () => DEMO });
    expect(await startDemo()).toEqual({
      server: DEMO.serverUrl,
      http: DEMO.graphqlUrl,
      ws: DEMO.graphqlWsUrl,
      demo: true,
    });
  });

  it('a new server: restart, or the refusal with its code', async () => {
    const calls = fakeApp({
      settings_set_server: ({ url }) => {
        if (url === 'https://x.example/graphql') {
          throw { code: 'INVALID_SERVER_URL', message: 'a path is not allowed' };
        }
        return { ...SERVER, restartRequired: true };
      },
    });
    expect(await setServer('https://rialto.example.com')).toEqual({
      restart: { ...SERVER, restartRequired: true },
    });
    expect(calls[0]).toEqual(['settings_set_server', { url: 'https://rialto.example.com' }]);
    const refused = await setServer('https://x.example/graphql').catch((e: unknown) => e);
    expect(commandError(refused)).toEqual({
      code: 'INVALID_SERVER_URL',
      message: 'a path is not allowed',
    });
  });
});

describe('the refresh token in the keychain', () => {
  it('saves each new refresh token in order, once, and clears on sign-out', async () => {
    const calls = fakeApp({ token_save: () => null, token_clear: () => null });
    const s = keychainStorage(DEMO.serverUrl);
    s.save(session('r1'));
    s.save(session('r1')); // the same pair again (e.g. adopted): not rewritten
    s.save(session('r2')); // rotated by a refresh
    expect(s.load()?.refreshToken).toBe('r2');
    s.save(null);
    await s.settled();
    expect(calls).toEqual([
      ['token_save', { server: DEMO.serverUrl, token: 'r1' }],
      ['token_save', { server: DEMO.serverUrl, token: 'r2' }],
      ['token_clear', { server: DEMO.serverUrl }],
    ]);
    expect(s.load()).toBeNull();
  });

  it('without a keychain, carries on in memory and stops asking', async () => {
    const calls = fakeApp({
      token_load: () => {
        throw { code: 'KEYCHAIN_UNAVAILABLE', message: 'no Secret Service' };
      },
    });
    const s = keychainStorage(DEMO.serverUrl);
    expect(await s.loadToken()).toBeNull();
    expect(s.available()).toBe(false);
    s.save(session('r1'));
    await s.settled();
    expect(s.load()?.refreshToken).toBe('r1');
    expect(calls.map((c) => c[0])).toEqual(['token_load']);
    expect(globalThis.localStorage.length).toBe(0);
  });

  it('never writes the session to localStorage', async () => {
    fakeApp({ token_save: () => null });
    const s = keychainStorage(SERVER.serverUrl as string);
    s.save(session('secret-refresh'));
    await s.settled();
    expect(JSON.stringify({ ...globalThis.localStorage })).not.toContain('secret-refresh');
  });

  it('resumes with the kept token; a refused one is cleared, an unreachable server keeps it', async () => {
    const calls = fakeApp({ token_load: () => 'kept', token_clear: () => null });
    const resume = vi.fn(async () => {});
    expect(await resumeSession(keychainStorage('s'), resume)).toBe('resumed');
    expect(resume).toHaveBeenCalledWith('kept');

    const refused = keychainStorage('s');
    expect(
      await resumeSession(refused, async () => {
        throw new RefreshRejected();
      }),
    ).toBe('refused');
    await refused.settled();
    expect(calls.at(-1)).toEqual(['token_clear', { server: 's' }]);

    calls.length = 0;
    const offline = keychainStorage('s');
    expect(
      await resumeSession(offline, async () => {
        throw new Error('network');
      }),
    ).toBe('unreachable');
    await offline.settled();
    expect(calls.map((c) => c[0])).toEqual(['token_load']);
  });

  it('nothing kept: nothing to resume', async () => {
    fakeApp({ token_load: () => null });
    const resume = vi.fn(async () => {});
    expect(await resumeSession(keychainStorage('s'), resume)).toBe('none');
    expect(resume).not.toHaveBeenCalled();
  });
});

describe('fill notifications', () => {
  it('reports what filled since last time, at the average price', () => {
    expect(
      fillOf(order({ filledQuantity: '5', averagePrice: '25.04', status: 'FILLED' }), '0'),
    ).toEqual({
      market: 'ACME-USD',
      side: 'BUY',
      quantity: '5',
      price: '25.04',
      partial: false,
    });
    expect(
      fillOf(order({ side: 'SELL', filledQuantity: '3.5', averagePrice: '25.1' }), '1.25'),
    ).toEqual({ market: 'ACME-USD', side: 'SELL', quantity: '2.25', price: '25.1', partial: true });
    expect(fillOf(order({ filledQuantity: '2' }), '2')).toBeNull();
  });

  it('asks the app to notify, and shrugs off a missing notification daemon', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const calls = fakeApp({
      notify_fill: () => {
        throw { code: 'INTERNAL', message: 'no daemon' };
      },
    });
    notifyFill(order({ filledQuantity: '2', averagePrice: '25.05' }), '0');
    await vi.waitFor(() => expect(warn).toHaveBeenCalled());
    expect(calls).toEqual([
      [
        'notify_fill',
        {
          fill: {
            market: 'ACME-USD',
            side: 'BUY',
            quantity: '2',
            price: '25.05',
            partial: true,
          },
        },
      ],
    ]);
  });
});

describe('menu and tray actions', () => {
  it('reads only the known actions', () => {
    expect(parseAction({ action: 'buy' })).toBe('buy');
    expect(parseAction({ action: 'cancel-all' })).toBe('cancel-all');
    expect(parseAction({ action: 'quit' })).toBeNull();
    expect(parseAction('buy')).toBeNull();
    expect(parseAction(null)).toBeNull();
  });

  it('hears rialto:action until stopped', async () => {
    fakeApp({}, { shouldMockEvents: true });
    const heard: string[] = [];
    const stop = listenActions((a) => heard.push(a));
    await vi.waitFor(async () => {
      await emit('rialto:action', { action: 'sell' });
      expect(heard).toContain('sell');
    });
    await emit('rialto:action', { action: 'bogus' });
    await emit('rialto:action', { action: 'cancel-all' });
    expect(heard.slice(-1)).toEqual(['cancel-all']);
    stop();
    await emit('rialto:action', { action: 'buy' });
    expect(heard).not.toContain('buy');
  });
});

describe('desktop controls', () => {
  it('lists the demo logins from /demo.json', async () => {
    const fetchImpl = vi.fn(
      async () =>
        new Response(
          JSON.stringify({ accounts: [{ email: 'alice@demo', password: 'pw' }, { x: 1 }] }),
        ),
    );
    expect(await demoLogins(DEMO.serverUrl, fetchImpl as unknown as typeof fetch)).toEqual([
      { email: 'alice@demo', password: 'pw' },
    ]);
    expect(fetchImpl).toHaveBeenCalledWith(`${DEMO.serverUrl}/demo.json`);
    const failing = vi.fn(async () => {
      throw new TypeError('refused');
    });
    expect(await demoLogins(DEMO.serverUrl, failing as unknown as typeof fetch)).toEqual([]);
  });

  it('leaving the demo stops it; leaving a server forgets it; both start over', async () => {
    const calls = fakeApp({ demo_stop: () => null, settings_set_server: () => NO_SERVER });
    const reload = vi.fn();
    const demo = { server: DEMO.serverUrl, http: '', ws: '', demo: true };
    await desktopHooks(demo, keychainStorage(demo.server), reload).desktop.disconnect();
    const remote = { server: 'https://r.example', http: '', ws: '', demo: false };
    await desktopHooks(remote, keychainStorage(remote.server), reload).desktop.disconnect();
    expect(calls).toEqual([
      ['demo_stop', {}],
      ['settings_set_server', { url: null }],
    ]);
    expect(reload).toHaveBeenCalledTimes(2);
  });

  it('puts a market in the tray, or says why not', async () => {
    fakeApp({
      settings_set_tray_market: ({ market }) => {
        if (market !== 'ACME-USD') throw { code: 'INVALID_MARKET', message: 'not BASE-QUOTE' };
        return { ...NO_SERVER, trayMarket: market };
      },
    });
    const { desktop } = desktopHooks(
      { server: 's', http: '', ws: '', demo: false },
      keychainStorage('s'),
    );
    expect(await desktop.setTrayMarket('ACME-USD')).toBeNull();
    expect(await desktop.setTrayMarket('acme')).toBe('not BASE-QUOTE');
  });
});
