import { SEEDED } from '@healthgraph/db';
import { internalTokenKey, signInternalToken } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * One request must never be able to stop the audit trail. Hostile bytes (a NUL, a lone surrogate)
 * go into every id-like argument of every operation; afterwards ordinary disclosures must still be
 * recorded, nothing may wait in the writer's backlog and nothing may have been quarantined,
 * because every event was made storable first. With the gateway's own input checks out of the way
 * (requests sent straight to a subgraph with a valid gateway token), the refusals such input causes
 * are stored escaped and marked sanitized.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const POISONS = ['\u0000', 'pat-\u0000-x', '\ud800', 'x\udfffy'];
const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };
const scheduler = { role: 'SCHEDULER' as const, sub: 'staff-scheduler-1' };
const auditor = { role: 'AUDITOR' as const, sub: 'staff-auditor-1' };

/** Every operation that takes an id-like or free-text argument, with the poison in that argument (as a variable). */
const OPERATIONS: [Parameters<TestStack['query']>[0], string, (p: string) => Record<string, unknown>][] = [
  [clinician, 'query($v: ID!) { patient(id: $v) { name { text } } }', (v) => ({ v })],
  [clinician, 'query($v: ID!) { provider(id: $v) { name { text } } }', (v) => ({ v })],
  [clinician, 'query($v: ID!) { appointment(id: $v) { start } }', (v) => ({ v })],
  [scheduler, 'query($v: String) { searchPatients(name: $v) { edges { node { id } } } }', (v) => ({ v })],
  [scheduler, 'query($v: String) { searchPatients(mrn: $v) { edges { node { id } } } }', (v) => ({ v })],
  [scheduler, 'query($v: String) { searchPatients(name: "a", after: $v) { edges { node { id } } } }', (v) => ({ v })],
  [scheduler, 'query($v: String) { searchProviders(name: $v) { edges { node { id } } } }', (v) => ({ v })],
  [scheduler, 'query($v: String) { searchProviders(specialty: $v) { edges { node { id } } } }', (v) => ({ v })],
  [clinician, 'query($v: String) { myPatients(after: $v) { edges { node { id } } } }', (v) => ({ v })],
  [clinician, `query($v: String) { patient(id: "${SEEDED.patient}") { notes(after: $v) { edges { node { id } } } } }`, (v) => ({ v })],
  [
    clinician,
    `query($v: String) { patient(id: "${SEEDED.patient}") { appointments(after: $v) { edges { node { id } } } } }`,
    (v) => ({ v }),
  ],
  [auditor, 'query($v: ID) { auditEvents(patientId: $v) { edges { node { id } } } }', (v) => ({ v })],
  [patient, 'query($v: String) { myAccessLog(after: $v) { edges { node { id } } } }', (v) => ({ v })],
  [patient, 'mutation($v: ID!) { cancelAppointment(id: $v) { id } }', (v) => ({ v })],
  [patient, 'mutation($v: String) { cancelAppointment(id: "apt-0000001", reason: $v) { id } }', (v) => ({ v })],
  ...(['patientId', 'providerId', 'idempotencyKey', 'reason'] as const).map(
    (field) =>
      [
        patient,
        'mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }',
        (v: string) => ({
          input: {
            patientId: SEEDED.patient,
            providerId: SEEDED.clinician,
            start: '2030-01-07T09:00:00Z',
            idempotencyKey: 'poison-key-0001',
            reason: 'x',
            [field]: v,
          },
        }),
      ] as (typeof OPERATIONS)[number],
  ),
];

describe('hostile bytes cannot stop or fool the audit trail', () => {
  it('answers every poisoned request without a server error, and keeps recording ordinary disclosures', async () => {
    for (const poison of POISONS) {
      for (const [caller, query, variables] of OPERATIONS) {
        const response = await stack.query(caller, query, variables(poison));
        expect(response.status, `${query} with ${JSON.stringify(poison)}`).toBeLessThan(500);
      }
    }
    const chart = await stack.query(clinician, `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } } }`);
    expect(chart.body.errors).toBeUndefined();
    const requestId = chart.headers.get('x-request-id')!;
    const events = await stack.db.prisma.auditEvent.findMany({ where: { requestId, outcome: 'DISCLOSED' } });
    expect(events.map((e) => e.resourceType).sort()).toEqual(['Allergy', 'Patient']);
    expect(stack.audit.backlog).toBe(0);
    expect(stack.audit.stats.quarantined).toBe(0);
    expect(stack.audit.stats.refused).toBe(0);
  });

  it('stores a refusal caused by hostile bytes escaped and marked, when they reach a subgraph past the gateway', async () => {
    const token = await signInternalToken(
      internalTokenKey(stack.config.subgraphTokenSecret),
      { ...clinician, purpose: 'TREAT' },
      'poison-direct-1',
    );
    for (const id of POISONS) {
      const response = await fetch(stack.subgraphUrls.patients, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'query($id: ID!) { patient(id: $id) { id } }', variables: { id } }),
      });
      expect(response.status).toBeLessThan(500);
    }
    const stored = await stack.db.prisma.auditEvent.findMany({ where: { requestId: 'poison-direct-1', outcome: 'DENIED' } });
    expect(stored.map((e) => e.patientId).sort()).toEqual(['\\u0000', 'pat-\\u0000-x', 'x\\udfffy', '\\ud800'].sort());
    expect(stored.every((e) => e.sanitized)).toBe(true);
    expect(stack.audit.stats.quarantined).toBe(0);
  });
});
