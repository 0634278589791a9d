import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { type Config, type Principal, principalFromClaims, unauthenticated } from '@healthgraph/kit';

/** Longest lifetime accepted for a break-glass token: emergency access is time-boxed. */
export const BREAK_GLASS_MAX_SECONDS = 15 * 60;
/** Longest lifetime accepted for any client token. */
export const MAX_TOKEN_SECONDS = 12 * 60 * 60;

export type TokenVerifier = (authorization: string | undefined) => Promise<Principal>;

/**
 * Verifies client bearer tokens: HS256 with a shared secret (development), or RS256/ES256 against
 * the identity provider's JWKS (production). `alg: none`, other algorithms, a wrong issuer or
 * audience, a missing or past `exp`, and over-long lifetimes are all refused with 401.
 */
export function createTokenVerifier(jwt: Config['jwt']): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = jwt.jwksUrl ? createRemoteJWKSet(new URL(jwt.jwksUrl)) : new TextEncoder().encode(jwt.secret);
  const algorithms = jwt.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  return async (authorization) => {
    if (!authorization) throw unauthenticated('send Authorization: Bearer <token>');
    const [scheme, token] = authorization.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token) throw unauthenticated('send Authorization: Bearer <token>');
    let claims: Record<string, unknown>;
    try {
      const verified = await jwtVerify(token, key as Uint8Array, { algorithms, issuer: jwt.issuer, audience: jwt.audience, requiredClaims: ['exp', 'iat', 'sub'] });
      claims = verified.payload;
    } catch {
      // One message for every failure: which check failed is of use only to an attacker.
      throw unauthenticated('the token is invalid or expired');
    }
    const lifetime = Number(claims.exp) - Number(claims.iat);
    if (lifetime > MAX_TOKEN_SECONDS) throw unauthenticated('the token lives too long');
    const principal = principalFromClaims(claims);
    if (typeof principal === 'string') throw unauthenticated(principal);
    if (principal.breakGlassReason && lifetime > BREAK_GLASS_MAX_SECONDS) throw unauthenticated(`break-glass tokens may live at most ${BREAK_GLASS_MAX_SECONDS / 60} minutes`);
    return principal;
  };
}
