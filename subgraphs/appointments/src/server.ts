import { createSubgraph, type SubgraphDeps } from '@healthgraph/kit';
import { DateScalar, DateTimeScalar } from '@healthgraph/platform';
import { createLoaders, type Loaders } from './loaders.js';
import { Appointment } from './resolvers/Appointment.js';
import { Mutation } from './resolvers/Mutation.js';
import { Patient } from './resolvers/Patient.js';
import { Provider, SlotType } from './resolvers/Provider.js';
import { Query } from './resolvers/Query.js';

/** The appointments subgraph: appointments, schedules, free slots and booking. */
export function createAppointmentsSubgraph(deps: SubgraphDeps) {
  return createSubgraph<Loaders>({
    name: 'appointments',
    resolvers: { Date: DateScalar, DateTime: DateTimeScalar, Query, Mutation, Appointment, Patient, Provider, Slot: SlotType },
    createLoaders,
    ...deps,
  });
}
