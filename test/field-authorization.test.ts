import { SEEDED } from '@healthgraph/db';
import { createGateway } from '@healthgraph/gateway';
import { internalTokenKey, type Listening, signInternalToken } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let rejecting: Listening;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  // A second gateway over the same subgraphs, configured to refuse instead of filter.
  rejecting = await createGateway({
    config: { ...stack.config, fieldAuthMode: 'reject' },
    subgraphUrls: stack.subgraphUrls,
    audit: stack.audit,
  }).listen(0);
});
afterAll(async () => {
  await rejecting?.close();
  await stack?.close();
});

const billing = { role: 'BILLING' as const, sub: 'staff-billing-1' };
const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
const unauthorized = (response: { body: { errors?: { path?: unknown; extensions?: Record<string, unknown> }[] } }) =>
  (response.body.errors ?? [])
    .filter((e) => e.extensions?.code === 'UNAUTHORIZED_FIELD_OR_TYPE')
    .map((e) => (e.path as string[]).join('.'));
const noClinicalSql = (statements: string[]) =>
  statements.filter((sql) => /"(Allergy|Medication|Condition|Observation|ClinicalNote)"/.test(sql));

describe('field rules from the SDL, enforced at the gateway', () => {
  it("gives billing demographics and appointments but not the appointment's reason", async () => {
    const { body } = await stack.query(
      billing,
      `{ patient(id: "${SEEDED.patient}") { name { text } appointments(first: 2) { edges { node { start reason } } } } }`,
    );
    const patient = body.data!.patient as any;
    expect(patient.name.text).toBeTruthy();
    expect(patient.appointments.edges).toHaveLength(2);
    expect(patient.appointments.edges.every((e: any) => e.node.reason === null && e.node.start)).toBe(true);
    expect(unauthorized({ body })).toEqual(['patient.appointments.edges.node.reason']);
  });

  it('removes a forbidden field however it is spelled: alias, named fragment, inline fragment', async () => {
    const query = `
      query Sneaky($id: ID!) {
        patient(id: $id) {
          name { text }
          a: appointments(first: 1) { edges { node { why: reason } } }
          ...Clinical
          ... on Patient { vitals(last: 1) { value } }
        }
      }
      fragment Clinical on Patient { medications { code { display } } meds2: medications { id } }`;
    const { result, statements } = await countStatements(stack.db, () => stack.query(billing, query, { id: SEEDED.patient }));
    expect(unauthorized(result).sort()).toEqual(['patient.a.edges.node.why', 'patient.medications', 'patient.meds2', 'patient.vitals']);
    expect(noClinicalSql(statements)).toEqual([]);
    expect(JSON.stringify(result.body.data)).not.toMatch(/Tablet|"value":\d/);
  });

  it('removes a forbidden field reached through an entity reference from another subgraph', async () => {
    const appointment = await stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: SEEDED.patient } });
    const { result, statements } = await countStatements(stack.db, () =>
      stack.query(billing, `{ appointment(id: "${appointment.id}") { id patient { name { text } bloodType allergies { id } } } }`),
    );
    expect(unauthorized(result).sort()).toEqual(['appointment.patient.allergies', 'appointment.patient.bloodType']);
    expect(noClinicalSql(statements)).toEqual([]);
  });

  it('refuses a mutation the role may not perform, writing nothing', async () => {
    const before = await stack.db.prisma.appointment.count();
    const response = await stack.query(billing, 'mutation { cancelAppointment(id: "apt-0000001") { id } }');
    expect(unauthorized(response)).toEqual(['cancelAppointment']);
    expect(response.body.data).toEqual({ cancelAppointment: null });
    expect(await stack.db.prisma.appointment.count()).toBe(before);
  });

  it('never replays a plan made for a wider scope to a narrower one', async () => {
    const query = `query Same { patient(id: "${SEEDED.patient}") { appointments(first: 1) { edges { node { reason } } } } }`;
    const wide = await stack.query(clinician, query);
    expect((wide.body.data!.patient as any).appointments.edges[0].node.reason).toBeTruthy();
    const narrow = await stack.query(billing, query);
    expect((narrow.body.data!.patient as any).appointments.edges[0].node.reason).toBeNull();
    expect(unauthorized(narrow)).toEqual(['patient.appointments.edges.node.reason']);
    const wideAgain = await stack.query(clinician, query);
    expect((wideAgain.body.data!.patient as any).appointments.edges[0].node.reason).toBeTruthy();
  });

  it('in reject mode refuses the whole operation with 403, calling no subgraph', async () => {
    const token = await stack.token(billing);
    const { result, statements } = await countStatements(stack.db, async () => {
      const response = await fetch(`${rejecting.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } } }` }),
      });
      return { status: response.status, body: (await response.json()) as any };
    });
    expect(result.status).toBe(403);
    expect(result.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHORIZED_FIELD_OR_TYPE', paths: ['patient.allergies'] });
    expect(statements).toEqual([]);
  });

  it('in reject mode still answers operations that stay within the rules', async () => {
    const token = await stack.token(billing);
    const response = await fetch(`${rejecting.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ patient(id: "${SEEDED.patient}") { name { text } } }` }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.patient.name.text).toBeTruthy();
  });
});

describe('field rules enforced again in the subgraphs', () => {
  it('refuse a forbidden field in a direct _entities call, even with a genuine gateway token', async () => {
    const token = await signInternalToken(
      internalTokenKey(stack.config.subgraphTokenSecret),
      { role: 'BILLING', sub: 'staff-billing-1', purpose: 'HPAYMT' },
      'req-entities-1',
    );
    const { result, statements } = await countStatements(stack.db, async () => {
      const response = await fetch(stack.subgraphUrls.records, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `{ _entities(representations: [{ __typename: "Patient", id: "${SEEDED.patient}" }]) { ... on Patient { allergies { id code { display } } } } }`,
        }),
      });
      return (await response.json()) as any;
    });
    expect(codes({ body: result } as any)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    expect(JSON.stringify(result.data)).not.toMatch(/alg-|display/);
    expect(noClinicalSql(statements)).toEqual([]);
  });
});
