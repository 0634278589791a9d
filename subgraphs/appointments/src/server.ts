import type { PrismaClient } from '@healthgraph/db';
import { createSubgraph, DateScalar, DateTimeScalar, type InternalTokenKey, type SubgraphContext } from '@healthgraph/kit';
import { createLoaders, type Loaders } from './loaders.js';
import { Appointment } from './resolvers/Appointment.js';
import { Mutation } from './resolvers/Mutation.js';
import { Patient } from './resolvers/Patient.js';
import { Provider, SlotType } from './resolvers/Provider.js';
import { Query } from './resolvers/Query.js';

export type Context = SubgraphContext<Loaders>;

export interface AppointmentsSubgraphOptions {
  prisma: PrismaClient;
  tokenKey: InternalTokenKey;
  batching?: boolean;
  development?: boolean;
}

/** The appointments subgraph: appointments, schedules, free slots and booking. */
export function createAppointmentsSubgraph(options: AppointmentsSubgraphOptions) {
  return createSubgraph<Loaders>({
    name: 'appointments',
    resolvers: { Date: DateScalar, DateTime: DateTimeScalar, Query, Mutation, Appointment, Patient, Provider, Slot: SlotType },
    createLoaders,
    ...options,
  });
}
