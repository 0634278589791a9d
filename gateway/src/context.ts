import type { IncomingMessage } from 'node:http';
import { type InternalTokenKey, type Principal, requestIdsOf, signInternalToken } from '@healthgraph/platform';
import type { TokenVerifier } from './auth.js';
import type { PriorityClass } from './priority.js';

/** Per-request gateway context: who is calling, how the request is named, and the token that tells the subgraphs so. */
export interface GatewayContext {
  principal: Principal;
  /** The gateway's own id for the request: the audit trail files every event under it. */
  requestId: string;
  /** The client's x-request-id, kept apart as a correlation id. */
  correlationId: string | null;
  subgraphToken: string;
  /** The caller's priority class (priority.ts): who is served first under load. */
  priority: PriorityClass;
  /** When the request reached the gateway (performance.now()): a shared read never answers it from a call started earlier. */
  receivedAt: number;
}

/**
 * The per-request context, built once per request (persisted-query resolution runs before Apollo
 * Server and shares it): verify the caller's token, sign the subgraph token with the request's ids.
 */
export function createContextFactory(
  verify: TokenVerifier,
  tokenKey: InternalTokenKey,
  classify: (principal: Principal) => PriorityClass,
): (req: IncomingMessage) => Promise<GatewayContext> {
  const contexts = new WeakMap<IncomingMessage, Promise<GatewayContext>>();
  return (req) => {
    let built = contexts.get(req);
    if (!built) {
      const receivedAt = performance.now();
      built = (async () => {
        const { requestId, correlationId } = requestIdsOf(req);
        const principal = await verify(req.headers.authorization);
        return {
          principal,
          requestId,
          correlationId,
          subgraphToken: await signInternalToken(tokenKey, principal, requestId, correlationId),
          priority: classify(principal),
          receivedAt,
        };
      })();
      contexts.set(req, built);
    }
    return built;
  };
}
