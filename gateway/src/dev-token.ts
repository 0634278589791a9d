import { DEFAULT_PURPOSE, type Purpose, type Role } from '@healthgraph/platform';
import { SignJWT } from 'jose';
import { BREAK_GLASS_MAX_SECONDS } from './auth.js';
import type { GatewayConfig } from './config.js';

export interface DevTokenOptions {
  role: Role;
  sub: string;
  purpose?: Purpose;
  reason?: string;
  /** Lifetime in seconds (default one hour; break-glass at most 15 minutes). */
  ttlSeconds?: number;
}

/** Signs a client token with the development HS256 secret. Production tokens come from the identity provider. */
export async function mintDevToken(
  jwt: GatewayConfig['jwt'],
  { role, sub, purpose = DEFAULT_PURPOSE[role], reason, ttlSeconds }: DevTokenOptions,
): Promise<string> {
  if (!jwt.secret) throw new Error('development tokens need JWT_SECRET (or no JWT_JWKS_URL)');
  const ttl = ttlSeconds ?? (purpose === 'BTG' ? BREAK_GLASS_MAX_SECONDS : 3600);
  return new SignJWT({ role, purpose, ...(reason ? { reason } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(new TextEncoder().encode(jwt.secret));
}
