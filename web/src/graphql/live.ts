/** Small helpers over urql for stores: one-shot requests and callback subscriptions. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, Client, CombinedError, OperationContext } from '@urql/core';
import { onEnd, pipe, subscribe } from 'wonka';
import { backoffMs } from './connection';
import { describeError } from './errors';

export type Outcome<D> =
  { data: D; error: null } | { data: null; error: string; cause?: CombinedError };

/** Runs a query, returning its data or an error in plain words. */
export async function query<D, V extends AnyVariables>(
  client: Client,
  doc: TypedDocumentNode<D, V>,
  variables: V,
  context?: Partial<OperationContext>,
): Promise<Outcome<D>> {
  const r = await client.query(doc, variables, context).toPromise();
  if (r.data && !r.error) return { data: r.data, error: null };
  return { data: null, error: describeError(r.error) ?? 'No answer', cause: r.error };
}

/** Runs a mutation, returning its data or an error in plain words. */
export async function mutate<D, V extends AnyVariables>(
  client: Client,
  doc: TypedDocumentNode<D, V>,
  variables: V,
  context?: Partial<OperationContext>,
): Promise<Outcome<D>> {
  const r = await client.mutation(doc, variables, context).toPromise();
  if (r.data && !r.error) return { data: r.data, error: null };
  return { data: null, error: describeError(r.error) ?? 'No answer', cause: r.error };
}

/** Subscribes; calls back per message or error. Returns the unsubscribe function. */
export function listen<D, V extends AnyVariables>(
  client: Client,
  doc: TypedDocumentNode<D, V>,
  variables: V,
  onData: (data: D) => void,
  onError?: (error: CombinedError) => void,
): () => void {
  const { unsubscribe } = pipe(
    client.subscription(doc, variables),
    subscribe((r) => {
      if (r.data) onData(r.data);
      if (r.error) onError?.(r.error);
    }),
  );
  return unsubscribe;
}

/** What a followed subscription calls back. */
export interface FollowHandlers<D> {
  /** Each message with data and no errors. */
  onData: (data: D) => void;
  /** A message with errors (e.g. CONFLICT: fell behind). The subscription is restarted after it. */
  onError?: (error: CombinedError) => void;
  /** The subscription ended or failed and will be resubscribed: drop what depended on it. */
  onRestart?: (reason: string) => void;
  /** Subscribed again after a restart: re-read the state, since events in between are gone. */
  onResubscribed?: () => void;
}

export interface FollowOptions {
  /** The wait (ms) before resubscribe attempt `n` (0-based); default {@link backoffMs}. */
  backoff?: (attempt: number) => number;
  /** A subscription that lived this long (ms) before ending starts its backoff afresh. */
  healthyAfterMs?: number;
}

/** A subscription that keeps itself alive: see {@link follow}. */
export interface Follower {
  /** Resubscribes now (e.g. our copy of the book has a gap): fresh stream, no backoff. */
  restart(reason: string): void;
  /** Stops for good. */
  stop(): void;
}

/**
 * Subscribes and stays subscribed. graphql-ws resubscribes by itself when the socket
 * reconnects, but a subscription the server ends — `complete`, an `error` message, or a
 * message with errors (a subscriber that fell behind, a lost upstream) — is over for it.
 * Here such a subscription is resubscribed after a backoff (0.5 s, 1 s, 2 s … 10 s, afresh
 * once data flows again), with `onRestart` before and `onResubscribed` after, so a store
 * can re-read what it may have missed in between.
 */
export function follow<D, V extends AnyVariables>(
  client: Client,
  doc: TypedDocumentNode<D, V>,
  variables: V,
  handlers: FollowHandlers<D>,
  opts: FollowOptions = {},
): Follower {
  const backoff = opts.backoff ?? backoffMs;
  const healthyAfterMs = opts.healthyAfterMs ?? 30_000;
  let unsubscribe: (() => void) | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let attempts = 0;
  let startedAt = 0;

  function start() {
    startedAt = Date.now();
    let mine = true;
    const { unsubscribe: stop } = pipe(
      client.subscription(doc, variables),
      // Also runs when we unsubscribe ourselves: `mine` tells the two apart.
      onEnd(() => {
        if (mine) ended('the subscription ended');
      }),
      subscribe((r) => {
        if (!mine) return;
        if (r.error) {
          handlers.onError?.(r.error);
          ended(describeError(r.error) ?? 'an error');
          return;
        }
        if (r.data) {
          attempts = 0;
          handlers.onData(r.data);
        }
      }),
    );
    unsubscribe = () => {
      mine = false;
      stop();
    };
    // The stream ended synchronously, before `unsubscribe` was set: let go of it now.
    if (retry !== null) unsubscribe();
  }

  function drop() {
    const u = unsubscribe;
    unsubscribe = null;
    u?.();
  }

  /** The stream is over (not by our hand): resubscribe after a backoff. */
  function ended(reason: string) {
    if (stopped || retry !== null) return;
    drop();
    if (Date.now() - startedAt >= healthyAfterMs) attempts = 0;
    handlers.onRestart?.(reason);
    retry = setTimeout(() => {
      retry = null;
      if (stopped) return;
      start();
      handlers.onResubscribed?.();
    }, backoff(attempts++));
  }

  start();

  return {
    restart(reason) {
      if (stopped) return;
      if (retry !== null) clearTimeout(retry);
      retry = null;
      drop();
      handlers.onRestart?.(reason);
      start();
      handlers.onResubscribed?.();
    },
    stop() {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      retry = null;
      drop();
    },
  };
}
