import { type Patient, Prisma } from '@healthgraph/db';
import { activeMembershipAt, createLoader, groupBy, loadAll, readThrough, type ScopedData } from '@healthgraph/kit';

export type Loaders = ReturnType<typeof createLoaders>;

/** Per-request loaders: visibility is settled per caller, the view is cached per scope. */
export function createLoaders(data: ScopedData) {
  const { prisma, policy, batch } = data;
  // A cached patient view holds only the columns the caller's scopes disclose.
  const project = (row: Partial<Patient>): Partial<Patient> => {
    const view: Record<string, unknown> = { id: row.id };
    for (const column of policy.patientColumns) view[column] = row[column];
    return view as Partial<Patient>;
  };
  // Only the columns the view holds are read (names from the policy's own table, never from a caller).
  const columns = Prisma.raw(['id', ...policy.patientColumns].map((column) => `"${column}"`).join(', '));
  return {
    /** Visible patients by id; null for missing and for hidden alike. */
    patientById: createLoader<string, Partial<Patient> | null>(batch, async (ids) => {
      const visible = await loadAll(data.canSeePatient, ids);
      const readable = ids.filter((_, i) => visible[i] === true);
      const views = await readThrough<Partial<Patient>>(data.cache, 'patient', readable, {
        key: (id) => `patient:${policy.viewName}:${id}`,
        tags: (id) => [`patient:${id}`],
        shareable: () => policy.shareable,
        load: async (missing) => {
          // Raw SQL with one array parameter: Prisma's query builder cost more CPU than the query (README, Benchmarks).
          const rows = await prisma.$queryRaw<Partial<Patient>[]>`SELECT ${columns} FROM "Patient" WHERE "id" = ANY(${missing})`;
          const byId = new Map(rows.map((row) => [row.id, project(row)]));
          return missing.map((id) => byId.get(id) ?? null);
        },
      });
      const byId = new Map(readable.map((id, i) => [id, views[i] ?? null]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /**
     * Provider ids on each patient's active care team, primary first. The same for every caller who
     * may see the patient, cached as a relationship and dropped by the same generation (`careteam:`)
     * a booking or cancellation bumps.
     */
    careTeamByPatientId: createLoader<string, string[]>(batch, async (patientIds) => {
      const teams = await readThrough<string[]>(data.cache, 'relationship', patientIds, {
        key: (id) => `care-team-members:${id}`,
        tags: (id) => [`careteam:${id}`],
        shareable: () => policy.shareable,
        load: async (ids) => {
          // The enum's declared order (PRIMARY first), as Prisma's orderBy on role gave.
          const rows = await prisma.$queryRaw<{ patientId: string; providerId: string }[]>`
            SELECT c."patientId", c."providerId" FROM "CareTeamMember" c
            WHERE c."patientId" = ANY(${ids}) AND ${activeMembershipAt('c', new Date())}
            ORDER BY c."role" ASC, c."providerId" ASC`;
          return groupBy(ids, rows, (row) => row.patientId).map((members) => [...new Set(members.map((m) => m.providerId))]);
        },
      });
      return teams.map((team) => team ?? []);
    }),
  };
}
