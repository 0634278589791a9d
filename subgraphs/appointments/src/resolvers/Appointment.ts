import type { Appointment as AppointmentRow } from '@healthgraph/db';
import type { Context } from '../context.js';

export const Appointment = {
  __resolveReference: (ref: { id: string }, { loaders }: Context) => loaders.appointmentById.load(ref.id),
  patient: (a: AppointmentRow) => ({ __typename: 'Patient', id: a.patientId }),
  provider: (a: AppointmentRow) => ({ __typename: 'Provider', id: a.providerId }),
};
