import type { PrismaClient } from '@healthgraph/db';
import { SEEDED } from '@healthgraph/db';
import { readSupergraph } from '@healthgraph/gateway/compose';
import { readFieldRules } from '@healthgraph/gateway/plugins/field-authorization';
import { activeConsent, activeMembership, type ClinicalKind, type Label, policyFor } from '@healthgraph/kit';
import { type Principal, PURPOSES, ROLES, satisfies, scopesFor } from '@healthgraph/platform';

/** The field rules as the SDL declares them. */
const RULES = readFieldRules(readSupergraph());

export const fieldAllowed = (principal: Principal, coordinate: string) => {
  const groups = RULES.get(coordinate);
  return !groups || satisfies(scopesFor(principal), groups);
};

/** A provider on the PSY patient's care team whom the patient consented to share PSY data with. */
export const CONSENTED_CLINICIAN = 'prv-0003';

/** Every valid (role, purpose) pair, with the subjects that give each relationship to the test patients. */
export function callers(): Principal[] {
  const subjects: Record<string, string[]> = {
    PATIENT: [SEEDED.patient, SEEDED.psyPatient],
    CLINICIAN: [SEEDED.clinician, SEEDED.otherClinician, CONSENTED_CLINICIAN],
  };
  return ROLES.flatMap((role) =>
    PURPOSES.filter((purpose) => purpose !== 'BTG' || role === 'CLINICIAN').flatMap((purpose) =>
      (subjects[role] ?? [`staff-${role.toLowerCase()}`]).map((sub) => ({
        role,
        purpose,
        sub,
        ...(purpose === 'BTG' ? { breakGlassReason: 'Emergency department, unresponsive' } : {}),
      })),
    ),
  );
}

/** Gives the consented clinician their relationship and consent (call once per database). */
export async function addConsentedClinician(prisma: PrismaClient): Promise<void> {
  await prisma.careTeamMember.create({
    data: {
      id: 'ctm-policy-consented',
      patientId: SEEDED.psyPatient,
      providerId: CONSENTED_CLINICIAN,
      role: 'CONSULTING',
      periodStart: new Date('2020-01-01'),
    },
  });
  await prisma.consent.create({
    data: {
      id: 'cns-policy-consented',
      patientId: SEEDED.psyPatient,
      providerId: CONSENTED_CLINICIAN,
      label: 'PSY',
      grantedAt: new Date('2020-01-01'),
    },
  });
}

/** Whether the row policy lets the principal see the patient at all. */
export async function patientVisible(prisma: PrismaClient, principal: Principal, patientId: string): Promise<boolean> {
  switch (policyFor(principal).reach) {
    case 'all':
      return (await prisma.patient.count({ where: { id: patientId } })) === 1;
    case 'self':
      return principal.sub === patientId;
    case 'none':
      return false;
    case 'careTeam':
      return (await prisma.careTeamMember.count({ where: { patientId, providerId: principal.sub, ...activeMembership(new Date()) } })) > 0;
  }
}

type Row = { id: string; sensitivity: Label; confidentiality: 'N' | 'R' | 'V' };

/** The exact ids of one kind of clinical row the principal may see for the patient. */
export async function allowedRows(prisma: PrismaClient, principal: Principal, kind: ClinicalKind, patientId: string): Promise<Set<string>> {
  const policy = policyFor(principal);
  if (!policy.mayRead(kind) || !(await patientVisible(prisma, principal, patientId))) return new Set();
  const where = { where: { patientId } };
  const rows: Row[] =
    kind === 'allergies'
      ? await prisma.allergy.findMany(where)
      : kind === 'medications'
        ? await prisma.medication.findMany(where)
        : kind === 'conditions'
          ? await prisma.condition.findMany(where)
          : kind === 'vitals'
            ? await prisma.observation.findMany(where)
            : await prisma.clinicalNote.findMany(where);
  const consents = await prisma.consent.findMany({ where: { patientId, providerId: principal.sub, ...activeConsent(new Date()) } });
  const labels = new Set<Label>(consents.map((c) => c.label));
  return new Set(rows.filter((row) => policy.rowVisible(row, labels)).map((row) => row.id));
}

/** The fields of Patient the tests select, with how to read their rows. */
export const PATIENT_FIELDS = [
  { coordinate: 'Patient.mrn', selection: 'mrn' },
  { coordinate: 'Patient.name', selection: 'name { text }' },
  { coordinate: 'Patient.birthDate', selection: 'birthDate' },
  { coordinate: 'Patient.sex', selection: 'sex' },
  { coordinate: 'Patient.phone', selection: 'phone' },
  { coordinate: 'Patient.email', selection: 'email' },
  { coordinate: 'Patient.address', selection: 'address { city }' },
  { coordinate: 'Patient.bloodType', selection: 'bloodType' },
  { coordinate: 'Patient.careTeam', selection: 'careTeam { id }' },
  { coordinate: 'Patient.consentedLabels', selection: 'consentedLabels' },
  { coordinate: 'Patient.appointments', selection: 'appointments(first: 100) { edges { node { id } } }' },
  { coordinate: 'Appointment.reason', selection: 'appointments(first: 100) { edges { node { id reason } } }', via: 'Patient.appointments' },
  { coordinate: 'Patient.allergies', selection: 'allergies { id }', kind: 'allergies' as const },
  { coordinate: 'Patient.medications', selection: 'medications { id }', kind: 'medications' as const },
  { coordinate: 'Patient.conditions', selection: 'conditions { id sensitivity }', kind: 'conditions' as const },
  { coordinate: 'Patient.vitals', selection: 'vitals(last: 100) { id }', kind: 'vitals' as const },
  { coordinate: 'Patient.notes', selection: 'notes(first: 100) { edges { node { id } } }', kind: 'notes' as const },
];
export type PatientField = (typeof PATIENT_FIELDS)[number];

/** Row ids in a returned value (lists or connections). */
export function idsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(idsIn);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if ('edges' in record) return idsIn((record.edges as { node: unknown }[]).map((e) => e.node));
    return typeof record.id === 'string' ? [record.id] : [];
  }
  return [];
}
