import { createSubgraph, type SubgraphDeps } from '@healthgraph/kit';
import { DateScalar, DateTimeScalar } from '@healthgraph/platform';
import { createLoaders, type Loaders } from './loaders.js';
import { AuditEvent, AuditQuery } from './resolvers/AuditEvent.js';
import { Patient } from './resolvers/Patient.js';
import { Query } from './resolvers/Query.js';

/** The patients subgraph: demographics, contact data, care teams and patient search. */
export function createPatientsSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({
    name: 'patients',
    resolvers: { Date: DateScalar, DateTime: DateTimeScalar, Query: { ...Query, ...AuditQuery }, Patient, AuditEvent },
    createLoaders,
    ...deps,
  });
}
