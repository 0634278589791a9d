import { jwtVerify, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INTERNAL_AUDIENCE, INTERNAL_ISSUER, internalTokenKey, signInternalToken, verifyInternalToken } from './subgraph-token.js';

const SECRET = 'subgraph-token-secret-of-sufficient-length-0123';
const key = internalTokenKey(SECRET);
const clinician = { role: 'CLINICIAN' as const, sub: 'prv-0001', purpose: 'TREAT' as const };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token made by jose, the reference implementation, with chosen header and claims. */
async function joseToken(
  claims: Record<string, unknown>,
  { header = { alg: 'HS256', typ: 'JWT' } as { alg: string; typ?: string }, secret = SECRET } = {},
) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(new TextEncoder().encode(secret));
}
const now = () => Math.floor(Date.now() / 1000);
const standard = () => ({
  role: 'CLINICIAN',
  purpose: 'TREAT',
  rid: 'req-1',
  sub: 'prv-0001',
  iss: INTERNAL_ISSUER,
  aud: INTERNAL_AUDIENCE,
  iat: now(),
  exp: now() + 60,
});

describe('gateway-signed subgraph tokens', () => {
  afterEach(() => vi.useRealTimers());

  it('round-trip the principal and request id, break-glass reason included', async () => {
    await expect(verifyInternalToken(key, await signInternalToken(key, clinician, 'req-42'))).resolves.toEqual({
      principal: clinician,
      requestId: 'req-42',
      correlationId: null,
    });
    const btg = { ...clinician, purpose: 'BTG' as const, breakGlassReason: 'Anaphylaxis, unresponsive' };
    await expect(verifyInternalToken(key, await signInternalToken(key, btg, 'req-43'))).resolves.toEqual({
      principal: btg,
      requestId: 'req-43',
      correlationId: null,
    });
  });

  it('are standard HS256 JWTs: jose verifies ours, and we accept jose-made ones', async () => {
    const ours = await signInternalToken(key, clinician, 'req-7');
    const { payload } = await jwtVerify(ours, new TextEncoder().encode(SECRET), {
      issuer: INTERNAL_ISSUER,
      audience: INTERNAL_AUDIENCE,
      algorithms: ['HS256'],
    });
    expect(payload).toMatchObject({ sub: 'prv-0001', role: 'CLINICIAN', rid: 'req-7' });
    await expect(verifyInternalToken(key, await joseToken(standard()))).resolves.toMatchObject({ principal: clinician });
  });

  it('refuse every forgery and every stale, misdirected or malformed token', async () => {
    const genuine = await signInternalToken(key, clinician, 'req-1');
    const [header, payload, signature] = genuine.split('.');
    const refused = [
      await signInternalToken(internalTokenKey('another-secret-of-sufficient-length-0123456'), clinician, 'req-1'),
      `${header}.${b64({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'ADMIN' })}.${signature}`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      await joseToken(standard(), { header: { alg: 'HS512', typ: 'JWT' } }),
      await joseToken(standard(), { header: { alg: 'HS256' } }),
      await joseToken({ ...standard(), exp: now() - 1 }),
      await joseToken({ ...standard(), iat: now() - 120, exp: now() + 60 }),
      await joseToken({ ...standard(), iat: now() + 60, exp: now() + 120 }),
      await joseToken({ ...standard(), iss: 'someone-else' }),
      await joseToken({ ...standard(), aud: 'healthgraph' }),
      await joseToken({ ...standard(), sub: undefined }),
      await joseToken({ ...standard(), role: 'SUPERUSER' }),
      await joseToken({ ...standard(), exp: undefined }),
      `${header}.${Buffer.from('not json').toString('base64url')}.${signature}`,
      '',
      'a.b',
      `${genuine}.extra`,
      `${header}.${payload}.${signature}x`,
    ];
    for (const token of refused) await expect(verifyInternalToken(key, token), token).resolves.toBeNull();
  });

  it('expire after sixty seconds', async () => {
    const token = await signInternalToken(key, clinician, 'req-1');
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ['Date'] });
    await expect(verifyInternalToken(key, token)).resolves.toBeNull();
  });
});
