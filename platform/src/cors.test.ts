import { type IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { corsPolicy, DEVELOPMENT_ORIGINS, parseOrigins } from './cors.js';

/** A request with these headers and the response it gets, for the policy alone. */
function exchange(headers: Record<string, string>, method = 'POST'): [IncomingMessage, ServerResponse] {
  const req = { method, headers } as unknown as IncomingMessage;
  const res = new ServerResponse(req);
  return [req, res];
}

describe('which origins CORS allows', () => {
  const allows = (origins: readonly string[], origin: string) => {
    const [req, res] = exchange({ origin });
    corsPolicy({ origins })(req, res);
    return res.getHeader('access-control-allow-origin');
  };

  it('allows any port of localhost in development, and Apollo Studio, and nothing that merely starts like them', () => {
    expect(allows(DEVELOPMENT_ORIGINS, 'http://localhost:5173')).toBe('http://localhost:5173');
    expect(allows(DEVELOPMENT_ORIGINS, 'http://localhost')).toBe('http://localhost');
    expect(allows(DEVELOPMENT_ORIGINS, 'http://[::1]:3000')).toBe('http://[::1]:3000');
    expect(allows(DEVELOPMENT_ORIGINS, 'https://studio.apollographql.com')).toBe('https://studio.apollographql.com');
    for (const origin of [
      'https://localhost:5173',
      'http://localhost.evil.example',
      'http://evil.example/http://localhost:1',
      'null',
      'http://localhost:*',
    ])
      expect(allows(DEVELOPMENT_ORIGINS, origin)).toBeUndefined();
  });

  it('allows nothing with an empty list', () => {
    expect(allows([], 'http://localhost:5173')).toBeUndefined();
  });

  it('answers * for any origin without credentials, and the exact origin with them', () => {
    expect(allows(['*'], 'https://anywhere.example')).toBe('*');
    const [req, res] = exchange({ origin: 'https://portal.example.org' });
    corsPolicy({ origins: ['https://portal.example.org'], credentials: true })(req, res);
    expect(res.getHeader('access-control-allow-origin')).toBe('https://portal.example.org');
    expect(res.getHeader('access-control-allow-credentials')).toBe('true');
  });

  it('reflects only a well-formed list of requested headers', () => {
    const [req, res] = exchange(
      { origin: 'http://localhost:1', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization\r\nx: y' },
      'OPTIONS',
    );
    expect(corsPolicy({ origins: DEVELOPMENT_ORIGINS })(req, res)).toBe(true);
    expect(res.statusCode).toBe(204);
    expect(res.getHeader('access-control-allow-headers')).toBeUndefined();
  });

  it('refuses configured entries that are not origins, in one line', () => {
    expect(parseOrigins('CORS_ORIGINS', ['https://portal.example.org/', 'http://localhost:*'])).toEqual([
      'https://portal.example.org',
      'http://localhost:*',
    ]);
    for (const entry of ['portal.example.org', 'https://portal.example.org/path', 'ftp://x.example', 'https://*.example.org'])
      expect(() => parseOrigins('CORS_ORIGINS', [entry])).toThrow(ConfigError);
  });
});
