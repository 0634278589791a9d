import { randomUUID } from 'node:crypto';
import type { Allergy, Observation } from '@healthgraph/db';
import { idempotencyKeyOf, idempotent, type Label, loadAll, type ScopedData } from '@healthgraph/kit';
import { auditInTransaction, badUserInput, forbidden, notFound } from '@healthgraph/platform';

/**
 * Clinical writes (vital signs, allergies) by a clinician on the patient's care team, treating.
 * Inputs are checked against what the product knows (LOINC vital signs with their UCUM units and
 * plausible ranges; SNOMED CT concept ids with their check digit); the writer sets the sensitivity
 * label and confidentiality. Each write commits with its audit event, is idempotent by key, and
 * invalidates the patient's clinical views on every replica before it answers.
 */

/** The vital signs the product records: LOINC code, display, UCUM unit and the range a real reading falls in. */
export const VITAL_SIGNS: Readonly<Record<string, { display: string; unit: string; min: number; max: number }>> = {
  '8867-4': { display: 'Heart rate', unit: '/min', min: 20, max: 300 },
  '9279-1': { display: 'Respiratory rate', unit: '/min', min: 2, max: 80 },
  '8480-6': { display: 'Systolic blood pressure', unit: 'mm[Hg]', min: 40, max: 300 },
  '8462-4': { display: 'Diastolic blood pressure', unit: 'mm[Hg]', min: 20, max: 200 },
  '8310-5': { display: 'Body temperature', unit: 'Cel', min: 25, max: 45 },
  '59408-5': { display: 'Oxygen saturation in arterial blood by pulse oximetry', unit: '%', min: 50, max: 100 },
  '29463-7': { display: 'Body weight', unit: 'kg', min: 0.2, max: 700 },
  '8302-2': { display: 'Body height', unit: 'cm', min: 20, max: 280 },
};

const MAX_READINGS = 20;
const DAY = 86_400_000;
/** How far back a reading may be recorded (late charting), and the clock skew tolerated ahead. */
const BACKDATE_DAYS = 30;
const SKEW_MS = 5 * 60_000;

type Sensitivity = Label;
type Confidentiality = 'N' | 'R' | 'V';

export interface RecordVitalsInput {
  patientId: string;
  effectiveAt?: Date | null;
  readings: { code: string; value: number; unit: string }[];
  sensitivity?: Sensitivity | null;
  confidentiality?: Confidentiality | null;
  idempotencyKey: string;
}

export interface AddAllergyInput {
  patientId: string;
  code: string;
  display: string;
  reaction?: string | null;
  severity?: 'MILD' | 'MODERATE' | 'SEVERE' | null;
  criticality?: 'LOW' | 'HIGH' | 'UNABLE_TO_ASSESS' | null;
  sensitivity?: Sensitivity | null;
  confidentiality?: Confidentiality | null;
  idempotencyKey: string;
}

// Verhoeff's check (SNOMED CT identifiers end in its digit), from its definitions rather than
// transcribed tables: D multiplies in the dihedral group D5 (0-4 rotations, 5-9 reflections);
// P applies the permutation (0 1 5 8 9 4 2 7)(3 6) once per position, so P[i] is its i-th power.
const D = Array.from({ length: 10 }, (_, j) =>
  Array.from({ length: 10 }, (_, k) => {
    if (j < 5) return k < 5 ? (j + k) % 5 : 5 + ((j + k) % 5);
    return k < 5 ? 5 + ((j - k + 5) % 5) : (j - k + 5) % 5;
  }),
);
const STEP = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4];
const P = [Array.from({ length: 10 }, (_, j) => j)];
for (let i = 1; i < 8; i++) P.push(P[i - 1]!.map((_, j) => P[i - 1]![STEP[j]!]!));

/** Whether a string is a SNOMED CT concept id: 6 to 18 digits, no leading zero, concept partition (x0x), valid Verhoeff check digit. */
export function isSnomedConceptId(code: string): boolean {
  if (!/^[1-9][0-9]{5,17}$/.test(code)) return false;
  // The partition identifier (second and third digits from the right): 00 or 10 for a concept.
  const partition = code.slice(-3, -1);
  if (partition !== '00' && partition !== '10') return false;
  let check = 0;
  [...code].reverse().forEach((digit, i) => {
    check = D[check]![P[i % 8]![Number(digit)]!]!;
  });
  return check === 0;
}

/** Free text a clinician types, trimmed and bounded. */
function text(value: string | null | undefined, argument: string, max: number, required = false): string | null {
  const trimmed = value?.trim() ?? '';
  if (trimmed === '') {
    if (required) throw badUserInput(argument, 'must not be empty');
    return null;
  }
  if (trimmed.length > max) throw badUserInput(argument, `must be at most ${max} characters`);
  return trimmed;
}

/** Only a clinician on this patient's care team, treating, writes their chart; refusals are recorded (NOT_FOUND for a patient out of reach). */
async function mayWriteChart(data: ScopedData, patientId: string, resourceType: string, coordinate: string): Promise<void> {
  if (!data.policy.mayWriteClinical) {
    data.audit.denied(patientId, resourceType, coordinate);
    throw forbidden('clinical records are written by a clinician on the care team of the patient, treating them');
  }
  const [visible] = await loadAll(data.canSeePatient, [patientId]);
  if (!visible) {
    data.audit.denied(patientId, resourceType, coordinate);
    throw notFound('Patient', patientId);
  }
}

/** After a commit, no replica serves this patient's clinical views from before it. */
const invalidateClinical = (data: ScopedData, patientId: string) => data.cache?.invalidate([`clinical:${patientId}`]) ?? Promise.resolve();

export async function recordVitals(data: ScopedData, input: RecordVitalsInput): Promise<Observation[]> {
  const coordinate = 'Mutation.recordVitals';
  const key = idempotencyKeyOf(input.idempotencyKey, 'input.idempotencyKey');
  await mayWriteChart(data, input.patientId, 'Observation', coordinate);
  const now = Date.now();
  const effectiveAt = input.effectiveAt ?? new Date(now);
  if (effectiveAt.getTime() > now + SKEW_MS) throw badUserInput('input.effectiveAt', 'must not be in the future');
  if (effectiveAt.getTime() < now - BACKDATE_DAYS * DAY)
    throw badUserInput('input.effectiveAt', `must be at most ${BACKDATE_DAYS} days ago`);
  if (input.readings.length === 0 || input.readings.length > MAX_READINGS)
    throw badUserInput('input.readings', `must hold 1 to ${MAX_READINGS} readings`);
  const seen = new Set<string>();
  const rows = input.readings.map((reading, i) => {
    const at = `input.readings[${i}]`;
    const vital = VITAL_SIGNS[reading.code];
    if (!vital) throw badUserInput(`${at}.code`, `must be one of the LOINC vital-sign codes ${Object.keys(VITAL_SIGNS).join(', ')}`);
    if (seen.has(reading.code)) throw badUserInput(`${at}.code`, 'appears twice: one reading per code');
    seen.add(reading.code);
    if (reading.unit !== vital.unit) throw badUserInput(`${at}.unit`, `must be ${vital.unit} for ${reading.code} (${vital.display})`);
    if (!Number.isFinite(reading.value) || reading.value < vital.min || reading.value > vital.max)
      throw badUserInput(`${at}.value`, `must be between ${vital.min} and ${vital.max} ${vital.unit} for ${vital.display}`);
    return { code: reading.code, display: vital.display, value: reading.value, unit: vital.unit };
  });
  const sensitivity = input.sensitivity ?? 'NONE';
  const confidentiality = input.confidentiality ?? 'N';
  const { prisma } = data;
  const { value } = await idempotent(prisma, {
    actor: data.principal.sub,
    operation: coordinate,
    key,
    request: { patientId: input.patientId, effectiveAt: input.effectiveAt?.toISOString() ?? null, rows, sensitivity, confidentiality },
    write: async (tx) => {
      const made = rows.map((row) => ({
        ...row,
        id: `obs-${randomUUID()}`,
        patientId: input.patientId,
        effectiveAt,
        sensitivity,
        confidentiality,
      }));
      await tx.observation.createMany({ data: made });
      const ids = made.map((row) => row.id);
      await auditInTransaction(tx, [
        data.audit.written(input.patientId, 'Observation', coordinate, ids, ['code', 'value', 'unit', 'effectiveAt']),
      ]);
      return ids;
    },
    read: async (ids) => {
      const found = await prisma.observation.findMany({ where: { id: { in: ids } } });
      return ids.map((id) => found.find((row) => row.id === id)!);
    },
  });
  await invalidateClinical(data, input.patientId);
  return value;
}

const SEVERITY = { MILD: 'mild', MODERATE: 'moderate', SEVERE: 'severe' } as const;
const CRITICALITY = { LOW: 'low', HIGH: 'high', UNABLE_TO_ASSESS: 'unable-to-assess' } as const;

export async function addAllergy(data: ScopedData, input: AddAllergyInput): Promise<Allergy> {
  const coordinate = 'Mutation.addAllergy';
  const key = idempotencyKeyOf(input.idempotencyKey, 'input.idempotencyKey');
  await mayWriteChart(data, input.patientId, 'Allergy', coordinate);
  const code = input.code.trim();
  if (!isSnomedConceptId(code))
    throw badUserInput('input.code', 'must be a SNOMED CT concept id (6 to 18 digits with a valid check digit)');
  const row = {
    code,
    display: text(input.display, 'input.display', 200, true)!,
    reaction: text(input.reaction, 'input.reaction', 200),
    severity: input.severity ? SEVERITY[input.severity] : null,
    criticality: input.criticality ? CRITICALITY[input.criticality] : null,
    sensitivity: input.sensitivity ?? 'NONE',
    confidentiality: input.confidentiality ?? 'N',
  };
  const { prisma } = data;
  const { value } = await idempotent(prisma, {
    actor: data.principal.sub,
    operation: coordinate,
    key,
    request: { patientId: input.patientId, ...row },
    write: async (tx) => {
      const id = `alg-${randomUUID()}`;
      await tx.allergy.create({ data: { ...row, id, patientId: input.patientId, recordedAt: new Date() } });
      await auditInTransaction(tx, [
        data.audit.written(input.patientId, 'Allergy', coordinate, id, ['code', 'reaction', 'severity', 'criticality']),
      ]);
      return [id];
    },
    read: ([id]) => prisma.allergy.findUniqueOrThrow({ where: { id: id! } }),
  });
  await invalidateClinical(data, input.patientId);
  return value;
}
