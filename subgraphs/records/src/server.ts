import { createSubgraph, type SubgraphDeps } from '@healthgraph/kit';
import { DateScalar, DateTimeScalar } from '@healthgraph/platform';
import { createLoaders, type Loaders } from './loaders.js';
import { Mutation } from './resolvers/Mutation.js';
import { Patient } from './resolvers/Patient.js';
import { Allergy, ClinicalNote, Condition, Medication, Observation } from './resolvers/records.js';

/** The records subgraph: allergies, medications, conditions, vitals and notes on Patient, and the clinical writes. */
export function createRecordsSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({
    name: 'records',
    resolvers: { Date: DateScalar, DateTime: DateTimeScalar, Mutation, Patient, Allergy, Medication, Condition, Observation, ClinicalNote },
    createLoaders,
    ...deps,
  });
}
