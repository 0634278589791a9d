import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type InternalTokenKey, type Principal, signInternalToken } from '@healthgraph/platform';
import type { TokenVerifier } from './auth.js';

/** Per-request gateway context: who is calling, and the token that tells the subgraphs so. */
export interface GatewayContext {
  principal: Principal;
  requestId: string;
  subgraphToken: string;
}

/** A request id a client may offer, kept as given when it is plain and short. */
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * The per-request context, built once per request (persisted-query resolution runs before Apollo
 * Server and shares it): verify the caller's token, name the request, sign the subgraph token.
 */
export function createContextFactory(verify: TokenVerifier, tokenKey: InternalTokenKey): (req: IncomingMessage) => Promise<GatewayContext> {
  const contexts = new WeakMap<IncomingMessage, Promise<GatewayContext>>();
  return (req) => {
    let built = contexts.get(req);
    if (!built) {
      built = (async () => {
        const offered = req.headers['x-request-id'];
        const requestId = typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
        const principal = await verify(req.headers.authorization);
        return { principal, requestId, subgraphToken: await signInternalToken(tokenKey, principal, requestId) };
      })();
      contexts.set(req, built);
    }
    return built;
  };
}
