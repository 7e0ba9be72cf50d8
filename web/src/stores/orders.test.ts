import { describe, expect, it } from 'vitest';
import { type Order, fillMessage, isLive, newClientOrderId, reasonText } from './orders';
import { mergeTrades } from './trades';
import { safeNext } from '../lib/nav';

const order = (over: Partial<Order> = {}): Order => ({
  id: '1',
  clientOrderId: null,
  market: { symbol: 'ACME-USD' },
  side: 'BUY',
  type: 'LIMIT',
  timeInForce: 'GTC',
  postOnly: false,
  price: '10',
  quantity: '5',
  filledQuantity: '5',
  averagePrice: '9.98',
  status: 'FILLED',
  reason: null,
  createdAt: '2026-12-03T12:00:00Z',
  updatedAt: '2026-12-03T12:00:01Z',
  ...over,
});

describe('orders', () => {
  it('words fills', () => {
    expect(fillMessage(order())).toBe('Filled: bought 5 ACME-USD at 9.98');
    expect(
      fillMessage(order({ side: 'SELL', filledQuantity: '2', status: 'PARTIALLY_FILLED' })),
    ).toBe('Partly filled: sold 2 of 5 ACME-USD at 9.98');
  });

  it('knows live statuses', () => {
    expect(isLive(order({ status: 'OPEN' }))).toBe(true);
    expect(isLive(order({ status: 'ACCEPTED' }))).toBe(true);
    expect(isLive(order({ status: 'PARTIALLY_FILLED' }))).toBe(true);
    expect(isLive(order({ status: 'CANCELLED' }))).toBe(false);
    expect(isLive(order({ status: 'FILLED' }))).toBe(false);
  });

  it('words the matcher reasons', () => {
    expect(reasonText('POST_ONLY_WOULD_CROSS')).toMatch(/post-only/);
    expect(reasonText('SOMETHING_NEW')).toBe('something new');
    expect(reasonText(null)).toBe('no reason given');
  });

  it('client order ids are printable and at most 64 characters', () => {
    const id = newClientOrderId();
    expect(id).toMatch(/^web-[0-9a-f]{24}$/);
    expect(newClientOrderId()).not.toBe(id);
  });
});

describe('mergeTrades', () => {
  const t = (id: string, sequence: string) => ({
    id,
    market: 'ACME-USD',
    sequence,
    price: '1',
    quantity: '1',
    takerSide: 'BUY' as const,
    executedAt: '2026-12-03T12:00:00Z',
  });
  it('newest first by 64-bit sequence, deduplicated, capped', () => {
    const list = mergeTrades(
      [t('a', '9'), t('b', '10')],
      [t('b', '10'), t('c', '9007199254740993')],
    );
    expect(list.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(mergeTrades(list, [], 2).map((x) => x.id)).toEqual(['c', 'b']);
  });
});

describe('safeNext', () => {
  it('follows only same-app paths after login', () => {
    expect(safeNext('/trade/ACME-USD')).toBe('/trade/ACME-USD');
    expect(safeNext('//evil.example')).toBe('/markets');
    expect(safeNext('https://evil.example')).toBe('/markets');
    expect(safeNext(undefined)).toBe('/markets');
  });
});

describe('createOrdersStore', () => {
  async function setup() {
    const { createRoot } = await import('solid-js');
    const { makeSubject } = await import('wonka');
    const { createOrdersStore } = await import('./orders');
    const live = makeSubject<{ data: { myOrders: Order } }>();
    let placeAnswer: Order = order();
    let cancelAnswer: { data?: unknown; error?: unknown } = {};
    const client = {
      subscription: () => live.source,
      query: () => ({
        toPromise: async () => ({ data: { myOrders: { edges: [] } } }),
      }),
      mutation: (doc: { definitions: { name?: { value: string } }[] }) => ({
        toPromise: async () => {
          const name = doc.definitions.find((d) => d.name)?.name?.value;
          if (name === 'PlaceOrder') return { data: { placeOrder: placeAnswer } };
          return cancelAnswer;
        },
      }),
    };
    const fills: string[] = [];
    let holds = 0;
    const store = createRoot(() =>
      createOrdersStore({ client } as never, {
        onFill: (o) => fills.push(fillMessage(o)),
        onHoldsChanged: () => holds++,
      }),
    );
    store.start();
    return {
      store,
      fills,
      holds: () => holds,
      push: (o: Order) => live.next({ data: { myOrders: o } }),
      answerPlace: (o: Order) => (placeAnswer = o),
      answerCancel: (a: typeof cancelAnswer) => (cancelAnswer = a),
    };
  }

  const open = (over: Partial<Order> = {}) =>
    order({ status: 'OPEN', filledQuantity: '0', averagePrice: null, ...over });

  it('toasts once per increase of the filled quantity, whichever source reports it', async () => {
    const s = await setup();
    s.answerPlace(open());
    await s.store.place({
      market: 'ACME-USD',
      side: 'BUY',
      type: 'LIMIT',
      price: '10',
      quantity: '5',
    });
    expect(s.fills).toEqual([]);
    expect(s.holds()).toBe(1);
    const partial = open({
      status: 'PARTIALLY_FILLED',
      filledQuantity: '2',
      averagePrice: '10',
      updatedAt: '2026-12-03T12:00:02Z',
    });
    s.push(partial);
    s.push(partial); // the same event again
    s.push(order({ averagePrice: '10', updatedAt: '2026-12-03T12:00:03Z' }));
    expect(s.fills).toEqual([
      'Partly filled: bought 2 of 5 ACME-USD at 10',
      'Filled: bought 5 ACME-USD at 10',
    ]);
    // an older event arriving late changes nothing
    s.push(partial);
    expect(s.store.state.byId['1']?.status).toBe('FILLED');
    expect(s.store.open()).toEqual([]);
  });

  it('a refetch answer older than a live event does not drop the order', async () => {
    const s = await setup(); // start() refetched; its (empty) answer is still on the way
    s.push(open());
    await new Promise((r) => setTimeout(r, 0));
    expect(s.store.open()).toHaveLength(1);
  });

  it('cancel is optimistic and rolls back on error', async () => {
    const s = await setup();
    s.push(open());
    await new Promise((r) => setTimeout(r, 0));
    expect(s.store.open()).toHaveLength(1);
    const { CombinedError } = await import('@urql/core');
    const { GraphQLError } = await import('graphql');
    s.answerCancel({
      error: new CombinedError({
        graphQLErrors: [new GraphQLError('gone', { extensions: { code: 'NOT_FOUND' } })],
      }),
    });
    const pending = s.store.cancel('1');
    expect(s.store.open()).toHaveLength(0); // gone at once
    const outcome = await pending;
    expect(outcome).toMatch(/does not exist/);
    expect(s.store.open()).toHaveLength(1); // back
  });
});
