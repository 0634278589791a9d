import type { PrismaClient } from '@healthgraph/db';
import { createSubgraph, DateScalar, type InternalTokenKey, type SubgraphContext } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Patient } from './resolvers/Patient.js';
import { Query } from './resolvers/Query.js';

export type Context = SubgraphContext<Loaders>;

export interface PatientsSubgraphOptions {
  prisma: PrismaClient;
  tokenKey: InternalTokenKey;
  batching?: boolean;
  development?: boolean;
}

/** The patients subgraph: demographics, contact data, care teams and patient search. */
export function createPatientsSubgraph(options: PatientsSubgraphOptions) {
  return createSubgraph<Loaders>({ name: 'patients', resolvers: { Date: DateScalar, Query, Patient }, createLoaders, ...options });
}
