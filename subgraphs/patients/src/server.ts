import { createSubgraph, DateScalar, type SubgraphContext, type SubgraphDeps } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Patient } from './resolvers/Patient.js';
import { Query } from './resolvers/Query.js';

export type Context = SubgraphContext<Loaders>;


/** The patients subgraph: demographics, contact data, care teams and patient search. */
export function createPatientsSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({ name: 'patients', resolvers: { Date: DateScalar, Query, Patient }, createLoaders, ...deps });
}
