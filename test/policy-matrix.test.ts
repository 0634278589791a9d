import { SEEDED } from '@healthgraph/db';
import { activeConsent } from '@healthgraph/kit';
import type { Principal } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addConsentedClinician, allowedRows, callers, fieldAllowed, idsIn, PATIENT_FIELDS, patientVisible } from './helpers/policy.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  await addConsentedClinician(stack.db.prisma);
});
afterAll(() => stack?.close());

const TARGETS = [SEEDED.patient, SEEDED.psyPatient];
const describeCaller = (p: Principal) => `${p.role}/${p.purpose}/${p.sub}`;

describe('the policy matrix: role x purpose x relationship x label, field by field', () => {
  it('returns exactly what the policy tables allow, for every caller, patient and field', async () => {
    const cases = callers().flatMap((caller) => TARGETS.flatMap((target) => PATIENT_FIELDS.map((field) => ({ caller, target, field }))));
    expect(cases.length).toBeGreaterThan(1000);
    const failures: string[] = [];
    let disclosed = 0;
    for (let i = 0; i < cases.length; i += 12) {
      await Promise.all(
        cases.slice(i, i + 12).map(async ({ caller, target, field }) => {
          const label = `${describeCaller(caller)} -> ${target} ${field.coordinate}`;
          const { body } = await stack.query(
            { role: caller.role, sub: caller.sub, purpose: caller.purpose, reason: caller.breakGlassReason },
            `query($id: ID!) { patient(id: $id) { id ${field.selection} } }`,
            { id: target },
          );
          const patient = body.data?.patient as Record<string, unknown> | null | undefined;
          const codes = (body.errors ?? []).map((e) => e.extensions?.code);
          const key = field.selection.split(/[ ({]/)[0]!;
          const allowed = fieldAllowed(caller, field.coordinate) && (!field.via || fieldAllowed(caller, field.via));
          const visible = await patientVisible(stack.db.prisma, caller, target);
          if (!allowed) {
            if (!codes.includes('UNAUTHORIZED_FIELD_OR_TYPE'))
              failures.push(`${label}: expected UNAUTHORIZED_FIELD_OR_TYPE, got ${JSON.stringify(codes)}`);
            const value = patient?.[key];
            if (value !== null && value !== undefined && field.coordinate !== 'Appointment.reason')
              failures.push(`${label}: leaked ${JSON.stringify(value)}`);
            if (field.coordinate === 'Appointment.reason' && JSON.stringify(patient ?? {}).match(/"reason":"/))
              failures.push(`${label}: leaked a reason`);
            return;
          }
          if (!visible) {
            if (patient !== null || !codes.includes('NOT_FOUND'))
              failures.push(`${label}: expected null with NOT_FOUND, got ${JSON.stringify(body)}`);
            return;
          }
          if (codes.length > 0 || !patient) return void failures.push(`${label}: expected data, got ${JSON.stringify(body.errors)}`);
          disclosed++;
          const value = patient[key];
          if ('kind' in field && field.kind) {
            const expected = await allowedRows(stack.db.prisma, caller, field.kind, target);
            const got = new Set(idsIn(value));
            if (got.size !== expected.size || [...got].some((id) => !expected.has(id)))
              failures.push(`${label}: rows ${[...got].sort()} != ${[...expected].sort()}`);
          } else if (field.coordinate === 'Patient.appointments' || field.coordinate === 'Appointment.reason') {
            const rows = await stack.db.prisma.appointment.findMany({ where: { patientId: target } });
            const got = idsIn(value);
            if (got.length !== rows.length) failures.push(`${label}: ${got.length} appointments, expected ${rows.length}`);
            if (field.coordinate === 'Appointment.reason') {
              const reasons = new Map(rows.map((r) => [r.id, r.reason]));
              for (const edge of (value as { edges: { node: { id: string; reason: string | null } }[] }).edges) {
                if (edge.node.reason !== reasons.get(edge.node.id)) failures.push(`${label}: wrong reason for ${edge.node.id}`);
              }
            }
          } else if (field.coordinate === 'Patient.consentedLabels') {
            // The labels granted to this caller, never anyone else's.
            const consents = await stack.db.prisma.consent.findMany({
              where: { patientId: target, providerId: caller.sub, ...activeConsent(new Date()) },
            });
            const expected = consents.map((c) => c.label).sort();
            if (JSON.stringify([...((value as string[] | null) ?? [])].sort()) !== JSON.stringify(expected))
              failures.push(`${label}: labels ${JSON.stringify(value)} != ${JSON.stringify(expected)}`);
          } else if (field.coordinate === 'Patient.mrn') {
            const row = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: target } });
            if (value !== row.mrn) failures.push(`${label}: mrn ${String(value)} != ${row.mrn}`);
          } else if (
            ['Patient.name', 'Patient.birthDate', 'Patient.careTeam'].includes(field.coordinate) &&
            (value === null || value === undefined)
          ) {
            failures.push(`${label}: missing value`);
          }
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(disclosed).toBeGreaterThan(100); // the matrix exercises disclosure, not only refusal
  }, 240_000); // some 1,500 requests: minutes on a busy two-core machine
});

/**
 * The writes, as the product promises them, in plain terms (not derived from the policy code):
 * consents by the patient, treating purpose; one's own contact details by the patient and any
 * patient's by the front desk (treatment or operations); clinical rows by a clinician on the
 * patient's care team, treating. Everything else is refused, and nothing is written.
 */
const WRITES = {
  grantConsent: {
    mayWrite: (c: Principal) => c.role === 'PATIENT' && c.purpose === 'TREAT',
    run: (target: string, n: number) => ({
      query: 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id patient { id } } }',
      variables: { input: { providerId: SEEDED.otherClinician, label: 'GDIS', idempotencyKey: `matrix-grant-${n}` } },
      target,
    }),
  },
  updateMyContact: {
    mayWrite: (c: Principal) => c.role === 'PATIENT' && (c.purpose === 'TREAT' || c.purpose === 'HOPERAT'),
    run: (target: string) => ({
      query: 'mutation($input: ContactInput!) { updateMyContact(input: $input) { id phone } }',
      variables: { input: { phone: '+1-555-0142' } },
      target,
    }),
  },
  updateContact: {
    mayWrite: (c: Principal, target: string) =>
      (c.role === 'SCHEDULER' && (c.purpose === 'TREAT' || c.purpose === 'HOPERAT')) ||
      (c.role === 'PATIENT' && (c.purpose === 'TREAT' || c.purpose === 'HOPERAT') && c.sub === target),
    run: (target: string) => ({
      query: 'mutation($id: ID!, $input: ContactInput!) { updateContact(patientId: $id, input: $input) { id phone } }',
      variables: { id: target, input: { phone: '+1-555-0143' } },
      target,
    }),
  },
  recordVitals: {
    mayWrite: (c: Principal, _: string, onCareTeam: boolean) => c.role === 'CLINICIAN' && c.purpose === 'TREAT' && onCareTeam,
    run: (target: string, n: number) => ({
      query: 'mutation($input: RecordVitalsInput!) { recordVitals(input: $input) { patient { id } observations { id } } }',
      variables: {
        input: { patientId: target, readings: [{ code: '8867-4', value: 70, unit: '/min' }], idempotencyKey: `matrix-vitals-${n}` },
      },
      target,
    }),
  },
  addAllergy: {
    mayWrite: (c: Principal, _: string, onCareTeam: boolean) => c.role === 'CLINICIAN' && c.purpose === 'TREAT' && onCareTeam,
    run: (target: string, n: number) => ({
      query: 'mutation($input: AddAllergyInput!) { addAllergy(input: $input) { patient { id } allergy { id } } }',
      variables: { input: { patientId: target, code: '91936005', display: 'Penicillin', idempotencyKey: `matrix-allergy-${n}` } },
      target,
    }),
  },
} as const;

describe('the write matrix: role x purpose x relationship, for every write', () => {
  it('lets exactly the callers the product names write, refuses everyone else with a code, and writes nothing for a refusal', async () => {
    const failures: string[] = [];
    let allowed = 0;
    let n = 0;
    for (const caller of callers()) {
      for (const target of TARGETS) {
        const onCareTeam =
          (await stack.db.prisma.careTeamMember.count({
            where: {
              patientId: target,
              providerId: caller.sub,
              periodStart: { lte: new Date() },
              OR: [{ periodEnd: null }, { periodEnd: { gt: new Date() } }],
            },
          })) > 0;
        for (const [name, write] of Object.entries(WRITES)) {
          const label = `${describeCaller(caller)} ${name} -> ${target}`;
          const { query, variables } = write.run(target, ++n);
          const audits = await stack.db.prisma.auditEvent.count({ where: { outcome: 'WRITTEN', actorSub: caller.sub } });
          const { body } = await stack.query(
            { role: caller.role, sub: caller.sub, purpose: caller.purpose, reason: caller.breakGlassReason },
            query,
            variables,
          );
          const answer = body.data?.[name] as Record<string, unknown> | null | undefined;
          const codes = (body.errors ?? []).map((e) => e.extensions?.code);
          const written = (await stack.db.prisma.auditEvent.count({ where: { outcome: 'WRITTEN', actorSub: caller.sub } })) - audits;
          // updateMyContact always writes the caller's own record: the target does not apply to it.
          const expected = write.mayWrite(caller, target, onCareTeam) && (name !== 'updateMyContact' || target === TARGETS[0]);
          if (name === 'updateMyContact' && target !== TARGETS[0]) continue;
          if (expected) {
            allowed++;
            if (codes.length > 0 || !answer) failures.push(`${label}: expected a write, got ${JSON.stringify(body.errors)}`);
            if (written !== 1) failures.push(`${label}: ${written} WRITTEN events, expected 1`);
          } else {
            if (answer) failures.push(`${label}: wrote ${JSON.stringify(answer)}`);
            if (!codes.some((code) => ['UNAUTHORIZED_FIELD_OR_TYPE', 'FORBIDDEN', 'NOT_FOUND'].includes(code as string)))
              failures.push(`${label}: expected a refusal code, got ${JSON.stringify(codes)}`);
            if (written !== 0) failures.push(`${label}: a refusal wrote ${written} events`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(allowed).toBeGreaterThan(5);
  }, 240_000);
});
