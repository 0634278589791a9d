import { createSubgraph, type SubgraphDeps } from '@healthgraph/kit';
import { DateScalar, DateTimeScalar } from '@healthgraph/platform';
import { createLoaders, type Loaders } from './loaders.js';
import { AuditEvent, AuditQuery } from './resolvers/AuditEvent.js';
import { Consent, ConsentQuery } from './resolvers/Consent.js';
import { Mutation } from './resolvers/Mutation.js';
import { Patient } from './resolvers/Patient.js';
import { Query } from './resolvers/Query.js';

/** The patients subgraph: demographics, contact data, care teams, patient search and the patient's consents. */
export function createPatientsSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({
    name: 'patients',
    resolvers: {
      Date: DateScalar,
      DateTime: DateTimeScalar,
      Query: { ...Query, ...AuditQuery, ...ConsentQuery },
      Mutation,
      Patient,
      Consent,
      AuditEvent,
    },
    createLoaders,
    ...deps,
  });
}
