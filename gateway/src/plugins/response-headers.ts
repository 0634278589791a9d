import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.js';

/** PHI must not be stored by browsers or shared caches (HIPAA 164.312(e)), nor the request id lost. */
export const responseHeadersPlugin = (): ApolloServerPlugin<GatewayContext> => ({
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        response.http.headers.set('cache-control', 'private, no-store');
        if (contextValue?.requestId) response.http.headers.set('x-request-id', contextValue.requestId);
      },
    };
  },
});
