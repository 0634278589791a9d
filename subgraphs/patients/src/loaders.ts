import { createLoader, groupBy, type ScopedData, visiblePatientsWhere } from '@healthgraph/kit';
import type { Patient } from '@healthgraph/db';

export type Loaders = ReturnType<typeof createLoaders>;

/** Per-request loaders. Every patient read carries the caller's row scope in its own statement. */
export function createLoaders(data: ScopedData) {
  const { prisma, principal, batch } = data;
  return {
    /** Visible patients by id; null for missing and for hidden alike. */
    patientById: createLoader<string, Patient | null>(batch, async (ids) => {
      const scope = visiblePatientsWhere(principal);
      if (!scope) return ids.map(() => null);
      const rows = await prisma.patient.findMany({ where: { AND: [scope, { id: { in: [...ids] } }] } });
      const map = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => map.get(id) ?? null);
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
