import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * The same caller's identical reads in flight at once share one subgraph call
 * (gateway/src/shared-reads.ts). What must not change: each caller gets its own answer, each
 * request's disclosures and refusals are recorded under its own id, and nothing is shared with
 * another caller or with break-glass.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 40 } });
});
afterAll(() => stack?.close());

const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };
const otherClinician: Caller = { role: 'CLINICIAN', sub: SEEDED.otherClinician };
const PANEL = `{ myPatients(first: 20) { edges { node { id name { text } birthDate allergies { id code { display } } vitals(last: 1) { code { display } value } } } } }`;
const CHART = (id: string) =>
  `{ patient(id: "${id}") { id name { text } allergies { id code { display } } conditions { id code { display } } } }`;

let sequence = 0;
/** Sends as `caller` with a correlation id of its own, so the request's audit events can be found. */
async function send(caller: Caller, query: string) {
  const correlationId = `shared-${process.pid}-${++sequence}`;
  const token = await stack.token(caller);
  const response = await stack.query({ headers: { authorization: `Bearer ${token}`, 'x-request-id': correlationId } }, query);
  return { ...response, correlationId };
}

async function joined(): Promise<number> {
  const text = await (await fetch(stack.gatewayUrl.replace('/graphql', '/metrics'))).text();
  return [...text.matchAll(/^healthgraph_subgraph_shared_reads_total\{[^}]*outcome="joined"[^}]*\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

const eventsOf = (correlationId: string, outcome: 'DISCLOSED' | 'DENIED') =>
  stack.db.prisma.auditEvent.findMany({ where: { correlationId, outcome } });

describe('identical reads of one caller in flight at once', () => {
  it('share subgraph calls, and every request still gets the whole answer and its own audit events', async () => {
    const alone = await send(clinician, PANEL);
    expect(alone.body.errors).toBeUndefined();
    const before = await joined();
    const answers = await Promise.all(Array.from({ length: 24 }, () => send(clinician, PANEL)));
    expect(await joined()).toBeGreaterThan(before);
    const shape = (events: { patientId: string | null; resourceType: string; resourceIds: string[]; fieldPaths: string[] }[]) =>
      events.map((e) => JSON.stringify([e.patientId, e.resourceType, e.resourceIds, e.fieldPaths])).sort();
    const expected = shape(await eventsOf(alone.correlationId, 'DISCLOSED'));
    expect(expected.length).toBeGreaterThan(0);
    const requestIds = new Set<string>();
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(alone.body);
      const events = await eventsOf(answer.correlationId, 'DISCLOSED');
      expect(shape(events)).toEqual(expected);
      for (const event of events) requestIds.add(event.requestId);
    }
    // One request id per request: a shared call files nothing under another request's id.
    expect(requestIds.size).toBe(answers.length);
  });

  it("records each request's refusals under its own id", async () => {
    // The other clinician is not on this patient's care team: the patients subgraph refuses and records it.
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(otherClinician, CHART(SEEDED.patient))));
    const requestIds = new Set<string>();
    for (const answer of answers) {
      expect(answer.body.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      const denied = await eventsOf(answer.correlationId, 'DENIED');
      expect(denied).toEqual([expect.objectContaining({ patientId: SEEDED.patient, fieldPaths: ['Query.patient'] })]);
      requestIds.add(denied[0]!.requestId);
    }
    expect(requestIds.size).toBe(answers.length);
  });

  it("never gives one caller another's answer, nor shares break-glass reads", async () => {
    const mine = await send(clinician, PANEL);
    const theirs = await send(otherClinician, PANEL);
    expect(theirs.body).not.toEqual(mine.body);
    const reason = 'unresponsive in the emergency department';
    const breakGlass: Caller = { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'BTG', reason };
    const mixed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        send(i % 2 === 0 ? clinician : otherClinician, PANEL).then((answer) => ({ answer, caller: i % 2 === 0 ? mine : theirs })),
      ),
    );
    for (const { answer, caller } of mixed) expect(answer.body).toEqual(caller.body);
    const before = await joined();
    const EMERGENCY = `{ patient(id: "${SEEDED.psyPatient}") { __typename bloodType conditions { __typename id code { display } } } }`;
    const emergency = await Promise.all(Array.from({ length: 6 }, () => send(breakGlass, EMERGENCY)));
    for (const answer of emergency) {
      expect(answer.body.errors).toBeUndefined();
      const events = await eventsOf(answer.correlationId, 'DISCLOSED');
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.breakGlassReason === reason)).toBe(true);
    }
    // Break-glass reads each made their own calls.
    expect(await joined()).toBe(before);
  });
});
