import type { Appointment } from '@healthgraph/db';
import { decodeCursor, pageSize, toConnection } from '@healthgraph/kit';
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
    const cursor = decodeCursor(after);
    if (cursor && (cursor.length !== 2 || Number.isNaN(new Date(String(cursor[0])).getTime())))
      throw badUserInput('after', 'is not a cursor returned by this API');
    const rows = await loaders.appointmentsByPatient.load({
      patientId: id,
      from: from ?? BEGINNING,
      to: to ?? END,
      size,
      after: cursor ? [new Date(String(cursor[0])), String(cursor[1])] : null,
    });
    return toConnection(rows, size, (a: Appointment) => [a.start.toISOString(), a.id]);
  },
};
