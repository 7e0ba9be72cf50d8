/** Administration: assets, markets (create, halt, resume) and crediting a user's balance. */
import { For, Show, createResource, createSignal } from 'solid-js';
import { mutate, query } from '../graphql/live';
import {
  AssetsQuery,
  CreateAssetMutation,
  CreateMarketMutation,
  CreditBalanceMutation,
  SetMarketStatusMutation,
} from '../graphql/operations';
import { useStores } from '../stores';

/** A form's outcome line: an error (alert) or a confirmation (status). */
function Outcome(props: { error: string | null; ok: string | null }) {
  return (
    <>
      <Show when={props.error}>
        <p class="form-error" role="alert">
          {props.error}
        </p>
      </Show>
      <Show when={props.ok}>
        <p class="muted" role="status">
          {props.ok}
        </p>
      </Show>
    </>
  );
}

/** Signals for a form's fields plus its outcome. */
function useForm<T extends Record<string, string>>(initial: T) {
  const [values, setValues] = createSignal<T>({ ...initial });
  const [error, setError] = createSignal<string | null>(null);
  const [ok, setOk] = createSignal<string | null>(null);
  const field = (
    name: keyof T & string,
    label: string,
    attrs: { type?: string; inputMode?: 'decimal' | 'numeric' } = {},
  ) => (
    <label>
      {label}
      <input
        name={name}
        type={attrs.type ?? 'text'}
        inputMode={attrs.inputMode}
        value={values()[name]}
        onInput={(e) => {
          const v = e.currentTarget.value;
          setValues((old) => ({ ...old, [name]: v }));
        }}
      />
    </label>
  );
  return {
    values,
    setValues,
    error,
    setError,
    ok,
    setOk,
    field,
    reset: () => setValues(() => ({ ...initial })),
  };
}

export default function Admin() {
  const { auth, markets } = useStores();
  const [assets, { refetch: refetchAssets }] = createResource(async () => {
    const r = await query(auth.api.client, AssetsQuery, {});
    return r.data?.assets ?? [];
  });
  void markets.load();

  const asset = useForm({ symbol: '', name: '', kind: 'crypto', decimals: '2' });
  const market = useForm({
    base: '',
    quote: '',
    tickSize: '0.01',
    lotSize: '1',
    minQuantity: '1',
    makerFeeBps: '5',
    takerFeeBps: '10',
    priceBandBps: '',
  });
  const credit = useForm({ userId: '', asset: '', amount: '', memo: '' });
  const [statusError, setStatusError] = createSignal<string | null>(null);

  async function createAsset(e: SubmitEvent) {
    e.preventDefault();
    const v = asset.values();
    const r = await mutate(auth.api.client, CreateAssetMutation, {
      input: {
        symbol: v.symbol.trim(),
        name: v.name.trim(),
        kind: v.kind.trim(),
        decimals: Number.parseInt(v.decimals, 10),
      },
    });
    asset.setError(r.error);
    asset.setOk(r.data ? `Listed ${r.data.createAsset.symbol}` : null);
    if (r.data) {
      asset.reset();
      void refetchAssets();
    }
  }

  async function createMarket(e: SubmitEvent) {
    e.preventDefault();
    const v = market.values();
    const r = await mutate(auth.api.client, CreateMarketMutation, {
      input: {
        base: v.base.trim(),
        quote: v.quote.trim(),
        tickSize: v.tickSize.trim(),
        lotSize: v.lotSize.trim(),
        minQuantity: v.minQuantity.trim(),
        makerFeeBps: Number.parseInt(v.makerFeeBps, 10),
        takerFeeBps: Number.parseInt(v.takerFeeBps, 10),
        priceBandBps: v.priceBandBps.trim() ? Number.parseInt(v.priceBandBps, 10) : null,
      },
    });
    market.setError(r.error);
    market.setOk(r.data ? `Opened ${r.data.createMarket.symbol}` : null);
    if (r.data) markets.upsert(r.data.createMarket);
  }

  async function setStatus(symbol: string, status: 'OPEN' | 'HALTED') {
    const r = await mutate(auth.api.client, SetMarketStatusMutation, { market: symbol, status });
    setStatusError(r.error);
    if (r.data) markets.upsert(r.data.setMarketStatus);
  }

  async function creditBalance(e: SubmitEvent) {
    e.preventDefault();
    const v = credit.values();
    const r = await mutate(auth.api.client, CreditBalanceMutation, {
      userId: v.userId.trim(),
      asset: v.asset.trim(),
      amount: v.amount.trim(),
      memo: v.memo.trim() || null,
    });
    credit.setError(r.error);
    credit.setOk(
      r.data
        ? `Credited: the user now has ${r.data.creditBalance.available} ${r.data.creditBalance.asset.symbol} available`
        : null,
    );
  }

  return (
    <Show when={auth.isAdmin()} fallback={<p role="alert">This page is for administrators.</p>}>
      <div class="stack">
        <section class="panel stack" aria-labelledby="admin-credit">
          <h2 id="admin-credit">Credit a balance</h2>
          <form class="row" onSubmit={creditBalance}>
            {credit.field('userId', 'User id')}
            {credit.field('asset', 'Asset')}
            {credit.field('amount', 'Amount', { inputMode: 'decimal' })}
            {credit.field('memo', 'Memo')}
            <button type="submit" class="primary">
              Credit
            </button>
          </form>
          <Outcome error={credit.error()} ok={credit.ok()} />
        </section>

        <section class="panel stack" aria-labelledby="admin-markets">
          <h2 id="admin-markets">Markets</h2>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Markets</caption>
              <thead>
                <tr>
                  <th scope="col">Market</th>
                  <th scope="col">Tick</th>
                  <th scope="col">Lot</th>
                  <th scope="col">Min</th>
                  <th scope="col">Fees (maker/taker bps)</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={markets.state.list}>
                  {(m) => (
                    <tr data-market={m.symbol}>
                      <td>{m.symbol}</td>
                      <td>{m.tickSize}</td>
                      <td>{m.lotSize}</td>
                      <td>{m.minQuantity}</td>
                      <td>
                        {m.makerFeeBps} / {m.takerFeeBps}
                      </td>
                      <td>{m.status === 'OPEN' ? 'Open' : 'Halted'}</td>
                      <td>
                        <Show
                          when={m.status === 'OPEN'}
                          fallback={
                            <button type="button" onClick={() => void setStatus(m.symbol, 'OPEN')}>
                              Resume {m.symbol}
                            </button>
                          }
                        >
                          <button type="button" onClick={() => void setStatus(m.symbol, 'HALTED')}>
                            Halt {m.symbol}
                          </button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <Outcome error={statusError()} ok={null} />
          <h3>New market</h3>
          <form class="row" onSubmit={createMarket}>
            {market.field('base', 'Base asset')}
            {market.field('quote', 'Quote asset')}
            {market.field('tickSize', 'Tick size', { inputMode: 'decimal' })}
            {market.field('lotSize', 'Lot size', { inputMode: 'decimal' })}
            {market.field('minQuantity', 'Minimum quantity', { inputMode: 'decimal' })}
            {market.field('makerFeeBps', 'Maker fee (bps)', { inputMode: 'numeric' })}
            {market.field('takerFeeBps', 'Taker fee (bps)', { inputMode: 'numeric' })}
            {market.field('priceBandBps', 'Price band (bps, default 1000)', {
              inputMode: 'numeric',
            })}
            <button type="submit" class="primary">
              Create market
            </button>
          </form>
          <Outcome error={market.error()} ok={market.ok()} />
        </section>

        <section class="panel stack" aria-labelledby="admin-assets">
          <h2 id="admin-assets">Assets</h2>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">Assets</caption>
              <thead>
                <tr>
                  <th scope="col">Symbol</th>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th class="num" scope="col">
                    Decimals
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={assets()}>
                  {(a) => (
                    <tr>
                      <td>{a.symbol}</td>
                      <td>{a.name}</td>
                      <td>{a.kind}</td>
                      <td class="num">{a.decimals}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <h3>New asset</h3>
          <form class="row" onSubmit={createAsset}>
            {asset.field('symbol', 'Symbol')}
            {asset.field('name', 'Name')}
            {asset.field('kind', 'Kind')}
            {asset.field('decimals', 'Decimals', { inputMode: 'numeric' })}
            <button type="submit" class="primary">
              Create asset
            </button>
          </form>
          <Outcome error={asset.error()} ok={asset.ok()} />
        </section>
      </div>
    </Show>
  );
}
