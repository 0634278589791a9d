import { webcrypto } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Principal } from './principal.js';
import { principalFromClaims } from './principal.js';

/** Issuer and audience of the tokens the gateway signs for subgraphs; distinct from client tokens. */
export const INTERNAL_ISSUER = 'healthgraph-gateway';
export const INTERNAL_AUDIENCE = 'healthgraph-subgraphs';
/** Short-lived: long enough for one request's fan-out, too short to be worth stealing. */
export const INTERNAL_TOKEN_TTL_SECONDS = 60;

export interface InternalTokenKey {
  secret: Uint8Array;
  /** The secret imported once as a WebCrypto key: importing it on every request costs more than the HMAC itself. */
  cryptoKey(): Promise<webcrypto.CryptoKey>;
}

export function internalTokenKey(secret: string): InternalTokenKey {
  const bytes = new TextEncoder().encode(secret);
  let imported: Promise<webcrypto.CryptoKey> | undefined;
  return {
    secret: bytes,
    cryptoKey: () => (imported ??= webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])),
  };
}

/** Signs the principal (and the request id, for the audit trail) for the subgraphs of one request. */
export async function signInternalToken(key: InternalTokenKey, principal: Principal, requestId: string): Promise<string> {
  return new SignJWT({ role: principal.role, purpose: principal.purpose, reason: principal.breakGlassReason, rid: requestId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.sub)
    .setIssuer(INTERNAL_ISSUER)
    .setAudience(INTERNAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${INTERNAL_TOKEN_TTL_SECONDS}s`)
    .sign(await key.cryptoKey());
}

/** Verifies a gateway-signed token; returns null for anything that is not one (no reason leaks to the caller). */
export async function verifyInternalToken(key: InternalTokenKey, token: string): Promise<{ principal: Principal; requestId: string } | null> {
  try {
    const { payload } = await jwtVerify(token, await key.cryptoKey(), {
      issuer: INTERNAL_ISSUER,
      audience: INTERNAL_AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: `${INTERNAL_TOKEN_TTL_SECONDS + 5}s`,
    });
    const principal = principalFromClaims(payload);
    if (typeof principal === 'string') return null;
    return { principal, requestId: typeof payload.rid === 'string' ? payload.rid : 'unknown' };
  } catch {
    return null;
  }
}
