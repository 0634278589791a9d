import type { PrismaClient } from './generated/prisma/client.js';

/** Options of the seed generator; the same options always give the same rows and ids. */
export interface SeedOptions {
  /** Patients to create (at least 4: the documented ids need them). */
  patients?: number;
  /** Providers; 7.5% of the patients by default, never fewer than 10. */
  providers?: number;
  appointmentsPerPatient?: number;
  seed?: number;
  /** The day the data is centred on: appointments run from 180 days before to 90 days after. */
  anchor?: Date;
  /** Called after every statement: the rows written so far to one table (`done` on its last), then each index or foreign key rebuilt. */
  onProgress?: (progress: SeedProgress) => void;
}

/** What a seed has done so far: rows written to one table, then the indexes and foreign keys rebuilt. */
export type SeedProgress =
  | {
      phase: 'rows';
      table: SeedTable;
      /** Rows written to `table` so far. */
      rows: number;
      /** True once `table` is complete. */
      done: boolean;
      /** Milliseconds since the seed started. */
      elapsedMs: number;
    }
  | { phase: 'indexes'; built: number; total: number; done: boolean; elapsedMs: number };

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

/** Table names in foreign-key order, children last: the order they are written in. */
export const SEED_TABLES = [
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
export type SeedTable = (typeof SEED_TABLES)[number];

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
  'Maya',
  'Ethan',
  'Lena',
  'Kofi',
  'Rosa',
  'Anton',
  'Yara',
  'Hugo',
  'Sana',
  'Milo',
  'Freya',
  'Tariq',
  'Elena',
  'Oscar',
  'Noor',
  'Pablo',
  'Ingrid',
  'Ravi',
  'Clara',
  'Dmitri',
  'Fatima',
  'Luca',
  'Saoirse',
  'Kwame',
  'Astrid',
  'Jamal',
  'Beatriz',
  'Theo',
  'Imani',
  'Viktor',
];
const COMMON_FAMILY = [
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
// Compound surnames give the long tail a real name index has to cope with: rare names next to very common ones.
const FAMILY_STEMS = [
  'Ash',
  'Black',
  'Brad',
  'Brook',
  'Cald',
  'Carr',
  'Craw',
  'Dal',
  'Dun',
  'Ell',
  'Fair',
  'Garn',
  'Hal',
  'Hart',
  'Hol',
  'Kend',
  'Kings',
  'Lang',
  'Lind',
  'Mar',
  'Mill',
  'Moor',
  'North',
  'Oak',
  'Pem',
  'Quen',
  'Rad',
  'Red',
  'Ros',
  'Sher',
  'Stan',
  'Stock',
  'Thorn',
  'Ul',
  'Vane',
  'Wal',
  'Wes',
  'Whit',
  'Wood',
  'Yar',
];
const FAMILY_MIDDLES = ['en', 'ing', 'er', 'ow', 'ey', 'am', 'ar', 'is'];
const FAMILY_ENDINGS = ['ley', 'ton', 'wood', 'field', 'ford', 'well', 'by', 'worth', 'ham', 'ridge', 'stone', 'berg'];
/**
 * Most common first: the generator picks low indexes far more often (see `familyName`), down to
 * about 1 in 9,000 for the last. Written out here for reference; the SQL composes the same names
 * from the parts, since looking one up in a 4,000-element text array costs a walk over the array.
 */
export const FAMILY_NAMES: readonly string[] = [
  ...COMMON_FAMILY,
  ...FAMILY_STEMS.flatMap((stem) => FAMILY_ENDINGS.map((ending) => stem + ending)),
  ...FAMILY_STEMS.flatMap((stem) => FAMILY_MIDDLES.flatMap((middle) => FAMILY_ENDINGS.map((ending) => stem + middle + ending))),
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
const SEXES = ['female', 'male', 'female', 'male', 'other'];
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
const CONDITIONS: readonly [string, string][] = [
  ['38341003', 'Essential hypertension'],
  ['44054006', 'Type 2 diabetes mellitus'],
  ['195967001', 'Asthma'],
  ['55822004', 'Hyperlipidemia'],
  ['40930008', 'Hypothyroidism'],
  ['239873007', 'Osteoarthritis of knee'],
];
const LABELS = ['ETH', 'PSY', 'HIV', 'GDIS'] as const;
/** Per label, in LABELS order: the diagnosis, and its medication (none for a genetic finding). */
const LABELLED_CONDITIONS: readonly [string, string][] = [
  ['7200002', 'Alcohol use disorder'],
  ['35489007', 'Major depressive disorder'],
  ['86406008', 'Human immunodeficiency virus infection'],
  ['412734009', 'BRCA1 gene mutation positive'],
];
const LABELLED_MEDS: readonly ([string, string, string] | null)[] = [
  ['1010600', 'Buprenorphine 8 MG / Naloxone 2 MG Sublingual Film', '1 film daily'],
  ['312938', 'Sertraline 50 MG Oral Tablet', '50 mg daily'],
  ['1999663', 'Bictegravir / Emtricitabine / Tenofovir Alafenamide Oral Tablet', '1 tablet daily'],
  null,
];
/** LOINC code, display, unit, and the range of values in tenths. */
const VITALS: readonly [string, string, string, number, number][] = [
  ['8867-4', 'Heart rate', '/min', 550, 1000],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 1050, 1500],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 600, 950],
  ['8310-5', 'Body temperature', 'Cel', 361, 378],
  ['29463-7', 'Body weight', 'kg', 500, 1100],
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

/** Appointment slots a day (09:00 to 17:00 in 30 minutes, UTC), matching the seeded availability. */
const SLOTS_PER_DAY = 16;
const FIRST_SLOT_MINUTE = 9 * 60;
const SLOT_MINUTES = 30;
const WINDOW_BEFORE_DAYS = 180;
const WINDOW_AFTER_DAYS = 90;
/** Patients per INSERT statement: bounds the work between two progress reports. */
const CHUNK = 100_000;
export const MAX_PATIENTS = 10_000_000;
export const MAX_APPOINTMENTS_PER_PATIENT = 50;

// ---- The hash. Every random-looking choice is a pure function of (seed, stream, row key), computed
// by the database itself with integer arithmetic and bit operators only, so PostgreSQL 15 and PGlite
// (PostgreSQL 18) give the same rows without any row crossing the wire. Built-ins such as hashint4 or
// random() are avoided: their results are not promised to stay the same across versions.

const M32 = 0xffffffffn;

/**
 * A 32-bit integer mixer (two multiply-xorshift rounds, constant 0x45d9f3b): a bijection on
 * [0, 2^32) with good avalanche. The same function as {@link mixSql}, for the values the plan
 * needs in JavaScript.
 */
export function mix32(x: number): number {
  x = ((x >>> 16) ^ x) >>> 0;
  x = Math.imul(x, 0x45d9f3b) >>> 0;
  x = ((x >>> 16) ^ x) >>> 0;
  x = Math.imul(x, 0x45d9f3b) >>> 0;
  return ((x >>> 16) ^ x) >>> 0;
}

/** {@link mix32} as a SQL bigint expression; `x` must already lie in [0, 2^32). Products stay below 2^59, so bigint never overflows. */
function mixSql(x: string): string {
  const round = (v: string) => `((((${v}) >> 16) # (${v})) * 73244475 & 4294967295)`;
  const r2 = round(round(x));
  return `(((${r2}) >> 16) # (${r2}))`;
}

/** The constant that makes one stream of one seed differ from every other. */
function streamConstant(seed: number, stream: number): number {
  return mix32((seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0);
}

/** hash(seed, stream, key) in [0, 2^32) as a SQL bigint expression; `key` is a bigint expression of the row. */
export function hashSql(seed: number, stream: number, key: string): string {
  return mixSql(`((((${key}) & 4294967295) * 1540483477 + ${streamConstant(seed, stream)}) & 4294967295)`);
}

/** {@link hashSql} in JavaScript, for the constants the plan derives from the seed. */
export function hash32(seed: number, stream: number, key: number): number {
  const x0 = Number(((BigInt(key) & M32) * 1540483477n + BigInt(streamConstant(seed, stream))) & M32);
  return mix32(x0);
}

const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;
const textArray = (items: readonly string[]) => `(ARRAY[${items.map(lit).join(', ')}]::text[])`;
const intArray = (items: readonly number[]) => `(ARRAY[${items.join(', ')}]::int[])`;
/** Element `h mod length` of a list, as SQL. */
const pick = (items: readonly string[], h: string) => `${textArray(items)}[1 + ((${h}) % ${items.length})::int]`;
/** Zero-padded to `width` digits, never cut (pat-1000000 follows pat-999999). */
const pad = (n: string, width: number) =>
  `(CASE WHEN (${n}) < ${10 ** width} THEN lpad((${n})::text, ${width}, '0') ELSE (${n})::text END)`;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
/** The first number from `start` upward that is coprime with `n` (so x -> x * it mod n is a permutation). */
function coprime(start: number, n: number): number {
  let a = Math.max(1, start % n);
  while (gcd(a, n) !== 1) a = (a % n) + 1;
  return a;
}

function isoDate(day: Date): string {
  return day.toISOString().slice(0, 10);
}

/** One statement of a seed: the table it writes and its SQL. */
export interface SeedStep {
  table: SeedTable;
  sql: string;
}

export interface SeedPlan {
  patients: number;
  providers: number;
  appointmentsPerPatient: number;
  seed: number;
  /** The anchor day, YYYY-MM-DD (UTC). */
  anchor: string;
  /** INSERT ... SELECT statements in the order they run. */
  steps: SeedStep[];
}

/**
 * Validates the options and writes the seed as set-based SQL (INSERT ... SELECT FROM
 * generate_series), without touching the database. The same options always give the same SQL.
 */
export function planSeed({
  patients = 2000,
  providers,
  appointmentsPerPatient = 10,
  seed = 42,
  anchor = DEFAULT_ANCHOR,
}: Omit<SeedOptions, 'onProgress'> = {}): SeedPlan {
  if (!Number.isInteger(patients) || patients < 4 || patients > MAX_PATIENTS)
    throw new RangeError(`patients must be a whole number from 4 to ${MAX_PATIENTS} (the documented ids need four), not ${patients}`);
  if (providers !== undefined && (!Number.isInteger(providers) || providers < 1))
    throw new RangeError(`providers must be a positive whole number, not ${providers}`);
  if (!Number.isInteger(appointmentsPerPatient) || appointmentsPerPatient < 0 || appointmentsPerPatient > MAX_APPOINTMENTS_PER_PATIENT) {
    throw new RangeError(
      `appointmentsPerPatient must be a whole number from 0 to ${MAX_APPOINTMENTS_PER_PATIENT}, not ${appointmentsPerPatient}`,
    );
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number, not ${seed}`);
  if (!(anchor instanceof Date) || Number.isNaN(anchor.getTime())) throw new RangeError('anchor must be a valid date');

  const N = patients;
  const P = Math.max(10, providers ?? Math.round(patients * 0.075));
  const K = appointmentsPerPatient;
  const s32 = Number(BigInt(seed) & M32);
  const anchorDay = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate()));
  const A = `TIMESTAMP '${isoDate(anchorDay)} 00:00:00'`;
  const ADATE = `DATE '${isoDate(anchorDay)}'`;
  const days = (n: string) => `(${n}) * INTERVAL '1 day'`;
  const minutes = (n: string) => `(${n}) * INTERVAL '1 minute'`;
  const h = (stream: number, key: string) => hashSql(s32, stream, key);
  const pid = (p: string) => `'pat-' || ${pad(p, 6)}`;
  const vid = (m: string) => `'prv-' || ${pad(`${m} + 1`, 4)}`;
  /** Family names: index = L * u^2 for a uniform u, so the first names are common and the compound ones form a long tail. */
  const familyName = (hv: string) => {
    const i = `((((${hv}) % 65536) * ((${hv}) % 65536) * ${FAMILY_NAMES.length}) >> 32)`;
    const two = COMMON_FAMILY.length;
    const three = two + FAMILY_STEMS.length * FAMILY_ENDINGS.length;
    const E = FAMILY_ENDINGS.length;
    const part = (items: readonly string[], index: string) => `${textArray(items)}[1 + (${index})::int]`;
    return `(CASE WHEN ${i} < ${two} THEN ${part(COMMON_FAMILY, i)}
      WHEN ${i} < ${three} THEN ${part(FAMILY_STEMS, `(${i} - ${two}) / ${E}`)} || ${part(FAMILY_ENDINGS, `(${i} - ${two}) % ${E}`)}
      ELSE ${part(FAMILY_STEMS, `(${i} - ${three}) / ${E * FAMILY_MIDDLES.length}`)} || ${part(FAMILY_MIDDLES, `(${i} - ${three}) / ${E} % ${FAMILY_MIDDLES.length}`)} || ${part(FAMILY_ENDINGS, `(${i} - ${three}) % ${E}`)} END)`;
  };

  // Appointment slots: every weekday of the window, 16 a day, numbered 0..S-1.
  const weekdays: number[] = [];
  for (let d = -WINDOW_BEFORE_DAYS; d <= WINDOW_AFTER_DAYS; d++) {
    const weekday = new Date(anchorDay.getTime() + d * 86_400_000).getUTCDay();
    if (weekday !== 0 && weekday !== 6) weekdays.push(d);
  }
  const S = weekdays.length * SLOTS_PER_DAY;

  // Care teams without a lookup table. Member j of patient p is provider z mod P, with rank z div P
  // among that provider's members j, where z = ((p-1) * a_j + b_j) mod N and a_j is coprime with N:
  // a permutation of the patients, so (provider, rank) never repeats for one j. Each appointment of
  // patient p with its member j gets slot block j*R + rank (documented patients 1-4 have their primary
  // fixed and use a fourth block, 3R + p - 1), and within it slot k: distinct slot numbers per provider.
  // A per-provider permutation (x * g + offset mod S) then spreads them over the window, so two live
  // appointments never share a provider's slot, by construction rather than by retrying.
  const R = Math.max(Math.ceil(N / P), 4);
  if (4 * R * K > S) {
    const needed = Math.ceil(N / Math.floor(S / (4 * K)));
    throw new RangeError(
      `${P} providers cannot hold ${K} appointments each for ${N} patients in the ${S}-slot window: give at least ${needed} providers or fewer appointments`,
    );
  }
  const team = [0, 1, 2].map((j) => ({ a: coprime(hash32(s32, 900 + j, N), N), b: hash32(s32, 910 + j, N) % N }));
  const g = coprime(hash32(s32, 920, S), S);
  const z = (j: number) => `(((p - 1) * ${team[j]!.a} + ${team[j]!.b}) % ${N})`;

  /**
   * One row per patient in [lo, hi]: id, team (m0..m2 provider indexes from 0, b0..b2 slot blocks,
   * has1/has2 whether members 1 and 2 exist) and sensitivity label index (null for none). The
   * documented patients: 1 and 2 are prv-0001's and never prv-0002's, 3 and 4 are prv-0002's;
   * 1 has no label and 2 has PSY.
   */
  const base = (lo: number, hi: number) => `(
    SELECT p, pid, m0, b0, m1, b1, m2, b2, label,
      (ts >= 1 AND m1 <> m0 AND NOT (p <= 2 AND m1 = 1)) AS has1,
      (ts = 2 AND m2 <> m0 AND m2 <> m1 AND NOT (p <= 2 AND m2 = 1)) AS has2
    FROM (
      SELECT p, ${pid('p')} AS pid,
        CASE WHEN p <= 2 THEN 0 WHEN p <= 4 THEN 1 ELSE ${z(0)} % ${P} END AS m0,
        CASE WHEN p <= 4 THEN ${3 * R} + p - 1 ELSE ${z(0)} / ${P} END AS b0,
        ${z(1)} % ${P} AS m1, ${R} + ${z(1)} / ${P} AS b1,
        ${z(2)} % ${P} AS m2, ${2 * R} + ${z(2)} / ${P} AS b2,
        ${h(20, 'p')} % 3 AS ts,
        CASE WHEN p = 1 THEN NULL WHEN p = 2 THEN 1 WHEN ${h(21, 'p')} % 100 < 12 THEN (${h(22, 'p')} % 4)::int END AS label
      FROM generate_series(${lo}::bigint, ${hi}::bigint) AS p
      OFFSET 0
    ) t
    OFFSET 0
  ) b`;
  /** Which member (0, 1 or 2) of patient row `b`'s care team hash `hv` picks, among the members the team has. */
  const anyMember = (hv: string) =>
    `(CASE (${hv}) % (1 + b.has1::int + b.has2::int) WHEN 0 THEN 0 WHEN 1 THEN CASE WHEN b.has1 THEN 1 ELSE 2 END ELSE 2 END)`;
  const memberOf = (j: string, column: 'm' | 'b') => `(CASE ${j} WHEN 0 THEN b.${column}0 WHEN 1 THEN b.${column}1 ELSE b.${column}2 END)`;
  const restricted = (hv: string) => `(CASE WHEN b.p > 4 AND (${hv}) % 100 < 3 THEN 'R' ELSE 'N' END)::"Confidentiality"`;
  const labelText = (index: string) => `(${textArray(LABELS)}[1 + ${index}])::"SensitivityLabel"`;
  const pastDays = (hv: string) => `(1 + (${hv}) % 3000)`;

  const steps: SeedStep[] = [];
  steps.push({
    table: 'Provider',
    sql: `INSERT INTO "Provider" ("id", "npi", "givenName", "familyName", "specialty", "department", "acceptingNewPatients")
      SELECT ${vid('m')}, '1' || ${pad(`100000000 + (m + 1) * 7919`, 9)}, ${pick(GIVEN, 'h1')}, ${familyName('h2')},
        ${textArray(SPECIALTIES.map(([s]) => s))}[1 + spec], ${textArray(SPECIALTIES.map(([, d]) => d))}[1 + spec], h4 % 10 < 8
      FROM (
        -- The first two are family physicians so the documented ids behave the same at every size.
        SELECT m, ${h(1, 'm')} AS h1, ${h(2, 'm')} AS h2, ${h(4, 'm')} AS h4, CASE WHEN m < 2 THEN 0 ELSE (${h(3, 'm')} % ${SPECIALTIES.length})::int END AS spec
        FROM generate_series(0::bigint, ${P - 1}::bigint) AS m OFFSET 0
      ) v`,
  });
  steps.push({
    table: 'ProviderAvailability',
    sql: `INSERT INTO "ProviderAvailability" ("id", "providerId", "weekday", "startMinute", "endMinute", "slotMinutes", "validFrom", "validTo")
      SELECT 'avl-' || ${pad('m + 1', 4)} || '-' || w, ${vid('m')}, w, ${FIRST_SLOT_MINUTE}, ${FIRST_SLOT_MINUTE + SLOTS_PER_DAY * SLOT_MINUTES}, ${SLOT_MINUTES}, ${ADATE} - 365, NULL
      FROM generate_series(0::bigint, ${P - 1}::bigint) AS m CROSS JOIN generate_series(1, 5) AS w`,
  });

  const chunks: [number, number][] = [];
  for (let lo = 1; lo <= N; lo += CHUNK) chunks.push([lo, Math.min(N, lo + CHUNK - 1)]);
  const perChunk = (table: SeedTable, sql: (lo: number, hi: number) => string) => {
    for (const [lo, hi] of chunks) steps.push({ table, sql: sql(lo, hi) });
  };

  perChunk(
    'Patient',
    (
      lo,
      hi,
    ) => `INSERT INTO "Patient" ("id", "mrn", "givenName", "familyName", "birthDate", "sex", "phone", "email", "addressLine", "city", "state", "postalCode", "bloodType", "createdAt", "updatedAt")
    SELECT ${pid('p')}, 'MRN' || ${pad('p * 37 + 100000', 8)}, ${pick(GIVEN, 'h10')}, ${familyName('h11')},
      make_date(1935 + (h12 % 88)::int, 1 + ((h12 / 88) % 12)::int, 1 + ((h12 / 1056) % 28)::int),
      ${pick(SEXES, 'h13')}, '+1-555-' || ${pad('h14 % 10000', 4)}, lower(${pick(GIVEN, 'h10')} || '.' || ${familyName('h11')} || p || '@example.org'),
      (1 + h15 % 9999) || ' ' || ${pick(STREETS, 'h16')},
      ${pick(
        CITIES.map(([c]) => c),
        'h17',
      )}, ${pick(
        CITIES.map(([, st]) => st),
        'h17',
      )}, ${pick(
        CITIES.map(([, , zip]) => zip),
        'h17',
      )} || ${pad('h18 % 100', 2)},
      ${pick(BLOOD, 'h19')}, ${A} - ${days('1 + h23 % 3000')}, ${A} - ${days('1 + h23 % 3000')}
    FROM (
      SELECT p, ${[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 23].map((stream) => `${h(stream, 'p')} AS h${stream}`).join(', ')}
      FROM generate_series(${lo}::bigint, ${hi}::bigint) AS p OFFSET 0
    ) v`,
  );

  perChunk(
    'CareTeamMember',
    (lo, hi) => `INSERT INTO "CareTeamMember" ("id", "patientId", "providerId", "role", "periodStart", "periodEnd")
    SELECT 'ctm-' || ${pad('b.p', 6)} || '-' || j, b.pid, ${vid(memberOf('j', 'm'))},
      (CASE WHEN j = 0 THEN 'PRIMARY' ELSE ${pick(['ATTENDING', 'CONSULTING', 'NURSE'], h(30, 'b.p * 64 + j'))} END)::"CareTeamRole",
      ${A} - ${days(`30 + ${h(31, 'b.p * 64 + j')} % 1971`)}, NULL
    FROM ${base(lo, hi)} CROSS JOIN generate_series(0, 2) AS j
    WHERE j = 0 OR (j = 1 AND b.has1) OR (j = 2 AND b.has2)`,
  );

  if (K > 0) {
    perChunk(
      'Appointment',
      (
        lo,
        hi,
      ) => `INSERT INTO "Appointment" ("id", "patientId", "providerId", "start", "end", "status", "reason", "activeStart", "cancelledAt", "createdAt", "updatedAt")
      SELECT 'apt-' || ${pad(`(p - 1) * ${K} + k + 1`, 7)}, pid, ${vid('m')}, start, start + ${minutes(String(SLOT_MINUTES))}, status::"AppointmentStatus", reason,
        CASE WHEN status = 'CANCELLED' THEN NULL ELSE start END, CASE WHEN status = 'CANCELLED' THEN start - ${days('2')} END, created, created
      FROM (
        SELECT p, k, pid, m, start,
          CASE WHEN start < ${A} THEN ${pick(['FULFILLED', 'FULFILLED', 'FULFILLED', 'NOSHOW', 'CANCELLED'], 'hs')} ELSE ${pick(['BOOKED', 'BOOKED', 'BOOKED', 'CANCELLED'], 'hs')} END AS status,
          ${pick(REASONS, 'hs / 60')} AS reason, LEAST(start, ${A}) - ${days('1 + hs / 420 % 60')} AS created
        FROM (
          SELECT p, k, pid, m, ${A} + ${days(`${intArray(weekdays)}[1 + (slot / ${SLOTS_PER_DAY})::int]`)} + ${minutes(`${FIRST_SLOT_MINUTE} + ${SLOT_MINUTES} * (slot % ${SLOTS_PER_DAY})`)} AS start, hs
          FROM (
            SELECT p, k, pid, m, ((blk * ${K} + k) * ${g} + ${h(41, 'm')} % ${S}) % ${S} AS slot, hs
            FROM (
              SELECT b.p, k, b.pid, ${memberOf('b.j', 'm')} AS m, ${memberOf('b.j', 'b')} AS blk, hs
              FROM (
                -- Visits are with the care team: that relationship is what lets the clinician see the patient.
                SELECT b.*, k, ${anyMember(h(40, 'b.p * 64 + k'))} AS j, ${h(42, 'b.p * 64 + k')} AS hs
                FROM ${base(lo, hi)} CROSS JOIN generate_series(0, ${K - 1}) AS k
                OFFSET 0
              ) b
              OFFSET 0
            ) d
            OFFSET 0
          ) s
          OFFSET 0
        ) t
        OFFSET 0
      ) a`,
    );
  }

  // Allergies: none to three (two or three for pat-000001), distinct codes: start + k * step mod 7 with 7 prime.
  perChunk(
    'Allergy',
    (
      lo,
      hi,
    ) => `INSERT INTO "Allergy" ("id", "patientId", "code", "display", "reaction", "severity", "criticality", "recordedAt", "sensitivity", "confidentiality")
    SELECT 'alg-' || ${pad('p', 6)} || '-' || (k + 1), pid, ${textArray(ALLERGENS.map(([c]) => c))}[1 + ci], ${textArray(ALLERGENS.map(([, d]) => d))}[1 + ci], ${textArray(ALLERGENS.map(([, , r]) => r))}[1 + ci],
      ${pick(['mild', 'moderate', 'severe'], h(52, 'p * 64 + k'))}, ${pick(['low', 'high'], h(53, 'p * 64 + k'))}, ${A} - ${days(pastDays(h(54, 'p * 64 + k')))}, 'NONE', 'N'
    FROM (
      SELECT b.p, b.pid, k, ((hc / 4 % 7 + k * (1 + hc / 28 % 6)) % 7)::int AS ci, CASE WHEN b.p = 1 THEN 2 + hc % 2 ELSE hc % 4 END AS n
      FROM (SELECT p, pid, ${h(50, 'p')} AS hc FROM ${base(lo, hi)} OFFSET 0) b CROSS JOIN generate_series(0, 2) AS k
    ) a
    WHERE k < n`,
  );

  // Medications: one to four distinct codes (step 1 or 5, both coprime with 6), then the labelled one as k = 4.
  const labelledMed = (i: number) => LABELLED_MEDS.map((m) => (m ? m[i]! : ''));
  perChunk(
    'Medication',
    (
      lo,
      hi,
    ) => `INSERT INTO "Medication" ("id", "patientId", "code", "display", "dosage", "status", "startedAt", "sensitivity", "confidentiality")
    SELECT 'med-' || ${pad('p', 6)} || '-' || (k + 1), pid,
      CASE WHEN k = 4 THEN ${textArray(labelledMed(0))}[1 + label] ELSE ${textArray(MEDS.map(([c]) => c))}[1 + ci] END,
      CASE WHEN k = 4 THEN ${textArray(labelledMed(1))}[1 + label] ELSE ${textArray(MEDS.map(([, d]) => d))}[1 + ci] END,
      CASE WHEN k = 4 THEN ${textArray(labelledMed(2))}[1 + label] ELSE ${textArray(MEDS.map(([, , d]) => d))}[1 + ci] END,
      CASE WHEN k = 4 THEN 'active' ELSE ${pick(['active', 'active', 'completed'], h(62, 'p * 64 + k'))} END,
      ${A} - ${days(pastDays(h(63, 'p * 64 + k')))},
      CASE WHEN k = 4 THEN ${labelText('label')} ELSE 'NONE' END,
      CASE WHEN k = 4 THEN 'R'::"Confidentiality" ELSE ${restricted(h(64, 'p * 64 + k'))} END
    FROM (
      SELECT b.p, b.pid, b.label, k, ((hc / 4 % 6 + k * (CASE WHEN hc / 24 % 2 = 0 THEN 1 ELSE 5 END)) % 6)::int AS ci,
        CASE WHEN b.p = 1 THEN 2 + hc % 3 ELSE 1 + hc % 4 END AS n
      FROM (SELECT p, pid, label, ${h(60, 'p')} AS hc FROM ${base(lo, hi)} OFFSET 0) b CROSS JOIN generate_series(0, 4) AS k
    ) b
    WHERE k < n OR (k = 4 AND label IS NOT NULL AND label <> 3)`,
  );

  // Conditions: one to three distinct codes, then the labelled diagnosis as k = 3.
  perChunk(
    'Condition',
    (
      lo,
      hi,
    ) => `INSERT INTO "Condition" ("id", "patientId", "code", "display", "clinicalStatus", "onsetDate", "sensitivity", "confidentiality")
    SELECT 'cnd-' || ${pad('p', 6)} || '-' || (k + 1), pid,
      CASE WHEN k = 3 THEN ${textArray(LABELLED_CONDITIONS.map(([c]) => c))}[1 + label] ELSE ${textArray(CONDITIONS.map(([c]) => c))}[1 + ci] END,
      CASE WHEN k = 3 THEN ${textArray(LABELLED_CONDITIONS.map(([, d]) => d))}[1 + label] ELSE ${textArray(CONDITIONS.map(([, d]) => d))}[1 + ci] END,
      CASE WHEN k = 3 THEN 'active' ELSE ${pick(['active', 'active', 'resolved'], h(72, 'p * 64 + k'))} END,
      ${ADATE} - ${pastDays(h(73, 'p * 64 + k'))}::int,
      CASE WHEN k = 3 THEN ${labelText('label')} ELSE 'NONE' END,
      CASE WHEN k = 3 THEN 'R'::"Confidentiality" ELSE ${restricted(h(74, 'p * 64 + k'))} END
    FROM (
      SELECT b.p, b.pid, b.label, k, ((hc / 3 % 6 + k * (CASE WHEN hc / 18 % 2 = 0 THEN 1 ELSE 5 END)) % 6)::int AS ci, 1 + hc % 3 AS n
      FROM (SELECT p, pid, label, ${h(70, 'p')} AS hc FROM ${base(lo, hi)} OFFSET 0) b CROSS JOIN generate_series(0, 3) AS k
    ) b
    WHERE k < n OR (k = 3 AND label IS NOT NULL)`,
  );

  // Vitals: five at each of two visits, 120 days apart.
  perChunk(
    'Observation',
    (
      lo,
      hi,
    ) => `INSERT INTO "Observation" ("id", "patientId", "code", "display", "value", "unit", "effectiveAt", "sensitivity", "confidentiality")
    SELECT 'obs-' || ${pad('p', 6)} || '-' || (visit * 5 + c + 1), pid, ${textArray(VITALS.map(([code]) => code))}[1 + c], ${textArray(VITALS.map(([, d]) => d))}[1 + c],
      ((${intArray(VITALS.map(([, , , low]) => low))}[1 + c] + ${h(81, 'p * 64 + visit * 8 + c')} % (1 + ${intArray(VITALS.map(([, , , low, high]) => high - low))}[1 + c])))::float8 / 10,
      ${textArray(VITALS.map(([, , unit]) => unit))}[1 + c], at, 'NONE', 'N'
    FROM (
      SELECT p, pid, visit, ${A} - ${days(`visit * 120 + 1 + hv % 100`)} + ${minutes('480 + hv / 100 % 600')} AS at
      FROM (
        SELECT p, ${pid('p')} AS pid, visit, ${h(80, 'p * 64 + visit')} AS hv
        FROM generate_series(${lo}::bigint, ${hi}::bigint) AS p CROSS JOIN generate_series(0, 1) AS visit
        OFFSET 0
      ) v
      OFFSET 0
    ) v
    CROSS JOIN generate_series(0, ${VITALS.length - 1}) AS c`,
  );

  // Notes: none to two (two for pat-000001) by a care-team member, then the labelled plan of care by the primary as k = 2.
  perChunk(
    'ClinicalNote',
    (lo, hi) => `INSERT INTO "ClinicalNote" ("id", "patientId", "authorId", "title", "text", "createdAt", "sensitivity", "confidentiality")
    SELECT 'not-' || ${pad('b.p', 6)} || '-' || (k + 1), b.pid,
      ${vid(`CASE WHEN k = 2 THEN b.m0 ELSE ${memberOf(anyMember(h(91, 'b.p * 64 + k')), 'm')} END`)},
      CASE WHEN k = 2 THEN ${textArray(LABELLED_CONDITIONS.map(([, d]) => d))}[1 + b.label] || ': treatment plan' ELSE ${pick(REASONS, h(92, 'b.p * 64 + k'))} END,
      CASE WHEN k = 2 THEN 'Plan of care for ' || lower(${textArray(LABELLED_CONDITIONS.map(([, d]) => d))}[1 + b.label]) || '; reviewed with patient.' ELSE 'Patient seen; vitals stable; continue current plan.' END,
      ${A} - ${days(pastDays(h(93, 'b.p * 64 + k')))} + ${minutes(`${h(94, 'b.p * 64 + k')} % 1440`)},
      CASE WHEN k = 2 THEN ${labelText('b.label')} ELSE 'NONE' END,
      (CASE WHEN k = 2 THEN 'R' ELSE 'N' END)::"Confidentiality"
    FROM ${base(lo, hi)} CROSS JOIN generate_series(0, 2) AS k
    WHERE k < CASE WHEN b.p = 1 THEN 2 ELSE ${h(90, 'b.p')} % 3 END OR (k = 2 AND b.label IS NOT NULL)`,
  );

  // Half of the labelled patients consented to share the label with their primary physician (never the documented PSY patient).
  perChunk(
    'Consent',
    (lo, hi) => `INSERT INTO "Consent" ("id", "patientId", "providerId", "label", "grantedAt", "revokedAt")
    SELECT 'cns-' || ${pad('b.p', 6)}, b.pid, ${vid('b.m0')}, ${labelText('b.label')}, ${A} - ${days(pastDays(h(101, 'b.p')))}, NULL
    FROM ${base(lo, hi)}
    WHERE b.label IS NOT NULL AND b.p <> 2 AND ${h(100, 'b.p')} % 2 = 0`,
  );

  return { patients: N, providers: P, appointmentsPerPatient: K, seed, anchor: isoDate(anchorDay), steps };
}

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const SEEDED_TABLES_SQL = `ARRAY[${SEED_TABLES.map(lit).join(', ')}]::text[]`;

/**
 * Drops the foreign keys that touch the seeded tables and their secondary indexes, returning the
 * statements that put them back exactly as they were (read from the catalog, so an index or key
 * added by a later migration is covered too). Loading first and building each index once afterwards
 * is several times faster than maintaining them row by row, and one join per foreign key replaces a
 * lookup per row (PostgreSQL manual, "Populating a Database").
 */
async function detachIndexes(tx: Transaction): Promise<string[]> {
  const foreignKeys = await tx.$queryRawUnsafe<{ tbl: string; name: string; def: string }[]>(
    `SELECT c.relname AS tbl, con.conname AS name, pg_get_constraintdef(con.oid) AS def
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
      WHERE con.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
        AND (c.relname = ANY(${SEEDED_TABLES_SQL}) OR r.relname = ANY(${SEEDED_TABLES_SQL}))
      ORDER BY c.relname, con.conname`,
  );
  const indexes = await tx.$queryRawUnsafe<{ name: string; def: string }[]>(
    `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(${SEEDED_TABLES_SQL})
        AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.oid AND con.contype IN ('p', 'u', 'x'))
      ORDER BY t.relname, i.relname`,
  );
  for (const fk of foreignKeys) await tx.$executeRawUnsafe(`ALTER TABLE ${quote(fk.tbl)} DROP CONSTRAINT ${quote(fk.name)}`);
  for (const index of indexes) await tx.$executeRawUnsafe(`DROP INDEX ${quote(index.name)}`);
  return [
    ...indexes.map((index) => index.def),
    ...foreignKeys.map((fk) => `ALTER TABLE ${quote(fk.tbl)} ADD CONSTRAINT ${quote(fk.name)} ${fk.def}`),
  ];
}

/**
 * Replaces every row (audit trail included) with a freshly generated data set, in one transaction,
 * written by the database itself from set-based statements. Returns row counts per table.
 */
export async function seedDatabase(prisma: PrismaClient, options: SeedOptions = {}): Promise<Record<SeedTable, number>> {
  const plan = planSeed(options);
  const { onProgress } = options;
  const counts = Object.fromEntries(SEED_TABLES.map((table) => [table, 0])) as Record<SeedTable, number>;
  const started = performance.now();
  const elapsedMs = () => performance.now() - started;
  await prisma.$transaction(
    async (tx) => {
      if (plan.patients > 100_000) await tx.$executeRawUnsafe(`SET LOCAL maintenance_work_mem = '512MB'`);
      await tx.$executeRawUnsafe(`TRUNCATE ${[...SEED_TABLES, 'AuditEvent'].map(quote).join(', ')} CASCADE`);
      const restore = await detachIndexes(tx);
      for (const [index, step] of plan.steps.entries()) {
        counts[step.table] += await tx.$executeRawUnsafe(step.sql);
        onProgress?.({
          phase: 'rows',
          table: step.table,
          rows: counts[step.table],
          done: plan.steps[index + 1]?.table !== step.table,
          elapsedMs: elapsedMs(),
        });
      }
      for (const table of SEED_TABLES) {
        if (!plan.steps.some((step) => step.table === table))
          onProgress?.({ phase: 'rows', table, rows: 0, done: true, elapsedMs: elapsedMs() });
      }
      for (const [index, statement] of restore.entries()) {
        await tx.$executeRawUnsafe(statement);
        onProgress?.({
          phase: 'indexes',
          built: index + 1,
          total: restore.length,
          done: index === restore.length - 1,
          elapsedMs: elapsedMs(),
        });
      }
      // Fresh statistics, so the first queries after a large seed are planned for its real size.
      await tx.$executeRawUnsafe(`ANALYZE ${SEED_TABLES.map(quote).join(', ')}`);
    },
    // Generous: the statements are set-based, but a million patients write some 30 million rows.
    { timeout: 600_000 + plan.patients * 3, maxWait: 60_000 },
  );
  return counts;
}

/**
 * An `onProgress` that prints one line per finished table ("Patient  2,000 rows  0.3 s") and the
 * index rebuild; on a terminal it also keeps a running count on the current line.
 */
export function printSeedProgress(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): (progress: SeedProgress) => void {
  const live = out.isTTY === true;
  let since = 0;
  return (progress) => {
    const what =
      progress.phase === 'rows'
        ? `  ${progress.table.padEnd(21)} ${progress.rows.toLocaleString('en-US').padStart(11)} rows`
        : `  ${'indexes, foreign keys'.padEnd(21)} ${`${progress.built}/${progress.total}`.padStart(11)}`;
    const line = `${what}  ${((progress.elapsedMs - since) / 1000).toFixed(1).padStart(6)} s`;
    if (progress.done) {
      out.write(`${live ? '\r\x1b[K' : ''}${line}\n`);
      since = progress.elapsedMs;
    } else if (live) {
      out.write(`\r\x1b[K${line}`);
    }
  };
}

/** True when the database holds no patients yet (first start of the embedded default). */
export async function isEmpty(prisma: PrismaClient): Promise<boolean> {
  return (await prisma.patient.count()) === 0;
}
