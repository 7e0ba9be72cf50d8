import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PLAIN_WORDS, describeError, errorCode, isUnauthenticated } from './errors';

const gqlError = (code: string, message: string) =>
  new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions: { code } })] });

describe('describeError', () => {
  it('says every code in plain words', () => {
    for (const code of Object.keys(PLAIN_WORDS)) {
      const text = describeError(gqlError(code, 'x'));
      expect(text).toContain(PLAIN_WORDS[code as keyof typeof PLAIN_WORDS]);
      expect(text).not.toContain(code);
    }
  });

  it('adds the server detail where it names the broken rule', () => {
    expect(describeError(gqlError('BAD_USER_INPUT', 'price must be between 22.43 and 27.41'))).toBe(
      'The server did not accept that input (price must be between 22.43 and 27.41)',
    );
    expect(describeError(gqlError('MARKET_HALTED', 'market ACME-USD is halted'))).toBe(
      PLAIN_WORDS.MARKET_HALTED,
    );
  });

  it('network failures, unknown codes and no error', () => {
    expect(describeError(new CombinedError({ networkError: new Error('boom') }))).toMatch(
      /Cannot reach the server/,
    );
    expect(describeError(gqlError('TEAPOT', 'short and stout'))).toBe('short and stout');
    expect(describeError(null)).toBeNull();
  });
});

describe('codes', () => {
  it('reads the first code and recognises UNAUTHENTICATED', () => {
    expect(errorCode(gqlError('FORBIDDEN', 'no'))).toBe('FORBIDDEN');
    expect(isUnauthenticated(gqlError('UNAUTHENTICATED', 'no'))).toBe(true);
    expect(isUnauthenticated(gqlError('FORBIDDEN', 'no'))).toBe(false);
    expect(
      isUnauthenticated(
        new CombinedError({ networkError: new Error('401'), response: { status: 401 } }),
      ),
    ).toBe(true);
  });
});
