import { type Principal, principalFromClaims, unauthenticated } from '@healthgraph/platform';
import { createRemoteJWKSet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { GatewayConfig } from './config.js';

/** Longest lifetime accepted for a break-glass token: emergency access is time-boxed. */
export const BREAK_GLASS_MAX_SECONDS = 15 * 60;
/** Longest lifetime accepted for any client token. */
export const MAX_TOKEN_SECONDS = 12 * 60 * 60;
/** How far the identity provider's clock may run ahead of the gateway's. */
export const CLOCK_SKEW_SECONDS = 60;

export type TokenVerifier = (authorization: string | undefined) => Promise<Principal>;

/** How many verified tokens are remembered (a portal sends the same token for every request of a session). */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * RFC 6750: `Bearer`, one or more spaces, one token; here a compact JWS, three base64url parts
 * (header, payload, signature). Anything around it, a second token or a second scheme, is refused:
 * a header that means two things to two parsers is not authentication.
 */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;
/** Far above any real token (a few hundred bytes to a few kilobytes); bounds the work on junk. */
const TOKEN_MAX_LENGTH = 8_192;

interface Verified {
  principal: Principal;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Why a token's times make it unacceptable now, or null. Lifetimes are measured from now as well
 * as from the claimed `iat`: a token "issued" a year ahead with `exp = iat + 900` would otherwise
 * be a 15-minute break-glass token good for a year.
 */
function timesRefused({ principal, issuedAt, expiresAt }: Verified, now: number): string | null {
  if (issuedAt > now + CLOCK_SKEW_SECONDS) return 'the token is issued in the future';
  const limit = principal.breakGlassReason ? BREAK_GLASS_MAX_SECONDS : MAX_TOKEN_SECONDS;
  if (expiresAt - issuedAt > limit || expiresAt - now > limit + CLOCK_SKEW_SECONDS) {
    return principal.breakGlassReason
      ? `break-glass tokens may live at most ${BREAK_GLASS_MAX_SECONDS / 60} minutes`
      : 'the token lives too long';
  }
  if (expiresAt <= now) return 'the token is invalid or expired';
  return null;
}

/**
 * Verifies client bearer tokens: HS256 with a shared secret (development), or RS256/ES256 against
 * the identity provider's JWKS (production). `alg: none`, other algorithms, a wrong issuer or
 * audience, a missing or past `exp`, an `iat` in the future, over-long lifetimes and any
 * Authorization header that is not exactly `Bearer <JWT>` are all refused with 401.
 */
export function createTokenVerifier(jwt: GatewayConfig['jwt']): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : new TextEncoder().encode(jwt.secret);
  const algorithms = jwt.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  // Tokens that passed every check, with their times: a signature is checked once per token, not
  // once per request. Only successes are kept, each only until its own `exp`, and every use of a
  // remembered token passes the time checks again (a clock that was set back must not revive it).
  const verified = new Map<string, Verified>();
  return async (authorization) => {
    if (!authorization) throw unauthenticated('send Authorization: Bearer <token>');
    const token = authorization.length <= TOKEN_MAX_LENGTH ? BEARER.exec(authorization)?.[1] : undefined;
    if (!token) throw unauthenticated('send Authorization: Bearer <token>');
    const now = Math.floor(Date.now() / 1000);
    const known = verified.get(token);
    if (known) {
      const refused = timesRefused(known, now);
      if (!refused) return known.principal;
      verified.delete(token);
      throw unauthenticated(refused);
    }
    const entry = await verify(token);
    const refused = timesRefused(entry, Math.floor(Date.now() / 1000));
    if (refused) throw unauthenticated(refused);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, entry);
    return entry.principal;
  };

  async function verify(token: string): Promise<Verified> {
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
    const principal = principalFromClaims(claims);
    if (typeof principal === 'string') throw unauthenticated(principal);
    return { principal, issuedAt: Number(claims.iat), expiresAt: Number(claims.exp) };
  }
}
