import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@healthgraph/kit';
import { createTokenVerifier } from './auth.js';
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
    const token = await new SignJWT({ role: 'PATIENT' }).setProtectedHeader({ alg: 'HS256' }).setSubject('pat-1').setIssuer(jwt.issuer).setAudience(jwt.audience).setIssuedAt(now).setExpirationTime(now + 13 * 3600).sign(new TextEncoder().encode(jwt.secret));
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  });

  it('refuses a token without an expiry', async () => {
    const token = await new SignJWT({ role: 'PATIENT' }).setProtectedHeader({ alg: 'HS256' }).setSubject('pat-1').setIssuer(jwt.issuer).setAudience(jwt.audience).setIssuedAt().sign(new TextEncoder().encode(jwt.secret));
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});
