import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.js';
import { principalFromClaims } from './principal.js';

/** Issuer and audience of the tokens the gateway signs for subgraphs; distinct from client tokens. */
export const INTERNAL_ISSUER = 'healthgraph-gateway';
export const INTERNAL_AUDIENCE = 'healthgraph-subgraphs';
/** Short-lived: long enough for one request's fan-out, too short to be worth stealing. */
export const INTERNAL_TOKEN_TTL_SECONDS = 60;
/**
 * The header every subgraph answer carries: how many refusals the subgraph recorded under the
 * request's id (0 when none). The gateway lets a caller's identical read share an answer only
 * when it says 0 (gateway/src/shared-reads.ts); without it, nothing is shared.
 */
export const REFUSALS_HEADER = 'x-healthgraph-refusals';
/** Clock difference tolerated between gateway and subgraph hosts. */
const CLOCK_SKEW_SECONDS = 5;

export interface InternalTokenKey {
  secret: Buffer;
}

export const internalTokenKey = (secret: string): InternalTokenKey => ({ secret: Buffer.from(secret, 'utf8') });

/*
 * The token is a standard HS256 JWT, made and checked with node:crypto's HMAC directly: one is
 * signed per request and checked by every subgraph the request reaches, and through WebCrypto
 * (as a JWT library does) each HMAC is an asynchronous job that cost the gateway more CPU than
 * the rest of its authentication. Only this one shape is ever accepted: header {"alg":"HS256",
 * "typ":"JWT"} byte for byte, so there is no algorithm to negotiate or confuse.
 */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const mac = (key: InternalTokenKey, signingInput: string) => createHmac('sha256', key.secret).update(signingInput).digest();

/** Signs the principal (and the request id, for the audit trail) for the subgraphs of one request. */
export async function signInternalToken(
  key: InternalTokenKey,
  principal: Principal,
  requestId: string,
  correlationId: string | null = null,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    role: principal.role,
    purpose: principal.purpose,
    ...(principal.breakGlassReason !== undefined ? { reason: principal.breakGlassReason } : {}),
    rid: requestId,
    ...(correlationId ? { cid: correlationId } : {}),
    sub: principal.sub,
    iss: INTERNAL_ISSUER,
    aud: INTERNAL_AUDIENCE,
    iat,
    exp: iat + INTERNAL_TOKEN_TTL_SECONDS,
  };
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signingInput}.${mac(key, signingInput).toString('base64url')}`;
}

/** Verifies a gateway-signed token; returns null for anything that is not one (no reason leaks to the caller). */
export async function verifyInternalToken(
  key: InternalTokenKey,
  token: string,
): Promise<{ principal: Principal; requestId: string; correlationId: string | null } | null> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return null;
  const signature = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null;
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const now = Math.floor(Date.now() / 1000);
  const { iss, aud, iat, exp } = payload;
  if (iss !== INTERNAL_ISSUER || aud !== INTERNAL_AUDIENCE) return null;
  if (typeof iat !== 'number' || typeof exp !== 'number') return null;
  if (exp <= now || iat > now + CLOCK_SKEW_SECONDS || now - iat > INTERNAL_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS) return null;
  const principal = principalFromClaims(payload);
  if (typeof principal === 'string') return null;
  return {
    principal,
    requestId: typeof payload.rid === 'string' ? payload.rid : 'unknown',
    correlationId: typeof payload.cid === 'string' ? payload.cid : null,
  };
}
