import { openDatabase, SEEDED } from '@healthgraph/db';
import { mintDevToken, startStack } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { startRelay } from './helpers/process.js';
import { type Caller, testConfig } from './helpers/stack.js';

/**
 * A database that cannot be reached is a failure, never an answer: a care-team patient must not
 * come back NOT_FOUND (nor be recorded as a refusal) because the query that would have confirmed
 * the relationship failed. The stack reaches PostgreSQL through a relay the test cuts.
 */

const BASE = process.env.DATABASE_URL;
if (!BASE) console.warn('DATABASE_URL is not set: the database outage tests (a relay in front of PostgreSQL) are skipped.');

describe.skipIf(!BASE)('the database unreachable', () => {
  let seeded: Awaited<ReturnType<typeof createTestDatabase>>;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let stack: Awaited<ReturnType<typeof startStack>>;
  let through: Awaited<ReturnType<typeof openDatabase>>;
  const config = testConfig();
  const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };

  beforeAll(async () => {
    seeded = await createTestDatabase({ patients: 20 });
    const target = new URL(seeded.url!);
    relay = await startRelay(Number(target.port || 5432), target.hostname);
    target.hostname = '127.0.0.1';
    target.port = String(relay.port);
    through = await openDatabase({ url: target.toString(), poolSize: 10 });
    // The cache is off: every answer needs the database.
    stack = await startStack({ config, db: through, seedPatients: 0, ephemeralPorts: true, cache: { ...config.cache, enabled: false } });
  });
  afterAll(async () => {
    relay?.restore();
    await stack?.close();
    await through?.close();
    await relay?.close();
    await seeded?.close();
  });

  const ask = async (query: string) => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await mintDevToken(config.jwt, clinician)}` },
      body: JSON.stringify({ query }),
    });
    return {
      status: response.status,
      body: (await response.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] },
    };
  };

  it('answers SERVICE_UNAVAILABLE for a care-team patient, never NOT_FOUND, and records no refusal', async () => {
    const chart = `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } } }`;
    const before = await ask(chart);
    expect(before.body.errors).toBeUndefined();
    const denied = () => seeded.prisma.auditEvent.count({ where: { outcome: 'DENIED', actorSub: SEEDED.clinician } });
    const deniedBefore = await denied();

    relay.cut();
    try {
      for (const query of [chart, '{ myPatients(first: 5) { edges { node { id } } } }']) {
        const during = await ask(query);
        const codes = (during.body.errors ?? []).map((e) => e.extensions?.code);
        expect(codes.length).toBeGreaterThan(0);
        expect(codes).not.toContain('NOT_FOUND');
        expect(codes.every((code) => code === 'SERVICE_UNAVAILABLE')).toBe(true);
      }
    } finally {
      relay.restore();
    }
    const after = await ask(chart);
    expect(after.body.errors).toBeUndefined();
    expect(await denied()).toBe(deniedBefore);
  });
});
