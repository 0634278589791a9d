import type { ClinicalNote } from '@healthgraph/db';
import { decodeTimeCursor, pageSize, timeCursorOf, toConnection } from '@healthgraph/kit';
import type { Context } from '../context.js';

type Ref = { id: string };

export const Patient = {
  // Visibility is settled per field by the loaders, for every id however it arrived.
  __resolveReference: (ref: Ref) => ({ id: ref.id }),
  allergies: ({ id }: Ref, _: unknown, { loaders }: Context) => loaders.allergies.load(id),
  medications: ({ id }: Ref, _: unknown, { loaders }: Context) => loaders.medications.load(id),
  conditions: ({ id }: Ref, _: unknown, { loaders }: Context) => loaders.conditions.load(id),
  vitals: ({ id }: Ref, { last }: { last?: number | null }, { loaders }: Context) =>
    loaders.vitals.load({ patientId: id, last: pageSize(last ?? 10, 'last') }),
  notes: async ({ id }: Ref, { first, after }: { first?: number | null; after?: string | null }, { loaders }: Context) => {
    const size = pageSize(first);
    const rows = await loaders.notes.load({ patientId: id, size, after: decodeTimeCursor(after) });
    return toConnection(rows, size, (n: ClinicalNote) => timeCursorOf(n.createdAt, n.id));
  },
};
