import type { Appointment } from '@healthgraph/db';
import { decodeTimeCursor, pageSize, timeCursorOf, toConnection } from '@healthgraph/kit';
import { badUserInput } from '@healthgraph/platform';
import type { Context } from '../context.js';

/** Without bounds, a page spans all time. */
const BEGINNING = new Date('1900-01-01T00:00:00Z');
const END = new Date('2200-01-01T00:00:00Z');

interface AppointmentsArgs {
  from?: Date | null;
  to?: Date | null;
  first?: number | null;
  after?: string | null;
}

export const Patient = {
  appointments: async ({ id }: { id: string }, { from, to, first, after }: AppointmentsArgs, { loaders }: Context) => {
    if (from && to && to <= from) throw badUserInput('to', 'must be after from');
    const size = pageSize(first);
    const rows = await loaders.appointmentsByPatient.load({
      patientId: id,
      from: from ?? BEGINNING,
      to: to ?? END,
      size,
      after: decodeTimeCursor(after),
    });
    return toConnection(rows, size, (a: Appointment) => timeCursorOf(a.start, a.id));
  },
};
