/**
 * The signed-in user's live orders: loaded once, then kept current from `myOrders`.
 * Placing goes through here (so the result and the live update merge), cancelling is
 * optimistic (the order leaves the list at once, and comes back if the server says no),
 * and a fill raises a toast, once per increase of the filled quantity. A subscription the
 * server ends (`error`, `complete`, CONFLICT for a subscriber that fell behind) is
 * resubscribed with a backoff, and the orders are read again after it, so nothing that
 * happened in between is lost.
 */
import { createStore, produce, reconcile } from 'solid-js/store';
import type { Api } from '../graphql/client';
import type { OrderFieldsFragment, OrderStatus, PlaceOrderInput } from '../graphql/gql/graphql';
import { type Follower, type FollowOptions, follow, mutate, query } from '../graphql/live';
import {
  CancelAllOrdersMutation,
  CancelOrderMutation,
  MyOrdersQuery,
  MyOrdersSubscription,
  PlaceOrderMutation,
} from '../graphql/operations';
import { compareDecimal } from '../lib/decimal';

export type Order = OrderFieldsFragment;

export const LIVE_STATUSES: OrderStatus[] = ['ACCEPTED', 'OPEN', 'PARTIALLY_FILLED'];
export const isLive = (o: Pick<Order, 'status'>) => LIVE_STATUSES.includes(o.status);

/** What a fill toast says: "Bought 3 ACME-USD at 25.04" (or "Sold 2 of 5 ..."). */
export function fillMessage(o: Order): string {
  const verb = o.side === 'BUY' ? 'Bought' : 'Sold';
  const full = o.status === 'FILLED' || compareDecimal(o.filledQuantity, o.quantity) === 0;
  const qty = full ? o.quantity : `${o.filledQuantity} of ${o.quantity}`;
  const at = o.averagePrice ? ` at ${o.averagePrice}` : '';
  return `${full ? 'Filled' : 'Partly filled'}: ${verb.toLowerCase()} ${qty} ${o.market.symbol}${at}`;
}

/** Random id for idempotent placement: a retried placeOrder returns the same order. */
export function newClientOrderId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'web-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface OrdersEvents {
  /** An order of ours filled (more than `previouslyFilled`). */
  onFill: (order: Order, previouslyFilled: string) => void;
  /** We placed or cancelled: balances moved (see balances.ts on why this is needed). */
  onHoldsChanged?: () => void;
}

export function createOrdersStore(api: Api, events: OrdersEvents, opts?: FollowOptions) {
  const onFill = events.onFill;
  const [state, setState] = createStore<{ byId: Record<string, Order>; loaded: boolean }>({
    byId: {},
    loaded: false,
  });
  /** The filled quantity last announced per order, so each fill toasts once. */
  const announced = new Map<string, string>();
  let live: Follower | null = null;
  /** Orders a live event touched since the current refetch started (its answer may be older). */
  const touched = new Set<string>();

  function upsert(o: Order, announce = true) {
    touched.add(o.id);
    const prev = state.byId[o.id];
    // Updates can race (mutation answer vs live event): keep the newest.
    if (
      prev &&
      (Date.parse(prev.updatedAt) > Date.parse(o.updatedAt) ||
        compareDecimal(prev.filledQuantity, o.filledQuantity) > 0)
    ) {
      return;
    }
    const seen = announced.get(o.id) ?? prev?.filledQuantity ?? '0';
    if (announce && compareDecimal(o.filledQuantity, seen) > 0) onFill(o, seen);
    if (compareDecimal(o.filledQuantity, seen) >= 0) announced.set(o.id, o.filledQuantity);
    setState('byId', o.id, reconcile(o));
  }

  async function refetch() {
    touched.clear();
    const r = await query(api.client, MyOrdersQuery, { status: LIVE_STATUSES, first: 200 });
    if (!r.data) return;
    const returned = new Set(r.data.myOrders.edges.map((e) => e.node.id));
    const fresh = new Set(touched);
    setState(
      produce((s) => {
        // Live orders the answer lacks have ended while we were not listening, unless a
        // live event about them came in meanwhile (then it is newer than the answer).
        for (const id of Object.keys(s.byId)) {
          const o = s.byId[id];
          if (o && isLive(o) && !returned.has(id) && !fresh.has(id)) delete s.byId[id];
        }
      }),
    );
    for (const e of r.data.myOrders.edges) upsert(e.node, false);
    setState('loaded', true);
  }

  return {
    state,
    /** Live orders, newest first, optionally of one market. */
    open(market?: string) {
      return Object.values(state.byId)
        .filter((o) => isLive(o) && (!market || o.market.symbol === market))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    refetch,
    start() {
      this.stop();
      live = follow(
        api.client,
        MyOrdersSubscription,
        {},
        { onData: (d) => upsert(d.myOrders), onResubscribed: () => void refetch() },
        opts,
      );
      void refetch();
    },
    stop() {
      live?.stop();
      live = null;
    },
    clear() {
      this.stop();
      announced.clear();
      setState({ byId: {}, loaded: false });
    },
    /** Places an order; resolves an error in plain words, or null. */
    async place(input: PlaceOrderInput): Promise<string | null> {
      const r = await mutate(api.client, PlaceOrderMutation, {
        input: { ...input, clientOrderId: input.clientOrderId ?? newClientOrderId() },
      });
      if (r.error !== null) return r.error;
      upsert(r.data.placeOrder);
      events.onHoldsChanged?.();
      if (r.data.placeOrder.status === 'REJECTED') {
        return `Rejected: ${reasonText(r.data.placeOrder.reason)}`;
      }
      return null;
    },
    /** Cancels optimistically; resolves an error (after rolling back), or null. */
    async cancel(id: string): Promise<string | null> {
      const live = state.byId[id];
      if (!live) return null;
      // A copy: the store object itself will show the optimistic change.
      const before: Order = { ...live, market: { ...live.market } };
      setState('byId', id, 'status', 'CANCELLED');
      const r = await mutate(api.client, CancelOrderMutation, { id });
      if (r.error !== null) {
        setState('byId', id, reconcile(before));
        return r.error;
      }
      upsert(r.data.cancelOrder);
      events.onHoldsChanged?.();
      return null;
    },
    /** Cancels every live order (of a market), optimistically. */
    async cancelAll(market?: string): Promise<string | null> {
      const targets = this.open(market).map((o) => ({ ...o }));
      for (const o of targets) setState('byId', o.id, 'status', 'CANCELLED');
      const r = await mutate(api.client, CancelAllOrdersMutation, { market: market ?? null });
      if (r.error !== null) {
        for (const o of targets) setState('byId', o.id, reconcile(o));
        return r.error;
      }
      for (const o of r.data.cancelAllOrders) upsert(o);
      events.onHoldsChanged?.();
      return null;
    },
  };
}

/** The matcher's reasons in plain words. */
export function reasonText(reason: string | null | undefined): string {
  switch (reason) {
    case 'POST_ONLY_WOULD_CROSS':
      return 'post-only order would have traded at once';
    case 'FOK_NOT_FILLABLE':
      return 'fill-or-kill order could not be filled completely';
    case 'IOC_REMAINDER_EXPIRED':
      return 'the unfilled rest of the IOC order expired';
    case 'SELF_TRADE_PREVENTED':
      return 'it would have traded with your own order';
    case 'CANCELLED_BY_OWNER':
      return 'cancelled by you';
    case null:
    case undefined:
      return 'no reason given';
    default:
      return reason.toLowerCase().replace(/_/g, ' ');
  }
}

export type OrdersStore = ReturnType<typeof createOrdersStore>;
