import { createServer, type IncomingMessage, maxHeaderSize, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { type CompressionOptions, endCompressed } from './compression.js';
import { addVary, type CorsOptions, corsPolicy } from './cors.js';
import { ERROR_STATUS, type ErrorCode } from './errors.js';
import { requestIdsOf } from './request-id.js';
import { withServerSpan } from './tracing.js';

export interface HttpHandlerOptions<C extends BaseContext> {
  /** Builds the per-request context; may throw a GraphQLError with extensions.http.status. */
  context: (req: IncomingMessage) => Promise<C>;
  /** Largest accepted request body, in bytes. */
  maxBodyBytes?: number;
  /** Extra GET routes (health, metrics) answered before GraphQL. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
  /** The path GraphQL is served on. */
  graphqlPath?: string;
  /** Most operations in one batched request. */
  maxBatch?: number;
  /** Rewrites or refuses a parsed body before GraphQL sees it (persisted queries); throw a GraphQLError to refuse. */
  prepare?: (body: unknown, req: IncomingMessage) => Promise<unknown>;
  /** The service's name in traces (`gateway`, `patients`...). */
  service?: string;
  /** Cross-origin access for browser portals (the gateway); absent: no CORS headers, preflights unanswered. */
  cors?: CorsOptions;
  /** Compress GraphQL answers by Accept-Encoding (the gateway); absent: never. */
  compression?: CompressionOptions;
  /**
   * A page for browsers (the development explorer): answers a GET of the GraphQL path that asks
   * for HTML and carries no operation, before authentication, as a browser's first visit has no token.
   */
  page?: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /**
   * Decides, once the body is read and before anything is parsed, whether the request runs now:
   * resolves with a release (called when the answer has gone out or the caller hung up), or throws
   * a GraphQLError (extensions.http.status, optional extensions.http.headers) to refuse it. The
   * signal aborts when the caller hangs up while waiting.
   */
  admit?: (req: IncomingMessage, signal: AbortSignal) => Promise<(() => void) | undefined>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping it, but drain the rest so the client can read the 413 instead of a reset.
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * RFC 6750 section 3: a 401 names the scheme the caller must use and, when a token was sent, says
 * it was refused (no description: which check failed is of use only to an attacker).
 */
function challenge(req: IncomingMessage, res: ServerResponse): void {
  if (res.statusCode === 401 && !res.hasHeader('www-authenticate')) {
    res.setHeader('www-authenticate', req.headers.authorization ? 'Bearer error="invalid_token"' : 'Bearer');
  }
}

/** Answers a refusal: its status and headers from extensions.http, its code and message in the body. */
function refuse(req: IncomingMessage, res: ServerResponse, error: GraphQLError): void {
  const { http, ...extensions } = error.extensions as { http?: { status?: number; headers?: Record<string, string> } };
  res.statusCode = http?.status ?? 400;
  for (const [name, value] of Object.entries(http?.headers ?? {})) res.setHeader(name, value);
  challenge(req, res);
  sendJson(res, res.statusCode, { errors: [{ message: error.message, extensions }] });
}

/** A Node request handler serving an Apollo Server, with health and other plain routes beside it. */
export function createHttpHandler<C extends BaseContext>(
  server: ApolloServer<C>,
  {
    context,
    maxBodyBytes = 1_000_000,
    routes = {},
    graphqlPath = '/graphql',
    maxBatch = 1,
    prepare,
    service = 'healthgraph',
    cors,
    compression,
    page,
    admit,
  }: HttpHandlerOptions<C>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const crossOrigin = cors ? corsPolicy(cors) : undefined;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Every response names its request, refusals before authentication included.
    const { requestId, correlationId } = requestIdsOf(req);
    res.setHeader('x-request-id', requestId);
    if (correlationId) res.setHeader('x-correlation-id', correlationId);
    if (crossOrigin?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (route && (req.method === 'GET' || req.method === 'HEAD')) return route(req, res);
    if (page && url.pathname === graphqlPath && (req.method === 'GET' || req.method === 'HEAD') && asksForPage(req, url))
      return page(req, res);
    if (url.pathname !== graphqlPath) return sendJson(res, 404, { errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
    let body: unknown;
    if (req.method === 'POST') {
      // GraphQL over HTTP: a POST body is JSON. Anything else is refused before it is read; the
      // media type is compared whole ("text/plain; x=application/json" is text/plain).
      const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') {
        res.setHeader('accept-post', 'application/json');
        res.setHeader('connection', 'close'); // the unread body is not drained for a next request
        return sendJson(res, 415, {
          errors: [
            {
              message: 'A GraphQL request body must be sent as content-type: application/json',
              extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
            },
          ],
        });
      }
      const raw = await readBody(req, maxBodyBytes);
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          return sendJson(res, 400, { errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      } else {
        body = raw;
      }
      if (Array.isArray(body) && body.length > maxBatch) {
        return sendJson(res, 400, {
          errors: [
            {
              message: `A batch may hold at most ${maxBatch} operation(s); this one holds ${body.length}`,
              extensions: { code: 'BATCH_LIMIT_EXCEEDED' },
            },
          ],
        });
      }
    }
    if (admit) {
      const hungUp = new AbortController();
      const onClose = () => hungUp.abort();
      res.once('close', onClose);
      let release: (() => void) | undefined;
      try {
        release = await admit(req, hungUp.signal);
      } catch (error) {
        if (hungUp.signal.aborted) return; // nobody is left to answer
        if (!(error instanceof GraphQLError)) throw error;
        return refuse(req, res, error);
      } finally {
        res.off('close', onClose);
      }
      if (hungUp.signal.aborted) return release?.(); // hung up as the slot came free
      // The slot is held until the answer has gone out, however the request ends.
      if (release) res.once('close', release);
    }
    if (prepare) {
      try {
        body = await prepare(req.method === 'GET' ? queryFromSearch(url) : body, req);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        return refuse(req, res, error);
      }
      if (req.method === 'GET' && body && typeof body === 'object') {
        // A resolved GET goes on as a POST-shaped body; Apollo Server reads the search string for GETs.
        url.search = searchFromQuery(body as Record<string, unknown>);
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => context(req),
    });
    // Vary adds to what the HTTP layer set (Origin), never replaces it.
    for (const [name, value] of response.headers) {
      if (name === 'vary') addVary(res, value);
      else res.setHeader(name, value);
    }
    res.statusCode = response.status ?? 200;
    challenge(req, res);
    if (response.body.kind === 'complete') {
      if (compression) await endCompressed(req, res, response.body.string, compression);
      else res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  return (req, res) => {
    withServerSpan(service, req, async (span) => {
      await handle(req, res);
      span.setAttribute('http.response.status_code', res.statusCode);
    }).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, {
          errors: [{ message: `The request body exceeds ${maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
        });
      }
      // Never echo the error: it may carry query text or data.
      sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    });
  };
}

/**
 * A browser's visit rather than a GraphQL GET: HTML is preferred to JSON (GraphQL over HTTP lets a
 * client ask for either) and no operation is given.
 */
function asksForPage(req: IncomingMessage, url: URL): boolean {
  const accept = req.headers.accept?.toLowerCase() ?? '';
  const html = accept.indexOf('text/html');
  if (html < 0 || url.searchParams.has('query') || url.searchParams.has('extensions')) return false;
  const json = Math.min(
    ...['application/json', 'application/graphql-response+json'].map((type) => accept.indexOf(type)).filter((at) => at >= 0),
  );
  return !Number.isFinite(json) || html < json;
}

/** A GET request's GraphQL parameters as a body object. */
function queryFromSearch(url: URL): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of ['query', 'operationName', 'variables', 'extensions']) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    try {
      body[name] = name === 'variables' || name === 'extensions' ? JSON.parse(value) : value;
    } catch {
      body[name] = value;
    }
  }
  return body;
}

function searchFromQuery(body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    params.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return `?${params}`;
}

const REASON_PHRASES: Partial<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
};

/** What a request Node's parser refused is told, by the parser's error code. */
function clientErrorAnswer(code: string | undefined): { code: ErrorCode; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'HEADERS_TOO_LARGE', message: `The request's headers exceed ${maxHeaderSize} bytes` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'PAYLOAD_TOO_LARGE', message: "The request body's chunk extensions are too large" };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time' };
    default:
      // Never the parser's own words: they quote the offending bytes.
      return { code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1 (request line, header names and values, framing)' };
  }
}

/**
 * Node answers requests it cannot parse (a NUL or a bare CR in a header, a bad Content-Length,
 * oversized headers) with a bare status line and no body. This answers them as every other refusal
 * is answered, a small coded JSON error with its status, then closes the connection: after a
 * framing error nothing more on it can be trusted. Mirrors Node's own rule for when an answer may
 * be written at all: the socket is writable and no response has begun on it.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = clientErrorAnswer(error.code);
  const status = ERROR_STATUS[answer.code];
  const body = JSON.stringify({ errors: [{ message: answer.message, extensions: { code: answer.code } }] });
  socket.end(
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\n' +
      'connection: close\r\n\r\n' +
      body,
  );
  // A peer that does not read its answer does not keep the socket.
  const timer = setTimeout(() => socket.destroy(), 5_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('finish', () => socket.destroy());
}

export interface Listening {
  server: Server;
  url: string;
  port: number;
  /** Drains: stops accepting, lets requests in flight finish (within the drain timeout), then closes every connection. */
  close(): Promise<void>;
}

/** Servers that have begun to drain: their readiness probe answers 503 so load balancers stop sending. */
const draining = new WeakSet<Server>();

/** Longest wait for requests in flight once draining starts (SHUTDOWN_DRAIN_MS), before connections are cut. */
export const DEFAULT_DRAIN_MS = 10_000;

/** How a server shuts down (PlatformConfig.shutdown). */
export interface DrainOptions {
  /** Longest wait for requests in flight once the server stops accepting (SHUTDOWN_DRAIN_MS). */
  drainMs?: number;
  /**
   * How long the server goes on accepting, with `/ready` answering 503 and every answer asking its
   * client to reconnect, before it stops accepting (SHUTDOWN_READY_DELAY_MS): the time a load
   * balancer needs to see the 503 and send new requests elsewhere instead of into a closed port.
   */
  readyDelayMs?: number;
}

/** Listens on a port (0 picks a free one) and returns the base URL. */
export function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port: number,
  host = '127.0.0.1',
  { drainMs = DEFAULT_DRAIN_MS, readyDelayMs = 0 }: DrainOptions = {},
): Promise<Listening> {
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    // While draining, every answer asks its client to reconnect (elsewhere) for the next request.
    if (draining.has(server)) res.setHeader('connection', 'close');
    handler(req, res);
  });
  server.keepAliveTimeout = 65_000;
  const close = async () => {
    draining.add(server);
    if (readyDelayMs > 0) await new Promise((done) => setTimeout(done, readyDelayMs));
    const closed = new Promise<void>((done) => server.close(() => done()));
    server.closeIdleConnections();
    if (inFlight > 0) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, drainMs);
        timer.unref();
        idle = () => {
          clearTimeout(timer);
          done();
        };
      });
    }
    server.closeAllConnections();
    await closed;
  };
  server.on('clientError', answerClientError);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = (server.address() as AddressInfo).port;
      const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      resolve({ server, port: actual, url: `http://${shownHost}:${actual}`, close });
    });
  });
}

/**
 * Starts an Apollo Server once, then listens; closing stops listening and then the server, so
 * in-flight requests finish first.
 */
export function serve(
  server: ApolloServer<BaseContext>,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onStarted?: () => void,
  drain: DrainOptions = {},
) {
  let started: Promise<void> | undefined;
  return async (port: number, host?: string): Promise<Listening> => {
    started ??= server.start().then(onStarted);
    await started;
    const listening = await listen(handler, port, host, drain);
    return {
      ...listening,
      close: async () => {
        await listening.close();
        await server.stop();
      },
    };
  };
}

/**
 * Readiness (`/ready`): 503 from the moment the server starts draining, and while `check` fails
 * (the supergraph or the database not ready); 200 otherwise. Liveness stays `/health`.
 */
export const readyRoute = (check: () => Promise<void>) => async (req: IncomingMessage, res: ServerResponse) => {
  const server = (req.socket as { server?: Server }).server;
  if (server && draining.has(server)) return sendJson(res, 503, { status: 'draining' });
  try {
    await check();
    sendJson(res, 200, { status: 'ready' });
  } catch {
    sendJson(res, 503, { status: 'unavailable' });
  }
};

export const healthRoute = (check: () => Promise<void>) => async (_req: IncomingMessage, res: ServerResponse) => {
  try {
    await check();
    sendJson(res, 200, { status: 'ok' });
  } catch {
    sendJson(res, 503, { status: 'unavailable' });
  }
};
