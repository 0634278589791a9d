import {
  AUDIT_RETENTION_DEFAULT_MONTHS,
  dropExpiredAuditPartitions,
  ensureAuditPartitions,
  listAuditPartitions,
  SEEDED,
} from '@healthgraph/db';
import { AuditLog, auditRecord, ConfigError, loadPlatformConfig } from '@healthgraph/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE } from './helpers/database.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * The audit trail at scale: AuditEvent is partitioned by month on `at`, partitions are made ahead,
 * whole months past the retention are dropped, replays stay exactly-once, rows stay append-only,
 * and the two audit queries are planned over only the months they can reach.
 */

let stack: TestStack;
const month = (offset: number, day = 10) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, day, 12));
};
const partitionOf = (at: Date) => `AuditEvent_${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`;

beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 8 } });
});
afterAll(() => stack?.close());

const event = (at: Date, actorSub = SEEDED.clinician) =>
  auditRecord({
    at,
    actorSub,
    actorRole: 'CLINICIAN',
    purpose: 'TREAT',
    patientId: SEEDED.patient,
    resourceType: 'Patient',
    resourceIds: [SEEDED.patient],
    fieldPaths: ['Patient.birthDate'],
    breakGlassReason: null,
    requestId: `partition-test-${at.toISOString()}`,
    outcome: 'DISCLOSED',
  });

/** The partitions a statement's plan reads, from EXPLAIN (FORMAT JSON) with the statement's own parameters. */
async function partitionsScanned(sql: string, params: unknown[]): Promise<{ relations: string[] }> {
  const [row] = await stack.db.prisma.$queryRawUnsafe<{ 'QUERY PLAN': unknown }[]>(`EXPLAIN (FORMAT JSON) ${sql}`, ...params);
  const plan = row!['QUERY PLAN'];
  const relations: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n['Relation Name'] === 'string') relations.push(n['Relation Name']);
    for (const value of Object.values(n)) walk(value);
  };
  walk(typeof plan === 'string' ? JSON.parse(plan) : plan);
  return { relations: [...new Set(relations)].sort() };
}

/** Runs an operation and returns the SQL (and parameters) of the AuditEvent read it caused. */
async function auditReadOf(as: Parameters<TestStack['query']>[0], query: string, variables?: Record<string, unknown>) {
  const seen: { sql: string; params: unknown[] }[] = [];
  const stop = stack.db.onQuery((sql, params) => {
    if (/^\s*SELECT/i.test(sql) && sql.includes('"AuditEvent"')) seen.push({ sql, params: JSON.parse(params || '[]') as unknown[] });
  });
  try {
    const response = await stack.query(as, query, variables);
    expect(response.body.errors).toBeUndefined();
    expect(seen).toHaveLength(1);
    return { response, ...seen[0]! };
  } finally {
    stop();
  }
}

describe(`audit partitioned by month (${TEST_DATABASE})`, () => {
  it('is a partitioned table with this month and the months ahead ready', async () => {
    const [row] = await stack.db.prisma.$queryRawUnsafe<{ strategy: string }[]>(
      `SELECT partstrat::text AS strategy FROM pg_partitioned_table WHERE partrelid = '"AuditEvent"'::regclass`,
    );
    expect(row?.strategy).toBe('r');
    const partitions = await listAuditPartitions(stack.db.prisma);
    for (const offset of [0, 1, 2, 3]) expect(partitions).toContain(partitionOf(month(offset)));
    // Idempotent: a second start creates nothing.
    expect(await ensureAuditPartitions(stack.db.prisma, { partitionsAhead: 3 })).toBe(0);
  });

  it('stores a replayed event exactly once: its key is (id, at) and its at travels with it', async () => {
    await ensureAuditPartitions(stack.db.prisma, { from: month(-2), partitionsAhead: 3 });
    const record = event(month(-2, 3));
    const log = new AuditLog(stack.db.prisma);
    await log.write([record]);
    await log.write([record]); // a journal shipped again after a crash
    await log.write([{ ...record }]);
    await log.close();
    const rows = await stack.db.prisma.$queryRawUnsafe<{ n: number; part: string }[]>(
      `SELECT count(*)::int AS n, min(tableoid::regclass::text) AS part FROM "AuditEvent" WHERE "id" = $1`,
      record.id,
    );
    expect(rows[0]).toEqual({ n: 1, part: `"${partitionOf(record.at)}"` });
  });

  it('refuses UPDATE and DELETE on the table and on any one partition', async () => {
    const record = event(month(0, 2));
    const log = new AuditLog(stack.db.prisma);
    await log.write([record]);
    await log.close();
    await expect(
      stack.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET "outcome" = 'DENIED' WHERE "id" = $1`, record.id),
    ).rejects.toThrow(/append-only/);
    await expect(stack.db.prisma.$executeRawUnsafe(`DELETE FROM "AuditEvent" WHERE "id" = $1`, record.id)).rejects.toThrow(/append-only/);
    await expect(stack.db.prisma.$executeRawUnsafe(`DELETE FROM "${partitionOf(record.at)}" WHERE "id" = $1`, record.id)).rejects.toThrow(
      /append-only/,
    );
  });

  it('drops whole months past the retention and keeps every younger one', async () => {
    const retentionMonths = 12;
    await ensureAuditPartitions(stack.db.prisma, { from: month(-15), partitionsAhead: 3 });
    const old = event(month(-14));
    const edge = event(month(-12, 1)); // in the oldest month still kept
    const young = event(month(-11));
    const log = new AuditLog(stack.db.prisma);
    await log.write([old, edge, young]);
    await log.close();
    const dropped = await dropExpiredAuditPartitions(stack.db.prisma, { retentionMonths });
    expect(dropped).toBe(3); // months -15, -14 and -13
    const partitions = await listAuditPartitions(stack.db.prisma);
    expect(partitions).not.toContain(partitionOf(old.at));
    expect(partitions).toContain(partitionOf(edge.at));
    const kept = await stack.db.prisma.auditEvent.findMany({ where: { id: { in: [old.id, edge.id, young.id] } }, select: { id: true } });
    expect(kept.map((e) => e.id).sort()).toEqual([edge.id, young.id].sort());
  });

  it('refuses, in production, a retention shorter than six years (45 CFR 164.316(b)(2))', () => {
    expect(() => loadPlatformConfig({ NODE_ENV: 'production', AUDIT_RETENTION_MONTHS: '24' })).toThrow(ConfigError);
    expect(() => loadPlatformConfig({ NODE_ENV: 'production', AUDIT_RETENTION_MONTHS: '24' })).toThrow(/AUDIT_RETENTION_MONTHS/);
    expect(() => loadPlatformConfig({ AUDIT_PARTITIONS_AHEAD: '0' })).toThrow(/AUDIT_PARTITIONS_AHEAD/);
    expect(loadPlatformConfig({}).audit.retentionMonths).toBe(AUDIT_RETENTION_DEFAULT_MONTHS);
  });
});

describe(`audit queries are served by the partition key (${TEST_DATABASE})`, () => {
  const patient = { role: 'PATIENT' as const, sub: SEEDED.patient };
  const auditor = { role: 'AUDITOR' as const, sub: 'aud-0001' };
  const PAGE = `query Log($after: String) { myAccessLog(first: 2, after: $after) { edges { cursor node { at actor } } pageInfo { hasNextPage endCursor } } }`;

  beforeAll(async () => {
    await ensureAuditPartitions(stack.db.prisma, { from: month(-6), partitionsAhead: 3 });
    const log = new AuditLog(stack.db.prisma);
    await log.write([event(month(-5)), event(month(-4)), event(month(-3)), event(month(-3, 20))]);
    await log.close();
  });

  it('auditEvents for one month reads that month only', async () => {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 4, 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1));
    const { sql, params, response } = await auditReadOf(
      auditor,
      `query Trail($from: DateTime, $to: DateTime) { auditEvents(patientId: "${SEEDED.patient}", from: $from, to: $to, first: 10) { edges { node { at } } } }`,
      { from: from.toISOString(), to: to.toISOString() },
    );
    expect((response.body.data as any).auditEvents.edges.length).toBeGreaterThan(0);
    const { relations } = await partitionsScanned(sql, params);
    console.log(`auditEvents(one month) reads: ${relations.join(', ')}`);
    expect(relations).toEqual([partitionOf(month(-4))]);
  });

  it('myAccessLog pages newest first and a later page never reads the months after its cursor', async () => {
    const first = await auditReadOf(patient, PAGE);
    const page = (first.response.body.data as any).myAccessLog;
    expect(page.pageInfo.hasNextPage).toBe(true);
    // Page one may reach any month kept: where the newest rows are decides.

    const second = await auditReadOf(patient, PAGE, { after: page.pageInfo.endCursor });
    const cursorAt = new Date((second.response.body.data as any).myAccessLog.edges[0].node.at);
    const secondPlan = await partitionsScanned(second.sql, second.params);
    console.log(`myAccessLog page 2 (cursor in ${page.edges[1].node.at.slice(0, 7)}) reads: ${secondPlan.relations.join(', ')}`);
    const newer = (await listAuditPartitions(stack.db.prisma)).filter((p) => p > partitionOf(new Date(page.edges[1].node.at)));
    expect(newer.length).toBeGreaterThan(0);
    for (const partition of newer) expect(secondPlan.relations).not.toContain(partition);
    expect(cursorAt.getTime()).toBeLessThanOrEqual(new Date(page.edges[1].node.at).getTime());
  });
});
