import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ConnectionState, backoffMs, createConnectionTracker } from './connection';

function tracker(offlineAfter = 3) {
  const seen: ConnectionState[] = [];
  const t = createConnectionTracker({ offlineAfter, onChange: (s) => seen.push(s) });
  return { t, seen };
}

describe('connection tracker', () => {
  it('connecting → live', () => {
    const { t, seen } = tracker();
    expect(t.state).toBe('connecting');
    t.connecting();
    t.connected();
    expect(seen).toEqual(['live']);
  });

  it('a dropped socket is reconnecting, then live again', () => {
    const { t, seen } = tracker();
    t.connected();
    t.closed();
    expect(t.state).toBe('reconnecting');
    t.connecting();
    t.connected();
    expect(seen).toEqual(['live', 'reconnecting', 'live']);
  });

  it('several failed attempts in a row are offline; success recovers', () => {
    const { t } = tracker(3);
    t.connected();
    t.closed(); // the drop itself
    for (let i = 0; i < 2; i++) {
      t.connecting();
      t.closed();
      expect(t.state).toBe('reconnecting');
    }
    t.connecting();
    t.closed();
    expect(t.state).toBe('offline');
    t.connecting();
    expect(t.state).toBe('offline');
    t.connected();
    expect(t.state).toBe('live');
  });

  it('never connected and failing: connecting, then offline', () => {
    const { t } = tracker(2);
    t.closed();
    expect(t.state).toBe('connecting');
    t.closed();
    expect(t.state).toBe('offline');
  });

  it('follows the browser network events', () => {
    const { t } = tracker();
    t.connected();
    t.network(false);
    expect(t.state).toBe('offline');
    t.closed();
    expect(t.state).toBe('offline');
    t.network(true);
    expect(t.state).toBe('reconnecting');
    t.connected();
    expect(t.state).toBe('live');
  });

  it('a close we asked for (no retry) changes nothing', () => {
    const { t } = tracker();
    t.connected();
    t.closed(false);
    expect(t.state).toBe('live');
  });
});

describe('backoffMs', () => {
  it('grows exponentially to a 10 s cap, with jitter below the base', () => {
    expect(backoffMs(0, () => 0)).toBe(500);
    expect(backoffMs(1, () => 0)).toBe(1000);
    expect(backoffMs(4, () => 0)).toBe(8000);
    expect(backoffMs(5, () => 0)).toBe(10_000);
    expect(backoffMs(1000, () => 0)).toBe(10_000);
    expect(backoffMs(0, () => 1)).toBe(350);
  });
});

describe('quiet renewal (the server closed the socket with 4403 as its token expired)', () => {
  function renewTracker() {
    vi.useFakeTimers();
    const seen: ConnectionState[] = [];
    const t = createConnectionTracker({ renewGraceMs: 5_000, onChange: (s) => seen.push(s) });
    t.connected();
    return { t, seen };
  }
  afterEach(() => vi.useRealTimers());

  it('stays live while the socket reconnects with the fresh token', () => {
    const { t, seen } = renewTracker();
    t.renewing();
    t.connecting();
    vi.advanceTimersByTime(800);
    t.connected();
    vi.advanceTimersByTime(10_000);
    expect(seen).toEqual(['live']);
    expect(t.isRenewing).toBe(false);
  });

  it('says reconnecting when the renewal takes longer than the grace period', () => {
    const { t, seen } = renewTracker();
    t.renewing();
    t.connecting();
    vi.advanceTimersByTime(5_000);
    expect(t.state).toBe('reconnecting');
    t.connected();
    expect(seen).toEqual(['live', 'reconnecting', 'live']);
  });

  it('a failed renewal attempt is an ordinary outage at once', () => {
    const { t } = renewTracker();
    t.renewing();
    t.connecting();
    t.closed();
    expect(t.state).toBe('reconnecting');
    expect(t.isRenewing).toBe(false);
    vi.advanceTimersByTime(5_000);
    expect(t.state).toBe('reconnecting');
  });

  it('is no renewal when the socket was not live', () => {
    const { t } = tracker();
    t.renewing();
    expect(t.state).toBe('connecting');
    expect(t.isRenewing).toBe(false);
  });
});
