import type { Patient, Prisma } from '@healthgraph/db';
import { badUserInput, decodeCursor, forbidden, notFound, pageSize, toConnection, visiblePatientsWhere } from '@healthgraph/kit';
import type { Context } from '../server.js';

interface Page {
  first?: number | null;
  after?: string | null;
}

/** Keyset pagination in (familyName, givenName, id) order: stable under inserts, one statement a page. */
async function patientPage({ data }: Context, where: Prisma.PatientWhereInput, { first, after }: Page) {
  const size = pageSize(first);
  const cursor = decodeCursor(after);
  const conditions: Prisma.PatientWhereInput[] = [where];
  if (cursor) {
    const [family, given, id] = cursor.map(String) as [string, string, string];
    if (cursor.length !== 3) throw badUserInput('after', 'is not a cursor returned by this API');
    conditions.push({
      OR: [
        { familyName: { gt: family } },
        { familyName: family, givenName: { gt: given } },
        { familyName: family, givenName: given, id: { gt: id } },
      ],
    });
  }
  const rows = await data.prisma.patient.findMany({
    where: { AND: conditions },
    orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    take: size + 1,
  });
  return toConnection(rows, size, (p: Patient) => [p.familyName, p.givenName, p.id]);
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
    if (name && name.length > 100) throw badUserInput('name', 'must be at most 100 characters');
    const scope = visiblePatientsWhere(context.principal);
    if (!scope) throw forbidden('this role may not search patients');
    const filters: Prisma.PatientWhereInput[] = [scope];
    for (const term of (name ?? '').trim().split(/\s+/).filter(Boolean)) {
      filters.push({ OR: [{ givenName: { startsWith: term, mode: 'insensitive' } }, { familyName: { startsWith: term, mode: 'insensitive' } }] });
    }
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
