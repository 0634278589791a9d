import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, codes, startReplica, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Two replicas of every subgraph, each with its own in-process cache level and its own gateway,
 * over one database and one Redis, as two pods would run. A write through one replica must be
 * seen by the next request through the other (0 ms later): no TTL window, no message to wait for.
 * A revoked consent stops disclosure on the very next request. A read still in its database query
 * when a write commits must not leave the old view cached anywhere.
 */

const REDIS = Boolean(process.env.REDIS_URL);
if (!REDIS) console.warn('REDIS_URL is not set: the replica coherence tests are skipped (replicas share their caches through Redis).');

/**
 * A Prisma client whose reads of one model can be held after their query has run, until released:
 * reads through the model's findMany, and raw reads from its table (the hot loaders' `= ANY` statements).
 */
function holdable<T extends object>(prisma: T, model: string) {
  const gate: { hold?: Promise<void>; entered?: () => void } = {};
  const table = `FROM "${model[0]!.toUpperCase()}${model.slice(1)}"`;
  const client = new Proxy(prisma, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === '$queryRaw' && typeof value === 'function')
        return async (strings: TemplateStringsArray, ...values: unknown[]) => {
          const rows = await value.call(target, strings, ...values);
          if (gate.hold !== undefined && strings.join('?').includes(table)) {
            gate.entered?.();
            await gate.hold;
          }
          return rows;
        };
      if (prop !== model) return typeof value === 'function' ? value.bind(target) : value;
      return new Proxy(value as object, {
        get(delegate, method) {
          const fn = Reflect.get(delegate, method, delegate);
          if (method !== 'findMany' || typeof fn !== 'function') return typeof fn === 'function' ? fn.bind(delegate) : fn;
          return async (...args: unknown[]) => {
            const rows = await fn.apply(delegate, args);
            // The query has run (it read the rows as they were); its answer arrives only when released.
            if (gate.hold !== undefined) {
              gate.entered?.();
              await gate.hold;
            }
            return rows;
          };
        },
      });
    },
  });
  /** Holds the next read of the model; resolves `entered` once one is held, `release` lets it go. */
  const holdNext = () => {
    let release!: () => void;
    gate.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entered = new Promise<void>((resolve) => {
      gate.entered = resolve;
    });
    return {
      entered,
      release: () => {
        gate.hold = undefined;
        release();
      },
    };
  };
  return { client, holdNext };
}

const patient: Caller = { role: 'PATIENT', sub: SEEDED.patient };
const psyPatient: Caller = { role: 'PATIENT', sub: SEEDED.psyPatient };
const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };
const scheduler: Caller = { role: 'SCHEDULER', sub: 'staff-scheduler-1' };

let seq = 0;
const key = () => `replica-${Date.now()}-${++seq}`;

let a: TestStack;
let b: TestStack;
let slowAllergies: ReturnType<typeof holdable>;
let slowPatients: ReturnType<typeof holdable>;
let slowA: TestStack;
let slowB: TestStack;

beforeAll(async () => {
  if (!REDIS) return;
  a = await startTestStack({ seed: { patients: 20 } });
  b = await startReplica(a);
  slowPatients = holdable(a.db.prisma, 'patient');
  slowA = await startReplica(a, { prisma: slowPatients.client as typeof a.db.prisma });
  slowAllergies = holdable(a.db.prisma, 'allergy');
  slowB = await startReplica(a, { prisma: slowAllergies.client as typeof a.db.prisma });
});
afterAll(async () => {
  await slowB?.close();
  await slowA?.close();
  await b?.close();
  await a?.close();
});

const data = <T>(response: Awaited<ReturnType<TestStack['query']>>, field: string): T => {
  expect(response.body.errors).toBeUndefined();
  return response.body.data![field] as T;
};

/** Staleness per write, for the record: tries and stale reads on the other replica. */
const figures: Record<string, { tries: number; stale: number }> = {};
afterAll(() => {
  if (Object.keys(figures).length > 0) console.log('reads through replica B right after a write through replica A:', figures);
});

interface WriteCase {
  name: string;
  /** Puts the data in the state the write changes (through the writer), before the view is cached. */
  prepare?: (stack: TestStack) => Promise<unknown>;
  /** The view, read through B before (so it is cached) and right after the write. */
  read: (stack: TestStack) => Promise<unknown>;
  /** The write through A; returns what the view must show afterwards. */
  write: (stack: TestStack, i: number) => Promise<(view: unknown) => boolean>;
}

const PSY = `query($id: ID!) { patient(id: $id) { consentedLabels conditions { sensitivity } } }`;
const psyView = async (stack: TestStack) => data<any>(await stack.query(clinician, PSY, { id: SEEDED.psyPatient }), 'patient');
const showsPsy = (view: any) => view.consentedLabels.includes('PSY') && view.conditions.some((c: any) => c.sensitivity === 'PSY');

const GRANT_PSY = 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }';
const grantPsy = async (stack: TestStack) =>
  data<any>(
    await stack.query(psyPatient, GRANT_PSY, { input: { providerId: SEEDED.clinician, label: 'PSY', idempotencyKey: key() } }),
    'grantConsent',
  ).id as string;
const revokePsy = async (stack: TestStack) => {
  const consent = await stack.db.prisma.consent.findFirst({
    where: { patientId: SEEDED.psyPatient, providerId: SEEDED.clinician, label: 'PSY' },
  });
  if (consent)
    data(await stack.query(psyPatient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consent.id }), 'revokeConsent');
};

const CASES: WriteCase[] = [
  {
    name: 'updateMyContact',
    read: async (stack) => data<any>(await stack.query(patient, '{ me { phone } }'), 'me'),
    write: async (stack, i) => {
      const phone = `+1-555-01${String(i).padStart(2, '0')}`;
      data(
        await stack.query(patient, 'mutation($input: ContactInput!) { updateMyContact(input: $input) { id } }', { input: { phone } }),
        'updateMyContact',
      );
      return (view: any) => view.phone === phone;
    },
  },
  {
    name: 'updateContact',
    read: async (stack) => data<any>(await stack.query(scheduler, `{ patient(id: "${SEEDED.patient}") { email } }`), 'patient'),
    write: async (stack, i) => {
      const email = `front.desk.${i}@example.org`;
      const UPDATE = 'mutation($id: ID!, $input: ContactInput!) { updateContact(patientId: $id, input: $input) { id } }';
      data(await stack.query(scheduler, UPDATE, { id: SEEDED.patient, input: { email } }), 'updateContact');
      return (view: any) => view.email === email;
    },
  },
  {
    name: 'grantConsent',
    prepare: revokePsy,
    read: psyView,
    write: async (stack) => {
      await grantPsy(stack);
      return showsPsy;
    },
  },
  {
    name: 'revokeConsent',
    prepare: grantPsy,
    read: psyView,
    write: async (stack) => {
      await revokePsy(stack);
      return (view) => !showsPsy(view);
    },
  },
  {
    name: 'addAllergy',
    read: async (stack) => data<any>(await stack.query(clinician, `{ patient(id: "${SEEDED.patient}") { allergies { id } } }`), 'patient'),
    write: async (stack) => {
      const ADD = 'mutation($input: AddAllergyInput!) { addAllergy(input: $input) { allergy { id } } }';
      const added = data<any>(
        await stack.query(clinician, ADD, {
          input: { patientId: SEEDED.patient, code: '91935009', display: 'Peanut', idempotencyKey: key() },
        }),
        'addAllergy',
      );
      return (view: any) => view.allergies.some((row: any) => row.id === added.allergy.id);
    },
  },
  {
    name: 'recordVitals',
    read: async (stack) => data<any>(await stack.query(patient, '{ me { vitals(last: 1) { id } } }'), 'me'),
    write: async (stack, i) => {
      const RECORD = 'mutation($input: RecordVitalsInput!) { recordVitals(input: $input) { observations { id } } }';
      const recorded = data<any>(
        await stack.query(clinician, RECORD, {
          input: { patientId: SEEDED.patient, readings: [{ code: '8867-4', value: 60 + i, unit: '/min' }], idempotencyKey: key() },
        }),
        'recordVitals',
      );
      return (view: any) => view.vitals[0]?.id === recorded.observations[0].id;
    },
  },
];

describe.skipIf(!REDIS)('two replicas over one database and one Redis', () => {
  for (const write of CASES) {
    it(`serves ${write.name} through the other replica on the very next request`, async () => {
      const tries = 12;
      let stale = 0;
      for (let i = 0; i < tries; i++) {
        // Alternate which replica writes, after the other has the view cached.
        const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a];
        await write.prepare?.(writer);
        await write.read(reader);
        await write.read(reader);
        const fresh = await write.write(writer, i);
        if (!fresh(await write.read(reader))) stale++;
      }
      figures[write.name] = { tries, stale };
      expect(stale).toBe(0);
    });
  }

  it('discloses nothing after a revocation answers, to a clinician reading in a loop through the other replica', async () => {
    const rounds = 4;
    let readsAfter = 0;
    let leaks = 0;
    for (let round = 0; round < rounds; round++) {
      const consent = { id: await grantPsy(a) };
      expect(showsPsy(await psyView(b))).toBe(true);
      let revokedAt = Number.POSITIVE_INFINITY;
      let stop = false;
      const reader = async () => {
        while (!stop) {
          const sentAt = performance.now();
          const view = await psyView(b);
          if (sentAt > revokedAt) {
            readsAfter++;
            if (showsPsy(view)) leaks++;
          }
        }
      };
      const readers = Array.from({ length: 4 }, reader);
      await new Promise((resolve) => setTimeout(resolve, 150));
      data(await a.query(psyPatient, 'mutation($id: ID!) { revokeConsent(id: $id) { id } }', { id: consent.id }), 'revokeConsent');
      revokedAt = performance.now();
      // Read on for 300 ms and until at least four reads were sent after the revocation (a busy machine reads slowly).
      const before = readsAfter;
      await new Promise((resolve) => setTimeout(resolve, 300));
      while (readsAfter - before < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      stop = true;
      await Promise.all(readers);
    }
    figures['revokeConsent race'] = { tries: readsAfter, stale: leaks };
    expect(readsAfter).toBeGreaterThanOrEqual(rounds * 4);
    expect(leaks).toBe(0);
  });

  it('does not keep a patient view whose read was still in its query when a contact change committed', async () => {
    // The patient's own view: the front desk's answers (which read the scheduler's view) do not warm it.
    const phoneOn = async (stack: TestStack) =>
      (data<any>(await stack.query(psyPatient, '{ me { phone } }'), 'me') as { phone: string }).phone;
    // A change first, so the held read below is a cache miss that goes to the database.
    const UPDATE = 'mutation($id: ID!, $input: ContactInput!) { updateContact(patientId: $id, input: $input) { id } }';
    data(await b.query(scheduler, UPDATE, { id: SEEDED.psyPatient, input: { phone: '+1-555-0001' } }), 'updateContact');
    const held = slowPatients.holdNext();
    const slowRead = phoneOn(slowA);
    await held.entered;
    data(await b.query(scheduler, UPDATE, { id: SEEDED.psyPatient, input: { phone: '+1-555-0002' } }), 'updateContact');
    held.release();
    // The held read began before the change: it may answer the old number, once.
    expect(await slowRead).toBe('+1-555-0001');
    for (const stack of [slowA, a, b]) expect(await phoneOn(stack)).toBe('+1-555-0002');
  });

  it('does not keep an allergy list whose read was still in its query when an allergy was added', async () => {
    const VIEW = `{ patient(id: "${SEEDED.patient}") { allergies { id } } }`;
    const idsOn = async (stack: TestStack) =>
      (data<any>(await stack.query(clinician, VIEW), 'patient').allergies as { id: string }[]).map((row) => row.id);
    const ADD = 'mutation($input: AddAllergyInput!) { addAllergy(input: $input) { allergy { id } } }';
    const add = async () =>
      data<any>(
        await b.query(clinician, ADD, { input: { patientId: SEEDED.patient, code: '300916003', display: 'Latex', idempotencyKey: key() } }),
        'addAllergy',
      ).allergy.id as string;
    await add();
    const held = slowAllergies.holdNext();
    const slowRead = idsOn(slowB);
    await held.entered;
    const added = await add();
    held.release();
    expect(await slowRead).not.toContain(added);
    for (const stack of [slowB, a, b]) expect(await idsOn(stack)).toContain(added);
  });

  it('answers a write retried through the other replica with the same result, and writes it once', async () => {
    const RECORD = 'mutation($input: RecordVitalsInput!) { recordVitals(input: $input) { observations { id } } }';
    const input = { patientId: SEEDED.patient, readings: [{ code: '8310-5', value: 37.2, unit: 'Cel' }], idempotencyKey: key() };
    const answers = await Promise.all([a, b, a, b].map((stack) => stack.query(clinician, RECORD, { input })));
    const ids = new Set(answers.map((answer) => data<any>(answer, 'recordVitals').observations[0].id));
    expect(ids.size).toBe(1);
    expect(codes(answers[0]!)).toEqual([]);
    expect(await a.db.prisma.observation.count({ where: { id: [...ids][0] as string } })).toBe(1);
  });
});
