import { SEEDED } from '@healthgraph/db';
import type { Principal } from '@healthgraph/platform';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addConsentedClinician,
  allowedRows,
  callers,
  fieldAllowed,
  idsIn,
  PATIENT_FIELDS,
  type PatientField,
  patientVisible,
} from './helpers/policy.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let appointmentOf: Record<string, string>;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  await addConsentedClinician(stack.db.prisma);
  const rows = await Promise.all(
    [SEEDED.patient, SEEDED.psyPatient].map((id) => stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: id } })),
  );
  appointmentOf = Object.fromEntries(rows.map((r) => [r.patientId, r.id]));
});
afterAll(() => stack?.close());

type Wrapper = 'plain' | 'inline' | 'fragment' | 'interface';
interface Pick {
  field: PatientField;
  wrapper: Wrapper;
}

/** Builds an operation selecting each picked field under alias fN, wrapped as chosen. */
function operation(entry: 'patient' | 'appointment' | 'me', picks: Pick[]): { query: string; path: string[] } {
  const fragments: string[] = [];
  const selections = picks.map(({ field, wrapper }, i) => {
    const aliased = `f${i}: ${field.selection}`;
    if (wrapper === 'inline') return `... on Patient { ${aliased} }`;
    if (wrapper === 'fragment') {
      fragments.push(`fragment F${i} on Patient { ${aliased} }`);
      return `...F${i}`;
    }
    if (wrapper === 'interface' && field.coordinate.startsWith('Patient.') && 'kind' in field && field.kind && field.kind !== 'notes') {
      // The same rows reached through the ClinicalRecord interface.
      return `f${i}: ${field.selection.slice(0, field.selection.indexOf(' {'))} { ... on ClinicalRecord { id sensitivity } }`;
    }
    return aliased;
  });
  const body = `id ${selections.join(' ')}`;
  const head =
    entry === 'patient'
      ? { query: `query($id: ID!) { patient(id: $id) { ${body} } }`, path: ['patient'] }
      : entry === 'appointment'
        ? {
            query: `query($appointment: ID!) { appointment(id: $appointment) { id patient { ${body} } } }`,
            path: ['appointment', 'patient'],
          }
        : { query: `query { me { ${body} } }`, path: ['me'] };
  return { query: `${head.query}\n${fragments.join('\n')}`, path: head.path };
}

const callerArb = fc.constantFrom(...callers());
const targetArb = fc.constantFrom(SEEDED.patient, SEEDED.psyPatient);
const pickArb = fc.record({
  field: fc.constantFrom(...PATIENT_FIELDS),
  wrapper: fc.constantFrom<Wrapper>('plain', 'inline', 'fragment', 'interface'),
});

describe('no generated operation reaches beyond its caller', () => {
  it('never returns a field or row outside the allowance, however the operation is written', async () => {
    let disclosedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        callerArb,
        targetArb,
        fc.constantFrom<'patient' | 'appointment' | 'me'>('patient', 'appointment', 'me'),
        fc.array(pickArb, { minLength: 1, maxLength: 5 }),
        async (caller: Principal, target, entry, picks) => {
          const { query, path } = operation(entry, picks);
          const variables = entry === 'patient' ? { id: target } : entry === 'appointment' ? { appointment: appointmentOf[target] } : {};
          const { status, body } = await stack.query(
            { role: caller.role, sub: caller.sub, purpose: caller.purpose, reason: caller.breakGlassReason },
            query,
            variables,
          );
          expect(status, JSON.stringify(body.errors)).toBe(200); // every generated operation is valid GraphQL
          const subject = entry === 'me' ? caller.sub : target;
          let patient: unknown = body.data;
          for (const key of path) patient = (patient as Record<string, unknown> | null | undefined)?.[key];
          if (!patient || typeof patient !== 'object') return; // nothing disclosed
          const record = patient as Record<string, unknown>;
          if (picks.some((_, i) => record[`f${i}`] !== null && record[`f${i}`] !== undefined)) disclosedRuns++;
          // A patient object in the answer means the caller may see that patient.
          expect(await patientVisible(stack.db.prisma, caller, record.id as string)).toBe(true);
          expect(record.id).toBe(subject);
          for (const [i, { field }] of picks.entries()) {
            const value = record[`f${i}`];
            if (value === null || value === undefined) continue;
            // The value at the alias is the field itself (for the reason spec: the appointments connection).
            const selected = 'via' in field && field.via ? field.via : field.coordinate;
            expect(fieldAllowed(caller, selected), `${selected} for ${caller.role}/${caller.purpose}`).toBe(true);
            if ('kind' in field && field.kind) {
              const allowed = await allowedRows(stack.db.prisma, caller, field.kind, subject);
              for (const id of idsIn(value)) expect(allowed.has(id), `${id} for ${caller.role}/${caller.sub}`).toBe(true);
            }
            if (JSON.stringify(value).match(/"reason":"/)) expect(fieldAllowed(caller, 'Appointment.reason')).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: Number(process.env.PROPERTY_SEED ?? 20261123), endOnFailure: true },
    );
    // The property is only as good as the disclosures it inspected.
    expect(disclosedRuns).toBeGreaterThan(60);
  });
});
