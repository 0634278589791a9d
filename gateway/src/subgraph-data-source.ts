import { STATUS_CODES } from 'node:http';
import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { injectTraceContext, logger } from '@healthgraph/platform';
import { GraphQLError } from 'graphql';
import { type Dispatcher, request } from 'undici';
import type { GatewayContext } from './context.js';
import { fieldAuthorizationRan } from './plugins/field-authorization.js';

type ProcessOptions = Parameters<RemoteGraphQLDataSource<GatewayContext>['process']>[0];
type SendOptions = Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0];

/**
 * Calls one subgraph with the gateway-signed principal. A subgraph that cannot be reached or
 * answers with an HTTP error becomes one coded error naming the service, so the rest of the
 * answer still arrives and the client learns what is missing, without internal detail.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly serviceName: string,
    url: string,
    fetcher: Fetcher,
  ) {
    super({ url, fetcher });
  }

  override willSendRequest({ request, context }: SendOptions) {
    // Only the gateway-signed principal travels; the client's own token never reaches a subgraph.
    if (context.subgraphToken) request.http?.headers.set('authorization', `Bearer ${context.subgraphToken}`);
    if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
    injectTraceContext((name, value) => request.http?.headers.set(name, value));
  }

  override async process(options: ProcessOptions) {
    // Fail closed: no subgraph is called for an operation whose fields were not checked.
    if (!fieldAuthorizationRan(options.context)) {
      throw new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    }
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
      throw new GraphQLError(`The ${this.serviceName} service ${what}; its fields are missing from this response`, {
        extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: this.serviceName },
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
