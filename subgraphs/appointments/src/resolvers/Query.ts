import { notFound } from '@healthgraph/platform';
import type { Context } from '../context.js';

export const Query = {
  appointment: async (_: unknown, { id }: { id: string }, { loaders }: Context) => {
    const appointment = await loaders.appointmentById.load(id);
    if (!appointment) throw notFound('Appointment', id);
    return appointment;
  },
};
