/**
 * Server errors in plain words. Every GraphQL error carries `extensions.code` (API.md);
 * we show the code's meaning, plus the server's own message where it names the rule that
 * was broken (bad input, a conflict).
 */
import type { CombinedError } from '@urql/core';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'INSUFFICIENT_FUNDS'
  | 'MARKET_HALTED'
  | 'RATE_LIMITED'
  | 'INTERNAL';

export const PLAIN_WORDS: Record<ErrorCode, string> = {
  BAD_USER_INPUT: 'The server did not accept that input',
  UNAUTHENTICATED: 'You are not signed in, or your session has expired',
  FORBIDDEN: 'You are not allowed to do that',
  NOT_FOUND: 'That does not exist (any more)',
  CONFLICT: 'That clashes with the current state, which may have just changed',
  INSUFFICIENT_FUNDS: 'Insufficient funds: your available balance does not cover this',
  MARKET_HALTED: 'This market is halted: it takes no new orders for now',
  RATE_LIMITED: 'Too many requests: wait a moment and try again',
  INTERNAL: 'Something went wrong on the server: try again',
};

/** Codes whose server message adds the detail the trader needs. */
const WITH_DETAIL = new Set<string>(['BAD_USER_INPUT', 'CONFLICT', 'INSUFFICIENT_FUNDS']);

/** The first error code of a result, if any. */
export function errorCode(error: CombinedError | null | undefined): string | null {
  for (const e of error?.graphQLErrors ?? []) {
    const code = e.extensions?.code;
    if (typeof code === 'string') return code;
  }
  return null;
}

/** Whether the request failed because it was not (or no longer) authenticated. */
export function isUnauthenticated(error: CombinedError | null | undefined): boolean {
  if (errorCode(error) === 'UNAUTHENTICATED') return true;
  const response = error?.response as { status?: number } | undefined;
  return response?.status === 401;
}

/** One sentence for the person in front of the screen; null if there is no error. */
export function describeError(error: CombinedError | null | undefined): string | null {
  if (!error) return null;
  if (error.networkError && !error.graphQLErrors.length) {
    return 'Cannot reach the server: check your connection and try again';
  }
  const first = error.graphQLErrors[0];
  const code = errorCode(error);
  if (code && code in PLAIN_WORDS) {
    const plain = PLAIN_WORDS[code as ErrorCode];
    const detail = first?.message?.trim();
    return WITH_DETAIL.has(code) && detail ? `${plain} (${detail})` : plain;
  }
  return first?.message || 'Something went wrong: try again';
}
