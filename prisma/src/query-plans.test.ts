import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Database, openDatabase } from './database.js';
import type { Prisma } from './generated/prisma/client.js';
import { applyMigrations } from './migrate.js';
import { seedDatabase } from './seed.js';

/** A plan node of EXPLAIN (FORMAT JSON), with what these tests read. */
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/**
 * Runs `query` through the Prisma client, takes the one statement it sent (as the subgraphs send it)
 * and returns that statement's plan for the same parameters. With `seqscan: false` the planner is
 * told to avoid reading whole tables where it has any other way: a plan that still does has no
 * index that can serve the statement.
 */
async function planOf(db: Database, query: () => Promise<unknown>, { seqscan = true } = {}): Promise<PlanNode[]> {
  const sent: { sql: string; params: string }[] = [];
  const stop = db.onQuery((sql, params) => sent.push({ sql, params }));
  try {
    await query();
  } finally {
    stop();
  }
  const selects = sent.filter((s) => /^\s*SELECT/i.test(s.sql));
  expect(selects).toHaveLength(1);
  const [{ sql, params }] = selects as [(typeof selects)[0]];
  const rows = await db.prisma.$transaction(async (tx) => {
    if (!seqscan) await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
    return tx.$queryRawUnsafe<Record<string, unknown>[]>(`EXPLAIN (FORMAT JSON) ${sql}`, ...JSON.parse(params));
  });
  const json = Object.values(rows[0]!)[0];
  const [top] = (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: PlanNode }];
  return nodesOf(top.Plan);
}

const indexesOf = (nodes: PlanNode[]) => [...new Set(nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))].sort();

/** The patient search as the patients subgraph sends it (kit's nameSearchWhere and pageByName). */
const searchByName = (db: Database, term: string) => {
  const prefix = { startsWith: term, mode: 'insensitive' as const };
  return db.prisma.patient.findMany({
    where: { AND: [{}, { OR: [{ givenName: prefix }, { familyName: prefix }] }] },
    orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    take: 21,
  });
};

/**
 * A migrated database for one describe block: embedded, or (with DATABASE_URL) a scratch database of
 * its own on that server, dropped afterwards, so the server the other tests use keeps its rows.
 */
async function scratchDatabase(kind: 'embedded' | 'postgresql'): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (kind === 'embedded') {
    const db = await openDatabase({ dataDir: 'memory://' });
    return { db, drop: () => db.close() };
  }
  const base = process.env.DATABASE_URL!;
  const name = `healthgraph_plans_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString() });
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const kinds = [
  { kind: 'embedded', label: 'embedded' },
  { kind: 'postgresql', label: process.env.DATABASE_URL ? 'PostgreSQL' : 'PostgreSQL: skipped, DATABASE_URL is not set' },
] as const;

describe.each(kinds)('query plans on a modest seeded set ($label)', ({ kind }) => {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (kind === 'postgresql' && !process.env.DATABASE_URL) return;
    ({ db, drop } = await scratchDatabase(kind));
    await applyMigrations(db.adapterFactory);
    await seedDatabase(db.prisma, { patients: 2000 });
  }, 180_000);
  afterAll(() => drop?.());
  const it = kind === 'postgresql' && !process.env.DATABASE_URL ? test.skip : test;

  // At 2,000 patients reading the table is the cheapest plan; what can break is the index serving
  // the statement at all (an opclass, or a search rewritten as lower(name) LIKE), which at a million
  // patients turns 4 ms into a read of every row (681 ms measured).
  it('can serve a name prefix search from the trigram indexes, not only by reading every patient', async () => {
    const nodes = await planOf(db, () => searchByName(db, 'Yarisbe'), { seqscan: false });
    expect(indexesOf(nodes)).toEqual(['Patient_familyName_trgm_idx', 'Patient_givenName_trgm_idx']);
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Seq Scan');
  });

  it("reads a patient's access log from each month's (patientId, at) index", async () => {
    // Eight events per patient over two years of monthly partitions, as a busy site has (at a smaller scale).
    await db.prisma.$executeRawUnsafe(`SELECT "audit_event_ensure_partitions"(DATE '2025-01-01', DATE '2026-12-01')`);
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "AuditEvent" ("id", "at", "actorSub", "actorRole", "purpose", "patientId", "resourceType", "resourceIds", "fieldPaths", "requestId", "outcome")
       SELECT 'plan-' || g, TIMESTAMP '2025-01-01' + g * INTERVAL '1 hour', 'prv-' || lpad((1 + g % 100)::text, 4, '0'), 'CLINICIAN', 'TREAT',
              'pat-' || lpad((1 + g % 2000)::text, 6, '0'), 'Patient', ARRAY[]::text[], ARRAY['Patient.name'], 'plan-req-' || g, 'DISCLOSED'
         FROM generate_series(1, 16000) AS g`,
    );
    await db.prisma.$executeRawUnsafe('ANALYZE "AuditEvent"');
    // myAccessLog's statement: what others saw of my record, newest first, one page.
    const where: Prisma.AuditEventWhereInput = { AND: [{ patientId: 'pat-000007', actorSub: { not: 'pat-000007' } }] };
    const nodes = await planOf(db, () => db.prisma.auditEvent.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: 21 }));
    // Every month that holds events is read through its (patientId, at) index: a walk down its (at)
    // index instead would read the whole month to find a patient's few events (months still empty
    // cost nothing either way, and the planner may take either there).
    const months = nodes.filter((n) => /^AuditEvent_(2025\d\d|2026(0\d|10))$/.test(n['Relation Name'] ?? ''));
    expect(months).toHaveLength(22);
    expect(months.map((n) => n['Index Name'])).toEqual(months.map((n) => `${n['Relation Name']}_patientId_at_idx`));
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Seq Scan');
  });
});
