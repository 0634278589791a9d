import type { Prisma } from '@healthgraph/db';
import { nameSearchTerms, pageByName, pageSize } from '@healthgraph/kit';
import { badUserInput, forbidden, notFound } from '@healthgraph/platform';
import type { Context } from '../context.js';
import { searchPatientPage } from '../search.js';

interface Page {
  first?: number | null;
  after?: string | null;
}

/** A clinician's list, keyset-paged in (familyName, givenName, id) order: stable under inserts, one statement a page. */
const patientPage = ({ data }: Context, where: Prisma.PatientWhereInput, page: Page) =>
  pageByName((args) => data.prisma.patient.findMany(args), [where], page);

interface SearchArgs extends Page {
  name?: string | null;
  birthDate?: Date | null;
  mrn?: string | null;
}

export const Query = {
  patient: async (_: unknown, { id }: { id: string }, { loaders, data }: Context) => {
    const patient = await loaders.patientById.load(id);
    if (!patient) {
      data.audit.denied(id, 'Patient', 'Query.patient');
      throw notFound('Patient', id);
    }
    return patient;
  },

  searchPatients: async (_: unknown, args: SearchArgs, context: Context) => {
    const { data } = context;
    const { policy, audit } = data;
    const { name, birthDate, mrn } = args;
    const scope = policy.patientsWhere();
    if (!policy.search.allowed || !scope) {
      audit.denied(null, 'Patient', 'Query.searchPatients');
      throw forbidden('this role may not search patients');
    }
    // Minimum necessary: no open-ended listing of every patient; a search names what it looks for.
    if (!name?.trim() && !birthDate && !mrn?.trim()) throw badUserInput('name', 'give at least one of name, birthDate or mrn');
    const terms = nameSearchTerms(name);
    // Break-glass is for the one patient in front of the clinician: a search must identify them, and lists a handful.
    if (policy.search.criteria === 'identifying' && !mrn?.trim() && !(terms.length > 0 && birthDate)) {
      audit.denied(null, 'Patient', 'Query.searchPatients');
      throw badUserInput('mrn', 'break-glass search needs an MRN, or a name together with a birth date');
    }
    if (!policy.search.paging && args.after) throw badUserInput('after', 'break-glass search does not page further: narrow the search');
    const size = Math.min(pageSize(args.first), policy.search.maxResults);
    return searchPatientPage(data.prisma, policy, { terms, birthDate, mrn: mrn?.trim() }, { size, after: args.after });
  },

  myPatients: async (_: unknown, args: Page, context: Context) => {
    const { policy, audit } = context.data;
    const scope = policy.patientsWhere();
    if (!policy.mayListCareTeam || !scope) {
      audit.denied(null, 'Patient', 'Query.myPatients');
      throw forbidden("myPatients lists a clinician's care-team patients");
    }
    return patientPage(context, scope, args);
  },

  me: async (_: unknown, __: unknown, { data, loaders }: Context) => (data.policy.self ? loaders.patientById.load(data.policy.self) : null),
};
