import { SEEDED } from '@healthgraph/db';
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
  });
});
