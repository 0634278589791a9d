import type { Patient } from '@healthgraph/db';
import { createLoader, groupBy, readThrough, type ScopedData } from '@healthgraph/kit';
import { scopesFor } from '@healthgraph/platform';

export type Loaders = ReturnType<typeof createLoaders>;

/** Which row columns each field scope discloses; a cached patient view holds only its scope's columns. */
const VIEW_COLUMNS: Record<string, readonly (keyof Patient)[]> = {
  'patient:demographics': ['mrn', 'givenName', 'familyName', 'birthDate', 'sex'],
  'patient:contact': ['phone', 'email', 'addressLine', 'city', 'state', 'postalCode'],
  'clinical:emergency': ['bloodType'],
};

/** Per-request loaders: visibility is settled per caller, the view is cached per scope. */
export function createLoaders(data: ScopedData) {
  const { prisma, principal, batch } = data;
  const held = scopesFor(principal);
  const viewScopes = Object.keys(VIEW_COLUMNS).filter((scope) => held.has(scope as never));
  const project = (row: Patient): Partial<Patient> => {
    const view: Partial<Patient> = { id: row.id };
    for (const scope of viewScopes) for (const column of VIEW_COLUMNS[scope]!) (view as Record<string, unknown>)[column] = row[column];
    return view;
  };
  return {
    /** Visible patients by id; null for missing and for hidden alike. */
    patientById: createLoader<string, Partial<Patient> | null>(batch, async (ids) => {
      const visible = await data.canSeePatient.loadMany(ids);
      const readable = ids.filter((_, i) => visible[i] === true);
      const views = await readThrough<Partial<Patient>>(data.cache, 'patient', readable, {
        key: (id) => `patient:${viewScopes.join('+')}:${id}`,
        tags: (id) => [`patient:${id}`],
        shareable: () => data.shareable,
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
      const now = new Date();
      const rows = await prisma.careTeamMember.findMany({
        where: { patientId: { in: [...patientIds] }, periodStart: { lte: now }, OR: [{ periodEnd: null }, { periodEnd: { gt: now } }] },
        select: { patientId: true, providerId: true, role: true },
        orderBy: [{ role: 'asc' }, { providerId: 'asc' }],
      });
      return groupBy(patientIds, rows, (row) => row.patientId).map((members) => [...new Set(members.map((m) => m.providerId))]);
    }),
  };
}
