import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, codes, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Consent management and the writes on demographics and records: who may do each, what each
 * checks, that each commits with its audit event, that retries with a key never do a write twice,
 * and that what was written (or revoked) shows at once.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const psyPatient: Caller = { role: 'PATIENT', sub: SEEDED.psyPatient };
const patient: Caller = { role: 'PATIENT', sub: SEEDED.patient };
const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };
const outsider: Caller = { role: 'CLINICIAN', sub: SEEDED.otherClinician };
const scheduler: Caller = { role: 'SCHEDULER', sub: 'staff-scheduler-1' };
const billing: Caller = { role: 'BILLING', sub: 'staff-billing-1' };
const breakGlass: Caller = { role: 'CLINICIAN', sub: SEEDED.otherClinician, purpose: 'BTG', reason: 'Unresponsive in the ED' };

let seq = 0;
const key = () => `key-${Date.now()}-${++seq}`;

const GRANT = 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id label until active revokedAt provider { id } } }';
const REVOKE = 'mutation($id: ID!, $key: String) { revokeConsent(id: $id, idempotencyKey: $key) { id active revokedAt } }';
const MINE = 'query($all: Boolean) { myConsents(includeInactive: $all) { id label active provider { id } } }';
const CONDITIONS = `query($id: ID!) { patient(id: $id) { id consentedLabels conditions { id sensitivity } } }`;
const VITALS =
  'mutation($input: RecordVitalsInput!) { recordVitals(input: $input) { patient { id } observations { id value unit sensitivity } } }';
const ALLERGY =
  'mutation($input: AddAllergyInput!) { addAllergy(input: $input) { patient { id } allergy { id code { code } severity criticality sensitivity } } }';
const CONTACT =
  'mutation($input: ContactInput!, $key: String) { updateMyContact(input: $input, idempotencyKey: $key) { id phone email address { line city state postalCode } } }';

const written = (resourceType: string, actorSub: string) =>
  stack.db.prisma.auditEvent.findMany({ where: { outcome: 'WRITTEN', resourceType, actorSub }, orderBy: { at: 'asc' } });

describe('consent: granted and revoked by the patient themself', () => {
  it('discloses a PSY condition once granted, and not on the very next request after revoking', async () => {
    const before = await stack.query(clinician, CONDITIONS, { id: SEEDED.psyPatient });
    expect(before.body.errors).toBeUndefined();
    expect((before.body.data!.patient as any).conditions.map((c: any) => c.sensitivity)).not.toContain('PSY');
    expect((before.body.data!.patient as any).consentedLabels).toEqual([]);

    const granted = await stack.query(psyPatient, GRANT, { input: { providerId: SEEDED.clinician, label: 'PSY', idempotencyKey: key() } });
    expect(granted.body.errors).toBeUndefined();
    const consent = granted.body.data!.grantConsent as any;
    expect(consent).toMatchObject({ label: 'PSY', active: true, until: null, revokedAt: null, provider: { id: SEEDED.clinician } });

    const during = await stack.query(clinician, CONDITIONS, { id: SEEDED.psyPatient });
    expect((during.body.data!.patient as any).conditions.map((c: any) => c.sensitivity)).toContain('PSY');
    expect((during.body.data!.patient as any).consentedLabels).toEqual(['PSY']);
    // Granted to one clinician, not to another on the same team or off it.
    const other = await stack.query(outsider, CONDITIONS, { id: SEEDED.psyPatient });
    expect(codes(other)).toContain('NOT_FOUND');

    const revoked = await stack.query(psyPatient, REVOKE, { id: consent.id });
    expect(revoked.body.errors).toBeUndefined();
    expect(revoked.body.data!.revokeConsent).toMatchObject({ id: consent.id, active: false });
    const after = await stack.query(clinician, CONDITIONS, { id: SEEDED.psyPatient });
    expect((after.body.data!.patient as any).conditions.map((c: any) => c.sensitivity)).not.toContain('PSY');
    expect((after.body.data!.patient as any).consentedLabels).toEqual([]);

    // Revoking again answers the same revocation and records nothing new.
    const again = await stack.query(psyPatient, REVOKE, { id: consent.id });
    expect((again.body.data!.revokeConsent as any).revokedAt).toBe((revoked.body.data!.revokeConsent as any).revokedAt);
    const events = (await written('Consent', SEEDED.psyPatient)).filter((e) => e.resourceIds.includes(consent.id));
    expect(events.map((e) => e.fieldPaths.find((p) => p.startsWith('Mutation.')))).toEqual([
      'Mutation.grantConsent',
      'Mutation.revokeConsent',
    ]);
    expect(events.every((e) => e.patientId === SEEDED.psyPatient && e.actorRole === 'PATIENT')).toBe(true);
  });

  it('lists the patient’s own consents, active ones by default', async () => {
    const { body } = await stack.query(patient, GRANT, {
      input: { providerId: SEEDED.otherClinician, label: 'HIV', idempotencyKey: key() },
    });
    const id = (body.data!.grantConsent as any).id;
    const active = await stack.query(patient, MINE, {});
    expect((active.body.data!.myConsents as any[]).map((c) => c.id)).toContain(id);
    await stack.query(patient, REVOKE, { id });
    const now = await stack.query(patient, MINE, {});
    expect((now.body.data!.myConsents as any[]).map((c) => c.id)).not.toContain(id);
    const all = await stack.query(patient, MINE, { all: true });
    expect((all.body.data!.myConsents as any[]).find((c) => c.id === id)).toMatchObject({ active: false, label: 'HIV' });
    // Another patient's list never holds it.
    const others = await stack.query(psyPatient, MINE, { all: true });
    expect((others.body.data!.myConsents as any[]).map((c) => c.id)).not.toContain(id);
  });

  it('lets a consent lapse by itself at its until', async () => {
    const until = new Date(Date.now() + 1_500).toISOString();
    const { body } = await stack.query(psyPatient, GRANT, {
      input: { providerId: SEEDED.clinician, label: 'PSY', until, idempotencyKey: key() },
    });
    expect(body.errors).toBeUndefined();
    const during = await stack.query(clinician, CONDITIONS, { id: SEEDED.psyPatient });
    expect((during.body.data!.patient as any).consentedLabels).toEqual(['PSY']);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(until) - Date.now() + 50));
    const after = await stack.query(clinician, CONDITIONS, { id: SEEDED.psyPatient });
    expect((after.body.data!.patient as any).conditions.map((c: any) => c.sensitivity)).not.toContain('PSY');
    expect((after.body.data!.patient as any).consentedLabels).toEqual([]);
  });

  it('refuses consent management to anyone but the patient, and records the refusal', async () => {
    for (const caller of [clinician, scheduler, billing, breakGlass]) {
      const grant = await stack.query(caller, GRANT, { input: { providerId: SEEDED.clinician, label: 'ETH', idempotencyKey: key() } });
      expect(grant.body.data?.grantConsent ?? null).toBeNull();
      expect(codes(grant).length).toBeGreaterThan(0);
      expect(codes(grant).every((code) => code === 'FORBIDDEN' || code === 'UNAUTHORIZED_FIELD_OR_TYPE')).toBe(true);
      const mine = await stack.query(caller, MINE, {});
      expect(mine.body.data?.myConsents ?? null).toBeNull();
    }
    expect(await stack.db.prisma.consent.count({ where: { label: 'ETH', providerId: SEEDED.clinician, revokedAt: null } })).toBe(0);
  });

  it('answers another patient’s consent exactly as one that does not exist', async () => {
    const { body } = await stack.query(patient, GRANT, { input: { providerId: SEEDED.clinician, label: 'GDIS', idempotencyKey: key() } });
    const id = (body.data!.grantConsent as any).id;
    const foreign = await stack.query(psyPatient, REVOKE, { id });
    const missing = await stack.query(psyPatient, REVOKE, { id: 'cns-does-not-exist' });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(codes(missing)).toEqual(['NOT_FOUND']);
    expect(foreign.body.errors![0]!.message.replace(id, 'X')).toBe(missing.body.errors![0]!.message.replace('cns-does-not-exist', 'X'));
    expect((await stack.db.prisma.consent.findUniqueOrThrow({ where: { id } })).revokedAt).toBeNull();
  });

  it('checks its input, naming the argument', async () => {
    const past = await stack.query(patient, GRANT, {
      input: { providerId: SEEDED.clinician, label: 'PSY', until: '2020-01-01T00:00:00Z', idempotencyKey: key() },
    });
    expect(codes(past)).toEqual(['BAD_USER_INPUT']);
    expect(past.body.errors![0]!.extensions?.argument ?? past.body.errors![0]!.message).toMatch(/input\.until/);
    const noProvider = await stack.query(patient, GRANT, { input: { providerId: 'prv-missing', label: 'PSY', idempotencyKey: key() } });
    expect(codes(noProvider)).toEqual(['NOT_FOUND']);
    const badKey = await stack.query(patient, GRANT, { input: { providerId: SEEDED.clinician, label: 'PSY', idempotencyKey: 'short' } });
    expect(codes(badKey)).toEqual(['BAD_USER_INPUT']);
    const badLabel = await stack.query(patient, GRANT, { input: { providerId: SEEDED.clinician, label: 'NONE', idempotencyKey: key() } });
    expect(badLabel.status).toBe(400);
    expect(codes(badLabel)).toEqual(['BAD_USER_INPUT']);
  });

  it('does a grant once for concurrent retries with one key, and refuses the key for another grant', async () => {
    const input = { providerId: SEEDED.otherClinician, label: 'ETH', idempotencyKey: key() };
    const answers = await Promise.all(Array.from({ length: 6 }, () => stack.query(psyPatient, GRANT, { input })));
    for (const answer of answers) expect(answer.body.errors).toBeUndefined();
    const ids = new Set(answers.map((answer) => (answer.body.data!.grantConsent as any).id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    const events = (await written('Consent', SEEDED.psyPatient)).filter((e) => e.resourceIds.includes(id as string));
    expect(events).toHaveLength(1);
    const reused = await stack.query(psyPatient, GRANT, { input: { ...input, label: 'HIV' } });
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(
      await stack.db.prisma.consent.count({ where: { patientId: SEEDED.psyPatient, providerId: SEEDED.otherClinician, label: 'HIV' } }),
    ).toBe(0);
  });
});

describe('contact details: the patient themself and the front desk', () => {
  it('changes the patient’s own contact details, seen at once, audited as a write', async () => {
    const { body } = await stack.query(patient, CONTACT, {
      input: {
        phone: '+1 (555) 010-2030',
        email: 'new.address@example.org',
        address: { line: '1 Harbor Way', city: 'Portland', state: 'or', postalCode: '97201' },
      },
      key: key(),
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!.updateMyContact).toMatchObject({
      id: SEEDED.patient,
      phone: '+1 (555) 010-2030',
      email: 'new.address@example.org',
      address: { line: '1 Harbor Way', city: 'Portland', state: 'OR', postalCode: '97201' },
    });
    // Every view of the patient, cached or not, shows it on the next request.
    const seenBySelf = await stack.query(patient, '{ me { phone email } }');
    expect(seenBySelf.body.data!.me).toEqual({ phone: '+1 (555) 010-2030', email: 'new.address@example.org' });
    const seenByDesk = await stack.query(scheduler, `{ patient(id: "${SEEDED.patient}") { phone } }`);
    expect((seenByDesk.body.data!.patient as any).phone).toBe('+1 (555) 010-2030');
    const [event] = (await written('Patient', SEEDED.patient)).slice(-1);
    expect(event).toMatchObject({ patientId: SEEDED.patient, resourceIds: [SEEDED.patient] });
    expect(event!.fieldPaths).toEqual(['Mutation.updateMyContact', 'Patient.address', 'Patient.email', 'Patient.phone']);
    // A field set to null is cleared; the ones left out are kept.
    const cleared = await stack.query(patient, CONTACT, { input: { address: { state: null } } });
    expect((cleared.body.data!.updateMyContact as any).address).toEqual({
      line: '1 Harbor Way',
      city: 'Portland',
      state: null,
      postalCode: '97201',
    });
  });

  it('lets the front desk change any patient’s contact details, and nobody else', async () => {
    const UPDATE = 'mutation($id: ID!, $input: ContactInput!) { updateContact(patientId: $id, input: $input) { id phone } }';
    const desk = await stack.query(scheduler, UPDATE, { id: SEEDED.psyPatient, input: { phone: '+1-555-0199' } });
    expect(desk.body.errors).toBeUndefined();
    expect(desk.body.data!.updateContact).toEqual({ id: SEEDED.psyPatient, phone: '+1-555-0199' });
    for (const caller of [patient, clinician, billing, breakGlass]) {
      const refused = await stack.query(caller, UPDATE, { id: SEEDED.psyPatient, input: { phone: '+1-555-0100' } });
      expect(refused.body.data?.updateContact ?? null).toBeNull();
      expect(codes(refused).every((code) => code === 'FORBIDDEN' || code === 'UNAUTHORIZED_FIELD_OR_TYPE')).toBe(true);
    }
    expect((await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.psyPatient } })).phone).toBe('+1-555-0199');
    const missing = await stack.query(scheduler, UPDATE, { id: 'pat-999999', input: { phone: '+1-555-0100' } });
    expect(codes(missing)).toEqual(['NOT_FOUND']);
  });

  it.each([
    [{ phone: 'call me maybe' }, 'input.phone'],
    [{ phone: '+1 555' }, 'input.phone'],
    [{ email: 'not-an-address' }, 'input.email'],
    [{ address: { state: 'Oregon' } }, 'input.address.state'],
    [{ address: { postalCode: '9720' } }, 'input.address.postalCode'],
    [{ address: { line: 'x'.repeat(201) } }, 'input.address.line'],
    [{}, 'input'],
  ])('refuses %j with BAD_USER_INPUT naming %s, and changes nothing', async (input, argument) => {
    const before = await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } });
    const response = await stack.query(patient, CONTACT, { input });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain(argument);
    expect(await stack.db.prisma.patient.findUniqueOrThrow({ where: { id: SEEDED.patient } })).toEqual(before);
  });
});

describe('clinical writes: a clinician on the care team, treating', () => {
  it('records vital signs that show at once in the chart and in the patient’s access log', async () => {
    const effectiveAt = new Date(Date.now() - 60_000).toISOString();
    const { body } = await stack.query(clinician, VITALS, {
      input: {
        patientId: SEEDED.patient,
        effectiveAt,
        readings: [
          { code: '8867-4', value: 188, unit: '/min' },
          { code: '8310-5', value: 39.4, unit: 'Cel' },
        ],
        idempotencyKey: key(),
      },
    });
    expect(body.errors).toBeUndefined();
    const observations = (body.data!.recordVitals as any).observations as { id: string; value: number }[];
    expect(observations.map((o) => o.value)).toEqual([188, 39.4]);
    const chart = await stack.query(clinician, `{ patient(id: "${SEEDED.patient}") { vitals(last: 2) { id value } } }`);
    expect((chart.body.data!.patient as any).vitals.map((v: any) => v.id).sort()).toEqual(observations.map((o) => o.id).sort());
    const own = await stack.query(patient, '{ me { vitals(last: 2) { value } } }');
    expect((own.body.data!.me as any).vitals.map((v: any) => v.value).sort()).toEqual([188, 39.4].sort());
    const log = await stack.query(patient, '{ myAccessLog(first: 20) { edges { node { actor outcome resourceType resourceIds } } } }');
    const entries = (log.body.data!.myAccessLog as any).edges.map((e: any) => e.node);
    expect(entries).toContainEqual(
      expect.objectContaining({
        actor: SEEDED.clinician,
        outcome: 'WRITTEN',
        resourceType: 'Observation',
        resourceIds: observations.map((o) => o.id).sort(),
      }),
    );
  });

  it('adds an allergy with the label the writer sets, hidden from a clinician without consent', async () => {
    const { body } = await stack.query(clinician, ALLERGY, {
      input: {
        patientId: SEEDED.psyPatient,
        code: '387406002',
        display: 'Sulfonamide',
        reaction: 'Rash',
        severity: 'MODERATE',
        criticality: 'UNABLE_TO_ASSESS',
        sensitivity: 'PSY',
        confidentiality: 'R',
        idempotencyKey: key(),
      },
    });
    expect(body.errors).toBeUndefined();
    const allergy = (body.data!.addAllergy as any).allergy;
    expect(allergy).toMatchObject({
      code: { code: '387406002' },
      severity: 'moderate',
      criticality: 'unable-to-assess',
      sensitivity: 'PSY',
    });
    const self = await stack.query(psyPatient, '{ me { allergies { id } } }');
    expect((self.body.data!.me as any).allergies.map((a: any) => a.id)).toContain(allergy.id);
    // The writer's own later reads follow the patient's consent like any other labelled row.
    const writer = await stack.query(clinician, `{ patient(id: "${SEEDED.psyPatient}") { allergies { id } } }`);
    expect((writer.body.data!.patient as any).allergies.map((a: any) => a.id)).not.toContain(allergy.id);
    const [event] = (await written('Allergy', SEEDED.clinician)).slice(-1);
    expect(event).toMatchObject({ patientId: SEEDED.psyPatient, resourceIds: [allergy.id], actorRole: 'CLINICIAN', purpose: 'TREAT' });
  });

  it('writes once for concurrent retries with one key', async () => {
    const input = { patientId: SEEDED.patient, readings: [{ code: '8480-6', value: 131, unit: 'mm[Hg]' }], idempotencyKey: key() };
    const answers = await Promise.all(Array.from({ length: 6 }, () => stack.query(clinician, VITALS, { input })));
    for (const answer of answers) expect(answer.body.errors).toBeUndefined();
    const ids = new Set(answers.map((answer) => (answer.body.data!.recordVitals as any).observations[0].id));
    expect(ids.size).toBe(1);
    expect(await stack.db.prisma.observation.count({ where: { id: { in: [...ids] as string[] } } })).toBe(1);
    const events = (await written('Observation', SEEDED.clinician)).filter((e) => e.resourceIds.includes([...ids][0] as string));
    expect(events).toHaveLength(1);
    const reused = await stack.query(clinician, VITALS, {
      input: { ...input, readings: [{ code: '8480-6', value: 132, unit: 'mm[Hg]' }] },
    });
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
  });

  it('refuses clinicians off the care team (as not found), break-glass and other roles, recording each refusal', async () => {
    const input = () => ({ patientId: SEEDED.patient, readings: [{ code: '8867-4', value: 70, unit: '/min' }], idempotencyKey: key() });
    const off = await stack.query(outsider, VITALS, { input: input() });
    expect(codes(off)).toEqual(['NOT_FOUND']);
    for (const caller of [breakGlass, patient, scheduler, billing, { ...clinician, purpose: 'ETREAT' as const }]) {
      const refused = await stack.query(caller, VITALS, { input: input() });
      expect(refused.body.data?.recordVitals ?? null).toBeNull();
      expect(codes(refused).every((code) => code === 'FORBIDDEN' || code === 'UNAUTHORIZED_FIELD_OR_TYPE')).toBe(true);
    }
    const denied = await stack.db.prisma.auditEvent.findMany({
      where: { outcome: 'DENIED', actorSub: SEEDED.otherClinician, patientId: SEEDED.patient },
    });
    expect(denied.some((e) => e.fieldPaths.includes('Mutation.recordVitals'))).toBe(true);
  });

  it.each([
    [{ readings: [{ code: '8867-4', value: 72, unit: 'bpm' }] }, 'input.readings[0].unit'],
    [{ readings: [{ code: '8867-4', value: 720, unit: '/min' }] }, 'input.readings[0].value'],
    [{ readings: [{ code: '1234-5', value: 1, unit: '/min' }] }, 'input.readings[0].code'],
    [
      {
        readings: [
          { code: '8867-4', value: 70, unit: '/min' },
          { code: '8867-4', value: 71, unit: '/min' },
        ],
      },
      'input.readings[1].code',
    ],
    [{ readings: [] }, 'input.readings'],
    [{ effectiveAt: new Date(Date.now() + 86_400_000).toISOString() }, 'input.effectiveAt'],
    [{ effectiveAt: '2020-01-01T00:00:00Z' }, 'input.effectiveAt'],
  ])('refuses vitals %j with BAD_USER_INPUT naming %s, and writes nothing', async (override, argument) => {
    const before = await stack.db.prisma.observation.count({ where: { patientId: SEEDED.patient } });
    const response = await stack.query(clinician, VITALS, {
      input: { patientId: SEEDED.patient, readings: [{ code: '8867-4', value: 72, unit: '/min' }], idempotencyKey: key(), ...override },
    });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain(argument);
    expect(await stack.db.prisma.observation.count({ where: { patientId: SEEDED.patient } })).toBe(before);
  });

  it.each([
    [{ code: '91936004' }, 'input.code'],
    [{ code: 'penicillin' }, 'input.code'],
    [{ code: '0091936005' }, 'input.code'],
    [{ display: '   ' }, 'input.display'],
    [{ reaction: 'r'.repeat(201) }, 'input.reaction'],
  ])('refuses allergy %j with BAD_USER_INPUT naming %s', async (override, argument) => {
    const response = await stack.query(clinician, ALLERGY, {
      input: { patientId: SEEDED.patient, code: '91936005', display: 'Penicillin', idempotencyKey: key(), ...override },
    });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors![0]!.message).toContain(argument);
  });
});
