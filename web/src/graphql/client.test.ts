import { Client, fetchExchange, gql } from '@urql/core';
import { describe, expect, it, vi } from 'vitest';
import { type ApiAuth, authExchange, endpoints } from './client';

const Q = gql`
  query Me {
    me {
      id
    }
  }
`;

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}
const unauthenticated = () =>
  json({ errors: [{ message: 'token expired', extensions: { code: 'UNAUTHENTICATED' } }] });

function setup(responses: Array<() => Response>, auth: Partial<ApiAuth> = {}) {
  let token: string | null = 'old';
  const a: ApiAuth = {
    token: () => token,
    isExpired: () => false,
    refresh: vi.fn(async () => {
      token = 'new';
      return true;
    }),
    ...auth,
  };
  const seen: (string | null)[] = [];
  const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
    seen.push(new Headers(init?.headers).get('authorization'));
    const next = responses.shift();
    if (!next) throw new Error('unexpected request');
    return next();
  });
  const client = new Client({
    url: 'http://test/graphql',
    fetch: fetch as unknown as typeof globalThis.fetch,
    requestPolicy: 'network-only',
    fetchOptions: () => {
      const t = a.token();
      return t ? { headers: { authorization: `Bearer ${t}` } } : {};
    },
    exchanges: [authExchange(a), fetchExchange],
  });
  return { client, auth: a, seen, fetch };
}

describe('authExchange', () => {
  it('refreshes once on UNAUTHENTICATED and retries with the new token', async () => {
    const { client, auth, seen } = setup([
      unauthenticated,
      () => json({ data: { me: { id: 'u1' } } }),
    ]);
    const r = await client.query(Q, {}).toPromise();
    expect(r.data).toEqual({ me: { id: 'u1' } });
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
  });

  it('does not loop: a second UNAUTHENTICATED is returned', async () => {
    const { client, auth } = setup([unauthenticated, unauthenticated]);
    const r = await client.query(Q, {}).toPromise();
    expect(r.error?.graphQLErrors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(auth.refresh).toHaveBeenCalledTimes(1);
  });

  it('returns the error when the refresh fails', async () => {
    const { client } = setup([unauthenticated], { refresh: async () => false });
    const r = await client.query(Q, {}).toPromise();
    expect(r.error?.graphQLErrors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refreshes first when the token is already expired', async () => {
    let expired = true;
    const { client, auth, seen } = setup([() => json({ data: { me: null } })], {
      isExpired: () => expired,
    });
    (auth.refresh as ReturnType<typeof vi.fn>).mockImplementation(async () => {
      expired = false;
      return true;
    });
    await client.query(Q, {}).toPromise();
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(seen).toHaveLength(1);
  });

  it('leaves anonymous and noAuth requests alone', async () => {
    const { client, auth, seen } = setup([unauthenticated], { token: () => null });
    await client.query(Q, {}).toPromise();
    expect(auth.refresh).not.toHaveBeenCalled();
    expect(seen).toEqual([null]);
    const s2 = setup([unauthenticated]);
    await s2.client.query(Q, {}, { noAuth: true, fetchOptions: {} }).toPromise();
    expect(s2.auth.refresh).not.toHaveBeenCalled();
    expect(s2.seen).toEqual([null]);
  });
});

describe('authExchange and mutations', () => {
  it('retries a mutation once after a refresh (safe: it was refused before running)', async () => {
    const M = gql`
      mutation Cancel($id: ID!) {
        cancelOrder(id: $id) {
          id
        }
      }
    `;
    const { client, auth, seen } = setup([
      unauthenticated,
      () => json({ data: { cancelOrder: { id: '7' } } }),
    ]);
    const r = await client.mutation(M, { id: '7' }).toPromise();
    expect(r.data).toEqual({ cancelOrder: { id: '7' } });
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
  });
});

describe('endpoints', () => {
  it('derives ws:// or wss:// from the page', () => {
    expect(endpoints({ protocol: 'http:', host: 'localhost:8080' })).toEqual({
      http: '/graphql',
      ws: 'ws://localhost:8080/graphql',
    });
    expect(endpoints({ protocol: 'https:', host: 'rialto.example' }).ws).toBe(
      'wss://rialto.example/graphql',
    );
  });
});
