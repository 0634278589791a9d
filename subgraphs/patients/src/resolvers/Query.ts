import type { Prisma } from '@healthgraph/db';
import { afterNameCursor, badUserInput, forbidden, nameCursorOf, nameSearchWhere, notFound, pageSize, toConnection, visiblePatientsWhere } from '@healthgraph/kit';
import type { Context } from '../server.js';

interface Page {
  first?: number | null;
  after?: string | null;
}

/** Keyset pagination in (familyName, givenName, id) order: stable under inserts, one statement a page. */
async function patientPage({ data }: Context, where: Prisma.PatientWhereInput, { first, after }: Page) {
  const size = pageSize(first);
  const conditions: Prisma.PatientWhereInput[] = [where];
  const afterCursor = afterNameCursor(after);
  if (afterCursor) conditions.push(afterCursor);
  const rows = await data.prisma.patient.findMany({
    where: { AND: conditions },
    orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    take: size + 1,
  });
  return toConnection(rows, size, nameCursorOf);
}

interface SearchArgs extends Page {
  name?: string | null;
  birthDate?: Date | null;
  mrn?: string | null;
}

export const Query = {
  patient: async (_: unknown, { id }: { id: string }, { loaders }: Context) => {
    const patient = await loaders.patientById.load(id);
    if (!patient) throw notFound('Patient', id);
    return patient;
  },

  searchPatients: async (_: unknown, args: SearchArgs, context: Context) => {
    const { name, birthDate, mrn } = args;
    // Minimum necessary: no open-ended listing of every patient; a search names what it looks for.
    if (!name?.trim() && !birthDate && !mrn?.trim()) throw badUserInput('name', 'give at least one of name, birthDate or mrn');
    const nameTerms = nameSearchWhere(name);
    const scope = visiblePatientsWhere(context.principal);
    if (!scope) throw forbidden('this role may not search patients');
    const filters: Prisma.PatientWhereInput[] = [scope, ...nameTerms];
    if (birthDate) filters.push({ birthDate });
    if (mrn?.trim()) filters.push({ mrn: mrn.trim() });
    return patientPage(context, { AND: filters }, args);
  },

  myPatients: async (_: unknown, args: Page, context: Context) => {
    if (context.data.access.patients !== 'careTeam') throw forbidden("myPatients lists a clinician's care-team patients");
    return patientPage(context, visiblePatientsWhere(context.principal) ?? {}, args);
  },

  me: async (_: unknown, __: unknown, { principal, loaders }: Context) => (principal.role === 'PATIENT' ? loaders.patientById.load(principal.sub) : null),
};
