import type { Patient } from '@healthgraph/db';
import { activeMembership, createLoader, groupBy, loadAll, readThrough, type ScopedData } from '@healthgraph/kit';

export type Loaders = ReturnType<typeof createLoaders>;

/** Per-request loaders: visibility is settled per caller, the view is cached per scope. */
export function createLoaders(data: ScopedData) {
  const { prisma, policy, batch } = data;
  // A cached patient view holds only the columns the caller's scopes disclose.
  const project = (row: Patient): Partial<Patient> => {
    const view: Record<string, unknown> = { id: row.id };
    for (const column of policy.patientColumns) view[column] = row[column];
    return view as Partial<Patient>;
  };
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
          const rows = await prisma.patient.findMany({ where: { id: { in: missing } } });
          const byId = new Map(rows.map((row) => [row.id, project(row)]));
          return missing.map((id) => byId.get(id) ?? null);
        },
      });
      const byId = new Map(readable.map((id, i) => [id, views[i] ?? null]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Provider ids on each patient's active care team, primary first. */
    careTeamByPatientId: createLoader<string, string[]>(batch, async (patientIds) => {
      const rows = await prisma.careTeamMember.findMany({
        where: { patientId: { in: [...patientIds] }, ...activeMembership(new Date()) },
        select: { patientId: true, providerId: true, role: true },
        orderBy: [{ role: 'asc' }, { providerId: 'asc' }],
      });
      return groupBy(patientIds, rows, (row) => row.patientId).map((members) => [...new Set(members.map((m) => m.providerId))]);
    }),
  };
}
