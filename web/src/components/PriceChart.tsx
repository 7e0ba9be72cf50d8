/**
 * Candlesticks (TradingView Lightweight Charts) with an interval switch, kept live from the
 * trade stream. Loaded lazily with the trade page: the chart library is most of its weight.
 *
 * Attribution, as the library's licence asks: the TradingView logo link on the chart
 * (`attributionLogo`) and the notice below it.
 */
import {
  CandlestickSeries,
  ColorType,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
  createChart,
} from 'lightweight-charts';
import { For, Show, createEffect, createSignal, on, onCleanup, onMount } from 'solid-js';
import type { CandleInterval } from '../graphql/gql/graphql';
import { type Candle, applyTrade, toChartBar } from '../lib/candles';

export interface PriceChartProps {
  /** Fetches candles of an interval, oldest first; resolves an error message instead on failure. */
  load: (interval: CandleInterval) => Promise<Candle[] | string>;
  /** Subscribes to live trades; returns the unsubscribe function. */
  onTrade: (
    listener: (t: { price: string; quantity: string; executedAt: string }) => void,
  ) => () => void;
  baseDecimals: number;
  theme: 'dark' | 'light';
}

const INTERVALS: CandleInterval[] = ['M1', 'M5', 'M15', 'H1', 'D1'];
const LABELS: Record<CandleInterval, string> = {
  M1: '1m',
  M5: '5m',
  M15: '15m',
  H1: '1h',
  D1: '1d',
};

function colors(theme: 'dark' | 'light') {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: v('--panel', theme === 'dark' ? '#161b22' : '#ffffff'),
    text: v('--muted', '#8b949e'),
    grid: v('--border', '#2a3240'),
    up: v('--buy', '#26a269'),
    down: v('--sell', '#e5534b'),
  };
}

export default function PriceChart(props: PriceChartProps) {
  const [interval, setChartInterval] = createSignal<CandleInterval>('M1');
  const [error, setError] = createSignal<string | null>(null);
  let box!: HTMLDivElement;
  let chart: IChartApi | undefined;
  let series: ISeriesApi<'Candlestick'> | undefined;
  let candles: Candle[] = [];
  let generation = 0;

  onMount(() => {
    const c = colors(props.theme);
    chart = createChart(box, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: c.bg },
        textColor: c.text,
        attributionLogo: true,
      },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    series = chart.addSeries(CandlestickSeries, {
      upColor: c.up,
      downColor: c.down,
      wickUpColor: c.up,
      wickDownColor: c.down,
      borderVisible: false,
    });
    // eslint-disable-next-line solid/reactivity -- called per trade, reading current props
    const stop = props.onTrade((t) => {
      const changed = applyTrade(candles, t, interval(), props.baseDecimals);
      if (changed && series) {
        const bar = toChartBar(changed);
        series.update({ ...bar, time: bar.time as UTCTimestamp });
      }
    });
    onCleanup(() => {
      stop();
      chart?.remove();
    });
  });

  createEffect(
    on(interval, async (iv) => {
      const mine = ++generation;
      const r = await props.load(iv);
      if (mine !== generation || !series) return;
      if (typeof r === 'string') {
        setError(r);
        return;
      }
      setError(null);
      candles = r;
      series.setData(
        r.map((c) => {
          const bar = toChartBar(c);
          return { ...bar, time: bar.time as UTCTimestamp };
        }),
      );
      chart?.timeScale().scrollToRealTime();
    }),
  );

  createEffect(
    on(
      () => props.theme,
      (theme) => {
        const c = colors(theme);
        chart?.applyOptions({
          layout: { background: { type: ColorType.Solid, color: c.bg }, textColor: c.text },
          grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
        });
      },
      { defer: true },
    ),
  );

  return (
    <div>
      <div
        class="segmented"
        role="group"
        aria-label="Candle interval"
        style={{ 'max-width': '280px', 'margin-bottom': '8px' }}
      >
        <For each={INTERVALS}>
          {(iv) => (
            <button
              type="button"
              aria-pressed={interval() === iv}
              onClick={() => setChartInterval(iv)}
            >
              {LABELS[iv]}
            </button>
          )}
        </For>
      </div>
      <Show when={error()}>
        <p class="form-error" role="alert">
          {error()}
        </p>
      </Show>
      <div
        class="chart-box"
        ref={box}
        role="img"
        aria-label={`Price chart, ${LABELS[interval()]} candles`}
      />
      <p class="chart-attribution">
        Charts by{' '}
        <a href="https://www.tradingview.com/" target="_blank" rel="noopener noreferrer">
          TradingView
        </a>{' '}
        Lightweight Charts™ — Copyright © TradingView, Inc.
      </p>
    </div>
  );
}
