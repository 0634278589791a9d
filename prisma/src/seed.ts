import type { PrismaClient } from './generated/prisma/client.js';

/** Options of the seed generator; the same options always give the same rows and ids. */
export interface SeedOptions {
  patients?: number;
  providers?: number;
  appointmentsPerPatient?: number;
  seed?: number;
  /** The day the data is centred on: appointments run from 180 days before to 90 days after. */
  anchor?: Date;
}

/** Ids that are always present, whatever the size, for documentation and tests. */
export const SEEDED = {
  /** A clinician (family medicine) whose care team includes `patient`. */
  clinician: 'prv-0001',
  /** A patient on `clinician`'s care team, with allergies, medications, vitals and appointments. */
  patient: 'pat-000001',
  /** A patient on `clinician`'s care team with a PSY-labelled condition and no consent for it. */
  psyPatient: 'pat-000002',
  /** A clinician who is not on the care team of `patient` or `psyPatient`. */
  otherClinician: 'prv-0002',
} as const;

export const DEFAULT_ANCHOR = new Date('2026-11-02T00:00:00Z');

/** mulberry32: a small deterministic PRNG, so seeds reproduce across machines and Node versions. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const DAY = 86_400_000;

const GIVEN = [
  'Ava',
  'Liam',
  'Olivia',
  'Noah',
  'Emma',
  'Mateo',
  'Sofia',
  'Lucas',
  'Amara',
  'Kenji',
  'Priya',
  'Omar',
  'Chloe',
  'Diego',
  'Hana',
  'Ivan',
  'Zara',
  'Elijah',
  'Mei',
  'Tomas',
  'Nia',
  'Yusuf',
  'Grace',
  'Arjun',
  'Leila',
  'Felix',
  'Ines',
  'Samuel',
  'Aisha',
  'Jonas',
];
const FAMILY = [
  'Garcia',
  'Smith',
  'Nguyen',
  'Okafor',
  'Muller',
  'Rossi',
  'Kim',
  'Patel',
  'Haddad',
  'Kowalski',
  'Silva',
  'Johnson',
  'Tanaka',
  'Cohen',
  'Dubois',
  'Ivanova',
  'Mensah',
  'Larsen',
  'Reyes',
  'Novak',
  'Brown',
  'Ali',
  'Chen',
  'Fischer',
  'Moreau',
  'Singh',
  'Lopez',
  'Walker',
  'Sato',
  'Abebe',
];
const SPECIALTIES: readonly [string, string][] = [
  ['Family Medicine', 'Primary Care'],
  ['Internal Medicine', 'Primary Care'],
  ['Cardiology', 'Heart Center'],
  ['Psychiatry', 'Behavioral Health'],
  ['Endocrinology', 'Medicine'],
  ['Infectious Disease', 'Medicine'],
  ['Pediatrics', 'Children'],
  ['Dermatology', 'Outpatient'],
  ['Oncology', 'Cancer Center'],
  ['Medical Genetics', 'Genomics'],
];
const CITIES: readonly [string, string, string][] = [
  ['Springfield', 'IL', '627'],
  ['Riverton', 'WY', '825'],
  ['Fairview', 'OR', '970'],
  ['Madison', 'WI', '537'],
  ['Salem', 'MA', '019'],
];
const STREETS = ['Oak St', 'Maple Ave', 'Cedar Ln', 'Elm St', 'Pine Rd', 'Lakeview Dr', 'Hillcrest Ave', 'Main St'];
const BLOOD = ['O+', 'O+', 'A+', 'A+', 'B+', 'O-', 'A-', 'AB+', 'B-', 'AB-'];
const ALLERGENS: readonly [string, string, string][] = [
  ['91936005', 'Penicillin', 'Hives'],
  ['300916003', 'Latex', 'Rash'],
  ['91935009', 'Peanut', 'Anaphylaxis'],
  ['294505008', 'Amoxicillin', 'Rash'],
  ['418689008', 'Grass pollen', 'Rhinitis'],
  ['387406002', 'Sulfonamide', 'Hives'],
  ['227493005', 'Cashew nut', 'Swelling'],
];
const MEDS: readonly [string, string, string][] = [
  ['197361', 'Amlodipine 5 MG Oral Tablet', '5 mg daily'],
  ['860975', 'Metformin 500 MG Oral Tablet', '500 mg twice daily'],
  ['314076', 'Lisinopril 10 MG Oral Tablet', '10 mg daily'],
  ['617314', 'Atorvastatin 10 MG Oral Tablet', '10 mg nightly'],
  ['310965', 'Ibuprofen 200 MG Oral Tablet', '200 mg as needed'],
  ['966247', 'Levothyroxine 50 MCG Oral Tablet', '50 mcg daily'],
];
const LABELLED_MEDS: Record<'ETH' | 'PSY' | 'HIV', [string, string, string]> = {
  ETH: ['1010600', 'Buprenorphine 8 MG / Naloxone 2 MG Sublingual Film', '1 film daily'],
  PSY: ['312938', 'Sertraline 50 MG Oral Tablet', '50 mg daily'],
  HIV: ['1999663', 'Bictegravir / Emtricitabine / Tenofovir Alafenamide Oral Tablet', '1 tablet daily'],
};
const CONDITIONS: readonly [string, string][] = [
  ['38341003', 'Essential hypertension'],
  ['44054006', 'Type 2 diabetes mellitus'],
  ['195967001', 'Asthma'],
  ['55822004', 'Hyperlipidemia'],
  ['40930008', 'Hypothyroidism'],
  ['239873007', 'Osteoarthritis of knee'],
];
const LABELLED_CONDITIONS: Record<'ETH' | 'PSY' | 'HIV' | 'GDIS', [string, string]> = {
  ETH: ['7200002', 'Alcohol use disorder'],
  PSY: ['35489007', 'Major depressive disorder'],
  HIV: ['86406008', 'Human immunodeficiency virus infection'],
  GDIS: ['412734009', 'BRCA1 gene mutation positive'],
};
const VITALS: readonly [string, string, string, number, number][] = [
  ['8867-4', 'Heart rate', '/min', 55, 100],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 105, 150],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 60, 95],
  ['8310-5', 'Body temperature', 'Cel', 36.1, 37.8],
  ['29463-7', 'Body weight', 'kg', 50, 110],
];
const REASONS = [
  'Annual physical',
  'Follow-up visit',
  'Blood pressure check',
  'Medication review',
  'New symptoms',
  'Lab results review',
  'Vaccination',
];
const LABELS = ['ETH', 'PSY', 'HIV', 'GDIS'] as const;

type Row = Record<string, unknown>;

/** Builds every row in memory, deterministically, without touching the database. */
export function generateSeed({
  patients = 2000,
  providers,
  appointmentsPerPatient = 10,
  seed = 42,
  anchor = DEFAULT_ANCHOR,
}: SeedOptions = {}) {
  const rand = prng(seed);
  const providerCount = Math.max(10, providers ?? Math.round(patients * 0.075));
  const rows = {
    provider: [] as Row[],
    availability: [] as Row[],
    patient: [] as Row[],
    careTeam: [] as Row[],
    appointment: [] as Row[],
    allergy: [] as Row[],
    medication: [] as Row[],
    condition: [] as Row[],
    observation: [] as Row[],
    note: [] as Row[],
    consent: [] as Row[],
  };
  const anchorMs = Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate());
  const providerIds: string[] = [];
  for (let i = 1; i <= providerCount; i++) {
    const id = `prv-${pad(i, 4)}`;
    // The first two are family physicians so the documented ids behave the same at every size.
    const [specialty, department] = i <= 2 ? SPECIALTIES[0]! : rand.pick(SPECIALTIES);
    providerIds.push(id);
    rows.provider.push({
      id,
      npi: `1${pad(100000000 + i * 7919, 9)}`,
      givenName: rand.pick(GIVEN),
      familyName: rand.pick(FAMILY),
      specialty,
      department,
      acceptingNewPatients: rand.chance(0.8),
    });
    for (let weekday = 1; weekday <= 5; weekday++) {
      rows.availability.push({
        id: `avl-${pad(i, 4)}-${weekday}`,
        providerId: id,
        weekday,
        startMinute: 9 * 60,
        endMinute: 17 * 60,
        slotMinutes: 30,
        validFrom: new Date(anchorMs - 365 * DAY),
        validTo: null,
      });
    }
  }
  const taken = new Set<string>();
  let appointmentSeq = 0;
  let clinicalSeq = 0;
  const clinicalId = (prefix: string) => `${prefix}-${pad(++clinicalSeq, 7)}`;
  for (let i = 1; i <= patients; i++) {
    const id = `pat-${pad(i, 6)}`;
    const [city, state, zip] = rand.pick(CITIES);
    const givenName = rand.pick(GIVEN);
    const familyName = rand.pick(FAMILY);
    const birth = new Date(Date.UTC(rand.int(1935, 2022), rand.int(0, 11), rand.int(1, 28)));
    rows.patient.push({
      id,
      mrn: `MRN${pad(i * 37 + 100000, 8)}`,
      givenName,
      familyName,
      birthDate: birth,
      sex: rand.pick(['female', 'male', 'female', 'male', 'other']),
      phone: `+1-555-${pad(rand.int(0, 9999), 4)}`,
      email: `${givenName}.${familyName}${i}@example.org`.toLowerCase(),
      addressLine: `${rand.int(1, 9999)} ${rand.pick(STREETS)}`,
      city,
      state,
      postalCode: `${zip}${pad(rand.int(0, 99), 2)}`,
      bloodType: rand.pick(BLOOD),
    });
    // Care team: a primary physician plus up to two others; the documented patients belong to SEEDED.clinician.
    const primary = i <= 2 ? SEEDED.clinician : i <= 4 ? SEEDED.otherClinician : rand.pick(providerIds);
    const team = [primary];
    for (let k = rand.int(0, 2); k > 0; k--) {
      const other = rand.pick(providerIds);
      if (!team.includes(other) && !(i <= 2 && other === SEEDED.otherClinician)) team.push(other);
    }
    team.forEach((providerId, index) => {
      rows.careTeam.push({
        id: `ctm-${pad(i, 6)}-${index}`,
        patientId: id,
        providerId,
        role: index === 0 ? 'PRIMARY' : rand.pick(['ATTENDING', 'CONSULTING', 'NURSE']),
        periodStart: new Date(anchorMs - rand.int(30, 2000) * DAY),
        periodEnd: null,
      });
    });
    for (let k = 0; k < appointmentsPerPatient; k++) {
      // Visits are with the care team: that relationship is what lets the clinician see the patient.
      const providerId = rand.pick(team);
      let start: number;
      do {
        let day = anchorMs + rand.int(-180, 90) * DAY;
        const weekday = new Date(day).getUTCDay();
        if (weekday === 0) day += DAY;
        if (weekday === 6) day += 2 * DAY;
        start = day + (9 * 60 + 30 * rand.int(0, 15)) * 60_000;
      } while (taken.has(`${providerId}@${start}`));
      taken.add(`${providerId}@${start}`);
      const past = start < anchorMs;
      const status = past
        ? rand.pick(['FULFILLED', 'FULFILLED', 'FULFILLED', 'NOSHOW', 'CANCELLED'] as const)
        : rand.pick(['BOOKED', 'BOOKED', 'BOOKED', 'CANCELLED'] as const);
      rows.appointment.push({
        id: `apt-${pad(++appointmentSeq, 7)}`,
        patientId: id,
        providerId,
        start: new Date(start),
        end: new Date(start + 30 * 60_000),
        status,
        reason: rand.pick(REASONS),
        activeStart: status === 'CANCELLED' ? null : new Date(start),
        cancelledAt: status === 'CANCELLED' ? new Date(start - 2 * DAY) : null,
      });
    }
    const recorded = () => new Date(anchorMs - rand.int(1, 3000) * DAY);
    const confidentiality = () => (rand.chance(0.03) ? 'R' : 'N');
    for (let k = rand.int(i === 1 ? 2 : 0, 3); k > 0; k--) {
      const [code, display, reaction] = rand.pick(ALLERGENS);
      rows.allergy.push({
        id: clinicalId('alg'),
        patientId: id,
        code,
        display,
        reaction,
        severity: rand.pick(['mild', 'moderate', 'severe']),
        criticality: rand.pick(['low', 'high']),
        recordedAt: recorded(),
        sensitivity: 'NONE',
        confidentiality: 'N',
      });
    }
    for (let k = rand.int(1, 4); k > 0; k--) {
      const [code, display, dosage] = rand.pick(MEDS);
      rows.medication.push({
        id: clinicalId('med'),
        patientId: id,
        code,
        display,
        dosage,
        status: rand.pick(['active', 'active', 'completed']),
        startedAt: recorded(),
        sensitivity: 'NONE',
        confidentiality: confidentiality(),
      });
    }
    for (let k = rand.int(1, 3); k > 0; k--) {
      const [code, display] = rand.pick(CONDITIONS);
      rows.condition.push({
        id: clinicalId('cnd'),
        patientId: id,
        code,
        display,
        clinicalStatus: rand.pick(['active', 'active', 'resolved']),
        onsetDate: recorded(),
        sensitivity: 'NONE',
        confidentiality: confidentiality(),
      });
    }
    // About one patient in eight carries a labelled diagnosis (and often its medication and a note).
    const label = i === 2 ? 'PSY' : i === 1 ? null : rand.chance(0.12) ? rand.pick(LABELS) : null;
    if (label) {
      const [code, display] = LABELLED_CONDITIONS[label];
      rows.condition.push({
        id: clinicalId('cnd'),
        patientId: id,
        code,
        display,
        clinicalStatus: 'active',
        onsetDate: recorded(),
        sensitivity: label,
        confidentiality: 'R',
      });
      if (label !== 'GDIS') {
        const [mcode, mdisplay, dosage] = LABELLED_MEDS[label];
        rows.medication.push({
          id: clinicalId('med'),
          patientId: id,
          code: mcode,
          display: mdisplay,
          dosage,
          status: 'active',
          startedAt: recorded(),
          sensitivity: label,
          confidentiality: 'R',
        });
      }
      rows.note.push({
        id: clinicalId('not'),
        patientId: id,
        authorId: team[0],
        title: `${display}: treatment plan`,
        text: `Plan of care for ${display.toLowerCase()}; reviewed with patient.`,
        createdAt: recorded(),
        sensitivity: label,
        confidentiality: 'R',
      });
      // Half of them consented to share the label with their primary physician (never the documented PSY patient).
      if (i !== 2 && rand.chance(0.5)) {
        rows.consent.push({ id: `cns-${pad(i, 6)}`, patientId: id, providerId: team[0], label, grantedAt: recorded(), revokedAt: null });
      }
    }
    for (let visit = 0; visit < 2; visit++) {
      const effectiveAt = new Date(anchorMs - (visit * 120 + rand.int(1, 100)) * DAY);
      for (const [code, display, unit, low, high] of VITALS) {
        rows.observation.push({
          id: clinicalId('obs'),
          patientId: id,
          code,
          display,
          value: Math.round((low + rand.next() * (high - low)) * 10) / 10,
          unit,
          effectiveAt,
          sensitivity: 'NONE',
          confidentiality: 'N',
        });
      }
    }
    for (let k = rand.int(0, 2); k > 0; k--) {
      rows.note.push({
        id: clinicalId('not'),
        patientId: id,
        authorId: rand.pick(team),
        title: rand.pick(REASONS),
        text: 'Patient seen; vitals stable; continue current plan.',
        createdAt: recorded(),
        sensitivity: 'NONE',
        confidentiality: 'N',
      });
    }
  }
  return rows;
}

/** Table names in foreign-key order, children last. */
const TABLES = [
  'Provider',
  'ProviderAvailability',
  'Patient',
  'CareTeamMember',
  'Appointment',
  'Allergy',
  'Medication',
  'Condition',
  'Observation',
  'ClinicalNote',
  'Consent',
] as const;

/** Replaces every row with a freshly generated data set, in one transaction. Returns row counts. */
export async function seedDatabase(prisma: PrismaClient, options: SeedOptions = {}): Promise<Record<string, number>> {
  const rows = generateSeed(options);
  const batches: [string, Row[], (data: Row[]) => Promise<unknown>][] = [];
  await prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`TRUNCATE ${[...TABLES, 'AuditEvent'].map((t) => `"${t}"`).join(', ')} CASCADE`);
      batches.push(
        ['Provider', rows.provider, (data) => tx.provider.createMany({ data: data as never })],
        ['ProviderAvailability', rows.availability, (data) => tx.providerAvailability.createMany({ data: data as never })],
        ['Patient', rows.patient, (data) => tx.patient.createMany({ data: data as never })],
        ['CareTeamMember', rows.careTeam, (data) => tx.careTeamMember.createMany({ data: data as never })],
        ['Appointment', rows.appointment, (data) => tx.appointment.createMany({ data: data as never })],
        ['Allergy', rows.allergy, (data) => tx.allergy.createMany({ data: data as never })],
        ['Medication', rows.medication, (data) => tx.medication.createMany({ data: data as never })],
        ['Condition', rows.condition, (data) => tx.condition.createMany({ data: data as never })],
        ['Observation', rows.observation, (data) => tx.observation.createMany({ data: data as never })],
        ['ClinicalNote', rows.note, (data) => tx.clinicalNote.createMany({ data: data as never })],
        ['Consent', rows.consent, (data) => tx.consent.createMany({ data: data as never })],
      );
      for (const [, data, insert] of batches) {
        for (let offset = 0; offset < data.length; offset += 2000) await insert(data.slice(offset, offset + 2000));
      }
    },
    { timeout: 600_000, maxWait: 60_000 },
  );
  return Object.fromEntries(batches.map(([table, data]) => [table, data.length]));
}

/** True when the database holds no patients yet (first start of the embedded default). */
export async function isEmpty(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.patient.count()) === 0;
}
