import { notFound } from '@healthgraph/platform';
import type { Context } from '../context.js';

export const Query = {
  appointment: async (_: unknown, { id }: { id: string }, { loaders, data }: Context) => {
    const appointment = await loaders.appointmentById.load(id);
    if (!appointment) {
      data.audit.denied(null, 'Appointment', 'Query.appointment', id);
      throw notFound('Appointment', id);
    }
    return appointment;
  },
};
