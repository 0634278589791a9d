import type { ClinicalNote } from '@healthgraph/db';
import { decodeCursor, pageSize, toConnection } from '@healthgraph/kit';
import { badUserInput } from '@healthgraph/platform';
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
    const cursor = decodeCursor(after);
    if (cursor && (cursor.length !== 2 || Number.isNaN(new Date(String(cursor[0])).getTime())))
      throw badUserInput('after', 'is not a cursor returned by this API');
    const rows = await loaders.notes.load({ patientId: id, size, after: cursor ? [new Date(String(cursor[0])), String(cursor[1])] : null });
    return toConnection(rows, size, (n: ClinicalNote) => [n.createdAt.toISOString(), n.id]);
  },
};
