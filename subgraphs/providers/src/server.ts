import type { PrismaClient } from '@healthgraph/db';
import { createSubgraph, type InternalTokenKey, type SubgraphContext } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Provider } from './resolvers/Provider.js';
import { Query } from './resolvers/Query.js';

export type Context = SubgraphContext<Loaders>;

export interface ProvidersSubgraphOptions {
  prisma: PrismaClient;
  tokenKey: InternalTokenKey;
  batching?: boolean;
  development?: boolean;
}

/** The providers subgraph: the provider directory (NPI, specialty, department). */
export function createProvidersSubgraph(options: ProvidersSubgraphOptions) {
  return createSubgraph<Loaders>({ name: 'providers', resolvers: { Query, Provider }, createLoaders, ...options });
}
