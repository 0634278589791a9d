import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier } from './auth.js';
import { loadGatewayConfig as loadConfig } from './config.js';
import { mintDevToken } from './dev-token.js';

const { jwt } = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'unit-test-secret-of-sufficient-length' });
const verify = createTokenVerifier(jwt);

describe('client token verification', () => {
  it('turns a valid token into a principal with the role default purpose', async () => {
    const token = await mintDevToken(jwt, { role: 'SCHEDULER', sub: 'staff-7' });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ sub: 'staff-7', role: 'SCHEDULER', purpose: 'HOPERAT' });
  });

  it('carries a break-glass reason', async () => {
    const token = await mintDevToken(jwt, { role: 'CLINICIAN', sub: 'prv-1', purpose: 'BTG', reason: 'Anaphylaxis, unresponsive' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ purpose: 'BTG', breakGlassReason: 'Anaphylaxis, unresponsive' });
  });

  it('refuses break-glass for a role other than clinician', async () => {
    const token = await mintDevToken(jwt, { role: 'BILLING', sub: 'staff-1', purpose: 'BTG', reason: 'Because I can' });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses a token that lives longer than twelve hours', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: 'PATIENT' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('pat-1')
      .setIssuer(jwt.issuer)
      .setAudience(jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 13 * 3600)
      .sign(new TextEncoder().encode(jwt.secret));
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  });

  it('refuses a token without an expiry', async () => {
    const token = await new SignJWT({ role: 'PATIENT' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('pat-1')
      .setIssuer(jwt.issuer)
      .setAudience(jwt.audience)
      .setIssuedAt()
      .sign(new TextEncoder().encode(jwt.secret));
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});

const sign = (claims: Record<string, unknown>, iat: number, exp: number) =>
  new SignJWT({ role: 'PATIENT', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('pat-1')
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(jwt.secret));
const seconds = () => Math.floor(Date.now() / 1000);
const breakGlass = { role: 'CLINICIAN', purpose: 'BTG', reason: 'Anaphylaxis, unresponsive' };
const refused = { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } };

describe('token lifetimes are measured from now', () => {
  it.each([
    ['issued a year ahead, living 15 minutes, break-glass', breakGlass, 365 * 86_400, 365 * 86_400 + 900],
    ['issued a year ahead, living an hour', {}, 365 * 86_400, 365 * 86_400 + 3600],
    ['issued two minutes ahead', {}, 120, 600],
    ['expiring 13 hours from now, issued an hour ago', {}, -3600, 13 * 3600],
    ['break-glass, expiring an hour from now, issued a minute ago', breakGlass, -60, 3600],
    ['break-glass, issued 20 minutes ago for 25', breakGlass, -1200, 300],
  ])('refuses a token %s', async (_, claims, iat, exp) => {
    const now = seconds();
    await expect(verify(`Bearer ${await sign(claims, now + iat, now + exp)}`)).rejects.toMatchObject(refused);
  });

  it.each([
    ['issued within the clock skew', {}, 30, 600],
    ['issued ten hours ago for eleven', {}, -10 * 3600, 3600],
    ['break-glass for 15 minutes', breakGlass, 0, 900],
  ])('accepts a token %s', async (_, claims, iat, exp) => {
    const now = seconds();
    await expect(verify(`Bearer ${await sign(claims, now + iat, now + exp)}`)).resolves.toMatchObject({ sub: 'pat-1' });
  });
});

describe('the Authorization header', () => {
  it('takes exactly one scheme and one token', async () => {
    const token = await mintDevToken(jwt, { role: 'PATIENT', sub: 'pat-1' });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'pat-1' });
    await expect(verify(`bearer ${token}`)).resolves.toMatchObject({ sub: 'pat-1' });
    for (const header of [
      `Bearer ${token} junk`,
      `Bearer ${token} ${token}`,
      `Bearer ${token},Bearer ${token}`,
      `Bearer ${token}.x`,
      `Bearer ${token}=`,
      `Bearer\t${token}`,
      `Bearer ${token.split('.').slice(0, 2).join('.')}.`,
      `Basic ${token}`,
      token,
      'Bearer',
      `Bearer ${'a'.repeat(9000)}.b.c`,
    ]) {
      await expect(verify(header)).rejects.toMatchObject(refused);
    }
  });
});

describe('verified tokens are remembered only until they expire', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a second request from memory, and refuses the same token once its exp has passed', async () => {
    const remembering = createTokenVerifier(jwt);
    const token = await mintDevToken(jwt, { role: 'PATIENT', sub: 'pat-9', ttlSeconds: 60 });
    await expect(remembering(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'pat-9' });
    await expect(remembering(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'pat-9' });
    vi.useFakeTimers({ now: Date.now() + 61_000, toFake: ['Date'] });
    await expect(remembering(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('checks a remembered token against the clock again: set back, a token issued "later" is refused', async () => {
    const remembering = createTokenVerifier(jwt);
    const token = await mintDevToken(jwt, { role: 'PATIENT', sub: 'pat-9', ttlSeconds: 600 });
    await expect(remembering(`Bearer ${token}`)).resolves.toMatchObject({ sub: 'pat-9' });
    vi.useFakeTimers({ now: Date.now() - 3_600_000, toFake: ['Date'] });
    await expect(remembering(`Bearer ${token}`)).rejects.toMatchObject(refused);
    await expect(remembering(`Bearer ${token} junk`)).rejects.toMatchObject(refused);
  });

  it('never remembers a failure: a tampered token is refused every time, the genuine one still accepted', async () => {
    const remembering = createTokenVerifier(jwt);
    const token = await mintDevToken(jwt, { role: 'CLINICIAN', sub: 'prv-1' });
    const [header, payload, signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ role: 'ADMIN', sub: 'prv-1', iss: jwt.issuer, aud: jwt.audience, iat: 1, exp: 4_000_000_000 })).toString('base64url')}.${signature}`;
    for (let i = 0; i < 2; i++)
      await expect(remembering(`Bearer ${forged}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    await expect(remembering(`Bearer ${token}`)).resolves.toMatchObject({ role: 'CLINICIAN' });
    expect(payload).toBeTruthy();
  });
});

describe('production tokens through a JWKS endpoint', () => {
  it('accepts RS256 and ES256 tokens signed by keys the identity provider publishes, and refuses others', async () => {
    const { createServer } = await import('node:http');
    const { exportJWK, generateKeyPair } = await import('jose');
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('RS256');
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    const idp = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    try {
      const port = (idp.address() as { port: number }).port;
      const config = loadConfig({
        NODE_ENV: 'production',
        JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
        JWT_ISSUER: 'https://idp.example.org',
        JWT_AUDIENCE: 'healthgraph',
        SUBGRAPH_TOKEN_SECRET: 'x'.repeat(40),
        DATABASE_URL: 'postgresql://db/clinical',
      });
      const verifyProduction = createTokenVerifier(config.jwt);
      const sign = (alg: string, kid: string, key: Parameters<SignJWT['sign']>[0]) =>
        new SignJWT({ role: 'CLINICIAN' })
          .setProtectedHeader({ alg, kid })
          .setSubject('prv-0001')
          .setIssuer('https://idp.example.org')
          .setAudience('healthgraph')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
      await expect(verifyProduction(`Bearer ${await sign('RS256', 'rsa-1', rsa.privateKey)}`)).resolves.toMatchObject({
        sub: 'prv-0001',
        role: 'CLINICIAN',
      });
      await expect(verifyProduction(`Bearer ${await sign('ES256', 'ec-1', ec.privateKey)}`)).resolves.toMatchObject({ role: 'CLINICIAN' });
      await expect(verifyProduction(`Bearer ${await sign('RS256', 'rsa-1', stranger.privateKey)}`)).rejects.toMatchObject({
        extensions: { code: 'UNAUTHENTICATED' },
      });
      // A shared-secret token is worthless once the gateway verifies against the identity provider.
      await expect(
        verifyProduction(`Bearer ${await sign('HS256', 'rsa-1', new TextEncoder().encode('x'.repeat(40)))}`),
      ).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    } finally {
      idp.close();
    }
  });
});
