import { SEEDED } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { startDefaultMetrics } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  startDefaultMetrics(); // as the process runner does for every service
});
afterAll(() => stack?.close());

const chart = new TrustedOperations(DEFAULT_MANIFEST_PATH).named('PatientChart')!;

/** The value of one sample line, e.g. value(text, 'healthgraph_errors_total{service="gateway",code="NOT_FOUND"}'). */
function value(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : Number.NaN;
}

describe('Prometheus metrics', () => {
  it('are scraped from the gateway and every subgraph after real requests, without PHI', async () => {
    const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
    const token = await stack.token(clinician);
    // Each answer is read whole: fetch resolves at the headers, and the metrics below count work the body waits for.
    const send = async (body: object) =>
      (
        await fetch(stack.gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        })
      ).text();
    await send({ query: chart.body, operationName: 'PatientChart', variables: { id: SEEDED.patient } });
    await send({ query: chart.body, operationName: 'PatientChart', variables: { id: SEEDED.patient } });
    // A client-chosen operation name (here carrying an MRN-like value) must never become a label.
    await send({ query: 'query Steal_MRN00100037 { patient(id: "pat-999999") { name { text } } }' });
    await send({ query: '{ myPatients(first: 100) { edges { node { notes(first: 100) { edges { node { text } } } } } } }' });
    // A break-glass read is counted in the emergency class, the one the emergency alert watches.
    const breakGlass = await stack.token({ ...clinician, purpose: 'BTG', reason: 'Unconscious in the emergency department' });
    await (
      await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${breakGlass}` },
        body: JSON.stringify({ query: '{ patient(id: "%s") { allergies { severity } } }'.replace('%s', SEEDED.patient) }),
      })
    ).text();

    const gateway = await (await fetch(stack.gatewayUrl.replace('/graphql', '/metrics'))).text();
    expect(
      value(
        gateway,
        'healthgraph_request_duration_seconds_count{service="gateway",operation="PatientChart",kind="query",class="clinical"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(gateway, 'healthgraph_request_duration_seconds_count{service="gateway",operation="other",kind="query",class="clinical"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(gateway, 'healthgraph_request_duration_seconds_count{service="gateway",operation="other",kind="query",class="emergency"}'),
    ).toBe(1);
    expect(value(gateway, 'healthgraph_errors_total{service="gateway",code="NOT_FOUND"}')).toBeGreaterThanOrEqual(1);
    expect(value(gateway, 'healthgraph_errors_total{service="gateway",code="COST_ESTIMATED_TOO_EXPENSIVE"}')).toBeGreaterThanOrEqual(1);
    expect(value(gateway, 'healthgraph_cost_rejections_total')).toBeGreaterThanOrEqual(1);
    // Series an alert watches with increase() exist at 0 before their first event.
    expect(value(gateway, 'healthgraph_admission_total{class="emergency",outcome="shed"}')).toBe(0);
    expect(value(gateway, 'healthgraph_rate_limited_total{class="emergency",limit="sub"}')).toBe(0);
    expect(value(gateway, 'healthgraph_operation_cost_count{kind="estimated"}')).toBeGreaterThanOrEqual(4);
    expect(value(gateway, 'healthgraph_operation_cost_count{kind="actual"}')).toBeGreaterThanOrEqual(2);
    // Node's runtime metrics under their standard names, so stock dashboards find them.
    expect(value(gateway, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(gateway, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);

    const records = await (await fetch(stack.subgraphUrls.records.replace('/graphql', '/metrics'))).text();
    expect(value(records, 'healthgraph_sql_statements_per_request_count{service="records"}')).toBeGreaterThanOrEqual(2);
    expect(value(records, 'healthgraph_cache_lookups_total{class="clinical",result="hit"}')).toBeGreaterThanOrEqual(1);
    expect(value(records, 'healthgraph_cache_lookups_total{class="patient",result="miss"}')).toBeGreaterThanOrEqual(1);
    expect(value(records, 'healthgraph_dataloader_batch_size_count')).toBeGreaterThan(0);
    // Disclosures are recorded, durably, by the gateway from its final answers.
    expect(value(gateway, 'healthgraph_audit_write_seconds_count{store="database"}')).toBeGreaterThanOrEqual(2);
    expect(value(gateway, 'healthgraph_audit_backlog')).toBe(0);
    expect(value(gateway, 'healthgraph_audit_quarantined_total')).toBe(0);

    // Nothing about any patient or provider: no ids, names, MRNs, nor the client's own operation name.
    const patient = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } });
    for (const text of [gateway, records]) {
      expect(text).not.toMatch(/pat-\d|prv-\d|MRN|Steal_/);
      expect(text).not.toContain(patient.familyName);
    }
  });
});
