import type { PrismaClient } from '@healthgraph/db';
import { createSubgraph, DateScalar, DateTimeScalar, type InternalTokenKey, type SubgraphContext } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Patient } from './resolvers/Patient.js';
import { Allergy, ClinicalNote, Condition, Medication, Observation } from './resolvers/records.js';

export type Context = SubgraphContext<Loaders>;

export interface RecordsSubgraphOptions {
  prisma: PrismaClient;
  tokenKey: InternalTokenKey;
  batching?: boolean;
  development?: boolean;
}

/** The records subgraph: allergies, medications, conditions, vitals and notes on Patient. */
export function createRecordsSubgraph(options: RecordsSubgraphOptions) {
  return createSubgraph<Loaders>({
    name: 'records',
    resolvers: { Date: DateScalar, DateTime: DateTimeScalar, Patient, Allergy, Medication, Condition, Observation, ClinicalNote },
    createLoaders,
    ...options,
  });
}
