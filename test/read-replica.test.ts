import { applyMigrations, type Database, openDatabase, SEEDED, seedDatabase, type WalPositions } from '@healthgraph/db';
import { closeRedis, connectRedis, createRedisClient, openServiceDatabase, registry } from '@healthgraph/platform';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, startReplica, startTestStack, type TestStack } from './helpers/stack.js';
import { type PrimaryAndStandby, standbyUnavailable, startPrimaryAndStandby } from './helpers/standby.js';

/**
 * DATABASE_REPLICA_URL over a real streaming standby that applies the primary's log 1.5 s late,
 * with two replicas of the stack (each its own database connections and routing) sharing Redis:
 * plain reads go to the standby, yet every read that starts after a write returns sees it, the
 * writer's own and everyone else's, on every replica, because a read goes to the standby only
 * once it has replayed every published write. Switching that wall off shows the standby stale.
 */

const RUN = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL) && !standbyUnavailable;
if (!RUN)
  console.warn(
    `read-replica tests skipped: they need DATABASE_URL, REDIS_URL and PostgreSQL's server binaries (${standbyUnavailable ?? 'set'})`,
  );

const APPLY_DELAY_MS = 1_500;
const patient: Caller = { role: 'PATIENT', sub: SEEDED.patient };
const psyPatient: Caller = { role: 'PATIENT', sub: SEEDED.psyPatient };
const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };

let cluster: PrimaryAndStandby;
let a: TestStack;
let b: TestStack;
let blind: TestStack;
let failing: TestStack;
let dbB: Database;
let dbBlind: Database;
let dbFailing: Database;

const prefix = `hgtest-wal-${process.pid}`;
const serviceDatabase = () =>
  openServiceDatabase({
    databaseUrl: cluster.primaryUrl,
    databaseReplicaUrl: cluster.replicaUrl,
    redis: { url: process.env.REDIS_URL, prefix },
  });

beforeAll(async () => {
  if (!RUN) return;
  cluster = await startPrimaryAndStandby({ applyDelayMs: APPLY_DELAY_MS, database: 'healthgraph' });
  const setup = await openDatabase({ url: cluster.primaryUrl });
  await applyMigrations(setup.adapterFactory);
  await seedDatabase(setup.prisma, { patients: 20 });
  await setup.close();
  a = await startTestStack({ database: await serviceDatabase() });
  dbB = await serviceDatabase();
  b = await startReplica(a, { db: dbB });
  // The wall switched off: this replica routes by positions nobody publishes to.
  const nobody: WalPositions = { required: async () => 0n, publish: async () => {} };
  dbBlind = await openDatabase({ url: cluster.primaryUrl, replicaUrl: cluster.replicaUrl, routing: { positions: nobody } });
  blind = await startReplica(a, { db: dbBlind });
  // A replica whose every publish fails (Redis lost at that moment): its writes must not be readable stale from the standby.
  const unpublishable: WalPositions = {
    required: async () => undefined,
    publish: async () => {
      throw new Error('Redis did not answer');
    },
  };
  dbFailing = await openDatabase({ url: cluster.primaryUrl, replicaUrl: cluster.replicaUrl, routing: { positions: unpublishable } });
  failing = await startReplica(a, { db: dbFailing });
  // A new deployment has no mark yet: its first read goes to the primary and sets the mark from the primary's position.
  await uncachedRead(a, 30);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await cluster.caughtUp();
}, 180_000);
afterAll(async () => {
  await failing?.close();
  await blind?.close();
  await b?.close();
  await a?.close();
  await dbB?.close();
  await dbBlind?.close();
  await dbFailing?.close();
  cluster?.close();
});

const data = <T>(response: Awaited<ReturnType<TestStack['query']>>, field: string): T => {
  expect(response.body.errors).toBeUndefined();
  return response.body.data![field] as T;
};

const readsTo = async (target: 'replica' | 'primary') =>
  ((await registry.getSingleMetric('healthgraph_db_reads_total')?.get())?.values ?? [])
    .filter((v) => v.labels.target === target)
    .reduce((sum, v) => sum + v.value, 0);

const MY_APPOINTMENTS = '{ me { appointments(first: 100) { edges { node { id } } } } }';
const appointmentIds = async (stack: TestStack) =>
  data<any>(await stack.query(patient, MY_APPOINTMENTS), 'me').appointments.edges.map((e: { node: { id: string } }) => e.node.id);

/** Free slots in a one-day window `daysAhead` from now that nobody has asked for: a read no cache can answer. */
async function uncachedRead(stack: TestStack, daysAhead: number) {
  const from = new Date(Date.now() + daysAhead * 86_400_000);
  return data(
    await stack.query(
      patient,
      `query($from: DateTime!, $to: DateTime!) { provider(id: "${SEEDED.clinician}") { availableSlots(from: $from, to: $to) { start } } }`,
      { from: from.toISOString(), to: new Date(from.getTime() + 86_400_000).toISOString() },
    ),
    'provider',
  );
}

let bookings = 0;
async function book(stack: TestStack): Promise<string> {
  const from = new Date(Date.now() + (3 + bookings) * 86_400_000);
  const slots = data<any>(
    await stack.query(
      patient,
      `query($from: DateTime!, $to: DateTime!) { provider(id: "${SEEDED.clinician}") { availableSlots(from: $from, to: $to) { start } } }`,
      { from: from.toISOString(), to: new Date(from.getTime() + 7 * 86_400_000).toISOString() },
    ),
    'provider',
  );
  const start = slots.availableSlots.at(-1 - bookings).start as string;
  bookings++;
  const booked = data<any>(
    await stack.query(patient, 'mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: `read-replica-${process.pid}-${bookings}` },
    }),
    'bookAppointment',
  );
  return booked.id as string;
}

describe.runIf(RUN)('reads from a streaming replica', () => {
  it('plain reads go to the standby: a change made on the primary behind the product’s back is not in the next read (the standby answered)', async () => {
    const before = await readsTo('replica');
    const primary = new pg.Client({ connectionString: cluster.primaryUrl });
    await primary.connect();
    await primary.query(`UPDATE "Patient" SET "givenName" = 'Replicated' WHERE id = $1`, [SEEDED.patient]);
    await primary.end();
    // Nothing published this write's position, so the standby (1.5 s behind) answers, with the old name.
    const me = data<any>(await a.query(patient, '{ me { name { given } } }'), 'me');
    expect(me.name.given).not.toContain('Replicated');
    expect(await readsTo('replica')).toBeGreaterThan(before);
  });

  it('a booking is in the booker’s very next read and in the next read through another replica, though the standby is 1.5 s behind', async () => {
    await cluster.caughtUp();
    expect(await appointmentIds(a)).toBeDefined(); // cached on both replicas before the write
    expect(await appointmentIds(b)).toBeDefined();
    const id = await book(a);
    expect(await appointmentIds(a)).toContain(id);
    expect(await appointmentIds(b)).toContain(id);
  });

  it('switched off (positions nobody publishes), the standby answers right after a booking, without it, and the stale list is cached: the wall above is what holds', async () => {
    await cluster.caughtUp();
    const id = await book(a);
    const seenBlind = await appointmentIds(blind);
    expect(seenBlind).not.toContain(id);
    await cluster.caughtUp();
    // Worse: the stale list was cached under the generation the booking set, so it stays wrong after the standby has caught up.
    expect(await appointmentIds(blind)).not.toContain(id);
  });

  it('a write whose position cannot be published answers only once the standby holds it, so no replica reads it stale', async () => {
    await cluster.caughtUp();
    const id = await book(failing);
    // The blind replica always reads the standby: it has the booking, because the writer waited for the standby to replay it.
    expect(await appointmentIds(blind)).toContain(id);
  });

  it('the mark lost (Redis restarted empty, the key evicted): reads go to the primary until it is set again', async () => {
    await cluster.caughtUp();
    const redis = createRedisClient(process.env.REDIS_URL!);
    await connectRedis(redis);
    await redis.del(`${prefix}:wal:written`);
    await closeRedis(redis);
    const third: Caller = { role: 'PATIENT', sub: 'pat-000003' };
    const primary = new pg.Client({ connectionString: cluster.primaryUrl });
    await primary.connect();
    await primary.query(`UPDATE "Patient" SET "givenName" = 'Unmarked' WHERE id = $1`, [third.sub]);
    await primary.end();
    // Without a mark nobody knows how far the standby must be: the primary answered, with the new name.
    expect(data<any>(await b.query(third, '{ me { name { given } } }'), 'me').name.given).toBe('Unmarked');
    await cluster.caughtUp();
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // the mark is set again from the primary, at most once a second
    const before = await readsTo('replica');
    await uncachedRead(b, 90);
    await uncachedRead(b, 91);
    expect(await readsTo('replica')).toBeGreaterThan(before);
  });

  it('a revoked consent stops disclosure on the very next read through another replica', async () => {
    const PSY = 'query($id: ID!) { patient(id: $id) { consentedLabels conditions { sensitivity } } }';
    const view = async (stack: TestStack) => data<any>(await stack.query(clinician, PSY, { id: SEEDED.psyPatient }), 'patient');
    const shows = (v: any) => v.consentedLabels.includes('PSY') || v.conditions.some((c: any) => c.sensitivity === 'PSY');
    const granted = data<any>(
      await a.query(psyPatient, 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }', {
        input: { providerId: SEEDED.clinician, label: 'PSY', idempotencyKey: `read-replica-grant-${process.pid}` },
      }),
      'grantConsent',
    );
    expect(shows(await view(b))).toBe(true); // the grant too, though the standby does not have it yet
    await cluster.caughtUp();
    expect(shows(await view(b))).toBe(true);
    data(await a.query(psyPatient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: granted.id }), 'revokeConsent');
    expect(shows(await view(b))).toBe(false);
    expect(shows(await view(a))).toBe(false);
  });

  it('the standby stopped: reads go to the primary and every answer arrives; started again, it is used again', async () => {
    cluster.stopStandby();
    try {
      for (let i = 0; i < 5; i++) expect(data<any>(await b.query(patient, MY_APPOINTMENTS), 'me').appointments.edges).toBeDefined();
      expect(
        data<any>(await b.query(clinician, `{ patient(id: "${SEEDED.patient}") { allergies { severity } } }`), 'patient'),
      ).toBeDefined();
    } finally {
      cluster.startStandby();
    }
    await cluster.caughtUp();
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // the routing leaves a failed standby alone for 2 s
    const before = await readsTo('replica');
    await uncachedRead(b, 60);
    expect(await readsTo('replica')).toBeGreaterThan(before);
  });
});
