import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const scheduler = { role: 'SCHEDULER' as const, sub: 'staff-scheduler-1' };
const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };

describe('bad input gets a clear, coded error', () => {
  it('answers a malformed query with 400 and the parse error', async () => {
    const response = await stack.query(clinician, '{ patient(id: "x") { name { text } ');
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(response.body.errors![0]!.message).toMatch(/Syntax Error/);
  });

  it('answers a query for an unknown field with 400', async () => {
    const response = await stack.query(clinician, '{ patient(id: "x") { ssn mrm } }');
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
    // No "Did you mean mrn?": outside development, errors do not map the schema for a caller.
    expect(JSON.stringify(response.body)).not.toMatch(/Did you mean/);
  });

  it('answers an unknown id with null and NOT_FOUND', async () => {
    const response = await stack.query(scheduler, '{ patient(id: "pat-does-not-exist") { id } provider(id: "prv-nope") { id } }');
    expect(response.body.data).toEqual({ patient: null, provider: null });
    expect(codes(response)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });

  it('refuses `first` over the maximum, naming the argument', async () => {
    const response = await stack.query(scheduler, '{ searchProviders(first: 101) { edges { node { id } } } }');
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain('"first"');
  });

  it('refuses a bad date in a variable at the gateway, naming the variable', async () => {
    const { statements, result: response } = await countStatements(stack.db, () =>
      stack.query(scheduler, 'query($d: Date) { searchPatients(birthDate: $d) { edges { node { id } } } }', { d: '2020-02-31' }),
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toMatch(/\$d.*Date/);
    expect(statements).toEqual([]);
  });

  it('refuses a bad date-time literal with BAD_USER_INPUT', async () => {
    const response = await stack.query(
      scheduler,
      `{ provider(id: "${SEEDED.clinician}") { availableSlots(from: "tomorrow", to: "2030-01-01T00:00:00Z") { start } } }`,
    );
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toMatch(/DateTime/);
  });

  it('refuses an end before a start, naming the argument', async () => {
    const response = await stack.query(
      scheduler,
      `{ provider(id: "${SEEDED.clinician}") { availableSlots(from: "2030-01-02T00:00:00Z", to: "2030-01-01T00:00:00Z") { start } } }`,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain('"to"');
  });

  it('refuses a forged cursor', async () => {
    const response = await stack.query(scheduler, '{ searchProviders(name: "a", after: "not-a-cursor") { edges { node { id } } } }');
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain('"after"');
  });

  it('refuses an open-ended patient search', async () => {
    const response = await stack.query(scheduler, '{ searchPatients { edges { node { id } } } }');
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
  });

  it('answers a body that is not JSON with 400', async () => {
    const token = await stack.token(scheduler);
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
  });

  it('answers an oversized body with 413 before parsing it', async () => {
    const token = await stack.token(scheduler);
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ __typename } #${'x'.repeat(2_000_000)}` }),
    });
    expect(response.status).toBe(413);
  });

  it('pages through search results with cursors, without repeats or gaps', async () => {
    const all = await stack.query(
      scheduler,
      '{ searchProviders(name: "", specialty: "Family Medicine", first: 100) { edges { node { id } } } }',
    );
    const expected = (all.body.data!.searchProviders as any).edges.map((e: any) => e.node.id);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await stack.query(
        scheduler,
        'query($after: String) { searchProviders(specialty: "Family Medicine", first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      seen.push(...page.body.data.searchProviders.edges.map((e: any) => e.node.id));
      after = page.body.data.searchProviders.pageInfo.hasNextPage ? page.body.data.searchProviders.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expected);
    expect(seen.length).toBeGreaterThan(1);
  });
});

describe('a subgraph that is down', () => {
  it('yields the data the gateway could get and an error naming the service', async () => {
    await stack.stopSubgraph('records');
    const response = await stack.query(
      clinician,
      `{ patient(id: "${SEEDED.patient}") { name { text } careTeam { id } allergies { id } } }`,
    );
    expect(response.status).toBe(200);
    const patient = response.body.data?.patient as any;
    // Only what the failed service serves is missing: the rest of the answer arrives, and the error says which service failed.
    expect(patient.name.text).toBeTruthy();
    expect(patient.careTeam.map((member: { id: string }) => member.id)).toContain(SEEDED.clinician);
    expect(patient.allergies).toBeNull();
    expect(response.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'records' } }),
    ]);
    const partial = await stack.query(
      clinician,
      `{ patient(id: "${SEEDED.patient}") { name { text } } provider(id: "${SEEDED.clinician}") { id } }`,
    );
    expect(partial.body.errors).toBeUndefined();
    expect((partial.body.data!.patient as any).name.text).toBeTruthy();
  });
});
