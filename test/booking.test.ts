import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE } from './helpers/database.js';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };
const BOOK = `mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id start end status provider { id } patient { id } } }`;
const SLOTS = `query Slots($provider: ID!, $from: DateTime!, $to: DateTime!) { provider(id: $provider) { availableSlots(from: $from, to: $to) { start end } } }`;

/** Free slots of a provider over the next two weeks, as the given caller sees them. */
async function freeSlots(providerId: string, as: Parameters<TestStack['query']>[0] = patient): Promise<string[]> {
  const from = new Date(Date.now() + 86_400_000);
  const to = new Date(from.getTime() + 14 * 86_400_000);
  const { body } = await stack.query(as, SLOTS, { provider: providerId, from: from.toISOString(), to: to.toISOString() });
  expect(body.errors).toBeUndefined();
  return (body.data!.provider as { availableSlots: { start: string }[] }).availableSlots.map((s) => s.start);
}

let keySeq = 0;
const key = () => `test-key-${Date.now()}-${++keySeq}`;

describe('booking an appointment', () => {
  it('books a free slot, which then leaves the free list', async () => {
    const [start] = await freeSlots(SEEDED.clinician);
    const { body } = await stack.query(patient, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, reason: 'Check-up', idempotencyKey: key() },
    });
    expect(body.errors).toBeUndefined();
    const booked = body.data!.bookAppointment as any;
    expect(booked).toMatchObject({ start, status: 'BOOKED', provider: { id: SEEDED.clinician }, patient: { id: SEEDED.patient } });
    expect(await freeSlots(SEEDED.clinician)).not.toContain(start);
  });

  it('returns the same appointment when retried with the same idempotency key', async () => {
    const [, start] = await freeSlots(SEEDED.clinician);
    const input = { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: key() };
    const first = await stack.query(patient, BOOK, { input });
    const again = await stack.query(patient, BOOK, { input });
    expect((again.body.data!.bookAppointment as any).id).toBe((first.body.data!.bookAppointment as any).id);
    expect(await stack.db.prisma.appointment.count({ where: { idempotencyKey: input.idempotencyKey } })).toBe(1);
  });

  it('refuses a reused idempotency key for a different booking', async () => {
    const [a, b] = (await freeSlots(SEEDED.clinician)).slice(2);
    const idempotencyKey = key();
    await stack.query(patient, BOOK, { input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start: a, idempotencyKey } });
    const reuse = await stack.query(patient, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start: b, idempotencyKey },
    });
    expect(codes(reuse)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await freeSlots(SEEDED.clinician)).toContain(b);
  });

  it('refuses a taken slot with SLOT_UNAVAILABLE', async () => {
    const [start] = await freeSlots(SEEDED.clinician);
    await stack.query(patient, BOOK, { input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: key() } });
    const other = await stack.query({ role: 'SCHEDULER', sub: 'staff-1' }, BOOK, {
      input: { patientId: SEEDED.psyPatient, providerId: SEEDED.clinician, start, idempotencyKey: key() },
    });
    expect(codes(other)).toEqual(['SLOT_UNAVAILABLE']);
  });

  it('refuses a start that is not a slot, or is in the past', async () => {
    const [start] = await freeSlots(SEEDED.clinician);
    const offGrid = new Date(new Date(start!).getTime() + 7 * 60_000).toISOString();
    const off = await stack.query(patient, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start: offGrid, idempotencyKey: key() },
    });
    expect(codes(off)).toEqual(['BAD_USER_INPUT']);
    expect(off.body.errors![0]!.message).toContain('input.start');
    const past = await stack.query(patient, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start: '2020-01-06T09:00:00Z', idempotencyKey: key() },
    });
    expect(codes(past)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses booking for a patient the caller may not see, and for billing', async () => {
    const [start] = await freeSlots(SEEDED.clinician);
    const input = { patientId: SEEDED.psyPatient, providerId: SEEDED.clinician, start, idempotencyKey: key() };
    expect(codes(await stack.query(patient, BOOK, { input }))).toEqual(['NOT_FOUND']);
    expect(codes(await stack.query({ role: 'BILLING', sub: 'staff-2' }, BOOK, { input }))).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE']);
    expect(await stack.db.prisma.appointment.count({ where: { idempotencyKey: input.idempotencyKey } })).toBe(0);
  });

  it('cancels an appointment, freeing its slot for someone else', async () => {
    const [start] = await freeSlots(SEEDED.clinician);
    const booked = await stack.query(patient, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: key() },
    });
    const id = (booked.body.data!.bookAppointment as any).id;
    const cancelled = await stack.query(
      patient,
      'mutation($id: ID!) { cancelAppointment(id: $id, reason: "Feeling better") { id status } }',
      { id },
    );
    expect(cancelled.body.data!.cancelAppointment).toEqual({ id, status: 'CANCELLED' });
    expect(await freeSlots(SEEDED.clinician)).toContain(start);
    const rebook = await stack.query({ role: 'SCHEDULER', sub: 'staff-1' }, BOOK, {
      input: { patientId: SEEDED.psyPatient, providerId: SEEDED.clinician, start, idempotencyKey: key() },
    });
    expect(rebook.body.errors).toBeUndefined();
  });

  it("refuses to cancel another patient's appointment", async () => {
    const theirs = await stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: SEEDED.psyPatient, status: 'BOOKED' } });
    const response = await stack.query(patient, 'mutation($id: ID!) { cancelAppointment(id: $id) { id } }', { id: theirs.id });
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect((await stack.db.prisma.appointment.findUniqueOrThrow({ where: { id: theirs.id } })).status).toBe('BOOKED');
  });
});

describe(`simultaneous bookings of one slot (${TEST_DATABASE})`, () => {
  it('lets exactly one of 50 succeed; the rest get SLOT_UNAVAILABLE and write nothing', async () => {
    // A provider not yet on the patient's care team, so each booking would also add a membership.
    const provider = await stack.db.prisma.provider.findFirstOrThrow({ where: { careTeam: { none: { patientId: SEEDED.patient } } } });
    const [start] = await freeSlots(provider.id, { role: 'SCHEDULER', sub: 'staff-0' });
    const attempts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stack.query({ role: 'SCHEDULER', sub: `staff-race-${i}` }, BOOK, {
          input: { patientId: SEEDED.patient, providerId: provider.id, start, idempotencyKey: `race-${i}-${Date.now()}` },
        }),
      ),
    );
    const outcomes = attempts.map((a) => (a.body.errors ? codes(a)[0] : 'BOOKED'));
    expect(outcomes.filter((o) => o === 'BOOKED')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'SLOT_UNAVAILABLE')).toHaveLength(49);
    expect(await stack.db.prisma.appointment.count({ where: { providerId: provider.id, start: new Date(start!) } })).toBe(1);
    // The losers' transactions rolled back whole: one care-team membership, not fifty, ending after follow-up.
    const memberships = await stack.db.prisma.careTeamMember.findMany({ where: { providerId: provider.id, patientId: SEEDED.patient } });
    expect(memberships).toHaveLength(1);
    expect(memberships[0]!.role).toBe('ATTENDING');
    expect(memberships[0]!.periodEnd!.getTime()).toBe(new Date(start!).getTime() + 30 * 60_000 + 30 * 86_400_000);
  });
});
