import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openDatabase } from './database.js';

// Helpers for the tests of every package that reads the database: scratch databases and query plans.

/** Where a test's scratch database lives: embedded (PGlite in memory), or a database of its own on DATABASE_URL's server. */
export type ScratchKind = 'embedded' | 'postgresql';

/** The kinds a database test runs on, with a label that says when PostgreSQL is skipped (no DATABASE_URL). */
export const SCRATCH_KINDS = [
  { kind: 'embedded', label: 'embedded', available: true },
  {
    kind: 'postgresql',
    label: process.env.DATABASE_URL ? 'PostgreSQL' : 'PostgreSQL: skipped, DATABASE_URL is not set',
    available: Boolean(process.env.DATABASE_URL),
  },
] as const satisfies readonly { kind: ScratchKind; label: string; available: boolean }[];

/**
 * An empty database for one test file or describe block (not migrated): embedded, or (with
 * DATABASE_URL) a scratch database of its own on that server, dropped by `drop`, so the database
 * the other tests use keeps its rows.
 */
export async function openScratchDatabase(
  kind: ScratchKind,
  prefix = 'healthgraph_scratch',
): Promise<{ db: Database; drop: () => Promise<void> }> {
  if (kind === 'embedded') {
    const db = await openDatabase({ dataDir: 'memory://' });
    return { db, drop: () => db.close() };
  }
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('a PostgreSQL scratch database needs DATABASE_URL');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
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

/** A plan node of EXPLAIN (FORMAT JSON), with the fields read by tests and the scale bench; actual rows and buffers only with ANALYZE (and BUFFERS). */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];

/**
 * Runs `query` through the Prisma client, takes the one read it sent (SELECT or WITH) (as the subgraphs send it)
 * and returns that statement's plan for the same parameters, every node of it. With `seqscan: false`
 * the planner is told to avoid reading whole tables where it has any other way: a plan that still
 * does has no index that can serve the statement; `bitmapscan: false` likewise leaves it index
 * scans, which keep an index's order, and `indexscan: false` leaves it bitmap scans, which use
 * only an index's conditions (not its order). With `analyze` the statement runs and each node
 * tells how many rows it produced.
 */
export async function planOf(
  db: Database,
  query: () => Promise<unknown>,
  { seqscan = true, bitmapscan = true, indexscan = true, analyze = false } = {},
): Promise<PlanNode[]> {
  const sent: { sql: string; params: string }[] = [];
  const stop = db.onQuery((sql, params) => sent.push({ sql, params }));
  try {
    await query();
  } finally {
    stop();
  }
  const selects = sent.filter((s) => /^\s*(SELECT|WITH)\b/i.test(s.sql));
  const [only] = selects;
  if (!only || selects.length !== 1) throw new Error(`expected one SELECT, the query sent ${selects.length}`);
  const rows = await db.prisma.$transaction(async (tx) => {
    if (!seqscan) await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
    if (!bitmapscan) await tx.$executeRawUnsafe('SET LOCAL enable_bitmapscan = off');
    if (!indexscan) await tx.$executeRawUnsafe('SET LOCAL enable_indexscan = off');
    return tx.$queryRawUnsafe<Record<string, unknown>[]>(
      `EXPLAIN (${analyze ? 'ANALYZE, ' : ''}FORMAT JSON) ${only.sql}`,
      ...JSON.parse(only.params),
    );
  });
  const json = Object.values(rows[0]!)[0];
  const [top] = (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: PlanNode }];
  return nodesOf(top.Plan);
}

/** The indexes a plan reads, each once, sorted. */
export const indexesOf = (nodes: readonly PlanNode[]) =>
  [...new Set(nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))].sort();
