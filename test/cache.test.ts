import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createLoaders as appointmentLoaders } from '@healthgraph/appointments/loaders';
import { SEEDED } from '@healthgraph/db';
import { cacheKeyFrom, createScopedData, type ScopedCache } from '@healthgraph/kit';
import { createLoaders as patientLoaders } from '@healthgraph/patients/loaders';
import type { Principal } from '@healthgraph/platform';
import { createLoaders as recordLoaders } from '@healthgraph/records/loaders';
import { startStack } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack, testConfig } from './helpers/stack.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: the shared-cache tests (two replicas, Redis outage, what Redis holds) are skipped.');

const clinician: Principal = { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'TREAT' };
const otherClinician: Principal = { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'TREAT' };
const billing: Principal = { role: 'BILLING', sub: 'staff-billing-1', purpose: 'HPAYMT' };
const otherPatient: Principal = { role: 'PATIENT', sub: SEEDED.psyPatient, purpose: 'TREAT' };

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

/** The loaders a subgraph would build for this caller, over the stack's shared cache. */
const loadersFor = (principal: Principal) => {
  const data = createScopedData(stack.db.prisma, principal, { batch: true, cache: stack.cache });
  return { patients: patientLoaders(data), records: recordLoaders(data), appointments: appointmentLoaders(data) };
};

describe('the role-scoped cache', () => {
  it('serves a warm view from the cache, without the database', async () => {
    await loadersFor(clinician).patients.patientById.load(SEEDED.patient);
    const { result, statements } = await countStatements(stack.db, () => loadersFor(clinician).patients.patientById.load(SEEDED.patient));
    expect(result?.bloodType).toBeTruthy();
    expect(statements).toEqual([]);
    expect(stack.cache!.stats.patient.hits).toBeGreaterThan(0);
    expect(stack.cache!.stats.relationship.hits).toBeGreaterThan(0);
  });

  it('never serves a view warmed by a clinician to billing, another patient or a clinician off the care team', async () => {
    const warm = loadersFor(clinician);
    expect((await warm.patients.patientById.load(SEEDED.patient))?.bloodType).toBeTruthy();
    expect((await warm.records.allergies.load(SEEDED.patient)).length).toBeGreaterThan(0);
    const reasons = await warm.appointments.appointmentsByPatient.load({
      patientId: SEEDED.patient,
      from: new Date(0),
      to: new Date('2200-01-01'),
      size: 5,
      after: null,
    });
    expect(reasons.some((a) => a.reason)).toBe(true);

    const asBilling = loadersFor(billing);
    const billingView = await asBilling.patients.patientById.load(SEEDED.patient);
    expect(billingView?.givenName).toBeTruthy();
    expect(billingView).not.toHaveProperty('bloodType');
    await expect(asBilling.records.allergies.load(SEEDED.patient)).rejects.toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    const billingPage = await asBilling.appointments.appointmentsByPatient.load({
      patientId: SEEDED.patient,
      from: new Date(0),
      to: new Date('2200-01-01'),
      size: 5,
      after: null,
    });
    expect(billingPage.length).toBe(reasons.length);
    expect(billingPage.every((a) => a.reason === null)).toBe(true);

    expect(await loadersFor(otherPatient).patients.patientById.load(SEEDED.patient)).toBeNull();
    await expect(loadersFor(otherPatient).records.allergies.load(SEEDED.patient)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    expect(await loadersFor(otherClinician).patients.patientById.load(SEEDED.patient)).toBeNull();
    await expect(loadersFor(otherClinician).records.allergies.load(SEEDED.patient)).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });

  it('keeps consent per clinician: a cached labelled row reaches only the clinician the patient consented for', async () => {
    const row = await stack.db.prisma.condition.findFirstOrThrow({ where: { patientId: SEEDED.psyPatient, sensitivity: 'PSY' } });
    const colleague = await stack.db.prisma.provider.findFirstOrThrow({
      where: { id: { notIn: [SEEDED.clinician, SEEDED.otherClinician] } },
    });
    await stack.db.prisma.careTeamMember.create({
      data: {
        id: `ctm-cache-${colleague.id}`,
        patientId: SEEDED.psyPatient,
        providerId: colleague.id,
        role: 'CONSULTING',
        periodStart: new Date('2020-01-01'),
      },
    });
    await stack.db.prisma.consent.create({
      data: {
        id: `cns-cache-${colleague.id}`,
        patientId: SEEDED.psyPatient,
        providerId: colleague.id,
        label: 'PSY',
        grantedAt: new Date(),
      },
    });
    const consented = await loadersFor({ role: 'CLINICIAN', sub: colleague.id, purpose: 'TREAT' }).records.conditions.load(
      SEEDED.psyPatient,
    );
    expect(consented.map((c) => c.id)).toContain(row.id);
    const notConsented = await loadersFor(clinician).records.conditions.load(SEEDED.psyPatient);
    expect(notConsented.map((c) => c.id)).not.toContain(row.id);
    expect(notConsented.length).toBe(consented.length - 1);
  });

  it('counts hits and misses per data class on a repeated workload', async () => {
    const before = structuredClone(stack.cache!.stats);
    for (let i = 0; i < 5; i++) {
      const loaders = loadersFor(clinician);
      await Promise.all([
        loaders.patients.patientById.load(SEEDED.patient),
        loaders.records.allergies.load(SEEDED.patient),
        loaders.records.medications.load(SEEDED.patient),
      ]);
    }
    const hits = stack.cache!.stats.clinical.hits - before.clinical.hits;
    const misses = stack.cache!.stats.clinical.misses - before.clinical.misses;
    expect(hits).toBeGreaterThanOrEqual(4 * 4); // 2 kinds x 2 parts, warm in rounds 2-5
    expect(hits / (hits + misses)).toBeGreaterThan(0.7);
  });
});

describe.skipIf(!REDIS_URL)('the shared cache across replicas (Redis)', () => {
  let replica: Awaited<ReturnType<typeof startStack>>;
  beforeAll(async () => {
    // A second stack over the same database and the same Redis key space: another replica.
    replica = await startStack({
      config: testConfig(),
      db: stack.db,
      seedPatients: 0,
      ephemeralPorts: true,
      redis: { ...testConfig().redis, prefix: prefixOf(stack.cache!) },
    });
  });
  afterAll(() => replica?.close());

  it('serves the new value on every replica once a mutation commits', async () => {
    const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };
    const list = `{ me { appointments(first: 100) { edges { node { id } } } } }`;
    const token = await stack.token(patient);
    const viaReplica = async () => {
      const response = await fetch(replica.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: list }),
      });
      return ((await response.json()) as any).data.me.appointments.edges.map((e: any) => e.node.id) as string[];
    };
    const before = await viaReplica();
    const { statements } = await countStatements(stack.db, viaReplica);
    expect(statements.filter((sql) => sql.includes('"Appointment"'))).toEqual([]); // the replica now answers from its cache

    const from = new Date(Date.now() + 2 * 86_400_000);
    const slots = await stack.query(
      patient,
      `{ provider(id: "${SEEDED.clinician}") { availableSlots(from: "${from.toISOString()}", to: "${new Date(from.getTime() + 7 * 86_400_000).toISOString()}") { start } } }`,
    );
    const start = (slots.body.data!.provider as any).availableSlots[0].start;
    const booked = await stack.query(patient, 'mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: `replica-${Date.now()}` },
    });
    const id = (booked.body.data!.bookAppointment as any).id;
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the invalidation message arrive
    const after = await viaReplica();
    expect(after).toContain(id);
    expect(after).toHaveLength(before.length + 1);
  });

  it('writes only encrypted, unlabelled, non-break-glass views to Redis', async () => {
    await stack.query({ role: 'PATIENT', sub: SEEDED.psyPatient }, '{ me { name { text } conditions { id } medications { id } } }');
    await stack.query(
      { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'BTG', reason: 'Code blue, ward 4' },
      `{ patient(id: "${SEEDED.patient}") { bloodType allergies { id } } }`,
    );
    const { createClient } = await import('@keyv/redis');
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    try {
      const keys = await redis.keys(`${prefixOf(stack.cache!)}:*`);
      // The gateway's rate-limit counters share the prefix: bare counts under digested keys, nothing else.
      const counters = keys.filter((k) => k.includes(':rl:'));
      for (const counter of counters) expect(await redis.get(counter)).toMatch(/^\d+$/);
      const values = (await Promise.all(keys.filter((k) => !k.includes(':gen:') && !k.includes(':rl:')).map((k) => redis.get(k)))).filter(
        (v): v is string => typeof v === 'string',
      );
      expect(values.length).toBeGreaterThan(0);
      const key = cacheKeyFrom(testConfig().cache.encryptionKey);
      const { createDecipheriv } = await import('node:crypto');
      for (const value of values) {
        // Nothing readable at rest: the stored value is AES-256-GCM ciphertext, base64.
        const stored = (JSON.parse(value) as { value: string }).value;
        expect(stored).toMatch(/^[A-Za-z0-9+/]+=*$/);
        const raw = Buffer.from(stored, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
        expect(plain).not.toMatch(/"sensitivity":"(ETH|PSY|HIV|GDIS)"|"confidentiality":"[RV]"/);
        expect(plain).not.toContain(SEEDED.otherClinician); // the break-glass caller's relationship stayed local
      }
    } finally {
      await redis.quit();
    }
  });
});

describe.skipIf(!REDIS_URL)('a Redis outage', () => {
  let redis: ChildProcess | undefined;
  let outage: Awaited<ReturnType<typeof startStack>>;
  let port = 0;
  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    outage = await startStack({
      config: testConfig(),
      db: stack.db,
      seedPatients: 0,
      ephemeralPorts: true,
      redis: { url: `redis://127.0.0.1:${port}`, prefix: 'outage' },
    });
  });
  afterAll(async () => {
    redis?.kill('SIGKILL');
    await outage?.close();
  });

  it('leaves requests fast and correct while Redis hangs, and after it dies', async () => {
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    const ask = async () => {
      const response = await Promise.race([
        fetch(outage.gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } } }` }),
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the request hung')), 5_000)),
      ]);
      return (await response.json()) as any;
    };
    const warm = await ask();
    expect(warm.errors).toBeUndefined();
    redis!.kill('SIGSTOP'); // Redis hangs: it accepts nothing and answers nothing
    const hung = await ask();
    expect(hung).toEqual(warm);
    redis!.kill('SIGCONT');
    redis!.kill('SIGKILL'); // then it is gone
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 3; i++) expect(await ask()).toEqual(warm);
    expect(outage.cache!.coherent).toBe(false); // the replica knows it is on its own and bypasses its L1
  });
});

function prefixOf(cache: ScopedCache): string {
  return (cache as unknown as { prefix: string }).prefix;
}
