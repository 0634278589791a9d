import { applyMigrations, type Database, openDatabase, seedDatabase } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSyntheticAudit, rowsPerMonth } from './scale-audit.js';

describe('the synthetic audit plan', () => {
  it('splits rows over the months as evenly as whole numbers allow, oldest first', () => {
    expect(rowsPerMonth(10, 4)).toEqual([3, 3, 2, 2]);
    expect(rowsPerMonth(10_000_000, 24).reduce((a, b) => a + b, 0)).toBe(10_000_000);
    expect(rowsPerMonth(3, 5)).toEqual([1, 1, 1, 0, 0]);
  });

  it('covers the 24 months that end with the anchor month, one statement a month below the chunk size', () => {
    const plan = planSyntheticAudit({ rows: 10_000_000, patients: 1_000_000, providers: 75_000, anchor: new Date('2026-11-02T00:00:00Z') });
    expect(plan.firstMonth).toBe('2024-12-01');
    expect(plan.lastMonth).toBe('2026-11-01');
    expect(plan.steps).toHaveLength(24);
    expect(plan.steps.map((s) => s.month)).toEqual([...new Set(plan.steps.map((s) => s.month))]);
    expect(plan.steps.reduce((sum, s) => sum + s.rows, 0)).toBe(10_000_000);
  });

  it('cuts a month into statements of at most `chunk` rows', () => {
    const plan = planSyntheticAudit({ rows: 1000, patients: 10, providers: 10, months: 2, chunk: 200 });
    expect(plan.steps.map((s) => s.rows)).toEqual([200, 200, 100, 200, 200, 100]);
  });

  it('is the same SQL for the same options, and other SQL for another seed', () => {
    const options = { rows: 5000, patients: 100, providers: 10 };
    expect(planSyntheticAudit(options)).toEqual(planSyntheticAudit(options));
    expect(planSyntheticAudit({ ...options, seed: 7 }).steps[0]!.sql).not.toBe(planSyntheticAudit(options).steps[0]!.sql);
  });

  it('refuses sizes that are not whole numbers', () => {
    expect(() => planSyntheticAudit({ rows: 10, patients: 0, providers: 10 })).toThrow(RangeError);
    expect(() => planSyntheticAudit({ rows: 1.5, patients: 10, providers: 10 })).toThrow(RangeError);
  });
});

describe('the synthetic audit fill, written by the database', () => {
  let db: Database;
  const plan = planSyntheticAudit({ rows: 2400, patients: 40, providers: 10 });
  const rows = <T>(sql: string) => db.prisma.$queryRawUnsafe<T[]>(sql);

  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await applyMigrations(db.adapterFactory);
    await seedDatabase(db.prisma, { patients: 40 });
    await db.prisma.$executeRawUnsafe(`SELECT "audit_event_ensure_partitions"(DATE '${plan.firstMonth}', DATE '${plan.lastMonth}')`);
    for (const step of plan.steps) await db.prisma.$executeRawUnsafe(step.sql);
  }, 120_000);
  afterAll(() => db?.close());

  it('writes every row once, each into its own month partition', async () => {
    const perPartition = await rows<{ part: string; n: bigint; first: Date; last: Date }>(
      `SELECT tableoid::regclass::text AS part, count(*) AS n, min("at") AS first, max("at") AS last FROM "AuditEvent" GROUP BY 1 ORDER BY 1`,
    );
    expect(perPartition).toHaveLength(24);
    expect(perPartition.map((p) => Number(p.n))).toEqual(Array(24).fill(100));
    for (const p of perPartition) {
      expect(p.part).toBe(`"AuditEvent_${p.first.toISOString().slice(0, 7).replace('-', '')}"`);
      expect(p.last.toISOString().slice(0, 7)).toBe(p.first.toISOString().slice(0, 7));
    }
    const [distinct] = await rows<{ ids: bigint }>(`SELECT count(DISTINCT "id") AS ids FROM "AuditEvent"`);
    expect(Number(distinct!.ids)).toBe(2400);
  });

  it('is about seeded patients, read by seeded clinicians, staff and the patients themselves', async () => {
    const [orphans] = await rows<{ patients: bigint; clinicians: bigint }>(
      `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM "Patient" p WHERE p."id" = a."patientId")) AS patients,
              count(*) FILTER (WHERE a."actorRole" = 'CLINICIAN' AND NOT EXISTS (SELECT 1 FROM "Provider" v WHERE v."id" = a."actorSub")) AS clinicians
         FROM "AuditEvent" a`,
    );
    expect(Number(orphans!.patients)).toBe(0);
    expect(Number(orphans!.clinicians)).toBe(0);
    const roles = (await rows<{ role: string }>(`SELECT DISTINCT "actorRole" AS role FROM "AuditEvent" ORDER BY 1`)).map((r) => r.role);
    expect(roles).toEqual(['BILLING', 'CLINICIAN', 'PATIENT', 'SCHEDULER']);
    const [self] = await rows<{ n: bigint }>(
      `SELECT count(*) AS n FROM "AuditEvent" WHERE "actorRole" = 'PATIENT' AND "actorSub" <> "patientId"`,
    );
    expect(Number(self!.n)).toBe(0);
    const [synthetic] = await rows<{ n: bigint }>(
      `SELECT count(*) AS n FROM "AuditEvent" WHERE "id" LIKE 'syn-%' AND "requestId" LIKE 'syn-req-%'`,
    );
    expect(Number(synthetic!.n)).toBe(2400);
  });
});
