/** Small helpers over urql for stores: one-shot requests and callback subscriptions. */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { AnyVariables, Client, CombinedError, OperationContext } from '@urql/core';
import { pipe, subscribe } from 'wonka';
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
