import { STATUS_CODES } from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { injectTraceContext, logger } from '@healthgraph/platform';
import { GraphQLError } from 'graphql';
import { Agent, type Dispatcher, request } from 'undici';
import type { SubgraphName } from './compose.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { fieldAuthorizationRan } from './plugins/field-authorization.js';
import { SharedReads } from './shared-reads.js';
import { CircuitOpenError, SubgraphCalls, SubgraphTimeoutError } from './subgraph-resilience.js';

type ProcessOptions = Parameters<RemoteGraphQLDataSource<GatewayContext>['process']>[0];
type SendOptions = Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0];
type SubgraphRequest = SendOptions['request'];
type SubgraphResponse = Awaited<ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']>>;

/** Subgraph operations the planner writes for a mutation start with the keyword; everything else is a read. */
const MUTATION = /^\s*mutation\b/;

/** Requests that carry a mutation: none of their subgraph calls is shared (shared-reads.ts). */
const mutating = new WeakSet<GatewayContext>();

/** The HTTP clients a data source sends through: everyone's, and the few connections kept for emergencies. */
export interface SubgraphFetchers {
  normal: Fetcher;
  emergency: Fetcher;
}

/**
 * Calls one subgraph with the gateway-signed principal. A subgraph that cannot be reached, does
 * not answer in time, has its breaker open or answers with an HTTP error becomes one coded error
 * naming the service, so the rest of the answer still arrives and the client learns what is
 * missing, without internal detail.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  /** The same caller's identical reads in flight at once share one call (shared-reads.ts). */
  private readonly shared: SharedReads;

  constructor(
    private readonly serviceName: string,
    url: string,
    private readonly fetchers: SubgraphFetchers,
    private readonly calls: SubgraphCalls,
  ) {
    super({ url, fetcher: fetchers.normal });
    this.shared = new SharedReads(serviceName);
    // RemoteGraphQLDataSource (2.14.4) sends through its private sendRequest, which takes no
    // abort signal and picks no client; this instance's own replaces it (pinned version, and
    // test/resilience.test.ts fails if the deadline or breaker is not applied).
    (this as unknown as { sendRequest: SubgraphDataSource['send'] }).sendRequest = this.send.bind(this);
  }

  override willSendRequest({ request, context }: SendOptions) {
    // Only the gateway-signed principal travels; the client's own token never reaches a subgraph.
    if (context.subgraphToken) request.http?.headers.set('authorization', `Bearer ${context.subgraphToken}`);
    if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
    injectTraceContext((name, value) => request.http?.headers.set(name, value));
  }

  /**
   * One subgraph call: through the breaker, within the deadline, retried once if it is a read. A
   * read may instead be answered by the same caller's identical read in flight (shared-reads.ts).
   */
  private async send(request: SubgraphRequest, context: GatewayContext): Promise<SubgraphResponse> {
    const { http, ...body } = request;
    if (!http) throw new Error('Only HTTP subgraph requests are supported');
    const init = { method: http.method, headers: Object.fromEntries(http.headers), body: JSON.stringify(body) };
    const emergency = context.priority === 'emergency';
    // Emergency requests have connections of their own: they never queue behind everyone else's calls.
    const fetcher = emergency ? this.fetchers.emergency : this.fetchers.normal;
    const read = !MUTATION.test(request.query ?? '');
    const call = () =>
      this.calls.execute(read, async (signal) => {
        const response = await fetcher(http.url, { ...init, signal });
        if (!response.ok) throw await this.errorFromResponse(response);
        const parsed = await this.parseBody(response);
        if (typeof parsed !== 'object' || parsed === null) throw new Error('The subgraph answered without a JSON object');
        return { response, body: parsed as object };
      });
    // With the breaker open or probing, the breaker itself answers each read, at once.
    const key =
      read && this.calls.breaker.state === 'closed'
        ? SharedReads.keyOf(context.principal, init.body, { emergency, mutation: mutating.has(context) })
        : null;
    const { response, body: answer } = await this.shared.read(key, context.receivedAt, call);
    return { ...answer, http: response } as SubgraphResponse;
  }

  override async process(options: ProcessOptions) {
    // Fail closed: no subgraph is called for an operation whose fields were not checked.
    if (!fieldAuthorizationRan(options.context)) {
      throw new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    }
    // Marked before this request's first call: every call of a mutation's request is its own.
    if ('incomingRequestContext' in options && options.incomingRequestContext.operation?.operation === 'mutation')
      mutating.add(options.context);
    try {
      return await super.process(options);
    } catch (error) {
      // An HTTP error carries the subgraph's own errors; only its verdict on the input is the client's business.
      const response = (
        error as {
          extensions?: { response?: { status?: number; body?: { errors?: { message?: string; extensions?: { code?: unknown } }[] } } };
        }
      ).extensions?.response;
      const first = response?.body?.errors?.[0];
      if (first?.extensions?.code === 'BAD_USER_INPUT' && typeof first.message === 'string') {
        throw new GraphQLError(first.message, { extensions: { code: 'BAD_USER_INPUT', serviceName: this.serviceName } });
      }
      const what = response ? 'refused the request' : 'is unavailable';
      // The client learns only which service failed; the operator learns why (a refused or reset connection, a status).
      const cause = (error as { cause?: { code?: string; message?: string }; code?: string; message?: string }) ?? {};
      logger.warn(
        {
          service: this.serviceName,
          status: response?.status,
          reason: cause.cause?.code ?? cause.code ?? cause.cause?.message ?? cause.message,
        },
        'subgraph call failed',
      );
      const reason = error instanceof CircuitOpenError ? 'circuit_open' : error instanceof SubgraphTimeoutError ? 'timeout' : undefined;
      throw new GraphQLError(`The ${this.serviceName} service ${what}; its fields are missing from this response`, {
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: this.serviceName, ...(reason ? { reason } : {}) },
      });
    }
  }
}

/**
 * Subgraph HTTP calls on undici's `request` over a keep-alive pool, rather than a WHATWG `fetch`,
 * whose Request, Response and Headers objects cost the gateway more CPU than the call itself. The
 * response carries what RemoteGraphQLDataSource reads: status, headers.get, text and json.
 */
export function subgraphFetcher(dispatcher: Dispatcher): Fetcher {
  return async (url, init = {}) => {
    const response = await request(url, {
      method: (init.method ?? 'POST') as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      dispatcher,
    });
    const text = await response.body.text();
    const header = (name: string) => {
      const value = response.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    };
    return {
      url,
      status: response.statusCode,
      statusText: STATUS_CODES[response.statusCode] ?? '',
      ok: response.statusCode >= 200 && response.statusCode <= 299,
      redirected: false,
      bodyUsed: true,
      headers: { get: header, has: (name: string) => header(name) !== null },
      text: async () => text,
      json: async () => JSON.parse(text) as unknown,
    } as unknown as FetcherResponse;
  };
}

export interface SubgraphGatewayOptions {
  config: Pick<GatewayConfig, 'subgraphMaxConnections' | 'subgraphCalls'>;
  subgraphUrls: Record<SubgraphName, string>;
  supergraphSdl: string;
}

/**
 * Apollo Gateway over the committed supergraph, calling each subgraph through this data source:
 * undici with keep-alive (measurably cheaper than the default fetcher), a connection cap that
 * queues calls here in order instead of letting a subgraph interleave more than it can run (which
 * only widens tail latency, README Benchmarks), a few connections per subgraph that only emergency
 * requests use, and a deadline, breaker and retry budget per subgraph.
 */
export function createSubgraphGateway({ config, subgraphUrls, supergraphSdl }: SubgraphGatewayOptions) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: config.subgraphMaxConnections });
  const emergencyAgent = new Agent({ keepAliveTimeout: 30_000, connections: Math.max(1, config.subgraphCalls.emergencyConnections) });
  const fetchers = {
    normal: subgraphFetcher(agent),
    emergency: config.subgraphCalls.emergencyConnections > 0 ? subgraphFetcher(emergencyAgent) : subgraphFetcher(agent),
  };
  const calls = Object.fromEntries(
    (Object.keys(subgraphUrls) as SubgraphName[]).map((name) => [
      name,
      new SubgraphCalls(name, { ...config.subgraphCalls, timeoutMs: config.subgraphCalls.timeoutMs[name] }),
    ]),
  ) as Record<SubgraphName, SubgraphCalls>;
  // Apollo Gateway otherwise exports usage metrics to Apollo and probes cloud metadata endpoints
  // to label them: a gateway in front of clinical data calls nothing it was not configured to call.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => new SubgraphDataSource(name, subgraphUrls[name as SubgraphName], fetchers, calls[name as SubgraphName]),
  });
  return {
    gateway,
    calls,
    close: async () => {
      await agent.close();
      await emergencyAgent.close();
    },
  };
}
