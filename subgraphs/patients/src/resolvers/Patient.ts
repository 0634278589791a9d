import type { Patient as PatientColumns } from '@healthgraph/db';
import { LABELS, loadAll } from '@healthgraph/kit';
import { forbidden } from '@healthgraph/platform';
import type { Context } from '../context.js';

/** A cached patient view: the id and the columns the caller's scopes disclose. */
type PatientRow = Partial<PatientColumns> & { id: string };

export const Patient = {
  /** Entity references from other subgraphs go through the same scoped loader as root queries. */
  __resolveReference: async (ref: { id: string }, { loaders, data }: Context) => {
    const patient = await loaders.patientById.load(ref.id);
    if (!patient) data.audit.denied(ref.id, 'Patient', 'Patient');
    return patient;
  },
  name: (p: PatientRow) => ({ given: p.givenName, family: p.familyName, text: `${p.givenName} ${p.familyName}` }),
  address: (p: PatientRow) =>
    p.addressLine || p.city || p.state || p.postalCode
      ? { line: p.addressLine, city: p.city, state: p.state, postalCode: p.postalCode }
      : null,
  careTeam: async (p: PatientRow, _: unknown, { loaders }: Context) =>
    (await loaders.careTeamByPatientId.load(p.id)).map((id) => ({ __typename: 'Provider', id })),
  /** The labels this patient consented to share with the calling clinician: their own consents only, never the list. */
  consentedLabels: async (p: PatientRow, _: unknown, { data }: Context) => {
    if (!data.policy.mayReadConsentsToSelf) {
      data.audit.denied(p.id, 'Patient', 'Patient.consentedLabels');
      throw forbidden('a clinician reads the labels a patient consented to share with them');
    }
    const [labels] = await loadAll(data.consentedLabels, [p.id]);
    return LABELS.filter((label) => labels!.has(label));
  },
};
