import { SEEDED } from '@healthgraph/db';
import { createGateway } from '@healthgraph/gateway';
import type { Listening } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let measuring: Listening;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  measuring = await createGateway({
    config: { ...stack.config, cost: { ...stack.config.cost, mode: 'measure' } },
    subgraphUrls: stack.subgraphUrls,
    audit: stack.audit,
  }).listen(0);
});
afterAll(async () => {
  await measuring?.close();
  await stack?.close();
});

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
/** myPatients 1 + 100 edges x (edge 1 + node 1 + name 1 + 10 allergies x (1 + code 1)) = 2,301: over a patient's budget (2,000), within a clinician's (5,000). */
const PANEL = '{ myPatients(first: 100) { edges { node { name { text } allergies { code { display } } } } } }';
/** 1 + 100 x (edge 1 + node 1 + notes 5 + 100 x (edge 1 + node 1)) = 20,701: over every budget. */
const EVERYTHING = '{ myPatients(first: 100) { edges { node { notes(first: 100) { edges { node { text } } } } } } }';

async function post(url: string, caller: typeof clinician | { role: 'PATIENT'; sub: string }, query: string, extensions?: object) {
  const token = await stack.token(caller);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, extensions }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[]; extensions?: any } };
}

describe('demand control', () => {
  it('refuses an operation over budget before any subgraph is called', async () => {
    const { result, statements } = await countStatements(stack.db, () => post(stack.gatewayUrl, clinician, EVERYTHING));
    expect(result.status).toBe(400);
    expect(result.body.errors![0].extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      cost: { estimated: 20_701, budget: 5_000 },
    });
    expect(result.body.data ?? null).toBeNull();
    expect(statements).toEqual([]);
  });

  it("prices by the caller's role: the same operation fits a clinician's budget and not a patient's", async () => {
    const asClinician = await post(stack.gatewayUrl, clinician, PANEL);
    expect(asClinician.status).toBe(200);
    expect(asClinician.body.data.myPatients.edges.length).toBeGreaterThan(0);
    const asPatient = await post(stack.gatewayUrl, { role: 'PATIENT', sub: SEEDED.patient }, PANEL);
    expect(asPatient.body.errors![0].extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      cost: { estimated: 2_301, budget: 2_000 },
    });
  });

  it('reports estimated and actual cost when the request asks', async () => {
    const { body } = await post(stack.gatewayUrl, clinician, PANEL, { cost: true });
    const edges = body.data.myPatients.edges as { node: { allergies: unknown[] } }[];
    const allergies = edges.reduce((n, e) => n + e.node.allergies.length, 0);
    // myPatients 1 + per patient (edge 1, node 1, name 1) + per allergy (allergy 1, code 1)
    expect(body.extensions.cost).toEqual({
      estimated: 2_301,
      actual: 1 + 3 * edges.length + 2 * allergies,
      budget: 5_000,
      mode: 'enforce',
    });
    const plain = await post(stack.gatewayUrl, clinician, PANEL);
    expect(plain.body.extensions?.cost).toBeUndefined();
  });

  it('prices only what the caller may read', async () => {
    // Billing may not read allergies: they are removed before pricing, so the panel costs only names.
    const billingPanel = '{ searchPatients(name: "a", first: 100) { edges { node { name { text } allergies { id } } } } }';
    const { body } = await post(stack.gatewayUrl, { role: 'BILLING', sub: 'staff-billing-1' } as never, billingPanel, { cost: true });
    expect(body.extensions.cost.estimated).toBe(10 + 100 * (1 + 1 + 1)); // search 10, per edge: edge 1, node 1, name 1
  });

  it('in measure mode, prices and reports but refuses nothing', async () => {
    const { status, body } = await post(`${measuring.url}/graphql`, clinician, EVERYTHING, { cost: true });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.extensions.cost).toMatchObject({ estimated: 20_701, budget: 5_000, mode: 'measure' });
    expect(body.extensions.cost.actual).toBeLessThan(20_701);
  });
});
