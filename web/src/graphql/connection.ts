/**
 * The connection state the header shows, derived from the WebSocket client's events.
 * Pure, so it is tested without a socket.
 *
 * - `connecting`: the first connection of this page is being made;
 * - `live`: connected and acknowledged, subscriptions flowing;
 * - `reconnecting`: the socket dropped and we are retrying;
 * - `offline`: the browser says it has no network, or several attempts in a row failed.
 * Retrying never stops: `offline` changes back as soon as an attempt succeeds.
 *
 * A socket the server closed because its credential expired (4403) is renewed quietly: it
 * reconnects at once with the fresh token, and the header keeps saying `live` unless that
 * takes longer than a grace period or fails.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionTrackerOptions {
  /** Consecutive failed attempts after which we say offline (default 3). */
  offlineAfter?: number;
  onChange?: (state: ConnectionState) => void;
  /** How long a quiet renewal may take before the header says `reconnecting` (default 5 s). */
  renewGraceMs?: number;
  /** For tests: timers. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export function createConnectionTracker(opts: ConnectionTrackerOptions = {}) {
  const offlineAfter = opts.offlineAfter ?? 3;
  const renewGraceMs = opts.renewGraceMs ?? 5_000;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  let state: ConnectionState = 'connecting';
  let everConnected = false;
  let failures = 0;
  let online = true;
  /** A quiet renewal is under way: its grace timer, else null. */
  let renewal: unknown = null;

  function set(next: ConnectionState) {
    if (next === state) return;
    state = next;
    opts.onChange?.(next);
  }

  /** Ends a quiet renewal; returns whether one was under way. */
  function endRenewal(): boolean {
    if (renewal === null) return false;
    clearTimer(renewal);
    renewal = null;
    return true;
  }

  function down(): ConnectionState {
    if (!online || failures >= offlineAfter) return 'offline';
    return everConnected ? 'reconnecting' : 'connecting';
  }

  function closed(retrying = true) {
    // A renewal whose attempt failed is an ordinary outage from here on.
    if (endRenewal() || state !== 'live') failures++;
    if (retrying) set(down());
  }

  return {
    get state() {
      return state;
    },
    /** The socket acknowledged our connection_init. */
    connected() {
      endRenewal();
      everConnected = true;
      failures = 0;
      set('live');
    },
    /** The socket closed (or an attempt failed). `retrying` is false when we closed it on purpose. */
    closed,
    /**
     * The live socket closed only to reconnect with a fresh credential: stay `live` while it
     * does, for up to the grace period.
     */
    renewing() {
      if (state !== 'live') {
        closed();
        return;
      }
      endRenewal();
      renewal = setTimer(() => {
        renewal = null;
        failures++;
        set(down());
      }, renewGraceMs);
    },
    /** Whether a quiet renewal is under way. */
    get isRenewing() {
      return renewal !== null;
    },
    /** An attempt started. */
    connecting() {
      if (state !== 'live') set(down());
    },
    /** The browser's online/offline events. */
    network(isOnline: boolean) {
      online = isOnline;
      if (!isOnline) endRenewal();
      if (state !== 'live' || !isOnline) set(isOnline ? down() : 'offline');
    },
  };
}

/**
 * Wait before reconnect attempt `retries` (0-based): exponential from 500 ms, capped at
 * 10 s, with up to 30 % jitter so a restarted server is not hit by every client at once.
 */
export function backoffMs(retries: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(retries, 10));
  return Math.round(base * (1 - 0.3 * random()));
}
