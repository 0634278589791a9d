import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from './config.js';
import { ERROR_STATUS } from './errors.js';

/**
 * Cross-origin requests from browser portals (the Fetch standard's CORS protocol). The gateway
 * authenticates by bearer token, never by cookie, so an allowed origin gains nothing a script
 * elsewhere could not send with its own token; the list still keeps unknown pages from reading
 * answers with a token they obtained.
 */
export interface CorsOptions {
  /**
   * Origins allowed to read answers: exact (`https://portal.example.org`), any port of one host
   * (`http://localhost:*`), or `*` (any origin; never combined with credentials, as the Fetch
   * standard forbids it). Empty: no cross-origin access at all.
   */
  origins: readonly string[];
  /** Answer credentialed requests (cookies, TLS client certificates) with Access-Control-Allow-Credentials. */
  credentials?: boolean;
  /** How long a browser may reuse a preflight answer. */
  maxAgeSeconds?: number;
}

/** What development allows: pages served from this machine, and Apollo Studio's Sandbox. */
export const DEVELOPMENT_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*', 'https://studio.apollographql.com'];

const ORIGIN = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}|\*))?$/;
/** Response headers a portal may read: the request id for support, Retry-After for back-off, the challenge on 401. */
const EXPOSED = 'x-request-id, x-correlation-id, retry-after, www-authenticate';
const METHODS = 'GET, POST, OPTIONS';
/** A header-name list as Access-Control-Request-Headers carries it (RFC 9110 tokens), bounded. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9a-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9a-z-]+)*$/i;

/** Checks a list of allowed origins, refusing with one line anything that is not an origin. */
export function parseOrigins(name: string, entries: readonly string[]): string[] {
  return entries.map((entry) => {
    const origin = entry.toLowerCase().replace(/\/$/, '');
    if (origin === '*' || ORIGIN.test(origin)) return origin;
    throw new ConfigError(
      `${name} must list origins such as https://portal.example.org or http://localhost:*, or be * or none; "${entry}" is not one`,
    );
  });
}

function matcher(origins: readonly string[]): (origin: string) => boolean {
  const exact = new Set(origins.filter((origin) => !origin.endsWith(':*')));
  const anyPort = origins.filter((origin) => origin.endsWith(':*')).map((origin) => origin.slice(0, -2));
  return (origin) => {
    const lower = origin.toLowerCase();
    if (exact.has('*') || exact.has(lower)) return true;
    const parsed = ORIGIN.exec(lower);
    if (!parsed || parsed[3] === '*') return false;
    return anyPort.includes(`${parsed[1]}://${parsed[2]}`);
  };
}

/** Adds a value to the Vary header, keeping those already there. */
export function addVary(res: ServerResponse, value: string): void {
  const current = res.getHeader('vary');
  const values = (current === undefined ? [] : String(current).split(',')).map((item) => item.trim()).filter(Boolean);
  if (!values.some((item) => item.toLowerCase() === value.toLowerCase())) values.push(value);
  res.setHeader('vary', values.join(', '));
}

/**
 * Returns a step for the start of every request: it sets the CORS headers an allowed origin needs
 * on whatever answer follows (refusals included, so a portal can read why), and answers a
 * preflight itself, before authentication (a preflight never carries the Authorization header).
 * Returns true when it has answered.
 */
export function corsPolicy({ origins, credentials = false, maxAgeSeconds = 600 }: CorsOptions) {
  const allowed = matcher(origins);
  const any = origins.includes('*');
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    // The answer depends on Origin whenever a list decides it, so shared caches must key on it.
    if (!any || credentials) addVary(res, 'Origin');
    if (origin !== undefined && allowed(origin)) {
      // Fetch standard: a credentialed request needs the exact origin echoed, never `*`.
      res.setHeader('access-control-allow-origin', any && !credentials ? '*' : origin);
      if (credentials) res.setHeader('access-control-allow-credentials', 'true');
      if (!preflight) res.setHeader('access-control-expose-headers', EXPOSED);
    } else if (preflight) {
      const body = JSON.stringify({
        errors: [
          {
            message: `Cross-origin requests from ${JSON.stringify(origin.slice(0, 200))} are not allowed (CORS_ORIGINS)`,
            extensions: { code: 'ORIGIN_NOT_ALLOWED' },
          },
        ],
      });
      res.writeHead(ERROR_STATUS.ORIGIN_NOT_ALLOWED, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
      return true;
    }
    if (!preflight) return false;
    res.setHeader('access-control-allow-methods', METHODS);
    const requested = req.headers['access-control-request-headers'];
    // Any header may be sent: authorization is a bearer token checked on every request, so the
    // list would protect nothing, while Sandbox and client libraries each add their own.
    if (requested && requested.length <= 2_000 && HEADER_LIST.test(requested)) res.setHeader('access-control-allow-headers', requested);
    res.setHeader('access-control-max-age', String(maxAgeSeconds));
    addVary(res, 'Access-Control-Request-Method');
    addVary(res, 'Access-Control-Request-Headers');
    res.writeHead(204);
    res.end();
    return true;
  };
}
