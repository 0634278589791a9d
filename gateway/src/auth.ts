import { type Principal, principalFromClaims, unauthenticated } from '@healthgraph/platform';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { GatewayConfig } from './config.js';

/** Longest lifetime accepted for a break-glass token: emergency access is time-boxed. */
export const BREAK_GLASS_MAX_SECONDS = 15 * 60;
/** Longest lifetime accepted for any client token. */
export const MAX_TOKEN_SECONDS = 12 * 60 * 60;

export type TokenVerifier = (authorization: string | undefined) => Promise<Principal>;

/** How many verified tokens are remembered (a portal sends the same token for every request of a session). */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Verifies client bearer tokens: HS256 with a shared secret (development), or RS256/ES256 against
 * the identity provider's JWKS (production). `alg: none`, other algorithms, a wrong issuer or
 * audience, a missing or past `exp`, and over-long lifetimes are all refused with 401.
 */
export function createTokenVerifier(jwt: GatewayConfig['jwt']): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : new TextEncoder().encode(jwt.secret);
  const algorithms = jwt.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  // Tokens that passed every check, with their expiry: a signature is checked once per token, not
  // once per request. Only successes are kept, and each only until its own `exp`.
  const verified = new Map<string, { principal: Principal; expiresAt: number }>();
  return async (authorization) => {
    if (!authorization) throw unauthenticated('send Authorization: Bearer <token>');
    const [scheme, token] = authorization.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token) throw unauthenticated('send Authorization: Bearer <token>');
    const known = verified.get(token);
    if (known && known.expiresAt > Date.now()) return known.principal;
    verified.delete(token);
    const entry = await verify(token);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, entry);
    return entry.principal;
  };

  async function verify(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: jwt.issuer,
        audience: jwt.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch {
      // One message for every failure: which check failed is of use only to an attacker.
      throw unauthenticated('the token is invalid or expired');
    }
    const lifetime = Number(claims.exp) - Number(claims.iat);
    if (lifetime > MAX_TOKEN_SECONDS) throw unauthenticated('the token lives too long');
    const principal = principalFromClaims(claims);
    if (typeof principal === 'string') throw unauthenticated(principal);
    if (principal.breakGlassReason && lifetime > BREAK_GLASS_MAX_SECONDS)
      throw unauthenticated(`break-glass tokens may live at most ${BREAK_GLASS_MAX_SECONDS / 60} minutes`);
    return { principal, expiresAt: Number(claims.exp) * 1000 };
  }
}
