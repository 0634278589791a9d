/**
 * Synthetic audit events for the scale scenario: `AuditEvent` filled to the size a busy site
 * reaches (10 million rows for a million patients), written by the database itself from set-based
 * statements, month by month, so that each statement lands in one monthly partition in time order.
 *
 * The rows are synthetic: their ids and request ids begin `syn-`, their actors are the seeded
 * clinicians and made-up front-desk and billing staff, and no request ever disclosed them. They
 * exist to give the planner and the indexes a realistic volume; they are not an accounting of
 * anything. The same options always give the same rows.
 */
import { DEFAULT_ANCHOR, hashSql } from '@healthgraph/db';

export interface SyntheticAuditOptions {
  /** Rows to write. */
  rows: number;
  /** Seeded patients (ids pat-000001 upwards), each row is about one of them. */
  patients: number;
  /** Seeded providers (ids prv-0001 upwards), the clinicians who read the records. */
  providers: number;
  /** Months the rows are spread over, ending with the anchor's month. */
  months?: number;
  /** The last month the rows fall in is this day's month (UTC). */
  anchor?: Date;
  seed?: number;
  /** Most rows one statement writes: bounds the work between two progress reports. */
  chunk?: number;
}

/** One statement of the fill: the month it writes and how many rows. */
export interface SyntheticAuditStep {
  month: string;
  rows: number;
  sql: string;
}

export interface SyntheticAuditPlan {
  /** First and last month covered, YYYY-MM-01: the partitions to make before writing. */
  firstMonth: string;
  lastMonth: string;
  steps: SyntheticAuditStep[];
}

/** Who reads a record, out of 100: clinicians most, then the front desk, billing, and the patient themself. */
const ACTOR_SHARES = { clinician: 70, desk: 15, billing: 8 } as const;
const RESOURCES: readonly [string, string][] = [
  ['Patient', '{Patient.name,Patient.birthDate,Patient.mrn}'],
  ['Allergy', '{Allergy.code,Allergy.reaction,Allergy.severity}'],
  ['Medication', '{Medication.code,Medication.dosage,Medication.status}'],
  ['Condition', '{Condition.code,Condition.clinicalStatus}'],
  ['Observation', '{Observation.code,Observation.value,Observation.effectiveAt}'],
  ['Appointment', '{Appointment.start,Appointment.status,Appointment.reason}'],
];

const lit = (text: string) => `'${text.replace(/'/g, "''")}'`;
const pad = (n: string, width: number) =>
  `(CASE WHEN (${n}) < ${10 ** width} THEN lpad((${n})::text, ${width}, '0') ELSE (${n})::text END)`;
const monthStart = (anchor: Date, back: number) => new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() - back, 1));
const isoDay = (day: Date) => day.toISOString().slice(0, 10);

/**
 * Splits `rows` over `months` as evenly as whole numbers allow (the earlier months take the
 * remainder), oldest first.
 */
export function rowsPerMonth(rows: number, months: number): number[] {
  const base = Math.floor(rows / months);
  return Array.from({ length: months }, (_, i) => base + (i < rows % months ? 1 : 0));
}

/**
 * Writes the fill as INSERT ... SELECT FROM generate_series statements, oldest month first, without
 * touching the database. Row g of a month is at month start + g * (month length / rows that month),
 * so a statement appends to its partition in time order; the patient, actor and resource of row g
 * are hashes of (seed, g), the same functions the seed uses, so PostgreSQL and PGlite agree.
 */
export function planSyntheticAudit({
  rows,
  patients,
  providers,
  months = 24,
  anchor = DEFAULT_ANCHOR,
  seed = 42,
  chunk = 500_000,
}: SyntheticAuditOptions): SyntheticAuditPlan {
  for (const [name, value] of Object.entries({ rows, patients, providers, months, chunk }))
    if (!Number.isInteger(value) || value < (name === 'rows' ? 0 : 1)) throw new RangeError(`${name} must be a whole number, not ${value}`);
  const s32 = seed >>> 0;
  const h = (stream: number, key: string) => hashSql(s32, stream, key);
  const steps: SyntheticAuditStep[] = [];
  const perMonth = rowsPerMonth(rows, months);
  let before = 0;
  for (let back = months - 1, i = 0; back >= 0; back--, i++) {
    const start = monthStart(anchor, back);
    const end = monthStart(anchor, back - 1);
    const n = perMonth[i]!;
    const spanMs = end.getTime() - start.getTime();
    for (let lo = 0; lo < n; lo += chunk) {
      const hi = Math.min(n, lo + chunk) - 1;
      // g numbers rows across the whole fill (ids stay unique); k numbers them within the month.
      const sql = `INSERT INTO "AuditEvent" ("id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths", "requestId", "outcome")
      SELECT 'syn-' || lpad(g::text, 10, '0'), TIMESTAMP '${isoDay(start)} 00:00:00' + ((k * ${spanMs}::bigint) / ${n}) * INTERVAL '1 millisecond',
        CASE WHEN a < ${ACTOR_SHARES.clinician} THEN 'prv-' || ${pad(`1 + ha % ${providers}`, 4)}
             WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk} THEN 'stf-desk-' || (1 + ha % 5)
             WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk + ACTOR_SHARES.billing} THEN 'stf-billing-' || (1 + ha % 10)
             ELSE pid END,
        CASE WHEN a < ${ACTOR_SHARES.clinician} THEN 'CLINICIAN' WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk} THEN 'SCHEDULER'
             WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk + ACTOR_SHARES.billing} THEN 'BILLING' ELSE 'PATIENT' END,
        CASE WHEN a < ${ACTOR_SHARES.clinician} THEN 'TREAT' WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk} THEN 'HOPERAT'
             WHEN a < ${ACTOR_SHARES.clinician + ACTOR_SHARES.desk + ACTOR_SHARES.billing} THEN 'HPAYMT' ELSE 'TREAT' END,
        pid, (ARRAY[${RESOURCES.map(([type]) => lit(type)).join(', ')}]::text[])[1 + r],
        ARRAY[pid], (ARRAY[${RESOURCES.map(([, paths]) => lit(paths)).join(', ')}]::text[])[1 + r]::text[],
        'syn-req-' || g, CASE WHEN hr % 50 = 0 THEN 'DENIED' ELSE 'DISCLOSED' END
      FROM (
        SELECT g, k, 'pat-' || ${pad(`1 + ${h(201, 'g')} % ${patients}`, 6)} AS pid, ${h(202, 'g')} % 100 AS a, ${h(203, 'g')} / 100 AS ha,
          ${h(204, 'g')} % ${RESOURCES.length} AS r, ${h(205, 'g')} AS hr
        FROM (SELECT ${before + 1} + k AS g, k FROM generate_series(${lo}::bigint, ${hi}::bigint) AS k) s
        OFFSET 0
      ) v`;
      steps.push({ month: isoDay(start).slice(0, 7), rows: hi - lo + 1, sql });
    }
    before += n;
  }
  return { firstMonth: isoDay(monthStart(anchor, months - 1)), lastMonth: isoDay(monthStart(anchor, 0)), steps };
}
