import type { Appointment as AppointmentRow } from '@healthgraph/db';
import type { Context } from '../context.js';

export const Appointment = {
  __resolveReference: async (ref: { id: string }, { loaders, data }: Context) => {
    const appointment = await loaders.appointmentById.load(ref.id);
    if (!appointment) data.audit.denied(null, 'Appointment', 'Appointment', ref.id);
    return appointment;
  },
  patient: (a: AppointmentRow) => ({ __typename: 'Patient', id: a.patientId }),
  provider: (a: AppointmentRow) => ({ __typename: 'Provider', id: a.providerId }),
};
