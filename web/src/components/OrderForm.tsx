/**
 * Order entry. Validates against the market's rules and the available balance before
 * sending (lib/orderForm.ts); errors appear inline next to their field and nothing is
 * sent. Server errors come back in plain words.
 */
import { For, Show, createEffect, createMemo, createSignal, on } from 'solid-js';
import type { OrderType, PlaceOrderInput, Side, TimeInForce } from '../graphql/gql/graphql';
import { formatDecimal } from '../lib/decimal';
import {
  type Field,
  type FieldErrors,
  type Funds,
  type MarketRules,
  type Quote,
  validateOrder,
} from '../lib/orderForm';

export interface OrderFormProps {
  market: MarketRules;
  funds: Funds;
  quote: Quote;
  signedIn: boolean;
  /** A price picked in the book; `n` changes on every pick, even of the same price. */
  picked?: { price: string; n: number } | null;
  /** A request for a side (the desktop's Buy/Sell shortcuts): chosen and focused, then `onIntentTaken`. */
  intent?: { side: Side; n: number } | null;
  onIntentTaken?: () => void;
  /** Sends the order; resolves an error in plain words, or null when it was placed. */
  onSubmit: (input: PlaceOrderInput) => Promise<string | null>;
}

const TIF_LABELS: Record<TimeInForce, string> = {
  GTC: 'Good till cancelled (GTC)',
  IOC: 'Immediate or cancel (IOC)',
  FOK: 'Fill or kill (FOK)',
};

export function OrderForm(props: OrderFormProps) {
  const [side, setSide] = createSignal<Side>('BUY');
  const [type, setType] = createSignal<OrderType>('LIMIT');
  const [price, setPrice] = createSignal('');
  const [quantity, setQuantity] = createSignal('');
  const [tif, setTif] = createSignal<TimeInForce>('GTC');
  const [postOnly, setPostOnly] = createSignal(false);
  const [tried, setTried] = createSignal(false);
  const [submitting, setSubmitting] = createSignal(false);
  const [serverError, setServerError] = createSignal<string | null>(null);
  const [placed, setPlaced] = createSignal<string | null>(null);
  let priceInput: HTMLInputElement | undefined;
  let quantityInput: HTMLInputElement | undefined;

  createEffect(
    on(
      () => props.picked?.n,
      () => {
        if (!props.picked) return;
        setType('LIMIT');
        setPrice(props.picked.price);
        quantityInput?.focus();
      },
      { defer: true },
    ),
  );

  createEffect(
    on(
      () => props.intent?.n,
      () => {
        const intent = props.intent;
        if (!intent) return;
        setSide(intent.side);
        (priceInput ?? quantityInput)?.focus();
        props.onIntentTaken?.();
      },
    ),
  );

  const draft = () => ({
    side: side(),
    type: type(),
    price: price(),
    quantity: quantity(),
    timeInForce: tif(),
    postOnly: postOnly(),
  });
  const validation = createMemo(() =>
    validateOrder(props.market, draft(), props.funds, props.quote),
  );
  const errors = (): FieldErrors => {
    const v = validation();
    return tried() && !v.ok ? v.errors : {};
  };
  const err = (f: Field) => errors()[f];

  function chooseType(t: OrderType) {
    setType(t);
    if (t === 'MARKET') {
      if (tif() === 'GTC') setTif('IOC');
      setPostOnly(false);
    }
  }

  async function submit(e: SubmitEvent) {
    e.preventDefault();
    setTried(true);
    setServerError(null);
    setPlaced(null);
    const v = validation();
    if (!v.ok) {
      if (v.errors.price) priceInput?.focus();
      else if (v.errors.quantity) quantityInput?.focus();
      return;
    }
    setSubmitting(true);
    const error = await props.onSubmit(v.input);
    setSubmitting(false);
    if (error) setServerError(error);
    else {
      setPlaced(`${v.input.side === 'BUY' ? 'Buy' : 'Sell'} order placed`);
      setTried(false);
    }
  }

  const base = () => props.market.base;
  const quote = () => props.market.quote;
  const hold = () => {
    const v = validation();
    return v.ok ? v.hold : null;
  };
  const available = () =>
    side() === 'BUY'
      ? `${formatDecimal(props.funds.quote ?? '0', quote().decimals)} ${quote().symbol}`
      : `${formatDecimal(props.funds.base ?? '0', base().decimals)} ${base().symbol}`;

  return (
    <form class="stack" onSubmit={submit} aria-label="Place an order" noValidate>
      <div class="segmented" role="group" aria-label="Side">
        <button
          type="button"
          class="buy"
          aria-pressed={side() === 'BUY'}
          onClick={() => setSide('BUY')}
        >
          Buy
        </button>
        <button
          type="button"
          class="sell"
          aria-pressed={side() === 'SELL'}
          onClick={() => setSide('SELL')}
        >
          Sell
        </button>
      </div>
      <div class="segmented" role="group" aria-label="Order type">
        <button type="button" aria-pressed={type() === 'LIMIT'} onClick={() => chooseType('LIMIT')}>
          Limit
        </button>
        <button
          type="button"
          aria-pressed={type() === 'MARKET'}
          onClick={() => chooseType('MARKET')}
        >
          Market
        </button>
      </div>

      <Show when={type() === 'LIMIT'}>
        <div class="field">
          <label for="order-price">Price ({quote().symbol})</label>
          <input
            id="order-price"
            ref={priceInput}
            name="price"
            inputMode="decimal"
            autocomplete="off"
            value={price()}
            onInput={(e) => setPrice(e.currentTarget.value)}
            aria-invalid={err('price') ? 'true' : 'false'}
            aria-describedby={err('price') ? 'order-price-error' : undefined}
            placeholder={`step ${props.market.tickSize}`}
          />
          <Show when={err('price')}>
            <span id="order-price-error" class="field-error">
              {err('price')}
            </span>
          </Show>
        </div>
      </Show>

      <div class="field">
        <label for="order-quantity">Quantity ({base().symbol})</label>
        <input
          id="order-quantity"
          ref={quantityInput}
          name="quantity"
          inputMode="decimal"
          autocomplete="off"
          value={quantity()}
          onInput={(e) => setQuantity(e.currentTarget.value)}
          aria-invalid={err('quantity') ? 'true' : 'false'}
          aria-describedby={err('quantity') ? 'order-quantity-error' : undefined}
          placeholder={`min ${props.market.minQuantity}, step ${props.market.lotSize}`}
        />
        <Show when={err('quantity')}>
          <span id="order-quantity-error" class="field-error">
            {err('quantity')}
          </span>
        </Show>
      </div>

      <div class="field">
        <label for="order-tif">Time in force</label>
        <select
          id="order-tif"
          name="timeInForce"
          value={tif()}
          onChange={(e) => setTif(e.currentTarget.value as TimeInForce)}
          aria-invalid={err('timeInForce') ? 'true' : 'false'}
          aria-describedby={err('timeInForce') ? 'order-tif-error' : undefined}
        >
          <For
            each={(type() === 'LIMIT' ? ['GTC', 'IOC', 'FOK'] : ['IOC', 'FOK']) as TimeInForce[]}
          >
            {(t) => <option value={t}>{TIF_LABELS[t]}</option>}
          </For>
        </select>
        <Show when={err('timeInForce')}>
          <span id="order-tif-error" class="field-error">
            {err('timeInForce')}
          </span>
        </Show>
      </div>

      <label class="inline">
        <input
          type="checkbox"
          name="postOnly"
          checked={postOnly()}
          disabled={type() === 'MARKET'}
          onChange={(e) => setPostOnly(e.currentTarget.checked)}
          aria-describedby={err('postOnly') ? 'order-postonly-error' : undefined}
        />
        Post-only (only add liquidity)
      </label>
      <Show when={err('postOnly')}>
        <span id="order-postonly-error" class="field-error">
          {err('postOnly')}
        </span>
      </Show>

      <div class="muted">
        Available: <span class="num">{available()}</span>
        <Show when={hold()}>
          {(h) => (
            <>
              <br />
              Holds {h().estimate ? 'at least ' : ''}
              <span class="num">{h().text}</span>
            </>
          )}
        </Show>
      </div>

      <Show when={err('funds') || err('market')}>
        <p class="form-error" role="alert">
          {err('market') ?? err('funds')}
        </p>
      </Show>
      <Show when={serverError()}>
        <p class="form-error" role="alert">
          {serverError()}
        </p>
      </Show>
      <Show when={placed()}>
        <p role="status" class="muted">
          {placed()}
        </p>
      </Show>

      <Show
        when={props.signedIn}
        fallback={
          <p>
            <a href={`/login?next=${encodeURIComponent(location.pathname)}`}>Log in</a> to trade.
          </p>
        }
      >
        <button
          type="submit"
          class={side() === 'BUY' ? 'buy-btn' : 'sell-btn'}
          disabled={submitting()}
        >
          {submitting() ? 'Sending…' : `${side() === 'BUY' ? 'Buy' : 'Sell'} ${base().symbol}`}
        </button>
      </Show>
    </form>
  );
}
