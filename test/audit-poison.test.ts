import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * One request must never be able to stop the audit trail. Hostile bytes (a NUL, a lone surrogate)
 * go into every id-like argument of every operation; afterwards ordinary disclosures must still be
 * recorded, nothing may wait in the writer's backlog and nothing may have been quarantined,
 * because every event was made storable first. With every wall before it out of the way, hostile
 * bytes the writer meets are stored escaped and marked sanitized, and the events around them written.
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
        expect(JSON.stringify(response.body)).not.toMatch(/INTERNAL_SERVER_ERROR/);
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

  it('stores hostile bytes that reach the audit writer escaped and marked, and writes the events around them', async () => {
    // Every wall before the writer (the gateway's input checks, the subgraphs' own) is out of the way here:
    // the events go straight to the writer, and through it to the real database.
    const base = {
      actorSub: 'prv-0001',
      actorRole: 'CLINICIAN',
      purpose: 'TREAT',
      resourceType: 'Patient',
      fieldPaths: ['Query.patient'],
      breakGlassReason: null,
      outcome: 'DENIED' as const,
    };
    await stack.audit.write([
      { ...base, requestId: 'poison-writer-1', patientId: 'pat-000001', resourceIds: [] },
      ...POISONS.map((poison) => ({
        ...base,
        requestId: 'poison-writer-1',
        patientId: poison,
        resourceIds: [poison],
        breakGlassReason: `reason ${poison}`,
      })),
      { ...base, requestId: 'poison-writer-1', patientId: 'pat-000002', resourceIds: [] },
    ]);
    const stored = await stack.db.prisma.auditEvent.findMany({ where: { requestId: 'poison-writer-1' } });
    expect(stored.map((e) => e.patientId).sort()).toEqual(
      ['\\u0000', 'pat-\\u0000-x', 'pat-000001', 'pat-000002', 'x\\udfffy', '\\ud800'].sort(),
    );
    expect(
      stored
        .filter((e) => e.sanitized)
        .map((e) => e.patientId)
        .sort(),
    ).toEqual(['\\u0000', 'pat-\\u0000-x', 'x\\udfffy', '\\ud800'].sort());
    const texts = stored
      .flatMap((e) => [e.patientId, e.breakGlassReason, ...e.resourceIds])
      .filter((v): v is string => typeof v === 'string');
    expect(texts.some((text) => text.includes('\u0000') || /[\ud800-\udfff]/.test(text))).toBe(false);
    expect(stack.audit.stats.quarantined).toBe(0);
    expect(stack.audit.backlog).toBe(0);
  });
});
