import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** How one request is named: by this service, and (kept apart) by the client. */
export interface RequestIds {
  /** Made here for every request; the audit trail files events under it. A client can never choose it. */
  requestId: string;
  /** The client's own `x-request-id`, kept as a correlation id when it is plain and short; never trusted as the request id. */
  correlationId: string | null;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const named = new WeakMap<IncomingMessage, RequestIds>();

/** The ids of a request, made on first use and the same for the rest of its life. */
export function requestIdsOf(req: IncomingMessage): RequestIds {
  let ids = named.get(req);
  if (!ids) {
    const offered = req.headers['x-request-id'];
    ids = { requestId: randomUUID(), correlationId: typeof offered === 'string' && CORRELATION_ID.test(offered) ? offered : null };
    named.set(req, ids);
  }
  return ids;
}
