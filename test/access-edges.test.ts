import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Access at its edges, each defect found by trying the API as an attacker would, held here through
 * the gateway over real HTTP.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 30 } });
});
afterAll(() => stack?.close());

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
const offTeam = { role: 'CLINICIAN' as const, sub: SEEDED.otherClinician };
const scheduler = { role: 'SCHEDULER' as const, sub: 'staff-scheduler-1' };
const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };
const breakGlass = {
  role: 'CLINICIAN' as const,
  sub: SEEDED.otherClinician,
  purpose: 'BTG' as const,
  reason: 'Unresponsive in the emergency department',
};

const BOOK = 'mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id start } }';
const CANCEL = 'mutation($id: ID!) { cancelAppointment(id: $id) { id status } }';
let keys = 0;
const key = () => `edge-key-${Date.now()}-${++keys}`;

/** A free slot of the provider between `fromDays` and `fromDays + 14` days ahead. */
async function freeSlot(providerId: string, fromDays = 1): Promise<string> {
  const from = new Date(Date.now() + fromDays * 86_400_000);
  const to = new Date(from.getTime() + 14 * 86_400_000);
  const { body } = await stack.query(
    scheduler,
    `{ provider(id: "${providerId}") { availableSlots(from: "${from.toISOString()}", to: "${to.toISOString()}") { start } } }`,
  );
  return (body.data!.provider as { availableSlots: { start: string }[] }).availableSlots[0]!.start;
}

describe('a booking grants the visit, not the chart', () => {
  it('refuses a booking years ahead (a lasting key to the chart)', async () => {
    for (const start of ['2199-01-05T09:00:00Z', '9999-12-31T09:00:00Z']) {
      const { body } = await stack.query(scheduler, BOOK, {
        input: { patientId: SEEDED.patient, providerId: SEEDED.otherClinician, start, idempotencyKey: key() },
      });
      expect(codes({ body } as never)).toEqual(['BAD_USER_INPUT']);
      expect(body.errors![0]!.message).toContain('input.start');
    }
    expect(await stack.db.prisma.careTeamMember.count({ where: { patientId: SEEDED.patient, providerId: SEEDED.otherClinician } })).toBe(0);
  });

  it('gives the booked provider the chart for the visit, a week before and a month after, and takes it back on cancellation', async () => {
    const chart = `{ patient(id: "${SEEDED.patient}") { name { text } } }`;
    expect(codes(await stack.query(offTeam, chart))).toEqual(['NOT_FOUND']);
    const start = await freeSlot(SEEDED.otherClinician, 1);
    const booked = await stack.query(scheduler, BOOK, {
      input: { patientId: SEEDED.patient, providerId: SEEDED.otherClinician, start, idempotencyKey: key() },
    });
    const id = (booked.body.data!.bookAppointment as { id: string }).id;
    const membership = await stack.db.prisma.careTeamMember.findUniqueOrThrow({ where: { appointmentId: id } });
    expect(membership.periodEnd!.getTime() - new Date(start).getTime()).toBeLessThanOrEqual(31 * 86_400_000);
    expect((await stack.query(offTeam, chart)).body.data!.patient).not.toBeNull();
    await stack.query(scheduler, CANCEL, { id });
    expect(codes(await stack.query(offTeam, chart))).toEqual(['NOT_FOUND']);
  });

  it('does not open the chart before the week of a visit booked months ahead', async () => {
    const start = await freeSlot(SEEDED.otherClinician, 120);
    await stack.query(scheduler, BOOK, {
      input: { patientId: SEEDED.psyPatient, providerId: SEEDED.otherClinician, start, idempotencyKey: key() },
    });
    expect(codes(await stack.query(offTeam, `{ patient(id: "${SEEDED.psyPatient}") { name { text } } }`))).toEqual(['NOT_FOUND']);
  });
});

describe('cancelAppointment is no ownership oracle', () => {
  it("answers another patient's appointment exactly as a missing one, naming no patient", async () => {
    const other = await stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: SEEDED.psyPatient, status: 'BOOKED' } });
    const theirs = await stack.query(patient, CANCEL, { id: other.id });
    const missing = await stack.query(patient, CANCEL, { id: 'apt-0999999' });
    expect(codes(theirs)).toEqual(['NOT_FOUND']);
    expect(theirs.body.errors![0]!.message).toBe(`Appointment "${other.id}" was not found`);
    expect(missing.body.errors![0]!.message).toBe('Appointment "apt-0999999" was not found');
    expect(JSON.stringify(theirs.body)).not.toContain(SEEDED.psyPatient);
    expect((await stack.db.prisma.appointment.findUniqueOrThrow({ where: { id: other.id } })).status).toBe('BOOKED');
  });
});

describe('idempotent retries', () => {
  it('tells every one of 20 concurrent retries with one key the same booking', async () => {
    const start = await freeSlot(SEEDED.clinician, 3);
    const input = { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: key() };
    const answers = await Promise.all(Array.from({ length: 20 }, () => stack.query(patient, BOOK, { input })));
    const ids = answers.map((a) => (a.body.data?.bookAppointment as { id?: string } | null)?.id);
    expect(answers.flatMap((a) => codes(a))).toEqual([]);
    expect(new Set(ids).size).toBe(1);
    expect(await stack.db.prisma.appointment.count({ where: { idempotencyKey: input.idempotencyKey } })).toBe(1);
  });

  it('refuses a booking for a patient that does not exist with NOT_FOUND, not a database error', async () => {
    const start = await freeSlot(SEEDED.clinician, 5);
    const { body } = await stack.query(scheduler, BOOK, {
      input: { patientId: 'pat-999999', providerId: SEEDED.clinician, start, idempotencyKey: key() },
    });
    expect(codes({ body } as never)).toEqual(['NOT_FOUND']);
  });
});

describe('hidden rows are left out before any window is cut', () => {
  it('returns the newest visible observation for vitals(last: 1) when the newest one is hidden', async () => {
    await stack.db.prisma.observation.create({
      data: {
        id: 'obs-edge-psy',
        patientId: SEEDED.psyPatient,
        code: '8867-4',
        display: 'Heart rate',
        value: 150,
        unit: '/min',
        effectiveAt: new Date(),
        sensitivity: 'PSY',
        confidentiality: 'R',
      },
    });
    const newestVisible = await stack.db.prisma.observation.findFirstOrThrow({
      where: { patientId: SEEDED.psyPatient, sensitivity: 'NONE', confidentiality: 'N' },
      orderBy: [{ effectiveAt: 'desc' }, { id: 'asc' }],
    });
    const { body } = await stack.query(clinician, `{ patient(id: "${SEEDED.psyPatient}") { vitals(last: 1) { id } } }`);
    expect((body.data!.patient as { vitals: { id: string }[] }).vitals.map((v) => v.id)).toEqual([newestVisible.id]);
  });
});

describe('one refused or failed field never nulls the patient around it', () => {
  it('gives break-glass the emergency data of a chart that also asks for notes and vitals', async () => {
    const { body } = await stack.query(
      breakGlass,
      `{ patient(id: "${SEEDED.psyPatient}") { name { text } bloodType allergies { id } conditions { sensitivity } notes { edges { node { id } } } vitals { id } } }`,
    );
    const chart = body.data!.patient as Record<string, unknown>;
    expect(chart).not.toBeNull();
    expect(chart.bloodType).toBeTruthy();
    expect(chart.notes).toBeNull();
    expect(chart.vitals).toBeNull();
    expect((chart.conditions as { sensitivity: string }[]).map((c) => c.sensitivity)).toContain('PSY');
  });

  it('runs the trusted EmergencyChart for break-glass with nothing refused', async () => {
    const { body } = await stack.query(
      breakGlass,
      (await import('node:fs')).readFileSync(new URL('../schema/operations/emergency-chart.graphql', import.meta.url), 'utf8'),
      { id: SEEDED.patient },
    );
    expect(body.errors).toBeUndefined();
    expect((body.data!.patient as { allergies: unknown[] }).allergies.length).toBeGreaterThan(0);
  });
});

describe('break-glass is for the patient in front of you, not a census', () => {
  it('needs an MRN or a name with a birth date, returns a handful and does not page', async () => {
    const target = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } });
    const byName = await stack.query(breakGlass, '{ searchPatients(name: "a", first: 100) { edges { node { id } } } }');
    expect(codes(byName)).toEqual(['BAD_USER_INPUT']);
    const byMrn = await stack.query(
      breakGlass,
      `{ searchPatients(mrn: "${target.mrn}", first: 100) { edges { node { id } } pageInfo { endCursor } } }`,
    );
    expect((byMrn.body.data!.searchPatients as { edges: unknown[] }).edges).toHaveLength(1);
    const identified = await stack.query(
      breakGlass,
      `{ searchPatients(name: "${target.familyName}", birthDate: "${target.birthDate.toISOString().slice(0, 10)}", first: 100) { edges { node { id } } } }`,
    );
    expect((identified.body.data!.searchPatients as { edges: unknown[] }).edges.length).toBeLessThanOrEqual(5);
    const cursor = (byMrn.body.data!.searchPatients as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
    const paging = await stack.query(
      breakGlass,
      `query($after: String) { searchPatients(mrn: "${target.mrn}", after: $after) { edges { node { id } } } }`,
      { after: cursor },
    );
    expect(codes(paging)).toEqual(['BAD_USER_INPUT']);
  });
});

describe.skipIf(!process.env.REDIS_URL)('Redis key names', () => {
  it('carry no patient or provider id', async () => {
    await stack.query(
      clinician,
      `{ patient(id: "${SEEDED.patient}") { name { text } allergies { id } appointments(first: 2) { edges { node { id } } } } }`,
    );
    const start = await freeSlot(SEEDED.clinician, 7);
    await stack.query(patient, BOOK, { input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: key() } });
    const { createClient } = await import('@keyv/redis');
    const redis = createClient({ url: process.env.REDIS_URL });
    await redis.connect();
    try {
      const prefix = (stack.cache as unknown as { prefix: string }).prefix;
      const names = await redis.keys(`${prefix}:*`);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => /pat-|prv-|apt-/.test(name))).toEqual([]);
      const ttls = await Promise.all(names.filter((name) => name.includes(':gen:')).map((name) => redis.ttl(name)));
      expect(ttls.length).toBeGreaterThan(0);
      expect(ttls.every((ttl) => ttl > 0)).toBe(true); // generations expire: Redis holds recent tags only
    } finally {
      await redis.quit();
    }
  });
});
