import { SEEDED } from '@healthgraph/db';
import { AuditLog } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
let requestSeq = 0;

/** Sends an operation with a known request id and returns the response and the audit events it caused. */
async function audited(caller: Parameters<TestStack['token']>[0], query: string, variables?: Record<string, unknown>) {
  const requestId = `audit-test-${Date.now()}-${++requestSeq}`;
  const token = await stack.token(caller);
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: any[] };
  // No flush: an answer is released only once its events are durable.
  const events = await stack.db.prisma.auditEvent.findMany({ where: { correlationId: requestId } });
  return { body, events, requestId: response.headers.get('x-request-id') };
}

/** The types whose fields are PHI, named here independently of the code under test. */
const PHI = new Set(['Patient', 'Appointment', 'Allergy', 'Medication', 'Condition', 'Observation', 'ClinicalNote']);

/** Every `Type.field` of a PHI type present in a response (objects carry __typename), with the ids. */
function disclosedIn(value: unknown, found = new Map<string, Set<string>>()): Map<string, Set<string>> {
  if (Array.isArray(value)) for (const item of value) disclosedIn(item, found);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const type = record.__typename;
    for (const [key, child] of Object.entries(record)) {
      if (typeof type === 'string' && PHI.has(type) && key !== 'id' && key !== '__typename' && child !== null) {
        const ids = found.get(`${type}.${key}`) ?? new Set<string>();
        if (typeof record.id === 'string') ids.add(record.id);
        found.set(`${type}.${key}`, ids);
      }
      disclosedIn(child, found);
    }
  }
  return found;
}

const CHART = `query Chart($id: ID!) {
  patient(id: $id) {
    __typename id name { text } birthDate phone bloodType careTeam { id }
    allergies { __typename id code { display } reaction }
    medications { __typename id code { display } }
    vitals(last: 3) { __typename id value unit }
    notes(first: 2) { edges { node { __typename id title text } } }
    appointments(first: 3) { edges { node { __typename id start status reason provider { id } } } }
  }
}`;

describe('the audit trail', () => {
  it('accounts for every PHI field and row a clinician was shown, none missing', async () => {
    const { body, events } = await audited(clinician, CHART, { id: SEEDED.patient });
    expect(body.errors).toBeUndefined();
    const disclosed = disclosedIn(body.data);
    expect(disclosed.size).toBeGreaterThan(15);
    for (const [coordinate, ids] of disclosed) {
      const covering = events.filter(
        (e) => e.outcome === 'DISCLOSED' && e.patientId === SEEDED.patient && e.fieldPaths.includes(coordinate),
      );
      expect(covering, coordinate).not.toHaveLength(0);
      const recordedIds = new Set(covering.flatMap((e) => e.resourceIds));
      for (const id of ids) expect(recordedIds.has(id), `${coordinate} ${id}`).toBe(true);
    }
    expect(events.every((e) => e.actorSub === SEEDED.clinician && e.actorRole === 'CLINICIAN' && e.purpose === 'TREAT')).toBe(true);
  });

  it('records break-glass reads with their reason', async () => {
    const reason = 'Unresponsive patient, suspected anaphylaxis';
    const { body, events } = await audited(
      { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'BTG', reason },
      `{ patient(id: "${SEEDED.psyPatient}") { __typename bloodType conditions { __typename id code { display } } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.breakGlassReason === reason && e.purpose === 'BTG')).toBe(true);
    expect(events.flatMap((e) => e.fieldPaths)).toEqual(expect.arrayContaining(['Patient.bloodType', 'Condition.code']));
  });

  it('records refusals: a patient off the care team, and fields removed at the gateway', async () => {
    const offTeam = await audited(
      { role: 'CLINICIAN', sub: SEEDED.otherClinician },
      `{ patient(id: "${SEEDED.patient}") { name { text } } }`,
    );
    expect(codes({ body: offTeam.body } as any)).toEqual(['NOT_FOUND']);
    expect(offTeam.events).toEqual([
      expect.objectContaining({ outcome: 'DENIED', patientId: SEEDED.patient, fieldPaths: ['Query.patient'] }),
    ]);
    const billing = await audited(
      { role: 'BILLING', sub: 'staff-billing-9' },
      `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } } }`,
    );
    expect(billing.events).toContainEqual(
      expect.objectContaining({ outcome: 'DENIED', resourceType: 'Operation', fieldPaths: ['Patient.allergies'], actorRole: 'BILLING' }),
    );
  });

  it("gives a patient the accounting of others' access to their record, not their own reads", async () => {
    await audited(clinician, `{ patient(id: "${SEEDED.patient}") { name { text } } }`);
    await audited({ role: 'PATIENT', sub: SEEDED.patient }, '{ me { name { text } } }');
    const { body } = await audited(
      { role: 'PATIENT', sub: SEEDED.patient },
      '{ myAccessLog(first: 100) { edges { node { actor role purpose fieldPaths outcome } } } }',
    );
    const log = body.data.myAccessLog.edges.map((e: any) => e.node);
    expect(log).toContainEqual(
      expect.objectContaining({ actor: SEEDED.clinician, role: 'CLINICIAN', purpose: 'TREAT', outcome: 'DISCLOSED' }),
    );
    expect(log.some((e: any) => e.actor === SEEDED.patient)).toBe(false);
  });

  it('lets an auditor page the trail for one patient, and nobody else read it', async () => {
    const auditor = { role: 'AUDITOR' as const, sub: 'staff-auditor-1' };
    const first = await audited(
      auditor,
      `{ auditEvents(patientId: "${SEEDED.patient}", first: 2) { edges { node { id patientId at } } pageInfo { hasNextPage endCursor } } }`,
    );
    const page = first.body.data.auditEvents;
    expect(page.edges).toHaveLength(2);
    expect(page.edges.every((e: any) => e.node.patientId === SEEDED.patient)).toBe(true);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await audited(
      auditor,
      `query($after: String) { auditEvents(patientId: "${SEEDED.patient}", first: 2, after: $after) { edges { node { id at } } } }`,
      { after: page.pageInfo.endCursor },
    );
    const ids = next.body.data.auditEvents.edges.map((e: any) => e.node.id);
    expect(ids).not.toContain(page.edges[0].node.id);
    expect(next.body.data.auditEvents.edges[0].node.at <= page.edges[1].node.at).toBe(true);
    const peek = await audited(clinician, '{ auditEvents(first: 1) { edges { node { id } } } }');
    expect(codes({ body: peek.body } as any)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
  });

  it('stores each batched event exactly as recorded: UTC time to the millisecond, arrays, nulls; a retried event once', async () => {
    const log = new AuditLog(stack.db.prisma);
    const at = new Date('2026-03-08T01:59:59.123Z'); // a DST edge in the US, to catch any local-time conversion
    const base = {
      actorSub: 'prv-x',
      actorRole: 'CLINICIAN',
      purpose: 'TREAT',
      resourceType: 'Allergy',
      requestId: 'audit-roundtrip',
      correlationId: null,
      outcome: 'DISCLOSED' as const,
      sanitized: false,
    };
    // In the order the read below sorts them (patientId ascending, nulls last).
    const written = [
      {
        ...base,
        at,
        patientId: 'pat-rt-1',
        resourceIds: ['alg-1', 'alg-"2"'],
        fieldPaths: ['Allergy.code', 'Allergy.reaction'],
        breakGlassReason: null,
      },
      { ...base, at, patientId: null, resourceIds: [], fieldPaths: ['Patient.name'], breakGlassReason: "Unconscious, 'no' ID" },
    ];
    await log.write(written);
    const rows = await stack.db.prisma.auditEvent.findMany({ where: { requestId: 'audit-roundtrip' }, orderBy: { patientId: 'asc' } });
    expect(rows.map(({ id: _, ...row }) => row)).toEqual(written);
    // A batch written again after a write that did land (the acknowledgement was lost, a journal shipped twice) adds nothing.
    await log.write([{ ...rows[0]!, outcome: 'DISCLOSED' }]);
    expect(await stack.db.prisma.auditEvent.count({ where: { requestId: 'audit-roundtrip' } })).toBe(2);
    await log.close();
  });

  it('is append-only in the database', async () => {
    const event = await stack.db.prisma.auditEvent.findFirstOrThrow();
    // The key is (id, at): AuditEvent is partitioned by month on `at`.
    const key = { id_at: { id: event.id, at: event.at } };
    await expect(stack.db.prisma.auditEvent.update({ where: key, data: { outcome: 'DENIED' } })).rejects.toThrow();
    await expect(stack.db.prisma.auditEvent.delete({ where: key })).rejects.toThrow();
    expect(await stack.db.prisma.auditEvent.findUnique({ where: key })).toEqual(event);
  });
});
