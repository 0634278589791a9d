import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.close());

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
const otherClinician = { role: 'CLINICIAN' as const, sub: SEEDED.otherClinician };
const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };

const CHART = `query Chart($id: ID!) {
  patient(id: $id) {
    id name { text } birthDate bloodType
    careTeam { id name { text } specialty }
    allergies { id code { display } }
    medications { id code { display } sensitivity }
    conditions { id code { display } sensitivity }
    vitals(last: 5) { code { display } value unit }
    appointments(first: 5) { edges { node { id start status provider { id name { text } } } } pageInfo { hasNextPage } }
  }
}`;

describe('a clinician on the care team', () => {
  it('reads a patient across all four subgraphs in one query', async () => {
    const { status, body } = await stack.query(clinician, CHART, { id: SEEDED.patient });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const p = body.data!.patient as Record<string, any>;
    expect(p.id).toBe(SEEDED.patient);
    expect(p.careTeam.map((m: { id: string }) => m.id)).toContain(SEEDED.clinician);
    expect(p.careTeam[0].specialty).toBeTruthy(); // resolved by the providers subgraph
    expect(p.allergies.length).toBeGreaterThan(0); // records subgraph
    expect(p.vitals).toHaveLength(5);
    expect(p.appointments.edges.length).toBeGreaterThan(0); // appointments subgraph
    expect(p.appointments.edges[0].node.provider.name.text).toBeTruthy(); // and back to providers
  });

  it("lists the clinician's own care-team patients in myPatients and nobody else's", async () => {
    const { body } = await stack.query(clinician, '{ myPatients(first: 100) { edges { node { id } } pageInfo { hasNextPage } } }');
    const ids = (body.data!.myPatients as any).edges.map((e: any) => e.node.id);
    const expected = await stack.db.prisma.careTeamMember.findMany({
      where: { providerId: SEEDED.clinician, periodEnd: null },
      select: { patientId: true },
    });
    expect(new Set(ids)).toEqual(new Set(expected.map((m) => m.patientId)));
  });

  it('hides a PSY-labelled condition the patient has not consented to share', async () => {
    const { body } = await stack.query(
      clinician,
      '{ patient(id: "' +
        SEEDED.psyPatient +
        '") { conditions { sensitivity } medications { sensitivity } notes(first: 50) { edges { node { sensitivity } } } } }',
    );
    const p = body.data!.patient as any;
    const labels = [...p.conditions, ...p.medications, ...p.notes.edges.map((e: any) => e.node)].map((r: any) => r.sensitivity);
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((l: string) => l === 'NONE')).toBe(true);
    const stored = await stack.db.prisma.condition.count({ where: { patientId: SEEDED.psyPatient, sensitivity: 'PSY' } });
    expect(stored).toBe(1); // it exists: the clinician just may not see it
  });

  it('shows a labelled condition once the patient consents for that clinician and label', async () => {
    const row = await stack.db.prisma.condition.findFirstOrThrow({
      where: { sensitivity: { not: 'NONE' }, patient: { careTeam: { some: { providerId: { not: SEEDED.clinician } } } } },
    });
    const member = await stack.db.prisma.careTeamMember.findFirstOrThrow({ where: { patientId: row.patientId } });
    const caller = { role: 'CLINICIAN' as const, sub: member.providerId };
    await stack.db.prisma.consent.deleteMany({ where: { patientId: row.patientId, providerId: member.providerId } });
    const query = `{ patient(id: "${row.patientId}") { conditions { id } } }`;
    const before = await stack.query(caller, query);
    expect((before.body.data!.patient as any).conditions.map((c: any) => c.id)).not.toContain(row.id);
    await stack.db.prisma.consent.create({
      data: {
        id: `cns-test-${row.id}`,
        patientId: row.patientId,
        providerId: member.providerId,
        label: row.sensitivity,
        grantedAt: new Date(),
      },
    });
    const after = await stack.query(caller, query);
    expect((after.body.data!.patient as any).conditions.map((c: any) => c.id)).toContain(row.id);
  });
});

describe('a clinician off the care team', () => {
  it('gets null with NOT_FOUND for the patient, indistinguishable from a missing id', async () => {
    const hidden = await stack.query(otherClinician, CHART, { id: SEEDED.patient });
    const missing = await stack.query(otherClinician, CHART, { id: 'pat-999999' });
    expect(hidden.body.data!.patient).toBeNull();
    expect(codes(hidden)).toEqual(['NOT_FOUND']);
    expect(codes(missing)).toEqual(['NOT_FOUND']);
    expect(JSON.stringify(hidden.body)).not.toMatch(/allerg|MRN|Heart rate/i);
  });

  it('cannot reach the patient through an appointment id either', async () => {
    const appointment = await stack.db.prisma.appointment.findFirstOrThrow({ where: { patientId: SEEDED.patient } });
    const { body } = await stack.query(
      otherClinician,
      `{ appointment(id: "${appointment.id}") { id patient { name { text } allergies { id } } } }`,
    );
    expect(body.data?.appointment ?? null).toBeNull();
    expect(codes({ body } as any)).toContain('NOT_FOUND');
  });

  it('finds no hidden patient through search', async () => {
    const target = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } });
    const { body } = await stack.query(otherClinician, `{ searchPatients(mrn: "${target.mrn}") { edges { node { id } } } }`);
    expect((body.data!.searchPatients as any).edges).toEqual([]);
  });
});

describe('a patient', () => {
  it('reads their own record, labelled rows included', async () => {
    const self = { role: 'PATIENT' as const, sub: SEEDED.psyPatient };
    const { body } = await stack.query(self, '{ me { id conditions { sensitivity } } }');
    expect((body.data!.me as any).id).toBe(SEEDED.psyPatient);
    expect((body.data!.me as any).conditions.map((c: any) => c.sensitivity)).toContain('PSY');
  });

  it("cannot read another patient's record", async () => {
    const { body } = await stack.query(patient, CHART, { id: SEEDED.psyPatient });
    expect(body.data!.patient).toBeNull();
    expect(codes({ body } as any)).toEqual(['NOT_FOUND']);
  });

  it('sees only their own appointments in a provider schedule', async () => {
    const appointment = await stack.db.prisma.appointment.findFirstOrThrow({
      where: { patientId: SEEDED.patient, status: { not: 'CANCELLED' } },
    });
    const day = appointment.start.toISOString().slice(0, 10);
    const all = await stack.db.prisma.appointment.count({
      where: {
        providerId: appointment.providerId,
        status: { not: 'CANCELLED' },
        start: { gte: new Date(day), lt: new Date(new Date(day).getTime() + 86_400_000) },
      },
    });
    const { body } = await stack.query(
      patient,
      `{ provider(id: "${appointment.providerId}") { schedule(date: "${day}") { id patient { id } } } }`,
    );
    const schedule = (body.data!.provider as any).schedule;
    expect(schedule.length).toBeGreaterThan(0);
    expect(schedule.every((a: any) => a.patient.id === SEEDED.patient)).toBe(true);
    expect(all).toBeGreaterThanOrEqual(schedule.length);
  });
});

describe('scheduling, billing and administrative roles', () => {
  it('lets a scheduler search patients and read their appointments', async () => {
    const target = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.psyPatient } });
    const { body } = await stack.query(
      { role: 'SCHEDULER', sub: 'staff-1' },
      `{ searchPatients(name: "${target.familyName}", birthDate: "${target.birthDate.toISOString().slice(0, 10)}") { edges { node { id appointments(first: 2) { edges { node { id } } } } } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect((body.data!.searchPatients as any).edges.map((e: any) => e.node.id)).toContain(SEEDED.psyPatient);
  });

  it('refuses clinical data to billing at the gateway, before any record is read', async () => {
    const { result, statements } = await countStatements(stack.db, () =>
      stack.query({ role: 'BILLING', sub: 'staff-2' }, `{ patient(id: "${SEEDED.patient}") { id allergies { id } } }`),
    );
    expect(result.body.errors).toEqual([
      expect.objectContaining({ path: ['patient', 'allergies'], extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } }),
    ]);
    // The refused field alone is null: allergies is nullable, so nothing around it is lost.
    expect(result.body.data).toEqual({ patient: { id: SEEDED.patient, allergies: null } });
    expect(statements.some((sql) => sql.includes('"Allergy"'))).toBe(false);
  });

  it('refuses clinical data to billing in the data layer too, for any path that skips the gateway check', async () => {
    const { body } = await stack.query({ role: 'BILLING', sub: 'staff-2' }, `{ patient(id: "${SEEDED.patient}") { name { text } } }`);
    expect((body.data!.patient as any).name.text).toBeTruthy();
  });

  it('shows no patient to an administrator', async () => {
    const { body } = await stack.query({ role: 'ADMIN', sub: 'staff-3' }, `{ patient(id: "${SEEDED.patient}") { id name { text } } }`);
    expect(body.data!.patient).toBeNull();
    expect(codes({ body } as any).sort()).toEqual(['NOT_FOUND', 'UNAUTHORIZED_FIELD_OR_TYPE']);
  });
});

describe('break-glass', () => {
  const emergency = {
    role: 'CLINICIAN' as const,
    sub: SEEDED.otherClinician,
    purpose: 'BTG' as const,
    reason: 'Unconscious patient in the emergency department',
  };

  it("reaches any patient's emergency data, labelled rows included", async () => {
    const { body } = await stack.query(
      emergency,
      `{ patient(id: "${SEEDED.psyPatient}") { bloodType allergies { id } medications { id } conditions { sensitivity } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect((body.data!.patient as any).conditions.map((c: any) => c.sensitivity)).toContain('PSY');
  });

  it('does not reach notes or vitals', async () => {
    const { body } = await stack.query(
      emergency,
      `{ patient(id: "${SEEDED.psyPatient}") { bloodType notes { edges { node { text } } } vitals { value } } }`,
    );
    expect(codes({ body } as any)).toEqual(['UNAUTHORIZED_FIELD_OR_TYPE', 'UNAUTHORIZED_FIELD_OR_TYPE']);
    expect(JSON.stringify(body.data)).not.toMatch(/Plan of care|"value"/);
  });

  it('is refused without a reason', async () => {
    const { status, body } = await stack.query({ ...emergency, reason: undefined }, '{ me { id } }');
    expect(status).toBe(401);
    expect(codes({ body } as any)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('HTTP caching of PHI', () => {
  it('marks responses private, no-store', async () => {
    const { headers } = await stack.query(clinician, CHART, { id: SEEDED.patient });
    expect(headers.get('cache-control')).toBe('private, no-store');
  });
});
