import { SEEDED } from '@healthgraph/db';
import { createGateway, type Gateway } from '@healthgraph/gateway';
import type { Listening } from '@healthgraph/platform';
import type { StackConfig } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gate, startGate } from './helpers/gate.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * A records subgraph that stops answering (it accepts the connection and says nothing, as a hung
 * process does), behind a real HTTP hop the test controls: the gateway must cut it off at its
 * deadline, open its breaker so later requests do not wait at all, keep answering everything the
 * other subgraphs hold, and close the breaker again by itself once records answers.
 */

let stack: TestStack;
let gate: Gate;
let gateway: Gateway;
let url: string;
let listening: Listening;
const TIMEOUT_MS = 400;
const HALF_OPEN_MS = 600;

beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  gate = await startGate(stack.subgraphUrls.records);
  const config: StackConfig = {
    ...stack.config,
    subgraphCalls: {
      ...stack.config.subgraphCalls,
      timeoutMs: { ...stack.config.subgraphCalls.timeoutMs, records: TIMEOUT_MS },
      breakerFailures: 2,
      breakerHalfOpenMs: HALF_OPEN_MS,
    },
  };
  gateway = createGateway({ config, subgraphUrls: { ...stack.subgraphUrls, records: gate.url }, audit: stack.audit });
  listening = await gateway.listen(0);
  url = `${listening.url}/graphql`;
});
afterAll(async () => {
  await listening?.close();
  await gate?.stop();
  await stack?.close();
});

const CHART = `query Chart($id: ID!) { patient(id: $id) { id name { text } allergies { id } } }`;
let sent = 0;
async function chart() {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician })}`,
      'x-request-id': `chart-${++sent}`,
    },
    body: JSON.stringify({ query: CHART, variables: { id: SEEDED.patient } }),
  });
  const body = (await response.json()) as {
    data?: { patient: { id: string; name: { text: string }; allergies: unknown[] | null } | null };
    errors?: { path?: unknown[]; extensions?: Record<string, unknown> }[];
  };
  return { status: response.status, body, ms: performance.now() - started };
}
const breakerMetric = async () =>
  /healthgraph_subgraph_breaker_state\{subgraph="records"\} (\d)/.exec(await (await fetch(`${listening.url}/metrics`)).text())?.[1];

describe('a records subgraph that stops answering', () => {
  it('is cut off at its deadline, then by its open breaker at once, while the rest of the answer arrives', async () => {
    const healthy = await chart();
    expect(healthy.body.errors).toBeUndefined();
    expect(healthy.body.data?.patient?.allergies).toEqual(expect.any(Array));

    gate.hang();
    for (let i = 0; i < 2; i++) {
      const cut = await chart();
      expect(cut.status).toBe(200);
      expect(cut.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(cut.ms).toBeLessThan(TIMEOUT_MS + 1_500);
      expect(cut.body.data?.patient).toEqual({ id: SEEDED.patient, name: { text: expect.any(String) }, allergies: null });
      expect(cut.body.errors).toEqual([
        expect.objectContaining({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'records', reason: 'timeout' } }),
      ]);
    }
    expect(gateway.subgraphCalls.records.breaker.state).toBe('open');
    expect(await breakerMetric()).toBe('2');

    const reachedBefore = gate.arrived.length;
    const fast = await chart();
    expect(fast.ms).toBeLessThan(TIMEOUT_MS);
    expect(fast.body.data?.patient?.name.text).toEqual(expect.any(String));
    expect(fast.body.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', reason: 'circuit_open' });
    expect(gate.arrived.length).toBe(reachedBefore); // records was not called at all
  });

  it('probes records after the pause and closes the breaker once it answers again', async () => {
    gate.hang(false);
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 100));
    const probe = await chart();
    expect(probe.body.errors).toBeUndefined();
    expect(probe.body.data?.patient?.allergies).toEqual(expect.any(Array));
    expect(gateway.subgraphCalls.records.breaker.state).toBe('closed');
    expect(await breakerMetric()).toBe('0');
  });
});
