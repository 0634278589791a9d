import { Writable } from 'node:stream';
import { SEEDED } from '@healthgraph/db';
import { createLogger } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    done();
  },
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 }, log: createLogger('info', sink) });
});
afterAll(() => stack?.close());

describe('structured logs', () => {
  it('write one JSON line per request in every service, joined by the request id, and nothing about patients', async () => {
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    const requestId = `log-test-${Date.now()}`;
    const patient = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } });
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId },
      body: JSON.stringify({
        query: 'query Chart($id: ID!) { patient(id: $id) { name { text } allergies { id } } }',
        variables: { id: SEEDED.patient },
      }),
    });
    // The gateway names the request itself; the client's id is kept apart, as a correlation id.
    const gatewayId = response.headers.get('x-request-id');
    expect(gatewayId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-correlation-id')).toBe(requestId);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const mine = lines.filter((line) => line.requestId === gatewayId);
    expect(mine.every((line) => line.correlationId === requestId)).toBe(true);
    expect(mine.find((line) => line.msg === 'request')).toMatchObject({
      level: 'info',
      operation: 'other',
      kind: 'query',
      role: 'CLINICIAN',
      status: 200,
      errors: [],
    });
    expect(
      mine
        .filter((line) => line.msg === 'subgraph request')
        .map((line) => line.subgraph)
        .sort(),
    ).toEqual(['patients', 'records']);
    const text = JSON.stringify(lines);
    for (const secret of [SEEDED.patient, SEEDED.clinician, patient.familyName, patient.mrn, token, 'allergies'])
      expect(text).not.toContain(secret);
  });
});
