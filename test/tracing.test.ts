import { SEEDED } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { startTracing } from '@healthgraph/platform';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let stack: TestStack;
beforeAll(async () => {
  stopTracing = startTracing({ serviceName: 'healthgraph-test', exporter });
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(async () => {
  await stack?.close();
  await stopTracing?.();
});

const chart = new TrustedOperations(DEFAULT_MANIFEST_PATH).named('PatientChart')!;
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('OpenTelemetry tracing (when configured)', () => {
  it("puts the gateway and every subgraph a chart read reaches in the caller's trace, with no ids in any attribute", async () => {
    exporter.reset();
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: `00-${CLIENT_TRACE}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({ query: chart.body, operationName: 'PatientChart', variables: { id: SEEDED.patient } }),
    });
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();

    const spans: ReadableSpan[] = exporter.getFinishedSpans();
    const servers = spans.filter((s) => s.attributes['healthgraph.service'] !== undefined);
    const services = new Set(servers.map((s) => s.attributes['healthgraph.service']));
    expect(services).toEqual(new Set(['gateway', 'patients', 'providers', 'appointments', 'records']));
    // One trace, the caller's: the W3C context travelled from the client through the gateway to each subgraph.
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([CLIENT_TRACE]));
    // Each subgraph's span hangs under a span the gateway made (its fetch), not under the client's.
    const gatewaySpanIds = new Set(
      spans
        .filter((s) => s.attributes['healthgraph.service'] === undefined || s.attributes['healthgraph.service'] === 'gateway')
        .map((s) => s.spanContext().spanId),
    );
    for (const span of servers.filter((s) => s.attributes['healthgraph.service'] !== 'gateway')) {
      expect(gatewaySpanIds.has(span.parentSpanContext?.spanId ?? '')).toBe(true);
    }
    // Minimum necessary holds for telemetry too: no patient, provider or caller id, no query text.
    const everything = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })));
    for (const secret of [SEEDED.patient, SEEDED.clinician, 'allergies', token]) expect(everything).not.toContain(secret);
  });
});
