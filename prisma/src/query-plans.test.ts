import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from './database.js';
import type { Prisma } from './generated/prisma/client.js';
import { applyMigrations } from './migrate.js';
import { seedDatabase } from './seed.js';
import { indexesOf, openScratchDatabase, planOf, SCRATCH_KINDS } from './testing.js';

/** The provider search as the providers subgraph sends it (kit's nameSearchWhere and pageByName). */
const searchByName = (db: Database, term: string) => {
  const prefix = { startsWith: term, mode: 'insensitive' as const };
  return db.prisma.provider.findMany({
    where: { AND: [{ OR: [{ givenName: prefix }, { familyName: prefix }] }] },
    orderBy: [{ familyName: 'asc' }, { givenName: 'asc' }, { id: 'asc' }],
    take: 21,
  });
};

describe.each(SCRATCH_KINDS)('query plans on a modest seeded set ($label)', ({ kind, available }) => {
  let db: Database;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (!available) return;
    ({ db, drop } = await openScratchDatabase(kind, 'healthgraph_plans_test'));
    await applyMigrations(db.adapterFactory);
    await seedDatabase(db.prisma, { patients: 2000 });
  }, 180_000);
  afterAll(() => drop?.());
  const it = available ? test : test.skip;

  // At this size reading the table is the cheapest plan; what can break is the index serving the
  // statement at all (an opclass, or a search rewritten as lower(name) LIKE), which at a million
  // rows turns milliseconds into a read of every row (681 ms measured for patients). Patients'
  // own search has ordered indexes of its own (subgraphs/patients/src/search.test.ts).
  it('can serve a provider name prefix search from the trigram indexes, not only by reading every provider', async () => {
    // Not walking the (familyName, givenName) btree the specialty search keeps, in order, either.
    const nodes = await planOf(db, () => searchByName(db, 'Yarisbe'), { seqscan: false, indexscan: false });
    expect(indexesOf(nodes)).toEqual(['Provider_familyName_trgm_idx', 'Provider_givenName_trgm_idx']);
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
