import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * The audit trail against the answers themselves: for a scripted session the DISCLOSED events of
 * each request must equal, exactly, the PHI coordinates and row ids the caller received. Expected
 * events are computed here from the JSON alone (every PHI object carries __typename and id), with
 * no use of the code under test.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 30 } });
});
afterAll(() => stack?.close());

const PHI = new Set(['Patient', 'Appointment', 'Allergy', 'Medication', 'Condition', 'Observation', 'ClinicalNote']);
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** (patient, type) -> { ids, coordinates } as the answer shows them. */
function expectedFrom(data: unknown): Map<string, { ids: Set<string>; paths: Set<string> }> {
  const found = new Map<string, { ids: Set<string>; paths: Set<string> }>();
  const add = (patient: string | null, type: string, id: unknown, path: string) => {
    const key = `${patient}|${type}`;
    const entry = found.get(key) ?? { ids: new Set<string>(), paths: new Set<string>() };
    if (typeof id === 'string') entry.ids.add(id);
    entry.paths.add(path);
    found.set(key, entry);
  };
  const patientOf = (node: Json, enclosing: string | null) =>
    node.__typename === 'Patient'
      ? (node.id as string)
      : node.__typename === 'Appointment' && isObject(node.patient)
        ? (node.patient.id as string)
        : enclosing;
  const walk = (value: unknown, enclosing: string | null): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, enclosing);
      return;
    }
    if (!isObject(value)) return;
    const type = value.__typename as string | undefined;
    const patient = type && PHI.has(type) ? patientOf(value, enclosing) : enclosing;
    for (const [key, child] of Object.entries(value)) {
      if (key === '__typename' || child === null || child === undefined) continue;
      if (type && PHI.has(type)) add(patient, type, value.id, `${type}.${key}`);
      if (key === 'cursor' && isObject(value.node) && PHI.has(value.node.__typename as string)) {
        add(patientOf(value.node, patient), value.node.__typename as string, value.node.id, `${type}.cursor`);
      }
      if (key === 'pageInfo' && isObject(child) && child.endCursor && Array.isArray(value.edges) && value.edges.length > 0) {
        const last = (value.edges.at(-1) as Json).node as Json;
        add(patientOf(last, patient), last.__typename as string, last.id, 'PageInfo.endCursor');
      }
      walk(child, patient);
    }
  };
  walk(data, null);
  return found;
}

let seq = 0;
/** Sends a request with a known correlation id; returns its answer and its DISCLOSED events. */
async function send(caller: Parameters<TestStack['token']>[0], query: string, variables?: Json) {
  const correlationId = `exact-${Date.now()}-${++seq}`;
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.token(caller)}`, 'x-request-id': correlationId },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Json | null; errors?: { extensions?: { code?: string } }[] };
  const events = await stack.db.prisma.auditEvent.findMany({ where: { correlationId, outcome: 'DISCLOSED' } });
  return { body, events };
}

/** The events of an answer must be exactly what it disclosed, none missing, none extra. */
function expectExact(
  body: { data?: Json | null },
  events: { patientId: string | null; resourceType: string; resourceIds: string[]; fieldPaths: string[] }[],
) {
  const expected = expectedFrom(body.data);
  const actual = new Map(
    events.map((e) => [`${e.patientId}|${e.resourceType}`, { ids: new Set(e.resourceIds), paths: new Set(e.fieldPaths) }]),
  );
  expect(events.length, 'one event per patient and record type').toBe(actual.size);
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, want] of expected) {
    expect([...actual.get(key)!.paths].sort(), key).toEqual([...want.paths].sort());
    expect([...actual.get(key)!.ids].sort(), key).toEqual([...want.ids].sort());
  }
}

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
const scheduler = { role: 'SCHEDULER' as const, sub: 'staff-scheduler-1' };

const CHART = `query Chart($id: ID!) {
  patient(id: $id) {
    __typename id mrn name { text } birthDate phone bloodType careTeam { id }
    allergies { __typename id code { display } reaction }
    medications { __typename id code { display } sensitivity }
    conditions { __typename id code { display } }
    vitals(last: 3) { __typename id value unit }
    notes(first: 2) { __typename edges { __typename cursor node { __typename id title } } pageInfo { hasNextPage endCursor } }
    appointments(first: 3) { __typename edges { __typename cursor node { __typename id start reason patient { __typename id } } } pageInfo { endCursor } }
  }
}`;

describe('the audit trail records exactly what each answer disclosed', () => {
  it('a chart across four subgraphs', async () => {
    const { body, events } = await send(clinician, CHART, { id: SEEDED.patient });
    expect(body.errors).toBeUndefined();
    expect(events.length).toBeGreaterThan(5);
    expectExact(body, events);
  });

  it('a name search with cursors and an end cursor: every patient listed is recorded, with the cursor as a disclosure', async () => {
    const query = `{ searchPatients(name: "a", first: 5) { edges { __typename cursor node { __typename id name { text } } } pageInfo { endCursor } } }`;
    const { body, events } = await send(scheduler, query);
    expect(((body.data!.searchPatients as Json).edges as unknown[]).length).toBeGreaterThan(1);
    expectExact(body, events);
    expect(events.every((e) => e.fieldPaths.includes('PatientEdge.cursor'))).toBe(true);
  });

  it('a search that returns only cursors still records each patient it names', async () => {
    const ids = await send(scheduler, `{ searchPatients(name: "e", first: 4) { edges { node { id } } } }`);
    const listed = ((ids.body.data!.searchPatients as Json).edges as { node: { id: string } }[]).map((e) => e.node.id);
    const { events } = await send(scheduler, `{ searchPatients(name: "e", first: 4) { edges { cursor } } }`);
    expect(events.map((e) => e.patientId).sort()).toEqual([...listed].sort());
    expect(events.every((e) => e.fieldPaths.join() === 'PatientEdge.cursor')).toBe(true);
  });

  it("a clinician's panel and a patient's own record", async () => {
    const panel = await send(clinician, `{ myPatients(first: 3) { edges { __typename node { __typename id birthDate } } } }`);
    expectExact(panel.body, panel.events);
    const me = await send(
      { role: 'PATIENT', sub: SEEDED.patient },
      `{ me { __typename id name { text } allergies { __typename id reaction } } }`,
    );
    expectExact(me.body, me.events);
  });

  it('a field the caller may not read: nothing recorded for it, only what was sent', async () => {
    const { body, events } = await send(
      { role: 'BILLING', sub: 'staff-billing-1' },
      `{ patient(id: "${SEEDED.patient}") { __typename id name { text } allergies { __typename id } } }`,
    );
    expect(body.errors?.map((e) => e.extensions?.code)).toContain('UNAUTHORIZED_FIELD_OR_TYPE');
    expectExact(body, events);
    expect(events.some((e) => e.resourceType === 'Allergy')).toBe(false);
  });

  it('a failing subgraph: what it would have served is neither sent nor recorded', async () => {
    await stack.stopSubgraph('records');
    const { body, events } = await send(
      clinician,
      `{ patient(id: "${SEEDED.patient}") { __typename id name { text } allergies { __typename id } } }`,
    );
    expect(body.errors?.map((e) => e.extensions?.code)).toContain('SUBGRAPH_UNAVAILABLE');
    expectExact(body, events);
    expect(events.some((e) => e.resourceType === 'Allergy')).toBe(false);
  });
});
