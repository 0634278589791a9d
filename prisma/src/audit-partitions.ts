import type { PrismaClient } from './generated/prisma/client.js';

/** Six years: HIPAA keeps required documentation six years (45 CFR 164.316(b)(2)). */
export const AUDIT_RETENTION_DEFAULT_MONTHS = 72;
/** Monthly partitions kept ready ahead of the current month. */
export const AUDIT_PARTITIONS_AHEAD_DEFAULT = 3;

export interface AuditPartitionSettings {
  /** Months of audit events kept; older monthly partitions are dropped by `maintainAuditPartitions`. */
  retentionMonths: number;
  /** Months ahead of the current one for which partitions exist. */
  partitionsAhead: number;
}

/**
 * Reads AUDIT_RETENTION_MONTHS and AUDIT_PARTITIONS_AHEAD. Throws an Error naming the variable
 * when one is not a whole number in range, and, in production, when the retention is shorter than
 * six years.
 */
export function auditPartitionSettings(env: NodeJS.ProcessEnv = process.env): AuditPartitionSettings {
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const settings = {
    retentionMonths: whole('AUDIT_RETENTION_MONTHS', AUDIT_RETENTION_DEFAULT_MONTHS, 1, 1200),
    partitionsAhead: whole('AUDIT_PARTITIONS_AHEAD', AUDIT_PARTITIONS_AHEAD_DEFAULT, 1, 24),
  };
  if (env.NODE_ENV === 'production' && settings.retentionMonths < AUDIT_RETENTION_DEFAULT_MONTHS)
    throw new Error(
      `AUDIT_RETENTION_MONTHS must be at least ${AUDIT_RETENTION_DEFAULT_MONTHS} in production (45 CFR 164.316(b)(2) keeps six years), got "${settings.retentionMonths}"`,
    );
  return settings;
}

/** The first day of the month of an instant, in UTC (the partitions hold UTC months, as "at" is stored). */
const monthOf = (at: Date, offset = 0) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
const day = (at: Date) => at.toISOString().slice(0, 10);

type Sql = Pick<PrismaClient, '$queryRawUnsafe'>;

/**
 * Makes sure monthly AuditEvent partitions exist from `from` (default: this month) to
 * `partitionsAhead` months ahead; returns how many were created. Idempotent and cheap when they
 * exist, so every service runs it at start-up and the daily job runs it again.
 */
export async function ensureAuditPartitions(
  db: Sql,
  { partitionsAhead = AUDIT_PARTITIONS_AHEAD_DEFAULT, from, now = new Date() }: { partitionsAhead?: number; from?: Date; now?: Date } = {},
): Promise<number> {
  const [row] = await db.$queryRawUnsafe<{ created: number }[]>(
    'SELECT "audit_event_ensure_partitions"($1::date, $2::date) AS created',
    day(monthOf(from ?? now)),
    day(monthOf(now, partitionsAhead)),
  );
  return Number(row?.created ?? 0);
}

/**
 * Drops the monthly partitions whose every event is older than the retention (whole months: a
 * partition goes once its last day is `retentionMonths` months past); returns how many were dropped.
 * Rows are never deleted one by one: the table stays append-only.
 */
export async function dropExpiredAuditPartitions(db: Sql, { retentionMonths, now = new Date() }: { retentionMonths: number; now?: Date }) {
  const horizon = monthOf(now, -retentionMonths);
  const [row] = await db.$queryRawUnsafe<{ dropped: number }[]>(
    'SELECT "audit_event_drop_partitions_before"($1::timestamp) AS dropped',
    horizon.toISOString().replace('T', ' ').replace('Z', ''),
  );
  return Number(row?.dropped ?? 0);
}

/** The daily job: partitions ahead, then retention. */
export async function maintainAuditPartitions(db: Sql, settings: AuditPartitionSettings, now = new Date()) {
  const created = await ensureAuditPartitions(db, { partitionsAhead: settings.partitionsAhead, now });
  const dropped = await dropExpiredAuditPartitions(db, { retentionMonths: settings.retentionMonths, now });
  return { created, dropped };
}

/** The monthly partitions that exist, oldest first (`AuditEvent_YYYYMM`), for operators and tests. */
export async function listAuditPartitions(db: Sql): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ name: string }[]>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '"AuditEvent"'::regclass AND c.relname ~ '^AuditEvent_[0-9]{6}$' ORDER BY c.relname`,
  );
  return rows.map((row) => row.name);
}
