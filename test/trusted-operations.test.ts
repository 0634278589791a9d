import { SEEDED } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Every trusted operation, run by id (as the portals run them, in safelist mode) as each caller
 * that uses it: none may have a field its caller's scopes refuse, none may fail. A trusted
 * operation a role cannot run whole is a portal screen that breaks in production.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const manifest = { operations: [...new TrustedOperations(DEFAULT_MANIFEST_PATH).operations] };
const clinician: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician };
const patient: Caller = { role: 'PATIENT', sub: SEEDED.patient };
const scheduler: Caller = { role: 'SCHEDULER', sub: 'staff-scheduler-1' };
const billing: Caller = { role: 'BILLING', sub: 'staff-billing-1' };
const auditor: Caller = { role: 'AUDITOR', sub: 'staff-auditor-1' };
const breakGlass: Caller = {
  role: 'CLINICIAN',
  sub: SEEDED.otherClinician,
  purpose: 'BTG',
  reason: 'Unconscious, brought in by ambulance',
};
const emergency: Caller = { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'ETREAT' };

const week = () => {
  const from = new Date(Date.now() + 2 * 86_400_000);
  return { from: from.toISOString(), to: new Date(from.getTime() + 7 * 86_400_000).toISOString() };
};

/** Who uses each trusted operation, with the variables it is run with. */
const USES: Record<string, { callers: Caller[]; variables: () => Promise<Record<string, unknown>> | Record<string, unknown> }> = {
  AddAllergy: {
    callers: [clinician],
    variables: () => ({
      input: { patientId: SEEDED.patient, code: '91936005', display: 'Penicillin', reaction: 'Hives', idempotencyKey: key() },
    }),
  },
  AuditTrail: { callers: [auditor], variables: () => ({ patientId: SEEDED.patient, first: 5 }) },
  AvailableSlots: { callers: [patient, scheduler], variables: () => ({ provider: SEEDED.clinician, ...week() }) },
  BillingAppointments: { callers: [billing], variables: () => ({ id: SEEDED.patient, first: 5 }) },
  BookAppointment: { callers: [patient, scheduler], variables: async () => ({ input: await bookable() }) },
  CancelAppointment: { callers: [patient, scheduler], variables: async () => ({ id: await booked() }) },
  GrantConsent: {
    callers: [patient],
    variables: () => ({ input: { providerId: SEEDED.clinician, label: 'PSY', idempotencyKey: key() } }),
  },
  CareTeamPanel: { callers: [clinician], variables: () => ({ first: 20, from: '2026-01-01T00:00:00.000Z' }) },
  ClinicianPanel: { callers: [clinician], variables: () => ({ first: 10 }) },
  DaySchedule: { callers: [clinician, scheduler], variables: () => ({ provider: SEEDED.clinician, date: '2026-11-02' }) },
  EmergencyChart: { callers: [breakGlass, emergency, clinician], variables: () => ({ id: SEEDED.psyPatient }) },
  MyAccessLog: { callers: [patient], variables: () => ({ first: 5 }) },
  MyConsents: { callers: [patient], variables: () => ({ includeInactive: true }) },
  MyAppointments: { callers: [patient], variables: () => ({ first: 5 }) },
  MyRecord: { callers: [patient], variables: () => ({}) },
  PatientChart: { callers: [clinician], variables: () => ({ id: SEEDED.patient }) },
  PatientNotes: { callers: [clinician], variables: () => ({ id: SEEDED.patient, first: 5 }) },
  PatientSummary: { callers: [clinician, scheduler, billing, breakGlass], variables: () => ({ id: SEEDED.patient }) },
  RecordVitals: {
    callers: [clinician],
    variables: () => ({
      input: { patientId: SEEDED.patient, readings: [{ code: '8867-4', value: 72, unit: '/min' }], idempotencyKey: key() },
    }),
  },
  RevokeConsent: { callers: [patient], variables: async () => ({ id: await granted(), idempotencyKey: key() }) },
  SearchPatients: { callers: [scheduler, billing], variables: () => ({ name: 'a', first: 5 }) },
  SearchProviders: {
    callers: [clinician, patient, scheduler, billing, auditor],
    variables: () => ({ specialty: 'Family Medicine', first: 5 }),
  },
  UpdateContact: { callers: [scheduler], variables: () => ({ patientId: SEEDED.patient, input: { phone: '+1-555-0101' } }) },
  UpdateMyContact: { callers: [patient], variables: () => ({ input: { email: 'portal.user@example.org' }, idempotencyKey: key() }) },
};

let keys = 0;
const key = () => `trusted-${Date.now()}-${++keys}`;
/** A fresh consent of the seeded patient, to revoke. */
async function granted() {
  const { body } = await stack.query(patient, 'mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }', {
    input: { providerId: SEEDED.otherClinician, label: 'HIV', idempotencyKey: key() },
  });
  return (body.data!.grantConsent as { id: string }).id;
}
/** A free slot of the seeded clinician, as booking input. */
async function bookable() {
  const { body } = await stack.query(
    scheduler,
    `query($from: DateTime!, $to: DateTime!) { provider(id: "${SEEDED.clinician}") { availableSlots(from: $from, to: $to) { start } } }`,
    week(),
  );
  const slots = (body.data!.provider as { availableSlots: { start: string }[] }).availableSlots;
  return {
    patientId: SEEDED.patient,
    providerId: SEEDED.clinician,
    start: slots[keys % slots.length]!.start,
    idempotencyKey: key(),
  };
}
/** A fresh booking of the seeded patient, to cancel. */
async function booked() {
  const { body } = await stack.query(scheduler, 'mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', {
    input: await bookable(),
  });
  return (body.data!.bookAppointment as { id: string }).id;
}

describe('the trusted operations, each run whole by every caller that uses it', () => {
  it('declares a use for every operation in the manifest', () => {
    expect(manifest.operations.map((o) => o.name).sort()).toEqual(Object.keys(USES).sort());
  });

  for (const [name, use] of Object.entries(USES)) {
    for (const caller of use.callers) {
      it(`${name} as ${caller.role}${caller.purpose ? ` (${caller.purpose})` : ''}`, async () => {
        const operation = manifest.operations.find((o) => o.name === name)!;
        const response = await fetch(stack.gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.token(caller)}` },
          body: JSON.stringify({
            operationName: name,
            variables: await use.variables(),
            extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } },
          }),
        });
        const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
        expect(body.errors ?? []).toEqual([]);
        expect(body.data).toBeTruthy();
      });
    }
  }
});
