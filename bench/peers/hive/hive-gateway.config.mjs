// Hive Gateway as the benchmark runs it: the same supergraph and subgraphs as this gateway, the
// same trusted operations (resolved by the Apollo-format id the portal sends), and the caller's
// subgraph token passed through to the subgraphs, which enforce every access rule themselves.
// Everything else is Hive Gateway's default, including its deduplication of identical in-flight
// subgraph requests.
import { readFileSync } from 'node:fs';
import { defineConfig } from '@graphql-hive/gateway';

const manifest = JSON.parse(readFileSync(process.env.PQ_MANIFEST, 'utf8'));
const trusted = new Map(manifest.operations.map((operation) => [operation.id, operation.body]));

export const gatewayConfig = defineConfig({
  persistedDocuments: {
    getPersistedOperation: (id) => trusted.get(id) ?? null,
    allowArbitraryDocuments: false,
  },
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
  logging: 'warn',
});
