/**
 * The connection state the header shows, derived from the WebSocket client's events.
 * Pure, so it is tested without a socket.
 *
 * - `connecting`: the first connection of this page is being made;
 * - `live`: connected and acknowledged, subscriptions flowing;
 * - `reconnecting`: the socket dropped and we are retrying;
 * - `offline`: the browser says it has no network, or several attempts in a row failed.
 * Retrying never stops: `offline` changes back as soon as an attempt succeeds.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface ConnectionTrackerOptions {
  /** Consecutive failed attempts after which we say offline (default 3). */
  offlineAfter?: number;
  onChange?: (state: ConnectionState) => void;
}

export function createConnectionTracker(opts: ConnectionTrackerOptions = {}) {
  const offlineAfter = opts.offlineAfter ?? 3;
  let state: ConnectionState = 'connecting';
  let everConnected = false;
  let failures = 0;
  let online = true;

  function set(next: ConnectionState) {
    if (next === state) return;
    state = next;
    opts.onChange?.(next);
  }

  function down(): ConnectionState {
    if (!online || failures >= offlineAfter) return 'offline';
    return everConnected ? 'reconnecting' : 'connecting';
  }

  return {
    get state() {
      return state;
    },
    /** The socket acknowledged our connection_init. */
    connected() {
      everConnected = true;
      failures = 0;
      set('live');
    },
    /** The socket closed (or an attempt failed). `retrying` is false when we closed it on purpose. */
    closed(retrying = true) {
      if (state !== 'live') failures++;
      if (retrying) set(down());
    },
    /** An attempt started. */
    connecting() {
      if (state !== 'live') set(down());
    },
    /** The browser's online/offline events. */
    network(isOnline: boolean) {
      online = isOnline;
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
