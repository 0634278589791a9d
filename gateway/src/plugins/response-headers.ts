import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.js';

/** PHI must not be stored by browsers or shared caches (HIPAA 164.312(e)). The request id is set by the HTTP layer on every response. */
export const responseHeadersPlugin = (): ApolloServerPlugin<GatewayContext> => ({
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'private, no-store');
      },
    };
  },
});
