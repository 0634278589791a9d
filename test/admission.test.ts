import { SEEDED } from '@healthgraph/db';
import { createGateway, type Gateway } from '@healthgraph/gateway';
import type { Listening } from '@healthgraph/platform';
import type { StackConfig } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gate, startGate, until } from './helpers/gate.js';
import { type Caller, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Admission control over real HTTP: a gateway allowed one request at a time, in front of a
 * patients subgraph behind a gate the test closes and opens, so the one admitted request holds
 * its slot for as long as the test wants and everyone else has to queue or be refused.
 */

let stack: TestStack;
let gate: Gate;
const listening: Listening[] = [];
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  gate = await startGate(stack.subgraphUrls.patients);
});
afterAll(async () => {
  gate?.open();
  await Promise.all(listening.map((l) => l.close()));
  await gate?.stop();
  await stack?.close();
});

type Classes = StackConfig['priority']['classes'];
/** A gateway with one slot over the gated patients subgraph. */
async function saturable(classes: (defaults: Classes) => Classes = (d) => d): Promise<{ gateway: Gateway; url: string }> {
  const config: StackConfig = {
    ...stack.config,
    admission: { concurrency: 1, emergencyReserve: 0 },
    priority: { ...stack.config.priority, classes: classes(stack.config.priority.classes) },
  };
  const gateway = createGateway({ config, subgraphUrls: { ...stack.subgraphUrls, patients: gate.url }, audit: stack.audit });
  const l = await gateway.listen(0);
  listening.push(l);
  return { gateway, url: `${l.url}/graphql` };
}

const READ = `query Banner($id: ID!) { patient(id: $id) { id } }`;
const callers: Record<string, Caller> = {
  clinical: { role: 'CLINICIAN', sub: SEEDED.clinician },
  emergency: { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'BTG', reason: 'Unconscious in the emergency department' },
  etreat: { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'ETREAT' },
  portal: { role: 'PATIENT', sub: SEEDED.patient },
  frontDesk: { role: 'SCHEDULER', sub: 'stf-desk-1' },
  backOffice: { role: 'BILLING', sub: 'stf-billing-1' },
};

async function send(url: string, caller: Caller, requestId: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await stack.token(caller)}`,
      'x-request-id': requestId,
    },
    body: JSON.stringify({ query: READ, variables: { id: SEEDED.patient } }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] },
    at: performance.now(),
  };
}

describe('admission by priority class under a saturated limit', () => {
  it('serves the waiting in class order (emergency, clinical, portal, back office) and refuses the overflow of the lowest at once', async () => {
    // Waits long enough for a busy test machine: this test is about order, not about bounds.
    const { gateway, url } = await saturable((d) => ({
      emergency: { ...d.emergency, maxWaitMs: 30_000 },
      clinical: { ...d.clinical, maxWaitMs: 30_000 },
      portal: { ...d.portal, maxWaitMs: 30_000 },
      'back-office': { ...d['back-office'], queue: 1, maxWaitMs: 30_000 },
    }));
    gate.close();
    const first = send(url, callers.clinical!, 'hold');
    await until(() => gate.waiting() === 1, 10_000, 'the first request reaching the gate');
    // Arrival order is the reverse of priority: the queue, not the order of arrival, decides.
    const queued: [string, Promise<Awaited<ReturnType<typeof send>>>][] = [];
    for (const [name, caller] of [
      ['back-office', callers.backOffice],
      ['front-desk', callers.frontDesk],
      ['portal', callers.portal],
      ['clinical', callers.clinical],
      ['etreat', callers.etreat],
      ['break-glass', callers.emergency],
    ] as const) {
      queued.push([name, send(url, caller!, name)]);
      const expected = queued.length;
      await until(() => Object.values(gateway.admission.state.waiting).reduce((a, b) => a + b, 0) === expected, 10_000, `${name} queued`);
    }
    // The back-office queue (one place) is full: the next back-office request is refused at once.
    const started = performance.now();
    const refused = await send(url, callers.backOffice!, 'overflow');
    expect(refused.at - started).toBeLessThan(250);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe(String(stack.config.priority.classes['back-office'].retryAfterSeconds));
    expect(refused.body).toEqual({
      errors: [
        {
          message: expect.stringContaining('retry after'),
          extensions: { code: 'OVERLOADED', priorityClass: 'back-office', retryAfter: Number(refused.retryAfter) },
        },
      ],
    });
    expect(gate.arrived).not.toContain('overflow');

    gate.open();
    const answers = await Promise.all([first, ...queued.map(([, p]) => p)]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ patient: { id: SEEDED.patient } });
    }
    // One slot: each request reached the subgraph only after the one before it had been answered.
    expect(gate.arrived.slice(-7)).toEqual(['hold', 'etreat', 'break-glass', 'clinical', 'front-desk', 'portal', 'back-office']);
  });

  it('refuses break-glass only when its own queue is full too, and audits the refusal', async () => {
    const { url } = await saturable((d) => ({ ...d, emergency: { ...d.emergency, queue: 0 } }));
    gate.close();
    const first = send(url, callers.clinical!, 'hold-2');
    await until(() => gate.waiting() === 1, 10_000, 'the first request reaching the gate');
    const refused = await send(url, callers.emergency!, 'btg-refused');
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'OVERLOADED', priorityClass: 'emergency' });
    gate.open();
    expect((await first).status).toBe(200);
    await stack.audit.flush();
    const events = await stack.db.prisma.auditEvent.findMany({ where: { actorSub: callers.emergency!.sub, resourceType: 'Request' } });
    expect(events).toEqual([
      expect.objectContaining({
        actorRole: 'CLINICIAN',
        purpose: 'BTG',
        breakGlassReason: callers.emergency!.reason,
        outcome: 'DENIED',
        resourceIds: ['OVERLOADED'],
      }),
    ]);
  });

  it('answers an unauthenticated request with 401 before it can take a slot or a place in a queue', async () => {
    const { gateway, url } = await saturable();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: READ, variables: { id: SEEDED.patient } }),
    });
    expect(response.status).toBe(401);
    expect(gateway.admission.state.inFlight).toBe(0);
  });
});
