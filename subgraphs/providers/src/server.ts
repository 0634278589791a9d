import { createSubgraph, type SubgraphDeps } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Provider } from './resolvers/Provider.js';
import { Query } from './resolvers/Query.js';

/** The providers subgraph: the provider directory (NPI, specialty, department). */
export function createProvidersSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({ name: 'providers', resolvers: { Query, Provider }, createLoaders, ...deps });
}
