import { SCHEDULE_PROBE, writeScheduleFixture } from '@healthgraph/bench/schedule-fixture';
import type { PrismaClient } from '@healthgraph/db';
import { startStack } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack, testConfig } from './helpers/stack.js';

const CLINICIAN = 'prv-n1';
const DAYS = { 1: '2027-01-04', 10: '2027-01-05', 100: '2027-01-06' } as const;

/** A clinician whose schedule holds 1, 10 and 100 appointments on three days, each with its own patient. */
const scheduleFixture = (prisma: PrismaClient) =>
  writeScheduleFixture(prisma, {
    providerId: CLINICIAN,
    idPrefix: 'n1',
    days: Object.fromEntries(Object.entries(DAYS).map(([count, day]) => [day, Number(count)])),
  });

let batched: TestStack;
let naiveUrl: string;
let closeNaive: () => Promise<void>;

beforeAll(async () => {
  // The cache is off: these tests count what the loaders ask of the database.
  batched = await startTestStack({ seed: { patients: 20 }, cache: { enabled: false } });
  await scheduleFixture(batched.db.prisma);
  // Same database, same gateway code, DataLoader batching switched off: the naive baseline.
  const naive = await startStack({
    config: testConfig(),
    db: batched.db,
    seedPatients: 0,
    ephemeralPorts: true,
    batching: false,
    cache: { ...testConfig().cache, enabled: false },
  });
  naiveUrl = naive.gatewayUrl;
  closeNaive = () => naive.close();
});
afterAll(async () => {
  await closeNaive?.();
  await batched?.close();
});

async function statementsFor(n: keyof typeof DAYS, url = batched.gatewayUrl) {
  const token = await batched.token({ role: 'CLINICIAN', sub: CLINICIAN });
  const { result, statements } = await countStatements(batched.db, async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: SCHEDULE_PROBE, variables: { provider: CLINICIAN, date: DAYS[n] } }),
    });
    return (await response.json()) as {
      data: { provider: { schedule: { patient: { allergies: unknown[]; vitals: unknown[] } }[] } };
      errors?: unknown;
    };
  });
  expect(result.errors).toBeUndefined();
  const schedule = result.data.provider.schedule;
  expect(schedule).toHaveLength(n);
  expect(schedule.every((a) => a.patient.allergies.length === 2 && a.patient.vitals.length === 1)).toBe(true);
  return statements;
}

describe('N+1: SQL statements per operation do not grow with the answer', () => {
  it('issues the same number of statements for 1, 10 and 100 appointments', async () => {
    const counts = { 1: (await statementsFor(1)).length, 10: (await statementsFor(10)).length, 100: (await statementsFor(100)).length };
    console.log('statements per DaySchedule operation (batched):', counts);
    expect(counts[10]).toBe(counts[1]);
    expect(counts[100]).toBe(counts[1]);
  });

  it('spends one statement per access path in each query-plan step', async () => {
    const statements = await statementsFor(100);
    // Plan: providers(provider) -> appointments(schedule) -> patients(name) | records(allergies, vitals) | providers(name).
    // providers: 2 (provider, then appointment providers); appointments: 1 (schedule, scope folded in);
    // patients: 2 (care-team check, patients); records: 3 (care-team check, allergies, vitals).
    expect(statements).toHaveLength(8);
    const tables = statements.map((sql) => /FROM\s+"?(?:public"?\.)?"?(\w+)"?/i.exec(sql)?.[1]);
    expect(tables.filter((t) => t === 'Provider')).toHaveLength(2);
    expect(tables.filter((t) => t === 'Appointment')).toHaveLength(1);
    expect(tables.filter((t) => t === 'Patient')).toHaveLength(1);
    expect(tables.filter((t) => t === 'Allergy')).toHaveLength(1);
  });

  it('would grow with N without DataLoader batching (so the check above can fail)', async () => {
    const small = (await statementsFor(1, naiveUrl)).length;
    const large = (await statementsFor(100, naiveUrl)).length;
    console.log('statements per DaySchedule operation (naive):', { 1: small, 100: large });
    expect(large).toBeGreaterThan(small + 4 * 99);
  });
});
